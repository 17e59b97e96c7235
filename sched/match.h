/* match.h - place a general RFC 14 request on the resource graph, now or at
 * the earliest future time, under a match policy (Fluxion's DFU semantics).
 *
 * Semantics (doc/scheduler.md has the long form):
 *   - The request tree is matched top-down against the containment tree. A
 *     request type that is not at the current graph level is searched for
 *     deeper ("omitted prefix"): cluster > rack > node may be left out.
 *   - Everything inside a slot is exclusive to the job; vertices above a slot
 *     are shared unless the request says `exclusive: true`, which claims the
 *     vertex and its whole subtree. The node-exclusive policies (lonodex,
 *     hinodex) claim every node the job touches.
 *   - A slot is formed at the lowest vertex whose children include one of
 *     the slot's resource types (the socket for slot>core, the rack for
 *     slot>node), so one slot never straddles two sockets unless it asks for
 *     them. Pool vertices (size > 1, e.g. memory in GB) give units, not
 *     vertices: `memory: 32` takes 32 units from one or more pools.
 *   - Counts with min/max take as many as are free, up to max (moldable).
 *   - Time: a job holds its vertices over [start, start + duration). A match
 *     at time t succeeds only if nothing it needs is held in that window, so
 *     reservations and backfill fall out of the same check. The earliest
 *     start is searched among now and the end times of existing holds.
 *
 * Policies pick among equal candidates:
 *   low     lowest ids first          high, first   highest ids first
 *   lonode  lowest node ids first, highest ids within a node
 *   hinode  highest node ids first, lowest ids within a node
 *   lonodex, hinodex  as lonode/hinode, and whole nodes are allocated
 *   locality  fullest subtree that still fits first (best fit), which packs
 *           jobs close together in the containment tree and keeps whole
 *           racks/nodes free for wide jobs
 */
#ifndef FLUXFS_MATCH_H
#define FLUXFS_MATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "common/errmsg.h"
#include "common/rspec.h"
#include "sched/graph.h"

enum match_policy {
    MATCH_LOW, MATCH_HIGH, MATCH_FIRST, MATCH_LONODE, MATCH_HINODE,
    MATCH_LONODEX, MATCH_HINODEX, MATCH_LOCALITY,
};

enum match_op {
    MATCH_ALLOCATE,                 /* now, or fail */
    MATCH_ALLOCATE_ORELSE_RESERVE,  /* now, or the earliest time it fits */
    MATCH_ALLOCATE_WITH_SAT,        /* now, or fail saying if it ever could */
    MATCH_SATISFIABILITY,           /* could it ever run? holds nothing */
    MATCH_SATISFIABILITY_UP,        /* ... on what is up now (down, drained and
                                       offline vertices left out)? */
};

/* Parse "low", "hinodex", ... ; -1 if unknown. */
int match_policy_parse(const char *name);
const char *match_policy_name(enum match_policy p);

/* One vertex of an allocation. */
struct match_item {
    int v;
    int64_t amount;     /* units of a pool, else 1 */
    uint8_t kind;       /* GRAPH_HOLD_X, _S or _P */
    uint8_t whole;      /* the whole subtree is the job's (exclusive: true,
                           or a node under lonodex/hinodex) */
};

struct match_alloc {
    uint64_t job;
    int64_t start, end;     /* [start, end); end GRAPH_FOREVER if unlimited */
    bool reserved;          /* true: a reservation (start > now) */
    int nitems;
    struct match_item *items;   /* held vertices, in graph (pre-)order */
};

struct matcher;

/* The graph must be finalized and outlive the matcher. */
struct matcher *match_create(struct graph *g, enum match_policy policy);
/* Removes every hold this matcher put on the graph. */
void match_destroy(struct matcher *m);
/* The graph gained vertices (appended, then graph_finalize'd again: a
 * multi-node instance's node joined): take its new shape. Existing
 * allocations stay (their vertices keep their numbers). 0 or -ENOMEM
 * (then the matcher still sees the old shape). */
int match_graph_grown(struct matcher *m);
void match_set_policy(struct matcher *m, enum match_policy policy);

/* Place req for job (ids must be unique among live allocations).
 * duration 0 = unlimited. On success adds holds to the graph and, if out is
 * not NULL, points *out at the allocation (valid until match_cancel()).
 * Returns 0, or
 *   -EBUSY   does not fit now (allocate) / at any known time (reserve)
 *   -ENODEV  can never fit on this graph (err says why)
 *   -EINVAL  the request names a resource type the graph does not have
 *   -EEXIST  job already holds resources
 * MATCH_SATISFIABILITY(_UP) returns 0 or -ENODEV and never holds anything. */
int match_job(struct matcher *m, const struct rspec *req, uint64_t job,
              enum match_op op, int64_t now, int64_t duration,
              const struct match_alloc **out, struct errmsg *err);

/* Fluxion's reserve-mode answer for a request nothing fits: -ENODEV when
 * even one unit of each top-level resource searched for beneath the root
 * (the root's own type keeps its count) could never fit, else -EBUSY.
 * (resource-query reports "unsatisfiable" only then; fluxfs-query mimics.) */
int match_unsat_per_unit(struct matcher *m, const struct rspec *req, struct errmsg *err);

/* Move the end of a job's allocation (a running job that overran its
 * expected end keeps its vertices). 0 or -ENOENT. */
int match_extend(struct matcher *m, uint64_t job, int64_t end);

/* Fluxion's partial cancel (Flux's shrink): release the nodes of job's
 * allocation for which release() says true, everything the job holds on
 * or beneath them, and the vertices above them it no longer needs; the rest
 * stays held. *full says the job held nothing else (it is gone, as after
 * match_cancel). What the job holds off the nodes (a rack's pool) stays.
 * 0, -ENOENT (no such job), -EINVAL (a reservation: only allocations
 * shrink), -EBUSY (a vertex above those nodes is held whole: it cannot
 * lose part of itself) or -ENOMEM. */
typedef bool (*match_node_f)(void *arg, const struct graph_vertex *node);
int match_release(struct matcher *m, uint64_t job, match_node_f release, void *arg,
                  bool *full);

/* Release a job's allocation or reservation. 0 or -ENOENT. */
int match_cancel(struct matcher *m, uint64_t job);

const struct match_alloc *match_lookup(const struct matcher *m, uint64_t job);
size_t match_njobs(const struct matcher *m);

/* Every vertex of an allocation, children before parents (as the simple
 * text lists them): the amount held (a pool's units, or the size of a
 * vertex inside an exclusive claim) and whether exclusively. */
typedef void (*match_item_f)(void *arg, int v, int64_t amount, bool x);
void match_walk(const struct matcher *m, const struct match_alloc *a, match_item_f f,
                void *arg);

/* resource-query "simple" text of an allocation: one line per vertex,
 * children before parents, "      ---...name[count:x|s]". Caller frees. */
char *match_format_simple(const struct matcher *m, const struct match_alloc *a);

/* RFC 20 R version 1 of an allocation (node ranks, core and gpu ids). */
json_t *match_to_R(const struct matcher *m, const struct match_alloc *a);

/* Exclusive units held, by type, into counts[ntypes] (memory in pool units):
 * what conformance tests compare. */
void match_count_exclusive(const struct matcher *m, const struct match_alloc *a,
                           int64_t *counts, int ntypes);

#endif
