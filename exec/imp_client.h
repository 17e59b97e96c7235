/* imp_client.h - a broker's side of its privileged helper (exec/imp.c).
 *
 * A root-started broker starts the helper before it drops to its own user,
 * then asks it for everything that still needs root: starting a job's
 * tasks as their owner, signalling them, cgroups, handing a nested
 * instance's files to its owner. Calls are synchronous (one request, one
 * answer; a few tens of microseconds) and may come from any thread.
 */
#ifndef FLUXFS_IMP_CLIENT_H
#define FLUXFS_IMP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/errmsg.h"

struct imp;

/* Fork and exec helper (a path) with one end of a socketpair, while still
 * root; it serves until imp_destroy() or our death. broker_uid is the user
 * the broker is about to become; mount the instance's mount point (for
 * imp_unmount); task_nice, if not NULL, the nice its tasks take (the
 * helper's own is ours, lower). NULL with err filled. */
struct imp *imp_start(const char *helper, uid_t broker_uid, const char *mount,
                      const int *task_nice, struct errmsg *err);
/* Close the socket (the helper kills what it started and exits) and reap
 * it. NULL-safe. */
void imp_destroy(struct imp *h);

/* The instance's token (names its cgroups, marks its processes). Once. */
int imp_init(struct imp *h, const char *token, struct errmsg *err);

struct imp_spawn {
    char *const *argv;
    char *const *envp;
    const char *path;       /* argv[0] found on PATH, or NULL */
    const char *cwd;        /* or NULL */
    const char *out_path;   /* spawn.h's: files the task opens as its user */
    const char *err_path;
    const char *in_path;
    int fds[3];
    const int *cpus;
    int ncpus;
    uid_t uid;              /* groups come from the user database */
    uint64_t job;           /* join its cgroups (imp_contain), or 0 */
    bool new_session;
    int deathsig;           /* 0 = SIGKILL */
};

/* Start one process, our child. Its pid, or -errno with err filled (a task
 * that starts and then cannot exec still gets a pid: it says why on its
 * stderr and exits 126 or 127, as a shell would). */
pid_t imp_spawn(struct imp *h, const struct imp_spawn *s, struct errmsg *err);
/* imp_spawn() without waiting, for the loop (one thread only): the
 * request is queued (the descriptors copied) and sent as far as the
 * channel takes it, never blocking; imp_queue_take() gives the answer to
 * the oldest request sent: 0 with *pid (the pid, or -errno with err
 * filled), -EAGAIN when none has come, another -errno when the channel
 * failed. What the channel
 * did not take waits (imp_queue_waiting()) until imp_queue_flush() when
 * imp_queue_fd() turns writable; the answers come on it too. A task stuck
 * before its exec (on our own mount, even) holds up the helper's spawner,
 * never the caller. */
int imp_queue_spawn(struct imp *h, const struct imp_spawn *s, struct errmsg *err);
int imp_queue_flush(struct imp *h);
bool imp_queue_waiting(const struct imp *h);
int imp_queue_fd(const struct imp *h);
int imp_queue_take(struct imp *h, pid_t *pid, struct errmsg *err);
/* Signal the process group of a process started by imp_spawn(), while it
 * lives. 0 or -errno (-ESRCH: it has exited). */
int imp_signal(struct imp *h, pid_t pid, int sig);
/* contain.h through the helper: 0 or -errno; release: 1 removed, 0 still
 * dying (call again), forget: give up on it. */
int imp_contain(struct imp *h, uint64_t job, const char *idstr);
int imp_contain_cpus(struct imp *h, uint64_t job, const int *cpus, int n);
int imp_contain_memory(struct imp *h, uint64_t job, uint64_t bytes);
int imp_release(struct imp *h, uint64_t job, bool forget);
int imp_kill_group(struct imp *h, const char *idstr);
int imp_kill_orphans(struct imp *h, const char *idstr);
/* chown dirfd/name (ours) to uid:gid (not root). 0 or -errno. */
int imp_give(struct imp *h, int dirfd, const char *name, uid_t uid, gid_t gid,
             struct errmsg *err);
/* Lazily unmount the FUSE mount on dirfd/name. 0 or -errno. */
int imp_detach(struct imp *h, int dirfd, const char *name);
/* Process pid's working directory into buf (as readlink(2) of
 * /proc/PID/cwd, which only root may read for another user's). 0 or -errno. */
int imp_cwd(struct imp *h, pid_t pid, char *buf, size_t size);
/* procfd_held() of exec/procfd.h for another user's process: 1, 0, or
 * -errno. */
int imp_holds(struct imp *h, pid_t pid, uint64_t ino, const char *name, bool parent);
/* imp_cwd() and imp_holds() without waiting, on a channel of their own:
 * imp_ask_*() send the question (0 or -errno), and imp_take() takes the
 * answer to the oldest one not taken yet: 0 with *answer (imp_cwd's or
 * imp_holds' return value; buf, if not NULL, the directory), -EAGAIN when
 * !wait and none has come, another -errno if the channel failed.
 * imp_ask_fd() turns readable when an answer waits. imp_ask_holds() with
 * cwd asks both at once: the answer is imp_holds()'s, and buf the closer's
 * directory, or "!N" when it could not be read (imp_cwd()'s -N). */
int imp_ask_cwd(struct imp *h, pid_t pid);
int imp_ask_holds(struct imp *h, pid_t pid, uint64_t ino, const char *name, bool parent,
                  bool cwd);
int imp_take(struct imp *h, bool wait, int *answer, char *buf, size_t size);
int imp_ask_fd(const struct imp *h);
/* Lazily unmount the instance's own mount point. 0 or -errno. */
int imp_unmount(struct imp *h);

/* The helper next to this program (the build tree's exec/, or the
 * installed libexec), or $FLUXFS_IMP. NULL if none is found. */
const char *imp_default_path(char *buf, size_t size);

#endif
