/* ingest.c - parse, validate, check dependencies and mint IDs for the
 * documents of a submission, all or none. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "common/batch.h"
#include "common/jsonenv.h"
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

/* ingest_parse() of text whose environment may have been taken already
 * (taken: see jobspec_parse_taken). */
static int parse_taken(const char *text, size_t len, struct jobspec_env *taken,
                       struct jobspec **jsp, struct errmsg *err)
{
    if (taken && taken->envv)
        return jobspec_parse_taken(text, len, taken, jsp, err);
    if (!batch_is_script(text, len)) {
        int rc = jobspec_parse(text, len, jsp, err);
        if (rc < 0 && err && batch_has_directives(text, len)) {
            struct errmsg as_jobspec = *err;
            errmsg_set(err, rc, "not a batch script: it has directive lines (#SBATCH, "
                       "# flux:) but does not start with '#!' and its interpreter "
                       "(#!/bin/bash); as a jobspec: %s", as_jobspec.text);
        }
        return rc;
    }
    char *spec;
    size_t slen;
    int rc = batch_to_jobspec(text, len, &spec, &slen, err);
    if (rc < 0)
        return rc;
    rc = jobspec_parse(spec, slen, jsp, err);
    free(spec);
    return rc;
}

/* A submission is a jobspec, or a batch script ("#!" with # flux: or
 * #SBATCH directives) turned into one. The job keeps the text as submitted. */
int ingest_parse(const char *text, size_t len, struct jobspec **jsp, struct errmsg *err)
{
    return parse_taken(text, len, NULL, jsp, err);
}

const char *ingest_cwd_get(struct ingest_cwd *c)
{
    if (!c || c->dir || !c->find || c->looked)
        return c ? c->dir : NULL;
    c->looked = true;
    if ((c->rc = c->find(c->arg, c->buf, sizeof(c->buf))) == 0)
        c->dir = c->buf;
    return c->dir;
}

/* Everything about a submission that can fail, without touching the
 * instance: parse, validate, allocate its id and job. */
static int prepare_one(struct ingest *in, const char *text, size_t len,
                       struct jobspec_env *taken, struct jobspec *parsed, uint64_t id,
                       uid_t uid, gid_t gid, struct ingest_cwd *cwd, struct job **jobp,
                       int *ndepsp, struct errmsg *err)
{
    struct jobspec *js = parsed;   /* text's, parsed ahead (ingest_preparse), or NULL */
    struct job *job = NULL;
    int rc;

    if (in->cfg.read_only) {
        if (taken)
            free(taken->envv);
        jobspec_destroy(js);
        return errmsg_set(err, -EROFS, "this nested instance has ended: its history is "
                          "read-only");
    }
    if (js && taken) {
        free(taken->envv);
        taken->envv = NULL;
    }
    if (!js && (rc = parse_taken(text, len, taken, &js, err)) < 0)
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
    if (!(job = job_create(id)) || !(job->spec_text = malloc(len + 1))) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    memcpy(job->spec_text, text, len);
    job->spec_text[len] = '\0';
    job->spec_len = len;
    const char *dir = js->cwd ? js->cwd : ingest_cwd_get(cwd);
    if (!dir && cwd && cwd->rc == -EXDEV) {
        rc = errmsg_set(err, -ENOENT, "the submitter works inside this instance's tree, "
                        "which is no place to run a job: set attributes.system.cwd");
        goto error;
    }
    if (!dir) {
        rc = errmsg_set(err, -ENOENT, "the submitter's working directory is gone (removed?) "
                        "and attributes.system.cwd is not set");
        goto error;
    }
    if (!(job->cwd = strdup(dir))) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    /* the job's own: a --cc's copies share the rest (prepare_copy); where
     * it was is known only in the text as submitted, not in a jobspec
     * made from a batch script */
    job->env = js->env;
    js->env.envv = NULL;
    if (batch_is_script(text, len))
        job->env.off = job->env.span = 0;
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
    /* the environment stays while the job may start at once; one that
     * waits drops it (jobmgr: jm_shed_waiting) */
    *jobp = job;
    *ndepsp = ndeps;
    return 0;
error:
    jobspec_destroy(js);
    job_destroy(job);
    return rc;
}

/* A job whose jobspec text is the same as like's (identical copies of a
 * bulk submission), or the same but for its environment, env (taken: the
 * copies of `fluxfs submit --cc`, which differ in FLUX_JOB_CC): same
 * validation, so it shares like's parsed jobspec instead of parsing it
 * again (and a queued copy holds its environment and records, not a
 * jobspec of its own). env's envv is the job's, or freed. */
static int prepare_copy(struct ingest *in, const struct job *like, const char *text, size_t len,
                       struct jobspec_env *env, struct job **jobp, struct errmsg *err)
{
    uint64_t id;
    struct job *job = NULL;
    struct jobspec_env own = { 0 };
    int rc;

    if (env) {
        own = *env;
        env->envv = NULL;
    } else if (like->env.envv) {
        own = like->env;
        if (!(own.envv = jsonenv_dup(like->env.envv)))
            return errmsg_set(err, -ENOMEM, "out of memory");
    }
    if ((rc = fluid_gen_next(&in->gen, &id)) < 0) {
        free(own.envv);
        return errmsg_set(err, rc, "cannot allocate a job id");
    }
    if (!(job = job_create(id)) || !(job->spec_text = malloc(len + 1)) ||
        (like->cwd && !(job->cwd = strdup(like->cwd)))) {
        free(own.envv);
        job_destroy(job);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    job->env = own;
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

/* The document's text, or (an sbatch --array script) element k's jobspec:
 * every element is a job of its own, named by the first one's id. */
static int prepare_doc(struct ingest *in, const char *t, size_t len, struct jobspec_env *taken,
                       struct jobspec *parsed, const struct batch_array *a, uint64_t first,
                       size_t k, uid_t uid, gid_t gid, struct ingest_cwd *cwd,
                       struct job **jobp, int *ndepsp, struct errmsg *err)
{
    uint64_t id;
    int rc;
    if ((rc = fluid_gen_next(&in->gen, &id)) < 0) {
        free(taken->envv);
        jobspec_destroy(parsed);
        return errmsg_set(err, rc, "cannot allocate a job id");
    }
    if (a->count == 0)
        return prepare_one(in, t, len, taken, parsed, id, uid, gid, cwd, jobp, ndepsp, err);
    jobspec_destroy(parsed);   /* the script's; each element has its own */
    free(taken->envv);
    taken->envv = NULL;
    char array_id[32], *spec;
    size_t slen;
    fluid_encode(k == 0 ? id : first, array_id, sizeof(array_id));
    struct batch_elem e = { .array_id = array_id, .index = a->index[k] };
    if ((rc = batch_element_to_jobspec(t, len, &e, &spec, &slen, err)) < 0)
        return rc;
    /* every element keeps a jobspec like this one (the script inside) */
    if (k == 0 && slen > INGEST_ARRAY_BYTES / a->count) {
        free(spec);
        return errmsg_set(err, -E2BIG, "an array of %zu jobspecs of %zu bytes (the script "
                          "in each) is more than the %d MiB one submission may make",
                          a->count, slen, INGEST_ARRAY_BYTES >> 20);
    }
    rc = prepare_one(in, spec, slen, NULL, NULL, id, uid, gid, cwd, jobp, ndepsp, err);
    free(spec);
    return rc;
}

/* Name the bad document of a submission of several (or an array's element). */
static void name_doc(struct errmsg *err, size_t i, size_t n, const struct jobstream_doc *doc,
                     const struct batch_array *a, size_t k)
{
    char why[sizeof(err->text)];
    int line, skip = 0;
    if (!err)
        return;
    snprintf(why, sizeof(why), "%s", err->text);
    if (a && a->count > 0)
        errmsg_set(err, 0, "array index %u: %s", a->index[k], why);
    if (n < 2)
        return;
    snprintf(why, sizeof(why), "%s", err->text);
    /* a syntax error's line counts from the start of the whole submission */
    if (sscanf(why, "line %d%n", &line, &skip) == 1 && skip > 0)
        errmsg_set(err, 0, "job %zu of %zu: line %d%s", i + 1, n, line + doc->line - 1,
                   why + skip);
    else
        errmsg_set(err, 0, "job %zu of %zu (line %d): %s", i + 1, n, doc->line, why);
}

enum copy { COPY_NONE, COPY_SAME, COPY_ENV };

/* Document t after prev, whose environment sat at penv: an identical copy,
 * the same but for its environment (taken into env, unless it was taken
 * already), or neither (env then holds what was taken, if anything: the
 * parse uses it). */
static enum copy copy_of(const char *prev, size_t plen, const struct jobspec_env *penv,
                         const char *t, size_t len, struct jobspec_env *env)
{
    if (len == plen && memcmp(t, prev, len) == 0)
        return COPY_SAME;
    if (penv->span && (env->envv || jobspec_env_take(t, len, env) == 0)
        && jobspec_env_same_rest(prev, plen, penv, t, len, env))
        return COPY_ENV;
    return COPY_NONE;
}

int ingest_preparse(const char *text, const struct jobstream_doc *docs, size_t n,
                    struct ingest_pre *pre)
{
    *pre = (struct ingest_pre){ .n = n, .failed = n };
    if (!(pre->js = calloc(n ? n : 1, sizeof(*pre->js)))
        || !(pre->env = calloc(n ? n : 1, sizeof(*pre->env)))) {
        free(pre->js);
        pre->js = NULL;
        return -ENOMEM;
    }
    /* the decisions ingest_prepare will make, as far as text tells: a
     * copy of the document before it is not parsed there (its arrays are
     * not known here: an array's script parsed is thrown away, and a
     * document not parsed here is parsed there) */
    struct jobspec_env penv = { 0 };   /* where the previous one's environment was */
    for (size_t i = 0; i < n; i++) {
        const char *t = text + docs[i].off;
        struct jobspec_env env = { 0 };
        enum copy c = i > 0 ? copy_of(text + docs[i - 1].off, docs[i - 1].len, &penv, t,
                                      docs[i].len, &env) : COPY_NONE;
        if (c == COPY_SAME)
            continue;
        if (c == COPY_ENV) {
            pre->env[i] = env;   /* not to be taken again */
            penv = (struct jobspec_env){ .off = env.off, .span = env.span };
            continue;
        }
        int rc = parse_taken(t, docs[i].len, &env, &pre->js[i], &pre->err);
        if (rc < 0) {
            pre->failed = i;
            pre->rc = rc;
            break;
        }
        penv = batch_is_script(t, docs[i].len) ? (struct jobspec_env){ 0 }
               : (struct jobspec_env){ .off = pre->js[i]->env.off, .span = pre->js[i]->env.span };
    }
    return 0;
}

void ingest_pre_release(struct ingest_pre *pre)
{
    if (!pre || !pre->js)
        return;
    for (size_t i = 0; i < pre->n; i++) {
        jobspec_destroy(pre->js[i]);
        free(pre->env[i].envv);
    }
    free(pre->js);
    free(pre->env);
    pre->js = NULL;
    pre->env = NULL;
}

int ingest_prepare(struct ingest *in, const char *text, const struct jobstream_doc *docs,
                   size_t n, struct ingest_pre *pre, uid_t uid, gid_t gid,
                   struct ingest_cwd *cwd, struct job ***jobsp, int **ndepsp, size_t *njobsp,
                   struct errmsg *err)
{
    struct timespec ts;
    struct batch_array *arrays = calloc(n, sizeof(*arrays));
    struct job **jobs = NULL;
    int *ndeps = NULL;
    size_t i, njobs = 0, total = 0;
    int rc = 0;

    if (!arrays)
        return errmsg_set(err, -ENOMEM, "out of memory");
    /* an sbatch --array script is many jobs: count them before the limits */
    for (i = 0; i < n; i++) {
        if ((rc = batch_array_read(text + docs[i].off, docs[i].len, &arrays[i], err)) < 0) {
            name_doc(err, i, n, &docs[i], NULL, 0);
            goto error;
        }
        total += arrays[i].count ? arrays[i].count : 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if ((rc = check_user(in, uid, total, ts.tv_sec + ts.tv_nsec / 1e9, err)) < 0)
        goto error;
    if (!(jobs = calloc(total, sizeof(*jobs))) || !(ndeps = calloc(total, sizeof(*ndeps)))) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    for (i = 0; i < n; i++) {
        const char *t = text + docs[i].off, *prev = i > 0 ? text + docs[i - 1].off : NULL;
        bool single = arrays[i].count == 0 && i > 0 && arrays[i - 1].count == 0;
        struct jobspec_env env = { 0 };
        if (pre && i < pre->n && pre->env[i].envv) {
            env = pre->env[i];   /* taken ahead */
            pre->env[i].envv = NULL;
        }
        /* the previous document's environment was read apart (where it
         * was in that text: its job's env) */
        enum copy c = single ? copy_of(prev, docs[i - 1].len, &jobs[njobs - 1]->env, t,
                                       docs[i].len, &env) : COPY_NONE;
        if (c == COPY_SAME)
            free(env.envv);   /* taken ahead for nothing */
        if (c != COPY_NONE) {
            ndeps[njobs] = ndeps[njobs - 1];
            if ((rc = prepare_copy(in, jobs[njobs - 1], t, docs[i].len,
                                   c == COPY_ENV ? &env : NULL, &jobs[njobs], err)) < 0)
                goto error;
            njobs++;
            continue;
        }
        struct jobspec *parsed = pre && i < pre->n ? pre->js[i] : NULL;
        if (parsed)
            pre->js[i] = NULL;
        else if (pre && i == pre->failed && arrays[i].count == 0 && !in->cfg.read_only) {
            /* what parsing it here would say */
            free(env.envv);
            rc = pre->rc;
            *err = pre->err;
            name_doc(err, i, n, &docs[i], &arrays[i], 0);
            goto error;
        }
        size_t first = njobs, count = arrays[i].count ? arrays[i].count : 1;
        for (size_t k = 0; k < count; k++) {
            if ((rc = prepare_doc(in, t, docs[i].len, &env, k ? NULL : parsed, &arrays[i],
                                  k ? jobs[first]->id : 0, k, uid, gid, cwd, &jobs[njobs],
                                  &ndeps[njobs], err)) < 0) {
                name_doc(err, i, n, &docs[i], &arrays[i], k);
                goto error;
            }
            njobs++;
        }
    }
    for (i = 0; i < n; i++)
        batch_array_release(&arrays[i]);
    free(arrays);
    *jobsp = jobs;
    *ndepsp = ndeps;
    *njobsp = njobs;
    return 0;
error:
    while (njobs-- > 0)
        job_destroy(jobs[njobs]);
    for (i = 0; i < n; i++)
        batch_array_release(&arrays[i]);
    free(arrays);
    free(jobs);
    free(ndeps);
    return rc;
}
