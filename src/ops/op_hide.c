/* Files unlinked while open, moved out of the way (smb1_hide_open).
 *
 * A program may unlink a file it still has open and go on using it; the
 * name must be free at once, and the directory it was in removable, as on
 * a local disk. A POSIX unlink on the server would need no hidden name,
 * but Samba then fails SET_FILE_INFO on the open handle (ftruncate,
 * futimens) with OBJECT_NAME_NOT_FOUND; a delete-pending name keeps the
 * directory from being empty. So the file moves to a hidden name in the
 * share's root (listings skip SMB1_DELETED_PREFIX), its handles follow
 * (file_renamed) and are marked, and the CLOSE of the last of them
 * deletes it (hide_closed, from op_wb.c's release).
 */
#include "ops/op_hide.h"

#include <errno.h>
#include <stdio.h>

#include "ops/op_file.h"
#include "ops/tree_state.h"

int smb1_hide_open(struct smb1_tree *t, const char *path, char *out, size_t cap)
{
    CONN_OP(t ? t->conn : NULL);
    struct ops_tree *ot = ops_tree_get(t);
    if (!ot)
        return -ENOMEM;
    pthread_mutex_lock(&ot->lock);
    unsigned seq = ot->hide_seq++;
    pthread_mutex_unlock(&ot->lock);
    int n = smb1_deleted_name(out, cap, "", seq);
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    int r = smb1_rename(t, path, out, RENAME_NOREPLACE);
    if (r)
        return r;
    unsigned marked = 0;
    pthread_mutex_lock(&ot->lock);
    for (struct smb1_file *f = ot->files; f; f = f->next) {
        if (!f->released && file_path_matches(f, out, false)) {
            f->hidden = true;
            marked++;
        }
    }
    pthread_mutex_unlock(&ot->lock);
    /* The last handle was released while the rename was on its way (a
     * release takes no lock on the name, so nothing orders it after the
     * hide): its CLOSE found it unmarked and will not delete it, so the
     * delete is done here, or the hidden file would stay for ever. */
    if (!marked)
        hide_closed(t, out);
    return 0;
}

void hide_closed(struct smb1_tree *t, const char *path)
{
    if (!file_is_open(t, path, false))
        (void)smb1_unlink_nondir(t, path, 0);
}
