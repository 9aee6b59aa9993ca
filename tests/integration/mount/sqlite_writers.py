"""Three sqlite writers in short BEGIN IMMEDIATE transactions, in a
directory of the mount: never "database is locked", every row there and
the database intact after each run.

    sqlite_writers.py DIR RUNS

Samba keeps the lock of a shared range that one of our handles released
while another still shares it, and holds a handle's repeated failed lock at
one offset for 200 ms: the core undoes the first and steps round the
second. Used by fs_everyday.test.sh and fs_tools_profiles.test.sh."""
import os
import sqlite3
import sys

WRITERS, ROWS = 3, 40


def writer(db, p):
    try:
        c = sqlite3.connect(db, timeout=20, isolation_level=None)
        c.execute("PRAGMA busy_timeout=20000")
        for i in range(ROWS):
            c.execute("BEGIN IMMEDIATE")
            c.execute("INSERT INTO t VALUES (?, ?)", (p, i))
            c.execute("COMMIT")
        c.close()
        os._exit(0)
    except Exception as e:
        print(f"  {db}, writer {p}: {e}", file=sys.stderr)
        os._exit(1)


def main():
    os.chdir(sys.argv[1])
    bad = 0
    for run in range(int(sys.argv[2])):
        db = f"w{run}.db"
        c = sqlite3.connect(db)
        c.execute("CREATE TABLE t(p, i)")
        c.commit()
        c.close()
        pids = []
        for p in range(WRITERS):
            pid = os.fork()
            if pid == 0:
                writer(db, p)
            pids.append(pid)
        for pid in pids:
            bad += os.waitpid(pid, 0)[1] != 0
        c = sqlite3.connect(db)
        n = c.execute("SELECT count(*) FROM t").fetchone()[0]
        ok = c.execute("PRAGMA integrity_check").fetchone()[0]
        c.close()
        if n != WRITERS * ROWS or ok != "ok":
            print(f"  run {run}: {n} rows, integrity {ok}", file=sys.stderr)
            bad += 1
        os.unlink(db)
    sys.exit(1 if bad else 0)


main()
