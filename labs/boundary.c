/*
 * boundary.c - where does this program's image end?  (lecture example 1)
 *
 * Starting at the page that holds a global buffer, ask VirtualAlloc to
 * reserve one page there, then one page higher, and so on, until a
 * reservation succeeds.  Every failure is an address that already belongs to
 * something: here, the program's own image (its code, data and whatever other
 * sections the .exe has - with MinGW, also debug sections - mapped from the file).
 * The first success is the boundary of the image: past its data, past all of it.
 *
 * Then the number is explained, not just shown:
 *   - the PE optional header of this program (GetModuleHandle(NULL) is the
 *     image base) gives SizeOfImage, so the image ends at base + SizeOfImage;
 *   - a reservation's base is rounded down to the allocation granularity
 *     (VirtualAlloc on Microsoft Learn: "If the memory is being reserved, the
 *     specified address is rounded down to the next multiple of the allocation
 *     granularity"), so the first address that can be reserved is the image end
 *     rounded up to the granularity;
 *   - VirtualQuery on the failed addresses shows MEM_IMAGE (inside the image)
 *     or, between the image end and the boundary, MEM_FREE pages whose
 *     rounded-down reservation base still falls inside the image.
 *
 * Run:   boundary.exe        (add -v for one line per failed attempt)
 * See:   a few failed attempts, then "boundary == predicted: yes".
 * And:   boundary.exe lecture: the walk as the lecture starts it, from (unsigned int)buff,
 *        which on 64-bit keeps only the low 32 bits of the address (see lecture_walk()).
 */
#include "lab.h"

/* Ten pages of initialised data, as in the lecture; 4096 is the page size of
 * every Windows on x86, x64 and ARM64 (checked against GetSystemInfo below).
 * Initialised, so it lives in .data, inside the image. */
#define ASSUMED_PAGE 4096
char buff[10 * ASSUMED_PAGE] = { 1 };

/* Refuse to walk further than this: something else is wrong by then. */
#define MAX_ATTEMPTS 100000

static uintptr_t round_down(uintptr_t x, uintptr_t align) { return x & ~(align - 1); }
static uintptr_t round_up(uintptr_t x, uintptr_t align)
{
    /* BEGIN SOLUTION: x rounded up to a multiple of align (a power of two): round_down
     * of a value just far enough above x */
    return round_down(x + align - 1, align);
    /* END SOLUTION, starter: (void)align; return x; */
}

/* The image's size as its own PE headers state it (IMAGE_OPTIONAL_HEADER.SizeOfImage). */
static size_t image_size(const char *base)
{
    const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)base;
    const IMAGE_NT_HEADERS *nt = (const IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
    if (dos->e_magic != IMAGE_DOS_SIGNATURE || nt->Signature != IMAGE_NT_SIGNATURE) {
        fprintf(stderr, "boundary: no PE headers at " ADDR_FMT "\n", ADDR(base));
        exit(2);
    }
    return nt->OptionalHeader.SizeOfImage;
}

/*
 * "boundary lecture": the walk as the lecture's code starts it,
 *     for (addr = (unsigned int)buff; ; addr += page) ... VirtualAlloc((void *)addr, ...)
 * On 64-bit an address does not fit an unsigned int (32 bits): the cast keeps the low
 * 32 bits, 0x140009020 becomes 0x40009020, an address nothing of this program is near.
 * The first reservation there succeeds (the address is free), and the "boundary" the
 * walk reports is where it started, not where anything ends.  The casts below are the
 * lecture's, made explicit through uintptr_t so that the compiler does not warn:
 * (unsigned int)buff itself is -Wpointer-to-int-cast, (void *)addr -Wint-to-pointer-cast.
 */
static int lecture_walk(void)
{
    lab_start();
    const SYSTEM_INFO *sys = lab_system();
    uintptr_t page = sys->dwPageSize;
    unsigned int truncated = (unsigned int)(uintptr_t)buff;
    uintptr_t lost = (uintptr_t)buff - truncated;
    printf("page size:              %lu bytes\n", sys->dwPageSize);
    printf("allocation granularity: %lu bytes\n", sys->dwAllocationGranularity);
    printf("buff:                   " ADDR_FMT "\n", ADDR(buff));
    printf("(unsigned int)buff:     0x%08x (what the lecture's code keeps: the low 32 bits)\n", truncated);
    if (lost != 0)
        printf("bits lost:              " ADDR_FMT " (buff - (unsigned int)buff)\n", ADDR(lost));
    else
        printf("bits lost:              none: the address fits 32 bits here, the walk is the real one\n");

    uintptr_t first = round_down(truncated, page), addr = first;
    unsigned long failed = 0;
    void *got = NULL;
    while (got == NULL && failed < MAX_ATTEMPTS) {
        got = VirtualAlloc((void *)addr, page, MEM_RESERVE, PAGE_READWRITE);
        if (got == NULL) {
            failed++;
            addr += page;
        }
    }
    if (got == NULL) {
        fprintf(stderr, "boundary: no reservation succeeded in %d pages from " ADDR_FMT "\n",
                MAX_ATTEMPTS, ADDR(first));
        return 2;
    }
    printf("first address tried:    " ADDR_FMT "\n", ADDR(first));
    printf("failed attempts:        %lu\n", failed);
    printf("address returned:       " ADDR_FMT " (the lecture's \"boundary\")\n", ADDR(got));

    const char *base = (const char *)GetModuleHandleA(NULL);
    uintptr_t image_end = (uintptr_t)base + image_size(base);
    printf("image base:             " ADDR_FMT " (GetModuleHandle(NULL))\n", ADDR(base));
    printf("image end:              " ADDR_FMT "\n", ADDR(image_end));
    int outside = (uintptr_t)got < (uintptr_t)base || (uintptr_t)got > image_end + sys->dwAllocationGranularity;
    printf("verdict:                %s\n", outside
               ? "the walk started outside the image: this \"boundary\" is the end of nothing"
               : "the walk started in the image: the boundary is its end, as in boundary without arguments");
    if (!VirtualFree(got, 0, MEM_RELEASE))
        die("VirtualFree");
    return 0;
}

enum { WALK, VERBOSE, LECTURE };
static const struct lab_mode ways[] = {
    [WALK] = { "", "walk up from buff with VirtualAlloc(MEM_RESERVE) to where the image ends", NULL },
    [VERBOSE] = { "-v", "the same, one line per failed VirtualAlloc(MEM_RESERVE)", NULL },
    [LECTURE] = { "lecture", "the walk as the lecture starts it, from (unsigned int)buff", NULL },
    { 0 }
};
static const struct lab_modes modes = { "boundary", "", NULL, ways };

int main(int argc, char **argv)
{
    size_t way = lab_choose(argc, argv, &modes);
    if (way == LECTURE)
        return lecture_walk();
    int verbose = way == VERBOSE;
    lab_start();

    const SYSTEM_INFO *sys = lab_system();
    uintptr_t page = sys->dwPageSize, granularity = sys->dwAllocationGranularity;
    printf("page size:              %lu bytes\n", sys->dwPageSize);
    printf("allocation granularity: %lu bytes\n", sys->dwAllocationGranularity);
    if (page != ASSUMED_PAGE)
        printf("note: buff spans %zu pages here, not 10\n", sizeof buff / page);
    printf("buff:                   " ADDR_FMT "\n", ADDR(buff));
    printf("main:                   " ADDR_FMT "\n", ADDR(main));

    /* The walk. */
    uintptr_t first = round_down((uintptr_t)buff, page), addr = first;
    unsigned long failed = 0;
    DWORD last_error = 0;
    void *got = NULL;
    while (got == NULL) {
        if (failed == MAX_ATTEMPTS) {
            fprintf(stderr, "boundary: no reservation succeeded in %d pages from " ADDR_FMT "\n",
                    MAX_ATTEMPTS, ADDR(first));
            return 2;
        }
        SetLastError(0xdeadbeef);
        /* BEGIN SOLUTION: try to reserve (only reserve) one page at addr with VirtualAlloc,
         * into got: NULL means the address belongs to something already */
        got = VirtualAlloc((void *)addr, page, MEM_RESERVE, PAGE_READWRITE);
        /* END SOLUTION */
        if (got == NULL) {
            last_error = GetLastError();
            if (verbose)
                printf("attempt " ADDR_FMT ": failed, %s\n", ADDR(addr), error_name(last_error));
            failed++;
            addr += page;
        }
    }
    printf("first address tried:    " ADDR_FMT "\n", ADDR(first));
    printf("failed attempts:        %lu\n", failed);
    if (failed > 0)
        printf("last failure:           %s\n", error_name(last_error));
    printf("address returned:       " ADDR_FMT "\n", ADDR(got));

    /* The explanation. */
    const char *base = (const char *)GetModuleHandleA(NULL);
    size_t size = image_size(base);
    uintptr_t image_end = (uintptr_t)base + size;
    uintptr_t predicted = round_up(image_end, granularity);
    printf("image base:             " ADDR_FMT " (GetModuleHandle(NULL))\n", ADDR(base));
    printf("image size:             %zu bytes (SizeOfImage, PE optional header)\n", size);
    printf("image end:              " ADDR_FMT "\n", ADDR(image_end));
    printf("predicted boundary:     " ADDR_FMT " (image end rounded up to %lu)\n",
           ADDR(predicted), sys->dwAllocationGranularity);
    printf("boundary == predicted:  %s\n", (uintptr_t)got == predicted ? "yes" : "no");
    /* A reservation's base is a multiple of the granularity: rounding it up changes nothing. */
    uintptr_t again = round_up((uintptr_t)got, granularity);
    printf("boundary rounded up:    " ADDR_FMT " (%s)\n", ADDR(again),
           again == (uintptr_t)got ? "unchanged: already a multiple" : "CHANGED: it was a multiple");

    /* Why each failed address failed, by VirtualQuery. */
    unsigned long in_image = 0, rounded_in = 0, other = 0;
    for (uintptr_t a = first; a < addr; a += page) {
        MEMORY_BASIC_INFORMATION mbi;
        if (VirtualQuery((void *)a, &mbi, sizeof mbi) == 0)
            die("VirtualQuery");
        if (mbi.Type == MEM_IMAGE && mbi.AllocationBase == base)
            in_image++;
        else if (mbi.State == MEM_FREE && round_down(a, granularity) < image_end)
            rounded_in++;
        else
            other++;
    }
    printf("failed in the image:    %lu (VirtualQuery: MEM_IMAGE, this program's)\n", in_image);
    printf("failed past its end:    %lu (MEM_FREE, but the base rounds down into the image)\n",
           rounded_in);
    printf("failed otherwise:       %lu\n", other);

    if (!VirtualFree(got, 0, MEM_RELEASE))
        die("VirtualFree");
    return 0;
}
