/* Reporting to a connection's observer (smb1.h, struct smb1_observer):
 * the frames the dispatcher sends and receives and the MAC checks. Every
 * function takes the observer pointer, which is NULL when nobody watches:
 * then nothing is done beyond that test (obs_verify is sign_verify). */
#ifndef SMBFUSE_OBS_H
#define SMBFUSE_OBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link/sign.h"
#include "smb1.h"

/* A frame about to be written to the socket (smb as it goes out, signed
 * when signing; called under the send lock, so in wire order, and before
 * the write, so before its reply can be reported): with the number it
 * was signed with and how far the counter moved. */
void obs_sent(const struct smb1_observer *o, const uint8_t *smb, size_t len, bool signing,
              uint32_t seq, uint32_t step);
/* A frame read from the socket, before anything else looks at it. */
void obs_received(const struct smb1_observer *o, const uint8_t *smb, size_t len);
/* sign_verify(k, smb, len, seq), reported (with the MAC computed) when o
 * is set; a reply without the signature flag is reported UNSIGNED and
 * fails. batched: checked by the reader in a batch. */
bool obs_verify(const struct smb1_observer *o, const struct sign_key *k, const uint8_t *smb,
                size_t len, uint32_t seq, bool batched);
/* A MAC already computed elsewhere (sign_verify_many), reported. */
void obs_checked(const struct smb1_observer *o, const uint8_t *smb, size_t len, uint32_t seq,
                 const uint8_t mac[8], bool ok, bool batched);

#endif
