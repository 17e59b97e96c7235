/* jobmgr_exec.c - job-exec glue: placed jobs start through the executor
 * (exec/executor.h); their output is stored as it comes (or dropped, and
 * said so, when the disk is full), their exit finishes them, their
 * duration is enforced; the scheduler's allocations give them R. */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "common/jsonenv.h"
#include "common/strbuf.h"
#include "common/vec.h"
#include "common/hostlist.h"
#include "fsd/acct.h"
#include "fsd/jobmgr_private.h"
#include "fsd/placement.h"


static const char *stream_name(int stream)
{
    return stream == 1 ? "stdout" : "stderr";
}

/* Output that cannot be stored (the disk is full, or its commit failed) is
 * dropped, never shown: the eventlog says so at once. */
void jm_output_drop(struct jobmgr *m, struct job *job, int stream, uint64_t len, int err)
{
    if (!job->out_dropping[stream]) {
        char note[160];
        job->out_dropping[stream] = true;
        snprintf(note, sizeof(note), "%s: output dropped from byte %llu: %s",
                 stream_name(stream), (unsigned long long)job->out_len[stream], strerror(err));
        jm_post_event(m, job, "log", json_pack("{s:s}", "note", note));
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
    jm_post_event(m, job, "log", json_pack("{s:s}", "note", note + 1));
}

static void on_output(void *arg, uint64_t id, int stream, const char *data, size_t len)
{
    struct jobmgr *m = arg;
    struct job *job = jobmgr_lookup(m, id);
    if (!job || stream < 1 || stream > 2 || job->out_capped[stream])
        return;
    /* a full disk keeps what is left for the jobs' states and events */
    if (store_low_space(m->st)) {
        jm_output_drop(m, job, stream, len, ENOSPC);
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
        jm_post_event(m, job, "log", json_pack("{s:s}", "note", note + 1));
    }
    job->t_output[stream] = ev_now(m->loop);
    jm_mark_dirty(m, job);   /* readers see it once committed (commit_done) */
}

void jm_job_tasks_done(struct jobmgr *m, struct job *job, int status)
{
    for (int s = 1; s <= 2; s++)
        if (job->out_dropping[s])
            output_resume(m, job, s);
    jm_job_finish(m, job, status);
}

static void on_finished(void *arg, uint64_t id, int status)
{
    struct jobmgr *m = arg;
    struct job *job = jobmgr_lookup(m, id);
    if (!job || job->state != JOB_RUN)
        return;
    /* readers see output once it is committed, but a job's end at once:
     * with output from this iteration still to commit (a remote node's
     * last lines and its exit come together), the end waits for that
     * commit, so whoever sees the job end can read all it wrote */
    if (job->out_len[1] != job->out_stored[1] || job->out_len[2] != job->out_stored[2]) {
        if (!job->finish_deferred && jm_idvec_push(&m->to_finish, id) == 0) {
            job->finish_deferred = true;
            job->finish_status = status;
            return;
        }
        if (job->finish_deferred)
            return;
    }
    jm_job_tasks_done(m, job, status);
}

/* A job across brokers: each node's start and finish in its eventlog. */
static void on_node(void *arg, uint64_t id, int rank, bool started, int status)
{
    struct jobmgr *m = arg;
    struct job *job = jobmgr_lookup(m, id);
    if (!job || job->state != JOB_RUN)
        return;
    if (started && !job->start_posted) {
        /* this node's tasks started inside executor_start(): after "start" */
        job->node_start_early = rank;
        return;
    }
    jm_post_event(m, job, started ? "node-start" : "node-finish",
                  started ? json_pack("{s:i}", "rank", rank)
                          : json_pack("{s:i s:i}", "rank", rank, "status", status));
}

static void on_exception(void *arg, uint64_t id, const char *type, const char *note)
{
    struct jobmgr *m = arg;
    struct job *job = jobmgr_lookup(m, id);
    if (!job || job->state != JOB_RUN || job->canceling)
        return;
    jm_job_terminate(m, job, type, m->owner, note, RESULT_FAILED);
}

const struct exec_ops jm_exec_ops = {
    .exception = on_exception,
    .node = on_node,
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
    jm_job_terminate(m, job, "timeout", m->owner, "resource allocation expired", RESULT_TIMEOUT);
}

static void on_warn(struct ev_loop *loop, uint64_t timer_id, void *arg)
{
    struct job *job = arg;
    struct jobmgr *m = job->owner;
    job->warn_timer = 0;
    if (job->state != JOB_RUN || job->canceling)
        return;
    executor_signal(m->exec, job->id, job->js->signal_num);
}

/* The first host of the job's R nodelist ("node[3-4]" gives node3). */
static void first_host(const struct job *job, struct strbuf *sb)
{
    json_t *R = job->R ? json_loads(job->R, 0, NULL) : NULL;
    json_t *nl = json_object_get(json_object_get(R, "execution"), "nodelist");
    const char *text = json_string_value(json_array_get(nl, 0));
    struct hostlist *hl = text ? hostlist_create() : NULL;
    if (hl && hostlist_append(hl, text) == 0 && hostlist_nth(hl, 0))
        strbuf_addstr(sb, hostlist_nth(hl, 0));
    else
        strbuf_addstr(sb, "localhost");
    hostlist_destroy(hl);
    json_decref(R);
}

/* An output template of the job's (--output, #SBATCH -o) made a file name:
 * {{id}} (F58), {{name}} (the job's name, else its command's base name),
 * {{user}} (its owner's user name, else the uid), {{node}} (its first
 * node's host name, where a batch script runs: Slurm's %N). NULL if none,
 * or on failure of memory. */
static char *output_path(const struct job *job, const char *tmpl)
{
    struct strbuf sb = STRBUF_INIT;
    char user[64];
    struct passwd pw, *res = NULL;
    char pwbuf[4096];
    if (!tmpl)
        return NULL;
    /* the user database is asked only when the name is used: it may be a
     * directory service, and this runs on the loop */
    if (strstr(tmpl, "{{user}}") && getpwuid_r(job->uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0
        && res)
        snprintf(user, sizeof(user), "%s", pw.pw_name);
    else
        snprintf(user, sizeof(user), "%u", (unsigned)job->uid);
    const char *name = jobspec_job_name(job->js);
    if (!name)
        name = "-";
    for (const char *p = tmpl; *p;) {
        if (!strncmp(p, "{{id}}", 6)) {
            strbuf_addstr(&sb, job->idstr);
            p += 6;
        } else if (!strncmp(p, "{{name}}", 8)) {
            strbuf_addstr(&sb, name);
            p += 8;
        } else if (!strncmp(p, "{{user}}", 8)) {
            strbuf_addstr(&sb, user);
            p += 8;
        } else if (!strncmp(p, "{{node}}", 8)) {
            first_host(job, &sb);
            p += 8;
        } else {
            strbuf_addf(&sb, "%c", *p++);
        }
    }
    return strbuf_detach(&sb, NULL);
}

/* The environment of a job that gave it back to the store, read from the
 * stored text: by the scanner of jsonenv.h when it is JSON (jansson's
 * whole parse of it was 12% of the broker's time at 1,000 jobs/s, and the
 * jobs of one --cc differ in FLUX_JOB_CC, so no cache held), else (YAML,
 * or what the scanner refuses) by the jobspec parser. 0, or -EIO. */
static int job_environment(struct jobmgr *m, struct job *job, char ***envv, json_t **env)
{
    const char *text;
    size_t len;
    if (jobmgr_job_blob(m, job, 'S', &text, &len) < 0)
        return -EIO;
    if (jsonenv_decode(text, len, envv) >= 0)
        return 0;
    *env = jobspec_load_environment(text, len);
    return *env ? 0 : -EIO;
}

void jm_job_start(struct jobmgr *m, struct job *job)
{
    struct placement pl;
    struct errmsg err = { "" };
    /* R as the allocation made it, else (a job recovered, or released
     * while it started) as stored */
    json_t *R = job->R_json ? job->R_json : job->R ? json_loads(job->R, 0, NULL) : NULL;
    job->R_json = NULL;
    int rc = placement_build(m->g, job->js, R, &pl);
    json_decref(R);
    int ntasks = rc == 0 ? pl.ntasks : 0;
    json_t *env = NULL;
    char **envv = NULL;
    if (ntasks > 0 && !job->env.envv && (job->env_shed || job->js->environment_shed)
        && job_environment(m, job, &envv, &env) < 0) {
        rc = errmsg_set(&err, -EIO, "cannot read the job's environment back");
        ntasks = 0;
    }

    if (ntasks > 0) {
        /* nothing the job starts outlives it: say once where that cannot be */
        int crc = m->cfg.contain ? executor_contain(m->exec, job->id, job->idstr) : 0;
        if (crc < 0 && !m->contain_warned) {
            m->contain_warned = true;
            m->contain_err = crc;
            syslog(LOG_WARNING, "jobs are contained by process groups only (no cgroup: %s): "
                   "a task that detaches (setsid) may outlive its job", strerror(-crc));
        }
        job->start_posted = false;
        job->node_start_early = -1;
        uint64_t *node_memory = NULL;
        if (job->mem_n > 0 && (node_memory = calloc((size_t)pl.nnodes, sizeof(uint64_t)))) {
            for (int nd = 0; nd < pl.nnodes; nd++)
                for (int i = 0; i < job->mem_n; i++)
                    if ((int)job->mem_by_rank[2 * i] == pl.node_ranks[nd])
                        node_memory[nd] = job->mem_by_rank[2 * i + 1];
        }
        /* the environment as strings (JSON jobspecs: the job's own, or read
         * back), else as the jobspec's object (YAML) */
        char **strs = envv ? envv : job->env.envv;
        json_t *obj = env ? env : strs ? NULL : job->js->environment;
        struct exec_job ej = {
            .id = job->id,
            .idstr = job->idstr,
            .argv = job->js->argv,
            .cwd = job->cwd,
            .environment = obj,
            .env = strs,
            .nnodes = pl.nnodes,
            .ntasks = ntasks,
            .tasks = pl.tasks,
            .node_ranks = pl.node_ranks,
            .mount = m->cfg.mount,
            .label = job->js->label,
            .uid = job->uid,
            .gid = job->gid,
            .node_memory = node_memory,
        };
        char *out = output_path(job, job->js->out_path);
        char *errp = output_path(job, job->js->err_path);
        char *inp = output_path(job, job->js->in_path);
        ej.out_path = out;
        ej.err_path = errp;
        ej.in_path = inp;
        rc = executor_start(m->exec, &ej, &err);
        free(out);
        free(errp);
        free(inp);
        free(node_memory);
    }
    json_decref(env);   /* the executor copied it */
    free(envv);
    jm_env_release(m, job);
    placement_release(&pl);
    if (rc < 0) {
        jm_post_exception(m, job, "exec", m->owner, err.text[0] ? err.text : strerror(-rc));
        jm_job_finish(m, job, 1);
        return;
    }
    jm_post_event_deferred(m, job, "start", NULL);
    job->start_posted = true;
    if (job->node_start_early >= 0)
        jm_post_event(m, job, "node-start", json_pack("{s:i}", "rank", job->node_start_early));
    if (job->js->duration > 0)
        job->timer = ev_timer_add(m->loop, job->js->duration, on_timeout, job);
    /* --signal: a warning before the limit, or at once if it is nearer */
    if (job->js->duration > 0 && job->js->signal_num > 0) {
        double at = job->js->duration - job->js->signal_timeleft;
        job->warn_timer = ev_timer_add(m->loop, at > 0 ? at : 0, on_warn, job);
    }
}

/* A leader with followers: what job's allocation holds, for their graphs
 * (jm_mirror_holds), again after a release. */
void jm_share_holds(struct jobmgr *m, struct job *job, const struct match_alloc *a)
{
    struct strbuf sb = STRBUF_INIT;
    char path[1024];
    for (int i = 0; i < a->nitems; i++) {
        const struct graph_vertex *x = graph_vertex(m->graph, a->items[i].v);
        for (int h = 0; h < x->nholds; h++) {
            const struct graph_hold *hd = &x->holds[h];
            if (hd->job != job->id || graph_path(m->graph, a->items[i].v, path,
                                                  sizeof(path)) < 0)
                continue;
            strbuf_addf(&sb, "%s %d %lld %lld %lld %d %d\n", path, hd->kind,
                        (long long)hd->amount, (long long)hd->start, (long long)hd->end,
                        hd->agg[0], hd->agg[1]);
        }
    }
    if (sb.len && store_blob_put(m->st, job->id, 'H', sb.buf, sb.len) < 0)
        syslog(LOG_ERR, "job %s: storing its holds: %s", job->idstr, store_errstr(m->st));
    strbuf_release(&sb);
}

/* Bytes a memory vertex's units are. */
static uint64_t unit_bytes(const char *unit)
{
    if (!unit || !*unit || !strcasecmp(unit, "B"))
        return 1;
    switch (unit[0]) {
    case 'K': case 'k': return 1ull << 10;
    case 'M': case 'm': return 1ull << 20;
    case 'G': case 'g': return 1ull << 30;   /* Fluxion's "GB", GiB in hwloc's graph */
    case 'T': case 't': return 1ull << 40;
    default: return 1;
    }
}

static void mem_add(uint64_t *pairs, int *n, int rank, uint64_t bytes)
{
    for (int i = 0; i < *n; i++)
        if ((int)pairs[2 * i] == rank) {
            pairs[2 * i + 1] += bytes;
            return;
        }
    pairs[2 * *n] = (uint64_t)rank;
    pairs[2 * *n + 1] = bytes;
    (*n)++;
}

/* The execution target a vertex is on: its own rank, or its nearest
 * ancestor's (pools and cores carry none of their own). */
static int vertex_rank(const struct graph *g, int v)
{
    while (v >= 0 && graph_vertex(g, v)->rank < 0)
        v = graph_vertex(g, v)->parent;
    return v >= 0 ? graph_vertex(g, v)->rank : -1;
}

/* The memory job's allocation holds, by rank (a contained job's limit):
 * the units of each memory pool it holds, and the memory beneath a vertex
 * it holds whole (an exclusive node) that it did not list. */
static void alloc_memory(struct jobmgr *m, struct job *job, const struct match_alloc *a)
{
    int memtype = graph_lookup_type(m->graph, "memory");
    free(job->mem_by_rank);
    job->mem_by_rank = NULL;
    job->mem_n = 0;
    if (memtype < 0 || a->nitems == 0)
        return;
    uint64_t *pairs = calloc((size_t)a->nitems * 2, sizeof(uint64_t));
    int n = 0;
    if (!pairs)
        return;
    for (int i = 0; i < a->nitems; i++) {
        const struct graph_vertex *x = graph_vertex(m->graph, a->items[i].v);
        if (x->type == memtype)
            mem_add(pairs, &n, vertex_rank(m->graph, a->items[i].v),
                    (uint64_t)a->items[i].amount * unit_bytes(x->unit));
    }
    for (int i = 0; i < a->nitems; i++) {
        const struct graph_vertex *x = graph_vertex(m->graph, a->items[i].v);
        if (!a->items[i].whole || x->type == memtype)
            continue;
        /* its memory children not listed as items of their own */
        for (int c = x->first_child; c >= 0; c = graph_vertex(m->graph, c)->next_sibling) {
            const struct graph_vertex *y = graph_vertex(m->graph, c);
            bool listed = false;
            for (int k = 0; k < a->nitems && !listed; k++)
                listed = a->items[k].v == c;
            if (y->type == memtype && !listed)
                mem_add(pairs, &n, vertex_rank(m->graph, c), (uint64_t)y->size * unit_bytes(y->unit));
        }
    }
    if (n == 0) {
        free(pairs);
        return;
    }
    job->mem_by_rank = pairs;
    job->mem_n = n;
}

void jm_job_set_R(struct jobmgr *m, struct job *job, const struct match_alloc *a,
                  double starttime, double expiration, char **nodes)
{
    json_t *R = match_to_R(qmgr_matcher(m->q), a);
    if (R) {
        /* R carries wall-clock times, the graph whole seconds */
        json_t *ex = json_object_get(R, "execution");
        json_object_set_new(ex, "starttime", json_real(starttime));
        json_object_set_new(ex, "expiration", json_real(expiration));
    }
    if (nodes) {
        struct strbuf sb = STRBUF_INIT;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(json_object_get(R, "execution"), "nodelist"), i, e)
            strbuf_addf(&sb, "%s%s", i ? "," : "", json_string_value(e));
        *nodes = strbuf_detach(&sb, NULL);
    }
    char *text = R ? json_dumps(R, JSON_COMPACT) : NULL;
    acct_count_R(R, &job->nnodes, &job->ncores, &job->ngpus);
    job->counted = true;
    json_decref(job->R_json);
    job->R_json = nodes ? R : NULL;   /* an allocation's, for its start (placement) */
    if (!nodes)
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
        jm_mark_dirty(m, job);   /* R_len */
    }
}

void jm_on_alloc(void *arg, uint64_t id, const struct match_alloc *a)
{
    struct jobmgr *m = arg;
    struct job *job = jobmgr_lookup(m, id);
    if (!job)
        return;
    double now = ev_now(m->loop);
    /* the nodes in R's order: FLUX_TASK_NODEID indexes them, for good */
    free(job->start_nodes);
    jm_job_set_R(m, job, a, now, job->js->duration > 0 ? now + job->js->duration : 0.,
                 &job->start_nodes);
    if (m->cfg.share)
        jm_share_holds(m, job, a);
    if (m->cfg.contain)
        alloc_memory(m, job, a);
    jm_job_waits(m, job, false);   /* it waits no more */
    jm_post_event(m, job, "alloc", NULL);
    jm_apply(m, job, JOBEV_ALLOC);
}

/* The 'H' blob: "PATH KIND AMOUNT START END AGG0 AGG1" per vertex held,
 * paths because the followers' graphs number vertices their own way. */
#define HOLDS_MAX (16u << 20)

void jm_mirror_holds(struct jobmgr *m, struct job *job, bool gone)
{
    bool want = !gone && (job->state == JOB_RUN || job->state == JOB_CLEANUP);
    if (want == (job->mirror_v != NULL))
        return;
    if (!want) {
        for (int i = 0; i < job->mirror_n; i++)
            graph_hold_remove_job(m->graph, job->mirror_v[i], job->id);
        free(job->mirror_v);
        job->mirror_v = NULL;
        job->mirror_n = 0;
        return;
    }
    const char *data;
    size_t len;
    if (store_blob_get(m->st, job->id, 'H', (const void **)&data, &len) < 0 || len > HOLDS_MAX)
        return;   /* none (yet): the leader had not shared it */
    char *text = strndup(data, len), *save = NULL;
    int n = 0;
    size_t alloc = 0;
    for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char path[1024];
        int kind, agg0, agg1;
        long long amount, start, end;
        struct graph_hold h = { .job = job->id };
        if (sscanf(line, "%1023s %d %lld %lld %lld %d %d", path, &kind, &amount, &start, &end,
                   &agg0, &agg1) != 7 || kind < GRAPH_HOLD_S || kind > GRAPH_HOLD_P)
            continue;
        int v = graph_find_path(m->graph, path);
        if (v < 0 || ((size_t)n == alloc && vec_grow(&job->mirror_v, &alloc, (size_t)n + 1,
                                                     sizeof(int)) < 0))
            continue;
        h.kind = (uint8_t)kind;
        h.amount = amount;
        h.start = start;
        h.end = end;
        h.agg[0] = agg0;
        h.agg[1] = agg1;
        if (graph_hold_add(m->graph, v, &h) == 0)
            job->mirror_v[n++] = v;
    }
    free(text);
    job->mirror_n = n;
    if (!job->mirror_v)     /* held nothing here: remember that it was done */
        job->mirror_v = calloc(1, sizeof(int));
}

