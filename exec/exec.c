/* exec.c - fork, bind and supervise the tasks of jobs (see exec.h).
 *
 * Each job gets one pipe per output stream, shared by its tasks; each task
 * gets a pidfd watched by the loop, so exits are seen without SIGCHLD.
 * Where pidfd_open is missing (kernels before 5.3, valgrind) a per-job
 * timer polls waitpid(WNOHANG) instead.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "exec/exec.h"

#define EXEC_READ_MAX (64 * 1024)
#define EXEC_POLL_SECS 0.05

extern char **environ;

struct xjob;

struct xpipe {
    struct xjob *job;
    int fd;                  /* read end, -1 once closed */
    int stream;              /* 1 = stdout, 2 = stderr */
};

struct xtask {
    struct xjob *job;
    pid_t pid;               /* also the process group; 0 once reaped */
    int pidfd;               /* -1 once reaped, or when polled */
    int status;
};

struct xjob {
    struct exec *x;
    uint64_t id;
    struct xjob *prev, *next;
    struct xpipe out[2];     /* stdout, stderr */
    struct xtask *tasks;
    int ntasks;
    int nlive;               /* tasks not yet reaped */
    int status;              /* max over reaped tasks */
    uint64_t kill_timer;     /* pending SIGKILL after terminate, or 0 */
    uint64_t poll_timer;     /* reaps tasks without a pidfd, or 0 */
};

struct exec {
    struct ev_loop *loop;
    const struct exec_ops *ops;
    void *arg;
    struct xjob *jobs;
    char *private_path;      /* served by this process: see exec_set_private_path */
    char buf[EXEC_READ_MAX];
};

/* What a child needs, all prepared before fork so the child only makes
 * async-signal-safe calls (the broker has FUSE threads). */
struct xspawn {
    const struct exec_job *job;
    const struct exec_task *task;
    char **envp;             /* NULL = keep environ */
    bool use_fork;           /* the child may touch private_path: fork, not vfork */
    int out_w, err_w, null_r;
    pid_t parent;
    bool drop_user;
};

static const char *const flux_vars[] = {
    "FLUX_JOB_ID", "FLUX_JOB_SIZE", "FLUX_JOB_NNODES",
    "FLUX_TASK_RANK", "FLUX_TASK_LOCAL_ID", "FLUX_TASK_NODEID",
};
#define NFLUX_VARS (sizeof(flux_vars) / sizeof(flux_vars[0]))

static struct xjob *job_lookup(const struct exec *x, uint64_t id)
{
    for (struct xjob *j = x->jobs; j; j = j->next)
        if (j->id == id)
            return j;
    return NULL;
}

static void job_unlink(struct xjob *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        j->x->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->prev = j->next = NULL;
}

static void pipe_close(struct xjob *j, struct xpipe *p)
{
    if (p->fd < 0)
        return;
    ev_fd_del(j->x->loop, p->fd);
    close(p->fd);
    p->fd = -1;
}

/* Kill whatever is left, reap it, release fds and memory.  No callbacks. */
static void job_destroy(struct xjob *j)
{
    if (!j)
        return;
    for (int i = 0; i < j->ntasks; i++) {
        struct xtask *t = &j->tasks[i];
        if (t->pid > 0) {
            /* The group may not exist yet if the child has not run. */
            kill(-t->pid, SIGKILL);
            kill(t->pid, SIGKILL);
            while (waitpid(t->pid, NULL, 0) < 0 && errno == EINTR)
                ;
            t->pid = 0;
        }
        if (t->pidfd >= 0) {
            ev_fd_del(j->x->loop, t->pidfd);
            close(t->pidfd);
            t->pidfd = -1;
        }
    }
    pipe_close(j, &j->out[0]);
    pipe_close(j, &j->out[1]);
    if (j->kill_timer)
        ev_timer_cancel(j->x->loop, j->kill_timer);
    if (j->poll_timer)
        ev_timer_cancel(j->x->loop, j->poll_timer);
    free(j->tasks);
    free(j);
}

struct exec *exec_create(struct ev_loop *loop, const struct exec_ops *ops, void *arg)
{
    if (!loop || !ops) {
        errno = EINVAL;
        return NULL;
    }
    struct exec *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->loop = loop;
    x->ops = ops;
    x->arg = arg;
    return x;
}

void exec_destroy(struct exec *x)
{
    if (!x)
        return;
    while (x->jobs) {
        struct xjob *j = x->jobs;
        job_unlink(j);
        job_destroy(j);
    }
    free(x->private_path);
    free(x);
}

/* Read once; returns bytes delivered, 0 at EOF, or -errno (-EAGAIN when
 * empty).  EOF closes the pipe: a task may close its stdout early. */
static ssize_t pipe_read(struct xpipe *p, size_t max)
{
    struct exec *x = p->job->x;
    if (max > sizeof(x->buf))
        max = sizeof(x->buf);
    ssize_t n;
    do {
        n = read(p->fd, x->buf, max);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0) {
        pipe_close(p->job, p);
        return 0;
    }
    if (x->ops->output)
        x->ops->output(x->arg, p->job->id, p->stream, x->buf, n);
    return n;
}

static void pipe_cb(struct ev_loop *loop, int fd, int events, void *arg)
{
    struct xpipe *p = arg;
    ssize_t n = pipe_read(p, EXEC_READ_MAX);
    /* A read error other than "empty" will not go away: stop watching. */
    if (n < 0 && n != -EAGAIN && p->fd >= 0)
        pipe_close(p->job, p);
}

/* Deliver what the tasks wrote before exiting.  Only what is buffered now
 * is read: a background grandchild that keeps writing (or just keeps the
 * pipe open) must not hold up completion. */
static void pipe_drain(struct xpipe *p)
{
    int avail = 0;
    if (p->fd < 0 || ioctl(p->fd, FIONREAD, &avail) < 0)
        return;
    while (avail > 0 && p->fd >= 0) {
        ssize_t n = pipe_read(p, (size_t)avail);
        if (n <= 0)
            break;
        avail -= (int)n;
    }
}

static void job_finish(struct xjob *j)
{
    struct exec *x = j->x;
    pipe_drain(&j->out[0]);
    pipe_drain(&j->out[1]);
    uint64_t id = j->id;
    int status = j->status;
    /* The callback may destroy x or start a job with this id again, so
     * the job is gone before it runs and nothing is touched after. */
    job_unlink(j);
    job_destroy(j);
    if (x->ops->finished)
        x->ops->finished(x->arg, id, status);
}

/* Reap t if it has exited.  Returns true when that finished the job, which
 * is then freed. */
static bool task_reap(struct xtask *t)
{
    struct xjob *j = t->job;
    int wstatus;
    pid_t r;
    do {
        r = waitpid(t->pid, &wstatus, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
        return false;
    if (r < 0)
        wstatus = 0xff00;   /* reaped behind our back: report exit 255 */
    t->status = WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
    /* What the task left behind in its process group ends with it, as with
     * Slurm's process tracking: no orphans outlive their job. The group id
     * cannot have been reused while members remain. */
    if (r > 0)
        kill(-t->pid, SIGKILL);
    t->pid = 0;
    if (t->pidfd >= 0) {
        ev_fd_del(j->x->loop, t->pidfd);
        close(t->pidfd);
        t->pidfd = -1;
    }
    if (t->status > j->status)
        j->status = t->status;
    if (--j->nlive > 0)
        return false;
    job_finish(j);
    return true;
}

static void pidfd_cb(struct ev_loop *loop, int fd, int events, void *arg)
{
    task_reap(arg);
}

static void poll_timer_cb(struct ev_loop *loop, uint64_t timer_id, void *arg)
{
    struct xjob *j = arg;
    j->poll_timer = 0;
    for (int i = 0; i < j->ntasks; i++) {
        struct xtask *t = &j->tasks[i];
        if (t->pid > 0 && t->pidfd < 0 && task_reap(t))
            return;
    }
    /* If this fails the job can still be ended with exec_destroy. */
    j->poll_timer = ev_timer_add(loop, EXEC_POLL_SECS, poll_timer_cb, j);
}

int exec_signal(struct exec *x, uint64_t id, int sig)
{
    struct xjob *j = job_lookup(x, id);
    if (!j)
        return -ENOENT;
    for (int i = 0; i < j->ntasks; i++)
        if (j->tasks[i].pid > 0)
            kill(-j->tasks[i].pid, sig);
    return 0;
}

static void kill_timer_cb(struct ev_loop *loop, uint64_t timer_id, void *arg)
{
    struct xjob *j = arg;
    j->kill_timer = 0;
    exec_signal(j->x, j->id, SIGKILL);
}

int exec_terminate(struct exec *x, uint64_t id, double grace)
{
    struct xjob *j = job_lookup(x, id);
    if (!j)
        return -ENOENT;
    exec_signal(x, id, SIGTERM);
    /* A repeated terminate keeps the first deadline rather than extend it;
     * a job already finishing needs no timer. */
    if (j->nlive > 0 && !j->kill_timer) {
        j->kill_timer = ev_timer_add(x->loop, grace, kill_timer_cb, j);
        if (!j->kill_timer)
            return -ENOMEM;
    }
    return 0;
}

size_t exec_active(const struct exec *x)
{
    size_t n = 0;
    for (const struct xjob *j = x->jobs; j; j = j->next)
        if (j->nlive > 0)
            n++;
    return n;
}

/* --- child side: async-signal-safe calls only --- */

/* Write "fluxfs: <pre><subject><post>: <reason>" to the task's stderr. */
static void child_say(const char *pre, const char *subject, const char *post,
                      const char *reason)
{
    char msg[512];
    size_t len = 0;
    const char *parts[] = { "fluxfs: ", pre, subject, post, ": ", reason, "\n" };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        for (const char *s = parts[i]; s && *s && len < sizeof(msg) - 1; s++)
            msg[len++] = *s;
    }
    ssize_t rc = write(STDERR_FILENO, msg, len);
    (void)rc;
}

static _Noreturn void child_fail(const char *pre, const char *subject, const char *post,
                                 int err, int code)
{
    /* strerrordesc_np: a static string, no locale or malloc after fork. */
    const char *desc = strerrordesc_np(err);
    child_say(pre, subject, post, desc ? desc : "unknown error");
    _exit(code);
}

/* Put fd on target for exec, whatever fd numbers pipe() happened to pick. */
static void child_stdio(const struct xspawn *s)
{
    int src[3] = { s->null_r, s->out_w, s->err_w };
    /* Move sources above 2 first, so dup2 onto 0..2 cannot clobber one. */
    for (int i = 0; i < 3; i++) {
        int fd = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
            _exit(126);
        src[i] = fd;
    }
    for (int i = 0; i < 3; i++)
        if (dup2(src[i], i) < 0)
            _exit(126);
}

static void child_signals(void)
{
    struct sigaction sa = { .sa_handler = SIG_DFL };
    sigemptyset(&sa.sa_mask);
    /* Ignored signals survive exec, so SIG_IGN set by the broker (SIGPIPE)
     * would leak into the job without this. */
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static _Noreturn void child_run(const struct xspawn *s)
{
    const struct exec_job *job = s->job;
    const struct exec_task *task = s->task;

    child_signals();
    setpgid(0, 0);
    /* The parent may have died before prctl took effect. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != s->parent)
        _exit(1);
    if (task->ncpus > 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        for (int i = 0; i < task->ncpus; i++)
            if (task->cpus[i] >= 0 && task->cpus[i] < CPU_SETSIZE)
                CPU_SET(task->cpus[i], &set);
        sched_setaffinity(0, sizeof(set), &set);
    }
    child_stdio(s);
    /* Keep the broker's fds (FUSE device, store, sockets) out of the job
     * even if someone forgot O_CLOEXEC. Mark them rather than close them
     * here: closing a file on our own mount (the publisher may hold one)
     * sends a FUSE flush that the broker, suspended in vfork, could not
     * answer. At exec the broker is already running again. */
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    /* Raw syscalls: glibc's wrappers would signal the broker's threads to
     * change their credentials too, and this child shares their memory. */
    if (s->drop_user) {
        if (syscall(SYS_setgroups, 1, &job->gid) < 0)
            child_fail("setgroups", "", "", errno, 126);
        if (syscall(SYS_setgid, job->gid) < 0)
            child_fail("setgid", "", "", errno, 126);
        if (syscall(SYS_setuid, job->uid) < 0)
            child_fail("setuid", "", "", errno, 126);
    }
    if (job->cwd && chdir(job->cwd) < 0)
        child_fail("cwd '", job->cwd, "'", errno, 1);
    /* execvpe searches the PATH of the job's environment, not the broker's;
     * environ itself must not change: it is the broker's memory. */
    execvpe(job->argv[0], job->argv, s->envp ? s->envp : environ);
    int err = errno;
    child_fail("", job->argv[0], "", err, err == ENOENT ? 127 : 126);
}

/* --- parent side --- */

static bool is_flux_var(const char *entry)
{
    for (size_t i = 0; i < NFLUX_VARS; i++) {
        size_t n = strlen(flux_vars[i]);
        if (strncmp(entry, flux_vars[i], n) == 0 && entry[n] == '=')
            return true;
    }
    return false;
}

static void strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The job-wide environment: the job's (as "k=v" strings owned here) or a
 * copy of environ's pointers (owned by libc), minus the FLUX_* names we set,
 * with room left for those at the end.  nowned says which to free. */
struct xenv {
    char **v;
    size_t n;        /* entries filled */
    size_t nowned;   /* leading entries we allocated */
    char *fixed[NFLUX_VARS];
};

static void xenv_release(struct xenv *e)
{
    strv_free(e->v, e->nowned);
    for (size_t i = 0; i < NFLUX_VARS; i++)
        free(e->fixed[i]);
}

static int xenv_init(struct xenv *e, const struct exec_job *job, struct errmsg *err)
{
    memset(e, 0, sizeof(*e));
    size_t cap = NFLUX_VARS + 1;
    if (job->environment) {
        if (!json_is_object(job->environment))
            return errmsg_set(err, -EINVAL, "environment is not an object");
        cap += json_object_size(job->environment);
    } else {
        for (char **p = environ; p && *p; p++)
            cap++;
    }
    if (!(e->v = calloc(cap, sizeof(char *))))
        goto nomem;
    if (job->environment) {
        const char *k;
        json_t *val;
        json_object_foreach(job->environment, k, val) {
            if (!json_is_string(val))
                return errmsg_set(err, -EINVAL, "environment '%s' is not a string", k);
            if (!*k || strchr(k, '='))
                return errmsg_set(err, -EINVAL, "environment name '%s' is invalid", k);
            char *s;
            if (asprintf(&s, "%s=%s", k, json_string_value(val)) < 0)
                goto nomem;
            if (is_flux_var(s)) {
                free(s);
                continue;
            }
            e->v[e->n++] = s;
            e->nowned++;
        }
    } else {
        for (char **p = environ; p && *p; p++)
            if (!is_flux_var(*p))
                e->v[e->n++] = *p;
    }
    char idbuf[32];
    const char *idstr = job->idstr;
    if (!idstr) {
        snprintf(idbuf, sizeof(idbuf), "%" PRIu64, job->id);
        idstr = idbuf;
    }
    if (asprintf(&e->fixed[0], "FLUX_JOB_ID=%s", idstr) < 0
        || asprintf(&e->fixed[1], "FLUX_JOB_SIZE=%d", job->ntasks) < 0
        || asprintf(&e->fixed[2], "FLUX_JOB_NNODES=%d", job->nnodes) < 0)
        goto nomem;
    for (size_t i = 0; i < 3; i++)
        e->v[e->n + i] = e->fixed[i];
    return 0;
nomem:
    return errmsg_set(err, -ENOMEM, "out of memory");
}

/* Fill in the per-task variables; the array stays NULL-terminated. */
static int xenv_task(struct xenv *e, const struct exec_task *task)
{
    for (size_t i = 3; i < NFLUX_VARS; i++) {
        free(e->fixed[i]);
        e->fixed[i] = NULL;
    }
    if (asprintf(&e->fixed[3], "FLUX_TASK_RANK=%d", task->rank) < 0
        || asprintf(&e->fixed[4], "FLUX_TASK_LOCAL_ID=%d", task->localid) < 0
        || asprintf(&e->fixed[5], "FLUX_TASK_NODEID=%d", task->nodeid) < 0)
        return -ENOMEM;
    for (size_t i = 3; i < NFLUX_VARS; i++)
        e->v[e->n + i] = e->fixed[i];
    e->v[e->n + NFLUX_VARS] = NULL;
    return 0;
}

static int spawn_task(struct xjob *j, struct xtask *t, struct xspawn *s)
{
    sigset_t all, old;
    sigfillset(&all);
    /* vfork, not fork: the child shares the broker's memory until exec, so
     * no page tables are copied and no copy-on-write faults (with TLB
     * shootdowns across the broker's threads) follow; this was the largest
     * cost per job. The child therefore only makes syscalls on data built
     * beforehand, and never returns. Signals stay blocked across it so no
     * broker handler runs in the child before child_signals() resets them. */
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid_t pid = s->use_fork ? fork() : vfork();
    if (pid == 0)
        child_run(s);
    int err = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0)
        return -err;
    /* Also from this side, so exec_signal reaches the group even if it
     * runs before the child gets scheduled. */
    setpgid(pid, pid);
    t->pid = pid;
    j->nlive++;
    t->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (t->pidfd < 0 && errno == ENOSYS) {
        if (!j->poll_timer)
            j->poll_timer = ev_timer_add(j->x->loop, EXEC_POLL_SECS, poll_timer_cb, j);
        return j->poll_timer ? 0 : -ENOMEM;
    }
    if (t->pidfd < 0)
        return -errno;
    int rc = ev_fd_add(j->x->loop, t->pidfd, EV_READ, pidfd_cb, t);
    if (rc < 0) {
        close(t->pidfd);
        t->pidfd = -1;
    }
    return rc;
}

static int open_pipe(struct xjob *j, int idx, int *wfd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
        int rc = -errno;
        close(p[0]);
        close(p[1]);
        return rc;
    }
    j->out[idx].fd = p[0];
    *wfd = p[1];
    return 0;
}

static int job_check(const struct exec *x, const struct exec_job *job, struct errmsg *err)
{
    if (!job || !job->argv || !job->argv[0] || !job->argv[0][0])
        return errmsg_set(err, -EINVAL, "empty command");
    if (job->ntasks < 1 || !job->tasks)
        return errmsg_set(err, -EINVAL, "job has no tasks");
    for (int i = 0; i < job->ntasks; i++)
        if (job->tasks[i].ncpus > 0 && !job->tasks[i].cpus)
            return errmsg_set(err, -EINVAL, "task %d has ncpus but no cpus", i);
    if (job_lookup(x, job->id))
        return errmsg_set(err, -EEXIST, "job %" PRIu64 " is already running", job->id);
    return 0;
}

static bool under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return path && strncmp(path, prefix, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* Could the child, before exec, need a file from the private path (its cwd,
 * its program, or a PATH directory there)? A vforked child that did would
 * wait for a FUSE reply from the very process it suspends. */
static bool touches_private(const struct exec *x, const struct exec_job *job, char **envp)
{
    const char *pp = x->private_path;
    if (!pp)
        return false;
    if (under(job->cwd, pp) || (job->cwd && job->cwd[0] != '/'))
        return true;
    if (strchr(job->argv[0], '/'))
        return job->argv[0][0] != '/' || under(job->argv[0], pp);
    const char *path = NULL;
    for (char **e = envp ? envp : environ; *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            path = *e + 5;
    if (!path)
        return false;
    /* an empty or relative PATH entry means the cwd, checked above */
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        if (n == 0 || p[0] != '/' || (strncmp(p, pp, strlen(pp)) == 0 &&
                                      (n == strlen(pp) || p[strlen(pp)] == '/')))
            return true;
        p += n + (p[n] == ':');
    }
    return false;
}

void exec_set_private_path(struct exec *x, const char *path)
{
    free(x->private_path);
    x->private_path = path ? strdup(path) : NULL;
}

int exec_start(struct exec *x, const struct exec_job *job, struct errmsg *err)
{
    int rc = job_check(x, job, err);
    if (rc < 0)
        return rc;

    struct xenv env;
    struct xspawn s = { .job = job, .out_w = -1, .err_w = -1, .null_r = -1,
                        .parent = getpid() };
    struct xjob *j = calloc(1, sizeof(*j));
    if (!j) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    j->x = x;
    j->id = job->id;
    j->out[0] = (struct xpipe){ j, -1, 1 };
    j->out[1] = (struct xpipe){ j, -1, 2 };
    if (!(j->tasks = calloc(job->ntasks, sizeof(*j->tasks)))) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto out_free_job;
    }
    j->ntasks = job->ntasks;
    for (int i = 0; i < j->ntasks; i++)
        j->tasks[i] = (struct xtask){ .job = j, .pidfd = -1 };

    if ((rc = xenv_init(&env, job, err)) < 0)
        goto out_release_env;
    s.envp = env.v;
    s.use_fork = touches_private(x, job, s.envp);
    s.drop_user = geteuid() == 0 && job->uid != geteuid();

    if ((rc = open_pipe(j, 0, &s.out_w)) < 0 || (rc = open_pipe(j, 1, &s.err_w)) < 0) {
        errmsg_set(err, rc, "pipe: %s", strerror(-rc));
        goto out_release_env;
    }
    s.null_r = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s.null_r < 0) {
        rc = errmsg_set(err, -errno, "/dev/null: %s", strerror(errno));
        goto out_release_env;
    }
    for (int i = 0; i < 2; i++) {
        if ((rc = ev_fd_add(x->loop, j->out[i].fd, EV_READ, pipe_cb, &j->out[i])) < 0) {
            errmsg_set(err, rc, "watching output: %s", strerror(-rc));
            goto out_release_env;
        }
    }
    for (int i = 0; i < j->ntasks; i++) {
        s.task = &job->tasks[i];
        if ((rc = xenv_task(&env, s.task)) < 0) {
            errmsg_set(err, rc, "out of memory");
            goto out_release_env;
        }
        if ((rc = spawn_task(j, &j->tasks[i], &s)) < 0) {
            errmsg_set(err, rc, "starting task %d: %s", s.task->rank, strerror(-rc));
            goto out_release_env;
        }
    }
    /* Link only once everything started; until then failure undoes all. */
    j->next = x->jobs;
    if (x->jobs)
        x->jobs->prev = j;
    x->jobs = j;
    j = NULL;
    rc = 0;
out_release_env:
    xenv_release(&env);
out_free_job:
    job_destroy(j);   /* NULL on success; kills and reaps what started */
out:
    /* Only the children hold the write ends: EOF comes when they exit. */
    if (s.out_w >= 0)
        close(s.out_w);
    if (s.err_w >= 0)
        close(s.err_w);
    if (s.null_r >= 0)
        close(s.null_r);
    return rc;
}

/* Does /proc/<pid>/environ hold exactly the string want? */
static bool environ_has(const char *pid, const char *want)
{
    char path[64], buf[65536];
    snprintf(path, sizeof(path), "/proc/%s/environ", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    for (char *p = buf; p < buf + n; p += strlen(p) + 1)
        if (strcmp(p, want) == 0)
            return true;
    return false;
}

int exec_kill_orphans(const char *idstr)
{
    char want[128];
    int count = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return -errno;
    snprintf(want, sizeof(want), "FLUX_JOB_ID=%s", idstr);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        pid_t pid = (pid_t)atoi(de->d_name);
        if (pid != getpid() && environ_has(de->d_name, want) && kill(pid, SIGKILL) == 0)
            count++;
    }
    closedir(d);
    return count;
}
