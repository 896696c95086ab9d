/*
 * layout.c - the address space of this process, and its row of the memory-limits table
 *
 * The facts: GetSystemInfo gives the page size, the allocation granularity and
 * the lowest and highest address a program may use (SYSTEM_INFO
 * lpMinimumApplicationAddress, lpMaximumApplicationAddress); the user space is
 * 0 to the highest address + 1.  The row of the table ("Memory Limits for
 * Windows and Windows Server Releases", Microsoft Learn) is computed from facts,
 * each printed: the pointer size; IsWow64Process (32-bit on 64-bit Windows);
 * IMAGE_FILE_LARGE_ADDRESS_AWARE in this program's own PE header; the Windows
 * version (RtlGetVersion: 64-bit gets 8 TB before Windows 8.1, 128 TB after);
 * on 32-bit Windows the highest address (4GT, "4-Gigabyte Tuning", raises it
 * to up to 3 GB).  Under Wine the row is Wine's: its ntdll
 * (dlls/ntdll/unix/virtual.c, user_space_limit) gives 64-bit 128 TB whatever
 * Windows version it reports, 32-bit 2 GB, more when large-address-aware.
 * Then it is measured: VirtualAlloc(MEM_RESERVE | MEM_TOP_DOWN) takes the
 * highest free block, which must end inside the row.
 *
 * The map: VirtualQuery from address 0 upward, one region at a time
 * (MEMORY_BASIC_INFORMATION: base, size, state, type, protection), like
 * Sysinternals VMMap, until VirtualQuery fails past the highest address with
 * ERROR_INVALID_PARAMETER.  Each region is named by its AllocationBase: this
 * program (GetModuleHandle(NULL)), each DLL (GetModuleFileName), the heaps
 * (GetProcessHeaps), this thread's stack (VirtualQuery on a local variable),
 * mapped files (K32GetMappedFileName), KUSER_SHARED_DATA (read-only, shared
 * with the kernel at 0x7FFE0000: MM_SHARED_USER_DATA_VA in the WDK headers).
 * Protection is shown only for committed pages: for free and reserved ones
 * it is undefined (MEMORY_BASIC_INFORMATION, Microsoft Learn).
 *
 * Run:   layout.exe [--compact]   facts, row, what the walk found, totals per type
 *        layout.exe --full        the same with the map, one line per region
 * See:   "fits the row: yes", and totals adding up to the user space: the
 *        walk met every address once.  A 64-bit space is almost all free.
 */
#include "lab.h"
#include <ctype.h>

#define KB 1024ULL
#define GB (KB * KB * KB)
#define TB (GB * KB)

enum { X86, X86_4GT, WOW64, WOW64_LAA, X64_NO_LAA, X64_8TB, X64_128TB,
       WINE_X86, WINE_X86_LAA, WINE_X64 };
static const struct row { const char *name, *text; unsigned long long floor, limit; } rows[] = {
    { "x86", "32-bit Windows: 2 GB user / 2 GB system", 0, 2 * GB },
    { "x86-4gt", "32-bit Windows with 4GT, large-address-aware: 3 GB user / 1 GB system",
      2 * GB, 3 * GB },
    { "wow64", "32-bit on 64-bit Windows, not large-address-aware: 2 GB", 0, 2 * GB },
    { "wow64-laa", "32-bit large-address-aware on 64-bit Windows: 4 GB", 2 * GB, 4 * GB },
    { "x64-no-laa", "64-bit, not large-address-aware: 2 GB", 0, 2 * GB },
    { "x64-8tb", "64-bit, Windows before 8.1: 8 TB", 2 * GB, 8 * TB },
    { "x64-128tb", "64-bit, Windows 8.1 and later: 128 TB", 8 * TB, 128 * TB },
    { "wine-x86", "Wine, 32-bit, not large-address-aware: 2 GB", 0, 2 * GB },
    { "wine-x86-laa", "Wine, 32-bit large-address-aware: more than 2 GB, up to 4 GB",
      2 * GB, 4 * GB },
    { "wine-x64", "Wine, 64-bit: 128 TB, whatever Windows version Wine reports", 8 * TB, 128 * TB },
};

static int which_row(int wine, int bits, BOOL wow64, int laa, OSVERSIONINFOW v,
                     unsigned long long top)
{
    int win81 = v.dwMajorVersion > 6 || (v.dwMajorVersion == 6 && v.dwMinorVersion >= 3);
    if (wine)
        return bits == 64 ? WINE_X64 : laa ? WINE_X86_LAA : WINE_X86;
    if (bits == 64)
        return !laa ? X64_NO_LAA : win81 ? X64_128TB : X64_8TB;
    if (wow64)
        return laa ? WOW64_LAA : WOW64;
    return laa && top > 2 * GB ? X86_4GT : X86;
}

/* "4 KB", "2040 KB", "1645 MB", "8 TB": a unit up when exact or past four digits. */
static const char *human(unsigned long long bytes)
{
    static const char *unit[] = { "bytes", "KB", "MB", "GB", "TB" };
    char *t = lab_text();           /* several in one printf: each its own */
    unsigned long long scale = 1;
    int u = 0;
    while (u < 4 && bytes != 0
           && ((bytes + scale / 2) / scale >= 10000 || bytes % (scale * KB) == 0)) {
        scale *= KB;
        u++;
    }
    snprintf(t, LAB_TEXT_SIZE, "%llu %s", (bytes + scale / 2) / scale, unit[u]);
    return t;
}

/* One '#' per doubling from one page: 4 KB "#", 8 KB "##", 1 MB 9, 128 TB 36. */
static const char *log_bar(unsigned long long size)
{
    char *text = lab_text();
    size_t n = 0;
    for (unsigned long long s = lab_system()->dwPageSize; s <= size && n + 1 < LAB_TEXT_SIZE; s *= 2)
        text[n++] = '#';
    text[n] = '\0';
    return text;
}

/* "C:\\Windows\\System32\\KERNEL32.DLL" -> "kernel32.dll": Windows' case varies.
 * (Not CharLowerA: it is in user32.dll, which would load a dozen more DLLs.) */
static const char *base_name(char *path)
{
    char *slash = strrchr(path, '\\'), *other = strrchr(path, '/');
    for (char *c = path; *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    return other > slash ? other + 1 : slash ? slash + 1 : path;
}

/* What the walk looks for, and what it found. */
struct found {
    HMODULE exe;
    const void *stack;
    HANDLE heaps[64];
    DWORD heap_count, heaps_seen, walk_error;
    unsigned long exe_regions, mapped, guard_pages;
    unsigned long long stack_size, stack_reserved;
    char dlls[128][64];
    size_t dll_count;
};
enum { IMAGE, MAPPED, PRIVATE, FREE, TYPES };
struct total { unsigned long regions; unsigned long long size, committed; };

static const char *region_name(const MEMORY_BASIC_INFORMATION *m, const struct found *f)
{
    typedef DWORD (WINAPI *mapped_fn)(HANDLE, void *, char *, DWORD);
    static char text[MAX_PATH + 32];
    char path[MAX_PATH];
    if (m->State == MEM_FREE)
        return "free";
    if (m->Type == MEM_IMAGE) {
        if (GetModuleFileNameA((HMODULE)m->AllocationBase, path, sizeof path) == 0)
            return "image, not a loaded module";
        snprintf(text, sizeof text, "%s%s", base_name(path),
                 m->AllocationBase == f->exe ? " (this program)" : "");
        return text;
    }
    if (m->Type == MEM_MAPPED) {
        /* psapi's GetMappedFileName is in kernel32 as K32GetMappedFileNameA since Windows 7. */
        mapped_fn mapped = (mapped_fn)(void (*)(void))
            GetProcAddress(GetModuleHandleA("kernel32.dll"), "K32GetMappedFileNameA");
        if (mapped == NULL || mapped(GetCurrentProcess(), m->BaseAddress, path, sizeof path) == 0)
            return "mapped view";
        snprintf(text, sizeof text, "%s", base_name(path));
        return text;
    }
    for (DWORD i = 0; i < f->heap_count; i++)
        if (m->AllocationBase == f->heaps[i]) {
            snprintf(text, sizeof text, "heap %lu of %lu%s", i + 1, f->heap_count,
                     f->heaps[i] == GetProcessHeap() ? " (GetProcessHeap)" : "");
            return text;
        }
    if (m->AllocationBase == f->stack)
        return "stack of this thread";
    return (uintptr_t)m->BaseAddress == 0x7ffe0000 ? "KUSER_SHARED_DATA" : "private";
}

static void print_region(const MEMORY_BASIC_INFORMATION *m, const struct found *f)
{
    printf(ADDR_FMT " %8s  %-11s  %-11s  %-27s  %-36s  %s\n", ADDR(m->BaseAddress),
           human(m->RegionSize), state_name(m->State),
           m->State == MEM_FREE ? "-" : type_name(m->Type),
           m->State == MEM_COMMIT ? prot_name(m->Protect) : "-",
           log_bar(m->RegionSize), region_name(m, f));
}

static void note_region(const MEMORY_BASIC_INFORMATION *m, struct found *f)
{
    int first = m->BaseAddress == m->AllocationBase;
    char path[MAX_PATH] = "image, not a loaded module";
    f->exe_regions += m->AllocationBase == f->exe;
    if (m->Type == MEM_IMAGE && first && m->AllocationBase != f->exe && f->dll_count < 128) {
        GetModuleFileNameA((HMODULE)m->AllocationBase, path, sizeof path);
        snprintf(f->dlls[f->dll_count++], sizeof f->dlls[0], "%s", base_name(path));
    }
    f->mapped += m->Type == MEM_MAPPED && first;
    for (DWORD i = 0; i < f->heap_count; i++)
        f->heaps_seen += m->BaseAddress == f->heaps[i];
    if (m->AllocationBase == f->stack) {
        f->stack_size += m->RegionSize;
        f->stack_reserved += m->State == MEM_RESERVE ? m->RegionSize : 0;
        if (m->State == MEM_COMMIT && (m->Protect & PAGE_GUARD))
            f->guard_pages += (unsigned long)(m->RegionSize / lab_system()->dwPageSize);
    }
}

/* VirtualQuery from 0 until it fails; returns where it stopped.  Adjacent free
 * regions are printed as one gap (Wine reports some in pieces). */
static uintptr_t walk(int full, struct found *f, struct total total[TYPES], unsigned long *calls)
{
    MEMORY_BASIC_INFORMATION m, gap = { 0 };
    uintptr_t addr = 0;
    if (full)
        printf("\n%-18s %8s  %-11s  %-11s  %-27s  %-36s  %s\n", "map: address", "size", "state",
               "type", "protection", "size, log2: # = 1 page, ## = 2 pages", "what");
    for (;;) {
        SetLastError(0xdeadbeef);
        if (VirtualQuery((void *)addr, &m, sizeof m) == 0) {
            f->walk_error = GetLastError();
            break;
        }
        ++*calls;
        int t = m.State == MEM_FREE ? FREE : m.Type == MEM_IMAGE ? IMAGE
              : m.Type == MEM_MAPPED ? MAPPED : PRIVATE;
        total[t].regions++;
        total[t].size += m.RegionSize;
        total[t].committed += m.State == MEM_COMMIT ? m.RegionSize : 0;
        note_region(&m, f);
        if (full && gap.RegionSize != 0 && t != FREE) {
            print_region(&gap, f);
            gap.RegionSize = 0;
        }
        if (full && t == FREE && gap.RegionSize != 0)
            gap.RegionSize += m.RegionSize;
        else if (full && t == FREE)
            gap = m;
        else if (full)
            print_region(&m, f);
        if ((uintptr_t)m.BaseAddress + m.RegionSize <= addr)
            break; /* wrapped around: never on Windows */
        /* BEGIN SOLUTION: go on from the first address past the region just described
         * (m, as VirtualQuery filled it in) */
        addr = (uintptr_t)m.BaseAddress + m.RegionSize;
        /* END SOLUTION, starter: break; */
    }
    if (full && gap.RegionSize != 0)
        print_region(&gap, f);
    return addr;
}

static int by_name(const void *a, const void *b) { return lstrcmpiA(a, b); }

enum { COMPACT, FULL };
static const struct lab_mode ways[] = {
    [COMPACT] = { "--compact", "GetSystemInfo's facts, this process's row of the limits table, "
                               "a VirtualQuery walk, totals per type", NULL },
    [FULL] = { "--full", "the same, with the map: one line per region, with a size bar", NULL },
    { 0 }
};
static const struct lab_modes modes = { "layout", "--compact", NULL, ways };

int main(int argc, char **argv)
{
    int full = lab_choose(argc, argv, &modes) == FULL;
    lab_start();

    /* The facts. */
    typedef LONG (WINAPI *rtl_version_fn)(OSVERSIONINFOW *);
    rtl_version_fn rtl_version = (rtl_version_fn)(void (*)(void))
        GetProcAddress(GetModuleHandleA("ntdll.dll"), "RtlGetVersion");
    OSVERSIONINFOW v = { sizeof v, 0, 0, 0, 0, { 0 } };
    if (rtl_version == NULL || rtl_version(&v) != 0)
        die("RtlGetVersion");
    const SYSTEM_INFO *sys = lab_system();
    uintptr_t highest = (uintptr_t)sys->lpMaximumApplicationAddress;
    unsigned long long top = (unsigned long long)highest + 1;
    HMODULE exe = GetModuleHandleA(NULL);
    const IMAGE_NT_HEADERS *nt = (const IMAGE_NT_HEADERS *)
        ((const char *)exe + ((const IMAGE_DOS_HEADER *)exe)->e_lfanew);
    int bits = (int)sizeof(void *) * 8;
    int laa = (nt->FileHeader.Characteristics & IMAGE_FILE_LARGE_ADDRESS_AWARE) != 0;
    BOOL wow64 = FALSE;
    if (!IsWow64Process(GetCurrentProcess(), &wow64))
        die("IsWow64Process");
    printf("platform:               %s\n", lab_platform());
    printf("Windows version:        %lu.%lu build %lu (RtlGetVersion%s)\n", v.dwMajorVersion,
           v.dwMinorVersion, v.dwBuildNumber, lab_is_wine() ? ", as Wine reports it" : "");
    printf("page size:              %lu bytes\n", sys->dwPageSize);
    printf("allocation granularity: %lu bytes\n", sys->dwAllocationGranularity);
    printf("lowest address:         " ADDR_FMT " (lpMinimumApplicationAddress)\n",
           ADDR(sys->lpMinimumApplicationAddress));
    printf("highest address:        " ADDR_FMT " (lpMaximumApplicationAddress)\n", ADDR(highest));
    printf("pointer size:           %d bytes: a %d-bit process\n", bits / 8, bits);
    printf("IsWow64Process:         %s\n", wow64 ? "TRUE: a 32-bit process on 64-bit Windows"
                                                 : "FALSE: not a 32-bit process on 64-bit Windows");
    printf("large-address-aware:    %s (IMAGE_FILE_LARGE_ADDRESS_AWARE in this .exe's PE header)\n",
           laa ? "yes" : "no");

    /* The row, computed from the facts, then measured. */
    const struct row *row = &rows[which_row(lab_is_wine(), bits, wow64, laa, v, top)];
    const struct row *by_version = &rows[which_row(0, bits, wow64, laa, v, top)];
    printf("row:                    %s: %s\n", row->name, row->text);
    if (row == by_version)
        printf("behaviour:              windows: the row follows from the facts above\n");
    else if (row->limit == by_version->limit)
        printf("behaviour:              wine: the same limit as Windows %lu.%lu (row %s)\n",
               v.dwMajorVersion, v.dwMinorVersion, by_version->name);
    else
        printf("behaviour:              wine: Windows %lu.%lu would be row %s; "
               "Wine's own limit applies\n", v.dwMajorVersion, v.dwMinorVersion, by_version->name);
    printf("user space:             %llu bytes, 0 to highest + 1: the row's %s %s %s\n", top,
           human(row->limit), top <= row->limit ? "-" : "+",
           human(top <= row->limit ? row->limit - top : top - row->limit));
    size_t size = sys->dwAllocationGranularity;
    /* BEGIN SOLUTION: reserve size bytes at the highest free address there is: one
     * VirtualAlloc flag besides MEM_RESERVE asks for it */
    char *p = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_TOP_DOWN, PAGE_NOACCESS);
    /* END SOLUTION, starter: char *p = NULL; */
    if (p == NULL)
        die("VirtualAlloc(MEM_RESERVE), the highest reservation");
    if (!VirtualFree(p, 0, MEM_RELEASE))
        die("VirtualFree(MEM_RELEASE)");
    unsigned long long reach = ADDR(p) + size;
    printf("highest reservation:    " ADDR_FMT " (VirtualAlloc %s, MEM_RESERVE | MEM_TOP_DOWN)\n",
           ADDR(p), human(size));
    printf("fits the row:           %s: %s < " ADDR_FMT " (its end) <= %s\n",
           reach > row->floor && reach <= row->limit ? "yes" : "no", human(row->floor), ADDR(reach),
           human(row->limit));

    /* The walk. */
    struct found f = { 0 };
    struct total total[TYPES] = { { 0, 0, 0 } };
    unsigned long calls = 0;
    MEMORY_BASIC_INFORMATION m;
    f.exe = exe;
    f.heap_count = GetProcessHeaps(64, f.heaps);
    if (f.heap_count == 0 || f.heap_count > 64)
        die("GetProcessHeaps");
    if (VirtualQuery(&m, &m, sizeof m) == 0)    /* m is a local: on this thread's stack */
        die("VirtualQuery(&local)");
    f.stack = m.AllocationBase;
    uintptr_t end = walk(full, &f, total, &calls);
    printf("%swalk:                   %lu VirtualQuery calls from address 0\n",
           full ? "\n" : "", calls);
    printf("walk ended at:          " ADDR_FMT ": VirtualQuery failed, %s\n", ADDR(end),
           error_name(f.walk_error));
    printf("end == highest + 1:     %s\n", end == top ? "yes" : "no");

    /* What it found. */
    char path[MAX_PATH];
    if (GetModuleFileNameA(exe, path, sizeof path) == 0)
        die("GetModuleFileName(NULL)");
    printf("this program:           %s at " ADDR_FMT " (GetModuleHandle(NULL)), "
           "%lu MEM_IMAGE regions\n",
           base_name(path), ADDR(exe), f.exe_regions);
    qsort(f.dlls, f.dll_count, sizeof f.dlls[0], by_name);
    printf("DLLs:                   %zu (MEM_IMAGE, named by GetModuleFileName)\n", f.dll_count);
    for (size_t i = 0; i < f.dll_count; i++)
        printf("  %s\n", f.dlls[i]);
    printf("heaps:                  %lu (GetProcessHeaps), %lu found as a region's base\n",
           f.heap_count, f.heaps_seen);
    printf("stack:                  %llu bytes for this thread, %llu of them only reserved, "
           "%lu guard page(s)\n", f.stack_size, f.stack_reserved, f.guard_pages);
    if (f.stack_reserved == 0)
        printf("behaviour:              stack-committed: all of it committed at once "
               "(Wine does this)\n");
    else
        printf("behaviour:              stack-grows: only its top is committed, it grows past the "
               "guard page (Windows does this)\n");
    printf("mapped views:           %lu (MEM_MAPPED)\n", f.mapped);

    /* The totals, with bars proportional to the used (not free) space. */
    static const char *const label[TYPES] = {
        "MEM_IMAGE:", "MEM_MAPPED:", "MEM_PRIVATE:", "MEM_FREE:" };
    unsigned long long used = total[IMAGE].size + total[MAPPED].size + total[PRIVATE].size;
    unsigned long long all = used + total[FREE].size;
    printf("totals:                 bar: the share of the used (not free) space\n");
    for (int t = 0; t < TYPES; t++) {
        char bar[41];
        for (unsigned long long i = 0; i < 40; i++)
            bar[i] = t != FREE && i < 40 * total[t].size / used ? '#' : ' ';
        bar[40] = '\0';
        printf("%-23s |%s| %lu regions, %llu bytes (%s), %llu committed\n", label[t], bar,
               total[t].regions, total[t].size, human(total[t].size), total[t].committed);
    }
    printf("used:                   %llu bytes, %.6f%% of the user space; the rest is free\n",
           used, 100.0 * used / all);
    printf("sum == user space:      %s (%llu bytes)\n", all == top ? "yes" : "no", all);
    return 0;
}
