/* The FUSE loop of the mount (fs_loop.c): libfuse's multi-threaded loop,
 * with each request read into a buffer of a pool that a write may lend
 * to the core (fs_bufpool.h). */
#ifndef SFS_LOOP_H
#define SFS_LOOP_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif

#include <fuse.h>

/* What libfuse (3.14) reads a request into: max_write's pages at most
 * (FUSE_MAX_MAX_PAGES, 256) and a page of headers (FUSE_BUFFER_HEADER_SIZE),
 * its session's bufsize before INIT (INIT only lowers it), read whole
 * whatever the fuse_buf's size says. */
#define SFS_LOOP_BUF_PAGES 257

/* Runs f's requests until the session ends (an unmount, a signal, an
 * error), as fuse_loop_mt does: a worker thread reads a request, another
 * starts when none is left waiting for the next (up to max_threads), and
 * one that finds more than max_idle others idle ends. Returns 0, or the
 * first error of a read of the device (-errno). */
int sfs_loop_mt(struct fuse *f, unsigned max_threads, unsigned max_idle);

#endif
