/*
 * reset_undo.c - MEM_RESET says "I no longer need this content", MEM_RESET_UNDO takes it back
 *
 * Reserve and commit a page, store a word from standard input in it, then:
 *   VirtualAlloc(p, page, MEM_RESET, ...)       the content is no longer of interest:
 *                                               the system may discard it instead of
 *                                               writing it to the paging file, but the
 *                                               page stays committed;
 *   VirtualAlloc(p, page, MEM_RESET_UNDO, ...)  the content is of interest again.
 * The page content is printed after each step.
 *
 * What Microsoft Learn (VirtualAlloc) documents: MEM_RESET "does not guarantee"
 * that the range will contain zeros (for zeros, decommit and commit again): the old
 * bytes may stay or turn into zeros; MEM_RESET_UNDO (Windows 8 and later)
 * succeeding means "all data in the specified address range is intact", failing
 * means "at least some of the data ... has been replaced with zeroes".  Wine's
 * test_VirtualAlloc (dlls/kernel32/tests/virtual.c) accepts the old bytes or 0
 * after MEM_RESET.  What happens, by name:
 *   windows-kept      Windows 8+: the undo succeeds, the word is still there;
 *   windows-trimmed   Windows 8+: the page was trimmed (argument "trim" forces it
 *                     with VirtualUnlock), the undo fails, the page reads zeros;
 *   windows-old       Windows before 8 (RtlGetVersion < 6.2): no MEM_RESET_UNDO;
 *   wine              Wine: MEM_RESET zeroes the page at once and
 *                     MEM_RESET_UNDO fails with ERROR_INVALID_PARAMETER (87).
 * The "in RAM:" strip marks the page with * while it is in RAM (QueryWorkingSetEx):
 * Wine drops it at MEM_RESET (madvise MADV_DONTNEED).  The "cost:" line: the page stays
 * committed, so MEM_RESET gives no commit charge back (GetProcessMemoryInfo; Wine 8
 * reports no commit charge: n/a).
 *
 * "edges": MEM_RESET on pages that are only reserved succeeds and leaves them
 * MEM_RESERVE; a MEM_RESET range that runs past the end of the reservation fails
 * with ERROR_INVALID_ADDRESS (487) (both: test_VirtualAlloc).
 *
 *   base        base + page   end of the reservation
 *   [C: word  ][R          ]|
 *               <- reset ->          succeeds, stays [R]
 *               <- reset ------->    runs past the end: 487
 *
 * Run:   echo hello | reset_undo.exe [trim|edges]
 */
#include "lab.h"

static void show(const char *label, const char *p, size_t page)
{
    size_t nonzero = count_nonzero(p, page);
    printf("%s \"%.*s\" (%zu non-zero bytes of %zu)\n", label, 64, nonzero ? p : "", nonzero, page);
}

/* MEM_RESET at the edges of a reservation: on reserved pages, and past its end. */
static void edges(size_t page)
{
    char *base = VirtualAlloc(NULL, 2 * page, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE);
    if (base == NULL)
        die("VirtualAlloc(MEM_RESERVE | MEM_TOP_DOWN)");
    if (VirtualAlloc(base, page, MEM_COMMIT, PAGE_READWRITE) != base)
        die("VirtualAlloc(MEM_COMMIT)");
    printf("reserved:           " ADDR_FMT " (2 pages, the first committed)\n", ADDR(base));
    page_strip("pages:              ", base, 2);

    printf("call:               VirtualAlloc(base + page, page, MEM_RESET, PAGE_NOACCESS)\n");
    SetLastError(0xdeadbeef);
    void *got = VirtualAlloc(base + page, page, MEM_RESET, PAGE_NOACCESS);
    if (got != NULL)
        printf("result:             %s\n", got == base + page ? "base + page" : "another address");
    else
        printf("result:             NULL, %s\n", error_name(GetLastError()));
    print_query("page state:         ", base + page);
    page_strip("pages:              ", base, 2);

    printf("call:               VirtualAlloc(base + page, 2 * page, MEM_RESET, PAGE_NOACCESS)"
           " (past the end)\n");
    SetLastError(0xdeadbeef);
    got = VirtualAlloc(base + page, 2 * page, MEM_RESET, PAGE_NOACCESS);
    if (got != NULL)
        printf("result:             " ADDR_FMT ": a range past the reservation was accepted\n",
               ADDR(got));
    else
        printf("result:             NULL, %s\n", error_name(GetLastError()));
    page_strip("pages:              ", base, 2);
    print_query("page 0 state:       ", base);
    if (!VirtualFree(base, 0, MEM_RELEASE))
        die("VirtualFree(MEM_RELEASE)");
}

enum { RESET, TRIM, EDGES };
static const struct lab_mode ways[] = {
    [RESET] = { "", "store a word from standard input in a committed page, then MEM_RESET and "
                    "MEM_RESET_UNDO", NULL },
    [TRIM] = { "trim", "the same, VirtualUnlock in between: out of the working set, "
                       "Windows really discards it", NULL },
    [EDGES] = { "edges", "MEM_RESET on reserved pages, and past the end of a reservation", NULL },
    { 0 }
};
static const struct lab_modes modes = { "reset_undo", "", NULL, ways };

int main(int argc, char **argv)
{
    size_t chosen = lab_choose(argc, argv, &modes);
    int trim = chosen == TRIM, edge = chosen == EDGES;
    lab_start();
    if (edge) {
        edges(lab_system()->dwPageSize);
        return 0;
    }

    size_t page = lab_system()->dwPageSize;
    printf("platform:           %s\n", lab_platform());
    printf("page size:          %zu bytes\n", page);
    /* MEM_TOP_DOWN: above 4 GiB, as on 64-bit Windows, so a pointer cut to 32 bits shows. */
    char *p = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN, PAGE_READWRITE);
    if (p == NULL)
        die("VirtualAlloc(MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN)");
    printf("committed:          " ADDR_FMT "\n", ADDR(p));
    if (read_word(p, page) < 0)
        printf("no word on standard input: the page holds only zeros\n");
    show("stored:            ", p, page);
    resident_strip("in RAM:             ", p, 1);
    char *saved = malloc(page);     /* to tell "intact" from "changed" after the undo */
    if (saved == NULL)
        die("malloc");
    memcpy(saved, p, page);
    size_t stored = count_nonzero(p, page);
    struct lab_mem last = lab_mem_now();

    /* BEGIN SOLUTION: say the page's content is no longer of interest (VirtualAlloc; the
     * protection is ignored but must be a valid one); die() if that fails */
    if (VirtualAlloc(p, page, MEM_RESET, PAGE_NOACCESS) != p)
        die("VirtualAlloc(MEM_RESET)");
    /* END SOLUTION */
    print_query("page state:         ", p);
    resident_strip("in RAM:             ", p, 1);    /* before show() reads the page */
    lab_mem_cost("cost:               MEM_RESET: ", &last);  /* still committed: no charge back */
    show("after MEM_RESET:   ", p, page);
    size_t after_reset = count_nonzero(p, page);
    printf("note: MEM_RESET does not guarantee zeros: only decommit and recommit do "
           "(Microsoft Learn, VirtualAlloc)\n");

    if (trim) {
        /* On a page that is not locked, VirtualUnlock removes it from the working
         * set and reports ERROR_NOT_LOCKED (Microsoft Learn, VirtualUnlock). */
        SetLastError(0xdeadbeef);
        if (VirtualUnlock(p, page))
            printf("VirtualUnlock:      succeeded: nothing was trimmed "
                   "(Windows fails with ERROR_NOT_LOCKED and trims)\n");
        else
            printf("VirtualUnlock:      failed, %s: the page left the working set\n",
                   error_name(GetLastError()));
    }

    SetLastError(0xdeadbeef);
    /* BEGIN SOLUTION: ask for the content back (VirtualAlloc) into undo: NULL when that
     * fails, and GetLastError says why on the next line */
    void *undo = VirtualAlloc(p, page, MEM_RESET_UNDO, PAGE_READWRITE);
    /* END SOLUTION, starter: void *undo = NULL; */
    DWORD undo_error = GetLastError();
    if (undo == p)
        printf("MEM_RESET_UNDO:     succeeded\n");
    else
        printf("MEM_RESET_UNDO:     failed, %s\n", error_name(undo_error));
    show("after UNDO:        ", p, page);

    /* Each named behaviour is decided from what was measured, not assumed. */
    int intact = memcmp(p, saved, page) == 0;
    const char *reset_did = stored == 0 ? ""
                          : after_reset == 0 ? "MEM_RESET zeroed the page at once; "
                          : "MEM_RESET kept the content; ";
    if (undo == p)
        printf("behaviour:          windows-kept: the undo succeeded, the content is %s\n",
               intact ? "intact" : "NOT intact, unlike what Microsoft Learn documents");
    else if (lab_is_wine() && undo_error == ERROR_INVALID_PARAMETER)
        printf("behaviour:          wine: %sMEM_RESET_UNDO is not implemented\n", reset_did);
    else if (lab_windows_before(6, 2))
        printf("behaviour:          windows-old: MEM_RESET_UNDO needs Windows 8 or later\n");
    else if (!intact)
        printf("behaviour:          windows-trimmed: the page was discarded, "
               "at least some of it is now zeros\n");
    else
        printf("behaviour:          unexplained: MEM_RESET_UNDO failed (%s), yet the content "
               "is intact\n", error_name(undo_error));
    free(saved);

    if (!VirtualFree(p, 0, MEM_RELEASE))
        die("VirtualFree(MEM_RELEASE)");
    return 0;
}
