/*
 * free_rules.c - the rules of VirtualFree, one experiment each  (lecture example 6)
 *
 * Each experiment reserves a fresh region of 4 pages, commits some, makes one
 * call and prints it, its result with the error name, and the pages: [C]
 * committed, [R] reserved, [-] free.  What you should see:
 *   release-size          VirtualFree(base, page, MEM_RELEASE): FALSE, ERROR_INVALID_PARAMETER
 *   release-inside        VirtualFree(base + page + 1, 0, MEM_RELEASE): FALSE,
 *                         ERROR_INVALID_ADDRESS; then (base, 0): the region is MEM_FREE
 *   straddle              2 bytes across the boundary of pages 1 and 2, MEM_DECOMMIT:
 *                         both pages reserved again, [C][R][R][C]
 *   decommit-uncommitted  MEM_DECOMMIT of pages never committed: TRUE
 *   decommit-all          VirtualFree(base, 0, MEM_DECOMMIT): all [R], one region
 *   release-mixed         MEM_RELEASE of [C][R][C][R]: TRUE, all [-]
 *   bad-type              MEM_DECOMMIT | MEM_RELEASE, and type 0: ERROR_INVALID_PARAMETER
 *   commit-free           MEM_COMMIT where nothing is reserved (a region just
 *                         released, so surely free): NULL, ERROR_INVALID_ADDRESS
 *   recommit              MEM_COMMIT of a committed page: succeeds, content kept
 *   decommit-inside       MEM_DECOMMIT, size 0, at base + page + 1: ERROR_INVALID_ADDRESS;
 *                         at base + page - 2 (inside page 0): the whole region
 *   free-twice            release, then decommit, a region already released: Windows
 *                         ERROR_INVALID_ADDRESS (487), Wine 8 ERROR_INVALID_PARAMETER (87)
 *   decommit-past-end     MEM_DECOMMIT running past the region's end: ERROR_INVALID_PARAMETER
 *   bad-args              size 0, protection 0, PAGE_READONLY | PAGE_EXECUTE, PAGE_WRITECOPY
 *                         on private memory: ERROR_INVALID_PARAMETER; VirtualProtect with a
 *                         NULL old protection: ERROR_NOACCESS (998)
 *
 * Sources.  Microsoft Learn, VirtualFree: MEM_RELEASE needs size 0 and the base
 * VirtualAlloc returned; MEM_DECOMMIT takes every page holding a byte of the
 * range ("a 2-byte range straddling a page boundary"); base and size 0 decommit
 * the whole region; decommitting uncommitted pages, or releasing pages in
 * different states, does not fail.  Microsoft Learn, warnings C6332 (type 0;
 * MEM_DECOMMIT and MEM_RELEASE "may not be used together") and C6333.  Microsoft
 * Learn, VirtualAlloc: MEM_COMMIT of a range not entirely reserved fails with
 * ERROR_INVALID_ADDRESS; committing a committed page does not fail.
 * Wine (pass on Windows): dlls/kernel32/tests/virtual.c, test_VirtualAlloc: type 0
 * and MEM_RELEASE with size 1 -> ERROR_INVALID_PARAMETER, MEM_DECOMMIT of mostly
 * uncommitted pages succeeds; dlls/ntdll/tests/virtual.c,
 * test_NtAllocateVirtualMemory: 2 bytes across a boundary decommit 2 pages, a
 * release at base + page + 1 is STATUS_FREE_VM_NOT_AT_BASE (inside the first page
 * the address rounds down to the base and succeeds: hence "+ page"); and
 * dlls/ntdll/tests/error.c: that status is ERROR_INVALID_ADDRESS.
 * The new experiments: test_NtAllocateVirtualMemory (decommit-inside),
 * test_NtFreeVirtualMemory (free-twice: STATUS_MEMORY_NOT_ALLOCATED; decommit-past-end:
 * STATUS_UNABLE_TO_FREE_VM), kernel32 test_VirtualAlloc, test_VirtualAlloc_protection,
 * test_VirtualProtect (bad-args).
 * Documented but not in Wine's tests, so a "behaviour:" line names the outcome:
 *   bad-type       rejected | accepted (Windows Research Kernel, freevm.c: both
 *                  flags -> STATUS_INVALID_PARAMETER_4 = ERROR_INVALID_PARAMETER)
 *   release-mixed  released | refused
 *   commit-free    refused | committed
 *   recommit       kept | zeroed: that recommitting a committed page succeeds is
 *                  tested (test_VirtualAlloc_protection), that its content is kept is
 *                  not (dotnet/runtime PAL test VirtualAlloc/test20: re-committed memory
 *                  "is not changed")
 *
 * Run:   free_rules.exe [release-size|release-inside|straddle|decommit-uncommitted|
 *                        decommit-all|release-mixed|bad-type|commit-free|recommit|all]
 */
#include "lab.h"

#define PAGES 4
static size_t page;
static char *base;     /* the region of the current experiment */

/* A fresh region of PAGES pages; cells says which to commit, e.g. "CRCR". */
static void region(const char *cells)
{
    /* MEM_TOP_DOWN: above 4 GiB, as on 64-bit Windows, so a pointer cut to 32 bits shows. */
    base = VirtualAlloc(NULL, PAGES * page, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE);
    if (base == NULL)
        die("VirtualAlloc(MEM_RESERVE | MEM_TOP_DOWN)");
    for (int i = 0; i < PAGES; i++)
        if (cells[i] == 'C' && VirtualAlloc(base + i * page, page, MEM_COMMIT, PAGE_READWRITE) == NULL)
            die("VirtualAlloc(MEM_COMMIT)");
    printf("base:      " ADDR_FMT " (%d pages, VirtualAlloc MEM_RESERVE | MEM_TOP_DOWN)\n",
           ADDR(base), PAGES);
    page_strip("pages:     ", base, PAGES);
}

/* The call as written in the source, its result, then the pages. */
#define VFREE(addr, size, type) try_free("VirtualFree(" #addr ", " #size ", " #type ")", addr, size, type)
static BOOL try_free(const char *call, void *addr, SIZE_T size, DWORD type)
{
    printf("call:      %s\n", call);
    SetLastError(0xdeadbeef);
    BOOL ok = FALSE;
    /* BEGIN SOLUTION: the call itself (VirtualFree) into ok */
    ok = VirtualFree(addr, size, type);
    /* END SOLUTION, starter: (void)addr; (void)size; (void)type; */
    DWORD error = GetLastError();
    if (ok)
        printf("result:    TRUE\n");
    else
        printf("result:    FALSE, %s\n", error_name(error));
    page_strip("pages:     ", base, PAGES);
    return ok;
}

#define VCOMMIT(addr, size) try_commit("VirtualAlloc(" #addr ", " #size ", MEM_COMMIT, PAGE_READWRITE)", addr, size)
static void *try_commit(const char *call, void *addr, SIZE_T size)
{
    printf("call:      %s\n", call);
    SetLastError(0xdeadbeef);
    void *got = NULL;
    /* BEGIN SOLUTION: the call itself (VirtualAlloc) into got: commit, readable and writable */
    got = VirtualAlloc(addr, size, MEM_COMMIT, PAGE_READWRITE);
    /* END SOLUTION, starter: (void)addr; (void)size; */
    DWORD error = GetLastError();
    if (got != NULL)
        printf("result:    " ADDR_FMT "%s\n", ADDR(got), got == base ? " (base)" : "");
    else
        printf("result:    NULL, %s\n", error_name(error));
    page_strip("pages:     ", base, PAGES);
    return got;
}

/* VirtualQuery at base: one region of one state over all the pages? */
static void whole_region(void)
{
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery(base, &mbi, sizeof mbi) == 0)
        die("VirtualQuery");
    printf("region:    %s, RegionSize covers all %d pages: %s\n", state_name(mbi.State), PAGES,
           mbi.RegionSize >= PAGES * page ? "yes" : "no");
}

/* Release the region, unless an experiment already did. */
static void cleanup(void)
{
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery(base, &mbi, sizeof mbi) != 0 && mbi.State != MEM_FREE
        && mbi.AllocationBase == base && !VirtualFree(base, 0, MEM_RELEASE))
        die("VirtualFree(MEM_RELEASE)");
}

static void release_size(void)
{
    region("CCCC");
    VFREE(base, page, MEM_RELEASE);
    cleanup();
}

/*
 * An address inside the region is not its base:
 *
 *   page        0  1  2  3
 *   before     [C][C][C][C]
 *   release       ^              base + page + 1, size 0: refused, nothing changes
 *   release    ^                 base, size 0: the whole region
 *   after      [-][-][-][-]
 */
static void release_inside(void)
{
    region("CCCC");
    VFREE(base + page + 1, 0, MEM_RELEASE);
    /* BEGIN SOLUTION: now release the whole region the way MEM_RELEASE wants it named,
     * with VFREE(addr, size, type) */
    VFREE(base, 0, MEM_RELEASE);
    /* END SOLUTION */
    whole_region();
}

/*
 * 2 bytes across the boundary of pages 1 and 2: every page holding one of them goes.
 *
 *   page        0  1  2  3
 *   before     [C][C][C][C]
 *   decommit        ^^           base + 2 * page - 1, 2 bytes
 *   after      [C][R][R][C]
 */
static void straddle(void)
{
    region("CCCC");
    /* BEGIN SOLUTION: decommit 2 bytes with VFREE(addr, size, type): the last byte of
     * page 1 and the first byte of page 2 */
    VFREE(base + 2 * page - 1, 2, MEM_DECOMMIT);
    /* END SOLUTION */
    cleanup();
}

/*
 *   page        0  1  2  3
 *   before     [C][R][R][R]
 *   decommit      <------->      base + page, 3 pages, none of them committed
 *   after      [C][R][R][R]      TRUE: nothing to give back is not an error
 */
static void decommit_uncommitted(void)
{
    region("CRRR");
    VFREE(base + page, 3 * page, MEM_DECOMMIT);
    cleanup();
}

/*
 *   page        0  1  2  3
 *   before     [C][R][C][R]
 *   decommit   <---------->      base, size 0: the whole region
 *   after      [R][R][R][R]      one region again, all MEM_RESERVE
 */
static void decommit_all(void)
{
    region("CRCR");
    VFREE(base, 0, MEM_DECOMMIT);
    whole_region();
    cleanup();
}

/*
 *   page        0  1  2  3
 *   before     [C][R][C][R]
 *   release    <---------->      base, size 0: committed and reserved pages alike
 *   after      [-][-][-][-]
 */
static void release_mixed(void)
{
    region("CRCR");
    BOOL ok = VFREE(base, 0, MEM_RELEASE);
    whole_region();
    printf("behaviour: %s\n", ok ? "released: committed and reserved pages go in one call"
                                 : "refused: not what Microsoft Learn documents (VirtualFree)");
}

static void bad_type(void)
{
    region("CCCC");
    BOOL ok = VFREE(base, 0, MEM_DECOMMIT | MEM_RELEASE);
    printf("behaviour: %s\n", ok ? "accepted: not what Microsoft Learn documents (C6332)"
                                 : "rejected: MEM_DECOMMIT and MEM_RELEASE may not be used together");
    VFREE(base, 0, 0);
    cleanup();
}

static void commit_free(void)
{
    region("RRRR");
    VFREE(base, 0, MEM_RELEASE);
    printf("note:      nothing is reserved at base any more: the address is surely free\n");
    void *got = VCOMMIT(base, page);
    printf("behaviour: %s\n", got == NULL ? "refused: commit only what is reserved"
                                          : "committed: not what Microsoft Learn documents (VirtualAlloc)");
    cleanup();
}

static void recommit(void)
{
    static const char word[] = "free_rules";
    region("CRRR");
    memcpy(base, word, sizeof word);
    printf("stored:    \"%s\" at base\n", base);
    if (VCOMMIT(base, page) == NULL)
        die("VirtualAlloc(MEM_COMMIT) of a committed page");
    printf("content:   \"%.32s\"\n", base);
    print_query("state:     ", base);
    printf("behaviour: %s\n", strcmp(base, word) == 0
               ? "kept: committing a committed page leaves it as it was"
               : "zeroed: the page was replaced by a fresh one");
    cleanup();
}

/*   base     +page    +2page   +3page   end
 *   [C     ][C      ][C      ][C      ]|
 *        ^ base + page - 2: inside page 0, rounds down to the base: size 0 = all
 *             ^ base + page + 1: not the base: with size 0, refused */
static void decommit_inside(void)
{
    region("CCCC");
    VFREE(base + page + 1, 0, MEM_DECOMMIT);
    VFREE(base + page - 2, 0, MEM_DECOMMIT);
    whole_region();
    cleanup();
}

/* A region already released: nothing is there to free or decommit. */
static void free_twice(void)
{
    region("CCCC");
    VFREE(base, 0, MEM_RELEASE);
    VFREE(base, 0, MEM_RELEASE);
    VFREE(base, page, MEM_DECOMMIT);
}

/*   [C][C][C][C]|
 *            <- decommit 2 pages -> runs one page past the region's end */
static void decommit_past_end(void)
{
    region("CCCC");
    VFREE(base + 3 * page, 2 * page, MEM_DECOMMIT);
    cleanup();
}

/* Arguments VirtualAlloc and VirtualProtect refuse before looking at any page. */
#define TRY_ALLOC(addr, size, type, prot) \
    try_call("VirtualAlloc(" #addr ", " #size ", " #type ", " #prot ")", \
             VirtualAlloc(addr, size, type, prot) != NULL)
#define TRY_PROTECT(addr, size, prot, old) \
    try_call("VirtualProtect(" #addr ", " #size ", " #prot ", " #old ")", \
             VirtualProtect(addr, size, prot, old))
static void try_call(const char *call, BOOL ok)
{
    DWORD error = GetLastError();   /* SetLastError(0xdeadbeef) came before the call */
    printf("call:      %s\n", call);
    printf(ok ? "result:    succeeded\n" : "result:    failed, %s\n", error_name(error));
    SetLastError(0xdeadbeef);
}

static void bad_args(void)
{
    DWORD old;
    region("CRRR");
    SetLastError(0xdeadbeef);
    TRY_ALLOC(NULL, 0, MEM_RESERVE, PAGE_READWRITE);
    TRY_ALLOC(base + page, page, MEM_COMMIT, 0);
    TRY_ALLOC(base + page, page, MEM_COMMIT, PAGE_READONLY | PAGE_EXECUTE);
    TRY_ALLOC(base + page, page, MEM_COMMIT, PAGE_WRITECOPY);
    TRY_PROTECT(base, page, PAGE_WRITECOPY, &old);
    TRY_PROTECT(base, page, PAGE_READONLY, NULL);
    page_strip("pages:     ", base, PAGES);
    print_query("state:     ", base);
    cleanup();
}

static const struct lab_mode steps[] = {
    { "release-size", "MEM_RELEASE takes size 0", release_size },
    { "release-inside", "MEM_RELEASE takes the base, not an address inside", release_inside },
    { "straddle", "MEM_DECOMMIT of 2 bytes across a page boundary", straddle },
    { "decommit-uncommitted", "MEM_DECOMMIT of pages never committed", decommit_uncommitted },
    { "decommit-all", "MEM_DECOMMIT with the base and size 0", decommit_all },
    { "release-mixed", "MEM_RELEASE of committed and reserved pages", release_mixed },
    { "bad-type", "MEM_DECOMMIT | MEM_RELEASE, then type 0", bad_type },
    { "commit-free", "MEM_COMMIT where nothing is reserved", commit_free },
    { "recommit", "MEM_COMMIT of a page already committed", recommit },
    { "decommit-inside", "MEM_DECOMMIT with size 0 takes an address in the first page", decommit_inside },
    { "free-twice", "VirtualFree where nothing is allocated", free_twice },
    { "decommit-past-end", "MEM_DECOMMIT past the end of the region", decommit_past_end },
    { "bad-args", "arguments refused before any page is looked at", bad_args },
    { "all", "every experiment above, in this order", NULL },
    { 0 }
};
static const struct lab_modes modes = { "free_rules", "all",
    "  each experiment on a fresh region of 4 pages", steps };

int main(int argc, char **argv)
{
    size_t chosen = lab_choose(argc, argv, &modes);
    lab_start();

    page = lab_banner(11);     /* platform:, page size: */
    lab_run(&modes, chosen, "== ");
    return 0;
}
