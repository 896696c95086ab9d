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
 * What Microsoft Learn (VirtualAlloc) documents: after MEM_RESET the content is
 * undefined until it is written or MEM_RESET_UNDO succeeds; MEM_RESET_UNDO
 * (Windows 8 and later) succeeding means "all data in the specified address
 * range is intact", failing means "at least some of the data ... has been
 * replaced with zeroes".  What happens, by name:
 *   windows-kept      Windows 8+: the undo succeeds, the word is still there;
 *   windows-trimmed   Windows: the page was trimmed (argument "trim" forces it
 *                     with VirtualUnlock), the undo fails, the page reads zeros;
 *   wine              Wine: MEM_RESET zeroes the page at once and
 *                     MEM_RESET_UNDO fails with ERROR_INVALID_PARAMETER (87).
 *
 * Run:   echo hello | reset_undo.exe [trim]
 */
#include "lab.h"

static void show(const char *label, const char *p, size_t page)
{
    size_t nonzero = count_nonzero(p, page);
    printf("%s \"%.*s\" (%zu non-zero bytes of %zu)\n", label, 64, nonzero ? p : "", nonzero, page);
}

enum { RESET, TRIM };
static const struct lab_mode ways[] = {
    [RESET] = { "", "store a word from standard input in a committed page, then MEM_RESET and "
                    "MEM_RESET_UNDO", NULL },
    [TRIM] = { "trim", "the same, VirtualUnlock in between: out of the working set, "
                       "Windows really discards it", NULL },
    { 0 }
};
static const struct lab_modes modes = { "reset_undo", "", NULL, ways };

int main(int argc, char **argv)
{
    int trim = lab_choose(argc, argv, &modes) == TRIM;
    lab_start();

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
    char *saved = malloc(page);     /* to tell "intact" from "changed" after the undo */
    if (saved == NULL)
        die("malloc");
    memcpy(saved, p, page);
    size_t stored = count_nonzero(p, page);

    /* BEGIN SOLUTION: say the page's content is no longer of interest (VirtualAlloc; the
     * protection is ignored but must be a valid one); die() if that fails */
    if (VirtualAlloc(p, page, MEM_RESET, PAGE_NOACCESS) != p)
        die("VirtualAlloc(MEM_RESET)");
    /* END SOLUTION */
    print_query("page state:         ", p);
    show("after MEM_RESET:   ", p, page);
    size_t after_reset = count_nonzero(p, page);
    printf("note: after MEM_RESET the content is undefined (Microsoft Learn, VirtualAlloc)\n");

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
    else if (undo_error == ERROR_INVALID_PARAMETER)
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
