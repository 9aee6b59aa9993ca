#!/usr/bin/env python3
"""A loopback TCP proxy for SMB1 tests (direct TCP or NetBIOS framing).

    smb_proxy.py LISTEN_PORT TARGET_PORT [--record FILE] [--break-mac N]
                 [--tamper-read FLAG] [--port-file FILE]

LISTEN_PORT 0 lets the kernel choose; the port is then written to
--port-file (and to stdout) once the proxy listens.

--record FILE   appends one line per SMB frame, "C2S hex" or "S2C hex"
                (the frame without its 4-byte transport header), in the
                order the proxy forwarded them.
--break-mac N   flips one bit of the 8-byte signature field of the Nth
                reply (counting from 1 over all connections) that carries
                the signature flag and a MAC (not zeros, not Samba's
                "BSRSPYL " placeholder): the MAC on the
                wire no longer matches the message, everything else does.
--tamper-read FLAG  while the file FLAG exists, flips a bit in the data of
                READ_ANDX replies longer than 1 KiB: of every one when FLAG
                is empty, else only of the Nth one (N = its content)
                counted since FLAG appeared.
"""
import argparse
import os
import socket
import sys
import threading

FLAGS2_SIGNATURE = 0x0004
SIG_OFF = 14  # offset of the signature field in the SMB header
SMB_COM_READ_ANDX = 0x2E


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


class Proxy:
    def __init__(self, record, break_mac, tamper_read):
        self.lock = threading.Lock()
        self.record = open(record, "a") if record else None
        self.break_mac = break_mac
        self.signed_replies = 0
        self.tamper_flag = tamper_read
        self.reads_seen = 0

    def tamper_read(self, body):
        try:
            with open(self.tamper_flag) as f:
                only = f.read().strip()
        except OSError:
            with self.lock:
                self.reads_seen = 0
            return body
        if len(body) <= 1024 or body[:4] != b"\xffSMB" or body[4] != SMB_COM_READ_ANDX:
            return body
        with self.lock:
            self.reads_seen += 1
            hit = not only or self.reads_seen == int(only)
        if hit:
            body = bytearray(body)
            body[-7] ^= 0x20  # inside the file data at the end of the reply
            body = bytes(body)
        return body

    def log(self, direction, body):
        if self.record and body[:4] == b"\xffSMB":
            with self.lock:
                self.record.write(f"{direction} {body.hex()}\n")
                self.record.flush()

    def tamper(self, body):
        if not self.break_mac or body[:4] != b"\xffSMB" or len(body) < 32:
            return body
        flags2 = body[10] | (body[11] << 8)
        sig = body[SIG_OFF:SIG_OFF + 8]
        if not (flags2 & FLAGS2_SIGNATURE) or sig in (bytes(8), b"BSRSPYL "):
            return body
        with self.lock:
            self.signed_replies += 1
            hit = self.signed_replies == self.break_mac
        if hit:
            body = bytearray(body)
            body[SIG_OFF + 3] ^= 0x01
            body = bytes(body)
        return body

    def pump(self, src, dst, direction):
        try:
            while True:
                hdr = recv_exact(src, 4)
                if hdr[0] != 0:  # NetBIOS session request/response/keepalive
                    n = ((hdr[1] & 1) << 16) | (hdr[2] << 8) | hdr[3]
                    dst.sendall(hdr + recv_exact(src, n))
                    continue
                n = (hdr[1] << 16) | (hdr[2] << 8) | hdr[3]
                body = recv_exact(src, n)
                if direction == "S2C":
                    body = self.tamper(body)
                    if self.tamper_flag:
                        body = self.tamper_read(body)
                self.log(direction, body)
                dst.sendall(hdr + body)
        except (OSError, EOFError):
            pass
        for x in (src, dst):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("listen_port", type=int)
    ap.add_argument("target_port", type=int)
    ap.add_argument("--record")
    ap.add_argument("--break-mac", type=int, default=0)
    ap.add_argument("--tamper-read")
    ap.add_argument("--port-file")
    a = ap.parse_args()
    p = Proxy(a.record, a.break_mac, a.tamper_read)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.listen_port))
    ls.listen(16)
    port = ls.getsockname()[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.rename(a.port_file + ".tmp", a.port_file)
    print(port, flush=True)
    while True:
        c, _ = ls.accept()
        try:
            s = socket.create_connection(("127.0.0.1", a.target_port))
        except OSError:
            c.close()
            continue
        threading.Thread(target=p.pump, args=(c, s, "C2S"), daemon=True).start()
        threading.Thread(target=p.pump, args=(s, c, "S2C"), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
