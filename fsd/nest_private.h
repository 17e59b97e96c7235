/* nest_private.h - shared by nest.c and nest_gens.c only: the nested
 * instances' structs and the steps both take.
 *
 *   nest.c       children: spawn, link, stop, archive (history brokers)
 *   nest_gens.c  job-id generators for children: static blocks, and loans
 *                up and down the tree when a block is used up
 */
#ifndef FLUXFS_NEST_PRIVATE_H
#define FLUXFS_NEST_PRIVATE_H

#include <jansson.h>
#include "fsd/link.h"
#include "fsd/nest.h"

#define NEST_START_TIMEOUT 20.0     /* seconds for a child to mount */

enum nest_state { NEST_STARTING, NEST_LIVE, NEST_STOPPING, NEST_ARCHIVING, NEST_ARCHIVE,
                  NEST_DEAD };


struct nest {
    struct nests *ns;
    struct job *job;
    char name[NEST_NAME_MAX + 1];
    int slot;
    uid_t uid;
    gid_t gid;
    double ctime;
    enum nest_state state;
    char *dir;                  /* STATEDIR/nested/<job>/<name> (nestdir.h) */
    int dirfd;                  /* ... open: everything in it is reached through it */
    pid_t pid;
    bool by_imp;                /* started by the privileged helper: signalled
                                   through it too (another user's process) */
    int pidfd;
    struct link *link;
    int active;                 /* child's pending + running jobs */
    struct genblock gens;       /* its job-id generators (while it mints) */
    struct genblock *loans;     /* more of our block, given to its subtree */
    size_t nloans, aloans;
    struct genblock *above;     /* blocks our parent lent, passed on to its subtree */
    size_t nabove, aabove;
    int asking;                 /* its requests we passed up, unanswered */
    uint64_t gen_req;           /* waiting for our parent's generators to start */
    char sock[64];              /* the link's socket file, "" when none */
    uint64_t timer;
    nest_done_f done;           /* a waiting mkdir or rmdir */
    void *done_arg;
    /* Across nodes (nest_net.c): one child broker on each node of the job. */
    int crank, csize;           /* a part: this child broker's rank among csize
                                 * (csize 1: a child of one broker, the rest unused) */
    bool part;                  /* a part of a child across nodes (the
                                 * coordinator starts and stops it) */
    bool discard;               /* ... of one that failed to start: no history */
    struct nest_coord *coord;   /* leader: the whole child across nodes, shown
                                 * nowhere (its parts are) */
    struct nest *next;
};

/* The leader's view of a child across nodes: one part per node of the
 * job, started, joined and stopped together (nest_net.c). */
struct nest_coord {
    int *ranks;                 /* by child rank: the broker of ours it runs under */
    char **hosts;               /* ... its node */
    json_t **Rs;                /* ... its share of the job's R */
    char **binds, **connects;   /* ... where it listens (nest.url), NULL for 0 */
    unsigned char *flags;       /* ... COORD_URL, COORD_READY, COORD_STOPPED */
    json_t *tls;                /* over TLS: the child's credentials (PEM), from
                                 * its leader, for the others */
    int nurl, nready, nstopped;
    bool failed;                /* a part failed to start: no history */
    int req_rank;               /* a follower's mkdir or rmdir waits: its rank (0 none) */
    uint64_t req_token;
    uint64_t timer;             /* COORD_START_WAIT, COORD_STOP_WAIT */
};

/* A child's request for generators we could not serve, passed to our
 * parent as our own request 'req'. */
struct gen_forward {
    struct nest *child;
    uint64_t child_req, req;
    struct gen_forward *next;
};

struct nests {
    struct ev_loop *loop;
    struct nests_config cfg;
    nests_ask_f ask;            /* ask our parent for generators, or NULL (root) */
    nests_return_f give_back;   /* ... and give them back */
    void *ask_arg;
    uint64_t nreq;              /* names our requests */
    struct gen_forward *forwards;
    nest_job_clear_f clear;
    void *clear_arg;
    struct nest *list;
    bool shutdown;
    /* A multi-node instance (nests_set_net): our rank, the brokers, and
     * the overlay to reach them. */
    int net_rank;
    const struct bootstrap *net_bs;
    nests_send_f net_send;
    struct job *(*net_lookup)(void *arg, uint64_t id);
    char *(*net_R)(void *arg, const struct job *job);
    void *net_arg;
    struct nest_req *reqs;      /* follower: mkdir and rmdir sent to the leader */
    uint64_t next_token;
    struct part_wait *waits;    /* follower: nest.start for a job its replica lacks yet */
};

/* A part to start once our replica has its job (it lags the leader's):
 * looked for every 50 ms, for up to NEST_PART_JOB_WAIT seconds. */
#define NEST_PART_JOB_WAIT 10.0
struct part_wait {
    struct nests *ns;
    uint64_t id;
    char name[NEST_NAME_MAX + 1];
    json_t *msg;
    double since;
    uint64_t timer;
    struct part_wait *next;
};

/* A follower's mkdir or rmdir the leader has not answered yet. */
struct nest_req {
    uint64_t token;
    nest_done_f done;
    void *arg;
    uint64_t timer;
    struct nests *ns;
    struct nest_req *next;
};

/* nest.c */
/* Answer n's waiting mkdir or rmdir (once). */
void nest_answer(struct nest *n, int rc, const char *reason);
/* Start n's daemon (it has its generators). 0 or -errno with err. */
int nest_start_child(struct nest *n, struct errmsg *err);

/* nest.c, for nest_net.c */
/* Letters, digits, '-', '_', '.' (not first), at most NEST_NAME_MAX: a
 * name that is safe in a path. */
bool nest_valid_name(const char *name);
/* mkdir's checks (name, owner, job running, not there yet): a free slot, or
 * -errno with err. */
int nest_check(struct nests *ns, struct job *job, const char *name, uid_t uid,
               struct errmsg *err);
/* rmdir's checks on n: 0 or -errno with err. */
int nest_remove_check(struct nest *n, uid_t uid, bool force, struct errmsg *err);
/* *out: a nest of job's run by uid:gid, its directory made with R (a free
 * slot; not in the list yet). 0, or -errno with err. nest_discard() frees
 * one that never ran. */
int nest_new(struct nests *ns, struct job *job, const char *name, uid_t uid, gid_t gid,
             const char *R, struct nest **out, struct errmsg *err);
void nest_discard(struct nest *n);
/* Start n's daemon: a child, or (archive) the history broker of one. */
int nest_spawn(struct nest *n, bool archive, struct errmsg *err);
void nest_send_shutdown(struct nest *n, bool force);
/* SIGKILL n's child after grace seconds if it has not exited by then. */
void nest_kill_later(struct nest *n, double grace);
/* Answer a coordinator's waiting mkdir or rmdir (here or a follower's). */
void nest_coord_answer(struct nest *n, int rc, const char *why);
/* n stopped for good: its generators go back, and its job may end. */
void nest_after_stop(struct nest *n);

/* nest_net.c */
/* A part's child said something the coordinator needs ("url", "ready",
 * "status"): pass it on. */
void nest_part_msg(struct nest *n, const char *type, json_t *msg);
/* A part's child exited while starting (why: from its log). */
void nest_part_exited(struct nest *n, const char *why);
/* A part's history broker is up, or will not be: it has stopped. */
void nest_part_archived(struct nest *n);
/* Parts still waiting for their job in our replica: dropped (nests_destroy). */
void nest_net_waits_free(struct nests *ns);
/* mkdir and rmdir on a multi-node instance: done here (leader), sent to the
 * leader (follower), or 1: a child of one broker on our own node, the
 * single-broker way. */
int nest_net_route_create(struct nests *ns, struct job *job, const char *name, uid_t uid,
                          nest_done_f done, void *arg, struct errmsg *err);
int nest_net_route_remove(struct nests *ns, struct job *job, const char *name, uid_t uid,
                          bool force, nest_done_f done, void *arg, struct errmsg *err);
/* The leader's: create, or remove (1: no such child across nodes). The
 * answer goes to done, or to follower req_rank (> 0) as a nest.reply. */
int nest_net_create(struct nests *ns, struct job *job, const char *name, uid_t uid,
                    nest_done_f done, void *arg, int req_rank, uint64_t req_token,
                    struct errmsg *err);
int nest_net_remove(struct nests *ns, struct job *job, const char *name, uid_t uid, bool force,
                    nest_done_f done, void *arg, int req_rank, uint64_t req_token,
                    struct errmsg *err);
/* Start a coordinator's parts (it has its generators). */
int nest_net_start(struct nest *n, struct errmsg *err);
/* Stop a coordinator's parts. */
void nest_net_stop(struct nest *n, bool force);
/* The job of coordinator n is ending: true while its parts still run. */
bool nest_net_job_ending(struct nest *n);
/* Where a part listens for its parent in the child: "SCHEME://HOST:0" or "ipc://". */
void nest_net_bind(struct nests *ns, char *buf, size_t size);
void nest_coord_free(struct nest_coord *c, int csize);

/* nest_gens.c */
/* A block of our generators no live child's subtree uses. 0 or -ENOSPC,
 * -ENOMEM. */
int nest_pick_generators(struct nests *ns, struct genblock *out);
/* Whether b is inside block (not its first, which its owner mints with). */
bool nest_in_block(const struct genblock *block, const struct genblock *b);
/* A child's "gen-request" or "gen-return" message. */
void nest_gen_msg(struct nest *n, const char *type, json_t *msg);
/* n, waiting for generators, will not start: its mkdir fails. */
void nest_abandon_waiting(struct nest *n, int rc, const char *why);
/* Wait for our parent's answer to n's request, at most this long. */
void nest_wait_generators(struct nest *n);
/* n stopped minting: what its subtree borrowed from above goes back up. */
void nest_return_generators(struct nest *n);

/* Blocks one child's subtree may hold on loan at once: a child (run by a
 * user, who may send it anything) cannot drain the tree's generators. */
#define NEST_LOANS_MAX 64

#endif
