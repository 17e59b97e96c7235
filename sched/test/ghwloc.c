#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tap.h"
#include "sched/test/graph_check.h"
#include "sched/ghwloc.h"

static char path_buf[4096];

static const char *fixture(const char *name)
{
    const char *dir = getenv("FLUXFS_FIXTURES");
    snprintf(path_buf, sizeof(path_buf), "%s/%s", dir ? dir : "tests/fixtures", name);
    return path_buf;
}


static int at(const struct graph *g, const char *path)
{
    return graph_find_path(g, path);
}


/* Every vertex below the cluster is on rank 0. */
static int all_rank0(const struct graph *g)
{
    for (int v = 1; v < graph_nvertices(g); v++)
        if (graph_vertex(g, v)->rank != 0)
            return 0;
    return graph_vertex(g, 0)->rank == -1;
}

static void test_live(void)
{
    struct graph *g = NULL;
    struct errmsg err = { "" };
    int rc = ghwloc_load(NULL, NULL, &g, &err);
    ok(rc == 0 && g, "this machine loads %s", err.text);
    if (!g)
        return;
    char host[256];
    gethostname(host, sizeof(host));
    const struct graph_vertex *n = graph_vertex(g, 1);
    ok(!strcmp(n->name, host) && !strcmp(graph_type_name(g, n->type), "node") && n->rank == 0,
       "live: node 1 is '%s' on rank 0", host);
    long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
    ok(count(g, "node") == 1 && count(g, "core") >= 1 && count(g, "core") <= ncpus,
       "live: %lld cores", (long long)count(g, "core"));
    is(graph_vertex(g, 0)->total[0], count(g, "core"), "live: core total at the root");
    ok(all_rank0(g), "live: every vertex below the cluster is on rank 0");
    graph_destroy(g);
}

static void test_fixtures(void)
{
    struct graph *g = NULL;
    struct errmsg err = { "" };
    int rc = ghwloc_load(fixture("hwloc-2x4x2.xml"), "fluke12", &g, &err);
    ok(rc == 0 && g, "2x4x2 loads %s", err.text);
    if (g) {
        check_counts(g, "2x4x2", "cluster=1 node=1 socket=2 core=8 memory=1");
        const struct graph_vertex *n = graph_vertex(g, at(g, "/cluster0/fluke12"));
        ok(n && n->id == 12 && !strcmp(n->basename, "fluke"),
           "2x4x2: node named for the host, basename fluke, id 12");
        ok(at(g, "/cluster0/fluke12/socket0/core3") > 0
           && at(g, "/cluster0/fluke12/socket1/core7") > 0,
           "2x4x2: cores are logical indexes, under their package");
        const struct graph_vertex *m = graph_vertex(g, at(g, "/cluster0/fluke12/memory0"));
        ok(m && m->size == 1 && !strcmp(m->unit, "GB"),
           "2x4x2: the machine-wide NUMA node is 1 GB under the node");
        ok(all_rank0(g), "2x4x2: rank 0 below the cluster");
        graph_destroy(g);
    }

    g = NULL;
    rc = ghwloc_load(fixture("hwloc-nocore-3pu.xml"), "n", &g, &err);
    ok(rc == 0 && g, "nocore-3pu loads %s", err.text);
    if (g) {
        check_counts(g, "nocore-3pu", "cluster=1 node=1 socket=1 core=3 memory=1");
        ok(at(g, "/cluster0/n/socket0/core2") > 0, "nocore-3pu: PUs stand in for cores");
        graph_destroy(g);
    }

    g = NULL;
    rc = ghwloc_load(fixture("hwloc-2core-2gpu.xml"), "gpubox", &g, &err);
    ok(rc == 0 && g, "2core-2gpu loads %s", err.text);
    if (g) {
        check_counts(g, "2core-2gpu", "cluster=1 node=1 socket=1 core=2 gpu=2 memory=1");
        ok(at(g, "/cluster0/gpubox/socket0/gpu1") > 0 && at(g, "/cluster0/gpubox/socket0/memory0") > 0,
           "2core-2gpu: CUDA gpus (not OpenCL or DRM again) under their package");
        is(graph_vertex(g, 0)->total[1], 2, "2core-2gpu: gpu total at the root");
        graph_destroy(g);
    }
}

/* Every hwloc fixture loads. */
static void test_all_fixtures(void)
{
    DIR *dir = opendir(fixture(""));
    ok(dir != NULL, "fixtures directory is readable");
    if (!dir)
        return;
    int n = 0, good = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (strncmp(de->d_name, "hwloc-", 6) || !strstr(de->d_name, ".xml"))
            continue;
        char name[300];
        snprintf(name, sizeof(name), "%s", de->d_name);
        struct graph *g = NULL;
        struct errmsg err = { "" };
        n++;
        if (ghwloc_load(fixture(name), "h", &g, &err) == 0 && count(g, "core") > 0)
            good++;
        else
            diag("%s: %s", name, err.text);
        graph_destroy(g);
    }
    closedir(dir);
    ok(n >= 3 && good == n, "%d of %d hwloc fixtures load", good, n);
}

static void test_synthetic(void)
{
    hwloc_topology_t topo;
    struct graph *g = NULL;
    struct errmsg err = { "" };
    hwloc_topology_init(&topo);
    int rc = hwloc_topology_set_synthetic(topo, "pack:2 [numa(memory=4GB)] core:3 pu:2");
    if (rc == 0)
        rc = hwloc_topology_load(topo);
    ok(rc == 0, "synthetic topology loads");
    if (rc == 0) {
        rc = ghwloc_load_topology(topo, "syn007", &g, &err);
        ok(rc == 0 && g, "synthetic: graph from a caller's topology %s", err.text);
    }
    if (g) {
        check_counts(g, "synthetic", "cluster=1 node=1 socket=2 core=6 memory=2");
        const struct graph_vertex *m = graph_vertex(g, at(g, "/cluster0/syn007/socket1/memory1"));
        ok(m && m->size == 4, "synthetic: a 4 GB NUMA node in each package");
        ok(at(g, "/cluster0/syn007/socket1/core5") > 0, "synthetic: core5 in package 1");
        is(graph_vertex(g, at(g, "/cluster0/syn007"))->id, 7, "synthetic: node id 7 from 'syn007'");
        graph_destroy(g);
    }
    hwloc_topology_destroy(topo);
}

static void test_errors(void)
{
    struct graph *g = NULL;
    struct errmsg err = { "" };
    int rc = ghwloc_load(fixture("no-such-file.xml"), NULL, &g, &err);
    ok(rc < 0 && !g && strstr(err.text, "no-such-file.xml"), "missing XML fails: %s", err.text);

    setenv("HWLOC_XMLFILE", fixture("hwloc-2x4x2.xml"), 1);
    rc = ghwloc_load(NULL, "envhost", &g, &err);
    unsetenv("HWLOC_XMLFILE");
    ok(rc == 0 && count(g, "core") == 8 && count(g, "socket") == 2,
       "HWLOC_XMLFILE in the environment is honoured %s", err.text);
    graph_destroy(g);
}

int main(void)
{
    plan(NO_PLAN);
    test_live();
    test_fixtures();
    test_all_fixtures();
    test_synthetic();
    test_errors();
    return done_testing();
}
