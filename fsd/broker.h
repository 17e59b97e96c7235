/* broker.h - one fluxfs instance: store, job model, tree, event loop.
 *
 * broker_run() owns the process's one context struct. It mounts the tree,
 * reports readiness (so a daemonizing parent can exit with the right status),
 * runs the loop until the tree is unmounted or a signal asks it to stop,
 * and shuts down cleanly: running jobs are terminated and recorded, pending
 * jobs stay pending for the next start on the same state directory.
 */
#ifndef FLUXFS_BROKER_H
#define FLUXFS_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include "fsd/genblock.h"

struct broker_config {
    const char *mountpoint;
    const char *statedir;
    const char *resources;       /* R JSON, hwloc XML, GRUG or JGF; NULL = discover */
    const char *match_policy;    /* match.h policy name, NULL = "low" */
    const char *queue_policy;    /* fcfs, easy, conservative; NULL = "easy" */
    int queue_depth;             /* reservation depth, 0 = policy default */
    const char *parent_url;      /* we are a nested instance: our parent's link */
    struct genblock generator;   /* job-id generators (--generator), if */
    bool generator_set;          /* set; else the recorded one, or the root's */
    bool read_only;              /* an ended nested instance serving history */
    const char *fuse_opts;       /* comma-separated -o options, or NULL */
    bool debug;                  /* FUSE request tracing */
    bool publish;                /* raise inotify events (default true) */
    double kill_grace;
    uint64_t output_cap;
    double purge_age;            /* retention: seconds, 0 = keep */
    uint64_t purge_keep;         /* retention: inactive jobs kept, 0 = all */
    double acct_keep_days;       /* accounting records kept, days; < 0: default (365),
                                  * 0 = for ever */
    int64_t max_tasks;           /* most tasks one job may ask for, 0 = default */
    const char *priority;        /* --priority: weights, fair share (fsd/priority.h) */
    bool contain;                /* a cgroup per job (--contain) */
    int nice;                    /* --nice: ours and our helper's, if nice_set; */
    bool nice_set;               /* else 5 below the tasks', where we may */
    const char *user;            /* started as root: run as this user (--user;
                                    NULL = fluxfs, "root" = stay root) */
    int64_t queue_bytes;         /* bytes one user may hold in queue/, -1 = default */
    int64_t queue_files;         /* files one user may have open there, -1 = default */
    int64_t max_pending;         /* pending jobs per user, 0 = no limit */
    double submit_rate;          /* submissions per second per user, 0 = no limit */
    const char *bootstrap;       /* a multi-node instance's brokers (bootstrap.h) */
    int rank;                    /* ours in it; -1: by hostname */
    /* One broker of a multi-node nested instance (set by the parent broker,
     * with parent_url): our rank among nest_size, the url to listen at for
     * our parent in it ("tcp://HOST:0", "ipc://"); the brokers are learnt
     * from the parent (doc/overlay.md "Nested instances across nodes"). */
    int nest_rank, nest_size;
    const char *nest_bind;
    int ready_fd;                /* write one byte here when mounted (-1: none) */
};

/* A tree left mounted by a fluxfsd that died (kill -9, OOM) answers every
 * call with ENOTCONN until someone unmounts it: detach it so that a restart
 * on the same mount point just works. Only a dead fuse.fluxfsd mount is
 * touched. Returns 1 if one was detached, 0 if there was none, -ENOTCONN
 * if a dead mount is there and could not be detached. */
int broker_detach_dead_mount(const char *mnt);

/* Returns a process exit status. */
int broker_run(const struct broker_config *cfg);

#endif
