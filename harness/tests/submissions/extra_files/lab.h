/* A student's own lab.h: the grader must not use it. */
#error "the student's lab.h was used instead of the reference one"
