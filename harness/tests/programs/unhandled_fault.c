/* A broken reserve_commit with no fault reporter: the write to the reserved page is
 * an access violation nobody catches (Wine prints its own line; Windows ends the
 * process with 0xC0000005). */
#include <windows.h>
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    volatile char *p = VirtualAlloc(NULL, 4096, MEM_RESERVE, PAGE_READWRITE);
    printf("reserved:   0x%016llx\n", (unsigned long long)(uintptr_t)p);
    p[0] = 'x';
    printf("you typed:  x\n");
    return 0;
}
