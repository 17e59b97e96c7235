/* jobmgr_ctl.c - what users and the instance owner ask of jobs: the
 * control verbs of jobs/<id>/ctl (cancel, signal, urgency, shutdown of a
 * nested instance), cancel at shutdown, and resources/ctl's effect on the
 * jobs of a vertex that goes down. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "common/hostlist.h"
#include "common/idset.h"
#include "fsd/depend.h"
#include "fsd/jobmgr_private.h"


bool jobmgr_may_control(struct jobmgr *m, const struct job *job, uid_t uid)
{
    return uid == 0 || uid == m->owner || uid == job->uid;
}

static int cancel_job(struct jobmgr *m, struct job *job, uid_t uid, const char *type,
                      const char *note, struct errmsg *err)
{
    struct jobstate_step st;
    if (jobstate_next(job->state, JOBEV_EXCEPTION, &st) < 0)
        return errmsg_set(err, -EINVAL, "job '%s' is inactive", job->idstr);
    if (job->state == JOB_RUN) {
        if (!job->canceling)
            jm_job_terminate(m, job, type, uid, note, RESULT_CANCELED);
        return 0;
    }
    jm_post_exception(m, job, type, uid, note);
    jm_job_end_pending(m, job, RESULT_CANCELED);
    return 0;
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

void jobmgr_refuse(struct jobmgr *m, const char *ids, size_t len, int rc)
{
    char note[128], id[64];
    snprintf(note, sizeof(note), "its submission could not be made durable (%s): "
             "its submitter was told it failed", strerror(-rc));
    for (const char *p = ids, *end = ids + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (n > 0 && n < sizeof(id)) {
            memcpy(id, p, n);
            id[n] = '\0';
            struct job *job = jobtable_lookup_name(m->jobs, id);
            /* committed only: one of a failed commit is never accepted,
             * and goes with it (jobmgr_after_commit) */
            if (job && job->committed && job->state != JOB_INACTIVE
                && job->state != JOB_CLEANUP)
                cancel_job(m, job, m->owner, "submit", note, NULL);
        }
        p = nl ? nl + 1 : end;
    }
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
        n += jobtable_count(m->jobs, s);
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

/* One parsed line of jobs/<id>/ctl. */
enum ctl_verb { CTL_CANCEL, CTL_SIGNAL, CTL_URGENCY, CTL_SHUTDOWN, CTL_RELEASE };

struct ctl_op {
    enum ctl_verb verb;
    int lineno;
    int arg;                /* the signal, the urgency */
    const char *name;       /* shutdown: the nested instance, release: the hosts
                             * (in the caller's buffer) */
    bool force;
};

/* Parse one line into op: 1, 0 for a blank line, or -EINVAL. Checks what
 * does not depend on the job's state. */
static int ctl_parse(struct jobmgr *m, uid_t uid, char *line, struct ctl_op *op,
                     struct errmsg *err)
{
    char *save = NULL;
    char *verb = strtok_r(line, " \t", &save);
    char *arg = strtok_r(NULL, " \t", &save);
    char *extra = arg ? strtok_r(NULL, " \t", &save) : NULL;

    if (!verb)
        return 0;
    if (strcmp(verb, "cancel") == 0 && !arg) {
        op->verb = CTL_CANCEL;
        return 1;
    }
    if (strcmp(verb, "signal") == 0 && !extra) {
        int sig = arg ? parse_signal(arg) : SIGTERM;
        if (sig < 0)
            return errmsg_set(err, -EINVAL, "unknown signal '%s'", arg);
        op->verb = CTL_SIGNAL;
        op->arg = sig;
        return 1;
    }
    if (strcmp(verb, "shutdown") == 0 && arg) {
        char *more = strtok_r(NULL, " \t", &save);
        bool force = extra && !strcmp(extra, "force");
        if ((extra && !force) || more)
            return errmsg_set(err, -EINVAL, "usage: shutdown NAME [force]");
        op->verb = CTL_SHUTDOWN;
        op->name = arg;
        op->force = force;
        return 1;
    }
    if (strcmp(verb, "release") == 0 && arg && !extra) {
        if (hostlist_text_contains(arg, NULL) < 0)
            return errmsg_set(err, -EINVAL, "release: '%.60s' is not a host list", arg);
        op->verb = CTL_RELEASE;
        op->name = arg;
        return 1;
    }
    if (strcmp(verb, "urgency") == 0 && arg && !extra) {
        char *end;
        long u = strtol(arg, &end, 10);
        int max = (uid == 0 || uid == m->owner) ? QMGR_URGENCY_MAX : QMGR_URGENCY_DEFAULT;
        if (*end || u < 0 || u > max)
            return errmsg_set(err, -EINVAL, "urgency '%s' out of range 0-%d", arg, max);
        op->verb = CTL_URGENCY;
        op->arg = (int)u;
        return 1;
    }
    return errmsg_set(err, -EINVAL,
                      "unknown control '%s' (expected: cancel, signal N, urgency N, "
                      "release HOSTLIST, shutdown NAME [force])", verb);
}

/* Check op against *st, the state the job will be in when op's turn
 * comes, and advance *st past it. 0 or -EINVAL. */
static int ctl_check(struct job *job, const struct ctl_op *op, enum job_state *st,
                     struct errmsg *err)
{
    struct jobstate_step step;
    switch (op->verb) {
    case CTL_CANCEL:
        if (jobstate_next(*st, JOBEV_EXCEPTION, &step) < 0)
            return errmsg_set(err, -EINVAL, "job '%s' is inactive", job->idstr);
        if (*st != JOB_RUN)   /* a running job ends later; a pending one at once */
            *st = JOB_INACTIVE;
        return 0;
    case CTL_SIGNAL:
        if (*st != JOB_RUN)
            return errmsg_set(err, -EINVAL, "job '%s' is not running", job->idstr);
        return 0;
    case CTL_URGENCY:
        if (*st != JOB_SCHED && *st != JOB_DEPEND)
            return errmsg_set(err, -EINVAL, "job '%s' is not pending", job->idstr);
        return 0;
    case CTL_SHUTDOWN:
    case CTL_RELEASE:
        return 0;   /* checked alone, as they are done (below) */
    }
    return 0;
}

struct release_ctx {
    const char *hosts;
    int n;
};

static bool host_named(void *arg, const struct graph_vertex *node)
{
    struct release_ctx *c = arg;
    bool yes = hostlist_text_contains(c->hosts, node->name) > 0;
    c->n += yes;
    return yes;
}

/* release HOSTLIST: Flux's shrink. Nodes of a running job whose tasks have
 * all ended go back to the scheduler at once; the job runs on. */
static int ctl_release(struct jobmgr *m, struct job *job, const char *hosts,
                       struct errmsg *err)
{
    if (job->state != JOB_RUN || job->canceling)
        return errmsg_set(err, -EINVAL, "job '%s' is not running", job->idstr);
    if (m->hooks && m->hooks->job_nested && m->hooks->job_nested(m->hooks_arg, job))
        return errmsg_set(err, -EBUSY, "release: the job has nested instances, which use "
                          "all of its nodes (remove them first)");
    json_t *R = job->R ? json_loads(job->R, 0, NULL) : NULL;
    json_t *nl = json_object_get(json_object_get(R, "execution"), "nodelist");
    struct hostlist *mine = hostlist_create(), *start = hostlist_create();
    size_t i, named = 0;
    json_t *v;
    int rc = 0;
    json_array_foreach(nl, i, v)
        if (mine && hostlist_append(mine, json_string_value(v)) < 0)
            rc = errmsg_set(err, -EIO, "the job's R is unreadable");
    if (rc == 0 && start && hostlist_append(start, job->start_nodes ? job->start_nodes : "") < 0)
        rc = errmsg_set(err, -EIO, "the job's nodes at start are unreadable");
    for (i = 0; rc == 0 && mine && start && i < hostlist_count(mine); i++) {
        const char *host = hostlist_nth(mine, i);
        if (hostlist_text_contains(hosts, host) <= 0)
            continue;
        named++;
        /* the node's place in R at start is its tasks' FLUX_TASK_NODEID */
        int nodeid = -1;
        for (size_t k = 0; k < hostlist_count(start) && nodeid < 0; k++)
            if (!strcmp(hostlist_nth(start, k), host))
                nodeid = (int)k;
        int active = nodeid < 0 ? -EOPNOTSUPP : executor_node_active(m->exec, job->id, nodeid);
        if (active == -EOPNOTSUPP)
            rc = errmsg_set(err, -EOPNOTSUPP, "release: this executor cannot tell which "
                            "nodes' tasks have ended");
        else if (active != 0)
            rc = errmsg_set(err, -EBUSY, "release: tasks of the job still run on %s (signal "
                            "them, or wait for them to end)", hostlist_nth(mine, i));
    }
    if (rc == 0 && named == 0)
        rc = errmsg_set(err, -EINVAL, "release: the job holds none of '%.60s'", hosts);
    if (rc == 0 && mine && named == hostlist_count(mine))
        rc = errmsg_set(err, -EINVAL, "release: that is every node of the job (cancel it, "
                        "or let it end)");
    if (rc == 0) {
        /* the ranks released, for the eventlog (RFC 21 release, not final):
         * the job's nodes that were named */
        struct idset *ranks = idset_create(0);
        for (int u = 0; ranks && u < graph_nvertices(m->graph); u++) {
            const struct graph_vertex *x = graph_vertex(m->graph, u);
            bool held = false;
            for (size_t k = 0; mine && k < hostlist_count(mine) && !held; k++)
                held = !strcmp(hostlist_nth(mine, k), x->name ? x->name : "");
            if (held && !strcmp(graph_type_name(m->graph, x->type), "node") && x->rank >= 0
                && hostlist_text_contains(hosts, x->name) > 0)
                idset_set(ranks, (unsigned)x->rank);
        }
        struct release_ctx c = { .hosts = hosts };
        bool full = false;
        struct matcher *mt = qmgr_matcher(m->q);
        rc = match_release(mt, job->id, host_named, &c, &full);
        const struct match_alloc *a = match_lookup(mt, job->id);
        if (rc == -EBUSY)
            rc = errmsg_set(err, rc, "release: the job holds a vertex above those nodes "
                            "whole (exclusive)");
        else if (rc < 0 || full || !a || c.n == 0)
            rc = errmsg_set(err, rc < 0 ? rc : -EIO, "release: the scheduler could not "
                            "release them");
        else {
            json_t *ex = json_object_get(R, "execution");
            jm_job_set_R(m, job, a, json_number_value(json_object_get(ex, "starttime")),
                         json_number_value(json_object_get(ex, "expiration")), NULL);
            if (m->cfg.share)   /* followers mirror what it holds now */
                jm_share_holds(m, job, a);
            char *text = ranks ? idset_encode(ranks) : NULL;
            jm_post_event(m, job, "release", json_pack("{s:s s:b}", "ranks", text ? text : "",
                                                      "final", 0));
            free(text);
            jm_notify(m, job, JOBMGR_STATE, 0);
            m->sched_needed = true;   /* queued jobs may use them now */
        }
        idset_destroy(ranks);
    }
    hostlist_destroy(mine);
    hostlist_destroy(start);
    json_decref(R);
    return rc;
}

static void ctl_set_urgency(struct jobmgr *m, struct job *job, uid_t uid, int urgency)
{
    job->urgency = urgency;
    if (job->state == JOB_SCHED)
        qmgr_set_urgency(m->q, job->id, job->urgency);
    m->sched_needed = true;
    jm_post_event(m, job, "urgency", json_pack("{s:i s:i}", "userid", (int)uid,
                                             "urgency", job->urgency));
    if (job->state == JOB_SCHED)
        jm_job_prioritize(m, job);
    else   /* in DEPEND, the priority it would get now */
        jm_post_event(m, job, "priority", json_pack("{s:I}", "priority",
                                                   (json_int_t)jm_prio_of(m, job, NULL)));
    jm_notify(m, job, JOBMGR_STATE, 0);
}

/* Apply a checked op: it cannot fail. */
static void ctl_apply(struct jobmgr *m, struct job *job, uid_t uid, const struct ctl_op *op)
{
    switch (op->verb) {
    case CTL_CANCEL:
        ctl_cancel(m, job, uid, NULL);
        return;
    case CTL_SIGNAL:
        /* checked running: a task that exits meanwhile is no error, as
         * for kill(2) on a process that just died */
        executor_signal(m->exec, job->id, op->arg);
        return;
    case CTL_URGENCY:
        ctl_set_urgency(m, job, uid, op->arg);
        return;
    case CTL_SHUTDOWN:
    case CTL_RELEASE:
        return;
    }
}

/* Lines holding more than blanks. */
static int count_lines(const char *s)
{
    int n = 0;
    bool blank = true;
    for (; *s; s++) {
        if (*s == '\n') {
            n += !blank;
            blank = true;
        } else if (*s != ' ' && *s != '\t')
            blank = false;
    }
    return n + !blank;
}

/* The reason for a bad line; its number when the write holds several. */
static int ctl_line_error(struct errmsg *err, int rc, int lineno, int nlines,
                          const struct errmsg *why)
{
    if (nlines > 1)
        return errmsg_set(err, rc, "line %d: %s", lineno, why->text);
    return errmsg_set(err, rc, "%s", why->text);
}

int jobmgr_ctl(struct jobmgr *m, struct job *job, uid_t uid, const char *text, size_t len,
               struct errmsg *err)
{
    char buf[4097];
    struct ctl_op ops[sizeof(buf) / 2];   /* a line is at least "x\n" */
    struct errmsg why = { "" };
    int n = 0, nlines = 0, lineno = 0, rc;

    if (!jobmgr_may_control(m, job, uid))
        return errmsg_set(err, -EPERM, "job '%s' belongs to user %d", job->idstr, (int)job->uid);
    if (len > 4096)
        return errmsg_set(err, -E2BIG, "control text too long");
    memcpy(buf, text, len);
    buf[len] = '\0';
    nlines = count_lines(buf);
    /* every line is parsed, then checked against the state the lines
     * before it leave, before any takes effect: a write that fails
     * changed nothing */
    for (char *line = buf, *next; line; line = next) {
        if ((next = strchr(line, '\n')))
            *next++ = '\0';
        lineno++;
        if ((rc = ctl_parse(m, uid, line, &ops[n], &why)) < 0)
            return ctl_line_error(err, rc, lineno, nlines, &why);
        if (rc > 0)
            ops[n++].lineno = lineno;
    }
    enum job_state st = job->state;
    for (int i = 0; i < n; i++) {
        /* a nested instance's shutdown is checked only as it is done */
        if ((ops[i].verb == CTL_SHUTDOWN || ops[i].verb == CTL_RELEASE) && n > 1)
            return ctl_line_error(err, -EINVAL, ops[i].lineno, nlines,
                                  &(struct errmsg){ "shutdown and release must be written "
                                                    "alone" });
        if ((rc = ctl_check(job, &ops[i], &st, &why)) < 0)
            return ctl_line_error(err, rc, ops[i].lineno, nlines, &why);
    }
    if (n == 1 && ops[0].verb == CTL_RELEASE)
        return ctl_release(m, job, ops[0].name, err);
    if (n == 1 && ops[0].verb == CTL_SHUTDOWN) {
        if (!m->hooks || !m->hooks->nest_shutdown)
            return errmsg_set(err, -ENOTSUP, "no nested instances here");
        return m->hooks->nest_shutdown(m->hooks_arg, job, ops[0].name, uid, ops[0].force, err);
    }
    for (int i = 0; i < n; i++)
        ctl_apply(m, job, uid, &ops[i]);
    return 0;
}

/* Running jobs holding anything at or beneath v get exception type
 * "resource" and are terminated: their node is gone. Every job using
 * something beneath v holds v itself (shared at least); one holding an
 * ancestor whole (a node under lonodex) has v too. */
static void fail_jobs_beneath(struct jobmgr *m, int v, const char *type, const char *what)
{
    for (int u = v; u >= 0; u = graph_vertex(m->graph, u)->parent) {
        const struct graph_vertex *x = graph_vertex(m->graph, u);
        for (int i = 0; i < x->nholds; i++) {
            struct job *job = jobmgr_lookup(m, x->holds[i].job);
            if (u != v && x->holds[i].kind != GRAPH_HOLD_X)
                continue;
            if (!job || job->state != JOB_RUN || job->canceling)
                continue;
            jm_job_terminate(m, job, type, m->owner, what, RESULT_FAILED);
        }
    }
}

/* After resources went down or came back: a pending job that only down
 * ones could run says so in its eventlog (a "memo": it stays pending, as
 * the node may return), and says so again when it could run once more. */
#define WAIT_SHAPES 64   /* request shapes remembered in one pass */

void jm_job_waits(struct jobmgr *m, struct job *job, bool waits)
{
    if (waits == job->waits_down)
        return;
    job->waits_down = waits;
    jm_post_event(m, job, "memo", waits
        ? json_pack("{s:s}", "pending", "only resources that are down, drained or offline "
                    "now could run it (see resources/): it stays pending until they are up")
        : json_pack("{s:n}", "pending"));
}

void jm_check_new_job(struct jobmgr *m, struct job *job)
{
    struct errmsg err = { "" };
    if (job->js && job->js->rs && resources_any_unavailable(m->res))
        jm_job_waits(m, job, qmgr_satisfiable_up(m->q, job->js->rs, &err) < 0);
}

void jm_check_waiting(struct jobmgr *m)
{
    /* jobs ask for a few shapes of resources: one search per shape (its
     * resources and constraints), not per job */
    struct { char *key; bool waits; } seen[WAIT_SHAPES];
    int nseen = 0;
    m->down_check = false;
    for (struct job *job = jobmgr_next(m, 1); job; job = jobmgr_next(m, job->seq + 1)) {
        if (job->state != JOB_SCHED || !job->js || !job->js->rs)
            continue;
        struct errmsg err = { "" };
        json_t *shape = json_pack("{s:O? s:O?}", "r", json_object_get(job->js->rs->json,
                                  "resources"), "c", job->js->rs->constraints);
        char *key = shape ? json_dumps(shape, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(shape);
        int i = 0;
        while (key && i < nseen && strcmp(seen[i].key, key))
            i++;
        bool waits = key && i < nseen ? seen[i].waits
                   : qmgr_satisfiable_up(m->q, job->js->rs, &err) < 0;
        if (key && i == nseen && nseen < WAIT_SHAPES) {
            seen[nseen].key = key;
            seen[nseen++].waits = waits;
            key = NULL;
        }
        free(key);
        jm_job_waits(m, job, waits);
    }
    while (nseen > 0)
        free(seen[--nseen].key);
}

/* A vertex went down: the jobs on it fail. */
void jm_on_resource_down(void *arg, int v, const char *path, const char *lost)
{
    struct jobmgr *m = arg;
    char what[1100];
    /* a lost broker's node is Flux's "node-failure"; an operator's down a
     * "resource" exception */
    if (lost)
        snprintf(what, sizeof(what), "node %s was lost: %s", graph_vertex(m->graph, v)->name,
                 lost);
    else
        snprintf(what, sizeof(what), "resource %s went down", path);
    fail_jobs_beneath(m, v, lost ? "node-failure" : "resource", what);
    m->sched_needed = true;
}

int jobmgr_resource_ctl(struct jobmgr *m, uid_t uid, const char *text, size_t len,
                        struct errmsg *err)
{
    if (uid != 0 && uid != m->owner)
        return errmsg_set(err, -EPERM, "only the instance owner may change resources");
    if (m->cfg.read_only)
        return errmsg_set(err, -EROFS, "this instance has ended: it is read-only");
    int rc = resources_ctl(m->res, text, len, err);
    if (rc == 0)
        m->sched_needed = m->down_check = true;
    return rc;
}


/* ---- nodes of a multi-node instance (overlay) ---- */

/* The node vertex of broker rank, or -ENOENT. */
static int node_vertex(struct jobmgr *m, int rank)
{
    int node_type = graph_lookup_type(m->graph, "node");
    for (int v = 0; v < graph_nvertices(m->graph); v++) {
        const struct graph_vertex *x = graph_vertex(m->graph, v);
        if (x->type == node_type && x->rank == rank)
            return v;
    }
    return -ENOENT;
}

/* The leader's record of its offline nodes, {"RANK": "why"}, shared with
 * the followers (their resources/ shows the same). */
static void share_offline(struct jobmgr *m, int rank, const char *why)
{
    char key[16], *text;
    if (!m->cfg.share)
        return;
    if (!m->offline && !(m->offline = json_object()))
        return;
    snprintf(key, sizeof(key), "%d", rank);
    json_t *was = json_object_get(m->offline, key);
    if (why ? was && !strcmp(json_string_value(was), why) : !was)
        return;
    if (why)
        json_object_set_new(m->offline, key, json_string(why));
    else
        json_object_del(m->offline, key);
    if (!(text = json_dumps(m->offline, JSON_COMPACT | JSON_SORT_KEYS))
        || store_shared_put(m->st, "offline", text, strlen(text)) < 0)
        syslog(LOG_ERR, "cannot record the state of rank %d", rank);
    free(text);
}

int jobmgr_node_offline(struct jobmgr *m, int rank, const char *why)
{
    int v = node_vertex(m, rank);
    if (v < 0)
        return v;
    int rc = resources_set_online(m->res, v, false, why);
    share_offline(m, rank, why ? why : "not joined");
    m->sched_needed = m->down_check = true;
    return rc;
}

void jobmgr_share_node(struct jobmgr *m, int rank)
{
    int i = rgraph_find_rank(m->g, rank);
    json_t *o = i >= 0 ? rgraph_node_to_json(rgraph_node(m->g, i)) : NULL;
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    char key[32];
    snprintf(key, sizeof(key), "node.%d", rank);
    if (!text || store_shared_put(m->st, key, text, strlen(text)) < 0)
        syslog(LOG_ERR, "cannot record the resources of rank %d", rank);
    free(text);
    json_decref(o);
}

/* A node's first word: its vertices join the graph, after everything else,
 * so no vertex or allocation changes number. */
static int node_fill(struct jobmgr *m, int i, int v, int rank, const struct rgraph_node *res,
                     struct errmsg *err)
{
    int rc = rgraph_fill_node(m->g, i, res);
    if (rc == 0)
        rc = rgraph_node_vertices(m->g, i, m->graph, v, err);
    if (rc == 0)
        rc = graph_finalize(m->graph, err);
    if (rc == 0)
        rc = match_graph_grown(qmgr_matcher(m->q));
    if (rc < 0)
        return errmsg_set(err, rc, "cannot add the resources of rank %d: %s", rank,
                          err->text[0] ? err->text : strerror(-rc));
    return 0;
}

void jobmgr_replica_shared(struct jobmgr *m)
{
    struct errmsg err = { "" };
    jm_queues_reload(m);
    jm_prio_reload(m);
    char key[32], *text = NULL;
    size_t len;
    json_t *off = store_shared_get(m->st, "offline", &text, &len) == 0
                  ? json_loads(text, 0, NULL) : NULL;
    free(text);
    text = NULL;
    for (int i = 0; i < rgraph_nnodes(m->g); i++) {
        int rank = rgraph_node(m->g, i)->rank, v = node_vertex(m, rank);
        const struct rgraph_node *have = rgraph_node(m->g, i);
        struct rgraph_node node = { 0 };
        snprintf(key, sizeof(key), "node.%d", rank);
        if (v < 0)
            continue;
        /* the nodes the leader has heard from since, as it added them */
        json_t *o = have->ncores == 0 && have->ngpus == 0
                    && store_shared_get(m->st, key, &text, &len) == 0
                    ? json_loads(text, 0, NULL) : NULL;
        free(text);
        text = NULL;
        if (o && (rgraph_node_from_json(o, &node, &err) < 0
                  || node_fill(m, i, v, rank, &node, &err) < 0))
            syslog(LOG_ERR, "replica: node of rank %d: %s", rank, err.text);
        rgraph_node_release(&node);
        json_decref(o);
        /* offline as the leader says (no why: the leader fails the jobs) */
        snprintf(key, sizeof(key), "%d", rank);
        resources_set_online(m->res, v, !json_object_get(off, key), NULL);
    }
    json_decref(off);
    resources_reload(m->res);
}

int jobmgr_node_joined(struct jobmgr *m, int rank, const struct rgraph_node *res,
                       struct errmsg *err)
{
    int i = rgraph_find_rank(m->g, rank);
    int v = node_vertex(m, rank);
    if (i < 0 || v < 0)
        return errmsg_set(err, -ENOENT, "no node of rank %d in the instance's resources", rank);
    const struct rgraph_node *have = rgraph_node(m->g, i);
    if (have->ncores == 0 && have->ngpus == 0 && (res->ncores > 0 || res->ngpus > 0)) {
        int rc = node_fill(m, i, v, rank, res, err);
        if (rc < 0)
            return rc;
        /* known from now on, across restarts: pending jobs that need the
         * node stay satisfiable while it is away (broker.c reads it back) */
        jobmgr_share_node(m, rank);
    } else if (have->ncores != res->ncores || have->ngpus != res->ngpus) {
        syslog(LOG_WARNING, "node %s (rank %d) reports %d cores and %d gpus, the instance "
               "knew %d and %d: scheduling keeps the ones it knew", have->name, rank,
               res->ncores, res->ngpus, have->ncores, have->ngpus);
    } else {
        /* same cores: take its cpu map (where tasks are bound) */
        bool same = true;
        for (int k = 0; k < res->ncores; k++)
            same &= have->core_ids[k] == res->core_ids[k];
        if (same)
            rgraph_fill_node(m->g, i, res);
    }
    resources_set_online(m->res, v, true, NULL);
    share_offline(m, rank, NULL);
    m->sched_needed = m->down_check = true;
    return 0;
}
