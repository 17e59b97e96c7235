/* jobmgr_private.h - shared by the jobmgr*.c files only: the job
 * manager's one struct, and its steps that more than one file takes.
 *
 *   jobmgr.c          events and state (through jobstate.h), submission,
 *                     reads, the loop phases, create and destroy
 *   jobmgr_exec.c     job-exec glue: start placed jobs through the executor,
 *                     its output and exits, timeouts, allocations
 *   jobmgr_ctl.c      control: ctl verbs, cancel, resources/ctl's effect on jobs
 *   jobmgr_recover.c  load and recover at start, job IDs, purge
 *   jobmgr_acct.c     reading the accounting records: walks, usage totals
 */
#ifndef FLUXFS_JOBMGR_PRIVATE_H
#define FLUXFS_JOBMGR_PRIVATE_H

#include <jansson.h>
#include "exec/executor.h"
#include "fsd/ingest.h"
#include "fsd/throttle.h"
#include "fsd/jobmgr.h"
#include "fsd/priority.h"
#include "fsd/queues.h"
#include "fsd/jobstate.h"
#include "fsd/jobtable.h"
#include "fsd/resource.h"
#include "sched/match.h"

struct idvec {
    uint64_t *ids;
    size_t len, alloc;
};

struct jobmgr {
    struct ev_loop *loop;
    struct store *st;
    struct rgraph *g;            /* this machine: where core ids run (affinity) */
    struct graph *graph;         /* what is scheduled */
    struct qmgr *q;
    struct executor *exec;
    struct jobmgr_config cfg;
    struct ingest *in;
    struct workq *parser;        /* large submissions' parse, off the loop
                                  * (jobmgr_submit_text_async); made when first needed */
    struct workq *acct_walker;   /* walks of every accounting record, off the loop
                                  * (jobmgr_acct_usage); made when first needed */
    double t_start;
    uid_t owner;                 /* the instance owner (the broker's uid) */

    struct jobtable *jobs;
    struct job *dirty;           /* records to rewrite before the next commit */
    struct job *inflight;        /* records written for the commit under way */
    struct idvec new_jobs;       /* submitted this iteration, not yet durable */
    struct idvec to_start;       /* allocated this iteration, start after commit */
    struct idvec to_finish;      /* tasks ended with output not yet committed */
    struct idvec depend;         /* jobs that may be in DEPEND (stale ids skipped) */
    struct idvec fresh;          /* queued since the last scheduling pass, their
                                    environment still in memory */
    size_t env_kept;             /* bytes of environment waiting jobs keep
                                    (JM_ENV_KEPT_MAX) */
    struct idvec deferred;       /* jobs whose events wait for a commit made
                                    anyway (jm_post_event_deferred) ... */
    double deferred_due;         /* ... or for this time (0: none) */
    struct throttle *throttle;   /* arrays' %LIMIT: their jobs past DEPEND */
    struct throttle *names;      /* every job past DEPEND, by user and name
                                  * (the singleton dependency) */
    bool sched_needed;
    bool down_check;             /* resources went down or up: are pending jobs
                                  * waiting for down ones (jm_check_waiting)? */
    bool contain_warned;         /* said once that jobs have no cgroup */
    int contain_err;             /* ... and why (-errno), for status */
    bool deps_needed;            /* a job started or ended: re-check DEPEND jobs */
    uint64_t begin_timer;        /* ... or a begin-time comes (begin_at), or 0 */
    double begin_at;
    struct resources *res;
    json_t *offline;             /* cfg.share: the offline nodes, {"RANK": "why"} */
    struct evj *journal;         /* every job's events, once durable */
    bool journal_grew;           /* ... since the last JOBMGR_JOURNAL */
    uint64_t purge_from;         /* no purgeable job has a smaller seq */
    double last_purge;

    struct queues *queues;       /* named queues (jobmgr_queue.c) */
    struct qcount **qcounts;     /* ... a user's jobs in each */
    double qmtime[64];           /* ... when each one's config last changed */
    uint32_t qgen[64];           /* ... each index's generation (jobmgr_queue_gen) */
    char qgen_name[64][32];      /* ... and the queue it is the generation of */
    double banks_mtime;          /* ... and the bank tree */
    char *banks_text;            /* ... as accounting/banks shows it (or NULL: none) */
    bool sync_wanted;            /* a queue or bank change waits for a durable commit */
    struct priority *prio;       /* multi-factor priority, fair share */
    uint64_t prio_timer;         /* ... its periodic update */
    jobmgr_notify_f notify;
    void *notify_arg;
    const struct jobmgr_hooks *hooks;
    void *hooks_arg;
};

/* jobmgr_prio.c: priorities, banks and fair share */
/* A shared record (store_shared_put) as JSON: 0 and *out (NULL if it does
 * not parse), or -ENOENT when there is none. */
int jm_shared_json(struct jobmgr *m, const char *key, json_t **out);
int jm_prio_init(struct jobmgr *m, const char *config, struct errmsg *err);
void jm_prio_fini(struct jobmgr *m);
/* The job's priority now (f: its factors, may be NULL). */
int64_t jm_prio_of(struct jobmgr *m, const struct job *job, struct priority_factors *f);
/* Charge the fair share, reprioritize every queued job. */
void jm_prio_update(struct jobmgr *m);
/* attributes.system.bank, or NULL. */
const char *jm_job_bank(const struct job *job);
/* The bank the job's usage goes to (NULL: fair share off, or none). */
const char *jm_prio_bank_charged(struct jobmgr *m, const struct job *job);
/* Charge a running job's usage up to now; an ended job's remainder. */
void jm_prio_charge_running(struct jobmgr *m, struct job *job, double now);
void jm_prio_charge_end(struct jobmgr *m, struct job *job, const char *bank,
                        double core_seconds, double t_end);

/* A new job of a submission (k of n, k 0 when alone) against the centre's
 * policy (its bank): 0, or -errno with err saying why. */
int jm_admit(struct jobmgr *m, struct job *job, const char *queue, size_t k, size_t n,
             struct errmsg *err);

/* jobmgr_queue.c: named queues */
int jm_queues_init(struct jobmgr *m, struct errmsg *err);
void jm_queues_fini(struct jobmgr *m);
/* The job's queue (NULL: none), its name, its priority factor. */
struct queue *jm_job_queue(struct jobmgr *m, const struct job *job);
const char *jm_queue_name(struct jobmgr *m, const struct job *job);
double jm_queue_priority(struct jobmgr *m, const struct job *job);
/* Choose a new job's queue (dir: the queue/NAME/ it was copied into) and
 * check its limits: 0, or -errno with err naming the limit. */
int jm_queue_admit(struct jobmgr *m, struct job *job, const char *dir, size_t k, size_t n,
                   struct errmsg *err);
/* A whole submission against its queues' max-pending-per-user. */
int jm_queue_admit_all(struct jobmgr *m, struct job **jobs, size_t n, struct errmsg *err);
/* Its request limited to its queue's nodes (before it is queued). */
int jm_queue_constrain(struct jobmgr *m, struct job *job);
/* A job moved between states (counted per user and queue). */
void jm_queue_track(struct jobmgr *m, struct job *job, enum job_state from, enum job_state to);
/* After a restart: the job's queue from its submit event; counted. A
 * follower's new job: its queue, for the status it shows. */
void jm_queue_recover(struct jobmgr *m, struct job *job);
void jm_queue_find(struct jobmgr *m, struct job *job);
/* What a pending job waits for, in a few words (true), or false. */
bool jm_job_waits_for(struct jobmgr *m, const struct job *job, char *buf, size_t size);
/* A follower: the queues and banks the leader's shared records say now. */
void jm_queues_reload(struct jobmgr *m);
void jm_prio_reload(struct jobmgr *m);

/* Environments kept by waiting jobs, in all (jm_shed_waiting) */
#define JM_ENV_KEPT_MAX (32u << 20)
/* The job's environment no longer counts there (it started, or ended). */
void jm_env_release(struct jobmgr *m, struct job *job);

/* jobmgr_exec.c: the job's R (and its stored copy) from allocation a;
 * nodes, unless NULL, gets R's nodelist joined by commas (to free) */
void jm_job_set_R(struct jobmgr *m, struct job *job, const struct match_alloc *a,
                  double starttime, double expiration, char **nodes);
/* jobmgr_exec.c: its tasks have all ended (status): output resumed, the
 * job finished */
void jm_job_tasks_done(struct jobmgr *m, struct job *job, int status);

/* jobmgr.c */
/* The job is an element of an array with a %LIMIT (sets *id to the array's). */
bool jm_array_limited(const struct job *job, uint64_t *id);
/* A job past DEPEND counts in its array's %LIMIT (recovery). */
void jm_throttle_take(struct jobmgr *m, struct job *job);
/* ... and by user and name, for singleton dependencies. */
void jm_name_take(struct jobmgr *m, struct job *job);
int jm_idvec_push(struct idvec *v, uint64_t id);
int jm_table_insert(struct jobmgr *m, struct job *job);
/* The job's record is to be written before the next commit. */
void jm_mark_dirty(struct jobmgr *m, struct job *job);
void jm_notify(struct jobmgr *m, struct job *job, enum jobmgr_change what, int stream);
/* Append one RFC 18 event to the job's eventlog (steals context). */
void jm_post_event(struct jobmgr *m, struct job *job, const char *name, json_t *context);
/* The same for an event nobody waits on (a job's start): it goes to the
 * store with the next commit made for something else, or JM_DEFER_DELAY
 * seconds later at the latest. */
#define JM_DEFER_DELAY 0.005
void jm_post_event_deferred(struct jobmgr *m, struct job *job, const char *name,
                            json_t *context);
/* The same with the context as JSON text (an object), or NULL: the broker's
 * frequent events, written without a jansson tree. */
void jm_post_event_text(struct jobmgr *m, struct job *job, const char *name,
                        const char *context);
void jm_post_exception(struct jobmgr *m, struct job *job, const char *type, uid_t uid,
                       const char *note);
void jm_set_state(struct jobmgr *m, struct job *job, enum job_state state);
/* Take the step RFC 21 says ev makes and perform its actions. */
void jm_apply(struct jobmgr *m, struct job *job, enum jobstate_event ev);
/* A running job is to end with result: exception, then its tasks are terminated. */
void jm_job_terminate(struct jobmgr *m, struct job *job, const char *type, uid_t uid,
                      const char *note, enum job_result result);
/* Its tasks are gone (status: the largest task status). */
void jm_job_finish(struct jobmgr *m, struct job *job, int status);
/* A job that never ran ends (after the exception that says why). */
void jm_job_end_pending(struct jobmgr *m, struct job *job, enum job_result result);
void jm_job_prioritize(struct jobmgr *m, struct job *job);
void jm_job_dependencies_met(struct jobmgr *m, struct job *job);
/* Queue a durable job; one the graph can no longer satisfy ends. */
void jm_job_enqueue(struct jobmgr *m, struct job *job);

/* jobmgr_exec.c */
extern const struct exec_ops jm_exec_ops;
/* Start an allocated job's tasks (after its allocation is durable). */
void jm_job_start(struct jobmgr *m, struct job *job);
/* qmgr's allocation callback: the job gets R and goes to RUN. */
void jm_on_alloc(void *arg, uint64_t id, const struct match_alloc *a);
/* A follower: hold on our graph what the leader's allocation of job holds
 * (its 'H' blob) while the job runs, and let go after (or once gone). */
void jm_mirror_holds(struct jobmgr *m, struct job *job, bool gone);
/* A leader with followers: store what job's allocation a holds (the 'H'
 * blob they mirror), at alloc and again after a release. */
void jm_share_holds(struct jobmgr *m, struct job *job, const struct match_alloc *a);
/* len bytes of a stream could not be stored (err): say so once. */
void jm_output_drop(struct jobmgr *m, struct job *job, int stream, uint64_t len, int err);

/* jobmgr_ctl.c */
/* resources/ctl took vertex v down: the jobs on it fail. */
void jm_on_resource_down(void *arg, int v, const char *path, const char *lost);
/* Add job's eventlog lines (text, len bytes, whole lines) to the journal,
 * each with the job's id. */
void jm_journal_add(struct jobmgr *m, const struct job *job, const char *text, size_t len);

/* Post a "memo" to pending jobs that only down resources could run. */
void jm_check_waiting(struct jobmgr *m);
/* The same for one job entering the queue (only while something is down). */
void jm_check_new_job(struct jobmgr *m, struct job *job);
/* Say in job's eventlog whether it waits for down resources (waits), if
 * that changed. */
void jm_job_waits(struct jobmgr *m, struct job *job, bool waits);

/* jobmgr_recover.c */
/* Load every job of the store, set up IDs after the largest, recover. */
int jm_recover(struct jobmgr *m, struct errmsg *err);
/* Retention: purge what purge_keep and purge_age say (at most once a second). */
void jm_purge(struct jobmgr *m);

#endif
