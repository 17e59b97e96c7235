#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/tap.h"
#include "sched/test/graph_check.h"
#include "sched/gdesc.h"



static struct graph *parse(const char *desc)
{
    struct graph *g = NULL;
    struct errmsg err = { "" };
    int rc = gdesc_parse(desc, &g, &err);
    ok(rc == 0 && g, "'%s' parses %s", desc, err.text);
    return g;
}

static int at(const struct graph *g, const char *path)
{
    return graph_find_path(g, path);
}

static void test_racks(void)
{
    const char *d = "4 racks x 18 nodes x 2 sockets x 18 cores + 2 gpus";
    struct graph *g = parse(d);
    if (!g)
        return;
    check_counts(g, d, "cluster=1 rack=4 node=72 socket=144 core=2592 gpu=288");
    int v = at(g, "/cluster0/rack3/node71/socket1/core35");
    ok(v > 0, "racks: /cluster0/rack3/node71/socket1/core35 exists");
    const struct graph_vertex *x = graph_vertex(g, v);
    ok(x && x->id == 35 && x->rank == 71, "racks: core35 of node71 is on rank 71");
    ok(at(g, "/cluster0/rack0/node0/socket1/core18") > 0
       && at(g, "/cluster0/rack0/node1/socket0/core0") > 0,
       "racks: core ids restart in each node and run on across its sockets");
    ok(at(g, "/cluster0/rack3/node71/socket0/gpu0") > 0
       && at(g, "/cluster0/rack3/node71/socket1/gpu3") > 0,
       "racks: '+ 2 gpus' sits beside the cores, in every socket");
    ok(at(g, "/cluster0/rack1/node18") > 0, "racks: node ids are global");
    x = graph_vertex(g, at(g, "/cluster0/rack2"));
    ok(x && x->rank == -1 && x->total[0] == 648 && x->total[1] == 72, "racks: rack2 totals");
    graph_destroy(g);
}

/* AddressSanitizer makes allocation-heavy code about three times slower. */
#ifdef __SANITIZE_ADDRESS__
#define LIMIT 15.0
#else
#define LIMIT 5.0
#endif

/* CPU time, not wall time: other processes on a loaded machine do not
 * stretch it, so the limit catches a slower algorithm, not a busy host. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_big(void)
{
    const char *d = "16384 nodes x (2 sockets x 18 cores + 2 gpus)";
    double t0 = cpu_seconds();
    struct graph *g = parse(d);
    double dt = cpu_seconds() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (!g)
        return;
    diag("%d vertices in %.3f s of CPU; max RSS %ld MiB", graph_nvertices(g), dt, ru.ru_maxrss / 1024);
    ok(dt < LIMIT, "16k nodes build in under %.0f s of CPU (%.3f s)", LIMIT, dt);
    check_counts(g, d, "cluster=1 node=16384 socket=32768 core=589824 gpu=65536");
    const struct graph_vertex *x = graph_vertex(g, at(g, "/cluster0/node16383/socket1/core35"));
    ok(x && x->rank == 16383, "big: core35 of node16383 is on rank 16383");
    is(graph_vertex(g, 0)->total[0], 589824, "big: core total at the root");
    graph_destroy(g);

    d = "16384 nodes x (2 sockets x 18 cores) + 2 gpus + 4 memory:16GB";
    g = parse(d);
    if (!g)
        return;
    check_counts(g, d, "cluster=1 node=16384 socket=32768 core=589824 gpu=32768 memory=65536");
    x = graph_vertex(g, at(g, "/cluster0/node5/memory3"));
    ok(x && x->size == 16 && x->unit && !strcmp(x->unit, "GB") && x->rank == 5,
       "big: memory3 of node5 is 16 GB on rank 5");
    ok(at(g, "/cluster0/node5/gpu1") > 0, "big: gpus beside the sockets");
    graph_destroy(g);
}

static void test_forms(void)
{
    struct graph *g = parse("1 cluster x 2 nodes x 4 cores");
    if (g) {
        check_counts(g, "1 cluster x 2 nodes x 4 cores", "cluster=1 node=2 core=8");
        ok(at(g, "/cluster0/node1/core3") > 0, "an explicit cluster is the root");
        graph_destroy(g);
    }
    g = parse("  (2 nodes x 2 cores) + (1 login x 1 core)+1 switch:48 ");
    if (g) {
        check_counts(g, "groups", "cluster=1 node=2 login=1 switch=1 core=5");
        ok(at(g, "/cluster0/login0/core0") > 0 && at(g, "/cluster0/node1/core1") > 0,
           "groups: core ids are per node only inside nodes");
        const struct graph_vertex *x = graph_vertex(g, at(g, "/cluster0/switch0"));
        ok(x && x->size == 48 && !x->unit, "groups: size without a unit");
        graph_destroy(g);
    }
    g = parse("2 xpus + 1 bbs + 3 ssds x 1 x");
    if (g) {
        check_counts(g, "plurals", "cluster=1 xpu=2 bb=1 ssd=3 x=3");
        graph_destroy(g);
    }
    g = parse("1 cluster x 3 clusters");
    if (g) {
        ok(at(g, "/cluster0/cluster3") > 0, "nested clusters count on from the root");
        graph_destroy(g);
    }
}

struct bad {
    const char *text, *msg;
};

static void test_errors(void)
{
    static const struct bad bad[] = {
        { "", "column 1: expected a count, not the end" },
        { "   ", "column 4: expected a count, not the end" },
        { "nodes", "column 1: expected a count, not 'nodes'" },
        { "4 racks x", "column 10: expected a count, not the end" },
        { "4 racks x 18 nodes x 2 sockets x 18 cores + gpus",
          "column 45: expected a count, not 'gpus'" },
        { "4", "column 2: expected a resource type, not the end" },
        { "4 2", "column 3: expected a resource type, not '2'" },
        { "0 nodes", "column 1: a count must be at least 1" },
        { "99999999 nodes", "column 1: a count is too large (at most 16777216)" },
        { "2 nodes x (2 cores", "column 19: expected '+' or ')', not the end" },
        { "2 nodes )", "column 9: expected '+', 'x' or the end, not ')'" },
        { "2 nodes 3 cores", "column 9: expected '+', 'x' or the end, not '3'" },
        { "(2 nodes) x 2 cores", "column 11: a group in parentheses cannot contain anything" },
        { "2 memory:", "column 10: expected a size after ':', not the end" },
        { "2 memory:GB", "column 10: expected a size after ':', not 'GB'" },
        { "2 nodes x 4 cores:2:3", "column 20: expected '+', 'x' or the end, not ':'" },
        { "2 clusters x 2 nodes", "column 1: a cluster first is the root" },
        { "1 cluster + 2 nodes", "column 1: a cluster first is the root" },
        { "2 nodes + ()", "column 12: expected a count, not ')'" },
        { "2 nodes ++ 1 core", "column 10: expected a count, not '+'" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct graph *g = NULL;
        struct errmsg err = { "" };
        int rc = gdesc_parse(bad[i].text, &g, &err);
        ok(rc == -EINVAL && !g && strstr(err.text, bad[i].msg), "'%s': %s", bad[i].text,
           err.text);
        graph_destroy(g);
    }
    struct graph *g = NULL;
    struct errmsg err = { "" };
    int rc = gdesc_parse("100000 nodes x 1000 cores", &g, &err);
    ok(rc == -E2BIG && !g && strstr(err.text, "more than 16777216 vertices"), "too big: %s",
       err.text);
    char deep[200] = "";
    for (int i = 0; i < 70; i++)
        strcat(deep, "(");
    rc = gdesc_parse(deep, &g, &err);
    ok(rc == -EINVAL && !g && strstr(err.text, "column 65: nested deeper than 64 levels"),
       "deep nesting: %s", err.text);
    rc = gdesc_parse(NULL, &g, &err);
    ok(rc == -EINVAL && !g, "NULL text: %s", err.text);
}

int main(void)
{
    plan(NO_PLAN);
    test_racks();
    test_big();
    test_forms();
    test_errors();
    return done_testing();
}
