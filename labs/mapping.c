/*
 * mapping.c - mapped memory: a file, or the paging file, seen through a view
 *
 * The lecture's title is "mapping": memory whose pages are a file's, or a named
 * section of the paging file that several processes map.  One experiment per mode:
 *
 *   share   the course's shared-memory pattern: the lab creates a named mapping backed
 *           by the paging file (CreateFileMapping(INVALID_HANDLE_VALUE, ..., name)) and
 *           starts two copies of itself, a writer and a reader, that open it by name
 *           (OpenFileMapping) and map it (MapViewOfFile).  The writer stores each word
 *           of standard input at slot i, STRIDE bytes apart; the reader prints each one,
 *           until "quit" (or the end of the input).  Two semaphores make them take
 *           turns; the lab then reads the slots through a view of its own.
 *   file    a mapping of a file in the working folder: write through the view,
 *           FlushViewOfFile, UnmapViewOfFile, ReadFile: the bytes are in the file.
 *           VirtualQuery of the view: MEM_MAPPED, its base a multiple of the
 *           allocation granularity.
 *   copy    a FILE_MAP_COPY view: the write lands in a private copy of the page,
 *           the file is unchanged.
 *   reset   VirtualAlloc(MEM_RESET) on the file's view fails; on the paging-file
 *           view it succeeds (lecture: "VirtualAlloc returns an error if you use
 *           MEM_RESET and the range of memory is mapped to a file. A shared view is
 *           only acceptable if it is mapped to a paging file").
 *   rules   a view is not VirtualAlloc memory, nor the other way round:
 *           VirtualFree(view, MEM_DECOMMIT) fails with ERROR_INVALID_PARAMETER (87),
 *           UnmapViewOfFile of VirtualAlloc memory with ERROR_INVALID_ADDRESS (487).
 *
 * The children run in a job object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: none
 * outlives the lab.  The file, mapping.dat, is created in the working folder.
 *
 * Sources.  Microsoft Learn: CreateFileMapping (INVALID_HANDLE_VALUE: "a file mapping
 * object of a specified size that is backed by the system paging file"), OpenFileMapping,
 * MapViewOfFile (FILE_MAP_COPY: "when the view is written, the page is copied ... the
 * original file does not change"; the view's base is a multiple of the allocation
 * granularity), FlushViewOfFile, UnmapViewOfFile, VirtualAlloc (MEM_RESET, quoted
 * above).  Wine's dlls/kernel32/tests/virtual.c, test_MapViewOfFile, on Windows:
 * VirtualQuery of a view is MEM_MAPPED with AllocationBase the view; MEM_RESET on
 * a paging-file view (SEC_COMMIT, SEC_RESERVE) succeeds; VirtualFree(MEM_DECOMMIT) on
 * a view is ERROR_INVALID_PARAMETER; UnmapViewOfFile of VirtualAlloc memory is
 * ERROR_INVALID_ADDRESS.  MEM_RESET on a file's view is in Learn only: the lab names
 * what happened ("behaviour:").
 *
 * Run:   echo alpha beta gamma quit | mapping.exe [share|file|copy|reset|rules|all]
 */
#include "lab.h"

#define STRIDE 64               /* bytes from one word's slot to the next */
#define FILE_NAME "mapping.dat"
#define WAIT_MS 5000            /* a child that waits longer than this gives up */

static size_t page;

/* ---- share: the writer and the reader, copies of this program ---- */

/* The names of the mapping and of its two semaphores: "empty" counts the slots the
 * writer may fill (one: they take turns), "full" the words the reader may take. */
static void object_name(char *dst, size_t size, const char *base, const char *suffix)
{
    snprintf(dst, size, "%s%s", base, suffix);
}

static HANDLE open_semaphore(const char *base, const char *suffix)
{
    char name[128];
    object_name(name, sizeof name, base, suffix);
    HANDLE h = OpenSemaphoreA(SEMAPHORE_ALL_ACCESS, FALSE, name);
    if (h == NULL)
        die("OpenSemaphore");
    return h;
}

static void wait_for(HANDLE h, const char *who, const char *what)
{
    if (WaitForSingleObject(h, WAIT_MS) != WAIT_OBJECT_0) {
        printf("%s> no %s within %d ms: giving up\n", who, what, WAIT_MS);
        exit(2);
    }
}

static int writer_main(const char *name)
{
    HANDLE empty = open_semaphore(name, "-empty"), full = open_semaphore(name, "-full");
    HANDLE mapping = NULL;
    char *view = NULL;

    /* BEGIN SOLUTION: open the mapping by its name with OpenFileMapping(FILE_MAP_WRITE,
     * ...) and map all of it with MapViewOfFile(..., FILE_MAP_WRITE, 0, 0, 0) into view;
     * die() if either fails */
    mapping = OpenFileMappingA(FILE_MAP_WRITE, FALSE, name);
    if (mapping == NULL)
        die("OpenFileMapping(FILE_MAP_WRITE)");
    view = MapViewOfFile(mapping, FILE_MAP_WRITE, 0, 0, 0);
    if (view == NULL)
        die("MapViewOfFile(FILE_MAP_WRITE)");
    /* END SOLUTION */
    printf("writer> view " ADDR_FMT " (OpenFileMapping + MapViewOfFile, FILE_MAP_WRITE)\n", ADDR(view));

    size_t slots = page / STRIDE;
    for (size_t i = 0;; i++) {
        char word[STRIDE];
        int end = read_word(word, sizeof word) < 0;
        if (end)
            strcpy(word, "quit");     /* the end of the input ends the reader too */
        wait_for(empty, "writer", "free slot");
        /* BEGIN SOLUTION: the slot of word i: slot i % slots, STRIDE bytes apart from
         * the start of the view; copy the word (and its NUL) there */
        char *slot = view + (i % slots) * STRIDE;
        strcpy(slot, word);
        /* END SOLUTION, starter: char *slot = view; (void)slots; */
        printf("writer> slot %zu (offset %zu): \"%s\"\n", i % slots, (size_t)(slot - view), word);
        ReleaseSemaphore(full, 1, NULL);
        if (strcmp(word, "quit") == 0)
            break;
    }
    UnmapViewOfFile(view);
    CloseHandle(mapping);
    return 0;
}

static int reader_main(const char *name)
{
    HANDLE empty = open_semaphore(name, "-empty"), full = open_semaphore(name, "-full");
    HANDLE mapping = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    char ready[128];
    if (mapping == NULL)
        die("OpenFileMapping(FILE_MAP_READ)");
    const char *view = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
    if (view == NULL)
        die("MapViewOfFile(FILE_MAP_READ)");
    printf("reader> view " ADDR_FMT " (OpenFileMapping + MapViewOfFile, FILE_MAP_READ)\n", ADDR(view));
    object_name(ready, sizeof ready, name, "-ready");
    HANDLE ready_event = OpenEventA(EVENT_MODIFY_STATE, FALSE, ready);
    if (ready_event == NULL || !SetEvent(ready_event))
        die("SetEvent");

    size_t slots = page / STRIDE, i;
    for (i = 0;; i++) {
        wait_for(full, "reader", "word");
        const char *slot = view + (i % slots) * STRIDE;
        if (strncmp(slot, "quit", STRIDE) == 0)
            break;
        printf("reader> slot %zu (offset %zu): \"%.*s\"\n", i % slots, (size_t)(slot - view), STRIDE - 1, slot);
        ReleaseSemaphore(empty, 1, NULL);
    }
    printf("reader> \"quit\": %zu words read\n", i);
    UnmapViewOfFile(view);
    CloseHandle(mapping);
    return 0;
}

/* A copy of this program with "writer NAME" or "reader NAME", in the job, sharing our
 * standard input, output and error. */
static HANDLE start_child(HANDLE job, const char *role, const char *name)
{
    char exe[MAX_PATH], cmdline[MAX_PATH + 160];
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    if (GetModuleFileNameA(NULL, exe, sizeof exe) == 0)
        die("GetModuleFileName");
    snprintf(cmdline, sizeof cmdline, "\"%s\" %s %s", exe, role, name);
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    if (!CreateProcessA(exe, cmdline, NULL, NULL, TRUE, CREATE_SUSPENDED, NULL, NULL, &si, &pi))
        die("CreateProcess");
    if (!AssignProcessToJobObject(job, pi.hProcess)) {
        TerminateProcess(pi.hProcess, 2);
        die("AssignProcessToJobObject");
    }
    printf("%-11s pid %lu (mapping.exe %s)\n", role, pi.dwProcessId, role);
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    return pi.hProcess;
}

static DWORD end_child(HANDLE process, const char *role)
{
    DWORD code = 2;
    if (WaitForSingleObject(process, 2 * WAIT_MS) != WAIT_OBJECT_0)
        TerminateProcess(process, 2);
    GetExitCodeProcess(process, &code);
    if (code >= 0xC0000000u)
        printf("%-11s ended with 0x%08lX (%s)\n", role, code, exception_name(code));
    else
        printf("%-11s ended with status %lu\n", role, code);
    CloseHandle(process);
    return code;
}

static void share(void)
{
    char name[64], sem[128];
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limit;
    snprintf(name, sizeof name, "Local\\vmlabs-mapping-%lu", GetCurrentProcessId());

    HANDLE mapping = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)page, name);
    if (mapping == NULL)
        die("CreateFileMapping(INVALID_HANDLE_VALUE)");
    printf("mapping:    %s, %zu bytes of the paging file (CreateFileMapping(INVALID_HANDLE_VALUE))\n",
           name, page);
    printf("slots:      %zu, %d bytes apart (a word of at most %d bytes each)\n", page / STRIDE, STRIDE,
           STRIDE - 1);
    object_name(sem, sizeof sem, name, "-empty");
    HANDLE empty = CreateSemaphoreA(NULL, 1, 1, sem);
    object_name(sem, sizeof sem, name, "-full");
    HANDLE full = CreateSemaphoreA(NULL, 0, 1, sem);
    object_name(sem, sizeof sem, name, "-ready");
    HANDLE ready = CreateEventA(NULL, TRUE, FALSE, sem);
    HANDLE job = CreateJobObjectA(NULL, NULL);
    if (empty == NULL || full == NULL || ready == NULL || job == NULL)
        die("CreateSemaphore, CreateEvent or CreateJobObject");
    memset(&limit, 0, sizeof limit);
    limit.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limit, sizeof limit))
        die("SetInformationJobObject");

    /* The reader first, mapped and waiting, then the writer: their lines come in turn. */
    HANDLE reader = start_child(job, "reader", name);
    if (WaitForSingleObject(ready, WAIT_MS) != WAIT_OBJECT_0) {
        TerminateProcess(reader, 2);
        end_child(reader, "reader");
        fprintf(stderr, "mapping: the reader did not map the view within %d ms\n", WAIT_MS);
        exit(2);
    }
    HANDLE writer = start_child(job, "writer", name);
    DWORD wrote = end_child(writer, "writer");
    /* The writer is gone: the reader has its last word already, or waits for none. */
    if (WaitForSingleObject(reader, wrote == 0 ? 1000 : 0) != WAIT_OBJECT_0) {
        TerminateProcess(reader, 2);
        printf("reader      still waiting for a word after the writer ended: terminated\n");
    }
    end_child(reader, "reader");

    /* The words are still there while a handle to the mapping is open: ours. */
    const char *view = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
    if (view == NULL)
        die("MapViewOfFile(FILE_MAP_READ)");
    printf("lab view:   " ADDR_FMT " (MapViewOfFile FILE_MAP_READ, a third process)\n", ADDR(view));
    for (size_t i = 0; i < page / STRIDE && view[i * STRIDE] != '\0'; i++)
        printf("lab view:   slot %zu: \"%.*s\"\n", i, STRIDE - 1, view + i * STRIDE);
    UnmapViewOfFile(view);
    CloseHandle(job);
    CloseHandle(mapping);
}

/* ---- file, copy, reset, rules: one process ---- */

static const char file_text[] = "written through the view";

/* mapping.dat, one page long, holding text (or zeros); returns its handle. */
static HANDLE fresh_file(const char *text)
{
    DWORD done;
    HANDLE file = CreateFileA(FILE_NAME, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                              FILE_ATTRIBUTE_NORMAL, NULL);
    if (file == INVALID_HANDLE_VALUE)
        die("CreateFile(" FILE_NAME ")");
    if (text != NULL && !WriteFile(file, text, (DWORD)strlen(text) + 1, &done, NULL))
        die("WriteFile");
    if (SetFilePointer(file, (LONG)page, NULL, FILE_BEGIN) == INVALID_SET_FILE_POINTER || !SetEndOfFile(file))
        die("SetEndOfFile");
    printf("file:       %s, %zu bytes (CreateFile CREATE_ALWAYS, in the working folder)%s%s%s\n",
           FILE_NAME, page, text ? ", holding \"" : "", text ? text : "", text ? "\"" : "");
    return file;
}

/* What the file holds from its start, read with ReadFile: the view is not involved. */
static void read_back(HANDLE file)
{
    char text[STRIDE] = "";
    DWORD done = 0;
    if (SetFilePointer(file, 0, NULL, FILE_BEGIN) == INVALID_SET_FILE_POINTER
        || !ReadFile(file, text, sizeof text - 1, &done, NULL))
        die("ReadFile");
    printf("ReadFile:   \"%s\" (the file's first bytes)\n", text);
}

static void query_view(const char *view)
{
    MEMORY_BASIC_INFORMATION mbi;
    size_t granularity = lab_system()->dwAllocationGranularity;
    if (VirtualQuery(view, &mbi, sizeof mbi) == 0)
        die("VirtualQuery");
    printf("query:      %s, %s, %s\n", state_name(mbi.State), prot_name(mbi.Protect), type_name(mbi.Type));
    page_strip("page:       ", view, 1);
    printf("allocation base: " ADDR_FMT " (%s the view), a multiple of %zu: %s\n",
           ADDR(mbi.AllocationBase), mbi.AllocationBase == view ? "is" : "is not", granularity,
           ADDR(mbi.AllocationBase) % granularity == 0 ? "yes" : "no");
}

static void file_view(void)
{
    HANDLE file = fresh_file(NULL);
    HANDLE mapping = NULL;
    char *view = NULL;
    /* BEGIN SOLUTION: a read/write mapping of the whole file (CreateFileMapping(file,
     * NULL, PAGE_READWRITE, 0, 0, NULL)) and a view of it that can be written
     * (MapViewOfFile, FILE_MAP_WRITE, all of it); die() if either fails */
    mapping = CreateFileMappingA(file, NULL, PAGE_READWRITE, 0, 0, NULL);
    if (mapping == NULL)
        die("CreateFileMapping(file)");
    view = MapViewOfFile(mapping, FILE_MAP_WRITE, 0, 0, 0);
    if (view == NULL)
        die("MapViewOfFile(FILE_MAP_WRITE)");
    /* END SOLUTION, starter: (void)file; */
    printf("view:       " ADDR_FMT " (CreateFileMapping PAGE_READWRITE, MapViewOfFile FILE_MAP_WRITE)\n",
           ADDR(view));
    query_view(view);
    strcpy(view, file_text);
    printf("wrote:      \"%s\" into the view\n", view);
    printf("FlushViewOfFile: %s\n", FlushViewOfFile(view, 0) ? "TRUE" : "FALSE");
    printf("UnmapViewOfFile: %s\n", UnmapViewOfFile(view) ? "TRUE" : "FALSE");
    CloseHandle(mapping);
    read_back(file);
    CloseHandle(file);
    DeleteFileA(FILE_NAME);
}

static void copy_view(void)
{
    static const char original[] = "the file's own text";
    HANDLE file = fresh_file(original);
    HANDLE mapping = CreateFileMappingA(file, NULL, PAGE_READWRITE, 0, 0, NULL);
    if (mapping == NULL)
        die("CreateFileMapping(file)");
    char *view = MapViewOfFile(mapping, FILE_MAP_COPY, 0, 0, 0);
    if (view == NULL)
        die("MapViewOfFile(FILE_MAP_COPY)");
    printf("view:       " ADDR_FMT " (MapViewOfFile FILE_MAP_COPY)\n", ADDR(view));
    print_query("query:      ", view);
    strcpy(view, "changed in a copy-on-write view");
    printf("wrote:      \"%s\" into the view\n", view);
    print_query("query:      ", view);
    printf("UnmapViewOfFile: %s\n", UnmapViewOfFile(view) ? "TRUE" : "FALSE");
    CloseHandle(mapping);
    read_back(file);
    CloseHandle(file);
    DeleteFileA(FILE_NAME);
}

static void *try_reset(const char *label, void *view)
{
    SetLastError(0xdeadbeef);
    void *got = VirtualAlloc(view, page, MEM_RESET, PAGE_READWRITE);
    DWORD error = GetLastError();
    if (got != NULL) {
        printf("%sVirtualAlloc(view, page, MEM_RESET, PAGE_READWRITE): " ADDR_FMT "%s\n", label, ADDR(got),
               got == view ? " (the view)" : "");
        printf("%sreads \"%.*s\" after it\n", label, STRIDE - 1, (const char *)view);
    } else
        printf("%sVirtualAlloc(view, page, MEM_RESET, PAGE_READWRITE): NULL, %s\n", label, error_name(error));
    return got;
}

static void reset(void)
{
    HANDLE file = fresh_file(file_text);
    HANDLE mapping = CreateFileMappingA(file, NULL, PAGE_READWRITE, 0, 0, NULL);
    HANDLE shared = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)page, NULL);
    if (mapping == NULL || shared == NULL)
        die("CreateFileMapping");
    char *view = MapViewOfFile(mapping, FILE_MAP_WRITE, 0, 0, 0);
    char *paged = MapViewOfFile(shared, FILE_MAP_WRITE, 0, 0, 0);
    if (view == NULL || paged == NULL)
        die("MapViewOfFile(FILE_MAP_WRITE)");
    printf("file view:  " ADDR_FMT " (the file, FILE_MAP_WRITE)\n", ADDR(view));
    strcpy(paged, "stored in the paging file's view");
    printf("paged view: " ADDR_FMT " (the paging file, FILE_MAP_WRITE), holding \"%s\"\n", ADDR(paged), paged);
    void *got = try_reset("file view:  ", view);
    printf("behaviour:  %s\n", got == NULL ? "refused: a view of a file cannot be MEM_RESET"
                                           : "accepted: not what Microsoft Learn documents (VirtualAlloc)");
    got = try_reset("paged view: ", paged);
    printf("behaviour:  %s\n", got != NULL ? "accepted: a view of the paging file may be MEM_RESET"
                                           : "refused: not what Wine's tests see on Windows");
    UnmapViewOfFile(view);
    UnmapViewOfFile(paged);
    CloseHandle(mapping);
    CloseHandle(shared);
    CloseHandle(file);
    DeleteFileA(FILE_NAME);
}

static void rules(void)
{
    HANDLE shared = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)page, NULL);
    if (shared == NULL)
        die("CreateFileMapping(INVALID_HANDLE_VALUE)");
    char *view = MapViewOfFile(shared, FILE_MAP_WRITE, 0, 0, 0);
    char *own = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (view == NULL || own == NULL)
        die("MapViewOfFile or VirtualAlloc");
    printf("view:       " ADDR_FMT " (MapViewOfFile of the paging file)\n", ADDR(view));
    printf("memory:     " ADDR_FMT " (VirtualAlloc MEM_RESERVE | MEM_COMMIT)\n", ADDR(own));

    SetLastError(0xdeadbeef);
    BOOL ok = VirtualFree(view, page, MEM_DECOMMIT);
    printf("call:       VirtualFree(view, page, MEM_DECOMMIT)\n");
    printf("result:     %s\n", ok ? "TRUE: not what Wine's tests see on Windows" : error_name(GetLastError()));
    SetLastError(0xdeadbeef);
    ok = UnmapViewOfFile(own);
    printf("call:       UnmapViewOfFile(memory)\n");
    printf("result:     %s\n", ok ? "TRUE: not what Wine's tests see on Windows" : error_name(GetLastError()));
    print_query("view:       ", view);
    print_query("memory:     ", own);
    UnmapViewOfFile(view);
    VirtualFree(own, 0, MEM_RELEASE);
    CloseHandle(shared);
}

static const struct lab_mode steps[] = {
    { "share", "a named mapping of the paging file, a writer and a reader", share },
    { "file", "a mapping of a file: write, flush, unmap, read the file", file_view },
    { "copy", "FILE_MAP_COPY: the write stays in the view", copy_view },
    { "reset", "MEM_RESET on a view of a file and on a view of the paging file", reset },
    { "rules", "a view is not VirtualAlloc memory", rules },
    { "all", "every experiment above, in this order", NULL },
    { 0 }
};
static const struct lab_modes modes = { "mapping", "share",
    "  share passes the words of standard input (quit ends them) from a writer process\n"
    "  to a reader", steps };

int main(int argc, char **argv)
{
    page = lab_system()->dwPageSize;
    /* The copies share starts of this program: "writer NAME", "reader NAME". */
    if (argc == 3 && (strcmp(argv[1], "writer") == 0 || strcmp(argv[1], "reader") == 0)) {
        lab_start();
        return argv[1][0] == 'w' ? writer_main(argv[2]) : reader_main(argv[2]);
    }
    size_t chosen = lab_choose(argc, argv, &modes);
    lab_start();

    lab_banner(12);            /* platform:, page size: */
    lab_run(&modes, chosen, "== ");
    return 0;
}
