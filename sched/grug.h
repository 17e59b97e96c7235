/* grug.h - build a resource graph from a Fluxion GRUG recipe (GraphML).
 *
 * A GRUG ("generating resources using GraphML") file describes a cluster by
 * vertex *templates* and generation edges, not by its vertices:
 *   - the template with root=1 (subsystem containment) becomes the root;
 *   - an edge src->tgt with gen_method MULTIPLY makes multi_scale copies of
 *     tgt under every instance of src, depth first over the recipe, in the
 *     order the edges appear in the file;
 *   - ASSOCIATE_IN links every instance of src to every existing vertex of
 *     tgt's type; ASSOCIATE_BY_PATH_IN only to those whose containment
 *     ancestor as_tgt_uplvl levels up is src's ancestor as_src_uplvl up.
 *
 * Vertex ids (name = basename followed by id), for the i-th of n copies made
 * under the j-th instance of src (instances numbered in generation order):
 *   id_scope < 0   no id: the name is the basename alone;
 *   id_scope = 0   id_start + i * id_stride (restarts under every parent);
 *   id_scope = k   id_start + ((j mod W) * n + i) * id_stride, where W is the
 *                  product of the multi_scale of the k generation edges above
 *                  src: ids are unique within the ancestor k levels above the
 *                  parent (core ids run 0..35 across a node's two sockets with
 *                  socket2core id_scope 1); a k past the root makes them global.
 * Fluxion itself ignores id_stride when id_scope is 0; here it applies.
 *
 * Ranks: vertices of type "node" get their ordinal among node vertices in
 * generation order (node0 is rank 0); their descendants inherit it; vertices
 * above nodes have rank -1.
 *
 * Subsystems: the graph holds one containment tree, so
 *   - MULTIPLY edges of another subsystem (power capacity vertices) and roots
 *     of another subsystem (a power panel) make vertices that exist only in
 *     that subsystem: they are not created, but still count as instances so
 *     the rest of the recipe generates as in Fluxion;
 *   - ASSOCIATE edges between two created vertices become graph edges of the
 *     edge's e_subsystem and relation (one edge, source to target; the
 *     reverse rrelation is not kept). An ASSOCIATE edge in the containment
 *     subsystem gives a second containment parent: the tree keeps the first,
 *     the second is a graph edge with subsystem "containment".
 *
 * Keys are matched by attr.name, with the <default> of their <key> element,
 * then Fluxion's built-in defaults. Unknown keys are ignored.
 */
#ifndef FLUXFS_GRUG_H
#define FLUXFS_GRUG_H

#include <stddef.h>
#include "common/errmsg.h"
#include "sched/graph.h"

/* Read a recipe file and build its graph (finalized). On success *out owns
 * a new graph and 0 is returned; otherwise -EINVAL (bad recipe), -ENOENT or
 * another -errno (file), -E2BIG (more than 16M vertices) or -ENOMEM, with err
 * filled ("'<path>': line N: ...") and *out untouched. */
int grug_load(const char *path, struct graph **out, struct errmsg *err);

/* The same from a recipe in memory (len bytes). */
int grug_load_buffer(const char *buf, size_t len, struct graph **out,
                     struct errmsg *err);

#endif
