"""A man in the middle for the mount tests, on loopback in front of a
private smbd: every connection the client opens to LISTEN_PORT goes to
TARGET_PORT, frame by frame, and what it does to the frames is read from
MODE_FILE before each one (absent or empty: nothing).

Modes:
  downgrade        on the connections already open, alter the data of the
                   first large READ_ANDX reply (the signed client fails
                   closed and reconnects); on every connection opened after
                   that: clear the signing bits of the NEGOTIATE reply,
                   clear the signature bits of the client's SESSION_SETUP
                   requests (so the server does not start signing), and
                   alter the data of every large READ_ANDX reply.
  downgrade-nego   the same, but the SESSION_SETUP requests pass untouched
                   (the server signs when the client asks).
  break FID        before the next reply to the client, inject one forged
                   oplock break (LOCKING_ANDX, MID 0xFFFF, never signed)
                   for FID on that reply's TID, once per write of the mode.

  dataoffset       (unsigned connections) point DataOffset of every large
                   READ_ANDX reply into the SMB header.
  nohigh           (unsigned connections) clear MaxCountHigh in every
                   READ_ANDX request: the server then answers at most the
                   low 16 bits of the count, as a server that ignores
                   MaxCountHigh does.

What it did is appended to EVENTS_FILE, one word a line: flip, strip_nego,
strip_setup, inject, accept.
"""
import socket
import sys
import threading

LISTEN_PORT, TARGET_PORT = int(sys.argv[1]), int(sys.argv[2])
MODE_FILE, EVENTS_FILE = sys.argv[3], sys.argv[4]

SMB_COM_NEGOTIATE = 0x72
SMB_COM_SESSION_SETUP_ANDX = 0x73
SMB_COM_READ_ANDX = 0x2E
SMB_COM_LOCKING_ANDX = 0x24
FLAGS_REPLY = 0x80
FLAGS2_SECURITY_SIGNATURE = 0x0004
FLAGS2_SIGNATURE_REQUIRED = 0x0010
SECMODE_SIGNING = 0x04 | 0x08  # enabled, required (MS-CIFS 2.2.4.52.2)

lock = threading.Lock()
state = {"flipped": False, "conns": 0, "break_done": None}


def event(word):
    with lock:
        with open(EVENTS_FILE, "a") as f:
            f.write(word + "\n")


def mode():
    try:
        with open(MODE_FILE) as f:
            return f.read().split()
    except OSError:
        return []


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def frames(s):
    while True:
        hdr = recv_exact(s, 4)
        n = ((hdr[1] & 1) << 16) | (hdr[2] << 8) | hdr[3]
        yield hdr, bytearray(recv_exact(s, n))


def is_smb(body, cmd):
    return len(body) >= 33 and body[:4] == b"\xffSMB" and body[4] == cmd


def close_both(a, b):
    for x in (a, b):
        try:
            x.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def forged_break(tid, uid, fid):
    """An oplock break as a server sends it: a LOCKING_ANDX request with
    MID 0xFFFF, OPLOCK_RELEASE, new level 0, no signature."""
    hdr = bytearray(32)
    hdr[0:4] = b"\xffSMB"
    hdr[4] = SMB_COM_LOCKING_ANDX
    hdr[9] = 0x98 & ~FLAGS_REPLY  # case-insensitive, canonical names; not a reply
    hdr[10:12] = (0xC001).to_bytes(2, "little")  # NT status, long names, Unicode
    hdr[24:26] = tid.to_bytes(2, "little")
    hdr[26:28] = (0xFFFF).to_bytes(2, "little")  # PID
    hdr[28:30] = uid.to_bytes(2, "little")
    hdr[30:32] = (0xFFFF).to_bytes(2, "little")  # MID
    words = bytes([0xFF, 0, 0, 0]) + fid.to_bytes(2, "little") + bytes([0x02, 0])
    words += bytes(4) + bytes(2) + bytes(2)
    body = hdr + bytes([len(words) // 2]) + words + bytes(2)
    return len(body).to_bytes(4, "big") + body


def client_to_server(c, s, conn):
    try:
        for hdr, body in frames(c):
            m = mode()
            if (conn["attacked"] and m and m[0] == "downgrade"
                    and is_smb(body, SMB_COM_SESSION_SETUP_ANDX)):
                f2 = int.from_bytes(body[10:12], "little")
                f2 &= ~(FLAGS2_SECURITY_SIGNATURE | FLAGS2_SIGNATURE_REQUIRED)
                body[10:12] = f2.to_bytes(2, "little")
                event("strip_setup")
            if m and m[0] == "nohigh" and is_smb(body, SMB_COM_READ_ANDX) \
                    and body[32] in (10, 12) and body[33 + 14:33 + 18] != bytes(4):
                body[33 + 14:33 + 18] = bytes(4)
                event("nohigh")
            s.sendall(hdr + bytes(body))
    except (OSError, EOFError):
        pass
    close_both(c, s)


def server_to_client(s, c, conn):
    try:
        for hdr, body in frames(s):
            m = mode()
            downgrade = m and m[0] in ("downgrade", "downgrade-nego")
            if downgrade and conn["attacked"] and is_smb(body, SMB_COM_NEGOTIATE) \
                    and body[32] == 17:
                body[35] &= ~SECMODE_SIGNING & 0xFF
                event("strip_nego")
            if downgrade and is_smb(body, SMB_COM_READ_ANDX) and len(body) > 1024:
                flip = conn["attacked"]
                with lock:
                    if not flip and not state["flipped"]:
                        state["flipped"] = True
                        flip = True
                if flip:
                    body[-7] ^= 0x20  # inside the file data at the end of the reply
                    event("flip")
            if m and m[0] == "dataoffset" and is_smb(body, SMB_COM_READ_ANDX) \
                    and len(body) > 1024 and body[32] == 12:
                body[33 + 12:33 + 14] = (8).to_bytes(2, "little")
                event("dataoffset")
            if m and m[0] == "break" and len(body) >= 32:
                key = " ".join(m)
                with lock:
                    fire = state["break_done"] != key
                    state["break_done"] = key
                if fire:
                    tid = int.from_bytes(body[24:26], "little")
                    uid = int.from_bytes(body[28:30], "little")
                    c.sendall(forged_break(tid, uid, int(m[1], 0)))
                    event("inject")
            c.sendall(hdr + bytes(body))
    except (OSError, EOFError):
        pass
    close_both(c, s)


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", LISTEN_PORT))
ls.listen(16)
while True:
    c, _ = ls.accept()
    s = socket.create_connection(("127.0.0.1", TARGET_PORT))
    with lock:
        state["conns"] += 1
        # Opened after the first connection was made to fail: attack it.
        conn = {"attacked": state["flipped"]}
    event("accept")
    threading.Thread(target=client_to_server, args=(c, s, conn), daemon=True).start()
    threading.Thread(target=server_to_client, args=(s, c, conn), daemon=True).start()
