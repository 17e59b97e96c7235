/* vfs_resources.c - resources/: the instance's resources as a tree.
 *
 *   resources/R              the whole instance, RFC 20 R
 *   resources/summary        key: value totals
 *   resources/ctl            write "up|down|drain PATH" (instance owner)
 *   resources/allocations    one line per vertex held or not up:
 *                            PATH TYPE STATUS [JOB KIND START END]...
 *   resources/<node>/core<N> "free" or "allocated <jobid>"
 *   resources/<node>/gpu<N>  likewise
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsd/vfs/vfs_private.h"

static fuse_ino_t node_ino(int node, unsigned item)
{
    return VFS_INO(VK_RES, ((fuse_ino_t)node << 24) | item);
}

/* Decode a resource inode: node index and item; false if it names nothing. */
static bool res_decode(struct vfs *v, fuse_ino_t ino, int *node, unsigned *item,
                       const struct rgraph_node **gn)
{
    const struct rgraph *g = jobmgr_rgraph(v->m);
    *node = (int)(VFS_NUM(ino) >> 24);
    *item = (unsigned)(VFS_NUM(ino) & 0xffffff);
    if (*node >= rgraph_nnodes(g))
        return false;
    *gn = rgraph_node(g, *node);
    if (*item == 0)
        return true;
    if (*item >= VFS_RES_GPU_BASE)
        return (int)(*item - VFS_RES_GPU_BASE) < (*gn)->ngpus;
    return (int)(*item - 1) < (*gn)->ncores;
}

static void item_name(const struct rgraph_node *gn, unsigned item, char *buf, size_t size)
{
    if (item >= VFS_RES_GPU_BASE)
        snprintf(buf, size, "gpu%d", gn->gpu_ids[item - VFS_RES_GPU_BASE]);
    else
        snprintf(buf, size, "core%d", gn->core_ids[item - 1]);
}

static struct job *item_owner(struct vfs *v, int node, unsigned item)
{
    if (item >= VFS_RES_GPU_BASE)
        return jobmgr_gpu_owner(v->m, node, item - VFS_RES_GPU_BASE);
    return jobmgr_core_owner(v->m, node, item - 1);
}

static const char *status_name(int st)
{
    return st == GRAPH_DOWN ? "down" : st == GRAPH_DRAINED ? "drained" : "up";
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
    for (int i = 0; i < graph_nvertices(g); i++) {
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
            strbuf_addf(sb, " %s:%c", job ? job->idstr : "?", kind);
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

int vfs_res_render(struct vfs *v, fuse_ino_t ino, struct strbuf *sb)
{
    if (ino == VFS_I_RES_ALLOC)
        return render_allocations(v, sb);
    const struct rgraph *g = jobmgr_rgraph(v->m);
    if (ino == VFS_I_RES_R) {
        json_t *R = rgraph_to_R(g);
        char *s = R ? json_dumps(R, JSON_COMPACT) : NULL;
        json_decref(R);
        if (!s)
            return -ENOMEM;
        strbuf_addf(sb, "%s\n", s);
        free(s);
        return 0;
    }
    if (ino == VFS_I_RES_SUMMARY) {
        const struct qmgr *s = jobmgr_qmgr(v->m);
        int gpus = rgraph_total_gpus(g), gpus_free = 0;
        uint64_t mem = 0;
        for (int n = 0; n < rgraph_nnodes(g); n++) {
            const struct rgraph_node *gn = rgraph_node(g, n);
            mem += gn->memory;
            for (int i = 0; i < gn->ngpus; i++)
                gpus_free += jobmgr_gpu_owner(v->m, n, i) == NULL;
        }
        strbuf_addf(sb, "nodes: %d\ncores: %d\ncores-free: %d\ngpus: %d\ngpus-free: %d\n"
                        "memory: %llu\njobs-pending: %zu\njobs-running: %zu\n",
                    rgraph_nnodes(g), rgraph_total_cores(g), jobmgr_free_cores(v->m), gpus,
                    gpus_free, (unsigned long long)mem, qmgr_pending(s), qmgr_running(s));
        return 0;
    }
    int node;
    unsigned item;
    const struct rgraph_node *gn;
    if (!res_decode(v, ino, &node, &item, &gn))
        return -ENOENT;
    if (item == 0)
        return -EISDIR;
    struct job *job = item_owner(v, node, item);
    if (job)
        strbuf_addf(sb, "allocated %s\n", job->idstr);
    else
        strbuf_addstr(sb, "free\n");
    return 0;
}

int vfs_res_stat(struct vfs *v, fuse_ino_t ino, struct stat *st)
{
    int node;
    unsigned item;
    const struct rgraph_node *gn;
    if (!res_decode(v, ino, &node, &item, &gn))
        return -ENOENT;
    if (item == 0) {
        vfs_stat_dir(v, st, ino, v->owner, 0755, v->t_mount);
        return 0;
    }
    struct strbuf sb = STRBUF_INIT;
    vfs_res_render(v, ino, &sb);
    vfs_stat_file(v, st, ino, v->owner, 0444, sb.len, ev_now(v->loop));
    strbuf_release(&sb);
    return 0;
}

void vfs_res_lookup(struct vfs *v, fuse_req_t req, fuse_ino_t parent, const char *name)
{
    const struct rgraph *g = jobmgr_rgraph(v->m);
    struct stat st;

    if (parent == VFS_I_RESOURCES) {
        static const struct { const char *name; fuse_ino_t ino; } files[] = {
            {"R", VFS_I_RES_R}, {"summary", VFS_I_RES_SUMMARY},
            {"ctl", VFS_I_RES_CTL}, {"allocations", VFS_I_RES_ALLOC},
        };
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            if (!strcmp(name, files[i].name)) {
                vfs_fixed_stat(v, files[i].ino, &st);
                vfs_reply_entry(req, &st, VFS_TTL_NONE);
                return;
            }
        }
        for (int n = 0; n < rgraph_nnodes(g); n++) {
            if (strcmp(rgraph_node(g, n)->name, name) == 0) {
                vfs_res_stat(v, node_ino(n, 0), &st);
                vfs_reply_entry(req, &st, VFS_TTL_FIXED);
                return;
            }
        }
        fuse_reply_err(req, ENOENT);
        return;
    }
    int node;
    unsigned item;
    const struct rgraph_node *gn;
    if (!res_decode(v, parent, &node, &item, &gn) || item != 0) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    char buf[32];
    for (int i = 0; i < gn->ncores + gn->ngpus; i++) {
        unsigned it = i < gn->ncores ? 1u + (unsigned)i : VFS_RES_GPU_BASE + (unsigned)(i - gn->ncores);
        item_name(gn, it, buf, sizeof(buf));
        if (strcmp(buf, name) == 0) {
            vfs_res_stat(v, node_ino(node, it), &st);
            vfs_reply_entry(req, &st, VFS_TTL_FIXED);
            return;
        }
    }
    fuse_reply_err(req, ENOENT);
}

void vfs_res_readdir(struct vfs *v, struct vfs_dirbuf *db, fuse_ino_t ino, off_t off)
{
    const struct rgraph *g = jobmgr_rgraph(v->m);
    if (off < 1 && !vfs_dirbuf_add(db, ".", ino, S_IFDIR, 1))
        return;
    if (off < 2 && !vfs_dirbuf_add(db, "..", ino == VFS_I_RESOURCES ? VFS_I_ROOT : VFS_I_RESOURCES,
                                   S_IFDIR, 2))
        return;
    if (ino == VFS_I_RESOURCES) {
        if (off < 3 && !vfs_dirbuf_add(db, "R", VFS_I_RES_R, S_IFREG, 3))
            return;
        if (off < 4 && !vfs_dirbuf_add(db, "summary", VFS_I_RES_SUMMARY, S_IFREG, 4))
            return;
        if (off < 5 && !vfs_dirbuf_add(db, "ctl", VFS_I_RES_CTL, S_IFREG, 5))
            return;
        if (off < 6 && !vfs_dirbuf_add(db, "allocations", VFS_I_RES_ALLOC, S_IFREG, 6))
            return;
        for (int n = off > 6 ? off - 6 : 0; n < rgraph_nnodes(g); n++)
            if (!vfs_dirbuf_add(db, rgraph_node(g, n)->name, node_ino(n, 0), S_IFDIR, n + 7))
                return;
        return;
    }
    int node;
    unsigned item;
    const struct rgraph_node *gn;
    if (!res_decode(v, ino, &node, &item, &gn))
        return;
    char buf[32];
    for (int i = off > 2 ? off - 2 : 0; i < gn->ncores + gn->ngpus; i++) {
        unsigned it = i < gn->ncores ? 1u + (unsigned)i : VFS_RES_GPU_BASE + (unsigned)(i - gn->ncores);
        item_name(gn, it, buf, sizeof(buf));
        if (!vfs_dirbuf_add(db, buf, node_ino(node, it), S_IFREG, i + 3))
            return;
    }
}

void vfs_res_write(struct vfs *v, fuse_req_t req, const char *buf, size_t size)
{
    struct errmsg err = { "" };
    uid_t uid = fuse_req_ctx(req)->uid;
    int rc = jobmgr_resource_ctl(v->m, uid, buf, size, &err);
    if (rc < 0) {
        vfs_errlog_add(v, uid, "resources/ctl", -rc, err.text);
        fuse_reply_err(req, -rc);
        return;
    }
    fuse_reply_write(req, size);
}
