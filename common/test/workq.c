/* test/workq.c - unit tests for work done off the loop's thread. */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "common/ev.h"
#include "common/tap.h"
#include "common/workq.h"

struct item {
    int n;
    pthread_t ran_on;        /* fn's thread */
    bool blocked_all;        /* fn found every signal blocked */
    pthread_t done_on;       /* done's thread */
    int done_calls;
    bool canceled;
    int *order, *norder;     /* the order done was called in */
    int spin_ms;             /* fn's work */
};

static void work(void *arg)
{
    struct item *it = arg;
    sigset_t cur;
    it->ran_on = pthread_self();
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    it->blocked_all = sigismember(&cur, SIGTERM) && sigismember(&cur, SIGINT)
                      && sigismember(&cur, SIGCHLD);
    if (it->spin_ms)
        usleep(it->spin_ms * 1000);
}

static void done(void *arg, bool canceled)
{
    struct item *it = arg;
    it->done_on = pthread_self();
    it->done_calls++;
    it->canceled = canceled;
    it->order[(*it->norder)++] = it->n;
}

/* Runs the loop until every item's done was called, or 5 s. */
static bool run_until(struct ev_loop *loop, struct workq *q)
{
    for (int i = 0; i < 500 && workq_pending(q) > 0; i++)
        ev_run_once(loop, 10);
    return workq_pending(q) == 0;
}

int main(void)
{
    plan(NO_PLAN);
    struct ev_loop *loop = ev_create();
    struct workq *q = workq_create(loop, "test-workq");
    ok(q != NULL, "created");
    ok(workq_pending(q) == 0, "nothing pending at first");

    enum { N = 50 };
    struct item items[N];
    int order[N + 8], norder = 0;
    memset(items, 0, sizeof(items));
    for (int i = 0; i < N; i++) {
        items[i] = (struct item){ .n = i, .order = order, .norder = &norder,
                                  .spin_ms = i == 0 ? 50 : 0 };
        if (workq_push(q, work, done, &items[i]) < 0)
            break;
    }
    ok(workq_pending(q) == N, "%d pending once pushed", N);
    ok(norder == 0, "done is never called from within push");
    ok(run_until(loop, q), "every item done by the loop");
    bool in_order = norder == N, other = true, on_loop = true, once = true, blocked = true;
    for (int i = 0; i < N && i < norder; i++) {
        in_order &= order[i] == i;
        other &= !pthread_equal(items[i].ran_on, pthread_self());
        on_loop &= pthread_equal(items[i].done_on, pthread_self());
        once &= items[i].done_calls == 1 && !items[i].canceled;
        blocked &= items[i].blocked_all;
    }
    ok(in_order, "done in the order pushed (the first took 50 ms)");
    ok(other, "the work ran on another thread");
    ok(blocked, "... with the broker's signals blocked");
    ok(on_loop, "done ran on the loop's thread");
    ok(once, "each done once, not canceled");

    /* destroy with work in progress and more waiting: the one running
     * finishes, everything not done is done(canceled) */
    struct item slow = { .n = 100, .order = order, .norder = &norder, .spin_ms = 500 };
    struct item more[3];
    norder = 0;
    ok(workq_push(q, work, done, &slow) == 0, "a slow item pushed");
    for (int i = 0; i < 3; i++) {
        more[i] = (struct item){ .n = 101 + i, .order = order, .norder = &norder };
        workq_push(q, work, done, &more[i]);
    }
    usleep(50 * 1000);   /* the slow one has begun */
    workq_destroy(q);
    ok(norder == 4, "destroy: every pending item's done was called (%d)", norder);
    ok(slow.done_calls == 1 && slow.canceled, "... the one in progress, canceled");
    ok(more[0].done_calls == 1 && more[0].canceled && more[2].canceled,
       "... those never begun, canceled");
    ok(!more[0].ran_on, "... and those never begun never ran");
    ok(order[0] == 100 && order[1] == 101 && order[3] == 103, "... in the order pushed");

    /* a queue never pushed to starts no thread and destroys cleanly */
    q = workq_create(loop, "test-idle");
    ok(q != NULL, "an idle queue");
    workq_destroy(q);
    workq_destroy(NULL);
    ok(1, "destroyed (and NULL is safe)");
    ev_destroy(loop);
    done_testing();
}
