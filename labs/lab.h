/*
 * lab.h - the only code the labs share (header-only, include it once per lab).
 *
 * The portable part, which the Linux labs (posix_vm, posix_mapping) include too:
 *   ADDR(p)            an address for the "0x%016llx" format, 64-bit clean
 *   usage(text)        the usage on stderr, exit 2
 *   lab_text()         a buffer for a name made on the fly: one of eight, in turn
 *   struct lab_mode    one mode of a lab, in a table (xv6's quicktests[]):
 *   lab_choose()       the mode argv names (the usage, made from the table, when none)
 *   lab_run()          run it, or "all": every mode above "all" in the table
 *   lab_usage()        the usage made from the table, on stderr, exit 2
 *
 * The Windows part:
 *   lab_start()        unbuffered stdout, the fault and abort() reporters installed
 *   lab_system()       GetSystemInfo, done once
 *   die(api)           "<api> failed: ERROR_X (n): text" on stderr, exit 2
 *   state_name(), type_name(), prot_name(), error_name(), exception_name()
 *                      symbolic names for what the Virtual* calls return
 *   read_word(dst, n)  one word from standard input, never more than n - 1 bytes
 *   page_strip(p, n)   "[C][R][-]": the state of n pages from p, at a glance ([M]: mapped)
 *   count_nonzero(p,n) how many of n bytes from p are not zero
 *   lab_probe(fn, arg) run fn(arg) and tell whether it faulted, without dying
 *   lab_platform()     "Wine 8.0" or "Windows 10.0 build 19045": where this runs
 *   lab_windows_before(major, minor)  Windows older than that version (never under Wine)
 *   lab_mem_now(), lab_mem_cost(label, &last)   what a step cost: commit charge, working
 *                      set, page faults (GetProcessMemoryInfo); lab_mem_counters() says
 *                      which of them this system really reports
 *   resident_strip(label, p, n)  "[C*][C][R]": page_strip, * = in RAM (QueryWorkingSetEx)
 *   lab_banner(col)    "platform:" and "page size:", the lines most labs start with
 *
 * The fault reporter: an access the program was not allowed to make ends the
 * process with a one-line report on stderr, in a fixed form that the harness
 * reads (harness/run.py) and a student can act on:
 *
 *   fault: EXCEPTION_ACCESS_VIOLATION (0xC0000005) writing 0x00000000010A0000
 *   fault: that page is MEM_RESERVE: reserved but not committed; ...
 *
 * then exits with the exception code, as Windows does for an unhandled one
 * (0xC0000005; under Wine only its low byte is seen: 5).
 * MinGW's gcc has no __try/__except, so the reporter is a vectored exception
 * handler (AddVectoredExceptionHandler): it sees every exception first.
 */
#ifndef LAB_H
#define LAB_H

/* Microsoft's cl flags strcat, getenv, ... as unsafe (warning C4996); the labs use them
 * with their bounds checked.  Must come before the first C runtime header. */
#ifndef _CRT_SECURE_NO_WARNINGS
#define _CRT_SECURE_NO_WARNINGS
#endif

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the portable part ---------------------------------------------------------------- */

#define ADDR(p) ((unsigned long long)(uintptr_t)(p))
#define ADDR_FMT "0x%016llx"

#define LAB_TEXTS 8
#define LAB_TEXT_SIZE 128

/* A buffer for a name a helper makes on the fly (prot_name, error_name): each call gets
 * the next of LAB_TEXTS, so the names in one printf each keep their own. */
static inline char *lab_text(void)
{
    static char ring[LAB_TEXTS][LAB_TEXT_SIZE];
    static unsigned next;
    char *text = ring[next++ % LAB_TEXTS];
    text[0] = '\0';
    return text;
}

static inline _Noreturn void usage(const char *text)
{
    fprintf(stderr, "usage: %s\n", text);
    exit(2);
}

/* One mode of a lab; a lab's modes are a table ended by { 0 }, in the order "all" runs
 * them, and its usage is made from that table (never typed twice). */
struct lab_mode {
    const char *name;   /* the argument that picks it, then the ones it takes:
                         * "stress SEED [N [PAGES]]"; "" no argument; "all" every mode above */
    const char *title;  /* one line: what it shows (its heading when it runs, its usage line) */
    void (*run)(void);  /* what lab_run calls; NULL: main runs the mode itself */
};

struct lab_modes {
    const char *lab;                /* the program, as its usage names it */
    const char *first;              /* the mode no argument picks */
    const char *note;               /* lines (each from two spaces) that end the usage, or NULL */
    const struct lab_mode *mode;    /* the table */
};

/* "usage: free_rules [release-size|...|all]" (wrapped at 80 columns), or, when a mode takes
 * arguments, one line per mode ("       arena stress SEED [N [PAGES]]"); then one line per
 * mode with its title; on stderr, exit 2. */
static inline _Noreturn void lab_usage(const struct lab_modes *m)
{
    const struct lab_mode *r;
    int width = 0, arguments = 0;
    for (r = m->mode; r->name != NULL; r++) {
        int size = r->name[0] != '\0' ? (int)strcspn(r->name, " ") : (int)strlen("(no argument)");
        width = size > width ? size : width;
        arguments |= strchr(r->name, ' ') != NULL;
    }
    if (arguments) {
        for (r = m->mode; r->name != NULL; r++)
            fprintf(stderr, "%s%s%s%s\n", r == m->mode ? "usage: " : "       ", m->lab,
                    r->name[0] != '\0' ? " " : "", r->name);
    } else {
        int indent = fprintf(stderr, "usage: %s [", m->lab), column = indent;
        for (r = m->mode; r->name != NULL; r++) {
            const struct lab_mode *next = r + 1;
            int size = (int)strlen(r->name) + 1;      /* with its '|' or ']' */
            if (r->name[0] == '\0')
                continue;
            while (next->name != NULL && next->name[0] == '\0')
                next++;
            if (column + size > 80 && column > indent)
                column = fprintf(stderr, "\n%*s", indent, "") - 1;
            column += fprintf(stderr, "%s%c", r->name, next->name != NULL ? '|' : ']');
        }
        fprintf(stderr, "\n");
    }
    for (r = m->mode; r->name != NULL; r++)     /* "  stress    N random ...": the first word */
        fprintf(stderr, "  %-*.*s  %s%s\n", width, r->name[0] != '\0' ? (int)strcspn(r->name, " ") : width,
                r->name[0] != '\0' ? r->name : "(no argument)", r->title,
                r->name[0] != '\0' && strcmp(r->name, m->first) == 0 ? " (the default)" : "");
    if (m->note != NULL)
        fprintf(stderr, "%s\n", m->note);
    exit(2);
}

/* The index of the mode argv[1] names (no argument: m->first), with the number of
 * arguments its name asks for; anything else is the usage and exit 2. */
static inline size_t lab_choose(int argc, char **argv, const struct lab_modes *m)
{
    const char *asked = argc >= 2 ? argv[1] : m->first;
    int given = argc >= 2 ? argc - 2 : 0;
    if (argc >= 2 && asked[0] == '\0')
        lab_usage(m);
    for (size_t i = 0; m->mode[i].name != NULL; i++) {
        const char *name = m->mode[i].name, *word;
        size_t length = strcspn(name, " ");
        int least = 0, most = 0;
        if (strlen(asked) != length || strncmp(name, asked, length) != 0)
            continue;
        for (word = name + length; *(word += strspn(word, " ")) != '\0'; word += strcspn(word, " ")) {
            most++;
            least += *word != '[';      /* "[N" is optional, "SEED" is not */
        }
        if (given < least || given > most)
            lab_usage(m);
        return i;
    }
    lab_usage(m);
}

/* Runs mode i, or, when it is "all", every mode above it in the table; before each, when
 * heading is not NULL, a line: heading, the mode's name and title ("== straddle: ..."). */
static inline void lab_run(const struct lab_modes *m, size_t i, const char *heading)
{
    int all = strcmp(m->mode[i].name, "all") == 0;
    for (size_t j = all ? 0 : i; j < (all ? i : i + 1); j++) {
        if (heading != NULL)
            printf("%s%s: %s\n", heading, m->mode[j].name, m->mode[j].title);
        m->mode[j].run();
    }
}

/* ---- the Windows part ----------------------------------------------------------------- */
#ifdef _WIN32

/* The labs need kernel32's calls only: without the rest of windows.h (RPC, OLE, shell,
 * winsock, ...) every lab compiles in about half the time. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
/* GetProcessMemoryInfo and QueryWorkingSetEx as kernel32's K32* calls (Windows 7 and
 * later): no psapi library to link. */
#ifndef PSAPI_VERSION
#define PSAPI_VERSION 2
#endif
#include <psapi.h>
#include <inttypes.h>
#include <signal.h>

static inline const SYSTEM_INFO *lab_system(void)
{
    static SYSTEM_INFO info;
    if (info.dwPageSize == 0)
        GetSystemInfo(&info);
    return &info;
}

static inline const char *state_name(DWORD state)
{
    switch (state) {
    case MEM_COMMIT:  return "MEM_COMMIT";
    case MEM_RESERVE: return "MEM_RESERVE";
    case MEM_FREE:    return "MEM_FREE";
    default:          return "MEM_?";
    }
}

static inline const char *type_name(DWORD type)
{
    switch (type) {
    case MEM_IMAGE:   return "MEM_IMAGE";
    case MEM_MAPPED:  return "MEM_MAPPED";
    case MEM_PRIVATE: return "MEM_PRIVATE";
    case 0:           return "none";
    default:          return "MEM_?";
    }
}

/* "PAGE_READONLY | PAGE_GUARD"; 0 (what VirtualQuery reports for a page that
 * is not committed) reads "0 (no access: not committed)". */
static inline const char *prot_name(DWORD prot)
{
    static const struct { DWORD bit; const char *name; } base[] = {
        { PAGE_NOACCESS, "PAGE_NOACCESS" },
        { PAGE_READONLY, "PAGE_READONLY" },
        { PAGE_READWRITE, "PAGE_READWRITE" },
        { PAGE_WRITECOPY, "PAGE_WRITECOPY" },
        { PAGE_EXECUTE, "PAGE_EXECUTE" },
        { PAGE_EXECUTE_READ, "PAGE_EXECUTE_READ" },
        { PAGE_EXECUTE_READWRITE, "PAGE_EXECUTE_READWRITE" },
        { PAGE_EXECUTE_WRITECOPY, "PAGE_EXECUTE_WRITECOPY" },
    }, modifier[] = {
        { PAGE_GUARD, "PAGE_GUARD" },
        { PAGE_NOCACHE, "PAGE_NOCACHE" },
        { PAGE_WRITECOMBINE, "PAGE_WRITECOMBINE" },
    };
    char *text;
    if (prot == 0)
        return "0 (no access: not committed)";
    text = lab_text();
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        if ((prot & 0xff) == base[i].bit)
            strcat(text, base[i].name);
    if (text[0] == '\0')
        snprintf(text, LAB_TEXT_SIZE, "0x%02lx", prot & 0xff);
    for (size_t i = 0; i < sizeof modifier / sizeof modifier[0]; i++)
        if (prot & modifier[i].bit) {
            strcat(text, " | ");
            strcat(text, modifier[i].name);
        }
    return text;
}

/* "ERROR_INVALID_ADDRESS (487)": the name the documentation uses, then the number. */
static inline const char *error_name(DWORD error)
{
    static const struct { DWORD code; const char *name; } names[] = {
        { ERROR_SUCCESS, "ERROR_SUCCESS" },
        { ERROR_ACCESS_DENIED, "ERROR_ACCESS_DENIED" },
        { ERROR_NOT_ENOUGH_MEMORY, "ERROR_NOT_ENOUGH_MEMORY" },
        { ERROR_INVALID_PARAMETER, "ERROR_INVALID_PARAMETER" },
        { ERROR_INVALID_ADDRESS, "ERROR_INVALID_ADDRESS" },
        { ERROR_COMMITMENT_LIMIT, "ERROR_COMMITMENT_LIMIT" },
        { ERROR_NOACCESS, "ERROR_NOACCESS" },
        { ERROR_INVALID_FLAGS, "ERROR_INVALID_FLAGS" },
        { ERROR_NOT_LOCKED, "ERROR_NOT_LOCKED" },
        { 0xdeadbeef, "not set by the call, still 0xdeadbeef" },
    };
    char *text = lab_text();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].code == error) {
            snprintf(text, LAB_TEXT_SIZE, "%s (%lu)", names[i].name, error);
            return text;
        }
    snprintf(text, LAB_TEXT_SIZE, "error %lu", error);
    return text;
}

static inline const char *exception_name(DWORD code)
{
    switch (code) {
    case EXCEPTION_ACCESS_VIOLATION:      return "EXCEPTION_ACCESS_VIOLATION";
    case STATUS_GUARD_PAGE_VIOLATION:     return "STATUS_GUARD_PAGE_VIOLATION";
    case EXCEPTION_STACK_OVERFLOW:        return "EXCEPTION_STACK_OVERFLOW";
    case EXCEPTION_INT_DIVIDE_BY_ZERO:    return "EXCEPTION_INT_DIVIDE_BY_ZERO";
    case EXCEPTION_ILLEGAL_INSTRUCTION:   return "EXCEPTION_ILLEGAL_INSTRUCTION";
    case EXCEPTION_IN_PAGE_ERROR:         return "EXCEPTION_IN_PAGE_ERROR";
    case EXCEPTION_PRIV_INSTRUCTION:      return "EXCEPTION_PRIV_INSTRUCTION";
    case EXCEPTION_DATATYPE_MISALIGNMENT: return "EXCEPTION_DATATYPE_MISALIGNMENT";
    default:                              return "exception";
    }
}

/* ExceptionInformation[0] of an access violation: what the program was doing. */
static inline const char *access_name(ULONG_PTR kind)
{
    switch (kind) {
    case 0:  return "reading";
    case 1:  return "writing";
    case 8:  return "executing";
    default: return "accessing";
    }
}

static inline _Noreturn void die(const char *api)
{
    DWORD error = GetLastError();
    char text[256] = "";
    FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                   error, 0, text, sizeof text, NULL);
    text[strcspn(text, "\r\n")] = '\0';
    fprintf(stderr, "%s failed: %s: %s\n", api, error_name(error), text);
    exit(2);
}

/* What the page holding addr is, in words, for the line after a fault. */
static inline const char *page_story(const void *addr)
{
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery(addr, &mbi, sizeof mbi) == 0)
        return "outside the user address space";
    if (mbi.State == MEM_FREE)
        return "MEM_FREE: nothing is there; VirtualAlloc(..., MEM_RESERVE | MEM_COMMIT, ...) first";
    if (mbi.State == MEM_RESERVE)
        return "MEM_RESERVE: reserved but not committed; VirtualAlloc(..., MEM_COMMIT, ...) first";
    if (mbi.Protect & PAGE_GUARD)
        return "MEM_COMMIT with PAGE_GUARD: the first touch raises the guard exception";
    switch (mbi.Protect & 0xff) {
    case PAGE_NOACCESS:
        return "MEM_COMMIT but PAGE_NOACCESS: VirtualProtect it to allow the access";
    case PAGE_READONLY:
        if (mbi.Type == MEM_MAPPED)
            return "MEM_COMMIT but not writable (PAGE_READONLY): a view mapped for reading; "
                   "FILE_MAP_WRITE (OpenFileMapping, MapViewOfFile) allows writing";
        if (mbi.Type == MEM_IMAGE)
            return "MEM_COMMIT but not writable (PAGE_READONLY): the program's own constants";
        return "MEM_COMMIT but not writable (PAGE_READONLY): the protection is VirtualAlloc's "
               "4th argument, or VirtualProtect's 3rd; PAGE_READWRITE allows writing";
    case PAGE_EXECUTE_READ: case PAGE_EXECUTE:
        return "MEM_COMMIT but not writable (PAGE_EXECUTE*): the protection is VirtualAlloc's "
               "4th argument, or VirtualProtect's 3rd; PAGE_EXECUTE_READWRITE allows writing";
    default:
        return "MEM_COMMIT: check the access kind against the page protection";
    }
}

/* lab_probe() runs a function on a thread of its own: when that thread
 * faults, the handler records the fault and ends just that thread. */
struct lab_fault {
    DWORD code;         /* 0 when fn returned normally */
    const char *access; /* "reading", "writing", "executing" */
    uintptr_t address;  /* the address the access was refused at */
};

static volatile DWORD lab_probe_thread;
static struct lab_fault lab_probe_fault;

static inline LONG CALLBACK lab_fault_handler(EXCEPTION_POINTERS *info)
{
    const EXCEPTION_RECORD *rec = info->ExceptionRecord;
    DWORD code = rec->ExceptionCode;
    int memory = code == EXCEPTION_ACCESS_VIOLATION || code == STATUS_GUARD_PAGE_VIOLATION
              || code == EXCEPTION_IN_PAGE_ERROR;
    const char *access = memory ? access_name(rec->ExceptionInformation[0]) : "";
    uintptr_t address = memory ? (uintptr_t)rec->ExceptionInformation[1]
                               : (uintptr_t)rec->ExceptionAddress;

    /* Only errors: debugger notifications, C++ and other software exceptions pass. */
    if ((code & 0xF0000000u) != 0xC0000000u && code != STATUS_GUARD_PAGE_VIOLATION)
        return EXCEPTION_CONTINUE_SEARCH;
    if (GetCurrentThreadId() == lab_probe_thread) {
        lab_probe_fault.code = code;
        lab_probe_fault.access = access;
        lab_probe_fault.address = address;
        ExitThread(code);
    }
    if (memory) {
        fprintf(stderr, "fault: %s (0x%08lX) %s " ADDR_FMT "\n",
                exception_name(code), code, access, (unsigned long long)address);
        fprintf(stderr, "fault: that page is %s\n", page_story((const void *)address));
    } else {
        fprintf(stderr, "fault: %s (0x%08lX) at instruction " ADDR_FMT "\n",
                exception_name(code), code, (unsigned long long)address);
    }
    fflush(stderr);
    ExitProcess(code);
    return EXCEPTION_CONTINUE_SEARCH; /* not reached */
}

/* abort() (and a failed assert()) ends a program with status 3, like exit(3); msvcrt's
 * own message goes to a console, which a program run through pipes does not have.  This
 * line on stderr is how the harness tells the two apart. */
static inline void lab_abort_handler(int sig)
{
    (void)sig;
    fputs("abort: abort() was called: the program stopped itself (status 3)\n", stderr);
    fflush(stderr);
    _exit(3);
}

static inline void lab_start(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    AddVectoredExceptionHandler(1, lab_fault_handler);
    signal(SIGABRT, lab_abort_handler);
}

struct lab_probe_call {
    void (*fn)(void *);
    void *arg;
};

static inline DWORD WINAPI lab_probe_main(void *param)
{
    struct lab_probe_call *call = param;
    call->fn(call->arg);
    return 0;
}

/* Runs fn(arg) and returns what it did: .code == 0 when it returned, else the
 * exception that stopped it, with the access kind and address. */
static inline struct lab_fault lab_probe(void (*fn)(void *), void *arg)
{
    struct lab_probe_call call = { fn, arg };
    struct lab_fault none = { 0, "", 0 };
    HANDLE thread;

    lab_probe_fault = none;
    thread = CreateThread(NULL, 0, lab_probe_main, &call, CREATE_SUSPENDED, (DWORD *)&lab_probe_thread);
    if (thread == NULL)
        die("CreateThread");
    ResumeThread(thread);
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);
    lab_probe_thread = 0;
    return lab_probe_fault;
}

/* Reads one whitespace-delimited word from standard input into dst, at most
 * size - 1 bytes, then a terminating NUL: never past dst + size.  The bytes are
 * written one by one in place, as scanf("%s") would, so a write to a page that
 * is not committed faults on its first byte.  Returns the length, or -1 when
 * standard input holds no word. */
static inline long read_word(char *dst, size_t size)
{
    size_t n = 0;
    int c;

    do
        c = getchar();
    while (c == ' ' || c == '\t' || c == '\r' || c == '\n');
    if (c == EOF)
        return -1;
    while (c != EOF && c != ' ' && c != '\t' && c != '\r' && c != '\n' && n + 1 < size) {
        dst[n++] = (char)c;
        c = getchar();
    }
    dst[n] = '\0';
    return (long)n;
}

static inline size_t count_nonzero(const char *p, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < size; i++)
        n += p[i] != 0;
    return n;
}

/* "[C][C][R][-]": one cell per page from base; C committed, R reserved,
 * - free, G a committed guard page, M a committed page of a mapped view
 * (MEM_MAPPED: a file's, or the paging file's, not private memory). */
static inline void page_strip(const char *label, const void *base, size_t pages)
{
    size_t page = lab_system()->dwPageSize;
    printf("%s", label);
    for (size_t i = 0; i < pages; i++) {
        MEMORY_BASIC_INFORMATION mbi;
        const char *cell = "[?]";
        if (VirtualQuery((const char *)base + i * page, &mbi, sizeof mbi) != 0)
            cell = mbi.State == MEM_FREE ? "[-]"
                 : mbi.State == MEM_RESERVE ? "[R]"
                 : (mbi.Protect & PAGE_GUARD) ? "[G]"
                 : mbi.Type == MEM_MAPPED ? "[M]" : "[C]";
        printf("%s", cell);
    }
    printf("\n");
}

/* Where this runs.  Wine's ntdll exports wine_get_version; Windows' does not.
 * RtlGetVersion, unlike GetVersionEx, reports the real Windows version. */
static inline const char *lab_platform(void)
{
    typedef const char *(CDECL *wine_version_fn)(void);
    typedef LONG (WINAPI *rtl_version_fn)(OSVERSIONINFOW *);
    static char text[64];
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    wine_version_fn wine_version =
        (wine_version_fn)(void (*)(void))GetProcAddress(ntdll, "wine_get_version");
    rtl_version_fn rtl_version =
        (rtl_version_fn)(void (*)(void))GetProcAddress(ntdll, "RtlGetVersion");
    OSVERSIONINFOW v = { sizeof v, 0, 0, 0, 0, { 0 } };

    if (wine_version != NULL)
        snprintf(text, sizeof text, "Wine %s", wine_version());
    else if (rtl_version != NULL && rtl_version(&v) == 0)
        snprintf(text, sizeof text, "Windows %lu.%lu build %lu",
                 v.dwMajorVersion, v.dwMinorVersion, v.dwBuildNumber);
    else
        snprintf(text, sizeof text, "Windows");
    return text;
}

/* The first two lines of a lab's output, the values from column `column`; returns the
 * page size.
 *   platform:   Wine 8.0
 *   page size:  4096 bytes */
static inline size_t lab_banner(int column)
{
    size_t page = lab_system()->dwPageSize;
    printf("%-*s%s\n", column, "platform:", lab_platform());
    printf("%-*s%zu bytes\n", column, "page size:", page);
    return page;
}

static inline int lab_is_wine(void)
{
    return strncmp(lab_platform(), "Wine", 4) == 0;
}

/* Windows, and older than major.minor (RtlGetVersion: the real version, unlike
 * GetVersionEx).  Never true under Wine, whatever version its prefix claims. */
static inline int lab_windows_before(DWORD major, DWORD minor)
{
    typedef LONG (WINAPI *rtl_version_fn)(OSVERSIONINFOW *);
    rtl_version_fn rtl_version = (rtl_version_fn)(void (*)(void))
        GetProcAddress(GetModuleHandleA("ntdll.dll"), "RtlGetVersion");
    OSVERSIONINFOW v = { sizeof v, 0, 0, 0, 0, { 0 } };
    if (lab_is_wine() || rtl_version == NULL || rtl_version(&v) != 0)
        return 0;
    return v.dwMajorVersion < major || (v.dwMajorVersion == major && v.dwMinorVersion < minor);
}

/* ---- Memory you can watch materialise: what each step costs. ----
 * Commit charge is GetProcessMemoryInfo's PrivateUsage ("the Commit Charge value in
 * bytes for this process": PROCESS_MEMORY_COUNTERS_EX, Microsoft Learn), the working
 * set is the process's pages in RAM, PageFaultCount counts the faults that brought
 * pages in.  A figure that reads 0 in a running process is not reported by this
 * system (Wine 8 fills in neither PrivateUsage nor PageFaultCount): it prints n/a. */
struct lab_mem {
    long long commit, working_set, faults;
};

static inline struct lab_mem lab_mem_now(void)
{
    PROCESS_MEMORY_COUNTERS_EX c;
    memset(&c, 0, sizeof c);
    c.cb = sizeof c;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), (PROCESS_MEMORY_COUNTERS *)&c, sizeof c))
        die("GetProcessMemoryInfo");
    struct lab_mem m = { (long long)c.PrivateUsage, (long long)c.WorkingSetSize,
                         (long long)c.PageFaultCount };
    return m;
}

/* A line for each counter this system does not report, with what Windows does.  The
 * working set is the whole process's: stdio's buffers count too, so it moves by more
 * than the page; the * of resident_strip is the page's own. */
static inline void lab_mem_counters(const char *label)
{
    struct lab_mem m = lab_mem_now();
    if (m.commit == 0)
        printf("%scommit charge not reported here (PrivateUsage reads 0); on Windows "
               "MEM_COMMIT raises it by the size committed, MEM_RESERVE does not\n", label);
    if (m.faults == 0)
        printf("%spage faults not reported here (PageFaultCount reads 0); on Windows the "
               "first touch of a committed page is a page fault\n", label);
    if (m.working_set == 0)
        printf("%sworking set not reported here (WorkingSetSize reads 0)\n", label);
}

static inline void lab_mem_delta(const char *name, long long now, long long before, int kb)
{
    if (now == 0)
        printf("%s n/a", name);
    else if (kb)
        printf("%s %+lld KB", name, (now - before) / 1024);
    else
        printf("%s %+lld", name, now - before);
}

/* "commit charge +4 KB, working set +0 KB, page faults +1": the cost since *last,
 * which becomes now. */
static inline void lab_mem_cost(const char *label, struct lab_mem *last)
{
    struct lab_mem now = lab_mem_now();
    printf("%s", label);
    lab_mem_delta("commit charge", now.commit, last->commit, 1);
    lab_mem_delta(", working set", now.working_set, last->working_set, 1);
    lab_mem_delta(", page faults", now.faults, last->faults, 0);
    printf("\n");
    *last = now;
}

/* page_strip with * on every page that is in RAM now: "[C*][C][R]".
 * QueryWorkingSetEx's VirtualAttributes.Valid (Microsoft Learn: "the page is valid",
 * i.e. in the working set); Wine reads /proc/self/pagemap for it. */
static inline void resident_strip(const char *label, const void *base, size_t pages)
{
    size_t page = lab_system()->dwPageSize;
    printf("%s", label);
    for (size_t i = 0; i < pages; i++) {
        const char *p = (const char *)base + i * page;
        MEMORY_BASIC_INFORMATION mbi;
        PSAPI_WORKING_SET_EX_INFORMATION ws;
        memset(&ws, 0, sizeof ws);
        ws.VirtualAddress = (void *)p;
        char cell = '?';
        if (VirtualQuery(p, &mbi, sizeof mbi) != 0)
            cell = mbi.State == MEM_FREE ? '-' : mbi.State == MEM_RESERVE ? 'R'
                 : (mbi.Protect & PAGE_GUARD) ? 'G' : mbi.Type == MEM_MAPPED ? 'M' : 'C';
        if (!QueryWorkingSetEx(GetCurrentProcess(), &ws, sizeof ws)) {
            printf("[%c?]", cell);
            continue;
        }
        printf(ws.VirtualAttributes.Valid ? "[%c*]" : "[%c]", cell);
    }
    printf("\n");
}

/* One line after the label: the state, protection and type of the page at addr. */
static inline void print_query(const char *label, const void *addr)
{
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery(addr, &mbi, sizeof mbi) == 0)
        die("VirtualQuery");
    printf("%s%s, %s, %s\n", label, state_name(mbi.State), prot_name(mbi.Protect),
           type_name(mbi.Type));
}

#endif /* _WIN32 */

#endif
