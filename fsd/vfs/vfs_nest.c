/* vfs_nest.c - jobs/<id>/<name>/: a nested instance as seen from its parent.
 *
 * The directory is ours; its entries (those of a root: queue, jobs, joblist,
 * resources, status, ...; fsd/nest.c) are symlinks into the child broker's own mount, so
 * every operation below them is the child's, with its own semantics and
 * inotify events, at any depth. Inodes live in the job's inode range: file
 * NEST_FILE_BASE + slot * NEST_INO_SPAN + entry (entry 0 is the directory).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsd/nest.h"
#include "fsd/vfs/vfs_private.h"

#define NEST_FILE_BASE 0x20
_Static_assert(NEST_FILE_BASE + NEST_MAX_PER_JOB * NEST_INO_SPAN <= 256,
               "every nest's inodes fit the job's 8 bits");

static fuse_ino_t nest_ino(const struct job *job, const struct nest *n, int entry)
{
    return VFS_INO(VK_JOB, (job_get_seq(job) << 8) | (unsigned)(NEST_FILE_BASE + nest_slot(n) * NEST_INO_SPAN + entry));
}

bool vfs_nest_file(int file)
{
    return file >= NEST_FILE_BASE;
}

static struct nest *nest_by_file(struct vfs *v, const struct job *job, int file, int *entry)
{
    int slot = (file - NEST_FILE_BASE) / NEST_INO_SPAN;
    *entry = (file - NEST_FILE_BASE) % NEST_INO_SPAN;
    if (!v->nests || *entry > NEST_NENTRIES)
        return NULL;
    struct nest *n;
    for (int i = 0; (n = nest_at(v->nests, job, i)); i++)
        if (nest_slot(n) == slot)
            return n;
    return NULL;
}

static void nest_stat(struct vfs *v, const struct job *job, struct nest *n, int entry,
                      struct stat *st)
{
    if (entry == 0) {
        vfs_stat_dir(v, st, nest_ino(job, n, 0), nest_uid(n), 0755, nest_ctime(n));
    } else {
        char target[4096];
        int len = nest_target(n, entry - 1, target, sizeof(target));
        vfs_stat_file(v, st, nest_ino(job, n, entry), nest_uid(n), 0777,
                      len > 0 ? len : 0, nest_ctime(n));
        st->st_mode = S_IFLNK | 0777;
    }
    st->st_gid = job_get_gid(job);
}

int vfs_nest_stat(struct vfs *v, const struct job *job, int file, struct stat *st)
{
    int entry;
    struct nest *n = nest_by_file(v, job, file, &entry);
    if (!n)
        return -ENOENT;
    nest_stat(v, job, n, entry, st);
    return 0;
}

/* name in the job's directory: a nested instance? */
bool vfs_nest_lookup(struct vfs *v, fuse_req_t req, struct job *job, const char *name)
{
    struct nest *n = v->nests ? nest_lookup(v->nests, job, name) : NULL;
    struct stat st;
    if (!n)
        return false;
    nest_stat(v, job, n, 0, &st);
    vfs_job_entry(req, job, &st, VFS_TTL_NONE);
    return true;
}

/* name inside a nested instance's directory */
void vfs_nest_lookup_in(struct vfs *v, fuse_req_t req, struct job *job, int file,
                        const char *name)
{
    int entry;
    struct nest *n = nest_by_file(v, job, file, &entry);
    struct stat st;
    if (!n || entry != 0) {
        fuse_reply_err(req, n ? ENOTDIR : ENOENT);
        return;
    }
    for (int i = 0; i < NEST_NENTRIES; i++) {
        if (!strcmp(nest_entries[i], name)) {
            nest_stat(v, job, n, i + 1, &st);
            vfs_job_entry(req, job, &st, VFS_TTL_NONE);
            return;
        }
    }
    fuse_reply_err(req, ENOENT);
}

/* Nested instances after the job's files; offsets continue from first. */
void vfs_nest_readdir_job(struct vfs *v, struct vfs_dirbuf *db, const struct job *job,
                          off_t off, off_t first)
{
    struct nest *n;
    for (int i = 0; v->nests && (n = nest_at(v->nests, job, i)); i++) {
        if (first + i < off)
            continue;
        if (!vfs_dirbuf_add(db, nest_name(n), nest_ino(job, n, 0), S_IFDIR, first + i + 1))
            return;
    }
}

void vfs_nest_readdir(struct vfs *v, struct vfs_dirbuf *db, const struct job *job, int file,
                      off_t off)
{
    int entry;
    struct nest *n = nest_by_file(v, job, file, &entry);
    if (!n || entry != 0)
        return;
    if (off < 1 && !vfs_dirbuf_add(db, ".", nest_ino(job, n, 0), S_IFDIR, 1))
        return;
    if (off < 2 && !vfs_dirbuf_add(db, "..", VFS_INO(VK_JOB, job_get_seq(job) << 8), S_IFDIR, 2))
        return;
    for (int i = off > 2 ? (int)off - 2 : 0; i < NEST_NENTRIES; i++)
        if (!vfs_dirbuf_add(db, nest_entries[i], nest_ino(job, n, i + 1), S_IFLNK, i + 3))
            return;
}

void vfs_nest_readlink(struct vfs *v, fuse_req_t req, const struct job *job, int file)
{
    int entry;
    struct nest *n = nest_by_file(v, job, file, &entry);
    char target[4096];
    if (!n || entry == 0 || nest_target(n, entry - 1, target, sizeof(target)) < 0) {
        fuse_reply_err(req, n ? EINVAL : ENOENT);
        return;
    }
    fuse_reply_readlink(req, target);
}

/* mkdir and rmdir are answered when the child has started or stopped. */
struct nest_wait {
    struct vfs *v;
    fuse_req_t req;
    uint64_t jobid;
    char name[NEST_NAME_MAX + 1];
    bool mkdir;
};

static void on_nest_done(void *arg, int rc, const char *reason)
{
    struct nest_wait *w = arg;
    struct vfs *v = w->v;
    struct job *job = jobmgr_lookup(v->m, w->jobid);
    uid_t uid = fuse_req_ctx(w->req)->uid;
    if (rc < 0) {
        char subject[128];
        snprintf(subject, sizeof(subject), "jobs/%s/%s", job ? job_get_idstr(job) : "?", w->name);
        vfs_errlog_add(v, uid, subject, -rc, reason ? reason : strerror(-rc));
        fuse_reply_err(w->req, -rc);
    } else if (w->mkdir) {
        struct nest *n = job && v->nests ? nest_lookup(v->nests, job, w->name) : NULL;
        struct stat st;
        if (!n) {
            fuse_reply_err(w->req, EIO);
        } else {
            nest_stat(v, job, n, 0, &st);
            vfs_job_entry(w->req, job, &st, VFS_TTL_NONE);
        }
    } else {
        fuse_reply_err(w->req, 0);
    }
    free(w);
}

static void nest_request(struct vfs *v, fuse_req_t req, struct job *job, const char *name,
                         bool mkdir)
{
    struct nest_wait *w = calloc(1, sizeof(*w));
    struct errmsg err = {""};
    uid_t uid = fuse_req_ctx(req)->uid;
    int rc;
    if (!w) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    w->v = v;
    w->req = req;
    w->jobid = job_get_id(job);
    w->mkdir = mkdir;
    snprintf(w->name, sizeof(w->name), "%s", name);
    if (!v->nests || v->stopping)
        rc = errmsg_set(&err, -ESHUTDOWN, "the instance is shutting down");
    else if (mkdir)
        rc = nest_create(v->nests, job, name, uid, on_nest_done, w, &err);
    else
        rc = nest_remove(v->nests, job, name, uid, false, on_nest_done, w, &err);
    if (rc < 0) {
        char subject[128];
        snprintf(subject, sizeof(subject), "jobs/%s/%s", job_get_idstr(job), name);
        vfs_errlog_add(v, uid, subject, -rc, err.text);
        fuse_reply_err(req, -rc);
        free(w);
    }
}

void vfs_nest_mkdir(struct vfs *v, fuse_req_t req, struct job *job, const char *name)
{
    nest_request(v, req, job, name, true);
}

void vfs_nest_rmdir(struct vfs *v, fuse_req_t req, struct job *job, const char *name)
{
    nest_request(v, req, job, name, false);
}
