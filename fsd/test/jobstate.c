/* test/jobstate.c - every (state, event) pair of the RFC 21 machine: the
 * ones that apply, where they lead and what they ask for; and that the
 * others are refused. */
#include <errno.h>
#include <string.h>

#include "common/tap.h"
#include "fsd/jobstate.h"

struct row {
    enum job_state from;
    enum jobstate_event ev;
    enum job_state to;
    unsigned actions;
};

static const struct row table[] = {
    { JOB_NEW, JOBEV_SUBMIT, JOB_DEPEND, 0 },
    { JOB_DEPEND, JOBEV_DEPEND, JOB_PRIORITY, 0 },
    { JOB_PRIORITY, JOBEV_PRIORITY, JOB_SCHED, JOBACT_QUEUE },
    { JOB_SCHED, JOBEV_PRIORITY, JOB_SCHED, 0 },
    { JOB_SCHED, JOBEV_ALLOC, JOB_RUN, JOBACT_START },
    { JOB_DEPEND, JOBEV_EXCEPTION, JOB_INACTIVE, JOBACT_END },
    { JOB_PRIORITY, JOBEV_EXCEPTION, JOB_INACTIVE, JOBACT_END },
    { JOB_SCHED, JOBEV_EXCEPTION, JOB_INACTIVE, JOBACT_DEQUEUE | JOBACT_END },
    { JOB_RUN, JOBEV_EXCEPTION, JOB_RUN, JOBACT_TERMINATE },
    { JOB_RUN, JOBEV_FINISH, JOB_CLEANUP, JOBACT_RELEASE },
    { JOB_CLEANUP, JOBEV_RELEASE, JOB_INACTIVE, JOBACT_END },
    { JOB_RUN, JOBEV_LOST, JOB_INACTIVE, JOBACT_END },
    { JOB_CLEANUP, JOBEV_LOST, JOB_INACTIVE, JOBACT_END },
};
#define NROWS (sizeof(table) / sizeof(table[0]))

static const struct row *find(enum job_state s, enum jobstate_event ev)
{
    for (size_t i = 0; i < NROWS; i++)
        if (table[i].from == s && table[i].ev == ev)
            return &table[i];
    return NULL;
}

int main(void)
{
    int refused = 0;
    for (int s = JOB_NEW; s < JOB_NSTATES; s++) {
        for (int ev = 0; ev < JOBEV_COUNT; ev++) {
            struct jobstate_step step = { .state = JOB_NSTATES, .actions = 0xff };
            int rc = jobstate_next(s, ev, &step);
            const struct row *r = find(s, ev);
            if (!r) {
                refused += rc == -EINVAL && step.state == JOB_NSTATES;
                continue;
            }
            ok(rc == 0 && step.state == r->to && step.actions == r->actions,
               "%s in %s -> %s (actions %#x)", jobstate_event_name(ev), job_state_name(s),
               job_state_name(r->to), r->actions);
        }
    }
    is(refused, JOB_NSTATES * JOBEV_COUNT - (int)NROWS,
       "every other pair is refused with EINVAL, out untouched");
    struct jobstate_step step;
    ok(jobstate_next(JOB_INACTIVE, JOBEV_EXCEPTION, &step) == -EINVAL,
       "cancel of an inactive job: EINVAL");
    ok(jobstate_next(JOB_CLEANUP, JOBEV_EXCEPTION, &step) == -EINVAL,
       "cancel of a job in CLEANUP: EINVAL");
    ok(jobstate_next(JOB_RUN, (enum jobstate_event)JOBEV_COUNT, &step) == -EINVAL,
       "an unknown event: EINVAL");
    is_str(jobstate_event_name(JOBEV_ALLOC), "alloc", "events have names");
    done_testing();
    return 0;
}
