#!/usr/bin/env python3
"""A hostile SMB1 server for the liveness tests: a proxy in front of a real
(unsigned) smbd that misbehaves on demand.

    hostile_proxy.py LISTEN_PORT TARGET_PORT CTL_DIR

CTL_DIR/mode holds one word, read again for every frame, so one mount can
be driven through several behaviours:

    normal     forward everything
    silence    forward requests, never a reply (a server that hangs)
    refuse     close every connection (a server that is gone)
    stall      answer ECHO (and the session set-up), never anything else
               (a server that is alive but does not answer requests)
    wrongmid   replies after the session set-up carry MIDs never sent
    trickle    replies go out one byte every 50 ms
    slowdata   READ_ANDX replies of 8 KiB and more: the head (64 bytes)
               at once, then the data one byte every 50 ms (a server that
               stops in the middle of the data a client splices); events
               gets "slowdata" for each
    lietotal   TRANS2 replies announce 8 more data bytes than they send
    findloop   FIND_FIRST2 never ends the search, and FIND_NEXT2 is
               answered here with two pages of it in turn, for ever
    sessdel    every reply after TREE_CONNECT is USER_SESSION_DELETED
               (what smbd does when the share's path cannot be entered)
    findstuck  FIND_FIRST2 never ends the search; every FIND_NEXT2 is
               answered here with an empty page that does not end it
    findgrow   FIND_FIRST2 never ends the search; every FIND_NEXT2 is
               answered here with a page of 4 names never sent before
               (made from an entry of the directory named g0000001)
    findclosefail  findloop, and every FIND_CLOSE2 is refused here
    findclosesilent  findloop, and no FIND_CLOSE2 is ever answered
    finddrop   (once, then normal) FIND_FIRST2 does not end the search and
               the connection is dropped right after its reply: a
               FIND_NEXT2 may only come on that connection
    findreuse  (once, then normal) FIND_FIRST2 does not end the search; the
               connection is dropped when the next READ_ANDX comes (a
               listing that reads a file between its pages: mfsymlinks),
               and the READ_ANDX reply after that (on the new connection)
               is held back 400 ms; events gets "slowread" then
    zeroread   READ_ANDX replies carry no data (DataLength 0, status OK)
    zeroonce   (once, then normal) the same for one READ_ANDX reply
    failclose  a CLOSE goes to smbd (which closes the file), but its reply
               says STATUS_IO_DEVICE_ERROR (a CLOSE that fails)
    slowclose  (once, then normal) the next CLOSE reply is held back
               400 ms, the others flow meanwhile; events gets "closereply"
               when it goes out (and "rename" for every RENAME request)
    failowner  a SET_PATH_INFO or SET_FILE_INFO of FILE_UNIX_BASIC that
               changes the owner or the group is refused here with
               STATUS_ACCESS_DENIED, never reaching smbd (a server whose
               rights changed); events gets "failowner" for each
    failmode   the same for one of FILE_UNIX_BASIC that sets the mode;
               events gets "failmode" for each
    failtimes  a SET_PATH_INFO or SET_FILE_INFO of FILE_BASIC_INFO that
               sets the last-write time is refused here with
               STATUS_ACCESS_DENIED, never reaching smbd; events gets
               "failtimes" for each
    nolock     LOCKING_ANDX replies are dropped, everything else answered
               (a server hung on one kind of request)
    nowrite    the same for WRITE_ANDX (smbd writes, nothing says so)
    lostunlock LOCKING_ANDX replies are dropped (as nolock), and a
               LOCKING_ANDX that unlocks never reaches smbd (lost on the
               way): what a lock that got no answer may have locked stays
               locked
    late       every reply but those of NEGOTIATE, SESSION_SETUP,
               TREE_CONNECT and ECHO leaves CTL_DIR/late_ms (default 2400)
               after its request came: a server that answers each request
               just before the client's timeout (and a probe at once)

CTL_DIR/noposix, when present, clears CIFS_UNIX_POSIX_PATH_OPERATIONS_CAP
in the CIFS UNIX capabilities (QUERY_FS_INFO 0x200) of connections made
while it is there: a server with UNIX extensions but no POSIX open, where
a create takes several requests.

CTL_DIR/maxmpx, when present, holds the MaxMpxCount written into NEGOTIATE
replies (for connections negotiated while it is there).

CTL_DIR/events gets a line per accepted connection ("conn") and per
SESSION_SETUP request ("logon"), "close" per CLOSE request under late; "findclose N" per FIND_CLOSE2 of search
N, and "foreignsid N CMD" for a FIND_NEXT2 or FIND_CLOSE2 naming a search
ID that no FIND_FIRST2 reply on its connection gave (an ID sent on a
connection it does not belong to), or a FIND_NEXT2 whose resume name is
none that search gave (an ID of an old connection that the server gave
again on this one: smbd numbers each connection's searches from 1);
"sidreuse N" when a FIND_FIRST2 reply gives a search ID that an earlier
connection's also gave. Test code: it trusts its peers.
"""
import heapq
import os
import socket
import struct
import sys
import threading
import time

NEGOTIATE, SESSION_SETUP, TREE_CONNECT, ECHO = 0x72, 0x73, 0x75, 0x2B
LOGOFF, TREE_DISCONNECT, TRANS2, CLOSE, RENAME = 0x74, 0x71, 0x32, 0x04, 0x07
FIND_CLOSE2, READ_ANDX, LOCKING_ANDX, WRITE_ANDX = 0x34, 0x2E, 0x24, 0x2F
STATUS_INVALID_HANDLE = 0xC0000008
STATUS_ACCESS_DENIED = 0xC0000022
SET_PATH_INFO, SET_FILE_INFO, UNIX_BASIC = 0x06, 0x08, 0x200
BASIC_INFO, BASIC_INFO_PT = 0x101, 1004
FIND_MODES = ("findloop", "findstuck", "findgrow", "findclosefail", "findclosesilent",
              "finddrop", "findreuse")
FIND_FIRST2, FIND_NEXT2, QUERY_FS_INFO = 0x01, 0x02, 0x03
POSIX_PATH_OPERATIONS_CAP = 0x20
SETUP_CMDS = (NEGOTIATE, SESSION_SETUP, TREE_CONNECT)
USER_SESSION_DELETED = 0xC0000203
IO_DEVICE_ERROR = 0xC0000185

listen_port, target_port, ctl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
events_lock = threading.Lock()
earlier_sids = []  # each connection's set of search IDs given (under events_lock)
# findreuse (under events_lock): drop the connection at the next READ_ANDX
# request, then hold back the next READ_ANDX reply.
drop_read = [False]
slow_read = [False]


def take_flag(flag):
    with events_lock:
        was, flag[0] = flag[0], False
    return was


def mode():
    try:
        with open(os.path.join(ctl, "mode")) as f:
            return f.read().strip() or "normal"
    except OSError:
        return "normal"


def set_mode(m):
    with open(os.path.join(ctl, "mode.tmp"), "w") as f:
        f.write(m + "\n")
    os.rename(os.path.join(ctl, "mode.tmp"), os.path.join(ctl, "mode"))


def max_mpx():
    try:
        with open(os.path.join(ctl, "maxmpx")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def late_ms():
    try:
        with open(os.path.join(ctl, "late_ms")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 2400


def event(what):
    with events_lock:
        with open(os.path.join(ctl, "events"), "a") as f:
            f.write(what + "\n")


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def read_frame(s):
    hdr = recv_exact(s, 4)
    n = (hdr[1] << 16) | (hdr[2] << 8) | hdr[3]
    return hdr, bytearray(recv_exact(s, n))


def frame(body):
    n = len(body)
    return bytes([0, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF]) + bytes(body)


def u16(b, o):
    return struct.unpack_from("<H", b, o)[0]


def trans2_sub(body):
    """The subcommand of a TRANS2 request, or None."""
    if len(body) < 63 or body[4] != TRANS2 or body[32] < 15:
        return None
    return u16(body, 33 + 28)


def unix_basic_set(body, sub, need):
    """The offset of the FILE_UNIX_BASIC record a TRANS2 SET_PATH_INFO or
    SET_FILE_INFO request carries (its level after the FID in the latter),
    when it holds need bytes; else None."""
    poff, dcnt, doff = u16(body, 53), u16(body, 55), u16(body, 57)
    at = poff + (2 if sub == SET_FILE_INFO else 0)
    if at + 2 > len(body) or u16(body, at) != UNIX_BASIC or dcnt < need or \
            doff + need > len(body):
        return None
    return doff


def owner_change(body, sub):
    """Whether a TRANS2 SET_PATH_INFO/SET_FILE_INFO request sets the owner
    or the group (FILE_UNIX_BASIC's Uid, Gid other than NO_CHANGE)."""
    doff = unix_basic_set(body, sub, 56)
    if doff is None:
        return False
    uid, gid = struct.unpack_from("<QQ", body, doff + 40)
    return uid != 0xFFFFFFFFFFFFFFFF or gid != 0xFFFFFFFFFFFFFFFF


def mode_change(body, sub):
    """Whether a TRANS2 SET_PATH_INFO/SET_FILE_INFO request sets the mode
    (FILE_UNIX_BASIC's Permissions other than NO_CHANGE)."""
    doff = unix_basic_set(body, sub, 100)
    if doff is None:
        return False
    return struct.unpack_from("<Q", body, doff + 84)[0] != 0xFFFFFFFFFFFFFFFF


def times_change(body, sub):
    """Whether a TRANS2 SET_PATH_INFO/SET_FILE_INFO request sets the
    last-write time (FILE_BASIC_INFO's LastWriteTime other than 0)."""
    poff, dcnt, doff = u16(body, 53), u16(body, 55), u16(body, 57)
    at = poff + (2 if sub == SET_FILE_INFO else 0)
    if at + 2 > len(body) or u16(body, at) not in (BASIC_INFO, BASIC_INFO_PT) or dcnt < 36 or \
            doff + 36 > len(body):
        return False
    return struct.unpack_from("<Q", body, doff + 16)[0] not in (0, 0xFFFFFFFFFFFFFFFF)


def entries(data):
    """Offsets of the entries of a FIND data block (NextEntryOffset chain)."""
    offs, off = [], 0
    while off < len(data):
        offs.append(off)
        neo = struct.unpack_from("<I", data, off)[0]
        if neo == 0:
            break
        off += neo
    return offs


class Conn:
    def __init__(self, c, s):
        self.c, self.s = c, s
        self.send_lock = threading.Lock()
        self.subs = {}  # MID -> TRANS2 subcommand of requests in flight
        self.pages = None  # findloop: (flags2, [(count, data), (count, data)])
        self.turn = 0
        self.tree_connected = False
        self.sids = set()  # search IDs FIND_FIRST2 replies gave on this connection
        self.given = {}  # search ID -> the entry data its replies gave
        self.reply_sid = {}  # MID -> search ID of a FIND_FIRST2/NEXT2 reply under way
        self.grow = None  # findgrow: (flags2, template entry, name offset, encoding)
        self.grown = 0
        self.drop_after = False
        self.arrived = {}  # MID -> when its request came (late)
        self.due = []  # late: heap of (when, n, frame) to send
        self.due_n = 0
        self.due_cv = threading.Condition()
        self.sender = None

    def to_client(self, data, trickle=False, at_once=0):
        with self.send_lock:
            if not trickle:
                self.c.sendall(data)
                return
            self.c.sendall(data[:at_once])
            for i in range(at_once, len(data)):
                self.c.sendall(data[i:i + 1])
                time.sleep(0.05)

    def send_at(self, when, data):
        """late: data leaves at when (monotonic), in order of when, from a
        thread of its own, so replies due sooner (ECHO) are not held up."""
        with self.due_cv:
            heapq.heappush(self.due, (when, self.due_n, data))
            self.due_n += 1
            self.due_cv.notify()
            if self.sender is None:
                self.sender = threading.Thread(target=self.send_due, daemon=True)
                self.sender.start()

    def send_due(self):
        while True:
            with self.due_cv:
                while not self.due or self.due[0][0] > time.monotonic():
                    self.due_cv.wait(self.due[0][0] - time.monotonic() if self.due else None)
                _, _, data = heapq.heappop(self.due)
            try:
                self.to_client(data)
            except OSError:
                return

    def send_quietly(self, data):
        try:
            self.to_client(data)
        except OSError:
            pass

    def late_reply(self, data):
        try:
            self.to_client(data)
        except OSError:
            pass
        event("closereply")

    def close(self):
        for x in (self.c, self.s):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def grow_page(self):
        """A page of entries with names never sent before."""
        flags2, tmpl, at, enc = self.grow
        # Small pages: neither the cap on entries nor the one on round
        # trips is near when the bound of the listing is up.
        n = 4
        out = bytearray()
        for i in range(n):
            self.grown += 1
            e = bytearray(tmpl)
            name = ("g%07d" % (1000000 + self.grown)).encode(enc)
            e[at:at + len(name)] = name
            struct.pack_into("<I", e, 0, 0 if i == n - 1 else len(tmpl))
            out += e
        return flags2, n, bytes(out)

    def next_page_reply(self, req, m):
        """A FIND_NEXT2 reply to req: the next stored page (findloop), an
        empty one (findstuck) or one of new names (findgrow)."""
        if m == "findgrow":
            flags2, count, data = self.grow_page()
        elif m == "findstuck":
            flags2, count, data = self.pages[0], 0, b""
        else:
            flags2, pages = self.pages
            count, data = pages[self.turn % 2]
            self.turn += 1
        params = struct.pack("<HHHH", count, 0, 0, 0)
        poff = 56
        doff = 64
        words = struct.pack("<HHHHHHHHHBB", len(params), len(data), 0, len(params), poff, 0,
                            len(data), doff, 0, 0, 0)
        hdr = bytearray(req[:32])
        struct.pack_into("<I", hdr, 5, 0)
        hdr[9] |= 0x80
        struct.pack_into("<H", hdr, 10, flags2)
        body = hdr + bytes([10]) + words
        tail = b"\0" * (poff - (len(body) + 2)) + params + b"\0" * (doff - poff - len(params)) + data
        return body + struct.pack("<H", len(tail)) + tail

    def client_to_server(self):
        try:
            while True:
                hdr, body = read_frame(self.c)
                m = mode()
                if m == "refuse":
                    break
                if len(body) >= 32 and body[:4] == b"\xffSMB":
                    if body[4] == SESSION_SETUP:
                        event("logon")
                    if body[4] == RENAME:
                        event("rename")
                    if body[4] == CLOSE and m == "late":
                        event("close")
                    sub = trans2_sub(body)
                    mid = u16(body, 30)
                    self.arrived[mid] = time.monotonic()
                    if sub is not None:
                        self.subs[mid] = sub
                    if body[4] == READ_ANDX and take_flag(drop_read):
                        with events_lock:
                            slow_read[0] = True
                        break
                    if sub == FIND_NEXT2:
                        poff, pcnt = u16(body, 53), u16(body, 51)
                        sid = u16(body, poff)
                        self.reply_sid[mid] = sid
                        self.check_sid(sid, "FIND_NEXT2")
                        self.check_resume(sid, bytes(body[poff + 12:poff + pcnt]))
                    if body[4] == FIND_CLOSE2 and body[32] >= 1:
                        sid = u16(body, 33)
                        event("findclose %d" % sid)
                        self.check_sid(sid, "FIND_CLOSE2")
                        if m == "findclosefail":
                            self.to_client(frame(self.error_reply(body, STATUS_INVALID_HANDLE)))
                            continue
                        if m == "findclosesilent":
                            continue
                    if m == "lostunlock" and body[4] == LOCKING_ANDX and body[32] >= 8 and \
                            u16(body, 45) > 0:
                        continue
                    if m == "failowner" and sub in (SET_PATH_INFO, SET_FILE_INFO) and \
                            owner_change(body, sub):
                        event("failowner")
                        self.to_client(frame(self.error_reply(body, STATUS_ACCESS_DENIED)))
                        continue
                    if m == "failmode" and sub in (SET_PATH_INFO, SET_FILE_INFO) and \
                            mode_change(body, sub):
                        event("failmode")
                        self.to_client(frame(self.error_reply(body, STATUS_ACCESS_DENIED)))
                        continue
                    if m == "failtimes" and sub in (SET_PATH_INFO, SET_FILE_INFO) and \
                            times_change(body, sub):
                        event("failtimes")
                        self.to_client(frame(self.error_reply(body, STATUS_ACCESS_DENIED)))
                        continue
                    if (m in FIND_MODES and sub == FIND_NEXT2 and self.pages and
                            (m != "findgrow" or self.grow)):
                        out = self.next_page_reply(body, m)
                        self.note_given(u16(body, u16(body, 53)), out[64:])
                        self.to_client(frame(out))
                        continue
                self.s.sendall(hdr + bytes(body))
        except (OSError, EOFError):
            pass
        self.close()

    def check_sid(self, sid, what):
        if sid not in self.sids:
            event("foreignsid %d %s" % (sid, what))

    def check_resume(self, sid, name):
        """A FIND_NEXT2 continues from a name its search gave."""
        name = name.rstrip(b"\0")
        if sid in self.sids and name and name not in self.given.get(sid, b""):
            event("foreignsid %d FIND_NEXT2 (resume name not of this search)" % sid)

    def note_given(self, sid, data):
        self.given[sid] = self.given.get(sid, b"") + bytes(data)

    @staticmethod
    def error_reply(req, status):
        out = bytearray(req[:32])
        struct.pack_into("<I", out, 5, status)
        out[9] |= 0x80
        return out + b"\0\0\0"

    def find_first(self, body, m):
        """A FIND_FIRST2 reply: remember its search ID; under the find
        modes, keep its entries as pages and clear EndOfSearch."""
        poff, doff, dcnt = u16(body, 41), u16(body, 47), u16(body, 45)
        sid = u16(body, poff)
        self.sids.add(sid)
        with events_lock:
            reused = any(sid in o for o in earlier_sids if o is not self.sids)
            if not any(o is self.sids for o in earlier_sids):
                earlier_sids.append(self.sids)
        if reused:
            event("sidreuse %d" % sid)
        if m not in FIND_MODES:
            return
        data = bytes(body[doff:doff + dcnt])
        offs = entries(data)
        if len(offs) < 2:
            return
        k = len(offs) // 2
        self.pages = (u16(body, 10), [(k, data[:offs[k]]), (len(offs) - k, data[offs[k]:])])
        if m == "findgrow":
            for i, o in enumerate(offs):
                end = offs[i + 1] if i + 1 < len(offs) else len(data)
                e = data[o:end]
                for enc in ("utf-16-le", "ascii"):
                    at = e.find("g0000001".encode(enc))
                    if at > 0 and i + 1 < len(offs):
                        self.grow = (u16(body, 10), e, at, enc)
            if not self.grow:
                return
        struct.pack_into("<H", body, poff + 4, 0)  # EndOfSearch
        if m == "finddrop":
            set_mode("normal")
            self.drop_after = True
        if m == "findreuse":
            set_mode("normal")
            with events_lock:
                drop_read[0] = True

    def alter(self, body, m):
        """The reply to send for body under mode m, or None to drop it."""
        cmd = body[4]
        mid = u16(body, 30)
        sub = self.subs.get(mid) if cmd == TRANS2 else None
        if sub is not None and body[32] == 10:
            # The last fragment of the reply: its MID is done.
            tp, td, pc, pd, dc, dd = (u16(body, 33), u16(body, 35), u16(body, 39), u16(body, 43),
                                      u16(body, 45), u16(body, 49))
            first = pd == 0 and dd == 0
            if pd + pc >= tp and dd + dc >= td:
                self.subs.pop(mid, None)
            if sub == FIND_FIRST2 and pc >= 2 and first:
                self.reply_sid[mid] = u16(body, u16(body, 41))
            if sub in (FIND_FIRST2, FIND_NEXT2) and mid in self.reply_sid:
                self.note_given(self.reply_sid[mid], body[u16(body, 47):u16(body, 47) + dc])
                if mid not in self.subs:
                    del self.reply_sid[mid]
            if not first:
                sub = None  # the rest of a reply already seen
        elif cmd == TRANS2:
            self.subs.pop(mid, None)
        if cmd == TREE_CONNECT:
            self.tree_connected = True
        if m == "silence":
            return None
        if m == "stall" and cmd not in SETUP_CMDS + (ECHO,):
            return None
        if m in ("nolock", "lostunlock") and cmd == LOCKING_ANDX:
            return None
        if m == "nowrite" and cmd == WRITE_ANDX:
            return None
        if m == "wrongmid" and cmd not in SETUP_CMDS and mid != 0xFFFF:
            nm = (mid + 0x8000) & 0xFFFF
            struct.pack_into("<H", body, 30, 0x7FFF if nm == 0xFFFF else nm)
        if m == "sessdel" and cmd not in SETUP_CMDS + (ECHO, LOGOFF, TREE_DISCONNECT):
            out = bytearray(body[:32])
            struct.pack_into("<I", out, 5, USER_SESSION_DELETED)
            return out + b"\0\0\0"
        if m == "failclose" and cmd == CLOSE:
            out = bytearray(body[:32])
            struct.pack_into("<I", out, 5, IO_DEVICE_ERROR)
            return out + b"\0\0\0"
        if cmd == NEGOTIATE and body[32] == 17 and max_mpx() is not None:
            struct.pack_into("<H", body, 36, max_mpx())
        if m in ("zeroread", "zeroonce") and cmd == READ_ANDX and body[32] == 12 and \
                struct.unpack_from("<I", body, 5)[0] == 0:
            # DataLength (and its high part) 0, no bytes.
            struct.pack_into("<H", body, 33 + 10, 0)
            struct.pack_into("<H", body, 33 + 14, 0)
            struct.pack_into("<H", body, 33 + 12, 32 + 1 + 24 + 2)  # DataOffset
            if m == "zeroonce":
                set_mode("normal")
            return body[:33 + 24] + b"\0\0"
        if cmd == TRANS2 and body[32] == 10 and struct.unpack_from("<I", body, 5)[0] == 0:
            if m == "lietotal":
                struct.pack_into("<H", body, 35, u16(body, 35) + 8)
            if sub == FIND_FIRST2:
                self.find_first(body, m)
            if sub == QUERY_FS_INFO and os.path.exists(os.path.join(ctl, "noposix")):
                doff, dcnt = u16(body, 47), u16(body, 45)
                if dcnt == 12 and doff + 12 <= len(body):  # the UNIX info: versions, caps
                    caps = struct.unpack_from("<Q", body, doff + 4)[0]
                    struct.pack_into("<Q", body, doff + 4, caps & ~POSIX_PATH_OPERATIONS_CAP)
        return body

    def server_to_client(self):
        try:
            while True:
                hdr, body = read_frame(self.s)
                m = mode()
                if m == "refuse":
                    break
                if len(body) >= 33 and body[:4] == b"\xffSMB":
                    out = self.alter(body, m)
                    if out is None:
                        continue
                    if m == "late" and body[4] not in SETUP_CMDS + (ECHO,):
                        came = self.arrived.get(u16(body, 30), time.monotonic())
                        self.send_at(came + late_ms() / 1000.0, frame(out))
                        continue
                    if body[4] == READ_ANDX and take_flag(slow_read):
                        event("slowread")
                        threading.Timer(0.4, self.send_quietly, (frame(out),)).start()
                        continue
                    if m == "slowclose" and body[4] == CLOSE:
                        set_mode("normal")
                        threading.Timer(0.4, self.late_reply, (frame(out),)).start()
                        continue
                    if m == "slowdata" and body[4] == READ_ANDX and len(body) >= 8192:
                        event("slowdata")
                        self.to_client(frame(out), trickle=True, at_once=64)
                        continue
                    self.to_client(frame(out), trickle=(m == "trickle"))
                    if self.drop_after:
                        break
                else:
                    self.to_client(hdr + bytes(body))
        except (OSError, EOFError):
            pass
        self.close()


def serve(c):
    event("conn")
    if mode() == "refuse":
        c.close()
        return
    try:
        s = socket.create_connection(("127.0.0.1", target_port))
    except OSError:
        c.close()
        return
    cn = Conn(c, s)
    threading.Thread(target=cn.client_to_server, daemon=True).start()
    threading.Thread(target=cn.server_to_client, daemon=True).start()


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", listen_port))
ls.listen(16)
while True:
    c, _ = ls.accept()
    serve(c)
