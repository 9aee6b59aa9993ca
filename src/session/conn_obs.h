/* The connection's observer (smb1.h, struct smb1_observer) and its pcap
 * capture: what the muxes report goes to both; what negotiate and session
 * setup decided goes to the user's observer as smb1_obs_session. */
#ifndef SMBFUSE_CONN_OBS_H
#define SMBFUSE_CONN_OBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link/sign.h"
#include "smb1.h"

struct smb1_conn;

/* Opens cfg->pcap_path (if set) and sets c->mux_obs when there is anything
 * to report to. Returns 0 or -errno with a reason in why (a capture file
 * that cannot be written). */
int conn_obs_init(struct smb1_conn *c, const struct smb1_config *cfg, char *why, size_t why_len);
/* Closes the capture and wipes a key still held. */
void conn_obs_free(struct smb1_conn *c);

/* session.c, while it establishes a session (one thread at a time: the
 * first connect, or a reconnect under reconnect_lock). */
void conn_obs_negotiated(struct smb1_conn *c, uint8_t security_mode, bool ext, bool sign,
                         bool sign_required, bool netbios, uint16_t port);
/* The MAC key signing starts with (before the final reply is checked). */
void conn_obs_key(struct smb1_conn *c, const struct sign_key *k);
void conn_obs_logged_on(struct smb1_conn *c, enum smb1_sec method, bool ntlmssp, bool key_exch,
                        bool guest, bool placeholder, bool signing_active);

#endif
