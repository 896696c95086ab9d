/*
 * decommit_recommit.c - decommit gives the storage back; recommit gets a fresh, zeroed page
 *
 * Commit a page, store a word from standard input in it, then
 *   VirtualFree(p, page, MEM_DECOMMIT)        the storage is released, the address
 *                                              stays reserved (VirtualQuery: MEM_RESERVE);
 *   with the argument "touch", read the page   that read is an access violation;
 *   VirtualAlloc(p, page, MEM_COMMIT, ...)     committed again: every byte is zero.
 *
 * Microsoft Learn: MEM_DECOMMIT "decommits the specified region of committed
 * pages. After the operation, the pages are in the reserved state" (VirtualFree);
 * MEM_COMMIT "initializes the memory to zero" (VirtualAlloc).  So the word is
 * gone: the zero count below is the whole page.
 *
 * What each step costs: a "cost:" line after it (commit charge, working set, page
 * faults: GetProcessMemoryInfo) and * on a page in RAM (QueryWorkingSetEx):
 *   stored       [C*]   the write brought the page into RAM
 *   decommitted  [R]    commit charge -1 page, and the page left RAM
 *   recommitted  [C]    commit charge +1 page, no RAM until it is touched
 * Wine 8 reports no commit charge and no page faults: the "counters:" lines say so.
 *
 * Run:   echo hello | decommit_recommit.exe [touch]
 */
#include "lab.h"

/* Runs on a probe thread (lab_probe): faults when the page is not committed. */
static void touch(void *page)
{
    volatile char c = *(volatile char *)page;
    (void)c;
}

enum { RECOMMIT, TOUCH };
static const struct lab_mode ways[] = {
    [RECOMMIT] = { "", "store a word from standard input in a committed page, decommit it, "
                       "commit it again", NULL },
    [TOUCH] = { "touch", "the same, and read the page while it is decommitted: the read faults", NULL },
    { 0 }
};
static const struct lab_modes modes = { "decommit_recommit", "", NULL, ways };

int main(int argc, char **argv)
{
    int do_touch = lab_choose(argc, argv, &modes) == TOUCH;
    lab_start();

    size_t page = lab_system()->dwPageSize;
    printf("page size:          %zu bytes\n", page);
    lab_mem_counters("counters:           ");
    /* MEM_TOP_DOWN: above 4 GiB, as on 64-bit Windows, so a pointer cut to 32 bits shows. */
    char *p = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE);
    if (p == NULL)
        die("VirtualAlloc(MEM_RESERVE | MEM_TOP_DOWN)");
    if (VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE) != p)
        die("VirtualAlloc(MEM_COMMIT)");
    printf("committed:          " ADDR_FMT "\n", ADDR(p));
    if (read_word(p, page) < 0)
        printf("no word on standard input: the page holds only zeros\n");
    printf("stored:             \"%.64s\" (%zu non-zero bytes)\n", p, count_nonzero(p, page));
    resident_strip("pages:              ", p, 1);
    struct lab_mem last = lab_mem_now();

    /* BEGIN SOLUTION: give the page's storage back but keep its address reserved
     * (VirtualFree); die() if that fails */
    if (!VirtualFree(p, page, MEM_DECOMMIT))
        die("VirtualFree(MEM_DECOMMIT)");
    /* END SOLUTION */
    print_query("page state:         ", p);
    resident_strip("pages:              ", p, 1);
    lab_mem_cost("cost:               decommitting: ", &last);

    if (do_touch) {
        struct lab_fault f = lab_probe(touch, p);
        if (f.code == 0)
            printf("touch:              the read worked: the page is still accessible\n");
        else
            printf("touch:              %s (0x%08lX) %s " ADDR_FMT "\n",
                   exception_name(f.code), f.code, f.access, (unsigned long long)f.address);
    }

    /* BEGIN SOLUTION: commit the same page again, readable and writable (VirtualAlloc);
     * die() if that fails */
    if (VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE) != p)
        die("VirtualAlloc(MEM_COMMIT) again");
    /* END SOLUTION */
    print_query("page state:         ", p);
    resident_strip("pages:              ", p, 1);
    lab_mem_cost("cost:               committing again: ", &last);
    size_t nonzero = count_nonzero(p, page);
    printf("content:            \"%.64s\"\n", p);
    printf("zero bytes:         %zu of %zu\n", page - nonzero, page);
    printf("the word is %s\n", nonzero == 0 ? "gone: a recommitted page is zero-filled"
                                            : "still there: the page was not zero-filled");

    if (!VirtualFree(p, 0, MEM_RELEASE))
        die("VirtualFree(MEM_RELEASE)");
    return 0;
}
