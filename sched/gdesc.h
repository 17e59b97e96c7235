/* gdesc.h - a resource graph from a one-line description, for synthetic
 * clusters in tests, benchmarks and demos:
 *
 *     4 racks x 18 nodes x 2 sockets x 18 cores + 2 gpus
 *     16384 nodes x (2 sockets x 18 cores) + 2 gpus + 4 memory:16GB
 *
 * Grammar (blanks separate tokens and are otherwise ignored):
 *     desc := seq
 *     seq  := term { '+' term }          siblings at one level
 *     term := item [ 'x' seq ]           each copy of item contains seq
 *           | '(' seq ')'                a group: its terms join this level
 *     item := COUNT TYPE [ ':' SIZE [UNIT] ]
 * so in "A x B x C + D", D is a sibling of C inside every B, and
 * "N nodes x (2 sockets x 18 cores) + 2 gpus" puts the gpus beside the
 * sockets. COUNT and SIZE are positive integers; TYPE is a word
 * ([A-Za-z_][A-Za-z0-9_-]*) whose one trailing 's' is dropped (racks -> rack,
 * gpus -> gpu); UNIT is the letters right after SIZE ("16GB": size 16, unit
 * GB). A group cannot itself be followed by 'x'.
 *
 * The root is an implicit "cluster0" unless the description is a single
 * "1 cluster" item. Vertices are named type + id. Ids count per type: across
 * the whole graph for vertices not inside a node (node0..node16383, rack0..),
 * and afresh within each node for those inside one (core0..core35 in every
 * node, as Fluxion numbers them). Nodes get their ordinal as rank, and
 * everything inside a node inherits it; vertices above nodes have rank -1.
 */
#ifndef FLUXFS_GDESC_H
#define FLUXFS_GDESC_H

#include "common/errmsg.h"
#include "sched/graph.h"

/* Build (and finalize) the graph a description names. On success *out owns
 * the new graph and 0 is returned. Otherwise *out is untouched and the
 * return is -EINVAL with err "column N: what was expected", -E2BIG (more
 * than 16M vertices) or -ENOMEM. */
int gdesc_parse(const char *text, struct graph **out, struct errmsg *err);

#endif
