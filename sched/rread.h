/* rread.h - the resource graph an RFC 20 R document (version 1) describes.
 *
 *   cluster0 > node per rank, in rank order (name from the nodelist)
 *              > core<i>, gpu<i>  for the ids in R_lite children
 * R has no sockets or memory, so there are none. Without a nodelist, nodes
 * are named for this host ("host" for one rank, "host-<rank>" for several),
 * as the flat model does. A node's basename and id split its name at the
 * trailing digits (Fluxion's rv1exec reader); rank is the R_lite rank, and
 * its cores and gpus carry it too. execution.properties {name: rank idset}
 * become node properties (name, value ""). starttime, expiration and any
 * scheduling key are ignored.
 */
#ifndef FLUXFS_RREAD_H
#define FLUXFS_RREAD_H

#include <jansson.h>
#include "common/errmsg.h"
#include "sched/graph.h"

struct idset;

/* The nodes an R describes, parsed and checked once: the one reader of R
 * (rread_load_json, rgraph_create_R and the job shell's placement all
 * build on it). */
struct rread_node {
    int rank;                    /* R_lite rank */
    const char *name;            /* from the nodelist, or made from this host */
    const struct idset *cores;   /* never empty */
    const struct idset *gpus;    /* or NULL */
};
struct rread_r;

/* Parse R (borrowed; version 1, R_lite, nodelist). 0 with *out its nodes
 * in rank order, or -EINVAL ("R: R_lite[1].rank: ...") / -ENOMEM with err
 * filled. */
int rread_parse(json_t *R, struct rread_r **out, struct errmsg *err);
size_t rread_nnodes(const struct rread_r *r);
const struct rread_node *rread_node(const struct rread_r *r, size_t k);
/* NULL-safe. */
void rread_r_destroy(struct rread_r *r);

/* Build the graph of R (borrowed). On success *out owns a new finalized
 * graph and 0 is returned; otherwise -EINVAL with err ("R: R_lite[1].rank:
 * ...") or -ENOMEM, and *out untouched. */
int rread_load_json(json_t *R, struct graph **out, struct errmsg *err);
/* R's execution.properties {name: rank idset} onto the node vertices of g
 * (a graph made from R some other way) with those ranks. 0 or -errno. */
int rread_apply_properties(struct graph *g, json_t *R, struct errmsg *err);

/* The same from a file. */
int rread_load(const char *path, struct graph **out, struct errmsg *err);

#endif
