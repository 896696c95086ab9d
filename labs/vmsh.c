/*
 * vmsh.c - a Virtual* shell: try your own sequence of calls on one region, page by page
 *
 * The other labs show each fact once, as written.  Here you choose the calls: vmsh
 * reads one command a line from standard input (several with ";", "#" starts a
 * comment), runs it on a region of pages it reserved for you and prints the call, its
 * result (with GetLastError() by name when it failed) and the region's page strip:
 * [C] committed, [R] reserved, [G] a committed guard page, [-] free.
 *
 *   reserve 8             VirtualAlloc(NULL, 8 pages, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE)
 *   commit 2 3 rw         pages 2..4: VirtualAlloc(MEM_COMMIT, PAGE_READWRITE)
 *   protect 3 1 ro        VirtualProtect: the old protection comes back
 *   write 3               a fault is reported with lab.h's fault line; the shell goes on
 *   guard 5 1 ; read 5 ; read 5     the guard fires once, then the page is ordinary
 *   protect end 3 2 ro    2 bytes at the end of page 3: its last byte and page 4's first
 *   query 4               VirtualQuery: state, protection, type, allocation base
 *
 * `help` lists every command (generated from the table below).  Accesses run on a
 * thread of their own (lab_probe): a fault ends only that thread, so the shell goes on,
 * and the fault lines go to standard output, in order with the rest.  MEM_RESET and
 * MEM_RESET_UNDO differ between Wine and Windows: the shell names which one it saw
 * (Wine 8 zeroes at MEM_RESET and fails MEM_RESET_UNDO with ERROR_INVALID_PARAMETER (87);
 * Windows 8+ keeps the content until it discards it, and the undo then succeeds).
 *
 * Sources.  Microsoft Learn: VirtualAlloc (MEM_COMMIT, MEM_RESET, MEM_RESET_UNDO: Windows 8
 * and later), VirtualFree (MEM_DECOMMIT of every page holding a byte of the range; MEM_RELEASE
 * needs the base and size 0), VirtualProtect ("a 2-byte range straddling a page boundary causes
 * the protection attributes of both pages to be changed"; the old protection is the first
 * page's), "Creating Guard Pages", VirtualQuery.  Wine, dlls/kernel32/tests/virtual.c,
 * test_VirtualAlloc: VirtualProtect on pages not all committed fails with ERROR_INVALID_ADDRESS.
 *
 * Run:   vmsh.exe            (type commands; end of input, Ctrl-D or Ctrl-Z, ends it)
 *        vmsh.exe < script   (a script of commands: the cases are such scripts)
 */
#include "lab.h"
#include <io.h>

static size_t page;
static char *base;          /* the region, NULL until reserve and after release */
static size_t pages;
static unsigned faults, bad;

/* A range of bytes and how the shell names it: "page 2, 3 pages", "page 3 + 4095, 2 bytes". */
struct range {
    char *addr;
    size_t size;
    char text[64];
};

static void describe(struct range *r)
{
    size_t offset = (size_t)(r->addr - base);
    int n = snprintf(r->text, sizeof r->text, "page %zu", offset / page);
    if (offset % page)
        n += snprintf(r->text + n, sizeof r->text - n, " + %zu", offset % page);
    if (r->size % page == 0)
        snprintf(r->text + n, sizeof r->text - n, ", %zu page%s", r->size / page,
                 r->size == page ? "" : "s");
    else
        snprintf(r->text + n, sizeof r->text - n, ", %zu byte%s", r->size, r->size == 1 ? "" : "s");
}

static int number(const char *text, size_t *value)
{
    char *end;
    if (text == NULL || *text < '0' || *text > '9')
        return 0;
    *value = strtoull(text, &end, 10);
    return *end == '\0' && *value < 1000000;
}

/* RANGE: "P N" (N pages from page P) or "end P K" (K bytes from the last byte of page P).
 * AT: "P" (the first byte of page P) or "end P", then optionally K bytes (default 1). */
static int parse_place(char **argv, int argc, int *i, struct range *r, int pages_form)
{
    size_t p, n = 1;
    int end = *i < argc && strcmp(argv[*i], "end") == 0;
    *i += end;
    if (*i >= argc || !number(argv[(*i)++], &p) || p >= pages)
        return 0;
    if (*i < argc && number(argv[*i], &n))
        (*i)++;
    else if (pages_form)
        return 0;
    if (n == 0)
        return 0;
    r->addr = base + p * page + (end ? page - 1 : 0);
    r->size = end || !pages_form ? n : n * page;
    describe(r);
    return 1;
}

/* Protections: a short name or the PAGE_* name, then "+" modifiers (rw+guard). */
static const struct { const char *name, *full; DWORD bits; } protections[] = {
    { "na", "PAGE_NOACCESS", PAGE_NOACCESS },         { "ro", "PAGE_READONLY", PAGE_READONLY },
    { "rw", "PAGE_READWRITE", PAGE_READWRITE },       { "wc", "PAGE_WRITECOPY", PAGE_WRITECOPY },
    { "x", "PAGE_EXECUTE", PAGE_EXECUTE },            { "rx", "PAGE_EXECUTE_READ", PAGE_EXECUTE_READ },
    { "rwx", "PAGE_EXECUTE_READWRITE", PAGE_EXECUTE_READWRITE },
    { "xwc", "PAGE_EXECUTE_WRITECOPY", PAGE_EXECUTE_WRITECOPY },
    { "guard", "PAGE_GUARD", PAGE_GUARD },            { "nocache", "PAGE_NOCACHE", PAGE_NOCACHE },
    { "writecombine", "PAGE_WRITECOMBINE", PAGE_WRITECOMBINE },
};
#define PROTECTIONS (sizeof protections / sizeof protections[0])

static int parse_protection(const char *text, DWORD *prot)
{
    char copy[128];
    *prot = 0;
    snprintf(copy, sizeof copy, "%s", text);
    for (char *word = strtok(copy, "+|"); word != NULL; word = strtok(NULL, "+|")) {
        size_t i = 0;
        while (i < PROTECTIONS && _stricmp(word, protections[i].name) != 0
               && _stricmp(word, protections[i].full) != 0)
            i++;
        if (i == PROTECTIONS)
            return 0;
        *prot |= protections[i].bits;
    }
    return *prot != 0;
}

static void failed(void)
{
    printf("FALSE, %s\n", error_name(GetLastError()));
}

static void allocated(const struct range *r, const char *how, void *got)
{
    printf("VirtualAlloc(%s, %s) = ", r->text, how);
    if (got != NULL)
        printf(ADDR_FMT "\n", ADDR(got));
    else
        printf("NULL, %s\n", error_name(GetLastError()));
}

/* ---- the commands: each gets its words after the name; returns 0 for a usage error ---- */

static int cmd_reserve(char **argv, int argc)
{
    size_t n;
    if (argc != 1 || !number(argv[0], &n) || n == 0 || n > 64)
        return 0;
    if (base != NULL) {
        printf("reserve: the region at " ADDR_FMT " is still there: release it first\n", ADDR(base));
        return 1;
    }
    SetLastError(0xdeadbeef);
    /* BEGIN SOLUTION: reserve n pages, from the top of the address space (above 4 GiB, as
     * on 64-bit Windows, so that a pointer cut to 32 bits shows): VirtualAlloc into base
     * (NULL when it fails) */
    base = VirtualAlloc(NULL, n * page, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE);
    /* END SOLUTION, starter: base = NULL; */
    printf("VirtualAlloc(NULL, %zu page%s, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE) = ", n,
           n == 1 ? "" : "s");
    if (base == NULL) {
        printf("NULL, %s\n", error_name(GetLastError()));
        return 1;
    }
    printf(ADDR_FMT "\n", ADDR(base));
    pages = n;
    return 1;
}

static int cmd_commit(char **argv, int argc)
{
    struct range r;
    DWORD prot = PAGE_READWRITE;
    int i = 0;
    char name[128];
    void *got = NULL;
    if (!parse_place(argv, argc, &i, &r, 1) || (i < argc && !parse_protection(argv[i++], &prot))
        || i != argc)
        return 0;
    snprintf(name, sizeof name, "MEM_COMMIT, %s", prot_name(prot));
    SetLastError(0xdeadbeef);
    /* BEGIN SOLUTION: commit the range: VirtualAlloc on r.addr, r.size, MEM_COMMIT, prot;
     * its result into got */
    got = VirtualAlloc(r.addr, r.size, MEM_COMMIT, prot);
    /* END SOLUTION */
    allocated(&r, name, got);
    return 1;
}

static int cmd_decommit(char **argv, int argc)
{
    struct range r;
    int i = 0;
    BOOL ok = FALSE;
    if (!parse_place(argv, argc, &i, &r, 1) || i != argc)
        return 0;
    SetLastError(0xdeadbeef);
    /* BEGIN SOLUTION: decommit the range: VirtualFree on r.addr, r.size, MEM_DECOMMIT */
    ok = VirtualFree(r.addr, r.size, MEM_DECOMMIT);
    /* END SOLUTION */
    printf("VirtualFree(%s, MEM_DECOMMIT) = ", r.text);
    if (ok)
        printf("TRUE\n");
    else
        failed();
    return 1;
}

static int cmd_release(char **argv, int argc)
{
    (void)argv;
    if (argc != 0)
        return 0;
    SetLastError(0xdeadbeef);
    printf("VirtualFree(base, 0, MEM_RELEASE) = ");
    if (!VirtualFree(base, 0, MEM_RELEASE)) {
        failed();
        return 1;
    }
    printf("TRUE\n");
    page_strip("region gone: ", base, pages);
    printf("reserve N for a new region\n");
    base = NULL;
    return 1;
}

/* How many bytes of the range are not zero, when every page of it may be read. */
static long readable_nonzero(const struct range *r)
{
    MEMORY_BASIC_INFORMATION mbi;
    for (size_t off = 0; off < r->size; off += page)
        if (VirtualQuery(r->addr + off, &mbi, sizeof mbi) == 0 || mbi.State != MEM_COMMIT
            || (mbi.Protect & (PAGE_GUARD | PAGE_NOACCESS)) || (mbi.Protect & 0xff) == PAGE_EXECUTE)
            return -1;
    return (long)count_nonzero(r->addr, r->size);
}

static int reset_call(char **argv, int argc, DWORD how, const char *how_name)
{
    struct range r;
    int i = 0;
    if (!parse_place(argv, argc, &i, &r, 1) || i != argc)
        return 0;
    SetLastError(0xdeadbeef);
    void *got = VirtualAlloc(r.addr, r.size, how, PAGE_NOACCESS);  /* prot: ignored, but valid */
    DWORD error = GetLastError();
    allocated(&r, how_name, got);
    long nonzero = readable_nonzero(&r);
    const char *where = lab_is_wine() ? "wine" : "windows";
    if (how == MEM_RESET && got != NULL && nonzero >= 0)
        printf("behaviour: %s: %s (%ld non-zero bytes)\n", where, nonzero == 0
               ? "the content is zeros at once (Wine zeroes at MEM_RESET)"
               : "the content is still there, not guaranteed to stay until written or undone", nonzero);
    else if (how == MEM_RESET_UNDO && got == NULL && error == ERROR_INVALID_PARAMETER && lab_is_wine())
        printf("behaviour: wine: MEM_RESET_UNDO is not implemented (87); Windows 8+ succeeds "
               "when the pages were not discarded\n");
    else if (how == MEM_RESET_UNDO)
        printf("behaviour: %s: %s\n", where, got != NULL ? "the content is intact"
               : "some of the content was discarded: those pages read zeros");
    return 1;
}

static int cmd_reset(char **argv, int argc) { return reset_call(argv, argc, MEM_RESET, "MEM_RESET"); }
static int cmd_undo(char **argv, int argc) { return reset_call(argv, argc, MEM_RESET_UNDO, "MEM_RESET_UNDO"); }

static int protect_range(const struct range *r, DWORD prot)
{
    DWORD old = 0;
    BOOL ok = FALSE;
    SetLastError(0xdeadbeef);
    /* BEGIN SOLUTION: change the protection of the range to prot: VirtualProtect on
     * r->addr, r->size, the old protection into old */
    ok = VirtualProtect(r->addr, r->size, prot, &old);
    /* END SOLUTION, starter: (void)prot; */
    printf("VirtualProtect(%s, %s) = ", r->text, prot_name(prot));
    if (ok)
        printf("TRUE, old %s\n", prot_name(old));
    else
        failed();
    return 1;
}

static int cmd_protect(char **argv, int argc)
{
    struct range r;
    DWORD prot;
    int i = 0;
    if (!parse_place(argv, argc, &i, &r, 1) || i + 1 != argc || !parse_protection(argv[i], &prot))
        return 0;
    return protect_range(&r, prot);
}

static int cmd_guard(char **argv, int argc)
{
    struct range r;
    int i = 0;
    if (!parse_place(argv, argc, &i, &r, 1) || i != argc)
        return 0;
    return protect_range(&r, PAGE_READWRITE | PAGE_GUARD);
}

/* The accesses: each on a thread of its own (lab_probe), byte by byte, so that a
 * 2-byte write across a boundary faults at the first byte it may not touch. */
static struct access {
    unsigned char *p;
    size_t size;
    volatile size_t done;
    int kind;                   /* 'r', 'w', 'x' */
    unsigned char bytes[16];
} probe;

#define RET 0xc3                /* what write stores: "ret", so that exec can run it */

static void touch(void *arg)
{
    struct access *a = arg;
    /* BEGIN SOLUTION: touch the bytes one at a time, counting them in a->done: 'r' reads
     * a->p[i] into a->bytes[i], 'w' stores RET there; 'x' calls a->p as a function */
    for (; a->done < a->size; a->done++)
        if (a->kind == 'r')
            a->bytes[a->done] = ((volatile unsigned char *)a->p)[a->done];
        else if (a->kind == 'w')
            ((volatile unsigned char *)a->p)[a->done] = a->bytes[a->done] = RET;
        else
            ((void (*)(void))(uintptr_t)a->p)();
    /* END SOLUTION, starter: (void)a; */
}

static void report_fault(const struct lab_fault *f, const char *before[2])
{
    const char *story = page_story((const void *)f->address);
    faults++;
    if (f->code == STATUS_GUARD_PAGE_VIOLATION)    /* gone now: what it was before the touch */
        story = before[f->address / page != (uintptr_t)probe.p / page];
    printf("fault: %s (0x%08lX) %s " ADDR_FMT "\n", exception_name(f->code), f->code,
           f->access, (unsigned long long)f->address);
    printf("fault: that page is %s\n", story);
}

static int run_access(char **argv, int argc, int kind)
{
    const char *verb = kind == 'r' ? "read" : "write";
    struct range r;
    int i = 0;
    if (!parse_place(argv, argc, &i, &r, 0) || i != argc || r.size > sizeof probe.bytes
        || (kind == 'x' && r.size != 1))
        return 0;
    const char *before[2] = { page_story(r.addr), page_story(r.addr + r.size - 1) };
    probe.p = (unsigned char *)r.addr;
    probe.size = r.size;
    probe.done = 0;
    probe.kind = kind;
    if (kind == 'x') {
        MEMORY_BASIC_INFORMATION mbi;
        VirtualQuery(r.addr, &mbi, sizeof mbi);
        /* A page that may be read is read first (on a probe thread too): only a "ret" is
         * ever called. */
        if (mbi.State == MEM_COMMIT && !(mbi.Protect & (PAGE_GUARD | PAGE_NOACCESS))) {
            probe.kind = 'r';
            if (lab_probe(touch, &probe).code == 0 && probe.bytes[0] != RET) {
                printf("exec %.*s: the byte there is %02x, not ret (c3): write it first\n",
                       (int)strcspn(r.text, ","), r.text, probe.bytes[0]);
                return 1;
            }
            probe.kind = 'x';
            probe.done = 0;
        }
        FlushInstructionCache(GetCurrentProcess(), r.addr, 1);
    }
    struct lab_fault f = lab_probe(touch, &probe);
    if (kind == 'x')
        printf("exec %.*s: %s\n", (int)strcspn(r.text, ","), r.text,
               f.code == 0 ? "ok, the ret there returned" : "a fault");
    else {
        printf("%s %s: %s", verb, r.text, f.code == 0 ? "ok:" : probe.done ? "" : "a fault");
        if (f.code != 0 && probe.done)
            printf("%zu byte%s, then a fault:", (size_t)probe.done, probe.done == 1 ? "" : "s");
        for (size_t b = 0; b < probe.done; b++)
            printf(" %02x", probe.bytes[b]);
        printf("\n");
    }
    if (f.code != 0)
        report_fault(&f, before);
    return 1;
}

static int cmd_read(char **argv, int argc) { return run_access(argv, argc, 'r'); }
static int cmd_write(char **argv, int argc) { return run_access(argv, argc, 'w'); }
static int cmd_exec(char **argv, int argc) { return run_access(argv, argc, 'x'); }

static int cmd_query(char **argv, int argc)
{
    struct range r;
    MEMORY_BASIC_INFORMATION mbi;
    char label[64], allocation[128];
    int i = 0;
    if (!parse_place(argv, argc, &i, &r, 0) || i != argc || r.size != 1)
        return 0;
    snprintf(label, sizeof label, "VirtualQuery(%.*s): ", (int)strcspn(r.text, ","), r.text);
    print_query(label, r.addr);
    VirtualQuery(r.addr, &mbi, sizeof mbi);
    snprintf(allocation, sizeof allocation, "%s", prot_name(mbi.AllocationProtect));
    printf("allocation: base " ADDR_FMT " (the region's: %s), %s\n", ADDR(mbi.AllocationBase),
           mbi.AllocationBase == base ? "yes" : "no", allocation);
    printf("run:        pages %zu..%zu alike (BaseAddress " ADDR_FMT ", RegionSize %zu bytes)\n",
           (size_t)((char *)mbi.BaseAddress - base) / page,
           (size_t)((char *)mbi.BaseAddress - base + mbi.RegionSize) / page - 1,
           ADDR(mbi.BaseAddress), (size_t)mbi.RegionSize);
    return 1;
}

static int cmd_help(char **argv, int argc);

static const struct command {
    const char *name, *args, *title;
    int region;                 /* needs a region */
    int (*run)(char **argv, int argc);
} commands[] = {
    { "reserve", "N", "VirtualAlloc(NULL, N pages, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE): the region", 0, cmd_reserve },
    { "commit", "RANGE [PROT]", "VirtualAlloc(MEM_COMMIT, PROT; default rw)", 1, cmd_commit },
    { "decommit", "RANGE", "VirtualFree(MEM_DECOMMIT): the pages stay reserved", 1, cmd_decommit },
    { "release", "", "VirtualFree(base, 0, MEM_RELEASE): the whole region is freed", 1, cmd_release },
    { "reset", "RANGE", "VirtualAlloc(MEM_RESET): the content is no longer needed", 1, cmd_reset },
    { "undo", "RANGE", "VirtualAlloc(MEM_RESET_UNDO): it is needed again (also reset-undo)", 1, cmd_undo },
    { "reset-undo", "RANGE", "the same as undo", 1, cmd_undo },
    { "protect", "RANGE PROT", "VirtualProtect: prints the old protection", 1, cmd_protect },
    { "guard", "RANGE", "the same as protect RANGE rw+guard", 1, cmd_guard },
    { "read", "AT [K]", "read K bytes (default 1), one by one", 1, cmd_read },
    { "write", "AT [K]", "write K bytes of c3 (ret), one by one", 1, cmd_write },
    { "exec", "AT", "call the ret that write put there", 1, cmd_exec },
    { "query", "AT", "VirtualQuery: state, protection, type, allocation base", 1, cmd_query },
    { "help", "", "this list", 0, cmd_help },
};
#define COMMANDS (sizeof commands / sizeof commands[0])

static int cmd_help(char **argv, int argc)
{
    (void)argv;
    if (argc != 0)
        return 0;
    for (size_t i = 0; i < COMMANDS; i++)
        printf("  %-10s %-13s %s\n", commands[i].name, commands[i].args, commands[i].title);
    printf("  RANGE  P N: N pages from page P; end P K: K bytes from the last byte of page P\n");
    printf("  AT     P: the first byte of page P; end P: its last byte\n");
    printf("  PROT  ");
    for (size_t i = 0; i < PROTECTIONS; i++)
        printf(" %s%s", i >= 8 ? "+" : "", protections[i].name);
    printf(" (or the PAGE_* names, e.g. PAGE_READONLY|PAGE_GUARD)\n");
    printf("  ; separates commands, # starts a comment; end of input ends vmsh\n");
    return 1;
}

/* One command: its words, run from the table, then the strip of the region. */
static void run_command(char *text, int echo)
{
    char *argv[16];
    int argc = 0;
    for (char *word = strtok(text, " \t\r\n"); word != NULL && argc < 16; word = strtok(NULL, " \t\r\n"))
        argv[argc++] = word;
    if (argc == 0)
        return;
    if (echo) {
        printf(">");
        for (int i = 0; i < argc; i++)
            printf(" %s", argv[i]);
        printf("\n");
    }
    size_t i = 0;
    while (i < COMMANDS && strcmp(argv[0], commands[i].name) != 0)
        i++;
    if (i == COMMANDS) {
        printf("bad command: \"%s\" is not a command (help lists them)\n", argv[0]);
        bad++;
        return;
    }
    if (commands[i].region && base == NULL) {
        printf("%s: no region: reserve N first\n", argv[0]);
        bad++;
        return;
    }
    if (!commands[i].run(argv + 1, argc - 1)) {
        printf("bad command: usage: %s %s (pages 0..%zu)\n", commands[i].name, commands[i].args,
               base != NULL ? pages - 1 : 0);
        bad++;
        return;
    }
    if (base != NULL && commands[i].run != cmd_help) {
        char label[64];
        snprintf(label, sizeof label, "region " ADDR_FMT ": ", ADDR(base));
        page_strip(label, base, pages);
    }
}

int main(int argc, char **argv)
{
    char line[512];
    (void)argv;
    if (argc != 1)
        usage("vmsh < script\n  a Virtual* shell: one command a line from standard input; "
              "help lists them");
    lab_start();
    page = lab_system()->dwPageSize;
    int typed = _isatty(_fileno(stdin));
    printf("vmsh: %s, pages of %zu bytes; help lists the commands\n", lab_platform(), page);
    for (;;) {
        if (typed)
            printf("> ");
        if (fgets(line, sizeof line, stdin) == NULL)
            break;
        if (strchr(line, '\n') == NULL && !feof(stdin)) {
            int c;
            while ((c = getchar()) != '\n' && c != EOF)
                ;
            printf("bad command: a line longer than %zu characters\n", sizeof line - 2);
            bad++;
            continue;
        }
        line[strcspn(line, "#")] = '\0';
        int several = strchr(line, ';') != NULL;
        for (char *next = line, *cmd; next != NULL;) {
            cmd = next;
            next = strchr(cmd, ';');
            if (next != NULL)
                *next++ = '\0';
            run_command(cmd, !typed || several);
        }
    }
    printf("end of input: faults %u, bad commands %u\n", faults, bad);
    return 0;
}
