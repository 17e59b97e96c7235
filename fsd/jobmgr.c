/* jobmgr.c - the job manager's core: events and states (every step through
 * jobstate.h), submissions entering the instance, reads, the loop phases
 * around the group commit, create and destroy. The rest of it is in
 * jobmgr_exec.c, jobmgr_ctl.c and jobmgr_recover.c (jobmgr_private.h). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/jobstream.h"
#include "common/jsonw.h"
#include "common/strbuf.h"
#include "common/vec.h"
#include "common/workq.h"
#include "fsd/acct.h"
#include "fsd/depend.h"
#include "fsd/evjournal.h"
#include "fsd/jobmgr_private.h"
#include "sched/rv1.h"

int jm_idvec_push(struct idvec *v, uint64_t id)
{
    if (vec_grow(&v->ids, &v->alloc, v->len + 1, sizeof(*v->ids)) < 0)
        return -ENOMEM;
    v->ids[v->len++] = id;
    return 0;
}

/* ---- the job table (fsd/jobtable.h) ---- */

struct job *jobmgr_lookup(struct jobmgr *m, uint64_t id)
{
    return jobtable_lookup(m->jobs, id);
}

struct job *jobmgr_lookup_name(struct jobmgr *m, const char *idstr)
{
    return jobtable_lookup_name(m->jobs, idstr);
}

struct job *jobmgr_lookup_seq(struct jobmgr *m, uint64_t seq)
{
    return jobtable_lookup_seq(m->jobs, seq);
}

struct job *jobmgr_next(struct jobmgr *m, uint64_t seq)
{
    return jobtable_next(m->jobs, seq);
}

int jm_table_insert(struct jobmgr *m, struct job *job)
{
    int rc = jobtable_insert(m->jobs, job);
    if (rc == 0)
        job->owner = m;
    return rc;
}

/* ---- state and events ---- */

void jm_mark_dirty(struct jobmgr *m, struct job *job)
{
    if (!job->dirty) {
        job->dirty = true;
        job->dirty_next = m->dirty;
        m->dirty = job;
    }
}

void jm_notify(struct jobmgr *m, struct job *job, enum jobmgr_change what, int stream)
{
    if (m->notify)
        m->notify(m->notify_arg, job, what, stream);
}

/* Keep line until committed: a commit that fails (full disk) loses it
 * from the store, and it is written again with the next one. */
static bool pending_add(struct job *job, const char *line, size_t len)
{
    char *p = realloc(job->ev_pending, job->ev_pending_len + len + 1);
    if (!p)
        return false;
    memcpy(p + job->ev_pending_len, line, len + 1);
    job->ev_pending = p;
    job->ev_pending_len += len;
    return true;
}

/* Append one formatted eventlog line (ours to free; NULL: out of memory). */
static void post_line(struct jobmgr *m, struct job *job, const char *name, char *line)
{
    if (!line) {
        syslog(LOG_ERR, "job %s: out of memory formatting event '%s'", job->idstr, name);
        return;
    }
    size_t len = strlen(line);
    bool kept = pending_add(job, line, len);
    if (!job->ev_rewrite) {
        int rc = store_event_append(m->st, job->id, job->nevents, line, len);
        if (rc < 0) {
            /* the transaction is lost; its commit fails and says why */
            syslog(LOG_ERR, "job %s: storing event '%s': %s", job->idstr, name, strerror(-rc));
            job->ev_rewrite = kept;
        } else {
            job->nevents++;
            job->evlog_len += len;
        }
    }
    free(line);
    jm_mark_dirty(m, job);
}

void jm_post_event(struct jobmgr *m, struct job *job, const char *name, json_t *context)
{
    post_line(m, job, name, job_event_format(ev_now(m->loop), name, context));
}

/* A job's start was a commit of its own: the next one, a few hundred
 * microseconds later, carries its end (a short job) or another job's
 * allocation. The line waits in ev_pending with ev_rewrite set, as after a
 * failed commit, so events_rewrite writes it (and whatever follows it)
 * when the job is next made dirty. Only for a job with nothing else on
 * its way to the store: its pending lines are then this one alone. */
void jm_post_event_deferred(struct jobmgr *m, struct job *job, const char *name,
                            json_t *context)
{
    if (job->dirty || job->ev_pending_len || job->ev_rewrite) {
        jm_post_event(m, job, name, context);
        return;
    }
    char *line = job_event_format(ev_now(m->loop), name, context);
    if (!line || !pending_add(job, line, strlen(line))) {
        post_line(m, job, name, line);   /* says why, or writes it now */
        return;
    }
    free(line);
    job->ev_rewrite = true;
    if (jm_idvec_push(&m->deferred, job->id) < 0) {
        jm_mark_dirty(m, job);
        return;
    }
    if (!m->deferred_due)
        m->deferred_due = ev_now(m->loop) + JM_DEFER_DELAY;
}

/* Deferred events join the commit being prepared. */
static void flush_deferred(struct jobmgr *m)
{
    for (size_t i = 0; i < m->deferred.len; i++) {
        struct job *job = jobmgr_lookup(m, m->deferred.ids[i]);
        if (job && job->ev_rewrite)
            jm_mark_dirty(m, job);
    }
    m->deferred.len = 0;
    m->deferred_due = 0;
}

double jobmgr_deferred_due(const struct jobmgr *m)
{
    return m->deferred_due;
}

void jm_post_event_text(struct jobmgr *m, struct job *job, const char *name,
                        const char *context)
{
    post_line(m, job, name, job_event_format_text(ev_now(m->loop), name, context));
}

/* Write again the eventlog lines a failed commit lost. */
static void events_rewrite(struct jobmgr *m, struct job *job)
{
    job->ev_rewrite = false;
    for (size_t off = 0; off < job->ev_pending_len;) {
        const char *line = job->ev_pending + off;
        size_t len = strcspn(line, "\n") + 1;
        if (store_event_append(m->st, job->id, job->nevents, line, len) < 0)
            return;   /* the transaction is lost again: the commit says why */
        job->nevents++;
        job->evlog_len += len;
        off += len;
    }
}

/* What a job's eventlog says of its run: its first "start", and the last
 * event before this broker started (a job lost at a restart ran until
 * then, not until the restart). */
struct run_times {
    double start, before, t_broker;
};

static int scan_event(void *arg, uint32_t seq, const char *line, size_t len)
{
    struct run_times *r = arg;
    json_t *e = json_loadb(line, len, 0, NULL);
    const char *name = json_string_value(json_object_get(e, "name"));
    double t = json_number_value(json_object_get(e, "timestamp"));
    if (name && !strcmp(name, "start") && !r->start)
        r->start = t;
    if (t < r->t_broker && t > r->before)
        r->before = t;
    json_decref(e);
    return 0;
}

/* An ended job's accounting record, made while its R and jobspec are at
 * hand; prepare_commit writes it, until a commit holds it. */
static void make_acct(struct jobmgr *m, struct job *job)
{
    double now = ev_now(m->loop), t_run = job->t_run, t_end = now;
    const char *R = job->R, *text;
    struct jobspec *js = job->js, *parsed = NULL;
    size_t len;
    if (m->cfg.replica)
        return;   /* the leader's records come with its journal */
    /* a job that ran before a restart: its R, jobspec and run are stored */
    if (!R && job->R_len > 0 && jobmgr_job_blob(m, job, 'R', &text, &len) == 0)
        R = job->R ? job->R : (job->R = strndup(text, len));
    if (!js && jobmgr_job_blob(m, job, 'S', &text, &len) == 0
        && ingest_parse(text, len, &parsed, NULL) == 0)
        js = parsed;
    if (!t_run) {
        struct run_times rt = { .t_broker = m->t_start };
        store_event_foreach(m->st, job->id, scan_event, &rt);
        t_run = rt.start;
        if (t_run && job->result == RESULT_LOST && rt.before >= t_run)
            t_end = rt.before;
    }
    /* the bank charged (the user's default one when the job named none),
     * so that replaying the record at start charges the same */
    struct acct_in in = {
        .R = R, .bank = js == job->js ? jm_prio_bank_charged(m, job) : NULL,
        .queue = jm_queue_name(m, job), .t_run = t_run, .t_end = t_end,
    };
    const char *bank;
    double core_seconds;
    free(job->acct_text);
    job->acct_text = acct_record(job, js, &in, &bank, &core_seconds);
    job->acct_end_ms = (uint64_t)(now * 1000);
    if (job->acct_text)
        jm_prio_charge_end(m, job, bank, core_seconds, t_end);
    else
        syslog(LOG_ERR, "job %s: its accounting record: out of memory", job->idstr);
    jobspec_destroy(parsed);
}

/* What a job past DEPEND counts against its array's %LIMIT and its
 * name's singletons, given back. */
static void release_throttles(struct jobmgr *m, struct job *job)
{
    if (job->throttled) {
        throttle_release(m->throttle, job->uid, job->throttle_id);
        job->throttled = false;
    }
    if (job->named) {
        throttle_release(m->names, job->uid, job->name_key);
        job->named = false;
    }
}

void jm_set_state(struct jobmgr *m, struct job *job, enum job_state state)
{
    jm_queue_track(m, job, job->state, state);
    if (state == JOB_RUN)
        job->t_run = ev_now(m->loop);
    if (state == JOB_INACTIVE)
        make_acct(m, job);   /* before R and the jobspec go */
    jobtable_set_state(m->jobs, job, state);
    if (state == JOB_INACTIVE && !job->R_unstored) {
        /* in the store; memory that stays flat keeps no texts for the past */
        free(job->R);
        job->R = NULL;
    }
    if (state == JOB_INACTIVE) {
        free(job->spec_text);
        job->spec_text = NULL;
    }
    if (state == JOB_INACTIVE)
        release_throttles(m, job);
    if (state == JOB_RUN || state == JOB_INACTIVE)
        m->deps_needed = true;
    job->t_state = ev_now(m->loop);
    jm_mark_dirty(m, job);
    if (job->committed)
        jm_notify(m, job, JOBMGR_STATE, 0);
}

void jm_post_exception(struct jobmgr *m, struct job *job, const char *type, uid_t uid,
                           const char *note)
{
    jm_post_event(m, job, "exception",
               json_pack("{s:s s:i s:i s:s}", "type", type, "severity", 0,
                         "userid", (int)uid, "note", note));
}

static void job_release(struct jobmgr *m, struct job *job);

/* Take the step RFC 21 says ev makes (fsd/jobstate.h) and perform the
 * actions it asks for. An event that does not apply would be a bug here:
 * it is logged and changes nothing. */
void jm_apply(struct jobmgr *m, struct job *job, enum jobstate_event ev)
{
    struct jobstate_step st;
    if (jobstate_next(job->state, ev, &st) < 0) {
        syslog(LOG_ERR, "job %s: event '%s' in state %s ignored", job->idstr,
               jobstate_event_name(ev), job_state_name(job->state));
        return;
    }
    if (st.state != job->state)
        jm_set_state(m, job, st.state);
    if (st.actions & JOBACT_DEQUEUE)
        qmgr_cancel(m->q, job->id);
    /* a new job too, before its commit: the scheduling pass before that
     * commit may allocate it, and one commit then holds its submission
     * and its allocation (a failed commit undoes both: after_commit) */
    if (st.actions & JOBACT_QUEUE)
        jm_job_enqueue(m, job);
    if (st.actions & JOBACT_START)
        jm_idvec_push(&m->to_start, job->id);   /* once its allocation is durable */
    if (st.actions & JOBACT_TERMINATE)
        executor_terminate(m->exec, job->id, m->cfg.kill_grace);
    if (st.actions & JOBACT_END) {
        jm_env_release(m, job);
        free(job->env.envv);
        job->env.envv = NULL;
        json_decref(job->R_json);
        job->R_json = NULL;
        jobspec_destroy(job->js);
        job->js = NULL;
    }
    /* nested instances run on the job's resources: they stop first, and
     * jobmgr_job_cleared() releases it */
    if ((st.actions & JOBACT_RELEASE) &&
        !(m->hooks && m->hooks->job_ending && m->hooks->job_ending(m->hooks_arg, job)))
        job_release(m, job);
}

/* A running job is to end with result (canceled, timed out, failed): an
 * exception, then its tasks are terminated; it ends when they have. */
void jm_job_terminate(struct jobmgr *m, struct job *job, const char *type, uid_t uid,
                          const char *note, enum job_result result)
{
    jm_post_exception(m, job, type, uid, note);
    job->canceling = true;
    job->pending_result = result;
    jm_apply(m, job, JOBEV_EXCEPTION);
}

/* Everything after the tasks are gone: release resources, decide the result. */
void jm_job_finish(struct jobmgr *m, struct job *job, int status)
{
    if (job->timer) {
        ev_timer_cancel(m->loop, job->timer);
        job->timer = 0;
    }
    if (job->warn_timer) {
        ev_timer_cancel(m->loop, job->warn_timer);
        job->warn_timer = 0;
    }
    char ctx[32];
    snprintf(ctx, sizeof(ctx), "{\"status\":%d}", status);
    jm_post_event_text(m, job, "finish", ctx);
    /* what its tasks started and left behind ends with them */
    executor_release(m->exec, job->id);
    job->status = status;
    jm_apply(m, job, JOBEV_FINISH);
}

void jobmgr_job_cleared(struct jobmgr *m, struct job *job)
{
    if (job->state == JOB_CLEANUP)
        job_release(m, job);
}

/* The job's resources go back to the scheduler and it becomes INACTIVE. */
static void job_release(struct jobmgr *m, struct job *job)
{
    qmgr_release(m->q, job->id);
    m->sched_needed = true;
    jm_post_event_text(m, job, "release", "{\"ranks\":\"all\",\"final\":true}");
    jm_post_event(m, job, "free", NULL);
    if (job->pending_result != RESULT_NONE)
        job->result = job->pending_result;
    else
        job->result = job->status == 0 ? RESULT_COMPLETED : RESULT_FAILED;
    jm_post_event(m, job, "clean", NULL);
    jm_apply(m, job, JOBEV_RELEASE);
}

/* A job that never ran ends here (canceled while pending, unsatisfiable...),
 * after the exception that says why. */
void jm_job_end_pending(struct jobmgr *m, struct job *job, enum job_result result)
{
    job->result = result;
    jm_post_event(m, job, "clean", NULL);
    jm_apply(m, job, JOBEV_EXCEPTION);
}

/* ---- submission ---- */


/* DEPEND -> PRIORITY -> SCHED (queued once durable). */
void jm_job_prioritize(struct jobmgr *m, struct job *job)
{
    job->priority = jm_prio_of(m, job, NULL);
    if (job->state == JOB_SCHED)
        qmgr_set_priority(m->q, job->id, job->priority);
    char ctx[48];
    snprintf(ctx, sizeof(ctx), "{\"priority\":%" PRId64 "}", (int64_t)job->priority);
    jm_post_event_text(m, job, "priority", ctx);
    jm_apply(m, job, JOBEV_PRIORITY);
}

/* A job's name as flux jobs shows it (else its command's base name),
 * hashed (FNV-1a): the singleton dependency's key, with its user. */
static uint64_t name_key(const struct job *job)
{
    const char *name = jobspec_job_name(job->js);
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = name ? name : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    return h;
}

void jm_name_take(struct jobmgr *m, struct job *job)
{
    if (!job->named && job->js && throttle_take(m->names, job->uid, name_key(job)) == 0) {
        job->named = true;
        job->name_key = name_key(job);
    }
}

void jm_job_dependencies_met(struct jobmgr *m, struct job *job)
{
    jm_name_take(m, job);   /* past DEPEND: a singleton of its name waits */
    jm_post_event(m, job, "depend", NULL);
    jm_apply(m, job, JOBEV_DEPEND);
    jm_job_prioritize(m, job);
}

bool jm_array_limited(const struct job *job, uint64_t *id)
{
    /* an id that is not one (a jobspec written by hand) throttles nothing */
    return job->js && job->js->array_limit > 0 && fluid_decode(job->js->array_id, id) == 0;
}

void jm_throttle_take(struct jobmgr *m, struct job *job)
{
    uint64_t id;
    if (jm_array_limited(job, &id) && !job->throttled
        && throttle_take(m->throttle, job->uid, id) == 0) {
        job->throttled = true;
        job->throttle_id = id;
    }
}

/* May the job leave DEPEND as far as its array's %LIMIT goes? If so it
 * is counted until it ends. */
static bool array_admits(struct jobmgr *m, struct job *job)
{
    uint64_t id;
    if (!jm_array_limited(job, &id))
        return true;
    if (!throttle_admit(m->throttle, job->uid, id, job->js->array_limit))
        return false;
    job->throttled = true;
    job->throttle_id = id;
    return true;
}

static void on_begin_time(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct jobmgr *m = arg;
    m->begin_timer = 0;
    m->deps_needed = true;
}

/* Release DEPEND jobs whose dependencies are decided. */
static void check_dependencies(struct jobmgr *m)
{
    size_t keep = 0;
    double now = ev_now(m->loop), wake = 0;
    m->deps_needed = false;
    for (size_t i = 0; i < m->depend.len; i++) {
        struct job *job = jobmgr_lookup(m, m->depend.ids[i]);
        struct errmsg err = { "" };
        if (!job || job->state != JOB_DEPEND)
            continue;
        if (!job->committed) {
            m->depend.ids[keep++] = job->id;
            continue;
        }
        switch (depend_check(job->js->json, ingest_dep_lookup, m->jobs, now, &wake, &err)) {
        case DEPEND_WAIT:
            m->depend.ids[keep++] = job->id;
            break;
        case DEPEND_READY:
            if (depend_singleton(job->js->json)
                && throttle_count(m->names, job->uid, name_key(job)) > 0) {
                m->depend.ids[keep++] = job->id;   /* its namesake's end lets it go */
                break;
            }
            if (!array_admits(m, job)) {
                m->depend.ids[keep++] = job->id;   /* a sibling's end lets it go */
                break;
            }
            jm_job_dependencies_met(m, job);   /* and queued: it is durable */
            break;
        case DEPEND_NEVER:
            jm_post_exception(m, job, "dependency", m->owner, err.text);
            jm_job_end_pending(m, job, RESULT_CANCELED);
            break;
        }
    }
    m->depend.len = keep;
    /* the earliest begin-time still to come wakes us then (a second one
     * sooner replaces a later timer) */
    if (wake > 0 && (!m->begin_timer || wake < m->begin_at)) {
        if (m->begin_timer)
            ev_timer_cancel(m->loop, m->begin_timer);
        m->begin_at = wake;
        m->begin_timer = ev_timer_add(m->loop, wake - now + 0.001, on_begin_time, m);
    }
}

static int idvec_reserve(struct idvec *v, size_t more)
{
    return vec_grow(&v->ids, &v->alloc, v->len + more, sizeof(*v->ids));
}

/* Room for n more jobs in every table submit_enter() fills, so that a batch
 * of jobs is entered whole or not at all. */
static int submit_reserve(struct jobmgr *m, size_t n)
{
    if (jobtable_reserve(m->jobs, n) < 0 || idvec_reserve(&m->new_jobs, n) < 0 ||
        idvec_reserve(&m->depend, n) < 0)
        return -ENOMEM;
    return 0;
}

/* Drop a waiting job's own environment (and its jobspec's, from YAML):
 * jm_job_start reads it back from the store. */
static void shed_environment(struct job *job)
{
    if (job->env.envv) {
        free(job->env.envv);
        job->env.envv = NULL;
        job->env_shed = true;
    }
    jobspec_shed_environment(job->js);
}

/* A prepared job joins the instance (durable at the next commit). Cannot
 * fail after submit_reserve(). */
static void submit_enter(struct jobmgr *m, struct job *job, int ndeps)
{
    job->t_submit = job->t_state = ev_now(m->loop);
    job->state = JOB_NEW;
    jm_table_insert(m, job);
    jm_queue_track(m, job, JOB_INACTIVE, JOB_NEW);
    jm_idvec_push(&m->new_jobs, job->id);
    /* a failed write fails this iteration's commit, and so the submission */
    if (store_blob_put(m->st, job->id, 'S', job->spec_text, job->spec_len) < 0)
        syslog(LOG_ERR, "job %s: storing jobspec: %s", job->idstr, store_errstr(m->st));
    struct strbuf ctx = STRBUF_INIT;
    const char *queue = jm_queue_name(m, job);
    int rc = strbuf_addstr(&ctx, "{");
    rc |= jsonw_kint(&ctx, "userid", (int)job->uid);
    rc |= jsonw_kint(&ctx, "urgency", job->urgency);
    rc |= strbuf_addstr(&ctx, ",\"flags\":0,\"version\":1");
    if (queue)
        rc |= jsonw_kstr(&ctx, "queue", queue);
    rc |= strbuf_addstr(&ctx, "}");
    jm_post_event_text(m, job, "submit", rc ? NULL : ctx.buf);
    strbuf_release(&ctx);
    jm_post_event(m, job, "validate", NULL);
    jm_apply(m, job, JOBEV_SUBMIT);
    uint64_t array;
    if (ndeps > 0 || jm_array_limited(job, &array)) {
        /* it waits in DEPEND until its dependencies are decided (and its
         * array's %LIMIT lets it through) */
        json_t *deps = json_object_get(json_object_get(json_object_get(job->js->json,
                                       "attributes"), "system"), "dependencies"), *d;
        size_t i;
        json_array_foreach(deps, i, d) {
            char desc[128];
            snprintf(desc, sizeof(desc), "%s=%s",
                     json_string_value(json_object_get(d, "scheme")),
                     json_string_value(json_object_get(d, "value")));
            jm_post_event(m, job, "dependency-add", json_pack("{s:s}", "description", desc));
        }
        if (jm_array_limited(job, &array)) {
            char desc[64];
            snprintf(desc, sizeof(desc), "array-limit=%d", job->js->array_limit);
            jm_post_event(m, job, "dependency-add", json_pack("{s:s}", "description", desc));
        }
        jm_idvec_push(&m->depend, job->id);
        shed_environment(job);   /* it waits: see jm_shed_waiting */
        return;
    }
    jm_job_dependencies_met(m, job);
}

/* A waiting job keeps its environment only while those kept are under
 * JM_ENV_KEPT_MAX bytes in all (a copied environment is often most of a
 * queued job's memory); past that jm_job_start reads it back from the
 * stored jobspec. Reading it back was 4-8% of the broker's time running
 * `--cc` jobs, so a queue of ordinary depth keeps them all, and a deep
 * one's memory stays bounded. A job that starts in the scheduling pass
 * right after it was queued (most, on an instance with room) keeps its
 * own until it ends. */
static void jm_shed_waiting(struct jobmgr *m)
{
    for (size_t i = 0; i < m->fresh.len; i++) {
        struct job *job = jobmgr_lookup(m, m->fresh.ids[i]);
        if (!job || !job->js || job->state != JOB_SCHED || job->env_kept)
            continue;
        size_t size = job->env.size;
        if (job->env.envv && size <= UINT32_MAX && m->env_kept + size <= JM_ENV_KEPT_MAX) {
            job->env_kept = (uint32_t)size;
            m->env_kept += size;
        } else
            shed_environment(job);
    }
    m->fresh.len = 0;
}

void jm_env_release(struct jobmgr *m, struct job *job)
{
    m->env_kept -= job->env_kept;
    job->env_kept = 0;
}

int jobmgr_submit(struct jobmgr *m, const char *text, size_t len, uid_t uid, gid_t gid,
                  const char *cwd, struct job **jobp, struct errmsg *err)
{
    struct jobstream_doc one = { .off = 0, .len = len, .line = 1 };
    struct job **jobs;
    size_t njobs;
    struct ingest_cwd c = { .dir = cwd };
    int rc = jobmgr_submit_many(m, text, &one, 1, uid, gid, &c, NULL, &jobs, &njobs, err);
    if (rc == 0) {
        *jobp = jobs[0];
        free(jobs);
    }
    return rc;
}

int jobmgr_submit_text(struct jobmgr *m, const char *text, size_t len, uid_t uid, gid_t gid,
                       struct ingest_cwd *cwd, const char *queue, struct strbuf *ids,
                       struct errmsg *err)
{
    struct jobstream_doc *docs = NULL;
    struct job **jobs = NULL;
    size_t njobs = 0;
    int rc = jobstream_split(text, len, &docs, err);
    if (rc > 0) {
        rc = jobmgr_submit_many(m, text, docs, (size_t)rc, uid, gid, cwd, queue, &jobs, &njobs,
                                err);
        /* out of memory here, the reader gets fewer ids: the jobs are
         * accepted all the same, and listed in jobs/ */
        for (size_t i = 0; rc == 0 && ids && i < njobs; i++)
            if (strbuf_addf(ids, "%s\n", jobs[i]->idstr) < 0)
                break;
    }
    free(jobs);
    free(docs);
    return rc;
}

static int submit_many(struct jobmgr *m, const char *text, const struct jobstream_doc *docs,
                       size_t n, struct ingest_pre *pre, uid_t uid, gid_t gid,
                       struct ingest_cwd *cwd, const char *queue, struct job ***jobsp,
                       size_t *njobsp, struct errmsg *err);

int jobmgr_submit_many(struct jobmgr *m, const char *text, const struct jobstream_doc *docs,
                       size_t n, uid_t uid, gid_t gid, struct ingest_cwd *cwd,
                       const char *queue, struct job ***jobsp, size_t *njobsp,
                       struct errmsg *err)
{
    return submit_many(m, text, docs, n, NULL, uid, gid, cwd, queue, jobsp, njobsp, err);
}

/* One submission on its way through the ingest thread. */
struct async_submit {
    struct jobmgr *m;
    char *text;
    size_t len;
    uid_t uid;
    gid_t gid;
    char *queue;
    struct ingest_cwd cwd;       /* looked up already: no find */
    jobmgr_submitted_f done;
    void *arg;
    /* the thread's */
    struct jobstream_doc *docs;
    int ndocs;                   /* or -errno, with err */
    struct ingest_pre pre;
    struct errmsg err;
};

/* The ingest thread: nothing but the text. */
static void async_parse(void *arg)
{
    struct async_submit *a = arg;
    a->ndocs = jobstream_split(a->text, a->len, &a->docs, &a->err);
    if (a->ndocs > 0 && ingest_preparse(a->text, a->docs, (size_t)a->ndocs, &a->pre) < 0)
        a->ndocs = errmsg_set(&a->err, -ENOMEM, "out of memory");
}

static void async_free(struct async_submit *a)
{
    ingest_pre_release(&a->pre);
    free(a->docs);
    free(a->text);
    free(a->queue);
    free(a);
}

/* The loop, once parsed: the rest of jobmgr_submit_text. */
static void async_submitted(void *arg, bool canceled)
{
    struct async_submit *a = arg;
    struct strbuf ids = STRBUF_INIT;
    struct job **jobs = NULL;
    size_t njobs = 0;
    int rc = canceled ? errmsg_set(&a->err, -ECANCELED, "the instance stopped") : a->ndocs;
    if (rc > 0)
        rc = submit_many(a->m, a->text, a->docs, (size_t)rc, &a->pre, a->uid, a->gid, &a->cwd,
                         a->queue, &jobs, &njobs, &a->err);
    for (size_t i = 0; rc == 0 && i < njobs; i++)
        if (strbuf_addf(&ids, "%s\n", jobs[i]->idstr) < 0)
            break;   /* as jobmgr_submit_text: fewer ids, the jobs accepted */
    a->done(a->arg, rc, ids.buf ? ids.buf : "", a->err.text);
    strbuf_release(&ids);
    free(jobs);
    async_free(a);
}

int jobmgr_submit_text_async(struct jobmgr *m, const char *text, size_t len, uid_t uid,
                             gid_t gid, struct ingest_cwd *cwd, const char *queue,
                             jobmgr_submitted_f done, void *arg, struct errmsg *err)
{
    struct async_submit *a = calloc(1, sizeof(*a));
    if (!a || !(a->text = malloc(len + 1)) || (queue && !(a->queue = strdup(queue))))
        goto nomem;
    memcpy(a->text, text, len);
    a->text[len] = '\0';
    *a = (struct async_submit){ .m = m, .text = a->text, .len = len, .uid = uid, .gid = gid,
                                .queue = a->queue, .done = done, .arg = arg };
    const char *dir = ingest_cwd_get(cwd);
    a->cwd.looked = true;
    a->cwd.rc = cwd ? cwd->rc : 0;
    if (dir && (size_t)snprintf(a->cwd.buf, sizeof(a->cwd.buf), "%s", dir) < sizeof(a->cwd.buf))
        a->cwd.dir = a->cwd.buf;
    if (!m->parser && !(m->parser = workq_create(m->loop, "fluxfs-ingest")))
        goto nomem;
    int rc = workq_push(m->parser, async_parse, async_submitted, a);
    if (rc < 0) {
        async_free(a);
        return errmsg_set(err, rc, "cannot parse it: %s", strerror(-rc));
    }
    return 0;
nomem:
    if (a)
        async_free(a);
    return errmsg_set(err, -ENOMEM, "out of memory");
}

size_t jobmgr_parsing(const struct jobmgr *m)
{
    return m->parser ? workq_pending(m->parser) : 0;
}

static int submit_many(struct jobmgr *m, const char *text, const struct jobstream_doc *docs,
                       size_t n, struct ingest_pre *pre, uid_t uid, gid_t gid,
                       struct ingest_cwd *cwd, const char *queue, struct job ***jobsp,
                       size_t *njobsp, struct errmsg *err)
{
    struct job **jobs;
    int *ndeps;
    size_t njobs;
    int rc;

    /* what is left of the disk is for the jobs already accepted */
    if (store_low_space(m->st))
        return errmsg_set(err, -ENOSPC, "no space left on the state directory's disk");
    if ((rc = ingest_prepare(m->in, text, docs, n, pre, uid, gid, cwd, &jobs, &ndeps, &njobs,
                             err)) < 0)
        return rc;
    /* the centre's policy: banks (fair share) and queues */
    for (size_t i = 0; i < njobs && rc == 0; i++)
        rc = jm_admit(m, jobs[i], queue, njobs > 1 ? i + 1 : 0, njobs, err);
    if (rc == 0)
        rc = jm_queue_admit_all(m, jobs, njobs, err);
    if (rc < 0 || (rc = submit_reserve(m, njobs)) < 0) {
        if (rc == -ENOMEM)
            errmsg_set(err, rc, "out of memory");
        for (size_t i = 0; i < njobs; i++)
            job_destroy(jobs[i]);
        free(jobs);
        free(ndeps);
        return rc;
    }
    for (size_t i = 0; i < njobs; i++)
        submit_enter(m, jobs[i], ndeps[i]);
    free(ndeps);
    *jobsp = jobs;
    *njobsp = njobs;
    return 0;
}

/* ---- reads ---- */

static int append_event(void *arg, uint32_t seq, const char *line, size_t len)
{
    return strbuf_add(arg, line, len);
}

int jobmgr_eventlog(struct jobmgr *m, struct job *job, struct strbuf *sb)
{
    return store_event_foreach(m->st, job->id, append_event, sb);
}

ssize_t jobmgr_output_read(struct jobmgr *m, struct job *job, int stream, uint64_t off,
                           void *buf, size_t size)
{
    if (stream < 1 || stream > 2)
        return -EINVAL;
    if (off >= job->out_len[stream])
        return 0;
    /* only what is committed: what a reader saw survives a restart */
    if (off >= job->out_stored[stream])
        return 0;
    if (size > job->out_stored[stream] - off)
        size = job->out_stored[stream] - off;
    return store_output_read(m->st, job->id, stream, off, buf, size);
}

size_t jobmgr_count(struct jobmgr *m, enum job_state s)
{
    return jobtable_count(m->jobs, s);
}

const char *jobmgr_containment(struct jobmgr *m, char *buf, size_t size)
{
    if (!m->cfg.contain)
        return "process-groups";
    if (!m->contain_err)
        return "cgroup";
    snprintf(buf, size, "process-groups (cgroups: %s)", strerror(-m->contain_err));
    return buf;
}

double jobmgr_start_time(struct jobmgr *m)
{
    return m->t_start;
}

json_t *jobmgr_resources_R(struct jobmgr *m)
{
    return rv1_from_graph(m->graph);
}

struct evj *jobmgr_journal(struct jobmgr *m)
{
    return m->journal;
}

void jobmgr_journal_flush(struct jobmgr *m)
{
    if (m->journal_grew) {
        m->journal_grew = false;
        jm_notify(m, NULL, JOBMGR_JOURNAL, 0);
    }
}

struct graph *jobmgr_graph(struct jobmgr *m)
{
    return m->graph;
}

struct qmgr *jobmgr_qmgr(struct jobmgr *m)
{
    return m->q;
}

/* The job holding vertex v now: an exclusive or pool hold on it, or an
 * exclusive hold on an ancestor (a whole node or socket). */
struct job *jobmgr_vertex_owner(struct jobmgr *m, int v)
{
    for (int u = v; u >= 0; u = graph_vertex(m->graph, u)->parent) {
        const struct graph_vertex *x = graph_vertex(m->graph, u);
        for (int i = 0; i < x->nholds; i++) {
            const struct graph_hold *h = &x->holds[i];
            struct job *job;
            if (h->kind == GRAPH_HOLD_S || (u != v && h->kind != GRAPH_HOLD_X))
                continue;
            if ((job = jobmgr_lookup(m, h->job)) && job->state == JOB_RUN)
                return job;
        }
    }
    return NULL;
}

int jobmgr_free_cores(struct jobmgr *m)
{
    return resources_free_units(m->res, 0, (int64_t)ev_now(m->loop));
}

int jobmgr_free_gpus(struct jobmgr *m)
{
    return resources_free_units(m->res, 1, (int64_t)ev_now(m->loop));
}

bool jobmgr_hold_reserved(struct jobmgr *m, const struct graph_hold *h)
{
    return resources_hold_reserved(m->res, h, (int64_t)ev_now(m->loop));
}

/* ---- dynamic resources (fsd/resource.h) ---- */

/* ---- loop phases ---- */

void jobmgr_prepare_commit(struct jobmgr *m, bool schedule)
{
    if (m->deps_needed)
        check_dependencies(m);
    if (schedule && m->sched_needed) {
        m->sched_needed = false;
        qmgr_schedule(m->q, ev_now(m->loop), jm_on_alloc, m);
    }
    jm_shed_waiting(m);
    /* after the pass: what still waits, waits for resources */
    if (m->down_check && !m->cfg.replica)
        jm_check_waiting(m);
    /* after dependencies were decided, so none sees its target vanish */
    jm_purge(m);
    resources_prepare_commit(m->res);
    /* with a commit made anyway, or once due (and at shutdown) */
    if (m->deferred.len && (m->dirty || store_writing(m->st) || !schedule
                            || ev_now(m->loop) >= m->deferred_due))
        flush_deferred(m);
    while (m->dirty) {
        struct job *job = m->dirty;
        m->dirty = job->dirty_next;
        job->dirty = false;
        job->dirty_next = NULL;
        /* what a failed commit lost, before the record that counts it */
        if (job->ev_rewrite)
            events_rewrite(m, job);
        if (job->R_rewrite && job->R) {
            job->R_rewrite = false;
            if (store_blob_put(m->st, job->id, 'R', job->R, job->R_len) < 0)
                syslog(LOG_ERR, "job %s: storing R: %s", job->idstr, store_errstr(m->st));
        }
        if (job->acct_text && store_acct_put(m->st, job->acct_end_ms, job->id, job->acct_text,
                                             strlen(job->acct_text)) < 0)
            syslog(LOG_ERR, "job %s: storing its accounting record: %s", job->idstr,
                   store_errstr(m->st));
        char *rec = job_record_encode(job);
        int rc = rec ? store_job_put(m->st, job->id, rec, strlen(rec)) : -ENOMEM;
        if (rc < 0)
            syslog(LOG_ERR, "job %s: storing record: %s", job->idstr, strerror(-rc));
        free(rec);
        if (!job->inflight) {
            job->inflight = true;
            job->inflight_next = m->inflight;
            m->inflight = job;
        }
    }
}

/* The commit of the records prepare_commit wrote is over. Success: what
 * they count is durable, and readers may see it. Failure (a full disk):
 * the store holds what it held before; the memory goes back to that for
 * output (lost: it was never shown) and keeps events and records to write
 * them again with the next commit. */
void jm_journal_add(struct jobmgr *m, const struct job *job, const char *text, size_t len)
{
    char line[8192];
    for (size_t off = 0; off < len;) {
        size_t n = strcspn(text + off, "\n") + 1;
        if (off + n > len || text[off] != '{')
            break;
        /* {"id":"f...",<the eventlog line without its brace> */
        int k = snprintf(line, sizeof(line), "{\"id\":\"%s\",%.*s", job->idstr,
                         (int)(n - 1), text + off + 1);
        if (k > 0 && (size_t)k < sizeof(line) && evj_append(m->journal, line, (size_t)k) == 0)
            m->journal_grew = true;
        off += n;
    }
}

static void commit_done(struct jobmgr *m, int commit_rc)
{
    while (m->inflight) {
        struct job *job = m->inflight;
        m->inflight = job->inflight_next;
        job->inflight = false;
        job->inflight_next = NULL;
        if (commit_rc == 0) {
            /* durable now: the journal has them, in commit order */
            if (job->ev_pending_len)
                jm_journal_add(m, job, job->ev_pending, job->ev_pending_len);
            job->nevents_stored = job->nevents;
            job->evlog_stored = job->evlog_len;
            free(job->ev_pending);
            job->ev_pending = NULL;
            job->ev_pending_len = 0;
            job->ev_rewrite = false;
            job->R_unstored = job->R_rewrite = false;
            free(job->acct_text);   /* held by the store now */
            job->acct_text = NULL;
            for (int s = 1; s <= 2; s++) {
                if (job->out_stored[s] != job->out_len[s]) {
                    job->out_stored[s] = job->out_len[s];
                    if (job->committed)
                        jm_notify(m, job, JOBMGR_OUTPUT, s);
                }
            }
            continue;
        }
        if (!job->committed)
            continue;   /* a submission that failed with this commit */
        job->nevents = job->nevents_stored;
        job->evlog_len = job->evlog_stored;
        job->ev_rewrite = job->ev_pending_len > 0;
        job->R_rewrite = job->R_unstored;
        for (int s = 1; s <= 2; s++) {
            if (job->out_len[s] > job->out_stored[s]) {
                uint64_t lost = job->out_len[s] - job->out_stored[s];
                job->out_len[s] = job->out_stored[s];
                jm_output_drop(m, job, s, lost, -commit_rc);
            }
        }
        jm_mark_dirty(m, job);
    }
}

/* Queue a durable job; one the graph can no longer satisfy ends here. */
void jm_job_enqueue(struct jobmgr *m, struct job *job)
{
    struct errmsg err = { "" };
    if (jm_queue_constrain(m, job) < 0
        || qmgr_submit(m->q, job->id, job->js->rs, job->urgency, job->t_submit,
                       job->js->duration, &err) < 0) {
        jm_post_exception(m, job, "alloc", m->owner, err.text);
        jm_job_end_pending(m, job, RESULT_FAILED);
        return;
    }
    qmgr_set_queue(m->q, job->id, job->queue);
    job->priority = jm_prio_of(m, job, NULL);
    qmgr_set_priority(m->q, job->id, job->priority);
    jm_check_new_job(m, job);
    if (job->env.envv || job->js->environment)
        jm_idvec_push(&m->fresh, job->id);
    m->sched_needed = true;
}

void jobmgr_after_commit(struct jobmgr *m, int commit_rc)
{
    m->sync_wanted = false;
    resources_after_commit(m->res, commit_rc);
    commit_done(m, commit_rc);
    jobmgr_journal_flush(m);
    for (size_t i = 0; i < m->new_jobs.len; i++) {
        struct job *job = jobmgr_lookup(m, m->new_jobs.ids[i]);
        if (!job)
            continue;
        if (commit_rc < 0) {
            /* never durable, so never accepted: the submitter gets the
             * error, and nothing it counted or held stays so */
            if (job->state == JOB_SCHED)
                qmgr_cancel(m->q, job->id);
            else if (job->state == JOB_RUN && qmgr_release(m->q, job->id) == 0)
                m->sched_needed = true;   /* what it held is free again */
            jm_env_release(m, job);
            jm_queue_track(m, job, job->state, JOB_INACTIVE);
            release_throttles(m, job);
            jobtable_remove(m->jobs, job);
            job_destroy(job);
            continue;
        }
        job->committed = true;
        /* durable now: reads of `jobspec` come from the store */
        free(job->spec_text);
        job->spec_text = NULL;
        jm_notify(m, job, JOBMGR_NEW, 0);
        if (job->state == JOB_DEPEND)
            m->deps_needed = true;
    }
    m->new_jobs.len = 0;
    for (size_t i = 0; i < m->to_start.len; i++) {
        struct job *job = jobmgr_lookup(m, m->to_start.ids[i]);
        if (!job || job->state != JOB_RUN)
            continue;
        /* canceled (or timed out, or its node gone) after its allocation,
         * before its start: it ends without tasks, as its exception said */
        if (job->canceling)
            jm_job_finish(m, job, 128 + SIGTERM);
        else
            jm_job_start(m, job);
    }
    m->to_start.len = 0;
    for (size_t i = 0; i < m->to_finish.len; i++) {
        struct job *job = jobmgr_lookup(m, m->to_finish.ids[i]);
        if (!job || !job->finish_deferred)
            continue;
        job->finish_deferred = false;
        if (job->state == JOB_RUN)
            jm_job_tasks_done(m, job, job->finish_status);
    }
    m->to_finish.len = 0;
}

bool jobmgr_needs_sync(struct jobmgr *m)
{
    return m->new_jobs.len > 0 || m->sync_wanted;
}

bool jobmgr_busy(struct jobmgr *m)
{
    return m->sched_needed || m->deps_needed || m->dirty;
}

void jobmgr_set_notify(struct jobmgr *m, jobmgr_notify_f cb, void *arg)
{
    m->notify = cb;
    m->notify_arg = arg;
}

void jobmgr_job_announced(struct jobmgr *m, struct job *job)
{
    job->announced = true;
}

void jobmgr_set_hooks(struct jobmgr *m, const struct jobmgr_hooks *hooks, void *arg)
{
    m->hooks = hooks;
    m->hooks_arg = arg;
}

/* ---- create, recover, destroy ---- */

int jobmgr_job_blob(struct jobmgr *m, const struct job *job, char kind, const char **data,
                    size_t *len)
{
    const char *mem = kind == 'S' ? job->spec_text : kind == 'R' ? job->R : NULL;
    size_t n = kind == 'S' ? job->spec_len : kind == 'R' ? job->R_len : 0;
    if (mem) {
        *data = mem;
        *len = n;
        return 0;
    }
    if (n == 0)
        return -ENOENT;
    const void *d;
    int rc = store_blob_get(m->st, job->id, kind, &d, len);
    if (rc == 0)
        *data = d;
    return rc;
}

struct jobmgr *jobmgr_create(struct ev_loop *loop, struct store *st, struct rgraph *g,
                             struct graph *graph, const struct jobmgr_config *cfg,
                             struct errmsg *err)
{
    struct jobmgr *m = calloc(1, sizeof(*m));
    if (!m) {
        errmsg_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    m->loop = loop;
    m->st = st;
    m->g = g;
    m->graph = graph;
    m->owner = geteuid();
    m->t_start = ev_now(loop);
    m->cfg.kill_grace = cfg && cfg->kill_grace > 0 ? cfg->kill_grace : 5.0;
    m->cfg.output_cap = cfg && cfg->output_cap > 0 ? cfg->output_cap : 16 * 1024 * 1024;
    m->cfg.purge_age = cfg ? cfg->purge_age : 0;
    m->cfg.purge_keep = cfg ? cfg->purge_keep : 0;
    m->cfg.acct_keep = cfg ? cfg->acct_keep : 0;
    m->cfg.replica = cfg && cfg->replica;
    m->cfg.share = cfg && cfg->share;
    m->cfg.read_only = (cfg && cfg->read_only) || m->cfg.replica;
    m->cfg.mount = cfg ? cfg->mount : NULL;
    m->cfg.contain = cfg && cfg->contain;
    m->cfg.max_tasks = cfg ? cfg->max_tasks : 0;
    if (m->cfg.max_tasks <= 0) {
        int64_t cores = graph_nvertices(graph) > 0 ? graph_vertex(graph, 0)->total[0] : 0;
        m->cfg.max_tasks = cores * JOBMGR_MAX_TASKS_PER_CORE;
        if (m->cfg.max_tasks < JOBMGR_MAX_TASKS_MIN)
            m->cfg.max_tasks = JOBMGR_MAX_TASKS_MIN;
    }
    m->purge_from = 1;
    if (!(m->journal = evj_create(JOBMGR_JOURNAL_BYTES))
        || !(m->jobs = jobtable_create()) || !(m->throttle = throttle_create())
        || !(m->names = throttle_create())) {
        errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    int mp = match_policy_parse(cfg && cfg->match_policy ? cfg->match_policy : "low");
    int qp = qmgr_policy_parse(cfg && cfg->queue_policy ? cfg->queue_policy : "easy");
    if (mp < 0 || qp < 0) {
        errmsg_set(err, -EINVAL, "unknown %s policy '%s'", mp < 0 ? "match" : "queue",
                   mp < 0 ? cfg->match_policy : cfg->queue_policy);
        goto error;
    }
    if (!(m->q = qmgr_create(graph, (enum match_policy)mp, (enum qmgr_policy)qp))
        || !(m->exec = (cfg && cfg->executor_create ? cfg->executor_create
                                                         : executor_local_create)(
                             loop, &jm_exec_ops, m, cfg ? cfg->executor_arg : NULL))) {
        errmsg_set(err, -ENOMEM, "cannot create the scheduler or executor");
        goto error;
    }
    if (cfg && cfg->queue_depth > 0)
        qmgr_set_depth(m->q, cfg->queue_depth);
    struct ingest_config icfg = {
        .graph = graph, .q = m->q, .jobs = m->jobs, .owner = m->owner,
        .max_tasks = m->cfg.max_tasks, .read_only = m->cfg.read_only,
        .max_pending = cfg ? cfg->max_pending : 0,
        .submit_rate = cfg ? cfg->submit_rate : 0,
    };
    if (!(m->in = ingest_create(&icfg))) {
        errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    if (!(m->res = resources_create(graph, st, m->q, jm_on_resource_down, m))) {
        errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    if (jm_queues_init(m, err) < 0 || jm_prio_init(m, cfg ? cfg->priority : NULL, err) < 0
        || jm_recover(m, err) < 0)
        goto error;
    return m;
error:
    jobmgr_destroy(m);
    return NULL;
}

void jobmgr_destroy(struct jobmgr *m)
{
    if (!m)
        return;
    m->notify = NULL;
    /* a submission still being parsed is told it never got in */
    workq_destroy(m->parser);
    workq_destroy(m->acct_walker);
    if (m->begin_timer)
        ev_timer_cancel(m->loop, m->begin_timer);
    for (struct job *job = m->jobs ? jobmgr_next(m, 1) : NULL; job;
         job = jobmgr_next(m, job->seq + 1)) {
        if (job->state == JOB_RUN) {
            jm_post_exception(m, job, "shutdown", m->owner, "the instance was shut down");
            job->pending_result = RESULT_CANCELED;
            jm_job_finish(m, job, 128 + SIGKILL);
        }
    }
    executor_destroy(m->exec);
    /* write what the shutdown changed (but schedule nothing); the caller commits */
    m->sched_needed = false;
    if (m->q)
        jobmgr_prepare_commit(m, false);
    jm_prio_fini(m);
    jobtable_destroy(m->jobs);
    jm_queues_fini(m);
    resources_destroy(m->res);
    json_decref(m->offline);
    evj_destroy(m->journal);
    ingest_destroy(m->in);
    qmgr_destroy(m->q);
    throttle_destroy(m->throttle);
    throttle_destroy(m->names);
    free(m->new_jobs.ids);
    free(m->to_start.ids);
    free(m->to_finish.ids);
    free(m->depend.ids);
    free(m->fresh.ids);
    free(m->deferred.ids);
    free(m);
}
