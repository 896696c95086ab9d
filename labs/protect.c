/*
 * protect.c - VirtualProtect: what a page lets you do, changed page by page  (lecture example 5)
 *
 * Each experiment commits fresh pages, changes their protection with
 * VirtualProtect (one line per call: what was asked, then the old protection
 * by name or the error) and shows the pages by VirtualQuery.  The pages are
 * touched on a thread of their own (lab_probe), so a fault is reported and the
 * lab goes on.
 *
 *   readonly     PAGE_READONLY: a read works; a write faults (writing, at the page)
 *   noaccess     PAGE_NOACCESS: a read faults too (reading)
 *   guard        PAGE_GUARD: the first touch raises STATUS_GUARD_PAGE_VIOLATION (0x80000001)
 *                at the touched address, the guard is gone, the second touch works
 *   straddle     2 bytes across a page boundary change both pages; old = the first page's
 *   uncommitted  on reserved pages the call fails, ERROR_INVALID_ADDRESS (487)
 *   regions      across two adjacent VirtualAlloc regions the call fails
 *   execute      "mov eax, 42; ret" in a PAGE_READWRITE page: with DEP the call faults
 *                (executing); after PAGE_EXECUTE_READ it returns 42.  A 64-bit process
 *                always has DEP; only the 32-bit build can see "no-dep"
 *   nocache      PAGE_NOCACHE is accepted as a modifier on committed private memory
 *   crash        the readonly write on the main thread: nothing recovers from it, the process
 *                ends with EXCEPTION_ACCESS_VIOLATION (under Wine the exit status is 5)
 *
 * Sources.  Microsoft Learn, VirtualProtect: lpflOldProtect gets the old
 * protection "of the first page in the specified region"; "a 2-byte range
 * straddling a page boundary causes the protection attributes of both pages
 * to be changed"; the pages "cannot span adjacent reserved regions" from
 * separate VirtualAlloc calls; if any page is not committed the call fails
 * "without modifying the access protection of any pages"; FlushInstructionCache
 * after placing code.  "Memory Protection Constants": PAGE_READONLY, PAGE_NOACCESS,
 * PAGE_READWRITE (with DEP, executing it is an access violation), PAGE_EXECUTE_READ,
 * PAGE_NOCACHE.  "Creating Guard Pages": STATUS_GUARD_PAGE_VIOLATION, then the
 * system clears PAGE_GUARD.  VirtualQuery: the Protect of the pages.
 * Wine, dlls/kernel32/tests/virtual.c, test_VirtualAlloc: ERROR_INVALID_ADDRESS
 * on uncommitted pages; the old protection of each call; PAGE_NOCACHE given to
 * VirtualProtect on memory allocated without it "cannot be set per page in
 * recent Windows" (accepted, not shown by VirtualQuery), while memory allocated
 * with it keeps it.  Across two regions Wine's NtProtectVirtualMemory
 * (dlls/ntdll/unix/virtual.c) finds no single view: ERROR_INVALID_PARAMETER (87);
 * Windows is documented to fail, but no conformance test pins the code, so the
 * lab prints the one it got ("behaviour: wine: ..." / "behaviour: windows: ...").
 *
 * Run:   protect.exe [readonly|noaccess|guard|straddle|uncommitted|regions|execute|nocache|all|crash]
 *        no argument is "all": every experiment above but crash, in this order.
 */
#include "lab.h"

static size_t page;

static char *commit(size_t size)
{
    /* MEM_TOP_DOWN: above 4 GiB, as on 64-bit Windows, so a pointer cut to 32 bits shows. */
    char *p = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN, PAGE_READWRITE);
    if (p == NULL)
        die("VirtualAlloc(MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN)");
    printf("committed:  " ADDR_FMT ", %zu bytes, PAGE_READWRITE\n", ADDR(p), size);
    return p;
}

static void release(void *p)
{
    if (!VirtualFree(p, 0, MEM_RELEASE))
        die("VirtualFree(MEM_RELEASE)");
}

static MEMORY_BASIC_INFORMATION query(const void *p)
{
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery(p, &mbi, sizeof mbi) == 0)
        die("VirtualQuery");
    return mbi;
}

/* What one VirtualProtect did: the error (ERROR_SUCCESS when it worked) and the old
 * protection it returned in lpflOldProtect (0 when it failed). */
struct protect_result { DWORD error, old; };

/* One VirtualProtect, one line. */
static struct protect_result protect(void *p, size_t size, DWORD prot, int must_work)
{
    DWORD error = 0xdeadbeef;     /* what is printed when no call sets it */
    DWORD old = 0;
    SetLastError(0xdeadbeef);
    /* BEGIN SOLUTION: change the protection of the range (VirtualProtect), the old one
     * into old; error: ERROR_SUCCESS when it worked, else what GetLastError() says */
    error = VirtualProtect(p, size, prot, &old) ? ERROR_SUCCESS : GetLastError();
    /* END SOLUTION */
    printf("VirtualProtect(" ADDR_FMT ", %zu, %s): ", ADDR(p), size, prot_name(prot));
    if (error == ERROR_SUCCESS)
        printf("succeeded, old %s\n", prot_name(old));
    else
        printf("failed, %s\n", error_name(error));
    if (must_work && error != ERROR_SUCCESS) {
        SetLastError(error);
        die("VirtualProtect");
    }
    return (struct protect_result){ error, old };
}

/* The probes: each runs on a thread of its own (lab_probe). */
static volatile int got;
static void read_byte(void *p) { got = *(volatile unsigned char *)p; }
static void write_byte(void *p) { *(volatile unsigned char *)p = 42; got = 42; }
static void call_code(void *p) { got = ((int (*)(void))(uintptr_t)p)(); }

static int touch(const char *label, void (*how)(void *), void *addr)
{
    struct lab_fault f = lab_probe(how, addr);
    const char *done = how == read_byte ? "read" : how == write_byte ? "wrote" : "returned";
    if (f.code == 0)
        printf("%s ok, %s %d at " ADDR_FMT "\n", label, done, got, ADDR(addr));
    else
        printf("%s %s (0x%08lX) %s " ADDR_FMT "\n", label, exception_name(f.code), f.code,
               f.access, ADDR(f.address));
    return f.code == 0;
}

static void readonly(void)
{
    char *p = commit(page);
    p[0] = 7;
    protect(p, page, PAGE_READONLY, 1);
    print_query("page:       ", p);
    touch("read:      ", read_byte, p);
    touch("write:     ", write_byte, p);
    protect(p, page, PAGE_READWRITE, 1);
    touch("write:     ", write_byte, p);
    release(p);
}

static void noaccess(void)
{
    char *p = commit(page);
    protect(p, page, PAGE_NOACCESS, 1);
    print_query("page:       ", p);
    touch("read:      ", read_byte, p);
    release(p);
}

static void guard(void)
{
    char *p = commit(page);
    protect(p, page, PAGE_READWRITE | PAGE_GUARD, 1);
    print_query("page:       ", p);
    page_strip("strip:      ", p, 1);
    touch("touch 1:   ", read_byte, p + page / 2);
    print_query("page:       ", p);
    page_strip("strip:      ", p, 1);
    touch("touch 2:   ", read_byte, p + page / 2);
    release(p);

    /* Allocated with PAGE_GUARD: the touch clears it from Protect, never from
     * AllocationProtect, the protection the region was allocated with (test_guard_page). */
    char *g = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN,
                           PAGE_READWRITE | PAGE_GUARD);
    if (g == NULL)
        die("VirtualAlloc(PAGE_READWRITE | PAGE_GUARD)");
    printf("allocated:  " ADDR_FMT ", VirtualAlloc(..., PAGE_READWRITE | PAGE_GUARD)\n", ADDR(g));
    touch("touch 3:   ", read_byte, g);
    MEMORY_BASIC_INFORMATION mbi = query(g);
    printf("after it:   Protect %s; ", prot_name(mbi.Protect));
    printf("AllocationProtect %s\n", prot_name(mbi.AllocationProtect));
    release(g);
}

/*
 * 2 bytes across the boundary of pages 0 and 1: both pages change, and the old
 * protection returned is the first page's.
 *
 *   page                   0               1
 *   before      [PAGE_READWRITE][PAGE_NOACCESS ]
 *   protect                    ^^                  p + page - 1, 2 bytes: PAGE_READONLY
 *   after       [PAGE_READONLY ][PAGE_READONLY ]   old: PAGE_READWRITE, page 0's
 */
static void straddle(void)
{
    char *p = commit(2 * page);
    protect(p + page, page, PAGE_NOACCESS, 1);
    print_query("page 0:     ", p);
    print_query("page 1:     ", p + page);
    DWORD before0 = query(p).Protect, before1 = query(p + page).Protect;
    struct protect_result change = { 0xdeadbeef, 0 };
    /* BEGIN SOLUTION: make 2 bytes PAGE_READONLY with protect(), into change: the last
     * byte of page 0 and the first byte of page 1 */
    change = protect(p + page - 1, 2, PAGE_READONLY, 1);
    /* END SOLUTION */
    print_query("page 0:     ", p);
    print_query("page 1:     ", p + page);
    printf("old:        %s, page 0's: %s", prot_name(change.old), change.old == before0 ? "yes" : "no");
    printf(" (page 1's was %s)\n", prot_name(before1));
    release(p);
}

/*
 *   page        0  1
 *   strip      [C][R]
 *   protect       <->      p + page, 1 page: fails, the page is only reserved
 *   protect    <---->      p, 2 pages: fails too, and page 0 keeps PAGE_READWRITE
 */
static void uncommitted(void)
{
    char *p = VirtualAlloc(NULL, 2 * page, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE);
    if (p == NULL || VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE) != p)
        die("VirtualAlloc");
    printf("reserved:   " ADDR_FMT ", %zu bytes, the first page committed\n", ADDR(p), 2 * page);
    page_strip("strip:      ", p, 2);
    protect(p + page, page, PAGE_READONLY, 0);
    protect(p, 2 * page, PAGE_READONLY, 0);
    print_query("page 0:     ", p);
    print_query("page 1:     ", p + page);
    release(p);
}

/*
 * Two VirtualAlloc calls, back to back: adjacent, yet two allocations.
 *
 *              a (one granule)     b (one granule)
 *   pages      [C][C] ... [C][C] | [C][C] ... [C][C]
 *   protect                  <------->                 b - page, 2 pages: fails
 */
static void regions(void)
{
    size_t granularity = lab_system()->dwAllocationGranularity;
    char *a = VirtualAlloc(NULL, 2 * granularity, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE), *b;
    if (a == NULL || !VirtualFree(a, 0, MEM_RELEASE))
        die("VirtualAlloc(MEM_RESERVE)");
    b = a + granularity;    /* two calls, back to back in the hole just found */
    if (VirtualAlloc(a, granularity, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE) != a
        || VirtualAlloc(b, granularity, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE) != b)
        die("VirtualAlloc(MEM_RESERVE | MEM_COMMIT) at a chosen address");
    printf("region a:   " ADDR_FMT ", %zu bytes (first VirtualAlloc)\n", ADDR(a), granularity);
    printf("region b:   " ADDR_FMT ", %zu bytes (second VirtualAlloc)\n", ADDR(b), granularity);
    printf("last of a:  allocation base " ADDR_FMT "\n", ADDR(query(b - page).AllocationBase));
    printf("first of b: allocation base " ADDR_FMT "\n", ADDR(query(b).AllocationBase));
    DWORD error = protect(b - page, 2 * page, PAGE_READONLY, 0).error;
    print_query("last of a:  ", b - page);
    print_query("first of b: ", b);
    if (error == ERROR_SUCCESS)
        printf("behaviour:  succeeded across two regions: not what VirtualProtect documents\n");
    else if (lab_is_wine())
        printf("behaviour:  wine: %s, the range is not inside one allocation\n", error_name(error));
    else
        printf("behaviour:  windows: %s: fails as documented "
               "(no conformance test pins the code)\n", error_name(error));
    release(a);
    release(b);
}

static void execute(void)
{
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
    /* mov eax, 42; ret: the same bytes, the same meaning on x86-64 and i686. */
    static const unsigned char code[] = { 0xb8, 42, 0, 0, 0, 0xc3 };
    char *p = commit(page);
    memcpy(p, code, sizeof code);
    FlushInstructionCache(GetCurrentProcess(), p, sizeof code);
    printf("code:       b8 2a 00 00 00 c3 (mov eax, 42; ret) at " ADDR_FMT "\n", ADDR(p));
    print_query("page:       ", p);
    int ran = touch("call 1:    ", call_code, p);
    protect(p, page, PAGE_EXECUTE_READ, 1);
    FlushInstructionCache(GetCurrentProcess(), p, sizeof code);
    print_query("page:       ", p);
    touch("call 2:    ", call_code, p);
    /* A 64-bit process always runs with DEP (Microsoft Learn, Data Execution Prevention;
     * GetProcessDEPPolicy is for 32-bit processes only): only a 32-bit one can see no-dep. */
#if defined(_WIN64)
    printf("behaviour:  %s\n", ran
           ? "unexplained: a PAGE_READWRITE page ran code, yet a 64-bit process always has DEP"
           : "dep: no-execute is enforced: only an executable page runs code");
#else
    printf("behaviour:  %s\n", ran
           ? "no-dep: no-execute is not enforced here (a 32-bit process, DEP off by policy)"
           : "dep: no-execute is enforced: only an executable page runs code");
#endif
    release(p);
#else
    printf("execute:    skipped: the code bytes are x86 machine code\n");
#endif
}

static void nocache(void)
{
    char *p = commit(page);
    protect(p, page, PAGE_READONLY | PAGE_NOCACHE, 1);
    print_query("page:       ", p);
    printf("behaviour:  %s\n", (query(p).Protect & PAGE_NOCACHE)
           ? "kept: VirtualQuery shows the modifier on this page"
           : "dropped: accepted, but not set per page on memory allocated without it");
    release(p);

    /* Allocated with the modifier, the page keeps it through VirtualProtect. */
    p = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN, PAGE_READWRITE | PAGE_NOCACHE);
    if (p == NULL)
        die("VirtualAlloc(PAGE_READWRITE | PAGE_NOCACHE)");
    printf("committed:  " ADDR_FMT ", %zu bytes, PAGE_READWRITE | PAGE_NOCACHE\n", ADDR(p), page);
    protect(p, page, PAGE_READONLY, 1);
    print_query("page:       ", p);
    release(p);
}

static void crash(void)
{
    char *p = commit(page);
    protect(p, page, PAGE_READONLY, 1);
    printf("writing to " ADDR_FMT " on the main thread: nothing recovers from this fault\n", ADDR(p));
    *(volatile char *)p = 42;
    printf("the write worked: PAGE_READONLY was not enforced\n");
}

static const struct lab_mode experiments[] = {
    { "readonly", "PAGE_READONLY: a read works, a write faults", readonly },
    { "noaccess", "PAGE_NOACCESS: even a read faults", noaccess },
    { "guard", "PAGE_GUARD: a one-shot alarm", guard },
    { "straddle", "2 bytes across a page boundary change both pages", straddle },
    { "uncommitted", "a reserved page has no protection to change", uncommitted },
    { "regions", "one call cannot span two allocations", regions },
    { "execute", "code runs only from an executable page", execute },
    { "nocache", "PAGE_NOCACHE as a modifier", nocache },
    { "all", "every experiment above, in this order", NULL },
    { "crash", "a write to PAGE_READONLY that nothing recovers from", crash },
    { 0 }
};
static const struct lab_modes modes = { "protect", "all",
    "  crash ends the program: all leaves it out", experiments };

int main(int argc, char **argv)
{
    size_t chosen = lab_choose(argc, argv, &modes);
    lab_start();

    page = lab_banner(12);     /* platform:, page size: */
    lab_run(&modes, chosen, "\n== ");
    return 0;
}
