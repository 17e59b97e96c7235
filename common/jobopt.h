/* jobopt.h - submission options shared by `fluxfs submit` and batch script
 * directives (`# flux: --requires ...`): each turns Flux's option text into
 * jobspec JSON, so the command line and a script's directives mean the same.
 * Errors: -EINVAL with a reason naming the option, e.g.
 *   "--signal: invalid 'FOO' (SIG@TIME: e.g. USR1@60, SIGTERM@5m, @2m, 10)"
 */
#ifndef FLUXFS_JOBOPT_H
#define FLUXFS_JOBOPT_H

#include <stdbool.h>
#include <jansson.h>
#include "common/errmsg.h"

/* A Flux Standard Duration (RFC 23): N[.N] with an optional unit ms, s, m,
 * h or d; a bare number is minutes when bare_minutes (as --time-limit),
 * else seconds. 0 or -EINVAL. */
int jobopt_fsd(const char *s, bool bare_minutes, double *secs);

/* -S KEY=VAL (KEY under system. unless it starts with system. or user.) or,
 * with opt, -o OPT[=VAL] (under system.shell.options.): VAL as JSON, else a
 * string; no VAL is 1. Set in attributes, making the objects on the way. */
int jobopt_set_attr(json_t *attributes, const char *spec, bool opt, struct errmsg *err);

/* --signal=[SIG][@TIME]: SIG a number or a name with or without "SIG"
 * (default SIGUSR1), TIME an FSD in seconds (default 60). */
int jobopt_signal(const char *arg, int *sig, double *timeleft, struct errmsg *err);

/* --requires=QUERY, RFC 35 without parentheses: blank-separated terms that
 * must all hold (a property, host:HOSTLIST, rank:IDSET, -TERM or not TERM
 * for the negation), "or" between them making alternatives. *out gets the
 * RFC 31 constraint object (attributes.system.constraints). A property
 * term "a,b" asks for both. Given several times, all must hold (the caller
 * joins the queries with blanks, or their results with "and"). */
int jobopt_requires(const char *query, json_t **out, struct errmsg *err);

#endif
