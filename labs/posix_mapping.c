/*
 * posix_mapping.c - mapped memory on Linux: mmap of a file, shared memory across fork,
 *                   msync, and madvise(MADV_DONTNEED) on a file mapping  (native, no Wine)
 *
 * The counterpart of the mapping lab (see mapping.md's table), one experiment per mode:
 *   file      mmap(MAP_SHARED) of a file in the working folder: a write through the
 *             mapping, msync(MS_SYNC), munmap, then pread finds the bytes in the file
 *             (CreateFileMapping + MapViewOfFile(FILE_MAP_WRITE), FlushViewOfFile).
 *   private   mmap(MAP_PRIVATE) of the same file: the write goes to a private copy of
 *             the page, the file is unchanged (FILE_MAP_COPY).
 *   shared    anonymous memory across fork: the child stores the word from standard
 *             input in a MAP_SHARED | MAP_ANONYMOUS page and in a MAP_PRIVATE one; the
 *             parent, after waitpid, finds it in the shared page only (a paging-file
 *             mapping shared by two processes).
 *   dontneed  madvise(MADV_DONTNEED) on file mappings, the counterpart of "MEM_RESET on
 *             a mapped file": Linux accepts it on every mapping, and the next access
 *             repopulates the page from the file ("from the up-to-date contents of the
 *             underlying mapped file", madvise(2)): a shared mapping reads what was
 *             written (it is the file), a private one loses its copy and reads the
 *             file again, anonymous private memory reads zeros.
 *   all       (the default) every experiment.
 * "state:" lines stand for VirtualQuery: the mapping's line in /proc/self/maps (proc(5)):
 * its permissions, s(hared) or p(rivate), and the file behind it.
 *
 * Build: gcc -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -o posix_mapping posix_mapping.c
 * Run:   echo hello | ./posix_mapping [file|private|shared|dontneed|all]
 */
#define _GNU_SOURCE
#include "lab.h"              /* its portable part: ADDR, the mode table */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define RW (PROT_READ | PROT_WRITE)
#define FILE_NAME "posix_mapping.dat"

static size_t page;
static const char file_text[] = "the file's own text";

static void check(int failed, const char *call)
{
    int e = errno;
    if (failed) {
        fprintf(stderr, "%s failed: errno %d: %s\n", call, e, strerror(e));
        exit(2);
    }
}

/* VirtualQuery's counterpart: the line of /proc/self/maps holding addr, without its
 * address range, device and inode: "rw-s 00000000 .../posix_mapping.dat". */
static void state(const char *label, const void *addr)
{
    char line[512];
    FILE *maps = fopen("/proc/self/maps", "r");
    check(maps == NULL, "fopen(/proc/self/maps)");
    while (fgets(line, sizeof line, maps) != NULL) {
        unsigned long long lo, hi;
        char perms[5], offset[17], path[256] = "";
        if (sscanf(line, "%llx-%llx %4s %16s %*s %*s %255[^\n]", &lo, &hi, perms, offset, path) >= 4
            && lo <= ADDR(addr) && ADDR(addr) < hi) {
            const char *name = strrchr(path, '/');
            printf("%s%s (%s), %s\n", label, perms, perms[3] == 's' ? "shared" : "private",
                   path[0] == '\0' ? "anonymous"
                   : strncmp(path, "/dev/zero", 9) == 0 ? "anonymous shared memory (/dev/zero, shmem)"
                   : name != NULL ? name + 1 : path);
            fclose(maps);
            return;
        }
    }
    fclose(maps);
    printf("%snot mapped\n", label);
}

/* posix_mapping.dat in the working folder, one page long, holding text and zeros. */
static int fresh_file(void)
{
    int fd = open(FILE_NAME, O_RDWR | O_CREAT | O_TRUNC, 0600);
    check(fd < 0, "open(" FILE_NAME ")");
    check(pwrite(fd, file_text, sizeof file_text, 0) != (ssize_t)sizeof file_text, "pwrite");
    check(ftruncate(fd, (off_t)page) != 0, "ftruncate");
    printf("file:      %s, %zu bytes, holding \"%s\" (open, pwrite, ftruncate)\n", FILE_NAME, page, file_text);
    return fd;
}

/* What the file holds from its start, read with pread: no mapping involved. */
static void read_back(int fd)
{
    char text[64] = "";
    check(pread(fd, text, sizeof text - 1, 0) < 0, "pread");
    printf("pread:     \"%s\" (the file's first bytes)\n", text);
}

static char *map_file(int fd, int flags, const char *how)
{
    char *p = mmap(NULL, page, RW, flags, fd, 0);
    check(p == MAP_FAILED, "mmap");
    printf("mapped:    " ADDR_FMT " (mmap(NULL, page, PROT_READ | PROT_WRITE, %s, fd, 0))\n", ADDR(p), how);
    return p;
}

static void file_shared(void)
{
    int fd = fresh_file();
    /* BEGIN SOLUTION: map the file so that a write through the mapping is a write to the
     * file: map_file(fd, flags, the flags' name) with MAP_SHARED */
    char *p = map_file(fd, MAP_SHARED, "MAP_SHARED");
    /* END SOLUTION, starter: char *p = map_file(fd, 0, "0"); */
    state("state:     ", p);
    strcpy(p, "written through the mapping");
    printf("wrote:     \"%s\"\n", p);
    check(msync(p, page, MS_SYNC) != 0, "msync");
    printf("msync:     MS_SYNC: 0\n");
    check(munmap(p, page) != 0, "munmap");
    printf("munmap:    0\n");
    read_back(fd);
    close(fd);
    unlink(FILE_NAME);
}

static void file_private(void)
{
    int fd = fresh_file();
    char *p = map_file(fd, MAP_PRIVATE, "MAP_PRIVATE");
    state("state:     ", p);
    strcpy(p, "changed in a private mapping");
    printf("wrote:     \"%s\"\n", p);
    check(munmap(p, page) != 0, "munmap");
    printf("munmap:    0\n");
    read_back(fd);
    close(fd);
    unlink(FILE_NAME);
}

static void shared_fork(void)
{
    char word[64];
    if (scanf("%63s", word) != 1) {
        fprintf(stderr, "posix_mapping: no word on standard input: nothing for the child to store\n");
        exit(2);
    }
    /* BEGIN SOLUTION: one page of anonymous memory that stays shared with the child after
     * fork: mmap(NULL, page, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0) */
    char *shared = mmap(NULL, page, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    /* END SOLUTION, starter: char *shared = MAP_FAILED; */
    char *private = mmap(NULL, page, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(shared == MAP_FAILED || private == MAP_FAILED, "mmap(MAP_ANONYMOUS)");
    printf("shared:    " ADDR_FMT " (mmap MAP_SHARED | MAP_ANONYMOUS)\n", ADDR(shared));
    printf("private:   " ADDR_FMT " (mmap MAP_PRIVATE | MAP_ANONYMOUS)\n", ADDR(private));
    state("state:     ", shared);
    fflush(stdout);
    pid_t child = fork();
    check(child < 0, "fork");
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* never outlive the parent */
        strcpy(shared, word);
        strcpy(private, word);
        printf("child:     stored \"%s\" in both pages, at the same addresses\n", word);
        fflush(stdout);
        _exit(0);
    }
    int status;
    check(waitpid(child, &status, 0) != child, "waitpid");
    printf("child:     ended, status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("parent:    shared page holds \"%.63s\"\n", shared);
    printf("parent:    private page holds \"%.63s\"%s\n", private,
           private[0] == '\0' ? " (the child wrote its own copy)" : "");
    munmap(shared, page);
    munmap(private, page);
}

/* Write text into p, madvise(MADV_DONTNEED), show what the page reads after it. */
static void drop(const char *label, char *p, const char *text)
{
    strcpy(p, text);
    errno = 0;
    int rc = madvise(p, page, MADV_DONTNEED);
    printf("%swrote \"%s\"; madvise(MADV_DONTNEED): %d%s%s; reads \"%.40s\"\n", label, text, rc,
           rc ? ", " : "", rc ? strerror(errno) : "", p);
}

static void dontneed(void)
{
    int fd = fresh_file();
    char *shared = map_file(fd, MAP_SHARED, "MAP_SHARED");
    char *private = map_file(fd, MAP_PRIVATE, "MAP_PRIVATE");
    char *anon = mmap(NULL, page, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(anon == MAP_FAILED, "mmap(MAP_ANONYMOUS)");
    drop("shared:    ", shared, "changed through MAP_SHARED");
    read_back(fd);
    drop("private:   ", private, "changed in MAP_PRIVATE");
    drop("anonymous: ", anon, "changed in anonymous memory");
    munmap(shared, page);
    munmap(private, page);
    munmap(anon, page);
    close(fd);
    unlink(FILE_NAME);
}

static const struct lab_mode steps[] = {
    { "file", "mmap(MAP_SHARED) of a file: write, msync, munmap, pread", file_shared },
    { "private", "mmap(MAP_PRIVATE) of a file: the write stays in the mapping", file_private },
    { "shared", "MAP_SHARED | MAP_ANONYMOUS across fork", shared_fork },
    { "dontneed", "madvise(MADV_DONTNEED) on file mappings and on anonymous memory", dontneed },
    { "all", "every experiment above, in this order", NULL },
    { 0 }
};
static const struct lab_modes modes = { "posix_mapping", "all",
    "  mapped memory on Linux; shared reads a word from standard input", steps };

int main(int argc, char **argv)
{
    size_t chosen = lab_choose(argc, argv, &modes);
    setvbuf(stdout, NULL, _IONBF, 0);
    struct utsname u;
    page = (size_t)sysconf(_SC_PAGESIZE);
    check(uname(&u) != 0, "uname");
    printf("platform:  %s %s %s\n", u.sysname, u.release, u.machine);
    printf("page size: %zu bytes (sysconf(_SC_PAGESIZE))\n", page);
    lab_run(&modes, chosen, "== ");
    return 0;
}
