/* jobmgr.c - the job model: table, state machine, scheduling and exec glue. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/batch.h"
#include "common/idset.h"
#include "common/jobstream.h"
#include "exec/exec.h"
#include "fsd/depend.h"
#include "fsd/jobmgr.h"
#include "sched/match.h"

struct idvec {
    uint64_t *ids;
    size_t len, alloc;
};

struct jobmgr {
    struct ev_loop *loop;
    struct store *st;
    struct rgraph *g;            /* this machine: where core ids run (affinity) */
    struct graph *graph;         /* what is scheduled */
    struct qmgr *q;
    struct exec *exec;
    struct jobmgr_config cfg;
    struct fluid_gen gen;
    double t_start;
    uid_t owner;                 /* the instance owner (the broker's uid) */

    /* id -> job, open addressing with linear probing (never more than half full) */
    struct job **hash;
    size_t hash_size, njobs;
    /* seq -> job: seq n is byseq[n - 1]; NULL once a job is gone */
    struct job **byseq;
    size_t nseq, seq_alloc;

    size_t count[JOB_NSTATES];
    struct job *dirty;           /* records to rewrite before the next commit */
    struct job *inflight;        /* records written for the commit under way */
    struct idvec new_jobs;       /* submitted this iteration, not yet durable */
    struct idvec to_start;       /* allocated this iteration, start after commit */
    struct idvec depend;         /* jobs that may be in DEPEND (stale ids skipped) */
    bool sched_needed;
    bool deps_needed;            /* a job started or ended: re-check DEPEND jobs */
    bool status_unsaved;         /* resource status written, not yet committed */
    bool status_resave;          /* its commit failed: write it again */
    uint64_t purge_from;         /* no purgeable job has a smaller seq */
    double last_purge;

    jobmgr_notify_f notify;
    void *notify_arg;
    const struct jobmgr_hooks *hooks;
    void *hooks_arg;
};

static int idvec_push(struct idvec *v, uint64_t id)
{
    if (v->len == v->alloc) {
        size_t n = v->alloc ? v->alloc * 2 : 64;
        uint64_t *p = realloc(v->ids, n * sizeof(*p));
        if (!p)
            return -ENOMEM;
        v->ids = p;
        v->alloc = n;
    }
    v->ids[v->len++] = id;
    return 0;
}

/* ---- the job table ---- */

static size_t hash_slot(const struct jobmgr *m, uint64_t id)
{
    /* ids are time-ordered: mix the bits so neighbours spread out */
    uint64_t h = id * 0x9E3779B97F4A7C15ull;
    return (h >> 17) & (m->hash_size - 1);
}

static int hash_grow(struct jobmgr *m)
{
    size_t nsize = m->hash_size ? m->hash_size * 2 : 1024;
    struct job **old = m->hash;
    size_t osize = m->hash_size;
    struct job **nh = calloc(nsize, sizeof(*nh));
    if (!nh)
        return -ENOMEM;
    m->hash = nh;
    m->hash_size = nsize;
    for (size_t i = 0; i < osize; i++) {
        if (!old[i])
            continue;
        size_t s = hash_slot(m, old[i]->id);
        while (m->hash[s])
            s = (s + 1) & (nsize - 1);
        m->hash[s] = old[i];
    }
    free(old);
    return 0;
}

struct job *jobmgr_lookup(struct jobmgr *m, uint64_t id)
{
    if (!m->hash_size)
        return NULL;
    for (size_t s = hash_slot(m, id); m->hash[s]; s = (s + 1) & (m->hash_size - 1))
        if (m->hash[s]->id == id)
            return m->hash[s];
    return NULL;
}

struct job *jobmgr_lookup_name(struct jobmgr *m, const char *idstr)
{
    uint64_t id;
    if (fluid_decode(idstr, &id) < 0)
        return NULL;
    struct job *job = jobmgr_lookup(m, id);
    /* only the canonical spelling names a directory */
    return (job && strcmp(job->idstr, idstr) == 0) ? job : NULL;
}

struct job *jobmgr_lookup_seq(struct jobmgr *m, uint64_t seq)
{
    return (seq >= 1 && seq <= m->nseq) ? m->byseq[seq - 1] : NULL;
}

struct job *jobmgr_next(struct jobmgr *m, uint64_t seq)
{
    for (uint64_t s = seq ? seq : 1; s <= m->nseq; s++)
        if (m->byseq[s - 1])
            return m->byseq[s - 1];
    return NULL;
}

static int table_insert(struct jobmgr *m, struct job *job)
{
    if ((m->njobs + 1) * 2 > m->hash_size && hash_grow(m) < 0)
        return -ENOMEM;
    if (m->nseq == m->seq_alloc) {
        size_t n = m->seq_alloc ? m->seq_alloc * 2 : 1024;
        struct job **p = realloc(m->byseq, n * sizeof(*p));
        if (!p)
            return -ENOMEM;
        m->byseq = p;
        m->seq_alloc = n;
    }
    size_t s = hash_slot(m, job->id);
    while (m->hash[s])
        s = (s + 1) & (m->hash_size - 1);
    m->hash[s] = job;
    m->byseq[m->nseq++] = job;
    job->seq = m->nseq;
    job->owner = m;
    m->njobs++;
    m->count[job->state]++;
    return 0;
}

static void table_remove(struct jobmgr *m, struct job *job)
{
    size_t mask = m->hash_size - 1, s = hash_slot(m, job->id);
    while (m->hash[s] != job)
        s = (s + 1) & mask;
    m->hash[s] = NULL;
    /* backward-shift the probe run so lookups never stop early */
    for (size_t j = (s + 1) & mask; m->hash[j]; j = (j + 1) & mask) {
        size_t home = hash_slot(m, m->hash[j]->id);
        bool movable = (j > s) ? (home <= s || home > j) : (home <= s && home > j);
        if (movable) {
            m->hash[s] = m->hash[j];
            m->hash[j] = NULL;
            s = j;
        }
    }
    m->byseq[job->seq - 1] = NULL;
    m->njobs--;
    m->count[job->state]--;
}

/* ---- state and events ---- */

static void mark_dirty(struct jobmgr *m, struct job *job)
{
    if (!job->dirty) {
        job->dirty = true;
        job->dirty_next = m->dirty;
        m->dirty = job;
    }
}

static void notify(struct jobmgr *m, struct job *job, enum jobmgr_change what, int stream)
{
    if (m->notify)
        m->notify(m->notify_arg, job, what, stream);
}

/* Append one RFC 18 event to the job's eventlog (steals context). */
static void post_event(struct jobmgr *m, struct job *job, const char *name, json_t *context)
{
    char *line = job_event_format(ev_now(m->loop), name, context);
    if (!line) {
        syslog(LOG_ERR, "job %s: out of memory formatting event '%s'", job->idstr, name);
        return;
    }
    size_t len = strlen(line);
    /* kept until committed: a commit that fails (full disk) loses it from
     * the store, and it is written again with the next one */
    char *p = realloc(job->ev_pending, job->ev_pending_len + len + 1);
    if (p) {
        memcpy(p + job->ev_pending_len, line, len + 1);
        job->ev_pending = p;
        job->ev_pending_len += len;
    }
    if (!job->ev_rewrite) {
        int rc = store_event_append(m->st, job->id, job->nevents, line, len);
        if (rc < 0) {
            /* the transaction is lost; its commit fails and says why */
            syslog(LOG_ERR, "job %s: storing event '%s': %s", job->idstr, name, strerror(-rc));
            job->ev_rewrite = p != NULL;
        } else {
            job->nevents++;
            job->evlog_len += len;
        }
    }
    free(line);
    mark_dirty(m, job);
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

static void set_state(struct jobmgr *m, struct job *job, enum job_state state)
{
    m->count[job->state]--;
    m->count[state]++;
    job->state = state;
    if (state == JOB_INACTIVE && !job->R_unstored) {
        /* in the store; memory that stays flat keeps no texts for the past */
        free(job->R);
        job->R = NULL;
    }
    if (state == JOB_INACTIVE) {
        free(job->spec_text);
        job->spec_text = NULL;
    }
    if (state == JOB_RUN || state == JOB_INACTIVE)
        m->deps_needed = true;
    job->t_state = ev_now(m->loop);
    mark_dirty(m, job);
    if (job->committed)
        notify(m, job, JOBMGR_STATE, 0);
}

static void post_exception(struct jobmgr *m, struct job *job, const char *type, uid_t uid,
                           const char *note)
{
    post_event(m, job, "exception",
               json_pack("{s:s s:i s:i s:s}", "type", type, "severity", 0,
                         "userid", (int)uid, "note", note));
}

static void job_release(struct jobmgr *m, struct job *job);

/* Everything after the tasks are gone: release resources, decide the result. */
static void job_finish(struct jobmgr *m, struct job *job, int status)
{
    if (job->timer) {
        ev_timer_cancel(m->loop, job->timer);
        job->timer = 0;
    }
    post_event(m, job, "finish", json_pack("{s:i}", "status", status));
    set_state(m, job, JOB_CLEANUP);
    job->status = status;
    /* nested instances run on this job's resources: they stop first */
    if (m->hooks && m->hooks->job_ending && m->hooks->job_ending(m->hooks_arg, job))
        return;
    job_release(m, job);
}

void jobmgr_job_cleared(struct jobmgr *m, struct job *job)
{
    if (job->state == JOB_CLEANUP)
        job_release(m, job);
}

/* The job's resources go back to the scheduler and it becomes INACTIVE. */
static void job_release(struct jobmgr *m, struct job *job)
{
    int status = job->status;
    qmgr_release(m->q, job->id);
    m->sched_needed = true;
    post_event(m, job, "release", json_pack("{s:s s:b}", "ranks", "all", "final", 1));
    post_event(m, job, "free", NULL);
    if (job->pending_result != RESULT_NONE)
        job->result = job->pending_result;
    else
        job->result = status == 0 ? RESULT_COMPLETED : RESULT_FAILED;
    post_event(m, job, "clean", NULL);
    set_state(m, job, JOB_INACTIVE);
    jobspec_destroy(job->js);
    job->js = NULL;
}

/* A job that never ran ends here (canceled while pending, unsatisfiable...). */
static void job_end_pending(struct jobmgr *m, struct job *job, enum job_result result)
{
    job->result = result;
    post_event(m, job, "clean", NULL);
    set_state(m, job, JOB_INACTIVE);
    jobspec_destroy(job->js);
    job->js = NULL;
}

/* ---- exec glue ---- */

static const char *stream_name(int stream)
{
    return stream == 1 ? "stdout" : "stderr";
}

/* Output that cannot be stored (the disk is full, or its commit failed) is
 * dropped, never shown: the eventlog says so at once. */
static void output_drop(struct jobmgr *m, struct job *job, int stream, uint64_t len, int err)
{
    if (!job->out_dropping[stream]) {
        char note[160];
        job->out_dropping[stream] = true;
        snprintf(note, sizeof(note), "%s: output dropped from byte %llu: %s",
                 stream_name(stream), (unsigned long long)job->out_len[stream], strerror(err));
        post_event(m, job, "log", json_pack("{s:s}", "note", note));
    }
    job->out_dropped[stream] += len;
}

/* Storing output again (or the job ended): say how much is missing, in
 * the stream where it is missing and in the eventlog. */
static void output_resume(struct jobmgr *m, struct job *job, int stream)
{
    char note[160];
    int n = snprintf(note, sizeof(note), "\nfluxfs: %llu bytes of %s dropped: the store was full\n",
                     (unsigned long long)job->out_dropped[stream], stream_name(stream));
    job->out_dropping[stream] = false;
    job->out_dropped[stream] = 0;
    if (store_output_append(m->st, job->id, stream, job->out_len[stream], note, n) == 0)
        job->out_len[stream] += n;
    note[n - 1] = '\0';
    post_event(m, job, "log", json_pack("{s:s}", "note", note + 1));
}

static void on_output(void *arg, uint64_t id, int stream, const char *data, size_t len)
{
    struct jobmgr *m = arg;
    struct job *job = jobmgr_lookup(m, id);
    if (!job || stream < 1 || stream > 2 || job->out_capped[stream])
        return;
    /* a full disk keeps what is left for the jobs' states and events */
    if (store_low_space(m->st)) {
        output_drop(m, job, stream, len, ENOSPC);
        return;
    }
    if (job->out_dropping[stream])
        output_resume(m, job, stream);
    size_t room = m->cfg.output_cap - job->out_len[stream];
    bool cap = len > room;
    if (cap)
        len = room;
    if (len > 0) {
        int rc = store_output_append(m->st, id, stream, job->out_len[stream], data, len);
        if (rc < 0) {
            syslog(LOG_ERR, "job %s: storing output: %s", job->idstr, strerror(-rc));
            return;
        }
        job->out_len[stream] += len;
    }
    if (cap) {
        /* say so where the user will look: in the stream itself */
        job->out_capped[stream] = true;
        char note[128];
        int n = snprintf(note, sizeof(note), "\nfluxfs: %s truncated at %llu bytes\n",
                         stream == 1 ? "stdout" : "stderr",
                         (unsigned long long)m->cfg.output_cap);
        if (store_output_append(m->st, id, stream, job->out_len[stream], note, n) == 0)
            job->out_len[stream] += n;
        post_event(m, job, "log", json_pack("{s:s}", "note", note + 1));
    }
    job->t_output[stream] = ev_now(m->loop);
    mark_dirty(m, job);   /* readers see it once committed (commit_done) */
}

static void on_finished(void *arg, uint64_t id, int status)
{
    struct jobmgr *m = arg;
    struct job *job = jobmgr_lookup(m, id);
    if (job && job->state == JOB_RUN) {
        for (int s = 1; s <= 2; s++)
            if (job->out_dropping[s])
                output_resume(m, job, s);
        job_finish(m, job, status);
    }
}

static const struct exec_ops exec_ops = {
    .output = on_output,
    .finished = on_finished,
};

static void on_timeout(struct ev_loop *loop, uint64_t timer_id, void *arg)
{
    struct job *job = arg;
    struct jobmgr *m = job->owner;
    job->timer = 0;
    if (job->state != JOB_RUN || job->canceling)
        return;
    post_exception(m, job, "timeout", m->owner, "resource allocation expired");
    job->canceling = true;
    job->pending_result = RESULT_TIMEOUT;
    exec_terminate(m->exec, job->id, m->cfg.kill_grace);
}

/* One node's share of an allocation, as the executor deals tasks. */
struct alloc_node {
    int rank;
    int ncores;
    int *cpus;       /* OS cpu per allocated core, -1 if unknown here */
    int nslots;
    int width;       /* cores bound to each slot (>= the slot's cores when a
                      * whole node holds more than its slots ask for) */
};

struct alloc_view {
    int nnodes;
    struct alloc_node *nodes;
};

static void alloc_view_release(struct alloc_view *av)
{
    for (int i = 0; i < av->nnodes; i++)
        free(av->nodes[i].cpus);
    free(av->nodes);
}

/* OS cpu of core id on the node of that rank, from this machine's map. */
static int core_cpu(const struct jobmgr *m, int rank, int id)
{
    for (int n = 0; n < rgraph_nnodes(m->g); n++) {
        const struct rgraph_node *gn = rgraph_node(m->g, n);
        if (gn->rank != rank && rgraph_nnodes(m->g) > 1)
            continue;
        for (int i = 0; i < gn->ncores; i++)
            if (gn->core_ids[i] == id)
                return gn->core_cpus[i];
        return -1;
    }
    return -1;
}

/* Nodes, cores and slots of an allocation, from its R (rank order). */
static int alloc_view_build(struct jobmgr *m, const struct jobspec *js, json_t *R,
                            struct alloc_view *av)
{
    json_t *lite = json_object_get(json_object_get(R, "execution"), "R_lite");
    size_t i;
    json_t *e;
    memset(av, 0, sizeof(*av));
    json_array_foreach(lite, i, e) {
        struct idset *ranks = idset_decode(json_string_value(json_object_get(e, "rank")));
        struct idset *cores = idset_decode(json_string_value(
            json_object_get(json_object_get(e, "children"), "core")));
        for (int r = ranks ? idset_first(ranks) : -1; r >= 0; r = idset_next(ranks, r)) {
            struct alloc_node *nn = realloc(av->nodes, (av->nnodes + 1) * sizeof(*nn));
            if (!nn)
                break;
            av->nodes = nn;
            struct alloc_node *an = &av->nodes[av->nnodes++];
            memset(an, 0, sizeof(*an));
            an->rank = r;
            size_t nc = cores ? idset_count(cores) : 0;
            an->cpus = calloc(nc ? nc : 1, sizeof(int));
            for (int c = cores ? idset_first(cores) : -1; an->cpus && c >= 0;
                 c = idset_next(cores, c))
                an->cpus[an->ncores++] = core_cpu(m, r, c);
            /* slots fill a node's cores in order; a slot without cores
             * (gpus only) still gets one place per node */
            an->nslots = js->slot_cores > 0 ? an->ncores / js->slot_cores : 0;
            if (an->nslots == 0 && !js->general)
                an->nslots = an->ncores > 0;
            /* an exclusive node hands over all its cores, yet holds only
             * the slots the jobspec asks for on it */
            if (!js->general && js->nnodes > 0 && an->nslots > js->nslots)
                an->nslots = js->nslots;
        }
        idset_destroy(ranks);
        idset_destroy(cores);
    }
    /* the job has the slots it asked for, wherever the allocation put more
     * cores than they need; general requests may put slots anywhere: deal
     * the job's slots over its nodes in proportion to their cores */
    int want = jobspec_total_slots(js), have = 0;
    for (int n = 0; n < av->nnodes; n++)
        have += av->nodes[n].nslots;
    for (int n = 0; js->general && have < want && av->nnodes > 0;
         n = (n + 1) % av->nnodes, have++)
        av->nodes[n].nslots++;
    for (int n = av->nnodes - 1; have > want && n >= 0; n--)
        while (have > want && av->nodes[n].nslots > 0)
            av->nodes[n].nslots--, have--;
    /* a node's cores are shared out among its slots, so the tasks of a
     * whole node may use all of it */
    for (int n = 0; n < av->nnodes; n++) {
        struct alloc_node *an = &av->nodes[n];
        an->width = an->nslots > 0 ? an->ncores / an->nslots : 0;
        if (an->width < js->slot_cores)
            an->width = js->slot_cores;
    }
    return av->nnodes > 0 ? 0 : -EINVAL;
}

/* Tasks are dealt over the slots in order (per_slot tasks each, or total
 * round-robin); a task is bound to the cores of its slot, and when there
 * are fewer tasks than slots (count.total), the task that owns several slots
 * gets the slots dealt to it, so it is bound to all of its allocation. */
struct slot_ref {
    int node;      /* index into av->nodes */
    int first;     /* first core index into av->nodes[node].cpus */
};

static int build_tasks(struct jobmgr *m, struct job *job, const struct alloc_view *a,
                       struct exec_task **tasksp, int **cpubufp)
{
    const struct jobspec *js = job->js;
    int nslots = 0, width = 1;
    (void)m;
    for (int i = 0; i < a->nnodes; i++) {
        nslots += a->nodes[i].nslots;
        if (a->nodes[i].width > width)
            width = a->nodes[i].width;
    }
    if (nslots < 1)
        return -EINVAL;
    int ntasks = js->per_slot ? js->per_slot * nslots : js->total;
    struct exec_task *tasks = calloc(ntasks, sizeof(*tasks));
    int *cpus = calloc((size_t)(ntasks + nslots) * width, sizeof(int));
    int *local = calloc(a->nnodes, sizeof(int));
    struct slot_ref *slots = calloc(nslots, sizeof(*slots));
    if (!tasks || !cpus || !local || !slots) {
        free(tasks);
        free(cpus);
        free(local);
        free(slots);
        return -ENOMEM;
    }
    for (int n = 0, k = 0; n < a->nnodes; n++)
        for (int i = 0; i < a->nodes[n].nslots; i++, k++)
            slots[k] = (struct slot_ref){ .node = n, .first = i * a->nodes[n].width };
    int *next = cpus;
    for (int t = 0; t < ntasks; t++) {
        int first = js->per_slot ? t / js->per_slot : t % nslots;
        /* the slots this task is bound to: its own, plus every ntasks-th
         * one after it when tasks are fewer than slots */
        int step = (!js->per_slot && ntasks < nslots) ? ntasks : nslots + 1;
        const struct slot_ref *home = &slots[first];
        tasks[t].rank = t;
        tasks[t].nodeid = home->node;
        tasks[t].localid = local[home->node]++;
        tasks[t].cpus = next;
        for (int k = first; k < nslots; k += step) {
            const struct alloc_node *an = &a->nodes[slots[k].node];
            if (slots[k].node != home->node)
                continue;   /* a task runs on one node */
            for (int c = slots[k].first; c < slots[k].first + an->width && c < an->ncores; c++)
                if (an->cpus[c] >= 0)
                    next[tasks[t].ncpus++] = an->cpus[c];
        }
        next += tasks[t].ncpus;
    }
    free(local);
    free(slots);
    *tasksp = tasks;
    *cpubufp = cpus;
    return ntasks;
}

static void job_start(struct jobmgr *m, struct job *job)
{
    struct alloc_view av = {0};
    struct exec_task *tasks = NULL;
    int *cpus = NULL;
    struct errmsg err = { "" };
    json_t *R = job->R ? json_loads(job->R, 0, NULL) : NULL;
    int ntasks = R && alloc_view_build(m, job->js, R, &av) == 0
               ? build_tasks(m, job, &av, &tasks, &cpus) : -ENOENT;
    int rc = ntasks;
    json_decref(R);
    json_t *env = NULL;
    if (ntasks > 0 && job->js->environment_shed) {
        const char *text;
        size_t len;
        if (jobmgr_job_blob(m, job, 'S', &text, &len) == 0)
            env = jobspec_load_environment(text, len);
        if (!env) {
            rc = errmsg_set(&err, -EIO, "cannot read the job's environment back");
            ntasks = 0;
        }
    }

    if (ntasks > 0) {
        struct exec_job ej = {
            .id = job->id,
            .idstr = job->idstr,
            .argv = job->js->argv,
            .cwd = job->cwd,
            .environment = env ? env : job->js->environment,
            .nnodes = av.nnodes,
            .ntasks = ntasks,
            .tasks = tasks,
            .uid = job->uid,
            .gid = job->gid,
        };
        rc = exec_start(m->exec, &ej, &err);
    }
    json_decref(env);   /* exec_start copied it */
    free(tasks);
    free(cpus);
    alloc_view_release(&av);
    if (rc < 0) {
        post_exception(m, job, "exec", m->owner, err.text[0] ? err.text : strerror(-rc));
        job_finish(m, job, 1);
        return;
    }
    post_event(m, job, "start", NULL);
    if (job->js->duration > 0)
        job->timer = ev_timer_add(m->loop, job->js->duration, on_timeout, job);
}

static void on_alloc(void *arg, uint64_t id, const struct match_alloc *a)
{
    struct jobmgr *m = arg;
    struct job *job = jobmgr_lookup(m, id);
    if (!job)
        return;
    json_t *R = match_to_R(qmgr_matcher(m->q), a);
    if (R) {
        /* R carries wall-clock times, the graph whole seconds */
        json_t *ex = json_object_get(R, "execution");
        double now = ev_now(m->loop);
        json_object_set_new(ex, "starttime", json_real(now));
        json_object_set_new(ex, "expiration",
                            json_real(job->js->duration > 0 ? now + job->js->duration : 0.));
    }
    char *text = R ? json_dumps(R, JSON_COMPACT) : NULL;
    json_decref(R);
    if (text) {
        free(job->R);
        job->R_len = strlen(text) + 1;
        job->R = realloc(text, job->R_len + 1);
        if (!job->R) {
            job->R = text;
            job->R_len--;
        } else
            strcpy(job->R + job->R_len - 1, "\n");
        if (store_blob_put(m->st, job->id, 'R', job->R, job->R_len) < 0)
            syslog(LOG_ERR, "job %s: storing R: %s", job->idstr, store_errstr(m->st));
        job->R_unstored = true;   /* until its commit succeeds */
        mark_dirty(m, job);   /* R_len */
    }
    post_event(m, job, "alloc", NULL);
    set_state(m, job, JOB_RUN);
    idvec_push(&m->to_start, id);
}

/* ---- submission ---- */

static struct job *dep_lookup(void *arg, const char *idstr)
{
    struct jobmgr *m = arg;
    uint64_t id;
    return fluid_decode(idstr, &id) == 0 ? jobmgr_lookup(m, id) : NULL;
}

/* DEPEND -> PRIORITY -> SCHED (queued once durable). */
static void job_dependencies_met(struct jobmgr *m, struct job *job)
{
    post_event(m, job, "depend", NULL);
    set_state(m, job, JOB_PRIORITY);
    post_event(m, job, "priority", json_pack("{s:i}", "priority", job->urgency));
    set_state(m, job, JOB_SCHED);
}

/* Release DEPEND jobs whose dependencies are decided. */
static void job_enqueue(struct jobmgr *m, struct job *job);
static void check_dependencies(struct jobmgr *m)
{
    size_t keep = 0;
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
        switch (depend_check(job->js->json, dep_lookup, m, &err)) {
        case DEPEND_WAIT:
            m->depend.ids[keep++] = job->id;
            break;
        case DEPEND_READY:
            job_dependencies_met(m, job);
            job_enqueue(m, job);
            break;
        case DEPEND_NEVER:
            post_exception(m, job, "dependency", m->owner, err.text);
            job_end_pending(m, job, RESULT_CANCELED);
            break;
        }
    }
    m->depend.len = keep;
}

/* A submission is a jobspec, or a batch script ("#!" with # flux: or
 * #SBATCH directives) turned into one. The job keeps the text as submitted. */
static int parse_submission(const char *text, size_t len, struct jobspec **jsp,
                            struct errmsg *err)
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
static int submit_prepare(struct jobmgr *m, const char *text, size_t len, uid_t uid, gid_t gid,
                          const char *cwd, struct job **jobp, int *ndepsp, struct errmsg *err)
{
    struct jobspec *js = NULL;
    struct job *job = NULL;
    uint64_t id;
    int rc;

    if (m->cfg.read_only)
        return errmsg_set(err, -EROFS, "this nested instance has ended: its history is "
                          "read-only");
    if ((rc = parse_submission(text, len, &js, err)) < 0)
        return rc;
    const char *what;
    int64_t ntasks = jobspec_max_tasks(js, graph_nvertices(m->graph), &what);
    if (ntasks > m->cfg.max_tasks) {
        rc = errmsg_set(err, -EINVAL, "%s: asks for %lld tasks, more than the limit of "
                        "%lld (fluxfsd --max-tasks)", what, (long long)ntasks,
                        (long long)m->cfg.max_tasks);
        goto error;
    }
    if (qmgr_satisfiable(m->q, js->rs, err) < 0) {
        rc = -EINVAL;
        goto error;
    }
    int ndeps = depend_validate(js->json, dep_lookup, m, err);
    if (ndeps < 0) {
        rc = ndeps;
        goto error;
    }
    if ((rc = fluid_gen_next(&m->gen, &id)) < 0) {
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
    if (dir && !(job->cwd = strdup(dir))) {
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
        int max = (uid == 0 || uid == m->owner) ? QMGR_URGENCY_MAX : QMGR_URGENCY_DEFAULT;
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
static int submit_copy(struct jobmgr *m, const struct job *like, const char *text, size_t len,
                       struct job **jobp, struct errmsg *err)
{
    uint64_t id;
    struct job *job = NULL;
    int rc;

    if ((rc = fluid_gen_next(&m->gen, &id)) < 0)
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

static int idvec_reserve(struct idvec *v, size_t more)
{
    size_t n = v->alloc ? v->alloc : 64;
    while (n < v->len + more)
        n *= 2;
    if (n == v->alloc)
        return 0;
    uint64_t *p = realloc(v->ids, n * sizeof(*p));
    if (!p)
        return -ENOMEM;
    v->ids = p;
    v->alloc = n;
    return 0;
}

/* Room for n more jobs in every table submit_enter() fills, so that a batch
 * of jobs is entered whole or not at all. */
static int submit_reserve(struct jobmgr *m, size_t n)
{
    while ((m->njobs + n) * 2 > m->hash_size)
        if (hash_grow(m) < 0)
            return -ENOMEM;
    if (m->nseq + n > m->seq_alloc) {
        size_t a = m->seq_alloc ? m->seq_alloc : 1024;
        while (a < m->nseq + n)
            a *= 2;
        struct job **p = realloc(m->byseq, a * sizeof(*p));
        if (!p)
            return -ENOMEM;
        m->byseq = p;
        m->seq_alloc = a;
    }
    if (idvec_reserve(&m->new_jobs, n) < 0 || idvec_reserve(&m->depend, n) < 0)
        return -ENOMEM;
    return 0;
}

/* A prepared job joins the instance (durable at the next commit). Cannot
 * fail after submit_reserve(). */
static void submit_enter(struct jobmgr *m, struct job *job, int ndeps)
{
    job->t_submit = job->t_state = ev_now(m->loop);
    job->state = JOB_NEW;
    table_insert(m, job);
    idvec_push(&m->new_jobs, job->id);
    /* a failed write fails this iteration's commit, and so the submission */
    if (store_blob_put(m->st, job->id, 'S', job->spec_text, job->spec_len) < 0)
        syslog(LOG_ERR, "job %s: storing jobspec: %s", job->idstr, store_errstr(m->st));
    post_event(m, job, "submit", json_pack("{s:i s:i s:i s:i}", "userid", (int)job->uid,
                                            "urgency", job->urgency, "flags", 0, "version", 1));
    post_event(m, job, "validate", NULL);
    set_state(m, job, JOB_DEPEND);
    if (ndeps > 0) {
        /* it waits in DEPEND until its dependencies are decided */
        json_t *deps = json_object_get(json_object_get(json_object_get(job->js->json,
                                       "attributes"), "system"), "dependencies"), *d;
        size_t i;
        json_array_foreach(deps, i, d) {
            char desc[128];
            snprintf(desc, sizeof(desc), "%s=%s",
                     json_string_value(json_object_get(d, "scheme")),
                     json_string_value(json_object_get(d, "value")));
            post_event(m, job, "dependency-add", json_pack("{s:s}", "description", desc));
        }
        idvec_push(&m->depend, job->id);
        return;
    }
    job_dependencies_met(m, job);
}

int jobmgr_submit(struct jobmgr *m, const char *text, size_t len, uid_t uid, gid_t gid,
                  const char *cwd, struct job **jobp, struct errmsg *err)
{
    struct jobstream_doc one = { .off = 0, .len = len, .line = 1 };
    return jobmgr_submit_many(m, text, &one, 1, uid, gid, cwd, jobp, err);
}

int jobmgr_submit_many(struct jobmgr *m, const char *text, const struct jobstream_doc *docs,
                       size_t n, uid_t uid, gid_t gid, const char *cwd, struct job **jobs,
                       struct errmsg *err)
{
    int *ndeps = calloc(n, sizeof(*ndeps));
    int rc = 0;
    size_t i;

    if (!ndeps)
        return errmsg_set(err, -ENOMEM, "out of memory");
    /* what is left of the disk is for the jobs already accepted */
    if (store_low_space(m->st)) {
        free(ndeps);
        return errmsg_set(err, -ENOSPC, "no space left on the state directory's disk");
    }
    for (i = 0; i < n; i++) {
        const char *t = text + docs[i].off;
        if (i > 0 && docs[i].len == docs[i - 1].len &&
            memcmp(t, text + docs[i - 1].off, docs[i].len) == 0) {
            ndeps[i] = ndeps[i - 1];
            if ((rc = submit_copy(m, jobs[i - 1], t, docs[i].len, &jobs[i], err)) < 0)
                goto error;
            continue;
        }
        if ((rc = submit_prepare(m, t, docs[i].len, uid, gid, cwd, &jobs[i],
                                 &ndeps[i], err)) < 0) {
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
    if ((rc = submit_reserve(m, n)) < 0) {
        errmsg_set(err, rc, "out of memory");
        goto error;
    }
    for (i = 0; i < n; i++)
        submit_enter(m, jobs[i], ndeps[i]);
    free(ndeps);
    return 0;
error:
    while (i-- > 0)
        job_destroy(jobs[i]);
    free(ndeps);
    return rc;
}

/* ---- control ---- */

static bool may_control(struct jobmgr *m, struct job *job, uid_t uid)
{
    return uid == 0 || uid == m->owner || uid == job->uid;
}

static int cancel_job(struct jobmgr *m, struct job *job, uid_t uid, const char *type,
                      const char *note, struct errmsg *err)
{
    switch (job->state) {
    case JOB_INACTIVE:
    case JOB_CLEANUP:
        return errmsg_set(err, -EINVAL, "job '%s' is inactive", job->idstr);
    case JOB_RUN:
        if (job->canceling)
            return 0;
        post_exception(m, job, type, uid, note);
        job->canceling = true;
        job->pending_result = RESULT_CANCELED;
        exec_terminate(m->exec, job->id, m->cfg.kill_grace);
        return 0;
    default:
        qmgr_cancel(m->q, job->id);
        post_exception(m, job, type, uid, note);
        job_end_pending(m, job, RESULT_CANCELED);
        return 0;
    }
}

static int ctl_cancel(struct jobmgr *m, struct job *job, uid_t uid, struct errmsg *err)
{
    return cancel_job(m, job, uid, "cancel", "canceled by user", err);
}

void jobmgr_cancel_all(struct jobmgr *m, const char *type, const char *note)
{
    for (struct job *job = jobmgr_next(m, 1); job; job = jobmgr_next(m, job->seq + 1))
        if (job->state != JOB_INACTIVE && job->state != JOB_CLEANUP)
            cancel_job(m, job, m->owner, type, note, NULL);
}

void jobmgr_terminate_running(struct jobmgr *m, const char *type, const char *note)
{
    for (struct job *job = jobmgr_next(m, 1); job; job = jobmgr_next(m, job->seq + 1))
        if (job->state == JOB_RUN)
            cancel_job(m, job, m->owner, type, note, NULL);
}

size_t jobmgr_active(struct jobmgr *m)
{
    size_t n = 0;
    for (int s = JOB_NEW; s < JOB_INACTIVE; s++)
        n += m->count[s];
    return n;
}

static int parse_signal(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*s && !*end)
        return (n > 0 && n < NSIG) ? (int)n : -1;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (int i = 1; i < NSIG; i++) {
        const char *name = sigabbrev_np(i);
        if (name && strcasecmp(name, s) == 0)
            return i;
    }
    return -1;
}

static int ctl_line(struct jobmgr *m, struct job *job, uid_t uid, char *line, struct errmsg *err)
{
    char *verb = strtok(line, " \t");
    char *arg = strtok(NULL, " \t");
    char *extra = arg ? strtok(NULL, " \t") : NULL;

    if (!verb)
        return 0;
    if (strcmp(verb, "cancel") == 0 && !arg)
        return ctl_cancel(m, job, uid, err);
    if (strcmp(verb, "signal") == 0 && !extra) {
        int sig = arg ? parse_signal(arg) : SIGTERM;
        if (sig < 0)
            return errmsg_set(err, -EINVAL, "unknown signal '%s'", arg);
        if (job->state != JOB_RUN)
            return errmsg_set(err, -EINVAL, "job '%s' is not running", job->idstr);
        return exec_signal(m->exec, job->id, sig);
    }
    if (strcmp(verb, "shutdown") == 0 && arg) {
        char *more = strtok(NULL, " \t");
        bool force = extra && !strcmp(extra, "force");
        if ((extra && !force) || more)
            return errmsg_set(err, -EINVAL, "usage: shutdown NAME [force]");
        if (!m->hooks || !m->hooks->nest_shutdown)
            return errmsg_set(err, -ENOTSUP, "no nested instances here");
        return m->hooks->nest_shutdown(m->hooks_arg, job, arg, uid, force, err);
    }
    if (strcmp(verb, "urgency") == 0 && arg && !extra) {
        char *end;
        long u = strtol(arg, &end, 10);
        int max = (uid == 0 || uid == m->owner) ? QMGR_URGENCY_MAX : QMGR_URGENCY_DEFAULT;
        if (*end || u < 0 || u > max)
            return errmsg_set(err, -EINVAL, "urgency '%s' out of range 0-%d", arg, max);
        if (job->state != JOB_SCHED && job->state != JOB_DEPEND)
            return errmsg_set(err, -EINVAL, "job '%s' is not pending", job->idstr);
        job->urgency = (int)u;
        if (job->state == JOB_SCHED)
            qmgr_set_urgency(m->q, job->id, job->urgency);
        m->sched_needed = true;
        post_event(m, job, "urgency", json_pack("{s:i s:i}", "userid", (int)uid,
                                                 "urgency", job->urgency));
        post_event(m, job, "priority", json_pack("{s:i}", "priority", job->urgency));
        notify(m, job, JOBMGR_STATE, 0);
        return 0;
    }
    return errmsg_set(err, -EINVAL,
                      "unknown control '%s' (expected: cancel, signal N, urgency N)", verb);
}

int jobmgr_ctl(struct jobmgr *m, struct job *job, uid_t uid, const char *text, size_t len,
               struct errmsg *err)
{
    if (!may_control(m, job, uid))
        return errmsg_set(err, -EPERM, "job '%s' belongs to user %d", job->idstr, (int)job->uid);
    if (len > 4096)
        return errmsg_set(err, -E2BIG, "control text too long");
    char buf[4097], *save = NULL;
    memcpy(buf, text, len);
    buf[len] = '\0';
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int rc = ctl_line(m, job, uid, line, err);
        if (rc < 0)
            return rc;
    }
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
    return m->count[s];
}

double jobmgr_start_time(struct jobmgr *m)
{
    return m->t_start;
}

const struct rgraph *jobmgr_rgraph(struct jobmgr *m)
{
    return m->g;
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

/* Units of aggregate a (0 cores, 1 gpus) no job holds now. Every job holds
 * the root (shared at least) and the hold's agg counts what it takes
 * beneath, so the root's holds say it all. A reservation takes nothing yet;
 * a running job past its expected end still holds until it is released, so
 * a hold's end is not compared with now. */
static int free_units(struct jobmgr *m, int a)
{
    const struct graph_vertex *root = graph_vertex(m->graph, 0);
    int64_t now = (int64_t)ev_now(m->loop), n = root->total[a];
    for (int i = 0; i < root->nholds; i++) {
        const struct graph_hold *h = &root->holds[i];
        const struct match_alloc *al = qmgr_lookup(m->q, h->job);
        if (h->start > now || (al && al->reserved))
            continue;
        n -= h->kind == GRAPH_HOLD_X ? root->total[a] : h->agg[a];
    }
    return n > 0 ? (int)n : 0;
}

int jobmgr_free_cores(struct jobmgr *m)
{
    return free_units(m, 0);
}

int jobmgr_free_gpus(struct jobmgr *m)
{
    return free_units(m, 1);
}

/* ---- dynamic resources ---- */

/* Running jobs holding anything at or beneath v get exception type
 * "resource" and are terminated: their node is gone. Every job using
 * something beneath v holds v itself (shared at least); one holding an
 * ancestor whole (a node under lonodex) has v too. */
static void fail_jobs_beneath(struct jobmgr *m, int v, const char *what)
{
    for (int u = v; u >= 0; u = graph_vertex(m->graph, u)->parent) {
        const struct graph_vertex *x = graph_vertex(m->graph, u);
        for (int i = 0; i < x->nholds; i++) {
            struct job *job = jobmgr_lookup(m, x->holds[i].job);
            if (u != v && x->holds[i].kind != GRAPH_HOLD_X)
                continue;
            if (!job || job->state != JOB_RUN || job->canceling)
                continue;
            post_exception(m, job, "resource", m->owner, what);
            job->canceling = true;
            job->pending_result = RESULT_FAILED;
            exec_terminate(m->exec, job->id, m->cfg.kill_grace);
        }
    }
}

/* Vertices that are not up, as {"PATH": "down"|"drained"} in the store's
 * meta table, so an operator's drain survives a restart. Written into the
 * open transaction; jobmgr_after_commit() writes it again at the next
 * iteration if that transaction did not commit. 0 or -errno. */
static int save_resource_status(struct jobmgr *m)
{
    json_t *o = json_object();
    char path[1024];
    int rc = o ? 0 : -ENOMEM;
    for (int v = 0; rc == 0 && v < graph_nvertices(m->graph); v++) {
        const struct graph_vertex *x = graph_vertex(m->graph, v);
        if (x->status == GRAPH_UP)
            continue;
        if (graph_path(m->graph, v, path, sizeof(path)) < 0)
            rc = -ENAMETOOLONG;
        else if (json_object_set_new(o, path, json_string(x->status == GRAPH_DOWN ? "down"
                                                                              : "drained")))
            rc = -ENOMEM;
    }
    char *text = rc == 0 ? json_dumps(o, JSON_COMPACT) : NULL;
    if (rc == 0)
        rc = text ? store_meta_put(m->st, "resource-status", text, strlen(text)) : -ENOMEM;
    if (rc < 0)
        syslog(LOG_ERR, "cannot record resource status: %s", strerror(-rc));
    else
        m->status_unsaved = true;   /* until its transaction commits */
    free(text);
    json_decref(o);
    return rc;
}

/* The resource status a previous run saved, whatever its size. */
static void load_resource_status(struct jobmgr *m)
{
    size_t len = 0, got = 0;
    int rc = store_meta_get(m->st, "resource-status", NULL, 0, &len);
    if (rc == -ENOENT)
        return;
    char *buf = rc == 0 ? malloc(len + 1) : NULL;
    if (rc == 0 && !buf)
        rc = -ENOMEM;
    if (rc == 0)
        rc = store_meta_get(m->st, "resource-status", buf, len, &got);
    if (rc == 0 && got != len)
        rc = -EIO;   /* nothing else writes the store meanwhile */
    if (rc < 0) {
        syslog(LOG_ERR, "cannot read the resource status of the previous run: %s; "
               "every resource starts up", strerror(-rc));
        free(buf);
        return;
    }
    buf[len] = '\0';
    json_error_t jerr;
    json_t *o = json_loads(buf, 0, &jerr);
    free(buf);
    if (!json_is_object(o)) {
        syslog(LOG_ERR, "the resource status of the previous run is unreadable (%s); "
               "every resource starts up", o ? "not an object" : jerr.text);
        json_decref(o);
        return;
    }
    const char *path;
    json_t *st;
    json_object_foreach(o, path, st) {
        int v = graph_find_path(m->graph, path);
        const char *s = json_string_value(st);
        if (v >= 0 && s)
            graph_set_status(m->graph, v, !strcmp(s, "down") ? GRAPH_DOWN : GRAPH_DRAINED);
        else
            syslog(LOG_WARNING, "resource %s from a previous run is not in the graph", path);
    }
    json_decref(o);
}

/* One line of resources/ctl: its vertex and the status it asks for. */
static int resource_ctl_parse(struct jobmgr *m, const char *line, int *vp,
                              enum graph_status *stp, struct errmsg *err)
{
    char verb[16], path[1024];
    if (sscanf(line, "%15s %1023s", verb, path) != 2)
        return errmsg_set(err, -EINVAL, "expected 'up|down|drain PATH', got '%s'", line);
    enum graph_status st = !strcmp(verb, "up") ? GRAPH_UP
                         : !strcmp(verb, "down") ? GRAPH_DOWN
                         : !strcmp(verb, "drain") ? GRAPH_DRAINED : (enum graph_status)-1;
    if ((int)st < 0)
        return errmsg_set(err, -EINVAL, "unknown verb '%s' (up, down or drain)", verb);
    int v = graph_find_path(m->graph, path);
    if (v < 0) {
        /* a bare vertex name (a node's host name) is enough when unique */
        for (int u = 0; u < graph_nvertices(m->graph); u++) {
            if (strcmp(graph_vertex(m->graph, u)->name, path))
                continue;
            if (v >= 0)
                return errmsg_set(err, -EINVAL, "'%s' names several vertices: "
                                  "give its path", path);
            v = u;
        }
    }
    if (v < 0)
        return errmsg_set(err, -ENOENT, "no resource '%s'", path);
    *vp = v;
    *stp = st;
    return 0;
}

struct status_change {
    int v;
    enum graph_status st, old;
};

/* Every line is checked before any takes effect, and the new status is
 * recorded before jobs are failed, so a write that fails changed nothing. */
int jobmgr_resource_ctl(struct jobmgr *m, uid_t uid, const char *text, size_t len,
                        struct errmsg *err)
{
    char buf[4096], *save = NULL;
    struct status_change ch[sizeof(buf) / 4];   /* a line is at least "up x" */
    int n = 0, rc;
    if (uid != 0 && uid != m->owner)
        return errmsg_set(err, -EPERM, "only the instance owner may change resources");
    if (m->cfg.read_only)
        return errmsg_set(err, -EROFS, "this instance has ended: it is read-only");
    if (len >= sizeof(buf))
        return errmsg_set(err, -E2BIG, "control text too long");
    memcpy(buf, text, len);
    buf[len] = '\0';
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if ((rc = resource_ctl_parse(m, line, &ch[n].v, &ch[n].st, err)) < 0)
            return rc;
        n++;
    }
    for (int i = 0; i < n; i++) {
        ch[i].old = graph_vertex(m->graph, ch[i].v)->status;
        graph_set_status(m->graph, ch[i].v, ch[i].st);
    }
    if ((rc = save_resource_status(m)) < 0) {
        for (int i = n - 1; i >= 0; i--)
            graph_set_status(m->graph, ch[i].v, ch[i].old);
        return errmsg_set(err, rc, "cannot record the resource status: %s", strerror(-rc));
    }
    for (int i = 0; i < n; i++) {
        char path[1024], what[1100];
        if (graph_path(m->graph, ch[i].v, path, sizeof(path)) < 0)
            snprintf(path, sizeof(path), "%s", graph_vertex(m->graph, ch[i].v)->name);
        syslog(LOG_INFO, "resource %s is now %s", path, ch[i].st == GRAPH_UP ? "up"
                         : ch[i].st == GRAPH_DOWN ? "down" : "drained");
        if (ch[i].st == GRAPH_DOWN) {
            snprintf(what, sizeof(what), "resource %s went down", path);
            fail_jobs_beneath(m, ch[i].v, what);
        }
    }
    if (n > 0)
        m->sched_needed = true;
    return 0;
}

/* ---- loop phases ---- */

/* Forget an inactive job: store, memory, and (through notify) the tree. */
static int purge_job(struct jobmgr *m, struct job *job)
{
    int rc = store_job_delete(m->st, job->id);
    if (rc < 0 && rc != -ENOENT) {
        syslog(LOG_ERR, "job %s: purge: %s", job->idstr, strerror(-rc));
        return rc;
    }
    notify(m, job, JOBMGR_GONE, 0);
    if (m->hooks && m->hooks->job_gone)
        m->hooks->job_gone(m->hooks_arg, job);
    /* its record must not be written back */
    for (struct job **pp = &m->dirty; job->dirty && *pp; pp = &(*pp)->dirty_next) {
        if (*pp == job) {
            *pp = job->dirty_next;
            break;
        }
    }
    table_remove(m, job);
    job_destroy(job);
    return 0;
}

/* Retention (off by default): purge inactive jobs beyond purge_keep and
 * those inactive for longer than purge_age, oldest submission first. A pass
 * runs at most once a second and starts from a cursor, so it costs what it
 * purges plus the active jobs it steps over. */
static void purge(struct jobmgr *m)
{
    double now = ev_now(m->loop);
    if ((!m->cfg.purge_age && !m->cfg.purge_keep) || now - m->last_purge < 1.0)
        return;
    m->last_purge = now;
    for (struct job *job = jobmgr_next(m, m->purge_from), *next; job; job = next) {
        next = jobmgr_next(m, job->seq + 1);
        if (job->state != JOB_INACTIVE)
            continue;
        bool over = m->cfg.purge_keep && m->count[JOB_INACTIVE] > m->cfg.purge_keep;
        bool old = m->cfg.purge_age && now - job->t_state > m->cfg.purge_age;
        if ((!over && !old) || now - job->t_state < 1.0)
            break;   /* later submissions are (mostly) younger */
        if (purge_job(m, job) < 0)
            break;
    }
    struct job *first = jobmgr_next(m, m->purge_from);
    m->purge_from = first ? first->seq : m->nseq + 1;
}

void jobmgr_prepare_commit(struct jobmgr *m, bool schedule)
{
    if (m->deps_needed)
        check_dependencies(m);
    if (schedule && m->sched_needed) {
        m->sched_needed = false;
        qmgr_schedule(m->q, ev_now(m->loop), on_alloc, m);
    }
    /* after dependencies were decided, so none sees its target vanish */
    purge(m);
    if (m->status_resave && save_resource_status(m) == 0)
        m->status_resave = false;
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
static void commit_done(struct jobmgr *m, int commit_rc)
{
    while (m->inflight) {
        struct job *job = m->inflight;
        m->inflight = job->inflight_next;
        job->inflight = false;
        job->inflight_next = NULL;
        if (commit_rc == 0) {
            job->nevents_stored = job->nevents;
            job->evlog_stored = job->evlog_len;
            free(job->ev_pending);
            job->ev_pending = NULL;
            job->ev_pending_len = 0;
            job->ev_rewrite = false;
            job->R_unstored = job->R_rewrite = false;
            for (int s = 1; s <= 2; s++) {
                if (job->out_stored[s] != job->out_len[s]) {
                    job->out_stored[s] = job->out_len[s];
                    if (job->committed)
                        notify(m, job, JOBMGR_OUTPUT, s);
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
                output_drop(m, job, s, lost, -commit_rc);
            }
        }
        mark_dirty(m, job);
    }
}

/* Queue a durable job; one the graph can no longer satisfy ends here. */
static void job_enqueue(struct jobmgr *m, struct job *job)
{
    struct errmsg err = { "" };
    if (qmgr_submit(m->q, job->id, job->js->rs, job->urgency, job->t_submit,
                    job->js->duration, &err) < 0) {
        post_exception(m, job, "alloc", m->owner, err.text);
        job_end_pending(m, job, RESULT_FAILED);
        return;
    }
    m->sched_needed = true;
}

void jobmgr_after_commit(struct jobmgr *m, int commit_rc)
{
    if (m->status_unsaved) {
        m->status_unsaved = false;
        if (commit_rc < 0) {
            /* an operator's drain must not vanish at the next restart:
             * written again at the next iteration, or at shutdown */
            syslog(LOG_ERR, "resource status not committed (%s): writing it again",
                   strerror(-commit_rc));
            m->status_resave = true;
        }
    }
    commit_done(m, commit_rc);
    for (size_t i = 0; i < m->new_jobs.len; i++) {
        struct job *job = jobmgr_lookup(m, m->new_jobs.ids[i]);
        if (!job)
            continue;
        if (commit_rc < 0) {
            /* never durable, so never accepted: the submitter gets the error */
            table_remove(m, job);
            job_destroy(job);
            continue;
        }
        job->committed = true;
        /* durable now: reads of `jobspec` come from the store */
        free(job->spec_text);
        job->spec_text = NULL;
        notify(m, job, JOBMGR_NEW, 0);
        /* one canceled before it was durable has nothing left to queue */
        if (job->state == JOB_SCHED)
            job_enqueue(m, job);
        else if (job->state == JOB_DEPEND)
            m->deps_needed = true;
    }
    m->new_jobs.len = 0;
    for (size_t i = 0; i < m->to_start.len; i++) {
        struct job *job = jobmgr_lookup(m, m->to_start.ids[i]);
        if (job && job->state == JOB_RUN)
            job_start(m, job);
    }
    m->to_start.len = 0;
}

bool jobmgr_needs_sync(struct jobmgr *m)
{
    return m->new_jobs.len > 0;
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

void jobmgr_set_hooks(struct jobmgr *m, const struct jobmgr_hooks *hooks, void *arg)
{
    m->hooks = hooks;
    m->hooks_arg = arg;
}

/* ---- create, recover, destroy ---- */

static int load_job(void *arg, uint64_t id, const void *data, size_t len)
{
    struct jobmgr *m = arg;
    struct job *job = job_record_decode(id, data, len);
    if (!job) {
        syslog(LOG_ERR, "job %llu: unreadable record, skipped", (unsigned long long)id);
        return 0;
    }
    if (table_insert(m, job) < 0) {
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
    rc = parse_submission(copy, len, &job->js, err);
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
    mark_dirty(m, job);
    if (job->state == JOB_INACTIVE) {
        free(job->R);
        job->R = NULL;
    }
    free(job->spec_text);
    job->spec_text = NULL;
}

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

static void recover_job(struct jobmgr *m, struct job *job)
{
    struct errmsg err = { "" };
    switch (job->state) {
    case JOB_INACTIVE:
        return;
    case JOB_RUN:
    case JOB_CLEANUP:
        /* its tasks died with the old broker (PDEATHSIG); anything they
         * started that is still around dies now, then say so */
        if (exec_kill_orphans(job->idstr) > 0)
            syslog(LOG_INFO, "job %s: killed processes left from before the restart",
                   job->idstr);
        post_exception(m, job, "lost", m->owner, "broker restarted while the job was running");
        job->status = 128 + SIGKILL;
        job->result = RESULT_LOST;
        post_event(m, job, "clean", NULL);
        set_state(m, job, JOB_INACTIVE);
        return;
    default:
        if (parse_stored(m, job, &err) < 0) {
            post_exception(m, job, "validate", m->owner, err.text);
            job_end_pending(m, job, RESULT_FAILED);
            return;
        }
        if (job->state == JOB_DEPEND) {
            int ndeps = depend_validate(job->js->json, dep_lookup, m, &err);
            if (ndeps < 0) {
                /* a target vanished: its dependency can never be decided */
                post_exception(m, job, "dependency", m->owner, err.text);
                job_end_pending(m, job, RESULT_CANCELED);
                return;
            }
            if (ndeps > 0) {
                idvec_push(&m->depend, job->id);
                m->deps_needed = true;
                return;
            }
        }
        if (job->state != JOB_SCHED) {
            /* the previous broker died mid-submission: finish the walk */
            job_dependencies_met(m, job);
        }
        job_enqueue(m, job);
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
    for (size_t i = m->nseq; i > 0; i--)
        if (m->byseq[i - 1] && m->byseq[i - 1]->id > last)
            last = m->byseq[i - 1]->id;
    int rc = fluid_gen_init(&m->gen, epoch, 0, last);
    if (rc < 0)
        return errmsg_set(err, rc, "cannot initialise job ids");
    return 0;
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
    m->cfg.read_only = cfg && cfg->read_only;
    m->cfg.max_tasks = cfg ? cfg->max_tasks : 0;
    if (m->cfg.max_tasks <= 0) {
        int64_t cores = graph_nvertices(graph) > 0 ? graph_vertex(graph, 0)->total[0] : 0;
        m->cfg.max_tasks = cores * JOBMGR_MAX_TASKS_PER_CORE;
        if (m->cfg.max_tasks < JOBMGR_MAX_TASKS_MIN)
            m->cfg.max_tasks = JOBMGR_MAX_TASKS_MIN;
    }
    m->purge_from = 1;
    int mp = match_policy_parse(cfg && cfg->match_policy ? cfg->match_policy : "low");
    int qp = qmgr_policy_parse(cfg && cfg->queue_policy ? cfg->queue_policy : "easy");
    if (mp < 0 || qp < 0) {
        errmsg_set(err, -EINVAL, "unknown %s policy '%s'", mp < 0 ? "match" : "queue",
                   mp < 0 ? cfg->match_policy : cfg->queue_policy);
        goto error;
    }
    if (!(m->q = qmgr_create(graph, (enum match_policy)mp, (enum qmgr_policy)qp))
        || !(m->exec = exec_create(loop, &exec_ops, m))) {
        errmsg_set(err, -ENOMEM, "cannot create the scheduler or executor");
        goto error;
    }
    if (cfg && cfg->queue_depth > 0)
        qmgr_set_depth(m->q, cfg->queue_depth);
    load_resource_status(m);
    int rc = store_job_foreach(st, load_job, m);
    if (rc < 0) {
        errmsg_set(err, rc, "cannot load jobs: %s", strerror(-rc));
        goto error;
    }
    if (init_ids(m, err) < 0)
        goto error;
    for (size_t i = 0; i < m->nseq; i++) {
        recover_job(m, m->byseq[i]);
        convert_legacy(m, m->byseq[i]);
    }
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
    for (size_t i = 0; i < m->nseq; i++) {
        struct job *job = m->byseq[i];
        if (job && job->state == JOB_RUN) {
            post_exception(m, job, "shutdown", m->owner, "the instance was shut down");
            job->pending_result = RESULT_CANCELED;
            job_finish(m, job, 128 + SIGKILL);
        }
    }
    exec_destroy(m->exec);
    /* write what the shutdown changed (but schedule nothing); the caller commits */
    m->sched_needed = false;
    if (m->q)
        jobmgr_prepare_commit(m, false);
    for (size_t i = 0; i < m->nseq; i++)
        job_destroy(m->byseq[i]);
    qmgr_destroy(m->q);
    free(m->hash);
    free(m->byseq);
    free(m->new_jobs.ids);
    free(m->to_start.ids);
    free(m->depend.ids);
    free(m);
}
