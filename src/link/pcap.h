/* A pcap file of one connection's SMB frames (smbfuse -o pcap=FILE).
 *
 * Each SMB goes into the file as the network carried it: the 4-byte
 * NetBIOS / direct-TCP length header and the SMB, inside synthesised
 * Ethernet, IPv4 and TCP headers (client 10.0.0.1, server 10.0.0.2 on 445,
 * or 139 for NetBIOS), with TCP sequence numbers that run on per direction
 * and a three-way handshake first (each connection of a mount gets a
 * stream of its own, from another client port), so Wireshark and tshark
 * reassemble the
 * stream and decode it as SMB. An SMB larger than one IPv4 packet can hold
 * is split into several TCP segments, as a real stack would.
 *
 * Thread-safe: frames come from the sending threads and the reader.
 */
#ifndef SMBFUSE_PCAP_H
#define SMBFUSE_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCAP_DEFAULT_MAX (64u << 20)

struct pcap_writer;

/* Creates (truncates) path and writes the file header and the handshake.
 * max_bytes bounds the file (0: PCAP_DEFAULT_MAX): a frame that would
 * pass it is not written, nor any after it. netbios: port 139 instead of
 * 445. Returns NULL and *err (-errno of open/write, -ENOMEM). */
struct pcap_writer *pcap_open(const char *path, uint64_t max_bytes, bool netbios, int *err);
/* Records one SMB of len bytes, sent by the client (to_server) or
 * received. Returns 0, -EFBIG when the bound has been reached (the file
 * stays valid), or -errno of a failed write (the writer then stops). */
int pcap_write_smb(struct pcap_writer *p, bool to_server, const uint8_t *smb, size_t len);
/* Starts a new TCP stream (a reconnect): a FIN for the old one, then a
 * handshake from the next client port. Returns as pcap_write_smb. */
int pcap_new_stream(struct pcap_writer *p);
/* Bytes written so far, and whether the bound stopped the capture. */
uint64_t pcap_bytes(struct pcap_writer *p, bool *truncated);
/* Closes the file (NULL is fine). */
void pcap_close(struct pcap_writer *p);

#endif
