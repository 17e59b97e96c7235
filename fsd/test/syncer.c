/* Unit tests for the syncer (fsd/syncer.h): tickets, one sync covering
 * every request made before it started, failures reported for the
 * tickets they covered, and a clean stop. */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <unistd.h>

#include "common/tap.h"
#include "fsd/syncer.h"

struct fake {
    atomic_int calls;
    atomic_int fail;        /* the next sync fails with this (-errno), once */
    int delay_us;
};

static int fake_sync(void *arg)
{
    struct fake *f = arg;
    usleep((useconds_t)f->delay_us);
    atomic_fetch_add(&f->calls, 1);
    return atomic_exchange(&f->fail, 0);
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
    f.delay_us = 20000;
    int before = atomic_load(&f.calls);
    syncer_request(s);
    syncer_destroy(s);   /* waits for the sync in progress, then stops */
    is(atomic_load(&f.calls), before + 1, "destroy waits for the requested sync");
    syncer_destroy(NULL);
    ok(1, "destroy of NULL is fine");
    return done_testing();
}
