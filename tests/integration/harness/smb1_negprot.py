#!/usr/bin/python3
"""Sends one SMB1 NEGOTIATE offering only "NT LM 0.12" to 127.0.0.1:PORT
(direct TCP framing, MS-CIFS 2.2.4.52) and prints what the server chose:

    dialect=0 secmode=0x0f caps=0x8080e3fc signing=required unix=yes maxbuf=16644

secmode bit 0x04 = signatures enabled, 0x08 = signatures required;
caps bit 0x00800000 = CAP_UNIX. Exits non-zero on anything but a well
formed NT LM 0.12 reply. Used by the harness self-test to prove what a
profile offers, independently of any client's own policy."""
import socket
import struct
import sys


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise SystemExit("connection closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def main():
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    hdr = (b"\xffSMB" + bytes([0x72]) + b"\0" * 4 + bytes([0x18])
           + struct.pack("<H", 0xC853) + b"\0" * 12
           + struct.pack("<HHHH", 0, 0xFEFF, 0, 1))
    dialects = b"\x02NT LM 0.12\0"
    msg = hdr + bytes([0]) + struct.pack("<H", len(dialects)) + dialects
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(struct.pack(">I", len(msg)) + msg)
        n = struct.unpack(">I", recv_exact(s, 4))[0] & 0xFFFFFF
        r = recv_exact(s, n)
    if len(r) < 33 + 34 or r[:4] != b"\xffSMB" or r[4] != 0x72:
        raise SystemExit("not an SMB1 NEGOTIATE reply: " + r[:8].hex())
    wc = r[32]
    if wc != 17:
        raise SystemExit("WordCount %d, expected 17 (NT LM 0.12)" % wc)
    dialect, secmode, _maxmpx, _maxvcs, maxbuf = struct.unpack_from("<HBHHI", r, 33)
    caps = struct.unpack_from("<I", r, 33 + 2 + 1 + 2 + 2 + 4 + 4 + 4)[0]
    signing = "required" if secmode & 0x08 else "enabled" if secmode & 0x04 else "off"
    unix = "yes" if caps & 0x00800000 else "no"
    print("dialect=%d secmode=0x%02x caps=0x%08x signing=%s unix=%s maxbuf=%d"
          % (dialect, secmode, caps, signing, unix, maxbuf))


if __name__ == "__main__":
    main()
