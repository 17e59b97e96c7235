/* ingest.h - what a submission goes through before it joins the instance
 * (Flux's job-ingest): parse (a jobspec, or a batch script turned into
 * one), validate against the instance's limits and resources, check its
 * dependencies, and mint its job ID.
 *
 * It owns the instance's ID generator. Nothing here touches the store or
 * the job table: a prepared job is entered by the job manager, so a
 * submission that fails leaves no trace but the IDs it used.
 */
#ifndef FLUXFS_INGEST_H
#define FLUXFS_INGEST_H

#include <limits.h>
#include <stdbool.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/errmsg.h"
#include "common/jobspec.h"
#include "common/jobstream.h"
#include "fsd/job.h"
#include "fsd/jobtable.h"
#include "sched/graph.h"
#include "sched/qmgr.h"

struct ingest_config {
    const struct graph *graph;  /* the scheduler's graph (task cap, its size) */
    struct qmgr *q;             /* satisfiability */
    const struct jobtable *jobs;/* dependencies name jobs */
    uid_t owner;                /* may set urgency above the default */
    int64_t max_tasks;          /* most tasks one job may ask for */
    bool read_only;             /* an ended instance: refuse everything */
    /* Per user, root exempt; 0: no limit. */
    size_t max_pending;         /* jobs not yet running */
    double submit_rate;         /* submissions (files) per second, with a
                                 * burst of as many */
};

/* The most jobspec text one sbatch --array submission may make, in all. */
#define INGEST_ARRAY_BYTES (64 << 20)

struct ingest;

struct ingest *ingest_create(const struct ingest_config *cfg);
void ingest_destroy(struct ingest *in);

/* IDs: milliseconds since epoch (fixed when the state directory was
 * created), this instance's generator (common/fluid.h), strictly above
 * last, the largest ID the store holds. */
int ingest_set_ids(struct ingest *in, uint64_t epoch, uint32_t generator, uint64_t last);

/* A jobspec, or a batch script ("#!" with # flux: or #SBATCH directives)
 * turned into one. 0 or -EINVAL/-E2BIG with err filled. */
int ingest_parse(const char *text, size_t len, struct jobspec **jsp, struct errmsg *err);

/* Where a job whose jobspec names no cwd runs: the submitter's working
 * directory, dir if known, else found by find() the first time a job of
 * the submission needs it (in a system instance that is a round trip to
 * the privileged helper, on the loop thread: `fluxfs submit` and `run`
 * name their cwd, so they never wait for it). find: 0 and buf filled, or
 * -errno (no such directory: then only jobs that name one are taken). */
struct ingest_cwd {
    const char *dir;
    int (*find)(void *arg, char *buf, size_t size);
    void *arg;
    bool looked;
    int rc;                      /* find()'s, once looked */
    char buf[PATH_MAX];
};
const char *ingest_cwd_get(struct ingest_cwd *c);

/* The documents of a submission parsed ahead, on any thread (only text is
 * read): a bulk submission of 32 MiB takes seconds to parse, which the
 * loop must not spend (jobmgr_submit_text_async). ingest_prepare then
 * parses nothing twice: it takes what it needs from js, parses what is
 * not there, and where a document failed here, fails with err. */
struct ingest_pre {
    struct jobspec **js;     /* per document: parsed, or NULL (a copy of the
                              * one before it, or past the failure) */
    struct jobspec_env *env; /* per document: a copy's environment, taken */
    size_t n;
    size_t failed;           /* the first document that did not parse, or n */
    int rc;                  /* and why */
    struct errmsg err;
};
/* 0 or -ENOMEM (pre then holds nothing). */
int ingest_preparse(const char *text, const struct jobstream_doc *docs, size_t n,
                    struct ingest_pre *pre);
void ingest_pre_release(struct ingest_pre *pre);   /* what prepare did not take */

/* Prepare the n documents of one submission (common/jobstream.h): every
 * one validated before any is returned. *jobsp gets the *njobsp new jobs
 * (state NEW, spec_text their document) and *ndepsp their numbers of
 * dependencies, both arrays the caller frees. A document is one job, but an
 * sbatch script with --array is one job per index, in index order, each
 * with its own generated jobspec (common/batch.h batch_elem). Copies of the
 * previous document share its parsed jobspec. All or nothing: on failure
 * no job is returned and err names the first bad one, "job 3 of 1000 (line
 * 17): ...". pre: parsed ahead (ingest_preparse), or NULL. */
int ingest_prepare(struct ingest *in, const char *text, const struct jobstream_doc *docs,
                   size_t n, struct ingest_pre *pre, uid_t uid, gid_t gid,
                   struct ingest_cwd *cwd, struct job ***jobsp, int **ndepsp, size_t *njobsp,
                   struct errmsg *err);

/* The job an ID string names, for depend.h's checks. */
struct job *ingest_dep_lookup(void *jobtable, const char *idstr);

#endif
