/* Broken on purpose: without "commit" the word is written 100 bytes into the page: the fault is not at the page. */
#include "lab.h"

int main(int argc, char **argv)
{
    int commit = argc == 2 && strcmp(argv[1], "commit") == 0;
    if (argc > 2 || (argc == 2 && !commit))
        usage("reserve_commit [commit]\n"
              "  reserves a page, commits it only with \"commit\", then reads a word\n"
              "  from standard input into it");
    lab_start();

    const SYSTEM_INFO *sys = lab_system();
    size_t page = sys->dwPageSize;
    printf("page size:  %zu bytes\n", page);

    char *p = VirtualAlloc(NULL, page, MEM_RESERVE, PAGE_READWRITE);
    if (p == NULL)
        die("VirtualAlloc(MEM_RESERVE)");
    printf("reserved:   " ADDR_FMT " (VirtualAlloc MEM_RESERVE, PAGE_READWRITE)\n", ADDR(p));

    if (commit) {
        if (VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE) != p)
            die("VirtualAlloc(MEM_COMMIT)");
        printf("committed:  " ADDR_FMT " (VirtualAlloc MEM_COMMIT, PAGE_READWRITE)\n", ADDR(p));
    }
    print_query("state:      ", p);
    page_strip("page:       ", p, 1);

    printf("reading a word from standard input into " ADDR_FMT "\n", ADDR(p));
    long n = commit ? read_word(p, page) : read_word(p + 100, page - 100);
    if (n < 0)
        printf("no word on standard input: nothing was written to the page\n");
    else
        printf("you typed:  %s (%ld bytes, stored at " ADDR_FMT ")\n", p, n, ADDR(p));

    if (!VirtualFree(p, 0, MEM_RELEASE))
        die("VirtualFree(MEM_RELEASE)");
    return 0;
}
