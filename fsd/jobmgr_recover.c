/* jobmgr_recover.c - a broker's start on an existing store (every job
 * loaded; pending jobs queued again, running ones LOST, records from older
 * versions converted), job IDs that stay ordered across restarts, and
 * retention (purge). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "fsd/depend.h"
#include "fsd/jobmgr_private.h"

static int load_job(void *arg, uint64_t id, const void *data, size_t len)
{
    struct jobmgr *m = arg;
    struct job *job = job_record_decode(id, data, len);
    if (!job) {
        syslog(LOG_ERR, "job %llu: unreadable record, skipped", (unsigned long long)id);
        return 0;
    }
    if (jm_table_insert(m, job) < 0) {
        job_destroy(job);
        return -ENOMEM;
    }
    return 0;
}

/* Parse a job's jobspec again from the store (at restart). */
static int parse_stored(struct jobmgr *m, struct job *job, struct errmsg *err)
{
    const char *text;
    size_t len;
    int rc = jobmgr_job_blob(m, job, 'S', &text, &len);
    if (rc < 0)
        return errmsg_set(err, rc, "jobspec not found in the store");
    /* parse a copy: the store's memory is only valid until its next call */
    char *copy = strndup(text, len);
    if (!copy)
        return errmsg_set(err, -ENOMEM, "out of memory");
    rc = ingest_parse(copy, len, &job->js, err);
    free(copy);
    if (rc == 0)
        jobspec_shed_environment(job->js);
    return rc;
}

/* Records from before blobs existed: store their texts as blobs, once. */
static void convert_legacy(struct jobmgr *m, struct job *job)
{
    if (!job->legacy)
        return;
    job->legacy = false;
    if ((job->spec_text && store_blob_put(m->st, job->id, 'S', job->spec_text,
                                          job->spec_len) < 0)
        || (job->R && store_blob_put(m->st, job->id, 'R', job->R, job->R_len) < 0)) {
        syslog(LOG_ERR, "job %s: converting its record: %s", job->idstr, store_errstr(m->st));
        return;
    }
    jm_mark_dirty(m, job);
    if (job->state == JOB_INACTIVE) {
        free(job->R);
        job->R = NULL;
    }
    free(job->spec_text);
    job->spec_text = NULL;
}

static void recover_job(struct jobmgr *m, struct job *job)
{
    struct errmsg err = { "" };
    if (job->state != JOB_INACTIVE)
        jm_queue_recover(m, job);
    switch (job->state) {
    case JOB_INACTIVE:
        return;
    case JOB_RUN:
    case JOB_CLEANUP: {
        /* the local launcher's tasks died with the old broker (PDEATHSIG)
         * and what they left is killed; tasks an executor finds still
         * running are ended too: the scheduler cannot hold a recovered
         * allocation yet */
        int killed;
        if (executor_reattach(m->exec, job->id, job->idstr, &killed) == 0)
            executor_terminate(m->exec, job->id, 0);
        if (killed > 0)
            syslog(LOG_INFO, "job %s: killed %d processes left from before the restart",
                   job->idstr, killed);
        jm_post_exception(m, job, "lost", m->owner, "broker restarted while the job was running");
        job->status = 128 + SIGKILL;
        job->result = RESULT_LOST;
        jm_post_event(m, job, "clean", NULL);
        jm_apply(m, job, JOBEV_LOST);
        return;
    }
    default:
        if (parse_stored(m, job, &err) < 0) {
            jm_post_exception(m, job, "validate", m->owner, err.text);
            jm_job_end_pending(m, job, RESULT_FAILED);
            return;
        }
        if (job->state == JOB_DEPEND) {
            int ndeps = depend_validate(job->js->json, ingest_dep_lookup, m->jobs, &err);
            if (ndeps < 0) {
                /* a target vanished: its dependency can never be decided */
                jm_post_exception(m, job, "dependency", m->owner, err.text);
                jm_job_end_pending(m, job, RESULT_CANCELED);
                return;
            }
            uint64_t array;
            if (ndeps > 0 || jm_array_limited(job, &array)) {
                jm_idvec_push(&m->depend, job->id);
                m->deps_needed = true;
                return;
            }
        }
        /* the previous broker may have died mid-walk: finish it (a
         * durable job is queued as it reaches SCHED) */
        if (job->state == JOB_NEW)
            jm_apply(m, job, JOBEV_SUBMIT);
        uint64_t array;
        if (job->state == JOB_DEPEND && jm_array_limited(job, &array)) {
            jm_idvec_push(&m->depend, job->id);   /* through its array's %LIMIT */
            m->deps_needed = true;
            return;
        }
        if (job->state != JOB_DEPEND) {
            jm_throttle_take(m, job);   /* past DEPEND: it counts */
            jm_name_take(m, job);
        }
        if (job->state == JOB_DEPEND)
            jm_job_dependencies_met(m, job);
        else if (job->state == JOB_PRIORITY)
            jm_job_prioritize(m, job);
        else
            jm_job_enqueue(m, job);
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int init_ids(struct jobmgr *m, struct errmsg *err)
{
    uint64_t epoch = 0, last = 0;
    size_t len;
    /* the epoch is fixed at the first start so ids stay ordered across restarts */
    if (store_meta_get(m->st, "epoch", &epoch, sizeof(epoch), &len) < 0 || len != sizeof(epoch)) {
        epoch = now_ms();
        int rc = store_meta_put(m->st, "epoch", &epoch, sizeof(epoch));
        if (rc < 0)
            return errmsg_set(err, rc, "cannot record the id epoch: %s", strerror(-rc));
    }
    for (struct job *job = jobmgr_next(m, 1); job; job = jobmgr_next(m, job->seq + 1))
        if (job->id > last)
            last = job->id;
    /* our generator, recorded by the broker (doc/tree.md "Job IDs"); 0 for a root */
    uint32_t genid = 0;
    if (store_meta_get(m->st, "generator", &genid, sizeof(genid), &len) < 0
        || len != sizeof(genid))
        genid = 0;
    int rc = ingest_set_ids(m->in, epoch, genid, last);
    if (rc < 0)
        return errmsg_set(err, rc, "cannot initialise job ids");
    return 0;
}

/* Forget a job that is no longer in the store: memory and (through notify)
 * the tree. */
static void forget_job(struct jobmgr *m, struct job *job)
{
    jm_mirror_holds(m, job, true);   /* a follower's copy of its allocation */
    jm_notify(m, job, JOBMGR_GONE, 0);
    if (m->hooks && m->hooks->job_gone)
        m->hooks->job_gone(m->hooks_arg, job);
    /* its record must not be written back */
    for (struct job **pp = &m->dirty; job->dirty && *pp; pp = &(*pp)->dirty_next) {
        if (*pp == job) {
            *pp = job->dirty_next;
            break;
        }
    }
    jobtable_remove(m->jobs, job);
    job_destroy(job);
}

/* Forget an inactive job: store, memory, and (through notify) the tree. */
static int purge_job(struct jobmgr *m, struct job *job)
{
    int rc = store_job_delete(m->st, job->id);
    if (rc < 0 && rc != -ENOENT) {
        syslog(LOG_ERR, "job %s: purge: %s", job->idstr, strerror(-rc));
        return rc;
    }
    forget_job(m, job);
    return 0;
}

/* ---- a follower's replica (fsd/replica.h) ---- */

/* A follower's journal: the events of job from seq `from` on, as the
 * replica has them now. */
struct journal_from {
    struct jobmgr *m;
    const struct job *job;
    uint32_t from;
    bool released;          /* a new "release": the job's holds shrank */
};

static int journal_event(void *arg, uint32_t seq, const char *line, size_t len)
{
    static const char rel[] = "\"name\":\"release\"";
    struct journal_from *jf = arg;
    if (seq >= jf->from) {
        jm_journal_add(jf->m, jf->job, line, len);
        jf->released |= memmem(line, len, rel, sizeof(rel) - 1) != NULL;
    }
    return 0;
}

/* The job's events from seq `from` on into the journal; true if one of
 * them released some of its nodes. */
static bool journal_new_events(struct jobmgr *m, const struct job *job, uint32_t from)
{
    struct journal_from jf = { m, job, from, false };
    store_event_foreach(m->st, job->id, journal_event, &jf);
    return jf.released;
}

/* Take what a fresh record says into the job the view knows (the view
 * holds pointers to it, so it is updated, not replaced). */
static void replica_update(struct jobmgr *m, struct job *job, struct job *fresh)
{
    uint64_t out_was[JOB_STREAMS];
    memcpy(out_was, job->out_stored, sizeof(out_was));
    job->result = fresh->result;
    job->status = fresh->status;
    job->urgency = fresh->urgency;
    job->R_len = fresh->R_len;
    job->nevents = job->nevents_stored = fresh->nevents;
    job->evlog_len = job->evlog_stored = fresh->evlog_len;
    for (int s = 1; s < JOB_STREAMS; s++) {
        job->out_len[s] = job->out_stored[s] = fresh->out_len[s];
        if (job->out_stored[s] != out_was[s]) {
            job->t_output[s] = ev_now(m->loop);
            jm_notify(m, job, JOBMGR_OUTPUT, s);
        }
    }
    if (fresh->state != job->state) {
        /* states only go forward: a record that says otherwise is older
         * than what we show (never expected: commits arrive in order) */
        if (fresh->state < job->state)
            return;
        jobtable_set_state(m->jobs, job, fresh->state);
        job->t_state = fresh->t_state;
        jm_notify(m, job, JOBMGR_STATE, 0);
        /* its end reaches what runs here for it (a nested instance's part),
         * even if the leader's own word about it is lost on the way */
        if (job->state >= JOB_CLEANUP && m->hooks && m->hooks->job_ending)
            m->hooks->job_ending(m->hooks_arg, job);
    }
}

void jobmgr_replica_refresh(struct jobmgr *m, uint64_t id)
{
    struct job *job = jobmgr_lookup(m, id);
    const void *data;
    size_t len;
    int rc = store_job_get(m->st, id, &data, &len);
    if (rc == -ENOENT) {
        if (job)
            forget_job(m, job);
        return;
    }
    struct job *fresh = rc == 0 ? job_record_decode(id, data, len) : NULL;
    if (!fresh) {
        syslog(LOG_ERR, "replica: job %llu: unreadable record", (unsigned long long)id);
        return;
    }
    if (job) {
        uint32_t had = job->nevents;
        replica_update(m, job, fresh);
        job_destroy(fresh);
        if (job->nevents > had && journal_new_events(m, job, had))
            jm_mirror_holds(m, job, true);   /* the leader shared what it holds now */
        jm_mirror_holds(m, job, false);
        return;
    }
    if (jm_table_insert(m, fresh) < 0) {
        job_destroy(fresh);
        return;
    }
    fresh->announced = false;   /* the view publishes it to watchers */
    journal_new_events(m, fresh, 0);
    if (queues_count(m->queues) > 0)
        jm_queue_find(m, fresh);
    jm_mirror_holds(m, fresh, false);
    jm_notify(m, fresh, JOBMGR_NEW, 0);
    if (fresh->state == JOB_INACTIVE)
        jm_notify(m, fresh, JOBMGR_STATE, 0);
}

static int refresh_one(void *arg, uint64_t id, const void *data, size_t len)
{
    struct jobmgr *m = arg;
    (void)data;
    (void)len;
    jobmgr_replica_refresh(m, id);
    return 0;
}

void jobmgr_replica_reload(struct jobmgr *m)
{
    /* jobs the copy no longer has go first, then every job it has */
    for (struct job *job = jobmgr_next(m, 1), *next; job; job = next) {
        next = jobmgr_next(m, job->seq + 1);
        const void *data;
        size_t len;
        if (store_job_get(m->st, job->id, &data, &len) == -ENOENT)
            forget_job(m, job);
    }
    store_job_foreach(m->st, refresh_one, m);
}

/* Retention (off by default): purge inactive jobs beyond purge_keep and
 * those inactive for longer than purge_age, oldest submission first. A pass
 * runs at most once a second and starts from a cursor, so it costs what it
 * purges plus the active jobs it steps over. */
void jm_purge(struct jobmgr *m)
{
    double now = ev_now(m->loop);
    if (now - m->last_purge < 1.0 || m->cfg.replica)
        return;   /* a replica's jobs go when the leader's do */
    m->last_purge = now;
    /* accounting records have a retention of their own: bounded bites
     * each second, so a first expiry of millions never stalls the loop,
     * and enough of them to keep up with 10,000 jobs/s (one bite of 1,000
     * fell behind at 1,100 jobs/s: the store grew without end) */
    for (int bite = 0; bite < 10 && m->cfg.acct_keep > 0 && now > m->cfg.acct_keep
                       && !m->cfg.read_only; bite++)
        if (store_acct_expire(m->st, (uint64_t)((now - m->cfg.acct_keep) * 1000), 1000) < 1000)
            break;
    if (!m->cfg.purge_age && !m->cfg.purge_keep)
        return;
    for (struct job *job = jobmgr_next(m, m->purge_from), *next; job; job = next) {
        next = jobmgr_next(m, job->seq + 1);
        if (job->state != JOB_INACTIVE)
            continue;
        bool over = m->cfg.purge_keep &&
                    jobtable_count(m->jobs, JOB_INACTIVE) > m->cfg.purge_keep;
        bool old = m->cfg.purge_age && now - job->t_state > m->cfg.purge_age;
        if ((!over && !old) || now - job->t_state < 1.0)
            break;   /* later submissions are (mostly) younger */
        if (purge_job(m, job) < 0)
            break;
    }
    struct job *first = jobmgr_next(m, m->purge_from);
    m->purge_from = first ? first->seq : jobtable_last_seq(m->jobs) + 1;
}

int jm_recover(struct jobmgr *m, struct errmsg *err)
{
    int rc = store_job_foreach(m->st, load_job, m);
    if (rc < 0)
        return errmsg_set(err, rc, "cannot load jobs: %s", strerror(-rc));
    if (m->cfg.replica)
        return 0;   /* the leader's jobs, as the leader left them */
    if ((rc = init_ids(m, err)) < 0)
        return rc;
    for (struct job *job = jobmgr_next(m, 1); job; job = jobmgr_next(m, job->seq + 1)) {
        recover_job(m, job);
        convert_legacy(m, job);
    }
    return 0;
}
