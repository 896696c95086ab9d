/*
 * remote.c - memory in another process: VirtualAllocEx, WriteProcessMemory, VirtualFreeEx
 *
 * The lecture: "to allocate memory in the address space of another process, use
 * VirtualAllocEx"; "to free memory allocated in another process by VirtualAllocEx,
 * use VirtualFreeEx".  This lab starts a copy of itself (remote.exe child) and works
 * on that child's address space from the parent, one experiment per mode:
 *
 *   write    VirtualAllocEx reserves a page in the child, then commits it;
 *            WriteProcessMemory copies a word read from standard input into it; the
 *            child prints what it finds at that address and its own VirtualQuery of
 *            the page; the parent's VirtualQueryEx agrees, while the same address in
 *            the parent's own space holds nothing of it (addresses are per process);
 *            VirtualFreeEx(MEM_RELEASE) with size 0 and the base: MEM_FREE.
 *   protect  VirtualProtectEx makes the child's page PAGE_READONLY: the child still
 *            reads the word, and its write faults (its lab.h fault line, relayed).
 *   partial  ReadProcessMemory of two pages whose second is PAGE_NOACCESS: FALSE,
 *            ERROR_PARTIAL_COPY (299); the first page alone reads back.
 *   denied   a handle opened without PROCESS_VM_OPERATION: VirtualAllocEx fails,
 *            ERROR_ACCESS_DENIED (5); with it, the same call works.
 *
 * The child reads one command a line from a pipe ("show ADDR", "write ADDR", "quit")
 * and answers on another; its standard error is that pipe too, so its fault report
 * arrives in order.  The parent prints every child line after "child> ".  The child
 * never outlives the lab: it runs in a job object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
 * (the job dies with the parent's last handle to it, whatever ends the parent), and a
 * closed command pipe (EOF) ends it too.
 *
 * Sources (Microsoft Learn): VirtualAllocEx ("reserves, commits, or changes the state of
 * a region of memory within the virtual address space of a specified process"; "the
 * handle must have the PROCESS_VM_OPERATION access right"), VirtualFreeEx (MEM_RELEASE:
 * size 0, the base VirtualAllocEx returned), VirtualProtectEx, VirtualQueryEx,
 * ReadProcessMemory ("the entire area to be read must be accessible, and if it is not
 * accessible, the function fails"), Process Security and Access Rights, Job Objects
 * (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE).  Wine's dlls/kernel32/tests/virtual.c,
 * test_VirtualAllocEx, checks on Windows: VirtualAllocEx in a child process,
 * WriteProcessMemory + ReadProcessMemory round trip, VirtualQueryEx of the child's
 * reserved and committed pages, VirtualProtectEx's old protection, VirtualFreeEx with
 * MEM_RELEASE and size 0; and a read across a PAGE_NOACCESS page failing with
 * ERROR_PARTIAL_COPY (Windows 10 1607 and later; ERROR_NOACCESS before).
 *
 * Run:   echo hello | remote.exe [write|protect|partial|denied|all]
 */
#include "lab.h"
#include <fcntl.h>
#include <io.h>

#ifndef ERROR_PARTIAL_COPY
#define ERROR_PARTIAL_COPY 299L
#endif

static size_t page;

/* error_name() with the one code this lab adds: ReadProcessMemory's ERROR_PARTIAL_COPY. */
static const char *remote_error(DWORD error)
{
    return error == ERROR_PARTIAL_COPY ? "ERROR_PARTIAL_COPY (299)" : error_name(error);
}

/* ---- the child: answers the parent's commands about its own address space ---- */

static int child_main(void)
{
    char line[128];
    printf("ok\n");         /* started: its address space is settled, commands may come */
    while (fgets(line, sizeof line, stdin) != NULL) {
        char command[16];
        unsigned long long at;
        if (sscanf(line, "%15s %llx", command, &at) == 2 && strcmp(command, "show") == 0) {
            const char *p = (const char *)(uintptr_t)at;
            printf("at " ADDR_FMT ": \"%.*s\"\n", at, (int)strnlen(p, page - 1), p);
            print_query("VirtualQuery: ", p);
        } else if (sscanf(line, "%15s %llx", command, &at) == 2 && strcmp(command, "write") == 0) {
            char *p = (char *)(uintptr_t)at;
            printf("writing 'X' at " ADDR_FMT "\n", at);
            p[0] = 'X';     /* faults when the page is not writable */
            printf("wrote 'X': \"%.*s\"\n", (int)strnlen(p, page - 1), p);
        } else if (strncmp(line, "quit", 4) == 0) {
            return 0;
        } else {
            fprintf(stderr, "remote child: unknown command: %s", line);
            return 2;
        }
        printf("ok\n");     /* the end of an answer */
    }
    return 0;               /* EOF: the parent is gone */
}

/* ---- the parent's side of the child ---- */

struct child {
    PROCESS_INFORMATION pi;
    HANDLE job;
    FILE *to, *from;        /* commands to the child, its answers */
};

/* A copy of this program with the argument "child", in a job that dies with us, its
 * standard input and output (and error) pipes of ours. */
static struct child start_child(void)
{
    struct child c;
    char exe[MAX_PATH], cmdline[MAX_PATH + 16];
    SECURITY_ATTRIBUTES inherit = { sizeof inherit, NULL, TRUE };
    HANDLE in_read, in_write, out_read, out_write;
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limit;
    STARTUPINFOA si;

    if (GetModuleFileNameA(NULL, exe, sizeof exe) == 0)
        die("GetModuleFileName");
    snprintf(cmdline, sizeof cmdline, "\"%s\" child", exe);
    if (!CreatePipe(&in_read, &in_write, &inherit, 0) || !CreatePipe(&out_read, &out_write, &inherit, 0))
        die("CreatePipe");
    /* Our ends are not inherited: the child sees EOF when we close them. */
    SetHandleInformation(in_write, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(out_read, HANDLE_FLAG_INHERIT, 0);

    c.job = CreateJobObjectA(NULL, NULL);
    if (c.job == NULL)
        die("CreateJobObject");
    memset(&limit, 0, sizeof limit);
    limit.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!SetInformationJobObject(c.job, JobObjectExtendedLimitInformation, &limit, sizeof limit))
        die("SetInformationJobObject");

    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = in_read;
    si.hStdOutput = out_write;
    si.hStdError = out_write;
    if (!CreateProcessA(exe, cmdline, NULL, NULL, TRUE, CREATE_SUSPENDED, NULL, NULL, &si, &c.pi))
        die("CreateProcess");
    if (!AssignProcessToJobObject(c.job, c.pi.hProcess)) {
        TerminateProcess(c.pi.hProcess, 2);
        die("AssignProcessToJobObject");
    }
    ResumeThread(c.pi.hThread);
    CloseHandle(in_read);
    CloseHandle(out_write);
    c.to = _fdopen(_open_osfhandle((intptr_t)in_write, 0), "w");
    c.from = _fdopen(_open_osfhandle((intptr_t)out_read, 0), "r");
    if (c.to == NULL || c.from == NULL)
        die("_fdopen");
    setvbuf(c.to, NULL, _IONBF, 0);
    if (fgets(cmdline, sizeof cmdline, c.from) == NULL || strncmp(cmdline, "ok", 2) != 0) {
        fprintf(stderr, "remote: the child did not start (no \"ok\" on its pipe)\n");
        exit(2);
    }
    printf("child:      pid %lu (%s child), in a job object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE\n",
           c.pi.dwProcessId, "remote.exe");
    return c;
}

/* Sends one command and prints the child's answer, up to its "ok" or its end.
 * Returns 1 when the child answered "ok", 0 when it ended instead. */
static int ask(struct child *c, const char *command, const void *addr)
{
    char line[512];
    fprintf(c->to, "%s " ADDR_FMT "\n", command, ADDR(addr));
    while (fgets(line, sizeof line, c->from) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, "ok") == 0)
            return 1;
        printf("child> %s\n", line);
    }
    return 0;
}

/* Waits for the child to end (after "quit", or after its fault) and says how it ended. */
static void end_child(struct child *c)
{
    DWORD code;
    fputs("quit\n", c->to);
    fclose(c->to);
    if (WaitForSingleObject(c->pi.hProcess, 5000) != WAIT_OBJECT_0) {
        TerminateProcess(c->pi.hProcess, 2);
        fprintf(stderr, "remote: the child did not end within 5 s: terminated\n");
    }
    if (!GetExitCodeProcess(c->pi.hProcess, &code))
        die("GetExitCodeProcess");
    if (code >= 0xC0000000u)
        printf("child:      ended with 0x%08lX (%s)\n", code, exception_name(code));
    else
        printf("child:      ended with status %lu\n", code);
    fclose(c->from);
    CloseHandle(c->pi.hThread);
    CloseHandle(c->pi.hProcess);
    CloseHandle(c->job);
}

static void query_ex(const char *label, HANDLE process, const void *addr)
{
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQueryEx(process, addr, &mbi, sizeof mbi) == 0)
        die("VirtualQueryEx");
    printf("%s%s, %s, %s\n", label, state_name(mbi.State), prot_name(mbi.Protect), type_name(mbi.Type));
}

/* A page in the child: reserved, then committed, with the word written into it. */
static char *remote_page(struct child *c, const char *word)
{
    HANDLE child = c->pi.hProcess;
    char *base = NULL;
    SIZE_T written = 0;

    /* BEGIN SOLUTION: reserve one page at the top of the child's address space (above
     * 4 GiB, where 64-bit Windows would put it: VirtualAllocEx) into base, then commit it
     * at the same address; die() if either fails */
    base = VirtualAllocEx(child, NULL, page, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE);
    if (base == NULL)
        die("VirtualAllocEx(MEM_RESERVE | MEM_TOP_DOWN)");
    printf("reserved:   " ADDR_FMT " in the child (VirtualAllocEx MEM_RESERVE | MEM_TOP_DOWN, "
           "PAGE_READWRITE)\n", ADDR(base));
    if (VirtualAllocEx(child, base, page, MEM_COMMIT, PAGE_READWRITE) != base)
        die("VirtualAllocEx(MEM_COMMIT)");
    /* END SOLUTION, starter: (void)child; */
    query_ex("committed:  VirtualQueryEx(child, base): ", child, base);

    /* BEGIN SOLUTION: copy the word and its terminating NUL into the child's page
     * (WriteProcessMemory), the count of bytes copied into written; die() if it fails */
    if (!WriteProcessMemory(child, base, word, strlen(word) + 1, &written))
        die("WriteProcessMemory");
    /* END SOLUTION, starter: (void)word; */
    printf("written:    \"%s\" (%zu bytes with its NUL, WriteProcessMemory)\n", word, (size_t)written);
    return base;
}

/* The word from standard input, read once: "all" uses it in every step. */
static const char *input_word(void)
{
    static char word[256];
    if (word[0] == '\0' && read_word(word, sizeof word) < 0) {
        fprintf(stderr, "remote: no word on standard input: nothing to write into the child\n");
        exit(2);
    }
    return word;
}

static void write_step(void)
{
    const char *word = input_word();
    MEMORY_BASIC_INFORMATION own;
    struct child c = start_child();
    char *base = remote_page(&c, word);

    ask(&c, "show", base);
    query_ex("parent:     VirtualQueryEx(child, base): ", c.pi.hProcess, base);
    /* Addresses are per process: the same number in our own space is another page, or
     * nothing.  Read it as ReadProcessMemory would, so an unreadable page is no fault. */
    char here[256] = "";
    if (VirtualQuery(base, &own, sizeof own) == 0)
        die("VirtualQuery");
    ReadProcessMemory(GetCurrentProcess(), base, here, sizeof here - 1, NULL);
    printf("parent:     VirtualQuery(base), its own space: %s, %s: %s\n", state_name(own.State),
           type_name(own.Type), strcmp(here, word) == 0 ? "the same word, by chance"
                                                        : "the word is not here");

    /* BEGIN SOLUTION: release the child's page, named the way MEM_RELEASE wants it
     * (VirtualFreeEx); die() if that fails */
    if (!VirtualFreeEx(c.pi.hProcess, base, 0, MEM_RELEASE))
        die("VirtualFreeEx(MEM_RELEASE)");
    /* END SOLUTION */
    query_ex("parent:     VirtualQueryEx(child, base): ", c.pi.hProcess, base);
    end_child(&c);
}

static void protect_step(void)
{
    const char *word = input_word();
    DWORD old = 0;
    struct child c = start_child();
    char *base = remote_page(&c, word);

    /* BEGIN SOLUTION: make the child's page read-only (VirtualProtectEx), its old
     * protection into old; die() if that fails */
    if (!VirtualProtectEx(c.pi.hProcess, base, page, PAGE_READONLY, &old))
        die("VirtualProtectEx");
    /* END SOLUTION */
    printf("protected:  the old protection was %s\n", prot_name(old));
    query_ex("parent:     VirtualQueryEx(child, base): ", c.pi.hProcess, base);
    ask(&c, "show", base);
    if (ask(&c, "write", base))
        printf("parent:     the child wrote to a read-only page: not what VirtualProtectEx promises\n");
    end_child(&c);
}

/*  base          base + page
 *  [C: the word ][C: PAGE_NOACCESS]     ReadProcessMemory(base, 2 pages): the second refuses
 */
/*
 * In the child, two committed pages:
 *
 *   page          0                1
 *   child      [word...  ] [PAGE_NOACCESS]
 *   read       <------------------------->   base, 2 pages: Windows refuses (page 1), Wine reads
 *   read       <--------->                   base, 1 page: the word
 */
static void partial_step(void)
{
    const char *word = input_word();
    DWORD old;
    SIZE_T got = 0;
    struct child c = start_child();
    HANDLE child = c.pi.hProcess;
    char *base = VirtualAllocEx(child, NULL, 2 * page, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN,
                                PAGE_READWRITE);
    char *buffer = malloc(2 * page);
    if (base == NULL)
        die("VirtualAllocEx(MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN)");
    if (buffer == NULL)
        die("malloc");
    printf("allocated:  " ADDR_FMT " in the child, 2 pages (VirtualAllocEx MEM_RESERVE | MEM_COMMIT"
           " | MEM_TOP_DOWN)\n", ADDR(base));
    if (!WriteProcessMemory(child, base, word, strlen(word) + 1, NULL))
        die("WriteProcessMemory");
    if (!VirtualProtectEx(child, base + page, page, PAGE_NOACCESS, &old))
        die("VirtualProtectEx");
    query_ex("page 0:     ", child, base);
    query_ex("page 1:     ", child, base + page);

    SetLastError(0xdeadbeef);
    BOOL ok = ReadProcessMemory(child, base, buffer, 2 * page, &got);
    DWORD error = GetLastError();
    printf("call:       ReadProcessMemory(child, base, buffer, 2 * page)\n");
    if (ok)
        printf("result:     TRUE, %zu bytes read\n", (size_t)got);
    else
        printf("result:     FALSE, %s, %zu bytes read\n", remote_error(error), (size_t)got);
    printf("behaviour:  %s\n", ok ? "read through: the child's PAGE_NOACCESS was not checked (Wine 8; "
                                    "Windows fails with ERROR_PARTIAL_COPY)"
                                  : "refused: the whole range must be readable, and page 1 is not");

    SetLastError(0xdeadbeef);
    memset(buffer, 0, page);
    ok = ReadProcessMemory(child, base, buffer, page, &got);
    error = GetLastError();
    printf("call:       ReadProcessMemory(child, base, buffer, page)\n");
    if (ok)
        printf("result:     TRUE, %zu bytes: \"%.*s\"\n", (size_t)got, (int)strnlen(buffer, page - 1), buffer);
    else
        printf("result:     FALSE, %s\n", remote_error(error));

    if (!VirtualFreeEx(child, base, 0, MEM_RELEASE))
        die("VirtualFreeEx(MEM_RELEASE)");
    free(buffer);
    end_child(&c);
}

static void try_alloc(const char *label, HANDLE process)
{
    SetLastError(0xdeadbeef);
    void *got = VirtualAllocEx(process, NULL, page, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN,
                               PAGE_READWRITE);
    DWORD error = GetLastError();
    if (got == NULL) {
        printf("%sNULL, %s\n", label, error_name(error));
        return;
    }
    printf("%s" ADDR_FMT "\n", label, ADDR(got));
    if (!VirtualFreeEx(process, got, 0, MEM_RELEASE))
        die("VirtualFreeEx(MEM_RELEASE)");
}

static void denied_step(void)
{
    struct child c = start_child();
    DWORD pid = c.pi.dwProcessId;
    HANDLE weak = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ | PROCESS_VM_WRITE, FALSE, pid);
    HANDLE strong = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_OPERATION, FALSE, pid);
    if (weak == NULL || strong == NULL)
        die("OpenProcess");
    printf("handle:     OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ | PROCESS_VM_WRITE)\n");
    try_alloc("VirtualAllocEx: ", weak);
    printf("handle:     OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_OPERATION)\n");
    try_alloc("VirtualAllocEx: ", strong);
    CloseHandle(weak);
    CloseHandle(strong);
    end_child(&c);
}

static const struct lab_mode steps[] = {
    { "write", "VirtualAllocEx, WriteProcessMemory, VirtualQueryEx, VirtualFreeEx", write_step },
    { "protect", "VirtualProtectEx(PAGE_READONLY): the child's write faults", protect_step },
    { "partial", "ReadProcessMemory across a PAGE_NOACCESS page", partial_step },
    { "denied", "VirtualAllocEx needs PROCESS_VM_OPERATION", denied_step },
    { "all", "every experiment above, in this order", NULL },
    { 0 }
};
static const struct lab_modes modes = { "remote", "write",
    "  each works on the memory of a child copy of this program; write, protect and\n"
    "  partial read a word from standard input", steps };

int main(int argc, char **argv)
{
    page = lab_system()->dwPageSize;
    /* The copy the parent starts: "child". */
    if (argc == 2 && strcmp(argv[1], "child") == 0) {
        lab_start();
        return child_main();
    }
    size_t chosen = lab_choose(argc, argv, &modes);
    lab_start();

    lab_banner(12);            /* platform:, page size: */
    lab_run(&modes, chosen, "== ");
    return 0;
}
