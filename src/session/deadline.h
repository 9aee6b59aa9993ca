/* The deadline of one operation: every public call of the core that talks
 * to the server (smb1_open, smb1_rename, smb1_readdir, ...) opens a scope
 * with CONN_OP(conn) on entry, and every round trip it makes on that
 * thread until it returns (its requests, their retries after a reconnect,
 * the reconnect's own hand-shake, a re-logon, a tree connect, the reopen
 * of a file, the UNIX setup of a new connection) waits only until that one
 * deadline, not a fresh request bound each: under `soft` an operation
 * answers within the mount's request timeout whatever the server does.
 *
 * Why a scope per thread rather than a parameter: the deadline has to
 * reach code run on behalf of the operation below every layer that could
 * pass it (the reconnect in conn_get_live, session_establish, tree_refresh,
 * the tree's ready hook, file_call's reopen), through some hundred helpers
 * of ops/ whose signatures would all grow a parameter, where one missed
 * helper would quietly give its request a fresh bound. The scope lives on
 * the caller's stack; the thread-local pointer only links the scopes of
 * the calls the thread is inside (src/README.md, "The bound of an
 * operation"). A thread outside any scope (the service thread, the
 * closer and write-behind threads) gives each request its own bound, as
 * before. Scopes nest: an inner one never extends the outer deadline.
 */
#ifndef SMBFUSE_DEADLINE_H
#define SMBFUSE_DEADLINE_H

#include <stdint.h>

struct conn_op {
    int64_t until_ms; /* monotonic ms (conn_mono_ms), -1: none */
    struct conn_op *outer;
};

/* Opens op on this thread: its deadline is now + bound_ms (none when
 * bound_ms < 0), or the outer scope's when that is sooner. */
void conn_op_begin(struct conn_op *op, int bound_ms);
/* Closes op (the innermost scope of this thread). */
void conn_op_end(struct conn_op *op);
/* The deadline (monotonic ms) of the operation this thread runs, -1 when
 * it runs none or none with a deadline. */
int64_t conn_op_until(void);

#endif
