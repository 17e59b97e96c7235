/* rgraph.c - the flat resource model: nodes with cores, gpus and memory.
 */
#include <ctype.h>
#include <errno.h>
#include <hwloc.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/idset.h"
#include "sched/graph.h"
#include "sched/rgraph.h"
#include "sched/rread.h"
#include "sched/rv1.h"

struct rgraph {
    int nnodes;
    struct rgraph_node *nodes;
    int total_cores;
    int total_gpus;
};

static void node_release(struct rgraph_node *n)
{
    free(n->name);
    free(n->core_ids);
    free(n->core_cpus);
    free(n->gpu_ids);
}

void rgraph_destroy(struct rgraph *g)
{
    if (g) {
        for (int i = 0; i < g->nnodes; i++)
            node_release(&g->nodes[i]);
        free(g->nodes);
        free(g);
    }
}

int rgraph_nnodes(const struct rgraph *g)
{
    return g->nnodes;
}

const struct rgraph_node *rgraph_node(const struct rgraph *g, int i)
{
    return i >= 0 && i < g->nnodes ? &g->nodes[i] : NULL;
}

int rgraph_total_cores(const struct rgraph *g)
{
    return g->total_cores;
}

int rgraph_total_gpus(const struct rgraph *g)
{
    return g->total_gpus;
}

static void compute_totals(struct rgraph *g)
{
    g->total_cores = g->total_gpus = 0;
    for (int i = 0; i < g->nnodes; i++) {
        g->total_cores += g->nodes[i].ncores;
        g->total_gpus += g->nodes[i].ngpus;
    }
}

static char *local_hostname(void)
{
    char buf[256];
    if (gethostname(buf, sizeof(buf)) < 0)
        return strdup("localhost");
    buf[sizeof(buf) - 1] = '\0';
    return strdup(buf);
}

static uint64_t meminfo_total(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kb = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
            break;
    }
    fclose(f);
    return (uint64_t)kb * 1024;
}

static long online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

/* GPUs as seen by one backend; CUDA/OpenCL/RSMI may describe the same
 * device, so only the first backend that reports any is counted. */
static int count_gpus(hwloc_topology_t topo)
{
    static const char *const backends[] = { "CUDA", "RSMI", "OpenCL" };
    for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); b++) {
        int n = 0;
        hwloc_obj_t o = NULL;
        while ((o = hwloc_get_next_osdev(topo, o))) {
            hwloc_obj_osdev_type_t t = o->attr->osdev.type;
            if (t != HWLOC_OBJ_OSDEV_GPU && t != HWLOC_OBJ_OSDEV_COPROC)
                continue;
            if (o->subtype && strcmp(o->subtype, backends[b]) == 0)
                n++;
        }
        if (n > 0)
            return n;
    }
    return 0;
}

struct rgraph *rgraph_create_hwloc(const char *xmlfile, struct errmsg *err)
{
    hwloc_topology_t topo;
    struct rgraph *g = NULL;
    struct rgraph_node *n;

    if (hwloc_topology_init(&topo) < 0) {
        errmsg_set(err, -errno, "hwloc: cannot initialize topology: %s", strerror(errno));
        return NULL;
    }
    hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    if (xmlfile && hwloc_topology_set_xml(topo, xmlfile) < 0) {
        errmsg_set(err, -EINVAL, "'%s': cannot use as hwloc XML: %s", xmlfile, strerror(errno));
        goto out;
    }
    if (hwloc_topology_load(topo) < 0) {
        errmsg_set(err, -EINVAL, "%s%s%scannot load hwloc topology: %s",
                   xmlfile ? "'" : "", xmlfile ? xmlfile : "", xmlfile ? "': " : "",
                   strerror(errno));
        goto out;
    }
    /* HWLOC_XMLFILE/HWLOC_SYNTHETIC in the environment also make the
     * topology foreign; then its cpus need not exist here. */
    bool thissystem = xmlfile == NULL && hwloc_topology_is_thissystem(topo);
    long ncpus = online_cpus();

    if (!(g = calloc(1, sizeof(*g))) || !(g->nodes = calloc(1, sizeof(*g->nodes))))
        goto nomem;
    g->nnodes = 1;
    n = &g->nodes[0];
    n->rank = 0;
    if (!(n->name = local_hostname()))
        goto nomem;

    /* Some VMs and synthetic topologies have PUs but no cores. */
    hwloc_obj_type_t ctype = HWLOC_OBJ_CORE;
    int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    if (ncores <= 0) {
        ctype = HWLOC_OBJ_PU;
        ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    }
    if (ncores <= 0) {
        errmsg_set(err, -EINVAL, "hwloc topology has no cores");
        goto error;
    }
    n->ncores = ncores;
    if (!(n->core_ids = calloc((size_t)ncores, sizeof(int)))
        || !(n->core_cpus = calloc((size_t)ncores, sizeof(int))))
        goto nomem;
    for (int i = 0; i < ncores; i++) {
        hwloc_obj_t c = hwloc_get_obj_by_type(topo, ctype, (unsigned)i);
        int cpu = c && c->cpuset ? hwloc_bitmap_first(c->cpuset) : -1;
        n->core_ids[i] = i;
        n->core_cpus[i] = (!thissystem && cpu >= ncpus) ? -1 : cpu;
    }
    n->ngpus = count_gpus(topo);
    if (n->ngpus > 0) {
        if (!(n->gpu_ids = calloc((size_t)n->ngpus, sizeof(int))))
            goto nomem;
        for (int i = 0; i < n->ngpus; i++)
            n->gpu_ids[i] = i;
    }
    n->memory = thissystem ? meminfo_total() : 0;
    if (n->memory == 0) {
        hwloc_obj_t root = hwloc_get_root_obj(topo);
        n->memory = root ? root->total_memory : 0;
    }
    compute_totals(g);
    hwloc_topology_destroy(topo);
    return g;
nomem:
    errmsg_set(err, -ENOMEM, "out of memory");
error:
    rgraph_destroy(g);
    g = NULL;
out:
    hwloc_topology_destroy(topo);
    return g;
}

/* The ids of s, ascending, as a new array. */
static int ids_to_array(const struct idset *s, int **out, int *count)
{
    size_t n = idset_count(s);
    int *a = malloc((n ? n : 1) * sizeof(int));
    if (!a)
        return -ENOMEM;
    int i = 0;
    for (int id = idset_first(s); id >= 0; id = idset_next(s, (unsigned)id))
        a[i++] = id;
    *out = a;
    *count = i;
    return 0;
}

struct rgraph *rgraph_create_R(const char *text, size_t len, struct errmsg *err)
{
    json_error_t jerr;
    struct rread_r *r = NULL;
    struct rgraph *g = NULL;
    long ncpus = online_cpus();

    if (!text) {
        errmsg_set(err, -EINVAL, "R: no text");
        return NULL;
    }
    json_t *R = json_loadb(text, len, 0, &jerr);
    if (!R) {
        errmsg_set(err, -EINVAL, "R: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    /* R is read once, by rread.h, for every use */
    if (rread_parse(R, &r, err) < 0)
        goto error;
    size_t n = rread_nnodes(r);
    if (!(g = calloc(1, sizeof(*g))) || !(g->nodes = calloc(n, sizeof(*g->nodes))))
        goto nomem;
    for (size_t k = 0; k < n; k++) {
        const struct rread_node *rn = rread_node(r, k);
        struct rgraph_node *gn = &g->nodes[g->nnodes++];
        gn->rank = rn->rank;
        if (!(gn->name = strdup(rn->name)) || ids_to_array(rn->cores, &gn->core_ids, &gn->ncores) < 0
            || (rn->gpus && ids_to_array(rn->gpus, &gn->gpu_ids, &gn->ngpus) < 0)
            || !(gn->core_cpus = malloc((size_t)gn->ncores * sizeof(int))))
            goto nomem;
        /* described cores this machine has are bound to the same number */
        for (int c = 0; c < gn->ncores; c++)
            gn->core_cpus[c] = gn->core_ids[c] < ncpus ? gn->core_ids[c] : -1;
    }
    compute_totals(g);
    rread_r_destroy(r);
    json_decref(R);
    return g;
nomem:
    errmsg_set(err, -ENOMEM, "out of memory");
error:
    rread_r_destroy(r);
    rgraph_destroy(g);
    json_decref(R);
    return NULL;
}

struct rgraph *rgraph_load_file(const char *path, struct errmsg *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        errmsg_set(err, -errno, "'%s': %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                errmsg_set(err, -ENOMEM, "out of memory");
                return NULL;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        errmsg_set(err, -EIO, "'%s': read error", path);
        return NULL;
    }
    size_t k = 0;
    while (k < len && isspace((unsigned char)buf[k]))
        k++;
    struct rgraph *g = NULL;
    if (k == len || buf[k] != '{') {
        errmsg_set(err, -EINVAL, "'%s': not an R document (expected a JSON object)", path);
    } else {
        struct errmsg rerr;
        if (!(g = rgraph_create_R(buf, len, &rerr)))
            errmsg_set(err, -EINVAL, "'%s': %s", path, rerr.text);
    }
    free(buf);
    return g;
}

json_t *rgraph_to_R(const struct rgraph *g)
{
    struct rv1_writer *w = rv1_writer_create();
    json_t *R = NULL;
    if (!w)
        return NULL;
    for (int i = 0; i < g->nnodes; i++) {
        const struct rgraph_node *n = &g->nodes[i];
        if (rv1_writer_add(w, n->rank, n->name, n->core_ids, n->ncores, n->gpu_ids,
                           n->ngpus) < 0)
            goto out;
    }
    R = rv1_writer_finish(w, 0.0, 0.0);
out:
    rv1_writer_destroy(w);
    return R;
}

/* The scheduling graph of a flat model: cluster0 > node (by rank) > core,
 * gpu (ids as in R). Used for R files and when hwloc describes this machine. */
struct graph *rgraph_to_graph(const struct rgraph *rg, struct errmsg *err)
{
    struct graph *g = graph_create();
    int root;
    if (!g) {
        errmsg_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    if ((root = graph_add_vertex(g, -1, "cluster", "cluster", NULL, 0, 1, NULL, -1, err)) < 0)
        goto error;
    for (int n = 0; n < rgraph_nnodes(rg); n++) {
        const struct rgraph_node *gn = rgraph_node(rg, n);
        int nv = graph_add_vertex(g, root, "node", "node", gn->name, n, 1, NULL,
                                  gn->rank, err);
        if (nv < 0)
            goto error;
        for (int i = 0; i < gn->ncores; i++)
            if (graph_add_vertex(g, nv, "core", "core", NULL, gn->core_ids[i], 1, NULL,
                                 -1, err) < 0)
                goto error;
        for (int i = 0; i < gn->ngpus; i++)
            if (graph_add_vertex(g, nv, "gpu", "gpu", NULL, gn->gpu_ids[i], 1, NULL,
                                 -1, err) < 0)
                goto error;
    }
    if (graph_finalize(g, err) < 0)
        goto error;
    return g;
error:
    graph_destroy(g);
    return NULL;
}


/* ---- nodes of a multi-node instance, as brokers report them ---- */

void rgraph_node_release(struct rgraph_node *n)
{
    if (n) {
        node_release(n);
        memset(n, 0, sizeof(*n));
    }
}

static int *dup_ints(const int *v, int n)
{
    int *c = malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    if (c && n > 0)
        memcpy(c, v, (size_t)n * sizeof(int));
    return c;
}

/* A deep copy of src's resources into dst (name and rank left alone). */
static int copy_resources(struct rgraph_node *dst, const struct rgraph_node *src)
{
    int *ids = dup_ints(src->core_ids, src->ncores), *cpus = dup_ints(src->core_cpus, src->ncores);
    int *gpus = dup_ints(src->gpu_ids, src->ngpus);
    if (!ids || !cpus || !gpus) {
        free(ids);
        free(cpus);
        free(gpus);
        return -ENOMEM;
    }
    free(dst->core_ids);
    free(dst->core_cpus);
    free(dst->gpu_ids);
    dst->core_ids = ids;
    dst->core_cpus = cpus;
    dst->gpu_ids = gpus;
    dst->ncores = src->ncores;
    dst->ngpus = src->ngpus;
    dst->memory = src->memory;
    return 0;
}

int rgraph_add_node(struct rgraph *g, const struct rgraph_node *n)
{
    struct rgraph_node *nodes = realloc(g->nodes, (size_t)(g->nnodes + 1) * sizeof(*nodes));
    if (!nodes)
        return -ENOMEM;
    g->nodes = nodes;
    struct rgraph_node *d = &nodes[g->nnodes];
    memset(d, 0, sizeof(*d));
    if (!(d->name = strdup(n->name ? n->name : "")) || copy_resources(d, n) < 0) {
        node_release(d);
        return -ENOMEM;
    }
    d->rank = n->rank;
    g->nnodes++;
    compute_totals(g);
    return g->nnodes - 1;
}

int rgraph_fill_node(struct rgraph *g, int i, const struct rgraph_node *n)
{
    if (i < 0 || i >= g->nnodes)
        return -EINVAL;
    int rc = copy_resources(&g->nodes[i], n);
    compute_totals(g);
    return rc;
}

int rgraph_name_node(struct rgraph *g, int i, const char *name, int rank)
{
    if (i < 0 || i >= g->nnodes)
        return -EINVAL;
    char *c = strdup(name);
    if (!c)
        return -ENOMEM;
    free(g->nodes[i].name);
    g->nodes[i].name = c;
    g->nodes[i].rank = rank;
    return 0;
}

static int by_rank(const void *a, const void *b)
{
    int x = ((const struct rgraph_node *)a)->rank, y = ((const struct rgraph_node *)b)->rank;
    return x < y ? -1 : x > y;
}

void rgraph_sort_by_rank(struct rgraph *g)
{
    qsort(g->nodes, (size_t)g->nnodes, sizeof(*g->nodes), by_rank);
}

int rgraph_find_rank(const struct rgraph *g, int rank)
{
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i].rank == rank)
            return i;
    return -ENOENT;
}

int rgraph_node_vertices(const struct rgraph *g, int i, struct graph *G, int nv,
                         struct errmsg *err)
{
    const struct rgraph_node *gn = rgraph_node(g, i);
    if (!gn)
        return errmsg_set(err, -EINVAL, "no node %d", i);
    for (int k = 0; k < gn->ncores; k++)
        if (graph_add_vertex(G, nv, "core", "core", NULL, gn->core_ids[k], 1, NULL, -1, err) < 0)
            return -EINVAL;
    for (int k = 0; k < gn->ngpus; k++)
        if (graph_add_vertex(G, nv, "gpu", "gpu", NULL, gn->gpu_ids[k], 1, NULL, -1, err) < 0)
            return -EINVAL;
    return 0;
}

json_t *rgraph_node_to_json(const struct rgraph_node *n)
{
    json_t *cores = json_array(), *cpus = json_array(), *gpus = json_array();
    for (int i = 0; cores && cpus && i < n->ncores; i++) {
        json_array_append_new(cores, json_integer(n->core_ids[i]));
        json_array_append_new(cpus, json_integer(n->core_cpus[i]));
    }
    for (int i = 0; gpus && i < n->ngpus; i++)
        json_array_append_new(gpus, json_integer(n->gpu_ids[i]));
    if (!cores || !cpus || !gpus) {
        json_decref(cores);
        json_decref(cpus);
        json_decref(gpus);
        return NULL;
    }
    return json_pack("{s:o s:o s:o s:I}", "cores", cores, "cpus", cpus, "gpus", gpus,
                     "memory", (json_int_t)n->memory);
}

/* An array of at most max small non-negative integers, or -EINVAL. */
static int int_array(json_t *a, int max, int **out, int *n)
{
    size_t i;
    json_t *v;
    *out = NULL;
    *n = 0;
    if (!json_is_array(a) || json_array_size(a) > (size_t)max)
        return -EINVAL;
    if (!(*out = malloc((json_array_size(a) + 1) * sizeof(int))))
        return -ENOMEM;
    json_array_foreach(a, i, v) {
        if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > 1 << 24)
            return -EINVAL;
        (*out)[(*n)++] = (int)json_integer_value(v);
    }
    return 0;
}

int rgraph_node_from_json(json_t *o, struct rgraph_node *out, struct errmsg *err)
{
    memset(out, 0, sizeof(*out));
    int ncpus;
    json_t *mem = json_object_get(o, "memory");
    if (!json_is_object(o)
        || int_array(json_object_get(o, "cores"), RGRAPH_NODE_MAX, &out->core_ids, &out->ncores) < 0
        || int_array(json_object_get(o, "cpus"), RGRAPH_NODE_MAX, &out->core_cpus, &ncpus) < 0
        || int_array(json_object_get(o, "gpus"), RGRAPH_NODE_MAX, &out->gpu_ids, &out->ngpus) < 0
        || ncpus != out->ncores || (mem && !json_is_integer(mem))) {
        node_release(out);
        memset(out, 0, sizeof(*out));
        return errmsg_set(err, -EINVAL, "a node's resources: cores, cpus (as many), gpus, memory");
    }
    for (int i = 0; i < out->ncores; i++)
        if (out->core_ids[i] < 0) {
            node_release(out);
            memset(out, 0, sizeof(*out));
            return errmsg_set(err, -EINVAL, "a node's resources: a negative core id");
        }
    out->memory = mem && json_integer_value(mem) > 0 ? (uint64_t)json_integer_value(mem) : 0;
    return 0;
}
