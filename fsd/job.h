/* job.h - one job as the broker knows it: states (Flux RFC 21), its durable
 * record, and the text of the files the tree shows for it.
 *
 * A struct job is owned by the jobmgr's table. Everything needed to answer
 * stat() and list the tree without touching the store is kept here; bulky
 * things (eventlog lines, output) live in the store.
 */
#ifndef FLUXFS_JOB_H
#define FLUXFS_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "common/fluid.h"
#include "common/jobspec.h"

struct jobinfo;

enum job_state {
    JOB_NEW = 0,
    JOB_DEPEND,
    JOB_PRIORITY,
    JOB_SCHED,
    JOB_RUN,
    JOB_CLEANUP,
    JOB_INACTIVE,
    JOB_NSTATES
};

/* How an inactive job ended (the first word of the result file). */
enum job_result {
    RESULT_NONE = 0,     /* still active */
    RESULT_COMPLETED,    /* every task exited 0 */
    RESULT_FAILED,       /* some task exited non-zero or was killed */
    RESULT_CANCELED,     /* canceled by a user */
    RESULT_TIMEOUT,      /* exceeded its duration */
    RESULT_LOST,         /* running when the broker died */
};

#define JOB_STREAMS 3    /* index 1 = stdout, 2 = stderr (0 unused) */

struct job {
    uint64_t id;
    char idstr[FLUID_STR_MAX];
    uint64_t seq;                /* order of appearance in this broker run;
                                    names the job's inodes */
    enum job_state state;
    enum job_result result;
    int status;                  /* largest task status (exit code, 128+sig) */
    uid_t uid;
    gid_t gid;
    int urgency;
    double t_submit;
    double t_run;                /* when it started running, 0 if it has not */
    char *acct_text;             /* its accounting record, until a commit holds it */
    uint64_t acct_end_ms;        /* ... keyed by this end time */
    char *start_nodes;           /* R's nodelist at start: tasks' FLUX_TASK_NODEID
                                  * index it, whatever release does to R */
    double t_state;              /* time of the last state change */
    double t_output[JOB_STREAMS];
    char *cwd;                   /* working directory the tasks get */

    /* The jobspec and R are stored once each, as blobs beside the record;
     * memory keeps them only while they are needed (jobmgr_job_blob reads
     * them either way). */
    char *spec_text;             /* the submitted jobspec, until it is durable */
    size_t spec_len;
    struct jobspec *js;          /* parsed; kept only while active */

    char *R;                     /* allocation (RFC 20 JSON + "\n"), while active */
    size_t R_len;                /* 0: never allocated */
    bool legacy;                 /* its record held the texts: store them as blobs */

    uint32_t nevents;            /* eventlog lines so far */
    uint64_t evlog_len;          /* eventlog bytes so far */
    uint64_t out_len[JOB_STREAMS];
    bool out_capped[JOB_STREAMS];

    /* What the last successful commit made durable: readers see no more
     * than this, and a failed commit goes back to it. Not persisted (a
     * loaded record is all durable). */
    uint32_t nevents_stored;
    uint64_t evlog_stored;
    uint64_t out_stored[JOB_STREAMS];
    /* Eventlog lines since the last successful commit, kept to be written
     * again if their commit fails. ev_rewrite: none of them is in the open
     * transaction. */
    char *ev_pending;
    size_t ev_pending_len;
    bool ev_rewrite;
    /* Output that could not be stored (full disk) since storing stopped;
     * out_dropping: it has not resumed yet. */
    uint64_t out_dropped[JOB_STREAMS];
    bool out_dropping[JOB_STREAMS];
    struct jobspec_env env;      /* its own environment (a JSON jobspec's),
                                  * taken from its parsed jobspec, which the
                                  * copies of a --cc share; NULL envv: none,
                                  * in the jobspec (YAML), or ... */
    bool env_shed;               /* ... dropped while it waits (read back at
                                  * its start) */
    uint32_t env_kept;           /* its environment's bytes in jobmgr's env_kept */
    bool R_unstored;             /* R was put in a transaction not yet committed */
    json_t *R_json;              /* R as its allocation made it, until the job
                                  * starts (parsing R's text again there was 3%
                                  * of the broker's loop) */
    bool R_rewrite;              /* ... which failed: put it again */
    /* A follower's copy of the leader's allocation (its 'H' blob): the
     * vertices it holds on our graph while the job runs. */
    int *mirror_v;
    int mirror_n;
    /* Memory its allocation holds, by R rank: (rank, bytes) pairs, for a
     * contained job's memory limit (jm_on_alloc); NULL when none. */
    uint64_t *mem_by_rank;
    int mem_n;

    /* Broker bookkeeping, not persisted. */
    bool dirty;                  /* record must be rewritten before commit */
    struct job *dirty_next;
    bool inflight;               /* its record is in the transaction being committed */
    struct job *inflight_next;
    bool announced;              /* its directory was published to watchers */
    uint64_t kernel_refs;        /* the kernel's lookups of its inodes not yet
                                  * forgotten (fsd/vfs) ... */
    bool announce_ref;           /* ... one of them the announcing mkdir's:
                                  * with no other, no inotify watch can be
                                  * on any of them */
    bool committed;              /* the submission is durable */
    bool canceling;              /* a cancel or timeout is terminating it */
    bool throttled;              /* counted in its array's %LIMIT (fsd/throttle.h) */
    bool named;                  /* counted by user and name (singleton) */
    uint64_t name_key;           /* ... under this hash of its name */
    uint64_t throttle_id;        /* ... that array's id */
    bool waits_down;             /* pending: only resources now down could run it
                                  * (a "memo" event said so) */
    bool start_posted;           /* its "start" event is in the eventlog */
    bool finish_deferred;        /* its tasks ended; it ends after the next commit */
    int finish_status;           /* ... with this status */
    int node_start_early;        /* a node that started before it was, or -1 */
    enum job_result pending_result; /* set by cancel/timeout, applied at finish */
    int64_t priority;            /* its multi-factor priority when last computed */
    int queue;                   /* its named queue's index (fsd/queues.h), 0: none */
    int ncores;                  /* cores its R holds (fair-share usage) */
    int nnodes, ngpus;           /* ... and nodes and gpus (accounting) */
    bool counted;                /* those three are R's (set with R, not after
                                    a restart) */
    double fs_charged;           /* running: usage charged up to this time */
    double fs_used;              /* ... core-seconds charged so far */
    uint64_t timer;              /* duration timer (ev id) */
    uint64_t warn_timer;         /* --signal's timer (ev id), or 0 */
    void *owner;                 /* the jobmgr, for timer callbacks */
    /* Its joblist line (fsd/joblist.h): what its jobspec says, read once;
     * the last line built, and the state and event counts it was built at
     * (a line changes only with an event). */
    struct jobinfo *list_spec;
    char *list_line;
    size_t list_len;
    uint32_t list_nevents, list_stored;
    enum job_state list_state;
};

/* What the view (vfs/) and nested instances read of a job: through these,
 * never the fields, so the job manager may change how it keeps them. */
static inline uint64_t job_get_id(const struct job *j) { return j->id; }
static inline const char *job_get_idstr(const struct job *j) { return j->idstr; }
/* Its order of appearance in this broker run (names its inodes). */
static inline uint64_t job_get_seq(const struct job *j) { return j->seq; }
static inline enum job_state job_get_state(const struct job *j) { return j->state; }
static inline uid_t job_get_uid(const struct job *j) { return j->uid; }
static inline gid_t job_get_gid(const struct job *j) { return j->gid; }
static inline double job_get_t_submit(const struct job *j) { return j->t_submit; }
static inline double job_get_t_state(const struct job *j) { return j->t_state; }
/* When stream (1 stdout, 2 stderr) last grew, 0 if never. */
static inline double job_get_t_output(const struct job *j, int stream) { return j->t_output[stream]; }
/* Bytes a reader sees: what is committed to the store. */
static inline uint64_t job_get_output_size(const struct job *j, int stream) { return j->out_stored[stream]; }
static inline uint64_t job_get_eventlog_size(const struct job *j) { return j->evlog_stored; }
static inline size_t job_get_spec_size(const struct job *j) { return j->spec_len; }
/* The allocation's R text while the job is active (NULL otherwise), and
 * its size, which stays once it was allocated. */
static inline const char *job_get_R(const struct job *j) { return j->R; }
static inline size_t job_get_R_size(const struct job *j) { return j->R_len; }
/* Durable: its submission was committed. */
static inline bool job_is_committed(const struct job *j) { return j->committed; }
/* Published to watchers (its directory was announced). */
static inline bool job_is_announced(const struct job *j) { return j->announced; }
/* Being terminated (cancel, timeout, a resource down). */
static inline bool job_is_canceling(const struct job *j) { return j->canceling; }

const char *job_state_name(enum job_state s);   /* "SCHED" */
const char *job_result_name(enum job_result r); /* "COMPLETED" */

/* The result file's text, e.g. "COMPLETED 0\n", "CANCELED\n" ("" when active). */
int job_result_text(const struct job *job, char *buf, size_t size);

/* Serialize the durable part of a job as JSON text (caller frees). */
char *job_record_encode(const struct job *job);
/* Rebuild a job from its record; NULL on a malformed record. */
struct job *job_record_decode(uint64_t id, const void *data, size_t len);

struct job *job_create(uint64_t id);
void job_destroy(struct job *job);

/* Format one eventlog line (RFC 18: {"timestamp","name","context"} + "\n").
 * Steals the context reference (NULL = {}). Caller frees. */
char *job_event_format(double timestamp, const char *name, json_t *context);
/* The same with the context as JSON text (an object), or NULL for {}: what
 * the broker's own events use, without a jansson tree. */
char *job_event_format_text(double timestamp, const char *name, const char *context);

#endif
