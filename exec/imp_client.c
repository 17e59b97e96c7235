/* imp_client.c - requests to the privileged helper (see imp_client.h). */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "exec/imp_client.h"
#include "exec/imp_msg.h"

#ifndef FLUXFS_LIBEXECDIR
#define FLUXFS_LIBEXECDIR "/usr/local/libexec"
#endif

/* Three channels: the launcher thread's spawns and the rest (the loop
 * thread's questions and signals), one request in flight on each, so that
 * a question never waits for a job's tasks to be started; and questions
 * about submitters asked without waiting (imp_ask_cwd, imp_ask_holds),
 * their answers taken in order. */
enum { CH_SPAWN, CH_OTHER, CH_ASK, CH_QUEUE, CH_N };

/* A spawn request waiting for the channel to take it (CH_QUEUE). */
struct queued {
    char *buf;                   /* header and body */
    size_t len, off;
    int fds[3];                  /* our copies, sent with the first byte */
    struct queued *next;
};

struct imp {
    int sock[CH_N];
    pid_t pid;
    pthread_mutex_t lock[CH_N];
    struct impmsg reply[CH_N];   /* under lock */
    struct queued *queue, **queue_tail;   /* CH_QUEUE: the loop's only, no lock */
};

struct imp *imp_start(const char *helper, uid_t broker_uid, const char *mount,
                      const int *task_nice, struct errmsg *err)
{
    int sv[CH_N][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 } };
    struct imp *h = calloc(1, sizeof(*h));
    if (!h) {
        errmsg_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    if (access(helper, X_OK) < 0) {
        errmsg_set(err, -errno, "the privileged helper %s: %s", helper, strerror(errno));
        free(h);
        return NULL;
    }
    for (int c = 0; c < CH_N; c++) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[c]) == 0)
            continue;
        errmsg_set(err, -errno, "socketpair: %s", strerror(errno));
        while (c-- > 0) {
            close(sv[c][0]);
            close(sv[c][1]);
        }
        free(h);
        return NULL;
    }
    char uidarg[32], nicearg[16];
    snprintf(uidarg, sizeof(uidarg), "%u", (unsigned)broker_uid);
    const char *argv[16] = { "fluxfs-imp", "--broker-uid", uidarg, "--fd", "3", "--fd", "4",
                             "--fd", "5", "--fd", "6" };
    int argc = 11;
    if (mount) {
        argv[argc++] = "--mount";
        argv[argc++] = mount;
    }
    if (task_nice) {
        snprintf(nicearg, sizeof(nicearg), "%d", *task_nice);
        argv[argc++] = "--task-nice";
        argv[argc++] = nicearg;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* only the socket, as fd 3, and /dev/null for stdio: a daemon's
         * starter waits for EOF on the stdio it gave us (the helper logs to
         * syslog) */
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        int a = fcntl(sv[0][1], F_DUPFD_CLOEXEC, 10), b = fcntl(sv[1][1], F_DUPFD_CLOEXEC, 10);
        int d = fcntl(sv[2][1], F_DUPFD_CLOEXEC, 10);
        int e = fcntl(sv[3][1], F_DUPFD_CLOEXEC, 10);
        if (a < 0 || b < 0 || d < 0 || e < 0 || dup2(a, 3) < 0 || dup2(b, 4) < 0
            || dup2(d, 5) < 0 || dup2(e, 6) < 0 || null < 0)
            _exit(127);
        for (int i = 0; i < 3; i++)
            dup2(null, i);
        close_range(7, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(helper, (char *const *)argv);
        _exit(127);
    }
    int fork_errno = errno;
    for (int c = 0; c < CH_N; c++)
        close(sv[c][1]);
    if (pid < 0) {
        for (int c = 0; c < CH_N; c++)
            close(sv[c][0]);
        free(h);
        errmsg_set(err, -fork_errno, "fork: %s", strerror(fork_errno));
        return NULL;
    }
    h->pid = pid;
    for (int c = 0; c < CH_N; c++) {
        h->sock[c] = sv[c][0];
        pthread_mutex_init(&h->lock[c], NULL);
        impmsg_init(&h->reply[c]);
    }
    h->queue_tail = &h->queue;
    return h;
}

void imp_destroy(struct imp *h)
{
    if (!h)
        return;
    for (int c = 0; c < CH_N; c++)
        close(h->sock[c]);
    while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    for (int c = 0; c < CH_N; c++) {
        impmsg_free(&h->reply[c]);
        pthread_mutex_destroy(&h->lock[c]);
    }
    while (h->queue) {
        struct queued *q = h->queue;
        h->queue = q->next;
        for (int i = 0; i < 3; i++)
            if (q->fds[i] >= 0)
                close(q->fds[i]);
        free(q->buf);
        free(q);
    }
    free(h);
}

/* The next answer on channel c: 0 with *v (the request's rc) and *text
 * (its reason, or answer; in h->reply[c], valid until the next), or -errno
 * if the channel failed. The caller holds c's lock if others share it. */
static int take_reply(struct imp *h, int c, int *v, const char **text)
{
    uint32_t rop, u;
    int rfds[IMP_FDS_MAX], nr = 0;
    int rc = impmsg_recv(h->sock[c], &rop, &h->reply[c], rfds, &nr);
    if (rc < 0)
        return rc;
    for (int i = 0; i < nr; i++)
        close(rfds[i]);
    if (rop != IMP_REPLY || impmsg_get_u32(&h->reply[c], &u) < 0
        || impmsg_get_str(&h->reply[c], text) < 0)
        return -EPROTO;
    *v = (int)u;
    return 0;
}

/* One request, one answer: its rc, and the reason into err when it failed. */
static int call_answer(struct imp *h, uint32_t op, struct impmsg *m, const int *fds,
                       int nfds, struct errmsg *err, char *answer, size_t asize)
{
    int rc, v;
    const char *reason = "";
    int c = op == IMP_SPAWN ? CH_SPAWN : CH_OTHER;
    pthread_mutex_lock(&h->lock[c]);
    if ((rc = impmsg_send(h->sock[c], op, m, fds, nfds)) == 0
        && (rc = take_reply(h, c, &v, &reason)) == 0)
        rc = v;
    if (rc < 0 && err)
        errmsg_set(err, rc, "%s", *reason ? reason : strerror(-rc));
    if (rc >= 0 && answer && (size_t)snprintf(answer, asize, "%s", reason) >= asize)
        rc = -ENAMETOOLONG;
    pthread_mutex_unlock(&h->lock[c]);
    return rc;
}

static int call(struct imp *h, uint32_t op, struct impmsg *m, const int *fds, int nfds,
                struct errmsg *err)
{
    return call_answer(h, op, m, fds, nfds, err, NULL, 0);
}

static int simple(struct imp *h, uint32_t op, struct impmsg *m)
{
    int rc = call(h, op, m, NULL, 0, NULL);
    impmsg_free(m);
    return rc;
}

int imp_init(struct imp *h, const char *token, struct errmsg *err)
{
    struct impmsg m;
    impmsg_init(&m);
    impmsg_put_str(&m, token);
    int rc = call(h, IMP_INIT, &m, NULL, 0, err);
    impmsg_free(&m);
    return rc;
}

static void spawn_msg(struct impmsg *m, const struct imp_spawn *s)
{
    impmsg_init(m);
    impmsg_reserve(m, 4 * sizeof(uint32_t) + sizeof(uint64_t) + impmsg_str_size(s->cwd)
                          + impmsg_str_size(s->path) + impmsg_str_size(s->out_path)
                          + impmsg_str_size(s->err_path) + impmsg_str_size(s->in_path)
                          + impmsg_strv_size(s->argv) + impmsg_strv_size(s->envp)
                          + sizeof(uint32_t) * (1 + (size_t)(s->ncpus > 0 ? s->ncpus : 0)));
    impmsg_put_u32(m, (uint32_t)s->uid);
    impmsg_put_u64(m, s->job);
    impmsg_put_u32(m, s->new_session ? IMP_SPAWN_SESSION : 0);
    impmsg_put_u32(m, (uint32_t)s->deathsig);
    impmsg_put_str(m, s->cwd);
    impmsg_put_str(m, s->path);
    impmsg_put_str(m, s->out_path);
    impmsg_put_str(m, s->err_path);
    impmsg_put_str(m, s->in_path);
    impmsg_put_strv(m, s->argv);
    impmsg_put_strv(m, s->envp);
    impmsg_put_u32(m, (uint32_t)s->ncpus);
    for (int i = 0; i < s->ncpus; i++)
        impmsg_put_u32(m, (uint32_t)s->cpus[i]);
}

pid_t imp_spawn(struct imp *h, const struct imp_spawn *s, struct errmsg *err)
{
    struct impmsg m;
    spawn_msg(&m, s);
    int rc = m.bad ? errmsg_set(err, -E2BIG, "the command and environment are too large")
                   : call(h, IMP_SPAWN, &m, s->fds, 3, err);
    impmsg_free(&m);
    return rc;
}

int imp_signal(struct imp *h, pid_t pid, int sig)
{
    struct impmsg m;
    impmsg_init(&m);
    impmsg_put_u32(&m, (uint32_t)pid);
    impmsg_put_u32(&m, (uint32_t)sig);
    return simple(h, IMP_SIGNAL, &m);
}

int imp_contain(struct imp *h, uint64_t job, const char *idstr)
{
    struct impmsg m;
    impmsg_init(&m);
    impmsg_put_u64(&m, job);
    impmsg_put_str(&m, idstr);
    return simple(h, IMP_CONTAIN, &m);
}

int imp_contain_cpus(struct imp *h, uint64_t job, const int *cpus, int n)
{
    struct impmsg m;
    impmsg_init(&m);
    impmsg_put_u64(&m, job);
    impmsg_put_u32(&m, (uint32_t)n);
    for (int i = 0; i < n; i++)
        impmsg_put_u32(&m, (uint32_t)cpus[i]);
    return simple(h, IMP_CPUS, &m);
}

int imp_contain_memory(struct imp *h, uint64_t job, uint64_t bytes)
{
    struct impmsg m;
    impmsg_init(&m);
    impmsg_put_u64(&m, job);
    impmsg_put_u64(&m, bytes);
    return simple(h, IMP_MEMORY, &m);
}

int imp_release(struct imp *h, uint64_t job, bool forget)
{
    struct impmsg m;
    impmsg_init(&m);
    impmsg_put_u64(&m, job);
    impmsg_put_u32(&m, forget);
    return simple(h, IMP_RELEASE, &m);
}

int imp_kill_group(struct imp *h, const char *idstr)
{
    struct impmsg m;
    impmsg_init(&m);
    impmsg_put_str(&m, idstr);
    return simple(h, IMP_KILL_GROUP, &m);
}

int imp_kill_orphans(struct imp *h, const char *idstr)
{
    struct impmsg m;
    impmsg_init(&m);
    impmsg_put_str(&m, idstr);
    return simple(h, IMP_KILL_ORPHANS, &m);
}

int imp_give(struct imp *h, int dirfd, const char *name, uid_t uid, gid_t gid,
             struct errmsg *err)
{
    struct impmsg m;
    impmsg_init(&m);
    impmsg_put_u32(&m, (uint32_t)uid);
    impmsg_put_u32(&m, (uint32_t)gid);
    impmsg_put_str(&m, name);
    int rc = call(h, IMP_GIVE, &m, &dirfd, 1, err);
    impmsg_free(&m);
    return rc;
}

int imp_detach(struct imp *h, int dirfd, const char *name)
{
    struct impmsg m;
    impmsg_init(&m);
    impmsg_put_str(&m, name);
    int rc = call(h, IMP_DETACH, &m, &dirfd, 1, NULL);
    impmsg_free(&m);
    return rc;
}

int imp_cwd(struct imp *h, pid_t pid, char *buf, size_t size)
{
    struct impmsg m;
    impmsg_init(&m);
    impmsg_put_u32(&m, (uint32_t)pid);
    int rc = call_answer(h, IMP_CWD, &m, NULL, 0, NULL, buf, size);
    impmsg_free(&m);
    return rc;
}

static int ask(struct imp *h, uint32_t op, struct impmsg *m)
{
    pthread_mutex_lock(&h->lock[CH_ASK]);
    int rc = impmsg_send(h->sock[CH_ASK], op, m, NULL, 0);
    pthread_mutex_unlock(&h->lock[CH_ASK]);
    impmsg_free(m);
    return rc;
}

/* The HOLDS question, asked waiting or not. */
static void holds_msg(struct impmsg *m, pid_t pid, uint64_t ino, const char *name, bool parent,
                      bool cwd)
{
    impmsg_init(m);
    impmsg_put_u32(m, (uint32_t)pid);
    impmsg_put_u64(m, ino);
    impmsg_put_str(m, name);
    impmsg_put_u32(m, (parent ? IMP_HOLDS_PARENT : 0) | (cwd ? IMP_HOLDS_CWD : 0));
}

int imp_ask_cwd(struct imp *h, pid_t pid)
{
    struct impmsg m;
    impmsg_init(&m);
    impmsg_put_u32(&m, (uint32_t)pid);
    return ask(h, IMP_CWD, &m);
}

int imp_ask_holds(struct imp *h, pid_t pid, uint64_t ino, const char *name, bool parent,
                  bool cwd)
{
    struct impmsg m;
    holds_msg(&m, pid, ino, name, parent, cwd);
    return ask(h, IMP_HOLDS, &m);
}

int imp_queue_flush(struct imp *h)
{
    while (h->queue) {
        struct queued *q = h->queue;
        struct iovec iov = { q->buf + q->off, q->len - q->off };
        union {
            char buf[CMSG_SPACE(3 * sizeof(int))];
            struct cmsghdr align;
        } u;
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (q->off == 0) {
            memset(&u, 0, sizeof(u));
            msg.msg_control = u.buf;
            msg.msg_controllen = CMSG_SPACE(3 * sizeof(int));
            struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(3 * sizeof(int));
            memcpy(CMSG_DATA(c), q->fds, 3 * sizeof(int));
        }
        ssize_t n = sendmsg(h->sock[CH_QUEUE], &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? 0 : -errno;
        if (q->off == 0)   /* they went with the first byte */
            for (int i = 0; i < 3; i++) {
                close(q->fds[i]);
                q->fds[i] = -1;
            }
        if ((q->off += (size_t)n) < q->len)
            continue;
        if (!(h->queue = q->next))
            h->queue_tail = &h->queue;
        free(q->buf);
        free(q);
    }
    return 0;
}

int imp_queue_spawn(struct imp *h, const struct imp_spawn *s, struct errmsg *err)
{
    struct impmsg m;
    spawn_msg(&m, s);
    struct queued *q = m.bad ? NULL : calloc(1, sizeof(*q));
    if (!q || !(q->buf = malloc(8 + m.len))) {
        free(q);
        impmsg_free(&m);
        return errmsg_set(err, -E2BIG, "the command and environment are too large");
    }
    uint32_t hdr[2] = { IMP_SPAWN, (uint32_t)m.len };
    memcpy(q->buf, hdr, 8);
    memcpy(q->buf + 8, m.buf, m.len);
    q->len = 8 + m.len;
    impmsg_free(&m);
    /* ours until sent: the caller closes its own as soon as we return */
    for (int i = 0; i < 3; i++)
        if ((q->fds[i] = fcntl(s->fds[i], F_DUPFD_CLOEXEC, 3)) < 0) {
            int rc = -errno;
            while (i-- > 0)
                close(q->fds[i]);
            free(q->buf);
            free(q);
            return errmsg_set(err, rc, "%s", strerror(-rc));
        }
    *h->queue_tail = q;
    h->queue_tail = &q->next;
    int rc = imp_queue_flush(h);
    return rc < 0 ? errmsg_set(err, rc, "the privileged helper: %s", strerror(-rc)) : 0;
}

bool imp_queue_waiting(const struct imp *h)
{
    return h->queue != NULL;
}

int imp_queue_fd(const struct imp *h)
{
    return h->sock[CH_QUEUE];
}

int imp_queue_take(struct imp *h, pid_t *pid, struct errmsg *err)
{
    int rc, v;
    const char *text = "";
    struct pollfd pfd = { .fd = h->sock[CH_QUEUE], .events = POLLIN };
    if (poll(&pfd, 1, 0) <= 0)
        return -EAGAIN;
    /* a reply is one small write of the helper's: readable means all of it */
    if ((rc = take_reply(h, CH_QUEUE, &v, &text)) < 0)
        return rc;
    *pid = (pid_t)v;
    if (*pid < 0)
        errmsg_set(err, *pid, "%s", *text ? text : strerror(-*pid));
    return 0;
}

int imp_take(struct imp *h, bool wait, int *answer, char *buf, size_t size)
{
    int rc, v;
    const char *text = "";
    struct pollfd pfd = { .fd = h->sock[CH_ASK], .events = POLLIN };
    if (!wait && poll(&pfd, 1, 0) <= 0)
        return -EAGAIN;
    pthread_mutex_lock(&h->lock[CH_ASK]);
    if ((rc = take_reply(h, CH_ASK, &v, &text)) == 0
        && (*answer = v) >= 0 && buf && (size_t)snprintf(buf, size, "%s", text) >= size)
        *answer = -ENAMETOOLONG;
    pthread_mutex_unlock(&h->lock[CH_ASK]);
    return rc;
}

int imp_ask_fd(const struct imp *h)
{
    return h->sock[CH_ASK];
}

int imp_holds(struct imp *h, pid_t pid, uint64_t ino, const char *name, bool parent)
{
    struct impmsg m;
    holds_msg(&m, pid, ino, name, parent, false);
    return simple(h, IMP_HOLDS, &m);
}

int imp_unmount(struct imp *h)
{
    return call(h, IMP_UNMOUNT, NULL, NULL, 0, NULL);
}

const char *imp_default_path(char *buf, size_t size)
{
    const char *env = getenv("FLUXFS_IMP");
    if (env && *env) {
        snprintf(buf, size, "%s", env);
        return buf;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            /* the build tree: fsd/fluxfsd beside exec/fluxfs-imp */
            if ((size_t)snprintf(buf, size, "%s/../exec/fluxfs-imp", self) < size
                && access(buf, X_OK) == 0)
                return buf;
        }
    }
    if ((size_t)snprintf(buf, size, "%s/fluxfs-imp", FLUXFS_LIBEXECDIR) < size
        && access(buf, X_OK) == 0)
        return buf;
    return NULL;
}
