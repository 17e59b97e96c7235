/* graph.c - the resource graph store: vertices, interned names, holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched/graph.h"

/* Strings (names, units, property values) live in arena chunks owned by the
 * graph: a 16,384-node graph has ~700k vertices and one malloc each would
 * cost more than the vertices themselves. */
#define ARENA_CHUNK (64 * 1024)

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    char data[];
};

struct graph {
    int n, max;
    struct graph_vertex *v;
    int nedges, maxedges;
    struct graph_edge *edges;
    int ntypes, maxtypes;
    char **types;              /* interned names (types and subsystems) */
    int64_t *type_count;       /* vertices per type */
    int agg_type[GRAPH_AGG_MAX];
    int *last_child;           /* while building: tail of each child list */
    struct arena_chunk *arena;
    /* (parent, name) -> vertex + 1, open addressing, built by finalize:
     * a directory listing of 16k nodes must not cost 16k^2 name compares. */
    int *child_index;
    size_t index_mask;
    int indexed_n;             /* vertices the index covers */
};

static const char *arena_strdup(struct graph *g, const char *s)
{
    size_t len = strlen(s) + 1;
    struct arena_chunk *c = g->arena;
    if (!c || c->size - c->used < len) {
        size_t size = len > ARENA_CHUNK ? len : ARENA_CHUNK;
        if (!(c = malloc(sizeof(*c) + size)))
            return NULL;
        c->next = g->arena;
        c->used = 0;
        c->size = size;
        g->arena = c;
    }
    char *p = c->data + c->used;
    memcpy(p, s, len);
    c->used += len;
    return p;
}

struct graph *graph_create(void)
{
    struct graph *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    for (int i = 0; i < GRAPH_AGG_MAX; i++)
        g->agg_type[i] = -1;
    if (graph_intern(g, "core") < 0 || graph_intern(g, "gpu") < 0) {
        graph_destroy(g);
        return NULL;
    }
    g->agg_type[0] = graph_lookup_type(g, "core");
    g->agg_type[1] = graph_lookup_type(g, "gpu");
    return g;
}

void graph_destroy(struct graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n; i++) {
        free(g->v[i].props);
        free(g->v[i].holds);
    }
    free(g->v);
    free(g->edges);
    for (int i = 0; i < g->ntypes; i++)
        free(g->types[i]);
    free(g->types);
    free(g->type_count);
    free(g->last_child);
    free(g->child_index);
    while (g->arena) {
        struct arena_chunk *next = g->arena->next;
        free(g->arena);
        g->arena = next;
    }
    free(g);
}

int graph_lookup_type(const struct graph *g, const char *name)
{
    for (int i = 0; i < g->ntypes; i++)
        if (!strcmp(g->types[i], name))
            return i;
    return -1;
}

int graph_intern(struct graph *g, const char *name)
{
    int t = graph_lookup_type(g, name);
    if (t >= 0)
        return t;
    if (g->ntypes == g->maxtypes) {
        int max = g->maxtypes ? g->maxtypes * 2 : 16;
        char **types = realloc(g->types, max * sizeof(*types));
        if (!types)
            return -ENOMEM;
        g->types = types;
        int64_t *count = realloc(g->type_count, max * sizeof(*count));
        if (!count)
            return -ENOMEM;
        g->type_count = count;
        g->maxtypes = max;
    }
    if (!(g->types[g->ntypes] = strdup(name)))
        return -ENOMEM;
    g->type_count[g->ntypes] = 0;
    return g->ntypes++;
}

const char *graph_type_name(const struct graph *g, int type)
{
    return type >= 0 && type < g->ntypes ? g->types[type] : "?";
}

int graph_ntypes(const struct graph *g)
{
    return g->ntypes;
}

int graph_add_vertex(struct graph *g, int parent, const char *type,
                     const char *basename, const char *name, int64_t id,
                     int64_t size, const char *unit, int rank,
                     struct errmsg *err)
{
    if (!type || !*type)
        return errmsg_set(err, -EINVAL, "vertex without a type");
    if (parent < -1 || parent >= g->n || (parent == -1) != (g->n == 0))
        return errmsg_set(err, -EINVAL, "%s vertex: %s", type,
                          g->n == 0 ? "the first vertex must be the root"
                                    : "only the first vertex may be a root");
    if (size < 1)
        return errmsg_set(err, -EINVAL, "%s vertex: size must be >= 1", type);
    int t = graph_intern(g, type);
    if (t < 0)
        return errmsg_set(err, t, "out of memory");
    if (g->n == g->max) {
        int max = g->max ? g->max * 2 : 64;
        struct graph_vertex *v = realloc(g->v, max * sizeof(*v));
        int *last = realloc(g->last_child, max * sizeof(*last));
        if (v)
            g->v = v;
        if (last)
            g->last_child = last;
        if (!v || !last)
            return errmsg_set(err, -ENOMEM, "out of memory");
        g->max = max;
    }
    char namebuf[256];
    if (!basename)
        basename = type;
    if (!name) {
        snprintf(namebuf, sizeof(namebuf), "%s%lld", basename, (long long)id);
        name = namebuf;
    }
    int i = g->n;
    struct graph_vertex *v = &g->v[i];
    memset(v, 0, sizeof(*v));
    v->type = t;
    v->parent = parent;
    v->depth = parent < 0 ? 0 : g->v[parent].depth + 1;
    v->first_child = v->next_sibling = -1;
    v->id = id;
    v->size = size;
    v->rank = rank;
    v->status = GRAPH_UP;
    v->basename = arena_strdup(g, basename);
    v->name = arena_strdup(g, name);
    v->unit = unit && *unit ? arena_strdup(g, unit) : NULL;
    if (!v->basename || !v->name || (unit && *unit && !v->unit))
        return errmsg_set(err, -ENOMEM, "out of memory");
    g->last_child[i] = -1;
    if (parent >= 0) {
        struct graph_vertex *p = &g->v[parent];
        if (g->last_child[parent] < 0)
            p->first_child = i;
        else
            g->v[g->last_child[parent]].next_sibling = i;
        g->last_child[parent] = i;
        p->nchildren++;
    }
    g->type_count[t]++;
    g->n++;
    return i;
}

int graph_set_property(struct graph *g, int v, const char *key, const char *value)
{
    if (v < 0 || v >= g->n)
        return -EINVAL;
    struct graph_vertex *x = &g->v[v];
    struct graph_prop *p = realloc(x->props, (x->nprops + 1) * sizeof(*p));
    if (!p)
        return -ENOMEM;
    x->props = p;
    p[x->nprops].key = arena_strdup(g, key);
    p[x->nprops].value = arena_strdup(g, value ? value : "");
    if (!p[x->nprops].key || !p[x->nprops].value)
        return -ENOMEM;
    x->nprops++;
    return 0;
}

int graph_add_edge(struct graph *g, int src, int dst, const char *subsystem,
                   const char *relation)
{
    if (src < 0 || src >= g->n || dst < 0 || dst >= g->n || !subsystem)
        return -EINVAL;
    int s = graph_intern(g, subsystem);
    if (s < 0)
        return s;
    if (g->nedges == g->maxedges) {
        int max = g->maxedges ? g->maxedges * 2 : 16;
        struct graph_edge *e = realloc(g->edges, max * sizeof(*e));
        if (!e)
            return -ENOMEM;
        g->edges = e;
        g->maxedges = max;
    }
    struct graph_edge *e = &g->edges[g->nedges];
    e->src = src;
    e->dst = dst;
    e->subsystem = s;
    e->relation = arena_strdup(g, relation ? relation : "");
    if (!e->relation)
        return -ENOMEM;
    g->nedges++;
    return 0;
}

static uint64_t child_hash(int parent, const char *name, size_t len)
{
    uint64_t h = 1469598103934665603ull;           /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
    h ^= (uint64_t)(uint32_t)(parent + 1) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

/* Without memory for the index, lookups fall back to walking the children:
 * slower, never wrong, so this is not an error. */
static void build_child_index(struct graph *g)
{
    size_t size = 16;
    while (size < (size_t)g->n + (size_t)g->n / 2)
        size *= 2;
    free(g->child_index);
    g->indexed_n = 0;
    if (!(g->child_index = calloc(size, sizeof(*g->child_index))))
        return;
    g->index_mask = size - 1;
    for (int i = 0; i < g->n; i++) {
        const struct graph_vertex *x = &g->v[i];
        size_t s = child_hash(x->parent, x->name, strlen(x->name)) & g->index_mask;
        while (g->child_index[s])
            s = (s + 1) & g->index_mask;
        g->child_index[s] = i + 1;
    }
    g->indexed_n = g->n;
}

int graph_finalize(struct graph *g, struct errmsg *err)
{
    if (g->n == 0)
        return errmsg_set(err, -EINVAL, "the resource graph is empty");
    /* Children come after their parent, so one backward pass sums subtrees. */
    for (int i = 0; i < g->n; i++)
        for (int a = 0; a < GRAPH_AGG_MAX; a++)
            g->v[i].total[a] = g->v[i].type == g->agg_type[a] ? 1 : 0;
    for (int i = g->n - 1; i > 0; i--) {
        int p = g->v[i].parent;
        for (int a = 0; a < GRAPH_AGG_MAX; a++)
            g->v[p].total[a] += g->v[i].total[a];
    }
    build_child_index(g);
    return 0;
}

int graph_nvertices(const struct graph *g)
{
    return g->n;
}

const struct graph_vertex *graph_vertex(const struct graph *g, int v)
{
    return v >= 0 && v < g->n ? &g->v[v] : NULL;
}

int graph_nedges(const struct graph *g)
{
    return g->nedges;
}

const struct graph_edge *graph_edge(const struct graph *g, int i)
{
    return i >= 0 && i < g->nedges ? &g->edges[i] : NULL;
}

int graph_agg_type(const struct graph *g, int i)
{
    return i >= 0 && i < GRAPH_AGG_MAX ? g->agg_type[i] : -1;
}

int64_t graph_count_type(const struct graph *g, int type)
{
    return type >= 0 && type < g->ntypes ? g->type_count[type] : 0;
}

int graph_path(const struct graph *g, int v, char *buf, size_t size)
{
    if (v < 0 || v >= g->n || size == 0)
        return -EINVAL;
    /* Build from the leaf up, then shift into place. */
    size_t pos = size - 1;
    buf[pos] = '\0';
    for (int u = v; u >= 0; u = g->v[u].parent) {
        size_t len = strlen(g->v[u].name);
        if (pos < len + 1)
            return -ENOSPC;
        pos -= len;
        memcpy(buf + pos, g->v[u].name, len);
        buf[--pos] = '/';
    }
    memmove(buf, buf + pos, size - pos);
    return 0;
}

static bool name_is(const struct graph_vertex *x, const char *name, size_t len)
{
    return !strncmp(x->name, name, len) && x->name[len] == '\0';
}

int graph_find_child(const struct graph *g, int parent, const char *name, size_t len)
{
    if (parent < -1 || parent >= g->n || g->n == 0)
        return -ENOENT;
    if (g->child_index && g->indexed_n == g->n) {
        size_t s = child_hash(parent, name, len) & g->index_mask;
        for (int i; (i = g->child_index[s]); s = (s + 1) & g->index_mask)
            if (g->v[i - 1].parent == parent && name_is(&g->v[i - 1], name, len))
                return i - 1;
        return -ENOENT;
    }
    for (int c = parent < 0 ? 0 : g->v[parent].first_child; c >= 0;
         c = parent < 0 ? -1 : g->v[c].next_sibling)
        if (name_is(&g->v[c], name, len))
            return c;
    return -ENOENT;
}

int graph_find_path(const struct graph *g, const char *path)
{
    if (g->n == 0 || !path || path[0] != '/')
        return -ENOENT;
    int v = -1;
    const char *p = path;
    while (*p == '/') {
        p++;
        size_t len = strcspn(p, "/");
        if (len == 0)
            break;
        if ((v = graph_find_child(g, v, p, len)) < 0)
            return -ENOENT;
        p += len;
    }
    return v < 0 ? -ENOENT : v;
}

int graph_set_status(struct graph *g, int v, enum graph_status st)
{
    if (v < 0 || v >= g->n || st < GRAPH_UP || st > GRAPH_DRAINED)
        return -EINVAL;
    g->v[v].status = st;
    return 0;
}

bool graph_is_up(const struct graph *g, int v)
{
    for (; v >= 0; v = g->v[v].parent)
        if (g->v[v].status != GRAPH_UP)
            return false;
    return true;
}

int graph_hold_add(struct graph *g, int v, const struct graph_hold *h)
{
    if (v < 0 || v >= g->n)
        return -EINVAL;
    struct graph_vertex *x = &g->v[v];
    if (x->nholds == x->maxholds) {
        int max = x->maxholds ? x->maxholds * 2 : 2;
        struct graph_hold *holds = realloc(x->holds, max * sizeof(*holds));
        if (!holds)
            return -ENOMEM;
        x->holds = holds;
        x->maxholds = max;
    }
    x->holds[x->nholds++] = *h;
    return 0;
}

void graph_hold_remove_job(struct graph *g, int v, uint64_t job)
{
    if (v < 0 || v >= g->n)
        return;
    struct graph_vertex *x = &g->v[v];
    int j = 0;
    for (int i = 0; i < x->nholds; i++)
        if (x->holds[i].job != job)
            x->holds[j++] = x->holds[i];
    x->nholds = j;
    if (j == 0 && x->maxholds > 8) {
        /* A vertex that once held many jobs should not keep the memory. */
        free(x->holds);
        x->holds = NULL;
        x->maxholds = 0;
    }
}

void graph_hold_set_end(struct graph *g, int v, uint64_t job, int64_t end)
{
    if (v < 0 || v >= g->n)
        return;
    for (int i = 0; i < g->v[v].nholds; i++)
        if (g->v[v].holds[i].job == job)
            g->v[v].holds[i].end = end;
}

/* Was job already given an exclusive hold line, from an ancestor of v
 * nearer than u? Holds are few, so looking again is cheap. */
static bool ancestor_listed(const struct graph *g, int v, int u, uint64_t job)
{
    for (int w = graph_vertex(g, v)->parent; w != u; w = graph_vertex(g, w)->parent) {
        const struct graph_vertex *wx = graph_vertex(g, w);
        for (int i = 0; i < wx->nholds; i++)
            if (wx->holds[i].kind == GRAPH_HOLD_X && wx->holds[i].job == job)
                return true;
    }
    return false;
}

void graph_blockers(const struct graph *g, int v, graph_hold_f cb, void *arg)
{
    const struct graph_vertex *vx = graph_vertex(g, v);
    for (int i = 0; i < vx->nholds; i++)
        cb(arg, &vx->holds[i], true);
    for (int u = vx->parent; u >= 0; u = graph_vertex(g, u)->parent) {
        const struct graph_vertex *ux = graph_vertex(g, u);
        for (int i = 0; i < ux->nholds; i++) {
            const struct graph_hold *h = &ux->holds[i];
            if (h->kind == GRAPH_HOLD_X && !ancestor_listed(g, v, u, h->job))
                cb(arg, h, false);
        }
    }
}
