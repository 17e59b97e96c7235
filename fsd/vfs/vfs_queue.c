/* vfs_queue.c - queue/: submission by copy, the queue/new clone file,
 * scratch (".name") files, and queue/errors.
 *
 * A visible file created in queue/ is a submission: its content is collected
 * in the open handle and submitted when the writer closes it (FUSE flush),
 * so close() returns only after the job is durable (or fails with the
 * reason logged to queue/errors). Lookups of visible names always miss, so
 * every create makes a fresh submission, even for the same name.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/jobstream.h"
#include "fsd/vfs/vfs_private.h"

#define SCRATCH_MAX_PER_USER 64

static bool is_scratch_name(const char *name)
{
    return name[0] == '.';
}

static struct vfs_scratch *scratch_find(struct vfs *v, const char *name)
{
    for (struct vfs_scratch *s = v->scratch; s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

/* Listed scratch files only (lookups, forget bookkeeping). */
static struct vfs_scratch *scratch_listed(struct vfs *v, fuse_ino_t ino)
{
    for (struct vfs_scratch *s = v->scratch; s; s = s->next)
        if (s->ino == ino)
            return s;
    return NULL;
}

/* Any scratch file the kernel may still name, unlinked ones included (an
 * open file can be stat'ed and truncated after unlink). */
static struct vfs_scratch *scratch_by_ino(struct vfs *v, fuse_ino_t ino)
{
    struct vfs_scratch *s = scratch_listed(v, ino);
    for (s = s ? s : v->scratch_gone; s && s->ino != ino; s = s->next)
        ;
    return s;
}

static void scratch_free(struct vfs_scratch *s)
{
    strbuf_release(&s->data);
    free(s->name);
    free(s);
}

/* Take s out of queue/; it is freed once the kernel forgets it. */
static void scratch_unlink(struct vfs *v, struct vfs_scratch *s)
{
    for (struct vfs_scratch **pp = &v->scratch; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    s->unlinked = true;
    if (s->nlookup == 0) {
        scratch_free(s);
        return;
    }
    s->next = v->scratch_gone;
    v->scratch_gone = s;
}

static void scratch_stat(struct vfs *v, const struct vfs_scratch *s, struct stat *st)
{
    vfs_stat_file(v, st, s->ino, s->uid, 0600, s->data.len,
                  s->mtime.tv_sec + s->mtime.tv_nsec / 1e9);
    st->st_gid = s->gid;
}

int vfs_queue_stat(struct vfs *v, fuse_ino_t ino, struct stat *st)
{
    if (VFS_KIND(ino) == VK_SUBMIT) {
        /* a submission in progress: only its writer knows it, as a fresh file */
        vfs_stat_file(v, st, ino, v->owner, 0644, 0, ev_now(v->loop));
        return 0;
    }
    struct vfs_scratch *s = scratch_by_ino(v, ino);
    if (!s)
        return -ENOENT;
    scratch_stat(v, s, st);
    return 0;
}

void vfs_queue_lookup(struct vfs *v, fuse_req_t req, const char *name)
{
    struct stat st;
    if (strcmp(name, "new") == 0 || strcmp(name, "errors") == 0) {
        vfs_fixed_stat(v, name[0] == 'n' ? VFS_I_QNEW : VFS_I_QERRORS, &st);
        vfs_reply_entry(req, &st, VFS_TTL_FIXED);
        return;
    }
    struct vfs_scratch *s = is_scratch_name(name) ? scratch_find(v, name) : NULL;
    if (!s) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    scratch_stat(v, s, &st);
    s->nlookup++;
    vfs_reply_entry(req, &st, VFS_TTL_NONE);
}

void vfs_queue_readdir(struct vfs *v, struct vfs_dirbuf *db, off_t off, uid_t uid)
{
    if (off < 1 && !vfs_dirbuf_add(db, ".", VFS_I_QUEUE, S_IFDIR, 1))
        return;
    if (off < 2 && !vfs_dirbuf_add(db, "..", VFS_I_ROOT, S_IFDIR, 2))
        return;
    if (off < 3 && !vfs_dirbuf_add(db, "errors", VFS_I_QERRORS, S_IFREG, 3))
        return;
    if (off < 4 && !vfs_dirbuf_add(db, "new", VFS_I_QNEW, S_IFREG, 4))
        return;
    /* scratch files, ordered by inode serial (stable across calls) */
    fuse_ino_t from = off >= 4 ? VFS_INO(VK_SCRATCH, off - 4) : 0;
    for (;;) {
        struct vfs_scratch *best = NULL;
        for (struct vfs_scratch *s = v->scratch; s; s = s->next)
            if (s->ino >= from && (!best || s->ino < best->ino))
                best = s;
        if (!best || !vfs_dirbuf_add(db, best->name, best->ino, S_IFREG,
                                     VFS_NUM(best->ino) + 5))
            return;
        from = best->ino + 1;
    }
}

static int scratch_count(struct vfs *v, uid_t uid)
{
    int n = 0;
    for (struct vfs_scratch *s = v->scratch; s; s = s->next)
        n += s->uid == uid;
    return n;
}

void vfs_queue_create(struct vfs *v, fuse_req_t req, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    struct fuse_entry_param e;
    struct vfs_fh *fh;

    if (strcmp(name, "new") == 0 || strcmp(name, "errors") == 0) {
        fuse_reply_err(req, EEXIST);
        return;
    }
    memset(&e, 0, sizeof(e));
    if (is_scratch_name(name)) {
        if (scratch_find(v, name)) {
            fuse_reply_err(req, EEXIST);
            return;
        }
        if (scratch_count(v, ctx->uid) >= SCRATCH_MAX_PER_USER) {
            fuse_reply_err(req, EDQUOT);
            return;
        }
        struct vfs_scratch *s = calloc(1, sizeof(*s));
        if (!s || !(s->name = strdup(name)) || !(fh = vfs_fh_create(req, FH_SCRATCH, 0))) {
            if (s)
                free(s->name);
            free(s);
            fuse_reply_err(req, ENOMEM);
            return;
        }
        s->ino = VFS_INO(VK_SCRATCH, v->next_serial++);
        s->uid = ctx->uid;
        s->gid = ctx->gid;
        s->nlookup = 1;
        strbuf_init(&s->data);
        clock_gettime(CLOCK_REALTIME, &s->mtime);
        s->next = v->scratch;
        v->scratch = s;
        fh->scratch = s;
        fh->ino = s->ino;
        scratch_stat(v, s, &e.attr);
    } else {
        fh = vfs_fh_create(req, FH_SUBMIT, VFS_INO(VK_SUBMIT, v->next_serial++));
        if (!fh || !(fh->name = strdup(name))) {
            vfs_fh_destroy(fh);
            fuse_reply_err(req, ENOMEM);
            return;
        }
        vfs_queue_stat(v, fh->ino, &e.attr);
        e.attr.st_uid = ctx->uid;
        e.attr.st_gid = ctx->gid;
    }
    e.ino = fh->ino;
    fi->fh = (uint64_t)(uintptr_t)fh;
    fi->direct_io = 1;
    if (fuse_reply_create(req, &e, fi) != 0) {
        if (fh->scratch)
            fh->scratch->nlookup--;
        vfs_fh_destroy(fh);
    }
}

void vfs_queue_open(struct vfs *v, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct vfs_fh *fh;
    if (ino == VFS_I_QNEW) {
        if (!(fh = vfs_fh_create(req, FH_CLONE, ino))) {
            fuse_reply_err(req, ENOMEM);
            return;
        }
        vfs_reply_open(req, fi, fh, true);
        return;
    }
    struct vfs_scratch *s = VFS_KIND(ino) == VK_SCRATCH ? scratch_by_ino(v, ino) : NULL;
    if (!s) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    uid_t uid = fuse_req_ctx(req)->uid;
    if (uid != s->uid && !vfs_is_privileged(v, uid)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    if (!(fh = vfs_fh_create(req, FH_SCRATCH, ino))) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    fh->scratch = s;
    if (fi->flags & O_TRUNC)
        strbuf_reset(&s->data);
    vfs_reply_open(req, fi, fh, true);
}

int vfs_queue_truncate(struct vfs *v, fuse_ino_t ino, off_t size)
{
    struct vfs_scratch *s = scratch_by_ino(v, ino);
    if (!s)
        return VFS_KIND(ino) == VK_SUBMIT ? 0 : -ENOENT;
    if (size < 0 || size > VFS_SUBMIT_MAX)
        return -EFBIG;
    if ((size_t)size > s->data.len) {
        if (strbuf_grow(&s->data, size - s->data.len) < 0)
            return -ENOMEM;
        memset(s->data.buf + s->data.len, 0, size - s->data.len);
    }
    s->data.len = size;
    s->data.buf[size] = '\0';
    clock_gettime(CLOCK_REALTIME, &s->mtime);
    return 0;
}

int vfs_submission_truncate(struct vfs_fh *fh, off_t size)
{
    if (fh->kind != FH_SUBMIT || size < 0 || size > VFS_SUBMIT_MAX)
        return fh->kind != FH_SUBMIT ? 0 : -EFBIG;
    if (fh->submitted)
        return -EBUSY;
    if ((size_t)size > fh->data.len) {
        if (strbuf_grow(&fh->data, size - fh->data.len) < 0)
            return -ENOMEM;
        memset(fh->data.buf + fh->data.len, 0, size - fh->data.len);
    }
    fh->data.len = size;
    fh->data.buf[size] = '\0';
    return 0;
}

static int buf_write(struct strbuf *sb, const char *buf, size_t size, off_t off)
{
    if (off < 0 || (size_t)off + size > VFS_SUBMIT_MAX)
        return -EFBIG;
    size_t end = off + size;
    if (end > sb->len) {
        if (strbuf_grow(sb, end - sb->len) < 0)
            return -ENOMEM;
        if ((size_t)off > sb->len)
            memset(sb->buf + sb->len, 0, off - sb->len);
        sb->len = end;
        sb->buf[end] = '\0';
    }
    memcpy(sb->buf + off, buf, size);
    return 0;
}

void vfs_queue_write(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, const char *buf,
                     size_t size, off_t off)
{
    int rc;
    if (fh->kind == FH_SCRATCH) {
        rc = buf_write(&fh->scratch->data, buf, size, off);
        clock_gettime(CLOCK_REALTIME, &fh->scratch->mtime);
    } else if (fh->submitted)
        rc = -EBUSY;   /* this handle's job is already submitted */
    else
        rc = buf_write(&fh->data, buf, size, off);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_write(req, size);
}

/* Submit text on behalf of the caller: one job, or many (a stream of
 * jobspecs, all or none); they become durable at the next commit. Their ids
 * go to ids (if not NULL), a line each. Logs a rejection to the caller's
 * queue/errors. */
static int submit_text(struct vfs *v, const char *text, size_t len, uid_t uid, gid_t gid,
                       pid_t pid, const char *subject, struct strbuf *ids)
{
    char link[64], cwd[PATH_MAX];
    struct errmsg err = { "" };
    struct jobstream_doc *docs = NULL;
    struct job **jobs = NULL;

    /* jobs run where their submitter stood, as with sbatch and flux submit */
    if (v->stopping) {
        vfs_errlog_add(v, uid, subject, EAGAIN, "the instance is shutting down");
        return -EAGAIN;
    }
    snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
    ssize_t n = readlink(link, cwd, sizeof(cwd) - 1);
    if (n > 0)
        cwd[n] = '\0';
    int rc = jobstream_split(text, len, &docs, &err);
    if (rc > 0 && !(jobs = calloc((size_t)rc, sizeof(*jobs))))
        rc = errmsg_set(&err, -ENOMEM, "out of memory");
    if (rc > 0) {
        size_t njobs = (size_t)rc;
        rc = jobmgr_submit_many(v->m, text, docs, njobs, uid, gid, n > 0 ? cwd : NULL, jobs,
                                &err);
        /* out of memory here, the reader gets fewer ids: the jobs are
         * accepted all the same, and listed in jobs/ */
        for (size_t i = 0; rc == 0 && ids && i < njobs; i++)
            if (strbuf_addf(ids, "%s\n", jobs[i]->idstr) < 0)
                break;
    }
    free(jobs);
    free(docs);
    if (rc < 0)
        vfs_errlog_add(v, uid, subject, -rc, err.text);
    return rc < 0 ? rc : 0;
}

static void defer_submission(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, int what,
                             size_t size)
{
    struct vfs_deferred *d = calloc(1, sizeof(*d));
    if (!d) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    d->req = req;
    d->what = what;
    d->fh = fh;
    d->size = size;
    vfs_defer(v, d);
}

/* Submit fh's content if not yet done, then answer req now or after commit. */
static void submit_or_defer(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, int what,
                            size_t size)
{
    if (!fh->submitted) {
        fh->submitted = true;
        const char *subject = fh->name ? fh->name : "new";
        fh->submit_rc = submit_text(v, fh->data.buf, fh->data.len, fh->uid, fh->gid, fh->pid,
                                    subject, fh->kind == FH_CLONE ? &fh->ids : NULL);
        if (fh->submit_rc == 0)
            fh->submit_rc = 1;   /* pending until durable */
    }
    if (fh->submit_rc == 1) {
        defer_submission(v, req, fh, what, size);
        return;
    }
    struct vfs_deferred d = { .req = req, .what = what, .fh = fh, .size = size };
    vfs_submission_done(v, &d, fh->submit_rc);
}

void vfs_submission_done(struct vfs *v, struct vfs_deferred *d, int rc)
{
    /* the first answer for an accepted submission fixes its outcome; a
     * failure here means the commit failed (validation errors were logged
     * when they happened) */
    if (d->fh && d->fh->submit_rc == 1) {
        d->fh->submit_rc = rc;
        if (rc < 0 && rc != -EINTR)
            vfs_errlog_add(v, d->fh->uid, d->fh->name ? d->fh->name : "new", -rc,
                           "the job could not be stored");
    }
    if (d->what == DEFER_FLUSH || rc < 0) {
        fuse_reply_err(d->req, rc < 0 ? -rc : 0);
        return;
    }
    /* DEFER_CLONE_READ: the id lines, once per handle, in as many reads as
     * the reader asks for */
    struct vfs_fh *fh = d->fh;
    if (!fh || fh->id_read) {
        fuse_reply_buf(d->req, NULL, 0);
        return;
    }
    size_t left = fh->ids.len - fh->id_off, n = left < d->size ? left : d->size;
    fuse_reply_buf(d->req, fh->ids.buf + fh->id_off, n);
    fh->id_off += n;
    fh->id_read = fh->id_off == fh->ids.len;
}

void vfs_queue_flush(struct vfs *v, fuse_req_t req, struct vfs_fh *fh)
{
    /* queue/new closed without content submits nothing */
    if (fh->kind == FH_CLONE && !fh->submitted && fh->data.len == 0) {
        fuse_reply_err(req, 0);
        return;
    }
    submit_or_defer(v, req, fh, DEFER_FLUSH, 0);
}

void vfs_queue_read(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, size_t size, off_t off)
{
    if (fh->kind == FH_SCRATCH) {
        vfs_reply_slice(req, fh->scratch->data.buf, fh->scratch->data.len, size, off);
        return;
    }
    if (fh->kind == FH_SUBMIT) {
        vfs_reply_slice(req, fh->data.buf, fh->data.len, size, off);
        return;
    }
    /* queue/new: the first read submits and returns the id, wherever the
     * file offset is (shell `read` after `cat >&3` starts past the spec) */
    if (!fh->submitted && fh->data.len == 0) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    if (fh->submitted && fh->id_read) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    submit_or_defer(v, req, fh, DEFER_CLONE_READ, size);
}

void vfs_queue_unlink(struct vfs *v, fuse_req_t req, const char *name)
{
    struct vfs_scratch *s = is_scratch_name(name) ? scratch_find(v, name) : NULL;
    if (!s) {
        fuse_reply_err(req, strcmp(name, "new") && strcmp(name, "errors") ? ENOENT : EPERM);
        return;
    }
    uid_t uid = fuse_req_ctx(req)->uid;
    if (uid != s->uid && !vfs_is_privileged(v, uid)) {
        fuse_reply_err(req, EPERM);
        return;
    }
    scratch_unlink(v, s);
    fuse_reply_err(req, 0);
}

void vfs_queue_rename(struct vfs *v, fuse_req_t req, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    struct vfs_scratch *s = is_scratch_name(name) ? scratch_find(v, name) : NULL;

    if (!s) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (newparent != VFS_I_QUEUE) {
        fuse_reply_err(req, EXDEV);
        return;
    }
    if (ctx->uid != s->uid && !vfs_is_privileged(v, ctx->uid)) {
        fuse_reply_err(req, EPERM);
        return;
    }
    if (flags & RENAME_EXCHANGE || !strcmp(newname, "new") || !strcmp(newname, "errors")) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    if (is_scratch_name(newname)) {
        struct vfs_scratch *old = scratch_find(v, newname);
        if (old == s) {
            fuse_reply_err(req, 0);
            return;
        }
        if (old && (flags & RENAME_NOREPLACE)) {
            fuse_reply_err(req, EEXIST);
            return;
        }
        if (old && old->uid != ctx->uid && !vfs_is_privileged(v, ctx->uid)) {
            fuse_reply_err(req, EPERM);   /* sticky: another user's file stays */
            return;
        }
        char *n = strdup(newname);
        if (!n) {
            fuse_reply_err(req, ENOMEM);
            return;
        }
        if (old)
            scratch_unlink(v, old);
        free(s->name);
        s->name = n;
        fuse_reply_err(req, 0);
        return;
    }
    /* renaming a scratch file to a visible name submits it, once */
    int rc = submit_text(v, s->data.buf, s->data.len, ctx->uid, ctx->gid, ctx->pid, newname, NULL);
    if (rc < 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    scratch_unlink(v, s);
    defer_submission(v, req, NULL, DEFER_FLUSH, 0);
}

void vfs_queue_forget(struct vfs *v, fuse_ino_t ino, uint64_t nlookup)
{
    struct vfs_scratch *s = scratch_listed(v, ino);
    if (s) {
        s->nlookup = s->nlookup > nlookup ? s->nlookup - nlookup : 0;
        return;
    }
    /* an unlinked scratch file is freed when the kernel lets go of it */
    for (struct vfs_scratch **pp = &v->scratch_gone; *pp; pp = &(*pp)->next) {
        s = *pp;
        if (s->ino != ino)
            continue;
        s->nlookup = s->nlookup > nlookup ? s->nlookup - nlookup : 0;
        if (s->nlookup == 0) {
            *pp = s->next;
            scratch_free(s);
        }
        return;
    }
}

static void scratch_free_list(struct vfs_scratch *s)
{
    while (s) {
        struct vfs_scratch *next = s->next;
        scratch_free(s);
        s = next;
    }
}

void vfs_queue_destroy(struct vfs *v)
{
    scratch_free_list(v->scratch);
    scratch_free_list(v->scratch_gone);
    v->scratch = v->scratch_gone = NULL;
}
