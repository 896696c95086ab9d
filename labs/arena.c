/*
 * arena.c - malloc's back end: reserve once, commit on demand, metadata inside  (lecture 8)
 *
 * A small allocator built the way a C runtime heap is built on VirtualAlloc:
 *   - one arena reserved once (MEM_RESERVE, ARENA_GRANULES allocation granules); its
 *     bookkeeping (struct arena) lives in its own first page;
 *   - blocks with a 16-byte header (size, check word) carved from the top of the used
 *     part; pages committed (MEM_COMMIT) one page step at a time as the top grows;
 *   - freed blocks go on an address-ordered free list inside the arena and are coalesced
 *     with free neighbours; a free block that reaches the top goes back to it, and once
 *     TRIM_PAGES whole pages above the top are unused they are decommitted.
 * After each step VirtualQuery, not the allocator, measures the arena: the reservation
 * stays the same, the commitment moves page by page (C committed, R reserved).  Then
 * another VirtualAlloc(MEM_RESERVE) inside the arena fails; a heap made with HeapCreate
 * (sizes chosen here: reserved far beyond what is committed) and malloc's own heap (sizes
 * the C runtime's: Wine 10 commits its first 64 KiB whole) are measured the same way, and
 * HeapValidate names the heap that owns malloc's block; once the arena is released the
 * same reservation works.
 *
 * Sources.  Microsoft Learn: "Virtual Memory Functions" (reserving "prevents other
 * allocation operations from using the specified range"); VirtualAlloc (MEM_RESERVE
 * allocates no physical storage, MEM_COMMIT works on whole pages, zero-filled);
 * VirtualFree (MEM_DECOMMIT leaves the pages reserved, MEM_RELEASE frees the range);
 * VirtualQuery (one call describes a run of pages with the same state, so a walk over
 * the regions of one AllocationBase adds up a reservation); "Heap Functions" and
 * HeapCreate (a heap reserves its maximum size, commits an initial part and commits more
 * as it grows: what this lab imitates); HeapAlloc (blocks aligned to
 * MEMORY_ALLOCATION_ALIGNMENT); GetProcessHeaps and HeapValidate (which heap owns a
 * block).  Wine: dlls/ntdll/tests/virtual.c,
 * test_NtAllocateVirtualMemory (a reservation that overlaps another conflicts).
 *
 * Run:   arena.exe                    the walkthrough
 *        arena.exe stress SEED [N]    N random allocate/free operations (splitmix64 from
 *                                     SEED), each checked; ends "integrity: ok"
 *        arena.exe overflow SEED [N]  the same, but halfway one block is overrun into
 *                                     its neighbour's header: the checks say so, exit 1
 *        ... SEED N PAGES             either, in an arena of PAGES pages: some allocations
 *                                     are refused (arena full), and still checked
 */
#include "lab.h"
#include <errno.h>
#include <stdarg.h>

#define ARENA_GRANULES 4      /* arena size in allocation granules (256 KiB with 64 KiB) */
#define ALIGN          MEMORY_ALLOCATION_ALIGNMENT  /* 16 on x64: what HeapAlloc promises */
#define HEADER         ALIGN  /* struct block, padded to keep payloads aligned */
#define MIN_BLOCK      (HEADER + ALIGN)
#define TRIM_PAGES     2      /* decommit once this many whole pages above the top are unused */
#define SLOTS          64     /* stress: live allocations at most */
#define CHECK_EVERY    64     /* stress: a whole-heap walk every so many operations */
#define OWN_HEAP_PAGES 256    /* the heap the lab makes itself: at most this many pages */
#define DEFAULT_OPS    20000
#define MAX_OPS        10000000
#define CHECK_MAGIC    ((uintptr_t)0x5eed5a1e0ddba11ull)

struct block { size_t size; uintptr_t check; };   /* size includes the header; bit 0: in use */
_Static_assert(sizeof(struct block) <= HEADER, "a block header fits in HEADER bytes");

struct arena {                  /* lives in the first bytes of the arena it describes */
    char *base, *heap, *top, *committed;  /* blocks: [heap, top); committed: [base, committed) */
    size_t reserved, page;
    struct block *free_list;    /* address order; each next pointer is in the free payload */
    const char *how;            /* what the last call did, for the walkthrough: */
    int merged;                 /* free neighbours merged */
    size_t tail;                /* unused pages above the top, before any decommit */
};

static unsigned long op_now;    /* stress: the operation under way */

static _Noreturn void broken(const char *invariant, const char *fmt, ...)
{
    va_list ap;
    printf("integrity:          FAILED at operation %lu\n", op_now);
    printf("broken invariant:   %s: ", invariant);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fprintf(stderr, "arena: integrity check failed: %s\n", invariant);
    exit(1);
}

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }
static char *page_up(struct arena *a, char *p) { return a->base + round_up(p - a->base, a->page); }
static size_t pages_above_top(struct arena *a) { return (a->committed - page_up(a, a->top)) / a->page; }
static void *payload(struct block *b) { return (char *)b + HEADER; }
static struct block *header_of(void *p) { return (struct block *)((char *)p - HEADER); }
static struct block **next_free(struct block *b) { return payload(b); }

static void seal(struct block *b, size_t size, int used)
{
    b->size = size | (size_t)used;
    b->check = b->size ^ (uintptr_t)b ^ CHECK_MAGIC;
}

/* Every header read goes through here, so a header overwritten by a stray write is caught. */
static size_t block_size(struct block *b)
{
    if (b->check != (b->size ^ (uintptr_t)b ^ CHECK_MAGIC))
        broken("block header intact", "the header at " ADDR_FMT " no longer matches its "
               "check word: something wrote over it", ADDR(b));
    return b->size & ~(size_t)1;
}

static int block_used(struct block *b) { return block_size(b) > 0 && (b->size & 1); }  /* checked */

static int commit_up_to(struct arena *a, char *end)
{
    char *want = page_up(a, end);
    if (want > a->base + a->reserved)
        return 0;
    if (want > a->committed) {
        /* BEGIN SOLUTION: commit the pages from a->committed up to want, readable and
         * writable (VirtualAlloc); die() if that fails */
        if (VirtualAlloc(a->committed, want - a->committed, MEM_COMMIT, PAGE_READWRITE) == NULL)
            die("VirtualAlloc(MEM_COMMIT)");
        /* END SOLUTION */
        a->committed = want;
    }
    return 1;
}

static void decommit_free_tail(struct arena *a)
{
    char *keep = page_up(a, a->top);
    if ((a->tail = pages_above_top(a)) < TRIM_PAGES)
        return;
    /* BEGIN SOLUTION: give back the storage of the pages from keep up to a->committed,
     * keeping their addresses reserved (VirtualFree); die() if that fails */
    if (!VirtualFree(keep, a->committed - keep, MEM_DECOMMIT))
        die("VirtualFree(MEM_DECOMMIT)");
    /* END SOLUTION */
    a->committed = keep;
}

static size_t default_size(void)
{
    return ARENA_GRANULES * (size_t)lab_system()->dwAllocationGranularity;
}

static struct arena *arena_create(size_t reserved)
{
    const SYSTEM_INFO *sys = lab_system();
    /* MEM_TOP_DOWN: above 4 GiB, as on 64-bit Windows, so a pointer cut to 32 bits shows. */
    char *base = VirtualAlloc(NULL, reserved, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE);
    if (base == NULL)
        die("VirtualAlloc(MEM_RESERVE | MEM_TOP_DOWN)");
    if (VirtualAlloc(base, sys->dwPageSize, MEM_COMMIT, PAGE_READWRITE) != base)
        die("VirtualAlloc(MEM_COMMIT)");
    struct arena *a = (struct arena *)base;
    a->base = base;
    a->reserved = reserved;
    a->page = sys->dwPageSize;
    a->heap = a->top = base + round_up(sizeof *a, ALIGN);
    a->committed = base + a->page;
    return a;
}

static void *take_from_free_list(struct arena *a, size_t size)
{
    for (struct block **link = &a->free_list; *link != NULL; link = next_free(*link)) {
        struct block *b = *link;
        size_t have = block_size(b);
        if (have < size)
            continue;
        *link = *next_free(b);
        if (have - size >= MIN_BLOCK) {         /* split: the rest takes b's place in the list */
            struct block *rest = (struct block *)((char *)b + size);
            seal(rest, have - size, 0);
            *next_free(rest) = *link;
            *link = rest;
            have = size;
        }
        seal(b, have, 1);
        a->how = "from the free list";
        return payload(b);
    }
    return NULL;
}

static void *take_from_top(struct arena *a, size_t size)
{
    struct block *b = (struct block *)a->top;
    if (size > (size_t)(a->base + a->reserved - a->top) || !commit_up_to(a, a->top + size))
        return NULL;
    a->top += size;
    seal(b, size, 1);
    a->how = "from the top";
    return payload(b);
}

static void *arena_alloc(struct arena *a, size_t n)
{
    if (n == 0 || n > a->reserved)
        return NULL;
    size_t size = round_up(n + HEADER, ALIGN);
    void *p = take_from_free_list(a, size);
    return p != NULL ? p : take_from_top(a, size);
}

/* Into the free list in address order, merged with free neighbours; a free block
 * that ends at the top goes back to the top, and the unused tail may be decommitted. */
static void arena_free(struct arena *a, void *p)
{
    struct block *b = header_of(p), *prev = NULL, **link = &a->free_list;
    if (!block_used(b))
        broken("freed block in use", "block " ADDR_FMT " is already free", ADDR(b));
    seal(b, block_size(b), 0);
    while (*link != NULL && *link < b)
        link = next_free(prev = *link);
    *next_free(b) = *link;
    *link = b;
    a->merged = 0;
    a->how = "to the free list";
    struct block *next = *next_free(b);
    if (next != NULL && (char *)b + block_size(b) == (char *)next) {
        seal(b, block_size(b) + block_size(next), 0);
        *next_free(b) = *next_free(next);
        a->merged++;
    }
    if (prev != NULL && (char *)prev + block_size(prev) == (char *)b) {
        seal(prev, block_size(prev) + block_size(b), 0);
        *next_free(prev) = *next_free(b);
        b = prev;
        a->merged++;
    }
    if ((char *)b + block_size(b) == a->top) {   /* the last free block: back to the top */
        for (link = &a->free_list; *link != b; link = next_free(*link))
            ;
        *link = NULL;
        a->top = (char *)b;
        a->how = "back to the top";
        decommit_free_tail(a);
    }
}

/* The reservation that starts at base, and how much of it is committed, region by region. */
static void measure(const void *base, size_t *reserved, size_t *committed)
{
    MEMORY_BASIC_INFORMATION mbi;
    *reserved = *committed = 0;
    for (const char *p = base; VirtualQuery(p, &mbi, sizeof mbi) != 0
         && mbi.AllocationBase == base && mbi.State != MEM_FREE; p += mbi.RegionSize) {
        *reserved += mbi.RegionSize;
        *committed += mbi.State == MEM_COMMIT ? mbi.RegionSize : 0;
    }
}

/* The whole heap against its invariants, live the number of blocks the program holds. */
static void check_heap(struct arena *a, size_t live)
{
    struct block *want_free = a->free_list;
    size_t used = 0, reserved, committed;
    int last_free = 0;
    for (char *p = a->heap; p < a->top; p += block_size((struct block *)p)) {
        struct block *b = (struct block *)p;
        if (block_size(b) < MIN_BLOCK || block_size(b) % ALIGN || p + block_size(b) > a->top)
            broken("blocks tile the heap", "block " ADDR_FMT ", %zu bytes", ADDR(b), block_size(b));
        if (block_used(b)) {
            used++;
        } else if (b != want_free) {
            broken("free list complete, in address order", "free block " ADDR_FMT, ADDR(b));
        } else if (last_free) {
            broken("free neighbours coalesced", "free blocks meet at " ADDR_FMT, ADDR(b));
        } else {
            want_free = *next_free(b);
        }
        last_free = !block_used(b);
    }
    if (want_free != NULL || last_free)
        broken("free list complete, in address order", "a free block at the top, or past it");
    measure(a->base, &reserved, &committed);
    if (reserved != a->reserved || a->base + committed != a->committed)
        broken("commitment as VirtualQuery sees it", "%zu reserved, %zu committed bytes",
               reserved, committed);
    if (pages_above_top(a) >= TRIM_PAGES)
        broken("free tail decommitted", "%zu unused pages above the top", pages_above_top(a));
    if (used != live)
        broken("live blocks counted", "the heap walk finds %zu, the program holds %zu", used, live);
}

/* ---- the walkthrough: what VirtualQuery sees after each step ---- */

/* Which pages are in RAM now (QueryWorkingSetEx, Valid): committing costs no RAM, the first
 * write to a page does (here the headers and footers the allocator writes), a decommit
 * gives it back.  "*" in RAM, "." not. */
static void in_ram(const char *base, size_t pages, size_t page)
{
    size_t resident = 0;
    printf("  in RAM:           ");
    for (size_t i = 0; i < pages; i++) {
        PSAPI_WORKING_SET_EX_INFORMATION ws;
        memset(&ws, 0, sizeof ws);
        ws.VirtualAddress = (void *)(base + i * page);
        int valid = QueryWorkingSetEx(GetCurrentProcess(), &ws, sizeof ws)
                    && ws.VirtualAttributes.Valid;
        resident += valid;
        putchar(valid ? '*' : '.');
    }
    printf(" (%zu page%s)\n", resident, resident == 1 ? "" : "s");
}

static void show_query(struct arena *a)
{
    static size_t shown;        /* committed bytes at the previous step */
    size_t reserved, committed, pages = a->reserved / a->page;
    MEMORY_BASIC_INFORMATION mbi;
    measure(a->base, &reserved, &committed);
    printf("  VirtualQuery:     reserved %zu, committed %zu bytes (%zu of %zu pages, %+ld)\n",
           reserved, committed, committed / a->page, pages,
           (long)(committed / a->page) - (long)(shown / a->page));
    printf("  pages:            ");
    for (size_t i = 0; i < pages; i++) {
        if (VirtualQuery(a->base + i * a->page, &mbi, sizeof mbi) == 0)
            die("VirtualQuery");
        putchar(mbi.State == MEM_COMMIT ? 'C' : mbi.State == MEM_RESERVE ? 'R' : '-');
    }
    printf("\n");
    shown = committed;
    in_ram(a->base, pages, a->page);
}

/* One step of the walkthrough, after it happened: what the allocator did, what VirtualQuery sees. */
static void show_step(struct arena *a, const char *label, void *p)
{
    size_t blocks = 0, bytes = 0;
    for (struct block *b = a->free_list; b != NULL; b = *next_free(b))
        blocks++, bytes += block_size(b);
    if (p != NULL)
        printf("%-20s" ADDR_FMT ", %s\n", label, ADDR(p), a->how);
    else
        printf("%-20s%s, %d neighbour%s merged; free list: %zu block%s, %zu bytes\n", label,
               a->how, a->merged, a->merged == 1 ? "" : "s", blocks, blocks == 1 ? "" : "s", bytes);
    if (p == NULL && a->how[0] == 'b')
        printf("  free tail:        %zu unused page%s above the top (threshold %d): %s\n", a->tail,
               a->tail == 1 ? "" : "s", TRIM_PAGES,
               a->tail < TRIM_PAGES ? "kept" : "decommitted (VirtualFree MEM_DECOMMIT)");
    show_query(a);
}

/* Another allocator asks for a range inside the arena. */
static void reserve_at(const char *label, char *at)
{
    DWORD size = lab_system()->dwAllocationGranularity, error;
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery(at, &mbi, sizeof mbi) == 0)
        die("VirtualQuery");
    SetLastError(0xdeadbeef);
    void *got = VirtualAlloc(at, size, MEM_RESERVE, PAGE_READWRITE);
    error = GetLastError();
    if (got == NULL)
        printf("%-20sNULL, %s (the page was %s)\n", label, error_name(error), state_name(mbi.State));
    else
        printf("%-20s" ADDR_FMT ", succeeded (the page was %s)\n", label, ADDR(got), state_name(mbi.State));
    if (got != NULL && !VirtualFree(got, 0, MEM_RELEASE))
        die("VirtualFree(MEM_RELEASE)");
}

/* A heap made here, with sizes chosen here: HeapCreate reserves the maximum size and
 * commits the initial part (rounded up as the heap likes: Wine commits 64 KiB at once).
 * The lecture's point on memory this program controls, whatever its C runtime does. */
static void show_own_heap(void)
{
    MEMORY_BASIC_INFORMATION mbi;
    size_t page = lab_system()->dwPageSize, max = OWN_HEAP_PAGES * page, reserved, committed;
    HANDLE heap = HeapCreate(0, page, max);
    if (heap == NULL)
        die("HeapCreate");
    char *p = HeapAlloc(heap, 0, 64);
    if (p == NULL || VirtualQuery(p, &mbi, sizeof mbi) == 0)
        die("HeapAlloc(64) or VirtualQuery");
    measure(mbi.AllocationBase, &reserved, &committed);
    printf("HeapCreate:         " ADDR_FMT " (HeapCreate(0, %zu, %zu): 1 page to start, %d at most)\n",
           ADDR(heap), page, max, OWN_HEAP_PAGES);
    printf("  HeapAlloc(64):    " ADDR_FMT ", AllocationBase " ADDR_FMT ", %s\n",
           ADDR(p), ADDR(mbi.AllocationBase), type_name(mbi.Type));
    printf("  VirtualQuery:     reserved %zu, committed %zu bytes (%zu of %zu pages)\n",
           reserved, committed, committed / page, reserved / page);
    printf("  reserved only:    %zu bytes, for the heap to grow into\n", reserved - committed);
    if (!HeapDestroy(heap))
        die("HeapDestroy");
}

/* The C runtime's heap, measured the same way: the reservation behind a malloc pointer.
 * Which heap owns the block is asked of the heaps themselves (HeapValidate on each heap
 * of the process), not read from the reservation: a grown heap spans several. */
static void show_malloc_heap(void)
{
    MEMORY_BASIC_INFORMATION mbi;
    HANDLE heaps[256], owner = NULL, process = GetProcessHeap();
    size_t reserved, committed, page = lab_system()->dwPageSize;
    char *p = malloc(64);
    if (p == NULL || VirtualQuery(p, &mbi, sizeof mbi) == 0)
        die("malloc(64) or VirtualQuery");
    DWORD count = GetProcessHeaps(sizeof heaps / sizeof heaps[0], heaps);
    if (count == 0 || count > sizeof heaps / sizeof heaps[0])
        die("GetProcessHeaps");
    for (DWORD i = 0; i < count && owner == NULL; i++)
        if (HeapValidate(heaps[i], 0, p))
            owner = heaps[i];
    measure(mbi.AllocationBase, &reserved, &committed);
    printf("malloc(64):         " ADDR_FMT " (the C runtime's heap)\n", ADDR(p));
    printf("  AllocationBase:   " ADDR_FMT ", %s\n", ADDR(mbi.AllocationBase), type_name(mbi.Type));
    printf("  VirtualQuery:     reserved %zu, committed %zu bytes (%zu of %zu pages)\n",
           reserved, committed, committed / page, reserved / page);
    printf("  reserved only:    %zu bytes, for the heap to grow into\n", reserved - committed);
    printf("  behaviour:        %s\n", committed < reserved
           ? "reserved-ahead: the heap grows into its reservation, committing as it goes"
           : "committed-whole: nothing reserved ahead; to grow, the heap reserves more");
    if (owner != NULL)
        printf("  owning heap:      " ADDR_FMT ", %s (HeapValidate, %lu heaps from GetProcessHeaps)\n",
               ADDR(owner), owner == process ? "the process heap" : "another heap", count);
    else
        printf("  owning heap:      none (HeapValidate, %lu heaps from GetProcessHeaps)\n", count);
    printf("  GetProcessHeap(): " ADDR_FMT " (%s)\n", ADDR(process),
           owner == process ? "the owning heap: malloc uses the process heap"
           : owner != NULL ? "not the owning heap: malloc uses a heap of its own"
           : "not the owning heap: no heap of this process validates the block");
    free(p);
}

static void walkthrough(void)
{
    const SYSTEM_INFO *sys = lab_system();
    size_t page = sys->dwPageSize;
    printf("platform:           %s\n", lab_platform());
    printf("page size:          %zu bytes\n", page);
    printf("granularity:        %lu bytes\n", sys->dwAllocationGranularity);
    lab_mem_counters("counters:           ");
    struct arena *a = arena_create(default_size());
    printf("arena:              " ADDR_FMT ", %zu bytes reserved (VirtualAlloc MEM_RESERVE)\n",
           ADDR(a->base), a->reserved);
    printf("bookkeeping:        %zu bytes at the base; blocks from " ADDR_FMT "\n",
           sizeof *a, ADDR(a->heap));
    show_query(a);

    /* A page and a header each: the commitment grows one page per block. */
    char *pa = arena_alloc(a, page);       show_step(a, "a = alloc(page):", pa);
    char *pb = arena_alloc(a, page);       show_step(a, "b = alloc(page):", pb);
    char *pc = arena_alloc(a, page);       show_step(a, "c = alloc(page):", pc);
    char *pd = arena_alloc(a, page);       show_step(a, "d = alloc(page):", pd);
    arena_free(a, pb);                     show_step(a, "free(b):", NULL);
    size_t hole = block_size(header_of(pb));
    char *pe = arena_alloc(a, page / 2);   show_step(a, "e = alloc(page/2):", pe);
    printf("  e == b:           %s\n", pe != pb ? "no: b's hole is not reused"
           : block_size(header_of(pe)) < hole ? "yes: b's hole is reused and split"
           : "yes: b's hole is reused whole");
    arena_free(a, pa);                     show_step(a, "free(a):", NULL);
    arena_free(a, pe);                     show_step(a, "free(e):", NULL);
    arena_free(a, pd);                     show_step(a, "free(d):", NULL);
    arena_free(a, pc);                     show_step(a, "free(c):", NULL);
    check_heap(a, 0);
    printf("heap walk:          ok (headers, free list, coalescing, commitment)\n");

    reserve_at("reserve at base:", a->base);
    reserve_at("reserve inside:", a->base + sys->dwAllocationGranularity);
    show_own_heap();
    show_malloc_heap();
    char *inside = a->base + sys->dwAllocationGranularity;
    if (!VirtualFree(a->base, 0, MEM_RELEASE))
        die("VirtualFree(MEM_RELEASE)");
    printf("released:           the arena (VirtualFree MEM_RELEASE)\n");
    reserve_at("reserve inside:", inside);
}

/* ---- stress: N random operations, every one checked ---- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct slot { unsigned char *p; size_t n; uint64_t tag; };

static unsigned char pattern(const struct slot *s, size_t i) { return (unsigned char)(s->tag + i * 131); }

static void check_new_block(struct arena *a, struct slot *slots, struct slot *s)
{
    if ((uintptr_t)s->p % ALIGN != 0)
        broken("alignment", ADDR_FMT " is not a multiple of %d", ADDR(s->p), ALIGN);
    if ((char *)s->p < a->heap || (char *)s->p + s->n > a->top)
        broken("inside the heap", ADDR_FMT ", %zu bytes", ADDR(s->p), s->n);
    for (struct slot *o = slots; o < slots + SLOTS; o++)
        if (o != s && o->p != NULL && s->p < o->p + o->n && o->p < s->p + s->n)
            broken("no overlap", ADDR_FMT " (%zu bytes) overlaps " ADDR_FMT " (%zu bytes)",
                   ADDR(s->p), s->n, ADDR(o->p), o->n);
}

static void check_contents(const struct slot *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->p[i] != pattern(s, i))
            broken("content pattern intact", "byte %zu of the %zu-byte block at " ADDR_FMT,
                   i, s->n, ADDR(s->p));
}

/* Writes past the end of a live block through the size word of the next block's header,
 * as a strcpy into too small a buffer would. */
static void overrun(struct arena *a, struct slot *slots)
{
    for (struct slot *s = slots; s < slots + SLOTS; s++) {
        struct block *b = header_of(s->p);
        if (s->p == NULL || (char *)b + block_size(b) >= a->top)
            continue;
        size_t past = (size_t)((char *)b + block_size(b) - (char *)(s->p + s->n)) + sizeof(size_t);
        memset(s->p + s->n, 'A', past);
        printf("overflow:           %zu bytes written past the %zu-byte block at " ADDR_FMT
               ", operation %lu\n", past, s->n, ADDR(s->p), op_now);
        return;
    }
    printf("overflow:           no live block with a neighbour above it: nothing written\n");
}

/* Every operation, refused or not, reaches the peak, the overrun and the heap walk. */
static void stress(uint64_t seed, unsigned long ops, int overflow, size_t size)
{
    static struct slot slots[SLOTS];
    uint64_t state = seed;
    unsigned long allocs = 0, frees = 0, refused = 0, walks = 0;
    size_t reserved, committed, peak, live = 0;
    struct arena *a = arena_create(size);
    printf("stress:             seed %llu, %lu operations (splitmix64)\n", (unsigned long long)seed, ops);
    printf("arena:              " ADDR_FMT ", %zu bytes reserved\n", ADDR(a->base), a->reserved);
    measure(a->base, &reserved, &peak);
    for (op_now = 1; op_now <= ops; op_now++) {
        uint64_t r = splitmix64(&state);
        struct slot *s = &slots[(r >> 32) % SLOTS];
        char *was_committed = a->committed;
        if (s->p != NULL) {
            check_contents(s);
            arena_free(a, s->p);
            s->p = NULL, live--, frees++;
        } else {
            s->n = 1 + (size_t)((r >> 8) % (16u << (r % 9)));    /* 1..4096 bytes, mostly small */
            s->tag = splitmix64(&state);
            if ((s->p = arena_alloc(a, s->n)) == NULL) {
                refused++;
            } else {
                check_new_block(a, slots, s);
                for (size_t i = 0; i < s->n; i++)
                    s->p[i] = pattern(s, i);
                live++, allocs++;
            }
        }
        if (a->committed > was_committed) {        /* the peak, as VirtualQuery sees it */
            measure(a->base, &reserved, &committed);
            peak = committed > peak ? committed : peak;
        }
        if (overflow && op_now == (ops + 1) / 2)
            overrun(a, slots);
        if (op_now % CHECK_EVERY == 0 || op_now == ops) {
            check_heap(a, live);
            walks++;
        }
    }
    op_now = ops;
    printf("operations done:    %lu (%lu allocations, %lu frees, %lu refused: arena full)\n",
           ops, allocs, frees, refused);
    printf("allocations live:   %zu\n", live);
    printf("peak committed:     %zu bytes (%zu of %zu pages, VirtualQuery)\n", peak, peak / a->page,
           a->reserved / a->page);
    printf("heap walks:         %lu (every %d operations and at the end)\n", walks, CHECK_EVERY);
    for (struct slot *s = slots; s < slots + SLOTS; s++)
        if (s->p != NULL) {
            check_contents(s);
            arena_free(a, s->p);
        }
    check_heap(a, 0);
    measure(a->base, &reserved, &committed);
    printf("all freed:          reserved %zu, committed %zu bytes (bookkeeping page + %zu unused)\n",
           reserved, committed, pages_above_top(a));
    printf("integrity:          ok\n");
    if (!VirtualFree(a->base, 0, MEM_RELEASE))
        die("VirtualFree(MEM_RELEASE)");
}

/* A decimal (or 0x hex) number no larger than max, and nothing after it. */
static int parse_number(const char *text, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    *out = strtoull(text, &end, 0);
    return text[0] >= '0' && text[0] <= '9' && *end == '\0' && errno == 0 && *out <= max;
}

enum { WALKTHROUGH, STRESS, OVERFLOW };
static const struct lab_mode ways[] = {
    [WALKTHROUGH] = { "", "the walkthrough: reserve, commit page by page, free, coalesce, decommit; "
                          "malloc's heap", NULL },
    [STRESS] = { "stress SEED [N [PAGES]]", "N random allocate/free operations from SEED, all checked",
                 NULL },
    [OVERFLOW] = { "overflow SEED [N [PAGES]]", "the same, one block overrun halfway: exit 1", NULL },
    { 0 }
};
static const struct lab_modes modes = { "arena", "",
    "  N: how many operations, 1 to 10000000 (default 20000)\n"
    "  PAGES: a smaller arena, from 2 pages up to the default 4 granules: allocations get refused",
    ways };

int main(int argc, char **argv)
{
    unsigned long long seed = 0, ops = DEFAULT_OPS, pages = default_size() / lab_system()->dwPageSize;
    size_t way = lab_choose(argc, argv, &modes);
    if (way != WALKTHROUGH && (!parse_number(argv[2], ~0ull, &seed)
                               || (argc > 3 && (!parse_number(argv[3], MAX_OPS, &ops) || ops == 0))
                               || (argc > 4 && (!parse_number(argv[4], pages, &pages) || pages < 2))))
        lab_usage(&modes);
    lab_start();
    if (way == WALKTHROUGH)
        walkthrough();
    else
        stress(seed, (unsigned long)ops, way == OVERFLOW, (size_t)pages * lab_system()->dwPageSize);
    return 0;
}
