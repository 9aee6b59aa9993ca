#include "support/secmem.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t round_pages(size_t n)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t p = pg > 0 ? (size_t)pg : 4096;
    return (n + p - 1) / p * p;
}

void *secmem_alloc(size_t n)
{
    size_t len = round_pages(n ? n : 1);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    /* Both best effort: a full RLIMIT_MEMLOCK must not stop a mount. */
    (void)mlock(p, len);
    (void)madvise(p, len, MADV_DONTDUMP);
    return p;
}

void secmem_free(void *p, size_t n)
{
    if (!p)
        return;
    size_t len = round_pages(n ? n : 1);
    explicit_bzero(p, len);
    munlock(p, len);
    munmap(p, len);
}
