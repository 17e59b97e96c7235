/* depend.h - job dependencies (Flux RFC 26): a job waits in DEPEND until the
 * jobs it names have started or ended as its schemes require.
 *
 * Declared in the jobspec as attributes.system.dependencies, a list of
 * {"scheme": S, "value": JOBID}:
 *   after       JOBID has started (fails if it ends without starting)
 *   afterany    JOBID has ended
 *   afterok     JOBID has ended with COMPLETED 0 (fails otherwise)
 *   afternotok  JOBID has ended any other way (fails if it completed)
 *   begin-time  the time (seconds since the epoch, a number) has come, as
 *               Flux's --begin-time
 *   singleton   no other job of the same user and name is past DEPEND and
 *               not ended (Slurm's and Flux's singleton; its value is
 *               ignored): decided by the job manager, which counts them
 * Pure decisions over job records: no I/O.
 */
#ifndef FLUXFS_DEPEND_H
#define FLUXFS_DEPEND_H

#include <jansson.h>
#include "common/errmsg.h"
#include "fsd/job.h"

enum depend_status {
    DEPEND_WAIT = 0,      /* some dependency is not yet decided */
    DEPEND_READY = 1,     /* every dependency is satisfied */
    DEPEND_NEVER = -1,    /* some dependency can no longer be satisfied */
};

/* Resolve a job id spelled in a dependency (F58 or decimal). */
typedef struct job *(*depend_lookup_f)(void *arg, const char *idstr);

/* Validate the dependencies of a parsed jobspec (NULL or [] = none).
 * Returns the number of dependencies, or -EINVAL with err filled, e.g.
 * "attributes.system.dependencies[0].scheme: unknown scheme 'afterfoo'". */
int depend_validate(json_t *jobspec, depend_lookup_f lookup, void *arg, struct errmsg *err);

/* Does the jobspec ask for singleton? */
bool depend_singleton(json_t *jobspec);

/* Evaluate them at time now (singleton aside); on DEPEND_NEVER, err says which and why. A
 * begin-time not reached yet is DEPEND_WAIT, and *wake (if not NULL) gets
 * the earliest such time (unchanged when there is none). */
enum depend_status depend_check(json_t *jobspec, depend_lookup_f lookup, void *arg,
                                double now, double *wake, struct errmsg *err);

#endif
