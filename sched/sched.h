/* sched.h - decide which pending job runs where, and when.
 *
 * Pure decisions, no I/O (flux kvstxn_process style): the broker tells the
 * scheduler about jobs and the passage of time; sched_schedule() answers with
 * allocations. Policy: priority order (urgency 31..1, then submit order),
 * first-fit on nodes in rank order, and EASY backfill: a later job may start
 * now if it fits and does not delay the reservation of the first blocked job.
 * Jobs without a duration are treated as running forever for reservations.
 *
 * Backfill details (reservation depth 1): the first job that does not fit
 * (the head) is reserved the cores/gpus first-fit would give it at its shadow
 * time, the earliest expected end (starttime + duration) of running jobs at
 * which it fits. A later job starts now if it fits in what is free and not
 * reserved, or if it fits in what is free and ends by the shadow time. When
 * only unlimited jobs stand in the head's way its shadow time is +inf: jobs
 * with a duration may then backfill anywhere that is free, unlimited jobs only
 * outside the head's reservation, so wide jobs are not starved.
 *
 * The graph must outlive the scheduler.  Cost of a pass: O(pending) cheap
 * checks plus O(log nodes) per node matched; it returns at once when no core
 * is free, and a request shape that failed once is not retried in that pass.
 */
#ifndef FLUXFS_SCHED_H
#define FLUXFS_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "common/errmsg.h"
#include "sched/rgraph.h"

#define SCHED_URGENCY_HOLD    0
#define SCHED_URGENCY_DEFAULT 16
#define SCHED_URGENCY_MAX     31

/* What one job asks for (the V1 jobspec shapes). */
struct sched_request {
    int nnodes;            /* 0 = slots may go on any nodes */
    bool node_exclusive;   /* whole nodes */
    int nslots;            /* per node if nnodes > 0, else total */
    int slot_cores;        /* >= 1 */
    int slot_gpus;         /* >= 0 */
    double duration;       /* seconds, 0 = unlimited */
};

/* One node's share of an allocation. Indexes refer to rgraph_node(). */
struct sched_alloc_node {
    int node;              /* node index in the graph */
    int ncores;
    int *cores;            /* core *indexes* into rgraph_node()->core_ids */
    int ngpus;
    int *gpus;             /* gpu indexes into rgraph_node()->gpu_ids */
    int nslots;            /* slots placed on this node */
};

struct sched_alloc {
    int nnodes;
    struct sched_alloc_node *nodes;
    double starttime;
    double expiration;     /* 0 = none */
};

struct sched;

struct sched *sched_create(const struct rgraph *g);
void sched_destroy(struct sched *s);

/* Can this request ever be met on the graph? false fills err, e.g.
 * "requested 4 nodes but the instance has 1". */
bool sched_satisfiable(const struct sched *s, const struct sched_request *req,
                       struct errmsg *err);

/* Queue a job (copies req). -EEXIST if known, -EINVAL if unsatisfiable. */
int sched_submit(struct sched *s, uint64_t id, const struct sched_request *req,
                 int urgency, double t_submit, struct errmsg *err);

/* Remove a pending job. 0 or -ENOENT. */
int sched_cancel(struct sched *s, uint64_t id);

/* Change a pending job's urgency (0 holds it). 0 or -ENOENT. */
int sched_set_urgency(struct sched *s, uint64_t id, int urgency);

/* Mark an allocated job as having released its resources. 0 or -ENOENT. */
int sched_release(struct sched *s, uint64_t id);

/* Run the queue policy at time now. For each job that gets resources now,
 * cb is called once with its allocation (valid only during the call); the job
 * then counts as running until sched_release(). cb may call the lookup
 * functions but must not submit, cancel, release or change urgency.
 * Returns the number allocated. */
typedef void (*sched_alloc_f)(void *arg, uint64_t id, const struct sched_alloc *a);
int sched_schedule(struct sched *s, double now, sched_alloc_f cb, void *arg);

/* Allocation of a running job (valid until it is released), or NULL. */
const struct sched_alloc *sched_lookup_alloc(const struct sched *s, uint64_t id);

/* The allocation as RFC 20 R version 1 JSON with nodelist (caller owns). */
json_t *sched_alloc_to_R(const struct sched *s, const struct sched_alloc *a);

/* Who holds core/gpu index i of node n: job id, or 0 when free. */
uint64_t sched_core_owner(const struct sched *s, int node, int core);
uint64_t sched_gpu_owner(const struct sched *s, int node, int gpu);

size_t sched_pending(const struct sched *s);
size_t sched_running(const struct sched *s);
int sched_free_cores(const struct sched *s);

#endif
