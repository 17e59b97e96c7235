/* vfs.c - the FUSE low-level ops table and what every kind of node shares.
 *
 * Each op decodes the inode kind and hands the request to the file that owns
 * that kind of node (vfs_root.c, vfs_queue.c, vfs_jobs.c, vfs_resources.c).
 * Every request ends in exactly one fuse_reply_*, possibly deferred.
 */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <limits.h>
#include <sys/statvfs.h>

#include "common/jsonw.h"
#include "exec/imp_client.h"
#include "fsd/vfs/vfs_private.h"

/* ---- shared helpers ---- */

static void set_time(struct timespec *ts, double t)
{
    ts->tv_sec = (time_t)t;
    ts->tv_nsec = (long)((t - (double)ts->tv_sec) * 1e9);
}

void vfs_stat_dir(struct vfs *v, struct stat *st, fuse_ino_t ino, uid_t uid, mode_t mode,
                  double mtime)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = ino;
    st->st_mode = S_IFDIR | mode;
    st->st_nlink = 2;
    st->st_uid = uid;
    st->st_gid = uid == v->owner ? getegid() : uid;
    st->st_blksize = 4096;
    set_time(&st->st_mtim, mtime);
    st->st_ctim = st->st_atim = st->st_mtim;
}

void vfs_stat_file(struct vfs *v, struct stat *st, fuse_ino_t ino, uid_t uid, mode_t mode,
                   off_t size, double mtime)
{
    vfs_stat_dir(v, st, ino, uid, 0, mtime);
    st->st_mode = S_IFREG | mode;
    st->st_nlink = 1;
    st->st_size = size;
    st->st_blocks = (size + 511) / 512;
}

int vfs_reply_entry(fuse_req_t req, const struct stat *st, double ttl)
{
    struct fuse_entry_param e;
    memset(&e, 0, sizeof(e));
    e.ino = st->st_ino;
    e.attr = *st;
    e.attr_timeout = S_ISDIR(st->st_mode) ? ttl : VFS_TTL_NONE;
    e.entry_timeout = ttl;
    return fuse_reply_entry(req, &e);
}

struct vfs_fh *vfs_fh_create(fuse_req_t req, enum vfs_fh_kind kind, fuse_ino_t ino)
{
    struct vfs_fh *fh = calloc(1, sizeof(*fh));
    if (!fh)
        return NULL;
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    fh->kind = kind;
    fh->ino = ino;
    fh->uid = ctx->uid;
    fh->gid = ctx->gid;
    fh->pid = ctx->pid;
    fh->submit_rc = 1;
    strbuf_init(&fh->data);
    strbuf_init(&fh->ids);
    return fh;
}

void vfs_fh_destroy(struct vfs_fh *fh)
{
    if (!fh || fh->shared)
        return;
    strbuf_release(&fh->data);
    strbuf_release(&fh->ids);
    if (fh->cwd_ask)
        fh->cwd_ask->fh = NULL;   /* its answer comes to nobody */
    free(fh->cwd);
    free(fh->name);
    free(fh->queue);
    free(fh);
}

int vfs_reply_open(fuse_req_t req, struct fuse_file_info *fi, struct vfs_fh *fh, bool direct)
{
    fi->fh = (uint64_t)(uintptr_t)fh;
    /* content changes under the kernel's feet: never serve it from page cache */
    fi->direct_io = direct;
    fi->keep_cache = 0;
    /* FLUSH does something only for what is applied at close (op_flush):
     * every other close (a `cat` of a job's file, `fluxfs run` reading its
     * job's `wait` and output, the publisher's pokes, which raise
     * IN_CLOSE_WRITE) returns without a round trip to the loop */
    fi->noflush = !(fh->kind == FH_SUBMIT || fh->kind == FH_CLONE || fh->kind == FH_CONFIG);
    if (fuse_reply_open(req, fi) != 0) {
        /* the opener went away (interrupted): no release will follow */
        vfs_fh_destroy(fh);
        return -EINTR;
    }
    return 0;
}

void vfs_reply_slice(fuse_req_t req, const char *data, size_t len, size_t size, off_t off)
{
    if (off < 0 || (size_t)off >= len)
        fuse_reply_buf(req, NULL, 0);
    else
        fuse_reply_buf(req, data + off, len - off < size ? len - off : size);
}

void vfs_stream_open(fuse_req_t req, struct fuse_file_info *fi, fuse_ino_t ino, vfs_fill_f fill)
{
    if ((fi->flags & O_ACCMODE) != O_RDONLY) {
        fuse_reply_err(req, EACCES);
        return;
    }
    struct vfs_fh *fh = vfs_fh_create(req, FH_STREAM, ino);
    if (!fh) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    fh->fill = fill;
    vfs_reply_open(req, fi, fh, true);
}

void vfs_stream_read(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, size_t size, off_t off)
{
    enum { STEP = 256 * 1024 };   /* built at a time while reaching a read far ahead */
    if (off < 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    uint64_t want = (uint64_t)off;
    if (want < fh->list_base) {
        strbuf_reset(&fh->data);
        fh->list_base = fh->list_next = fh->list_next_id = 0;
        fh->list_end = false;
    }
    while (fh->list_base + fh->data.len < want + size && !fh->list_end) {
        uint64_t upto = want + size - fh->list_base;
        int rc = fh->fill(v, fh, upto - fh->data.len > STEP ? fh->data.len + STEP : upto);
        if (rc < 0) {
            fuse_reply_err(req, -rc);
            return;
        }
        if (fh->list_base + fh->data.len <= want) {   /* all of it before the read */
            fh->list_base += fh->data.len;
            strbuf_reset(&fh->data);
        }
    }
    size_t skip = want > fh->list_base ? (size_t)(want - fh->list_base) : 0;
    if (skip > fh->data.len)
        skip = fh->data.len;
    size_t n = fh->data.len - skip < size ? fh->data.len - skip : size;
    fuse_reply_buf(req, n ? fh->data.buf + skip : NULL, n);
    /* between reads an open file keeps only where it is and the rest of a
     * line the read stopped inside, in a buffer of that size: a user's
     * thousand open descriptors cost the broker next to nothing (a read
     * before that point, a seek back or the same read again, builds the
     * list again from its start) */
    struct strbuf rest = STRBUF_INIT;
    if (strbuf_add(&rest, fh->data.buf + skip + n, fh->data.len - skip - n) < 0) {
        fh->list_base = UINT64_MAX;   /* out of memory: the next read starts over */
        strbuf_release(&fh->data);
        return;
    }
    strbuf_release(&fh->data);
    fh->data = rest;
    fh->list_base += skip + n;
}

bool vfs_is_publisher(struct vfs *v, fuse_req_t req)
{
    return v->pub_tid && fuse_req_ctx(req)->pid == v->pub_tid;
}

bool vfs_is_privileged(struct vfs *v, uid_t uid)
{
    return uid == 0 || uid == v->owner;
}

void vfs_defer(struct vfs *v, struct vfs_deferred *d)
{
    struct vfs_deferred **list = d->what == DEFER_WAIT ? &v->deferred : &v->submits;
    d->next = *list;
    *list = d;
}

bool vfs_dirbuf_add(struct vfs_dirbuf *db, const char *name, fuse_ino_t ino, mode_t mode,
                    off_t next_off)
{
    struct stat st = { .st_ino = ino, .st_mode = mode };
    size_t need = fuse_add_direntry(db->req, NULL, 0, name, NULL, 0);
    if (db->len + need > db->size)
        return false;
    fuse_add_direntry(db->req, db->buf + db->len, db->size - db->len, name, &st, next_off);
    db->len += need;
    return true;
}

/* ---- per-user error log (queue/errors) ---- */

static struct vfs_errlog *errlog_get(struct vfs *v, uid_t uid, bool create)
{
    for (struct vfs_errlog *e = v->errlogs; e; e = e->next)
        if (e->uid == uid)
            return e;
    if (!create)
        return NULL;
    struct vfs_errlog *e = calloc(1, sizeof(*e));
    if (e) {
        e->uid = uid;
        e->next = v->errlogs;
        v->errlogs = e;
    }
    return e;
}

void vfs_errlog_add(struct vfs *v, uid_t uid, const char *subject, int err, const char *reason)
{
    struct vfs_errlog *e = errlog_get(v, uid, true);
    if (!e)
        return;
    char stamp[32];
    time_t now = (time_t)ev_now(v->loop);
    struct tm tm;
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    struct strbuf sb = STRBUF_INIT;
    /* one failure per line of UTF-8 text, whatever bytes a file name
     * holds: control characters (newlines, escape sequences) and bytes
     * that are not UTF-8 (a Latin-1 name) are written as \xHH */
    strbuf_addf(&sb, "%s ", stamp);
    size_t left = strlen(subject);
    for (const unsigned char *p = (const unsigned char *)subject; *p; p++, left--) {
        size_t n = jsonw_utf8_char((const char *)p, left);
        if (n == 0 || *p < 0x20 || *p == 0x7f || *p == '\\')
            strbuf_addf(&sb, "\\x%02x", *p);
        else {
            strbuf_add(&sb, (const char *)p, n);
            p += n - 1;
            left -= n - 1;
        }
    }
    strbuf_addf(&sb, ": %s: %s\n", strerrorname_np(err) ? strerrorname_np(err) : "error", reason);
    e->mtime = ev_now(v->loop);
    int slot = (e->first + e->count) % 16;
    if (e->count == 16) {
        free(e->lines[e->first]);
        e->first = (e->first + 1) % 16;
        slot = (e->first + 15) % 16;
    } else
        e->count++;
    e->lines[slot] = strbuf_detach(&sb, NULL);
}

double vfs_errlog_mtime(struct vfs *v, uid_t uid)
{
    struct vfs_errlog *e = errlog_get(v, uid, false);
    return e ? e->mtime : v->t_mount;
}

int vfs_errlog_render(struct vfs *v, uid_t uid, struct strbuf *sb)
{
    struct vfs_errlog *e = errlog_get(v, uid, false);
    for (int i = 0; e && i < e->count; i++)
        strbuf_addstr(sb, e->lines[(e->first + i) % 16]);
    return 0;
}

/* ---- the ops ---- */

static struct vfs *req_vfs(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

static struct vfs_fh *fi_fh(struct fuse_file_info *fi)
{
    return (struct vfs_fh *)(uintptr_t)fi->fh;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
    /* open(O_TRUNC) arrives as an open flag, not a separate setattr */
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
        conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    /* writeback caching would hide writers' pids and delay submissions */
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

/* Names longer than a directory entry can hold are refused as everywhere
 * (the kernel lets FUSE see up to 1024 bytes). */
static bool name_too_long(fuse_req_t req, const char *name)
{
    if (strlen(name) <= NAME_MAX)
        return false;
    fuse_reply_err(req, ENAMETOOLONG);
    return true;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct vfs *v = req_vfs(req);
    if (name_too_long(req, name))
        return;
    switch (VFS_KIND(parent)) {
    case VK_FIXED:
        if (parent == VFS_I_ROOT)
            return vfs_root_lookup(v, req, name);
        if (vfs_queue_is_dir(parent))
            return vfs_queue_lookup(v, req, parent, name);
        if (parent == VFS_I_JOBS)
            return vfs_jobs_lookup(v, req, parent, name);
        if (parent == VFS_I_RESOURCES)
            return vfs_res_lookup(v, req, parent, name);
        if (parent == VFS_I_ACCT)
            return vfs_acct_lookup(v, req, name);
        break;
    case VK_JOB:
        return vfs_jobs_lookup(v, req, parent, name);
    case VK_RES:
        return vfs_res_lookup(v, req, parent, name);
    case VK_QDIR:
        if (vfs_qdir_is_dir(parent))
            return vfs_queue_lookup(v, req, parent, name);
        break;
    }
    fuse_reply_err(req, ENOTDIR);
}

static int node_stat(struct vfs *v, fuse_req_t req, fuse_ino_t ino, struct stat *st)
{
    switch (VFS_KIND(ino)) {
    case VK_FIXED:
        return vfs_fixed_stat_as(v, ino, fuse_req_ctx(req)->uid, st);
    case VK_JOB:
        return vfs_job_stat(v, ino, st);
    case VK_RES:
        return vfs_res_stat(v, ino, st);
    case VK_SCRATCH:
    case VK_SUBMIT:
    case VK_GHOST:
        return vfs_queue_stat(v, ino, st);
    case VK_QDIR:
        return vfs_qdir_stat(v, ino, st);
    }
    return -ENOENT;
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct vfs *v = req_vfs(req);
    struct stat st;
    int rc = node_stat(v, req, ino, &st);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, S_ISDIR(st.st_mode) ? VFS_TTL_FIXED : VFS_TTL_NONE);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
    struct vfs *v = req_vfs(req);
    struct stat st;
    int rc;

    int kind = VFS_KIND(ino);
    if (kind == VK_SCRATCH || kind == VK_SUBMIT || kind == VK_GHOST) {
        rc = vfs_queue_setattr(v, req, ino, attr, to_set, fi, &st);
        if (rc < 0)
            fuse_reply_err(req, -rc);
        else
            fuse_reply_attr(req, &st, VFS_TTL_NONE);
        return;
    }
    if ((rc = node_stat(v, req, ino, &st)) < 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    if (vfs_queue_is_dir(ino) && !(to_set & FUSE_SET_ATTR_SIZE)) {
        /* copying a directory into queue/ (rsync -a dir/, tar -x) sets the
         * directory's own mode and times last: accepted, and ignored */
        fuse_reply_attr(req, &st, VFS_TTL_FIXED);
        return;
    }
    /* elsewhere the tree's metadata is the model's, and true: only the
     * truncation of a control file (`echo cancel > ctl`) means something */
    if (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_CTIME)) {
        fuse_reply_err(req, EPERM);
        return;
    }
    if (to_set & FUSE_SET_ATTR_SIZE) {
        if ((kind == VK_JOB && (ino & 0xff) == VFS_JOB_CTL) || ino == VFS_I_RES_CTL
            || (kind == VK_QDIR && (ino & 0xff) == VFS_QD_CTL))
            rc = 0;   /* `echo cancel > ctl` truncates first */
        else if (vfs_config_is(ino) && fi && fi_fh(fi)->kind == FH_CONFIG) {
            vfs_config_truncate(fi_fh(fi), attr->st_size);
            rc = 0;
        } else if (vfs_config_is(ino))
            rc = vfs_is_privileged(v, fuse_req_ctx(req)->uid) ? 0 : -EACCES;
        else
            rc = S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;
        if (rc < 0) {
            fuse_reply_err(req, -rc);
            return;
        }
        node_stat(v, req, ino, &st);
    }
    fuse_reply_attr(req, &st, VFS_TTL_NONE);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    struct vfs *v = req_vfs(req);
    if (name_too_long(req, name))
        return;
    if (parent == VFS_I_JOBS || VFS_KIND(parent) == VK_JOB)
        return vfs_jobs_mkdir(v, req, parent, name);
    if (parent == VFS_I_QUEUE && (!strcmp(name, "drafts") || !strcmp(name, "new")
                                  || !strcmp(name, "run") || !strcmp(name, "errors")))
        fuse_reply_err(req, EEXIST);
    else if (parent == VFS_I_QUEUE)
        vfs_qdir_mkdir(v, req, name);
    else
        fuse_reply_err(req, vfs_queue_is_dir(parent) ? EPERM : EROFS);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct vfs *v = req_vfs(req);
    if (vfs_queue_is_dir(parent))
        return vfs_queue_unlink(v, req, parent, name);
    fuse_reply_err(req, EPERM);
}

/* Links, symbolic links and device nodes have no meaning in the tree. */
static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    fuse_reply_err(req, EPERM);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    fuse_reply_err(req, EPERM);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                     dev_t rdev)
{
    fuse_reply_err(req, EPERM);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct vfs *v = req_vfs(req);
    int file;
    struct job *job = VFS_KIND(parent) == VK_JOB ? vfs_job_of(v, parent, &file) : NULL;
    if (job && file == VFS_JOB_DIR)
        return vfs_nest_rmdir(v, req, job, name);
    if (parent == VFS_I_QUEUE)
        return vfs_qdir_rmdir(v, req, name);
    fuse_reply_err(req, EPERM);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
    struct vfs *v = req_vfs(req);
    int file;
    struct job *job = VFS_KIND(ino) == VK_JOB ? vfs_job_of(v, ino, &file) : NULL;
    if (job && vfs_nest_file(file))
        return vfs_nest_readlink(v, req, job, file);
    fuse_reply_err(req, EINVAL);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
    struct vfs *v = req_vfs(req);
    if (name_too_long(req, newname))
        return;
    if (vfs_queue_is_dir(parent))
        return vfs_queue_rename(v, req, parent, name, newparent, newname, flags);
    fuse_reply_err(req, EPERM);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    struct vfs *v = req_vfs(req);
    if (name_too_long(req, name))
        return;
    if (vfs_queue_is_dir(parent))
        return vfs_queue_create(v, req, parent, name, mode, fi);
    fuse_reply_err(req, EACCES);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct vfs *v = req_vfs(req);
    switch (VFS_KIND(ino)) {
    case VK_JOB:
        return vfs_job_open(v, req, ino, fi);
    case VK_SCRATCH:
    case VK_SUBMIT:
    case VK_GHOST:
        return vfs_queue_open(v, req, ino, fi);
    case VK_QDIR:
        return vfs_qdir_open(v, req, ino, fi);
    case VK_FIXED:
        if (ino == VFS_I_QNEW || ino == VFS_I_QRUN)
            return vfs_queue_open(v, req, ino, fi);
        if (ino == VFS_I_EVENTS)
            return vfs_events_open(v, req, fi);
        if (ino == VFS_I_JOBLIST)
            return vfs_stream_open(req, fi, ino, vfs_joblist_fill);
        if (ino == VFS_I_ACCT_JOBS)
            return vfs_stream_open(req, fi, ino, vfs_acct_jobs_fill);
        if (ino == VFS_I_ACCT_USAGE || ino == VFS_I_ACCT_CSV)
            return vfs_acct_usage_open(v, req, ino, fi);
        if (vfs_config_is(ino) && (fi->flags & O_ACCMODE) != O_RDONLY)
            return vfs_config_open(v, req, ino, fi);
        if (ino == VFS_I_RES_CTL && (fi->flags & O_ACCMODE) != O_RDONLY) {
            uid_t uid = fuse_req_ctx(req)->uid;
            struct vfs_fh *fh = uid == 0 || uid == v->owner
                              ? vfs_fh_create(req, FH_CTL, ino) : NULL;
            if (!fh) {
                fuse_reply_err(req, uid == 0 || uid == v->owner ? ENOMEM : EACCES);
                return;
            }
            vfs_reply_open(req, fi, fh, false);
            return;
        }
        break;
    }
    if ((fi->flags & O_ACCMODE) != O_RDONLY) {
        struct stat st;
        int rc = node_stat(v, req, ino, &st);
        fuse_reply_err(req, rc < 0 ? -rc : S_ISDIR(st.st_mode) ? EISDIR : EACCES);
        return;
    }
    struct vfs_fh *fh = vfs_fh_create(req, FH_SNAPSHOT, ino);
    if (!fh) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    int rc = VFS_KIND(ino) == VK_RES ? vfs_res_render(v, ino, &fh->data)
                                     : vfs_fixed_render(v, ino, fh->uid, &fh->data);
    if (rc < 0) {
        vfs_fh_destroy(fh);
        fuse_reply_err(req, -rc);
        return;
    }
    vfs_reply_open(req, fi, fh, true);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    struct vfs *v = req_vfs(req);
    struct vfs_fh *fh = fi_fh(fi);
    switch (fh->kind) {
    case FH_SNAPSHOT:
        vfs_reply_slice(req, fh->data.buf, fh->data.len, size, off);
        return;
    case FH_OUTPUT:
    case FH_WAIT:
        return vfs_job_read(v, req, fh, size, off);
    case FH_EVENTS:
        return vfs_events_read(v, req, fh, size, off);
    case FH_STREAM:
        return vfs_stream_read(v, req, fh, size, off);
    case FH_CLONE:
    case FH_SCRATCH:
    case FH_SUBMIT:
        return vfs_queue_read(v, req, fh, size, off);
    case FH_CONFIG:
        /* opened read-write: what it will apply */
        vfs_reply_slice(req, fh->data.buf, fh->data.len, size, off);
        return;
    default:
        fuse_reply_err(req, EBADF);
    }
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    struct vfs *v = req_vfs(req);
    struct vfs_fh *fh = fi_fh(fi);
    switch (fh->kind) {
    case FH_POKE:
        fuse_reply_write(req, size);
        return;
    case FH_CTL:
        if (fh->ino == VFS_I_RES_CTL)
            return vfs_res_write(v, req, fh, buf, size);
        if (VFS_KIND(fh->ino) == VK_QDIR)
            return vfs_qdir_ctl_write(v, req, fh, buf, size);
        return vfs_job_write(v, req, fh, buf, size);
    case FH_CLONE:
    case FH_SCRATCH:
    case FH_SUBMIT:
        return vfs_queue_write(v, req, fh, buf, size, off);
    case FH_CONFIG:
        return vfs_config_write(v, req, fh, buf, size, off);
    default:
        fuse_reply_err(req, EBADF);
    }
}

/* Only for the kinds vfs_reply_open() leaves a FLUSH to. */
static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct vfs *v = req_vfs(req);
    struct vfs_fh *fh = fi_fh(fi);
    if (fh->kind == FH_SUBMIT || fh->kind == FH_CLONE)
        return vfs_queue_flush(v, req, fh);
    if (fh->kind == FH_CONFIG)
        return vfs_config_flush(v, req, fh);
    fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct vfs *v = req_vfs(req);
    struct vfs_fh *fh = fi_fh(fi);
    if (fh->ph)
        vfs_jobs_unpoll(v, fh);
    if (fh->kind == FH_SUBMIT || fh->kind == FH_CLONE || fh->kind == FH_SCRATCH)
        vfs_queue_release(v, fh);
    else if (fh->kind == FH_CONFIG)
        vfs_config_release(v, fh);
    else
        vfs_fh_destroy(fh);
    fuse_reply_err(req, 0);
}

/* poll(2), select, epoll: `wait` and queue/run (once its id was read) are
 * readable once the job has ended (vfs_jobs_poll); everything else always
 * is, as a regular file. */
static void op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
                    struct fuse_pollhandle *ph)
{
    struct vfs_fh *fh = fi_fh(fi);
    if (fh->kind == FH_WAIT) {
        vfs_jobs_poll(req_vfs(req), req, fh, ph);
        return;
    }
    if (fh->kind == FH_CLONE) {
        vfs_queue_poll(req_vfs(req), req, fh, ph);
        return;
    }
    if (ph)
        fuse_pollhandle_destroy(ph);
    fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
}

struct opendir_wait {
    fuse_req_t req;
    struct fuse_file_info fi;
};

static void opendir_done(void *arg, int rc)
{
    struct opendir_wait *w = arg;
    (void)rc;   /* either way, list what is here now */
    fuse_reply_open(w->req, &w->fi);
    free(w);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct vfs *v = req_vfs(req);
    struct stat st;
    int rc = node_stat(v, req, ino, &st);
    struct opendir_wait *w;
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else if (!S_ISDIR(st.st_mode))
        fuse_reply_err(req, ENOTDIR);
    else if (ino == VFS_I_JOBS && v->barrier && !vfs_is_publisher(v, req)
             && (w = malloc(sizeof(*w)))) {
        /* a follower lists jobs/ once what the leader had is here too
         * (vfs_set_barrier), so `ls` after a cp anywhere shows the job */
        w->req = req;
        w->fi = *fi;
        if (v->barrier(v->barrier_arg, opendir_done, w) < 0) {
            free(w);
            fuse_reply_open(req, fi);
        }
    } else
        fuse_reply_open(req, fi);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    struct vfs *v = req_vfs(req);
    struct vfs_dirbuf db = { .req = req, .size = size };
    if (!(db.buf = malloc(size))) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    switch (VFS_KIND(ino)) {
    case VK_FIXED:
        if (ino == VFS_I_ROOT)
            vfs_root_readdir(v, &db, off);
        else if (vfs_queue_is_dir(ino))
            vfs_queue_readdir(v, &db, ino, off, fuse_req_ctx(req)->uid);
        else if (ino == VFS_I_JOBS)
            vfs_jobs_readdir(v, &db, ino, off);
        else if (ino == VFS_I_RESOURCES)
            vfs_res_readdir(v, &db, ino, off);
        else if (ino == VFS_I_ACCT)
            vfs_acct_readdir(v, &db, off);
        break;
    case VK_JOB:
        vfs_jobs_readdir(v, &db, ino, off);
        break;
    case VK_RES:
        vfs_res_readdir(v, &db, ino, off);
        break;
    case VK_QDIR:
        if (vfs_qdir_is_dir(ino))
            vfs_queue_readdir(v, &db, ino, off, fuse_req_ctx(req)->uid);
        break;
    }
    fuse_reply_buf(req, db.buf, db.len);
    free(db.buf);
}

static void forget_one(struct vfs *v, fuse_ino_t ino, uint64_t nlookup)
{
    if (VFS_KIND(ino) == VK_SCRATCH)
        vfs_queue_forget(v, ino, nlookup);
    else if (VFS_KIND(ino) == VK_JOB)
        vfs_jobs_forget(v, ino, nlookup);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    forget_one(req_vfs(req), ino, nlookup);
    fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    for (size_t i = 0; i < count; i++)
        forget_one(req_vfs(req), forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

/* df: the space left for jobs is the state directory's; files are jobs. */
static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct vfs *v = req_vfs(req);
    struct statvfs sv;
    if (!v->statedir || statvfs(v->statedir, &sv) < 0) {
        memset(&sv, 0, sizeof(sv));
        sv.f_bsize = sv.f_frsize = 4096;
    }
    size_t jobs = 0;
    for (int i = 0; i < JOB_NSTATES; i++)
        jobs += jobmgr_count(v->m, i);
    sv.f_files = jobs + sv.f_ffree;
    sv.f_namemax = NAME_MAX;
    fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .mkdir = op_mkdir,
    .mknod = op_mknod,
    .symlink = op_symlink,
    .link = op_link,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .readlink = op_readlink,
    .rename = op_rename,
    .create = op_create,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .release = op_release,
    .poll = op_poll,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .statfs = op_statfs,
};

const struct fuse_lowlevel_ops *vfs_ops(void)
{
    return &ops;
}

/* ---- lifecycle and broker hooks ---- */

struct vfs *vfs_create(struct jobmgr *m, struct ev_loop *loop)
{
    struct vfs *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    v->m = m;
    v->loop = loop;
    v->poke.kind = FH_POKE;
    v->poke.shared = true;
    v->owner = geteuid();
    v->t_mount = ev_now(loop);
    v->next_serial = 1;
    v->queue_mtime = v->drafts_mtime = v->jobs_mtime = v->t_mount;
    v->quota_bytes = VFS_QUOTA_BYTES;
    v->quota_files = VFS_QUOTA_FILES;
    return v;
}

void vfs_set_user_limits(struct vfs *v, uint64_t bytes, unsigned files)
{
    v->quota_bytes = bytes;
    v->quota_files = files;
}

void vfs_set_imp(struct vfs *v, struct imp *imp)
{
    v->imp = imp;
    vfs_asks_start(v);
}

static int set_path(char **dst, const char *dir)
{
    char *d = strdup(dir);
    if (!d)
        return -ENOMEM;
    free(*dst);
    *dst = d;
    return 0;
}

int vfs_set_statedir(struct vfs *v, const char *dir)
{
    return set_path(&v->statedir, dir);
}

int vfs_set_mountpoint(struct vfs *v, const char *dir)
{
    return set_path(&v->mountpoint, dir);
}

void vfs_shutdown(struct vfs *v)
{
    v->stopping = true;
}

void vfs_set_nests(struct vfs *v, struct nests *ns)
{
    if (v)
        v->nests = ns;
}

void vfs_set_forward(struct vfs *v, vfs_forward_f fn, void *arg)
{
    v->forward = fn;
    v->forward_arg = arg;
}

void vfs_set_forward_ctl(struct vfs *v, vfs_forward_ctl_f fn)
{
    v->forward_ctl = fn;
}

void vfs_forward_write(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, uint64_t jobid,
                       const char *subject, const char *buf, size_t size)
{
    struct errmsg err = { "" };
    uint64_t token = ++v->forward_serial;
    int rc = v->forward_ctl(v->forward_arg, token, jobid, fh->uid, buf, size, subject, &err);
    if (rc == 0) {
        defer_submission(v, req, NULL, DEFER_WRITE, size, 0, token);
        return;
    }
    vfs_errlog_add(v, fuse_req_ctx(req)->uid, subject, -rc, err.text);
    fuse_reply_err(req, -rc);
}

void vfs_set_barrier(struct vfs *v, vfs_barrier_f fn, void *arg)
{
    v->barrier = fn;
    v->barrier_arg = arg;
}

/* The answer to what waits under token: a leader's (durable already), or
 * the ingest thread's (accepted, durable with the next commit: rc 0 keeps
 * them waiting, now for it). */
static void token_answered(struct vfs *v, uint64_t token, int rc, const char *ids, uid_t uid,
                           const char *subject, const char *why, bool durable)
{
    bool logged = false;
    /* every request waiting on it: a close (flush), a read of queue/new */
    for (struct vfs_deferred **pp = &v->submits; *pp;) {
        struct vfs_deferred *d = *pp;
        if (d->token != token) {
            pp = &d->next;
            continue;
        }
        struct vfs_fh *fh = d->fh;
        if (fh && fh->submit_rc == 1 && fh->token == token) {
            if (rc == 0 && ids)
                strbuf_addstr(&fh->ids, ids);
            fh->token = 0;   /* ids added once; a close from now on waits as any */
        }
        d->token = 0;
        if (rc == 0 && !durable) {
            pp = &d->next;   /* the commit and sync to come finish it */
            continue;
        }
        *pp = d->next;
        if (fh && fh->submit_rc == 1)
            fh->submit_rc = rc;
        if (rc < 0 && !logged) {
            vfs_errlog_add(v, uid, subject ? subject : "new", -rc, why ? why : strerror(-rc));
            logged = true;
        }
        vfs_submission_done(v, d, rc);
        free(d);
    }
    if (rc < 0 && !logged)   /* nobody waits (the file was closed for good) */
        vfs_errlog_add(v, uid, subject ? subject : "new", -rc, why ? why : strerror(-rc));
    if (rc == 0)
        vfs_queue_touch(v, VFS_I_QUEUE);
}

void vfs_forward_done(struct vfs *v, uint64_t token, int rc, const char *ids, uid_t uid,
                      const char *subject, const char *why)
{
    token_answered(v, token, rc, ids, uid, subject, why, true);
}

void vfs_parsed(struct vfs *v, uint64_t token, int rc, const char *ids, uid_t uid,
                const char *subject, const char *why)
{
    token_answered(v, token, rc, ids, uid, subject, why, false);
}

void vfs_set_status_extra(struct vfs *v, vfs_status_extra_f fn, void *arg)
{
    v->status_extra = fn;
    v->status_extra_arg = arg;
}

void vfs_set_publisher(struct vfs *v, struct publisher *p)
{
    v->pub = p;
    v->pub_tid = publisher_tid(p);
}

static void deferred_finish(struct vfs *v, struct vfs_deferred *d, int rc)
{
    if (d->what == DEFER_WAIT)
        fuse_reply_err(d->req, -rc);
    else
        vfs_submission_done(v, d, rc);
    free(d);
}

void vfs_destroy(struct vfs *v)
{
    if (!v)
        return;
    while (v->deferred) {
        struct vfs_deferred *d = v->deferred;
        v->deferred = d->next;
        deferred_finish(v, d, -EINTR);
    }
    while (v->submits) {
        struct vfs_deferred *d = v->submits;
        v->submits = d->next;
        deferred_finish(v, d, -EINTR);   /* never durable */
    }
    while (v->pollers)
        vfs_jobs_unpoll(v, v->pollers);
    vfs_asks_stop(v);
    vfs_queue_destroy(v);
    vfs_quota_destroy(v);
    free(v->statedir);
    free(v->mountpoint);
    while (v->errlogs) {
        struct vfs_errlog *e = v->errlogs;
        v->errlogs = e->next;
        for (int i = 0; i < 16; i++)
            free(e->lines[i]);
        free(e);
    }
    free(v);
}

/* Answer submitters at once: their job is durable, and visible to everyone
 * but the publisher from now on (see vfs_job_visible); its IN_CREATE
 * follows when the publisher's mkdir comes through, off the submitter's
 * critical path. */
/* Finish the submissions that fit: after a commit, those waiting for no
 * sync (ticket 0, not forwarded), with the commit's rc; after a sync, those
 * whose sync is done (0 < d->ticket <= done), each with its sync's
 * outcome (vfs_sync_result). The rest stay, in order. */
static void finish_submits(struct vfs *v, bool committed, uint64_t done, int rc)
{
    /* oldest first, though each submitter waits for its own only; one
     * forwarded to the leader waits for the leader's answer instead */
    struct vfs_deferred *d = v->submits, *rev = NULL, *keep = NULL, **tail = &keep;
    v->submits = NULL;
    while (d) {
        struct vfs_deferred *next = d->next;
        bool ready = !d->token && (committed ? d->ticket == 0 : d->ticket && d->ticket <= done);
        if (!ready) {
            d->next = NULL;
            *tail = d;
            tail = &d->next;
        } else {
            d->next = rev;
            rev = d;
        }
        d = next;
    }
    /* what was kept is older than what came since (vfs_defer pushes in front) */
    *tail = v->submits;
    v->submits = keep;
    while (rev) {
        d = rev;
        rev = d->next;
        /* a commit's error is everyone's; a sync's, only what it covered */
        int r = committed ? rc : vfs_sync_result(v, d->ticket);
        deferred_finish(v, d, r);
    }
}

void vfs_set_sync(struct vfs *v, const struct vfs_sync_ops *ops, void *arg)
{
    v->sync_ops = ops;
    v->sync_arg = arg;
}

int vfs_sync_result(const struct vfs *v, uint64_t ticket)
{
    if (v->sync_ops)
        return v->sync_ops->result(v->sync_arg, ticket);
    return ticket <= v->sync_failed ? v->sync_failed_rc : 0;
}

/* An answer the syncer's thread sends: a copy of what it needs, for the
 * deferral stays the loop's (the handle's outcome, queue/errors). */
struct sync_answer {
    fuse_req_t req;
    int what;
    size_t size;
    struct stat entry;
};

static void answer_synced(void *arg, int rc)
{
    struct sync_answer *a = arg;
    if (rc < 0)
        fuse_reply_err(a->req, -rc);
    else if (a->what == DEFER_WRITE)
        fuse_reply_write(a->req, a->size);
    else if (a->what == DEFER_ENTRY)
        vfs_reply_entry(a->req, &a->entry, VFS_TTL_NONE);
    else
        fuse_reply_err(a->req, 0);
    free(a);
}

void vfs_answer_on_sync(struct vfs *v, struct vfs_deferred *d)
{
    if (!v->sync_ops || !d->ticket || d->token
        || (d->what != DEFER_FLUSH && d->what != DEFER_WRITE && d->what != DEFER_ENTRY))
        return;
    struct sync_answer *a = malloc(sizeof(*a));
    if (!a)
        return;   /* the loop answers, as without a syncer */
    *a = (struct sync_answer){ .req = d->req, .what = d->what, .size = d->size,
                               .entry = d->entry };
    if (v->sync_ops->answer_after(v->sync_arg, d->ticket, answer_synced, a) == 0)
        d->req = NULL;   /* the syncer's now: the loop only keeps the books */
    else
        free(a);
}

void vfs_after_commit(struct vfs *v, int commit_rc, uint64_t ticket)
{
    if (commit_rc < 0 || ticket == 0) {
        finish_submits(v, true, 0, commit_rc < 0 ? commit_rc : 0);
        return;
    }
    /* committed, durable once sync `ticket` is: each waits for it, but a
     * read of queue/new, which gets its ids now (the close that follows
     * waits instead: a submission is durable when its close() returns, and
     * `fluxfs run` waits for its job meanwhile) */
    for (struct vfs_deferred **pp = &v->submits; *pp;) {
        struct vfs_deferred *d = *pp;
        if (d->token || d->ticket) {
            pp = &d->next;
        } else if (d->what == DEFER_CLONE_READ && d->fh && d->fh->submit_rc == 1) {
            *pp = d->next;
            d->fh->sync_ticket = ticket;
            vfs_clone_ids(v, d->req, d->fh, d->size, d->off);
            free(d);
        } else {
            d->ticket = ticket;
            /* another close of the same file (a descriptor passed on) that
             * comes before this sync ends waits for it too, not for the
             * next commit */
            if (d->fh && d->fh->submit_rc == 1)
                d->fh->sync_ticket = ticket;
            vfs_answer_on_sync(v, d);
            pp = &d->next;
        }
    }
}

void vfs_after_sync(struct vfs *v, uint64_t done, uint64_t failed, int fail_rc)
{
    v->synced = done;
    if (failed) {
        v->sync_failed = failed;
        v->sync_failed_rc = fail_rc;
    }
    finish_submits(v, false, done, 0);
}

void vfs_job_changed(void *arg, struct job *job, enum jobmgr_change what, int stream)
{
    struct vfs *v = arg;
    char path[64];

    switch (what) {
    case JOBMGR_JOURNAL:
        v->events_mtime = ev_now(v->loop);
        if (v->pub)
            publisher_poke(v->pub, "events");
        return;
    case JOBMGR_NEW:
        v->jobs_mtime = ev_now(v->loop);
        if (!v->pub) {
            jobmgr_job_announced(v->m, job);
            return;
        }
        snprintf(path, sizeof(path), "jobs/%s", job_get_idstr(job));
        publisher_mkdir(v->pub, path);
        return;
    /* a change is poked only where a watch may be: on an inode of the
     * job the kernel holds for more than its announcement (an inotify
     * watch holds its inode). Most jobs no one looks at. */
    case JOBMGR_STATE:
        if (job_get_state(job) == JOB_INACTIVE)
            vfs_jobs_wake(v, job);
        if (v->pub && job_is_committed(job) && vfs_job_watchable(job)) {
            snprintf(path, sizeof(path), "jobs/%s/state", job_get_idstr(job));
            publisher_poke(v->pub, path);
        }
        return;
    case JOBMGR_OUTPUT:
        if (v->pub && job_is_committed(job) && vfs_job_watchable(job)) {
            snprintf(path, sizeof(path), "jobs/%s/%s", job_get_idstr(job),
                     stream == 1 ? "stdout" : "stderr");
            publisher_poke(v->pub, path);
        }
        return;
    case JOBMGR_GONE:
        v->jobs_mtime = ev_now(v->loop);
        /* its directory disappears from listings and lookups at once; open
         * handles name it by id and get ENOENT from now on. A follower may
         * see a job go that it never saw end (both in one batch of the
         * leader's commits): its `wait` readers get ENOENT, not silence. */
        vfs_jobs_gone(v, job);
        return;
    }
}


static void on_interrupt(fuse_req_t req, void *data)
{
    struct vfs_deferred *d = data;
    struct vfs *v = req_vfs(req);
    /* answered after this request batch, outside libfuse's request lock */
    d->interrupted = true;
    v->interrupts = true;
}

void vfs_wait_defer(struct vfs *v, fuse_req_t req, struct vfs_deferred *d);
void vfs_wait_defer(struct vfs *v, fuse_req_t req, struct vfs_deferred *d)
{
    vfs_defer(v, d);
    fuse_req_interrupt_func(req, on_interrupt, d);
}

void vfs_process_interrupts(struct vfs *v)
{
    if (!v->interrupts)
        return;
    v->interrupts = false;
    struct vfs_deferred **pp = &v->deferred;
    while (*pp) {
        struct vfs_deferred *d = *pp;
        if (d->what == DEFER_WAIT && d->interrupted) {
            *pp = d->next;
            fuse_reply_err(d->req, EINTR);
            free(d);
        } else
            pp = &d->next;
    }
}
