/* graph.h - the resource graph: typed vertices in a containment tree, edges
 * of other named subsystems, and for every vertex a timeline of holds.
 *
 * Vertices are numbered 0..n-1 in the order they were added; the containment
 * parent of a vertex is always added before it, so index order is a
 * pre-order-compatible order and the root is vertex 0. Types are interned to
 * small integers so the matcher compares ints, not strings.
 *
 * A hold is one job's claim on one vertex over [start, end):
 *   GRAPH_HOLD_X  the vertex (and so its whole subtree) is the job's alone;
 *   GRAPH_HOLD_S  the job uses something beneath the vertex (shared);
 *   GRAPH_HOLD_P  the job holds `amount` units of a pool vertex (size > 1).
 * Every hold also carries `agg`: how many units of each aggregate type (cores
 * and gpus by default) the job makes unavailable beneath the vertex, so the
 * matcher can skip a subtree without walking it (Fluxion's prune filters).
 *
 * Readers (grug.c, jgf.c, gdesc.c, ghwloc.c) build a graph with
 * graph_add_vertex()/graph_add_edge() and then call graph_finalize().
 * Pure data: no I/O here.
 */
#ifndef FLUXFS_GRAPH_H
#define FLUXFS_GRAPH_H

#include <stdbool.h>
#include <stdint.h>
#include "common/errmsg.h"

#define GRAPH_FOREVER  ((int64_t)1 << 60)  /* end of an unlimited hold */
#define GRAPH_AGG_MAX  2                   /* aggregate types tracked per hold */

enum graph_status { GRAPH_UP = 0, GRAPH_DOWN = 1, GRAPH_DRAINED = 2 };

enum graph_hold_kind { GRAPH_HOLD_S = 0, GRAPH_HOLD_X = 1, GRAPH_HOLD_P = 2 };

struct graph_hold {
    uint64_t job;
    int64_t start, end;            /* [start, end) */
    int64_t amount;                /* pool units (P), else 1 */
    int32_t agg[GRAPH_AGG_MAX];    /* aggregate units made unavailable beneath */
    uint8_t kind;
};

struct graph_prop {
    const char *key;
    const char *value;
};

/* Read-only outside graph.c and the readers' finalize step. */
struct graph_vertex {
    int type;                  /* interned type */
    int parent;                /* containment parent, -1 for the root */
    int depth;                 /* 0 for the root */
    int nchildren;
    int first_child;           /* containment children in insertion order: */
    int next_sibling;          /*   first_child, then next_sibling, -1 ends */
    int64_t id;                /* logical id (core3 has id 3) */
    int64_t size;              /* pool size; 1 for ordinary vertices */
    int rank;                  /* execution target (broker rank), -1 if none */
    uint8_t status;            /* enum graph_status */
    const char *name;          /* e.g. "core3"; unique among siblings */
    const char *basename;      /* e.g. "core" (strings live in the graph) */
    const char *unit;          /* e.g. "GB", or NULL */
    int nprops;
    struct graph_prop *props;
    int64_t total[GRAPH_AGG_MAX];  /* aggregate-type units in the subtree */
    int nholds, maxholds;
    struct graph_hold *holds;
};

/* An edge outside the containment tree (power, network, storage...). */
struct graph_edge {
    int src, dst;
    int subsystem;             /* interned subsystem name */
    const char *relation;      /* e.g. "supplies_to" */
};

struct graph;

struct graph *graph_create(void);
void graph_destroy(struct graph *g);

/* Intern a type or subsystem name: small int >= 0, or -ENOMEM. */
int graph_intern(struct graph *g, const char *name);
/* Interned id of an existing name, or -1 if the graph never saw it. */
int graph_lookup_type(const struct graph *g, const char *name);
const char *graph_type_name(const struct graph *g, int type);
int graph_ntypes(const struct graph *g);

/* Add a vertex under parent (-1 only for the first vertex, the root).
 * name NULL means basename followed by id. Returns the vertex index or
 * -EINVAL/-ENOMEM with err filled. */
int graph_add_vertex(struct graph *g, int parent, const char *type,
                     const char *basename, const char *name, int64_t id,
                     int64_t size, const char *unit, int rank,
                     struct errmsg *err);
int graph_set_property(struct graph *g, int v, const char *key, const char *value);
int graph_add_edge(struct graph *g, int src, int dst, const char *subsystem,
                   const char *relation);

/* Compute subtree totals. Call once after the last add; the graph is then
 * ready for matching. 0 or -EINVAL (empty graph) with err. */
int graph_finalize(struct graph *g, struct errmsg *err);

int graph_nvertices(const struct graph *g);
const struct graph_vertex *graph_vertex(const struct graph *g, int v);
int graph_nedges(const struct graph *g);
const struct graph_edge *graph_edge(const struct graph *g, int i);

/* The aggregate types (default "core", "gpu"): index i of hold.agg/total. */
int graph_agg_type(const struct graph *g, int i);

/* Number of vertices of a type (interned id). */
int64_t graph_count_type(const struct graph *g, int type);

/* Containment path "/tiny0/rack0/node1" of v into buf; -ENOSPC if too small. */
int graph_path(const struct graph *g, int v, char *buf, size_t size);

/* What keeps vertex v from others, as resources/ shows it: cb gets each
 * of v's own holds (own true), then, for each job holding an ancestor of
 * v exclusively, that hold once (own false), nearest ancestor first. */
typedef void (*graph_hold_f)(void *arg, const struct graph_hold *h, bool own);
void graph_blockers(const struct graph *g, int v, graph_hold_f cb, void *arg);
/* Vertex at a containment path, or -ENOENT. */
int graph_find_path(const struct graph *g, const char *path);
/* Containment child of parent (-1: the root itself) named by the len bytes
 * at name, or -ENOENT. Constant time on a finalized graph (a name index that
 * graph_finalize() builds), a walk of the children before. With duplicate
 * sibling names, the first added wins. */
int graph_find_child(const struct graph *g, int parent, const char *name, size_t len);

/* Status of a vertex (applies to its whole subtree for matching). */
int graph_set_status(struct graph *g, int v, enum graph_status st);
/* true if v and all its ancestors are GRAPH_UP. */
bool graph_is_up(const struct graph *g, int v);

/* Holds. graph_hold_add() appends; graph_hold_remove_job() drops every hold
 * of job on v. The matcher (match.c) is the only caller that adds holds. */
int graph_hold_add(struct graph *g, int v, const struct graph_hold *h);
void graph_hold_remove_job(struct graph *g, int v, uint64_t job);
void graph_hold_set_end(struct graph *g, int v, uint64_t job, int64_t end);

#endif
