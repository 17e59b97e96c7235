/* jgf.h - the resource graph in JSON Graph Format, as Fluxion reads and
 * writes it.
 *
 * {"graph": {"nodes": [{"id": "0", "metadata": {...}}, ...],
 *            "edges": [{"source": "0", "target": "1",
 *                       "metadata": {"subsystem": "containment"}}, ...]}}
 *
 * Node metadata: type (required), basename, name, id, uniq_id, rank, size,
 * unit, status (0 up, 1 down, 2 drained), exclusive (ignored: it describes an
 * allocation, not the resource), paths {subsystem: path}, properties
 * {key: string}. Missing fields default as in Fluxion: basename = type;
 * id = uniq_id, else the vertex id as a number, and for a "node" the
 * number that ends its name; size = 1; rank = -1. A missing name is the last
 * component of paths.containment, else basename followed by id.
 *
 * Edge metadata: {"subsystem": S} (Fluxion today) or {"name": {S: relation}}
 * (older Fluxion, which also wrote the reverse "in" edges); no metadata means
 * containment. Containment edges define the tree: the root is the one vertex
 * without a containment parent, and vertices are added in pre-order from it
 * (children in edge order), so every subtree is a contiguous index range. A
 * second containment parent becomes a graph edge of subsystem "containment".
 * A vertex with paths but no containment path and no containment edges lives
 * only in another subsystem: it is skipped, with its edges. Edges of other
 * subsystems become graph edges (relation from metadata "relation" or the
 * old "name" form, else "").
 */
#ifndef FLUXFS_JGF_H
#define FLUXFS_JGF_H

#include <jansson.h>
#include "common/errmsg.h"
#include "sched/graph.h"

/* Load a JGF file. On success *out owns a new finalized graph and 0 is
 * returned; otherwise -errno (-ENOENT..., -EINVAL for a bad document, -E2BIG
 * past 16M vertices, -ENOMEM) with err filled and *out untouched. */
int jgf_load(const char *path, struct graph **out, struct errmsg *err);

/* The same from a parsed document (borrowed, not modified). */
int jgf_load_json(json_t *jgf, struct graph **out, struct errmsg *err);

/* The graph as JGF: every vertex with its containment path, the containment
 * tree as "contains" edges in vertex order, then the other edges with their
 * subsystem and relation. Vertex ids are the graph's vertex indices. Holds
 * are not written. Returns a new reference, or NULL if out of memory or a
 * path is longer than 4 KiB. */
json_t *jgf_dump(const struct graph *g);

/* The same for the n vertices vs[] (ascending, each once) and the containment
 * edges among them, as Fluxion's JGF match writer: sizes[i] (if not NULL)
 * is the amount held of vs[i], excl[i] (if not NULL) whether exclusively. */
json_t *jgf_dump_set(const struct graph *g, const int *vs, const int64_t *sizes,
                     const bool *excl, int n);

#endif
