/* A scripted in-process SMB1 server for fault injection.
 *
 * One thread, one listening socket on 127.0.0.1 (port chosen by the
 * kernel), one client connection at a time (after a disconnect it accepts
 * the next one, so reconnects can be tested). It speaks enough SMB1 for the
 * connection core: NEGOTIATE (non-extended, with a challenge), NTLMv2
 * SESSION_SETUP (it knows the password, checks the NTProofStr and derives
 * the same signing key), TREE_CONNECT, ECHO, READ_ANDX (a fixed byte
 * pattern), TRANSACTION2 (a reply in several fragments), LOCKING_ANDX
 * (counts oplock-release acknowledgements), NT_CREATE_ANDX (any name: an
 * empty file), WRITE_ANDX (fake_set_write), FLUSH, TREE_DISCONNECT, LOGOFF. A
 * share whose name has PRINTER in it is a printer ("LPT1:") that refuses
 * NT_CREATE_ANDX (NOT_SUPPORTED, as for any unknown command) and takes
 * jobs with SMB_COM_OPEN_PRINT_FILE, WRITE_ANDX and CLOSE_PRINT_FILE or
 * CLOSE, whose status fake_set_print_close sets.
 * Once signing is active it verifies every request against its own
 * sequence counter (so a client that sends out of sequence order is
 * caught) and signs every reply.
 *
 * Faults are armed one at a time and fire on the next reply to a request
 * other than NEGOTIATE / SESSION_SETUP / TREE_CONNECT.
 */
#ifndef SMBFUSE_FAKE_SMB_H
#define SMBFUSE_FAKE_SMB_H

#include <stdbool.h>
#include <stdint.h>

#include "link/msg.h"
#include "smb1.h"

enum fake_fault {
    FAKE_NONE = 0,
    FAKE_FLIP_BYTE,       /* flip the last byte after signing */
    FAKE_BAD_SIGNATURE,   /* wrong MAC */
    FAKE_NO_SIGNATURE,    /* signature flag clear and field zero */
    FAKE_UNKNOWN_MID,     /* first a copy with another MID, then the reply */
    FAKE_TRUNCATED,       /* ByteCount claims more than the frame holds */
    FAKE_OVERSIZED,       /* a transport header announcing 0xFFFFFF bytes */
    FAKE_DISCONNECT_MID,  /* half the reply, then close */
    FAKE_LATE,            /* reply after delay_ms */
    FAKE_OPLOCK_BREAK,    /* an unsolicited oplock break before the reply */
    FAKE_NETNAME_DELETED, /* NETWORK_NAME_DELETED instead of the reply (tree gone) */
    FAKE_SESSION_DELETED, /* USER_SESSION_DELETED instead of the reply (logged off) */
    FAKE_DROP,            /* no reply at all; later requests are answered (hung on one) */
    FAKE_LATE_NEGOTIATE,  /* the next NEGOTIATE (a reconnect's) is answered after delay_ms */
};

struct fake_opts {
    const char *user, *domain, *password;
    bool sign_enabled, sign_required;
    uint16_t max_mpx; /* 0: 50 */
    bool plaintext;   /* negotiate without ENCRYPT_PASSWORDS */
    unsigned drop_at; /* >0: the first connection closes on its Nth request */
    unsigned reorder; /* >1: collect this many requests, answer in reverse */
};

struct fake_stats {
    unsigned connections;
    unsigned requests;
    unsigned bad_request_signatures;
    unsigned oplock_acks;
    unsigned tree_connects;
    unsigned max_outstanding; /* most requests held at once (reorder mode) */
    unsigned logons;
    unsigned print_opens; /* OPEN_PRINT_FILE */
    unsigned print_jobs;  /* spool files closed with success */
    uint64_t print_bytes; /* WRITE_ANDX data to spool files */
    /* WRITE_ANDX to files, their data, and the bytes of it that are not
     * fake_pattern of their offset in the file (or not in the frame). */
    unsigned file_writes;
    uint64_t file_write_bytes, file_write_bad;
};

struct fake_server;

/* The account the tests log on with (alice / WORKGROUP / "s3cret pass"),
 * signing enabled and required. */
struct fake_opts fake_signed_opts(void);

/* A client's configuration for the server at port with the account of
 * fake_signed_opts, NTLMv2, direct TCP; timeouts and signing are the
 * caller's to set. */
struct smb1_config fake_client_config(uint16_t port, struct smb1_log *lg);

/* Starts the server; *port receives its port. Returns NULL on failure. */
struct fake_server *fake_start(const struct fake_opts *o, uint16_t *port);
void fake_stop(struct fake_server *fs);
/* Arms one fault (delay_ms for FAKE_LATE; for FAKE_OPLOCK_BREAK, fid/level
 * are taken from fake_set_break). */
void fake_inject(struct fake_server *fs, enum fake_fault f, int delay_ms);
void fake_set_break(struct fake_server *fs, uint16_t fid, uint8_t level);
void fake_get_stats(struct fake_server *fs, struct fake_stats *st);
/* What a WRITE_ANDX to a file (NT_CREATE_ANDX opens any name) answers:
 * status (0: the count written), each delay_ms late. */
void fake_set_write(struct fake_server *fs, uint32_t status, int delay_ms);
/* What a READ_ANDX answers: at most max bytes (0: 4096, and MaxCountHigh
 * ignored; above, MaxCountHigh counts: at most 64000), none past size (0:
 * the file never ends). */
void fake_set_read(struct fake_server *fs, uint32_t max, uint64_t size);
/* The NTSTATUS the close of a spool file answers (0: success). */
void fake_set_print_close(struct fake_server *fs, uint32_t status);
/* The byte READ_ANDX returns at offset off and TRANS2 returns in its data. */
static inline uint8_t fake_pattern(uint64_t off)
{
    return (uint8_t)(off * 7 + 3);
}
#define FAKE_TRANS2_DATA 3000 /* TRANS2 reply data bytes, sent in 3 fragments */

/* Client side helpers for the tests: a READ_ANDX request for len bytes at
 * off, and the check of its reply (every byte must be the pattern).
 * fake_read_check returns the data length, or -EBADMSG. */
int fake_read_request(struct msg_out *m, uint32_t off, uint16_t len);
int fake_read_check(const struct msg_in *in, uint32_t off);

#endif
