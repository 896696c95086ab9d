/*
 * reserve_commit.c - a reserved page is an address, not memory  (lecture example 2, first half)
 *
 * Reserve one page with VirtualAlloc(MEM_RESERVE); with the argument
 * "commit", commit it too (VirtualAlloc(MEM_COMMIT) on the same address).
 * Then read a word from standard input straight into the page and echo it.
 *
 * Reserving only claims the range of addresses: no storage backs it
 * (VirtualAlloc on Microsoft Learn: MEM_RESERVE "reserves a range of the
 * process's virtual address space without allocating any actual physical
 * storage").  Writing to it is an access violation; committing gives the page
 * storage, zero-filled ("the function initializes the memory to zero").
 *
 * What each step costs (the lecture's "memoria materializzabile"): reserving costs
 * nothing, committing costs commit charge (the system promises storage: RAM or the
 * paging file), and only the first touch costs RAM: the page joins the working set.
 * After each step a "cost:" line gives the change in commit charge, working set and
 * page faults (GetProcessMemoryInfo), and the "page:" strip marks a page in RAM with *
 * (QueryWorkingSetEx).  Wine 8 reports no commit charge and no page faults: the
 * "counters:" line says so, and which figures are real.
 *
 *   reserved        [R]     commit charge +0
 *   committed       [C]     commit charge +1 page, not in RAM yet
 *   written         [C*]    working set +1 page: now it is in RAM
 *
 * Run:   echo hello | reserve_commit.exe commit    -> "you typed: hello"
 *        echo hello | reserve_commit.exe           -> the write faults:
 *        fault: EXCEPTION_ACCESS_VIOLATION (0xC0000005) writing <the reserved page>
 *        and the exit status is 0xC0000005 (under Wine, its low byte: 5).
 */
#include "lab.h"

enum { RESERVE, COMMIT };
static const struct lab_mode ways[] = {
    [RESERVE] = { "", "reserve a page, then read a word from standard input into it", NULL },
    [COMMIT] = { "commit", "the same, the page committed before the word is read into it", NULL },
    { 0 }
};
static const struct lab_modes modes = { "reserve_commit", "", NULL, ways };

int main(int argc, char **argv)
{
    int commit = lab_choose(argc, argv, &modes) == COMMIT;
    lab_start();

    const SYSTEM_INFO *sys = lab_system();
    size_t page = sys->dwPageSize;
    printf("page size:  %zu bytes\n", page);
    lab_mem_counters("counters:   ");
    struct lab_mem last = lab_mem_now();

    /* MEM_TOP_DOWN: the highest free address, above 4 GiB as on 64-bit Windows (Wine 8
     * would otherwise give a low one), so that a pointer cut to 32 bits shows. */
    char *p = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE);
    if (p == NULL)
        die("VirtualAlloc(MEM_RESERVE | MEM_TOP_DOWN)");
    printf("reserved:   " ADDR_FMT " (VirtualAlloc MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE)\n",
           ADDR(p));
    lab_mem_cost("cost:       reserving: ", &last);

    if (commit) {
        /* BEGIN SOLUTION: commit the reserved page so that it gets storage it can be
         * written through (VirtualAlloc); die() if that fails */
        if (VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE) != p)
            die("VirtualAlloc(MEM_COMMIT)");
        /* END SOLUTION */
    }
    print_query("state:      ", p);
    resident_strip("page:       ", p, 1);
    if (commit)
        lab_mem_cost("cost:       committing: ", &last);

    printf("reading a word from standard input into " ADDR_FMT "\n", ADDR(p));
    long n = read_word(p, page);    /* faults here when the page is only reserved */
    if (n < 0)
        printf("no word on standard input: nothing was written to the page\n");
    else
        printf("you typed:  %s (%ld bytes, stored at " ADDR_FMT ")\n", p, n, ADDR(p));
    resident_strip("page:       ", p, 1);
    lab_mem_cost("cost:       storing the word: ", &last);

    if (!VirtualFree(p, 0, MEM_RELEASE))
        die("VirtualFree(MEM_RELEASE)");
    return 0;
}
