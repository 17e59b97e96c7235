/* vfs_qdir.c - queue/NAME/: a named queue (doc/tree.md "queue/NAME/").
 * root (or the instance owner) makes one with mkdir and removes it with
 * rmdir; its config (JSON, written whole: vfs_config.c), ctl (start, stop,
 * enable, disable) and status (JSON) are files in it. Anything else
 * copied into it is a submission to that queue, exactly as in queue/
 * (vfs_queue.c handles those names).
 *
 * Inodes: kind VK_QDIR, (generation << 16) | (queue index << 8) | file:
 * the generation (jobmgr_queue_gen) keeps a handle or a shell's working
 * directory in a removed queue from reaching another that took its index.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "fsd/queues.h"
#include "fsd/vfs/vfs_private.h"

#define QCTL_HELP "# write one of: start | stop | enable | disable [REASON]\n"

static const char *const qfiles[VFS_QD_NFILES] = {
    [VFS_QD_CONFIG] = "config", [VFS_QD_CTL] = "ctl", [VFS_QD_STATUS] = "status",
};

static fuse_ino_t qd_ino(struct vfs *v, int index, int file)
{
    fuse_ino_t gen = jobmgr_queue_gen(v->m, index);
    return VFS_INO(VK_QDIR, gen << 16 | ((fuse_ino_t)index << 8) | (unsigned)file);
}

static struct queue *qd_queue(struct vfs *v, fuse_ino_t ino, int *file)
{
    if (VFS_KIND(ino) != VK_QDIR)
        return NULL;
    *file = (int)(ino & 0xff);
    int index = (int)(VFS_NUM(ino) >> 8 & 0xff);
    if (*file >= VFS_QD_NFILES || VFS_NUM(ino) >> 16 != jobmgr_queue_gen(v->m, index))
        return NULL;
    return queues_by_index(jobmgr_queues(v->m), index);
}

bool vfs_qdir_is_dir(fuse_ino_t ino)
{
    return VFS_KIND(ino) == VK_QDIR && (ino & 0xff) == VFS_QD_DIR;
}

const char *vfs_qdir_name(struct vfs *v, fuse_ino_t dir)
{
    int file;
    struct queue *q = qd_queue(v, dir, &file);
    return q && file == VFS_QD_DIR ? q->name : NULL;
}

bool vfs_qdir_reserved(const char *name)
{
    for (int f = 1; f < VFS_QD_NFILES; f++)
        if (!strcmp(name, qfiles[f]))
            return true;
    return false;
}

int vfs_qdir_stat(struct vfs *v, fuse_ino_t ino, struct stat *st)
{
    int file;
    struct queue *q = qd_queue(v, ino, &file);
    if (!q)
        return -ENOENT;
    switch (file) {
    case VFS_QD_DIR:
        /* anyone may submit; sticky as queue/ so scratch files stay private */
        vfs_stat_dir(v, st, ino, v->owner, 01777, v->queue_mtime);
        return 0;
    case VFS_QD_CONFIG: {
        /* its true size and last change, as editors and `>>` expect */
        struct strbuf sb = STRBUF_INIT;
        vfs_qdir_render(v, ino, &sb);
        vfs_stat_file(v, st, ino, v->owner, 0644, sb.len, jobmgr_queue_mtime(v->m, q->name));
        strbuf_release(&sb);
        return 0;
    }
    case VFS_QD_CTL:
        vfs_stat_file(v, st, ino, v->owner, 0600, sizeof(QCTL_HELP) - 1, v->t_mount);
        return 0;
    default:
        vfs_stat_file(v, st, ino, v->owner, 0444, 0, ev_now(v->loop));
        return 0;
    }
}

/* queue/NAME */
bool vfs_qdir_lookup_in_queue(struct vfs *v, fuse_req_t req, const char *name)
{
    struct queue *q = queues_lookup(jobmgr_queues(v->m), name);
    if (!q)
        return false;
    struct stat st;
    vfs_qdir_stat(v, qd_ino(v, q->index, VFS_QD_DIR), &st);
    vfs_reply_entry(req, &st, VFS_TTL_NONE);   /* rmdir may take it away */
    return true;
}

/* queue/NAME/config, ctl, status */
void vfs_qdir_lookup_file(struct vfs *v, fuse_req_t req, fuse_ino_t dir, const char *name)
{
    int file;
    struct queue *q = qd_queue(v, dir, &file);
    for (int f = 1; q && f < VFS_QD_NFILES; f++) {
        if (!strcmp(name, qfiles[f])) {
            struct stat st;
            vfs_qdir_stat(v, qd_ino(v, q->index, f), &st);
            vfs_reply_entry(req, &st, VFS_TTL_NONE);
            return;
        }
    }
    fuse_reply_err(req, ENOENT);
}

/* The queues in queue/'s listing, at offsets base + index. */
bool vfs_qdir_list(struct vfs *v, struct vfs_dirbuf *db, off_t off, off_t base)
{
    const struct queues *qs = jobmgr_queues(v->m);
    for (int i = off >= base ? (int)(off - base) + 1 : 1; i <= QUEUES_MAX; i++) {
        struct queue *q = queues_by_index(qs, i);
        if (q && !vfs_dirbuf_add(db, q->name, qd_ino(v, i, VFS_QD_DIR), S_IFDIR, base + i))
            return false;
    }
    return true;
}

/* A named queue's own files, at offsets 3.. (after . and ..). */
bool vfs_qdir_list_files(struct vfs *v, struct vfs_dirbuf *db, fuse_ino_t dir, off_t off)
{
    int file;
    struct queue *q = qd_queue(v, dir, &file);
    for (int f = off > 2 ? (int)off - 2 + 1 : 1; q && f < VFS_QD_NFILES; f++)
        if (!vfs_dirbuf_add(db, qfiles[f], qd_ino(v, q->index, f), S_IFREG, f + 2))
            return false;
    return true;
}

int vfs_qdir_render(struct vfs *v, fuse_ino_t ino, struct strbuf *sb)
{
    int file;
    struct queue *q = qd_queue(v, ino, &file);
    if (!q)
        return -ENOENT;
    if (file == VFS_QD_CTL)
        return strbuf_addstr(sb, QCTL_HELP);
    json_t *o = file == VFS_QD_CONFIG ? json_incref(q->config ? q->config : NULL)
                                      : jobmgr_queue_status(v->m, q->name);
    char *s = o ? json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS) : strdup("{}");
    int rc = s ? strbuf_addf(sb, "%s\n", s) : -ENOMEM;
    free(s);
    json_decref(o);
    return rc;
}

void vfs_qdir_open(struct vfs *v, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    int file;
    uid_t uid = fuse_req_ctx(req)->uid;
    struct queue *q = qd_queue(v, ino, &file);
    bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
    if (!q || file == VFS_QD_DIR) {
        fuse_reply_err(req, !q ? ENOENT : EISDIR);
        return;
    }
    if (writing && file == VFS_QD_CONFIG)
        return vfs_config_open(v, req, ino, fi);
    if (writing && file != VFS_QD_CTL) {
        fuse_reply_err(req, EACCES);
        return;
    }
    if (writing && !vfs_is_privileged(v, uid)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    struct vfs_fh *fh = vfs_fh_create(req, writing ? FH_CTL : FH_SNAPSHOT, ino);
    if (!fh) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    int rc = writing ? 0 : vfs_qdir_render(v, ino, &fh->data);
    if (rc < 0) {
        vfs_fh_destroy(fh);
        fuse_reply_err(req, -rc);
        return;
    }
    vfs_reply_open(req, fi, fh, true);
}

void vfs_qdir_ctl_write(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, const char *buf,
                        size_t size)
{
    struct errmsg err = { "" };
    int file;
    struct queue *q = qd_queue(v, fh->ino, &file);
    int rc = q ? jobmgr_queue_ctl(v->m, fh->uid, q->name, buf, size, &err) : -ENOENT;
    if (rc == 0) {
        /* answered once the change is durable, as a submission */
        defer_submission(v, req, NULL, DEFER_WRITE, size, 0, 0);
        return;
    }
    if (rc < 0) {
        char subject[64];
        snprintf(subject, sizeof(subject), "queue/%s/ctl", q ? q->name : "?");
        vfs_errlog_add(v, fuse_req_ctx(req)->uid, subject, -rc,
                       err.text[0] ? err.text : strerror(-rc));
        fuse_reply_err(req, -rc);
        return;
    }
    fuse_reply_write(req, size);
}

void vfs_qdir_mkdir(struct vfs *v, fuse_req_t req, const char *name)
{
    struct errmsg err = { "" };
    uid_t uid = fuse_req_ctx(req)->uid;
    if (!vfs_is_privileged(v, uid)) {
        fuse_reply_err(req, EACCES);   /* as a 1777 directory a user cannot write in */
        return;
    }
    int rc = jobmgr_queue_create(v->m, uid, name, &err);
    struct queue *q = rc == 0 ? queues_lookup(jobmgr_queues(v->m), name) : NULL;
    if (rc < 0 || !q) {
        vfs_errlog_add(v, uid, name, rc < 0 ? -rc : EIO, err.text);
        fuse_reply_err(req, rc < 0 ? -rc : EIO);
        return;
    }
    vfs_queue_touch(v, VFS_I_QUEUE);
    /* as in Flux, with queues and none the default a job naming none is
     * refused: a queue made in passing (root's `cp -r DIR queue/`) stops
     * every such submission, which the operator should hear of */
    if (!queues_default(jobmgr_queues(v->m)))
        syslog(LOG_WARNING, "queue '%s' made, and no queue is the default: jobs that name no "
               "queue are refused until one is (\"default\": true in queue/NAME/config)", name);
    /* mkdir returns once the queue is durable, as a submission's close */
    struct vfs_deferred *d = calloc(1, sizeof(*d));
    if (!d) {
        struct stat st;
        vfs_qdir_stat(v, qd_ino(v, q->index, VFS_QD_DIR), &st);
        vfs_reply_entry(req, &st, VFS_TTL_NONE);   /* in the store; at the next commit */
        return;
    }
    d->req = req;
    d->what = DEFER_ENTRY;
    vfs_qdir_stat(v, qd_ino(v, q->index, VFS_QD_DIR), &d->entry);
    vfs_defer(v, d);
}

void vfs_qdir_rmdir(struct vfs *v, fuse_req_t req, const char *name)
{
    struct errmsg err = { "" };
    uid_t uid = fuse_req_ctx(req)->uid;
    if (!queues_lookup(jobmgr_queues(v->m), name)) {
        /* queue/'s own names stay, as ever */
        fuse_reply_err(req, !strcmp(name, "drafts") ? EPERM : ENOENT);
        return;
    }
    if (!vfs_is_privileged(v, uid)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    int rc = jobmgr_queue_remove(v->m, uid, name, &err);
    if (rc < 0) {
        vfs_errlog_add(v, uid, name, -rc, err.text);
        fuse_reply_err(req, -rc);
        return;
    }
    vfs_queue_touch(v, VFS_I_QUEUE);
    defer_submission(v, req, NULL, DEFER_FLUSH, 0, 0, 0);   /* once durable */
}
