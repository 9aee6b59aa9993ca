/* Memory for secrets (password hashes, session and signing keys): whole
 * pages of their own, locked in RAM where the limit allows (never written
 * to swap) and left out of core dumps, wiped before they are unmapped. */
#ifndef SMBFUSE_SECMEM_H
#define SMBFUSE_SECMEM_H

#include <stddef.h>

/* n zeroed bytes, or NULL (errno set). Locking is best effort: without
 * RLIMIT_MEMLOCK room the pages are still excluded from core dumps. */
void *secmem_alloc(size_t n);
/* Wipes and unmaps what secmem_alloc(n) returned; NULL is ignored. */
void secmem_free(void *p, size_t n);

#endif
