/* resource.h - the instance's resources as the broker changes them: the
 * scheduler's graph (sched/graph.h, the one model) with each vertex's
 * status (up, down, drained) set through resources/ctl and kept in the
 * store across restarts, and the counts the tree shows.
 *
 * It owns the status records; the graph and its holds belong to sched/.
 * Failing the jobs on a vertex that goes down is the job manager's: it is
 * told through the down callback.
 */
#ifndef FLUXFS_RESOURCE_H
#define FLUXFS_RESOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include "common/errmsg.h"
#include "fsd/store.h"
#include "sched/graph.h"
#include "sched/qmgr.h"

struct resources;

/* Called for each vertex a ctl write takes down, after the new status is
 * recorded (path: its containment path), and for a node whose broker was
 * lost (lost: why). */
typedef void (*resources_down_f)(void *arg, int v, const char *path, const char *lost);

/* Loads the status a previous run recorded (logging what it cannot).
 * graph, st and q must outlive it. NULL on ENOMEM. */
struct resources *resources_create(struct graph *graph, struct store *st, struct qmgr *q,
                                   resources_down_f down, void *arg);
void resources_destroy(struct resources *r);

/* Apply "up|down|drain PATH" lines (PATH a containment path or a unique
 * vertex name): all checked first, then applied and recorded in the open
 * transaction, so a failed write changes nothing. 0 or -EINVAL, -ENOENT,
 * -E2BIG, or the store's error, with err filled. */
int resources_ctl(struct resources *r, const char *text, size_t len, struct errmsg *err);

/* A multi-node instance's node whose broker has not joined (or was lost)
 * is offline: down, without that being recorded as an operator's choice;
 * `up` for it is refused. Going offline (why != NULL) fails the jobs on it
 * through the down callback; online again, it is up unless an operator
 * has since drained it. 0, -EINVAL, -ENOMEM. */
int resources_set_online(struct resources *r, int v, bool online, const char *why);
bool resources_online(const struct resources *r, int v);
/* Is any vertex down, drained or offline now? */
bool resources_any_unavailable(struct resources *r);
/* A follower: the leader's recorded status again (every vertex that is not
 * offline up, then the record's). */
void resources_reload(struct resources *r);

/* Loop phases: write again a status whose commit failed; learn the outcome. */
void resources_prepare_commit(struct resources *r);
void resources_after_commit(struct resources *r, int commit_rc);

/* Cores (a = 0) or gpus (a = 1) no job holds now (reservations do not
 * count) and not beneath a vertex that is down, drained or offline. Reads
 * the root's holds (one per job) and those of the vertices not up. */
int resources_free_units(struct resources *r, int a, int64_t now);

/* Whether hold h is a pending job's reservation rather than an allocation
 * in force at time now. */
bool resources_hold_reserved(struct resources *r, const struct graph_hold *h, int64_t now);

#endif
