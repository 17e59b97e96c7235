/* vfs_resources.c - resources/: the resource graph as a tree.
 *
 *   resources/R              the whole instance, RFC 20 R
 *   resources/summary        key: value totals
 *   resources/ctl            write "up|down|drain PATH" (instance owner)
 *   resources/allocations    one line per vertex held or not up:
 *                            PATH TYPE STATUS [JOB KIND START END]...
 *   resources/<root>/...     the containment tree: a vertex with children is
 *                            a directory of them plus a file `state`; a leaf
 *                            is a file. Either reads "TYPE STATUS", then one
 *                            line per hold: JOBID KIND START END [reserved].
 *
 * The graph's shape never changes after startup, so a vertex's inode and
 * directory cookie are computed from its index (vfs_private.h): nothing is
 * allocated per vertex, and a listing resumes at the next sibling directly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/fluid.h"
#include "fsd/vfs/vfs_private.h"

/* Directory cookies of a vertex directory: ".", "..", "state", then each
 * child c at RES_COOKIE_CHILD + c (its vertex index, not its ordinal). */
#define RES_COOKIE_STATE 3
#define RES_COOKIE_CHILD 4

static fuse_ino_t vertex_ino(int x)
{
    return VFS_INO(VK_RES, (fuse_ino_t)x + 1);
}

static fuse_ino_t state_ino(int x)
{
    return VFS_INO(VK_RES, VFS_RES_STATE | ((fuse_ino_t)x + 1));
}

/* The vertex a resource inode names, with *state true for a directory's
 * state file; -1 if it names nothing. */
static int res_vertex(struct vfs *v, fuse_ino_t ino, bool *state)
{
    const struct graph *g = jobmgr_graph(v->m);
    uint64_t num = VFS_NUM(ino);
    *state = (num & VFS_RES_STATE) != 0;
    num &= ~VFS_RES_STATE;
    if (num == 0 || num > (uint64_t)graph_nvertices(g))
        return -1;
    int x = (int)(num - 1);
    if (*state && graph_vertex(g, x)->nchildren == 0)
        return -1;
    return x;
}

static bool is_dir(struct vfs *v, int x)
{
    return graph_vertex(jobmgr_graph(v->m), x)->nchildren > 0;
}

static const char *status_name(int st)
{
    return st == GRAPH_DOWN ? "down" : st == GRAPH_DRAINED ? "drained" : "up";
}

/* A pending job's reservation, not an allocation in force: the same test
 * jobmgr_free_cores() makes, so summary and the tree agree. */
static bool hold_reserved(struct vfs *v, const struct graph_hold *h)
{
    return jobmgr_hold_reserved(v->m, h);
}

static void add_jobid(struct vfs *v, struct strbuf *sb, uint64_t id)
{
    struct job *job = jobmgr_lookup(v->m, id);
    char buf[FLUID_STR_MAX];
    if (job)
        strbuf_addstr(sb, job_get_idstr(job));
    else if (fluid_encode(id, buf, sizeof(buf)) == 0)
        strbuf_addstr(sb, buf);
    else
        strbuf_addf(sb, "%llu", (unsigned long long)id);
}

/* "JOBID KIND START END[ reserved]\n"; kind NULL: the hold's own kind. */
static void add_hold(struct vfs *v, struct strbuf *sb, const struct graph_hold *h,
                     const char *kind)
{
    add_jobid(v, sb, h->job);
    if (kind)
        strbuf_addf(sb, " %s", kind);
    else if (h->kind == GRAPH_HOLD_P)
        strbuf_addf(sb, " pool:%lld", (long long)h->amount);
    else
        strbuf_addstr(sb, h->kind == GRAPH_HOLD_X ? " exclusive" : " shared");
    strbuf_addf(sb, " %lld ", (long long)h->start);
    if (h->end >= GRAPH_FOREVER)
        strbuf_addstr(sb, "inf");
    else
        strbuf_addf(sb, "%lld", (long long)h->end);
    strbuf_addstr(sb, hold_reserved(v, h) ? " reserved\n" : "\n");
}

struct render_ctx {
    struct vfs *v;
    struct strbuf *sb;
};

static void render_hold(void *arg, const struct graph_hold *h, bool own)
{
    struct render_ctx *c = arg;
    add_hold(c->v, c->sb, h, own ? NULL : "exclusive-ancestor");
}

/* A vertex's state: its type and own status, its holds, then the jobs that
 * hold an ancestor exclusively (and so block it), nearest ancestor first. */
static void render_vertex(struct vfs *v, int x, struct strbuf *sb)
{
    const struct graph *g = jobmgr_graph(v->m);
    const struct graph_vertex *vx = graph_vertex(g, x);
    struct render_ctx c = { v, sb };
    strbuf_addf(sb, "%s %s\n", graph_type_name(g, vx->type), status_name(vx->status));
    graph_blockers(g, x, render_hold, &c);
}

/* The vertex after i in containment pre-order (parents before children,
 * siblings as added), or -1: the same order whatever the vertices' numbers,
 * which differ between a leader and its followers (nodes join in any order). */
static int preorder_next(const struct graph *g, int i)
{
    const struct graph_vertex *x = graph_vertex(g, i);
    if (x->first_child >= 0)
        return x->first_child;
    for (; i >= 0; i = graph_vertex(g, i)->parent)
        if (graph_vertex(g, i)->next_sibling >= 0)
            return graph_vertex(g, i)->next_sibling;
    return -1;
}

/* Every vertex that is held or not up, with its holds: which job, how
 * (x exclusive, s shared, p pool units), over which window; a hold that
 * starts in the future is a reservation. */
static int render_allocations(struct vfs *v, struct strbuf *sb)
{
    struct graph *g = jobmgr_graph(v->m);
    const struct match_alloc *a;
    char path[1024];
    double now = ev_now(v->loop);
    for (int i = graph_nvertices(g) > 0 ? 0 : -1; i >= 0; i = preorder_next(g, i)) {
        const struct graph_vertex *x = graph_vertex(g, i);
        if (x->nholds == 0 && x->status == GRAPH_UP)
            continue;
        if (graph_path(g, i, path, sizeof(path)) < 0)
            continue;
        strbuf_addf(sb, "%s %s %s", path, graph_type_name(g, x->type),
                    status_name(x->status));
        for (int h = 0; h < x->nholds; h++) {
            const struct graph_hold *hd = &x->holds[h];
            struct job *job = jobmgr_lookup(v->m, hd->job);
            char kind = hd->kind == GRAPH_HOLD_X ? 'x' : hd->kind == GRAPH_HOLD_P ? 'p' : 's';
            a = qmgr_lookup(jobmgr_qmgr(v->m), hd->job);
            strbuf_addf(sb, " %s:%c", job ? job_get_idstr(job) : "?", kind);
            if (hd->kind == GRAPH_HOLD_P)
                strbuf_addf(sb, "%lld", (long long)hd->amount);
            strbuf_addf(sb, ":%lld-", (long long)hd->start);
            if (hd->end >= GRAPH_FOREVER)
                strbuf_addstr(sb, "inf");
            else
                strbuf_addf(sb, "%lld", (long long)hd->end);
            if (a && a->reserved && hd->start > (int64_t)now)
                strbuf_addstr(sb, ":reserved");
        }
        strbuf_addstr(sb, "\n");
    }
    return 0;
}

/* Bytes in one unit of a memory pool. Fluxion's pools say "GB" (meaning
 * GiB, as ghwloc.c rounds); a pool without a unit is taken to mean that. */
static uint64_t unit_bytes(const char *unit)
{
    static const struct { const char *name; int shift; } units[] = {
        {"B", 0}, {"KB", 10}, {"KiB", 10}, {"MB", 20}, {"MiB", 20},
        {"GB", 30}, {"GiB", 30}, {"TB", 40}, {"TiB", 40},
    };
    if (!unit)
        return 1ull << 30;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcasecmp(unit, units[i].name))
            return 1ull << units[i].shift;
    return 1;
}

/* Bytes in the graph's memory pools (0 if it has none). */
static uint64_t memory_bytes(const struct graph *g)
{
    int memory = graph_lookup_type(g, "memory");
    uint64_t bytes = 0;
    for (int i = 0; memory >= 0 && i < graph_nvertices(g); i++) {
        const struct graph_vertex *x = graph_vertex(g, i);
        if (x->type == memory)
            bytes += (uint64_t)x->size * unit_bytes(x->unit);
    }
    return bytes;
}

void vfs_res_totals(struct vfs *v, struct vfs_res_totals *t)
{
    const struct graph *g = jobmgr_graph(v->m);
    const struct graph_vertex *root = graph_vertex(g, 0);
    t->nodes = graph_count_type(g, graph_lookup_type(g, "node"));
    t->cores = root->total[0];
    t->gpus = root->total[1];
    t->cores_free = jobmgr_free_cores(v->m);
    t->gpus_free = jobmgr_free_gpus(v->m);
}

int vfs_res_render(struct vfs *v, fuse_ino_t ino, struct strbuf *sb)
{
    if (ino == VFS_I_RES_ALLOC)
        return render_allocations(v, sb);
    if (ino == VFS_I_RES_R) {
        json_t *R = jobmgr_resources_R(v->m);
        char *s = R ? json_dumps(R, JSON_COMPACT) : NULL;
        json_decref(R);
        if (!s)
            return -ENOMEM;
        strbuf_addf(sb, "%s\n", s);
        free(s);
        return 0;
    }
    if (ino == VFS_I_RES_SUMMARY) {
        const struct qmgr *q = jobmgr_qmgr(v->m);
        struct vfs_res_totals t;
        size_t pending = qmgr_pending(q), running = qmgr_running(q);
        if (v->forward) {   /* a follower: the queue is the leader's */
            pending = jobmgr_count(v->m, JOB_SCHED);
            running = jobmgr_count(v->m, JOB_RUN) + jobmgr_count(v->m, JOB_CLEANUP);
        }
        vfs_res_totals(v, &t);
        strbuf_addf(sb, "nodes: %lld\ncores: %lld\ncores-free: %lld\ngpus: %lld\n"
                        "gpus-free: %lld\nmemory: %llu\njobs-pending: %zu\njobs-running: %zu\n",
                    (long long)t.nodes, (long long)t.cores, (long long)t.cores_free,
                    (long long)t.gpus, (long long)t.gpus_free,
                    (unsigned long long)memory_bytes(jobmgr_graph(v->m)),
                    pending, running);
        return 0;
    }
    bool state;
    int x = res_vertex(v, ino, &state);
    if (x < 0)
        return -ENOENT;
    if (!state && is_dir(v, x))
        return -EISDIR;
    render_vertex(v, x, sb);
    return 0;
}

int vfs_res_stat(struct vfs *v, fuse_ino_t ino, struct stat *st)
{
    bool state;
    int x = res_vertex(v, ino, &state);
    if (x < 0)
        return -ENOENT;
    if (!state && is_dir(v, x)) {
        vfs_stat_dir(v, st, ino, v->owner, 0755, v->t_mount);
        return 0;
    }
    /* size must match what a read returns, so render it */
    struct strbuf sb = STRBUF_INIT;
    render_vertex(v, x, &sb);
    vfs_stat_file(v, st, ino, v->owner, 0444, sb.len, ev_now(v->loop));
    strbuf_release(&sb);
    return 0;
}

static void reply_vertex_entry(struct vfs *v, fuse_req_t req, fuse_ino_t ino)
{
    struct stat st;
    vfs_res_stat(v, ino, &st);
    /* names never change meaning; file attributes are not cached anyway */
    vfs_reply_entry(req, &st, VFS_TTL_FIXED);
}

void vfs_res_lookup(struct vfs *v, fuse_req_t req, fuse_ino_t parent, const char *name)
{
    const struct graph *g = jobmgr_graph(v->m);
    int dir = -1;          /* resources/ itself: the root vertex lives there */

    if (parent == VFS_I_RESOURCES) {
        static const struct { const char *name; fuse_ino_t ino; } files[] = {
            {"R", VFS_I_RES_R}, {"summary", VFS_I_RES_SUMMARY},
            {"ctl", VFS_I_RES_CTL}, {"allocations", VFS_I_RES_ALLOC},
        };
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            if (!strcmp(name, files[i].name)) {
                struct stat st;
                vfs_fixed_stat(v, files[i].ino, &st);
                vfs_reply_entry(req, &st, VFS_TTL_NONE);
                return;
            }
        }
    } else {
        bool state;
        if ((dir = res_vertex(v, parent, &state)) < 0) {
            fuse_reply_err(req, ENOENT);
            return;
        }
        if (state || !is_dir(v, dir)) {
            fuse_reply_err(req, ENOTDIR);
            return;
        }
        /* shadows a child named "state"; names are basename+id in practice */
        if (!strcmp(name, "state"))
            return reply_vertex_entry(v, req, state_ino(dir));
    }
    int x = graph_find_child(g, dir, name, strlen(name));
    if (x < 0) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    reply_vertex_entry(v, req, vertex_ino(x));
}

static void readdir_top(struct vfs *v, struct vfs_dirbuf *db, off_t off)
{
    const struct graph *g = jobmgr_graph(v->m);
    static const struct { const char *name; fuse_ino_t ino; } files[] = {
        {"R", VFS_I_RES_R}, {"summary", VFS_I_RES_SUMMARY},
        {"ctl", VFS_I_RES_CTL}, {"allocations", VFS_I_RES_ALLOC},
    };
    const int nfiles = (int)(sizeof(files) / sizeof(files[0]));
    if (off < 1 && !vfs_dirbuf_add(db, ".", VFS_I_RESOURCES, S_IFDIR, 1))
        return;
    if (off < 2 && !vfs_dirbuf_add(db, "..", VFS_I_ROOT, S_IFDIR, 2))
        return;
    for (int i = off > 2 ? (int)off - 2 : 0; i < nfiles; i++)
        if (!vfs_dirbuf_add(db, files[i].name, files[i].ino, S_IFREG, i + 3))
            return;
    if (off < nfiles + 3)
        vfs_dirbuf_add(db, graph_vertex(g, 0)->name, vertex_ino(0),
                       is_dir(v, 0) ? S_IFDIR : S_IFREG, nfiles + 3);
}

void vfs_res_readdir(struct vfs *v, struct vfs_dirbuf *db, fuse_ino_t ino, off_t off)
{
    const struct graph *g = jobmgr_graph(v->m);
    if (ino == VFS_I_RESOURCES)
        return readdir_top(v, db, off);
    bool state;
    int x = res_vertex(v, ino, &state);
    if (x < 0 || state || !is_dir(v, x))
        return;
    const struct graph_vertex *vx = graph_vertex(g, x);
    if (off < 1 && !vfs_dirbuf_add(db, ".", ino, S_IFDIR, 1))
        return;
    if (off < 2 && !vfs_dirbuf_add(db, "..", vx->parent >= 0 ? vertex_ino(vx->parent)
                                                           : VFS_I_RESOURCES, S_IFDIR, 2))
        return;
    if (off < RES_COOKIE_STATE && !vfs_dirbuf_add(db, "state", state_ino(x), S_IFREG,
                                                  RES_COOKIE_STATE))
        return;
    /* resume after the child the cookie names: no walk from the first child */
    int c = vx->first_child;
    if (off >= RES_COOKIE_CHILD) {
        off_t prev = off - RES_COOKIE_CHILD;
        if (prev >= graph_nvertices(g) || graph_vertex(g, (int)prev)->parent != x)
            return;
        c = graph_vertex(g, (int)prev)->next_sibling;
    }
    for (; c >= 0; c = graph_vertex(g, c)->next_sibling)
        if (!vfs_dirbuf_add(db, graph_vertex(g, c)->name, vertex_ino(c),
                            is_dir(v, c) ? S_IFDIR : S_IFREG, RES_COOKIE_CHILD + c))
            return;
}

void vfs_res_write(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, const char *buf,
                   size_t size)
{
    struct errmsg err = { "" };
    uid_t uid = fuse_req_ctx(req)->uid;
    if (v->forward_ctl) {
        vfs_forward_write(v, req, fh, 0, "resources/ctl", buf, size);   /* 0: resources/ctl */
        return;
    }
    /* the opener's authority (fh->uid); the reason goes to the writer */
    int rc = jobmgr_resource_ctl(v->m, fh->uid, buf, size, &err);
    if (rc < 0) {
        vfs_errlog_add(v, uid, "resources/ctl", -rc, err.text);
        fuse_reply_err(req, -rc);
        return;
    }
    fuse_reply_write(req, size);
}
