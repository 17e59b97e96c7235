/* exec.h - launch and supervise the tasks of jobs on this node.
 *
 * The broker hands exec a fully placed job (which tasks, which cpus each);
 * exec forks them, binds them, feeds their stdout/stderr back through the
 * output callback while they run, and reports one status when every task has
 * exited.  exec knows nothing about jobspecs, the store or the scheduler.
 * All callbacks run from the broker's event loop thread.
 */
#ifndef FLUXFS_EXEC_H
#define FLUXFS_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "common/ev.h"
#include "common/errmsg.h"

struct exec;

/* One task of a job. */
struct exec_task {
    int rank;            /* global task rank 0..ntasks-1 */
    int nodeid;          /* index of the node in the job's R (FLUX_TASK_NODEID) */
    int localid;         /* index of the task on its node (FLUX_TASK_LOCAL_ID) */
    int ncpus;           /* cpus to bind to; 0 = do not bind */
    const int *cpus;     /* OS cpu numbers; binding failures are ignored */
};

struct exec_job {
    uint64_t id;
    const char *idstr;       /* F58 spelling, exported as FLUX_JOB_ID */
    char *const *argv;       /* command, NULL-terminated */
    const char *cwd;         /* NULL = inherit the broker's */
    json_t *environment;     /* object of name -> string, or NULL; replaces the
                                environment when given, else the broker's is
                                inherited */
    char *const *env;        /* or the same as "NAME=value" strings,
                                NULL-terminated (used when environment is NULL) */
    int nnodes;              /* FLUX_JOB_NNODES */
    int ntasks;              /* FLUX_JOB_SIZE */
    const struct exec_task *tasks;
    int size;                /* FLUX_JOB_SIZE when only some of the job's tasks
                                are here (a multi-node job); 0 = ntasks */
    const int *node_ranks;   /* broker rank of each node (nnodes of them), or
                                NULL: every node is this one */
    const char *mount;       /* FLUXFS_MOUNT: the tree of the broker that starts
                                the tasks, or NULL */
    bool label;              /* each output line after "RANK: " (flux run -l);
                                costs two pipes per task */
    const char *out_path;    /* the tasks' stdout (and stderr without err_path)
                                to this file, opened by each task as its user
                                (relative to cwd, appended), or NULL: the job's
                                output stream */
    const char *err_path;    /* stderr to this file, or NULL */
    const char *in_path;     /* stdin from this file, or NULL: /dev/null */
    const uint64_t *node_memory;  /* bytes of memory the job holds on each node
                                (by nodeid), or NULL: a contained job's tasks
                                here are limited to their nodes' sum */
    uid_t uid;               /* run as this user (only when the broker is root
                                and uid differs from the broker's) */
    gid_t gid;
};

struct exec_ops {
    /* Output from the job's tasks: stream 1 = stdout, 2 = stderr.
     * Tasks of one job share one pipe per stream. */
    void (*output)(void *arg, uint64_t id, int stream, const char *data, size_t len);
    /* Every task has exited (and remaining output was delivered).
     * status = the largest task status: exit code, or 128+signal. */
    void (*finished)(void *arg, uint64_t id, int status);
    /* A job that spans brokers (fsd/cluster.h): the tasks under broker rank
     * started (started true, status 0) or all exited (status as above).
     * NULL-able; this machine's launcher never calls it. */
    void (*node)(void *arg, uint64_t id, int rank, bool started, int status);
    /* The executor cannot run the job as asked (e.g. a node never
     * confirmed the start of its tasks): raise a fatal exception of type
     * with note; the job is terminated and ends as usual. NULL-able. */
    void (*exception)(void *arg, uint64_t id, const char *type, const char *note);
};

/* Starts the launcher thread that forks the tasks (the loop never waits
 * for a fork or exec). Create it before any thread that must not be a
 * job's parent goes away: tasks get SIGKILL when their launcher exits, as
 * with PR_SET_PDEATHSIG, which is at exec_destroy(). NULL with errno. */
struct exec *exec_create(struct ev_loop *loop, const struct exec_ops *ops, void *arg);

/* Kills (SIGKILL) everything still running; no callbacks. NULL-safe.
 * Never waits for a process: what has already exited is reaped, the rest
 * is left to init once this process has exited (or to the caller's
 * waitpid). A task blocked in a request on the caller's own FUSE mount
 * exits only once that is answered, so for a clean stop, exec_terminate()
 * every job and run the loop until exec_active() is 0 first. */
void exec_destroy(struct exec *x);

/* Queue every task to be forked and exec'd, and return at once. Returns 0,
 * or -errno with err filled when nothing will be started (then no callback
 * will come). A command that cannot be executed (ENOENT...) is not an error
 * here: that task exits 127 and says why on the job's stderr, as a shell
 * would; a task that cannot even be forked exits 126 the same way. */
int exec_start(struct exec *x, const struct exec_job *job, struct errmsg *err);

/* Send sig to every task's process group. Returns 0 or -ENOENT. */
int exec_signal(struct exec *x, uint64_t id, int sig);
/* Do tasks of job id still run on its node nodeid (exec_task.nodeid)?
 * 1 (or while it is being launched), 0, or -ENOENT (no such job). */
int exec_node_active(struct exec *x, uint64_t id, int nodeid);

/* SIGTERM now, SIGKILL after grace seconds if still running. 0 or -ENOENT. */
int exec_terminate(struct exec *x, uint64_t id, double grace);

/* Name this process's instance (a token unique on the machine and kept
 * across restarts on the same state directory: letters, digits, '-', '_',
 * '.', at most EXEC_INSTANCE_MAX). Every task started afterwards gets
 * FLUXFS_INSTANCE=token (replacing any inherited one), and
 * exec_kill_orphans() requires it. Process-wide: a broker is one instance.
 * Call before starting jobs. 0 or -EINVAL. */
#define EXEC_INSTANCE_MAX 64
int exec_set_instance(const char *token);

/* Kill (SIGKILL) every process on this machine whose environment says it
 * belongs to job idstr of this instance (FLUX_JOB_ID=idstr and, once
 * exec_set_instance() was called, FLUXFS_INSTANCE=token): what a crashed
 * broker left behind. Processes of other instances (a nested one, another
 * root) with the same job id are left alone. Returns the number of
 * processes signalled, or -errno if /proc cannot be read. */
int exec_kill_orphans(const char *idstr);

/* Containment (contain.h): a cgroup for job id, which its tasks join
 * before they run, so that nothing they start outlives the job. Call
 * before exec_start. 0, or -errno when cgroups cannot be used here (not
 * root, no freezer hierarchy): then the job has its process groups only. */
int exec_contain(struct exec *x, uint64_t id, const char *idstr);
/* The job has ended: kill everything left in its cgroup and remove it
 * (retried on a timer while members are dying; never waits). */
void exec_release(struct exec *x, uint64_t id);
/* After a restart: kill what a crashed broker's job idstr left in its
 * group (this instance's token must be set first). */
int exec_kill_group(const char *idstr);

/* A system instance's privileged helper (imp_client.h): from now on, a job
 * of another user than broker_uid (the user the broker runs as once it has
 * dropped root) is started, signalled and contained through it (and what
 * crashed brokers left is killed through it). Process-wide, as the
 * instance token is; the caller keeps it until every exec is gone. */
struct imp;
void exec_set_imp(struct imp *imp, uid_t broker_uid);

/* Tasks started here from now on take this nice before their exec: the
 * one the instance was started with, when the broker has gone above it
 * (fluxfsd --nice). Process-wide, as the broker's own nice is. */
void exec_set_task_nice(int nice);

/* Number of jobs with tasks still running. */
size_t exec_active(const struct exec *x);

#endif
