/* imp.c - fluxfs-imp, the privileged half of a system instance (as Flux's
 * IMP is). A root-started fluxfsd forks this helper, then drops to its
 * unprivileged user for good; everything that still needs root is asked of
 * this process, one request at a time, over the socket it inherited (fd 3
 * by default). Nobody else can reach it: the socket is a socketpair, and
 * the helper exits when the broker's end closes.
 *
 * Its whole contract:
 *   SPAWN      run argv with env in cwd as uid, with the uid's primary and
 *              supplementary groups from the user database (never from the
 *              request; a uid the database does not know is refused), in
 *              job's cgroups if it was contained, bound to the cpus given,
 *              at the nice given on the command line (--task-nice).
 *              The process is made the broker's child (CLONE_PARENT), so the
 *              broker reaps it and reads its status; it dies with the broker.
 *   SIGNAL     signal the process group of a process this helper started,
 *              while that process is alive; once it exits, whatever is left
 *              in its group is killed here.
 *   CONTAIN, CPUS, MEMORY, RELEASE, KILL_GROUP
 *              a job's cgroups (contain.h), named by this instance's token
 *              (set once by INIT) and the job's id; nothing else is touched.
 *   KILL_ORPHANS  SIGKILL processes whose environment names this instance
 *              and the job (what a crashed broker left).
 *   HOLDS      whether a process, or else (if asked) its parent, has a
 *              descriptor open on an inode of the broker's mount (is a
 *              submitter still writing its file).
 *   CWD        the working directory of a process (a submitter's, whose pid
 *              the kernel gave the broker with its request): where its job
 *              runs when the jobspec does not say.
 *   GIVE       chown an entry of a directory the broker's user owns (and
 *              only it can write) from that user to another (never root),
 *              opened with O_NOFOLLOW: a nested instance's state, mount
 *              point and socket.
 *   DETACH     lazily unmount a FUSE mount on such an entry (a dead nested
 *              instance's).
 *   UNMOUNT    lazily unmount this instance's own mount point, given on the
 *              command line by root, if a FUSE file system is still there.
 * Paths come only from root (the command line) or as descriptors the broker
 * holds; the helper follows no path a user can write.
 *
 * When the broker goes away, every process started here is killed, with
 * its group and its cgroup, and the helper exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sched.h>
#include <stdbool.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common/mountinfo.h"
#include "exec/contain.h"
#include "exec/imp_msg.h"
#include "exec/orphans.h"
#include "exec/pathcache.h"
#include "exec/procfd.h"
#include "exec/spawn.h"

#define IMP_TOKEN_MAX 64

struct child {                   /* a process started here, while it lives */
    pid_t pid;
    int pidfd;
    struct child *next;
};

struct cgroup {                  /* a contained job */
    uint64_t job;
    struct contain *c;
    struct cgroup *next;
};

struct imp {
    int sock[4];                 /* the broker's channels: its launcher's (spawns,
                                    served by their own thread), its loop's
                                    (everything else), so that a question never
                                    waits behind a job's starts, and submitters'
                                    directories asked ahead, and the loop's own
                                    spawns, queued without waiting: a second
                                    spawner thread) */
    int nsock, ep;
    uid_t broker_uid;
    const char *mount;           /* the instance's mount point (root's word) */
    char token[IMP_TOKEN_MAX + 1];
    pthread_mutex_t lock;        /* children, cgroups, stopping: both threads */
    struct child *children;
    struct cgroup *cgroups;
    bool stopping;               /* cleanup() has run: kill what still starts */
    int sigs[NSIG];              /* not at SIG_DFL here: reset in every task */
    int nsigs;
    bool set_nice;               /* tasks take task_nice (--task-nice): the */
    int task_nice;               /* broker's and ours are lower (fluxfsd --nice) */
    char reason[PATH_MAX];       /* why the last request failed, or its answer
                                    (the loop's thread's; the spawner has its own) */
};

static int fail(struct imp *h, int rc, const char *fmt, const char *arg)
{
    snprintf(h->reason, sizeof(h->reason), fmt, arg);
    return rc;
}

static bool token_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > IMP_TOKEN_MAX)
        return false;
    for (; *t; t++)
        if (!(*t >= 'a' && *t <= 'z') && !(*t >= 'A' && *t <= 'Z') && !(*t >= '0' && *t <= '9')
            && *t != '-' && *t != '_' && *t != '.')
            return false;
    return true;
}

static struct cgroup *cgroup_find(struct imp *h, uint64_t job)
{
    for (struct cgroup *g = h->cgroups; g; g = g->next)
        if (g->job == job)
            return g;
    return NULL;
}

static void cgroup_drop(struct imp *h, struct cgroup *g)
{
    struct cgroup **pp = &h->cgroups;
    while (*pp != g)
        pp = &(*pp)->next;
    *pp = g->next;
    contain_destroy(g->c);
    free(g);
}

/* ---- SPAWN ---- */

/* The users database, as the spawner last read it: a job's start must not
 * parse /etc/passwd and /etc/group again (18% of this helper's time at
 * 1,000 jobs/s). An entry holds while both files keep their identity and
 * mtime, and for at most USER_TTL_S whatever they do (a directory service
 * behind NSS has no file to watch; Slurm's slurmd keeps group lists 600 s
 * for the same reason). */
#define USER_SLOTS 32
#define USER_TTL_S 60

struct user_entry {
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    int ngroups;
    struct timespec at;          /* CLOCK_MONOTONIC when read */
};

struct db_stamp {
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
};

/* The spawn channel's own thread: starting a task waits until it has
 * exec'd (it shares our memory until then), and everything else keeps
 * being answered on the other channels meanwhile. */
struct spawner {
    struct imp *h;
    int sock;
    pthread_t thread;
    /* where a user's PATH found a program: the child, running in our
     * memory until it execs, says which file it execs (spawn.found), and
     * for a second the next child of that user, PATH and program tries
     * that file first instead of failing an execve (a path walk) on every
     * PATH entry before it */
    struct pathcache *paths;
    char found[PATH_MAX];        /* the child's spawn.found */
    char reason[PATH_MAX];       /* why the last spawn failed */
    void *stack;                 /* the child's, while it runs in our memory */
    size_t stack_size;
    struct user_entry users[USER_SLOTS];
    struct db_stamp stamp[2];    /* /etc/passwd, /etc/group when users[] was filled */
};

static void users_forget(struct spawner *sp)
{
    for (int i = 0; i < USER_SLOTS; i++) {
        free(sp->users[i].groups);
        sp->users[i] = (struct user_entry){ 0 };
    }
}

/* Drop every cached entry if the files changed since they were read. */
static void users_check_files(struct spawner *sp)
{
    static const char *const files[2] = { "/etc/passwd", "/etc/group" };
    bool same = true;
    for (int i = 0; i < 2; i++) {
        struct stat st;
        struct db_stamp now = { 0 };
        if (stat(files[i], &st) == 0)
            now = (struct db_stamp){ st.st_dev, st.st_ino, st.st_mtim };
        if (now.dev != sp->stamp[i].dev || now.ino != sp->stamp[i].ino
            || now.mtime.tv_sec != sp->stamp[i].mtime.tv_sec
            || now.mtime.tv_nsec != sp->stamp[i].mtime.tv_nsec)
            same = false;
        sp->stamp[i] = now;
    }
    if (!same)
        users_forget(sp);
}

/* The uid's identity from the user database: never the request's. The
 * entry stays the cache's; -errno with sp->reason filled. */
static int lookup_user(struct spawner *sp, uid_t uid, const struct user_entry **out)
{
    char buf[16384];
    struct passwd pw, *res = NULL;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    users_check_files(sp);
    struct user_entry *slot = NULL;   /* where a new entry goes: a free or the oldest */
    for (int i = 0; i < USER_SLOTS; i++) {
        struct user_entry *e = &sp->users[i];
        if (e->groups && e->uid == uid && now.tv_sec - e->at.tv_sec < USER_TTL_S) {
            *out = e;
            return 0;
        }
        if (!slot || (slot->groups && (!e->groups || e->at.tv_sec < slot->at.tv_sec)))
            slot = e;
    }
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res) {
        snprintf(sp->reason, sizeof(sp->reason), "no user %u in the user database",
                 (unsigned)uid);
        return -ESRCH;
    }
    gid_t *groups = NULL;
    int n = 32, ngroups = -1;
    for (int tries = 0; tries < 8 && ngroups < 0; tries++) {
        gid_t *g = realloc(groups, (size_t)n * sizeof(gid_t));
        if (!g) {
            free(groups);
            return -ENOMEM;
        }
        groups = g;
        int want = n;
        if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &want) >= 0)
            ngroups = want;
        else
            n = want > n ? want : 2 * n;
    }
    if (ngroups < 0) {
        free(groups);
        snprintf(sp->reason, sizeof(sp->reason), "%s is in too many groups", pw.pw_name);
        return -E2BIG;
    }
    free(slot->groups);
    *slot = (struct user_entry){ .uid = uid, .gid = pw.pw_gid, .groups = groups,
                                 .ngroups = ngroups, .at = now };
    *out = slot;
    return 0;
}

static int child_add(struct imp *h, pid_t pid, int pidfd)
{
    struct child *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->pid = pid;
    c->pidfd = pidfd;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    if (epoll_ctl(h->ep, EPOLL_CTL_ADD, c->pidfd, &ev) < 0) {
        free(c);
        return -errno;
    }
    c->next = h->children;
    h->children = c;
    return 0;
}

/* Its leader has exited: what it left in its group goes with it (the group
 * id cannot be reused while members remain). Under h->lock. */
static void child_gone(struct imp *h, struct child *c)
{
    kill(-c->pid, SIGKILL);
    struct child **pp = &h->children;
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    epoll_ctl(h->ep, EPOLL_CTL_DEL, c->pidfd, NULL);
    close(c->pidfd);
    free(c);
}

/* AddressSanitizer cannot follow a child into our memory on a stack of
 * ours (its clone interceptor sets up thread state there and aborts):
 * sanitized builds give the child a copy, as before. */
#if defined(__SANITIZE_ADDRESS__)
#define SPAWN_SHARE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPAWN_SHARE 0
#endif
#endif
#ifndef SPAWN_SHARE
#define SPAWN_SHARE (CLONE_VM | CLONE_VFORK)
#endif

static int spawn_entry(void *arg)
{
    spawn_child(arg);
}

/* A stack for the child: its frames, and try_execve's copy of argv. */
static int spawner_stack(struct spawner *sp, size_t argc)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t want = 64 * 1024 + (argc + 2) * sizeof(char *);
    want = (want + (size_t)page - 1) / (size_t)page * (size_t)page + (size_t)page;
    if (sp->stack && sp->stack_size >= want)
        return 0;
    if (sp->stack)
        munmap(sp->stack, sp->stack_size);
    sp->stack = mmap(NULL, want, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    if (sp->stack == MAP_FAILED) {
        sp->stack = NULL;
        return -errno;
    }
    sp->stack_size = want;
    /* a guard page at the bottom: an overflow faults instead of writing
     * into our heap */
    mprotect(sp->stack, (size_t)page, PROT_NONE);
    return 0;
}

static int op_spawn(struct spawner *sp, struct impmsg *m, int *fds, int nfds)
{
    struct imp *h = sp->h;
    struct imp_spawn_req q;
    const struct user_entry *u;
    int cg[3] = { -1, -1, -1 }, pidfd = -1, rc;
    if (nfds != 3 || impmsg_decode_spawn(m, &q) < 0)
        return -EBADMSG;
    if ((rc = lookup_user(sp, (uid_t)q.uid, &u)) < 0)
        goto out;
    size_t argc = 0;
    while (q.argv[argc])
        argc++;
    if ((rc = spawner_stack(sp, argc)) < 0)
        goto out;
    /* the job's cgroups by descriptors of our own: the other thread may
     * release the job's meanwhile */
    pthread_mutex_lock(&h->lock);
    struct cgroup *g = q.job ? cgroup_find(h, q.job) : NULL;
    if (g) {
        int src[3] = { contain_procs_fd(g->c), contain_cpuset_fd(g->c),
                       contain_memory_fd(g->c) };
        for (int i = 0; i < 3 && rc == 0; i++)
            if (src[i] >= 0 && (cg[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3)) < 0)
                rc = -errno;
    }
    pthread_mutex_unlock(&h->lock);
    if (rc < 0)
        goto out;
    struct spawn s = {
        .argv = (char *const *)q.argv, .envp = (char *const *)q.env,
        .path = *q.path ? q.path : NULL, .cwd = *q.cwd ? q.cwd : NULL,
        .out_path = *q.out ? q.out : NULL, .err_path = *q.err ? q.err : NULL,
        .in_path = *q.in ? q.in : NULL,
        .fds = { fds[0], fds[1], fds[2] }, .cpus = q.cpus, .ncpus = q.ncpus,
        .cgroup_fds = { cg[0], cg[1], cg[2] },
        .drop_user = true, .uid = (uid_t)q.uid, .gid = u->gid, .groups = u->groups,
        .ngroups = u->ngroups, .sigs = h->sigs, .nsigs = h->nsigs,
        .parent = getppid(), .deathsig = q.deathsig ? q.deathsig : SIGKILL,
        .new_session = q.flags & IMP_SPAWN_SESSION,
        .set_nice = h->set_nice, .nice = h->task_nice,
    };
    /* a program found on PATH a moment ago: that file first */
    time_t now = time(NULL);
    const char *env_path = !s.path && !strchr(q.argv[0], '/') && SPAWN_SHARE != 0 && sp->paths
                           ? spawn_env_path((char *const *)q.env) ?: "" : NULL;
    if (env_path) {
        s.path = pathcache_get(sp->paths, (uid_t)q.uid, env_path, q.argv[0], now);
        s.found = sp->found;
        sp->found[0] = '\1';   /* not written: the child found nothing on PATH */
    }
    /* The broker's child, not ours (it reaps it and reads its status). It
     * runs in our memory until it execs, as posix_spawn's does: no page
     * tables copied, no copy-on-write faults after (a third of this
     * helper's time with a copy). This thread waits meanwhile; the others
     * answer. By the time we answer, its process group exists. */
    long pid = clone(spawn_entry, (char *)sp->stack + sp->stack_size,
                     SPAWN_SHARE | CLONE_PARENT | CLONE_PIDFD | SIGCHLD, &s,
                     &pidfd);
    int clone_errno = errno;
    for (int i = 0; i < 3; i++)
        if (cg[i] >= 0)
            close(cg[i]);
    /* the file it execs, or "" (it could not start) or "./prog" (the
     * cwd's): forgotten */
    if (env_path && pid >= 0 && sp->found[0] != '\1')
        pathcache_put(sp->paths, (uid_t)q.uid, env_path, q.argv[0], sp->found, now);
    if (pid < 0) {
        snprintf(sp->reason, sizeof(sp->reason), "clone: %s", strerror(clone_errno));
        rc = -clone_errno;
        goto out;
    }
    pthread_mutex_lock(&h->lock);
    rc = h->stopping ? -ESHUTDOWN : child_add(h, (pid_t)pid, pidfd);
    pthread_mutex_unlock(&h->lock);
    if (rc < 0) {
        kill((pid_t)pid, SIGKILL);   /* never run what cannot be signalled */
        close(pidfd);
        snprintf(sp->reason, sizeof(sp->reason), "%s", "cannot watch the process");
        goto out;
    }
    rc = (int)pid;
out:
    impmsg_spawn_free(&q);
    return rc;
}

static int op_signal(struct imp *h, struct impmsg *m)
{
    uint32_t pid, sig;
    if (impmsg_get_u32(m, &pid) < 0 || impmsg_get_u32(m, &sig) < 0)
        return -EBADMSG;
    if (sig >= NSIG)
        return -EINVAL;
    for (struct child *c = h->children; c; c = c->next) {
        if (c->pid != (pid_t)pid)
            continue;
        /* the group may not exist yet if the child has not run */
        if (kill(-c->pid, (int)sig) < 0 && kill(c->pid, (int)sig) < 0)
            return -errno;
        return 0;
    }
    return -ESRCH;
}

/* ---- cgroups ---- */

static int op_contain(struct imp *h, struct impmsg *m)
{
    uint64_t job;
    const char *idstr;
    if (impmsg_get_u64(m, &job) < 0 || impmsg_get_str(m, &idstr) < 0 || job == 0)
        return -EBADMSG;
    if (!token_ok(idstr))
        return fail(h, -EINVAL, "bad job name '%s'", idstr);
    if (cgroup_find(h, job))
        return 0;
    struct cgroup *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    int rc = contain_create(NULL, h->token, idstr, &g->c);
    if (rc < 0) {
        free(g);
        return rc;
    }
    g->job = job;
    g->next = h->cgroups;
    h->cgroups = g;
    return 0;
}

static int op_cpus(struct imp *h, struct impmsg *m)
{
    uint64_t job;
    uint32_t n;
    int cpus[CPU_SETSIZE];
    if (impmsg_get_u64(m, &job) < 0 || impmsg_get_u32(m, &n) < 0 || n == 0 || n > CPU_SETSIZE)
        return -EBADMSG;
    for (uint32_t i = 0; i < n; i++)
        if (impmsg_get_u32(m, (uint32_t *)&cpus[i]) < 0)
            return -EBADMSG;
    struct cgroup *g = cgroup_find(h, job);
    return g ? contain_set_cpus(g->c, cpus, (int)n) : -ENOENT;
}

static int op_memory(struct imp *h, struct impmsg *m)
{
    uint64_t job, bytes;
    if (impmsg_get_u64(m, &job) < 0 || impmsg_get_u64(m, &bytes) < 0 || bytes == 0)
        return -EBADMSG;
    struct cgroup *g = cgroup_find(h, job);
    return g ? contain_set_memory(g->c, bytes) : -ENOENT;
}

static int op_release(struct imp *h, struct impmsg *m)
{
    uint64_t job;
    uint32_t forget;
    if (impmsg_get_u64(m, &job) < 0 || impmsg_get_u32(m, &forget) < 0)
        return -EBADMSG;
    struct cgroup *g = cgroup_find(h, job);
    if (!g)
        return 1;
    if (contain_kill(g->c) || forget) {
        cgroup_drop(h, g);
        return 1;
    }
    return 0;
}

static int op_kill_group(struct imp *h, struct impmsg *m)
{
    const char *idstr;
    struct contain *c;
    if (impmsg_get_str(m, &idstr) < 0)
        return -EBADMSG;
    if (!token_ok(idstr))
        return fail(h, -EINVAL, "bad job name '%s'", idstr);
    if (!contain_exists(NULL, h->token, idstr) || contain_create(NULL, h->token, idstr, &c) < 0)
        return 0;
    contain_kill(c);
    contain_destroy(c);
    return 1;
}

static int op_kill_orphans(struct imp *h, struct impmsg *m)
{
    const char *idstr;
    if (impmsg_get_str(m, &idstr) < 0)
        return -EBADMSG;
    if (!token_ok(idstr))
        return fail(h, -EINVAL, "bad job name '%s'", idstr);
    return orphans_kill(h->token, idstr);
}

/* ---- the broker's own files ---- */

/* dirfd is a directory of the broker's user that nobody else can write,
 * and name one entry of it. */
static int check_dir(struct imp *h, int dirfd, const char *name)
{
    struct stat d;
    if (fstat(dirfd, &d) < 0)
        return -errno;
    if (!S_ISDIR(d.st_mode) || d.st_uid != h->broker_uid || (d.st_mode & 022))
        return fail(h, -EPERM, "%s", "not a directory of the broker's own");
    if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return fail(h, -EINVAL, "bad name '%s'", name);
    return 0;
}

static int op_give(struct imp *h, struct impmsg *m, int *fds, int nfds)
{
    uint32_t uid, gid;
    const char *name;
    struct stat st;
    int rc;
    if (nfds != 1 || impmsg_get_u32(m, &uid) < 0 || impmsg_get_u32(m, &gid) < 0
        || impmsg_get_str(m, &name) < 0)
        return -EBADMSG;
    if ((rc = check_dir(h, fds[0], name)) < 0)
        return rc;
    if (uid == 0 || gid == 0)
        return fail(h, -EPERM, "%s", "nothing is given to root");
    int fd = openat(fds[0], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    rc = 0;
    if (fstat(fd, &st) < 0)
        rc = -errno;
    else if (st.st_uid != h->broker_uid && st.st_uid != uid)
        rc = fail(h, -EPERM, "'%s' is not the broker's", name);
    else if (!S_ISDIR(st.st_mode) && !S_ISSOCK(st.st_mode)
             && !(S_ISREG(st.st_mode) && st.st_nlink == 1))
        rc = fail(h, -EPERM, "'%s' is not a directory, socket or file", name);
    else if (fchownat(fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

static int op_detach(struct imp *h, struct impmsg *m, int *fds, int nfds)
{
    const char *name;
    char path[64 + NAME_MAX], dir[PATH_MAX], abs[PATH_MAX + NAME_MAX + 2], type[256];
    int rc;
    if (nfds != 1 || impmsg_get_str(m, &name) < 0)
        return -EBADMSG;
    if ((rc = check_dir(h, fds[0], name)) < 0)
        return rc;
    /* what is mounted there, from mountinfo: asking the mount itself would
     * wait on a child instance that may hang */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
    ssize_t n = readlink(path, dir, sizeof(dir) - 1);
    if (n <= 0)
        return -errno;
    dir[n] = '\0';
    snprintf(abs, sizeof(abs), "%s/%s", dir, name);
    mountinfo_fstype(abs, type, sizeof(type));
    if (strcmp(type, "fuse.fluxfsd") != 0)
        return fail(h, -EINVAL, "no fluxfs mount on '%s'", name);
    snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", fds[0], name);
    return umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 ? -errno : 0;
}

static int op_cwd(struct imp *h, struct impmsg *m)
{
    uint32_t pid;
    if (impmsg_get_u32(m, &pid) < 0 || pid == 0 || pid > INT32_MAX)
        return -EBADMSG;
    /* the answer goes where a failure's reason would; not a directory in
     * the instance's own mount (where rsync writes from) */
    int rc = procfd_cwd((pid_t)pid, h->mount, h->reason, sizeof(h->reason));
    if (rc < 0)
        h->reason[0] = '\0';
    return rc;
}

static int op_holds(struct imp *h, struct impmsg *m)
{
    uint32_t pid, flags;
    uint64_t ino;
    const char *name;
    if (impmsg_get_u32(m, &pid) < 0 || impmsg_get_u64(m, &ino) < 0
        || impmsg_get_str(m, &name) < 0 || impmsg_get_u32(m, &flags) < 0
        || pid == 0 || pid > INT32_MAX)
        return -EBADMSG;
    int held = procfd_held((pid_t)pid, ino, name, flags & IMP_HOLDS_PARENT) ? 1 : 0;
    /* a directory that cannot be read is "!errno" (a path starts with
     * '/'): the broker keeps the reason, and asks nothing more */
    int rc;
    if ((flags & IMP_HOLDS_CWD)
        && (rc = procfd_cwd((pid_t)pid, h->mount, h->reason, sizeof(h->reason))) < 0)
        snprintf(h->reason, sizeof(h->reason), "!%d", -rc);
    return held;
}

static int op_unmount(struct imp *h)
{
    char type[256];
    if (!h->mount)
        return -ENOENT;
    /* from mountinfo: a stat of the mount would wait on the broker, which
     * is waiting on us */
    mountinfo_fstype(h->mount, type, sizeof(type));
    if (strcmp(type, "fuse.fluxfsd") != 0)
        return 0;   /* already gone: what is there now is not ours */
    return umount2(h->mount, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 ? -errno : 0;
}

/* ---- the loop ---- */

static int handle(struct imp *h, uint32_t op, struct impmsg *m, int *fds, int nfds)
{
    const char *token;
    switch (op) {
    case IMP_INIT:
        if (impmsg_get_str(m, &token) < 0)
            return -EBADMSG;
        if (h->token[0] || !token_ok(token))
            return fail(h, -EINVAL, "bad or second instance token '%s'", token);
        snprintf(h->token, sizeof(h->token), "%s", token);
        return 0;
    case IMP_SIGNAL:
        return op_signal(h, m);
    case IMP_CONTAIN:
        return op_contain(h, m);
    case IMP_CPUS:
        return op_cpus(h, m);
    case IMP_MEMORY:
        return op_memory(h, m);
    case IMP_RELEASE:
        return op_release(h, m);
    case IMP_KILL_GROUP:
        return op_kill_group(h, m);
    case IMP_KILL_ORPHANS:
        return op_kill_orphans(h, m);
    case IMP_GIVE:
        return op_give(h, m, fds, nfds);
    case IMP_DETACH:
        return op_detach(h, m, fds, nfds);
    case IMP_UNMOUNT:
        return op_unmount(h);
    case IMP_CWD:
        return op_cwd(h, m);
    case IMP_HOLDS:
        return op_holds(h, m);
    default:
        return -EOPNOTSUPP;
    }
}

/* The loop's thread: everything but spawns. Under the lock but for the
 * questions about submitters' processes, which touch nothing shared. */
static int handle_locked(void *ctx, uint32_t op, struct impmsg *m, int *fds, int nfds)
{
    struct imp *h = ctx;
    if (op == IMP_SPAWN)
        return -EOPNOTSUPP;   /* the spawn channel's only */
    if (op == IMP_HOLDS || op == IMP_CWD)
        return handle(h, op, m, fds, nfds);
    pthread_mutex_lock(&h->lock);
    int rc = handle(h, op, m, fds, nfds);
    pthread_mutex_unlock(&h->lock);
    return rc;
}

static int handle_spawn(void *ctx, uint32_t op, struct impmsg *m, int *fds, int nfds)
{
    return op == IMP_SPAWN ? op_spawn(ctx, m, fds, nfds) : -EOPNOTSUPP;
}

/* One request on sock, answered; reason is where the handler says why it
 * failed (or answers). Nonzero when the stream ended or broke. */
static int serve_one(int sock, struct impmsg *m, char reason[PATH_MAX],
                     int (*fn)(void *, uint32_t, struct impmsg *, int *, int), void *ctx)
{
    uint32_t op = 0;
    int fds[IMP_FDS_MAX], nfds = 0;
    int rc = impmsg_recv(sock, &op, m, fds, &nfds);
    if (rc < 0)
        return rc;   /* end of file, or a stream out of step: stop */
    reason[0] = '\0';
    rc = fn(ctx, op, m, fds, nfds);
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    if (rc < 0 && rc != -EBADMSG && !reason[0])
        snprintf(reason, PATH_MAX, "%s", strerror(-rc));
    struct impmsg r;
    impmsg_init(&r);
    impmsg_put_u32(&r, (uint32_t)rc);
    impmsg_put_str(&r, rc == -EBADMSG ? "malformed request" : reason);
    rc = impmsg_send(sock, IMP_REPLY, &r, NULL, 0);
    impmsg_free(&r);
    return rc;
}

static void *spawner_main(void *arg)
{
    struct spawner *sp = arg;
    pthread_setname_np(pthread_self(), "imp-spawner");
    sp->paths = pathcache_create();   /* this thread's; without it, every task searches */
    struct impmsg m;
    impmsg_init(&m);
    while (serve_one(sp->sock, &m, sp->reason, handle_spawn, sp) == 0)
        ;
    impmsg_free(&m);
    pathcache_destroy(sp->paths);
    sp->paths = NULL;
    /* the broker has gone, or broke the stream: the loop's thread stops too */
    shutdown(sp->h->sock[1], SHUT_RDWR);
    return NULL;
}

/* The broker has gone: nothing it started may outlive it. A task the
 * spawner is starting right now is killed by it (stopping), or, if we exit
 * first, by its death signal: its parent is the broker. */
static void cleanup(struct imp *h)
{
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    while (h->children) {
        kill(-h->children->pid, SIGKILL);
        kill(h->children->pid, SIGKILL);
        child_gone(h, h->children);
    }
    while (h->cgroups) {
        contain_kill(h->cgroups->c);
        cgroup_drop(h, h->cgroups);
    }
    /* the instance's directory of groups, once none is left in it */
    if (h->token[0])
        contain_remove_instance(NULL, h->token);
    pthread_mutex_unlock(&h->lock);
}

static void usage(void)
{
    fprintf(stderr, "usage: fluxfs-imp --broker-uid UID --fd SPAWNS --fd OTHER [--fd ASKS [--fd QUEUED]]"
                    " [--mount DIR]\n"
                    "       [--task-nice N]\n"
                    "Started by a root fluxfsd only; see exec/imp.c.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "fd", required_argument, 0, 'f' },
        { "broker-uid", required_argument, 0, 'u' },
        { "mount", required_argument, 0, 'm' },
        { "task-nice", required_argument, 0, 'n' },
        { 0, 0, 0, 0 },
    };
    struct imp h = { .sock = { -1, -1, -1, -1 }, .broker_uid = (uid_t)-1,
                     .lock = PTHREAD_MUTEX_INITIALIZER };
    struct spawner sp = { .h = &h }, sp2 = { .h = &h };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end;
        long v;
        switch (c) {
        case 'f':
        case 'u':
            v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || v < 0 || v > INT32_MAX) {
                usage();
                return 2;
            }
            if (c == 'f' && h.nsock < 4)
                h.sock[h.nsock++] = (int)v;
            else if (c == 'f') {
                usage();
                return 2;
            } else
                h.broker_uid = (uid_t)v;
            break;
        case 'm':
            h.mount = optarg;
            break;
        case 'n':
            v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || v < -20 || v > 19) {
                usage();
                return 2;
            }
            h.set_nice = true;
            h.task_nice = (int)v;
            break;
        default:
            usage();
            return 2;
        }
    }
    if (h.broker_uid == (uid_t)-1 || optind != argc || h.nsock < 2) {
        usage();
        return 2;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "fluxfs-imp: must be started by root (a system fluxfsd)\n");
        return 1;
    }
    if ((h.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        return 1;
    for (int i = 0; i < h.nsock; i++) {   /* the first and fourth are spawners' */
        int type = 0;
        socklen_t len = sizeof(type);
        if (getsockopt(h.sock[i], SOL_SOCKET, SO_TYPE, &type, &len) < 0
            || type != SOCK_STREAM) {
            fprintf(stderr, "fluxfs-imp: fd %d is not the broker's socket\n", h.sock[i]);
            return 1;
        }
        fcntl(h.sock[i], F_SETFD, FD_CLOEXEC);
        if (i == 0 || i == 3)
            continue;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &h.sock[i] };
        if (epoll_ctl(h.ep, EPOLL_CTL_ADD, h.sock[i], &ev) < 0)
            return 1;
    }
    openlog("fluxfs-imp", LOG_PID, LOG_DAEMON);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    /* ignored signals survive exec: the tasks get them back at default */
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;
        if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &sa) == 0
            && sa.sa_handler != SIG_DFL)
            h.sigs[h.nsigs++] = sig;
    }
    /* the spawner blocks every signal: none may be handled while a child
     * runs on its memory (the child empties its mask) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    sp.sock = h.sock[0];
    sp2.sock = h.sock[3];
    int terr = pthread_create(&sp.thread, NULL, spawner_main, &sp);
    if (terr == 0 && h.nsock > 3 && (terr = pthread_create(&sp2.thread, NULL, spawner_main, &sp2)))
        sp2.sock = -1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (terr != 0) {
        fprintf(stderr, "fluxfs-imp: cannot start its spawner: %s\n", strerror(terr));
        return 1;
    }
    struct impmsg m;
    impmsg_init(&m);
    for (bool run = true; run;) {
        struct epoll_event evs[64];
        int n = epoll_wait(h.ep, evs, 64, -1);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n && run; i++) {
            void *p = evs[i].data.ptr;
            if (p == &h.sock[1] || p == &h.sock[2]) {
                run = serve_one(*(int *)p, &m, h.reason, handle_locked, &h) == 0;
            } else {
                pthread_mutex_lock(&h.lock);
                child_gone(&h, p);
                pthread_mutex_unlock(&h.lock);
            }
        }
    }
    impmsg_free(&m);
    cleanup(&h);
    /* the spawner ends with its channel; not waited for past a second (a
     * task stuck before its exec holds it) */
    struct spawner *sps[2] = { &sp, h.nsock > 3 && sp2.sock >= 0 ? &sp2 : NULL };
    for (int i = 0; i < 2; i++) {
        if (!sps[i])
            continue;
        shutdown(sps[i]->sock, SHUT_RDWR);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        if (pthread_timedjoin_np(sps[i]->thread, NULL, &until) == 0) {
            users_forget(sps[i]);
            if (sps[i]->stack)
                munmap(sps[i]->stack, sps[i]->stack_size);
        }
    }
    return 0;
}
