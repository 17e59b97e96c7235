/* cluster.h - a broker's part in a multi-node instance (doc/overlay.md).
 *
 * Owns the overlay (overlay.h) and puts it to work:
 * - joins: every broker reports its node's resources; the leader makes the
 *   node schedulable the first time and up (jobmgr_node_joined), and down
 *   again when it is lost (jobmgr_node_offline);
 * - execution: the leader's job manager runs jobs through the executor
 *   cluster_executor_create() makes (executor.h): a job's tasks on the
 *   leader's node start here, the rest go as "exec.start" messages down the
 *   tree to their nodes' brokers, one message per subtree, whose local
 *   launchers run them and send output and exit status back up. The job finishes when every node has
 *   reported; its status is the largest (as Flux's).
 *
 * Message types (JSON, version OVERLAY_VERSION, doc/overlay.md):
 *   exec.start     down the tree    {id, idstr, argv, cwd, env, nnodes, ntasks, uid, gid,
 *                                    parts: {"rank": [[rank, nodeid, localid, [cpu...]]...]}}
 *   exec.signal    down the tree    {id, sig, parts: {"rank": true}}
 *   exec.terminate down the tree    {id, grace, parts}
 *   exec.release   down the tree    {id, parts}
 *                  (one message per subtree: each broker takes its part
 *                  and splits the rest for its children)
 *   exec.output    node -> leader   {id, stream, data (base64)}
 *   exec.finished  node -> leader   {id, status}
 *   ingest.submit  node -> leader   {token, text (base64), uid, gid, cwd, subject}
 *   ingest.ctl     node -> leader   {token, id, text (base64), uid, subject}
 *   ingest.reply   leader -> node   {token, rc, ids | why, uid, subject, seq}
 *   repl.*         down and up the tree: the replica (replica.h)
 *   nest.*         nested instances across nodes (nest.h, doc/overlay.md)
 *
 * Single-threaded: the broker's loop thread.
 */
#ifndef FLUXFS_CLUSTER_H
#define FLUXFS_CLUSTER_H

#include <stdbool.h>
#include <jansson.h>

#include "common/errmsg.h"
#include "common/ev.h"
#include "exec/executor.h"
#include "fsd/bootstrap.h"
#include "fsd/jobmgr.h"
#include "fsd/replica.h"
#include "sched/rgraph.h"

struct cluster;

struct cluster_config {
    const struct bootstrap *bs;
    int rank;
    const struct rgraph_node *node;   /* this broker's node (its resources) */
    const char *mount;                /* our tree: tasks' FLUXFS_MOUNT */
    struct store *st;                 /* the leader's store, or a follower's replica */
};

/* Start the overlay. A follower also starts the launcher for the tasks the
 * leader sends it. NULL with err filled. */
struct cluster *cluster_create(struct ev_loop *loop, const struct cluster_config *cfg,
                               struct errmsg *err);
void cluster_destroy(struct cluster *c);

/* The job manager is made. Leader (with cluster_executor_create): nodes not
 * joined yet go down until they do; joins heard meanwhile apply now.
 * Follower (a replica job manager): what the replica applies shows in it. */
void cluster_set_jobmgr(struct cluster *c, struct jobmgr *m);

/* The copy of the leader's jobs every broker keeps (replica.h). */
struct replica *cluster_replica(struct cluster *c);

/* executor_create_f for the leader's job manager; arg is the cluster. */
struct executor *cluster_executor_create(struct ev_loop *loop, const struct exec_ops *cb,
                                         void *cb_arg, void *arg);

/* Follower: a submission made on our tree goes to the leader (a
 * vfs_forward_f; arg is the cluster): the answer comes through the sink,
 * after the jobs are durable on the leader, or with -ETIMEDOUT (no answer in
 * CLUSTER_FORWARD_WAIT s) or -ECONNRESET (the link went down first): then
 * the job may have been accepted all the same, and the reason says so. */
#define CLUSTER_FORWARD_WAIT 30.0
/* One made before this broker has first joined its parent (just started)
 * is held, in order, and sent once it has: for up to CLUSTER_JOIN_WAIT s
 * (then -EAGAIN, nothing submitted), and CLUSTER_HELD_MAX bytes of them
 * at most. After that first join a broker that cannot reach the leader
 * refuses at once with -EAGAIN (doc/overlay.md). */
#define CLUSTER_JOIN_WAIT 30.0
#define CLUSTER_HELD_MAX (64u << 20)
/* A node that has not confirmed the start of its part of a job in this
 * many seconds (or twice the heartbeat timeout, if longer) fails the job
 * with an "exec" exception. */
#define CLUSTER_START_WAIT 10.0
#define CLUSTER_FORWARD_MAX (6u << 20)
int cluster_forward(void *arg, uint64_t token, const char *text, size_t len, uid_t uid,
                    gid_t gid, const char *cwd, const char *queue, const char *subject,
                    struct errmsg *err);
/* Follower: a write to jobs/<id>/ctl goes to the leader the same way (a
 * vfs_forward_ctl_f), answered through the sink (ids NULL). */
#define CLUSTER_CTL_MAX (64u << 10)
int cluster_forward_ctl(void *arg, uint64_t token, uint64_t jobid, uid_t uid, const char *text,
                        size_t len, const char *subject, struct errmsg *err);
/* seq: the leader's commit that made it durable (replica_settle), or 0. */
typedef void (*cluster_sink_f)(void *arg, uint64_t token, int rc, const char *ids, uid_t uid,
                               const char *subject, const char *why, uint64_t seq);
void cluster_set_sink(struct cluster *c, cluster_sink_f fn, void *arg);

/* Leader: the loop's commit is done (rc), durable once sync ticket is
 * (0: at once); the followers whose submissions it holds are answered
 * then, in order (cluster_after_sync: done, failed as syncer_done's). */
void cluster_after_commit(struct cluster *c, int rc, uint64_t ticket);
void cluster_after_sync(struct cluster *c, uint64_t done, uint64_t failed, int fail_rc);

/* Messages whose type starts "nest." go to fn (nested instances across
 * nodes, nest.h), borrowed for the call. */
typedef void (*cluster_recv_f)(void *arg, int from, const char *type, json_t *msg);
void cluster_set_nest_recv(struct cluster *c, cluster_recv_f fn, void *arg);
/* Send msg (borrowed, "type" set) to rank `to` along the tree (overlay_send). */
int cluster_send(struct cluster *c, int to, json_t *msg);
int cluster_rank(const struct cluster *c);
const struct bootstrap *cluster_bootstrap(const struct cluster *c);
/* Leader: every broker has joined. Follower: we have. */
bool cluster_all_up(const struct cluster *c);
/* For status and status.json: the overlay (overlay_status). */
json_t *cluster_status(struct cluster *c);

/* Follower: tasks still running here; kill them all now (shutdown). */
size_t cluster_active(const struct cluster *c);
void cluster_terminate_all(struct cluster *c, double grace);

#endif
