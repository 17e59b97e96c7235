/* resource.c - vertex status (up, down, drained): resources/ctl, its
 * record in the store, and the free counts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <jansson.h>

#include "fsd/resource.h"

struct resources;
static void unavail_refresh(struct resources *r);

struct resources {
    struct graph *graph;
    struct store *st;
    struct qmgr *q;
    resources_down_f down;
    void *arg;
    uint8_t *offline;            /* by vertex: its broker has not joined (overlay) */
    int noffline;                /* vertices the array covers */
    bool status_unsaved;         /* status written, its commit not yet done */
    bool status_resave;          /* its commit failed: write it again */
    /* The topmost vertices that are not up (free counts leave out what is
     * beneath them): found again only after a status changed, not at
     * every read of status or summary. */
    int *unavail;
    int nunavail;
    bool unavail_stale;
};

/* Every status change goes through here. */
static void set_status(struct resources *r, int v, enum graph_status st)
{
    graph_set_status(r->graph, v, st);
    r->unavail_stale = true;
}

/* Vertices that are not up, as {"PATH": "down"|"drained"} in the store's
 * meta table, so an operator's drain survives a restart. Written into the
 * open transaction; resources_after_commit() has it written again at the next
 * iteration if that transaction did not commit. 0 or -errno. */
static int save_status(struct resources *r)
{
    json_t *o = json_object();
    char path[1024];
    int rc = o ? 0 : -ENOMEM;
    for (int v = 0; rc == 0 && v < graph_nvertices(r->graph); v++) {
        const struct graph_vertex *x = graph_vertex(r->graph, v);
        if (x->status == GRAPH_UP)
            continue;
        /* down because its broker is away: not an operator's choice */
        if (x->status == GRAPH_DOWN && v < r->noffline && r->offline[v])
            continue;
        if (graph_path(r->graph, v, path, sizeof(path)) < 0)
            rc = -ENAMETOOLONG;
        else if (json_object_set_new(o, path, json_string(x->status == GRAPH_DOWN ? "down"
                                                                              : "drained")))
            rc = -ENOMEM;
    }
    char *text = rc == 0 ? json_dumps(o, JSON_COMPACT) : NULL;
    if (rc == 0)
        rc = text ? store_shared_put(r->st, "resource-status", text, strlen(text)) : -ENOMEM;
    if (rc < 0)
        syslog(LOG_ERR, "cannot record resource status: %s", strerror(-rc));
    else
        r->status_unsaved = true;   /* until its transaction commits */
    free(text);
    json_decref(o);
    return rc;
}

/* The resource status a previous run saved, whatever its size: shared
 * with every broker of the instance (releases before 0.9 kept it in meta). */
static void load_status(struct resources *r)
{
    size_t len = 0, got = 0;
    char *buf = NULL;
    int rc = store_shared_get(r->st, "resource-status", &buf, &len);
    if (rc == -ENOENT) {
        if ((rc = store_meta_get(r->st, "resource-status", NULL, 0, &len)) == -ENOENT)
            return;
        buf = rc == 0 ? malloc(len + 1) : NULL;
        if (rc == 0 && !buf)
            rc = -ENOMEM;
        if (rc == 0)
            rc = store_meta_get(r->st, "resource-status", buf, len, &got);
        if (rc == 0 && got != len)
            rc = -EIO;   /* nothing else writes the store meanwhile */
    }
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
        int v = graph_find_path(r->graph, path);
        const char *s = json_string_value(st);
        if (v >= 0 && s)
            set_status(r, v, !strcmp(s, "down") ? GRAPH_DOWN : GRAPH_DRAINED);
        else
            syslog(LOG_WARNING, "resource %s from a previous run is not in the graph", path);
    }
    json_decref(o);
}

/* One line of resources/ctl: its vertex and the status it asks for. */
static int ctl_parse(struct resources *r, const char *line, int *vp,
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
    int v = graph_find_path(r->graph, path);
    if (v < 0) {
        /* a bare vertex name (a node's host name) is enough when unique */
        for (int u = 0; u < graph_nvertices(r->graph); u++) {
            if (strcmp(graph_vertex(r->graph, u)->name, path))
                continue;
            if (v >= 0)
                return errmsg_set(err, -EINVAL, "'%s' names several vertices: "
                                  "give its path", path);
            v = u;
        }
    }
    if (v < 0)
        return errmsg_set(err, -ENOENT, "no resource '%s'", path);
    for (int u = v; st == GRAPH_UP && u >= 0; u = graph_vertex(r->graph, u)->parent)
        if (u < r->noffline && r->offline[u])
            return errmsg_set(err, -EHOSTDOWN, "'%s': the broker of %s has not joined", path,
                              graph_vertex(r->graph, u)->name);
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
int resources_ctl(struct resources *r, const char *text, size_t len, struct errmsg *err)
{
    char buf[4096];
    struct status_change ch[sizeof(buf) / 4];   /* a line is at least "up x" */
    struct errmsg why = { "" };
    int n = 0, nlines = 0, lineno = 0, rc;
    if (len >= sizeof(buf))
        return errmsg_set(err, -E2BIG, "control text too long");
    memcpy(buf, text, len);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++)
        nlines += buf[i] == '\n' && i > 0 && buf[i - 1] != '\n';
    nlines += len > 0 && buf[len - 1] != '\n';
    for (char *line = buf, *next; line; line = next) {
        if ((next = strchr(line, '\n')))
            *next++ = '\0';
        lineno++;
        if (!*line)
            continue;
        if ((rc = ctl_parse(r, line, &ch[n].v, &ch[n].st, &why)) < 0)
            return nlines > 1 ? errmsg_set(err, rc, "line %d: %s", lineno, why.text)
                              : errmsg_set(err, rc, "%s", why.text);
        n++;
    }
    for (int i = 0; i < n; i++) {
        ch[i].old = graph_vertex(r->graph, ch[i].v)->status;
        set_status(r, ch[i].v, ch[i].st);
    }
    if ((rc = save_status(r)) < 0) {
        for (int i = n - 1; i >= 0; i--)
            set_status(r, ch[i].v, ch[i].old);
        return errmsg_set(err, rc, "cannot record the resource status: %s", strerror(-rc));
    }
    for (int i = 0; i < n; i++) {
        char path[1024];
        if (graph_path(r->graph, ch[i].v, path, sizeof(path)) < 0)
            snprintf(path, sizeof(path), "%s", graph_vertex(r->graph, ch[i].v)->name);
        syslog(LOG_INFO, "resource %s is now %s", path, ch[i].st == GRAPH_UP ? "up"
                         : ch[i].st == GRAPH_DOWN ? "down" : "drained");
        if (ch[i].st == GRAPH_DOWN && r->down)
            r->down(r->arg, ch[i].v, path, NULL);
    }
    return 0;
}


struct resources *resources_create(struct graph *graph, struct store *st, struct qmgr *q,
                                   resources_down_f down, void *arg)
{
    struct resources *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->graph = graph;
    r->st = st;
    r->q = q;
    r->down = down;
    r->arg = arg;
    r->unavail_stale = true;
    load_status(r);
    return r;
}

void resources_destroy(struct resources *r)
{
    if (r) {
        free(r->offline);
        free(r->unavail);
    }
    free(r);
}

int resources_set_online(struct resources *r, int v, bool online, const char *why)
{
    const struct graph_vertex *x = graph_vertex(r->graph, v);
    if (!x)
        return -EINVAL;
    if (v >= r->noffline) {
        int n = graph_nvertices(r->graph);
        uint8_t *o = realloc(r->offline, (size_t)n);
        if (!o)
            return -ENOMEM;
        memset(o + r->noffline, 0, (size_t)(n - r->noffline));
        r->offline = o;
        r->noffline = n;
    }
    bool was = r->offline[v];
    r->offline[v] = !online;
    if (online && was && x->status == GRAPH_DOWN) {
        set_status(r, v, GRAPH_UP);
    } else if (!online && x->status == GRAPH_UP) {
        char path[1024];
        set_status(r, v, GRAPH_DOWN);
        if (graph_path(r->graph, v, path, sizeof(path)) < 0)
            snprintf(path, sizeof(path), "%s", x->name);
        if (was || !why)
            return 0;
        syslog(LOG_WARNING, "resource %s is down: %s", path, why);
        if (r->down)
            r->down(r->arg, v, path, why);
    }
    return 0;
}

void resources_reload(struct resources *r)
{
    for (int v = 0; v < graph_nvertices(r->graph); v++)
        if (graph_vertex(r->graph, v)->status != GRAPH_UP && resources_online(r, v))
            set_status(r, v, GRAPH_UP);
    load_status(r);
}

bool resources_any_unavailable(struct resources *r)
{
    if (r->unavail_stale)
        unavail_refresh(r);
    return r->nunavail > 0;
}

bool resources_online(const struct resources *r, int v)
{
    return !(v >= 0 && v < r->noffline && r->offline[v]);
}

void resources_prepare_commit(struct resources *r)
{
    if (r && r->status_resave && save_status(r) == 0)
        r->status_resave = false;
}

void resources_after_commit(struct resources *r, int commit_rc)
{
    if (!r || !r->status_unsaved)
        return;
    r->status_unsaved = false;
    if (commit_rc < 0) {
        /* an operator's drain must not vanish at the next restart:
         * written again at the next iteration, or at shutdown */
        syslog(LOG_ERR, "resource status not committed (%s): writing it again",
               strerror(-commit_rc));
        r->status_resave = true;
    }
}

bool resources_hold_reserved(struct resources *r, const struct graph_hold *h, int64_t now)
{
    const struct match_alloc *a = qmgr_lookup(r->q, h->job);
    return h->start > now || (a && a->reserved);
}

/* Every job holds the root (shared at least) and the hold's agg counts what
 * it takes beneath, so the root's holds say it all. A reservation takes
 * nothing yet; a running job past its expected end still holds until it is
 * released, so a hold's end is not compared with now. */
/* Units of a beneath vertex v that no job holds now (v's own holds, as
 * the root's say it for the whole graph). */
static int64_t unheld_units(struct resources *r, const struct graph_vertex *v, int a,
                            int64_t now)
{
    int64_t n = v->total[a];
    for (int i = 0; i < v->nholds; i++) {
        const struct graph_hold *h = &v->holds[i];
        if (resources_hold_reserved(r, h, now))
            continue;
        n -= h->kind == GRAPH_HOLD_X ? v->total[a] : h->agg[a];
    }
    return n > 0 ? n : 0;
}

/* The topmost vertices that are not up, found again after a change. */
static void unavail_refresh(struct resources *r)
{
    int nv = graph_nvertices(r->graph);
    int *list = realloc(r->unavail, (size_t)(nv > 0 ? nv : 1) * sizeof(int));
    if (!list)
        return;   /* stale stays set: tried again at the next read */
    r->unavail = list;
    r->nunavail = 0;
    for (int v = 1; v < nv; v++) {
        const struct graph_vertex *gv = graph_vertex(r->graph, v);
        if (gv->status == GRAPH_UP)
            continue;
        bool topmost = true;   /* each unavailable subtree once */
        for (int p = gv->parent; p > 0 && topmost; p = graph_vertex(r->graph, p)->parent)
            topmost = graph_vertex(r->graph, p)->status == GRAPH_UP;
        if (topmost)
            list[r->nunavail++] = v;
    }
    r->unavail_stale = false;
}

/* Free: not held, and not beneath a vertex that is down, drained or
 * offline (a node whose broker is lost has no free cores to offer). */
int resources_free_units(struct resources *r, int a, int64_t now)
{
    int64_t n = unheld_units(r, graph_vertex(r->graph, 0), a, now);
    if (r->unavail_stale)
        unavail_refresh(r);
    for (int i = 0; i < r->nunavail; i++)
        n -= unheld_units(r, graph_vertex(r->graph, r->unavail[i]), a, now);
    return n > 0 ? (int)n : 0;
}
