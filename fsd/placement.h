/* placement.h - the job shell's part: from an allocation (RFC 20 R) and a
 * jobspec to the tasks each node runs and the cpus each task is bound to.
 *
 * Pure: reads R, the jobspec and this machine's core map, allocates the
 * result, touches nothing else, so it is unit-testable on its own.
 */
#ifndef FLUXFS_PLACEMENT_H
#define FLUXFS_PLACEMENT_H

#include "common/jobspec.h"
#include "exec/exec.h"
#include "sched/rgraph.h"

struct placement {
    int nnodes;                 /* nodes of R, in rank order (FLUX_JOB_NNODES) */
    int ntasks;                 /* FLUX_JOB_SIZE */
    struct exec_task *tasks;    /* by rank; task.nodeid indexes R's nodes */
    int *node_ranks;            /* R's nodes' broker ranks, by nodeid */
    int *cpus;                  /* storage the tasks' cpu lists point into */
};

/* Place js's tasks on the allocation R (its JSON, not taken). g maps each rank's core
 * ids to this machine's cpus (a core this machine lacks is not bound).
 * Tasks are dealt over the slots in order (per_slot each, or total
 * round-robin); a slot is a run of its node's cores. 0, or -EINVAL for an R
 * with no nodes or slots, -ENOMEM. */
int placement_build(const struct rgraph *g, const struct jobspec *js, json_t *R,
                    struct placement *p);
/* Free what placement_build allocated. NULL-safe. */
void placement_release(struct placement *p);

#endif
