/* The deadline of one operation (deadline.h has the design). */
#include "session/deadline.h"

#include <stddef.h>

#include "link/mux.h"

/* The innermost scope this thread is in, NULL outside any operation. Not
 * shared between threads: each thread sees only the scopes on its own
 * stack. */
static _Thread_local struct conn_op *current;

void conn_op_begin(struct conn_op *op, int bound_ms)
{
    op->outer = current;
    op->until_ms = bound_ms >= 0 ? mux_now_ms() + bound_ms : -1;
    int64_t o = op->outer ? op->outer->until_ms : -1;
    if (o >= 0 && (op->until_ms < 0 || o < op->until_ms))
        op->until_ms = o;
    current = op;
}

void conn_op_end(struct conn_op *op)
{
    current = op->outer;
}

int64_t conn_op_until(void)
{
    return current ? current->until_ms : -1;
}
