/* jobstate.h - the job state machine of Flux RFC 21 as a pure function:
 * a job's state and an event in, its next state and what the job manager
 * must do about it out. No I/O, no job, no time: the job manager posts the
 * eventlog entries and performs the actions; this file only decides.
 *
 *   NEW -submit-> DEPEND -depend-> PRIORITY -priority-> SCHED -alloc-> RUN
 *   RUN -finish-> CLEANUP -release-> INACTIVE
 *   a fatal exception: pending (DEPEND, PRIORITY, SCHED) -> INACTIVE at
 *   once; RUN stays RUN while its tasks are terminated (then finish);
 *   lost (the broker died while it ran): RUN, CLEANUP -> INACTIVE.
 */
#ifndef FLUXFS_JOBSTATE_H
#define FLUXFS_JOBSTATE_H

#include "fsd/job.h"

enum jobstate_event {
    JOBEV_SUBMIT,       /* accepted and validated */
    JOBEV_DEPEND,       /* dependencies satisfied */
    JOBEV_PRIORITY,     /* priority assigned (again, after an urgency change) */
    JOBEV_ALLOC,        /* resources allocated */
    JOBEV_EXCEPTION,    /* a fatal exception: cancel, timeout, dependency... */
    JOBEV_FINISH,       /* every task has exited */
    JOBEV_RELEASE,      /* resources given back */
    JOBEV_LOST,         /* it was running when the broker died */
    JOBEV_COUNT
};

/* What the job manager must do, as bits. */
enum jobstate_action {
    JOBACT_QUEUE = 1 << 0,      /* enter the scheduler's queue (a new job
                                 * before its commit: jobmgr.h) */
    JOBACT_DEQUEUE = 1 << 1,    /* leave it */
    JOBACT_START = 1 << 2,      /* start the tasks (once the allocation is durable) */
    JOBACT_TERMINATE = 1 << 3,  /* terminate the running tasks */
    JOBACT_RELEASE = 1 << 4,    /* give the resources back (nested instances first) */
    JOBACT_END = 1 << 5,        /* inactive: drop what only an active job needs */
};

struct jobstate_step {
    enum job_state state;       /* the next state (may be the same) */
    unsigned actions;           /* enum jobstate_action bits */
};

/* The step event ev takes from state s: 0, or -EINVAL when ev does not
 * apply in s (alloc of a running job, cancel of an inactive one...);
 * out is then untouched. */
int jobstate_next(enum job_state s, enum jobstate_event ev, struct jobstate_step *out);

const char *jobstate_event_name(enum jobstate_event ev);

#endif
