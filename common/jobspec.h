/* jobspec.h - parse and validate Flux jobspecs (RFC 14 / RFC 25 version 1).
 *
 * Input is YAML or JSON (JSON is a subset of YAML; both go through libyaml).
 * jobspec_parse() validates as flux-core's V1 validator does (RFC 25) and
 * reduces the resource request to the shapes V1 allows, so the scheduler and
 * executor read plain fields instead of walking JSON.
 */
#ifndef FLUXFS_JOBSPEC_H
#define FLUXFS_JOBSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "common/errmsg.h"
#include "common/rspec.h"

/* Largest jobspec accepted, in bytes (documented in doc/tree.md). */
#define JOBSPEC_MAX_SIZE (1024 * 1024)

/* The environment of a JSON jobspec, read apart from the rest by
 * jsonenv_take(): "NAME=value" strings in the text's order (one
 * allocation: free(envv)), and where the object was in the text. */
struct jobspec_env {
    char **envv;
    size_t size;             /* envv's bytes, about */
    size_t off, span;        /* the object is text[off .. off + span) */
};

/* A validated V1 jobspec.  Read-only for users of this struct; owned by
 * whoever called jobspec_parse(), freed with jobspec_destroy().
 *
 * Resource shape (RFC 25): either  node[nnodes] > slot[nslots] > {core, gpu}
 * or                               slot[nslots] > {core, gpu}       (nnodes = 0)
 * With nnodes > 0, nslots is the slot count *per node*.
 */
struct jobspec {
    json_t *json;            /* the whole jobspec as parsed (owned) */
    int nnodes;              /* 0 = no node level */
    bool node_exclusive;     /* node level says exclusive: true */
    int nslots;              /* slots per node, or total when nnodes == 0 */
    int slot_cores;          /* cores in each slot, >= 1 */
    int slot_gpus;           /* gpus in each slot, >= 0 */
    char *slot_label;

    char **argv;             /* tasks[0].command, NULL-terminated (owned) */
    int argc;
    int per_slot;            /* tasks[0].count.per_slot, or 0 */
    int total;               /* tasks[0].count.total, or 0 */

    double duration;         /* attributes.system.duration in seconds, 0 = unlimited */
    const char *cwd;         /* attributes.system.cwd or NULL (borrowed from json) */
    const char *name;        /* attributes.system.job.name or NULL (borrowed) */
    const char *array_id;    /* attributes.system.array.id: a Slurm array's
                                element (borrowed), or NULL; its index, and
                                its array's %LIMIT (0 = none) */
    int array_index, array_limit;
    /* attributes.system.environment: from JSON text, as strings (env,
     * owned; whoever runs the job may take env.envv), and then not in
     * json; from YAML, the object in json (borrowed). */
    struct jobspec_env env;
    json_t *environment;
    bool environment_shed;   /* it was there, and was dropped to save memory */
    bool duration_from_queue; /* duration was its named queue's max-duration (the job set none) */
    bool label;              /* shell.options.output.*.label: "RANK: " lines */
    int signal_num;          /* shell.options.signal: send this (0: none) ... */
    double signal_timeleft;  /* ... this many seconds before the time limit */
    const char *out_path;    /* shell.options.output.stdout.path (type "file"):
                                the tasks' stdout goes there, a template with
                                {{id}}, {{name}}, {{user}}; NULL: the job's
                                stdout file (borrowed from json) */
    const char *err_path;    /* ... stderr; NULL with out_path: stderr too */
    const char *in_path;     /* shell.options.input.stdin.path (type "file"): the
                                tasks' stdin, a template too; NULL: /dev/null */

    /* The resource request in general RFC 14 form, for the graph scheduler
     * (both versions). A jobspec whose version is not 1 is validated by the
     * general rules (rspec.h) and the fields above are derived from it:
     * nnodes 0, nslots the slots it asks for (counts at their minimum),
     * slot_cores/slot_gpus the cores/gpus inside one slot. */
    struct rspec *rs;
    bool general;            /* version != 1 */
    int refs;                /* owners: jobspec_ref() adds one, _destroy drops one */
};

/* Parse buf[0..len) (YAML or JSON text) and validate it as RFC 25 V1
 * when it says version 1, else by the general RFC 14 rules.
 * Returns 0 and sets *out, or -EINVAL (invalid), -E2BIG (over JOBSPEC_MAX_SIZE)
 * or -ENOMEM, with a precise reason in err such as
 *   "tasks[0].command: must be a non-empty list"
 *   "line 3 column 5: mapping values are not allowed in this context"
 */
int jobspec_parse(const char *buf, size_t len, struct jobspec **out, struct errmsg *err);

/* The environment of JSON jobspec text, by jsonenv_take(): 0, or -ENOENT
 * (none, or not JSON), -EINVAL (the scanner does not vouch for it: let
 * jobspec_parse() have the whole text), -ENOMEM. */
int jobspec_env_take(const char *buf, size_t len, struct jobspec_env *env);
/* jobspec_parse() of text whose environment jobspec_env_take() already
 * took (taken, or NULL: as jobspec_parse): taken's envv becomes the
 * jobspec's, or is freed, whatever the outcome. */
int jobspec_parse_taken(const char *buf, size_t len, struct jobspec_env *taken,
                        struct jobspec **out, struct errmsg *err);
/* Texts a and b are the same but for their environments (both taken,
 * or parsed: only off and span are read):
 * one parsed jobspec serves both (the copies of `fluxfs submit --cc`,
 * which differ in FLUX_JOB_CC). */
bool jobspec_env_same_rest(const char *a, size_t alen, const struct jobspec_env *ea,
                           const char *b, size_t blen, const struct jobspec_env *eb);

/* Parse YAML/JSON text into a jansson value without any validation
 * (used by the general RFC 14 parser of the graph scheduler and by tools).
 * Returns NULL and fills err on a syntax error. Caller owns the result. */
json_t *jobspec_load_yaml(const char *buf, size_t len, struct errmsg *err);

/* Total number of tasks the jobspec asks for (per_slot * slots, or total). */
int jobspec_ntasks(const struct jobspec *js);

/* The job's name as flux jobs shows it: attributes.system.job.name, else
 * the base name of its first command, else NULL (both empty, or js NULL).
 * Borrowed from js. */
const char *jobspec_job_name(const struct jobspec *js);

/* The most tasks the jobspec can make an instance start: count.total, or
 * per_slot times its slots with every count at its maximum. A count with no
 * maximum (RFC 14 "as many as there are") and the slot total stop at
 * slot_limit: every slot holds resources of its own, so an instance of
 * slot_limit vertices never gives more. Saturates at INT64_MAX. *element is
 * set to the path of the count that says how many tasks
 * ("tasks[0].count.per_slot"). */
int64_t jobspec_max_tasks(const struct jobspec *js, int64_t slot_limit, const char **element);

/* Total slots across all nodes. */
int jobspec_total_slots(const struct jobspec *js);

void jobspec_destroy(struct jobspec *js);   /* drops one reference; NULL-safe */
/* Another owner of a parsed jobspec, which nobody may change from then on
 * (identical jobs of one bulk submission share one). Returns js. */
struct jobspec *jobspec_ref(struct jobspec *js);

/* Drop the environment (envv or environment) of a validated jobspec (a
 * copied environment is often most of a queued job's memory), setting
 * environment_shed; jobspec_load_environment() gets it back from the text. */
void jobspec_shed_environment(struct jobspec *js);
/* The attributes.system.environment object of jobspec text (new
 * reference), or NULL if it has none or the text does not parse. */
json_t *jobspec_load_environment(const char *buf, size_t len);

#endif
