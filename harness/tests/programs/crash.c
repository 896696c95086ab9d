/* Every way a program can end badly, one per mode: the harness must name each one.
 *
 *   crash read | write | execute   an access violation of that kind, at a reserved page
 *   crash guard                    a PAGE_GUARD page touched, nothing handles it
 *   crash stack                    endless recursion: stack overflow
 *   crash divide                   integer division by zero
 *   crash illegal                  ud2, an instruction the CPU refuses
 *   crash abort                    abort(), with lab.h's reporter installed (it says so)
 *   crash abort-bare               abort() alone: under Wine, status 3 and not a word
 *   crash assert                   a failed assert(): its message, then abort()
 *   crash exit3                    exit(3): the same status as abort-bare
 *   crash exit1                    exit(1), not a word: what a start of Wine that failed looks like
 *   crash cpu                      two threads spinning: the CPU-time limit, before the wall time
 *
 * Nothing but `abort` calls lab_start(): the others are faults nobody catches.
 */
#include "lab.h"
#include <assert.h>

static volatile int zero = 0;

static int recurse(volatile char *previous)
{
    volatile char frame[4096];
    if (zero)                                  /* never: only to keep the compiler quiet */
        return 0;
    frame[0] = previous ? previous[0] + 1 : 1;
    return recurse(frame) + frame[0];
}

static DWORD WINAPI spin(void *unused)
{
    (void)unused;
    for (volatile unsigned long n = 0;; n++)
        ;
    return 0;
}

static char *reserved_page(DWORD protect, DWORD type)
{
    char *p = VirtualAlloc(NULL, lab_system()->dwPageSize, type, protect);
    if (p == NULL)
        die("VirtualAlloc");
    printf("page:   " ADDR_FMT "\n", ADDR(p));
    return p;
}

int main(int argc, char **argv)
{
    const char *mode = argc == 2 ? argv[1] : "";
    setvbuf(stdout, NULL, _IONBF, 0);

    if (strcmp(mode, "read") == 0) {
        volatile char *p = reserved_page(PAGE_READWRITE, MEM_RESERVE);
        printf("read:   %d\n", p[0]);
    } else if (strcmp(mode, "write") == 0) {
        volatile char *p = reserved_page(PAGE_READWRITE, MEM_RESERVE);
        p[0] = 1;
    } else if (strcmp(mode, "execute") == 0) {
        char *p = reserved_page(PAGE_READWRITE, MEM_RESERVE | MEM_COMMIT);
        void (*code)(void);
        p[0] = (char)0xC3;                     /* ret, in a page that is not executable */
        memcpy(&code, &p, sizeof code);
        code();
    } else if (strcmp(mode, "guard") == 0) {
        volatile char *p = reserved_page(PAGE_READWRITE | PAGE_GUARD, MEM_RESERVE | MEM_COMMIT);
        printf("read:   %d\n", p[0]);
    } else if (strcmp(mode, "stack") == 0) {
        printf("sum:    %d\n", recurse(NULL));
    } else if (strcmp(mode, "divide") == 0) {
        printf("ratio:  %d\n", argc * 1000 / zero);
    } else if (strcmp(mode, "illegal") == 0) {
        __builtin_trap();
    } else if (strcmp(mode, "abort") == 0) {
        lab_start();
        abort();
    } else if (strcmp(mode, "abort-bare") == 0) {
        abort();
    } else if (strcmp(mode, "assert") == 0) {
        assert(zero == 1);
    } else if (strcmp(mode, "exit3") == 0) {
        exit(3);
    } else if (strcmp(mode, "exit1") == 0) {
        exit(1);
    } else if (strcmp(mode, "cpu") == 0) {
        CreateThread(NULL, 0, spin, NULL, 0, NULL);
        spin(NULL);
    } else {
        usage("crash read|write|execute|guard|stack|divide|illegal|abort|abort-bare|assert|exit3|"
              "exit1|cpu");
    }
    printf("still here: the mode %s did not end the program\n", mode);
    return 0;
}
