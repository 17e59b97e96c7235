/* overlay.h - the tree of brokers of a multi-node instance (Flux's TBON).
 *
 * One broker per node, ranks as in the bootstrap file (bootstrap.h), linked
 * into a k-ary tree. Every edge is one nng pair0 link (link.h): the parent
 * dials each of its children at the child's "connect" URL; a child listens
 * at its "bind" URL for whoever is its parent. (Flux's children dial their
 * parent; here the one-to-one pair0 protocol that link.c hardens serves
 * every edge, and a child's parent can change at run time by another
 * broker dialing it, which the resilience work needs.)
 *
 * Messages are JSON objects with an envelope: "type", "from" and "to"
 * (ranks). A message for another rank is forwarded one hop at a time along
 * the tree (bootstrap_next_hop), so the leader never opens a connection to
 * a leaf. Delivery: in order between two ranks while the edges between
 * them stay up; nothing is replayed after a disconnect.
 *
 * Joining: when a parent's link to a child comes up, the parent says
 * "hello" (protocol version, instance name, the rank it believes it is
 * talking to); the child checks all three, refuses with a logged reason or
 * answers "join" with its host and its node's resources (join_info). Joins
 * travel up to the leader, which tells its owner through on_peer; so do
 * losses ("lost": a link to a child went down, with every rank below it).
 * A broker that re-joins re-sends the joins of the ranks below it.
 *
 * Re-parenting: a child of ours that is lost is reported alone; we dial
 * its children and adopt them (they accept any parent with a valid hello),
 * so its subtree rejoins through us with its nodes and jobs untouched. An
 * adopted child that does not join within hb_timeout is lost in turn, and
 * its children adopted. Routes prefer adopted children (overlay_next_hop).
 *
 * Heartbeats: every bootstrap hb_period a parent beats to each child that
 * joined; a child that answers nothing for hb_timeout is lost (even with
 * its connection up: a stopped process, a partition) and greeted again; a
 * parent silent for hb_timeout is gone for the child until its next hello.
 *
 * Single-threaded: call everything on the broker's loop thread.
 */
#ifndef FLUXFS_OVERLAY_H
#define FLUXFS_OVERLAY_H

#include <stdbool.h>
#include <jansson.h>

#include "common/errmsg.h"
#include "common/ev.h"
#include "fsd/bootstrap.h"

#define OVERLAY_VERSION 1

enum overlay_state { OVERLAY_JOINING = 0, OVERLAY_UP, OVERLAY_LOST, OVERLAY_REFUSED };

struct overlay;

struct overlay_ops {
    /* A message addressed to us (type is not one of the overlay's own),
     * borrowed for the call. from: the sender's rank. */
    void (*recv)(void *arg, int from, const char *type, json_t *msg);
    /* Leader only: rank changed state. info: its "join" (host, resources)
     * when up, NULL otherwise; why: a reason when lost or refused. */
    void (*peer)(void *arg, int rank, enum overlay_state st, json_t *info, const char *why);
    /* Followers: our link to the parent came up (true) or went down. */
    void (*parent)(void *arg, bool up);
    /* A child of a lost child of ours joined us (re-parenting): ours now. */
    void (*adopted)(void *arg, int rank);
};

/* Start rank's part of the tree: listen for a parent (rank > 0) and dial
 * the children. join_info (an object, incref'd) is what we tell the leader
 * when we join: host and resources. NULL with err filled. */
struct overlay *overlay_create(struct ev_loop *loop, const struct bootstrap *bs, int rank,
                               json_t *join_info, const struct overlay_ops *ops, void *arg,
                               struct errmsg *err);
void overlay_destroy(struct overlay *ov);

int overlay_rank(const struct overlay *ov);
int overlay_size(const struct overlay *ov);

/* Send msg (an object; "type" set by the caller, borrowed) to rank `to`.
 * 0; -EHOSTUNREACH when the next hop is not connected; -EINVAL; link
 * errors (-EAGAIN when the hop's queue is full). */
int overlay_send(struct overlay *ov, int to, json_t *msg);

/* The next hop from us towards rank `to` (-1 for ourselves): a child of
 * ours, adopted ones included, or our parent. */
int overlay_next_hop(const struct overlay *ov, int to);
/* Our children (the bootstrap's, and the adopted ones that joined), up to
 * max of them into ranks: their number. */
int overlay_kids(const struct overlay *ov, int *ranks, int max);
/* The rank of the parent that last said hello to us (-1 on the leader). */
int overlay_parent_rank(const struct overlay *ov);
/* Whether our parent link is up and has accepted us (followers), or true
 * on the leader. */
bool overlay_joined(const struct overlay *ov);
/* Whether the leader can be reached through our parent (followers: joined,
 * and our parent's last beat did not say it lost its own way up), or true
 * on the leader. */
bool overlay_leader_reachable(const struct overlay *ov);

/* Leader: rank's state as last heard. */
enum overlay_state overlay_peer_state(const struct overlay *ov, int rank);
const char *overlay_state_name(enum overlay_state st);

/* For status.json: {"rank", "size", "fanout", "parent", "children": [...],
 * "rtt_ms" (followers: the heartbeats' round trips summed up to the leader),
 * "ranks": [{"rank","host","state","parent","children","rtt_ms"}...] (leader;
 * rtt_ms for its own children)}. */
json_t *overlay_status(const struct overlay *ov);

#endif
