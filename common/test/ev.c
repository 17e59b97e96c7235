/* test/ev.c - unit tests for the epoll event loop. */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "common/ev.h"
#include "common/tap.h"

struct rec {
    int calls;
    int last_fd;
    int last_events;
    int del_fd;              /* fd to remove from inside the callback, or -1 */
    int order[16];
    int norder;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fd_cb(struct ev_loop *loop, int fd, int events, void *arg)
{
    struct rec *r = arg;
    r->calls++;
    r->last_fd = fd;
    r->last_events = events;
    if (r->del_fd >= 0)
        ev_fd_del(loop, r->del_fd);
}

static void timer_cb(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct rec *r = arg;
    r->calls++;
}

struct tagged {
    struct rec *r;
    int tag;
};

static void tag_cb(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct tagged *t = arg;
    t->r->calls++;
    if (t->r->norder < 16)
        t->r->order[t->r->norder++] = t->tag;
}

static void rearm_cb(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct rec *r = arg;
    r->calls++;
    ev_timer_add(loop, 0, rearm_cb, r);
}

static void run_until(struct ev_loop *loop, const int *flag, int want, double secs)
{
    double end = mono() + secs;
    while (*flag < want && mono() < end)
        ev_run_once(loop, 50);
}

static void test_fds(void)
{
    struct ev_loop *loop = ev_create();
    ok(loop != NULL, "ev_create works");
    int p[2];
    ok(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0, "pipe");
    struct rec r = { .del_fd = -1 };

    is(ev_fd_add(loop, p[0], EV_READ, fd_cb, &r), 0, "ev_fd_add read end");
    is(ev_fd_add(loop, p[0], EV_READ, fd_cb, &r), -EEXIST, "second watcher is -EEXIST");
    is(ev_fd_add(loop, -1, EV_READ, fd_cb, &r), -EINVAL, "negative fd is -EINVAL");
    is(ev_fd_mod(loop, 999, EV_READ), -ENOENT, "mod of unwatched fd is -ENOENT");
    is(ev_fd_del(loop, 999), -ENOENT, "del of unwatched fd is -ENOENT");

    is(ev_run_once(loop, 0), 0, "nothing ready: no callbacks");
    ok(write(p[1], "x", 1) == 1, "write");
    is(ev_run_once(loop, 1000), 1, "readable: one callback");
    is(r.last_fd, p[0], "callback got the fd");
    is(r.last_events, EV_READ, "callback got EV_READ");

    /* Watch the write end for writability too. */
    struct rec w = { .del_fd = -1 };
    is(ev_fd_add(loop, p[1], EV_READ, fd_cb, &w), 0, "watch write end for read");
    is(ev_fd_mod(loop, p[1], EV_WRITE), 0, "switch write end to EV_WRITE");
    r.calls = 0;
    is(ev_run_once(loop, 1000), 2, "both ends ready");
    is(w.last_events, EV_WRITE, "write end reported EV_WRITE");

    /* Delete from inside own callback. */
    r.calls = 0;
    r.del_fd = p[0];
    is(ev_fd_del(loop, p[1]), 0, "stop watching write end");
    ev_run_once(loop, 1000);
    is(r.calls, 1, "self-deleting callback ran once");
    is(ev_run_once(loop, 0), 0, "deleted watcher is not called again");
    is(ev_fd_del(loop, p[0]), -ENOENT, "already deleted");

    /* Re-add after delete works (the generation changes). */
    r.del_fd = -1;
    r.calls = 0;
    is(ev_fd_add(loop, p[0], EV_READ, fd_cb, &r), 0, "re-add after delete");
    is(ev_run_once(loop, 1000), 1, "re-added watcher fires");
    ev_fd_del(loop, p[0]);

    close(p[0]);
    close(p[1]);
    ev_destroy(loop);
}

/* Two fds ready in one batch: whichever runs first deletes the other,
 * which then must not be called. */
static void test_del_other(void)
{
    struct ev_loop *loop = ev_create();
    int a[2], b[2];
    ok(pipe2(a, O_CLOEXEC) == 0 && pipe2(b, O_CLOEXEC) == 0, "pipes");
    struct rec ra = { .del_fd = b[0] }, rb = { .del_fd = a[0] };
    ev_fd_add(loop, a[0], EV_READ, fd_cb, &ra);
    ev_fd_add(loop, b[0], EV_READ, fd_cb, &rb);
    ok(write(a[1], "x", 1) == 1 && write(b[1], "y", 1) == 1, "both readable");
    is(ev_run_once(loop, 1000), 1, "only one callback in the batch");
    is(ra.calls + rb.calls, 1, "the other fd was skipped");
    struct rec *gone = ra.calls ? &rb : &ra;
    is(ev_run_once(loop, 0), 1, "the survivor is still watched");
    is(gone->calls, 0, "the deleted watcher never ran");
    close(a[0]); close(a[1]); close(b[0]); close(b[1]);
    ev_destroy(loop);
}

/* Hangup on a pipe whose writer closed reports EV_READ. */
static void test_hup(void)
{
    struct ev_loop *loop = ev_create();
    int p[2];
    ok(pipe2(p, O_CLOEXEC) == 0, "pipe");
    struct rec r = { .del_fd = -1 };
    ev_fd_add(loop, p[0], EV_READ, fd_cb, &r);
    close(p[1]);
    is(ev_run_once(loop, 1000), 1, "hangup wakes the reader");
    is(r.last_events, EV_READ, "hangup reported as EV_READ");
    ev_fd_del(loop, p[0]);
    close(p[0]);
    ev_destroy(loop);
}

static void test_timers(void)
{
    struct ev_loop *loop = ev_create();
    struct rec r = { 0 };
    struct tagged t[5];
    double delays[5] = { 0.05, 0.01, 0.04, 0.02, 0.03 };
    for (int i = 0; i < 5; i++) {
        t[i] = (struct tagged){ &r, i };
        ok(ev_timer_add(loop, delays[i], tag_cb, &t[i]) > 0, "timer %d added", i);
    }
    run_until(loop, &r.calls, 5, 2.0);
    is(r.calls, 5, "all five timers fired");
    int want[5] = { 1, 3, 4, 2, 0 };
    int inorder = r.norder == 5;
    for (int i = 0; i < 5 && inorder; i++)
        inorder = r.order[i] == want[i];
    ok(inorder, "timers fired in deadline order");

    /* Cancel */
    struct rec c = { 0 };
    double start = mono();      /* before the add: a lower bound under any load */
    uint64_t id1 = ev_timer_add(loop, 0.01, timer_cb, &c);
    uint64_t id2 = ev_timer_add(loop, 0.02, timer_cb, &c);
    ok(id1 && id2 && id1 != id2, "distinct ids");
    ev_timer_cancel(loop, id1);
    run_until(loop, &c.calls, 1, 2.0);
    ev_run_once(loop, 50);
    is(c.calls, 1, "cancelled timer did not fire");
    ok(mono() - start >= 0.02, "remaining timer waited its delay");
    ev_timer_cancel(loop, id2);   /* already fired: no-op */
    ev_timer_cancel(loop, 0);     /* never valid */
    ev_timer_cancel(loop, 12345678901ULL);

    /* A stale id must not cancel the timer that reused its slot. */
    uint64_t id3 = ev_timer_add(loop, 0.01, timer_cb, &c);
    ok(id3 != id1 && id3 != id2, "reused slot gets a new id");
    ev_timer_cancel(loop, id1);
    run_until(loop, &c.calls, 2, 2.0);
    is(c.calls, 2, "stale cancel left the new timer alone");

    /* A timer re-armed with delay 0 from its callback runs once per
     * iteration, not forever within one. */
    struct rec z = { 0 };
    ev_timer_add(loop, 0, rearm_cb, &z);
    ev_run_once(loop, 100);
    is(z.calls, 1, "zero-delay re-arm fires once per iteration");
    ev_run_once(loop, 100);
    is(z.calls, 2, "and again on the next");

    /* Many timers, cancel half, the rest fire. */
    struct rec m = { 0 };
    uint64_t ids[200];
    for (int i = 0; i < 200; i++)
        ids[i] = ev_timer_add(loop, (i % 17) * 0.001, timer_cb, &m);
    for (int i = 0; i < 200; i += 2)
        ev_timer_cancel(loop, ids[i]);
    run_until(loop, &m.calls, 100, 2.0);
    ev_run_once(loop, 30);
    is(m.calls, 100, "100 of 200 timers fired after cancelling half");

    ev_destroy(loop);   /* with the re-arming timer still pending */
}

static void test_now(void)
{
    struct ev_loop *loop = ev_create();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double wall = ts.tv_sec + ts.tv_nsec * 1e-9;
    ok(ev_now(loop) > wall - 5 && ev_now(loop) < wall + 5, "ev_now is wall clock");
    double a = ev_now(loop);
    ok(ev_now(loop) == a, "ev_now is stable within an iteration");
    ev_run_once(loop, 20);
    ok(ev_now(loop) > a, "ev_now advances across iterations");
    ev_destroy(loop);
}

int main(void)
{
    plan(NO_PLAN);
    test_fds();
    test_del_other();
    test_hup();
    test_timers();
    test_now();
    return done_testing();
}
