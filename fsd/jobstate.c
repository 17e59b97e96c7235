/* jobstate.c - RFC 21 transitions, as a table. */
#include <errno.h>
#include <stdbool.h>

#include "fsd/jobstate.h"

static bool pending(enum job_state s)
{
    return s == JOB_DEPEND || s == JOB_PRIORITY || s == JOB_SCHED;
}

int jobstate_next(enum job_state s, enum jobstate_event ev, struct jobstate_step *out)
{
    struct jobstate_step step = { .state = s, .actions = 0 };
    switch (ev) {
    case JOBEV_SUBMIT:
        if (s != JOB_NEW)
            return -EINVAL;
        step.state = JOB_DEPEND;
        break;
    case JOBEV_DEPEND:
        if (s != JOB_DEPEND)
            return -EINVAL;
        step.state = JOB_PRIORITY;
        break;
    case JOBEV_PRIORITY:
        /* a new urgency re-prioritizes a job already in SCHED */
        if (s != JOB_PRIORITY && s != JOB_SCHED)
            return -EINVAL;
        step.state = JOB_SCHED;
        step.actions = s == JOB_PRIORITY ? JOBACT_QUEUE : 0;
        break;
    case JOBEV_ALLOC:
        if (s != JOB_SCHED)
            return -EINVAL;
        step.state = JOB_RUN;
        step.actions = JOBACT_START;
        break;
    case JOBEV_EXCEPTION:
        if (s == JOB_RUN) {
            step.actions = JOBACT_TERMINATE;   /* it ends when its tasks do */
            break;
        }
        if (!pending(s))
            return -EINVAL;
        step.state = JOB_INACTIVE;
        step.actions = (s == JOB_SCHED ? JOBACT_DEQUEUE : 0) | JOBACT_END;
        break;
    case JOBEV_FINISH:
        if (s != JOB_RUN)
            return -EINVAL;
        step.state = JOB_CLEANUP;
        step.actions = JOBACT_RELEASE;
        break;
    case JOBEV_RELEASE:
        if (s != JOB_CLEANUP)
            return -EINVAL;
        step.state = JOB_INACTIVE;
        step.actions = JOBACT_END;
        break;
    case JOBEV_LOST:
        if (s != JOB_RUN && s != JOB_CLEANUP)
            return -EINVAL;
        step.state = JOB_INACTIVE;
        step.actions = JOBACT_END;
        break;
    default:
        return -EINVAL;
    }
    *out = step;
    return 0;
}

const char *jobstate_event_name(enum jobstate_event ev)
{
    static const char *names[JOBEV_COUNT] = {
        "submit", "depend", "priority", "alloc", "exception", "finish", "release", "lost",
    };
    return ev >= 0 && ev < JOBEV_COUNT ? names[ev] : "?";
}
