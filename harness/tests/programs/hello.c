/* The smallest program that shows whether a build can run here at all. */
#include <stdio.h>

int main(void)
{
    printf("hello\n");
    return 0;
}
