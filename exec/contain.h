/* contain.h - per-job containment: every process a job starts, however it
 * detaches (setsid, double fork, nohup), stays in the job's cgroup, and
 * everything in it is killed when the job ends, as Slurm's proctrack/cgroup
 * does. Uses the cgroup v1 freezer hierarchy (FACTS: cgroup v1 here):
 * freeze, SIGKILL every member, thaw, remove.
 *
 * Needs write access to /sys/fs/cgroup/freezer (a root broker); where that
 * is missing, contain_create() says so (-EACCES, -ENOENT...) and a job has
 * its process groups only.
 */
#ifndef FLUXFS_CONTAIN_H
#define FLUXFS_CONTAIN_H

#include <stdbool.h>
#include <stdint.h>

struct contain;

/* The group of job idstr of instance (its FLUXFS_INSTANCE token, or "" for
 * none) under root (NULL: /sys/fs/cgroup/freezer/fluxfs). 0 or -errno. */
int contain_create(const char *root, const char *instance, const char *idstr,
                   struct contain **out);
/* Open on the group's cgroup.procs for writing: a new task writes "0" to
 * it before it runs anything (async-signal-safe: one write). */
int contain_procs_fd(const struct contain *c);
/* Hold the job's tasks to these cpus (the union of its tasks' here): a
 * cpuset group beside the freezer one (/sys/fs/cgroup/cpuset/fluxfs/...),
 * so a task cannot widen its affinity past what it was allocated. Once per
 * job. 0, or -errno (no cpuset hierarchy, not root): the job then has its
 * affinity only. */
int contain_set_cpus(struct contain *c, const int *cpus, int n);
/* Its cgroup.procs, or -1 without one: a task writes "0" to it too. */
int contain_cpuset_fd(const struct contain *c);
/* Limit the job's memory here to bytes (a v1 memory group beside the
 * freezer one, /sys/fs/cgroup/memory/fluxfs/...; swap too where it is
 * accounted): past it the kernel reclaims, then kills a task of the job (an
 * OOM kill the job's exit status shows as SIGKILL), never another job's.
 * Once per job. 0, or -errno (no memory hierarchy, not root). */
int contain_set_memory(struct contain *c, uint64_t bytes);
/* Its cgroup.procs, or -1 without one: a task writes "0" to it too. */
int contain_memory_fd(const struct contain *c);
/* Whether job idstr of instance has a group (under root, NULL: the
 * default): a broker that never contained jobs makes none to look. */
bool contain_exists(const char *root, const char *instance, const char *idstr);
/* Kill every process in the group. true once the group is empty and
 * removed; false: its members are still dying, call again later. Never
 * waits. */
bool contain_kill(struct contain *c);
/* Free the handle (the group stays if not removed yet). NULL-safe. */
void contain_destroy(struct contain *c);
/* The instance's directory of groups, removed if no group is left in it
 * (at the broker's exit). */
void contain_remove_instance(const char *root, const char *instance);

#endif
