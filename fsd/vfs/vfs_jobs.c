/* vfs_jobs.c - jobs/ and jobs/<id>/: one directory per job, its files
 * rendered from the job model, `wait` answered when the job ends, `ctl`
 * turned into control calls. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fsd/joblist.h"
#include "fsd/vfs/vfs_private.h"

void vfs_wait_defer(struct vfs *v, fuse_req_t req, struct vfs_deferred *d);

struct job_file {
    const char *name;
    mode_t mode;
};

static const struct job_file job_files[VFS_JOB_NFILES] = {
    [VFS_JOB_DIR] = { ".", 0755 },
    [VFS_JOB_JOBSPEC] = { "jobspec", 0400 },
    [VFS_JOB_STATE] = { "state", 0444 },
    [VFS_JOB_EVENTLOG] = { "eventlog", 0444 },
    [VFS_JOB_R] = { "R", 0444 },
    [VFS_JOB_STDOUT] = { "stdout", 0400 },
    [VFS_JOB_STDERR] = { "stderr", 0400 },
    [VFS_JOB_RESULT] = { "result", 0444 },
    [VFS_JOB_WAIT] = { "wait", 0444 },
    [VFS_JOB_CTL] = { "ctl", 0600 },
    [VFS_JOB_PRIORITY] = { "priority", 0444 },
};

static fuse_ino_t job_ino(const struct job *job, int file)
{
    return VFS_INO(VK_JOB, (job_get_seq(job) << 8) | (unsigned)file);
}

/* A job exists for users once durable, so a submitter can read it as soon
 * as close() returns. The publisher alone does not see it until its mkdir
 * has announced it: that mkdir is what gives watchers IN_CREATE, and the
 * kernel only sends it to us for a name it believes absent. A name cached
 * by a user's lookup does not stop it: mkdir's lookup is exclusive, and
 * FUSE revalidates those with us whatever the entry's timeout. */
static bool visible(const struct job *job)
{
    return job && (job_is_committed(job) || job_is_announced(job));
}

struct job *vfs_job_of(struct vfs *v, fuse_ino_t ino, int *file)
{
    struct job *job = jobmgr_lookup_seq(v->m, VFS_NUM(ino) >> 8);
    *file = (int)(ino & 0xff);
    if (!visible(job) || (*file >= VFS_JOB_NFILES && !vfs_nest_file(*file)))
        return NULL;
    return job;
}

/* The job an inode names, if it exists and may be seen (job files only). */
static struct job *ino_job(struct vfs *v, fuse_ino_t ino, int *file)
{
    struct job *job = jobmgr_lookup_seq(v->m, VFS_NUM(ino) >> 8);
    *file = (int)(ino & 0xff);
    if (!visible(job) || *file >= VFS_JOB_NFILES)
        return NULL;
    return job;
}

#define CTL_HELP "# write one per line: cancel | signal N|NAME | urgency N | release HOSTLIST" \
                 " | shutdown NAME [force]\n"

static off_t file_size(const struct job *job, int file)
{
    char buf[64];
    switch (file) {
    case VFS_JOB_JOBSPEC:
        return job_get_spec_size(job);
    case VFS_JOB_STATE:
        return strlen(job_state_name(job_get_state(job))) + 1;
    case VFS_JOB_EVENTLOG:
        return job_get_eventlog_size(job);
    case VFS_JOB_R:
        return job_get_R_size(job);
    case VFS_JOB_STDOUT:
        return job_get_output_size(job, 1);
    case VFS_JOB_STDERR:
        return job_get_output_size(job, 2);
    case VFS_JOB_RESULT:
        return job_result_text(job, buf, sizeof(buf));
    case VFS_JOB_WAIT:
        return job_get_state(job) == JOB_INACTIVE ? job_result_text(job, buf, sizeof(buf)) : 0;
    case VFS_JOB_CTL:
        return sizeof(CTL_HELP) - 1;
    }
    return 0;
}

static double file_mtime(const struct job *job, int file)
{
    switch (file) {
    case VFS_JOB_JOBSPEC:
        return job_get_t_submit(job);
    case VFS_JOB_STDOUT:
        return job_get_t_output(job, 1) ? job_get_t_output(job, 1) : job_get_t_submit(job);
    case VFS_JOB_STDERR:
        return job_get_t_output(job, 2) ? job_get_t_output(job, 2) : job_get_t_submit(job);
    }
    return job_get_t_state(job);
}

static void job_stat(struct vfs *v, const struct job *job, int file, struct stat *st)
{
    if (file == VFS_JOB_DIR)
        vfs_stat_dir(v, st, job_ino(job, file), job_get_uid(job), 0755, job_get_t_state(job));
    else
        vfs_stat_file(v, st, job_ino(job, file), job_get_uid(job), job_files[file].mode,
                      file_size(job, file), file_mtime(job, file));
    st->st_gid = job_get_gid(job);
}

int vfs_job_stat(struct vfs *v, fuse_ino_t ino, struct stat *st)
{
    int file;
    struct job *job = vfs_job_of(v, ino, &file);
    if (!job)
        return -ENOENT;
    if (vfs_nest_file(file))
        return vfs_nest_stat(v, job, file, st);
    job_stat(v, job, file, st);
    return 0;
}

void vfs_job_entry(fuse_req_t req, struct job *job, const struct stat *st, double ttl)
{
    if (vfs_reply_entry(req, st, ttl) == 0)
        job->kernel_refs++;
}

void vfs_jobs_forget(struct vfs *v, fuse_ino_t ino, uint64_t nlookup)
{
    struct job *job = jobmgr_lookup_seq(v->m, VFS_NUM(ino) >> 8);
    if (!job)
        return;
    job->kernel_refs = job->kernel_refs > nlookup ? job->kernel_refs - nlookup : 0;
    /* the kernel forgets an inode once, all its lookups at once, when it
     * lets it go: the directory's included the mkdir's */
    if ((ino & 0xff) == VFS_JOB_DIR)
        job->announce_ref = false;
}

bool vfs_job_watchable(const struct job *job)
{
    return job->kernel_refs > (job->announce_ref ? 1u : 0u);
}

/* jobs/NAME */
static void lookup_job(struct vfs *v, fuse_req_t req, const char *name)
{
    struct stat st;
    struct job *job = jobmgr_lookup_name(v->m, name);
    if (!visible(job) || (!job_is_announced(job) && vfs_is_publisher(v, req))) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    job_stat(v, job, VFS_JOB_DIR, &st);
    vfs_job_entry(req, job, &st, VFS_TTL_FIXED);
}

struct barrier_lookup {
    struct vfs *v;
    fuse_req_t req;
    char name[FLUID_STR_MAX];
};

static void barrier_done(void *arg, int rc)
{
    struct barrier_lookup *b = arg;
    /* not caught up in time: the job may well be on its way, so "not yet"
     * (EAGAIN), not "no such job"; without the leader (-ENOTCONN) what is
     * here is all there is */
    if (rc == -ETIMEDOUT && !jobmgr_lookup_name(b->v->m, b->name))
        fuse_reply_err(b->req, EAGAIN);
    else
        lookup_job(b->v, b->req, b->name);
    free(b);
}

void vfs_jobs_lookup(struct vfs *v, fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct stat st;
    struct job *job;
    int file;
    uint64_t id;

    if (parent == VFS_I_JOBS) {
        /* a follower does not know a job yet: ask the leader how far it
         * is, wait until that much is here, then answer (not for the
         * publisher, which only names jobs we have) */
        struct barrier_lookup *b;
        if (v->barrier && !jobmgr_lookup_name(v->m, name) && strlen(name) < FLUID_STR_MAX
            && fluid_decode(name, &id) == 0 && !vfs_is_publisher(v, req)
            && (b = calloc(1, sizeof(*b)))) {
            b->v = v;
            b->req = req;
            strcpy(b->name, name);
            if (v->barrier(v->barrier_arg, barrier_done, b) == 0)
                return;
            free(b);
        }
        lookup_job(v, req, name);
        return;
    }
    if ((job = vfs_job_of(v, parent, &file)) && vfs_nest_file(file))
        return vfs_nest_lookup_in(v, req, job, file, name);
    if (!job || file != VFS_JOB_DIR) {
        fuse_reply_err(req, job ? ENOTDIR : ENOENT);
        return;
    }
    for (int f = 1; f < VFS_JOB_NFILES; f++) {
        if (strcmp(job_files[f].name, name) == 0) {
            job_stat(v, job, f, &st);
            vfs_job_entry(req, job, &st, VFS_TTL_FIXED);
            return;
        }
    }
    if (!vfs_nest_lookup(v, req, job, name))
        fuse_reply_err(req, ENOENT);
}

void vfs_jobs_readdir(struct vfs *v, struct vfs_dirbuf *db, fuse_ino_t ino, off_t off)
{
    if (ino == VFS_I_JOBS) {
        if (off < 1 && !vfs_dirbuf_add(db, ".", VFS_I_JOBS, S_IFDIR, 1))
            return;
        if (off < 2 && !vfs_dirbuf_add(db, "..", VFS_I_ROOT, S_IFDIR, 2))
            return;
        /* offsets are job sequence numbers, so jobs arriving mid-listing
         * neither repeat nor shift what follows */
        uint64_t seq = off >= 2 ? (uint64_t)off - 1 : 1;
        for (struct job *job = jobmgr_next(v->m, seq); job; job = jobmgr_next(v->m, job_get_seq(job) + 1)) {
            if (!visible(job))
                continue;
            if (!vfs_dirbuf_add(db, job_get_idstr(job), job_ino(job, VFS_JOB_DIR), S_IFDIR, job_get_seq(job) + 2))
                return;
        }
        return;
    }
    int file;
    struct job *job = vfs_job_of(v, ino, &file);
    if (!job)
        return;
    if (vfs_nest_file(file))
        return vfs_nest_readdir(v, db, job, file, off);
    if (off < 1 && !vfs_dirbuf_add(db, ".", ino, S_IFDIR, 1))
        return;
    if (off < 2 && !vfs_dirbuf_add(db, "..", VFS_I_JOBS, S_IFDIR, 2))
        return;
    for (int f = off > 2 ? off - 1 : 1; f < VFS_JOB_NFILES; f++)
        if (!vfs_dirbuf_add(db, job_files[f].name, job_ino(job, f), S_IFREG, f + 2))
            return;
    vfs_nest_readdir_job(v, db, job, off, VFS_JOB_NFILES + 1);
}

void vfs_jobs_mkdir(struct vfs *v, fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct stat st;
    if (parent == VFS_I_JOBS) {
        struct job *job = jobmgr_lookup_name(v->m, name);
        if (!vfs_is_publisher(v, req)) {
            fuse_reply_err(req, visible(job) ? EEXIST : EPERM);
            return;
        }
        if (!job || job_is_announced(job)) {
            fuse_reply_err(req, job ? EEXIST : ENOENT);
            return;
        }
        /* The kernel keeps the entry a mkdir made until memory runs short,
         * and with it a reference that says nothing of watchers: it is
         * counted apart (vfs_job_watchable). It gets no cache time, so
         * that the first path walk through it by anyone else comes here
         * (a lookup, counted) before it can set a watch. */
        job_stat(v, job, VFS_JOB_DIR, &st);
        if (vfs_reply_entry(req, &st, VFS_TTL_NONE) == 0) {
            job->kernel_refs++;
            job->announce_ref = true;
        }
        jobmgr_job_announced(v->m, job);
        return;
    }
    int file;
    struct job *job = vfs_job_of(v, parent, &file);
    if (!job || file != VFS_JOB_DIR) {
        fuse_reply_err(req, job ? EPERM : ENOENT);
        return;
    }
    vfs_nest_mkdir(v, req, job, name);
}

static bool may_read(struct vfs *v, const struct job *job, int file, uid_t uid)
{
    if (job_files[file].mode & 0004)
        return true;
    return uid == job_get_uid(job) || vfs_is_privileged(v, uid);
}

static int render_blob(struct vfs *v, struct job *job, char kind, struct strbuf *sb)
{
    const char *data;
    size_t len;
    int rc = jobmgr_job_blob(v->m, job, kind, &data, &len);
    if (rc == -ENOENT)
        return 0;
    return rc < 0 ? rc : strbuf_add(sb, data, len);
}

static int render(struct vfs *v, struct job *job, int file, struct strbuf *sb)
{
    char buf[64];
    switch (file) {
    case VFS_JOB_JOBSPEC:
        return render_blob(v, job, 'S', sb);
    case VFS_JOB_STATE:
        return strbuf_addf(sb, "%s\n", job_state_name(job_get_state(job)));
    case VFS_JOB_EVENTLOG:
        return jobmgr_eventlog(v->m, job, sb);
    case VFS_JOB_R:
        return render_blob(v, job, 'R', sb);
    case VFS_JOB_RESULT:
        job_result_text(job, buf, sizeof(buf));
        return strbuf_addstr(sb, buf);
    case VFS_JOB_CTL:
        /* readable, so `cp -r` of a job works; says what it takes */
        return strbuf_addstr(sb, CTL_HELP);
    case VFS_JOB_PRIORITY: {
        json_t *o = jobmgr_job_priority(v->m, job);
        char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        int rc = s ? strbuf_addf(sb, "%s\n", s) : -ENOMEM;
        free(s);
        json_decref(o);
        return rc;
    }
    }
    return 0;
}

void vfs_job_open(struct vfs *v, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    int file, acc = fi->flags & O_ACCMODE;
    struct job *job = ino_job(v, ino, &file);
    uid_t uid = fuse_req_ctx(req)->uid;
    enum vfs_fh_kind kind = FH_SNAPSHOT;
    struct vfs_fh *fh;

    if (!job) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (file == VFS_JOB_DIR) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    if (acc != O_RDONLY && vfs_is_publisher(v, req))
        kind = FH_POKE;
    else if (file == VFS_JOB_CTL && acc != O_RDONLY) {
        /* the descriptor carries its opener's authority, wherever it is
         * written from: one who may not control the job cannot open it */
        if (!jobmgr_may_control(v->m, job, uid)) {
            fuse_reply_err(req, EPERM);
            return;
        }
        kind = FH_CTL;
    } else if (acc != O_RDONLY) {
        fuse_reply_err(req, EACCES);
        return;
    } else if (!may_read(v, job, file, uid)) {
        fuse_reply_err(req, EACCES);
        return;
    } else if (file == VFS_JOB_STDOUT || file == VFS_JOB_STDERR)
        kind = FH_OUTPUT;
    else if (file == VFS_JOB_WAIT)
        kind = FH_WAIT;
    if (kind == FH_POKE) {
        vfs_reply_open(req, fi, &v->poke, true);
        return;
    }
    if (!(fh = vfs_fh_create(req, kind, ino))) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    fh->jobid = job_get_id(job);
    fh->stream = file == VFS_JOB_STDERR ? 2 : 1;
    if (kind == FH_SNAPSHOT) {
        int rc = render(v, job, file, &fh->data);
        if (rc < 0) {
            vfs_fh_destroy(fh);
            fuse_reply_err(req, -rc);
            return;
        }
    }
    /* output only grows, and a size change drops the kernel's cached pages
     * (attributes are never cached): the page cache is safe for it, and
     * shared mmap needs it (direct_io gives ENODEV) */
    vfs_reply_open(req, fi, fh, kind != FH_OUTPUT);
}

static void reply_result(fuse_req_t req, struct job *job, bool run, size_t size, off_t off)
{
    enum { RESULT_MAX = 64 };
    char buf[RESULT_MAX + 64];   /* the result line, then queue/run's output line */
    int len = job_result_text(job, buf, RESULT_MAX);
    if (run)
        len += snprintf(buf + len, sizeof(buf) - (size_t)len, "output %" PRIu64 " %" PRIu64 "\n",
                        job_get_output_size(job, 1), job_get_output_size(job, 2));
    vfs_reply_slice(req, buf, len, size, off);
}

void vfs_job_follow(struct vfs *v, fuse_req_t req, uint64_t id, bool run, size_t size, off_t off)
{
    struct job *job = jobmgr_lookup(v->m, id);
    if (!job) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (job_get_state(job) == JOB_INACTIVE) {
        reply_result(req, job, run, size, off);
        return;
    }
    struct vfs_deferred *d = calloc(1, sizeof(*d));
    if (!d) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    d->req = req;
    d->what = DEFER_WAIT;
    d->jobid = id;
    d->run_tail = run;
    d->off = off;
    d->size = size;
    vfs_wait_defer(v, req, d);
}

void vfs_job_read(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, size_t size, off_t off)
{
    struct job *job = jobmgr_lookup(v->m, fh->jobid);
    if (!job) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (fh->kind == FH_OUTPUT) {
        char *buf = malloc(size ? size : 1);
        if (!buf) {
            fuse_reply_err(req, ENOMEM);
            return;
        }
        ssize_t n = jobmgr_output_read(v->m, job, fh->stream, off, buf, size);
        if (n < 0)
            fuse_reply_err(req, (int)-n);
        else
            fuse_reply_buf(req, buf, n);
        free(buf);
        return;
    }
    /* FH_WAIT: block (without a thread) until the job is inactive */
    vfs_job_follow(v, req, job_get_id(job), false, size, off);
}

void vfs_jobs_poll(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, struct fuse_pollhandle *ph)
{
    struct job *job = jobmgr_lookup(v->m, fh->jobid);
    if (!job || job_get_state(job) == JOB_INACTIVE) {
        if (ph)
            fuse_pollhandle_destroy(ph);
        fuse_reply_poll(req, job ? POLLIN | POLLRDNORM : POLLIN | POLLERR);
        return;
    }
    if (ph) {
        /* the kernel asks again after each wakeup: one handle per descriptor */
        if (fh->ph)
            fuse_pollhandle_destroy(fh->ph);
        else {
            fh->next_poll = v->pollers;
            v->pollers = fh;
        }
        fh->ph = ph;
    }
    fuse_reply_poll(req, 0);
}

void vfs_jobs_unpoll(struct vfs *v, struct vfs_fh *fh)
{
    struct vfs_fh **pp = &v->pollers;
    while (*pp && *pp != fh)
        pp = &(*pp)->next_poll;
    if (*pp)
        *pp = fh->next_poll;
    fh->next_poll = NULL;
    if (fh->ph)
        fuse_pollhandle_destroy(fh->ph);
    fh->ph = NULL;
}

/* The job ended or went: its pollers look again (and find it readable). */
static void wake_pollers(struct vfs *v, uint64_t jobid)
{
    struct vfs_fh **pp = &v->pollers;
    while (*pp) {
        struct vfs_fh *fh = *pp;
        if (fh->jobid != jobid) {
            pp = &fh->next_poll;
            continue;
        }
        *pp = fh->next_poll;
        fh->next_poll = NULL;
        fuse_lowlevel_notify_poll(fh->ph);
        fuse_pollhandle_destroy(fh->ph);
        fh->ph = NULL;
    }
}

void vfs_jobs_gone(struct vfs *v, struct job *job)
{
    wake_pollers(v, job_get_id(job));
    struct vfs_deferred **pp = &v->deferred;
    while (*pp) {
        struct vfs_deferred *d = *pp;
        if (d->what == DEFER_WAIT && d->jobid == job_get_id(job)) {
            *pp = d->next;
            fuse_reply_err(d->req, ENOENT);
            free(d);
        } else
            pp = &d->next;
    }
}

void vfs_jobs_wake(struct vfs *v, struct job *job)
{
    wake_pollers(v, job_get_id(job));
    struct vfs_deferred **pp = &v->deferred;
    while (*pp) {
        struct vfs_deferred *d = *pp;
        if (d->what == DEFER_WAIT && d->jobid == job_get_id(job)) {
            *pp = d->next;
            reply_result(d->req, job, d->run_tail, d->size, d->off);
            free(d);
        } else
            pp = &d->next;
    }
}

void vfs_job_write(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, const char *buf,
                   size_t size)
{
    struct job *job = jobmgr_lookup(v->m, fh->jobid);
    struct errmsg err = { "" };
    if (!job) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    char subject[64];
    snprintf(subject, sizeof(subject), "jobs/%s/ctl", job_get_idstr(job));
    if (v->forward_ctl) {
        vfs_forward_write(v, req, fh, job_get_id(job), subject, buf, size);
        return;
    }
    /* the opener's authority (fh->uid); the reason goes to the writer */
    int rc = jobmgr_ctl(v->m, job, fh->uid, buf, size, &err);
    if (rc < 0) {
        vfs_errlog_add(v, fuse_req_ctx(req)->uid, subject, -rc, err.text);
        fuse_reply_err(req, -rc);
        return;
    }
    fuse_reply_write(req, size);
}

/* joblist's lines, a job at a time in submission order: every job listed
 * by the time a read reaches it (one purged meanwhile is skipped, one
 * submitted meanwhile is there) */
int vfs_joblist_fill(struct vfs *v, struct vfs_fh *fh, size_t want)
{
    while (fh->data.len < want) {
        struct job *job = jobmgr_next(v->m, fh->list_next);
        if (!job) {
            fh->list_end = true;
            return 0;
        }
        fh->list_next = job_get_seq(job) + 1;
        if (joblist_line(v->m, job, &fh->data) < 0)
            return -ENOMEM;
    }
    return 0;
}
