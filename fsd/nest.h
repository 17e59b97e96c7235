/* nest.h - nested instances: a child broker inside a running job.
 *
 * `mkdir jobs/<id>/<name>` asks for one. The child is a separate fluxfsd
 * (its own process and LMDB store, run as the job's owner) whose resources
 * are exactly the job's R, mounted at a private path under the parent's
 * state directory; the parent shows it at jobs/<id>/<name>/ as symlinks
 * (queue, jobs, resources, status, status.json, README, events) into that mount, so
 * cp, cat, wait, ctl and inotify work unchanged at any depth. Parent and
 * child talk over an nng link (fsd/link.h): the child says when it is ready
 * and how many jobs it has active; the parent tells it to shut down.
 *
 * Lifetime (doc/tree.md "Nested instances"):
 *   STARTING  mkdir is answered once the child is mounted (or failed)
 *   LIVE      running; rmdir is refused (EBUSY) while it has active jobs
 *   STOPPING  told to shut down (rmdir, `shutdown NAME` on the job's ctl,
 *             the job ending, the parent stopping); force cancels its jobs
 *   ARCHIVE   the child exited: its store is closed and complete, and a
 *             read-only broker on the same store serves the history at the
 *             same paths
 * The parent job leaves CLEANUP only after all its children have stopped.
 */
#ifndef FLUXFS_NEST_H
#define FLUXFS_NEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/errmsg.h"
#include "common/ev.h"
#include <jansson.h>
#include "fsd/genblock.h"
#include "fsd/job.h"

#define NEST_MAX_PER_JOB 14     /* inode space: NEST_INO_SPAN each under a job */
#define NEST_NAME_MAX 63
/* Seconds a child told to stop by nests_stop() has before SIGKILL. */
#define NEST_STOP_GRACE 10.0
/* Seconds a history broker has after SIGTERM before SIGKILL, and what one
 * gives its own (it stops them first: less, or a slow one deeper down
 * gets it killed before it has removed its children's link directories
 * from /tmp). */
#define NEST_GONE_GRACE 5.0
#define NEST_GONE_GRACE_CHILD 2.0

/* The entries a nested instance shows, in listing order: the root's. */
#define NEST_NENTRIES 9
#define NEST_INO_SPAN 16      /* inodes of one: the directory, then its entries */
extern const char *const nest_entries[NEST_NENTRIES];

struct nest;
struct nests;

struct nests_config {
    const char *statedir;       /* children live in STATEDIR/nested/<job>/<name> */
    const char *fluxfsd;        /* the daemon binary (default /proc/self/exe) */
    const char *match_policy;   /* handed to children */
    const char *queue_policy;
    struct genblock gens;       /* our job-id generators: children get blocks
                                 * of gens.first+1.. (fsd/genblock.h) */
    const char *instance;       /* our FLUXFS_INSTANCE, set in child brokers'
                                 * environment with FLUX_JOB_ID, so that our
                                 * orphan cleanup after a crash finds them */
    struct imp *imp;            /* a system instance's privileged helper: it
                                 * starts other users' child brokers and hands
                                 * them their files (exec/imp_client.h) */
    uid_t imp_uid;              /* ... and the user we run as beside it */
    bool set_nice;              /* a child broker we fork takes task_nice, */
    int task_nice;              /* our tasks' (ours is lower: fluxfsd --nice) */
};

/* Ask our own parent for job-id generators (request req): a nested
 * instance whose block is used up passes its children's needs up the tree
 * to the root, which owns all 16384. 0 once sent. */
typedef int (*nests_ask_f)(void *arg, uint64_t req);
/* Give generators our parent lent us back (a child of ours they went to
 * stopped). */
typedef void (*nests_return_f)(void *arg, const struct genblock *b);
/* Set by a nested broker once its link to its parent is up (NULL: a root). */
void nests_set_asker(struct nests *ns, nests_ask_f ask, nests_return_f give_back, void *arg);
/* Child n (or one below it) gave back block b. */
void nests_returned(struct nests *ns, struct nest *n, const struct genblock *b);
/* Our parent answered request req: block b, or rc < 0 (none left). */
void nests_granted(struct nests *ns, uint64_t req, int rc, const struct genblock *b);
/* Answer child n's request req for generators (rc 0: block b). */
void nest_give_generators(struct nest *n, uint64_t req, int rc, const struct genblock *b);

/* Answer to an asynchronous request: 0 or -errno with a reason. */
typedef void (*nest_done_f)(void *arg, int rc, const char *reason);
/* All of a job's children have stopped (its CLEANUP may end). */
typedef void (*nest_job_clear_f)(void *arg, struct job *job);

struct nests *nests_create(struct ev_loop *loop, const struct nests_config *cfg,
                           nest_job_clear_f clear, void *clear_arg);
/* The instance is stopping: refuse new children, tell every running child
 * to shut down (force: its jobs are canceled) and every history broker to
 * exit (SIGTERM), and SIGKILL whichever is still running grace seconds
 * later. Returns at once: exits are seen by the loop (pidfds), and
 * nests_running() says when none is left. Children stopped this way leave
 * no history broker behind. */
void nests_stop(struct nests *ns, double grace);
/* Is any child process (live or history broker) not yet reaped? */
bool nests_running(const struct nests *ns);
/* SIGKILL whatever is still running (without waiting for it: a child that
 * has not exited yet is reaped by init once this process has), detach the
 * children's mounts, answer nobody, free. Call nests_stop() and run the loop
 * until !nests_running() first for a clean stop. NULL-safe. */
void nests_destroy(struct nests *ns);

/* mkdir: start a child on job's R, with a block of job-id generators no
 * other live child has. Checks (EINVAL, EEXIST, EPERM, ENOSPC: 28 children
 * already, or no generator left; ESHUTDOWN) fail at once; otherwise done()
 * is called when it is mounted. */
int nest_create(struct nests *ns, struct job *job, const char *name, uid_t uid,
                nest_done_f done, void *arg, struct errmsg *err);
/* rmdir: stop a live child (EBUSY if it has active jobs and !force). done()
 * is called once it has stopped and its history is being served. */
int nest_remove(struct nests *ns, struct job *job, const char *name, uid_t uid,
                bool force, nest_done_f done, void *arg, struct errmsg *err);

/* The job is ending: stop its children (force). Returns true if any are
 * still running, in which case clear() is called once they have stopped. */
bool nests_job_ending(struct nests *ns, struct job *job);
/* How many nested instances job has (any state). */
int nests_of_job(const struct nests *ns, const struct job *job);
/* The job is being purged: stop serving its history (SIGTERM to the history
 * broker, SIGKILL after NEST_GONE_GRACE; reaped by the loop), forget it. */
void nests_job_gone(struct nests *ns, struct job *job);
/* After a restart: serve the history of every nested instance on disk
 * whose job is still known (lookup by id string). */
void nests_recover(struct nests *ns, struct job *(*lookup)(void *arg, const char *idstr),
                   void *arg);
/* Refuse new children (the parent is shutting down). */
void nests_shutdown(struct nests *ns);

/* A multi-node instance (fsd/cluster.h): a job's nested instance runs one
 * child broker on each node of the job, its leader on the job's first node
 * (doc/overlay.md "Nested instances across nodes"). The leader of our
 * instance coordinates: it gives out the generators, starts one part per
 * node with "nest.start", gathers where each listens and sends the list
 * back ("nest.peers"), answers mkdir once every part is ready, and stops
 * them all. A follower's mkdir and rmdir go to the leader. Each node shows
 * its own part at jobs/<id>/<name>/; mkdir on a node the job does not run
 * on fails with ENXIO. send: overlay_send (msg borrowed). */
typedef int (*nests_send_f)(void *arg, int to, json_t *msg);
struct bootstrap;
/* lookup: a job by id; R: a copy of a job's R (a follower keeps it in its
 * store, not in the job), NULL on failure. */
void nests_set_net(struct nests *ns, int rank, const struct bootstrap *bs, nests_send_f send,
                   struct job *(*lookup)(void *arg, uint64_t id),
                   char *(*R)(void *arg, const struct job *job), void *arg);
/* A "nest.*" message from rank `from` (borrowed). */
void nests_net_recv(struct nests *ns, int from, const char *type, json_t *msg);

/* Lookup and listing for the tree. */
struct nest *nest_lookup(struct nests *ns, const struct job *job, const char *name);
/* i-th child of a job in creation order, or NULL. */
struct nest *nest_at(struct nests *ns, const struct job *job, int i);
const char *nest_name(const struct nest *n);
int nest_slot(const struct nest *n);            /* 0..NEST_MAX_PER_JOB-1 */
uid_t nest_uid(const struct nest *n);
double nest_ctime(const struct nest *n);
const char *nest_state_name(const struct nest *n);
/* Target of entry i's symlink (inside the child's mount). */
int nest_target(const struct nest *n, int entry, char *buf, size_t size);

#endif
