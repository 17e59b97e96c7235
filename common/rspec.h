/* rspec.h - the general RFC 14 jobspec: any resource types, nesting, slots,
 * exclusive flags, counts with ranges.  Used by the graph scheduler.
 *
 * jobspec.h validates the narrow RFC 25 V1 shape the executor runs; this
 * module accepts everything RFC 14 can say (as flux-core's Jobspec class and
 * Fluxion's libjobspec do) and hands back the resource tree as plain structs,
 * so a matcher walks C arrays instead of JSON.
 *
 * Rules beyond the RFC 14 schema, each taken from flux-core or Fluxion:
 *   - version is an integer from 1 to 9999 (Fluxion's range; flux-core and
 *     Fluxion test suites use 999 and 9999 for "general, not V1").
 *   - attributes may be null ("attributes:" with nothing after it, as Fluxion
 *     reads it) except in version 1, where flux-core requires a mapping.
 *   - a fixed integer count may be 0 for types other than node, slot and core
 *     (flux-core allows "gpu: 0"); every other count is >= 1.
 *   - a count mapping needs min; max alone steps by +1 (flux-core); operator
 *     and operand come as a pair and need max (Fluxion, RFC 14 schema).
 *   - count may also be a string: an RFC 22 idset ("4,9,16,25") or an RFC 45
 *     range ("2+", "2-32:2:*"), decoded into the same struct.
 *   - resource vertices, count mappings, tasks and the top level reject
 *     unknown keys; attributes.system accepts any key but checks the types of
 *     the ones RFC 14 defines (duration, cwd, environment, dependencies,
 *     constraints, ...).
 *   - slot labels are unique in a jobspec; a slot must have "with".
 * Not checked here: that tasks[].slot names an existing label, or that the
 * resource types exist (the scheduler answers that against its graph).
 */
#ifndef FLUXFS_RSPEC_H
#define FLUXFS_RSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "common/errmsg.h"

/* Resource nesting deeper than this is rejected (real graphs need < 10). */
#define RSPEC_MAX_DEPTH 32

/* One run of acceptable counts, lo..hi inclusive. */
struct rspec_span {
    int64_t lo, hi;
};

/* The acceptable counts of one resource vertex.
 * A fixed count N is min = max = N, '+', 1.  A count mapping or RFC 45 range
 * without max has max = INT64_MAX.  An RFC 22 idset with gaps also sets
 * set/nset (min/max are then its first and last values); iterate with
 * rspec_count_next() rather than reading the fields when in doubt. */
struct rspec_count {
    int64_t min;        /* >= 1 (0 only for a fixed count of an optional type) */
    int64_t max;        /* == min for a fixed count; INT64_MAX when unbounded */
    char op;            /* '+', '*' or '^' (default '+') */
    int64_t operand;    /* default 1; >= 2 for '*' and '^' */
    int nset;           /* > 0: only counts inside these spans are acceptable */
    struct rspec_span *set;     /* ascending, disjoint, not adjacent (owned) */
};

struct rspec_res {
    char *type;                 /* "slot" for a slot */
    struct rspec_count count;
    char *label;                /* slots only (other vertices may carry one too) */
    bool exclusive;             /* as written (false when absent) */
    bool exclusive_set;         /* the key was present */
    char *unit;                 /* or NULL */
    char *id;                   /* optional "id" key, or NULL */
    int nwith;
    struct rspec_res *with;     /* children, array of nwith */
};

/* A validated jobspec.  Read-only for users; everything is owned by the
 * struct and lives until rspec_destroy().  Task fields describe tasks[0];
 * the others stay in json. */
struct rspec {
    json_t *json;               /* whole jobspec (owned) */
    int64_t version;
    int nres;
    struct rspec_res *res;      /* top-level resources */
    double duration;            /* attributes.system.duration, 0 = unset */
    const char *queue;          /* attributes.system.queue or NULL (borrowed from json) */
    json_t *constraints;        /* attributes.system.constraints (RFC 31) or NULL (borrowed),
                                 * or, with a queue's nodes, queue_constraints */
    json_t *queue_constraints;  /* the job's and its queue's, {"and": [...]} (owned), or NULL */
    /* tasks: first task's command argv (NULL-terminated, owned), slot label, per_slot/total */
    char **argv; int argc; char *task_slot; int64_t per_slot; int64_t total;
    char *per_resource_type;    /* tasks[0].count.per_resource.type or NULL */
    int64_t per_resource;       /* tasks[0].count.per_resource.count, or 0 */
    int ntaskspecs;             /* entries in tasks[] (>= 1) */
    uint64_t shape;             /* hash of the parsed resources: made by the parse,
                                 * which may be off the loop (the scheduler
                                 * groups jobs by it, sched/qmgr.c) */
};

/* Fold o's value into hash h (RSPEC_HASH_INIT to start): equal JSON
 * values, equal hashes, whatever their keys' order. */
#define RSPEC_HASH_INIT 0xcbf29ce484222325ull
uint64_t rspec_hash(uint64_t h, const json_t *o);

/* Parse YAML or JSON text as a general RFC 14 jobspec. 0 or -EINVAL/-ENOMEM/-E2BIG with a precise
 * reason in err, e.g. "resources[0].with[1].count.operator: must be one of +, *, ^".
 * Syntax errors carry a line and column as in jobspec_load_yaml(); texts over
 * JOBSPEC_MAX_SIZE bytes are -E2BIG.  *out is set only on success. */
int rspec_parse(const char *buf, size_t len, struct rspec **out, struct errmsg *err);

/* Validate an already-loaded jobspec.  js is borrowed; on success the result
 * holds its own reference.  Same returns as rspec_parse(). */
int rspec_from_json(json_t *js /* borrowed, incref'd */, struct rspec **out, struct errmsg *err);

/* NULL-safe. */
void rspec_destroy(struct rspec *rs);

/* Next count value in a range (min, then min op operand, ...), or -1 past max.
 * Precisely: the smallest acceptable count greater than cur, so
 * rspec_count_next(c, -1) is the first one and any cur may be passed. */
int64_t rspec_count_next(const struct rspec_count *c, int64_t cur);

/* The largest acceptable count <= avail, or -1 if none (avail < min).
 * For "give me as many as you can" (RFC 14: a count with only min asks for
 * the most available, subject to the operator). */
int64_t rspec_count_best(const struct rspec_count *c, int64_t avail);

/* v is an integer too large for a JSON integer (over INT64_MAX): the YAML
 * loader keeps such a plain scalar as text, and a count that is text must
 * be reported as too large rather than as not a number. */
bool rspec_is_huge_integer(json_t *v);

/* attributes.system.dependencies (RFC 26), as both validators check it:
 * 0 or -EINVAL with the path in err. */
int rspec_check_dependencies(json_t *deps, struct errmsg *err);

/* The first vertex, depth first, whose label is label, or NULL. */
const struct rspec_res *rspec_find_label(const struct rspec *rs, const char *label);

#endif
