#include "session/nego.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/conn_int.h"
#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"
#include "wire/text.h"

/* Reads a NUL-terminated string (UTF-16LE when unicode, else OEM/ASCII)
 * from r into out; a missing string leaves out empty. */
void nego_read_string(struct wire_reader *r, bool unicode, char *out, size_t n)
{
    out[0] = 0;
    size_t start = r->pos, len = 0;
    size_t unit = unicode ? 2 : 1;
    while (wire_remaining(r) >= unit) {
        const uint8_t *p = wire_bytes(r, unit);
        if (p[0] == 0 && (unit == 1 || p[1] == 0))
            break;
        len += unit;
    }
    if (!len)
        return;
    if (unicode) {
        int err = 0;
        char *s = text_utf16_to_utf8(r->buf + start, len, &err);
        if (s) {
            snprintf(out, n, "%s", s);
            free(s);
        }
    } else {
        size_t k = len < n - 1 ? len : n - 1;
        memcpy(out, r->buf + start, k);
        out[k] = 0;
    }
}

int nego_decode(const struct msg_in *in, struct nego *ng, uint8_t **blob, size_t *blob_len,
                char *why, size_t why_len)
{
    int r = -EPROTONOSUPPORT;
    if (in->status != 0 || in->wct != 17) {
        conn_why(why, why_len, "the server refused the NT LM 0.12 dialect (%s, %u words)",
                 ntstatus_name(in->status), in->wct);
        return r;
    }
    struct wire_reader w, b;
    msg_in_words(in, &w);
    msg_in_bytes(in, &b);
    uint16_t idx = wire_u16(&w);
    ng->secmode = wire_u8(&w);
    ng->max_mpx = wire_u16(&w);
    wire_skip(&w, 2); /* MaxNumberVcs */
    ng->max_buffer = wire_u32(&w);
    wire_skip(&w, 4); /* MaxRawSize */
    ng->session_key = wire_u32(&w);
    ng->caps = wire_u32(&w);
    wire_skip(&w, 8); /* SystemTime */
    ng->tz = (int16_t)wire_u16(&w);
    uint8_t chal_len = wire_u8(&w);
    if (!wire_ok(&w) || idx != 0) {
        conn_why(why, why_len, "the server refused the NT LM 0.12 dialect");
        return r;
    }
    ng->ext = (ng->caps & SMB1_CAP_EXTENDED_SECURITY) != 0;
    ng->unicode = (ng->caps & SMB1_CAP_UNICODE) != 0;
    if (!(ng->secmode & SMB1_SECMODE_ENCRYPT_PASSWORDS)) {
        conn_why(why, why_len, "the server asks for plaintext passwords; refused");
        return r;
    }
    if (!(ng->secmode & SMB1_SECMODE_USER)) {
        conn_why(why, why_len, "the server uses share-level security; not supported");
        return r;
    }
    if (ng->ext) {
        wire_skip(&b, 16); /* ServerGUID */
        size_t n = wire_remaining(&b);
        const uint8_t *p = wire_bytes(&b, n);
        if (!wire_ok(&b)) {
            r = -EIO;
            conn_why(why, why_len, "malformed extended NEGOTIATE reply");
            return r;
        }
        *blob = NULL;
        *blob_len = n;
        if (n) {
            *blob = malloc(n);
            if (!*blob) {
                r = -ENOMEM;
                return r;
            }
            memcpy(*blob, p, n);
        }
    } else {
        if (chal_len != 8) {
            r = -EIO;
            conn_why(why, why_len, "NEGOTIATE reply has a %u-byte challenge", chal_len);
            return r;
        }
        wire_copy(&b, ng->challenge, 8);
        bool uni = (in->flags2 & SMB1_FLAGS2_UNICODE) || ng->unicode;
        nego_read_string(&b, uni, ng->domain, sizeof(ng->domain));
        nego_read_string(&b, uni, ng->server, sizeof(ng->server));
        if (!wire_ok(&b)) {
            r = -EIO;
            conn_why(why, why_len, "malformed NEGOTIATE reply");
            return r;
        }
    }
    return 0;
}

int nego_setup_blob(const struct msg_in *in, const uint8_t **p, size_t *n)
{
    struct wire_reader w, b;
    msg_in_words(in, &w);
    msg_in_bytes(in, &b);
    wire_skip(&w, 4);
    wire_skip(&w, 2); /* Action */
    uint16_t len = wire_u16(&w);
    *p = wire_bytes(&b, len);
    *n = len;
    return wire_ok(&w) && wire_ok(&b) ? 0 : -EIO;
}
