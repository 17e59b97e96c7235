/* ghwloc.c - build the resource graph of one machine from its hwloc topology.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/ghwloc.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

struct hwbuild {
    hwloc_topology_t topo;
    struct graph *g;
    int node;                  /* the node vertex */
    hwloc_obj_type_t ctype;    /* Core, or PU when there are none */
    const char *gpu_backend;   /* NULL: no GPUs */
    int ngpus;                 /* gpu ids handed out so far */
    struct errmsg *err;
};

/* CUDA, RSMI and OpenCL may each describe the same device: count only the
 * first backend that reports any. */
static const char *gpu_backend(hwloc_topology_t topo)
{
    static const char *const backends[] = { "CUDA", "RSMI", "OpenCL" };
    for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); b++) {
        hwloc_obj_t o = NULL;
        while ((o = hwloc_get_next_osdev(topo, o)))
            if (o->subtype && !strcmp(o->subtype, backends[b])
                && (o->attr->osdev.type == HWLOC_OBJ_OSDEV_GPU
                    || o->attr->osdev.type == HWLOC_OBJ_OSDEV_COPROC))
                return backends[b];
    }
    return NULL;
}

static bool is_gpu(const struct hwbuild *b, hwloc_obj_t o)
{
    return b->gpu_backend && o->subtype && !strcmp(o->subtype, b->gpu_backend)
           && (o->attr->osdev.type == HWLOC_OBJ_OSDEV_GPU
               || o->attr->osdev.type == HWLOC_OBJ_OSDEV_COPROC);
}

/* The package an object belongs to, or NULL. I/O objects belong to the
 * package of their nearest non-I/O ancestor. */
static hwloc_obj_t package_of(hwloc_topology_t topo, hwloc_obj_t o)
{
    if (o->type == HWLOC_OBJ_OS_DEVICE || o->type == HWLOC_OBJ_PCI_DEVICE
        || o->type == HWLOC_OBJ_BRIDGE)
        o = hwloc_get_non_io_ancestor_obj(topo, o);
    if (!o)
        return NULL;
    if (o->type == HWLOC_OBJ_PACKAGE)
        return o;
    return hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, o);
}

/* Everything under one package (pkg NULL: outside every package). */
static int add_contents(struct hwbuild *b, hwloc_obj_t pkg, int parent)
{
    hwloc_topology_t topo = b->topo;
    hwloc_obj_t o = NULL;
    int v;
    while ((o = hwloc_get_next_obj_by_type(topo, b->ctype, o))) {
        if (package_of(topo, o) != pkg)
            continue;
        if ((v = graph_add_vertex(b->g, parent, "core", "core", NULL, o->logical_index, 1,
                                  NULL, 0, b->err)) < 0)
            return v;
    }
    while ((o = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, o))) {
        if (package_of(topo, o) != pkg)
            continue;
        uint64_t bytes = o->attr ? o->attr->numanode.local_memory : 0;
        if (bytes == 0)
            continue;          /* an XML file may not say: no pool then */
        int64_t gib = (int64_t)(bytes / GIB + 0.5);
        if ((v = graph_add_vertex(b->g, parent, "memory", "memory", NULL, o->logical_index,
                                  gib > 0 ? gib : 1, "GB", 0, b->err)) < 0)
            return v;
    }
    while ((o = hwloc_get_next_osdev(topo, o))) {
        if (!is_gpu(b, o) || package_of(topo, o) != pkg)
            continue;
        if ((v = graph_add_vertex(b->g, parent, "gpu", "gpu", NULL, b->ngpus++, 1, NULL, 0,
                                  b->err)) < 0)
            return v;
    }
    return 0;
}

/* Fluxion splits a hostname at its trailing digits: "fluke12" is fluke, 12. */
static void split_hostname(const char *host, char *base, size_t size, int64_t *id)
{
    size_t len = strlen(host), k = len;
    while (k > 0 && isdigit((unsigned char)host[k - 1]))
        k--;
    *id = 0;
    if (k < len && len - k < 19)
        *id = strtoll(host + k, NULL, 10);
    if (k == 0)
        k = len;               /* all digits: keep the whole name */
    snprintf(base, size, "%.*s", (int)k, host);
}

int ghwloc_load_topology(hwloc_topology_t topo, const char *hostname, struct graph **out,
                         struct errmsg *err)
{
    struct hwbuild b = { .topo = topo, .err = err, .ctype = HWLOC_OBJ_CORE };
    char host[256], base[256];
    int64_t id;
    int rc;
    if (!hostname) {
        if (gethostname(host, sizeof(host)) < 0)
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        hostname = host;
    }
    if (hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) <= 0)
        b.ctype = HWLOC_OBJ_PU;
    if (hwloc_get_nbobjs_by_type(topo, b.ctype) <= 0)
        return errmsg_set(err, -EINVAL, "hwloc topology has no cores");
    b.gpu_backend = gpu_backend(topo);
    split_hostname(hostname, base, sizeof(base), &id);
    if (!(b.g = graph_create()))
        return errmsg_set(err, -ENOMEM, "out of memory");
    if ((rc = graph_add_vertex(b.g, -1, "cluster", "cluster", NULL, 0, 1, NULL, -1, err)) < 0
        || (rc = b.node = graph_add_vertex(b.g, 0, "node", base, hostname, id, 1, NULL, 0,
                                           err)) < 0)
        goto out;
    hwloc_obj_t pkg = NULL;
    while ((pkg = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PACKAGE, pkg))) {
        int s = graph_add_vertex(b.g, b.node, "socket", "socket", NULL, pkg->logical_index, 1,
                                 NULL, 0, err);
        if ((rc = s) < 0 || (rc = add_contents(&b, pkg, s)) < 0)
            goto out;
    }
    if ((rc = add_contents(&b, NULL, b.node)) < 0 || (rc = graph_finalize(b.g, err)) < 0)
        goto out;
    *out = b.g;
    b.g = NULL;
    rc = 0;
out:
    graph_destroy(b.g);
    return rc;
}

int ghwloc_load(const char *xmlpath, const char *hostname, struct graph **out,
                struct errmsg *err)
{
    hwloc_topology_t topo;
    int rc;
    if (hwloc_topology_init(&topo) < 0)
        return errmsg_set(err, -errno, "hwloc: cannot initialize a topology: %s",
                          strerror(errno));
    hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    if (xmlpath && hwloc_topology_set_xml(topo, xmlpath) < 0) {
        rc = errmsg_set(err, -EINVAL, "'%s': cannot use as hwloc XML: %s", xmlpath,
                        strerror(errno));
        goto out;
    }
    if (hwloc_topology_load(topo) < 0) {
        rc = errmsg_set(err, -EINVAL, "%s%s%scannot load the hwloc topology: %s",
                        xmlpath ? "'" : "", xmlpath ? xmlpath : "", xmlpath ? "': " : "",
                        strerror(errno));
        goto out;
    }
    struct errmsg e;
    if ((rc = ghwloc_load_topology(topo, hostname, out, &e)) < 0)
        errmsg_set(err, rc, "%s%s%s%s", xmlpath ? "'" : "", xmlpath ? xmlpath : "",
                   xmlpath ? "': " : "", e.text);
out:
    hwloc_topology_destroy(topo);
    return rc;
}
