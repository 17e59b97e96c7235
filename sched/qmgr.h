/* qmgr.h - the queue: which pending job gets matched, and when.
 *
 * Pure decisions, no I/O: the broker tells the queue about jobs and the
 * passage of time; qmgr_schedule() answers with allocations made by the
 * graph matcher (match.h). Order: priority (the urgency 31..1 unless the
 * broker sets one; urgency 0 holds a job), then submit time. Queue policies (Fluxion's qmanager names):
 *   fcfs          strictly in order: the first job that does not fit stops
 *                 the pass.
 *   easy          the first `depth` (default 1) blocked jobs get a
 *                 reservation at the earliest time they fit; later jobs start
 *                 now if they fit around those reservations (EASY backfill).
 *   conservative  every blocked job gets a reservation (depth unlimited, or
 *                 the configured depth), so no job is ever delayed by a
 *                 later one.
 * Reservations are remade on every pass (as qmanager does), since running
 * jobs end early and new urgent jobs arrive. A request shape that failed to
 * fit now is not tried again in the same pass for as long or longer: the
 * graph only fills up. Once no reservation is left to make, a run of such
 * jobs side by side in the queue (same shape, duration and queue: an
 * array, a --cc) is passed over at once, so a pass over a queue of 100,000
 * like jobs looks at a handful (not with a gate, which judges each job).
 * Jobs without a duration hold their resources for ever, so nothing
 * reserved behind them; they backfill only where no reservation lies.
 * Held jobs wait aside and cost a pass nothing. Submit (of a job that sorts
 * last, as new ones do), cancel, start and release are O(1) amortized; a job
 * sorted in elsewhere (an urgency change, an older submit time) costs O(n).
 */
#ifndef FLUXFS_QMGR_H
#define FLUXFS_QMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/errmsg.h"
#include "common/rspec.h"
#include "sched/graph.h"
#include "sched/match.h"

#define QMGR_URGENCY_HOLD    0
#define QMGR_URGENCY_DEFAULT 16
#define QMGR_URGENCY_MAX     31

enum qmgr_policy { QMGR_FCFS, QMGR_EASY, QMGR_CONSERVATIVE };

struct qmgr;

/* The graph must be finalized and outlive the queue. */
struct qmgr *qmgr_create(struct graph *g, enum match_policy mp, enum qmgr_policy qp);
void qmgr_destroy(struct qmgr *q);

/* "fcfs", "easy", "conservative"; -1 if unknown. */
int qmgr_policy_parse(const char *name);
const char *qmgr_policy_name(enum qmgr_policy p);
/* Reservation depth for easy/conservative (0 = policy default). */
void qmgr_set_depth(struct qmgr *q, int depth);
void qmgr_set_policy(struct qmgr *q, enum qmgr_policy qp);
enum qmgr_policy qmgr_policy(const struct qmgr *q);
int qmgr_depth(const struct qmgr *q);

/* Can this request ever run here? 0, or -ENODEV/-EINVAL with err. */
int qmgr_satisfiable(struct qmgr *q, const struct rspec *req, struct errmsg *err);
/* Could req run on the resources that are up now, were nothing held? 0 or
 * -ENODEV (only down, drained or offline resources could satisfy it). */
int qmgr_satisfiable_up(struct qmgr *q, const struct rspec *req, struct errmsg *err);

/* Queue a job. The queue keeps req (it must outlive the job's time in the
 * queue and its allocation). duration in seconds, 0 = unlimited.
 * -EEXIST, -EINVAL (bad urgency), -ENODEV (unsatisfiable) with err. */
int qmgr_submit(struct qmgr *q, uint64_t id, const struct rspec *req, int urgency,
                double t_submit, double duration, struct errmsg *err);

/* Remove a pending job (0 or -ENOENT). */
int qmgr_cancel(struct qmgr *q, uint64_t id);
int qmgr_set_urgency(struct qmgr *q, uint64_t id, int urgency);
/* The order of pending jobs is their priority, highest first (then submit
 * time): the urgency until the caller sets one. A held job (urgency 0)
 * keeps its priority aside. 0, -ENOENT. O(n) for one job. */
int qmgr_set_priority(struct qmgr *q, uint64_t id, int64_t priority);
/* Every queued job's priority anew, fn(arg, id), and one sort. */
typedef int64_t (*qmgr_priority_f)(void *arg, uint64_t id);
void qmgr_reprioritize(struct qmgr *q, qmgr_priority_f fn, void *arg);

/* Named queues (the broker's): a job's queue index (0 at submit); the
 * jobs of a stopped queue stay queued but are never tried (no allocation,
 * no reservation) until it is started again. */
#define QMGR_QUEUES_MAX 64
int qmgr_set_queue(struct qmgr *q, uint64_t id, int queue);
void qmgr_queue_stop(struct qmgr *q, int queue, bool stopped);
/* A gate every job passes before a pass tries it (a queue's limit on a
 * user's running jobs): false leaves it queued, untried, without a
 * reservation. NULL: none. */
typedef bool (*qmgr_gate_f)(void *arg, uint64_t id);
void qmgr_set_gate(struct qmgr *q, qmgr_gate_f fn, void *arg);

/* A running job released its resources (0 or -ENOENT). */
int qmgr_release(struct qmgr *q, uint64_t id);

/* Run the policy at time now; cb once per job allocated (a valid until its
 * release). cb must not call back into the queue except lookups.
 * Returns the number of jobs allocated. */
typedef void (*qmgr_alloc_f)(void *arg, uint64_t id, const struct match_alloc *a);
int qmgr_schedule(struct qmgr *q, double now, qmgr_alloc_f cb, void *arg);

/* Allocation of a running job, or its current reservation, or NULL. */
const struct match_alloc *qmgr_lookup(const struct qmgr *q, uint64_t id);
struct matcher *qmgr_matcher(struct qmgr *q);

/* Jobs queued, held ones (urgency 0) included; jobs running. */
size_t qmgr_pending(const struct qmgr *q);
size_t qmgr_running(const struct qmgr *q);
/* Queued jobs the last qmgr_schedule() pass looked at: held jobs are never
 * among them, and fcfs stops at the first that does not fit. */
size_t qmgr_last_pass_tried(const struct qmgr *q);

#endif
