/* nest.c - nested instances: spawn, link, stop and archive child brokers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <limits.h>
#include "exec/imp_client.h"
#include "fsd/nest_private.h"
#include "fsd/nestdir.h"


const char *const nest_entries[NEST_NENTRIES] = {
    "queue", "jobs", "resources", "status", "status.json", "README", "events", "joblist",
    "accounting",
};
_Static_assert(NEST_NENTRIES < NEST_INO_SPAN, "a nest's entries fit its inode span");

static const char *state_names[] = {
    [NEST_STARTING] = "starting", [NEST_LIVE] = "live", [NEST_STOPPING] = "stopping",
    [NEST_ARCHIVING] = "archiving", [NEST_ARCHIVE] = "archive", [NEST_DEAD] = "dead",
};

static void nest_stopped(struct nest *n);

const char *nest_name(const struct nest *n)
{
    return n->name;
}

int nest_slot(const struct nest *n)
{
    return n->slot;
}

uid_t nest_uid(const struct nest *n)
{
    return n->uid;
}

double nest_ctime(const struct nest *n)
{
    return n->ctime;
}

const char *nest_state_name(const struct nest *n)
{
    return state_names[n->state];
}

int nest_target(const struct nest *n, int entry, char *buf, size_t size)
{
    if (entry < 0 || entry >= NEST_NENTRIES)
        return -EINVAL;
    int len = snprintf(buf, size, "%s/mnt/%s", n->dir, nest_entries[entry]);
    return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : len;
}

/* The tree shows the children that run here, never a coordinator. */
struct nest *nest_lookup(struct nests *ns, const struct job *job, const char *name)
{
    for (struct nest *n = ns->list; n; n = n->next)
        if (n->job == job && !n->coord && !strcmp(n->name, name) && n->state != NEST_DEAD)
            return n;
    return NULL;
}

struct nest *nest_at(struct nests *ns, const struct job *job, int i)
{
    for (struct nest *n = ns->list; n; n = n->next)
        if (n->job == job && !n->coord && n->state != NEST_DEAD && i-- == 0)
            return n;
    return NULL;
}

void nest_answer(struct nest *n, int rc, const char *reason)
{
    nest_done_f done = n->done;
    n->done = NULL;
    if (done)
        done(n->done_arg, rc, reason);
}

/* Signal a child broker: ours to signal, or through the helper that started
 * it as another user. */
static void nest_signal(struct nest *n, int sig)
{
    if (n->by_imp && n->ns->cfg.imp)
        imp_signal(n->ns->cfg.imp, n->pid, sig);
    else
        kill(n->pid, sig);
}

static bool job_has_running(struct nests *ns, const struct job *job)
{
    for (struct nest *n = ns->list; n; n = n->next)
        if (n->job == job && (n->state == NEST_STARTING || n->state == NEST_LIVE
                              || n->state == NEST_STOPPING))
            return true;
    return false;
}

/* ---- the child's messages ---- */

static void on_msg(void *arg, json_t *msg)
{
    struct nest *n = arg;
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!type)
        return;
    if (!strcmp(type, "ready")) {
        if (n->timer) {
            ev_timer_cancel(n->ns->loop, n->timer);
            n->timer = 0;
        }
        enum nest_state was = n->state;
        if (n->state == NEST_STARTING)
            n->state = NEST_LIVE;
        else if (n->state == NEST_ARCHIVING)
            n->state = NEST_ARCHIVE;
        if (!n->part)
            nest_answer(n, 0, NULL);
        else if (was == NEST_STARTING)
            nest_part_msg(n, type, msg);
        else if (was == NEST_ARCHIVING)
            nest_part_archived(n);
    } else if (!strcmp(type, "status")) {
        n->active = (int)json_integer_value(json_object_get(msg, "active"));
        if (n->part)
            nest_part_msg(n, type, msg);
    } else if (!strcmp(type, "url") && n->part) {
        nest_part_msg(n, type, msg);
    } else if (!strcmp(type, "gen-return") || !strcmp(type, "gen-request")) {
        nest_gen_msg(n, type, msg);   /* nest_gens.c */
    }
}

static void on_down(void *arg)
{
    (void)arg;      /* the process exit (pidfd) decides what happens next */
}

void nest_send_shutdown(struct nest *n, bool force)
{
    json_t *msg = json_pack("{s:s s:b}", "type", "shutdown", "force", force);
    if (!msg || !n->link || link_send(n->link, msg) < 0) {
        /* no link (yet): a signal means the same to a broker */
        if (n->pid > 0)
            nest_signal(n, SIGTERM);
    }
    json_decref(msg);
}

static void on_start_timeout(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct nest *n = arg;
    (void)loop;
    (void)id;
    n->timer = 0;
    syslog(LOG_ERR, "nested instance %s/%s did not start in time", job_get_idstr(n->job), n->name);
    if (n->pid > 0)
        nest_signal(n, SIGKILL);
}

/* Take the child's mount off the tree once it is gone: a child killed hard
 * leaves it behind. */
static void detach_mount(const struct nest *n)
{
    if (n->dir)     /* a coordinator has none */
        nestdir_detach_mount(n->dirfd, n->dir, n->ns->cfg.imp);
}

static void remove_link_socket(struct nest *n)
{
    nestdir_link_remove(n->sock);
    if (n->sock[0] && n->dirfd >= 0)   /* after the directory: see nestdir_link_dir() */
        nestdir_link_forget(n->dirfd, n->sock);
    n->sock[0] = '\0';
}

static void nest_unlink(struct nest *n)
{
    for (struct nest **pp = &n->ns->list; *pp; pp = &(*pp)->next) {
        if (*pp == n) {
            *pp = n->next;
            return;
        }
    }
}

static void nest_free(struct nest *n);

/* The pidfd is readable: the child has exited, so reaping it cannot wait. */
static void on_exit_fd(struct ev_loop *loop, int fd, int events, void *arg)
{
    struct nest *n = arg;
    int status = 0;
    (void)events;
    ev_fd_del(loop, fd);
    close(fd);
    n->pidfd = -1;
    if (waitpid(n->pid, &status, WNOHANG) <= 0)
        status = 0;
    n->pid = 0;
    link_destroy(n->link);
    n->link = NULL;
    remove_link_socket(n);
    if (n->timer) {
        ev_timer_cancel(loop, n->timer);
        n->timer = 0;
    }
    detach_mount(n);
    if (!n->job) {
        /* its job was purged (nests_job_gone): nothing more to serve */
        nest_unlink(n);
        nest_free(n);
        return;
    }
    if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)
        syslog(LOG_WARNING, "nested instance %s/%s (%s) exited with %s %d", job_get_idstr(n->job),
               n->name, state_names[n->state], WIFSIGNALED(status) ? "signal" : "status",
               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    switch (n->state) {
    case NEST_STARTING: {
        char why[400];
        nestdir_log_tail(n->dirfd, why, sizeof(why));
        nestdir_mark_failed(n->dirfd);
        n->state = NEST_DEAD;
        if (n->part)
            nest_part_exited(n, why);
        nest_answer(n, -EIO, why[0] ? why : "the nested instance exited while starting");
        nest_stopped(n);
        break;
    }
    case NEST_LIVE:
    case NEST_STOPPING:
        nest_stopped(n);
        break;
    case NEST_ARCHIVING:
        /* stopped fine, but its history cannot be served: say so in the log */
        syslog(LOG_ERR, "nested instance %s/%s: history broker failed (exit %d)",
               job_get_idstr(n->job), n->name, WEXITSTATUS(status));
        n->state = NEST_DEAD;
        nest_answer(n, 0, NULL);
        if (n->part)
            nest_part_archived(n);
        break;
    default:
        n->state = NEST_DEAD;
        break;
    }
}

/* A child is gone: serve its history (answering rmdir once that is up),
 * and let the job end if this was its last running child. */
static void nest_stopped(struct nest *n)
{
    struct nests *ns = n->ns;
    struct errmsg err = {""};
    if (n->discard && n->state != NEST_DEAD) {
        n->state = NEST_DEAD;
        nest_answer(n, 0, NULL);
    }
    if (n->state != NEST_DEAD) {
        if (!ns->shutdown && nest_spawn(n, true, &err) == 0)
            n->state = NEST_ARCHIVING;
        else {
            n->state = NEST_DEAD;
            nest_answer(n, 0, NULL);
        }
    }
    if (n->part) {
        if (n->state == NEST_DEAD)
            nest_part_archived(n);
        /* on the leader, the job may be waiting for this part too (its
         * coordinator may have given up waiting for it) */
        if (!ns->net_rank && !job_has_running(ns, n->job) && ns->clear
            && job_get_state(n->job) == JOB_CLEANUP)
            ns->clear(ns->clear_arg, n->job);
        return;
    }
    nest_after_stop(n);
}

void nest_after_stop(struct nest *n)
{
    struct nests *ns = n->ns;
    /* it mints no more: generators lent from above go back up the tree */
    if (n->gens.count && !nest_in_block(&ns->cfg.gens, &n->gens) && ns->give_back) {
        ns->give_back(ns->ask_arg, &n->gens);
        n->gens.count = 0;
    }
    nest_return_generators(n);
    if (!job_has_running(ns, n->job) && ns->clear && job_get_state(n->job) == JOB_CLEANUP)
        ns->clear(ns->clear_arg, n->job);
}

/* ---- spawning ---- */

/* A system instance's child broker runs as its owner: the privileged
 * helper starts it (our child still, so its exit is watched as a fork's),
 * with our environment plus the job's and instance's names, as fork would
 * have. The pid, or -errno with err. */
static pid_t spawn_by_imp(struct nests *ns, struct nest *n, const char *exe,
                          const char *const *argv, char *jobenv, char *instenv, int logfd,
                          struct errmsg *err)
{
    extern char **environ;
    char self[PATH_MAX];
    size_t nenv = 0;
    for (char **e = environ; e && *e; e++)
        nenv++;
    char **envp = calloc(nenv + 3, sizeof(char *));
    if (!envp)
        return errmsg_set(err, -ENOMEM, "out of memory");
    size_t k = 0;
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, "FLUX_JOB_ID=", 12) && strncmp(*e, "FLUXFS_INSTANCE=", 16))
            envp[k++] = *e;
    envp[k++] = jobenv;
    if (ns->cfg.instance)
        envp[k++] = instenv;
    /* the helper's own /proc/self/exe would be itself */
    if (!strcmp(exe, "/proc/self/exe")) {
        ssize_t len = readlink(exe, self, sizeof(self) - 1);
        if (len <= 0) {
            free(envp);
            return errmsg_set(err, -errno, "readlink %s: %s", exe, strerror(errno));
        }
        self[len] = '\0';
        /* replaced on disk since we started (a package upgrade): the
         * kernel names the old file "(deleted)"; the path has the new one */
        static const char gone[] = " (deleted)";
        if ((size_t)len > strlen(gone) && !strcmp(self + len - strlen(gone), gone))
            self[len - strlen(gone)] = '\0';
        exe = self;
    }
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct imp_spawn s = {
        .argv = (char *const *)argv, .envp = envp, .path = exe, .cwd = "/",
        .fds = { null, logfd >= 0 ? logfd : null, logfd >= 0 ? logfd : null },
        .uid = n->uid, .new_session = true, .deathsig = SIGTERM,
    };
    pid_t pid = null < 0 ? errmsg_set(err, -errno, "/dev/null: %s", strerror(errno))
                         : imp_spawn(ns->cfg.imp, &s, err);
    if (null >= 0)
        close(null);
    free(envp);
    return pid;
}

int nest_spawn(struct nest *n, bool archive, struct errmsg *err)
{
    struct nests *ns = n->ns;
    char state[4096], mnt[4096], res[4096], url[128];
    snprintf(state, sizeof(state), "%s/state", n->dir);
    snprintf(mnt, sizeof(mnt), "%s/mnt", n->dir);
    snprintf(res, sizeof(res), "%s/R.json", n->dir);
    /* Unix socket paths are short (108 bytes) and ours nest deep: the link
     * lives in a directory of its own under /tmp (nestdir.h) */
    int rc = nestdir_link_dir(n->dirfd, n->sock, sizeof(n->sock), err);
    if (rc < 0)
        return rc;
    /* still root (histories served again at a restart come before the
     * broker drops root): the directory is the broker user's, like those
     * made later, or it could not remove it when the instance ends */
    if (ns->cfg.imp && geteuid() == 0 && (rc = nestdir_link_own(n->sock, ns->cfg.imp_uid)) < 0)
        syslog(LOG_WARNING, "chown %s: %s", n->sock, strerror(-rc));
    snprintf(url, sizeof(url), "ipc://%s", n->sock);
    if (!(n->link = link_listen(ns->loop, url, on_msg, on_down, n, err))) {
        remove_link_socket(n);
        return -EIO;
    }
    /* the child runs as the job's owner: the socket is its to connect to */
    if ((rc = nestdir_link_grant(n->sock, n->uid, n->gid, ns->cfg.imp)) < 0)
        syslog(LOG_WARNING, "chown %s: %s", n->sock, strerror(-rc));
    /* opened here, as root, in a directory only root writes (nestdir.h) */
    int logfd = nestdir_log_open(n->dirfd, n->gid, ns->cfg.imp);
    if (logfd < 0)
        syslog(LOG_WARNING, "nested instance %s/%s: cannot open its log: %s",
               job_get_idstr(n->job), n->name, strerror(-logfd));
    const char *argv[32];
    char genarg[32], crank[16], csize[16], bind[512];
    int k = 0;
    argv[k++] = "fluxfsd";
    argv[k++] = "-f";
    argv[k++] = "--state";
    argv[k++] = state;
    argv[k++] = "--resources";
    argv[k++] = res;
    argv[k++] = "--parent";
    argv[k++] = url;
    if (archive)
        argv[k++] = "--read-only";  /* mints nothing: keeps its recorded generator */
    else if (!n->part || n->crank == 0) {   /* a child's followers mint nothing */
        snprintf(genarg, sizeof(genarg), "%u:%u", n->gens.first, n->gens.count);
        argv[k++] = "--generator";
        argv[k++] = genarg;
    }
    if (ns->cfg.match_policy) {
        argv[k++] = "--match-policy";
        argv[k++] = ns->cfg.match_policy;
    }
    if (ns->cfg.queue_policy) {
        argv[k++] = "--queue-policy";
        argv[k++] = ns->cfg.queue_policy;
    }
    if (!archive && n->csize > 1) {
        /* one broker of a child across nodes: the rest come from us */
        snprintf(crank, sizeof(crank), "%d", n->crank);
        snprintf(csize, sizeof(csize), "%d", n->csize);
        nest_net_bind(ns, bind, sizeof(bind));
        argv[k++] = "--nest-rank";
        argv[k++] = crank;
        argv[k++] = "--nest-size";
        argv[k++] = csize;
        argv[k++] = "--nest-bind";
        argv[k++] = bind;
    }
    if (n->uid == 0) {
        /* root's own instance, as a user's runs as that user: it does not
         * split itself again (fsd/privsep.h) */
        argv[k++] = "--user";
        argv[k++] = "root";
    }
    argv[k++] = mnt;
    argv[k] = NULL;
    char jobenv[64], instenv[128];
    snprintf(jobenv, sizeof(jobenv), "FLUX_JOB_ID=%s", job_get_idstr(n->job));
    snprintf(instenv, sizeof(instenv), "FLUXFS_INSTANCE=%s",
             ns->cfg.instance ? ns->cfg.instance : "");
    const char *exe = ns->cfg.fluxfsd ? ns->cfg.fluxfsd : "/proc/self/exe";
    pid_t pid;
    int fork_errno;
    /* (the uid we run as once root is dropped: a child started before that,
     * at recovery, must be the helper's too, or we could not signal it) */
    bool by_imp = ns->cfg.imp && n->uid != ns->cfg.imp_uid;
    if (by_imp) {
        pid = spawn_by_imp(ns, n, exe, argv, jobenv, instenv, logfd, err);
        n->by_imp = pid > 0;
        fork_errno = -pid;
        if (pid < 0 && logfd >= 0)
            close(logfd);
        if (pid < 0) {
            link_destroy(n->link);
            n->link = NULL;
            remove_link_socket(n);
            return pid;
        }
        goto started;
    }
    pid_t parent = getpid();
    pid = fork();
    fork_errno = errno;
    if (pid != 0 && logfd >= 0)
        close(logfd);
    if (pid < 0) {
        link_destroy(n->link);
        n->link = NULL;
        remove_link_socket(n);
        return errmsg_set(err, -fork_errno, "fork: %s", strerror(fork_errno));
    }
    if (pid == 0) {
        /* a child broker dies with us; its jobs are then LOST like ours */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (logfd >= 0) {
            dup2(logfd, 1);
            dup2(logfd, 2);
        }
        if (null >= 0)
            dup2(null, 0);
        syscall(SYS_close_range, 3, ~0U, 0);
        setsid();
        if (chdir("/") < 0)
            _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (ns->cfg.set_nice)
            setpriority(PRIO_PROCESS, 0, ns->cfg.task_nice);
        if (geteuid() == 0 && n->uid != 0) {
            if (setgroups(0, NULL) < 0 || setresgid(n->gid, n->gid, n->gid) < 0
                || setresuid(n->uid, n->uid, n->uid) < 0)
                _exit(126);
        }
        putenv(jobenv);
        if (ns->cfg.instance)
            putenv(instenv);
        execv(exe, (char *const *)argv);
        fprintf(stderr, "fluxfsd: exec %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
started:
    if (logfd >= 0 && by_imp)
        close(logfd);
    n->pid = pid;
    n->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (n->pidfd < 0 || ev_fd_add(ns->loop, n->pidfd, EV_READ, on_exit_fd, n) < 0) {
        /* the only wait on the loop thread: a child that was forked a
         * moment ago and has not touched the mount dies at once */
        nest_signal(n, SIGKILL);
        waitpid(pid, NULL, 0);
        n->pid = 0;
        if (n->pidfd >= 0)
            close(n->pidfd);
        n->pidfd = -1;
        link_destroy(n->link);
        n->link = NULL;
        remove_link_socket(n);
        return errmsg_set(err, -EIO, "cannot watch the nested broker");
    }
    n->timer = ev_timer_add(ns->loop, NEST_START_TIMEOUT, on_start_timeout, n);
    return 0;
}

/* ---- requests ---- */

bool nest_valid_name(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > NEST_NAME_MAX || s[0] == '.')
        return false;
    for (; *s; s++)
        if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z')
            && !(*s >= '0' && *s <= '9') && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

static int free_slot(struct nests *ns, const struct job *job)
{
    bool used[NEST_MAX_PER_JOB] = {false};
    for (struct nest *x = ns->list; x; x = x->next)
        if (x->job == job)
            used[x->slot] = true;
    int slot = 0;
    while (slot < NEST_MAX_PER_JOB && used[slot])
        slot++;
    return slot < NEST_MAX_PER_JOB ? slot : -ENOSPC;
}

int nest_check(struct nests *ns, struct job *job, const char *name, uid_t uid,
               struct errmsg *err)
{
    if (ns->shutdown)
        return errmsg_set(err, -ESHUTDOWN, "the instance is shutting down");
    if (!nest_valid_name(name))
        return errmsg_set(err, -EINVAL, "'%s': a nested instance name is letters, digits, "
                          "'-', '_' or '.' (not first), at most %d", name, NEST_NAME_MAX);
    if (uid != job_get_uid(job) && uid != 0)
        return errmsg_set(err, -EPERM, "job %s belongs to another user", job_get_idstr(job));
    if (job_get_state(job) != JOB_RUN || job_is_canceling(job) || !job_get_R_size(job))
        return errmsg_set(err, -EINVAL, "job %s is not running", job_get_idstr(job));
    for (struct nest *x = ns->list; x; x = x->next)
        if (x->job == job && !strcmp(x->name, name) && x->state != NEST_DEAD)
            return errmsg_set(err, -EEXIST, "'%s' exists", name);
    int slot = free_slot(ns, job);
    if (slot < 0)
        return errmsg_set(err, -ENOSPC, "job %s has %d nested instances already",
                          job_get_idstr(job), NEST_MAX_PER_JOB);
    return slot;
}

int nest_new(struct nests *ns, struct job *job, const char *name, uid_t uid, gid_t gid,
             const char *R, struct nest **out, struct errmsg *err)
{
    char dir[4096];
    int slot = free_slot(ns, job);
    if (slot < 0)
        return errmsg_set(err, slot, "job %s has %d nested instances already",
                          job_get_idstr(job), NEST_MAX_PER_JOB);
    struct nest *n = calloc(1, sizeof(*n));
    snprintf(dir, sizeof(dir), "%s/nested/%s/%s", ns->cfg.statedir, job_get_idstr(job), name);
    if (!n || !(n->dir = strdup(dir))) {
        free(n);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    snprintf(n->name, sizeof(n->name), "%s", name);
    n->ns = ns;
    n->job = job;
    n->slot = slot;
    n->uid = uid;
    n->gid = gid;
    n->ctime = ev_now(ns->loop);
    n->pidfd = -1;
    n->state = NEST_STARTING;
    n->csize = 1;
    /* a name reused after its history was dropped starts afresh; the
     * owner gets state/ and mnt/, root keeps the rest (nestdir.h) */
    n->dirfd = nestdir_make(ns->cfg.statedir, job_get_idstr(job), name, uid, gid, R, strlen(R),
                            ns->cfg.imp, err);
    if (n->dirfd < 0) {
        int rc = n->dirfd;
        free(n->dir);
        free(n);
        return rc;
    }
    *out = n;
    return 0;
}

void nest_discard(struct nest *n)
{
    if (n->dirfd >= 0) {
        nestdir_mark_failed(n->dirfd);   /* it never started */
        close(n->dirfd);
    }
    free(n->dir);
    free(n);
}

int nest_create(struct nests *ns, struct job *job, const char *name, uid_t uid,
                nest_done_f done, void *arg, struct errmsg *err)
{
    int slot = nest_check(ns, job, name, uid, err);
    if (slot < 0)
        return slot;
    if (ns->net_bs) {
        /* a multi-node instance: one child broker on each of the job's nodes */
        int rc = nest_net_route_create(ns, job, name, uid, done, arg, err);
        if (rc <= 0)
            return rc;
    }
    /* our own generators first; when none is left, our parent's (up to
     * the root, which owns them all), so that nesting has no depth limit */
    struct genblock gens = { 0, 0 };
    int rc = nest_pick_generators(ns, &gens);
    if (rc == -ENOMEM || (rc == -ENOSPC && !ns->ask))
        return errmsg_set(err, rc, rc == -ENOMEM ? "out of memory"
                          : "no job id generator left for a nested instance: the %u of "
                            "this instance are in use", ns->cfg.gens.count);
    if (!job_get_R(job))
        return errmsg_set(err, -EINVAL, "job %s is not running", job_get_idstr(job));
    char *R = strndup(job_get_R(job), job_get_R_size(job));
    if (!R)
        return errmsg_set(err, -ENOMEM, "out of memory");
    struct nest *n = NULL;
    int made = nest_new(ns, job, name, job_get_uid(job), job_get_gid(job), R, &n, err);
    free(R);
    if (made < 0)
        return made;
    n->gens = gens;
    if (rc == -ENOSPC)
        n->gen_req = ++ns->nreq;
    if (n->gen_req) {
        /* started when our parent grants it generators (nests_granted) */
        if ((rc = ns->ask(ns->ask_arg, n->gen_req)) < 0) {
            errmsg_set(err, rc, "cannot ask the parent instance for job id generators");
            goto error;
        }
        nest_wait_generators(n);
    } else if ((rc = nest_start_child(n, err)) < 0)
        goto error;
    n->done = done;
    n->done_arg = arg;
    n->next = ns->list;
    ns->list = n;
    return 0;
error:
    nest_discard(n);
    return rc;
}

int nest_start_child(struct nest *n, struct errmsg *err)
{
    return n->coord ? nest_net_start(n, err) : nest_spawn(n, false, err);
}

int nest_remove_check(struct nest *n, uid_t uid, bool force, struct errmsg *err)
{
    if (uid != n->uid && uid != 0)
        return errmsg_set(err, -EPERM, "nested instance '%s' belongs to another user", n->name);
    if (n->state != NEST_LIVE)
        return errmsg_set(err, n->state == NEST_ARCHIVE ? -EROFS : -EBUSY,
                          "nested instance '%s' is %s", n->name, state_names[n->state]);
    if (n->active > 0 && !force)
        return errmsg_set(err, -EBUSY, "nested instance '%s' has %d active jobs: cancel "
                          "them, or write 'shutdown %s force' to jobs/%s/ctl", n->name, n->active,
                          n->name, job_get_idstr(n->job));
    if (n->done)
        return errmsg_set(err, -EBUSY, "nested instance '%s' is busy", n->name);
    return 0;
}

int nest_remove(struct nests *ns, struct job *job, const char *name, uid_t uid,
                bool force, nest_done_f done, void *arg, struct errmsg *err)
{
    struct nest *n = nest_lookup(ns, job, name);
    if (ns->net_bs && (!n || n->part)) {
        /* a child across nodes: its coordinator (our leader) stops it */
        int rc = nest_net_route_remove(ns, job, name, uid, force, done, arg, err);
        if (rc <= 0)
            return rc;
    }
    if (!n)
        return errmsg_set(err, -ENOENT, "no nested instance '%s'", name);
    int rc = nest_remove_check(n, uid, force, err);
    if (rc < 0)
        return rc;
    n->state = NEST_STOPPING;
    n->done = done;
    n->done_arg = arg;
    nest_send_shutdown(n, force);
    return 0;
}

int nests_of_job(const struct nests *ns, const struct job *job)
{
    int n = 0;
    for (const struct nest *x = ns->list; x; x = x->next)
        n += x->job == job;
    return n;
}

bool nests_job_ending(struct nests *ns, struct job *job)
{
    bool any = false;
    for (struct nest *n = ns->list; n; n = n->next) {
        if (n->job != job)
            continue;
        if (n->gen_req) {
            nest_abandon_waiting(n, -EINVAL, "the job ended before the nested instance started");
            continue;
        }
        if (n->coord) {
            any |= nest_net_job_ending(n);
            continue;
        }
        if (n->part) {
            /* stopped by its coordinator; a follower's replica saying the
             * job ended stops it too, should nest.stop be lost */
            if (ns->net_rank != 0 && (n->state == NEST_LIVE || n->state == NEST_STARTING)) {
                if (n->state == NEST_LIVE)
                    n->state = NEST_STOPPING;
                nest_send_shutdown(n, true);
                nest_kill_later(n, NEST_STOP_GRACE);
            }
            any |= n->state == NEST_STARTING || n->state == NEST_LIVE
                   || n->state == NEST_STOPPING;
            continue;
        }
        if (n->state == NEST_LIVE || n->state == NEST_STARTING) {
            n->state = NEST_STOPPING;
            nest_send_shutdown(n, true);
        }
        if (n->state == NEST_STOPPING)
            any = true;
    }
    return any;
}

static void nest_free(struct nest *n)
{
    if (n->pidfd >= 0) {
        ev_fd_del(n->ns->loop, n->pidfd);
        close(n->pidfd);
    }
    if (n->timer)
        ev_timer_cancel(n->ns->loop, n->timer);
    link_destroy(n->link);
    remove_link_socket(n);
    if (n->dirfd >= 0)
        close(n->dirfd);
    /* a request of its that we passed on is answered to nobody */
    for (struct gen_forward *f = n->ns->forwards; f; f = f->next)
        if (f->child == n)
            f->child = NULL;
    if (n->coord && n->coord->timer)
        ev_timer_cancel(n->ns->loop, n->coord->timer);
    nest_coord_free(n->coord, n->csize);
    free(n->loans);
    free(n->above);
    free(n->dir);
    free(n);
}

/* The grace is over: a child still running is killed. Its exit comes
 * through the pidfd as usual. */
static void on_kill_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct nest *n = arg;
    (void)loop;
    (void)id;
    n->timer = 0;
    if (n->pid > 0) {
        syslog(LOG_WARNING, "nested instance %s/%s (pid %d) did not stop in time: killed",
               n->job ? job_get_idstr(n->job) : "-", n->name, (int)n->pid);
        nest_signal(n, SIGKILL);
    }
}

void nest_kill_later(struct nest *n, double grace)
{
    if (n->pid <= 0)
        return;
    if (n->timer)
        ev_timer_cancel(n->ns->loop, n->timer);
    n->timer = ev_timer_add(n->ns->loop, grace, on_kill_timer, n);
}

/* SIGTERM now, SIGKILL after grace seconds if it is still running. */
static void terminate(struct nest *n, double grace)
{
    if (n->pid <= 0)
        return;
    nest_signal(n, SIGTERM);
    nest_kill_later(n, grace);
}

void nests_job_gone(struct nests *ns, struct job *job)
{
    for (struct nest **pp = &ns->list; *pp;) {
        struct nest *n = *pp;
        if (n->job != job) {
            pp = &n->next;
            continue;
        }
        nest_answer(n, -ENOENT, "the job is gone");
        if (n->pid > 0 && n->pidfd >= 0) {
            /* a history broker exits at once on SIGTERM; it is freed when
             * its pidfd says it has (on_exit_fd), without the job */
            n->job = NULL;
            n->state = NEST_DEAD;
            terminate(n, NEST_GONE_GRACE);
            pp = &n->next;
            continue;
        }
        if (n->pid > 0)
            nest_signal(n, SIGKILL);   /* unwatched: cannot happen (spawn needs a pidfd) */
        detach_mount(n);
        *pp = n->next;
        nest_free(n);
    }
}

/* After a restart: every nested instance on disk whose job is still known
 * had stopped (a live child dies with its parent); serve its history. */
void nests_recover(struct nests *ns, struct job *(*lookup)(void *arg, const char *idstr),
                   void *arg)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/nested", ns->cfg.statedir);
    DIR *top = opendir(path);
    struct dirent *j, *e;
    if (!top)
        return;
    while ((j = readdir(top))) {
        struct job *job = j->d_name[0] != '.' ? lookup(arg, j->d_name) : NULL;
        if (!job)
            continue;
        snprintf(path, sizeof(path), "%s/nested/%s", ns->cfg.statedir, j->d_name);
        DIR *d = opendir(path);
        int slot = 0;
        while (d && (e = readdir(d)) && slot < NEST_MAX_PER_JOB) {
            char dir[4400];
            uid_t owner;
            if (e->d_name[0] == '.' || strlen(e->d_name) > NEST_NAME_MAX)
                continue;
            int dirfd = nestdir_open(ns->cfg.statedir, j->d_name, e->d_name, &owner);
            if (dirfd < 0)
                continue;
            if (nestdir_failed(dirfd)) {
                close(dirfd);   /* never started: no history to serve */
                continue;
            }
            /* root's own: made by a broker that dropped to its user, which
             * gives nothing to root (exec/imp.c GIVE) */
            bool roots = job_get_uid(job) == 0 && ns->cfg.imp && owner == ns->cfg.imp_uid;
            if (owner != job_get_uid(job) && !roots) {
                /* the job's owner decides who runs it, never the disk */
                syslog(LOG_ERR, "nested instance %s/%s: state owned by uid %d, not the job's "
                       "owner: not served", j->d_name, e->d_name, (int)owner);
                close(dirfd);
                continue;
            }
            snprintf(dir, sizeof(dir), "%s/%s", path, e->d_name);
            struct nest *n = calloc(1, sizeof(*n));
            if (!n || !(n->dir = strdup(dir))) {
                free(n);
                close(dirfd);
                break;
            }
            struct stat st;
            memcpy(n->name, e->d_name, strlen(e->d_name) + 1);
            n->ns = ns;
            n->job = job;
            n->slot = slot++;
            n->uid = job_get_uid(job);
            n->gid = job_get_gid(job);
            n->ctime = fstat(dirfd, &st) == 0 ? (double)st.st_mtime : ev_now(ns->loop);
            n->pidfd = -1;
            n->dirfd = dirfd;
            n->csize = 1;
            nestdir_link_stale(dirfd, ns->cfg.imp ? ns->cfg.imp_uid : geteuid());   /* left in /tmp by a crash */
            detach_mount(n);   /* left by a child that died hard */
            struct errmsg err = {""};
            if (nest_spawn(n, true, &err) < 0) {
                syslog(LOG_ERR, "nested instance %s/%s: %s", job_get_idstr(job), n->name, err.text);
                n->state = NEST_DEAD;
            } else
                n->state = NEST_ARCHIVING;
            n->next = ns->list;
            ns->list = n;
        }
        if (d)
            closedir(d);
    }
    closedir(top);
}

void nests_shutdown(struct nests *ns)
{
    ns->shutdown = true;
}

struct nests *nests_create(struct ev_loop *loop, const struct nests_config *cfg,
                           nest_job_clear_f clear, void *clear_arg)
{
    struct nests *ns = calloc(1, sizeof(*ns));
    if (!ns)
        return NULL;
    ns->loop = loop;
    ns->cfg = *cfg;
    ns->clear = clear;
    ns->clear_arg = clear_arg;
    return ns;
}

void nests_stop(struct nests *ns, double grace)
{
    ns->shutdown = true;
    for (struct nest *n = ns->list; n; n = n->next) {
        if (n->gen_req)
            nest_abandon_waiting(n, -ESHUTDOWN, "the instance is shutting down");
        if (n->pid <= 0)
            continue;
        syslog(LOG_INFO, "stopping nested instance %s/%s (%s, pid %d)",
               n->job ? job_get_idstr(n->job) : "-", n->name, state_names[n->state], (int)n->pid);
        if (n->state == NEST_LIVE || n->state == NEST_STARTING || n->state == NEST_STOPPING) {
            /* children cancel their jobs (force) and unmount */
            if (n->state != NEST_STOPPING)
                n->state = NEST_STOPPING;
            nest_send_shutdown(n, true);
            nest_kill_later(n, grace);
        } else
            terminate(n, grace < NEST_GONE_GRACE ? grace : NEST_GONE_GRACE);
    }
}

bool nests_running(const struct nests *ns)
{
    for (const struct nest *n = ns ? ns->list : NULL; n; n = n->next)
        if (n->pid > 0)
            return true;
    return false;
}

void nests_destroy(struct nests *ns)
{
    if (!ns)
        return;
    ns->shutdown = true;
    while (ns->list) {
        struct nest *n = ns->list;
        ns->list = n->next;
        if (n->pid > 0) {
            /* reaped by init once we have exited, if not now */
            syslog(LOG_WARNING, "nested instance %s/%s (pid %d) did not stop: killed",
                   n->job ? job_get_idstr(n->job) : "-", n->name, (int)n->pid);
            nest_signal(n, SIGKILL);
            waitpid(n->pid, NULL, WNOHANG);
        }
        detach_mount(n);
        n->done = NULL;
        nest_free(n);
    }
    while (ns->forwards) {
        struct gen_forward *f = ns->forwards;
        ns->forwards = f->next;
        free(f);
    }
    nest_net_waits_free(ns);
    while (ns->reqs) {   /* followers' mkdir/rmdir sent to the leader */
        struct nest_req *r = ns->reqs;
        ns->reqs = r->next;
        if (r->timer)
            ev_timer_cancel(ns->loop, r->timer);
        free(r);
    }
    free(ns);
}
