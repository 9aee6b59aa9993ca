/* smbfuse --help and --version. */
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include <fuse.h>
#include <stdio.h>

#include "fs_opts.h"

#ifndef SMBFUSE_VERSION
#define SMBFUSE_VERSION "unknown"
#endif

void sfs_opts_print_version(FILE *f)
{
    fprintf(f, "smbfuse %s (SMB1/CIFS over FUSE, libfuse %s)\n", SMBFUSE_VERSION,
            fuse_pkgversion());
}

void sfs_opts_print_help(FILE *f, const char *prog)
{
    fprintf(
        f,
        "usage: %s //server/share[/path] MOUNTPOINT [-o option[,option...]] [-f] [-d] [-s]\n"
        "       mount -t fuse.smbfuse //server/share MOUNTPOINT -o options\n"
        "       %s // MOUNTPOINT [-o options]       the network: WORKGROUP/SERVER/SHARE/...\n"
        "       %s --list //server [-o options]     the server's shares\n"
        "       %s --browse [WORKGROUP] [-o options]  workgroups, or a workgroup's servers\n"
        "       %s --lookup NAME[#XX] | ADDRESS     a NetBIOS name's addresses, an address's "
        "names\n"
        "       %s --explain-signing [--show-keys] //server/share [-o options]\n"
        "       %s --status MOUNTPOINT\n"
        "\n"
        "Mounts an SMB1/CIFS share with FUSE. Options (mount.cifs names):\n"
        "  username=NAME, user=NAME   user to log on as; DOMAIN/NAME and NAME%%PASS work\n"
        "  password=PASS, pass=PASS   password (prefer credentials=; ',,' is a comma)\n"
        "  credentials=FILE, cred=    file with username=, password=, domain= lines\n"
        "  domain=DOM, dom=, workgroup=  logon domain\n"
        "  port=N                     TCP port (default 445, then 139; 139 uses NetBIOS)\n"
        "  sec=MODE                   ntlmv2 (default), ntlmssp, ntlm, lanman, none;\n"
        "                             ntlmi/ntlmv2i/ntlmsspi also require signing\n"
        "  sign, sign=required|auto|off, nosign   packet signing policy (default auto)\n"
        "  uid=USER, gid=GROUP        owner shown for files (default: the mounting user)\n"
        "  forceuid, forcegid         ignore the owner the server reports\n"
        "  file_mode=OCTAL, dir_mode=OCTAL   permissions shown (default 0755)\n"
        "  ro, rw                     read-only or read-write (default rw)\n"
        "  actimeo=SECONDS            attribute cache lifetime (default 1)\n"
        "  cache=strict|loose|none    page cache policy (default strict)\n"
        "  netbiosname=NAME           our NetBIOS name (default: host name)\n"
        "  servernetbiosname=NAME     server's NetBIOS name for port 139\n"
        "  ip=ADDRESS, addr=          connect here instead of resolving the server\n"
        "  resolve=host,wins,bcast    name resolution methods and their order (that default)\n"
        "  wins=ADDR[,ADDR]           WINS servers to ask for NetBIOS names\n"
        "  wins_timeout=MS            wait for one WINS server (default 1000, three tries)\n"
        "  browse_bufsize=BYTES       buffer asked for a browse list (smaller: in pieces)\n"
        "  idle_timeout=SECONDS       network mount: release a share idle this long (60)\n"
        "  hidden                     network mount: show hidden ($) shares too\n"
        "  servercreds=DIR            network mount: DIR/SERVER is that server's credentials file\n"
        "  unix, nounix               require / never use CIFS UNIX extensions\n"
        "  nobrl                      keep byte-range locks local\n"
        "  mapposix, nomapposix       map characters Windows forbids in names (default)\n"
        "  mfsymlinks, nomfsymlinks   symlinks as cifs.ko's Minshall+French files (default)\n"
        "  echo_interval=SECONDS      keepalive interval (default 60)\n"
        "  timeout=SECONDS            bound on every operation (default 30; see the man page)\n"
        "  soft, hard                 give up after the timeout, or wait for a server\n"
        "                             that is gone until it is back or Ctrl-C (soft)\n"
        "  rsize=BYTES, wsize=BYTES   largest read / write request\n"
        "  max_write=BYTES            largest write the kernel hands over (default 1 MiB)\n"
        "  vers=1.0                   accepted; SMB1 is the only dialect\n"
        "  iocharset=utf8, noperm     accepted for mount.cifs compatibility\n"
        "  pcap=FILE                  write every SMB frame to FILE (pcap, for Wireshark)\n"
        "  pcap_max=BYTES             bound on the capture (default 64 MiB)\n"
        "\n"
        "libfuse options passed on: allow_other, allow_root, default_permissions,\n"
        "  auto_unmount, max_read=N, blksize=N, fsname=NAME, subtype=NAME, debug,\n"
        "  exec, noexec, suid, nosuid, dev, nodev, sync, async, dirsync, atime, noatime\n"
        "Accepted and ignored (mount(8)'s business): defaults, auto, noauto, user, users,\n"
        "  nouser, owner, group, _netdev, nofail, comment=, x-systemd.* and other x-*,\n"
        "  relatime and the other atime flags FUSE cannot set\n"
        "\n"
        "  -f              stay in the foreground\n"
        "  -d              debug: log every request, stay in the foreground\n"
        "  -s              single-threaded\n"
        "  -h, --help      this help\n"
        "  -V, --version   version\n"
        "  --explain-signing  log on as a mount would, list the share, read a little,\n"
        "                  and explain how each message was signed and checked\n"
        "  --show-keys     (with --explain-signing) print the MAC key itself\n"
        "  --status        a running mount's connection, signing and counters\n"
        "\n"
        "--list, --browse and --lookup are anonymous unless credentials are given; exit\n"
        "  status 0 ok, 1 usage, 2 name or master browser not found, 32 cannot connect.\n"
        "Environment: USER, PASSWD, PASSWD_FD, PASSWD_FILE. See smbfuse(8).\n",
        prog ? prog : "smbfuse", prog ? prog : "smbfuse", prog ? prog : "smbfuse",
        prog ? prog : "smbfuse", prog ? prog : "smbfuse", prog ? prog : "smbfuse",
        prog ? prog : "smbfuse");
}
