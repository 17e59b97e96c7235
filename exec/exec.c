/* exec.c - fork, bind and supervise the tasks of jobs (see exec.h).
 *
 * Each job gets one pipe per output stream, shared by its tasks; each task
 * gets a pidfd watched by the loop, so exits are seen without SIGCHLD.
 * Where pidfd_open is missing (kernels before 5.3, valgrind) a per-job
 * timer polls waitpid(WNOHANG) instead.
 *
 * Tasks are started by a launcher thread, not the loop: vfork suspends the
 * thread that calls it until the child has set itself up and exec'd (1-2 ms
 * per task on a small VM), and the loop must go on answering FUSE requests
 * and scheduling meanwhile. The loop hands the launcher (a work queue,
 * common/workq.h) a self-contained record (copies of everything the child
 * reads) and adopts the pids back on the loop, in order. A vforked child
 * may even touch our own mount: the loop is not the suspended thread, so
 * it answers.
 *
 * Another user's tasks (a system instance's, started by the privileged
 * helper) skip the launcher: the loop queues their requests to the helper
 * without waiting (imp_queue_spawn) and takes the pids as they come back,
 * so a start crosses one thread less each way.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common/jsonenv.h"
#include "exec/contain.h"
#include "exec/exec.h"
#include "exec/imp_client.h"
#include "exec/orphans.h"
#include "exec/pathcache.h"
#include "exec/pwcache.h"
#include "common/workq.h"
#include "exec/spawn.h"

#define EXEC_READ_MAX (64 * 1024)
#define EXEC_POLL_SECS 0.05

extern char **environ;

struct xjob;

struct xpipe {
    struct xjob *job;
    int fd;                  /* read end, -1 once closed */
    int stream;              /* 1 = stdout, 2 = stderr */
    int rank;                /* a labeled job's task (its own pipe), else -1 */
    char *line;              /* labeled: "RANK: " and a line not yet ended */
    size_t len, cap;
};

struct xtask {
    struct xjob *job;
    int nodeid;              /* its node's index in the job's R */
    pid_t pid;               /* also the process group; 0 once reaped */
    int pidfd;               /* -1 once reaped, or when polled */
    int status;
};

struct xjob {
    struct exec *x;
    uint64_t id;
    uint64_t serial;         /* names this start to the launcher */
    bool launching;          /* the launcher has not reported its pids yet */
    bool via_imp;            /* its tasks are another user's: signals go
                                through the privileged helper */
    int pending_sig;         /* signal asked for while launching, or 0 */
    struct xjob *prev, *next;
    struct xpipe out[2];     /* stdout, stderr (all tasks) */
    struct xpipe *tout;      /* labeled (exec_job.label): 2 per task, or NULL */
    struct xtask *tasks;
    int ntasks;
    int nlive;               /* tasks not yet reaped */
    int status;              /* max over reaped tasks */
    uint64_t kill_timer;     /* pending SIGKILL after terminate, or 0 */
    uint64_t poll_timer;     /* reaps tasks without a pidfd, or 0 */
};

/* One job's start, owned by the launcher until it reports back: nothing
 * in it points into memory the loop may change or free meanwhile. */
struct xlaunch {
    struct exec *x;
    uint64_t serial;
    struct xlaunch *next;    /* in struct exec's queued */
    int ntasks;
    char **argv;             /* owned, NULL-terminated */
    char *cwd;               /* owned, or NULL */
    char *out_path, *err_path, *in_path;   /* owned, or NULL */
    char **env;              /* owned job-wide "k=v" strings ... */
    size_t nenv;
    char **env_copy;         /* ... but env[env_own0 .. env_own1) point into
                              * this copy of the job's own environment, one
                              * allocation (jsonenv_dup): a strdup each was
                              * a malloc and a free per variable per job */
    size_t env_own0, env_own1;
    char ***envp;            /* per task: env's pointers + its own FLUX_TASK_* */
    int **cpus;              /* per task, owned */
    int *ncpus;
    uid_t uid;
    gid_t gid;
    bool drop_user;          /* another user's job */
    bool via_imp;            /* ... started by the privileged helper */
    uint64_t job;
    int out_w, err_w;
    int null_r;              /* struct exec's null_fd (borrowed) */
    int *tout_w;             /* labeled: each task's stdout, stderr write ends */
    pid_t parent;
    const int *sigs;         /* signals to reset to SIG_DFL (struct exec's) */
    int nsigs;
    char *path;              /* argv[0] found on the job's PATH, or NULL */
    pid_t *pids;             /* result: pid, or -errno if it could not start */
    int procs_fd;            /* the job's cgroup.procs (contain.h), or -1 */
    int cpuset_fd;           /* its cpuset group's, or -1 */
    int memory_fd;           /* its memory group's, or -1 */
    gid_t *groups;           /* drop_user: the user's groups, from the user
                                database (never the request's) */
    int ngroups;
    int waiting;             /* tasks queued to the helper, pid not back yet */
    int answered;            /* ... and the next of them to be answered */
};

/* A job's containment group, from exec_contain() to its removal. */
struct xcontain {
    uint64_t id;
    struct contain *c;       /* ours, or NULL: the privileged helper's */
    bool cpus_set;           /* (the helper's) its cpuset was filled */
    bool memory_set;         /* its memory limit was asked for */
    uint64_t timer;          /* retrying the removal, or 0 */
    int tries;
    struct exec *x;
    struct xcontain *next;
};

struct exec {
    struct ev_loop *loop;
    const struct exec_ops *ops;
    void *arg;
    struct xjob *jobs;
    uint64_t serial;
    char buf[EXEC_READ_MAX];
    int sigs[NSIG];          /* signals not at SIG_DFL when created */
    int nsigs;

    /* the launcher: a thread (started by the first launch) that forks
     * and execs tasks while the loop goes on; each launch is adopted on
     * the loop in the order they were asked for */
    struct workq *launcher;
    int null_fd;                       /* /dev/null, every task's stdin:
                                        * opening it per job was 2% of the
                                        * broker's loop */
    struct pathcache *paths;           /* the launcher's own */
    struct pwcache *users;             /* the loop's: another user's HOME... */
    struct xcontain *contains;         /* jobs' containment groups */

    /* launches whose tasks the loop asked the helper to start itself
     * (imp_queue_spawn), in the order asked (by next), until their pids
     * come back: no hop through the launcher thread, two wakeups fewer on
     * the way to every start */
    struct xlaunch *queued, **queued_tail;
    bool queue_watched;                /* imp_queue_fd() is in the loop */
    bool queue_broken;                 /* it failed: the launcher starts them */
    bool cpuset_warned;                /* said once that cpusets fail here */
    bool memory_warned;                /* ... and memory groups */
};

static const char *const flux_vars[] = {
    "FLUX_JOB_ID", "FLUX_JOB_SIZE", "FLUX_JOB_NNODES",
    "FLUX_TASK_RANK", "FLUX_TASK_LOCAL_ID", "FLUX_TASK_NODEID",
    "FLUXFS_INSTANCE", "FLUXFS_MOUNT",
};

/* "FLUXFS_INSTANCE=<token>" (exec_set_instance()), or "" */
static char instance_env[16 + EXEC_INSTANCE_MAX + 1];
/* The privileged helper of a system instance (exec_set_imp()), or NULL:
 * process-wide, as the instance is. */
static struct imp *imp_of_broker;
static uid_t imp_broker_uid;   /* the user the broker runs as beside it */
/* The tasks' nice (exec_set_task_nice()), if the broker's differs */
static bool task_nice_set;
static int task_nice;
#define NFLUX_VARS (sizeof(flux_vars) / sizeof(flux_vars[0]))

/* The instance part of the groups' path: this broker's token. */
static const char *instance_token(void)
{
    const char *eq = strchr(instance_env, '=');
    return eq ? eq + 1 : "";
}

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

static void label_flush(struct xpipe *p)
{
    struct exec *x = p->job->x;
    if (p->len > 0 && x->ops->output)
        x->ops->output(x->arg, p->job->id, p->stream, p->line, p->len);
    p->len = 0;
}

/* The task's last line, ended for it: labeled output is whole lines. */
static void label_end(struct xpipe *p)
{
    if (p->len > 0 && p->line[p->len - 1] != '\n' && p->len < p->cap)
        p->line[p->len++] = '\n';
    label_flush(p);
}

static void pipe_close(struct xjob *j, struct xpipe *p)
{
    if (p->fd < 0)
        return;
    ev_fd_del(j->x->loop, p->fd);
    close(p->fd);
    p->fd = -1;
    if (p->rank >= 0)
        label_end(p);
}

/* A labeled task's bytes: whole lines, each after "RANK: ", as flux run -l
 * shows them; a line longer than EXEC_READ_MAX goes in pieces. */
static void label_output(struct xpipe *p, const char *data, size_t n)
{
    struct exec *x = p->job->x;
    while (n > 0) {
        if (p->len == 0) {
            char head[16];
            int h = snprintf(head, sizeof(head), "%d: ", p->rank);
            if (p->cap < (size_t)h + EXEC_READ_MAX) {
                char *b = realloc(p->line, (size_t)h + EXEC_READ_MAX);
                if (!b) {
                    if (x->ops->output)   /* unlabeled rather than lost */
                        x->ops->output(x->arg, p->job->id, p->stream, data, n);
                    return;
                }
                p->line = b;
                p->cap = (size_t)h + EXEC_READ_MAX;
            }
            memcpy(p->line, head, (size_t)h);
            p->len = (size_t)h;
        }
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) + 1 : n;
        if (take > p->cap - p->len)
            take = p->cap - p->len;
        memcpy(p->line + p->len, data, take);
        p->len += take;
        data += take;
        n -= take;
        if (p->line[p->len - 1] == '\n' || p->len == p->cap)
            label_flush(p);
    }
}

/* SIGKILL a task and its group, and reap it if it has already gone. Never
 * waits: a task killed while it waits in the kernel (a FLUSH on the
 * broker's own mount cannot be interrupted, even by SIGKILL) exits only
 * once that is answered, and the caller may be the thread that would
 * answer it. One not reaped here is reaped by init once we have exited. */
static void kill_task(pid_t pid, bool via_imp)
{
    /* The group may not exist yet if the child has not run. */
    if (via_imp && imp_of_broker) {
        imp_signal(imp_of_broker, pid, SIGKILL);
    } else {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    while (waitpid(pid, NULL, WNOHANG) < 0 && errno == EINTR)
        ;
}

/* Kill whatever is left, release fds and memory.  No callbacks. */
static void job_destroy(struct xjob *j)
{
    if (!j)
        return;
    for (int i = 0; i < j->ntasks; i++) {
        struct xtask *t = &j->tasks[i];
        if (t->pid > 0) {
            kill_task(t->pid, j->via_imp);
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
    for (int i = 0; j->tout && i < 2 * j->ntasks; i++) {
        pipe_close(j, &j->tout[i]);
        free(j->tout[i].line);
    }
    free(j->tout);
    if (j->kill_timer)
        ev_timer_cancel(j->x->loop, j->kill_timer);
    if (j->poll_timer)
        ev_timer_cancel(j->x->loop, j->poll_timer);
    free(j->tasks);
    free(j);
}

static void launch_discard(struct xlaunch *l);
static void launch_free(struct xlaunch *l);

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
    x->queued_tail = &x->queued;
    x->null_fd = -1;
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;
        if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL)
            x->sigs[x->nsigs++] = sig;
    }
    if (!(x->launcher = workq_create(loop, "fluxfs-launch")))   /* top -H, bench-cpu.sh */
        goto error;
    if ((x->null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
        goto error;
    if (!(x->paths = pathcache_create()) || !(x->users = pwcache_create(NULL)))
        goto error;
    return x;
error:
    exec_destroy(x);
    errno = ENOMEM;
    return NULL;
}

void exec_destroy(struct exec *x)
{
    if (!x)
        return;
    /* what was started is killed; what was not, never will be (a task
     * still queued to the helper dies with us: its parent is the broker) */
    workq_destroy(x->launcher);   /* each launch canceled: launch_done */
    while (x->queued) {
        struct xlaunch *l = x->queued;
        x->queued = l->next;
        launch_discard(l);   /* the tasks answered so far */
    }
    if (x->queue_watched && imp_of_broker)   /* the helper outlives us (broker.c) */
        ev_fd_del(x->loop, imp_queue_fd(imp_of_broker));
    while (x->jobs) {
        struct xjob *j = x->jobs;
        job_unlink(j);
        job_destroy(j);
    }
    if (x->null_fd >= 0)
        close(x->null_fd);
    /* what is left in jobs' groups dies with the broker; groups whose
     * members are still dying are left for the next start (reattach) */
    while (x->contains) {
        struct xcontain *xc = x->contains;
        x->contains = xc->next;
        if (xc->timer)
            ev_timer_cancel(x->loop, xc->timer);
        if (xc->c) {
            contain_kill(xc->c);
            contain_destroy(xc->c);
        } else if (imp_of_broker) {
            imp_release(imp_of_broker, xc->id, true);
        }
        free(xc);
    }
    if (!imp_of_broker)
        contain_remove_instance(NULL, instance_token());
    pathcache_destroy(x->paths);
    pwcache_destroy(x->users);
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
    if (p->rank >= 0)
        label_output(p, x->buf, (size_t)n);
    else if (x->ops->output)
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
    for (int i = 0; j->tout && i < 2 * j->ntasks; i++) {
        pipe_drain(&j->tout[i]);
        label_end(&j->tout[i]);
    }
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
    if (r > 0 && !j->via_imp)
        kill(-t->pid, SIGKILL);   /* (the helper does it for its own) */
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
    /* tasks still being started get it once they exist; SIGKILL wins */
    if (j->launching && j->pending_sig != SIGKILL)
        j->pending_sig = sig;
    for (int i = 0; i < j->ntasks; i++) {
        if (j->tasks[i].pid <= 0)
            continue;
        if (j->via_imp && imp_of_broker)
            imp_signal(imp_of_broker, j->tasks[i].pid, sig);
        else
            kill(-j->tasks[i].pid, sig);
    }
    return 0;
}

int exec_node_active(struct exec *x, uint64_t id, int nodeid)
{
    struct xjob *j = job_lookup(x, id);
    if (!j)
        return -ENOENT;
    if (j->launching)
        return 1;   /* no task has a pid yet: all may still run */
    for (int i = 0; i < j->ntasks; i++)
        if (j->tasks[i].nodeid == nodeid && j->tasks[i].pid > 0)
            return 1;
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

static void launch_free(struct xlaunch *l)
{
    if (!l)
        return;
    for (char **p = l->argv; p && *p; p++)
        free(*p);
    free(l->argv);
    free(l->cwd);
    free(l->out_path);
    free(l->err_path);
    free(l->in_path);
    for (size_t i = 0; l->env && i < l->nenv; i++)
        if (i < l->env_own0 || i >= l->env_own1)
            free(l->env[i]);
    free(l->env);
    free(l->env_copy);
    for (int k = 0; l->envp && k < l->ntasks; k++) {
        if (l->envp[k])
            for (size_t i = l->nenv; i < l->nenv + NFLUX_VARS; i++)
                free(l->envp[k][i]);
        free(l->envp[k]);
    }
    free(l->envp);
    for (int k = 0; l->cpus && k < l->ntasks; k++)
        free(l->cpus[k]);
    free(l->cpus);
    free(l->ncpus);
    free(l->pids);
    free(l->path);
    if (l->out_w >= 0)
        close(l->out_w);
    if (l->err_w >= 0)
        close(l->err_w);
    for (int i = 0; l->tout_w && i < 2 * l->ntasks; i++)
        if (l->tout_w[i] >= 0)
            close(l->tout_w[i]);
    free(l->tout_w);
    if (l->procs_fd >= 0)
        close(l->procs_fd);
    if (l->cpuset_fd >= 0)
        close(l->cpuset_fd);
    if (l->memory_fd >= 0)
        close(l->memory_fd);
    free(l->groups);
    free(l);
}

/* The job-wide environment as owned "k=v" strings: the job's, or the
 * broker's, minus the FLUX_* names set here, plus FLUX_JOB_*; room is left
 * for the per-task names. */
/* Names a job of another user gets from the user database, never from
 * the request or the broker. */
static bool is_identity_var(const char *entry)
{
    static const char *const names[] = { "HOME=", "USER=", "LOGNAME=", "SHELL=" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strncmp(entry, names[i], strlen(names[i])))
            return true;
    return false;
}

/* A job of another user (the broker is root): its groups and its HOME,
 * USER, LOGNAME and SHELL from the user database, as login(1) would set
 * them. A uid the database does not know keeps its primary group only. */
static int launch_identity(struct xlaunch *l, char **ident, struct errmsg *err)
{
    const struct pwcache_entry *pw;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int rc = pwcache_get(l->x->users, l->uid, now.tv_sec, &pw);
    if (rc == -ENOMEM)
        return errmsg_set(err, -ENOMEM, "out of memory");
    if (rc < 0)
        return 0;
    int n = 16;
    /* the privileged helper reads the groups itself, and only its count */
    for (int tries = 0; tries < 8 && !l->via_imp; tries++) {
        gid_t *g = realloc(l->groups, (size_t)n * sizeof(gid_t));
        if (!g)
            return errmsg_set(err, -ENOMEM, "out of memory");
        l->groups = g;
        int want = n;
        if (getgrouplist(pw->name, l->gid, l->groups, &want) >= 0) {
            l->ngroups = want;
            break;
        }
        n = want > n ? want : 2 * n;
    }
    if (asprintf(&ident[0], "HOME=%s", pw->dir) < 0 ||
        asprintf(&ident[1], "USER=%s", pw->name) < 0 ||
        asprintf(&ident[2], "LOGNAME=%s", pw->name) < 0 ||
        asprintf(&ident[3], "SHELL=%s", pw->shell) < 0)
        return errmsg_set(err, -ENOMEM, "out of memory");
    return 4;
}

/* "k=v" in one allocation (asprintf's formatting was most of a job's
 * environment's cost). */
static char *kv_join(const char *k, size_t klen, const char *v, size_t vlen)
{
    char *s = malloc(klen + vlen + 2);
    if (s) {
        memcpy(s, k, klen);
        s[klen] = '=';
        memcpy(s + klen + 1, v, vlen);
        s[klen + 1 + vlen] = '\0';
    }
    return s;
}

/* One of the job's own "k=v" strings into l->env, less what the broker
 * sets itself: 0, or -1 out of memory. */
static int launch_env_add(struct xlaunch *l, char *s, int nident)
{
    if (!s)
        return -1;
    if (is_flux_var(s) || (nident && is_identity_var(s)))
        free(s);
    else
        l->env[l->nenv++] = s;
    return 0;
}

static int launch_env(struct xlaunch *l, const struct exec_job *job, struct errmsg *err)
{
    size_t cap = 4 + 6;
    char *ident[4] = { NULL, NULL, NULL, NULL };
    int nident = l->drop_user ? launch_identity(l, ident, err) : 0;
    if (nident < 0)
        return nident;
    if (job->environment) {
        if (!json_is_object(job->environment))
            return errmsg_set(err, -EINVAL, "environment is not an object");
        cap += json_object_size(job->environment);
    } else if (job->env) {
        for (char *const *p = job->env; *p; p++)
            cap++;
    } else {
        for (char **p = environ; p && *p; p++)
            cap++;
    }
    if (!(l->env = calloc(cap, sizeof(char *)))) {
        for (int i = 0; i < 4; i++)
            free(ident[i]);
        goto nomem;
    }
    for (int i = 0; i < nident; i++)
        l->env[l->nenv++] = ident[i];
    if (job->environment) {
        const char *k;
        json_t *val;
        json_object_foreach(job->environment, k, val) {
            if (!json_is_string(val))
                return errmsg_set(err, -EINVAL, "environment '%s' is not a string", k);
            if (!*k || strchr(k, '='))
                return errmsg_set(err, -EINVAL, "environment name '%s' is invalid", k);
            if (launch_env_add(l, kv_join(k, strlen(k), json_string_value(val),
                                          json_string_length(val)), nident) < 0)
                goto nomem;
        }
    } else if (job->env) {
        if (!(l->env_copy = jsonenv_dup(job->env)))
            goto nomem;
        l->env_own0 = l->nenv;
        for (char **p = l->env_copy; *p; p++) {
            const char *eq = strchr(*p, '=');
            if (!eq || eq == *p)
                return errmsg_set(err, -EINVAL, "environment entry '%.64s' is invalid", *p);
            if (!is_flux_var(*p) && !(nident && is_identity_var(*p)))
                l->env[l->nenv++] = *p;
            l->env_own1 = l->nenv;
        }
    } else if (l->drop_user) {
        /* another user's job never sees the root broker's environment */
        if (!(l->env[l->nenv++] = strdup("PATH=/usr/local/bin:/usr/bin:/bin")))
            goto nomem;
        if (!nident && !(l->env[l->nenv++] = strdup("HOME=/")))
            goto nomem;
    } else {
        for (char **p = environ; p && *p; p++)
            if (!is_flux_var(*p) && !(l->env[l->nenv++] = strdup(*p)))
                goto nomem;
    }
    char idbuf[32];
    const char *idstr = job->idstr;
    if (!idstr) {
        snprintf(idbuf, sizeof(idbuf), "%" PRIu64, job->id);
        idstr = idbuf;
    }
    if (asprintf(&l->env[l->nenv], "FLUX_JOB_ID=%s", idstr) < 0)
        goto nomem;
    l->nenv++;
    if (asprintf(&l->env[l->nenv], "FLUX_JOB_SIZE=%d", job->size > 0 ? job->size : job->ntasks) < 0)
        goto nomem;
    l->nenv++;
    if (asprintf(&l->env[l->nenv], "FLUX_JOB_NNODES=%d", job->nnodes) < 0)
        goto nomem;
    l->nenv++;
    if (instance_env[0] && !(l->env[l->nenv++] = strdup(instance_env)))
        goto nomem;
    if (job->mount) {
        if (asprintf(&l->env[l->nenv], "FLUXFS_MOUNT=%s", job->mount) < 0)
            goto nomem;
        l->nenv++;
    }
    return 0;
nomem:
    return errmsg_set(err, -ENOMEM, "out of memory");
}

/* Task k's environment: the job's strings, then its own FLUX_TASK_*. */
static int launch_task_env(struct xlaunch *l, int k, const struct exec_task *task)
{
    char **v = calloc(l->nenv + NFLUX_VARS + 1, sizeof(char *));
    if (!(l->envp[k] = v))
        return -ENOMEM;
    memcpy(v, l->env, l->nenv * sizeof(char *));
    char **own = v + l->nenv;   /* freed by launch_free; the rest stay NULL */
    /* asprintf leaves its pointer undefined on failure: keep it NULL */
    if (asprintf(&own[0], "FLUX_TASK_RANK=%d", task->rank) < 0)
        return own[0] = NULL, -ENOMEM;
    if (asprintf(&own[1], "FLUX_TASK_LOCAL_ID=%d", task->localid) < 0)
        return own[1] = NULL, -ENOMEM;
    if (asprintf(&own[2], "FLUX_TASK_NODEID=%d", task->nodeid) < 0)
        return own[2] = NULL, -ENOMEM;
    return 0;
}

/* The job's cpus on this node (its tasks' affinity lists) into its cpuset;
 * a job with unbound tasks (cpus unknown here) keeps the machine's. */
static void contain_job_cpus(struct exec *x, struct xcontain *xc, const struct exec_job *job)
{
    cpu_set_t seen;
    int set[CPU_SETSIZE], n = 0;
    CPU_ZERO(&seen);
    for (int k = 0; k < job->ntasks; k++) {
        const struct exec_task *t = &job->tasks[k];
        if (t->ncpus == 0)
            return;
        for (int i = 0; i < t->ncpus; i++) {
            int cpu = t->cpus[i];
            /* the cpus a task can be bound to (cpu_set_t) are all there is */
            if (cpu < 0 || cpu >= CPU_SETSIZE || CPU_ISSET(cpu, &seen))
                continue;
            CPU_SET(cpu, &seen);
            set[n++] = cpu;
        }
    }
    int rc = n == 0 ? 0 : xc->c ? contain_set_cpus(xc->c, set, n)
                                : imp_contain_cpus(imp_of_broker, job->id, set, n);
    if (rc < 0 && !x->cpuset_warned) {
        x->cpuset_warned = true;
        syslog(LOG_WARNING, "jobs' cpus are held by affinity only (no cpuset: %s)",
               strerror(-rc));
    }
}

/* The memory the job holds on the nodes whose tasks run here, as a limit
 * on its memory group; a job that holds none (no memory in its request or
 * the graph) has no limit. */
static void contain_job_memory(struct exec *x, struct xcontain *xc, const struct exec_job *job)
{
    uint64_t bytes = 0;
    if (!job->node_memory)
        return;
    for (int n = 0; n < job->nnodes; n++) {
        for (int k = 0; k < job->ntasks; k++) {
            if (job->tasks[k].nodeid == n) {
                bytes += job->node_memory[n];
                break;
            }
        }
    }
    if (bytes == 0)
        return;
    int rc = xc->c ? contain_set_memory(xc->c, bytes)
                   : imp_contain_memory(imp_of_broker, job->id, bytes);
    if (rc < 0 && !x->memory_warned) {
        x->memory_warned = true;
        syslog(LOG_WARNING, "jobs' memory is not limited (no memory cgroup: %s)", strerror(-rc));
    }
}

/* Everything the children of job will read, copied. */
static int launch_create(struct exec *x, const struct exec_job *job, struct xlaunch **out,
                         struct errmsg *err)
{
    int rc;
    struct xlaunch *l = calloc(1, sizeof(*l));
    if (!l)
        return errmsg_set(err, -ENOMEM, "out of memory");
    l->x = x;   /* its caches (launch_identity) */
    l->out_w = l->err_w = l->null_r = l->procs_fd = l->cpuset_fd = l->memory_fd = -1;
    l->ntasks = job->ntasks;
    l->uid = job->uid;
    l->gid = job->gid;
    /* another user than the instance's owner (root, for a root-started
     * broker that dropped to its own user) gets its identity from the
     * user database and never the broker's environment */
    l->via_imp = imp_of_broker && job->uid != imp_broker_uid;
    l->drop_user = imp_of_broker ? job->uid != 0 : geteuid() == 0 && job->uid != geteuid();
    l->job = job->id;
    l->parent = getpid();
    l->sigs = x->sigs;
    l->nsigs = x->nsigs;
    size_t argc = 0;
    while (job->argv[argc])
        argc++;
    if (!(l->argv = calloc(argc + 1, sizeof(char *)))
        || !(l->envp = calloc(l->ntasks, sizeof(char **)))
        || !(l->cpus = calloc(l->ntasks, sizeof(int *)))
        || !(l->ncpus = calloc(l->ntasks, sizeof(int)))
        || !(l->pids = calloc(l->ntasks, sizeof(pid_t)))
        || (job->cwd && !(l->cwd = strdup(job->cwd)))
        || (job->out_path && !(l->out_path = strdup(job->out_path)))
        || (job->err_path && !(l->err_path = strdup(job->err_path)))
        || (job->in_path && !(l->in_path = strdup(job->in_path))))
        goto nomem;
    for (size_t i = 0; i < argc; i++)
        if (!(l->argv[i] = strdup(job->argv[i])))
            goto nomem;
    for (struct xcontain *xc = x->contains; xc; xc = xc->next) {
        if (xc->id != job->id || xc->timer)
            continue;
        if (!xc->memory_set) {
            contain_job_memory(x, xc, job);
            xc->memory_set = true;
        }
        if (!xc->c) {
            /* the helper's: it puts the tasks in, and holds the cpus */
            if (!xc->cpus_set) {
                contain_job_cpus(x, xc, job);
                xc->cpus_set = true;
            }
            continue;
        }
        if (contain_memory_fd(xc->c) >= 0
            && (l->memory_fd = fcntl(contain_memory_fd(xc->c), F_DUPFD_CLOEXEC, 3)) < 0) {
            rc = errmsg_set(err, -errno, "the job's memory group: %s", strerror(errno));
            goto error;
        }
        if ((l->procs_fd = fcntl(contain_procs_fd(xc->c), F_DUPFD_CLOEXEC, 3)) < 0) {
            rc = errmsg_set(err, -errno, "the job's cgroup: %s", strerror(errno));
            goto error;
        }
        /* its tasks' cpus here, held by a cpuset: affinity alone can be
         * undone by the task (sched_setaffinity, taskset) */
        if (contain_cpuset_fd(xc->c) < 0)
            contain_job_cpus(x, xc, job);
        if (contain_cpuset_fd(xc->c) >= 0
            && (l->cpuset_fd = fcntl(contain_cpuset_fd(xc->c), F_DUPFD_CLOEXEC, 3)) < 0) {
            rc = errmsg_set(err, -errno, "the job's cpuset: %s", strerror(errno));
            goto error;
        }
    }
    if ((rc = launch_env(l, job, err)) < 0)
        goto error;
    for (int k = 0; k < l->ntasks; k++) {
        const struct exec_task *t = &job->tasks[k];
        if (launch_task_env(l, k, t) < 0)
            goto nomem;
        if (t->ncpus > 0) {
            if (!(l->cpus[k] = malloc(t->ncpus * sizeof(int))))
                goto nomem;
            memcpy(l->cpus[k], t->cpus, t->ncpus * sizeof(int));
            l->ncpus[k] = t->ncpus;
        }
    }
    *out = l;
    return 0;
nomem:
    rc = errmsg_set(err, -ENOMEM, "out of memory");
error:
    launch_free(l);
    return rc;
}

/* Fork task k of l; the pid, or -errno. Its own frame, so nothing the
 * caller keeps in registers can be clobbered by the vforked child. */
/* Task k's stdin, stdout and stderr: its own pipes when labeled. */
static void task_stdio(const struct xlaunch *l, int k, int fds[3])
{
    fds[0] = l->null_r;
    fds[1] = l->tout_w ? l->tout_w[2 * k] : l->out_w;
    fds[2] = l->tout_w ? l->tout_w[2 * k + 1] : l->err_w;
}

/* What the privileged helper is asked to start for task k of l. */
static void imp_request(const struct xlaunch *l, int k, struct imp_spawn *is)
{
    *is = (struct imp_spawn){
        .argv = l->argv, .envp = l->envp[k], .path = NULL, .cwd = l->cwd,
        .out_path = l->out_path, .err_path = l->err_path, .in_path = l->in_path,
        .cpus = l->cpus[k], .ncpus = l->ncpus[k], .uid = l->uid, .job = l->job,
    };
    task_stdio(l, k, is->fds);
}

static __attribute__((noinline)) pid_t spawn_one(const struct xlaunch *l, int k,
                                                  struct errmsg *err)
{
    if (l->via_imp) {
        struct imp_spawn is;
        imp_request(l, k, &is);
        return imp_spawn(imp_of_broker, &is, err);
    }
    struct spawn s = {
        .argv = l->argv, .envp = l->envp[k], .path = l->path, .cwd = l->cwd,
        .out_path = l->out_path, .err_path = l->err_path, .in_path = l->in_path,
        .cpus = l->cpus[k], .ncpus = l->ncpus[k],
        .cgroup_fds = { l->procs_fd, l->cpuset_fd, l->memory_fd },
        .drop_user = l->drop_user && geteuid() == 0, .uid = l->uid, .gid = l->gid,
        .groups = l->groups, .ngroups = l->ngroups,
        .sigs = l->sigs, .nsigs = l->nsigs, .parent = l->parent, .deathsig = SIGKILL,
        .set_nice = task_nice_set, .nice = task_nice,
    };
    task_stdio(l, k, s.fds);
    pid_t pid = vfork();
    if (pid == 0)
        spawn_child(&s);
    if (pid < 0)
        errmsg_set(err, -errno, "%s", strerror(errno));
    return pid < 0 ? -errno : pid;
}

/* Launcher thread: start every task of l. vfork, not fork: the child
 * shares our memory until exec, so no page tables are copied and no
 * copy-on-write faults (with TLB shootdowns across the broker's threads)
 * follow. Signals stay blocked in this thread (launcher_main), so no
 * handler runs in the child before child_signals() resets them. */
/* argv[0] on PATH (the job's), as execvpe would find it: the first
 * executable regular file. NULL if it has a '/', or none was found (then
 * the child's execvpe reports the error). Runs on the launcher thread, so it
 * may look at our own mount. */
static char *resolve_path(const struct xlaunch *l)
{
    const char *prog = l->argv[0], *path = spawn_env_path(l->ntasks > 0 ? l->envp[0] : NULL);
    if (strchr(prog, '/'))
        return NULL;
    if (!path)
        path = "/bin:/usr/bin";   /* execvpe's default */
    for (const char *p = path;; p++) {
        size_t n = strcspn(p, ":");
        char file[PATH_MAX];
        struct stat st;
        /* an empty or relative entry is under the cwd, which the child has
         * not entered yet */
        if (n == 0 || *p != '/')
            return NULL;
        if ((size_t)snprintf(file, sizeof(file), "%.*s/%s", (int)n, p, prog) < sizeof(file)
            && stat(file, &st) == 0 && S_ISREG(st.st_mode) && access(file, X_OK) == 0)
            return strdup(file);
        p += n;
        if (!*p)
            return NULL;
    }
}

/* Like a shell's command hash: the same program on the same PATH is looked
 * up once a second, not once per job (pathcache.h). Only the launcher
 * thread touches it. */
static char *resolve_cached(struct exec *x, const struct xlaunch *l)
{
    const char *path = spawn_env_path(l->ntasks > 0 ? l->envp[0] : NULL);
    if (!path)
        path = "";
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const char *hit = pathcache_get(x->paths, 0, path, l->argv[0], ts.tv_sec);
    if (hit)
        return strdup(hit);
    char *r = resolve_path(l);
    if (r)
        pathcache_put(x->paths, 0, path, l->argv[0], r, ts.tv_sec);
    return r;
}

/* Task k of l could not start: say why on its stderr (0), or -1 if nobody
 * reads it any more. */
static int launch_task_failed(struct xlaunch *l, int k, const struct errmsg *err)
{
    char msg[sizeof(err->text) + 64];
    int n = snprintf(msg, sizeof(msg), "fluxfs: starting task %d: %s\n", k, err->text);
    int fds[3];
    task_stdio(l, k, fds);
    return fds[2] >= 0 && write(fds[2], msg, (size_t)n) < 0 ? -1 : 0;
}

static void launch_close_ends(struct xlaunch *l);

static void launch_run(struct exec *x, struct xlaunch *l)
{
    /* credentials change in the child: who may execute is decided there */
    if (!l->drop_user)
        l->path = resolve_cached(x, l);
    for (int k = 0; k < l->ntasks; k++) {
        struct errmsg err = { "" };
        pid_t pid = spawn_one(l, k, &err);
        l->pids[k] = pid;
        if (pid < 0) {
            if (launch_task_failed(l, k, &err) < 0)
                break;   /* nobody will read it: the job has gone */
        } else if (!l->via_imp) {
            /* also from this side, so a signal reaches the group even if it
             * comes before the child runs */
            setpgid(pid, pid);
        }
    }
    launch_close_ends(l);
}

/* Only the children hold the write ends now: EOF comes when they exit. */
static void launch_close_ends(struct xlaunch *l)
{
    close(l->out_w);
    close(l->err_w);
    l->out_w = l->err_w = l->null_r = -1;
    for (int i = 0; l->tout_w && i < 2 * l->ntasks; i++) {
        close(l->tout_w[i]);
        l->tout_w[i] = -1;
    }
}

/* The launcher's work: l's tasks forked and exec'd, on its thread. */
static void launch_work(void *arg)
{
    struct xlaunch *l = arg;
    launch_run(l->x, l);
}

/* Nothing to do on the thread: l only goes round to be adopted later. */
static void launch_nothing(void *arg)
{
    (void)arg;
}

static void launch_discard(struct xlaunch *l);
static void launch_adopt(struct exec *x, struct xlaunch *l);

/* Back on the loop: the tasks are adopted, or, at exec_destroy, killed. */
static void launch_done(void *arg, bool canceled)
{
    struct xlaunch *l = arg;
    if (canceled)
        launch_discard(l);   /* pids of tasks never started are 0: none killed */
    else
        launch_adopt(l->x, l);
}

/* Hand l to launch_done: adopted on a later iteration of the loop (never
 * inside exec_start()), after the launches asked for before it. */
static int launch_report(struct exec *x, struct xlaunch *l)
{
    return workq_push(x->launcher, launch_nothing, launch_done, l);
}

/* Kill what a launch started for a job that no longer wants it. */
static void launch_discard(struct xlaunch *l)
{
    for (int k = 0; k < l->ntasks; k++)
        if (l->pids[k] > 0)
            kill_task(l->pids[k], l->via_imp);
    launch_free(l);
}

/* The launcher reported: the job's tasks get their pids and watchers. */
static void launch_adopt(struct exec *x, struct xlaunch *l)
{
    struct xjob *j = x->jobs;
    while (j && j->serial != l->serial)
        j = j->next;
    if (!j) {
        launch_discard(l);     /* the job was destroyed meanwhile */
        return;
    }
    j->launching = false;
    for (int k = 0; k < l->ntasks; k++) {
        struct xtask *t = &j->tasks[k];
        if (l->pids[k] < 0) {
            t->status = 126;   /* could not start: as a shell would say */
            if (t->status > j->status)
                j->status = t->status;
            j->nlive--;
            continue;
        }
        t->pid = l->pids[k];
        t->pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
        if (t->pidfd >= 0 && ev_fd_add(x->loop, t->pidfd, EV_READ, pidfd_cb, t) < 0) {
            close(t->pidfd);
            t->pidfd = -1;
        }
        if (t->pidfd < 0 && !j->poll_timer)
            j->poll_timer = ev_timer_add(x->loop, EXEC_POLL_SECS, poll_timer_cb, j);
    }
    launch_free(l);
    if (j->pending_sig)
        exec_signal(x, j->id, j->pending_sig);
    if (j->nlive == 0)
        job_finish(j);
}

/* ---- starts queued to the privileged helper from the loop ---- */

/* The oldest queued task has its answer: pid, or -errno with why. Tasks
 * that could not be queued have their pids (< 0) already. */
static void asked_answer(struct exec *x, pid_t pid, const struct errmsg *err)
{
    struct xlaunch *l = x->queued;
    int k = l->answered;
    while (l->pids[k] != 0)
        k++;
    l->answered = k + 1;
    l->pids[k] = pid;
    if (pid < 0)
        launch_task_failed(l, k, err);
    if (--l->waiting > 0)
        return;
    if (!(x->queued = l->next))
        x->queued_tail = &x->queued;
    launch_close_ends(l);
    launch_adopt(x, l);
}

/* The channel failed: what it still owed did not start, and the launcher
 * thread starts what comes next. */
static void queue_fail(struct exec *x, int rc)
{
    struct errmsg err;
    errmsg_set(&err, rc, "the privileged helper: %s", strerror(-rc));
    syslog(LOG_ERR, "the privileged helper's spawn queue failed (%s): starting tasks through "
                    "the launcher from now on", strerror(-rc));
    x->queue_broken = true;
    if (x->queue_watched)
        ev_fd_del(x->loop, imp_queue_fd(imp_of_broker));
    x->queue_watched = false;
    while (x->queued)
        asked_answer(x, rc, &err);
}

static void queue_cb(struct ev_loop *loop, int fd, int events, void *arg)
{
    struct exec *x = arg;
    int rc;
    (void)loop;
    if ((events & EV_WRITE) && (rc = imp_queue_flush(imp_of_broker)) < 0) {
        queue_fail(x, rc);
        return;
    }
    for (;;) {
        struct errmsg err = { "" };
        pid_t pid;
        if ((rc = imp_queue_take(imp_of_broker, &pid, &err)) == -EAGAIN)
            break;
        if (rc < 0 || !x->queued) {
            queue_fail(x, rc < 0 ? rc : -EPROTO);   /* an answer nobody asked for */
            return;
        }
        asked_answer(x, pid, &err);
    }
    if (x->queue_watched)
        ev_fd_mod(x->loop, fd, imp_queue_waiting(imp_of_broker) ? EV_READ | EV_WRITE : EV_READ);
}

/* Queue l's tasks to the helper from the loop: 0, 1 to leave l to the
 * launcher thread (nothing queued), or -errno (nothing could be queued,
 * and l could not be reported either). */
static int launch_queue(struct exec *x, struct xlaunch *l)
{
    if (x->queue_broken)
        return 1;
    if (!x->queue_watched) {
        if (ev_fd_add(x->loop, imp_queue_fd(imp_of_broker), EV_READ, queue_cb, x) < 0)
            return 1;
        x->queue_watched = true;
    }
    for (int k = 0; k < l->ntasks; k++) {
        struct imp_spawn is;
        struct errmsg err = { "" };
        imp_request(l, k, &is);
        int rc = imp_queue_spawn(imp_of_broker, &is, &err);
        if (rc < 0) {
            l->pids[k] = rc;
            launch_task_failed(l, k, &err);
            continue;
        }
        l->waiting++;
    }
    /* our write ends stay open until every answer is in, for the reason a
     * task could not start; the queue holds copies until they are sent */
    if (l->waiting == 0) {
        launch_close_ends(l);
        return launch_report(x, l);
    }
    *x->queued_tail = l;
    x->queued_tail = &l->next;
    if (imp_queue_waiting(imp_of_broker))
        ev_fd_mod(x->loop, imp_queue_fd(imp_of_broker), EV_READ | EV_WRITE);
    return 0;
}

static int open_pipe(struct xjob *j, int idx, int *wfd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    j->out[idx].fd = p[0];
    *wfd = p[1];
    return 0;
}

/* A labeled job: a stdout and a stderr pipe per task, so that each line
 * can be said to be whose. */
static int open_task_pipes(struct xjob *j, const struct exec_job *job, struct xlaunch *l,
                           struct errmsg *err)
{
    int n = 2 * job->ntasks, rc;
    struct xpipe *tout = calloc((size_t)n, sizeof(*tout));
    int *tout_w = malloc((size_t)n * sizeof(int));
    if (!tout || !tout_w) {
        free(tout);
        free(tout_w);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    j->tout = tout;
    l->tout_w = tout_w;
    for (int i = 0; i < n; i++) {
        j->tout[i] = (struct xpipe){ .job = j, .fd = -1, .stream = 1 + i % 2,
                                     .rank = job->tasks[i / 2].rank };
        l->tout_w[i] = -1;
    }
    for (int i = 0; i < n; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
            return errmsg_set(err, -errno, "pipe: %s", strerror(errno));
        j->tout[i].fd = p[0];
        l->tout_w[i] = p[1];
        if ((rc = ev_fd_add(j->x->loop, p[0], EV_READ, pipe_cb, &j->tout[i])) < 0)
            return errmsg_set(err, rc, "watching output: %s", strerror(-rc));
    }
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

int exec_start(struct exec *x, const struct exec_job *job, struct errmsg *err)
{
    int rc = job_check(x, job, err);
    if (rc < 0)
        return rc;
    struct xlaunch *l = NULL;
    if ((rc = launch_create(x, job, &l, err)) < 0)
        return rc;
    struct xjob *j = calloc(1, sizeof(*j));
    if (!j) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    j->x = x;
    j->id = job->id;
    j->serial = l->serial = ++x->serial;
    j->launching = true;
    j->via_imp = l->via_imp;
    j->out[0] = (struct xpipe){ .job = j, .fd = -1, .stream = 1, .rank = -1 };
    j->out[1] = (struct xpipe){ .job = j, .fd = -1, .stream = 2, .rank = -1 };
    if (!(j->tasks = calloc(job->ntasks, sizeof(*j->tasks)))) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    j->ntasks = j->nlive = job->ntasks;
    for (int i = 0; i < j->ntasks; i++)
        j->tasks[i] = (struct xtask){ .job = j, .pidfd = -1, .nodeid = job->tasks[i].nodeid };
    if ((rc = open_pipe(j, 0, &l->out_w)) < 0 || (rc = open_pipe(j, 1, &l->err_w)) < 0) {
        errmsg_set(err, rc, "pipe: %s", strerror(-rc));
        goto error;
    }
    l->null_r = x->null_fd;
    for (int i = 0; i < 2; i++) {
        if ((rc = ev_fd_add(x->loop, j->out[i].fd, EV_READ, pipe_cb, &j->out[i])) < 0) {
            errmsg_set(err, rc, "watching output: %s", strerror(-rc));
            goto error;
        }
    }
    if (job->label && (rc = open_task_pipes(j, job, l, err)) < 0)
        goto error;
    j->next = x->jobs;
    if (x->jobs)
        x->jobs->prev = j;
    x->jobs = j;
    rc = l->via_imp ? launch_queue(x, l) : 1;
    if (rc == 1)
        rc = workq_push(x->launcher, launch_work, launch_done, l);
    if (rc < 0) {
        errmsg_set(err, rc, "starting its tasks: %s", strerror(-rc));
        job_unlink(j);
        goto error;
    }
    return 0;
error:
    job_destroy(j);
    launch_free(l);
    return rc;
}

/* ---- containment (contain.h) ---- */

static struct xcontain **contain_find(struct exec *x, uint64_t id)
{
    struct xcontain **pp = &x->contains;
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    return pp;
}

static void contain_free(struct exec *x, struct xcontain *xc)
{
    struct xcontain **pp = &x->contains;
    while (*pp != xc)
        pp = &(*pp)->next;
    *pp = xc->next;
    if (xc->c)
        contain_destroy(xc->c);
    else if (imp_of_broker)
        imp_release(imp_of_broker, xc->id, true);   /* forgotten there too */
    free(xc);
}

/* Kill what is in the job's groups: true once they are empty and gone. */
static bool contain_empty(struct xcontain *xc)
{
    if (xc->c)
        return contain_kill(xc->c);
    return !imp_of_broker || imp_release(imp_of_broker, xc->id, false) != 0;
}

int exec_contain(struct exec *x, uint64_t id, const char *idstr)
{
    struct xcontain **pp = contain_find(x, id);
    if (*pp)
        return (*pp)->timer ? -EBUSY : 0;
    struct xcontain *xc = calloc(1, sizeof(*xc));
    if (!xc)
        return -ENOMEM;
    int rc = imp_of_broker ? imp_contain(imp_of_broker, id, idstr)
                           : contain_create(NULL, instance_token(), idstr, &xc->c);
    if (rc < 0) {
        free(xc);
        return rc;
    }
    xc->id = id;
    xc->x = x;
    xc->next = x->contains;
    x->contains = xc;
    return 0;
}

static void contain_retry(struct ev_loop *loop, uint64_t timer_id, void *arg)
{
    struct xcontain *xc = arg;
    xc->timer = 0;
    /* killed members leave the group as they exit: moments, not minutes;
     * a member stuck in the kernel (D state) is given up on after 10 s */
    if (contain_empty(xc) || ++xc->tries >= 100) {
        contain_free(xc->x, xc);
        return;
    }
    xc->timer = ev_timer_add(loop, 0.1, contain_retry, xc);
}

void exec_release(struct exec *x, uint64_t id)
{
    struct xcontain *xc = *contain_find(x, id);
    if (!xc || xc->timer)
        return;
    if (contain_empty(xc))
        contain_free(x, xc);
    else
        xc->timer = ev_timer_add(x->loop, 0.1, contain_retry, xc);
}

int exec_kill_group(const char *idstr)
{
    struct contain *c;
    if (imp_of_broker)
        return imp_kill_group(imp_of_broker, idstr);
    if (!contain_exists(NULL, instance_token(), idstr) ||
        contain_create(NULL, instance_token(), idstr, &c) < 0)
        return 0;
    /* one pass: what a crashed broker's job left is frozen and killed now */
    contain_kill(c);
    contain_destroy(c);
    return 1;
}

int exec_set_instance(const char *token)
{
    size_t len = token ? strlen(token) : 0;
    if (len == 0 || len > EXEC_INSTANCE_MAX)
        return -EINVAL;
    for (const char *p = token; *p; p++)
        if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9')
            && *p != '-' && *p != '_' && *p != '.')
            return -EINVAL;
    snprintf(instance_env, sizeof(instance_env), "FLUXFS_INSTANCE=%s", token);
    return 0;
}

int exec_kill_orphans(const char *idstr)
{
    if (imp_of_broker)
        return imp_kill_orphans(imp_of_broker, idstr);
    return orphans_kill(instance_token(), idstr);
}

void exec_set_task_nice(int nice)
{
    task_nice_set = true;
    task_nice = nice;
}

void exec_set_imp(struct imp *imp, uid_t broker_uid)
{
    imp_of_broker = imp;
    imp_broker_uid = broker_uid;
}
