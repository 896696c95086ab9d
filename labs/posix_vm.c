/*
 * posix_vm.c - the lecture's ideas on Linux: brk, mmap, mprotect, madvise  (native, no Wine)
 *
 * The lecture names brk, mmap and VirtualAlloc as malloc's back ends.  This Linux
 * program (host gcc, only lab.h's portable part) repeats the Windows labs with the
 * POSIX calls:
 *   break     the data ends at &end (end(3)): mmap(MAP_FIXED_NOREPLACE) walked up from
 *             a .data buffer fails with EEXIST until &end rounded up to the page
 *             (mmap(2)); the break, sbrk(0), starts there, or further up when ASLR
 *             randomizes it (randomize_va_space = 2, proc(5)), named from the gap and
 *             the ASLR settings (break-elsewhere: neither); sbrk(page) gives a
 *             zeroed page and nothing is mapped past it (brk(2)).
 *   reserve   mmap(PROT_NONE): a read raises SIGSEGV, si_code SEGV_ACCERR ("invalid
 *             permissions for mapped object", sigaction(2)); after munmap the same
 *             read is SEGV_MAPERR ("address not mapped to object").
 *   commit    mprotect(PROT_READ | PROT_WRITE): the page reads zeros (MAP_ANONYMOUS
 *             is "initialized to zero", mmap(2)); mincore(2) counts it resident only
 *             once it is touched.  A read maps the kernel's shared zero page, which
 *             mincore counts although the mapping's Rss (/proc/self/smaps) stays 0;
 *             the page gets RAM of its own at the first write.  Each first touch is
 *             a minor page fault (getrusage(2) ru_minflt: "page faults serviced
 *             without any I/O activity"): the "faults:" lines count them.
 *   dontneed  madvise(MADV_DONTNEED): the page reads zeros at once ("zero-fill-on-
 *             demand pages for anonymous private mappings", madvise(2)); with
 *             mprotect(PROT_NONE) it is MEM_DECOMMIT, mprotect back the recommit.
 *   free      madvise(MADV_FREE), the closest thing to MEM_RESET: the kernel may free
 *             the pages until they are written again (madvise(2)); MADV_PAGEOUT
 *             (Linux 5.4+) reclaims now, as memory pressure would.  Named outcomes,
 *             from both pages' contents: reclaimed (the freed page reads zeros, the
 *             rewritten one is whole) or kept (both whole); reclaimed-early (page 1
 *             was discarded before its rewrite: one byte left), reclaimed-both, mixed.
 *   late      the same, with MADV_PAGEOUT before the rewrite: reclaimed-early.
 *   fault     a write to PROT_NONE with no way back: the handler reports it on stderr
 *             like lab.h ("fault: SIGSEGV (SEGV_ACCERR) writing 0x...") and exits 139.
 *   all       (the default) every experiment but fault.
 * The SIGSEGV handler (sigaction, SA_SIGINFO) gets si_addr and si_code; on x86-64
 * the page-fault error code (REG_ERR) tells reading from writing.  "state:" lines
 * stand for VirtualQuery: the permissions in /proc/self/maps (proc(5)) and mincore.
 *
 * Build: gcc -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -o posix_vm posix_vm.c
 * Run:   ./posix_vm [break|reserve|commit|dontneed|free|late|all|fault]   (see posix_vm.md)
 */
#define _GNU_SOURCE
#include "lab.h"              /* its portable part: ADDR, lab_text, the mode table */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#define FAULT_EXIT (128 + SIGSEGV)   /* what a shell shows for a death by SIGSEGV */
#define RW (PROT_READ | PROT_WRITE)

extern char etext, edata, end;       /* end(3): the program declares them, the linker sets them */
char buff[10 * 4096] = { 1 };        /* ten 4 KiB pages in .data, as in the lecture */
static size_t page;                  /* sysconf(_SC_PAGESIZE) */

static const char *errno_name(int e)
{
    char *text = lab_text();
    snprintf(text, LAB_TEXT_SIZE, "%s (%d)", e == EEXIST ? "EEXIST" : e == ENOMEM ? "ENOMEM"
             : e == EINVAL ? "EINVAL" : e == EACCES ? "EACCES" : e == EPERM ? "EPERM" : "errno", e);
    return text;
}

static void check(int failed, const char *call)
{
    int e = errno;
    if (failed) {
        fprintf(stderr, "%s failed: %s: %s\n", call, errno_name(e), strerror(e));
        exit(2);
    }
}

static const char *code_name(int code)
{
    return code == SEGV_MAPERR ? "SEGV_MAPERR" : code == SEGV_ACCERR ? "SEGV_ACCERR" : "si_code ?";
}

/* x86 page-fault error code: bit 1 set for a write, bit 4 for an instruction fetch. */
static const char *access_name(const void *context)
{
#if defined(__x86_64__) && defined(REG_ERR)
    long long err = ((const ucontext_t *)context)->uc_mcontext.gregs[REG_ERR];
    return (err & 0x10) ? "executing" : (err & 0x2) ? "writing" : "reading";
#else
    (void)context;
    return "accessing";
#endif
}

/* While a probe runs, the handler records the fault and jumps back into it;
 * otherwise it reports like lab.h, with write(2) only, and ends the process. */
static sigjmp_buf probe_env;
static volatile sig_atomic_t probing;
static void *volatile fault_addr;
static volatile int fault_code;
static const char *volatile fault_access;

static void put(const char *s) { (void)!write(2, s, strlen(s)); }

static void on_segv(int sig, siginfo_t *info, void *context)
{
    char hex[19] = "0x";
    (void)sig;
    fault_addr = info->si_addr;
    fault_code = info->si_code;
    fault_access = access_name(context);
    if (probing)
        siglongjmp(probe_env, 1);
    for (int i = 0; i < 16; i++)
        hex[2 + i] = "0123456789abcdef"[(ADDR(info->si_addr) >> (60 - 4 * i)) & 0xf];
    put("fault: SIGSEGV ("), put(code_name(info->si_code)), put(") ");
    put(fault_access), put(" "), put(hex), put("\n");
    /* True of every fault with that si_code: the handler does not look the page up. */
    put(info->si_code == SEGV_ACCERR
        ? "fault: that page is mapped but its protection refuses this access (in the fault "
          "experiment: PROT_NONE, reserved, not committed); mprotect(...) to allow it\n"
        : info->si_code == SEGV_MAPERR ? "fault: nothing is mapped there; mmap it first\n"
        : "fault: si_code is neither SEGV_MAPERR nor SEGV_ACCERR; sigaction(2) lists the "
          "others\n");
    _exit(FAULT_EXIT);
}

/* One byte read or written at addr: prints "ok" or the fault it raised. */
static void probe(const char *label, char *addr, int writing)
{
    probing = 1;
    if (sigsetjmp(probe_env, 1) == 0) {
        if (writing)
            *(volatile char *)addr = 1;
        else
            (void)*(volatile char *)addr;
        printf("%s ok, %s " ADDR_FMT "\n", label, writing ? "wrote" : "read", ADDR(addr));
    } else {
        printf("%s SIGSEGV (%s) %s " ADDR_FMT "\n", label, code_name(fault_code), fault_access,
               ADDR(fault_addr));
    }
    probing = 0;
}

/* VirtualQuery's counterpart: the permissions of the mapping holding addr, from
 * /proc/self/maps (read with read(2): no malloc, no brk), and mincore(2). */
static void query(void *addr, size_t pages)
{
    static char maps[1 << 16];
    char perms[5] = "";
    unsigned char resident[8] = { 0 };
    ssize_t got = 0;
    size_t len = 0, in_ram = 0;
    int fd = open("/proc/self/maps", O_RDONLY);
    check(fd < 0, "open(/proc/self/maps)");
    while (len < sizeof maps - 1 && (got = read(fd, maps + len, sizeof maps - 1 - len)) > 0)
        len += (size_t)got;
    check(got < 0, "read(/proc/self/maps)");
    close(fd);
    maps[len] = '\0';
    for (char *line = maps; line != NULL && *line != '\0'; line = strchr(line, '\n')) {
        unsigned long long lo, hi;
        line += *line == '\n';
        if (sscanf(line, "%llx-%llx %4s", &lo, &hi, perms) == 3 && lo <= ADDR(addr) && ADDR(addr) < hi)
            break;
        perms[0] = '\0';
    }
    int rc = mincore(addr, pages * page, resident), e = errno;
    if (perms[0] == '\0') {
        printf("state:               not mapped (no line in /proc/self/maps; mincore: %s)\n",
               rc == 0 ? "succeeded" : errno_name(e));
        return;
    }
    for (size_t i = 0; i < pages; i++)
        in_ram += resident[i] & 1;
    char prot[40] = "";                /* every permission the line shows, execute too */
    static const char *const bit[] = { "PROT_READ", "PROT_WRITE", "PROT_EXEC" };
    for (int i = 0; i < 3; i++)
        if (perms[i] != '-')
            strcat(strcat(prot, prot[0] ? " | " : ""), bit[i]);
    printf("state:               %s (%s, %s), ", perms, prot[0] ? prot : "PROT_NONE",
           perms[3] == 's' ? "MAP_SHARED" : "MAP_PRIVATE");
    if (rc == 0)
        printf("%zu of %zu pages resident\n", in_ram, pages);
    else
        printf("residency unknown (mincore: %s)\n", errno_name(e));
}

static size_t content(const char *label, const char *p, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < size; i++)
        n += p[i] != 0;
    printf("%s %zu non-zero bytes of %zu\n", label, n, size);
    return n;
}

static char *map(size_t pages, int prot)
{
    /* BEGIN SOLUTION: map pages pages of private, anonymous memory with protection prot,
     * where the kernel chooses (mmap) */
    char *p = mmap(NULL, pages * page, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* END SOLUTION, starter: char *p = MAP_FAILED; (void)pages; (void)prot; */
    check(p == MAP_FAILED, prot == PROT_NONE ? "mmap(PROT_NONE)" : "mmap(PROT_READ | PROT_WRITE)");
    return p;
}

static uintptr_t round_up(uintptr_t x)
{
    /* BEGIN SOLUTION: x rounded up to a multiple of page (any page size: no bit tricks) */
    return (x + page - 1) / page * page;
    /* END SOLUTION, starter: return x; */
}

static int aslr_level(void)
{
    char text[8] = "";
    int fd = open("/proc/sys/kernel/randomize_va_space", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    if (fd >= 0)
        close(fd);
    return n > 0 ? atoi(text) : -1;
}

static void show_break(void)
{
    uintptr_t first = (uintptr_t)buff / page * page, addr = first, end_up = round_up(ADDR(&end));
    char *brk0 = sbrk(0), *got;
    unsigned long failed = 0;
    printf("experiment:          break (where the program's data ends)\n");
    printf("etext:               " ADDR_FMT " (end of the code)\n", ADDR(&etext));
    printf("buff:                " ADDR_FMT " (%zu bytes of .data)\n", ADDR(buff), sizeof buff);
    printf("edata:               " ADDR_FMT " (end of .data)\n", ADDR(&edata));
    printf("end:                 " ADDR_FMT " (end of .bss: the data ends here)\n", ADDR(&end));
    printf("program break:       " ADDR_FMT " (sbrk(0))\n", ADDR(brk0));
    while ((got = mmap((void *)addr, page, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)) == MAP_FAILED) {
        check(errno != EEXIST, "mmap(MAP_FIXED_NOREPLACE)");
        failed++;
        addr += page;
    }
    if ((uintptr_t)got != addr) {      /* before Linux 4.17 the flag is ignored: a mere hint */
        fprintf(stderr, "posix_vm: MAP_FIXED_NOREPLACE needs Linux 4.17 or later\n");
        exit(2);
    }
    printf("first address tried: " ADDR_FMT " (the page of buff)\n", ADDR(first));
    printf("failed attempts:     %lu (mmap MAP_FIXED_NOREPLACE: already mapped)\n", failed);
    if (failed > 0)
        printf("last failure:        %s\n", errno_name(EEXIST));
    printf("address returned:    " ADDR_FMT "\n", ADDR(got));
    printf("end, page-aligned:   " ADDR_FMT "\n", ADDR(end_up));
    printf("boundary == end:     %s\n", (uintptr_t)got == end_up ? "yes" : "no");
    uintptr_t again = round_up((uintptr_t)got);     /* a mapping starts at a page: unchanged */
    printf("boundary rounded up: " ADDR_FMT " (%s)\n", ADDR(again),
           again == (uintptr_t)got ? "unchanged: already a multiple" : "CHANGED: it was a multiple");
    check(munmap(got, page) != 0, "munmap");

    int aslr = aslr_level(), fixed = (personality(0xffffffff) & ADDR_NO_RANDOMIZE) != 0;
    long long gap = ((long long)ADDR(brk0) - (long long)end_up) / (long long)page;
    printf("ASLR:                randomize_va_space = %d, ADDR_NO_RANDOMIZE %s\n", aslr,
           fixed ? "on (setarch -R)" : "off");
    /* Heap randomization (level 2, proc(5)) moves the break up only, and only when it is on. */
    if ((uintptr_t)brk0 == end_up)
        printf("behaviour:           break-at-end: the break starts at &end rounded up to the page\n");
    else if (gap > 0 && aslr == 2 && !fixed)
        printf("behaviour:           break-randomized: the break starts %lld pages past &end\n", gap);
    else
        printf("behaviour:           break-elsewhere: the break starts %lld pages from &end, "
               "which heap randomization does not explain\n", gap);
    char *old = sbrk((intptr_t)page);
    check(old == (void *)-1, "sbrk(page)");
    printf("sbrk(page):          " ADDR_FMT " (the old break: the new page starts here)\n", ADDR(old));
    printf("program break:       " ADDR_FMT " (sbrk(0))\n", ADDR(sbrk(0)));
    content("new page content:   ", old, page);
    probe("write new page:     ", old, 1);
    probe("read past break:    ", (char *)round_up(ADDR(old) + page), 0);
    check(sbrk(-(intptr_t)page) == (void *)-1, "sbrk(-page)");
    printf("sbrk(-page):         the page is given back, program break " ADDR_FMT "\n", ADDR(sbrk(0)));
    probe("read old page:      ", old, 0);
}

static void show_reserve(void)
{
    printf("experiment:          reserve (mmap PROT_NONE: an address range, no access)\n");
    char *p = map(1, PROT_NONE);
    printf("reserved:            " ADDR_FMT " (mmap PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS)\n", ADDR(p));
    query(p, 1);
    probe("read:               ", p, 0);
    probe("write:              ", p, 1);
    check(munmap(p, page) != 0, "munmap");
    printf("released:            munmap succeeded\n");
    query(p, 1);
    probe("read:               ", p, 0);
}

/* Minor page faults of this process so far (getrusage(2), ru_minflt). */
static long minor_faults(void)
{
    struct rusage u;
    check(getrusage(RUSAGE_SELF, &u) != 0, "getrusage");
    return u.ru_minflt;
}

static void show_commit(void)
{
    printf("experiment:          commit (mprotect PROT_READ | PROT_WRITE)\n");
    char *p = map(1, PROT_NONE);
    printf("reserved:            " ADDR_FMT " (mmap PROT_NONE)\n", ADDR(p));
    /* BEGIN SOLUTION: "commit" the page: let it be read and written (mprotect; check()
     * the result) */
    check(mprotect(p, page, RW) != 0, "mprotect(PROT_READ | PROT_WRITE)");
    /* END SOLUTION */
    query(p, 1);
    long before = minor_faults();
    content("content:            ", p, page);
    long read = minor_faults();
    printf("faults:              reading it: %+ld minor (getrusage ru_minflt)\n", read - before);
    read = minor_faults();
    memset(p, 0xa5, page);
    long written = minor_faults();
    content("written:            ", p, page);
    printf("faults:              writing it: %+ld minor\n", written - read);
    query(p, 1);
    check(munmap(p, page) != 0, "munmap");
}

static void show_dontneed(void)
{
    printf("experiment:          dontneed (madvise MADV_DONTNEED, then decommit and recommit)\n");
    char *p = map(1, RW);
    printf("committed:           " ADDR_FMT " (mmap PROT_READ | PROT_WRITE)\n", ADDR(p));
    memset(p, 0xa5, page);
    content("written:            ", p, page);
    query(p, 1);
    /* BEGIN SOLUTION: tell the kernel the page's content is not needed, to be dropped
     * now (madvise; check() the result) */
    check(madvise(p, page, MADV_DONTNEED) != 0, "madvise(MADV_DONTNEED)");
    /* END SOLUTION */
    query(p, 1);
    content("content:            ", p, page);

    memset(p, 0xa5, page);
    content("written:            ", p, page);
    /* BEGIN SOLUTION: decommit it, as MEM_DECOMMIT would: the content dropped as above,
     * then no access left at all (mprotect); check() both */
    check(madvise(p, page, MADV_DONTNEED) != 0, "madvise(MADV_DONTNEED)");
    check(mprotect(p, page, PROT_NONE) != 0, "mprotect(PROT_NONE)");
    /* END SOLUTION */
    query(p, 1);
    probe("read:               ", p, 0);
    /* BEGIN SOLUTION: recommit it, as in the commit experiment (check() the result) */
    check(mprotect(p, page, RW) != 0, "mprotect(PROT_READ | PROT_WRITE)");
    /* END SOLUTION */
    query(p, 1);
    content("content:            ", p, page);
    check(munmap(p, page) != 0, "munmap");
}

static void page_out(char *p, size_t size)
{
    errno = 0;
    if (madvise(p, size, MADV_PAGEOUT) == 0)
        printf("MADV_PAGEOUT:        succeeded (reclaim now, as memory pressure would)\n");
    else
        printf("MADV_PAGEOUT:        failed, %s\n", errno_name(errno));
}

/*
 * Two pages of 0xa5, freed with MADV_FREE; then one byte of page 1 is rewritten, which
 * cancels its free, and MADV_PAGEOUT reclaims what is still free:
 *
 *   page                 0          1
 *   written          [a5 a5 ..] [a5 a5 ..]
 *   MADV_FREE        [  free  ] [  free  ]   the kernel may drop them until written
 *   p[page] = 0xa5              [a5 a5 ..]   one byte written: page 1's free is cancelled
 *   MADV_PAGEOUT     [00 00 ..] [a5 a5 ..]   "reclaimed" (both whole: "kept")
 *   late: MADV_PAGEOUT before the rewrite:
 *                    [00 00 ..] [a5 00 ..]   "reclaimed-early"
 */
/* late: the reclaim comes before page 1 is rewritten, as it may when memory is short. */
static void free_pages(int late)
{
    if (late)
        printf("experiment:          late (madvise MADV_FREE, reclaimed before the rewrite)\n");
    else
        printf("experiment:          free (madvise MADV_FREE, the closest thing to MEM_RESET)\n");
    char *p = map(2, RW);
    printf("committed:           " ADDR_FMT " (mmap 2 pages, PROT_READ | PROT_WRITE)\n", ADDR(p));
    memset(p, 0xa5, 2 * page);
    content("written:            ", p, 2 * page);
    /* BEGIN SOLUTION: let the kernel free both pages' content, but only until they are
     * written again (madvise; check() the result) */
    check(madvise(p, 2 * page, MADV_FREE) != 0, "madvise(MADV_FREE)");
    /* END SOLUTION */
    query(p, 2);
    content("page 0 content:     ", p, page);
    printf("note: after MADV_FREE the kernel may free the pages at any time until they are "
           "written (madvise(2))\n");
    if (late)
        page_out(p, 2 * page);
    p[page] = (char)0xa5;
    printf(late ? "page 1:              one byte rewritten, after MADV_PAGEOUT\n"
                : "page 1:              one byte rewritten: its free is cancelled\n");
    if (!late)
        page_out(p, 2 * page);
    query(p, 2);
    size_t n0 = content("page 0 content:     ", p, page);
    size_t n1 = content("page 1 content:     ", p + page, page);
    /* Named from both pages' contents, as measured: a page is discarded whole or not at all. */
    if (n0 == 0 && n1 == page)
        printf("behaviour:           reclaimed: the freed page was discarded and reads zeros; "
               "the rewritten one kept its content\n");
    else if (n0 == page && n1 == page)
        printf("behaviour:           kept: the freed page was not reclaimed (yet): "
               "its content stays until the kernel needs the memory\n");
    else if (n0 == 0 && n1 == 1 && p[page] != 0)
        printf("behaviour:           reclaimed-early: both pages were discarded, page 1 before its "
               "rewrite: only the rewritten byte is left\n");
    else if (n0 == 0 && n1 == 0)
        printf("behaviour:           reclaimed-both: both pages were discarded and read zeros\n");
    else
        printf("behaviour:           mixed: page 0 keeps %zu, page 1 %zu of %zu non-zero bytes\n",
               n0, n1, page);
    check(munmap(p, 2 * page) != 0, "munmap");
}

static void show_free(void) { free_pages(0); }
static void show_late(void) { free_pages(1); }

static void show_fault(void)
{
    printf("experiment:          fault (a write to PROT_NONE, no way back)\n");
    char *p = map(1, PROT_NONE);
    printf("reserved:            " ADDR_FMT " (mmap PROT_NONE)\n", ADDR(p));
    printf("writing:             one byte to " ADDR_FMT ", no probe to come back to\n", ADDR(p));
    *(volatile char *)p = 1;           /* the handler reports and exits with FAULT_EXIT */
    printf("the write succeeded: the page was not PROT_NONE after all\n");
    exit(1);
}

static const struct lab_mode experiments[] = {
    { "break", "where the program's data ends, and the break", show_break },
    { "reserve", "mmap PROT_NONE: an address range, no access", show_reserve },
    { "commit", "mprotect PROT_READ | PROT_WRITE: zeros, resident once touched", show_commit },
    { "dontneed", "madvise MADV_DONTNEED, then decommit and recommit", show_dontneed },
    { "free", "madvise MADV_FREE, the closest thing to MEM_RESET", show_free },
    { "late", "madvise MADV_FREE, reclaimed before the rewrite", show_late },
    { "all", "every experiment above, in this order", NULL },
    { "fault", "a write to PROT_NONE, no way back", show_fault },
    { 0 }
};
static const struct lab_modes modes = { "posix_vm", "all",
    "  the Windows labs' experiments with brk, mmap, mprotect and madvise; fault ends\n"
    "  the program: all leaves it out", experiments };

int main(int argc, char **argv)
{
    size_t chosen = lab_choose(argc, argv, &modes);
    setvbuf(stdout, NULL, _IONBF, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    check(sigaction(SIGSEGV, &sa, NULL) != 0, "sigaction(SIGSEGV)");
    long size = sysconf(_SC_PAGESIZE);
    check(size <= 0, "sysconf(_SC_PAGESIZE)");
    page = (size_t)size;
    struct utsname u;
    check(uname(&u) != 0, "uname");
    printf("platform:            %s %s %s\n", u.sysname, u.release, u.machine);
    printf("page size:           %zu bytes (sysconf(_SC_PAGESIZE))\n", page);
    lab_run(&modes, chosen, NULL);     /* each experiment says what it is */
    return 0;
}
