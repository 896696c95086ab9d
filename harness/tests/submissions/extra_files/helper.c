/* Not a lab: a helper the student kept beside the labs. */
int helper(void) { return 42; }
