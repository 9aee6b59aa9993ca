/* Scripted SMB1 server for fault injection; see fake_smb.h. Test code: it
 * trusts its client more than src/ may trust a server, but still reads
 * requests through the bounds-checked reader. */
#include "fake_smb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <time.h>
#include <unistd.h>

#include "link/nbt.h"
#include "auth/ntlm.h"
#include "link/sign.h"
#include "wire/smb1_proto.h"
#include "wire/wire.h"

#define FAKE_UID   100
#define FAKE_MAX_Q 64

struct qframe {
    uint8_t *buf; /* with the 4-byte transport header */
    size_t len;
};

struct fake_server {
    struct fake_opts o;
    int lfd;
    pthread_t thr;
    pthread_mutex_t lock; /* protects stop, cfd, fault, delay, brk_*, st */
    bool stop;
    int cfd;
    enum fake_fault fault;
    int delay_ms;
    uint16_t brk_fid;
    uint8_t brk_level;
    uint32_t print_close;  /* status of a spool file's close */
    uint32_t write_status; /* status of a WRITE_ANDX to a file (0: written) */
    int write_delay_ms;    /* each WRITE_ANDX to a file answered this late */
    uint32_t read_max;     /* fake_set_read: most data a READ_ANDX answers (0: 4096) */
    uint64_t read_size;    /* ... and where the file ends (0: nowhere) */
    uint16_t next_fid;     /* NT_CREATE_ANDX */
    struct fake_stats st;
    unsigned conn_requests; /* requests on the first connection */
    /* Per connection; only the server thread touches these. */
    bool signing;
    struct sign_key key;
    uint32_t seq;
    uint8_t challenge[8];
    uint64_t nofile_tids; /* bit tid - 7: a printer or IPC$ tree (no files) */
    struct qframe q[FAKE_MAX_Q];
    unsigned nq;
};

struct reply {
    uint8_t buf[70000];
    struct wire_writer w;
    size_t wc_pos, bc_pos;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void r_begin(struct reply *rp, const uint8_t *req, uint8_t cmd, uint32_t status,
                    uint16_t tid, uint16_t uid, uint16_t mid, uint8_t flags)
{
    wire_writer_init(&rp->w, rp->buf, sizeof(rp->buf));
    wire_put_zeros(&rp->w, 4);
    wire_put_bytes(&rp->w, "\xffSMB", 4);
    wire_put_u8(&rp->w, cmd);
    wire_put_u32(&rp->w, status);
    wire_put_u8(&rp->w, flags);
    wire_put_u16(&rp->w, SMB1_FLAGS2_UNICODE | SMB1_FLAGS2_NT_STATUS | SMB1_FLAGS2_LONG_NAMES);
    wire_put_u16(&rp->w, req ? wire_le16(req + SMB1_HDR_PIDHIGH) : 0);
    wire_put_zeros(&rp->w, 8);
    wire_put_u16(&rp->w, 0);
    wire_put_u16(&rp->w, tid);
    wire_put_u16(&rp->w, req ? wire_le16(req + SMB1_HDR_PIDLOW) : 0xFFFF);
    wire_put_u16(&rp->w, uid);
    wire_put_u16(&rp->w, mid);
    rp->wc_pos = rp->w.pos;
    wire_put_u8(&rp->w, 0);
}

static void r_words_end(struct reply *rp)
{
    size_t n = rp->w.pos - rp->wc_pos - 1;
    rp->buf[rp->wc_pos] = (uint8_t)(n / 2);
    rp->bc_pos = rp->w.pos;
    wire_put_u16(&rp->w, 0);
}

static void r_bytes_end(struct reply *rp)
{
    size_t n = rp->w.pos - rp->bc_pos - 2;
    wire_st16(rp->buf + rp->bc_pos, (uint16_t)n);
}

static size_t r_off(const struct reply *rp)
{
    return rp->w.pos - 4;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static enum fake_fault take_fault(struct fake_server *fs, int *delay)
{
    pthread_mutex_lock(&fs->lock);
    enum fake_fault f = fs->fault;
    fs->fault = FAKE_NONE;
    *delay = fs->delay_ms;
    pthread_mutex_unlock(&fs->lock);
    return f;
}

/* Signs (with seq) and sends, applying fault. Returns -1 when the
 * connection must end. */
static int r_send(struct fake_server *fs, int fd, struct reply *rp, uint32_t seq,
                  enum fake_fault fault, int delay)
{
    if (fault == FAKE_DROP)
        return 0;
    size_t smb_len = rp->w.pos - 4;
    uint8_t *smb = rp->buf + 4;
    if (fault == FAKE_TRUNCATED) {
        /* ByteCount says 40 more bytes than there are. */
        uint16_t bc = wire_le16(rp->buf + rp->bc_pos);
        wire_st16(rp->buf + rp->bc_pos, (uint16_t)(bc + 40));
    }
    if (fs->signing && fault != FAKE_NO_SIGNATURE)
        sign_apply(&fs->key, smb, smb_len, seq);
    if (fault == FAKE_FLIP_BYTE)
        smb[smb_len - 1] ^= 0x5A;
    if (fault == FAKE_BAD_SIGNATURE)
        smb[SMB1_HDR_SIGNATURE + 3] ^= 0x01;
    nbt_put_header(rp->buf, smb_len);
    if (fault == FAKE_UNKNOWN_MID) {
        uint8_t *copy = malloc(smb_len + 4);
        memcpy(copy, rp->buf, smb_len + 4);
        wire_st16(copy + 4 + SMB1_HDR_MID, (uint16_t)(wire_le16(smb + SMB1_HDR_MID) + 1000));
        if (fs->signing)
            sign_apply(&fs->key, copy + 4, smb_len, seq);
        int w = write_all(fd, copy, smb_len + 4);
        free(copy);
        if (w)
            return -1;
    }
    if (fault == FAKE_OVERSIZED) {
        uint8_t hdr[4] = {0, 0xFF, 0xFF, 0xFF};
        write_all(fd, hdr, 4);
        return -1;
    }
    if (fault == FAKE_DISCONNECT_MID) {
        write_all(fd, rp->buf, (smb_len + 4) / 2);
        return -1;
    }
    if (fault == FAKE_LATE)
        sleep_ms(delay);
    if (fs->o.reorder > 1) {
        struct qframe *q = &fs->q[fs->nq++];
        q->len = smb_len + 4;
        q->buf = malloc(q->len);
        memcpy(q->buf, rp->buf, q->len);
        pthread_mutex_lock(&fs->lock);
        if (fs->nq > fs->st.max_outstanding)
            fs->st.max_outstanding = fs->nq;
        pthread_mutex_unlock(&fs->lock);
        return 0;
    }
    return write_all(fd, rp->buf, smb_len + 4);
}

static int flush_q(struct fake_server *fs, int fd)
{
    int r = 0;
    while (fs->nq) {
        struct qframe *q = &fs->q[--fs->nq];
        if (!r && write_all(fd, q->buf, q->len))
            r = -1;
        free(q->buf);
    }
    return r;
}

static void send_break(struct fake_server *fs, int fd, uint16_t tid)
{
    pthread_mutex_lock(&fs->lock);
    uint16_t fid = fs->brk_fid;
    uint8_t level = fs->brk_level;
    pthread_mutex_unlock(&fs->lock);
    struct reply rp;
    r_begin(&rp, NULL, SMB1_COM_LOCKING_ANDX, 0, tid, FAKE_UID, 0xFFFF, 0);
    wire_put_u8(&rp.w, SMB1_COM_NONE);
    wire_put_u8(&rp.w, 0);
    wire_put_u16(&rp.w, 0);
    wire_put_u16(&rp.w, fid);
    wire_put_u8(&rp.w, SMB1_LOCK_OPLOCK_RELEASE);
    wire_put_u8(&rp.w, level);
    wire_put_u32(&rp.w, 0);
    wire_put_u16(&rp.w, 0);
    wire_put_u16(&rp.w, 0);
    r_words_end(&rp);
    r_bytes_end(&rp);
    nbt_put_header(rp.buf, rp.w.pos - 4);
    write_all(fd, rp.buf, rp.w.pos);
}

/* UTF-16LE (ASCII only) at r into out. */
static void get_ascii16(struct wire_reader *r, char *out, size_t n)
{
    size_t k = 0;
    while (wire_remaining(r) >= 2) {
        uint16_t u = wire_u16(r);
        if (!u)
            break;
        if (k < n - 1)
            out[k++] = (char)u;
    }
    out[k] = 0;
}

static bool check_v2(struct fake_server *fs, const char *user, const char *domain,
                     const uint8_t *nt, size_t nt_len, uint8_t base_key[16])
{
    uint8_t h1[16], h2[16], proof[16];
    if (nt_len <= 16 || ntlm_ntowf_v1(fs->o.password, h1))
        return false;
    if (ntlm_ntowf_v2(h1, user, domain, h2))
        return false;
    uint8_t *msg = malloc(8 + nt_len - 16);
    memcpy(msg, fs->challenge, 8);
    memcpy(msg + 8, nt + 16, nt_len - 16);
    ntlm_hmac_md5(h2, 16, msg, 8 + nt_len - 16, proof);
    free(msg);
    if (memcmp(proof, nt, 16))
        return false;
    ntlm_hmac_md5(h2, 16, proof, 16, base_key);
    return true;
}

static int do_negotiate(struct fake_server *fs, int fd, const uint8_t *req, uint16_t mid)
{
    struct reply rp;
    ntlm_random(fs->challenge, 8);
    r_begin(&rp, req, SMB1_COM_NEGOTIATE, 0, 0, 0, mid, SMB1_FLAGS_REPLY);
    wire_put_u16(&rp.w, 0);
    uint8_t sm = SMB1_SECMODE_USER | (fs->o.plaintext ? 0 : SMB1_SECMODE_ENCRYPT_PASSWORDS);
    if (fs->o.sign_enabled || fs->o.sign_required)
        sm |= SMB1_SECMODE_SIGNATURES_ENABLED;
    if (fs->o.sign_required)
        sm |= SMB1_SECMODE_SIGNATURES_REQUIRED;
    wire_put_u8(&rp.w, sm);
    wire_put_u16(&rp.w, fs->o.max_mpx ? fs->o.max_mpx : 50);
    wire_put_u16(&rp.w, 1);
    wire_put_u32(&rp.w, 65535);
    wire_put_u32(&rp.w, 65536);
    wire_put_u32(&rp.w, 0x1234);
    wire_put_u32(&rp.w, SMB1_CAP_UNICODE | SMB1_CAP_LARGE_FILES | SMB1_CAP_NT_SMBS |
                            SMB1_CAP_STATUS32 | SMB1_CAP_LARGE_READX | SMB1_CAP_LARGE_WRITEX |
                            SMB1_CAP_NT_FIND);
    wire_put_u64(&rp.w, 0);
    wire_put_u16(&rp.w, 0);
    wire_put_u8(&rp.w, 8);
    r_words_end(&rp);
    wire_put_bytes(&rp.w, fs->challenge, 8);
    static const char dom[] = "FAKEDOM", srv[] = "FAKESRV";
    for (size_t i = 0; i < sizeof(dom); i++)
        wire_put_u16(&rp.w, (uint16_t)dom[i]);
    for (size_t i = 0; i < sizeof(srv); i++)
        wire_put_u16(&rp.w, (uint16_t)srv[i]);
    r_bytes_end(&rp);
    return r_send(fs, fd, &rp, 0, FAKE_NONE, 0);
}

static int do_session(struct fake_server *fs, int fd, const uint8_t *req, size_t len, uint16_t mid)
{
    struct wire_reader r;
    wire_reader_init(&r, req, len);
    wire_seek(&r, 32);
    uint8_t wct = wire_u8(&r);
    wire_skip(&r, 14);
    uint16_t lm_len = wire_u16(&r);
    uint16_t nt_len = wire_u16(&r);
    wire_skip(&r, 8);
    wire_skip(&r, 2); /* ByteCount */
    wire_skip(&r, lm_len);
    const uint8_t *nt = wire_bytes(&r, nt_len);
    if (r.pos & 1)
        wire_skip(&r, 1);
    char user[64], domain[64];
    get_ascii16(&r, user, sizeof(user));
    get_ascii16(&r, domain, sizeof(domain));
    uint32_t status = 0;
    uint16_t action = 0;
    uint8_t base[16];
    bool ok = false;
    if (!wire_ok(&r) || wct != 13) {
        status = 0xC000000Du;
    } else if (!user[0]) {
        action = SMB1_SETUP_GUEST;
    } else {
        const char *doms[3] = {domain, "", "FAKEDOM"};
        for (int i = 0; i < 3 && !ok; i++)
            ok = !strcmp(user, fs->o.user) && check_v2(fs, user, doms[i], nt, nt_len, base);
        if (!ok)
            status = 0xC000006Du;
    }
    uint16_t f2 = wire_le16(req + SMB1_HDR_FLAGS2);
    if (ok &&
        (fs->o.sign_required || (fs->o.sign_enabled && (f2 & SMB1_FLAGS2_SECURITY_SIGNATURE)))) {
        sign_key_init(&fs->key, base, 16, nt, nt_len);
        fs->signing = true;
        fs->seq = 2;
    }
    if (ok || action) {
        pthread_mutex_lock(&fs->lock);
        fs->st.logons++;
        pthread_mutex_unlock(&fs->lock);
    }
    struct reply rp;
    r_begin(&rp, req, SMB1_COM_SESSION_SETUP_ANDX, status, 0, FAKE_UID, mid, SMB1_FLAGS_REPLY);
    if (!status) {
        wire_put_u8(&rp.w, SMB1_COM_NONE);
        wire_put_u8(&rp.w, 0);
        wire_put_u16(&rp.w, 0);
        wire_put_u16(&rp.w, action);
    }
    r_words_end(&rp);
    r_bytes_end(&rp);
    return r_send(fs, fd, &rp, 1, FAKE_NONE, 0);
}

static int handle(struct fake_server *fs, int fd, uint8_t *req, size_t len)
{
    if (len < 35 || memcmp(req, "\xffSMB", 4))
        return -1;
    uint8_t cmd = req[SMB1_HDR_CMD];
    uint16_t mid = wire_le16(req + SMB1_HDR_MID);
    uint16_t tid = wire_le16(req + SMB1_HDR_TID);
    uint16_t f2 = wire_le16(req + SMB1_HDR_FLAGS2);
    pthread_mutex_lock(&fs->lock);
    fs->st.requests++;
    bool drop = fs->o.drop_at && fs->st.connections == 1 && ++fs->conn_requests == fs->o.drop_at;
    pthread_mutex_unlock(&fs->lock);
    if (drop)
        return -1;
    if (cmd == SMB1_COM_NEGOTIATE) {
        pthread_mutex_lock(&fs->lock);
        bool late = fs->fault == FAKE_LATE_NEGOTIATE;
        pthread_mutex_unlock(&fs->lock);
        int delay = 0;
        if (late && take_fault(fs, &delay) == FAKE_LATE_NEGOTIATE)
            sleep_ms(delay);
        return do_negotiate(fs, fd, req, mid);
    }
    if (cmd == SMB1_COM_SESSION_SETUP_ANDX)
        return do_session(fs, fd, req, len, mid);

    uint32_t rseq = 0;
    bool oneway = cmd == SMB1_COM_LOCKING_ANDX && req[32] == 8 && (req[33 + 6] & 0x02) &&
                  wire_le16(req + 33 + 12) == 0 && wire_le16(req + 33 + 14) == 0;
    if (fs->signing) {
        if (!(f2 & SMB1_FLAGS2_SECURITY_SIGNATURE) || !sign_verify(&fs->key, req, len, fs->seq)) {
            pthread_mutex_lock(&fs->lock);
            fs->st.bad_request_signatures++;
            pthread_mutex_unlock(&fs->lock);
            fprintf(stderr, "fake: request %s MID %u fails verification with seq %u\n",
                    cmd == SMB1_COM_ECHO ? "ECHO" : "?", mid, fs->seq);
        }
        rseq = fs->seq + 1;
        /* As smbd counts (smb1_srv_check_sign_mac): every request takes
         * two numbers, one-way or not; only NT_CANCEL takes one. */
        fs->seq += cmd == SMB1_COM_NT_CANCEL ? 1 : 2;
    }
    if (cmd == SMB1_COM_NT_CANCEL)
        return 0;
    if (oneway) {
        pthread_mutex_lock(&fs->lock);
        fs->st.oplock_acks++;
        pthread_mutex_unlock(&fs->lock);
        return 0;
    }
    struct wire_reader r;
    wire_reader_init(&r, req, len);
    wire_seek(&r, 32);
    uint8_t wct = wire_u8(&r);
    struct wire_reader words;
    wire_take(&r, (size_t)wct * 2, &words);
    uint16_t bcc = wire_u16(&r);
    struct wire_reader bytes;
    wire_take(&r, bcc, &bytes);
    if (!wire_ok(&r))
        return -1;

    int delay = 0;
    enum fake_fault fault = FAKE_NONE;
    if (cmd != SMB1_COM_TREE_CONNECT_ANDX && cmd != SMB1_COM_LOGOFF_ANDX &&
        cmd != SMB1_COM_TREE_DISCONNECT)
        fault = take_fault(fs, &delay);
    if (fault == FAKE_OPLOCK_BREAK) {
        send_break(fs, fd, tid);
        fault = FAKE_NONE;
    }
    struct reply rp;
    if (fault == FAKE_NETNAME_DELETED || fault == FAKE_SESSION_DELETED) {
        r_begin(&rp, req, cmd, fault == FAKE_NETNAME_DELETED ? 0xC00000C9u : 0xC0000203u, tid,
                FAKE_UID, mid, SMB1_FLAGS_REPLY);
        r_words_end(&rp);
        r_bytes_end(&rp);
        return r_send(fs, fd, &rp, rseq, FAKE_NONE, 0);
    }
    switch (cmd) {
    case SMB1_COM_TREE_CONNECT_ANDX: {
        wire_skip(&words, 6);
        uint16_t pwlen = wire_u16(&words);
        wire_skip(&bytes, pwlen);
        if ((32 + 1 + wct * 2 + 2 + bytes.pos) & 1)
            wire_skip(&bytes, 1);
        char path[256];
        get_ascii16(&bytes, path, sizeof(path));
        bool missing = strstr(path, "NOSHARE") != NULL;
        /* The fake has no named pipes: IPC$ opens nothing either. */
        bool printer = strstr(path, "PRINTER") != NULL;
        bool nofile = printer || strstr(path, "IPC$") != NULL;
        pthread_mutex_lock(&fs->lock);
        uint16_t ntid = (uint16_t)(7 + fs->st.tree_connects++);
        if (nofile && !missing && ntid - 7u < 64)
            fs->nofile_tids |= 1ull << (ntid - 7u);
        pthread_mutex_unlock(&fs->lock);
        r_begin(&rp, req, cmd, missing ? 0xC00000CCu : 0, missing ? 0 : ntid, FAKE_UID, mid,
                SMB1_FLAGS_REPLY);
        if (!missing) {
            wire_put_u8(&rp.w, SMB1_COM_NONE);
            wire_put_u8(&rp.w, 0);
            wire_put_u16(&rp.w, 0);
            wire_put_u16(&rp.w, 1);
        }
        r_words_end(&rp);
        if (!missing)
            wire_put_bytes(&rp.w, printer ? "LPT1:\0" : "A:\0", printer ? 6 : 3);
        r_bytes_end(&rp);
        break;
    }
    case SMB1_COM_ECHO: {
        r_begin(&rp, req, cmd, 0, tid, FAKE_UID, mid, SMB1_FLAGS_REPLY);
        wire_put_u16(&rp.w, 1);
        r_words_end(&rp);
        size_t n = wire_remaining(&bytes);
        wire_put_bytes(&rp.w, wire_bytes(&bytes, n), n);
        r_bytes_end(&rp);
        break;
    }
    case SMB1_COM_READ_ANDX: {
        wire_skip(&words, 6);
        uint32_t off = wire_u32(&words);
        uint32_t count = wire_u16(&words);
        wire_skip(&words, 2); /* MinCount */
        uint32_t high = wire_u32(&words);
        pthread_mutex_lock(&fs->lock);
        uint32_t max = fs->read_max ? fs->read_max : 4096;
        uint64_t end = fs->read_size;
        pthread_mutex_unlock(&fs->lock);
        if (max > 64000)
            max = 64000;
        if (max > 4096)
            count |= (high & 0xFFFF) << 16;
        if (count > max)
            count = max;
        if (end)
            count = off >= end ? 0 : (uint32_t)(end - off < count ? end - off : count);
        r_begin(&rp, req, cmd, 0, tid, FAKE_UID, mid, SMB1_FLAGS_REPLY);
        wire_put_u8(&rp.w, SMB1_COM_NONE);
        wire_put_u8(&rp.w, 0);
        wire_put_u16(&rp.w, 0);
        wire_put_u16(&rp.w, 0xFFFF);
        wire_put_u16(&rp.w, 0);
        wire_put_u16(&rp.w, 0);
        wire_put_u16(&rp.w, (uint16_t)count);
        wire_put_u16(&rp.w, 60);
        wire_put_u16(&rp.w, (uint16_t)(count >> 16));
        wire_put_zeros(&rp.w, 8);
        r_words_end(&rp);
        wire_put_u8(&rp.w, 0);
        for (uint32_t i = 0; i < count; i++)
            wire_put_u8(&rp.w, fake_pattern(off + i));
        r_bytes_end(&rp);
        break;
    }
    case SMB1_COM_TRANSACTION2: {
        /* Three fragments; the fault (if any) hits the last one. */
        for (int frag = 0; frag < 3; frag++) {
            r_begin(&rp, req, cmd, 0, tid, FAKE_UID, mid, SMB1_FLAGS_REPLY);
            uint16_t pcount = frag == 0 ? 2 : 0;
            wire_put_u16(&rp.w, 2);
            wire_put_u16(&rp.w, FAKE_TRANS2_DATA);
            wire_put_u16(&rp.w, 0);
            size_t pc_pos = rp.w.pos;
            wire_put_u16(&rp.w, pcount);
            wire_put_u16(&rp.w, 0); /* ParameterOffset, patched */
            wire_put_u16(&rp.w, 0);
            wire_put_u16(&rp.w, FAKE_TRANS2_DATA / 3);
            wire_put_u16(&rp.w, 0); /* DataOffset, patched */
            wire_put_u16(&rp.w, (uint16_t)(frag * (FAKE_TRANS2_DATA / 3)));
            wire_put_u8(&rp.w, 0);
            wire_put_u8(&rp.w, 0);
            r_words_end(&rp);
            wire_align(&rp.w, 4, 4);
            wire_patch_u16(&rp.w, pc_pos + 2, (uint16_t)r_off(&rp));
            if (pcount)
                wire_put_u16(&rp.w, 0x0102);
            wire_align(&rp.w, 4, 4);
            wire_patch_u16(&rp.w, pc_pos + 8, (uint16_t)r_off(&rp));
            for (int i = 0; i < FAKE_TRANS2_DATA / 3; i++)
                wire_put_u8(&rp.w, fake_pattern((uint64_t)(frag * (FAKE_TRANS2_DATA / 3) + i)));
            r_bytes_end(&rp);
            if (frag < 2 && r_send(fs, fd, &rp, rseq, FAKE_NONE, 0))
                return -1;
        }
        break;
    }
    case SMB1_COM_OPEN_PRINT_FILE: {
        pthread_mutex_lock(&fs->lock);
        uint16_t fid = (uint16_t)(0x4000 + fs->st.print_opens++);
        pthread_mutex_unlock(&fs->lock);
        r_begin(&rp, req, cmd, 0, tid, FAKE_UID, mid, SMB1_FLAGS_REPLY);
        wire_put_u16(&rp.w, fid);
        r_words_end(&rp);
        r_bytes_end(&rp);
        break;
    }
    case SMB1_COM_NT_CREATE_ANDX: {
        /* Any name opens: a file of size 0 (times 0, attributes NORMAL);
         * not on a printer (NOT_SUPPORTED, as Windows answers) nor IPC$. */
        pthread_mutex_lock(&fs->lock);
        bool nofile = tid - 7u < 64 && (fs->nofile_tids >> (tid - 7u)) & 1;
        pthread_mutex_unlock(&fs->lock);
        if (nofile) {
            r_begin(&rp, req, cmd, 0xC00000BBu, tid, FAKE_UID, mid, SMB1_FLAGS_REPLY);
            r_words_end(&rp);
            r_bytes_end(&rp);
            break;
        }
        pthread_mutex_lock(&fs->lock);
        uint16_t fid = (uint16_t)(0x100 + fs->next_fid++);
        pthread_mutex_unlock(&fs->lock);
        r_begin(&rp, req, cmd, 0, tid, FAKE_UID, mid, SMB1_FLAGS_REPLY);
        wire_put_u8(&rp.w, SMB1_COM_NONE);
        wire_put_u8(&rp.w, 0);
        wire_put_u16(&rp.w, 0);
        wire_put_u8(&rp.w, 0); /* OpLockLevel */
        wire_put_u16(&rp.w, fid);
        wire_put_u32(&rp.w, 2); /* CreateAction: created */
        for (int i = 0; i < 4; i++)
            wire_put_u64(&rp.w, 0); /* the four times */
        wire_put_u32(&rp.w, 0x80);  /* ExtFileAttributes: NORMAL */
        wire_put_u64(&rp.w, 0);     /* AllocationSize */
        wire_put_u64(&rp.w, 0);     /* EndOfFile */
        wire_put_u16(&rp.w, 0);     /* ResourceType: disk */
        wire_put_u16(&rp.w, 0);     /* NMPipeStatus */
        wire_put_u8(&rp.w, 0);      /* Directory */
        r_words_end(&rp);
        r_bytes_end(&rp);
        break;
    }
    case SMB1_COM_FLUSH:
        r_begin(&rp, req, cmd, 0, tid, FAKE_UID, mid, SMB1_FLAGS_REPLY);
        r_words_end(&rp);
        r_bytes_end(&rp);
        break;
    case SMB1_COM_WRITE_ANDX: {
        wire_skip(&words, 4); /* AndX */
        uint16_t wfid = wire_u16(&words);
        uint64_t woff = wire_u32(&words);
        wire_skip(&words, 8);
        uint32_t n = (uint32_t)wire_u16(&words) << 16;
        n |= wire_u16(&words);
        uint16_t doff = wire_u16(&words);
        if (wct >= 14)
            woff |= (uint64_t)wire_u32(&words) << 32;
        /* The data where DataOffset says, against fake_pattern. */
        uint64_t bad = 0;
        bool in = doff <= len && n <= len - doff;
        for (uint32_t i = 0; in && wfid < 0x4000 && i < n; i++)
            bad += req[doff + i] != fake_pattern(woff + i);
        pthread_mutex_lock(&fs->lock);
        uint32_t wst = wfid < 0x4000 ? fs->write_status : 0;
        int wdelay = wfid < 0x4000 ? fs->write_delay_ms : 0;
        if (wfid >= 0x4000) {
            fs->st.print_bytes += n;
        } else {
            fs->st.file_writes++;
            fs->st.file_write_bytes += n;
            fs->st.file_write_bad += in ? bad : n;
        }
        pthread_mutex_unlock(&fs->lock);
        if (wdelay > 0)
            nanosleep(&(struct timespec){wdelay / 1000, (wdelay % 1000) * 1000000L}, NULL);
        r_begin(&rp, req, cmd, wst, tid, FAKE_UID, mid, SMB1_FLAGS_REPLY);
        if (wst) {
            r_words_end(&rp);
            r_bytes_end(&rp);
            break;
        }
        wire_put_u8(&rp.w, SMB1_COM_NONE);
        wire_put_u8(&rp.w, 0);
        wire_put_u16(&rp.w, 0);
        wire_put_u16(&rp.w, (uint16_t)n);
        wire_put_u16(&rp.w, 0xFFFF);
        wire_put_u16(&rp.w, (uint16_t)(n >> 16));
        wire_put_u16(&rp.w, 0);
        r_words_end(&rp);
        r_bytes_end(&rp);
        break;
    }
    case SMB1_COM_CLOSE:
    case SMB1_COM_CLOSE_PRINT_FILE: {
        /* Only a spool file's close is a job (and may fail). */
        bool spool = wire_u16(&words) >= 0x4000;
        pthread_mutex_lock(&fs->lock);
        uint32_t st = spool ? fs->print_close : 0;
        if (spool && !st)
            fs->st.print_jobs++;
        pthread_mutex_unlock(&fs->lock);
        r_begin(&rp, req, cmd, st, tid, FAKE_UID, mid, SMB1_FLAGS_REPLY);
        r_words_end(&rp);
        r_bytes_end(&rp);
        break;
    }
    case SMB1_COM_TREE_DISCONNECT:
    case SMB1_COM_LOGOFF_ANDX:
        r_begin(&rp, req, cmd, 0, tid, FAKE_UID, mid, SMB1_FLAGS_REPLY);
        if (cmd == SMB1_COM_LOGOFF_ANDX) {
            wire_put_u8(&rp.w, SMB1_COM_NONE);
            wire_put_u8(&rp.w, 0);
            wire_put_u16(&rp.w, 0);
        }
        r_words_end(&rp);
        r_bytes_end(&rp);
        break;
    default:
        r_begin(&rp, req, cmd, 0xC00000BBu, tid, FAKE_UID, mid, SMB1_FLAGS_REPLY);
        r_words_end(&rp);
        r_bytes_end(&rp);
        break;
    }
    return r_send(fs, fd, &rp, rseq, fault, delay);
}

static void serve(struct fake_server *fs, int fd)
{
    fs->signing = false;
    fs->seq = 0;
    fs->nofile_tids = 0;
    fs->nq = 0;
    for (;;) {
        if (fs->o.reorder > 1 && fs->nq) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int k = poll(&p, 1, 30);
            if (k == 0 || fs->nq >= fs->o.reorder) {
                if (flush_q(fs, fd))
                    break;
                continue;
            }
        }
        uint8_t *buf = NULL;
        size_t len = 0;
        const char *why = NULL;
        if (nbt_read_frame(fd, 0x20000, &buf, &len, &why))
            break;
        int r = handle(fs, fd, buf, len);
        free(buf);
        if (r)
            break;
    }
    flush_q(fs, fd);
    sign_key_wipe(&fs->key);
}

static void *fake_main(void *arg)
{
    struct fake_server *fs = arg;
    for (;;) {
        int fd = accept(fs->lfd, NULL, NULL);
        pthread_mutex_lock(&fs->lock);
        bool stop = fs->stop;
        if (fd >= 0 && !stop) {
            fs->cfd = fd;
            fs->st.connections++;
        }
        pthread_mutex_unlock(&fs->lock);
        if (stop) {
            if (fd >= 0)
                close(fd);
            break;
        }
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break;
        }
        serve(fs, fd);
        pthread_mutex_lock(&fs->lock);
        fs->cfd = -1;
        pthread_mutex_unlock(&fs->lock);
        close(fd);
    }
    return NULL;
}

struct fake_server *fake_start(const struct fake_opts *o, uint16_t *port)
{
    struct fake_server *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return NULL;
    fs->o = *o;
    if (fs->o.reorder > FAKE_MAX_Q)
        fs->o.reorder = FAKE_MAX_Q;
    fs->cfd = -1;
    pthread_mutex_init(&fs->lock, NULL);
    fs->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    if (fs->lfd < 0 || bind(fs->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(fs->lfd, 8) ||
        getsockname(fs->lfd, (struct sockaddr *)&a, &al)) {
        if (fs->lfd >= 0)
            close(fs->lfd);
        free(fs);
        return NULL;
    }
    *port = ntohs(a.sin_port);
    if (pthread_create(&fs->thr, NULL, fake_main, fs)) {
        close(fs->lfd);
        free(fs);
        return NULL;
    }
    return fs;
}

void fake_stop(struct fake_server *fs)
{
    if (!fs)
        return;
    pthread_mutex_lock(&fs->lock);
    fs->stop = true;
    if (fs->cfd >= 0)
        shutdown(fs->cfd, SHUT_RDWR);
    pthread_mutex_unlock(&fs->lock);
    shutdown(fs->lfd, SHUT_RDWR);
    pthread_join(fs->thr, NULL);
    close(fs->lfd);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
}

void fake_inject(struct fake_server *fs, enum fake_fault f, int delay_ms)
{
    pthread_mutex_lock(&fs->lock);
    fs->fault = f;
    fs->delay_ms = delay_ms;
    pthread_mutex_unlock(&fs->lock);
}

struct smb1_config fake_client_config(uint16_t port, struct smb1_log *lg)
{
    struct smb1_config c = {0};
    c.host = "127.0.0.1";
    c.port = port;
    c.transport = SMB1_TRANSPORT_DIRECT;
    c.user = "alice";
    c.domain = "WORKGROUP";
    c.password = "s3cret pass";
    c.sec = SMB1_SEC_NTLMV2;
    c.log = lg;
    return c;
}

void fake_set_write(struct fake_server *fs, uint32_t status, int delay_ms)
{
    pthread_mutex_lock(&fs->lock);
    fs->write_status = status;
    fs->write_delay_ms = delay_ms;
    pthread_mutex_unlock(&fs->lock);
}

void fake_set_read(struct fake_server *fs, uint32_t max, uint64_t size)
{
    pthread_mutex_lock(&fs->lock);
    fs->read_max = max;
    fs->read_size = size;
    pthread_mutex_unlock(&fs->lock);
}

void fake_set_break(struct fake_server *fs, uint16_t fid, uint8_t level)
{
    pthread_mutex_lock(&fs->lock);
    fs->brk_fid = fid;
    fs->brk_level = level;
    pthread_mutex_unlock(&fs->lock);
}

struct fake_opts fake_signed_opts(void)
{
    struct fake_opts o = {.user = "alice",
                          .domain = "WORKGROUP",
                          .password = "s3cret pass",
                          .sign_enabled = true,
                          .sign_required = true};
    return o;
}

void fake_set_print_close(struct fake_server *fs, uint32_t status)
{
    pthread_mutex_lock(&fs->lock);
    fs->print_close = status;
    pthread_mutex_unlock(&fs->lock);
}

void fake_get_stats(struct fake_server *fs, struct fake_stats *st)
{
    pthread_mutex_lock(&fs->lock);
    *st = fs->st;
    pthread_mutex_unlock(&fs->lock);
}

int fake_read_request(struct msg_out *m, uint32_t off, uint16_t len)
{
    int r = msg_out_init(m, SMB1_COM_READ_ANDX, 128);
    if (r)
        return r;
    msg_words_begin(m);
    wire_put_u8(&m->w, SMB1_COM_NONE);
    wire_put_u8(&m->w, 0);
    wire_put_u16(&m->w, 0);
    wire_put_u16(&m->w, 1);
    wire_put_u32(&m->w, off);
    wire_put_u16(&m->w, len);
    wire_put_u16(&m->w, len);
    wire_put_u32(&m->w, 0);
    wire_put_u16(&m->w, 0);
    wire_put_u32(&m->w, 0);
    msg_words_end(m);
    msg_bytes_begin(m);
    msg_bytes_end(m);
    return 0;
}

int fake_read_check(const struct msg_in *in, uint32_t off)
{
    struct wire_reader w, smb, data;
    msg_in_words(in, &w);
    wire_skip(&w, 10);
    uint16_t dlen = wire_u16(&w);
    uint16_t doff = wire_u16(&w);
    msg_in_smb(in, &smb);
    wire_sub(&smb, doff, dlen, &data);
    if (in->status || !wire_ok(&w) || !wire_ok(&data))
        return -EBADMSG;
    for (uint16_t i = 0; i < dlen; i++)
        if (wire_u8(&data) != fake_pattern(off + i))
            return -EBADMSG;
    return dlen;
}
