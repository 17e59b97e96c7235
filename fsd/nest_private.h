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
    struct nest *next;
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
};

/* nest.c */
/* Answer n's waiting mkdir or rmdir (once). */
void nest_answer(struct nest *n, int rc, const char *reason);
/* Start n's daemon (it has its generators). 0 or -errno with err. */
int nest_start_child(struct nest *n, struct errmsg *err);

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
