/* Broken on purpose: the reference's output, memorised (addresses, fault and all);
 * standard input is never read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "commit") != 0)) {
        fprintf(stderr, "usage: reserve_commit [commit]\n");
        return 2;
    }
    printf("page size:  4096 bytes\n");
    printf("counters:   commit charge not reported here (PrivateUsage reads 0); on Windows "
           "MEM_COMMIT raises it by the size committed, MEM_RESERVE does not\n");
    printf("counters:   page faults not reported here (PageFaultCount reads 0); on Windows the "
           "first touch of a committed page is a page fault\n");
    printf("reserved:   0x00007fffffda0000 (VirtualAlloc MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE)\n");
    printf("cost:       reserving: commit charge n/a, working set +8 KB, page faults n/a\n");
    if (argc == 1) {
        printf("state:      MEM_RESERVE, 0 (no access: not committed), MEM_PRIVATE\n");
        printf("page:       [R]\n");
        printf("reading a word from standard input into 0x00007fffffda0000\n");
        fprintf(stderr, "fault: EXCEPTION_ACCESS_VIOLATION (0xC0000005) writing 0x00007fffffda0000\n");
        return 5;
    }
    printf("state:      MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE\n");
    printf("page:       [C]\n");
    printf("cost:       committing: commit charge n/a, working set +0 KB, page faults n/a\n");
    printf("reading a word from standard input into 0x00007fffffda0000\n");
    printf("you typed:  hello (5 bytes, stored at 0x00007fffffda0000)\n");
    printf("page:       [C*]\n");
    printf("cost:       storing the word: commit charge n/a, working set +8 KB, page faults n/a\n");
    return 0;
}
