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
 *              job's cgroups if it was contained, bound to the cpus given.
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
 *   HOLDS      whether a process, or else its parent, has a descriptor open
 *              on an inode of the broker's mount (is a submitter still
 *              writing its file).
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
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common/mountinfo.h"
#include "exec/contain.h"
#include "exec/imp_msg.h"
#include "exec/orphans.h"
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
    int sock[3];                 /* the broker's channels: its launcher's (spawns),
                                    its loop's (everything else), so that a
                                    question never waits behind a job's starts,
                                    and submitters' directories asked ahead */
    int nsock, ep;
    uid_t broker_uid;
    const char *mount;           /* the instance's mount point (root's word) */
    char token[IMP_TOKEN_MAX + 1];
    struct child *children;
    struct cgroup *cgroups;
    char reason[PATH_MAX];       /* why the last request failed, or its answer */
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

/* The uid's identity from the user database: never the request's. */
static int lookup_user(struct imp *h, uid_t uid, gid_t *gid, gid_t **groups, int *ngroups)
{
    char buf[16384], name[64];
    struct passwd pw, *res = NULL;
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res) {
        snprintf(name, sizeof(name), "%u", (unsigned)uid);
        return fail(h, -ESRCH, "no user %s in the user database", name);
    }
    *gid = pw.pw_gid;
    int n = 32;
    for (int tries = 0; tries < 8; tries++) {
        gid_t *g = realloc(*groups, (size_t)n * sizeof(gid_t));
        if (!g)
            return -ENOMEM;
        *groups = g;
        int want = n;
        if (getgrouplist(pw.pw_name, pw.pw_gid, *groups, &want) >= 0) {
            *ngroups = want;
            return 0;
        }
        n = want > n ? want : 2 * n;
    }
    return fail(h, -E2BIG, "%s is in too many groups", pw.pw_name);
}

static int child_add(struct imp *h, pid_t pid)
{
    struct child *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->pid = pid;
    /* not reaped before the broker hears the pid: this cannot be another */
    if ((c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0) {
        free(c);
        return -errno;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    if (epoll_ctl(h->ep, EPOLL_CTL_ADD, c->pidfd, &ev) < 0) {
        close(c->pidfd);
        free(c);
        return -errno;
    }
    c->next = h->children;
    h->children = c;
    return 0;
}

/* Its leader has exited: what it left in its group goes with it (the group
 * id cannot be reused while members remain). */
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

static int op_spawn(struct imp *h, struct impmsg *m, int *fds, int nfds)
{
    struct imp_spawn_req q;
    gid_t gid = 0, *groups = NULL;
    int ngroups = 0, rc;
    if (nfds != 3 || impmsg_decode_spawn(m, &q) < 0)
        return -EBADMSG;
    if ((rc = lookup_user(h, (uid_t)q.uid, &gid, &groups, &ngroups)) < 0)
        goto out;
    struct cgroup *g = q.job ? cgroup_find(h, q.job) : NULL;
    struct spawn s = {
        .argv = (char *const *)q.argv, .envp = (char *const *)q.env,
        .path = *q.path ? q.path : NULL, .cwd = *q.cwd ? q.cwd : NULL,
        .out_path = *q.out ? q.out : NULL, .err_path = *q.err ? q.err : NULL,
        .in_path = *q.in ? q.in : NULL,
        .fds = { fds[0], fds[1], fds[2] }, .cpus = q.cpus, .ncpus = q.ncpus,
        .cgroup_fds = { g ? contain_procs_fd(g->c) : -1, g ? contain_cpuset_fd(g->c) : -1,
                        g ? contain_memory_fd(g->c) : -1 },
        .drop_user = true, .uid = (uid_t)q.uid, .gid = gid, .groups = groups,
        .ngroups = ngroups, .parent = getppid(), .deathsig = q.deathsig ? q.deathsig : SIGKILL,
        .new_session = q.flags & IMP_SPAWN_SESSION,
    };
    /* The broker's child, not ours (it reaps it and reads its status). A
     * copy of this small process, not a vfork: we answer the next request
     * while it sets itself up (a signal before its group exists reaches it
     * alone, see op_signal). */
    long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid == 0)
        spawn_child(&s);
    if (pid < 0) {
        rc = fail(h, -errno, "clone: %s", strerror(errno));
        goto out;
    }
    if (child_add(h, (pid_t)pid) < 0) {
        kill((pid_t)pid, SIGKILL);   /* never run what cannot be signalled */
        rc = fail(h, -ENOMEM, "%s", "cannot watch the process");
        goto out;
    }
    rc = (int)pid;
out:
    impmsg_spawn_free(&q);
    free(groups);
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
    char link[64];
    if (impmsg_get_u32(m, &pid) < 0 || pid == 0 || pid > INT32_MAX)
        return -EBADMSG;
    snprintf(link, sizeof(link), "/proc/%u/cwd", (unsigned)pid);
    /* the answer goes where a failure's reason would */
    ssize_t n = readlink(link, h->reason, sizeof(h->reason) - 1);
    if (n < 0)
        return -errno;
    if ((size_t)n >= sizeof(h->reason) - 1)
        return -ENAMETOOLONG;
    h->reason[n] = '\0';
    return 0;
}

static int op_holds(struct impmsg *m)
{
    uint32_t pid;
    uint64_t ino;
    const char *name;
    if (impmsg_get_u32(m, &pid) < 0 || impmsg_get_u64(m, &ino) < 0
        || impmsg_get_str(m, &name) < 0 || pid == 0 || pid > INT32_MAX)
        return -EBADMSG;
    return procfd_held((pid_t)pid, ino, name) ? 1 : 0;
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
    case IMP_SPAWN:
        return op_spawn(h, m, fds, nfds);
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
        return op_holds(m);
    default:
        return -EOPNOTSUPP;
    }
}

static int serve_one(struct imp *h, int sock, struct impmsg *m)
{
    uint32_t op = 0;
    int fds[IMP_FDS_MAX], nfds = 0;
    int rc = impmsg_recv(sock, &op, m, fds, &nfds);
    if (rc < 0)
        return rc;   /* end of file, or a stream out of step: stop */
    h->reason[0] = '\0';
    rc = handle(h, op, m, fds, nfds);
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    if (rc < 0 && rc != -EBADMSG && !h->reason[0])
        snprintf(h->reason, sizeof(h->reason), "%s", strerror(-rc));
    struct impmsg r;
    impmsg_init(&r);
    impmsg_put_u32(&r, (uint32_t)rc);
    impmsg_put_str(&r, rc == -EBADMSG ? "malformed request" : h->reason);
    rc = impmsg_send(sock, IMP_REPLY, &r, NULL, 0);
    impmsg_free(&r);
    return rc;
}

/* The broker has gone: nothing it started may outlive it. */
static void cleanup(struct imp *h)
{
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
}

static void usage(void)
{
    fprintf(stderr, "usage: fluxfs-imp --broker-uid UID [--fd N [--fd N]] [--mount DIR]\n"
                    "Started by a root fluxfsd only; see exec/imp.c.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "fd", required_argument, 0, 'f' },
        { "broker-uid", required_argument, 0, 'u' },
        { "mount", required_argument, 0, 'm' },
        { 0, 0, 0, 0 },
    };
    struct imp h = { .sock = { 3, -1, -1 }, .broker_uid = (uid_t)-1 };
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
            if (c == 'f' && h.nsock < 3)
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
        default:
            usage();
            return 2;
        }
    }
    if (h.broker_uid == (uid_t)-1 || optind != argc) {
        usage();
        return 2;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "fluxfs-imp: must be started by root (a system fluxfsd)\n");
        return 1;
    }
    if (h.nsock == 0)
        h.nsock = 1;
    if ((h.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        return 1;
    for (int i = 0; i < h.nsock; i++) {
        int type = 0;
        socklen_t len = sizeof(type);
        if (getsockopt(h.sock[i], SOL_SOCKET, SO_TYPE, &type, &len) < 0
            || type != SOCK_STREAM) {
            fprintf(stderr, "fluxfs-imp: fd %d is not the broker's socket\n", h.sock[i]);
            return 1;
        }
        fcntl(h.sock[i], F_SETFD, FD_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &h.sock[i] };
        if (epoll_ctl(h.ep, EPOLL_CTL_ADD, h.sock[i], &ev) < 0)
            return 1;
    }
    openlog("fluxfs-imp", LOG_PID, LOG_DAEMON);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    struct impmsg m;
    impmsg_init(&m);
    for (bool run = true; run;) {
        struct epoll_event evs[64];
        int n = epoll_wait(h.ep, evs, 64, -1);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n && run; i++) {
            void *p = evs[i].data.ptr;
            if (p == &h.sock[0] || p == &h.sock[1] || p == &h.sock[2])
                run = serve_one(&h, *(int *)p, &m) == 0;
            else
                child_gone(&h, p);
        }
    }
    impmsg_free(&m);
    cleanup(&h);
    return 0;
}
