/* vfs_private.h - shared by the vfs_*.c files only.
 *
 * Inode numbers are computed, not allocated: the top byte says what kind of
 * object an inode is, the rest names it. The kernel's lookup counts therefore
 * need no bookkeeping except for scratch files, which are real objects.
 *
 *   kind 0  fixed nodes (root, queue/, jobs/, status, ...)   ino = VFS_I_*
 *   kind 1  job directory and its files     ino = (seq << 8) | VFS_JOB_*
 *   kind 2  resources/ vertex (dir or file)  ino = vertex + 1
 *           a vertex directory's state file ino = VFS_RES_STATE | (vertex + 1)
 *   kind 3  scratch file: queue/.name, queue/drafts/NAME   ino = serial
 *   kind 4  queue submission in progress    ino = serial
 *   kind 5  a submission just made, seen by its writer   ino = serial
 *   kind 6  queue/NAME/ and its files        ino = (queue index << 8) | file
 */
#ifndef FLUXFS_VFS_PRIVATE_H
#define FLUXFS_VFS_PRIVATE_H

#include <stdbool.h>
#include <sys/stat.h>
#include "common/strbuf.h"
#include "fsd/vfs/vfs.h"

#define VFS_KIND_SHIFT 56
#define VFS_INO(kind, n) (((fuse_ino_t)(kind) << VFS_KIND_SHIFT) | (fuse_ino_t)(n))
#define VFS_KIND(ino) ((int)((ino) >> VFS_KIND_SHIFT))
#define VFS_NUM(ino) ((ino) & ((1ull << VFS_KIND_SHIFT) - 1))

enum { VK_FIXED = 0, VK_JOB = 1, VK_RES = 2, VK_SCRATCH = 3, VK_SUBMIT = 4, VK_GHOST = 5,
       VK_QDIR = 6 };

/* A named queue's directory and files (vfs_qdir.c). */
enum vfs_qdir_file { VFS_QD_DIR = 0, VFS_QD_CONFIG, VFS_QD_CTL, VFS_QD_STATUS, VFS_QD_NFILES };

enum vfs_fixed {
    VFS_I_ROOT = 1,        /* FUSE_ROOT_ID */
    VFS_I_QUEUE,
    VFS_I_JOBS,
    VFS_I_RESOURCES,
    VFS_I_STATUS,
    VFS_I_README,
    VFS_I_QNEW,
    VFS_I_QERRORS,
    VFS_I_RES_R,
    VFS_I_RES_SUMMARY,
    VFS_I_STATUS_JSON,
    VFS_I_RES_CTL,         /* resources/ctl: up|down|drain PATH */
    VFS_I_RES_ALLOC,       /* resources/allocations: every hold, by vertex */
    VFS_I_QDRAFTS,         /* queue/drafts/: scratch files of any name */
    VFS_I_EVENTS,          /* events: every job event, in commit order */
    VFS_I_ACCT,            /* accounting/: records of ended jobs, usage */
    VFS_I_ACCT_JOBS,       /* accounting/jobs: a record a line (JSON) */
    VFS_I_ACCT_USAGE,      /* accounting/usage: by user and bank (JSON lines) */
    VFS_I_ACCT_CSV,        /* accounting/usage.csv: the same as CSV */
    VFS_I_ACCT_BANKS,      /* accounting/banks: the bank tree (JSON; root writes) */
    VFS_I_ACCT_FS,         /* accounting/fairshare: sshare's rows (JSON lines) */
    VFS_I_QRUN,            /* queue/run: queue/new, then the job followed to its end */
    VFS_I_JOBLIST,         /* joblist: every job, a JSON line each (fsd/joblist.h) */
};

enum vfs_job_file {
    VFS_JOB_DIR = 0,
    VFS_JOB_JOBSPEC,
    VFS_JOB_STATE,
    VFS_JOB_EVENTLOG,
    VFS_JOB_R,
    VFS_JOB_STDOUT,
    VFS_JOB_STDERR,
    VFS_JOB_RESULT,
    VFS_JOB_WAIT,
    VFS_JOB_CTL,
    VFS_JOB_PRIORITY,
    VFS_JOB_NFILES
};

/* Vertex indices are ints, so vertex + 1 stays below this bit. */
#define VFS_RES_STATE (1ull << 32)

/* What an open file handle reads from or writes to. */
enum vfs_fh_kind {
    FH_SNAPSHOT,    /* text rendered at open() */
    FH_OUTPUT,      /* a job's stdout/stderr, read live from the store */
    FH_WAIT,        /* jobs/<id>/wait */
    FH_EVENTS,      /* events (vfs_events.c) */
    FH_CTL,         /* jobs/<id>/ctl, resources/ctl: opened for writing
                     * by one who may control it (fh->uid), whose
                     * authority every write carries */
    FH_POKE,        /* the publisher's own open: writes change nothing */
    FH_SUBMIT,      /* a visible file created in queue/: submitted at close */
    FH_CLONE,       /* queue/new, queue/run: submitted at close or first read */
    FH_SCRATCH,     /* a ".name" file in queue/ */
    FH_CONFIG,      /* a configuration file opened for writing by root or
                     * the owner: the whole text is applied at close */
    FH_STREAM,      /* built as it is read (vfs_stream_read): joblist,
                     * accounting/jobs */
};

/* What stat shows of a file in queue/ and what chmod, chown and utimes
 * change there. */
struct vfs_attr {
    uid_t uid;
    gid_t gid;
    mode_t mode;               /* permission bits only */
    struct timespec atime, mtime, ctime;
};

struct vfs_scratch {
    fuse_ino_t ino;
    fuse_ino_t dir;            /* VFS_I_QUEUE or VFS_I_QDRAFTS */
    char *name;
    struct vfs_attr attr;
    struct strbuf data;
    unsigned long nlookup;     /* kernel references */
    bool unlinked;             /* gone from queue/, freed at nlookup == 0 */
    struct vfs_scratch *next;
};

struct vfs_fh {
    enum vfs_fh_kind kind;
    struct strbuf data;        /* snapshot, or the jobspec being written */
    uint64_t jobid;
    int stream;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    char *name;                /* submission: the file name, for errors */
    fuse_ino_t ino;
    bool submitted;            /* a submission was attempted */
    int submit_rc;             /* its outcome once known (1 = still pending) */
    uint64_t token;            /* forwarded to the leader (a follower's tree), or 0 */
    struct strbuf ids;         /* queue/new: the id of each job submitted, a line each */
    off_t id_base;             /* queue/new: the offset of the first read, where
                                * the id lines start */
    bool run;                  /* queue/run: after the id, its job's end */
    struct vfs_scratch *scratch;
    bool wrote;                /* submission: a write or truncate came */
    int write_err;             /* submission: a write failed (-errno): it is
                                * refused whole, never submitted in part */
    struct vfs_fh *target;     /* another open of a submission (/dev/fd/N):
                                * the handle whose content it shares */
    int refs;                  /* submission: such other opens still open */
    bool released;             /* submission: its own descriptors are gone */
    bool counted;              /* queue/: counted in its opener's open files */
    struct vfs_attr attr;      /* submission: what fstat shows */
    uint64_t ev_next;          /* events: the journal offset a stream reads next */
    int ev_mode;               /* ... 0 undecided, 1 a stream from 0, 2 offsets */
    /* a file built as reads reach it (vfs_stream_read): where its
     * builder goes on from (a job's seq; an accounting record's key),
     * whether it is at the end, and the offset of data's first byte */
    uint64_t list_next, list_next_id;
    bool list_end;
    uint64_t list_base;
    int (*fill)(struct vfs *v, struct vfs_fh *fh, size_t want);
    struct vfs_fh *next_open;  /* submission: vfs.open_submits */
    bool applied;              /* config: the text was applied (at flush) */
    char *queue;               /* submission: the named queue (queue/NAME/) or NULL */
    uint64_t sync_ticket;        /* committed (queue/new: its ids were read, a
                                    submission: its first close waits): durable,
                                    its closes answered, with this sync */
    struct vfs_ask *cwd_ask;     /* submission: its writer's directory, asked of
                                    the helper and not answered yet */
    char *cwd;                   /* ... the answer (NULL: none, cwd_rc says why) */
    int cwd_rc;
    struct fuse_pollhandle *ph;  /* wait: a poll(2) to wake when the job ends */
    struct vfs_fh *next_poll;    /* ... in vfs.pollers */
    bool shared;                 /* vfs.poke: never freed */
};

/* A question to a system instance's helper that the loop does not wait
 * for (vfs_asks.c), answered in the order asked. */
struct vfs_ask {
    enum { ASK_CWD, ASK_HOLDS } what;
    struct vfs_fh *fh;           /* the submission; for ASK_CWD NULL once it is
                                    released (the answer comes to nobody) */
    fuse_req_t req;              /* ASK_HOLDS: the flush that waits for it */
    int answer;                  /* ASK_HOLDS, once answered */
    bool cwd_too;                /* ASK_HOLDS: and fh's directory (fh->cwd) */
    struct vfs_ask *next;
};

/* A submission just made through a visible name stays visible to the
 * process that made it for a few seconds, so that tools which set
 * attributes by name after closing (install -m) succeed. */
struct vfs_ghost {
    fuse_ino_t ino;            /* 0: the slot is free */
    char name[256];
    char queue[32];            /* its named queue (queue/NAME/), or "" */
    pid_t pid;                 /* the submitting thread (FUSE knows threads) */
    double until;              /* ev_now() after which it is gone */
    off_t size;
    struct vfs_attr attr;
};
#define VFS_GHOSTS 16
#define VFS_GHOST_TTL 5.0

/* Most bytes one submission may carry: a stream of many jobs (bulk
 * submission, common/jobstream.h); each job is still at most
 * JOBSPEC_MAX_SIZE. */
#define VFS_SUBMIT_MAX (32u << 20)

/* A request answered later: a submission awaiting its commit, or a `wait`
 * read awaiting the end of a job. */
struct vfs_deferred {
    fuse_req_t req;
    enum { DEFER_FLUSH, DEFER_CLONE_READ, DEFER_WAIT, DEFER_WRITE, DEFER_ENTRY } what;
    struct vfs_fh *fh;         /* DEFER_FLUSH / DEFER_CLONE_READ */
    uint64_t jobid;            /* DEFER_WAIT */
    bool run_tail;             /* DEFER_WAIT: queue/run's, not `wait`'s */
    uint64_t token;            /* forwarded to the leader: its answer ends it, not a commit */
    uint64_t ticket;           /* committed: the sync (fsd/syncer.h) it waits for, or 0 */
    struct stat entry;         /* DEFER_ENTRY: what mkdir made */
    off_t off;                 /* DEFER_WAIT */
    size_t size;
    volatile bool interrupted;
    struct vfs_deferred *next;
};

/* d waits for sync d->ticket: its answer goes with the syncer, sent the
 * moment the sync ends (vfs_set_sync), when it is one the syncer's thread
 * can make; d->req is then NULL. */
void vfs_answer_on_sync(struct vfs *v, struct vfs_deferred *d);

/* What the sync that made ticket durable ended with: 0, or its error. */
int vfs_sync_result(const struct vfs *v, uint64_t ticket);

struct vfs_errlog {
    uid_t uid;
    double mtime;              /* when its last line was added */
    char *lines[16];           /* ring, oldest first from 'first' */
    int first, count;
    struct vfs_errlog *next;
};

struct nests;

struct vfs {
    struct jobmgr *m;
    struct ev_loop *loop;
    struct imp *imp;             /* a system instance's privileged helper: reads
                                    another user's /proc/PID/cwd for us */
    struct nests *nests;         /* nested instances (fsd/nest.h), or NULL */
    struct publisher *pub;
    vfs_status_extra_f status_extra;  /* a multi-node instance's overlay */
    void *status_extra_arg;
    pid_t pub_tid;
    uid_t owner;
    double t_mount;
    struct vfs_scratch *scratch;      /* listed in queue/ or queue/drafts/ */
    struct vfs_scratch *scratch_gone; /* unlinked, awaiting the kernel's forget */
    uint64_t next_serial;
    vfs_forward_f forward;            /* a follower: submissions go to the leader */
    void *forward_arg;
    vfs_forward_ctl_f forward_ctl;    /* a follower: ctl writes go to the leader */
    vfs_barrier_f barrier;            /* a follower: lookups of unknown jobs wait */
    void *barrier_arg;
    uint64_t forward_serial;          /* names forwarded submissions */
    struct vfs_fh *open_submits;      /* submissions being written (fstat) */
    struct vfs_ghost ghosts[VFS_GHOSTS];  /* recent submissions, by their writers */
    double queue_mtime, drafts_mtime, jobs_mtime;
    double events_mtime;         /* the journal last grew */
    char *statedir;                   /* for statfs (df), or NULL */
    char *mountpoint;                 /* ours (vfs_set_mountpoint), or NULL */
    struct vfs_quota_user *quota;     /* per-user use of queue/ (vfs_quota.c) */
    uint64_t quota_bytes;             /* bytes one user may hold there, 0: no limit */
    unsigned quota_files;             /* files one user may have open there, 0: no limit */
    struct vfs_deferred *deferred;    /* `wait` reads */
    struct vfs_fh *pollers;           /* `wait` handles polled for the job's end */
    /* Every open of the publisher's (its pokes) shares this handle: a poke
     * answers no FLUSH, so its RELEASE may still be queued when the mount
     * goes, and a handle of its own would then never be freed. */
    struct vfs_fh poke;
    uint64_t synced;                  /* the last sync done (syncer ticket) */
    const struct vfs_sync_ops *sync_ops;   /* the syncer's (vfs_set_sync), or NULL */
    void *sync_arg;
    uint64_t sync_failed;             /* ... the last one that failed, and why */
    int sync_failed_rc;
    struct vfs_ask *asks;             /* questions to the helper, oldest first */
    struct vfs_ask **asks_tail;
    bool asking;                      /* ... its answers are watched: ask away */
    struct vfs_ask *answered;         /* flushes whose answer came while the loop
                                         waited for another (run by a timer) */
    uint64_t answered_timer;
    struct vfs_deferred *submits;     /* submissions awaiting the commit */
    bool interrupts;
    bool stopping;             /* shutting down: no new submissions */
    struct vfs_errlog *errlogs;
};

/* Timeouts the kernel may cache entries and attributes for. */
#define VFS_TTL_FIXED 1.0
#define VFS_TTL_NONE 0.0

/* vfs_queue.c: req waits for the answer to a forwarded request (token):
 * a close (DEFER_FLUSH), a read of queue/new (DEFER_CLONE_READ) or a ctl
 * write of size bytes (DEFER_WRITE); or, token 0, for the commit or sync
 * in progress. Returns the record, or NULL once req is answered ENOMEM. */
struct vfs_deferred *defer_submission(struct vfs *v, fuse_req_t req, struct vfs_fh *fh,
                                      int what, size_t size, off_t off, uint64_t token);

/* vfs.c: a submission parsed on the ingest thread (jobmgr_submit_text_async)
 * under token: rc 0, its jobs entered, wait for the commit; else answer. */
void vfs_parsed(struct vfs *v, uint64_t token, int rc, const char *ids, uid_t uid,
                const char *subject, const char *why);

/* vfs.c: a follower's tree: a ctl write (jobid 0: resources/ctl) goes to
 * the leader with the opener's uid; req is answered with its answer
 * (vfs_forward_done), or now with the reason it could not be sent. */
void vfs_forward_write(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, uint64_t jobid,
                       const char *subject, const char *buf, size_t size);

/* vfs.c: shared helpers */
void vfs_stat_dir(struct vfs *v, struct stat *st, fuse_ino_t ino, uid_t uid, mode_t mode,
                  double mtime);
void vfs_stat_file(struct vfs *v, struct stat *st, fuse_ino_t ino, uid_t uid, mode_t mode,
                   off_t size, double mtime);
int vfs_reply_entry(fuse_req_t req, const struct stat *st, double ttl);
/* The same for one of job's inodes, counting the kernel's reference to it
 * (job->kernel_refs, given back by FORGET). The publisher's count too: it
 * looks up only jobs that are watchable already. */
void vfs_job_entry(fuse_req_t req, struct job *job, const struct stat *st, double ttl);
/* FORGET of a job's inode: nlookup references fewer. */
void vfs_jobs_forget(struct vfs *v, fuse_ino_t ino, uint64_t nlookup);
/* Whether the kernel holds an inode of job for anything but its
 * announcement: only then can an inotify watch be on one. */
bool vfs_job_watchable(const struct job *job);
/* A submission's file name, for errors and for finding its descriptors:
 * queue/new's and queue/run's own, else the name it was made under. */
static inline const char *vfs_fh_name(const struct vfs_fh *fh)
{
    return fh->kind == FH_CLONE ? (fh->run ? "run" : "new") : fh->name;
}
struct vfs_fh *vfs_fh_create(fuse_req_t req, enum vfs_fh_kind kind, fuse_ino_t ino);
void vfs_fh_destroy(struct vfs_fh *fh);
/* The handle whose content fh shares (itself, unless it is another open
 * of a submission). */
static inline struct vfs_fh *vfs_fh_target(struct vfs_fh *fh)
{
    return fh->target ? fh->target : fh;
}
int vfs_reply_open(fuse_req_t req, struct fuse_file_info *fi, struct vfs_fh *fh, bool direct);
void vfs_reply_slice(fuse_req_t req, const char *data, size_t len, size_t size, off_t off);
/* A file built as reads reach it, a line at a time (joblist,
 * accounting/jobs): fill() appends lines to fh->data from its cursor
 * (fh->list_next...) until data holds at least want bytes or it is at the
 * end (it sets fh->list_end); 0 or -errno. Lines wholly before a read are
 * dropped as they come, and what a read returned once it is answered, so
 * no request builds much more than it returns and an open file holds only
 * its cursor and the rest of a line between reads; a read before that (a
 * seek back, the same read again) starts it over from an empty cursor.
 * vfs_stream_open() answers an open (read-only: EACCES otherwise) with
 * such a handle. */
typedef int (*vfs_fill_f)(struct vfs *v, struct vfs_fh *fh, size_t want);
void vfs_stream_open(fuse_req_t req, struct fuse_file_info *fi, fuse_ino_t ino, vfs_fill_f fill);
void vfs_stream_read(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, size_t size, off_t off);
bool vfs_is_publisher(struct vfs *v, fuse_req_t req);
bool vfs_is_privileged(struct vfs *v, uid_t uid);
void vfs_defer(struct vfs *v, struct vfs_deferred *d);
void vfs_errlog_add(struct vfs *v, uid_t uid, const char *subject, int err, const char *reason);
int vfs_errlog_render(struct vfs *v, uid_t uid, struct strbuf *sb);
/* When uid's queue/errors last changed (the mount's time if never). */
double vfs_errlog_mtime(struct vfs *v, uid_t uid);

/* A tiny readdir accumulator over fuse_add_direntry(). */
struct vfs_dirbuf {
    fuse_req_t req;
    char *buf;
    size_t size, len;
};
/* Add an entry whose successor is at offset next_off; false when full. */
bool vfs_dirbuf_add(struct vfs_dirbuf *db, const char *name, fuse_ino_t ino, mode_t mode,
                    off_t next_off);

/* vfs_root.c */
void vfs_root_lookup(struct vfs *v, fuse_req_t req, const char *name);
void vfs_root_readdir(struct vfs *v, struct vfs_dirbuf *db, off_t off);
int vfs_fixed_stat(struct vfs *v, fuse_ino_t ino, struct stat *st);
/* The same as seen by uid (queue/errors differs per user). */
int vfs_fixed_stat_as(struct vfs *v, fuse_ino_t ino, uid_t uid, struct stat *st);
int vfs_fixed_render(struct vfs *v, fuse_ino_t ino, uid_t uid, struct strbuf *sb);

/* vfs_queue.c: queue/ and queue/drafts/ (dir is VFS_I_QUEUE or VFS_I_QDRAFTS) */
bool vfs_queue_is_dir(fuse_ino_t ino);
void vfs_queue_lookup(struct vfs *v, fuse_req_t req, fuse_ino_t dir, const char *name);
void vfs_queue_readdir(struct vfs *v, struct vfs_dirbuf *db, fuse_ino_t dir, off_t off,
                       uid_t uid);
void vfs_queue_create(struct vfs *v, fuse_req_t req, fuse_ino_t dir, const char *name,
                      mode_t mode, struct fuse_file_info *fi);
void vfs_queue_open(struct vfs *v, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void vfs_queue_read(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, size_t size, off_t off);
void vfs_queue_write(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, const char *buf,
                     size_t size, off_t off);
void vfs_queue_flush(struct vfs *v, fuse_req_t req, struct vfs_fh *fh);
/* The last reference to an open queue file is gone: submit what was written
 * and never submitted, then free fh. */
void vfs_queue_release(struct vfs *v, struct vfs_fh *fh);
void vfs_queue_unlink(struct vfs *v, fuse_req_t req, fuse_ino_t dir, const char *name);
void vfs_queue_rename(struct vfs *v, fuse_req_t req, fuse_ino_t dir, const char *name,
                      fuse_ino_t newparent, const char *newname, unsigned int flags);
int vfs_queue_stat(struct vfs *v, fuse_ino_t ino, struct stat *st);
/* chmod, chown, utimes and truncate of a file in queue/ (kinds VK_SCRATCH,
 * VK_SUBMIT, VK_GHOST); fills st with the result. */
int vfs_queue_setattr(struct vfs *v, fuse_req_t req, fuse_ino_t ino, const struct stat *attr,
                      int to_set, struct fuse_file_info *fi, struct stat *st);
void vfs_queue_forget(struct vfs *v, fuse_ino_t ino, uint64_t nlookup);
void vfs_queue_destroy(struct vfs *v);
void vfs_submission_done(struct vfs *v, struct vfs_deferred *d, int rc);
/* poll(2) on a file of queue/: queue/run's as `wait`'s once its id was read */
void vfs_queue_poll(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, struct fuse_pollhandle *ph);
/* Answer a read of queue/new with the ids of its jobs (committed); on
 * queue/run, past them, with its job's end. */
void vfs_clone_ids(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, size_t size, off_t off);

/* vfs_scratch.c: scratch files and the attributes of files in queue/ */
/* queue/ or queue/drafts/ changed: its mtime is now. */
void vfs_queue_touch(struct vfs *v, fuse_ino_t dir);
void vfs_attr_init(struct vfs_attr *a, const struct fuse_ctx *ctx, mode_t mode);
void vfs_attr_stat(struct vfs *v, const struct vfs_attr *a, fuse_ino_t ino, off_t size,
                   struct stat *st);
/* chmod, chown, utimes as on a local file system: the owner changes mode,
 * group (to one of its groups) and times; writable callers touch to now;
 * only root gives a file away, which applies when own_uid (scratch files)
 * and is accepted and ignored otherwise. 0 or -EPERM, -EACCES. */
int vfs_attr_change(struct vfs *v, fuse_req_t req, struct vfs_attr *a, const struct stat *in,
                    int to_set, bool own_uid, bool writable);
/* Write or truncate an in-memory file of at most VFS_SUBMIT_MAX bytes. */
int vfs_buf_write(struct strbuf *sb, const char *buf, size_t size, off_t off);
int vfs_buf_truncate(struct strbuf *sb, off_t size);
struct vfs_scratch *vfs_scratch_find(struct vfs *v, fuse_ino_t dir, const char *name, uid_t uid);
/* Any scratch file the kernel may still name, unlinked ones included. */
struct vfs_scratch *vfs_scratch_by_ino(struct vfs *v, fuse_ino_t ino);
/* Make dir/name for the caller (lookup count 0). 0 or -EEXIST, -EDQUOT, -ENOMEM. */
int vfs_scratch_create(struct vfs *v, fuse_req_t req, fuse_ino_t dir, const char *name,
                       mode_t mode, struct vfs_scratch **out);
/* Take s out of its directory; freed once the kernel forgets it. */
void vfs_scratch_unlink(struct vfs *v, struct vfs_scratch *s);
/* Rename s to dir/newname, a scratch name too. 0 or -EEXIST, -EPERM, -ENOMEM. */
int vfs_scratch_rename(struct vfs *v, fuse_req_t req, struct vfs_scratch *s, fuse_ino_t dir,
                       const char *newname, unsigned int flags);
void vfs_scratch_stat(struct vfs *v, const struct vfs_scratch *s, struct stat *st);
/* Its content changed now. */
void vfs_scratch_touch(struct vfs_scratch *s);
/* Whether uid may open s for acc: its owner and the privileged always,
 * others as its mode's "other" bits say. */
bool vfs_scratch_may(struct vfs *v, const struct vfs_scratch *s, uid_t uid, int acc);

/* vfs_quota.c: per-user budgets in queue/ (root is exempt) */
struct vfs_quota_user;
/* uid's bytes change by delta: 0, or -ENOSPC (growth over its budget:
 * nothing changed). Shrinking always succeeds. */
int vfs_quota_bytes(struct vfs *v, uid_t uid, int64_t delta);
/* uid opens (+1) or closes (-1) a file in queue/, or may it open one (0):
 * 0, or -EMFILE. */
int vfs_quota_file(struct vfs *v, uid_t uid, int delta);
/* Say in uid's queue/errors which budget refused (rc -ENOSPC or -EMFILE). */
void vfs_quota_refused(struct vfs *v, uid_t uid, const char *subject, int rc);
void vfs_quota_destroy(struct vfs *v);

/* vfs_writers.c: who still writes a submission, who just made one */
/* Whether a close by pid leaves the file open for writing elsewhere. */
bool vfs_still_open(struct vfs *v, struct vfs_fh *fh, pid_t pid);
/* Whether a close by pid must ask about its parent too (procfd_held). */
bool vfs_parent_may_hold(const struct vfs_fh *fh, pid_t pid);
struct vfs_ghost *vfs_ghost_by_ino(struct vfs *v, fuse_ino_t ino);
/* The ghost of name for the calling thread, if it has one. */
struct vfs_ghost *vfs_ghost_find(struct vfs *v, fuse_req_t req, fuse_ino_t dir,
                                 const char *name);
/* Remember a submission just made by fh's writer, thread pid. */
void vfs_ghost_add(struct vfs *v, const struct vfs_fh *fh, pid_t pid);

/* vfs_jobs.c */
void vfs_jobs_lookup(struct vfs *v, fuse_req_t req, fuse_ino_t parent, const char *name);
void vfs_jobs_readdir(struct vfs *v, struct vfs_dirbuf *db, fuse_ino_t ino, off_t off);
int vfs_job_stat(struct vfs *v, fuse_ino_t ino, struct stat *st);
void vfs_jobs_mkdir(struct vfs *v, fuse_req_t req, fuse_ino_t parent, const char *name);
void vfs_job_open(struct vfs *v, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void vfs_job_read(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, size_t size, off_t off);
/* joblist's lines (vfs_stream_read) */
int vfs_joblist_fill(struct vfs *v, struct vfs_fh *fh, size_t want);
void vfs_job_write(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, const char *buf,
                   size_t size);
/* The job is gone (purged): its `wait` readers get ENOENT. */
void vfs_jobs_gone(struct vfs *v, struct job *job);
void vfs_jobs_wake(struct vfs *v, struct job *job);
/* poll(2) on a `wait` handle: POLLIN once the job has ended (a read would
 * not block) or is gone; until then the kernel's handle is kept and woken
 * by vfs_jobs_wake/gone. vfs_jobs_unpoll drops a handle's (its release). */
void vfs_jobs_poll(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, struct fuse_pollhandle *ph);
void vfs_jobs_unpoll(struct vfs *v, struct vfs_fh *fh);
/* A read of the end of job id: `wait`'s result line (run false), or
 * queue/run's tail (its result line, then "output OUT ERR": the bytes of
 * its stdout and stderr), from off; blocks (without a thread, EINTR on a
 * signal) until the job is inactive; ENOENT once it is gone. */
void vfs_job_follow(struct vfs *v, fuse_req_t req, uint64_t id, bool run, size_t size, off_t off);

/* vfs_asks.c: questions to the helper without waiting (struct vfs_ask) */
void vfs_asks_start(struct vfs *v);
void vfs_asks_stop(struct vfs *v);
/* A submission's opener's directory, asked when the file is opened. */
void vfs_ask_cwd(struct vfs *v, struct vfs_fh *fh);
/* Wait until fh's directory has come (fh->cwd, fh->cwd_rc). */
void vfs_asks_wait(struct vfs *v, struct vfs_fh *fh);
/* Whether pid still holds fh open, for its flush req: true when asked
 * (vfs_queue_flush_answer() then finishes the flush), false when it must
 * be asked waiting (vfs_still_open). */
bool vfs_ask_holds(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, pid_t pid);
/* vfs_queue.c: a flush whose vfs_ask_holds was answered (held: 1, 0, -errno) */
void vfs_queue_flush_answer(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, int held);

/* vfs_resources.c */
void vfs_res_lookup(struct vfs *v, fuse_req_t req, fuse_ino_t parent, const char *name);
void vfs_res_readdir(struct vfs *v, struct vfs_dirbuf *db, fuse_ino_t ino, off_t off);
void vfs_res_write(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, const char *buf,
                   size_t size);

/* vfs_nest.c: jobs/<id>/<name>/, nested instances */
bool vfs_nest_file(int file);
int vfs_nest_stat(struct vfs *v, const struct job *job, int file, struct stat *st);
bool vfs_nest_lookup(struct vfs *v, fuse_req_t req, struct job *job, const char *name);
void vfs_nest_lookup_in(struct vfs *v, fuse_req_t req, struct job *job, int file,
                        const char *name);
void vfs_nest_readdir_job(struct vfs *v, struct vfs_dirbuf *db, const struct job *job,
                          off_t off, off_t first);
void vfs_nest_readdir(struct vfs *v, struct vfs_dirbuf *db, const struct job *job, int file,
                      off_t off);
void vfs_nest_readlink(struct vfs *v, fuse_req_t req, const struct job *job, int file);
void vfs_nest_mkdir(struct vfs *v, fuse_req_t req, struct job *job, const char *name);
void vfs_nest_rmdir(struct vfs *v, fuse_req_t req, struct job *job, const char *name);
/* vfs_jobs.c: the job an inode of kind VK_JOB names, any file (nests too) */
struct job *vfs_job_of(struct vfs *v, fuse_ino_t ino, int *file);
int vfs_res_stat(struct vfs *v, fuse_ino_t ino, struct stat *st);
/* vfs_events.c: events */
void vfs_events_stat(struct vfs *v, struct stat *st);
void vfs_events_open(struct vfs *v, fuse_req_t req, struct fuse_file_info *fi);
void vfs_events_read(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, size_t size, off_t off);
int vfs_res_render(struct vfs *v, fuse_ino_t ino, struct strbuf *sb);

/* vfs_acct.c: accounting/ (root and the instance owner see every record,
 * others their own) */
/* vfs_qdir.c */
bool vfs_qdir_is_dir(fuse_ino_t ino);
const char *vfs_qdir_name(struct vfs *v, fuse_ino_t dir);
bool vfs_qdir_reserved(const char *name);
int vfs_qdir_stat(struct vfs *v, fuse_ino_t ino, struct stat *st);
bool vfs_qdir_lookup_in_queue(struct vfs *v, fuse_req_t req, const char *name);
void vfs_qdir_lookup_file(struct vfs *v, fuse_req_t req, fuse_ino_t dir, const char *name);
bool vfs_qdir_list(struct vfs *v, struct vfs_dirbuf *db, off_t off, off_t base);
bool vfs_qdir_list_files(struct vfs *v, struct vfs_dirbuf *db, fuse_ino_t dir, off_t off);
int vfs_qdir_render(struct vfs *v, fuse_ino_t ino, struct strbuf *sb);
void vfs_qdir_open(struct vfs *v, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void vfs_qdir_ctl_write(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, const char *buf,
                        size_t size);
void vfs_qdir_mkdir(struct vfs *v, fuse_req_t req, const char *name);
void vfs_qdir_rmdir(struct vfs *v, fuse_req_t req, const char *name);

/* vfs_config.c */
bool vfs_config_is(fuse_ino_t ino);
void vfs_config_open(struct vfs *v, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void vfs_config_truncate(struct vfs_fh *fh, off_t size);
void vfs_config_write(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, const char *buf,
                      size_t size, off_t off);
void vfs_config_flush(struct vfs *v, fuse_req_t req, struct vfs_fh *fh);
void vfs_config_release(struct vfs *v, struct vfs_fh *fh);

void vfs_acct_lookup(struct vfs *v, fuse_req_t req, const char *name);
void vfs_acct_readdir(struct vfs *v, struct vfs_dirbuf *db, off_t off);
int vfs_acct_render(struct vfs *v, fuse_ino_t ino, uid_t uid, struct strbuf *sb);
/* accounting/jobs's lines (vfs_stream_read): the reader's records, or
 * every one for root and the owner */
int vfs_acct_jobs_fill(struct vfs *v, struct vfs_fh *fh, size_t want);
/* accounting/usage and usage.csv: answered once a worker has summed the
 * reader's records (jobmgr_acct_usage), the loop serving others meanwhile */
void vfs_acct_usage_open(struct vfs *v, fuse_req_t req, fuse_ino_t ino,
                         struct fuse_file_info *fi);

/* Totals of the resource graph now, for resources/summary and status. */
struct vfs_res_totals {
    int64_t nodes, cores, cores_free, gpus, gpus_free;
};
void vfs_res_totals(struct vfs *v, struct vfs_res_totals *t);

#endif
