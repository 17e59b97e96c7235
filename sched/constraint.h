/* constraint.h - which nodes a job may use: RFC 31 constraints
 * (attributes.system.constraints), as `flux submit --requires` writes them.
 *
 *   {"properties": ["gpu", "^bigmem"]}   every property present ("^": absent)
 *   {"hostlist": ["node[1-4]", "big7"]}  the node's name in one of the lists
 *   {"ranks": ["0-3", 7]}                its rank in one of the idsets
 *   {"and": [C...]}, {"or": [C...]}, {"not": [C...]} (not: none of... the
 *   negation of them all holding)
 * The operators of one object must all hold. Host lists and idsets are
 * tested as written (hostlist_text_contains, idset_text_contains), never
 * expanded: a job's "n[0-99999999]" costs the broker what "n0" does.
 */
#ifndef FLUXFS_CONSTRAINT_H
#define FLUXFS_CONSTRAINT_H

#include <stdbool.h>
#include <jansson.h>
#include "common/errmsg.h"
#include "sched/graph.h"

struct constraint;

/* 0 and *out, or -EINVAL (an unknown operator, or a host list or idset
 * that does not parse, named in err) or -ENOMEM. */
int constraint_compile(json_t *c, struct constraint **out, struct errmsg *err);
void constraint_destroy(struct constraint *c);

/* Does the node vertex x (its name, rank and properties) satisfy c? */
bool constraint_match(const struct constraint *c, const struct graph_vertex *x);

#endif
