#include "wire/unix_rec.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "wire/nttime.h"
#include "wire/smb1_proto.h"

int unix_basic_decode(struct wire_reader *r, struct smb1_stat *st)
{
    st->size = wire_u64(r);
    st->alloc = wire_u64(r);
    st->ctime = nttime_to_timespec(wire_u64(r));
    st->atime = nttime_to_timespec(wire_u64(r));
    st->mtime = nttime_to_timespec(wire_u64(r));
    st->uid = wire_u64(r);
    st->gid = wire_u64(r);
    uint32_t type = wire_u32(r);
    uint64_t major = wire_u64(r), minor = wire_u64(r);
    st->ino = wire_u64(r);
    uint64_t perms = wire_u64(r);
    st->nlink = wire_u64(r);
    if (!wire_ok(r))
        return -EIO;
    mode_t fmt;
    switch (type) {
    case UNIX_TYPE_DIR:
        fmt = S_IFDIR;
        break;
    case UNIX_TYPE_SYMLINK:
        fmt = S_IFLNK;
        break;
    case UNIX_TYPE_CHARDEV:
        fmt = S_IFCHR;
        break;
    case UNIX_TYPE_BLKDEV:
        fmt = S_IFBLK;
        break;
    case UNIX_TYPE_FIFO:
        fmt = S_IFIFO;
        break;
    case UNIX_TYPE_SOCKET:
        fmt = S_IFSOCK;
        break;
    default:
        fmt = S_IFREG;
        break;
    }
    st->mode = fmt | (uint32_t)(perms & 07777);
    st->is_dir = fmt == S_IFDIR;
    st->attrs = st->is_dir ? SMB1_ATTR_DIRECTORY : 0;
    if (fmt == S_IFCHR || fmt == S_IFBLK)
        st->rdev = makedev((unsigned)major, (unsigned)minor);
    /* The record has no birth time; the change time is the nearest. */
    st->btime = st->ctime;
    st->has_unix = true;
    return 0;
}

void unix_basic_encode_set(uint8_t out[UNIX_BASIC_LEN], uint64_t size, const struct timespec *atime,
                           const struct timespec *mtime, uint64_t uid, uint64_t gid, uint64_t perms)
{
    struct wire_writer w;
    wire_writer_init(&w, out, UNIX_BASIC_LEN);
    wire_put_u64(&w, size);
    wire_put_u64(&w, UNIX_NO_CHANGE64); /* NumOfBytes */
    wire_put_u64(&w, 0);                /* LastStatusChange: never set */
    wire_put_u64(&w, atime ? nttime_from_timespec(*atime) : 0);
    wire_put_u64(&w, mtime ? nttime_from_timespec(*mtime) : 0);
    wire_put_u64(&w, uid);
    wire_put_u64(&w, gid);
    wire_put_u32(&w, UNIX_TYPE_FILE); /* used only when creating */
    wire_put_u64(&w, 0);
    wire_put_u64(&w, 0);
    wire_put_u64(&w, 0); /* UniqueId */
    wire_put_u64(&w, perms);
    wire_put_u64(&w, 0); /* NumberOfLinks */
}

void unix_basic_encode_mknod(uint8_t out[UNIX_BASIC_LEN], enum unix_type type, uint64_t major,
                             uint64_t minor, uint64_t perms)
{
    unix_basic_encode_set(out, UNIX_NO_CHANGE64, NULL, NULL, UNIX_NO_CHANGE64, UNIX_NO_CHANGE64,
                          perms);
    struct wire_writer w;
    wire_writer_init(&w, out + 56, UNIX_BASIC_LEN - 56);
    wire_put_u32(&w, (uint32_t)type);
    wire_put_u64(&w, major);
    wire_put_u64(&w, minor);
}
