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

#include "common/hostlist.h"
#include "common/idset.h"
#include "sched/graph.h"
#include "sched/rgraph.h"
#include "sched/rv1.h"

/* Sanity limits for R documents, so a typo cannot allocate gigabytes. */
#define RGRAPH_MAX_RANKS (1 << 20)
#define RGRAPH_MAX_CHILD_ID (1 << 16)

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

/* Decode an idset into a sorted int array. */
static int idset_to_array(const char *text, int max, int **out, int *count)
{
    struct idset *s = idset_decode(text);
    if (!s)
        return -errno;
    size_t n = idset_count(s);
    int *a = NULL;
    int i = 0;
    if (n > 0 && idset_first(s) >= 0) {
        int last = -1;
        for (int id = idset_first(s); id >= 0; id = idset_next(s, (unsigned)id))
            last = id;
        if (last >= max) {
            idset_destroy(s);
            return -ERANGE;
        }
        if (!(a = malloc(n * sizeof(int)))) {
            idset_destroy(s);
            return -ENOMEM;
        }
        for (int id = idset_first(s); id >= 0; id = idset_next(s, (unsigned)id))
            a[i++] = id;
    }
    idset_destroy(s);
    *out = a;
    *count = i;
    return 0;
}

static int cmp_node_rank(const void *a, const void *b)
{
    const struct rgraph_node *x = a, *y = b;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

/* Parse children of one R_lite entry into the template node t. */
static int parse_children(json_t *entry, size_t idx, struct rgraph_node *t, struct errmsg *err)
{
    json_t *children = json_object_get(entry, "children");
    if (!json_is_object(children))
        return errmsg_set(err, -EINVAL, "R_lite[%zu].children: must be an object", idx);
    json_t *core = json_object_get(children, "core");
    if (!json_is_string(core))
        return errmsg_set(err, -EINVAL, "R_lite[%zu].children.core: must be an idset string", idx);
    int rc = idset_to_array(json_string_value(core), RGRAPH_MAX_CHILD_ID, &t->core_ids, &t->ncores);
    if (rc == -ENOMEM)
        return errmsg_set(err, rc, "out of memory");
    if (rc < 0 || t->ncores == 0)
        return errmsg_set(err, -EINVAL, "R_lite[%zu].children.core: invalid idset '%s'",
                          idx, json_string_value(core));
    json_t *gpu = json_object_get(children, "gpu");
    if (gpu) {
        if (!json_is_string(gpu))
            return errmsg_set(err, -EINVAL, "R_lite[%zu].children.gpu: must be an idset string", idx);
        rc = idset_to_array(json_string_value(gpu), RGRAPH_MAX_CHILD_ID, &t->gpu_ids, &t->ngpus);
        if (rc == -ENOMEM)
            return errmsg_set(err, rc, "out of memory");
        if (rc < 0)
            return errmsg_set(err, -EINVAL, "R_lite[%zu].children.gpu: invalid idset '%s'",
                              idx, json_string_value(gpu));
    }
    return 0;
}

static int *dup_ints(const int *a, int n)
{
    int *d = malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    if (d && n > 0)
        memcpy(d, a, (size_t)n * sizeof(int));
    return d;
}

/* Append one node per rank in ranks, copying the template t. */
static int add_ranks(struct rgraph *g, size_t *cap, const struct idset *ranks,
                     const struct rgraph_node *t, long ncpus)
{
    size_t need = (size_t)g->nnodes + idset_count(ranks);
    if (need > *cap) {
        size_t ncap = *cap ? *cap : 8;
        while (ncap < need)
            ncap *= 2;
        struct rgraph_node *nn = realloc(g->nodes, ncap * sizeof(*nn));
        if (!nn)
            return -ENOMEM;
        g->nodes = nn;
        *cap = ncap;
    }
    for (int r = idset_first(ranks); r >= 0; r = idset_next(ranks, (unsigned)r)) {
        struct rgraph_node *n = &g->nodes[g->nnodes];
        memset(n, 0, sizeof(*n));
        n->rank = r;
        n->ncores = t->ncores;
        n->ngpus = t->ngpus;
        g->nnodes++;
        if (!(n->core_ids = dup_ints(t->core_ids, t->ncores))
            || !(n->core_cpus = malloc((size_t)t->ncores * sizeof(int))))
            return -ENOMEM;
        for (int i = 0; i < t->ncores; i++)
            n->core_cpus[i] = t->core_ids[i] < ncpus ? t->core_ids[i] : -1;
        if (t->ngpus > 0 && !(n->gpu_ids = dup_ints(t->gpu_ids, t->ngpus)))
            return -ENOMEM;
    }
    return 0;
}

static int name_nodes(struct rgraph *g, json_t *nodelist, struct errmsg *err)
{
    if (!nodelist) {
        char *host = local_hostname();
        if (!host)
            return errmsg_set(err, -ENOMEM, "out of memory");
        for (int i = 0; i < g->nnodes; i++) {
            struct rgraph_node *n = &g->nodes[i];
            if (g->nnodes == 1)
                n->name = strdup(host);
            else if (asprintf(&n->name, "%s-%d", host, n->rank) < 0)
                n->name = NULL;
            if (!n->name) {
                free(host);
                return errmsg_set(err, -ENOMEM, "out of memory");
            }
        }
        free(host);
        return 0;
    }
    if (!json_is_array(nodelist))
        return errmsg_set(err, -EINVAL, "nodelist: must be an array of hostlist strings");
    struct hostlist *hl = hostlist_create();
    if (!hl)
        return errmsg_set(err, -ENOMEM, "out of memory");
    int rc = 0;
    size_t i;
    json_t *v;
    json_array_foreach(nodelist, i, v) {
        if (!json_is_string(v)) {
            rc = errmsg_set(err, -EINVAL, "nodelist[%zu]: must be a hostlist string", i);
            goto out;
        }
        if (hostlist_append(hl, json_string_value(v)) < 0) {
            rc = errmsg_set(err, -EINVAL, "nodelist[%zu]: invalid hostlist '%s'",
                            i, json_string_value(v));
            goto out;
        }
    }
    if (hostlist_count(hl) != (size_t)g->nnodes) {
        rc = errmsg_set(err, -EINVAL, "nodelist names %zu hosts but R_lite has %d ranks",
                        hostlist_count(hl), g->nnodes);
        goto out;
    }
    for (int k = 0; k < g->nnodes; k++) {
        if (!(g->nodes[k].name = strdup(hostlist_nth(hl, (size_t)k)))) {
            rc = errmsg_set(err, -ENOMEM, "out of memory");
            goto out;
        }
    }
out:
    hostlist_destroy(hl);
    return rc;
}

struct rgraph *rgraph_create_R(const char *text, size_t len, struct errmsg *err)
{
    json_error_t jerr;
    json_t *R = NULL;
    struct rgraph *g = NULL;
    struct idset *seen = NULL;
    struct rgraph_node t = { 0 };
    size_t cap = 0;
    long ncpus = online_cpus();
    int rc;

    if (!text) {
        errmsg_set(err, -EINVAL, "R: no text");
        return NULL;
    }
    if (!(R = json_loadb(text, len, 0, &jerr))) {
        errmsg_set(err, -EINVAL, "R: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(R)) {
        errmsg_set(err, -EINVAL, "R: must be a JSON object");
        goto error;
    }
    json_t *version = json_object_get(R, "version");
    if (!json_is_integer(version)) {
        errmsg_set(err, -EINVAL, "R: version: missing or not an integer");
        goto error;
    }
    if (json_integer_value(version) != 1) {
        errmsg_set(err, -EINVAL, "R: unsupported version %lld",
                   (long long)json_integer_value(version));
        goto error;
    }
    json_t *exec = json_object_get(R, "execution");
    if (!json_is_object(exec)) {
        errmsg_set(err, -EINVAL, "R: execution: missing or not an object");
        goto error;
    }
    json_t *rlite = json_object_get(exec, "R_lite");
    if (!json_is_array(rlite) || json_array_size(rlite) == 0) {
        errmsg_set(err, -EINVAL, "R: execution.R_lite: must be a non-empty array");
        goto error;
    }
    if (!(g = calloc(1, sizeof(*g))) || !(seen = idset_create(64)))
        goto nomem;

    size_t i;
    json_t *entry;
    json_array_foreach(rlite, i, entry) {
        if (!json_is_object(entry)) {
            errmsg_set(err, -EINVAL, "R: R_lite[%zu]: must be an object", i);
            goto error;
        }
        json_t *rank = json_object_get(entry, "rank");
        if (!json_is_string(rank)) {
            errmsg_set(err, -EINVAL, "R: R_lite[%zu].rank: must be an idset string", i);
            goto error;
        }
        struct idset *ranks = idset_decode(json_string_value(rank));
        if (!ranks || idset_count(ranks) == 0
            || idset_count(ranks) + (size_t)g->nnodes > RGRAPH_MAX_RANKS) {
            errmsg_set(err, -EINVAL, "R: R_lite[%zu].rank: invalid idset '%s'",
                       i, json_string_value(rank));
            idset_destroy(ranks);
            goto error;
        }
        for (int r = idset_first(ranks); r >= 0; r = idset_next(ranks, (unsigned)r)) {
            if (idset_test(seen, (unsigned)r)) {
                errmsg_set(err, -EINVAL, "R: R_lite[%zu].rank: rank %d appears more than once", i, r);
                idset_destroy(ranks);
                goto error;
            }
            if (idset_set(seen, (unsigned)r) < 0) {
                idset_destroy(ranks);
                goto nomem;
            }
        }
        struct errmsg cerr;
        if ((rc = parse_children(entry, i, &t, &cerr)) < 0) {
            errmsg_set(err, rc, "R: %s", cerr.text);
            idset_destroy(ranks);
            goto error;
        }
        rc = add_ranks(g, &cap, ranks, &t, ncpus);
        idset_destroy(ranks);
        node_release(&t);
        memset(&t, 0, sizeof(t));
        if (rc < 0)
            goto nomem;
    }
    qsort(g->nodes, (size_t)g->nnodes, sizeof(*g->nodes), cmp_node_rank);
    struct errmsg nerr;
    if ((rc = name_nodes(g, json_object_get(exec, "nodelist"), &nerr)) < 0) {
        errmsg_set(err, rc, "R: %s", nerr.text);
        goto error;
    }
    compute_totals(g);
    idset_destroy(seen);
    json_decref(R);
    return g;
nomem:
    errmsg_set(err, -ENOMEM, "out of memory");
error:
    node_release(&t);
    idset_destroy(seen);
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

