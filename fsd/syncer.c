/* syncer.c - durable commits off the loop thread; see syncer.h */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fsd/syncer.h"

struct after {                   /* syncer_after()'s, oldest first */
    uint64_t ticket;
    syncer_after_fn fn;
    void *arg;
    struct after *next;
};

struct syncer {
    syncer_fn fn;
    void *arg;
    char name[16];
    int efd;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* under lock (done is also read without it: syncer_peek) */
    uint64_t requested, done, failed;
    int fail_rc;
    bool stop;
    bool joined;                 /* syncer_stop() waited for the thread */
    struct after *after, **after_tail;
    /* the syncs that failed, the tickets (from, to] each covered: answers
     * and the loop's books agree per sync, not by "the last failure" */
    struct { uint64_t from, to; int rc; } fails[SYNCER_FAILS];
    unsigned nfails;             /* ever; fails[] holds the last ones */
    uint64_t forgotten;          /* tickets up to here may be in one dropped */
};

/* What waits for syncs up to target, taken off the list in order (under
 * lock; a close that comes after its file's ids were read waits for an
 * older ticket than those queued before it). */
static struct after *take_after(struct syncer *s, uint64_t target)
{
    struct after *taken = NULL, **tail = &taken, **pp = &s->after;
    s->after_tail = &s->after;
    while (*pp) {
        struct after *a = *pp;
        if (a->ticket <= target) {
            *pp = a->next;
            a->next = NULL;
            *tail = a;
            tail = &a->next;
        } else {
            pp = &a->next;
            s->after_tail = &a->next;
        }
    }
    return taken;
}

static void *syncer_main(void *arg)
{
    struct syncer *s = arg;
    pthread_setname_np(pthread_self(), s->name);
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (s->requested == s->done && !s->stop)
            pthread_cond_wait(&s->cond, &s->lock);
        if (s->requested == s->done)
            break;   /* stopping, and nothing left to sync */
        /* every ticket asked for so far: one sync covers them all */
        uint64_t target = s->requested;
        pthread_mutex_unlock(&s->lock);
        int rc = s->fn(s->arg);
        pthread_mutex_lock(&s->lock);
        if (rc < 0) {
            unsigned i = s->nfails++ % SYNCER_FAILS;
            if (s->nfails > SYNCER_FAILS)
                s->forgotten = s->fails[i].to;
            s->fails[i].from = s->done;
            s->fails[i].to = target;
            s->fails[i].rc = rc;
            s->failed = target;
            s->fail_rc = rc;
        }
        __atomic_store_n(&s->done, target, __ATOMIC_RELEASE);
        /* answered before the loop is told: done is set, so a request
         * that follows an answer finds the loop caught up (syncer_peek) */
        struct after *a = take_after(s, target);
        if (a) {
            pthread_mutex_unlock(&s->lock);
            while (a) {
                struct after *next = a->next;
                a->fn(a->arg, rc);
                free(a);
                a = next;
            }
            pthread_mutex_lock(&s->lock);
        }
        uint64_t one = 1;
        if (write(s->efd, &one, sizeof(one)) < 0) {
            /* the counter cannot overflow at one a sync; nothing to do */
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

struct syncer *syncer_create(syncer_fn fn, void *arg, const char *name)
{
    struct syncer *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->fn = fn;
    s->arg = arg;
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->after_tail = &s->after;
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (s->efd < 0 || (errno = pthread_create(&s->thread, NULL, syncer_main, s)) != 0) {
        int e = errno;
        if (s->efd >= 0)
            close(s->efd);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
        free(s);
        errno = e;
        return NULL;
    }
    return s;
}

int syncer_fd(const struct syncer *s)
{
    return s->efd;
}

uint64_t syncer_request(struct syncer *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t t = ++s->requested;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return t;
}

int syncer_after(struct syncer *s, uint64_t ticket, syncer_after_fn fn, void *arg)
{
    struct after *a = malloc(sizeof(*a));
    if (!a)
        return -ENOMEM;
    *a = (struct after){ .ticket = ticket, .fn = fn, .arg = arg };
    pthread_mutex_lock(&s->lock);
    bool ended = ticket <= s->done;
    if (!ended) {
        *s->after_tail = a;
        s->after_tail = &a->next;
    }
    pthread_mutex_unlock(&s->lock);
    if (ended)
        free(a);
    return ended ? 1 : 0;
}

int syncer_result(struct syncer *s, uint64_t ticket)
{
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    unsigned n = s->nfails < SYNCER_FAILS ? s->nfails : SYNCER_FAILS;
    for (unsigned i = 0; i < n && rc == 0; i++)
        if (ticket > s->fails[i].from && ticket <= s->fails[i].to)
            rc = s->fails[i].rc;
    if (rc == 0 && ticket <= s->forgotten)
        rc = -EIO;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

uint64_t syncer_peek(const struct syncer *s)
{
    return __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
}

uint64_t syncer_done(struct syncer *s, uint64_t *failed, int *fail_rc)
{
    uint64_t n;
    if (read(s->efd, &n, sizeof(n)) < 0) {
        /* nothing to read (EAGAIN): the counts below say what is done */
    }
    pthread_mutex_lock(&s->lock);
    uint64_t done = s->done;
    *failed = s->failed;
    *fail_rc = s->fail_rc;
    pthread_mutex_unlock(&s->lock);
    return done;
}

void syncer_stop(struct syncer *s)
{
    if (!s || s->joined)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->joined = true;
    /* none is left (each waits for a ticket asked for, and the thread
     * ends with every one synced); never leave a waiter unanswered */
    for (struct after *a = take_after(s, UINT64_MAX), *next; a; a = next) {
        next = a->next;
        a->fn(a->arg, -EIO);
        free(a);
    }
}

void syncer_destroy(struct syncer *s)
{
    if (!s)
        return;
    syncer_stop(s);
    close(s->efd);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}
