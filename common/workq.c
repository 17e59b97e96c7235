/* workq.c - long pure work off the loop's thread; see workq.h */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/workq.h"

struct witem {
    workq_fn fn;
    workq_done_fn done;
    void *arg;
    struct witem *next;
};

struct workq {
    struct ev_loop *loop;
    char name[16];
    int efd;
    size_t pending;          /* the loop's count: pushed, not yet done */
    bool started;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* under lock: waiting for the thread, and finished for the loop, each
     * in order (head and tail) */
    struct witem *todo, **todo_tail, *fin, **fin_tail;
    bool stop;
};

static void *workq_main(void *arg)
{
    struct workq *q = arg;
    pthread_setname_np(pthread_self(), q->name);
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->todo && !q->stop)
            pthread_cond_wait(&q->cond, &q->lock);
        if (q->stop)
            break;
        struct witem *w = q->todo;
        if (!(q->todo = w->next))
            q->todo_tail = &q->todo;
        pthread_mutex_unlock(&q->lock);
        w->fn(w->arg);
        pthread_mutex_lock(&q->lock);
        w->next = NULL;
        *q->fin_tail = w;
        q->fin_tail = &w->next;
        uint64_t one = 1;
        if (write(q->efd, &one, sizeof(one)) < 0) {
            /* the counter cannot overflow at one an item */
        }
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

/* The loop: what the thread has finished. */
static void workq_cb(struct ev_loop *loop, int fd, int events, void *arg)
{
    struct workq *q = arg;
    uint64_t n;
    (void)loop;
    (void)events;
    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&q->lock);
    struct witem *w = q->fin;
    q->fin = NULL;
    q->fin_tail = &q->fin;
    pthread_mutex_unlock(&q->lock);
    while (w) {
        struct witem *next = w->next;
        q->pending--;
        w->done(w->arg, false);
        free(w);
        w = next;
    }
}

struct workq *workq_create(struct ev_loop *loop, const char *name)
{
    struct workq *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->loop = loop;
    snprintf(q->name, sizeof(q->name), "%s", name);
    q->todo_tail = &q->todo;
    q->fin_tail = &q->fin;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    if ((q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        int e = errno;
        workq_destroy(q);
        errno = e;
        return NULL;
    }
    int rc = ev_fd_add(loop, q->efd, EV_READ, workq_cb, q);
    if (rc < 0) {
        close(q->efd);
        q->efd = -1;
        workq_destroy(q);
        errno = -rc;
        return NULL;
    }
    return q;
}

static int start_thread(struct workq *q)
{
    /* the thread inherits our mask: none of the broker's signals go to it */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&q->thread, NULL, workq_main, q);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -rc;
    q->started = true;
    return 0;
}

int workq_push(struct workq *q, workq_fn fn, workq_done_fn done, void *arg)
{
    int rc;
    if (!q->started && (rc = start_thread(q)) < 0)
        return rc;
    struct witem *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    *w = (struct witem){ .fn = fn, .done = done, .arg = arg };
    pthread_mutex_lock(&q->lock);
    *q->todo_tail = w;
    q->todo_tail = &w->next;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
    q->pending++;
    return 0;
}

size_t workq_pending(const struct workq *q)
{
    return q->pending;
}

void workq_destroy(struct workq *q)
{
    if (!q)
        return;
    if (q->started) {
        pthread_mutex_lock(&q->lock);
        q->stop = true;
        pthread_cond_signal(&q->cond);
        pthread_mutex_unlock(&q->lock);
        pthread_join(q->thread, NULL);
    }
    if (q->efd >= 0) {
        ev_fd_del(q->loop, q->efd);
        close(q->efd);
    }
    /* finished first, then never begun: the order they were pushed in */
    for (struct witem **list = &q->fin; list; list = list == &q->fin ? &q->todo : NULL) {
        while (*list) {
            struct witem *w = *list;
            *list = w->next;
            w->done(w->arg, true);
            free(w);
        }
    }
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    free(q);
}
