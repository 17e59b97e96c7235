/* vfs_queue.c - queue/ and queue/drafts/: submission by copy, the
 * queue/new clone file, and the dispatch of names to scratch files
 * (vfs_scratch.c) or submissions.
 *
 * A visible file created in queue/ is a submission: its content is collected
 * in the open handle and submitted at the close that ends the writing (FUSE
 * flush), so close() returns only after the job is durable (or fails with
 * the reason logged to queue/errors). Shells and dd close a duplicate before
 * they write, and shells close and reopen duplicates around every builtin;
 * so a close submits only when something was written and neither the
 * closing process nor its parent still has the file open (see
 * vfs_still_open()). Lookups of visible names miss, but for the writer's own
 * process for a few seconds after its submission (a "ghost", so that
 * `install` can chmod what it wrote), so every create makes a fresh
 * submission, even for the same name.
 */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/jobstream.h"
#include "exec/imp_client.h"
#include "exec/procfd.h"
#include "fsd/ingest.h"
#include "fsd/queues.h"
#include "fsd/vfs/vfs_private.h"

bool vfs_queue_is_dir(fuse_ino_t ino)
{
    return ino == VFS_I_QUEUE || ino == VFS_I_QDRAFTS || vfs_qdir_is_dir(ino);
}

/* Whether name in dir is a scratch file rather than a submission. */
static bool is_scratch_name(fuse_ino_t dir, const char *name)
{
    return dir == VFS_I_QDRAFTS || name[0] == '.';
}

/* Names of queue/ (and of queue/NAME/) that are not files of users. */
static bool is_reserved(fuse_ino_t dir, const char *name)
{
    if (vfs_qdir_is_dir(dir))
        return vfs_qdir_reserved(name);
    return dir == VFS_I_QUEUE &&
           (!strcmp(name, "new") || !strcmp(name, "run") || !strcmp(name, "errors")
            || !strcmp(name, "drafts"));
}

/* A named queue's directory whose queue was removed (a shell may still
 * stand in it): nothing is made or found there. */
static bool dir_gone(struct vfs *v, fuse_ino_t dir)
{
    return vfs_qdir_is_dir(dir) && !vfs_qdir_name(v, dir);
}

/* ---- scratch files ---- */

/* ---- submissions in progress and just made ---- */

static struct vfs_fh *submission_by_ino(struct vfs *v, fuse_ino_t ino)
{
    for (struct vfs_fh *fh = v->open_submits; fh; fh = fh->next_open)
        if (fh->ino == ino)
            return fh;
    return NULL;
}

static void submission_forget(struct vfs *v, struct vfs_fh *fh)
{
    for (struct vfs_fh **pp = &v->open_submits; *pp; pp = &(*pp)->next_open) {
        if (*pp == fh) {
            *pp = fh->next_open;
            return;
        }
    }
}

/* ---- stat, lookup, readdir ---- */

int vfs_queue_stat(struct vfs *v, fuse_ino_t ino, struct stat *st)
{
    if (VFS_KIND(ino) == VK_SUBMIT || VFS_KIND(ino) == VK_GHOST) {
        /* an open submission first: a ghost opened again is one */
        struct vfs_fh *fh = submission_by_ino(v, ino);
        if (fh) {
            vfs_attr_stat(v, &fh->attr, ino, fh->data.len, st);
            return 0;
        }
        struct vfs_ghost *g = vfs_ghost_by_ino(v, ino);
        if (!g)
            return -ENOENT;
        vfs_attr_stat(v, &g->attr, ino, g->size, st);
        return 0;
    }
    struct vfs_scratch *s = vfs_scratch_by_ino(v, ino);
    if (!s)
        return -ENOENT;
    vfs_scratch_stat(v, s, st);
    return 0;
}

void vfs_queue_lookup(struct vfs *v, fuse_req_t req, fuse_ino_t dir, const char *name)
{
    struct stat st;
    if (dir_gone(v, dir)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (vfs_qdir_is_dir(dir) && is_reserved(dir, name))
        return vfs_qdir_lookup_file(v, req, dir, name);
    if (dir == VFS_I_QUEUE && !is_scratch_name(dir, name) && !is_reserved(dir, name)
        && vfs_qdir_lookup_in_queue(v, req, name))
        return;   /* a named queue's directory */
    if (dir == VFS_I_QUEUE && is_reserved(dir, name)) {
        fuse_ino_t ino = name[0] == 'n' ? VFS_I_QNEW : name[0] == 'r' ? VFS_I_QRUN
                       : name[0] == 'e' ? VFS_I_QERRORS : VFS_I_QDRAFTS;
        vfs_fixed_stat_as(v, ino, fuse_req_ctx(req)->uid, &st);
        /* queue/errors' size is its reader's: never cached */
        vfs_reply_entry(req, &st, ino == VFS_I_QERRORS ? VFS_TTL_NONE : VFS_TTL_FIXED);
        return;
    }
    if (!is_scratch_name(dir, name)) {
        struct vfs_ghost *g = vfs_ghost_find(v, req, dir, name);
        if (!g) {
            fuse_reply_err(req, ENOENT);
            return;
        }
        vfs_attr_stat(v, &g->attr, g->ino, g->size, &st);
        vfs_reply_entry(req, &st, VFS_TTL_NONE);
        return;
    }
    struct vfs_scratch *s = vfs_scratch_find(v, dir, name, fuse_req_ctx(req)->uid);
    if (!s) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    vfs_scratch_stat(v, s, &st);
    s->nlookup++;
    vfs_reply_entry(req, &st, VFS_TTL_NONE);
}

void vfs_queue_readdir(struct vfs *v, struct vfs_dirbuf *db, fuse_ino_t dir, off_t off,
                       uid_t uid)
{
    static const struct { const char *name; fuse_ino_t ino; mode_t mode; } fixed[] = {
        { "drafts", VFS_I_QDRAFTS, S_IFDIR },
        { "errors", VFS_I_QERRORS, S_IFREG },
        { "new", VFS_I_QNEW, S_IFREG },
        { "run", VFS_I_QRUN, S_IFREG },
    };
    enum { NFIXED = sizeof(fixed) / sizeof(fixed[0]) };
    /* queue/: its files, then the named queues at offsets 2 + NFIXED +
     * index; a named queue's: its 3 files. Scratch files after those. */
    off_t nfixed = dir == VFS_I_QUEUE ? NFIXED + QUEUES_MAX : vfs_qdir_is_dir(dir) ? 3 : 0;

    if (off < 1 && !vfs_dirbuf_add(db, ".", dir, S_IFDIR, 1))
        return;
    if (off < 2 && !vfs_dirbuf_add(db, "..", dir == VFS_I_QUEUE ? VFS_I_ROOT : VFS_I_QUEUE,
                                   S_IFDIR, 2))
        return;
    if (dir == VFS_I_QUEUE) {
        for (off_t i = off > 2 ? off - 2 : 0; i < NFIXED; i++)
            if (!vfs_dirbuf_add(db, fixed[i].name, fixed[i].ino, fixed[i].mode, i + 3))
                return;
        if (!vfs_qdir_list(v, db, off, 2 + NFIXED))
            return;
    } else if (vfs_qdir_is_dir(dir) && !vfs_qdir_list_files(v, db, dir, off))
        return;
    /* scratch files, ordered by inode serial (stable across calls) */
    off_t first = 2 + nfixed;
    fuse_ino_t from = off >= first ? VFS_INO(VK_SCRATCH, off - first) : 0;
    for (;;) {
        struct vfs_scratch *best = NULL;
        for (struct vfs_scratch *s = v->scratch; s; s = s->next)
            if (s->dir == dir && s->attr.uid == uid && s->ino >= from
                && (!best || s->ino < best->ino))
                best = s;
        if (!best || !vfs_dirbuf_add(db, best->name, best->ino, S_IFREG,
                                     VFS_NUM(best->ino) + first + 1))
            return;
        from = best->ino + 1;
    }
}

/* ---- create, open ---- */

static struct vfs_fh *submission_create(struct vfs *v, fuse_req_t req, fuse_ino_t dir,
                                        const char *name, mode_t mode)
{
    struct vfs_fh *fh = vfs_fh_create(req, FH_SUBMIT, VFS_INO(VK_SUBMIT, v->next_serial++));
    const char *queue = vfs_qdir_name(v, dir);
    if (!fh || !(fh->name = strdup(name)) || (queue && !(fh->queue = strdup(queue)))) {
        vfs_fh_destroy(fh);
        return NULL;
    }
    vfs_attr_init(&fh->attr, fuse_req_ctx(req), mode);
    vfs_queue_touch(v, VFS_I_QUEUE);
    return fh;
}

/* Once the kernel has the handle: fstat and fchmod find it by inode. */
static void submission_opened(struct vfs *v, struct vfs_fh *fh)
{
    fh->next_open = v->open_submits;
    v->open_submits = fh;
}

/* May the caller open one more file in queue/? Else its errno, said in its
 * queue/errors. */
static int may_open(struct vfs *v, fuse_req_t req, const char *subject)
{
    uid_t uid = fuse_req_ctx(req)->uid;
    int rc = vfs_quota_file(v, uid, 0);
    if (rc < 0)
        vfs_quota_refused(v, uid, subject, rc);
    return rc;
}

/* The kernel has the handle: it counts among its opener's open files. */
static void opened(struct vfs *v, struct vfs_fh *fh)
{
    if (vfs_quota_file(v, fh->uid, 1) == 0)
        fh->counted = true;
    /* a created file (cp) learns its directory with the answer to its
     * flush's question (vfs_ask_holds); queue/new and queue/run at their
     * first write (below), as they may submit before any flush */
}

/* queue/new, queue/run: the opener's directory is asked at the first
 * write, unless that write names one ("cwd": fluxfs submit and run always
 * do): a question to the helper per submission saved. A jobspec without
 * it after all is asked for it at its submission (find_cwd). */
static void ask_cwd_unless_named(struct vfs *v, struct vfs_fh *fh, const char *buf, size_t size)
{
    if (fh->kind == FH_CLONE && !fh->wrote && !fh->cwd_ask && !fh->cwd
        && !memmem(buf, size, "cwd", 3))
        vfs_ask_cwd(v, fh);
}

/* The bytes of buffer sb, owned by uid, go from sb->len to len: charged
 * (refused with -ENOSPC past the budget, logged once per handle) or
 * refunded. */
static int charge(struct vfs *v, uid_t uid, const struct strbuf *sb, size_t len)
{
    return vfs_quota_bytes(v, uid, (int64_t)len - (int64_t)sb->len);
}

void vfs_queue_create(struct vfs *v, fuse_req_t req, fuse_ino_t dir, const char *name,
                      mode_t mode, struct fuse_file_info *fi)
{
    struct fuse_entry_param e;
    struct vfs_fh *fh;
    struct vfs_scratch *s = NULL;

    if (dir_gone(v, dir)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (is_reserved(dir, name)) {
        fuse_reply_err(req, EEXIST);
        return;
    }
    int qrc = may_open(v, req, name);
    if (qrc < 0) {
        fuse_reply_err(req, -qrc);
        return;
    }
    memset(&e, 0, sizeof(e));
    if (is_scratch_name(dir, name)) {
        int rc = vfs_scratch_create(v, req, dir, name, mode, &s);
        if (rc < 0) {
            fuse_reply_err(req, -rc);
            return;
        }
        if (!(fh = vfs_fh_create(req, FH_SCRATCH, s->ino))) {
            vfs_scratch_unlink(v, s);
            fuse_reply_err(req, ENOMEM);
            return;
        }
        s->nlookup = 1;
        fh->scratch = s;
        vfs_scratch_stat(v, s, &e.attr);
    } else {
        if (!(fh = submission_create(v, req, dir, name, mode))) {
            fuse_reply_err(req, ENOMEM);
            return;
        }
        vfs_attr_stat(v, &fh->attr, fh->ino, 0, &e.attr);
    }
    e.ino = fh->ino;
    fi->fh = (uint64_t)(uintptr_t)fh;
    fi->direct_io = 1;
    if (fuse_reply_create(req, &e, fi) != 0) {
        /* the creator went away: no release will come */
        if (s)
            s->nlookup--;
        vfs_fh_destroy(fh);
        return;
    }
    opened(v, fh);
    if (fh->kind == FH_SUBMIT)
        submission_opened(v, fh);
}

void vfs_queue_open(struct vfs *v, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct vfs_fh *fh;
    int acc = fi->flags & O_ACCMODE;
    uid_t uid = fuse_req_ctx(req)->uid;
    int qrc = may_open(v, req, ino == VFS_I_QNEW ? "new" : ino == VFS_I_QRUN ? "run" : "queue/");
    if (qrc < 0) {
        fuse_reply_err(req, -qrc);
        return;
    }

    if (ino == VFS_I_QNEW || ino == VFS_I_QRUN) {
        if (!(fh = vfs_fh_create(req, FH_CLONE, ino))) {
            fuse_reply_err(req, ENOMEM);
            return;
        }
        fh->run = ino == VFS_I_QRUN;
        if (vfs_reply_open(req, fi, fh, true) == 0)
            opened(v, fh);
        return;
    }
    if (VFS_KIND(ino) == VK_GHOST) {
        /* writing the name again (shutil.copy twice, cp onto an existing
         * file) is a new submission; what was submitted is in jobs/ */
        struct vfs_ghost *g = vfs_ghost_by_ino(v, ino);
        if (!g || acc == O_RDONLY) {
            fuse_reply_err(req, g ? EACCES : ENOENT);
            return;
        }
        if (!(fh = submission_create(v, req, VFS_I_QUEUE, g->name, g->attr.mode))
            || (g->queue[0] && !(fh->queue = strdup(g->queue)))) {
            vfs_fh_destroy(fh);   /* (its queue: the ghost's, as its directory) */
            fuse_reply_err(req, ENOMEM);
            return;
        }
        fh->ino = g->ino;   /* the kernel knows it by this inode */
        g->ino = 0;         /* and its next submission leaves a new ghost */
        if (vfs_reply_open(req, fi, fh, true) == 0) {
            opened(v, fh);
            submission_opened(v, fh);
        }
        return;
    }
    if (VFS_KIND(ino) == VK_SUBMIT) {
        /* /dev/stdout, /dev/fd/N, /proc/PID/fd/N: another open of a file
         * being written, sharing its content and its fate */
        struct vfs_fh *t = submission_by_ino(v, ino);
        if (!t || (uid != t->uid && !vfs_is_privileged(v, uid))) {
            fuse_reply_err(req, t ? EACCES : ENOENT);
            return;
        }
        if (!(fh = vfs_fh_create(req, FH_SUBMIT, ino))) {
            fuse_reply_err(req, ENOMEM);
            return;
        }
        fh->target = t;
        t->refs++;
        if (fi->flags & O_TRUNC && !t->submitted) {
            charge(v, t->uid, &t->data, 0);
            vfs_buf_truncate(&t->data, 0);
        }
        if (vfs_reply_open(req, fi, fh, true) < 0)
            t->refs--;   /* fh was freed: the opener went away */
        else
            opened(v, fh);
        return;
    }
    struct vfs_scratch *s = VFS_KIND(ino) == VK_SCRATCH ? vfs_scratch_by_ino(v, ino) : NULL;
    if (!s) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (!vfs_scratch_may(v, s, uid, acc)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    if (!(fh = vfs_fh_create(req, FH_SCRATCH, ino))) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    fh->scratch = s;
    if (fi->flags & O_TRUNC) {
        charge(v, s->attr.uid, &s->data, 0);
        strbuf_reset(&s->data);
        vfs_scratch_touch(s);
    }
    if (vfs_reply_open(req, fi, fh, true) == 0)
        opened(v, fh);
}

/* ---- setattr ---- */

int vfs_queue_setattr(struct vfs *v, fuse_req_t req, fuse_ino_t ino, const struct stat *in,
                      int to_set, struct fuse_file_info *fi, struct stat *st)
{
    int rc = 0;
    bool size = to_set & FUSE_SET_ATTR_SIZE;
    int rest = to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_CTIME);

    switch (VFS_KIND(ino)) {
    case VK_SCRATCH: {
        struct vfs_scratch *s = vfs_scratch_by_ino(v, ino);
        if (!s)
            return -ENOENT;
        if (size && !fi && !vfs_scratch_may(v, s, fuse_req_ctx(req)->uid, O_WRONLY))
            return -EACCES;
        bool writable = vfs_scratch_may(v, s, fuse_req_ctx(req)->uid, O_WRONLY);
        uid_t was = s->attr.uid;
        /* given to another user: its name must be free in their names */
        struct vfs_scratch *clash = (rest & FUSE_SET_ATTR_UID) && in->st_uid != was
                                  ? vfs_scratch_find(v, s->dir, s->name, in->st_uid) : NULL;
        if (clash && fuse_req_ctx(req)->uid == 0)
            return -EEXIST;
        if (rest && (rc = vfs_attr_change(v, req, &s->attr, in, rest, true, writable)) < 0)
            return rc;
        if (s->attr.uid != was) {
            /* given away (root): its bytes count for its new owner */
            vfs_quota_bytes(v, was, -(int64_t)s->data.len);
            vfs_quota_bytes(v, s->attr.uid, (int64_t)s->data.len);
        }
        if (size) {
            size_t len = in->st_size > 0 ? (size_t)in->st_size : 0;
            if (len <= VFS_SUBMIT_MAX && (rc = charge(v, s->attr.uid, &s->data, len)) < 0) {
                vfs_quota_refused(v, s->attr.uid, s->name, rc);
                return rc;
            }
            size_t before = s->data.len;
            if ((rc = vfs_buf_truncate(&s->data, in->st_size)) < 0) {
                if (len > before)
                    vfs_quota_bytes(v, s->attr.uid, -(int64_t)(len - before));
                return rc;
            }
            vfs_scratch_touch(s);
        }
        break;
    }
    case VK_SUBMIT:
    case VK_GHOST: {
        struct vfs_fh *fh = fi ? (struct vfs_fh *)(uintptr_t)fi->fh : NULL;
        if (!fh || fh->kind != FH_SUBMIT)
            fh = submission_by_ino(v, ino);
        else
            fh = vfs_fh_target(fh);
        struct vfs_ghost *g = fh ? NULL : vfs_ghost_by_ino(v, ino);
        if (!fh && !g)
            return -ENOENT;
        if (size) {
            /* a ghost's content is in jobs/ already: truncate it by opening
             * it again (a new submission) */
            if (!fh)
                return -EACCES;
            if (fh->submitted)
                return -EBUSY;
            size_t before = fh->data.len;
            size_t len = in->st_size > 0 ? (size_t)in->st_size : 0;
            if (len <= VFS_SUBMIT_MAX && (rc = charge(v, fh->uid, &fh->data, len)) < 0) {
                if (!fh->write_err) {
                    fh->write_err = rc;
                    vfs_quota_refused(v, fh->uid, vfs_fh_name(fh), rc);
                }
                return rc;
            }
            if ((rc = vfs_buf_truncate(&fh->data, in->st_size)) < 0) {
                if (len > before)
                    vfs_quota_bytes(v, fh->uid, -(int64_t)(len - before));
                if (!fh->write_err)
                    fh->write_err = rc;
                return rc;
            }
            /* dd's ftruncate to 0 before it writes is not content */
            fh->wrote |= fh->data.len != before;
            clock_gettime(CLOCK_REALTIME, &fh->attr.mtime);
        }
        if (rest && (rc = vfs_attr_change(v, req, fh ? &fh->attr : &g->attr, in, rest, false,
                                      false)) < 0)
            return rc;
        break;
    }
    default:
        return -ENOENT;
    }
    return vfs_queue_stat(v, ino, st);
}

/* ---- read, write ---- */

void vfs_queue_write(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, const char *buf,
                     size_t size, off_t off)
{
    int rc;
    size_t end = off >= 0 ? (size_t)off + size : 0;
    if (fh->kind == FH_SCRATCH) {
        struct vfs_scratch *s = fh->scratch;
        rc = end > s->data.len ? charge(v, s->attr.uid, &s->data, end) : 0;
        if (rc < 0 && !fh->write_err) {
            fh->write_err = rc;
            vfs_quota_refused(v, s->attr.uid, s->name, rc);
        }
        if (rc == 0 && (rc = vfs_buf_write(&s->data, buf, size, off)) < 0 && end > s->data.len)
            vfs_quota_bytes(v, s->attr.uid, -(int64_t)(end - s->data.len));
        vfs_scratch_touch(s);
    } else if ((fh = vfs_fh_target(fh))->submitted)
        rc = -EBUSY;   /* this handle's job is already submitted */
    else {
        size_t before = fh->data.len;
        ask_cwd_unless_named(v, fh, buf, size);
        rc = end > before ? charge(v, fh->uid, &fh->data, end) : 0;
        if (rc < 0 && !fh->write_err)
            vfs_quota_refused(v, fh->uid, vfs_fh_name(fh), rc);
        if (rc == 0 && (rc = vfs_buf_write(&fh->data, buf, size, off)) < 0 && end > before)
            vfs_quota_bytes(v, fh->uid, -(int64_t)(end - before));
        fh->wrote = true;
        if (rc < 0 && !fh->write_err)
            fh->write_err = rc;
        clock_gettime(CLOCK_REALTIME, &fh->attr.mtime);
        fh->attr.ctime = fh->attr.mtime;
    }
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_write(req, size);
}

/* ---- submission ---- */

/* The submitter's working directory, for ingest_cwd: as with sbatch and
 * flux submit, jobs run where their submitter stood. */
struct submitter {
    struct vfs *v;
    pid_t pid;
    uid_t uid;
    struct vfs_fh *fh;   /* the handle it wrote (asked ahead), or NULL */
};

static int find_cwd(void *arg, char *buf, size_t size)
{
    const struct submitter *s = arg;
    struct vfs_fh *fh = s->fh;
    if (fh && fh->cwd_ask)
        vfs_asks_wait(s->v, fh);
    if (fh && (fh->cwd || fh->cwd_rc < 0)) {
        /* its writer's directory, asked ahead (at the first write, or with
         * the close's question) */
        if (!fh->cwd)
            return fh->cwd_rc;
        if (!*fh->cwd)
            return -ENOENT;
        return (size_t)snprintf(buf, size, "%s", fh->cwd) < size ? 0 : -ENAMETOOLONG;
    }
    if (s->pid <= 0)
        return -ESRCH;
    if (s->v->imp && s->uid != geteuid())
        return imp_cwd(s->v->imp, s->pid, buf, size);   /* the helper's procfd_cwd() */
    return procfd_cwd(s->pid, s->v->mountpoint, buf, size);
}

/* A submission on the ingest thread (jobmgr_submit_text_async). */
struct parsing {
    struct vfs *v;
    uint64_t token;
    uid_t uid;
    char subject[];
};

static void parsed(void *arg, int rc, const char *ids, const char *why)
{
    struct parsing *p = arg;
    if (rc != -ECANCELED)   /* else the instance stopped: its vfs answered everyone */
        vfs_parsed(p->v, p->token, rc, ids, p->uid, p->subject, why);
    free(p);
}

/* Submit text on behalf of the caller: one job, or many (a stream of
 * jobspecs, all or none); they become durable at the next commit. Their ids
 * go to ids (if not NULL), a line each. Logs a rejection to the caller's
 * queue/errors. */
static int submit_text(struct vfs *v, const char *text, size_t len, uid_t uid, gid_t gid,
                       pid_t pid, struct vfs_fh *fh, const char *queue, const char *subject,
                       struct strbuf *ids, uint64_t *token)
{
    struct errmsg err = { "" };
    struct submitter who = { .v = v, .pid = pid, .uid = uid, .fh = fh };
    struct ingest_cwd cwd = { .find = find_cwd, .arg = &who };
    int rc;

    *token = 0;
    if (v->stopping) {
        vfs_errlog_add(v, uid, subject, EAGAIN, "the instance is shutting down");
        return -EAGAIN;
    }
    if (v->forward) {
        /* a follower's tree: the leader takes it, with our submitter's
         * directory (it cannot look); the answer comes later
         * (vfs_forward_done) under this token */
        uint64_t t = ++v->forward_serial;
        rc = v->forward(v->forward_arg, t, text, len, uid, gid, ingest_cwd_get(&cwd), queue,
                        subject, &err);
        if (rc == 0)
            *token = t;
    } else if (len >= JOBMGR_ASYNC_BYTES) {
        /* parsed off the loop; the answer comes under this token */
        struct parsing *p = malloc(sizeof(*p) + strlen(subject) + 1);
        uint64_t t = ++v->forward_serial;
        if (!p) {
            rc = errmsg_set(&err, -ENOMEM, "out of memory");
        } else {
            *p = (struct parsing){ .v = v, .token = t, .uid = uid };
            strcpy(p->subject, subject);
            rc = jobmgr_submit_text_async(v->m, text, len, uid, gid, &cwd, queue, parsed, p,
                                          &err);
            if (rc == 0)
                *token = t;
            else
                free(p);
        }
    } else {
        rc = jobmgr_submit_text(v->m, text, len, uid, gid, &cwd, queue, ids, &err);
    }
    if (rc < 0)
        vfs_errlog_add(v, uid, subject, -rc, err.text);
    else
        vfs_queue_touch(v, VFS_I_QUEUE);
    return rc < 0 ? rc : 0;
}

struct vfs_deferred *defer_submission(struct vfs *v, fuse_req_t req, struct vfs_fh *fh,
                                      int what, size_t size, off_t off, uint64_t token)
{
    struct vfs_deferred *d = calloc(1, sizeof(*d));
    if (!d) {
        fuse_reply_err(req, ENOMEM);
        return NULL;
    }
    d->req = req;
    d->what = what;
    d->fh = fh;
    d->size = size;
    d->off = off;
    d->token = token;
    vfs_defer(v, d);
    return d;
}

/* Submit fh's content (once), as process pid. */
static void submit_fh(struct vfs *v, struct vfs_fh *fh, pid_t pid)
{
    if (fh->submitted)
        return;
    fh->submitted = true;
    const char *subject = vfs_fh_name(fh);
    if (fh->write_err) {
        /* part of what was written is missing: nothing of it is a job */
        fh->submit_rc = fh->write_err;
        vfs_errlog_add(v, fh->uid, subject, -fh->write_err,
                       fh->write_err == -EFBIG ? "a write went past the 32 MiB a submission "
                                                 "may hold: nothing was submitted"
                       : fh->write_err == -ENOSPC ? "a write went past your budget in queue/: "
                                                    "nothing was submitted"
                                                  : "a write failed: nothing was submitted");
        return;
    }
    /* the writer's working directory: the closer may be a child that has
     * since changed it, but rarely; the opener is the fallback */
    fh->submit_rc = submit_text(v, fh->data.buf, fh->data.len, fh->uid, fh->gid,
                                pid > 0 ? pid : fh->pid, fh, fh->queue, subject,
                                &fh->ids, &fh->token);
    if (fh->submit_rc == 0) {
        fh->submit_rc = 1;   /* pending until durable */
        if (fh->kind == FH_SUBMIT)
            vfs_ghost_add(v, fh, pid > 0 ? pid : fh->pid);
    }
}

/* Submit fh's content if not yet done, then answer req now or after commit. */
static void submit_or_defer(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, int what,
                            size_t size, off_t off)
{
    /* the closer's directory is the job's only if the closer is the file's
     * owner: another user's process (a descriptor passed to it) is not
     * looked at, and the opener is */
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    submit_fh(v, fh, ctx->uid == fh->uid ? ctx->pid : 0);
    if (fh->submit_rc == 1 && fh->sync_ticket) {
        /* committed, its ids read: a read has them now, the close waits
         * for the sync that makes them durable; once it has ended, its
         * outcome is kept as if the close had waited for it */
        if (fh->sync_ticket <= v->synced) {
            struct vfs_deferred d = { .req = req, .what = what, .fh = fh, .size = size,
                                      .off = off, .ticket = fh->sync_ticket };
            vfs_submission_done(v, &d, vfs_sync_result(v, fh->sync_ticket));
            return;
        }
        if (what == DEFER_CLONE_READ) {
            vfs_clone_ids(v, req, fh, size, off);
            return;
        } else {
            struct vfs_deferred *d = defer_submission(v, req, fh, what, size, off, 0);
            if (d) {
                d->ticket = fh->sync_ticket;
                vfs_answer_on_sync(v, d);
            }
            return;
        }
    }
    if (fh->submit_rc == 1) {
        defer_submission(v, req, fh, what, size, off, fh->token);
        return;
    }
    struct vfs_deferred d = { .req = req, .what = what, .fh = fh, .size = size, .off = off };
    vfs_submission_done(v, &d, fh->submit_rc);
}

void vfs_submission_done(struct vfs *v, struct vfs_deferred *d, int rc)
{
    /* the first answer for an accepted submission fixes its outcome; a
     * failure here means the commit failed (validation errors were logged
     * when they happened) */
    if (d->fh && d->fh->submit_rc == 1) {
        d->fh->submit_rc = rc;
        if (rc < 0 && rc != -EINTR) {
            vfs_errlog_add(v, d->fh->uid, vfs_fh_name(d->fh), -rc,
                           rc == -ENOSPC ? "the state directory's disk is full: "
                                           "the job was not stored"
                                         : "the job could not be stored");
            if (d->ticket && d->fh->ids.len)   /* its sync failed; a failed commit left none */
                jobmgr_refuse(v->m, d->fh->ids.buf, d->fh->ids.len, rc);
        }
    }
    if (!d->req)
        return;   /* the syncer answered it (vfs_answer_on_sync) */
    if (d->what == DEFER_FLUSH || rc < 0) {
        fuse_reply_err(d->req, rc < 0 ? -rc : 0);
        return;
    }
    if (d->what == DEFER_WRITE) {
        fuse_reply_write(d->req, d->size);
        return;
    }
    if (d->what == DEFER_ENTRY) {
        vfs_reply_entry(d->req, &d->entry, VFS_TTL_NONE);
        return;
    }
    vfs_clone_ids(v, d->req, d->fh, d->size, d->off);
}

/* queue/run's job, from its one id line, into fh->jobid: 0, or -errno
 * (with the reason in queue/errors if tell). */
static int run_job(struct vfs *v, struct vfs_fh *fh, bool tell)
{
    char id[64];
    const char *nl = fh->ids.len ? memchr(fh->ids.buf, '\n', fh->ids.len) : NULL;
    size_t len = nl ? (size_t)(nl - fh->ids.buf) : 0;
    if (len + 1 != fh->ids.len) {
        if (tell)
            vfs_errlog_add(v, fh->uid, "run", EINVAL, "queue/run follows one job, and this "
                           "file submitted several: they run; follow each with jobs/ID/wait");
        return -EINVAL;
    }
    if (len >= sizeof(id))
        return -ENOENT;
    memcpy(id, fh->ids.buf, len);
    id[len] = '\0';
    struct job *job = jobmgr_lookup_name(v->m, id);
    if (!job)
        return -ENOENT;   /* purged already */
    fh->jobid = job_get_id(job);
    return 0;
}

/* A read of queue/new once its jobs are committed: the id lines are the
 * file's content from the offset of its first read on, so readers that
 * seek back (bash's `read`) or read again see them as in a file. On
 * queue/run the job's end follows them: a read that starts past the id
 * line waits for it (vfs_job_follow); one that starts before it gets the
 * id line only, at once. */
void vfs_clone_ids(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, size_t size, off_t off)
{
    if (!fh) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    off_t rel = off > fh->id_base ? off - fh->id_base : 0;
    if (!fh->run || rel < (off_t)fh->ids.len) {
        vfs_reply_slice(req, fh->ids.buf, fh->ids.len, size, rel);
        return;
    }
    int rc = fh->jobid ? 0 : run_job(v, fh, true);
    if (rc < 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    vfs_job_follow(v, req, fh->jobid, true, size, rel - (off_t)fh->ids.len);
}

void vfs_queue_poll(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, struct fuse_pollhandle *ph)
{
    /* queue/run once its id was read: readable when its job has ended */
    if (fh->run && (fh->jobid || run_job(v, fh, false) == 0)) {
        vfs_jobs_poll(v, req, fh, ph);
        return;
    }
    if (ph)
        fuse_pollhandle_destroy(ph);
    fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
}

void vfs_queue_flush(struct vfs *v, fuse_req_t req, struct vfs_fh *fh)
{
    fh = vfs_fh_target(fh);
    /* the close that ends the writing submits: not one before anything was
     * written, nor one that leaves the file open to its writer */
    if (!fh->submitted && fh->wrote && vfs_ask_holds(v, req, fh, fuse_req_ctx(req)->pid))
        return;
    if (!fh->submitted && (!fh->wrote || vfs_still_open(v, fh, fuse_req_ctx(req)->pid))) {
        fuse_reply_err(req, 0);
        return;
    }
    submit_or_defer(v, req, fh, DEFER_FLUSH, 0, 0);
}

void vfs_queue_flush_answer(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, int held)
{
    /* a helper that could not tell: as vfs_still_open, /proc as far as we may */
    const char *name = vfs_fh_name(fh);
    if (held < 0)
        held = name && procfd_held(fuse_req_ctx(req)->pid, fh->ino, name,
                                   vfs_parent_may_hold(fh, fuse_req_ctx(req)->pid));
    if (!fh->submitted && held > 0) {
        fuse_reply_err(req, 0);
        return;
    }
    submit_or_defer(v, req, fh, DEFER_FLUSH, 0, 0);
}

/* The last reference to a submission or clone file is gone. */
static void final_release(struct vfs *v, struct vfs_fh *fh)
{
    /* a deferred answer still pointing at this handle keeps going without it */
    for (struct vfs_deferred *d = v->submits; d; d = d->next)
        if (d->fh == fh)
            d->fh = NULL;
    /* every descriptor is closed: what was written and never submitted (a
     * close was thought not to be the last) is submitted now; an error can
     * reach only queue/errors */
    if ((fh->kind == FH_SUBMIT || fh->kind == FH_CLONE) && fh->wrote && !fh->submitted)
        submit_fh(v, fh, 0);
    /* a file created and closed empty is no job; say so where the
     * submitter looks, though its close succeeded */
    if (fh->kind == FH_SUBMIT && !fh->wrote)
        vfs_errlog_add(v, fh->uid, fh->name, ENODATA, "nothing was written: no job submitted");
    if (fh->kind == FH_SUBMIT)
        submission_forget(v, fh);
    vfs_quota_bytes(v, fh->uid, -(int64_t)fh->data.len);
    vfs_fh_destroy(fh);
}

void vfs_queue_release(struct vfs *v, struct vfs_fh *fh)
{
    if (fh->counted)
        vfs_quota_file(v, fh->uid, -1);
    if (fh->kind == FH_SCRATCH) {
        vfs_fh_destroy(fh);
        return;
    }
    struct vfs_fh *t = fh->target;
    if (t) {
        /* another open of a submission: the submission lives on while its
         * own descriptors or other such opens remain */
        vfs_fh_destroy(fh);
        if (--t->refs == 0 && t->released)
            final_release(v, t);
        return;
    }
    fh->released = true;
    if (fh->refs == 0)
        final_release(v, fh);
}

void vfs_queue_read(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, size_t size, off_t off)
{
    if (fh->kind == FH_SCRATCH) {
        vfs_reply_slice(req, fh->scratch->data.buf, fh->scratch->data.len, size, off);
        return;
    }
    if (fh->kind == FH_SUBMIT) {
        fh = vfs_fh_target(fh);
        vfs_reply_slice(req, fh->data.buf, fh->data.len, size, off);
        return;
    }
    /* queue/new: the first read submits and returns the id, wherever the
     * file offset is (shell `read` after `cat >&3` starts past the spec) */
    if (!fh->submitted && fh->data.len == 0) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    if (!fh->submitted)
        fh->id_base = off;
    submit_or_defer(v, req, fh, DEFER_CLONE_READ, size, off);
}

/* ---- unlink, rename ---- */

void vfs_queue_unlink(struct vfs *v, fuse_req_t req, fuse_ino_t dir, const char *name)
{
    uid_t uid = fuse_req_ctx(req)->uid;
    if (is_reserved(dir, name)) {
        fuse_reply_err(req, EPERM);
        return;
    }
    if (!is_scratch_name(dir, name)) {
        /* removing the name of what one just submitted: nothing to do */
        struct vfs_ghost *g = vfs_ghost_find(v, req, dir, name);
        if (g)
            g->ino = 0;
        fuse_reply_err(req, g ? 0 : ENOENT);
        return;
    }
    struct vfs_scratch *s = vfs_scratch_find(v, dir, name, uid);
    if (!s) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (uid != s->attr.uid && !vfs_is_privileged(v, uid)) {
        fuse_reply_err(req, EPERM);   /* sticky directory */
        return;
    }
    vfs_scratch_unlink(v, s);
    fuse_reply_err(req, 0);
}

void vfs_queue_rename(struct vfs *v, fuse_req_t req, fuse_ino_t dir, const char *name,
                      fuse_ino_t newdir, const char *newname, unsigned int flags)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    struct vfs_scratch *s = is_scratch_name(dir, name) ? vfs_scratch_find(v, dir, name, ctx->uid)
                                                       : NULL;
    int rc;

    if (!s) {
        fuse_reply_err(req, is_reserved(dir, name) ? EPERM : ENOENT);
        return;
    }
    if (dir_gone(v, newdir)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (!vfs_queue_is_dir(newdir)) {
        fuse_reply_err(req, EXDEV);
        return;
    }
    if (ctx->uid != s->attr.uid && !vfs_is_privileged(v, ctx->uid)) {
        fuse_reply_err(req, EPERM);
        return;
    }
    if (flags & ~RENAME_NOREPLACE) {
        fuse_reply_err(req, EINVAL);   /* exchange, whiteout: not here */
        return;
    }
    if (is_reserved(newdir, newname)) {
        fuse_reply_err(req, EPERM);
        return;
    }
    if (is_scratch_name(newdir, newname)) {
        rc = vfs_scratch_rename(v, req, s, newdir, newname, flags);
        fuse_reply_err(req, -rc);
        return;
    }
    /* renaming a scratch file to a visible name submits it, once */
    /* the job belongs to whoever created the file, even when root (or the
     * instance owner) moves another user's draft into queue/ */
    uint64_t token;
    rc = submit_text(v, s->data.buf, s->data.len, s->attr.uid, s->attr.gid, ctx->pid, NULL,
                     vfs_qdir_name(v, newdir), newname, NULL, &token);
    if (rc < 0) {
        /* mv reads EINVAL from rename as "a subdirectory of itself" and
         * tries again: a rejected jobspec is a bad message here */
        fuse_reply_err(req, rc == -EINVAL ? EBADMSG : -rc);
        return;
    }
    vfs_scratch_unlink(v, s);
    defer_submission(v, req, NULL, DEFER_FLUSH, 0, 0, token);
}
