/* spawn.h - the child side of starting one process: what a task (or a
 * nested broker) does between fork and exec, shared by this machine's
 * launcher (exec.c, after vfork) and the privileged helper (imp.c, after
 * clone). Async-signal-safe calls only, on memory prepared beforehand:
 * the vforked caller shares the broker's memory with its other threads.
 */
#ifndef FLUXFS_SPAWN_H
#define FLUXFS_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

struct spawn {
    char *const *argv;       /* NULL-terminated */
    char *const *envp;       /* the whole environment, NULL-terminated */
    const char *path;        /* argv[0] already found on the job's PATH, or NULL */
    const char *cwd;         /* chdir here (as the user), or NULL */
    const char *out_path;    /* stdout (and stderr without err_path) to this file,
                                opened by the task as its user, or NULL */
    const char *err_path;    /* stderr to this file, or NULL */
    const char *in_path;     /* stdin from this file (opened likewise), or NULL */
    int fds[3];              /* become stdin, stdout, stderr */
    const int *cpus;         /* bind to these (OS numbers); ncpus 0 = do not */
    int ncpus;
    int cgroup_fds[3];       /* cgroup.procs to join before anything runs, -1 = none */
    bool drop_user;          /* become uid:gid with groups[] (raw syscalls) */
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int ngroups;
    const int *sigs;         /* signals to reset to SIG_DFL */
    int nsigs;
    pid_t parent;            /* the process whose death kills this one */
    int deathsig;            /* with this signal */
    bool new_session;        /* setsid (a nested broker), else its own process group */
    bool set_nice;           /* take this nice first (the spawner's own is lower) */
    int nice;
    char *found;             /* a child in our memory (CLONE_VM) leaves here
                                the file on PATH it execs (PATH_MAX bytes), ""
                                if it could not start; NULL: do not */
};

/* The value of envp's PATH (NULL-terminated; the last one if it is there
 * twice, as the child searches), or NULL. Async-signal-safe. */
const char *spawn_env_path(char *const *envp);

/* Set up and exec; never returns. A command that cannot run exits 127
 * (not found) or 126 and says why on the new stderr, as a shell would. */
_Noreturn void spawn_child(const struct spawn *s);

/* The one line a failed start writes on its stderr. Async-signal-safe. */
_Noreturn void spawn_fail(const char *pre, const char *subject, const char *post, int err,
                          int code);

#endif
