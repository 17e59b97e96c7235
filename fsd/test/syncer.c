/* Unit tests for the syncer (fsd/syncer.h): tickets, one sync covering
 * every request made before it started, failures reported for the
 * tickets they covered, answers run by the syncer itself (syncer_after),
 * and a clean stop. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <unistd.h>

#include "common/tap.h"
#include "fsd/syncer.h"

struct fake {
    atomic_int started;     /* syncs begun */
    atomic_int calls;
    atomic_int fail;        /* the next sync fails with this (-errno), once */
    int delay_us;
};

static int fake_sync(void *arg)
{
    struct fake *f = arg;
    atomic_fetch_add(&f->started, 1);
    usleep((useconds_t)f->delay_us);
    atomic_fetch_add(&f->calls, 1);
    return atomic_exchange(&f->fail, 0);
}

/* What syncer_after ran: the order of the answers, each with its rc and
 * whether the sync it waited for was counted done when it ran. */
struct answered {
    struct syncer *s;
    atomic_int n;
    int order[8], rc[8];
    uint64_t ticket[8];
    bool done_first[8];
};

struct answer {
    struct answered *log;
    int id;
    uint64_t ticket;
};

static void answer(void *arg, int rc)
{
    struct answer *a = arg;
    int i = atomic_fetch_add(&a->log->n, 1);
    if (i < 8) {
        a->log->order[i] = a->id;
        a->log->rc[i] = rc;
        a->log->ticket[i] = a->ticket;
        a->log->done_first[i] = syncer_peek(a->log->s) >= a->ticket;
    }
}

/* Wait until n answers ran (or 2 s): done is counted before they run. */
static int wait_answers(struct answered *log, int n)
{
    for (int i = 0; i < 2000 && atomic_load(&log->n) < n; i++)
        usleep(1000);
    return atomic_load(&log->n);
}

/* Wait until sync number n has begun (or 2 s). */
static void wait_started(struct fake *f, int n)
{
    for (int i = 0; i < 2000 && atomic_load(&f->started) < n; i++)
        usleep(1000);
}

/* Wait until ticket t is done (or 2 s). */
static uint64_t wait_done(struct syncer *s, uint64_t t, uint64_t *failed, int *rc)
{
    uint64_t done = 0;
    for (int i = 0; i < 200 && done < t; i++) {
        struct pollfd p = { .fd = syncer_fd(s), .events = POLLIN };
        poll(&p, 1, 10);
        done = syncer_done(s, failed, rc);
    }
    return done;
}

int main(void)
{
    struct fake f = { .delay_us = 20000 };
    struct syncer *s = syncer_create(fake_sync, &f, "test-sync");
    uint64_t failed;
    int rc;
    ok(s != NULL, "a syncer starts");
    is((int)syncer_request(s), 1, "the first ticket is 1");
    /* while sync 1 runs (20 ms), three more requests: one sync covers them */
    usleep(5000);
    uint64_t t2 = syncer_request(s), t3 = syncer_request(s), t4 = syncer_request(s);
    ok(t2 == 2 && t3 == 3 && t4 == 4, "tickets count up");
    is((int)wait_done(s, 4, &failed, &rc), 4, "ticket 4 is done");
    ok(atomic_load(&f.calls) <= 2, "at most two syncs covered four requests (group commit)");
    is((int)failed, 0, "none failed");
    atomic_store(&f.fail, -EIO);
    f.delay_us = 0;
    uint64_t t5 = syncer_request(s);
    is((int)wait_done(s, t5, &failed, &rc), 5, "ticket 5 is done");
    ok(failed == 5 && rc == -EIO, "... and failed with EIO, reported for its ticket");
    uint64_t t6 = syncer_request(s);
    is((int)wait_done(s, t6, &failed, &rc), 6, "the next sync succeeds");
    is((int)failed, 5, "the failure stays with ticket 5 only");

    /* answers the syncer sends itself, the moment their sync ends */
    struct answered log = { .s = s };
    struct answer a[5];
    f.delay_us = 20000;
    int began = atomic_load(&f.started);
    uint64_t t7 = syncer_request(s);
    a[0] = (struct answer){ &log, 0, t7 };
    is(syncer_after(s, t7, answer, &a[0]), 0, "an answer waits for its sync");
    wait_started(&f, began + 1);   /* sync 7 runs (20 ms): 8 waits for the next */
    uint64_t t8 = syncer_request(s);
    a[1] = (struct answer){ &log, 1, t8 };
    a[2] = (struct answer){ &log, 2, t7 };   /* an older ticket, queued later */
    ok(syncer_after(s, t8, answer, &a[1]) == 0 && syncer_after(s, t7, answer, &a[2]) == 0,
       "... as do one for the next sync and a later one for the running sync");
    is((int)wait_done(s, t8, &failed, &rc), (int)t8, "both syncs end");
    is(wait_answers(&log, 3), 3, "three answers ran");
    ok(log.order[0] == 0 && log.order[1] == 2 && log.order[2] == 1,
       "the running sync's answers first, in order, then the next sync's");
    ok(log.rc[0] == 0 && log.rc[1] == 0 && log.rc[2] == 0, "... each with rc 0");
    ok(log.done_first[0] && log.done_first[1] && log.done_first[2],
       "each ran with its sync already counted done (syncer_peek)");
    is((int)syncer_peek(s), (int)t8, "syncer_peek says the last sync done");
    a[3] = (struct answer){ &log, 3, t8 };
    is(syncer_after(s, t8, answer, &a[3]), 1, "an answer for an ended sync is the caller's");
    atomic_store(&f.fail, -EIO);
    f.delay_us = 0;
    uint64_t t9 = syncer_request(s);
    a[4] = (struct answer){ &log, 4, t9 };
    syncer_after(s, t9, answer, &a[4]);
    wait_done(s, t9, &failed, &rc);
    ok(wait_answers(&log, 4) == 4 && log.order[3] == 4 && log.rc[3] == -EIO,
       "a failed sync's answers get its error");

    /* per sync, not "up to the last failure": failed, ok, failed */
    uint64_t t10 = syncer_request(s);
    wait_done(s, t10, &failed, &rc);
    atomic_store(&f.fail, -ENOSPC);
    uint64_t t11 = syncer_request(s);
    wait_done(s, t11, &failed, &rc);
    ok(syncer_result(s, t9) == -EIO && syncer_result(s, t10) == 0
       && syncer_result(s, t11) == -ENOSPC && syncer_result(s, t8) == 0
       && syncer_result(s, 5) == -EIO,
       "syncer_result: each ticket gets what its own sync ended with");
    for (int i = 0; i < SYNCER_FAILS; i++) {
        atomic_store(&f.fail, -EIO);
        wait_done(s, syncer_request(s), &failed, &rc);
    }
    ok(syncer_result(s, t10) == -EIO && syncer_result(s, syncer_peek(s)) == -EIO,
       "... and once a failure is forgotten, what it may have covered counts as failed");
    uint64_t t12 = syncer_request(s);
    wait_done(s, t12, &failed, &rc);
    is(syncer_result(s, t12), 0, "... while a later sync that succeeded is durable");

    f.delay_us = 20000;
    int before = atomic_load(&f.calls);
    syncer_request(s);
    syncer_destroy(s);   /* waits for the sync in progress, then stops */
    is(atomic_load(&f.calls), before + 1, "destroy waits for the requested sync");
    syncer_destroy(NULL);
    ok(1, "destroy of NULL is fine");
    return done_testing();
}
