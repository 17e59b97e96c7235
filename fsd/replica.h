/* replica.h - the leader's store, copied to every broker of the tree
 * (doc/overlay.md "Replication").
 *
 * The leader alone decides and writes; every follower keeps a replica of
 * its jobs (records, jobspecs, R, eventlogs, output) in its own store, so
 * that its tree answers ls, cat, tail -f, wait and inotify from local
 * data. Changes flow down the tree, never sideways:
 *
 * - Commits: after each commit that changed jobs, the leader sends what it
 *   wrote (store_journal_take) to its children as "repl.data" (kind "c",
 *   commits first..seq, batched: REPLICA_BATCH below); each broker applies it to its replica, commits, and
 *   passes it on to its own children. A broker's position is (gen, seq):
 *   gen names the leader's history (it changes when the leader's machine
 *   rebooted, since commits not yet synced there may be gone), seq counts
 *   its commits.
 * - Copies: a broker that joins says where it is ("repl.sync"). If its
 *   parent is at the same position it is told "repl.ok"; otherwise its
 *   parent resets it ("repl.reset", the replica is emptied) and sends a
 *   copy of its own replica in steps ("repl.data" kind "d", four steps in
 *   flight, each acknowledged by "repl.ack"), then "repl.synced". Commits
 *   made meanwhile go down the same link between the steps (store_dump).
 *   A broker being reset passes the whole stream to its children, which
 *   are reset with it.
 * - A gap (a commit whose seq is not the next) or an apply that fails makes
 *   the broker ask for a copy again.
 * - Read barrier ("repl.barrier"): a follower asks the leader for its seq
 *   and waits until it has applied that much: whatever any broker's
 *   submission returned before the barrier is then visible here.
 *
 * Single-threaded: the broker's loop thread.
 */
#ifndef FLUXFS_REPLICA_H
#define FLUXFS_REPLICA_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "common/ev.h"
#include "fsd/jobmgr.h"
#include "fsd/store.h"

/* Bytes of a copy step, and steps in flight to one child. */
#define REPLICA_STEP (1u << 20)
#define REPLICA_WINDOW 4
/* Bytes of one repl.data message before base64 (a commit larger than that
 * goes in several, reassembled by the receiver). */
#define REPLICA_PART (4u << 20)
/* The leader sends its commits at once, REPLICA_BURST of them in each
 * window of REPLICA_BATCH_WAIT seconds, and batches the rest until the
 * window ends (or REPLICA_BATCH bytes, or anything that depends on them:
 * replica_flush). A job's few commits (submit, start, end) reach the
 * followers at once, and a busy leader still wakes each broker of the tree
 * at most REPLICA_BURST / REPLICA_BATCH_WAIT times a second, not once per
 * commit. */
#define REPLICA_BATCH (256u << 10)
#define REPLICA_BATCH_WAIT 0.002
#define REPLICA_BURST 4
/* A follower not answered says where it is again after this; a copy with
 * no step acknowledged for REPLICA_ACK_WAIT starts over. */
#define REPLICA_SYNC_RETRY 2.0
#define REPLICA_ACK_WAIT 10.0
/* A barrier that the leader does not answer in this time gives up. */
#define REPLICA_BARRIER_WAIT 2.0

struct replica;

struct replica_config {
    struct store *st;
    int rank;
    int parent;         /* -1 for the leader */
    int first_child;    /* children are ranks first_child .. first_child+nchildren-1 */
    int nchildren;
    /* send msg (borrowed) to rank: overlay_send */
    int (*send)(void *arg, int to, json_t *msg);
    void *send_arg;
};

struct replica *replica_create(struct ev_loop *loop, const struct replica_config *cfg,
                               struct errmsg *err);
void replica_destroy(struct replica *r);

/* Follower: the job manager to refresh (jobmgr_replica_*). */
void replica_set_jobmgr(struct replica *r, struct jobmgr *m);

/* A repl.* message (borrowed). */
void replica_recv(struct replica *r, int from, const char *type, json_t *msg);
/* Follower: our link to the parent (rank, which changes when another broker
 * adopts us) came up (ask for what we miss) or down. */
void replica_parent(struct replica *r, bool up, int rank);
/* A child we adopted (a lost child's, overlay.h): ours to serve too. */
int replica_add_kid(struct replica *r, int rank);

/* The loop's commit: before it (the leader numbers it, in the same
 * transaction) and after it (rc: its result): the leader sends what it
 * wrote, a follower shows what it applied, copies take their next steps. */
void replica_before_commit(struct replica *r);
void replica_after_commit(struct replica *r, int rc);
/* Leader: send the commits batched so far now (before answering followers
 * about what those commits made durable). NULL-safe. */
void replica_flush(struct replica *r);

/* Follower: the replica is a consistent copy (not being reset, no gap). */
bool replica_synced(const struct replica *r);

/* Follower: call done(arg, 0) once every commit the leader had made when
 * it got our question is visible here, or done(arg, -ETIMEDOUT/-ENOTCONN)
 * if that cannot be known soon (REPLICA_BARRIER_WAIT). The leader calls
 * done at once. 0 or -ENOMEM. */
typedef void (*replica_done_f)(void *arg, int rc);
int replica_barrier(struct replica *r, replica_done_f done, void *arg);

/* Follower: call done(arg, 0) once the leader's commits up to seq (0:
 * what was applied here so far) are shown in the job manager (after this
 * iteration's commit, and once synced), or done(arg, -ETIMEDOUT) after
 * REPLICA_BARRIER_WAIT. For answers from the leader about what its commits
 * made durable. 0 or -ENOMEM. */
int replica_settle(struct replica *r, uint64_t seq, replica_done_f done, void *arg);
/* Our position's seq (the leader: its last commit's). NULL-safe. */
uint64_t replica_seq(const struct replica *r);
/* Finish every barrier now with -ECANCELED (before the view goes). */
void replica_cancel(struct replica *r);

/* {"gen", "seq", "state": "leader"|"synced"|"copying"|"waiting",
 *  "commits", "copies_served", "lag_ms"}. */
json_t *replica_status(const struct replica *r);

#endif
