/* executor.h - how the job manager starts, signals and reaps jobs, whatever
 * runs them: an ops table, as Flux's job-exec has exec implementations.
 *
 * The job manager hands an executor a placed job (tasks by rank, each
 * naming its node: the per-node task lists) and hears back through the
 * exec_ops callbacks of exec.h (output while tasks run, one "finished" per
 * job). Implementations: this machine's launcher (executor_local_create,
 * exec.h), a test double that runs nothing (testexec.h); a remote broker's
 * and a privileged helper's are meant to be more. Every call and callback
 * runs on the broker's loop thread.
 */
#ifndef FLUXFS_EXECUTOR_H
#define FLUXFS_EXECUTOR_H

#include <stddef.h>
#include <stdint.h>
#include "common/errmsg.h"
#include "common/ev.h"
#include "exec/exec.h"

struct executor_ops {
    /* Per-job containment, set up before start: whatever the job's tasks
     * start stays in it. 0, or -errno when this executor cannot contain
     * jobs here (the job then runs without; the job manager says so once). */
    int (*contain)(void *impl, uint64_t id, const char *idstr);
    /* ... and torn down when the job has ended: everything left in it is
     * killed. Never waits. */
    void (*release)(void *impl, uint64_t id);
    /* Start every task of job. 0, or -errno with err filled when nothing
     * will start (then no callback comes for it). */
    int (*start)(void *impl, const struct exec_job *job, struct errmsg *err);
    /* Send sig to every task. 0 or -ENOENT (no such running job). */
    int (*signal)(void *impl, uint64_t id, int sig);
    /* Do the job's tasks still run on its node nodeid? 1, 0, -ENOENT; NULL
     * when this executor cannot tell (a job's nodes cannot be released). */
    int (*node_active)(void *impl, uint64_t id, int nodeid);
    /* SIGTERM now, SIGKILL after grace seconds. 0 or -ENOENT. */
    int (*terminate)(void *impl, uint64_t id, double grace);
    /* After a restart, for a job the store says was running: 0 if its
     * tasks still run and are taken over (its finished callback will
     * come), or -ESRCH when they are gone; whatever they left behind was
     * killed then, *killed says how many processes. */
    int (*reattach)(void *impl, uint64_t id, const char *idstr, int *killed);
    /* Kill and reap everything still running, without callbacks; free. */
    void (*destroy)(void *impl);
};

struct executor {
    const struct executor_ops *ops;
    void *impl;
};

/* Make an executor (the job manager's choice of implementation). */
typedef struct executor *(*executor_create_f)(struct ev_loop *loop, const struct exec_ops *cb,
                                              void *cb_arg, void *arg);

/* This machine's launcher (exec.h). arg is unused. NULL with errno. */
struct executor *executor_local_create(struct ev_loop *loop, const struct exec_ops *cb,
                                       void *cb_arg, void *arg);

int executor_contain(struct executor *x, uint64_t id, const char *idstr);
void executor_release(struct executor *x, uint64_t id);
int executor_start(struct executor *x, const struct exec_job *job, struct errmsg *err);
int executor_signal(struct executor *x, uint64_t id, int sig);
/* As node_active, or -EOPNOTSUPP. */
int executor_node_active(struct executor *x, uint64_t id, int nodeid);
int executor_terminate(struct executor *x, uint64_t id, double grace);
int executor_reattach(struct executor *x, uint64_t id, const char *idstr, int *killed);
/* NULL-safe. */
void executor_destroy(struct executor *x);

#endif
