/* Memory for secrets (support/secmem.c): pages of their own, zeroed,
 * locked in RAM where allowed, and left out of core dumps, as the kernel
 * says in /proc/self/smaps (VmFlags "lo" locked, "dd" do not dump). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "support/secmem.h"

/* The VmFlags line of the mapping that starts at p, or "" when none. */
static void vmflags_of(const void *p, char *out, size_t size)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/self/smaps", "r");
    cr_assert(f);
    char line[512];
    bool ours = false;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            ours = lo == (unsigned long)(uintptr_t)p;
            continue;
        }
        if (ours && !strncmp(line, "VmFlags:", 8)) {
            /* A VmFlags line is short; a longer one is cut, not overrun. */
            size_t n = strnlen(line + 8, size - 1);
            memcpy(out, line + 8, n);
            out[n] = '\0';
            break;
        }
    }
    fclose(f);
}

static bool has_flag(const char *flags, const char *fl)
{
    char pat[8];
    snprintf(pat, sizeof(pat), " %s", fl);
    for (const char *s = flags; (s = strstr(s, pat)); s++)
        if (s[3] == ' ' || s[3] == '\n' || s[3] == '\0')
            return true;
    return false;
}

Test(secmem, pages_of_their_own_locked_and_not_dumped)
{
    long pg = sysconf(_SC_PAGESIZE);
    /* Whether this process may lock a page at all (root, or room under
     * RLIMIT_MEMLOCK): secmem locks where it can. */
    void *probe =
        mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(probe != MAP_FAILED);
    bool can_lock = mlock(probe, (size_t)pg) == 0;
#if defined(__SANITIZE_ADDRESS__)
    can_lock = false; /* AddressSanitizer makes mlock a no-op that succeeds */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    can_lock = false;
#endif
#endif
    munlock(probe, (size_t)pg);
    munmap(probe, (size_t)pg);

    size_t n = (size_t)pg + 100;
    unsigned char *p = secmem_alloc(n);
    cr_assert_not_null(p);
    cr_assert_eq((uintptr_t)p % (uintptr_t)pg, 0, "not page aligned");
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(p[i], 0);
    memset(p, 0xA5, n);
    char flags[256];
    vmflags_of(p, flags, sizeof(flags));
    cr_assert(flags[0], "no mapping starts at the secret");
    cr_assert(has_flag(flags, "dd"), "dumped in a core: VmFlags%s", flags);
    if (can_lock)
        cr_assert(has_flag(flags, "lo"), "not locked in RAM: VmFlags%s", flags);
    secmem_free(p, n);
    vmflags_of(p, flags, sizeof(flags));
    cr_assert(!flags[0] || !has_flag(flags, "dd"), "still mapped after secmem_free");
}
