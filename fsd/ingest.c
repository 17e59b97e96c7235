/* ingest.c - parse, validate, check dependencies and mint IDs for the
 * documents of a submission, all or none. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "common/batch.h"
#include "fsd/depend.h"
#include "fsd/ingest.h"

/* A user's submission budget: a token bucket of submit_rate per second. */
struct user_rate {
    uid_t uid;
    double tokens, t;
    struct user_rate *next;
};

struct ingest {
    struct ingest_config cfg;
    struct fluid_gen gen;
    struct user_rate *rates;
};

struct ingest *ingest_create(const struct ingest_config *cfg)
{
    struct ingest *in = calloc(1, sizeof(*in));
    if (in)
        in->cfg = *cfg;
    return in;
}

void ingest_destroy(struct ingest *in)
{
    if (!in)
        return;
    while (in->rates) {
        struct user_rate *r = in->rates;
        in->rates = r->next;
        free(r);
    }
    free(in);
}

/* Per-user limits, before anything is parsed: the cheapest refusals. */
static int check_user(struct ingest *in, uid_t uid, size_t n, double now, struct errmsg *err)
{
    if (uid == 0)
        return 0;
    size_t pending = jobtable_pending_of(in->cfg.jobs, uid);
    if (in->cfg.max_pending && pending + n > in->cfg.max_pending)
        return errmsg_set(err, -EDQUOT, "user %u has %zu jobs pending; one user may have "
                          "%zu (fluxfsd --max-pending-per-user)", (unsigned)uid, pending,
                          in->cfg.max_pending);
    if (in->cfg.submit_rate <= 0)
        return 0;
    struct user_rate *r = in->rates;
    while (r && r->uid != uid)
        r = r->next;
    if (!r) {
        if (!(r = calloc(1, sizeof(*r))))
            return 0;
        r->uid = uid;
        r->tokens = in->cfg.submit_rate;
        r->t = now;
        r->next = in->rates;
        in->rates = r;
    }
    r->tokens += (now - r->t) * in->cfg.submit_rate;
    if (r->tokens > in->cfg.submit_rate)
        r->tokens = in->cfg.submit_rate < 1 ? 1 : in->cfg.submit_rate;
    r->t = now;
    if (r->tokens < 1)
        return errmsg_set(err, -EAGAIN, "too many submissions: one user may make %g a second "
                          "(fluxfsd --submit-rate); try again", in->cfg.submit_rate);
    r->tokens -= 1;
    return 0;
}

int ingest_set_ids(struct ingest *in, uint64_t epoch, uint32_t generator, uint64_t last)
{
    return fluid_gen_init(&in->gen, epoch, generator, last);
}

struct job *ingest_dep_lookup(void *jobtable, const char *idstr)
{
    uint64_t id;
    return fluid_decode(idstr, &id) == 0 ? jobtable_lookup(jobtable, id) : NULL;
}

/* A submission is a jobspec, or a batch script ("#!" with # flux: or
 * #SBATCH directives) turned into one. The job keeps the text as submitted. */
int ingest_parse(const char *text, size_t len, struct jobspec **jsp, struct errmsg *err)
{
    if (!batch_is_script(text, len))
        return jobspec_parse(text, len, jsp, err);
    char *spec;
    size_t slen;
    int rc = batch_to_jobspec(text, len, &spec, &slen, err);
    if (rc < 0)
        return rc;
    rc = jobspec_parse(spec, slen, jsp, err);
    free(spec);
    return rc;
}

/* Everything about a submission that can fail, without touching the
 * instance: parse, validate, allocate its id and job. */
static int prepare_one(struct ingest *in, const char *text, size_t len, uid_t uid, gid_t gid,
                          const char *cwd, struct job **jobp, int *ndepsp, struct errmsg *err)
{
    struct jobspec *js = NULL;
    struct job *job = NULL;
    uint64_t id;
    int rc;

    if (in->cfg.read_only)
        return errmsg_set(err, -EROFS, "this nested instance has ended: its history is "
                          "read-only");
    if ((rc = ingest_parse(text, len, &js, err)) < 0)
        return rc;
    const char *what;
    int64_t ntasks = jobspec_max_tasks(js, graph_nvertices(in->cfg.graph), &what);
    if (ntasks > in->cfg.max_tasks) {
        rc = errmsg_set(err, -EINVAL, "%s: asks for %lld tasks, more than the limit of "
                        "%lld (fluxfsd --max-tasks)", what, (long long)ntasks,
                        (long long)in->cfg.max_tasks);
        goto error;
    }
    if (qmgr_satisfiable(in->cfg.q, js->rs, err) < 0) {
        rc = -EINVAL;
        goto error;
    }
    int ndeps = depend_validate(js->json, ingest_dep_lookup, (void *)in->cfg.jobs, err);
    if (ndeps < 0) {
        rc = ndeps;
        goto error;
    }
    if ((rc = fluid_gen_next(&in->gen, &id)) < 0) {
        errmsg_set(err, rc, "cannot allocate a job id");
        goto error;
    }
    if (!(job = job_create(id)) || !(job->spec_text = malloc(len + 1))) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    memcpy(job->spec_text, text, len);
    job->spec_text[len] = '\0';
    job->spec_len = len;
    const char *dir = js->cwd ? js->cwd : cwd;
    if (!dir) {
        rc = errmsg_set(err, -ENOENT, "the submitter's working directory is gone (removed?) "
                        "and attributes.system.cwd is not set");
        goto error;
    }
    if (!(job->cwd = strdup(dir))) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    job->js = js;
    js = NULL;
    job->uid = uid;
    job->gid = gid;
    job->urgency = QMGR_URGENCY_DEFAULT;
    /* attributes.system.urgency lets a job be submitted held (0) or favoured */
    json_t *u = json_object_get(json_object_get(json_object_get(job->js->json, "attributes"),
                                                "system"), "urgency");
    if (u) {
        int max = (uid == 0 || uid == in->cfg.owner) ? QMGR_URGENCY_MAX : QMGR_URGENCY_DEFAULT;
        if (!json_is_integer(u) || json_integer_value(u) < 0 || json_integer_value(u) > max) {
            rc = errmsg_set(err, -EINVAL, "attributes.system.urgency: must be an integer 0-%d",
                            max);
            goto error;
        }
        job->urgency = (int)json_integer_value(u);
    }
    /* a queued job keeps no copy of its environment: job_start reads it
     * back from the stored jobspec */
    jobspec_shed_environment(job->js);
    *jobp = job;
    *ndepsp = ndeps;
    return 0;
error:
    jobspec_destroy(js);
    job_destroy(job);
    return rc;
}

/* A job whose jobspec text is the same as like's (the copies of a bulk
 * submission, e.g. `fluxfs submit --cc`): same validation, so it shares
 * like's parsed jobspec instead of parsing it again. */
static int prepare_copy(struct ingest *in, const struct job *like, const char *text, size_t len,
                       struct job **jobp, struct errmsg *err)
{
    uint64_t id;
    struct job *job = NULL;
    int rc;

    if ((rc = fluid_gen_next(&in->gen, &id)) < 0)
        return errmsg_set(err, rc, "cannot allocate a job id");
    if (!(job = job_create(id)) || !(job->spec_text = malloc(len + 1)) ||
        (like->cwd && !(job->cwd = strdup(like->cwd)))) {
        job_destroy(job);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    memcpy(job->spec_text, text, len);
    job->spec_text[len] = '\0';
    job->spec_len = len;
    job->js = jobspec_ref(like->js);
    job->uid = like->uid;
    job->gid = like->gid;
    job->urgency = like->urgency;   /* and its cwd: same jobspec, same submitter */
    *jobp = job;
    return 0;
}

int ingest_prepare(struct ingest *in, const char *text, const struct jobstream_doc *docs,
                   size_t n, uid_t uid, gid_t gid, const char *cwd, struct job **jobs,
                   int *ndeps, struct errmsg *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int rc = check_user(in, uid, n, ts.tv_sec + ts.tv_nsec / 1e9, err);
    if (rc < 0)
        return rc;
    size_t i;
    for (i = 0; i < n; i++) {
        const char *t = text + docs[i].off;
        if (i > 0 && docs[i].len == docs[i - 1].len &&
            memcmp(t, text + docs[i - 1].off, docs[i].len) == 0) {
            ndeps[i] = ndeps[i - 1];
            if ((rc = prepare_copy(in, jobs[i - 1], t, docs[i].len, &jobs[i], err)) < 0)
                goto error;
            continue;
        }
        if ((rc = prepare_one(in, t, docs[i].len, uid, gid, cwd, &jobs[i], &ndeps[i],
                              err)) < 0) {
            if (n > 1) {
                /* name the job; a syntax error's line counts from the
                 * start of the whole submission */
                char why[sizeof(err->text)];
                int line, skip = 0;
                snprintf(why, sizeof(why), "%s", err->text);
                if (sscanf(why, "line %d%n", &line, &skip) == 1 && skip > 0)
                    errmsg_set(err, rc, "job %zu of %zu: line %d%s", i + 1, n,
                               line + docs[i].line - 1, why + skip);
                else
                    errmsg_set(err, rc, "job %zu of %zu (line %d): %s", i + 1, n,
                               docs[i].line, why);
            }
            goto error;
        }
    }
    return 0;
error:
    while (i-- > 0)
        job_destroy(jobs[i]);
    return rc;
}
