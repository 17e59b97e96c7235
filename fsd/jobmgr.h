/* jobmgr.h - the broker's job model: submit, schedule, run, control, recover.
 *
 * jobmgr owns the job table and drives each job through the RFC 21 states,
 * writing every transition to the job's eventlog in the store. It asks sched/
 * for decisions and exec/ for processes; it never talks to FUSE. The view
 * (vfs/) calls the functions below and is told about changes through the
 * notify callback.
 *
 * The broker runs one loop iteration as:
 *     ev_run_once()             requests (new jobs enter the queue), task
 *                               output and exits, timers
 *     jobmgr_prepare_commit()   scheduling decisions, dirty records written
 *     store_commit()            one durable transaction (group commit)
 *     jobmgr_after_commit(rc)   new jobs are accepted, allocated jobs start
 * so nothing acts outside the broker on a submission before it is durable
 * (a new job may be allocated in the commit that makes it so: a failed
 * commit undoes both), and a job starts only after its allocation is
 * recorded.
 */
#ifndef FLUXFS_JOBMGR_H
#define FLUXFS_JOBMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/errmsg.h"
#include "common/ev.h"
#include "common/strbuf.h"
#include "fsd/job.h"
#include "exec/executor.h"
#include "fsd/store.h"
#include "sched/rgraph.h"
#include "sched/graph.h"
#include "sched/qmgr.h"

struct jobmgr_config {
    double kill_grace;        /* seconds between SIGTERM and SIGKILL (default 5) */
    uint64_t output_cap;      /* bytes kept per output stream (default 16 MiB) */
    double purge_age;         /* purge inactive jobs older than this (s); 0 = keep */
    uint64_t purge_keep;      /* keep at most this many inactive jobs; 0 = all */
    double acct_keep;         /* accounting records kept this long (s); 0 = for ever */
    const char *match_policy; /* match.h policy name (default "low") */
    const char *queue_policy; /* "fcfs", "easy" (default) or "conservative" */
    int queue_depth;          /* reservation depth, 0 = the policy's default */
    int64_t max_tasks;        /* most tasks one job may ask for; 0 = the default,
                               * JOBMGR_MAX_TASKS_PER_CORE per core of the graph
                               * and at least JOBMGR_MAX_TASKS_MIN */
    bool read_only;           /* an ended nested instance serving its history */
    bool replica;             /* a follower: its store is a copy of the leader's
                               * (fsd/replica.h); read-only, nothing recovered */
    bool share;               /* a leader with followers: what their resources/
                               * shows goes in the store's shared records */
    bool contain;             /* a cgroup per job (executor's contain/release) */
    size_t max_pending;       /* pending jobs one user (not root) may have; 0: any */
    double submit_rate;       /* submissions a user (not root) may make a second; 0: any */
    /* Who runs the tasks (exec/executor.h); NULL: this machine's launcher.
     * executor_arg is passed to it. */
    executor_create_f executor_create;
    void *executor_arg;
    const char *mount;        /* the tree's mount point (tasks' FLUXFS_MOUNT) */
    const char *priority;     /* weights and fair-share settings, "KEY=VALUE,..."
                               * (fsd/priority.h); NULL: the defaults */
};

/* Every task is a process forked on this machine, and the executor keeps a
 * record per task: a job asking for two billion tasks is refused at
 * submission, not failed at start. 64 per core leaves room for
 * oversubscribed runs (MPI tests, many small workers), and the floor keeps
 * one- and two-core instances (tests, laptops) useful. */
#define JOBMGR_MAX_TASKS_PER_CORE 64
#define JOBMGR_MAX_TASKS_MIN 1024

enum jobmgr_change {
    JOBMGR_NEW,      /* a job was submitted (and is now durable) */
    JOBMGR_STATE,    /* a job changed state */
    JOBMGR_OUTPUT,   /* a job's stdout (stream 1) or stderr (2) grew */
    JOBMGR_GONE,     /* an inactive job is being purged (last call with it) */
    JOBMGR_JOURNAL,  /* the event journal grew (job NULL) */
};

typedef void (*jobmgr_notify_f)(void *arg, struct job *job, enum jobmgr_change what,
                                int stream);

struct jobmgr;

/* Load every job from the store and recover: pending jobs are queued again,
 * jobs that were running when the previous broker died become INACTIVE with
 * an exception of type "lost" (result LOST). Takes no ownership. */
/* g maps core ids to this machine's cpus (affinity); graph is what the
 * scheduler places jobs on. Both must outlive the job manager. New job ids
 * use the store's meta "epoch" (recorded here at the first start) and
 * "generator" (recorded by the broker, fsd/broker.c; 0 if none). */
struct jobmgr *jobmgr_create(struct ev_loop *loop, struct store *st, struct rgraph *g,
                             struct graph *graph, const struct jobmgr_config *cfg,
                             struct errmsg *err);

/* Terminate running jobs (recorded as canceled by shutdown) and free
 * everything. The caller commits the store afterwards. NULL-safe. */
void jobmgr_destroy(struct jobmgr *m);

void jobmgr_set_notify(struct jobmgr *m, jobmgr_notify_f cb, void *arg);
/* The view has published the job's directory to inotify watchers (or has
 * none): from now on it is listed to everyone. */
void jobmgr_job_announced(struct jobmgr *m, struct job *job);

/* What the broker's nested instances (fsd/nest.h) need from the job model. */
struct jobmgr_hooks {
    /* The job's tasks are gone. true: it has nested instances still
     * running; the job waits in CLEANUP, holding its resources, until
     * jobmgr_job_cleared(). */
    bool (*job_ending)(void *arg, struct job *job);
    /* The job is being purged. */
    void (*job_gone)(void *arg, struct job *job);
    /* Does the job have nested instances (on all of its nodes)? */
    bool (*job_nested)(void *arg, const struct job *job);
    /* "shutdown NAME [force]" written to the job's ctl. */
    int (*nest_shutdown)(void *arg, struct job *job, const char *name, uid_t uid,
                         bool force, struct errmsg *err);
};
void jobmgr_set_hooks(struct jobmgr *m, const struct jobmgr_hooks *hooks, void *arg);
/* Every nested instance of job has stopped: release it. */
void jobmgr_job_cleared(struct jobmgr *m, struct job *job);

/* Validate and accept a jobspec. On success *jobp is the new job (state
 * SCHED, not yet durable: it becomes durable with the next store_commit());
 * the first of them for an sbatch --array script.
 * -EINVAL/-E2BIG with err filled for a bad jobspec or an unsatisfiable
 * request. cwd is the submitter's directory (used when the jobspec has none). */
int jobmgr_submit(struct jobmgr *m, const char *text, size_t len, uid_t uid, gid_t gid,
                  const char *cwd, struct job **jobp, struct errmsg *err);
/* A job's jobspec ('S') or R ('R') text, from memory or from the store:
 * *data is valid until the next store or jobmgr call. 0 or -ENOENT. */
int jobmgr_job_blob(struct jobmgr *m, const struct job *job, char kind, const char **data,
                    size_t *len);

/* Bulk submission: the documents of one submission (common/jobstream.h),
 * all accepted or none, with the first bad one named in err: "job 3 of
 * 1000 (line 17): tasks[0].command: ...". *jobsp (the caller frees the
 * array) gets the *njobsp new jobs in order: one per document, or one per
 * index of an sbatch --array script. */
struct jobstream_doc;
struct ingest_cwd;
int jobmgr_submit_many(struct jobmgr *m, const char *text, const struct jobstream_doc *docs,
                       size_t n, uid_t uid, gid_t gid, struct ingest_cwd *cwd, const char *queue,
                       struct job ***jobsp, size_t *njobsp, struct errmsg *err);

/* A submission as queue/ takes it: one jobspec, a stream of them (all or
 * none) or a batch script, split and submitted with jobmgr_submit_many();
 * the jobs' ids go to ids (if not NULL), a line each. Durable at the next
 * commit. queue: the named queue the text was copied into (queue/NAME/),
 * or NULL (then the jobspec's attributes.system.queue, or the default
 * queue). cwd: the submitter's directory, for jobs that name none
 * (fsd/ingest.h). 0 or -errno with err filled. */
struct strbuf;
int jobmgr_submit_text(struct jobmgr *m, const char *text, size_t len, uid_t uid, gid_t gid,
                       struct ingest_cwd *cwd, const char *queue, struct strbuf *ids,
                       struct errmsg *err);

/* A submission of JOBMGR_ASYNC_BYTES or more is split and parsed on the
 * ingest thread (common/workq.h), not the loop: parsing a bulk submission
 * of 32 MiB took the loop 1-2 s here (YAML), which every other request,
 * job and user waited for. Then, on the loop, it is validated and entered
 * as jobmgr_submit_text does it, and done(arg, rc, ids, why) is called
 * (never from within this call): rc 0, the jobs entered (durable at the
 * next commit) and ids their ids, a line each; or -errno and why. A
 * submission pending when the instance stops gets -ECANCELED: then only
 * free arg. text and queue are copied, and cwd is looked up now (the
 * submitter may be gone when the parse ends). 0 (pending) or -errno with
 * err filled (then done is never called). Smaller submissions are parsed
 * at once: a thread's wakeup costs more than they do. */
#define JOBMGR_ASYNC_BYTES (64 << 10)
typedef void (*jobmgr_submitted_f)(void *arg, int rc, const char *ids, const char *why);
int jobmgr_submit_text_async(struct jobmgr *m, const char *text, size_t len, uid_t uid,
                             gid_t gid, struct ingest_cwd *cwd, const char *queue,
                             jobmgr_submitted_f done, void *arg, struct errmsg *err);
/* Submissions being parsed (status). */
size_t jobmgr_parsing(const struct jobmgr *m);

/* Every accounting record of a job that ended at or after since (seconds),
 * in end order (store.h store_acct_foreach); cb's non-zero return stops
 * the walk and is returned (jobmgr_acct.c). */
struct store;
typedef int (*jobmgr_acct_f)(void *arg, uint64_t end_ms, uint64_t id, const void *data,
                             size_t len);
int jobmgr_acct_foreach(struct jobmgr *m, double since, jobmgr_acct_f cb, void *arg);
/* ... uid's (-1: everyone's), from the record keyed (from_ms, from_id) on:
 * a walk taken up again after the last record it gave (accounting/jobs,
 * read a slice at a time). */
int jobmgr_acct_foreach_from(struct jobmgr *m, uint64_t from_ms, uint64_t from_id, long uid,
                             jobmgr_acct_f cb, void *arg);
/* Usage by user and bank (common/usage.h), each row with its "user" name
 * too, over every record of uid's (-1: everyone's), summed on a thread of
 * its own (a year of records is seconds
 * of parsing, not to be taken from the loop); done(arg, rc, totals) on the
 * loop, totals only for the call (NULL unless rc is 0; -ECANCELED at
 * shutdown). 0, or -errno and done is never called. */
typedef void (*jobmgr_usage_f)(void *arg, int rc, json_t *totals);
int jobmgr_acct_usage(struct jobmgr *m, long uid, jobmgr_usage_f done, void *arg);

/* Banks and fair share (doc/tree.md "accounting/banks"). Set the bank
 * tree (JSON, sched/fairshare.h; user names become uids): root or the
 * owner only; 0 or -EPERM, -EINVAL, -EFBIG with err. */
int jobmgr_set_banks(struct jobmgr *m, uid_t uid, const char *text, size_t len,
                     struct errmsg *err);
/* The tree (a new reference); fair share's rows, one user's (uid >= 0) or
 * all (-1), like sshare. */
json_t *jobmgr_banks(struct jobmgr *m);
/* ... as accounting/banks shows it (indented JSON, no final newline). */
const char *jobmgr_banks_text(struct jobmgr *m);
/* When the bank tree, a queue's config last changed (their files' mtime). */
double jobmgr_banks_mtime(struct jobmgr *m);
double jobmgr_queue_mtime(struct jobmgr *m, const char *name);
/* Queue index's generation: it changes when the index names another queue
 * (or none), so the tree's inodes of a removed queue stay dead. */
uint32_t jobmgr_queue_gen(struct jobmgr *m, int index);
json_t *jobmgr_fairshare_report(struct jobmgr *m, long uid);
/* A job's priority and its factors (jobs/<id>/priority). */
json_t *jobmgr_job_priority(struct jobmgr *m, const struct job *job);

/* Named queues (doc/tree.md "queue/NAME/"), managed by root or the owner:
 * create (-EINVAL bad name, -EEXIST, -ENOSPC), remove (-ENOENT,
 * -ENOTEMPTY while it has active jobs), set its config (JSON text,
 * fsd/queues.h; -EINVAL with the key), or write its ctl ("start", "stop",
 * "enable", "disable"); -EPERM for others, -EROFS on a follower. */
int jobmgr_queue_create(struct jobmgr *m, uid_t uid, const char *name, struct errmsg *err);
int jobmgr_queue_remove(struct jobmgr *m, uid_t uid, const char *name, struct errmsg *err);
int jobmgr_queue_config(struct jobmgr *m, uid_t uid, const char *name, const char *text,
                        size_t len, struct errmsg *err);
int jobmgr_queue_ctl(struct jobmgr *m, uid_t uid, const char *name, const char *text,
                     size_t len, struct errmsg *err);
/* The queues (a follower: as the leader last said); one's state and
 * counts as JSON (new reference), or NULL if there is none. */
struct queues;
const struct queues *jobmgr_queues(struct jobmgr *m);
json_t *jobmgr_queue_status(struct jobmgr *m, const char *name);

/* true if uid may control job (write its ctl): root, the instance owner,
 * the job's owner. */
bool jobmgr_may_control(struct jobmgr *m, const struct job *job, uid_t uid);

/* Apply control text written to jobs/<id>/ctl: lines of "cancel",
 * "signal N|NAME", "urgency N", or "shutdown NAME [force]" alone. uid is
 * whose authority the write carries (the opener's, not the writer's): it
 * is checked and recorded in the events. All lines or none: every line
 * is parsed and checked against the state the lines before it leave
 * before any takes effect; on failure nothing changed and err names the
 * line ("line 3: ...") when the text holds several. 0 or -EINVAL,
 * -EPERM, -E2BIG, or what the nested instance's shutdown returns. */
int jobmgr_ctl(struct jobmgr *m, struct job *job, uid_t uid, const char *text, size_t len,
               struct errmsg *err);

/* Apply text written to resources/ctl: lines of "up|down|drain PATH" (a
 * containment path such as /cluster0/node3, or a unique vertex name).
 * down and drain keep new work off the subtree at once; down also raises a
 * "resource" exception on running jobs there, which terminates them.
 * Only the instance owner (or root). 0 or -EPERM, -EINVAL, -ENOENT. */
int jobmgr_resource_ctl(struct jobmgr *m, uid_t uid, const char *text, size_t len,
                        struct errmsg *err);

/* Nodes of a multi-node instance (fsd/cluster.h): the broker of rank has
 * joined with these resources (the first time, they become schedulable;
 * after that its cpu map is refreshed), or is offline (not joined yet, or
 * lost: down, its running jobs fail with why; why NULL fails none).
 * 0 or -errno (-ENOENT: no node of that rank) with err filled. */
int jobmgr_node_joined(struct jobmgr *m, int rank, const struct rgraph_node *res,
                       struct errmsg *err);
int jobmgr_node_offline(struct jobmgr *m, int rank, const char *why);

/* A follower's job manager (cfg.replica): the replica changed job id (its
 * record, events or output) or every job: make memory what the store says,
 * telling the view (new jobs, states, output, jobs gone) as the leader's
 * job manager would. Call after the replica's commit. */
void jobmgr_replica_refresh(struct jobmgr *m, uint64_t id);
void jobmgr_replica_reload(struct jobmgr *m);
/* The leader: record node rank's resources where every broker reads them
 * (store_shared_put "node.RANK"): its own at start, the others' at join. */
void jobmgr_share_node(struct jobmgr *m, int rank);
/* A follower: the leader's nodes (their resources, who is offline) and
 * their status changed in the replica (store_shared_put): show them. */
void jobmgr_replica_shared(struct jobmgr *m);

struct job *jobmgr_lookup(struct jobmgr *m, uint64_t id);
struct job *jobmgr_lookup_name(struct jobmgr *m, const char *idstr);
struct job *jobmgr_lookup_seq(struct jobmgr *m, uint64_t seq);
/* First job whose seq >= seq (for directory listings), or NULL. */
struct job *jobmgr_next(struct jobmgr *m, uint64_t seq);

/* Read the job's eventlog into sb (appends). 0 or -errno. */
int jobmgr_eventlog(struct jobmgr *m, struct job *job, struct strbuf *sb);
/* Read output; returns bytes read or -errno. */
ssize_t jobmgr_output_read(struct jobmgr *m, struct job *job, int stream, uint64_t off,
                           void *buf, size_t size);

size_t jobmgr_count(struct jobmgr *m, enum job_state s);
/* Jobs not yet INACTIVE. */
size_t jobmgr_active(struct jobmgr *m);
/* Cancel every active job with an exception of this type (shutdown). */
void jobmgr_cancel_all(struct jobmgr *m, const char *type, const char *note);
/* The jobs named in ids (len bytes, an id a line), those committed and
 * active, canceled with an exception of type `submit` saying why (rc):
 * their submitter was told the submission failed (the sync that was to make
 * it durable failed), so they must not run on as if accepted. */
void jobmgr_refuse(struct jobmgr *m, const char *ids, size_t len, int rc);
/* Cancel every running job as cancel does (an exception of this type,
 * SIGTERM, SIGKILL after the kill grace; CANCELED once its tasks are
 * gone); pending jobs stay pending. Returns at once (shutdown). */
void jobmgr_terminate_running(struct jobmgr *m, const char *type, const char *note);
double jobmgr_start_time(struct jobmgr *m);
/* How jobs are contained, for status: "cgroup" (--contain, working),
 * "process-groups" (not asked for), or "process-groups (cgroups: REASON)"
 * (asked for, but the kernel or our privileges refused). */
const char *jobmgr_containment(struct jobmgr *m, char *buf, size_t size);
/* The instance's resources as RFC 20 R, from the scheduler's graph (the one
 * model, whatever it was read from). New reference, NULL on ENOMEM. */
json_t *jobmgr_resources_R(struct jobmgr *m);
struct graph *jobmgr_graph(struct jobmgr *m);
/* Every job's events, in commit order, once durable (fsd/evjournal.h): what
 * `events` serves. */
#define JOBMGR_JOURNAL_BYTES (16u << 20)
#define JOBMGR_JOURNAL_BACKLOG 1000
struct evj;
struct evj *jobmgr_journal(struct jobmgr *m);
/* Tell the view the journal grew (once per commit, or per replica batch). */
void jobmgr_journal_flush(struct jobmgr *m);
struct qmgr *jobmgr_qmgr(struct jobmgr *m);
/* Running job holding graph vertex v now (itself or a whole ancestor). */
struct job *jobmgr_vertex_owner(struct jobmgr *m, int v);
/* Cores and gpus of the graph that no job holds now (reservations do not
 * count). Reads only the root's holds, one per running or reserved job,
 * however big the graph. */
int jobmgr_free_cores(struct jobmgr *m);
int jobmgr_free_gpus(struct jobmgr *m);
/* Whether a hold of the graph is a pending job's reservation, not an
 * allocation in force now (what free counts leave out). */
bool jobmgr_hold_reserved(struct jobmgr *m, const struct graph_hold *h);

/* Loop phases (see above). With schedule false, only records are written:
 * the broker defers scheduling while submitters wait for their answer. */
void jobmgr_prepare_commit(struct jobmgr *m, bool schedule);
void jobmgr_after_commit(struct jobmgr *m, int commit_rc);
/* Does the open transaction hold submissions, or a change of the queues or
 * banks (someone waits for them to be durable)? Other changes may be
 * committed lazily. */
bool jobmgr_needs_sync(struct jobmgr *m);

/* True when another iteration should run without waiting (queued work). */
bool jobmgr_busy(struct jobmgr *m);
/* When deferred events are to be committed at the latest (ev_now()
 * time), or 0 if none wait. */
double jobmgr_deferred_due(const struct jobmgr *m);

#endif
