/* jobmgr_queue.c - the job manager's named queues (fsd/queues.h): kept in
 * the store's shared records (every broker shows them), a job's queue
 * chosen and its limits checked at submission, its nodes made a constraint
 * of its request, stopped queues held in the scheduler, and a user's
 * running jobs per queue counted for max-running-per-user.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "common/fluid.h"
#include "fsd/jobmgr_private.h"
#include "sched/constraint.h"

#define QUEUES_KEY "queues"
/* Bytes of one queue's config. */
#define QCONFIG_MAX (64u << 10)

/* A user's jobs in one queue: pending (NEW, DEPEND, SCHED), running (RUN,
 * CLEANUP). */
struct qcount {
    uint64_t key;               /* uid << 8 | queue index */
    int pending, running;
    struct qcount *next;
};
#define QCOUNT_BUCKETS 1024

static uint64_t qkey(uid_t uid, int queue)
{
    return (uint64_t)uid << 8 | (unsigned)queue;
}

static struct qcount *qcount_get(struct jobmgr *m, uid_t uid, int queue, bool create)
{
    uint64_t k = qkey(uid, queue);
    struct qcount **pp = &m->qcounts[fluid_hash(k) % QCOUNT_BUCKETS];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->key == k)
            return *pp;
    if (!create || !(*pp = calloc(1, sizeof(**pp))))
        return NULL;
    (*pp)->key = k;
    return *pp;
}

static int state_class(enum job_state s)
{
    return s == JOB_NEW || s == JOB_DEPEND || s == JOB_SCHED ? 1
         : s == JOB_RUN || s == JOB_CLEANUP ? 2 : 0;
}

void jm_queue_track(struct jobmgr *m, struct job *job, enum job_state from, enum job_state to)
{
    int a = state_class(from), b = state_class(to);
    if (a == b || !m->qcounts)
        return;
    struct qcount *c = qcount_get(m, job->uid, job->queue, true);
    if (!c)
        return;   /* out of memory: the limits count this job less */
    c->pending += (b == 1) - (a == 1);
    c->running += (b == 2) - (a == 2);
    /* an increment lost to a failed allocation never makes one negative */
    c->pending = c->pending < 0 ? 0 : c->pending;
    c->running = c->running < 0 ? 0 : c->running;
}

static int qcount_of(struct jobmgr *m, uid_t uid, int queue, bool running)
{
    struct qcount *c = qcount_get(m, uid, queue, false);
    return !c ? 0 : running ? c->running : c->pending;
}

struct queue *jm_job_queue(struct jobmgr *m, const struct job *job)
{
    return job->queue > 0 ? queues_by_index(m->queues, job->queue) : NULL;
}

const char *jm_queue_name(struct jobmgr *m, const struct job *job)
{
    struct queue *q = jm_job_queue(m, job);
    return q ? q->name : NULL;
}

double jm_queue_priority(struct jobmgr *m, const struct job *job)
{
    struct queue *q = jm_job_queue(m, job);
    return q ? (double)q->priority : 0;
}

bool jm_job_waits_for(struct jobmgr *m, const struct job *job, char *buf, size_t size)
{
    struct queue *q = jm_job_queue(m, job);
    if (job->state == JOB_DEPEND)
        snprintf(buf, size, "dependencies");
    else if (job->state != JOB_SCHED)
        return false;
    else if (job->urgency == 0)
        snprintf(buf, size, "held (urgency 0): write 'urgency 16' to its ctl to release it");
    else if (q && !q->started)
        snprintf(buf, size, "queue '%s' is stopped", q->name);
    else if (q && q->max_running && qcount_of(m, job->uid, q->index, true) >= q->max_running)
        snprintf(buf, size, "its user's max-running-per-user (%lld) in queue '%s'",
                 (long long)q->max_running, q->name);
    else if (job->waits_down)
        snprintf(buf, size, "resources that are down, drained or offline");
    else
        snprintf(buf, size, "resources (jobs of higher priority first)");
    return true;
}

/* The scheduler's gate: a user's jobs over their queue's
 * max-running-per-user wait (in SCHED, without a reservation). */
static bool may_start(void *arg, uint64_t id)
{
    struct jobmgr *m = arg;
    struct job *job = jobmgr_lookup(m, id);
    struct queue *q = job ? jm_job_queue(m, job) : NULL;
    return !q || !q->max_running || qcount_of(m, job->uid, q->index, true) < q->max_running;
}

/* The scheduler learns which queues are stopped and whether any queue
 * limits running jobs. */
static void apply_to_scheduler(struct jobmgr *m)
{
    bool gate = false;
    for (int i = 1; i <= QUEUES_MAX; i++) {
        struct queue *q = queues_by_index(m->queues, i);
        qmgr_queue_stop(m->q, i, q && !q->started);
        gate |= q && q->max_running > 0;
    }
    qmgr_set_gate(m->q, gate ? may_start : NULL, m);
    m->sched_needed = true;
}

/* Queue index's config changed now (what stat says of its config file,
 * so editors see their own write). */
static void bump(struct jobmgr *m, int index)
{
    if (index >= 0 && index <= QUEUES_MAX)
        m->qmtime[index] = ev_now(m->loop);
}

double jobmgr_queue_mtime(struct jobmgr *m, const char *name)
{
    struct queue *q = queues_lookup(m->queues, name);
    return q ? m->qmtime[q->index] : 0;
}

/* A queue index's generation moves on whenever another queue (or none)
 * takes the index: the tree's inodes carry it, so a handle on a removed
 * queue never reaches a new one with the same index. */
static void sync_gens(struct jobmgr *m)
{
    for (int i = 1; i <= QUEUES_MAX; i++) {
        struct queue *q = queues_by_index(m->queues, i);
        const char *name = q ? q->name : "";
        if (strcmp(m->qgen_name[i], name)) {
            m->qgen[i]++;
            snprintf(m->qgen_name[i], sizeof(m->qgen_name[i]), "%s", name);
        }
    }
}

uint32_t jobmgr_queue_gen(struct jobmgr *m, int index)
{
    return index >= 0 && index <= QUEUES_MAX ? m->qgen[index] : 0;
}

static int save(struct jobmgr *m, struct errmsg *err)
{
    json_t *dump = queues_dump(m->queues);
    char *text = dump ? json_dumps(dump, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int rc = text ? store_shared_put(m->st, QUEUES_KEY, text, strlen(text)) : -ENOMEM;
    free(text);
    json_decref(dump);
    m->sync_wanted |= rc == 0;   /* whoever changed it is answered once it is durable */
    return rc < 0 ? errmsg_set(err, -EIO, "cannot store the queues") : 0;
}

/* What the store says (a follower: what the leader said). */
static void load(struct jobmgr *m)
{
    struct errmsg err = { "" };
    json_t *dump;
    if (jm_shared_json(m, QUEUES_KEY, &dump) < 0)
        return;
    if (!dump || queues_load(m->queues, dump, &err) < 0)
        syslog(LOG_ERR, "the stored queues are unusable: %s", err.text);
    json_decref(dump);
}

int jm_queues_init(struct jobmgr *m, struct errmsg *err)
{
    if (!(m->queues = queues_create())
        || !(m->qcounts = calloc(QCOUNT_BUCKETS, sizeof(*m->qcounts))))
        return errmsg_set(err, -ENOMEM, "out of memory");
    load(m);
    sync_gens(m);
    for (int i = 0; i <= QUEUES_MAX; i++)
        bump(m, i);
    apply_to_scheduler(m);
    return 0;
}

void jm_queues_fini(struct jobmgr *m)
{
    for (size_t b = 0; m->qcounts && b < QCOUNT_BUCKETS; b++)
        while (m->qcounts[b]) {
            struct qcount *c = m->qcounts[b];
            m->qcounts[b] = c->next;
            free(c);
        }
    free(m->qcounts);
    m->qcounts = NULL;
    queues_destroy(m->queues);
    m->queues = NULL;
}

/* The job's request runs only on its queue's nodes: the queue's
 * constraint joins the job's own (RFC 31 "and"). Idempotent: made anew
 * from the jobspec each time (bulk copies share one request). */
static int constrain(struct jobmgr *m, struct job *job)
{
    struct rspec *rs = job->js ? job->js->rs : NULL;
    if (!rs)
        return 0;
    json_t *own = json_object_get(json_object_get(json_object_get(rs->json, "attributes"),
                                                  "system"), "constraints");
    struct queue *q = jm_job_queue(m, job);
    json_decref(rs->queue_constraints);
    rs->queue_constraints = NULL;
    rs->constraints = own;
    if (!q || !q->constraint)
        return 0;
    rs->queue_constraints = own ? json_pack("{s:[O O]}", "and", own, q->constraint)
                                : json_incref(q->constraint);
    if (!rs->queue_constraints)
        return -ENOMEM;
    rs->constraints = rs->queue_constraints;
    return 0;
}

/* ... and a job without a time limit of its own gets the queue's
 * max-duration (Slurm's MaxTime), the one in force when it is queued. */
int jm_queue_constrain(struct jobmgr *m, struct job *job)
{
    struct jobspec *js = job->js;
    struct queue *q = jm_job_queue(m, job);
    if (js && (js->duration == 0 || js->duration_from_queue)) {
        js->duration = js->rs->duration = q ? q->max_duration : 0;
        js->duration_from_queue = js->duration > 0;
    }
    return constrain(m, job);
}

/* The job's queue: the directory it was copied into, else the jobspec's
 * attributes.system.queue, else the default queue, else none. */
static int choose_queue(struct jobmgr *m, struct job *job, const char *dir, struct errmsg *err)
{
    const char *asked = job->js && job->js->rs ? job->js->rs->queue : NULL;
    if (dir && asked && strcmp(dir, asked))
        return errmsg_set(err, -EINVAL, "the jobspec asks for queue '%.40s' but was copied "
                          "into queue/%.40s/", asked, dir);
    const char *name = dir ? dir : asked;
    struct queue *q = name ? queues_lookup(m->queues, name) : queues_default(m->queues);
    job->queue = 0;
    if (queues_count(m->queues) == 0 && !dir)
        return 0;   /* no queues here: a name is only recorded (accounting) */
    if (!q) {
        /* with queues, every job is in one: none bypasses their limits */
        struct strbuf names = STRBUF_INIT;
        for (struct queue *x = queues_next(m->queues, NULL); x; x = queues_next(m->queues, x))
            strbuf_addf(&names, "%s%s", names.len ? ", " : "", x->name);
        if (name)
            errmsg_set(err, -EINVAL, "no queue '%.40s' (queues: %.120s)", name, names.buf);
        else
            errmsg_set(err, -EINVAL, "no queue named and no default queue: name one (fluxfs "
                       "submit -q NAME, or copy into queue/NAME/; queues: %.120s)", names.buf);
        strbuf_release(&names);
        return -EINVAL;
    }
    job->queue = q->index;
    return 0;
}

int jm_queue_admit(struct jobmgr *m, struct job *job, const char *dir, size_t k, size_t n,
                   struct errmsg *err)
{
    int rc = choose_queue(m, job, dir, err);
    struct queue *q = rc == 0 ? jm_job_queue(m, job) : NULL;
    if (rc < 0 || !q)
        return rc;
    if (!q->enabled && q->reason[0])
        return errmsg_set(err, -EPERM, "queue '%s' is disabled: %s", q->name, q->reason);
    if (!q->enabled)
        return errmsg_set(err, -EPERM, "queue '%s' is disabled: it takes no new jobs now "
                          "(until root writes 'enable' to queue/%s/ctl)", q->name, q->name);
    struct jobspec *js = job->js;
    if (q->max_duration > 0 && js->duration > q->max_duration)
        return errmsg_set(err, -EINVAL, "duration %gs is over queue '%s''s max-duration %gs",
                          js->duration, q->name, q->max_duration);
    int nodes = js->nnodes > 0 ? js->nnodes : 1;
    if (q->max_nodes > 0 && nodes > q->max_nodes)
        return errmsg_set(err, -EINVAL, "%d nodes is over queue '%s''s max-nodes %lld", nodes,
                          q->name, (long long)q->max_nodes);
    if ((rc = jm_queue_constrain(m, job)) < 0)   /* its nodes, its duration */
        return errmsg_set(err, rc, "out of memory");
    struct errmsg why = { "" };
    if (q->constraint && (rc = qmgr_satisfiable(m->q, js->rs, &why)) < 0)
        return errmsg_set(err, rc, "queue '%s''s nodes cannot run it: %s", q->name, why.text);
    return 0;
}

int jm_queue_admit_all(struct jobmgr *m, struct job **jobs, size_t n, struct errmsg *err)
{
    /* a submission's jobs may name several queues: each queue's
     * max-pending-per-user counts those of its own */
    int in[QUEUES_MAX + 1] = { 0 };
    uid_t uid = n > 0 ? jobs[0]->uid : 0;
    if (n == 0 || uid == 0 || uid == m->owner)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (jobs[i]->queue > 0 && jobs[i]->queue <= QUEUES_MAX)
            in[jobs[i]->queue]++;
    for (int i = 1; i <= QUEUES_MAX; i++) {
        struct queue *q = in[i] ? queues_by_index(m->queues, i) : NULL;
        int have = q ? qcount_of(m, uid, i, false) : 0;
        if (q && q->max_pending > 0 && have + in[i] > q->max_pending)
            return errmsg_set(err, -EDQUOT, "queue '%s''s max-pending-per-user is %lld: you "
                              "have %d pending there and submit %d more", q->name,
                              (long long)q->max_pending, have, in[i]);
    }
    return 0;
}

/* After a restart: a pending job's queue is the one its submit event
 * names (a queue removed since: none). */
struct first_event {
    char name[QUEUE_NAME_MAX];
};

static int read_submit(void *arg, uint32_t seq, const char *line, size_t len)
{
    struct first_event *f = arg;
    json_t *e = json_loadb(line, len, 0, NULL);
    const char *q = json_string_value(json_object_get(json_object_get(e, "context"), "queue"));
    if (q)
        snprintf(f->name, sizeof(f->name), "%s", q);
    json_decref(e);
    return 1;   /* the first event is all we need */
}

void jm_queue_find(struct jobmgr *m, struct job *job)
{
    struct first_event f = { "" };
    store_event_foreach(m->st, job->id, read_submit, &f);
    struct queue *q = f.name[0] ? queues_lookup(m->queues, f.name) : NULL;
    job->queue = q ? q->index : 0;
}

void jm_queue_recover(struct jobmgr *m, struct job *job)
{
    jm_queue_find(m, job);
    jm_queue_track(m, job, JOB_INACTIVE, job->state);
}

/* ---- the tree's operations (root or the instance owner) ---- */

static int may_manage(struct jobmgr *m, uid_t uid, struct errmsg *err)
{
    if (uid != 0 && uid != m->owner)
        return errmsg_set(err, -EPERM, "only root or the instance owner may manage queues");
    if (m->cfg.read_only)
        return errmsg_set(err, -EROFS, "manage queues on the leader's tree");
    return 0;
}

int jobmgr_queue_create(struct jobmgr *m, uid_t uid, const char *name, struct errmsg *err)
{
    int rc = may_manage(m, uid, err);
    if (rc == 0 && (rc = queues_add(m->queues, name, err)) == 0 && (rc = save(m, err)) < 0)
        queues_remove(m->queues, name);
    if (rc == 0)
        bump(m, queues_lookup(m->queues, name)->index);
    sync_gens(m);
    return rc;
}

int jobmgr_queue_remove(struct jobmgr *m, uid_t uid, const char *name, struct errmsg *err)
{
    int rc = may_manage(m, uid, err);
    struct queue *q = rc == 0 ? queues_lookup(m->queues, name) : NULL;
    if (rc < 0)
        return rc;
    if (!q)
        return errmsg_set(err, -ENOENT, "no queue '%.40s'", name);
    for (struct job *job = jobmgr_next(m, 1); job; job = jobmgr_next(m, job->seq + 1))
        if (job->queue == q->index && job->state != JOB_INACTIVE)
            return errmsg_set(err, -ENOTEMPTY, "queue '%s' still has active jobs (job %s)",
                              q->name, job->idstr);
    int index = q->index;
    json_t *dump = queues_dump(m->queues);
    queues_remove(m->queues, name);
    if ((rc = save(m, err)) < 0) {
        queues_load(m->queues, dump, NULL);
        json_decref(dump);
        return rc;
    }
    json_decref(dump);
    sync_gens(m);
    /* ended jobs of it keep their index but name no queue any more */
    for (struct job *job = jobmgr_next(m, 1); job; job = jobmgr_next(m, job->seq + 1))
        if (job->queue == index)
            job->queue = 0;
    apply_to_scheduler(m);
    return 0;
}

/* Pending jobs of queue index take its new nodes and priority. */
static void requeue(struct jobmgr *m, int index)
{
    for (struct job *job = jobmgr_next(m, 1); job; job = jobmgr_next(m, job->seq + 1))
        if (job->queue == index && job->state == JOB_SCHED && job->committed
            && qmgr_cancel(m->q, job->id) == 0)
            jm_job_enqueue(m, job);
}

/* A queue's nodes must be some of ours. */
static int check_nodes(struct jobmgr *m, const struct queue *q, struct errmsg *err)
{
    struct constraint *c;
    int type = graph_lookup_type(m->graph, "node"), n = 0;
    if (!q->constraint)
        return 0;
    int rc = constraint_compile(q->constraint, &c, err);
    if (rc < 0)
        return rc;
    for (int v = 0; v < graph_nvertices(m->graph) && n == 0; v++) {
        const struct graph_vertex *x = graph_vertex(m->graph, v);
        n += x->type == type && constraint_match(c, x);
    }
    constraint_destroy(c);
    return n > 0 ? 0 : errmsg_set(err, -EINVAL, "queue '%s': its nodes and requires match no "
                                  "node of this instance", q->name);
}

/* Every pending job of queue q can still run with its new nodes: a
 * config change never strands one (Slurm keeps such jobs pending for
 * ever; we refuse the change and say which job is in the way). Leaves
 * each job constrained as q now says. */
static int check_pending(struct jobmgr *m, const struct queue *q, struct errmsg *err)
{
    for (struct job *job = jobmgr_next(m, 1); job; job = jobmgr_next(m, job->seq + 1)) {
        struct errmsg why = { "" };
        if (job->queue != q->index || !job->js
            || (job->state != JOB_SCHED && job->state != JOB_DEPEND))
            continue;
        if (constrain(m, job) < 0)   /* its nodes only: nothing else changes yet */
            return errmsg_set(err, -ENOMEM, "out of memory");
        if (qmgr_satisfiable(m->q, job->js->rs, &why) < 0)
            return errmsg_set(err, -EBUSY, "queue '%s': pending job %s could never run on its "
                              "new nodes (%.80s): cancel it first, or keep nodes it can use",
                              q->name, job->idstr, why.text);
    }
    return 0;
}

int jobmgr_queue_config(struct jobmgr *m, uid_t uid, const char *qname, const char *text,
                        size_t len, struct errmsg *err)
{
    /* qname may be the queue's own: a rollback below frees that */
    char name[QUEUE_NAME_MAX];
    snprintf(name, sizeof(name), "%s", qname);
    int rc = may_manage(m, uid, err);
    if (rc < 0)
        return rc;
    if (len > QCONFIG_MAX)
        return errmsg_set(err, -EFBIG, "a queue's config is at most %u bytes", QCONFIG_MAX);
    json_error_t jerr;
    json_t *config = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!config)
        return errmsg_set(err, -EINVAL, "not JSON: line %d: %.100s", jerr.line, jerr.text);
    json_t *was = queues_dump(m->queues);
    rc = queues_configure(m->queues, name, config, err);
    json_decref(config);
    struct queue *q = rc == 0 ? queues_lookup(m->queues, name) : NULL;
    if (q && ((rc = check_nodes(m, q, err)) < 0 || (rc = check_pending(m, q, err)) < 0
              || (rc = save(m, err)) < 0)) {
        queues_load(m->queues, was, NULL);
        q = queues_lookup(m->queues, name);
        struct errmsg ignore;
        if (q)
            check_pending(m, q, &ignore);   /* the jobs as the old config had them */
    }
    json_decref(was);
    if (rc == 0) {
        bump(m, q->index);
        apply_to_scheduler(m);
        requeue(m, q->index);
    }
    return rc;
}

int jobmgr_queue_ctl(struct jobmgr *m, uid_t uid, const char *qname, const char *text,
                     size_t len, struct errmsg *err)
{
    char line[16 + QUEUE_REASON_MAX], name[QUEUE_NAME_MAX];
    snprintf(name, sizeof(name), "%s", qname);   /* as in jobmgr_queue_config */
    int rc = may_manage(m, uid, err);
    if (rc < 0)
        return rc;
    /* one verb, with or without its newline; disable may give a reason */
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
        len--;
    if (len == 0 || len >= sizeof(line) || memchr(text, '\n', len))
        return errmsg_set(err, -EINVAL, "expected one line: start, stop, enable, or "
                          "disable [REASON]");
    memcpy(line, text, len);
    line[len] = '\0';
    char *why = strchr(line, ' ');
    if (why) {
        *why++ = '\0';
        while (*why == ' ')
            why++;
    }
    json_t *was = queues_dump(m->queues);
    if (why && *why && !strcmp(line, "disable"))
        rc = queues_disable(m->queues, name, why, err);
    else if (why && *why)
        rc = errmsg_set(err, -EINVAL, "only disable takes a reason");
    else
        rc = queues_set_state(m->queues, name, line, err);
    if (rc == 0 && (rc = save(m, err)) < 0)
        queues_load(m->queues, was, NULL);
    json_decref(was);
    if (rc == 0)
        apply_to_scheduler(m);
    return rc;
}

void jm_queues_reload(struct jobmgr *m)
{
    load(m);
    sync_gens(m);
    /* a follower that started after its jobs were submitted: their queue
     * from their submit events, once */
    for (struct job *job = queues_count(m->queues) ? jobmgr_next(m, 1) : NULL; job;
         job = jobmgr_next(m, job->seq + 1))
        if (job->queue == 0 && job->state != JOB_INACTIVE)
            jm_queue_find(m, job);
    for (int i = 0; i <= QUEUES_MAX; i++)
        bump(m, i);
}

const struct queues *jobmgr_queues(struct jobmgr *m)
{
    return m->queues;
}

json_t *jobmgr_queue_status(struct jobmgr *m, const char *name)
{
    struct queue *q = queues_lookup(jobmgr_queues(m), name);
    if (!q)
        return NULL;
    int pending = 0, running = 0;
    for (struct job *job = jobmgr_next(m, 1); job; job = jobmgr_next(m, job->seq + 1)) {
        if (job->queue != q->index)
            continue;
        pending += state_class(job->state) == 1;
        running += state_class(job->state) == 2;
    }
    json_t *o = json_pack("{s:s s:b s:b s:i s:i}", "name", q->name, "enabled", q->enabled,
                          "started", q->started, "pending", pending, "running", running);
    if (o)
        json_object_set_new(o, "config", q->config ? json_incref(q->config) : json_object());
    if (o && q->reason[0])
        json_object_set_new(o, "reason", json_string(q->reason));
    return o;
}
