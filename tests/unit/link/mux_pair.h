/* The dispatcher on one end of a socketpair and a test's scripted peer on
 * the other: what test_mux.c, test_mux_parts.c and test_mux_direct.c each
 * set up and tear down the same way. Header-only test code. */
#ifndef SMBFUSE_TEST_MUX_PAIR_H
#define SMBFUSE_TEST_MUX_PAIR_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link/mux.h"
#include "link/sign.h"

/* The log at SMBFUSE_TEST_LOG's level, else quiet: the tests provoke
 * errors on purpose. */
static inline void mux_pair_log_init(struct smb1_log *lg)
{
    const char *lv = getenv("SMBFUSE_TEST_LOG");
    log_init(lg, lv ? atoi(lv) : LOG_CRIT, NULL, NULL);
}

/* A dispatcher with options o on one end; the other end's descriptor in
 * *peer_fd. With signing, *key is the session key both ends use and the
 * numbering starts at 2, as after a session setup: the peer's counter
 * (*peer_seq) too. */
static inline struct mux *mux_pair_open(const struct mux_opts *o, bool signing,
                                        struct sign_key *key, uint32_t *peer_seq, int *peer_fd)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    *peer_fd = sv[1];
    static const uint8_t sk[16] = "0123456789abcdef", resp[24] = "response-bytes-24-long..";
    if (signing) {
        cr_assert_eq(sign_key_init(key, sk, 16, resp, 24), 0);
        *peer_seq = 2;
    }
    int err = 0;
    struct mux *m = mux_new(sv[0], o, &err);
    cr_assert_not_null(m, "mux_new: %d", err);
    if (signing)
        mux_sign_activate(m, key, 2);
    return m;
}

/* Drops the dispatcher (its end closes, so the peer's reads end), waits
 * for the peer thread and closes its end. */
static inline void mux_pair_close(struct mux *m, pthread_t peer, int peer_fd)
{
    mux_put(m);
    pthread_join(peer, NULL);
    close(peer_fd);
}

#endif
