/* queues.h - named queues (RFC 33-like, as `flux queue` and Slurm
 * partitions): their names, configuration and state. Pure: no I/O; the job
 * manager (fsd/jobmgr_queue.c) stores queues_dump() in the store and
 * enforces what a queue says.
 *
 * A queue has an index 1..QUEUES_MAX, fixed for its life (the scheduler's
 * queue number, sched/qmgr.h; 0 is the anonymous queue of jobs that name
 * none while no queue is the default). A new queue covers all nodes, is
 * enabled (accepts jobs) and started (its jobs are scheduled), and has no
 * limits.
 *
 * Configuration: a JSON object, every key optional, unknown keys refused:
 *   "nodes"                 host list (RFC 29) its jobs may use
 *   "requires"              array of node properties its jobs need ("^p": lacks p)
 *   "max-duration"          seconds (> 0): longer jobs are refused; a job
 *                           without a duration gets this one
 *   "max-nodes"             nodes one job may ask for (integer >= 1)
 *   "max-running-per-user"  a user's jobs running at once in it (>= 1)
 *   "max-pending-per-user"  a user's jobs pending in it (>= 1)
 *   "priority"              the queue factor of the job priority
 *                           (integer -1000000..1000000, default 0)
 *   "default"               true: jobs naming no queue go here (one queue at most)
 */
#ifndef FLUXFS_QUEUES_H
#define FLUXFS_QUEUES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "common/errmsg.h"

#define QUEUES_MAX 63          /* named queues: indices 1..63 */
#define QUEUE_NAME_MAX 32      /* bytes of a name, with its NUL */
#define QUEUE_REASON_MAX 128   /* bytes of a disable reason, with its NUL */

struct queue {
    char name[QUEUE_NAME_MAX];
    int index;                 /* 1..QUEUES_MAX */
    bool enabled, started;
    char reason[QUEUE_REASON_MAX];   /* why it was disabled ("disable REASON"), or "" */
    json_t *config;            /* as configured (normalized: what queues_configure kept) */
    json_t *constraint;        /* RFC 31 constraint for its nodes, or NULL (all nodes) */
    double max_duration;       /* 0: none */
    int64_t max_nodes, max_running, max_pending;   /* 0: none */
    int64_t priority;
    bool is_default;
};

struct queues;
struct queues *queues_create(void);
void queues_destroy(struct queues *qs);

/* A name is 1..QUEUE_NAME_MAX-1 bytes of [A-Za-z0-9_-], not starting with
 * '-' and none of "new", "errors", "drafts" (queue/'s own files). */
bool queues_name_valid(const char *name);

/* 0, or -EINVAL (bad name), -EEXIST, -ENOSPC (QUEUES_MAX of them) with err. */
int queues_add(struct queues *qs, const char *name, struct errmsg *err);
/* 0 or -ENOENT. Its index is free again. */
int queues_remove(struct queues *qs, const char *name);

struct queue *queues_lookup(const struct queues *qs, const char *name);   /* or NULL */
struct queue *queues_by_index(const struct queues *qs, int index);        /* or NULL */
struct queue *queues_default(const struct queues *qs);                    /* or NULL */
size_t queues_count(const struct queues *qs);
/* Iterate in name order: queues_next(qs, NULL) is the first. */
struct queue *queues_next(const struct queues *qs, const struct queue *prev);

/* Replace name's configuration with config (borrowed). 0, or -ENOENT,
 * -EINVAL (key and why in err; nothing changes), -EEXIST ("default": true
 * while another queue is the default, named in err). */
int queues_configure(struct queues *qs, const char *name, json_t *config, struct errmsg *err);

/* "start", "stop", "enable", "disable". 0, -ENOENT, -EINVAL (unknown verb). */
int queues_set_state(struct queues *qs, const char *name, const char *verb,
                     struct errmsg *err);
/* "disable" with why (printable, at most QUEUE_REASON_MAX-1 bytes: -EINVAL
 * else), as `flux queue disable REASON`; enable clears it. */
int queues_disable(struct queues *qs, const char *name, const char *why, struct errmsg *err);

/* All queues as one JSON object {NAME: {"index", "enabled", "started",
 * "config"[, "reason"]}} (new reference), and back: queues_load replaces every queue
 * (0, or -EINVAL with err: nothing changes). */
json_t *queues_dump(const struct queues *qs);
int queues_load(struct queues *qs, json_t *dump, struct errmsg *err);

#endif
