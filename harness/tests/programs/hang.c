/* A broken lab that never ends: it spins, printing nothing. */
#include <stdio.h>

int main(void)
{
    volatile unsigned long spins = 0;
    printf("reserved:   0x0000000000010000\n");
    fflush(stdout);
    for (;;)
        spins++;
}
