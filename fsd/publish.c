/* publish.c - the thread that turns broker changes into inotify events. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fsd/publish.h"

enum pub_op { PUB_MKDIR, PUB_POKE };

struct pub_item {
    enum pub_op op;
    struct pub_item *next;       /* FIFO order */
    struct pub_item *hnext;      /* coalescing chain (pokes only) */
    char path[];
};

#define PUB_BUCKETS 4096

struct publisher {
    char *mountpoint;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop, exited;           /* protected by lock */
    pid_t tid;                   /* set before publisher_create returns */
    struct pub_item *head, *tail;            /* protected by lock */
    struct pub_item *pending[PUB_BUCKETS];   /* queued pokes by path, by lock */
};

static unsigned path_hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % PUB_BUCKETS;
}

static void run_item(struct publisher *p, const struct pub_item *it)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", p->mountpoint, it->path) >= sizeof(path))
        return;
    /* errors are fine: the object may be gone, or the mount going away */
    if (it->op == PUB_MKDIR) {
        (void)mkdir(path, 0755);
        return;
    }
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)!pwrite(fd, "", 1, 0);
        close(fd);
    }
}

static void *publisher_main(void *arg)
{
    struct publisher *p = arg;

    pthread_mutex_lock(&p->lock);
    p->tid = (pid_t)syscall(SYS_gettid);
    pthread_cond_broadcast(&p->cond);
    for (;;) {
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->stop)
            break;
        struct pub_item *batch = p->head;
        p->head = p->tail = NULL;
        memset(p->pending, 0, sizeof(p->pending));
        pthread_mutex_unlock(&p->lock);
        while (batch) {
            struct pub_item *it = batch;
            batch = it->next;
            run_item(p, it);
            free(it);
        }
        pthread_mutex_lock(&p->lock);
    }
    p->exited = true;
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct publisher *publisher_create(const char *mountpoint)
{
    struct publisher *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (!(p->mountpoint = strdup(mountpoint))) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    if (pthread_create(&p->thread, NULL, publisher_main, p) != 0) {
        free(p->mountpoint);
        free(p);
        return NULL;
    }
    /* the vfs needs the tid before the first request can arrive from it */
    pthread_mutex_lock(&p->lock);
    while (!p->tid)
        pthread_cond_wait(&p->cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
    return p;
}

void publisher_stop(struct publisher *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

int publisher_stopped(struct publisher *p)
{
    if (!p)
        return 1;
    pthread_mutex_lock(&p->lock);
    int done = p->exited;
    pthread_mutex_unlock(&p->lock);
    return done;
}

void publisher_destroy(struct publisher *p)
{
    if (!p)
        return;
    publisher_stop(p);
    pthread_join(p->thread, NULL);
    while (p->head) {
        struct pub_item *it = p->head;
        p->head = it->next;
        free(it);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p->mountpoint);
    free(p);
}

pid_t publisher_tid(const struct publisher *p)
{
    return p ? p->tid : 0;
}

static void enqueue(struct publisher *p, enum pub_op op, const char *relpath)
{
    size_t len = strlen(relpath);
    unsigned h = path_hash(relpath);

    pthread_mutex_lock(&p->lock);
    if (p->stop)
        goto out;
    if (op == PUB_POKE) {
        for (struct pub_item *it = p->pending[h]; it; it = it->hnext)
            if (strcmp(it->path, relpath) == 0)
                goto out;   /* one poke shows the latest content anyway */
    }
    struct pub_item *it = malloc(sizeof(*it) + len + 1);
    if (!it)
        goto out;
    it->op = op;
    it->next = NULL;
    it->hnext = NULL;
    memcpy(it->path, relpath, len + 1);
    if (op == PUB_POKE) {
        it->hnext = p->pending[h];
        p->pending[h] = it;
    }
    if (p->tail)
        p->tail->next = it;
    else
        p->head = it;
    p->tail = it;
    pthread_cond_signal(&p->cond);
out:
    pthread_mutex_unlock(&p->lock);
}

void publisher_mkdir(struct publisher *p, const char *relpath)
{
    if (p)
        enqueue(p, PUB_MKDIR, relpath);
}

void publisher_poke(struct publisher *p, const char *relpath)
{
    if (p)
        enqueue(p, PUB_POKE, relpath);
}
