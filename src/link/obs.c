/* See obs.h. */
#include "link/obs.h"

#include <string.h>

#include "wire/smb1_proto.h"
#include "wire/wire.h"

static void frame_fields(struct smb1_obs_frame *f, const uint8_t *smb, size_t len)
{
    f->smb = smb;
    f->len = len;
    if (len >= SMB1_HDR_LEN) {
        f->cmd = smb[4];
        f->mid = wire_le16(smb + SMB1_HDR_MID);
    }
}

void obs_sent(const struct smb1_observer *o, const uint8_t *smb, size_t len, bool signing,
              uint32_t seq, uint32_t step)
{
    if (!o || !o->frame)
        return;
    struct smb1_obs_frame f = {.sent = true, .signing = signing, .seq = seq, .step = step};
    frame_fields(&f, smb, len);
    o->frame(o->arg, &f);
}

void obs_received(const struct smb1_observer *o, const uint8_t *smb, size_t len)
{
    if (!o || !o->frame)
        return;
    struct smb1_obs_frame f = {.sent = false};
    frame_fields(&f, smb, len);
    o->frame(o->arg, &f);
}

void obs_checked(const struct smb1_observer *o, const uint8_t *smb, size_t len, uint32_t seq,
                 const uint8_t mac[8], bool ok, bool batched)
{
    if (!o || !o->mac || len < SMB1_HDR_LEN)
        return;
    struct smb1_obs_mac m = {
        .cmd = smb[4], .mid = wire_le16(smb + SMB1_HDR_MID), .seq = seq, .batched = batched};
    memcpy(m.wire, smb + SMB1_HDR_SIGNATURE, 8);
    memcpy(m.computed, mac, 8);
    bool flagged = wire_le16(smb + SMB1_HDR_FLAGS2) & SMB1_FLAGS2_SECURITY_SIGNATURE;
    m.verdict = !flagged ? SMB1_MAC_UNSIGNED : ok ? SMB1_MAC_GOOD : SMB1_MAC_BAD;
    o->mac(o->arg, &m);
}

bool obs_verify(const struct smb1_observer *o, const struct sign_key *k, const uint8_t *smb,
                size_t len, uint32_t seq, bool batched)
{
    if (!o)
        return sign_verify(k, smb, len, seq);
    uint8_t mac[8];
    sign_mac(k, smb, len, seq, mac);
    /* The verdict is sign_verify's own; mac is only shown. */
    bool ok = sign_verify(k, smb, len, seq);
    obs_checked(o, smb, len, seq, mac, ok, batched);
    return ok;
}
