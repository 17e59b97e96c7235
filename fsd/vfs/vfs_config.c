/* vfs_config.c - configuration files root (or the instance owner) writes
 * whole: accounting/banks and queue/NAME/config (doc/tree.md). The text
 * written through one open is applied at the close that ends the writing
 * (FUSE flush; not the close of a duplicate while the file stays open, as
 * for submissions), so the close of `cp`, `tee` or `>` fails with the
 * reason, which also goes to the writer's queue/errors; nothing changes
 * unless all of it is valid. Reads show what is in force. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "fsd/vfs/vfs_private.h"

/* Bytes one write of a configuration may hold. */
#define CONFIG_MAX (4u << 20)

bool vfs_config_is(fuse_ino_t ino)
{
    return ino == VFS_I_ACCT_BANKS || (VFS_KIND(ino) == VK_QDIR && (ino & 0xff) == VFS_QD_CONFIG);
}

/* What its errors in queue/errors are about. */
static const char *config_name(struct vfs *v, fuse_ino_t ino, char *buf, size_t size)
{
    if (ino == VFS_I_ACCT_BANKS)
        return "accounting/banks";
    const char *q = vfs_qdir_name(v, ino & ~(fuse_ino_t)0xff);
    snprintf(buf, size, "queue/%s/config", q ? q : "?");
    return buf;
}

static int render(struct vfs *v, fuse_ino_t ino, uid_t uid, struct strbuf *sb)
{
    return VFS_KIND(ino) == VK_QDIR ? vfs_qdir_render(v, ino, sb)
                                    : vfs_fixed_render(v, ino, uid, sb);
}

void vfs_config_open(struct vfs *v, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    uid_t uid = fuse_req_ctx(req)->uid;
    if (!vfs_is_privileged(v, uid)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    struct vfs_fh *fh = vfs_fh_create(req, FH_CONFIG, ino);
    /* its name: a close while a duplicate stays open (vfs_still_open) waits */
    if (fh && !(fh->name = strdup(ino == VFS_I_ACCT_BANKS ? "banks" : "config"))) {
        vfs_fh_destroy(fh);
        fh = NULL;
    }
    if (!fh) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    /* O_APPEND, or a write without O_TRUNC, starts from what is in force:
     * `>>` adds to it, as to any file */
    if (!(fi->flags & O_TRUNC) && render(v, ino, uid, &fh->data) < 0) {
        vfs_fh_destroy(fh);
        fuse_reply_err(req, ENOMEM);
        return;
    }
    vfs_reply_open(req, fi, fh, true);
}

void vfs_config_truncate(struct vfs_fh *fh, off_t size)
{
    if (fh && (size_t)size < fh->data.len) {
        fh->data.len = (size_t)size;
        fh->data.buf[size] = '\0';
        fh->wrote = true;
    }
}

void vfs_config_write(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, const char *buf,
                      size_t size, off_t off)
{
    if (off < 0 || (uint64_t)off + size > CONFIG_MAX) {
        fh->write_err = -EFBIG;
        fuse_reply_err(req, EFBIG);
        return;
    }
    /* a hole is zeros, as in any file; then the bytes at off */
    while (fh->data.len < (size_t)off)
        if (strbuf_add(&fh->data, "", 1) < 0)
            goto nomem;
    size_t keep = fh->data.len > (size_t)off + size ? fh->data.len - ((size_t)off + size) : 0;
    char *tail = keep ? strndup(fh->data.buf + off + size, keep) : NULL;
    fh->data.len = (size_t)off;
    if (strbuf_add(&fh->data, buf, size) < 0 || (keep && (!tail
        || strbuf_add(&fh->data, tail, keep) < 0))) {
        free(tail);
        goto nomem;
    }
    free(tail);
    fh->wrote = true;
    fh->applied = false;   /* written since it was last applied: again at close */
    fuse_reply_write(req, size);
    return;
nomem:
    fh->write_err = -ENOMEM;
    fuse_reply_err(req, ENOMEM);
}

/* Apply what fh holds, once: 0 or -errno (logged). */
static int apply(struct vfs *v, struct vfs_fh *fh)
{
    struct errmsg err = { "" };
    int rc = fh->write_err;
    if (fh->applied || (!fh->wrote && !rc))
        return 0;
    fh->applied = true;
    const char *text = fh->data.buf ? fh->data.buf : "";
    const char *queue = VFS_KIND(fh->ino) == VK_QDIR
                      ? vfs_qdir_name(v, fh->ino & ~(fuse_ino_t)0xff) : NULL;
    if (rc == 0 && fh->ino == VFS_I_ACCT_BANKS)
        rc = jobmgr_set_banks(v->m, fh->uid, text, fh->data.len, &err);
    else if (rc == 0 && !queue)
        rc = errmsg_set(&err, -ENOENT, "the queue was removed");
    else if (rc == 0)
        rc = jobmgr_queue_config(v->m, fh->uid, queue, text, fh->data.len, &err);
    char subject[64];
    if (rc < 0)
        vfs_errlog_add(v, fh->uid, config_name(v, fh->ino, subject, sizeof(subject)), -rc,
                       err.text[0] ? err.text : "a write failed: nothing was changed");
    return rc;
}

void vfs_config_flush(struct vfs *v, fuse_req_t req, struct vfs_fh *fh)
{
    /* a duplicate closed while the file stays open for writing (`exec 3>`,
     * a shell lending `>&3`): the text is not whole yet */
    if (!fh->applied && fh->wrote && vfs_still_open(v, fh, fuse_req_ctx(req)->pid)) {
        fuse_reply_err(req, 0);
        return;
    }
    bool was = fh->applied;
    int rc = apply(v, fh);
    /* applied now: close returns once the change is durable, as a
     * submission's does (the store's next durable commit) */
    if (rc == 0 && !was && fh->applied)
        defer_submission(v, req, NULL, DEFER_FLUSH, 0, 0, 0);
    else
        fuse_reply_err(req, -rc);
}

void vfs_config_release(struct vfs *v, struct vfs_fh *fh)
{
    apply(v, fh);   /* closed without a flush (never by close(2)) */
    vfs_fh_destroy(fh);
}
