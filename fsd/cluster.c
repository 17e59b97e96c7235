/* cluster.c - a broker's part in a multi-node instance (cluster.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fsd/link.h"
#include "common/strbuf.h"
#include "fsd/cluster.h"
#include "fsd/ingest.h"
#include "fsd/cluster_msg.h"
#include "fsd/overlay.h"

#define CX_BUCKETS 1024
/* Jobs whose end a follower remembers, to tell the leader again. */
#define CLUSTER_ENDED 1024
/* Largest output chunk per message; bigger chunks are split. */
#define CX_OUTPUT_CHUNK (256u << 10)
/* Children one broker fans out to: the bootstrap's (fanout at most 1024)
 * and the ones it adopted. */
#define CLUSTER_KIDS_MAX 4096

/* A job of the leader's, by the nodes it runs on. */
struct cxjob {
    uint64_t id;
    int *ranks;                 /* the brokers its tasks run under */
    bool *done;                 /* ... which have reported */
    bool *heard;                /* ... which confirmed the start (or said anything) */
    bool *started;              /* ... whose node-start was told (once: its launch may
                                 * go twice, send_sync) */
    double *sent;               /* ... when its launch went (again): cx_check's clock */
    int *node_rank;             /* by node id: the broker running its tasks, -1 none */
    int nnodes;
    json_t *launch;             /* ... it (less parts), and its parts by rank: kept until
                                 * every node confirmed, to send again to a node that
                                 * rejoins without it (lost with a broker on the way) */
    json_t *parts;
    int nranks;
    int pending;
    int status;                 /* largest so far */
    bool multi;                 /* spans brokers: node events */
    bool terminating;           /* told to end (a node (re)joining then ends it too) */
    struct cxjob *next;
};

/* The leader's executor: this node's launcher plus the other brokers. */
struct cx {
    struct cluster *c;
    struct ev_loop *loop;
    uint64_t check_timer;       /* cx_check */
    struct executor *local;
    const struct exec_ops *cb;
    void *cb_arg;
    struct cxjob *jobs[CX_BUCKETS];
};

/* A job a follower runs for the leader. */
struct fjob {
    uint64_t id;
    int leader;
    struct fjob *next;
};

/* A follower's submission the leader has not answered yet. */
struct fwd {
    uint64_t token;
    uint64_t seq;               /* the leader's commit that answered it */
    uid_t uid;
    char *subject;
    double t;                   /* sent, or held since */
    json_t *held;               /* not sent yet: the message (cluster.h) */
    size_t bytes;               /* its text's */
    struct fwd *next;
};

/* A leader's answer waiting for the commit that makes its jobs durable,
 * then for that commit's sync (its ticket; 0: none to wait for). */
struct reply {
    int rank;
    json_t *msg;
    bool committed;
    uint64_t ticket;
    struct reply *next;
};

struct cluster {
    struct ev_loop *loop;
    struct cluster_config cfg;
    struct overlay *ov;
    struct replica *repl;       /* every broker: the leader's jobs, copied */
    uint64_t fanned;            /* messages sent down for jobs (fan_out) */
    struct jobmgr *m;           /* leader */
    struct cx *cx;              /* leader */
    json_t **heard;             /* leader, before the job manager: joins by rank */
    struct executor *local;     /* follower: runs the leader's tasks here */
    struct fjob *fjobs;         /* follower */
    size_t nfjobs;
    struct { uint64_t id; int status; } ended[CLUSTER_ENDED];   /* follower: recent ends */
    int ended_next;
    struct fwd *fwds;           /* follower: submissions sent to the leader */
    struct fwd *held, **held_tail;   /* follower: not sent yet, oldest first */
    size_t held_bytes;
    uint64_t hold_timer;
    bool was_joined;            /* follower: joined its parent once */
    cluster_sink_f sink;
    void *sink_arg;
    uint64_t fwd_timer;
    struct reply *replies, **replies_tail;   /* leader: answers, oldest first */
    uint64_t synced;            /* leader: the highest sync ticket done */
    cluster_recv_f nest_recv;   /* nest.* messages (nested instances across nodes) */
    void *nest_arg;
};

/* A message's bytes (link_payload) in a string of their own, or -1. */
static ssize_t msg_bytes(json_t *msg, const char *b64key, size_t max, char **out)
{
    struct strbuf sb = STRBUF_INIT;
    ssize_t n = link_payload(msg, b64key, max, &sb);
    if (n < 0)
        strbuf_release(&sb);
    *out = n < 0 ? NULL : strbuf_detach(&sb, NULL);
    return n;
}

/* ---- the leader's executor ---- */

static struct cxjob **cx_slot(struct cx *x, uint64_t id)
{
    struct cxjob **pp = &x->jobs[id % CX_BUCKETS];
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    return pp;
}

static void cxjob_free(struct cxjob *j)
{
    if (j) {
        free(j->ranks);
        free(j->done);
        free(j->heard);
        free(j->started);
        free(j->sent);
        free(j->node_rank);
        json_decref(j->launch);
        json_decref(j->parts);
        free(j);
    }
}

/* Once every other node has confirmed its start (or ended), the launch
 * kept for sending again (send_sync) is not needed. */
static void launch_check(struct cxjob *j, int me)
{
    for (int i = 0; j->launch && i < j->nranks; i++)
        if (j->ranks[i] != me && !j->heard[i] && !j->done[i])
            return;
    json_decref(j->launch);
    json_decref(j->parts);
    j->launch = j->parts = NULL;
}

/* Node `rank` has finished job id's part (status), once. */
static void part_done(struct cx *x, uint64_t id, int rank, int status)
{
    struct cxjob **pp = cx_slot(x, id), *j = *pp;
    if (!j)
        return;
    for (int i = 0; i < j->nranks; i++) {
        if (j->ranks[i] != rank || j->done[i])
            continue;
        j->done[i] = true;
        if (status > j->status)
            j->status = status;
        if (j->multi && x->cb->node)
            x->cb->node(x->cb_arg, id, rank, false, status);
        if (--j->pending == 0) {
            *pp = j->next;
            int st = j->status;
            cxjob_free(j);
            x->cb->finished(x->cb_arg, id, st);
        }
        return;
    }
}

static void cx_local_output(void *arg, uint64_t id, int stream, const char *data, size_t len)
{
    struct cx *x = arg;
    x->cb->output(x->cb_arg, id, stream, data, len);
}

static void cx_local_finished(void *arg, uint64_t id, int status)
{
    struct cx *x = arg;
    part_done(x, id, overlay_rank(x->c->ov), status);
}

static const struct exec_ops cx_local_ops = {
    .output = cx_local_output,
    .finished = cx_local_finished,
};

static json_t *task_json(const struct exec_task *t)
{
    json_t *cpus = json_array();
    for (int i = 0; cpus && i < t->ncpus; i++)
        json_array_append_new(cpus, json_integer(t->cpus[i]));
    return cpus ? json_pack("[i i i o]", t->rank, t->nodeid, t->localid, cpus) : NULL;
}

/* ---- down the tree: one message per subtree ---- */

/* Send msg (borrowed) on to the ranks that parts names ({"rank": value}),
 * one copy per child of ours whose subtree holds some of them, with
 * "parts" cut to that subtree: the leader sends at most one message per
 * child for a job on thousands of nodes, and each broker splits it for its
 * own children. failed(arg, rank, rc), if not NULL, is told each rank a
 * copy could not be sent towards. Ranks not below us are dropped. */
static void fan_out(struct cluster *c, json_t *msg, json_t *parts,
                    void (*failed)(void *arg, int rank, int rc), void *arg)
{
    int me = c->cfg.rank, kids[CLUSTER_KIDS_MAX];
    /* our children, adopted ones too (a lost child's: overlay.h) */
    int nkids = overlay_kids(c->ov, kids, CLUSTER_KIDS_MAX);
    for (int k = 0; k < nkids; k++) {
        int kid = kids[k];
        json_t *sub = json_object(), *v;
        const char *key;
        json_object_foreach(parts, key, v) {
            char *end;
            long r = strtol(key, &end, 10);
            if (*end || r < 0 || r >= c->cfg.bs->size || r == me)
                continue;
            if (overlay_next_hop(c->ov, (int)r) == kid)
                json_object_set(sub, key, v);
        }
        if (!sub || json_object_size(sub) == 0) {
            json_decref(sub);
            continue;
        }
        json_t *copy = json_copy(msg);
        int rc = copy ? json_object_set(copy, "parts", sub) : -1;
        rc = rc == 0 ? overlay_send(c->ov, kid, copy) : -ENOMEM;
        if (rc == 0)
            c->fanned++;
        json_decref(copy);
        if (rc < 0 && failed)
            json_object_foreach(sub, key, v)
                failed(arg, atoi(key), rc);
        json_decref(sub);
    }
}

/* A message fanned out to us: pass the rest on, and return our part
 * (borrowed from msg), or NULL if there is none for us. A message without
 * "parts" is for us alone. */
static json_t *fan_in(struct cluster *c, json_t *msg)
{
    json_t *parts = json_object_get(msg, "parts");
    if (!json_is_object(parts))
        return msg;
    char key[16];
    snprintf(key, sizeof(key), "%d", c->cfg.rank);
    fan_out(c, msg, parts, NULL, NULL);
    return json_object_get(parts, key);
}

/* exec.start of job, less its tasks (the parts: each node's). */
static json_t *start_msg(const struct exec_job *job)
{
    json_t *argv = json_array();
    for (int i = 0; argv && job->argv[i]; i++)
        json_array_append_new(argv, json_string(job->argv[i]));
    json_t *m = json_pack("{s:s s:I s:s s:o s:i s:i s:i s:i}", "type", "exec.start", "id",
                          (json_int_t)job->id, "idstr", job->idstr, "argv",
                          argv ? argv : json_array(),
                          "nnodes", job->nnodes, "ntasks", job->ntasks, "uid", (int)job->uid,
                          "gid", (int)job->gid);
    if (m && job->cwd && cluster_path_set(m, "cwd", job->cwd) < 0) {
        json_decref(m);
        return NULL;
    }
    if (m && job->out_path)
        json_object_set_new(m, "out", json_string(job->out_path));
    if (m && job->err_path)
        json_object_set_new(m, "err", json_string(job->err_path));
    if (m && job->in_path)
        json_object_set_new(m, "in", json_string(job->in_path));
    if (m && job->label)
        json_object_set_new(m, "label", json_true());
    if (m && job->environment)
        json_object_set(m, "env", job->environment);
    json_t *env = m && !job->environment && job->env ? json_object() : NULL;
    for (char *const *p = env ? job->env : NULL; p && *p; p++) {
        const char *eq = strchr(*p, '=');
        if (eq && eq > *p)
            json_object_setn_new(env, *p, (size_t)(eq - *p), json_string(eq + 1));
    }
    if (env)
        json_object_set_new(m, "env", env);
    json_t *mem = m && job->node_memory ? json_array() : NULL;
    for (int n = 0; mem && n < job->nnodes; n++)
        json_array_append_new(mem, json_integer((json_int_t)job->node_memory[n]));
    if (mem)
        json_object_set_new(m, "memory", mem);
    return m;
}

/* The tasks of job id on rank did not start (why): the job hears it as
 * that node's part failing. */
static void start_failed(struct cx *x, uint64_t id, int rank, const char *why)
{
    char note[320];
    int n = snprintf(note, sizeof(note), "fluxfs: tasks on rank %d did not start: %s\n", rank,
                     why);
    x->cb->output(x->cb_arg, id, 2, note, (size_t)n);
    part_done(x, id, rank, 1);
}

struct start_fail {
    struct cx *x;
    uint64_t id;
};

static void on_start_unsent(void *arg, int rank, int rc)
{
    struct start_fail *sf = arg;
    char why[128];
    snprintf(why, sizeof(why), "cannot reach the broker of rank %d: %s", rank, strerror(-rc));
    start_failed(sf->x, sf->id, rank, why);
}

static int cx_start(void *impl, const struct exec_job *job, struct errmsg *err)
{
    struct cx *x = impl;
    int me = overlay_rank(x->c->ov);
    bool remote = false;
    /* the nodes that run tasks: a node of R without any (a batch script's
     * allocation, one task on its first node) has nothing to start here */
    bool *runs = calloc((size_t)(job->nnodes > 0 ? job->nnodes : 1), sizeof(bool));
    if (!runs)
        return errmsg_set(err, -ENOMEM, "out of memory");
    for (int t = 0; t < job->ntasks; t++)
        if (job->tasks[t].nodeid >= 0 && job->tasks[t].nodeid < job->nnodes)
            runs[job->tasks[t].nodeid] = true;
    for (int n = 0; job->node_ranks && n < job->nnodes; n++)
        remote |= runs[n] && job->node_ranks[n] != me;
    struct cxjob *j = calloc(1, sizeof(*j));
    if (!j) {
        free(runs);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    j->id = job->id;
    j->ranks = malloc((size_t)(job->nnodes > 0 ? job->nnodes : 1) * sizeof(int));
    j->done = calloc((size_t)(job->nnodes > 0 ? job->nnodes : 1), sizeof(bool));
    j->heard = calloc((size_t)(job->nnodes > 0 ? job->nnodes : 1), sizeof(bool));
    j->started = calloc((size_t)(job->nnodes > 0 ? job->nnodes : 1), sizeof(bool));
    j->sent = calloc((size_t)(job->nnodes > 0 ? job->nnodes : 1), sizeof(double));
    j->node_rank = malloc((size_t)(job->nnodes > 0 ? job->nnodes : 1) * sizeof(int));
    if (!j->ranks || !j->done || !j->heard || !j->started || !j->sent || !j->node_rank) {
        cxjob_free(j);
        free(runs);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    if (!remote) {
        j->ranks[j->nranks++] = me;
    } else {
        /* every node's broker must be there before anything starts */
        for (int n = 0; n < job->nnodes; n++) {
            int r = job->node_ranks[n];
            if (!runs[n])
                continue;
            if (r != me && overlay_peer_state(x->c->ov, r) != OVERLAY_UP) {
                cxjob_free(j);
                free(runs);
                return errmsg_set(err, -EHOSTDOWN, "the broker of rank %d is not up", r);
            }
            bool seen = false;
            for (int i = 0; i < j->nranks; i++)
                seen |= j->ranks[i] == r;
            if (!seen)
                j->ranks[j->nranks++] = r;
        }
    }
    j->nnodes = job->nnodes;
    for (int i = 0; i < j->nranks; i++)
        j->sent[i] = ev_now(x->c->loop);
    for (int n = 0; n < job->nnodes; n++)
        j->node_rank[n] = !runs[n] ? -1 : job->node_ranks ? job->node_ranks[n] : me;
    free(runs);
    j->pending = j->nranks;
    j->multi = remote;
    j->next = NULL;
    *cx_slot(x, job->id) = j;
    /* every other node's tasks, in one message down each subtree */
    json_t *parts = remote ? json_object() : NULL;
    for (int t = 0; parts && t < job->ntasks; t++) {
        int r = job->node_ranks[job->tasks[t].nodeid];
        if (r == me)
            continue;
        char key[16];
        snprintf(key, sizeof(key), "%d", r);
        json_t *list = json_object_get(parts, key);
        if (!list)
            json_object_set_new(parts, key, (list = json_array()));
        json_array_append_new(list, task_json(&job->tasks[t]));
    }
    /* our own node's share first: if it cannot start, the rest is not sent */
    bool here = false;
    for (int i = 0; i < j->nranks; i++)
        here |= j->ranks[i] == me;
    if (here) {
        struct exec_job mine = *job;
        struct exec_task *tasks = NULL;
        if (remote) {
            /* this node's tasks only; ranks and sizes stay the job's */
            tasks = malloc((size_t)job->ntasks * sizeof(*tasks));
            int k = 0;
            for (int t = 0; tasks && t < job->ntasks; t++)
                if (job->node_ranks[job->tasks[t].nodeid] == me)
                    tasks[k++] = job->tasks[t];
            mine.tasks = tasks;
            mine.ntasks = k;
            mine.size = job->ntasks;
        }
        int rc = remote && !tasks ? -ENOMEM : executor_start(x->local, &mine, err);
        free(tasks);
        if (rc < 0) {
            /* nothing started, nothing sent: no callback will come, and
             * the job fails at start as a whole */
            *cx_slot(x, job->id) = NULL;
            cxjob_free(j);
            json_decref(parts);
            return rc;
        }
        if (rc == 0 && remote && x->cb->node)
            x->cb->node(x->cb_arg, job->id, me, true, 0);
    }
    if (remote) {
        /* a failure below may end the job (part_done): ranks from a copy */
        int n = j->nranks, *ranks = malloc((size_t)n * sizeof(int));
        json_t *msg = parts && ranks ? start_msg(job) : NULL;
        struct start_fail sf = { x, job->id };
        if (ranks)
            memcpy(ranks, j->ranks, (size_t)n * sizeof(int));
        if (msg) {
            j->launch = json_incref(msg);
            j->parts = json_incref(parts);
            fan_out(x->c, msg, parts, on_start_unsent, &sf);
        }
        else
            for (int i = 0; ranks && i < n; i++)
                if (ranks[i] != me)
                    start_failed(x, job->id, ranks[i], "out of memory");
        json_decref(msg);
        free(ranks);
    }
    json_decref(parts);
    return 0;
}

/* Tell every other broker of job id: {type, id} plus key=val. */
static int cx_tell(struct cx *x, uint64_t id, const char *type, const char *key, json_t *val)
{
    struct cxjob *j = *cx_slot(x, id);
    int me = overlay_rank(x->c->ov);
    if (!j) {
        json_decref(val);
        return -ENOENT;
    }
    json_t *msg = json_pack("{s:s s:I}", "type", type, "id", (json_int_t)id);
    json_t *parts = json_object();
    for (int i = 0; parts && i < j->nranks; i++) {
        char k[16];
        snprintf(k, sizeof(k), "%d", j->ranks[i]);
        if (j->ranks[i] != me && !j->done[i])
            json_object_set_new(parts, k, json_true());
    }
    if (msg && key)
        json_object_set(msg, key, val);
    if (msg && parts)
        fan_out(x->c, msg, parts, NULL, NULL);
    json_decref(msg);
    json_decref(parts);
    json_decref(val);
    return 0;
}

static int cx_signal(void *impl, uint64_t id, int sig)
{
    struct cx *x = impl;
    int lrc = executor_signal(x->local, id, sig);
    int rrc = cx_tell(x, id, "exec.signal", "sig", json_integer(sig));
    return lrc == 0 || rrc == 0 ? 0 : -ENOENT;
}

static int cx_terminate(void *impl, uint64_t id, double grace)
{
    struct cx *x = impl;
    struct cxjob *j = *cx_slot(x, id);
    if (j)
        j->terminating = true;
    int lrc = executor_terminate(x->local, id, grace);
    int rrc = cx_tell(x, id, "exec.terminate", "grace", json_real(grace));
    return lrc == 0 || rrc == 0 ? 0 : -ENOENT;
}

/* A node's part has ended when its broker said so (part_done); this
 * node's own tasks, as its launcher knows them. */
static int cx_node_active(void *impl, uint64_t id, int nodeid)
{
    struct cx *x = impl;
    struct cxjob *j = *cx_slot(x, id);
    if (!j)
        return -ENOENT;
    if (nodeid < 0 || nodeid >= j->nnodes)
        return -EINVAL;
    int r = j->node_rank[nodeid];
    if (r < 0)
        return 0;   /* no task of the job there */
    if (r == overlay_rank(x->c->ov)) {
        int rc = executor_node_active(x->local, id, nodeid);
        return rc == -ENOENT ? 0 : rc;   /* its part here is over */
    }
    for (int i = 0; i < j->nranks; i++)
        if (j->ranks[i] == r)
            return j->done[i] ? 0 : 1;
    return 0;
}

static int cx_contain(void *impl, uint64_t id, const char *idstr)
{
    struct cx *x = impl;
    return executor_contain(x->local, id, idstr);
}

static void cx_release(void *impl, uint64_t id)
{
    struct cx *x = impl;
    executor_release(x->local, id);
}

static int cx_reattach(void *impl, uint64_t id, const char *idstr, int *killed)
{
    struct cx *x = impl;
    /* tasks on other nodes are their brokers' to find (the resilience
     * work); here, this node's */
    return executor_reattach(x->local, id, idstr, killed);
}

static void cx_destroy(void *impl)
{
    struct cx *x = impl;
    if (x->check_timer)
        ev_timer_cancel(x->loop, x->check_timer);
    executor_destroy(x->local);
    for (int b = 0; b < CX_BUCKETS; b++)
        while (x->jobs[b]) {
            struct cxjob *j = x->jobs[b];
            x->jobs[b] = j->next;
            cxjob_free(j);
        }
    if (x->c)
        x->c->cx = NULL;
    free(x);
}

static const struct executor_ops cx_ops = {
    .contain = cx_contain,
    .release = cx_release,
    .start = cx_start,
    .signal = cx_signal,
    .node_active = cx_node_active,
    .terminate = cx_terminate,
    .reattach = cx_reattach,
    .destroy = cx_destroy,
};

static void cx_check(struct ev_loop *loop, uint64_t tid, void *arg);

struct executor *cluster_executor_create(struct ev_loop *loop, const struct exec_ops *cb,
                                         void *cb_arg, void *arg)
{
    struct cluster *c = arg;
    struct cx *x = calloc(1, sizeof(*x));
    struct executor *e = calloc(1, sizeof(*e));
    if (!x || !e)
        goto error;
    x->c = c;
    x->loop = loop;
    x->cb = cb;
    x->cb_arg = cb_arg;
    if (!(x->local = executor_local_create(loop, &cx_local_ops, x, NULL)))
        goto error;
    e->ops = &cx_ops;
    e->impl = x;
    c->cx = x;
    x->check_timer = ev_timer_add(loop, 1.0, cx_check, x);
    return e;
error:
    free(x);
    free(e);
    return NULL;
}

/* Once a second: a node that has not confirmed the start of its part of
 * a job within CLUSTER_START_WAIT (its launch was lost on the way: a link
 * that dropped it while both ends stayed up) fails the job with an "exec"
 * exception, as Flux's job-exec does, rather than leave it running short
 * of a node forever; its part ends as a lost node's. */
static void cx_check(struct ev_loop *loop, uint64_t tid, void *arg)
{
    struct cx *x = arg;
    double now = ev_now(loop), wait = CLUSTER_START_WAIT;
    (void)tid;
    x->check_timer = 0;
    if (!x->c)
        return;   /* the overlay is gone (shutdown) */
    if (2 * x->c->cfg.bs->hb_timeout > wait)
        wait = 2 * x->c->cfg.bs->hb_timeout;
    int me = overlay_rank(x->c->ov);
    for (int b = 0; b < CX_BUCKETS; b++) {
        for (struct cxjob *j = x->jobs[b], *next; j; j = next) {
            next = j->next;
            uint64_t id = j->id;
            for (int i = 0; i < j->nranks; i++) {
                if (j->ranks[i] == me || j->done[i] || j->heard[i] || now - j->sent[i] < wait)
                    continue;
                int rank = j->ranks[i];
                char note[160];
                snprintf(note, sizeof(note), "the broker of rank %d did not confirm the start "
                         "of the job's tasks in %.0f s", rank, wait);
                syslog(LOG_ERR, "cluster: job %llu: %s", (unsigned long long)id, note);
                j->heard[i] = true;
                /* in case it arrives after all, what it starts goes */
                json_t *kill = json_pack("{s:s s:I s:f}", "type", "exec.terminate", "id",
                                         (json_int_t)id, "grace", 0.0);
                if (kill)
                    overlay_send(x->c->ov, rank, kill);
                json_decref(kill);
                if (x->cb->exception)
                    x->cb->exception(x->cb_arg, id, "exec", note);
                /* j may be gone after this: its part ends as a lost node's */
                part_done(x, id, rank, 128 + SIGKILL);
                break;
            }
        }
    }
    x->check_timer = ev_timer_add(loop, 1.0, cx_check, x);
}

/* A node is lost: what its tasks would have said never comes. */
static void cx_rank_lost(struct cx *x, int rank)
{
    for (int b = 0; b < CX_BUCKETS; b++) {
        struct cxjob *j = x->jobs[b], *next;
        for (; j; j = next) {
            next = j->next;
            for (int i = 0; i < j->nranks; i++) {
                if (j->ranks[i] != rank || j->done[i])
                    continue;
                char note[128];
                int n = snprintf(note, sizeof(note), "fluxfs: the broker of rank %d was lost "
                                 "with this job's tasks on it\n", rank);
                x->cb->output(x->cb_arg, j->id, 2, note, (size_t)n);
                part_done(x, j->id, rank, 128 + SIGKILL);
                break;
            }
        }
    }
}

/* Whether rank runs a part of job id that has not finished. */
static bool runs_part(struct cx *x, uint64_t id, int rank)
{
    struct cxjob *j = *cx_slot(x, id);
    for (int i = 0; j && i < j->nranks; i++)
        if (j->ranks[i] == rank && !j->done[i])
            return true;
    return false;
}

/* exec.output and exec.finished from a node (of that job only). */
static void leader_exec_msg(struct cluster *c, int from, const char *type, json_t *msg)
{
    struct cx *x = c->cx;
    uint64_t id = (uint64_t)json_integer_value(json_object_get(msg, "id"));
    if (!x)
        return;
    if (!runs_part(x, id, from)) {
        syslog(LOG_DEBUG, "cluster: dropped '%s' for job %llu from rank %d (not its node)", type,
               (unsigned long long)id, from);
        return;
    }
    /* anything from the node about the job says its launch arrived */
    struct cxjob *j = *cx_slot(x, id);
    bool tell_start = false;
    for (int i = 0; j && i < j->nranks; i++)
        if (j->ranks[i] == from) {
            j->heard[i] = true;
            tell_start = !strcmp(type, "exec.started") && !j->started[i];
            j->started[i] |= tell_start;
        }
    if (j)
        launch_check(j, c->cfg.rank);
    if (!strcmp(type, "exec.output")) {
        int stream = (int)json_integer_value(json_object_get(msg, "stream"));
        char *buf;
        ssize_t n = msg_bytes(msg, "data", 2 * CX_OUTPUT_CHUNK, &buf);
        if (n >= 0 && (stream == 1 || stream == 2))
            x->cb->output(x->cb_arg, id, stream, buf, (size_t)n);
        else
            syslog(LOG_WARNING, "cluster: dropped bad output from rank %d", from);
        free(buf);
    } else if (!strcmp(type, "exec.finished")) {
        part_done(x, id, from, (int)json_integer_value(json_object_get(msg, "status")));
    } else if (tell_start && x->cb->node) {
        x->cb->node(x->cb_arg, id, from, true, 0);
    }
}

/* ---- a follower's launcher ---- */

static struct fjob **fjob_slot(struct cluster *c, uint64_t id)
{
    struct fjob **pp = &c->fjobs;
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    return pp;
}

static void f_output(void *arg, uint64_t id, int stream, const char *data, size_t len)
{
    struct cluster *c = arg;
    struct fjob *j = *fjob_slot(c, id);
    if (!j)
        return;
    while (len > 0) {
        size_t n = len < CX_OUTPUT_CHUNK ? len : CX_OUTPUT_CHUNK;
        json_t *msg = json_pack("{s:s s:I s:i s:o}", "type", "exec.output", "id", (json_int_t)id,
                                "stream", stream, "bin", json_stringn_nocheck(data, n));
        if (!msg || overlay_send(c->ov, j->leader, msg) < 0)
            syslog(LOG_WARNING, "cluster: output of job %llu lost (no route to the leader)",
                   (unsigned long long)id);
        json_decref(msg);
        data += n;
        len -= n;
    }
}

static void f_finished(void *arg, uint64_t id, int status)
{
    struct cluster *c = arg;
    struct fjob **pp = fjob_slot(c, id), *j = *pp;
    if (!j)
        return;
    json_t *msg = json_pack("{s:s s:I s:i}", "type", "exec.finished", "id", (json_int_t)id,
                            "status", status);
    /* remembered: if this does not get through (no parent just now), the
     * leader's exec.sync at our next join asks again (follower_sync) */
    c->ended[c->ended_next].id = id;
    c->ended[c->ended_next].status = status;
    c->ended_next = (c->ended_next + 1) % CLUSTER_ENDED;
    if (!msg || overlay_send(c->ov, j->leader, msg) < 0)
        syslog(LOG_WARNING, "cluster: cannot tell the leader now that job %llu ended (%d): "
               "it hears it at our next join", (unsigned long long)id, status);
    json_decref(msg);
    executor_release(c->local, id);
    *pp = j->next;
    free(j);
    c->nfjobs--;
}

static const struct exec_ops follower_ops = {
    .output = f_output,
    .finished = f_finished,
};

/* A launch for a job that runs here, or ended here a moment ago: the
 * leader sent it again at our join (send_sync) because our confirmation
 * did not reach it. It is answered as the first was, and nothing starts
 * twice. */
static bool start_again(struct cluster *c, int leader, uint64_t id)
{
    json_t *msg = NULL;
    if (*fjob_slot(c, id))
        msg = json_pack("{s:s s:I}", "type", "exec.started", "id", (json_int_t)id);
    for (int i = 0; !msg && i < CLUSTER_ENDED; i++)
        if (c->ended[i].id == id)
            msg = json_pack("{s:s s:I s:i}", "type", "exec.finished", "id", (json_int_t)id,
                            "status", c->ended[i].status);
    if (!msg)
        return false;
    syslog(LOG_INFO, "cluster: job %llu: its launch came again; it started here already",
           (unsigned long long)id);
    overlay_send(c->ov, leader, msg);
    json_decref(msg);
    return true;
}

/* exec.start: this node's share of a job (tasks, or parts[our rank]). */
static void follower_start(struct cluster *c, int from, json_t *msg)
{
    struct errmsg err = {""};
    struct cluster_start cs;
    uint64_t id = (uint64_t)json_integer_value(json_object_get(msg, "id"));
    json_t *mine = json_object_get(msg, "parts") ? json_copy(msg) : json_incref(msg);
    json_t *tasks = fan_in(c, msg);
    if (!tasks)
        goto out;   /* passed on only */
    if (mine && tasks != msg) {
        json_object_del(mine, "parts");
        json_object_set(mine, "tasks", tasks);
    }
    from = 0;   /* the leader's, whoever passed it on */
    if (start_again(c, from, id))
        goto out;
    int rc = mine ? cluster_start_decode(mine, &cs, &err)
                  : errmsg_set(&err, -ENOMEM, "out of memory");
    if (rc < 0)
        memset(&cs, 0, sizeof(cs));
    struct fjob *j = rc == 0 ? calloc(1, sizeof(*j)) : NULL;
    if (rc == 0 && !j)
        rc = -ENOMEM;
    if (rc == 0) {
        cs.job.mount = c->cfg.mount;
        j->id = id;
        j->leader = from;
        j->next = c->fjobs;
        c->fjobs = j;
        c->nfjobs++;
        if ((rc = executor_start(c->local, &cs.job, &err)) < 0) {
            c->fjobs = j->next;
            c->nfjobs--;
            free(j);
        } else {
            json_t *ack = json_pack("{s:s s:I}", "type", "exec.started", "id", (json_int_t)id);
            if (ack)
                overlay_send(c->ov, from, ack);
            json_decref(ack);
        }
    }
    cluster_start_release(&cs);   /* zeroed when decoding failed */
    if (rc < 0) {
        /* the leader hears it as this node's part failing */
        syslog(LOG_ERR, "cluster: job %llu: %s", (unsigned long long)id, err.text);
        json_t *fin = json_pack("{s:s s:I s:i}", "type", "exec.finished", "id", (json_int_t)id,
                                "status", 1);
        if (fin)
            overlay_send(c->ov, from, fin);
        json_decref(fin);
    }
out:
    json_decref(mine);
}

/* exec.sync: the leader's list of our jobs that still run; the rest
 * failed while we were away from it, and what is left of them goes. A
 * job it lists that no longer runs here ended while it could not hear
 * us: it is told again how (or, forgotten, that it was lost). */
static void follower_sync(struct cluster *c, json_t *ids, json_t *starting)
{
    size_t k;
    json_t *v;
    json_array_foreach(ids, k, v) {
        uint64_t id = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
        if (!id || *fjob_slot(c, id))
            continue;
        int status = 128 + SIGKILL;
        for (int i = 0; i < CLUSTER_ENDED; i++)
            if (c->ended[i].id == id)
                status = c->ended[i].status;
        json_t *fin = json_pack("{s:s s:I s:i}", "type", "exec.finished", "id",
                                (json_int_t)id, "status", status);
        if (fin)
            overlay_send(c->ov, 0, fin);
        json_decref(fin);
    }
    for (struct fjob *j = c->fjobs; j; j = j->next) {
        bool live = false;
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v)
            live |= json_is_integer(v) && (uint64_t)json_integer_value(v) == j->id;
        /* (its launch comes again: start_again answers it) */
        json_array_foreach(starting, i, v)
            live |= json_is_integer(v) && (uint64_t)json_integer_value(v) == j->id;
        if (!live) {
            syslog(LOG_WARNING, "cluster: job %llu ended while we were away: killing its tasks",
                   (unsigned long long)j->id);
            executor_terminate(c->local, j->id, 0);
        }
    }
}

static void follower_exec_msg(struct cluster *c, int from, const char *type, json_t *msg)
{
    uint64_t id = (uint64_t)json_integer_value(json_object_get(msg, "id"));
    if (!strcmp(type, "exec.start")) {
        follower_start(c, from, msg);
        return;
    }
    /* signal, terminate, release: pass it on down, then ours (if any) */
    if (strcmp(type, "exec.sync") && !fan_in(c, msg))
        return;
    if (!strcmp(type, "exec.signal"))
        executor_signal(c->local, id, (int)json_integer_value(json_object_get(msg, "sig")));
    else if (!strcmp(type, "exec.terminate"))
        executor_terminate(c->local, id, json_number_value(json_object_get(msg, "grace")));
    else if (!strcmp(type, "exec.release"))
        executor_release(c->local, id);
    else if (!strcmp(type, "exec.sync"))
        follower_sync(c, json_object_get(msg, "ids"), json_object_get(msg, "starting"));
}

/* ---- submissions on a follower's tree ---- */

static void fwd_finish(struct cluster *c, struct fwd **pp, int rc, const char *ids,
                       const char *why)
{
    struct fwd *f = *pp;
    *pp = f->next;
    if (c->sink)
        c->sink(c->sink_arg, f->token, rc, ids, f->uid, f->subject, why, f->seq);
    free(f->subject);
    free(f);
}

static void fwd_fail_all(struct cluster *c, int rc, const char *why)
{
    while (c->fwds)
        fwd_finish(c, &c->fwds, rc, NULL, why);
}

static void on_fwd_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct cluster *c = arg;
    (void)id;
    c->fwd_timer = 0;
    for (struct fwd **pp = &c->fwds; *pp;) {
        if (ev_now(loop) - (*pp)->t > CLUSTER_FORWARD_WAIT)
            fwd_finish(c, pp, -ETIMEDOUT, NULL, "no answer from the leader in 30 s: the job "
                       "may have been accepted there (look in jobs/ on its tree)");
        else
            pp = &(*pp)->next;
    }
    if (c->fwds)
        c->fwd_timer = ev_timer_add(loop, 1.0, on_fwd_timer, c);
}

/* Sent: its answer is awaited (fwd_finish, or the timeout). */
static void fwd_sent(struct cluster *c, struct fwd *f)
{
    f->t = ev_now(c->loop);
    f->next = c->fwds;
    c->fwds = f;
    if (!c->fwd_timer)
        c->fwd_timer = ev_timer_add(c->loop, 1.0, on_fwd_timer, c);
}

/* The oldest held, out of the list, its message dropped. */
static struct fwd *held_pop(struct cluster *c)
{
    struct fwd *f = c->held;
    c->held = f->next;
    if (!c->held)
        c->held_tail = &c->held;
    c->held_bytes -= f->bytes;
    json_decref(f->held);
    f->held = NULL;
    f->next = NULL;
    return f;
}

static void held_drop(struct cluster *c, int rc, const char *why)
{
    struct fwd *f = held_pop(c);
    fwd_finish(c, &f, rc, NULL, why);
}

static void on_hold_timer(struct ev_loop *loop, uint64_t id, void *arg);

/* Whether this broker has joined its parent since it started (it stays
 * so: held forwards are for the first join only). */
static bool joined_once(struct cluster *c)
{
    if (!c->was_joined && overlay_joined(c->ov))
        c->was_joined = true;
    return c->was_joined;
}

/* What was held goes, in order, once the leader can be reached; what
 * waited too long fails (it never left this broker). */
static void held_flush(struct cluster *c)
{
    joined_once(c);
    while (c->held && overlay_leader_reachable(c->ov) && overlay_send(c->ov, 0, c->held->held) == 0)
        fwd_sent(c, held_pop(c));
    while (c->held && ev_now(c->loop) - c->held->t > CLUSTER_JOIN_WAIT) {
        char why[160];
        snprintf(why, sizeof(why), "this broker (rank %d) has not reached the leader in %.0f s: "
                 "nothing was submitted", c->cfg.rank, CLUSTER_JOIN_WAIT);
        held_drop(c, -EAGAIN, why);
    }
    if (c->held && !c->hold_timer)
        c->hold_timer = ev_timer_add(c->loop, 0.02, on_hold_timer, c);
}

static void on_hold_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct cluster *c = arg;
    (void)loop;
    (void)id;
    c->hold_timer = 0;
    held_flush(c);
}

/* Send msg (ingest.submit or ingest.ctl, stolen; its text bytes long) to
 * the leader; its ingest.reply under token finishes it (fwd_finish). A
 * broker that has not joined yet since it started holds it until it has
 * (cluster.h); one that lost its way to the leader refuses it. */
static int forward_msg(struct cluster *c, uint64_t token, uid_t uid, const char *subject,
                       json_t *msg, size_t bytes, struct errmsg *err)
{
    bool hold = !joined_once(c) || c->held;   /* behind what is held: in order */
    if (!hold && !overlay_leader_reachable(c->ov)) {
        json_decref(msg);
        return errmsg_set(err, -EAGAIN, "the leader is not reachable from this broker "
                          "(rank %d) now", c->cfg.rank);
    }
    if (hold && c->held_bytes + bytes > CLUSTER_HELD_MAX) {
        json_decref(msg);
        return errmsg_set(err, -EAGAIN, "this broker (rank %d) has not joined yet, and holds "
                          "as much as it may until it has", c->cfg.rank);
    }
    struct fwd *f = calloc(1, sizeof(*f));
    if (!f || !msg || !(f->subject = strdup(subject ? subject : "new"))) {
        free(f);
        json_decref(msg);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    json_object_set_new(msg, "token", json_integer((json_int_t)token));
    json_object_set_new(msg, "uid", json_integer((json_int_t)uid));
    json_object_set_new(msg, "subject", json_string(f->subject));
    f->token = token;
    f->uid = uid;
    if (hold) {
        f->held = msg;
        f->bytes = bytes;
        f->t = ev_now(c->loop);
        *c->held_tail = f;
        c->held_tail = &f->next;
        c->held_bytes += bytes;
        held_flush(c);
        return 0;
    }
    int rc = overlay_send(c->ov, 0, msg);
    json_decref(msg);
    if (rc < 0) {
        free(f->subject);
        free(f);
        return errmsg_set(err, rc == -ENOMEM ? rc : -EAGAIN, "cannot reach the leader: %s",
                          strerror(-rc));
    }
    fwd_sent(c, f);
    return 0;
}

int cluster_forward(void *arg, uint64_t token, const char *text, size_t len, uid_t uid,
                    gid_t gid, const char *cwd, const char *queue, const char *subject,
                    struct errmsg *err)
{
    struct cluster *c = arg;
    if (len > CLUSTER_FORWARD_MAX)
        return errmsg_set(err, -EFBIG, "a submission on a follower's tree may be at most %u "
                          "bytes (submit larger ones on the leader's)", CLUSTER_FORWARD_MAX);
    json_t *msg = json_pack("{s:s s:o s:i}", "type", "ingest.submit", "bin",
                            json_stringn_nocheck(text, len), "gid", (int)gid);
    if (msg && cwd && cluster_path_set(msg, "cwd", cwd) < 0) {
        json_decref(msg);
        msg = NULL;
    }
    if (msg && queue)
        json_object_set_new(msg, "queue", json_string(queue));
    return forward_msg(c, token, uid, subject, msg, len, err);
}

int cluster_forward_ctl(void *arg, uint64_t token, uint64_t jobid, uid_t uid, const char *text,
                        size_t len, const char *subject, struct errmsg *err)
{
    struct cluster *c = arg;
    if (len > CLUSTER_CTL_MAX)
        return errmsg_set(err, -E2BIG, "a ctl write may be at most %u bytes", CLUSTER_CTL_MAX);
    json_t *msg = json_pack("{s:s s:I s:o}", "type", "ingest.ctl", "id", (json_int_t)jobid,
                            "bin", json_stringn_nocheck(text, len));
    return forward_msg(c, token, uid, subject, msg, len, err);
}

void cluster_set_sink(struct cluster *c, cluster_sink_f fn, void *arg)
{
    c->sink = fn;
    c->sink_arg = arg;
}

/* ingest.reply: the leader's answer to one of our submissions. */
static void follower_reply(struct cluster *c, json_t *msg)
{
    uint64_t token = (uint64_t)json_integer_value(json_object_get(msg, "token"));
    for (struct fwd **pp = &c->fwds; *pp; pp = &(*pp)->next) {
        if ((*pp)->token != token)
            continue;
        int rc = (int)json_integer_value(json_object_get(msg, "rc"));
        (*pp)->seq = (uint64_t)json_integer_value(json_object_get(msg, "seq"));
        fwd_finish(c, pp, rc > 0 || rc < -4095 ? -EIO : rc,
                   json_string_value(json_object_get(msg, "ids")),
                   json_string_value(json_object_get(msg, "why")));
        return;
    }
}

/* Answer a follower (reply stolen): a failure at once, a success once
 * the commit that made it is durable (cluster_after_commit, _after_sync). */
static void leader_answer(struct cluster *c, int to, int rc, json_t *reply)
{
    struct reply *r = rc < 0 || !reply ? NULL : calloc(1, sizeof(*r));
    if (!r) {
        if (reply)
            overlay_send(c->ov, to, reply);
        json_decref(reply);
        return;
    }
    r->rank = to;
    r->msg = reply;
    *c->replies_tail = r;
    c->replies_tail = &r->next;
}

/* ingest.ctl: a write to jobs/<id>/ctl (id 0: resources/ctl) on a
 * follower's tree, with the opener's authority, as our own tree takes one. */
static void leader_ctl(struct cluster *c, int from, json_t *msg)
{
    struct errmsg err = {""};
    json_t *uid = json_object_get(msg, "uid");
    char *text;
    ssize_t n = msg_bytes(msg, "text", CLUSTER_CTL_MAX, &text);
    uint64_t id = (uint64_t)json_integer_value(json_object_get(msg, "id"));
    struct job *job = c->m && id ? jobmgr_lookup(c->m, id) : NULL;
    int rc;
    if (!c->m)
        rc = errmsg_set(&err, -EAGAIN, "the leader is starting");
    else if (n < 0 || !json_is_integer(uid) || json_integer_value(uid) < 0)
        rc = errmsg_set(&err, -EINVAL, "a malformed ingest.ctl");
    else if (id == 0)   /* resources/ctl */
        rc = jobmgr_resource_ctl(c->m, (uid_t)json_integer_value(uid), text, (size_t)n, &err);
    else if (!job)
        rc = errmsg_set(&err, -ENOENT, "no such job (purged?)");
    else
        rc = jobmgr_ctl(c->m, job, (uid_t)json_integer_value(uid), text, (size_t)n, &err);
    free(text);
    json_t *reply = json_pack("{s:s s:O s:i s:O s:O}", "type", "ingest.reply", "token",
                              json_object_get(msg, "token") ?: json_null(), "rc", rc, "uid",
                              uid ? uid : json_null(), "subject",
                              json_object_get(msg, "subject") ?: json_null());
    if (reply && rc < 0)
        json_object_set_new(reply, "why", json_string(err.text));
    leader_answer(c, from, rc, reply);
}

/* The answer to ingest.submit msg: after the commit that made its jobs
 * durable (leader_answer). */
static void submit_answer(struct cluster *c, int from, json_t *msg, int rc, const char *ids,
                          const char *why)
{
    json_t *uid = json_object_get(msg, "uid");
    json_t *reply = json_pack("{s:s s:O s:i s:O s:O}", "type", "ingest.reply", "token",
                              json_object_get(msg, "token"), "rc", rc, "uid", uid ? uid : json_null(),
                              "subject", json_object_get(msg, "subject") ?: json_null());
    if (reply)
        json_object_set_new(reply, rc < 0 ? "why" : "ids", json_string(rc < 0 ? why : ids));
    leader_answer(c, from, rc, reply);
}

/* A large one parsed off the loop (jobmgr_submit_text_async). */
struct leader_parsing {
    struct cluster *c;
    int from;
    json_t *msg;
};

static void leader_parsed(void *arg, int rc, const char *ids, const char *why)
{
    struct leader_parsing *p = arg;
    if (rc != -ECANCELED)   /* else the instance stopped: nothing to answer with */
        submit_answer(p->c, p->from, p->msg, rc, ids, why);
    json_decref(p->msg);
    free(p);
}

/* ingest.submit: a follower's submission, as our own queue/ takes one; the
 * answer waits for the commit that makes the jobs durable. */
static void leader_submit(struct cluster *c, int from, json_t *msg)
{
    struct errmsg err = {""};
    struct strbuf ids;
    char *text;
    ssize_t n = msg_bytes(msg, "text", CLUSTER_FORWARD_MAX, &text);
    json_t *uid = json_object_get(msg, "uid"), *gid = json_object_get(msg, "gid");
    json_t *queue = json_object_get(msg, "queue");
    char *cwd = NULL;
    int rc, path_rc = cluster_path_get(msg, "cwd", &cwd);
    strbuf_init(&ids);
    if (!c->m)
        rc = errmsg_set(&err, -EAGAIN, "the leader is starting");
    else if (path_rc == -ENOMEM)
        rc = errmsg_set(&err, -ENOMEM, "out of memory");
    else if (n < 0 || !json_is_integer(uid) || !json_is_integer(gid)
             || json_integer_value(uid) < 0 || json_integer_value(gid) < 0
             || path_rc < 0 || (queue && !json_is_string(queue)))
        rc = errmsg_set(&err, -EINVAL, "a malformed ingest.submit");
    else if (n >= JOBMGR_ASYNC_BYTES) {
        struct ingest_cwd dir = { .dir = cwd };
        struct leader_parsing *p = malloc(sizeof(*p));
        if (!p)
            rc = errmsg_set(&err, -ENOMEM, "out of memory");
        else {
            *p = (struct leader_parsing){ .c = c, .from = from, .msg = json_incref(msg) };
            rc = jobmgr_submit_text_async(c->m, text, (size_t)n, (uid_t)json_integer_value(uid),
                                          (gid_t)json_integer_value(gid), &dir,
                                          json_string_value(queue), leader_parsed, p, &err);
            if (rc == 0) {
                free(text);
                free(cwd);
                return;   /* leader_parsed answers */
            }
            json_decref(p->msg);
            free(p);
        }
    } else {
        struct ingest_cwd dir = { .dir = cwd };
        rc = jobmgr_submit_text(c->m, text, (size_t)n, (uid_t)json_integer_value(uid),
                                (gid_t)json_integer_value(gid), &dir,
                                json_string_value(queue), &ids, &err);
    }
    free(text);
    free(cwd);
    submit_answer(c, from, msg, rc, ids.buf ? ids.buf : "", err.text);
    strbuf_release(&ids);
}

static void reply_fail(struct reply *r, int rc, const char *why)
{
    json_object_set_new(r->msg, "rc", json_integer(rc));
    json_object_del(r->msg, "ids");
    json_object_set_new(r->msg, "why", json_string(why));
}

/* Answers go in the order they were made: the oldest while its commit is
 * durable. The commits they are about go down the links first. */
static void send_ready(struct cluster *c)
{
    if (c->replies && c->replies->committed && c->replies->ticket <= c->synced)
        replica_flush(c->repl);
    while (c->replies && c->replies->committed && c->replies->ticket <= c->synced) {
        struct reply *r = c->replies;
        c->replies = r->next;
        overlay_send(c->ov, r->rank, r->msg);
        json_decref(r->msg);
        free(r);
    }
    if (!c->replies)
        c->replies_tail = &c->replies;
}

void cluster_after_commit(struct cluster *c, int rc, uint64_t ticket)
{
    if (!c)
        return;
    for (struct reply *r = c->replies; r; r = r->next) {
        if (r->committed)
            continue;
        r->committed = true;
        r->ticket = rc < 0 ? 0 : ticket;
        if (rc < 0)
            reply_fail(r, rc, rc == -ENOSPC ? "the leader's disk is full: the job was not stored"
                                            : "the leader could not store the job");
        /* the commit that made it durable: the follower answers once it
         * shows that much (replica_settle) */
        json_object_set_new(r->msg, "seq", json_integer((json_int_t)replica_seq(c->repl)));
    }
    send_ready(c);
}

void cluster_after_sync(struct cluster *c, uint64_t done, uint64_t failed, int fail_rc)
{
    if (!c)
        return;
    c->synced = done;
    for (struct reply *r = c->replies; r && r->committed && r->ticket <= done; r = r->next) {
        if (!r->ticket || r->ticket > failed)
            continue;
        /* the follower's submitter hears it failed: its jobs do not run on */
        json_t *ids = json_object_get(r->msg, "ids");
        if (c->m && json_is_string(ids))
            jobmgr_refuse(c->m, json_string_value(ids), json_string_length(ids), fail_rc);
        reply_fail(r, fail_rc, "the leader could not make the job durable (its store's sync "
                               "failed): the job was canceled");
    }
    send_ready(c);
}

/* ---- the overlay's callbacks ---- */

static void on_recv(void *arg, int from, const char *type, json_t *msg)
{
    struct cluster *c = arg;
    if (!strcmp(type, "ingest.submit") && c->cfg.rank == 0) {
        leader_submit(c, from, msg);
        return;
    }
    if (!strcmp(type, "ingest.ctl") && c->cfg.rank == 0) {
        leader_ctl(c, from, msg);
        return;
    }
    if (!strcmp(type, "ingest.reply") && c->cfg.rank > 0) {
        follower_reply(c, msg);
        return;
    }
    if (!strncmp(type, "repl.", 5)) {
        replica_recv(c->repl, from, type, msg);
        return;
    }
    if (!strncmp(type, "nest.", 5) && c->nest_recv) {
        c->nest_recv(c->nest_arg, from, type, msg);
        return;
    }
    if (strncmp(type, "exec.", 5)) {
        syslog(LOG_WARNING, "cluster: dropped a message of unknown type '%.32s' from rank %d",
               type, from);
        return;
    }
    if (c->cfg.rank == 0)
        leader_exec_msg(c, from, type, msg);
    else
        follower_exec_msg(c, from, type, msg);
}

static void apply_join(struct cluster *c, int rank, json_t *info)
{
    struct rgraph_node node;
    struct errmsg err = {""};
    if (rgraph_node_from_json(json_object_get(info, "resources"), &node, &err) < 0
        || jobmgr_node_joined(c->m, rank, &node, &err) < 0)
        syslog(LOG_ERR, "cluster: rank %d joined, but its node is not usable: %s", rank,
               err.text);
    rgraph_node_release(&node);
}

/* A node (re)joined: tell it which of its jobs still run, so that it ends
 * what it kept running for jobs that failed while it was away, or that were
 * told to end while no route led to it (its parent was lost, and it was
 * being adopted: overlay.h). A job whose start it never confirmed is listed
 * apart ("starting") and its launch sent again: the first may have been
 * lost with a broker on the way, and the node, not knowing the job, would
 * otherwise report it ended (killed) and fail it. A node that did get it
 * answers the second as a duplicate (follower_start). */
static void send_sync(struct cluster *c, int rank)
{
    char key[16];
    snprintf(key, sizeof(key), "%d", rank);
    json_t *ids = json_array(), *starting = json_array(), *again = json_array();
    for (int b = 0; c->cx && ids && starting && again && b < CX_BUCKETS; b++)
        for (struct cxjob *j = c->cx->jobs[b]; j; j = j->next)
            for (int i = 0; i < j->nranks; i++) {
                if (j->ranks[i] != rank || j->done[i] || j->terminating)
                    continue;
                json_t *part = j->heard[i] || !j->launch ? NULL
                             : json_object_get(j->parts, key);
                json_t *start = part ? json_copy(j->launch) : NULL;
                if (start && json_object_set_new(start, "parts",
                                                 json_pack("{s:O}", key, part)) == 0) {
                    json_array_append_new(starting, json_integer((json_int_t)j->id));
                    json_array_append(again, start);
                    j->sent[i] = ev_now(c->loop);   /* cx_check waits from now */
                } else {
                    json_array_append_new(ids, json_integer((json_int_t)j->id));
                }
                json_decref(start);
            }
    json_t *msg = ids && starting && again
                ? json_pack("{s:s s:O s:O}", "type", "exec.sync", "ids", ids, "starting", starting)
                : NULL;
    if (msg)
        overlay_send(c->ov, rank, msg);
    size_t k;
    json_t *start;
    json_array_foreach(msg ? again : NULL, k, start) {
        syslog(LOG_WARNING, "cluster: rank %d rejoined without confirming the start of job "
               "%llu: its launch goes again", rank,
               (unsigned long long)json_integer_value(json_object_get(start, "id")));
        overlay_send(c->ov, rank, start);
    }
    json_decref(msg);
    json_decref(ids);
    json_decref(starting);
    json_decref(again);
}

static void on_peer(void *arg, int rank, enum overlay_state st, json_t *info, const char *why)
{
    struct cluster *c = arg;
    if (st == OVERLAY_UP) {
        send_sync(c, rank);
        if (c->m)
            apply_join(c, rank, info);
        else {
            json_decref(c->heard[rank]);
            c->heard[rank] = json_incref(info);
        }
        return;
    }
    /* the exception first (node-failure), then the lost parts end */
    if (c->m)
        jobmgr_node_offline(c->m, rank, why ? why : overlay_state_name(st));
    if (c->cx)
        cx_rank_lost(c->cx, rank);
}

/* Follower: the link to our parent went down (or came back): whatever the
 * leader had not answered will not be answered. */
/* A lost child's child joined us: we feed its replica too. */
static void on_adopted(void *arg, int rank)
{
    struct cluster *c = arg;
    if (replica_add_kid(c->repl, rank) < 0)
        syslog(LOG_ERR, "cluster: cannot serve adopted rank %d: out of memory", rank);
}

static void on_parent(void *arg, bool up)
{
    struct cluster *c = arg;
    replica_parent(c->repl, up, overlay_parent_rank(c->ov));
    if (up)
        held_flush(c);   /* what waited for the join goes now */
    if (!up)
        fwd_fail_all(c, -ECONNRESET, "lost the link to the leader before its answer: the job "
                     "may have been accepted there (look in jobs/ on its tree)");
}

struct replica *cluster_replica(struct cluster *c)
{
    return c ? c->repl : NULL;
}

static int repl_send(void *arg, int to, json_t *msg)
{
    struct cluster *c = arg;
    return overlay_send(c->ov, to, msg);
}

void cluster_set_jobmgr(struct cluster *c, struct jobmgr *m)
{
    if (c->cfg.rank > 0) {
        replica_set_jobmgr(c->repl, m);
        return;
    }
    c->m = m;
    for (int r = 1; r < c->cfg.bs->size; r++) {
        if (c->heard[r]) {
            apply_join(c, r, c->heard[r]);
            json_decref(c->heard[r]);
            c->heard[r] = NULL;
        } else if (overlay_peer_state(c->ov, r) != OVERLAY_UP) {
            jobmgr_node_offline(m, r, NULL);
        }
    }
}

struct cluster *cluster_create(struct ev_loop *loop, const struct cluster_config *cfg,
                               struct errmsg *err)
{
    struct cluster *c = calloc(1, sizeof(*c));
    json_t *info = NULL;
    if (!c) {
        errmsg_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    c->loop = loop;
    c->cfg = *cfg;
    c->replies_tail = &c->replies;
    c->held_tail = &c->held;
    if (cfg->rank == 0 && !(c->heard = calloc((size_t)cfg->bs->size, sizeof(json_t *)))) {
        errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    if (cfg->rank > 0 && !(c->local = executor_local_create(loop, &follower_ops, c, NULL))) {
        errmsg_set(err, -errno, "cannot start the launcher: %s", strerror(errno));
        goto error;
    }
    json_t *res = rgraph_node_to_json(cfg->node);
    info = res ? json_pack("{s:s s:o}", "host", cfg->bs->brokers[cfg->rank].host, "resources",
                           res) : NULL;
    if (!info) {
        errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    static const struct overlay_ops ops = { .recv = on_recv, .peer = on_peer,
                                            .parent = on_parent, .adopted = on_adopted };
    if (!(c->ov = overlay_create(loop, cfg->bs, cfg->rank, info, &ops, c, err)))
        goto error;
    json_decref(info);
    info = NULL;
    int nkids = 0, first = bootstrap_first_child(cfg->bs, cfg->rank, &nkids);
    struct replica_config rcfg = {
        .st = cfg->st, .rank = cfg->rank, .parent = bootstrap_parent(cfg->bs, cfg->rank),
        .first_child = first, .nchildren = nkids, .send = repl_send, .send_arg = c,
    };
    if (!(c->repl = replica_create(loop, &rcfg, err)))
        goto error;
    return c;
error:
    json_decref(info);
    cluster_destroy(c);
    return NULL;
}

void cluster_destroy(struct cluster *c)
{
    if (!c)
        return;
    if (c->fwd_timer)
        ev_timer_cancel(c->loop, c->fwd_timer);
    if (c->hold_timer)
        ev_timer_cancel(c->loop, c->hold_timer);
    c->sink = NULL;
    fwd_fail_all(c, -ESHUTDOWN, NULL);
    while (c->held)
        held_drop(c, -ESHUTDOWN, NULL);
    while (c->replies) {
        struct reply *r = c->replies;
        c->replies = r->next;
        json_decref(r->msg);
        free(r);
    }
    replica_destroy(c->repl);
    overlay_destroy(c->ov);
    executor_destroy(c->local);
    while (c->fjobs) {
        struct fjob *j = c->fjobs;
        c->fjobs = j->next;
        free(j);
    }
    for (int r = 0; c->heard && r < c->cfg.bs->size; r++)
        json_decref(c->heard[r]);
    free(c->heard);
    if (c->cx)
        c->cx->c = NULL;
    free(c);
}

void cluster_set_nest_recv(struct cluster *c, cluster_recv_f fn, void *arg)
{
    c->nest_recv = fn;
    c->nest_arg = arg;
}

int cluster_send(struct cluster *c, int to, json_t *msg)
{
    return overlay_send(c->ov, to, msg);
}

int cluster_rank(const struct cluster *c)
{
    return c->cfg.rank;
}

const struct bootstrap *cluster_bootstrap(const struct cluster *c)
{
    return c->cfg.bs;
}

bool cluster_all_up(const struct cluster *c)
{
    if (c->cfg.rank != 0)
        return overlay_joined(c->ov);
    for (int r = 1; r < c->cfg.bs->size; r++)
        if (overlay_peer_state(c->ov, r) != OVERLAY_UP)
            return false;
    return true;
}

json_t *cluster_status(struct cluster *c)
{
    json_t *o = overlay_status(c->ov);
    if (o) {
        json_object_set_new(o, "replica", replica_status(c->repl));
        json_object_set_new(o, "exec_sent", json_integer((json_int_t)c->fanned));
    }
    return o;
}

size_t cluster_active(const struct cluster *c)
{
    return c->nfjobs;
}

void cluster_terminate_all(struct cluster *c, double grace)
{
    for (struct fjob *j = c->fjobs; j; j = j->next)
        executor_terminate(c->local, j->id, grace);
}
