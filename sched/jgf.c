/* jgf.c - JSON Graph Format reader and writer for the resource graph.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/jgf.h"

/* Same bound as the other readers: a bad file cannot allocate gigabytes. */
#define JGF_MAX_VERTICES (1 << 24)
#define JGF_PATH_MAX 4096

/* One JGF node while the tree is being worked out. Strings borrow from the
 * document, which outlives the load. */
struct jnode {
    const char *vid;
    json_t *meta;
    int parent;                /* containment parent (JGF index), -1 */
    int first_child, last_child, next_sibling;
    int cursor;                /* pre-order walk: next child to visit */
    int vertex;                /* graph index once added, -1 */
    bool contained;            /* has a containment path, or no paths */
};

/* An edge kept for after the tree is built (other subsystems, or a second
 * containment parent). */
struct jedge {
    int src, dst;
    const char *subsystem, *relation;
};

struct jload {
    size_t n;
    struct jnode *v;
    int *by_vid;               /* indices sorted by vid, for lookup */
    size_t nextra;
    struct jedge *extra;
};

static int cmp_vid(const void *a, const void *b, void *arg)
{
    const struct jload *l = arg;
    return strcmp(l->v[*(const int *)a].vid, l->v[*(const int *)b].vid);
}

static int find_vid(const struct jload *l, const char *vid)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(l->v[l->by_vid[mid]].vid, vid);
        if (c == 0)
            return l->by_vid[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int read_nodes(struct jload *l, json_t *nodes, struct errmsg *err)
{
    for (size_t i = 0; i < l->n; i++) {
        json_t *node = json_array_get(nodes, i);
        struct jnode *x = &l->v[i];
        json_t *paths = NULL;
        x->parent = x->first_child = x->last_child = x->next_sibling = x->vertex = -1;
        if (!json_is_object(node) || !json_is_string(json_object_get(node, "id")))
            return errmsg_set(err, -EINVAL, "nodes[%zu]: id must be a string", i);
        x->vid = json_string_value(json_object_get(node, "id"));
        x->meta = json_object_get(node, "metadata");
        if (!json_is_object(x->meta))
            return errmsg_set(err, -EINVAL, "node '%s': metadata must be an object", x->vid);
        /* Types only; the values are read when the vertex is added. */
        json_error_t jerr;
        if (json_unpack_ex(x->meta, &jerr, 0,
                           "{s:s s?s s?s s?I s?I s?I s?I s?s s?I s?b s?o}",
                           "type", &(const char *){ NULL }, "basename", &(const char *){ NULL },
                           "name", &(const char *){ NULL }, "id", &(json_int_t){ 0 },
                           "uniq_id", &(json_int_t){ 0 }, "rank", &(json_int_t){ 0 },
                           "size", &(json_int_t){ 0 }, "unit", &(const char *){ NULL },
                           "status", &(json_int_t){ 0 }, "exclusive", &(int){ 0 },
                           "paths", &paths) < 0)
            return errmsg_set(err, -EINVAL, "node '%s': metadata: %s", x->vid, jerr.text);
        if (paths && !json_is_object(paths))
            return errmsg_set(err, -EINVAL, "node '%s': paths must be an object", x->vid);
        json_t *cp = paths ? json_object_get(paths, "containment") : NULL;
        if (cp && !json_is_string(cp))
            return errmsg_set(err, -EINVAL, "node '%s': paths.containment must be a string",
                              x->vid);
        x->contained = !paths || cp;
    }
    for (size_t i = 0; i < l->n; i++)
        l->by_vid[i] = (int)i;
    qsort_r(l->by_vid, l->n, sizeof(*l->by_vid), cmp_vid, l);
    for (size_t i = 1; i < l->n; i++)
        if (!strcmp(l->v[l->by_vid[i]].vid, l->v[l->by_vid[i - 1]].vid))
            return errmsg_set(err, -EINVAL, "node id '%s' appears twice", l->v[l->by_vid[i]].vid);
    return 0;
}

static int keep_edge(struct jload *l, int src, int dst, const char *subsystem,
                     const char *relation, size_t max)
{
    if (l->nextra == max)
        return -ENOMEM;        /* cannot happen: one slot per JGF edge */
    l->extra[l->nextra++] = (struct jedge){ src, dst, subsystem, relation };
    return 0;
}

static void link_child(struct jload *l, int parent, int child)
{
    struct jnode *p = &l->v[parent];
    l->v[child].parent = parent;
    if (p->last_child < 0)
        p->first_child = child;
    else
        l->v[p->last_child].next_sibling = child;
    p->last_child = child;
}

/* Subsystem and relation of an edge in either metadata form. */
static int edge_kind(json_t *edge, size_t k, const char **subsystem, const char **relation,
                     struct errmsg *err)
{
    json_t *meta = json_object_get(edge, "metadata");
    *subsystem = "containment";
    *relation = "";
    if (!meta || json_is_null(meta))
        return 0;
    if (!json_is_object(meta))
        return errmsg_set(err, -EINVAL, "edges[%zu]: metadata must be an object", k);
    json_t *s = json_object_get(meta, "subsystem");
    json_t *r = json_object_get(meta, "relation");
    json_t *name = json_object_get(meta, "name");
    if ((s && !json_is_string(s)) || (r && !json_is_string(r)))
        return errmsg_set(err, -EINVAL, "edges[%zu]: subsystem and relation must be strings", k);
    if (s) {
        *subsystem = json_string_value(s);
    } else if (json_is_object(name) && json_object_size(name) > 0) {
        /* {"name": {"containment": "contains"}}: one subsystem per edge */
        void *it = json_object_iter(name);
        *subsystem = json_object_iter_key(it);
        if (!r && json_is_string(json_object_iter_value(it)))
            r = json_object_iter_value(it);
    }
    if (r)
        *relation = json_string_value(r);
    return 0;
}

static int read_edges(struct jload *l, json_t *edges, struct errmsg *err)
{
    size_t nedges = json_array_size(edges);
    if (nedges && !(l->extra = calloc(nedges, sizeof(*l->extra))))
        return errmsg_set(err, -ENOMEM, "out of memory");
    for (size_t k = 0; k < nedges; k++) {
        json_t *edge = json_array_get(edges, k);
        json_t *js = json_object_get(edge, "source"), *jt = json_object_get(edge, "target");
        if (!json_is_string(js) || !json_is_string(jt))
            return errmsg_set(err, -EINVAL, "edges[%zu]: source and target must be strings", k);
        int s = find_vid(l, json_string_value(js)), t = find_vid(l, json_string_value(jt));
        if (s < 0 || t < 0)
            return errmsg_set(err, -EINVAL, "edges[%zu]: unknown %s '%s'", k,
                              s < 0 ? "source" : "target",
                              json_string_value(s < 0 ? js : jt));
        const char *subsystem, *relation;
        int rc = edge_kind(edge, k, &subsystem, &relation, err);
        if (rc < 0)
            return rc;
        if (strcmp(subsystem, "containment")) {
            if (keep_edge(l, s, t, subsystem, relation, nedges) < 0)
                return errmsg_set(err, -ENOMEM, "out of memory");
            continue;
        }
        if (!strcmp(relation, "in")) {
            /* older Fluxion wrote each containment edge both ways */
            int tmp = s;
            s = t;
            t = tmp;
        }
        if (s == t)
            return errmsg_set(err, -EINVAL, "edges[%zu]: node '%s' contains itself", k,
                              l->v[s].vid);
        if (l->v[t].parent == s)
            continue;
        if (l->v[t].parent >= 0) {
            if (keep_edge(l, s, t, "containment", *relation ? relation : "contains", nedges) < 0)
                return errmsg_set(err, -ENOMEM, "out of memory");
            continue;
        }
        link_child(l, s, t);
    }
    return 0;
}

static int find_root(const struct jload *l, struct errmsg *err)
{
    int root = -1;
    for (size_t i = 0; i < l->n; i++) {
        const struct jnode *x = &l->v[i];
        if (x->parent >= 0 || (!x->contained && x->first_child < 0))
            continue;
        if (root >= 0)
            return errmsg_set(err, -EINVAL, "nodes '%s' and '%s' both lack a containment parent",
                              l->v[root].vid, x->vid);
        root = (int)i;
    }
    if (root < 0)
        return errmsg_set(err, -EINVAL, "no containment root (every node has a parent)");
    return root;
}

/* The id Fluxion would give a node that has none. */
static int default_id(const struct jnode *x, const char *type, const char *name, int64_t *id,
                      struct errmsg *err)
{
    json_t *uniq = json_object_get(x->meta, "uniq_id");
    char *end;
    if (uniq) {
        *id = json_integer_value(uniq);
    } else {
        errno = 0;
        long long v = strtoll(x->vid, &end, 10);
        if (!*x->vid || *end || errno)
            return errmsg_set(err, -EINVAL, "node '%s': no id, uniq_id or numeric vertex id",
                              x->vid);
        *id = v;
    }
    if (name && !strcmp(type, "node")) {
        size_t len = strlen(name), k = len;
        while (k > 0 && isdigit((unsigned char)name[k - 1]))
            k--;
        if (k < len && len - k < 19)
            *id = strtoll(name + k, NULL, 10);
    }
    return 0;
}

static int add_vertex(struct graph *g, struct jnode *x, int parent, struct errmsg *err)
{
    json_t *m = x->meta;
    const char *type = json_string_value(json_object_get(m, "type"));
    const char *basename = json_string_value(json_object_get(m, "basename"));
    const char *name = json_string_value(json_object_get(m, "name"));
    const char *unit = json_string_value(json_object_get(m, "unit"));
    json_t *jid = json_object_get(m, "id"), *jrank = json_object_get(m, "rank");
    json_t *jsize = json_object_get(m, "size"), *jstatus = json_object_get(m, "status");
    json_t *props = json_object_get(m, "properties");
    json_t *paths = json_object_get(m, "paths");
    const char *cpath = paths ? json_string_value(json_object_get(paths, "containment")) : NULL;
    int64_t id = 0, size = jsize ? json_integer_value(jsize) : 1;
    int64_t rank = jrank ? json_integer_value(jrank) : -1;
    int64_t status = jstatus ? json_integer_value(jstatus) : GRAPH_UP;
    int rc;

    if (!*type)
        return errmsg_set(err, -EINVAL, "node '%s': empty type", x->vid);
    if (size < 1)
        return errmsg_set(err, -EINVAL, "node '%s': size must be >= 1", x->vid);
    if (rank < -1 || rank > INT_MAX)
        return errmsg_set(err, -EINVAL, "node '%s': rank %lld is out of range", x->vid,
                          (long long)rank);
    if (status < GRAPH_UP || status > GRAPH_DRAINED)
        return errmsg_set(err, -EINVAL, "node '%s': unknown status %lld", x->vid,
                          (long long)status);
    if (props && !json_is_object(props))
        return errmsg_set(err, -EINVAL, "node '%s': properties must be an object", x->vid);
    if (!basename || !*basename)
        basename = type;
    if (jid)
        id = json_integer_value(jid);
    else if ((rc = default_id(x, type, name, &id, err)) < 0)
        return rc;
    /* Fluxion addresses vertices by path: keep the path's last component. */
    if (!name && cpath && strrchr(cpath, '/') && strrchr(cpath, '/')[1])
        name = strrchr(cpath, '/') + 1;
    int v = graph_add_vertex(g, parent, type, basename, name, id, size, unit, (int)rank, err);
    if (v < 0)
        return v;
    x->vertex = v;
    if (status != GRAPH_UP)
        graph_set_status(g, v, (enum graph_status)status);
    const char *key;
    json_t *value;
    json_object_foreach(props, key, value) {
        if (!json_is_string(value))
            return errmsg_set(err, -EINVAL, "node '%s': property '%s' must be a string",
                              x->vid, key);
        if (graph_set_property(g, v, key, json_string_value(value)) < 0)
            return errmsg_set(err, -ENOMEM, "out of memory");
    }
    return 0;
}

/* Pre-order from the root without recursion: trees can be deep. */
static int add_tree(struct graph *g, struct jload *l, int root, struct errmsg *err)
{
    int *stack = malloc(l->n * sizeof(*stack));
    int top = 0, rc = 0;
    if (!stack)
        return errmsg_set(err, -ENOMEM, "out of memory");
    if ((rc = add_vertex(g, &l->v[root], -1, err)) < 0)
        goto out;
    l->v[root].cursor = l->v[root].first_child;
    stack[top++] = root;
    while (top > 0) {
        struct jnode *p = &l->v[stack[top - 1]];
        int c = p->cursor;
        if (c < 0) {
            top--;
            continue;
        }
        p->cursor = l->v[c].next_sibling;
        if ((rc = add_vertex(g, &l->v[c], p->vertex, err)) < 0)
            goto out;
        l->v[c].cursor = l->v[c].first_child;
        stack[top++] = c;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].vertex < 0 && l->v[i].parent >= 0) {
            rc = errmsg_set(err, -EINVAL, "node '%s' is not reachable from the root '%s' "
                            "(a containment cycle)", l->v[i].vid, l->v[root].vid);
            goto out;
        }
    }
out:
    free(stack);
    return rc;
}

static int add_extra_edges(struct graph *g, const struct jload *l, struct errmsg *err)
{
    for (size_t k = 0; k < l->nextra; k++) {
        const struct jedge *e = &l->extra[k];
        int s = l->v[e->src].vertex, t = l->v[e->dst].vertex;
        /* an edge to a vertex of another subsystem only */
        if (s < 0 || t < 0)
            continue;
        if (graph_add_edge(g, s, t, e->subsystem, e->relation) < 0)
            return errmsg_set(err, -ENOMEM, "out of memory");
    }
    return 0;
}

int jgf_load_json(json_t *jgf, struct graph **out, struct errmsg *err)
{
    json_t *graph = json_object_get(jgf, "graph");
    json_t *nodes = json_object_get(graph, "nodes"), *edges = json_object_get(graph, "edges");
    if (!json_is_object(graph))
        return errmsg_set(err, -EINVAL, "graph: missing or not an object");
    if (!json_is_array(nodes) || json_array_size(nodes) == 0)
        return errmsg_set(err, -EINVAL, "graph.nodes: must be a non-empty array");
    if (!json_is_array(edges))
        return errmsg_set(err, -EINVAL, "graph.edges: must be an array");
    if (json_array_size(nodes) > JGF_MAX_VERTICES)
        return errmsg_set(err, -E2BIG, "graph.nodes: more than %d nodes", JGF_MAX_VERTICES);

    struct jload l = { .n = json_array_size(nodes) };
    struct graph *g = NULL;
    int rc, root;
    if (!(l.v = calloc(l.n, sizeof(*l.v))) || !(l.by_vid = calloc(l.n, sizeof(*l.by_vid)))
        || !(g = graph_create())) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = read_nodes(&l, nodes, err)) < 0 || (rc = read_edges(&l, edges, err)) < 0
        || (rc = root = find_root(&l, err)) < 0 || (rc = add_tree(g, &l, root, err)) < 0
        || (rc = add_extra_edges(g, &l, err)) < 0 || (rc = graph_finalize(g, err)) < 0)
        goto out;
    *out = g;
    g = NULL;
out:
    graph_destroy(g);
    free(l.v);
    free(l.by_vid);
    free(l.extra);
    return rc;
}

int jgf_load(const char *path, struct graph **out, struct errmsg *err)
{
    /* Open here: jansson reports a missing file only as text. */
    FILE *f = fopen(path, "r");
    if (!f)
        return errmsg_set(err, -errno, "'%s': %s", path, strerror(errno));
    json_error_t jerr;
    json_t *jgf = json_loadf(f, 0, &jerr);
    fclose(f);
    if (!jgf)
        return errmsg_set(err, -EINVAL, "'%s': line %d column %d: %s", path, jerr.line,
                          jerr.column, jerr.text);
    struct errmsg e;
    int rc = jgf_load_json(jgf, out, &e);
    if (rc < 0)
        errmsg_set(err, rc, "'%s': %s", path, e.text);
    json_decref(jgf);
    return rc;
}

static json_t *dump_vertex(const struct graph *g, int v, char *path)
{
    const struct graph_vertex *x = graph_vertex(g, v);
    char vid[16];
    snprintf(vid, sizeof(vid), "%d", v);
    if (graph_path(g, v, path, JGF_PATH_MAX) < 0)
        return NULL;
    json_t *meta = json_pack("{s:s s:s s:s s:I s:I s:i s:b s:s s:I s:{s:s}}",
                             "type", graph_type_name(g, x->type), "basename", x->basename,
                             "name", x->name, "id", (json_int_t)x->id, "uniq_id",
                             (json_int_t)v, "rank", x->rank, "exclusive", 0, "unit",
                             x->unit ? x->unit : "", "size", (json_int_t)x->size,
                             "paths", "containment", path);
    if (!meta)
        return NULL;
    if (x->status != GRAPH_UP && json_object_set_new(meta, "status", json_integer(x->status)) < 0)
        goto error;
    if (x->nprops > 0) {
        json_t *props = json_object();
        if (!props || json_object_set_new(meta, "properties", props) < 0)
            goto error;
        for (int i = 0; i < x->nprops; i++)
            if (json_object_set_new(props, x->props[i].key, json_string(x->props[i].value)) < 0)
                goto error;
    }
    return json_pack("{s:s s:o}", "id", vid, "metadata", meta);
error:
    json_decref(meta);
    return NULL;
}

static json_t *dump_edge(int src, int dst, const char *subsystem, const char *relation)
{
    char s[16], t[16];
    snprintf(s, sizeof(s), "%d", src);
    snprintf(t, sizeof(t), "%d", dst);
    if (!relation || !*relation)
        return json_pack("{s:s s:s s:{s:s}}", "source", s, "target", t, "metadata",
                         "subsystem", subsystem);
    return json_pack("{s:s s:s s:{s:s s:s}}", "source", s, "target", t, "metadata",
                     "subsystem", subsystem, "relation", relation);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

json_t *jgf_dump_set(const struct graph *g, const int *vs, const int64_t *sizes,
                     const bool *excl, int n)
{
    json_t *nodes = json_array(), *edges = json_array();
    char *path = malloc(JGF_PATH_MAX);
    json_t *jgf = NULL;
    if (!nodes || !edges || !path)
        goto out;
    for (int i = 0; i < n; i++) {
        json_t *node = dump_vertex(g, vs[i], path);
        json_t *meta = json_object_get(node, "metadata");
        /* (json_array_append_new takes node even when it fails) */
        if (!node || json_array_append_new(nodes, node) < 0
            || (sizes && json_object_set_new(meta, "size", json_integer(sizes[i])) < 0)
            || (excl && json_object_set_new(meta, "exclusive", json_boolean(excl[i])) < 0))
            goto out;
    }
    /* the containment edges among them: a vertex whose parent is in the
     * set (ascending: a binary search) */
    for (int i = 0; i < n; i++) {
        int p = graph_vertex(g, vs[i])->parent;
        if (p >= 0 && bsearch(&p, vs, (size_t)n, sizeof(*vs), cmp_int)
            && json_array_append_new(edges, dump_edge(p, vs[i], "containment", NULL)) < 0)
            goto out;
    }
    jgf = json_pack("{s:{s:O s:O}}", "graph", "nodes", nodes, "edges", edges);
out:
    json_decref(nodes);
    json_decref(edges);
    free(path);
    return jgf;
}

json_t *jgf_dump(const struct graph *g)
{
    json_t *nodes = json_array(), *edges = json_array();
    char *path = malloc(JGF_PATH_MAX);
    json_t *jgf = NULL;
    if (!nodes || !edges || !path)
        goto out;
    for (int v = 0; v < graph_nvertices(g); v++)
        if (json_array_append_new(nodes, dump_vertex(g, v, path)) < 0)
            goto out;
    for (int v = 1; v < graph_nvertices(g); v++)
        if (json_array_append_new(edges, dump_edge(graph_vertex(g, v)->parent, v,
                                                   "containment", NULL)) < 0)
            goto out;
    for (int i = 0; i < graph_nedges(g); i++) {
        const struct graph_edge *e = graph_edge(g, i);
        if (json_array_append_new(edges, dump_edge(e->src, e->dst,
                                                   graph_type_name(g, e->subsystem),
                                                   e->relation)) < 0)
            goto out;
    }
    jgf = json_pack("{s:{s:O s:O}}", "graph", "nodes", nodes, "edges", edges);
out:
    json_decref(nodes);
    json_decref(edges);
    free(path);
    return jgf;
}
