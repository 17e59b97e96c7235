/* spawn.c - between fork and exec (see spawn.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "exec/spawn.h"

/* Write "fluxfs: <pre><subject><post>: <reason>" to stderr. */
static void say(const char *pre, const char *subject, const char *post, const char *reason)
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

_Noreturn void spawn_fail(const char *pre, const char *subject, const char *post, int err,
                          int code)
{
    /* strerrordesc_np: a static string, no locale or malloc after fork. */
    const char *desc = strerrordesc_np(err);
    say(pre, subject, post, desc ? desc : "unknown error");
    _exit(code);
}

/* execve, and a file that is not an executable format runs as a shell
 * script, as execvp does. Returns only on failure (errno set). */
static void try_execve(const char *file, char *const *argv, char *const *envp)
{
    execve(file, argv, envp);
    if (errno != ENOEXEC)
        return;
    int argc = 0;
    while (argv[argc])
        argc++;
    const char *sh[argc + 2];
    sh[0] = "/bin/sh";
    sh[1] = file;
    for (int i = 1; i <= argc; i++)
        sh[i + 1] = argv[i];
    execve("/bin/sh", (char *const *)sh, envp);
    errno = ENOEXEC;
}

const char *spawn_env_path(char *const *envp)
{
    const char *path = NULL;
    for (char *const *e = envp; e && *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            path = *e + 5;
    return path;
}

/* Search the job's PATH (glibc's execvpe would search the broker's). */
static void try_execvpe(const struct spawn *s)
{
    const char *prog = s->argv[0], *path = spawn_env_path(s->envp);
    if (strchr(prog, '/')) {
        try_execve(prog, s->argv, s->envp);
        return;
    }
    if (!path)
        path = "/bin:/usr/bin";   /* execvpe's default */
    bool denied = false;
    size_t plen = strlen(prog);
    for (const char *p = path;; p++) {
        size_t n = strcspn(p, ":");
        char file[PATH_MAX];
        if (n + 1 + plen < sizeof(file)) {
            size_t o = 0;
            if (n == 0)
                file[o++] = '.';     /* an empty entry is the cwd */
            memcpy(file + o, p, n);
            o += n;
            file[o++] = '/';
            memcpy(file + o, prog, plen + 1);
            if (s->found)
                memcpy(s->found, file, o + plen + 1);   /* what exec is tried on */
            try_execve(file, s->argv, s->envp);
            if (errno == EACCES)
                denied = true;
            else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE &&
                     errno != ENODEV && errno != ETIMEDOUT)
                return;
        }
        p += n;
        if (!*p)
            break;
    }
    errno = denied ? EACCES : ENOENT;
}

/* Put the fds on 0..2, whatever numbers pipe() happened to pick. */
static void set_stdio(const struct spawn *s)
{
    int src[3];
    /* Move sources above 2 first, so dup2 onto 0..2 cannot clobber one. */
    for (int i = 0; i < 3; i++) {
        if ((src[i] = fcntl(s->fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
            _exit(126);
    }
    for (int i = 0; i < 3; i++)
        if (dup2(src[i], i) < 0)
            _exit(126);
}

static void reset_signals(const struct spawn *s)
{
    struct sigaction sa = { .sa_handler = SIG_DFL };
    sigemptyset(&sa.sa_mask);
    /* Ignored signals survive exec, so SIG_IGN set by the parent (SIGPIPE)
     * would leak into the job without this; a handler must not run here,
     * in the parent's memory. Only the signals that had either (not all
     * 64: this runs once per task). */
    for (int i = 0; i < s->nsigs; i++)
        sigaction(s->sigs[i], &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

_Noreturn void spawn_child(const struct spawn *s)
{
    reset_signals(s);
    if (s->new_session)
        setsid();
    else
        setpgid(0, 0);
    /* into the job's cgroups before anything of the job runs: whatever it
     * starts, detached or not, is found and killed at its end */
    for (int i = 0; i < 3; i++)
        if (s->cgroup_fds[i] >= 0 && write(s->cgroup_fds[i], "0", 1) != 1)
            spawn_fail("joining the job's cgroup", "", "", errno, 126);
    /* The parent may have died before prctl took effect. */
    if (prctl(PR_SET_PDEATHSIG, s->deathsig ? s->deathsig : SIGKILL) < 0 ||
        getppid() != s->parent)
        _exit(1);
    if (s->ncpus > 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        for (int i = 0; i < s->ncpus; i++)
            if (s->cpus[i] >= 0 && s->cpus[i] < CPU_SETSIZE)
                CPU_SET(s->cpus[i], &set);
        sched_setaffinity(0, sizeof(set), &set);
    }
    set_stdio(s);
    /* Keep the parent's fds (FUSE device, store, sockets) out of the job
     * even if someone forgot O_CLOEXEC. Mark them rather than close them
     * here: closing a file on our own mount (the publisher may hold one)
     * would wait on the broker's answer from inside vfork. */
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    /* the broker and its helper run above their tasks (fluxfsd --nice): a
     * task gets back the nice the instance was started with, here, once the
     * setup the spawner waits for is done (at the spawner's nice), and while
     * still root, who may go either way (fluxfsd refuses a --nice its tasks
     * could not come back from) */
    if (s->set_nice)
        setpriority(PRIO_PROCESS, 0, s->nice);
    /* Raw syscalls: glibc's wrappers would signal the broker's threads to
     * change their credentials too, and a vforked child shares their memory. */
    if (s->drop_user) {
        if (syscall(SYS_setgroups, s->ngroups > 0 ? s->ngroups : 1,
                    s->ngroups > 0 ? s->groups : &s->gid) < 0)
            spawn_fail("setgroups", "", "", errno, 126);
        if (syscall(SYS_setgid, s->gid) < 0)
            spawn_fail("setgid", "", "", errno, 126);
        if (syscall(SYS_setuid, s->uid) < 0)
            spawn_fail("setuid", "", "", errno, 126);
    }
    if (s->cwd && chdir(s->cwd) < 0)
        spawn_fail("cwd '", s->cwd, "'", errno, 1);
    /* files the job asked for (--output, --error, #SBATCH -o): opened here,
     * as the user, where the user stands; appended to by every task */
    if (s->in_path) {
        int fd = open(s->in_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            spawn_fail("--input '", s->in_path, "'", errno, 1);
        if (dup2(fd, STDIN_FILENO) < 0)
            _exit(126);
    }
    const char *paths[2] = { s->out_path, s->err_path };
    for (int i = 0; i < 2; i++) {
        if (!paths[i])
            continue;
        int fd = open(paths[i], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
            spawn_fail(i ? "--error '" : "--output '", paths[i], "'", errno, 1);
        if (dup2(fd, i ? STDERR_FILENO : STDOUT_FILENO) < 0
            || (i == 0 && !s->err_path && dup2(fd, STDERR_FILENO) < 0))
            _exit(126);
    }
    /* the launcher found the program on the job's PATH already (one execve
     * instead of one per PATH entry); if that fails, search as a shell does */
    if (s->path)
        try_execve(s->path, s->argv, s->envp);
    try_execvpe(s);
    int err = errno;
    if (s->found)
        s->found[0] = '\0';
    spawn_fail("", s->argv[0], "", err, err == ENOENT ? 127 : 126);
}
