/* rread.c - build the resource graph of an RFC 20 R document.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hostlist.h"
#include "common/idset.h"
#include "sched/rread.h"

/* Sanity limits, so a typo cannot allocate gigabytes (as in rgraph.c). */
#define RREAD_MAX_RANKS (1 << 20)
#define RREAD_MAX_CHILD_ID (1 << 16)

/* One R_lite entry: the ranks it names share these children. */
struct entry {
    struct idset *cores, *gpus;
};

struct rnode {
    struct rread_node pub;     /* name: into the hostlist, or names[] */
    int entry;
    int vertex;
};

struct rread_r {
    size_t nentries;
    struct entry *entries;
    size_t nnodes;
    struct rnode *nodes;
    struct hostlist *hl;
    char *names;               /* generated names, when there is no nodelist */
};

static void rload_release(struct rread_r *l)
{
    for (size_t i = 0; i < l->nentries; i++) {
        idset_destroy(l->entries[i].cores);
        idset_destroy(l->entries[i].gpus);
    }
    free(l->entries);
    free(l->nodes);
    hostlist_destroy(l->hl);
    free(l->names);
}

/* An idset whose ids all fit under max; NULL if invalid or out of range. */
static struct idset *decode(json_t *text, int max, bool nonempty)
{
    if (!json_is_string(text))
        return NULL;
    struct idset *s = idset_decode(json_string_value(text));
    if (!s)
        return NULL;
    int last = -1;
    for (int id = idset_first(s); id >= 0; id = idset_next(s, (unsigned)id))
        last = id;
    if (last >= max || (nonempty && idset_count(s) == 0)) {
        idset_destroy(s);
        return NULL;
    }
    return s;
}

static int read_children(json_t *entry, size_t i, struct entry *e, struct errmsg *err)
{
    json_t *children = json_object_get(entry, "children");
    if (!json_is_object(children))
        return errmsg_set(err, -EINVAL, "R_lite[%zu].children: must be an object", i);
    json_t *core = json_object_get(children, "core"), *gpu = json_object_get(children, "gpu");
    if (!json_is_string(core))
        return errmsg_set(err, -EINVAL, "R_lite[%zu].children.core: must be an idset string", i);
    if (!(e->cores = decode(core, RREAD_MAX_CHILD_ID, true)))
        return errmsg_set(err, -EINVAL, "R_lite[%zu].children.core: invalid idset '%s'", i,
                          json_string_value(core));
    if (gpu && !json_is_string(gpu))
        return errmsg_set(err, -EINVAL, "R_lite[%zu].children.gpu: must be an idset string", i);
    if (gpu && !(e->gpus = decode(gpu, RREAD_MAX_CHILD_ID, false)))
        return errmsg_set(err, -EINVAL, "R_lite[%zu].children.gpu: invalid idset '%s'", i,
                          json_string_value(gpu));
    return 0;
}

static int cmp_rank(const void *a, const void *b)
{
    const struct rnode *x = a, *y = b;
    return (x->pub.rank > y->pub.rank) - (x->pub.rank < y->pub.rank);
}

static int read_rlite(struct rread_r *l, json_t *rlite, struct errmsg *err)
{
    size_t n = json_array_size(rlite), cap = 0;
    struct idset *seen = NULL;
    int rc = 0;
    if (!(l->entries = calloc(n, sizeof(*l->entries))) || !(seen = idset_create(64)))
        return errmsg_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *entry = json_array_get(rlite, i);
        if (!json_is_object(entry)) {
            rc = errmsg_set(err, -EINVAL, "R_lite[%zu]: must be an object", i);
            goto out;
        }
        json_t *jrank = json_object_get(entry, "rank");
        if (!json_is_string(jrank)) {
            rc = errmsg_set(err, -EINVAL, "R_lite[%zu].rank: must be an idset string", i);
            goto out;
        }
        struct idset *ranks = decode(jrank, RREAD_MAX_RANKS, true);
        if (!ranks || idset_count(ranks) + l->nnodes > RREAD_MAX_RANKS) {
            idset_destroy(ranks);
            rc = errmsg_set(err, -EINVAL, "R_lite[%zu].rank: invalid idset '%s'", i,
                            json_string_value(jrank));
            goto out;
        }
        l->nentries++;
        if ((rc = read_children(entry, i, &l->entries[i], err)) < 0) {
            idset_destroy(ranks);
            goto out;
        }
        if (l->nnodes + idset_count(ranks) > cap) {
            size_t ncap = cap ? cap : 16;
            while (ncap < l->nnodes + idset_count(ranks))
                ncap *= 2;
            struct rnode *nn = realloc(l->nodes, ncap * sizeof(*nn));
            if (!nn) {
                idset_destroy(ranks);
                rc = errmsg_set(err, -ENOMEM, "out of memory");
                goto out;
            }
            l->nodes = nn;
            cap = ncap;
        }
        for (int r = idset_first(ranks); r >= 0; r = idset_next(ranks, (unsigned)r)) {
            if (idset_test(seen, (unsigned)r)) {
                idset_destroy(ranks);
                rc = errmsg_set(err, -EINVAL, "R_lite[%zu].rank: rank %d appears more than once",
                                i, r);
                goto out;
            }
            if (idset_set(seen, (unsigned)r) < 0) {
                idset_destroy(ranks);
                rc = errmsg_set(err, -ENOMEM, "out of memory");
                goto out;
            }
            l->nodes[l->nnodes++] = (struct rnode){
                .pub = { .rank = r }, .entry = (int)i, .vertex = -1 };
        }
        idset_destroy(ranks);
    }
    qsort(l->nodes, l->nnodes, sizeof(*l->nodes), cmp_rank);
    for (size_t k = 0; k < l->nnodes; k++) {
        l->nodes[k].pub.cores = l->entries[l->nodes[k].entry].cores;
        l->nodes[k].pub.gpus = l->entries[l->nodes[k].entry].gpus;
    }
out:
    idset_destroy(seen);
    return rc;
}

/* Hosts map to ranks in ascending rank order (RFC 20). */
static int read_nodelist(struct rread_r *l, json_t *nodelist, struct errmsg *err)
{
    if (!nodelist) {
        char host[256];
        if (gethostname(host, sizeof(host)) < 0)
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        size_t width = strlen(host) + 16;
        if (!(l->names = malloc(l->nnodes * width)))
            return errmsg_set(err, -ENOMEM, "out of memory");
        for (size_t k = 0; k < l->nnodes; k++) {
            char *name = l->names + k * width;
            if (l->nnodes == 1)
                snprintf(name, width, "%s", host);
            else
                snprintf(name, width, "%s-%d", host, l->nodes[k].pub.rank);
            l->nodes[k].pub.name = name;
        }
        return 0;
    }
    if (!json_is_array(nodelist))
        return errmsg_set(err, -EINVAL, "nodelist: must be an array of hostlist strings");
    if (!(l->hl = hostlist_create()))
        return errmsg_set(err, -ENOMEM, "out of memory");
    size_t i;
    json_t *v;
    json_array_foreach(nodelist, i, v) {
        if (!json_is_string(v))
            return errmsg_set(err, -EINVAL, "nodelist[%zu]: must be a hostlist string", i);
        if (hostlist_append(l->hl, json_string_value(v)) < 0)
            return errmsg_set(err, -EINVAL, "nodelist[%zu]: invalid hostlist '%s'", i,
                              json_string_value(v));
    }
    if (hostlist_count(l->hl) != l->nnodes)
        return errmsg_set(err, -EINVAL, "nodelist names %zu hosts but R_lite has %zu ranks",
                          hostlist_count(l->hl), l->nnodes);
    for (size_t k = 0; k < l->nnodes; k++)
        l->nodes[k].pub.name = hostlist_nth(l->hl, k);
    return 0;
}

static struct rnode *find_rank(struct rread_r *l, int rank)
{
    struct rnode key = { .pub = { .rank = rank } };
    return bsearch(&key, l->nodes, l->nnodes, sizeof(*l->nodes), cmp_rank);
}

static int add_properties(struct rread_r *l, struct graph *g, json_t *props, struct errmsg *err)
{
    if (!props)
        return 0;
    if (!json_is_object(props))
        return errmsg_set(err, -EINVAL, "properties: must be an object");
    const char *key;
    json_t *value;
    json_object_foreach(props, key, value) {
        struct idset *ranks = decode(value, RREAD_MAX_RANKS, false);
        if (!ranks)
            return errmsg_set(err, -EINVAL, "properties.%s: invalid idset", key);
        int rc = 0;
        for (int r = idset_first(ranks); r >= 0 && rc == 0; r = idset_next(ranks, (unsigned)r)) {
            struct rnode *n = find_rank(l, r);
            if (!n)
                rc = errmsg_set(err, -EINVAL, "properties.%s: rank %d is not in R_lite", key, r);
            else if (graph_set_property(g, n->vertex, key, "") < 0)
                rc = errmsg_set(err, -ENOMEM, "out of memory");
        }
        idset_destroy(ranks);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int add_children(struct graph *g, int parent, int rank, const char *type,
                        const struct idset *ids, struct errmsg *err)
{
    if (!ids)
        return 0;
    for (int id = idset_first(ids); id >= 0; id = idset_next(ids, (unsigned)id)) {
        int v = graph_add_vertex(g, parent, type, type, NULL, id, 1, NULL, rank, err);
        if (v < 0)
            return v;
    }
    return 0;
}

static int add_nodes(struct rread_r *l, struct graph *g, struct errmsg *err)
{
    int rc = graph_add_vertex(g, -1, "cluster", "cluster", NULL, 0, 1, NULL, -1, err);
    if (rc < 0)
        return rc;
    for (size_t k = 0; k < l->nnodes; k++) {
        struct rnode *n = &l->nodes[k];
        const struct entry *e = &l->entries[n->entry];
        /* Fluxion's split: "fluke12" has basename fluke and id 12 */
        const char *name = n->pub.name;
        int rank = n->pub.rank;
        size_t len = strlen(name), d = len;
        while (d > 0 && isdigit((unsigned char)name[d - 1]))
            d--;
        int64_t id = d < len && len - d < 19 ? strtoll(name + d, NULL, 10) : 0;
        char base[256];
        snprintf(base, sizeof(base), "%.*s", (int)(d > 0 ? d : len), name);
        if ((rc = n->vertex = graph_add_vertex(g, 0, "node", base, name, id, 1, NULL,
                                               rank, err)) < 0
            || (rc = add_children(g, n->vertex, rank, "core", e->cores, err)) < 0
            || (rc = add_children(g, n->vertex, rank, "gpu", e->gpus, err)) < 0)
            return rc;
    }
    return 0;
}

/* The checks and reading every user of R shares; errors unprefixed. */
static int parse(json_t *R, struct rread_r *l, struct errmsg *e)
{
    if (!json_is_object(R))
        return errmsg_set(e, -EINVAL, "must be a JSON object");
    json_t *version = json_object_get(R, "version");
    json_t *exec = json_object_get(R, "execution");
    json_t *rlite = json_object_get(exec, "R_lite");
    if (!json_is_integer(version))
        return errmsg_set(e, -EINVAL, "version: missing or not an integer");
    if (json_integer_value(version) != 1)
        return errmsg_set(e, -EINVAL, "unsupported version %lld",
                          (long long)json_integer_value(version));
    if (!json_is_object(exec))
        return errmsg_set(e, -EINVAL, "execution: missing or not an object");
    if (!json_is_array(rlite) || json_array_size(rlite) == 0)
        return errmsg_set(e, -EINVAL, "execution.R_lite: must be a non-empty array");
    int rc = read_rlite(l, rlite, e);
    return rc < 0 ? rc : read_nodelist(l, json_object_get(exec, "nodelist"), e);
}

int rread_parse(json_t *R, struct rread_r **out, struct errmsg *err)
{
    struct errmsg e;
    struct rread_r *l = calloc(1, sizeof(*l));
    int rc = l ? parse(R, l, &e) : errmsg_set(&e, -ENOMEM, "out of memory");
    if (rc < 0) {
        errmsg_set(err, rc, "R: %s", e.text);
        rread_r_destroy(l);
        return rc;
    }
    *out = l;
    return 0;
}

size_t rread_nnodes(const struct rread_r *r)
{
    return r->nnodes;
}

const struct rread_node *rread_node(const struct rread_r *r, size_t k)
{
    return k < r->nnodes ? &r->nodes[k].pub : NULL;
}

void rread_r_destroy(struct rread_r *r)
{
    if (!r)
        return;
    rload_release(r);
    free(r);
}

int rread_apply_properties(struct graph *g, json_t *R, struct errmsg *err)
{
    json_t *props = json_object_get(json_object_get(R, "execution"), "properties");
    const char *key;
    json_t *value;
    int node = graph_lookup_type(g, "node");
    if (!props)
        return 0;
    if (!json_is_object(props))
        return errmsg_set(err, -EINVAL, "R: properties: must be an object");
    json_object_foreach(props, key, value) {
        struct idset *ranks = decode(value, RREAD_MAX_RANKS, false);
        if (!ranks)
            return errmsg_set(err, -EINVAL, "R: properties.%s: invalid idset", key);
        for (int v = 0; v < graph_nvertices(g); v++) {
            const struct graph_vertex *x = graph_vertex(g, v);
            if (x->type == node && x->rank >= 0 && idset_test(ranks, (unsigned)x->rank)
                && graph_set_property(g, v, key, "") < 0) {
                idset_destroy(ranks);
                return errmsg_set(err, -ENOMEM, "out of memory");
            }
        }
        idset_destroy(ranks);
    }
    return 0;
}

int rread_load_json(json_t *R, struct graph **out, struct errmsg *err)
{
    struct rread_r l = { 0 };
    struct graph *g = NULL;
    struct errmsg e;
    int rc;
    if ((rc = parse(R, &l, &e)) < 0)
        goto out;
    if (!(g = graph_create())) {
        rc = errmsg_set(&e, -ENOMEM, "out of memory");
        goto out;
    }
    json_t *exec = json_object_get(R, "execution");
    if ((rc = add_nodes(&l, g, &e)) < 0
        || (rc = add_properties(&l, g, json_object_get(exec, "properties"), &e)) < 0
        || (rc = graph_finalize(g, &e)) < 0)
        goto out;
    *out = g;
    g = NULL;
out:
    if (rc < 0)
        errmsg_set(err, rc, "R: %s", e.text);
    graph_destroy(g);
    rload_release(&l);
    return rc;
}

int rread_load(const char *path, struct graph **out, struct errmsg *err)
{
    /* Open here: jansson reports a missing file only as text. */
    FILE *f = fopen(path, "r");
    if (!f)
        return errmsg_set(err, -errno, "'%s': %s", path, strerror(errno));
    json_error_t jerr;
    json_t *R = json_loadf(f, 0, &jerr);
    fclose(f);
    if (!R)
        return errmsg_set(err, -EINVAL, "'%s': R: line %d column %d: %s", path, jerr.line,
                          jerr.column, jerr.text);
    struct errmsg e;
    int rc = rread_load_json(R, out, &e);
    if (rc < 0)
        errmsg_set(err, rc, "'%s': %s", path, e.text);
    json_decref(R);
    return rc;
}
