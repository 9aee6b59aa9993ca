/* Lent writes: write-behind pieces whose data is sent from the caller's
 * buffer (smb1_write_lent).
 *
 * Why. A 1 MiB write that FUSE read into the program's buffer was copied
 * into the WRITE_ANDX pieces the queue holds (16.5 % of the daemon's CPU
 * under dd bs=1M, perf) so that the write could return while the pump
 * sends them. The FUSE program now reads each request into a buffer of a
 * pool (fuse/fs_loop.c) and lends it to us with the write: a piece then
 * holds its WRITE_ANDX header (and the bytes the carry gives its start,
 * copied as before) and points at the rest where it lies (msg_out
 * .tail_mem), and the pump's writev gathers both. The FUSE worker reads
 * its next request into another buffer of the pool meanwhile.
 *
 * Lifetime. Each lent piece holds a reference to the loan from when it
 * is queued until it retires (wb_retire), not only until it went out: a
 * piece the connection let down is written again (file_call, after a
 * reconnect) and a short write is completed, both from its data, which
 * wb_lent_flat puts in one buffer first (as keep_take does for a spliced
 * piece). The buffer goes back to its owner (smb1_loan.back) with the
 * last reference: the FUSE worker's own, dropped once the request is
 * answered, or the last piece's.
 *
 * Where. Only where nothing needs the bytes in one place: a connection
 * that neither signs (the MAC covers the whole frame) nor is observed
 * (conn_splice_ok, as for spliced writes; mux_start refuses any other).
 * Elsewhere a lent write is an ordinary one: copied into its pieces.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/op_wbehind_int.h"

void smb1_loan_hold(struct smb1_loan *l)
{
    atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
}

void smb1_loan_drop(struct smb1_loan *l)
{
    /* The last drop sees every write to the buffer made under the
     * others (acq_rel), and hands it back. */
    if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) == 1)
        l->back(l);
}

bool wb_lent_ok(struct smb1_file *f, const void *buf, const struct smb1_loan *loan)
{
    return buf && loan && conn_splice_ok(f->t->conn);
}

void wb_lent_hold(struct file_wbehind *w, size_t i, struct smb1_loan *loan)
{
    smb1_loan_hold(loan);
    w->loan[i] = loan;
}

void wb_lent_done(struct file_wbehind *w, size_t i)
{
    struct smb1_loan *l = w->loan[i];
    w->loan[i] = NULL;
    if (l)
        smb1_loan_drop(l);
}

uint8_t *wb_lent_flat(const struct msg_out *m, uint32_t len)
{
    if (!m->tail_mem || m->tail_len > len)
        return NULL;
    uint32_t head = len - m->tail_len;
    uint8_t *b = malloc(len ? len : 1);
    if (!b)
        return NULL;
    memcpy(b, m->buf + m->w.pos - head, head);
    memcpy(b + head, m->tail_mem, m->tail_len);
    return b;
}
