/* publish.c - the thread that turns broker changes into inotify events. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
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
/* After sending a batch the thread pauses this long: what the broker
 * queues meanwhile goes as one batch, pokes of one path as one. A change
 * after a quiet spell goes at once; under load a watcher sees it at most
 * this late, and a `true` job costs about 7 FUSE requests of the
 * publisher instead of 12 (its state poked about once, not at each of its
 * states). */
#define PUB_PAUSE_NS 5000000L

struct publisher {
    char *mountpoint;
    pid_t child;                 /* the process that makes the syscalls */
    int pidfd;                   /* the child's, -1 if pidfd_open failed */
    int pipe_w;                  /* feeding thread -> child: "M path\n" / "P path\n" */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;                   /* protected by lock */
    bool idle;                   /* the thread waits for work (not pausing) */
    bool thread_started;
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

/* Child side: perform one "M path" or "P path" line, through the tree's
 * own mount (tree >= 0) or else by path under mountpoint. */
static void child_run_line(const char *mountpoint, int tree, char *line)
{
    char buf[4096];
    const char *path = line + 2;
    if (strlen(line) < 3 || line[1] != ' ')
        return;
    if (tree < 0) {
        if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", mountpoint, line + 2) >= sizeof(buf))
            return;
        path = buf;
    }
    int dir = tree >= 0 ? tree : AT_FDCWD;
    /* errors are fine: the object may be gone, or the mount going away */
    if (line[0] == 'M') {
        (void)mkdirat(dir, path, 0755);
        return;
    }
    int fd = openat(dir, path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)!pwrite(fd, "", 1, 0);
        close(fd);
    }
}

static _Noreturn void child_main(const char *mountpoint, int tree, int fd)
{
    char buf[65536];
    size_t len = 0;
    /* whatever happens to the broker, this process goes with it */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* not a second "fluxfsd" in ps, top or pgrep (its command line is
     * still the broker's: only the name can change unprivileged) */
    prctl(PR_SET_NAME, "fluxfs-publish");
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);
        if (n <= 0)
            _exit(0);   /* the broker closed the pipe: stop */
        len += n;
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', buf + len - start))) {
            *nl = '\0';
            child_run_line(mountpoint, tree, start);
            start = nl + 1;
        }
        len -= start - buf;
        memmove(buf, start, len);
        if (len == sizeof(buf))
            len = 0;   /* a line longer than the buffer: drop it */
    }
}

static bool write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= n;
    }
    return true;
}

/* Feeding thread: hand a batch to the child as lines. The pipe's capacity
 * throttles it; pokes queued meanwhile coalesce. */
static void send_batch(struct publisher *p, struct pub_item *batch)
{
    char buf[16384];
    size_t len = 0;
    while (batch) {
        struct pub_item *it = batch;
        batch = it->next;
        size_t n = strlen(it->path);
        if (len + n + 3 > sizeof(buf)) {
            if (!write_all(p->pipe_w, buf, len))
                goto drop;
            len = 0;
        }
        if (n + 3 <= sizeof(buf)) {
            buf[len++] = it->op == PUB_MKDIR ? 'M' : 'P';
            buf[len++] = ' ';
            memcpy(buf + len, it->path, n);
            len += n;
            buf[len++] = '\n';
        }
        free(it);
    }
    write_all(p->pipe_w, buf, len);
    return;
drop:
    while (batch) {
        struct pub_item *it = batch;
        batch = it->next;
        free(it);
    }
}

static void *publisher_main(void *arg)
{
    struct publisher *p = arg;
    pthread_setname_np(pthread_self(), "fluxfs-feed");   /* top -H, bench-cpu.sh */

    pthread_mutex_lock(&p->lock);
    for (;;) {
        p->idle = true;
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        p->idle = false;
        if (p->stop)
            break;
        struct pub_item *batch = p->head;
        p->head = p->tail = NULL;
        memset(p->pending, 0, sizeof(p->pending));
        pthread_mutex_unlock(&p->lock);
        send_batch(p, batch);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += PUB_PAUSE_NS;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&p->lock);
        /* only publisher_stop() signals a pausing thread */
        while (!p->stop && pthread_cond_timedwait(&p->cond, &p->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&p->lock);
    /* EOF tells the child to finish its last line and exit */
    close(p->pipe_w);
    p->pipe_w = -1;
    return NULL;
}

struct publisher *publisher_create(const char *mountpoint, int tree)
{
    struct publisher *p = calloc(1, sizeof(*p));
    int fds[2];
    if (!p) {
        if (tree >= 0)
            close(tree);
        return NULL;
    }
    p->pipe_w = -1;
    p->pidfd = -1;
    if (!(p->mountpoint = strdup(mountpoint)) || pipe2(fds, O_CLOEXEC) < 0) {
        if (tree >= 0)
            close(tree);
        goto error;
    }
    pthread_condattr_t ca;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    p->child = fork();
    if (p->child != 0 && tree >= 0)
        close(tree);   /* the child's alone: while we held it, the mount would outlive
                          its unmount until our exit (publish.h) */
    if (p->child < 0) {
        close(fds[0]);
        close(fds[1]);
        goto error;
    }
    if (p->child == 0) {
        /* keep only the pipe: above all, no FUSE device descriptor, and not
         * the stdio of whoever started the broker (a caller waiting for EOF
         * on it, as $(fluxfsd ...) does, would wait forever) */
        int in = fcntl(fds[0], F_DUPFD, 5);
        int t = tree >= 0 ? fcntl(tree, F_DUPFD, 5) : -1;
        int null = open("/dev/null", O_RDWR);
        if (in < 0 || null < 0 || (tree >= 0 && t < 0))
            _exit(1);
        dup2(in, 3);
        if (t >= 0)
            dup2(t, 4);
        for (int i = 0; i < 3; i++)
            dup2(null, i);
        close_range(t >= 0 ? 5 : 4, ~0U, 0);
        child_main(p->mountpoint, t >= 0 ? 4 : -1, 3);
    }
    close(fds[0]);
    p->pipe_w = fds[1];
    p->pidfd = (int)syscall(SYS_pidfd_open, p->child, 0);
    if (pthread_create(&p->thread, NULL, publisher_main, p) != 0)
        goto error;
    p->thread_started = true;
    return p;
error:
    publisher_destroy(p);
    return NULL;
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
    if (!p || p->child <= 0)
        return 1;
    int status;
    if (waitpid(p->child, &status, WNOHANG) == p->child) {
        p->child = 0;
        return 1;
    }
    return 0;
}

int publisher_exit_fd(const struct publisher *p)
{
    return p && p->child > 0 ? p->pidfd : -1;
}

void publisher_destroy(struct publisher *p)
{
    if (!p)
        return;
    publisher_stop(p);
    if (p->child > 0) {
        /* the broker kept serving it until now; whatever is left is stuck,
         * and its death also unblocks a feeding thread writing to the pipe.
         * Not waited for: reaped now if it has gone, else by init once we
         * have exited */
        kill(p->child, SIGKILL);
    }
    if (p->thread_started)
        pthread_join(p->thread, NULL);
    if (p->child > 0)
        waitpid(p->child, NULL, WNOHANG);
    if (p->pidfd >= 0)
        close(p->pidfd);
    if (p->pipe_w >= 0)
        close(p->pipe_w);
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
    return p ? p->child : 0;
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
out:
    pthread_mutex_unlock(&p->lock);
}

void publisher_flush(struct publisher *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->head && p->idle)
        pthread_cond_signal(&p->cond);
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
