/* ev.c - a small epoll event loop (see ev.h). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "common/ev.h"

#define EV_MAX_EVENTS 128

struct ev_fdw {
    int mask;           /* 0 = not watched */
    uint32_t gen;       /* tags epoll events so a stale one is recognised */
    ev_fd_f cb;
    void *arg;
};

/* Timers live in a slot table so an id can name its slot: the low 32 bits
 * are the slot, the high 32 bits its generation.  Cancel finds the slot in
 * O(1) and, through the slot's heap index, removes it in O(log n). */
struct ev_timer {
    double deadline;    /* CLOCK_MONOTONIC seconds */
    uint32_t gen;       /* bumped on every reuse; 0 never names a live timer */
    size_t heap_index;  /* position in loop->heap while pending */
    uint64_t iter;      /* iteration that added it, so it cannot fire in it */
    bool pending;
    ev_timer_f cb;
    void *arg;
    uint32_t next_free;
};

struct ev_loop {
    int epfd;
    struct ev_fdw *fds;
    int fds_cap;
    uint32_t fd_gen;

    struct ev_timer *timers;   /* slot table */
    uint32_t timers_cap;
    uint32_t free_head;        /* UINT32_MAX = none */
    uint32_t *heap;            /* slots, min-heap on deadline */
    size_t heap_len;

    uint64_t iter;
    double now;                /* wall clock, sampled once per iteration */
    double mono;               /* monotonic clock at the same moment */
    struct epoll_event events[EV_MAX_EVENTS];
};

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sample_clocks(struct ev_loop *loop)
{
    loop->now = clock_seconds(CLOCK_REALTIME);
    loop->mono = clock_seconds(CLOCK_MONOTONIC);
}

struct ev_loop *ev_create(void)
{
    struct ev_loop *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return NULL;
    loop->free_head = UINT32_MAX;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        goto error;
    sample_clocks(loop);
    return loop;
error:
    ev_destroy(loop);
    return NULL;
}

void ev_destroy(struct ev_loop *loop)
{
    if (!loop)
        return;
    if (loop->epfd >= 0)
        close(loop->epfd);
    free(loop->fds);
    free(loop->timers);
    free(loop->heap);
    free(loop);
}

static int fds_reserve(struct ev_loop *loop, int fd)
{
    if (fd < loop->fds_cap)
        return 0;
    int cap = loop->fds_cap ? loop->fds_cap : 64;
    while (cap <= fd)
        cap *= 2;
    struct ev_fdw *n = realloc(loop->fds, cap * sizeof(*n));
    if (!n)
        return -ENOMEM;
    memset(n + loop->fds_cap, 0, (cap - loop->fds_cap) * sizeof(*n));
    loop->fds = n;
    loop->fds_cap = cap;
    return 0;
}

static uint32_t to_epoll(int events)
{
    return (events & EV_READ ? EPOLLIN : 0) | (events & EV_WRITE ? EPOLLOUT : 0)
           | (events & EV_PRI ? EPOLLPRI : 0);
}

static int epoll_set(struct ev_loop *loop, int op, int fd)
{
    struct epoll_event ev = {
        .events = to_epoll(loop->fds[fd].mask),
        .data.u64 = (uint64_t)loop->fds[fd].gen << 32 | (uint32_t)fd,
    };
    if (epoll_ctl(loop->epfd, op, fd, &ev) < 0)
        return -errno;
    return 0;
}

int ev_fd_add(struct ev_loop *loop, int fd, int events, ev_fd_f cb, void *arg)
{
    if (fd < 0 || !cb || !(events & (EV_READ | EV_WRITE | EV_PRI)))
        return -EINVAL;
    int rc = fds_reserve(loop, fd);
    if (rc < 0)
        return rc;
    struct ev_fdw *w = &loop->fds[fd];
    if (w->mask)
        return -EEXIST;
    *w = (struct ev_fdw){ .mask = events & (EV_READ | EV_WRITE | EV_PRI),
                          .gen = ++loop->fd_gen, .cb = cb, .arg = arg };
    rc = epoll_set(loop, EPOLL_CTL_ADD, fd);
    if (rc < 0)
        w->mask = 0;
    return rc;
}

int ev_fd_mod(struct ev_loop *loop, int fd, int events)
{
    if (fd < 0 || fd >= loop->fds_cap || !loop->fds[fd].mask)
        return -ENOENT;
    if (!(events & (EV_READ | EV_WRITE | EV_PRI)))
        return -EINVAL;
    struct ev_fdw *w = &loop->fds[fd];
    int old = w->mask;
    w->mask = events & (EV_READ | EV_WRITE | EV_PRI);
    int rc = epoll_set(loop, EPOLL_CTL_MOD, fd);
    if (rc < 0)
        w->mask = old;
    return rc;
}

int ev_fd_del(struct ev_loop *loop, int fd)
{
    if (fd < 0 || fd >= loop->fds_cap || !loop->fds[fd].mask)
        return -ENOENT;
    /* Clearing the mask makes events already fetched for fd in this batch
     * stale; a later re-add gets a new generation, so they stay stale. */
    loop->fds[fd].mask = 0;
    /* EBADF means the caller closed fd first; the kernel dropped it then. */
    if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF)
        return -errno;
    return 0;
}

static bool heap_less(const struct ev_loop *loop, size_t a, size_t b)
{
    return loop->timers[loop->heap[a]].deadline < loop->timers[loop->heap[b]].deadline;
}

static void heap_swap(struct ev_loop *loop, size_t a, size_t b)
{
    uint32_t t = loop->heap[a];
    loop->heap[a] = loop->heap[b];
    loop->heap[b] = t;
    loop->timers[loop->heap[a]].heap_index = a;
    loop->timers[loop->heap[b]].heap_index = b;
}

static void heap_up(struct ev_loop *loop, size_t i)
{
    while (i > 0 && heap_less(loop, i, (i - 1) / 2)) {
        heap_swap(loop, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(struct ev_loop *loop, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < loop->heap_len && heap_less(loop, l, m))
            m = l;
        if (r < loop->heap_len && heap_less(loop, r, m))
            m = r;
        if (m == i)
            return;
        heap_swap(loop, i, m);
        i = m;
    }
}

/* Take slot out of the heap and put it on the free list. */
static void timer_remove(struct ev_loop *loop, uint32_t slot)
{
    struct ev_timer *t = &loop->timers[slot];
    size_t i = t->heap_index;
    size_t last = --loop->heap_len;
    if (i != last) {
        heap_swap(loop, i, last);
        heap_down(loop, i);
        heap_up(loop, i);
    }
    t->pending = false;
    t->next_free = loop->free_head;
    loop->free_head = slot;
}

static int timers_grow(struct ev_loop *loop)
{
    uint32_t cap = loop->timers_cap ? loop->timers_cap * 2 : 16;
    if (cap <= loop->timers_cap || cap == UINT32_MAX)
        return -ENOMEM;
    struct ev_timer *t = realloc(loop->timers, cap * sizeof(*t));
    if (!t)
        return -ENOMEM;
    loop->timers = t;
    uint32_t *h = realloc(loop->heap, cap * sizeof(*h));
    if (!h)
        return -ENOMEM;
    loop->heap = h;
    for (uint32_t s = cap; s-- > loop->timers_cap;) {
        t[s] = (struct ev_timer){ .next_free = loop->free_head };
        loop->free_head = s;
    }
    loop->timers_cap = cap;
    return 0;
}

uint64_t ev_timer_add(struct ev_loop *loop, double delay, ev_timer_f cb, void *arg)
{
    if (loop->free_head == UINT32_MAX && timers_grow(loop) < 0)
        return 0;
    uint32_t slot = loop->free_head;
    struct ev_timer *t = &loop->timers[slot];
    loop->free_head = t->next_free;
    if (++t->gen == 0)
        t->gen = 1;
    if (!(delay > 0))   /* also catches NaN */
        delay = 0;
    /* A fresh clock reading, so a timer added late in a long iteration
     * is not shortened by the time already spent in it. */
    t->deadline = clock_seconds(CLOCK_MONOTONIC) + delay;
    t->iter = loop->iter;
    t->pending = true;
    t->cb = cb;
    t->arg = arg;
    t->heap_index = loop->heap_len;
    loop->heap[loop->heap_len++] = slot;
    heap_up(loop, t->heap_index);
    return (uint64_t)t->gen << 32 | slot;
}

void ev_timer_cancel(struct ev_loop *loop, uint64_t timer_id)
{
    uint32_t slot = (uint32_t)timer_id;
    uint32_t gen = (uint32_t)(timer_id >> 32);
    if (gen == 0 || slot >= loop->timers_cap)
        return;
    struct ev_timer *t = &loop->timers[slot];
    if (t->pending && t->gen == gen)
        timer_remove(loop, slot);
}

double ev_now(struct ev_loop *loop)
{
    return loop->now;
}

static int wait_ms(struct ev_loop *loop, int max_wait_ms)
{
    if (loop->heap_len == 0)
        return max_wait_ms;
    double left = loop->timers[loop->heap[0]].deadline - clock_seconds(CLOCK_MONOTONIC);
    /* Round up: waking a little early would spin until the deadline. */
    double ms = left > 0 ? ceil(left * 1000) : 0;
    if (ms > INT32_MAX)
        ms = INT32_MAX;
    if (max_wait_ms >= 0 && max_wait_ms < ms)
        return max_wait_ms;
    return (int)ms;
}

static int dispatch_fds(struct ev_loop *loop, int n)
{
    int calls = 0;
    for (int i = 0; i < n; i++) {
        uint64_t tag = loop->events[i].data.u64;
        int fd = (int)(uint32_t)tag;
        uint32_t re = loop->events[i].events;
        /* An earlier callback may have removed (or replaced) this watcher. */
        if (fd >= loop->fds_cap)
            continue;
        struct ev_fdw *w = &loop->fds[fd];
        if (!w->mask || w->gen != (uint32_t)(tag >> 32))
            continue;
        /* Errors and hangups wake both directions, so the owner's read or
         * write sees the condition (as in ae.c). */
        int events = 0;
        if (re & (EPOLLIN | EPOLLERR | EPOLLHUP))
            events |= EV_READ;
        if (re & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            events |= EV_WRITE;
        if (re & (EPOLLPRI | EPOLLERR | EPOLLHUP))
            events |= EV_PRI;
        events &= w->mask;
        if (!events)
            continue;
        w->cb(loop, fd, events, w->arg);
        calls++;
    }
    return calls;
}

static int dispatch_timers(struct ev_loop *loop)
{
    int calls = 0;
    while (loop->heap_len > 0) {
        uint32_t slot = loop->heap[0];
        struct ev_timer *t = &loop->timers[slot];
        /* Timers added by this iteration's callbacks wait for the next one,
         * so a timer that re-arms itself with delay 0 cannot starve fds. */
        if (t->deadline > loop->mono || t->iter == loop->iter)
            break;
        uint64_t id = (uint64_t)t->gen << 32 | slot;
        ev_timer_f cb = t->cb;
        void *arg = t->arg;
        timer_remove(loop, slot);
        cb(loop, id, arg);
        calls++;
    }
    return calls;
}

int ev_run_once(struct ev_loop *loop, int max_wait_ms)
{
    int timeout = wait_ms(loop, max_wait_ms);
    int n = epoll_wait(loop->epfd, loop->events, EV_MAX_EVENTS, timeout);
    if (n < 0 && errno != EINTR)
        return -errno;
    loop->iter++;
    sample_clocks(loop);
    int calls = n > 0 ? dispatch_fds(loop, n) : 0;
    /* Due timers are judged against the clock read before fds ran. */
    return calls + dispatch_timers(loop);
}
