/* lab.h's helpers as the labs call them (harness/tests/test_lab_helpers.py runs it):
 * prot_name() and error_name() twice in one printf; a table of modes, chosen by lab_choose,
 * run by lab_run, its usage made from the table. */
#include "lab.h"

static void names(void)
{
    printf("prot: %s / %s\n", prot_name(PAGE_READONLY), prot_name(PAGE_READWRITE | PAGE_GUARD));
    printf("error: %s / %s\n", error_name(ERROR_ACCESS_DENIED), error_name(ERROR_INVALID_ADDRESS));
}

static void alone(void) { printf("alone ran\n"); }

static const struct lab_mode modes[] = {
    { "names", "two names in one printf", names },
    { "all", "every mode above, in this order", NULL },
    { "alone", "only when named: all leaves it out", alone },
    { "count N [M]", "main runs this one", NULL },
    { 0 }
};
static const struct lab_modes table = { "lab_helpers", "all", "  a note that ends the usage", modes };

int main(int argc, char **argv)
{
    size_t chosen = lab_choose(argc, argv, &table);
    lab_start();
    if (strcmp(modes[chosen].name, "count N [M]") == 0)
        printf("count: %s %s\n", argv[2], argc > 3 ? argv[3] : "-");
    else
        lab_run(&table, chosen, "== ");
    return 0;
}
