/* vfs.h - the mounted tree: FUSE low-level requests in, model calls out.
 *
 * The vfs translates paths and file operations into calls on the jobmgr
 * (jobs, queue, resources) and renders the model as files. It holds no
 * scheduling or storage logic. Layout and formats: doc/tree.md.
 *
 * Threading: every function here runs on the broker's loop thread, which
 * also processes FUSE requests; replies may be deferred (submissions wait
 * for the group commit, `wait` reads wait for the job to end).
 */
#ifndef FLUXFS_VFS_H
#define FLUXFS_VFS_H

#include <jansson.h>

#include <fuse_lowlevel.h>
#include "fsd/jobmgr.h"
#include "fsd/publish.h"

struct vfs;

struct vfs *vfs_create(struct jobmgr *m, struct ev_loop *loop);
/* What one user (not root) may hold in queue/: bytes in open submissions,
 * queue/new files and scratch files (default VFS_QUOTA_BYTES), and files
 * open there (default VFS_QUOTA_FILES); 0: no limit. */
#define VFS_QUOTA_BYTES (256ull << 20)
#define VFS_QUOTA_FILES 1024
void vfs_set_user_limits(struct vfs *v, uint64_t bytes, unsigned files);
/* The state directory, whose file system df shows for the tree. */
/* A system instance's privileged helper (exec/imp_client.h), which reads
 * what only root may of another user's process (its working directory). */
struct imp;
void vfs_set_imp(struct vfs *v, struct imp *imp);

int vfs_set_statedir(struct vfs *v, const char *dir);
/* The tree's own mount point (absolute): a submitter standing inside it
 * (rsync writes from the destination) is not where its job runs. */
int vfs_set_mountpoint(struct vfs *v, const char *dir);
/* Refuse new submissions from now on (EAGAIN, "the instance is shutting down"). */
void vfs_shutdown(struct vfs *v);
/* Answers every deferred request: durable submissions succeed, the rest get EINTR. */
void vfs_destroy(struct vfs *v);

/* The ops table and userdata for fuse_session_new(). */
const struct fuse_lowlevel_ops *vfs_ops(void);

/* The publisher, whose mkdir in jobs/ announces a job to inotify watchers
 * (may be NULL: then jobs are announced at once and watchers see no events). */
void vfs_set_publisher(struct vfs *v, struct publisher *p);
struct nests;
/* Nested instances shown under jobs/<id>/ (NULL: none). */
void vfs_set_nests(struct vfs *v, struct nests *ns);

/* A follower's tree of a multi-node instance (fsd/cluster.h): what is
 * submitted in queue/ goes to the leader. fn sends it under token and
 * returns 0, or -errno with err filled (then it fails at once); the
 * leader's answer, once the jobs are durable there, comes back through
 * vfs_forward_done(): rc 0 with the jobs' ids (a line each), or -errno with
 * the reason, logged in the submitter's queue/errors. */
typedef int (*vfs_forward_f)(void *arg, uint64_t token, const char *text, size_t len,
                             uid_t uid, gid_t gid, const char *cwd, const char *queue,
                             const char *subject, struct errmsg *err);
void vfs_set_forward(struct vfs *v, vfs_forward_f fn, void *arg);
/* ... and what is written to jobs/<id>/ctl or resources/ctl (jobid 0),
 * with the opener's uid, whose answer comes the same way (ids NULL). Same
 * arg as vfs_set_forward. */
typedef int (*vfs_forward_ctl_f)(void *arg, uint64_t token, uint64_t jobid, uid_t uid,
                                 const char *text, size_t len, const char *subject,
                                 struct errmsg *err);
void vfs_set_forward_ctl(struct vfs *v, vfs_forward_ctl_f fn);
void vfs_forward_done(struct vfs *v, uint64_t token, int rc, const char *ids, uid_t uid,
                      const char *subject, const char *why);

/* A follower's tree: a lookup of jobs/ID that finds no job, and an
 * opendir of jobs/, ask fn first for a read barrier (fsd/replica.h): fn
 * calls done(done_arg, rc) once every job the leader had when it asked is
 * here (rc 0), or it cannot know (rc < 0: they answer from what is here).
 * So a job whose submission returned on any broker is found and listed on
 * every broker. */
typedef void (*vfs_done_f)(void *arg, int rc);
typedef int (*vfs_barrier_f)(void *arg, vfs_done_f done, void *done_arg);
void vfs_set_barrier(struct vfs *v, vfs_barrier_f fn, void *arg);

/* More for status and status.json: fn returns an object (a new reference)
 * shown as status.json's "overlay" and as "overlay-*" lines in status. */
typedef json_t *(*vfs_status_extra_f)(void *arg);
void vfs_set_status_extra(struct vfs *v, vfs_status_extra_f fn, void *arg);

/* The model changed (wired to jobmgr_set_notify by the broker). */
void vfs_job_changed(void *arg, struct job *job, enum jobmgr_change what, int stream);

/* After the broker's commit: submissions waiting for it are answered
 * (commit_rc), or, with ticket != 0 (the commit was lazy and a sync was
 * asked for: fsd/syncer.h), they wait for vfs_after_sync() of that ticket. */
void vfs_after_commit(struct vfs *v, int commit_rc, uint64_t ticket);
/* Syncs up to ticket done ended, those up to failed with fail_rc. */
void vfs_after_sync(struct vfs *v, uint64_t done, uint64_t failed, int fail_rc);

/* The syncer behind vfs_after_sync() (fsd/syncer.h), when there is one:
 *   answer_after  answers a submitter waiting for sync ticket the moment
 *                 that sync ends, off the loop (syncer_after(): 0 taken,
 *                 1 the sync has ended already, -errno); vfs_after_sync()
 *                 then keeps the books only
 *   result        what the sync that covered ticket ended with (0 or
 *                 -errno), for the books (syncer_result())
 * Without it, vfs_after_sync() answers, and a ticket up to its failed
 * counts as failed. NULL ops: none. */
typedef void (*vfs_answer_f)(void *answer, int rc);
struct vfs_sync_ops {
    int (*answer_after)(void *arg, uint64_t ticket, vfs_answer_f fn, void *answer);
    int (*result)(void *arg, uint64_t ticket);
};
void vfs_set_sync(struct vfs *v, const struct vfs_sync_ops *ops, void *arg);

/* After a batch of requests: answer interrupted `wait` reads with EINTR. */
void vfs_process_interrupts(struct vfs *v);

#endif
