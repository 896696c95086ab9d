/* A broken reserve_commit: commits, but echoes a word it did not read. */
#include "lab.h"

int main(void)
{
    lab_start();
    size_t page = lab_system()->dwPageSize;
    char *p = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (p == NULL)
        die("VirtualAlloc");
    read_word(p, page);
    printf("reserved:   " ADDR_FMT "\n", ADDR(p));
    printf("you typed:  %s\n", "goodbye");
    return 0;
}
