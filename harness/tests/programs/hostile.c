/* A submission that misbehaves, one way per mode: the sandbox and the limits must hold.
 *
 *   hostile sleep                 sleeps for a minute
 *   hostile stdin                 reads standard input to its end, then once more
 *   hostile flood                 prints 1 GiB
 *   hostile spawn                 starts copies of itself (hostile sleep) in a loop, never waiting
 *   hostile commit                commits 64 MiB blocks until VirtualAlloc fails
 *   hostile write NAME DIR...     creates DIR\NAME in each folder
 *   hostile read FILE...          reads each file
 *   hostile list DIR...           lists each folder
 *   hostile delete FILE...        deletes each file
 *   hostile scratch               creates, lists and deletes files in its own folder
 *   hostile network PORT          connects to 127.0.0.1:PORT and to 1.1.1.1:80
 *   hostile escapes               prints terminal escape sequences, bytes that are not UTF-8, NUL
 *   hostile leave                 starts a copy of itself (hostile sleep) and ends at once
 *   hostile regset NAME VALUE     sets HKEY_CURRENT_USER\Software\vmlabs-hostile\NAME
 *   hostile regget NAME           prints that value, if there is one
 *
 * Each step prints one line: what it tried and what happened, so a test can read it.
 */
#include "lab.h"

static void sleep_long(void)
{
    printf("sleeping\n");
    Sleep(60 * 1000);
}

static void read_stdin(void)
{
    long total = 0;
    while (getchar() != EOF)
        total++;
    printf("stdin:  %ld bytes, then end of file\n", total);
    printf("again:  %s\n", getchar() == EOF ? "end of file" : "more bytes");
}

static void flood(void)
{
    static char line[1024];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 2] = '\n';
    for (long i = 0; i < 1024L * 1024; i++)
        fputs(line, stdout);
    printf("printed 1 GiB\n");
}

static void spawn(const char *self)
{
    char command[MAX_PATH + 32];
    snprintf(command, sizeof command, "\"%s\" sleep", self);
    for (int n = 1; n <= 1000; n++) {
        STARTUPINFOA si;
        memset(&si, 0, sizeof si);
        si.cb = sizeof si;
        PROCESS_INFORMATION pi;
        SetLastError(0xdeadbeef);
        if (!CreateProcessA(NULL, command, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
            printf("spawn:  CreateProcess failed: %s\n", error_name(GetLastError()));
            Sleep(100);
            continue;
        }
        printf("spawn:  %d started\n", n);
        CloseHandle(pi.hThread);
        CloseHandle(pi.hProcess);
    }
}

static void commit_all(void)
{
    const size_t block = 64u << 20;
    size_t total = 0;
    for (;;) {
        SetLastError(0xdeadbeef);
        if (VirtualAlloc(NULL, block, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE) == NULL)
            break;
        total += block;
    }
    printf("committed: %zu MiB, then VirtualAlloc failed: %s\n", total >> 20,
           error_name(GetLastError()));
}

static void report(const char *what, const char *path, BOOL ok, const char *done)
{
    if (ok)
        printf("%s %s: %s\n", what, path, done);
    else
        printf("%s %s: refused, %s\n", what, path, error_name(GetLastError()));
}

static void write_into(const char *name, const char *dir)
{
    char path[MAX_PATH];
    snprintf(path, sizeof path, "%s\\%s", dir, name);
    SetLastError(0xdeadbeef);
    HANDLE h = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    DWORD written = 0;
    BOOL ok = h != INVALID_HANDLE_VALUE && WriteFile(h, "escaped\n", 8, &written, NULL);
    report("write", dir, ok, "created");
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
}

static void read_file(const char *path)
{
    char buffer[4096];
    DWORD got = 0;
    SetLastError(0xdeadbeef);
    HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    BOOL ok = h != INVALID_HANDLE_VALUE && ReadFile(h, buffer, sizeof buffer, &got, NULL);
    report("read", path, ok, "read");
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
}

static void list_dir(const char *dir)
{
    char pattern[MAX_PATH];
    WIN32_FIND_DATAA found;
    int entries = 0;
    snprintf(pattern, sizeof pattern, "%s\\*", dir);
    SetLastError(0xdeadbeef);
    HANDLE h = FindFirstFileA(pattern, &found);
    if (h != INVALID_HANDLE_VALUE) {
        do
            entries += strcmp(found.cFileName, ".") != 0 && strcmp(found.cFileName, "..") != 0;
        while (FindNextFileA(h, &found));
        FindClose(h);
    }
    if (h != INVALID_HANDLE_VALUE && entries > 0)
        printf("list %s: %d entries\n", dir, entries);
    else
        printf("list %s: refused or empty, %s\n", dir, error_name(GetLastError()));
}

static void scratch(void)
{
    char name[32];
    int created = 0, deleted = 0;
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "scratch-%d.txt", i);
        HANDLE h = CreateFileA(name, GENERIC_WRITE, 0, NULL, CREATE_NEW, 0, NULL);
        if (h != INVALID_HANDLE_VALUE) {
            created++;
            CloseHandle(h);
        }
    }
    list_dir(".");
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "scratch-%d.txt", i);
        deleted += DeleteFileA(name) != 0;
    }
    printf("scratch: created %d, deleted %d\n", created, deleted);
}

enum { INET = 2, STREAM = 1, TCP = 6 };     /* AF_INET, SOCK_STREAM, IPPROTO_TCP: no winsock.h */
typedef int (WINAPI *startup_fn)(WORD, void *);
typedef UINT_PTR (WINAPI *socket_fn)(int, int, int);
typedef int (WINAPI *connect_fn)(UINT_PTR, const void *, int);
typedef int (WINAPI *error_fn)(void);

/* ws2_32 loaded at run time: the program builds with the plain command, no -lws2_32. */
static void network(const char *port)
{
    static char wsadata[512];
    HMODULE ws2 = LoadLibraryA("ws2_32.dll");
    if (ws2 == NULL)
        die("LoadLibrary(ws2_32.dll)");
    startup_fn startup = (startup_fn)(void (*)(void))GetProcAddress(ws2, "WSAStartup");
    socket_fn make_socket = (socket_fn)(void (*)(void))GetProcAddress(ws2, "socket");
    connect_fn connect_to = (connect_fn)(void (*)(void))GetProcAddress(ws2, "connect");
    error_fn last_error = (error_fn)(void (*)(void))GetProcAddress(ws2, "WSAGetLastError");
    printf("WSAStartup: %d\n", startup(MAKEWORD(2, 2), wsadata));
    struct { unsigned short family, port; unsigned char addr[4]; char zero[8]; } targets[2] = {
        { INET, 0, { 127, 0, 0, 1 }, { 0 } },
        { INET, 0, { 1, 1, 1, 1 }, { 0 } },
    };
    int ports[2] = { atoi(port), 80 };
    for (int i = 0; i < 2; i++) {
        UINT_PTR s = make_socket(INET, STREAM, TCP);
        targets[i].port = (unsigned short)((ports[i] >> 8) | ((ports[i] & 0xff) << 8));
        int result = connect_to(s, &targets[i], sizeof targets[i]);
        printf("connect %u.%u.%u.%u:%d: %s (WSA error %d)\n", targets[i].addr[0], targets[i].addr[1],
               targets[i].addr[2], targets[i].addr[3], ports[i],
               result == 0 ? "connected" : "refused", result == 0 ? 0 : last_error());
    }
}

static void escapes(void)
{
    printf("clear:  \x1b[2J\x1b[H<- the screen would be cleared here\n");
    printf("title:  \x1b]0;pwned\x07<- the window title\n");
    printf("color:  \x1b[31mred\x1b[0m\n");
    printf("bytes:  \xff\xfe\xc3 not UTF-8\n");
    fwrite("nul:    a\0b\n", 1, 12, stdout);
    fprintf(stderr, "stderr: \x1b[2J\x1b]0;pwned\x07\n");
}

static void leave(const char *self)
{
    char command[MAX_PATH + 32];
    snprintf(command, sizeof command, "\"%s\" sleep", self);
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    PROCESS_INFORMATION pi;
    SetLastError(0xdeadbeef);
    BOOL ok = CreateProcessA(NULL, command, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi);
    printf("leave:  %s\n", ok ? "a copy started, left running" : error_name(GetLastError()));
}

#define HOSTILE_KEY "Software\\vmlabs-hostile"

static void registry_set(const char *name, const char *value)
{
    LONG status = RegSetKeyValueA(HKEY_CURRENT_USER, HOSTILE_KEY, name, REG_SZ, value,
                                  (DWORD)strlen(value) + 1);
    printf("regset: %s=%s: %s\n", name, value, status == ERROR_SUCCESS ? "set" : error_name(status));
}

static void registry_get(const char *name)
{
    char value[256];
    DWORD size = sizeof value;
    LONG status = RegGetValueA(HKEY_CURRENT_USER, HOSTILE_KEY, name, RRF_RT_REG_SZ, NULL,
                               value, &size);
    if (status == ERROR_SUCCESS)
        printf("regget: %s=%s\n", name, value);
    else
        printf("regget: %s: %s\n", name, error_name(status));
}

int main(int argc, char **argv)
{
    const char *mode = argc >= 2 ? argv[1] : "";
    setvbuf(stdout, NULL, _IONBF, 0);
    if (strcmp(mode, "sleep") == 0 && argc == 2)
        sleep_long();
    else if (strcmp(mode, "stdin") == 0 && argc == 2)
        read_stdin();
    else if (strcmp(mode, "flood") == 0 && argc == 2)
        flood();
    else if (strcmp(mode, "spawn") == 0 && argc == 2)
        spawn(argv[0]);
    else if (strcmp(mode, "commit") == 0 && argc == 2)
        commit_all();
    else if (strcmp(mode, "write") == 0 && argc >= 4)
        for (int i = 3; i < argc; i++)
            write_into(argv[2], argv[i]);
    else if (strcmp(mode, "read") == 0)
        for (int i = 2; i < argc; i++)
            read_file(argv[i]);
    else if (strcmp(mode, "list") == 0)
        for (int i = 2; i < argc; i++)
            list_dir(argv[i]);
    else if (strcmp(mode, "delete") == 0)
        for (int i = 2; i < argc; i++) {
            SetLastError(0xdeadbeef);
            report("delete", argv[i], DeleteFileA(argv[i]), "deleted");
        }
    else if (strcmp(mode, "scratch") == 0 && argc == 2)
        scratch();
    else if (strcmp(mode, "network") == 0 && argc == 3)
        network(argv[2]);
    else if (strcmp(mode, "escapes") == 0 && argc == 2)
        escapes();
    else if (strcmp(mode, "leave") == 0 && argc == 2)
        leave(argv[0]);
    else if (strcmp(mode, "regset") == 0 && argc == 4)
        registry_set(argv[2], argv[3]);
    else if (strcmp(mode, "regget") == 0 && argc == 3)
        registry_get(argv[2]);
    else
        usage("hostile sleep|stdin|flood|spawn|commit|write NAME DIR...|read FILE...|"
              "list DIR...|delete FILE...|scratch|network PORT|escapes|leave|"
              "regset NAME VALUE|regget NAME");
    return 0;
}
