#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/tap.h"
#include "sched/test/graph_check.h"
#include "sched/grug.h"

static char path_buf[4096];

static const char *grug(const char *name)
{
    const char *dir = getenv("FLUXFS_SHARED");
    snprintf(path_buf, sizeof(path_buf), "%s/conformance/fluxion/grugs/%s",
             dir ? dir : "../shared", name);
    return path_buf;
}



static const struct {
    const char *file, *counts;
} cases[] = {
    { "tiny.graphml", "cluster=1 rack=1 node=2 socket=4 core=72 gpu=4 memory=16" },
    { "small.graphml", "cluster=1 rack=1 node=8 socket=16 core=288 memory=64" },
    { "medium.graphml", "cluster=1 rack=4 node=72 socket=144 core=2592 gpu=144 memory=576" },
    { "resv_test.graphml", "cluster=1 rack=6 node=108 socket=216 core=3888 gpu=216 memory=864" },
    { "advanced_test.graphml", "cluster=1 rack=6 octrack=1 node=126 socket=252 bb=324 "
                               "core=4176 gpu=216 memory=900" },
    { "coarse_iobw.graphml", "zone=1 cluster=1 rack=6 node=108 socket=216 core=3888 gpu=216 "
                             "memory=864 pfs=1 bandwidth=16" },
    { "disaggr.graphml", "cluster=1 cpu_rack=120 cpu_group=4320 socket=8640 core=190080 "
                         "gpu_rack=60 gpu_group=2160 gpu=17280 mem_rack=16 mem_group=1152 "
                         "memory=17280 bb_rack=16 bb_group=1152 bb=108288 storage_rack=24 "
                         "storage_group=1536 gpfs=3072" },
    /* the power panel and power capacities exist only in the power subsystem */
    { "power.graphml", "cluster=1 rack=4 pdu=4 node=72 socket=144 core=2592 gpu=144 "
                       "memory=576 powerpanel=0 power=0" },
    { "sierra.graphml", "cluster=1 rack=240 node=4320 socket=8640 bb=108000 gpu=17280 "
                        "core=190080 memory=17280 storage_rack=24 storage_node=1536 gpfs=3072" },
    { "mt-storage/mtl0.graphml", "cluster=1 rack=2 node=4 socket=8 ssd=16 core=144 gpu=16 "
                                 "memory=32" },
    { "mt-storage/mtl1.graphml", "cluster=1 rack=2 mtl1unit=2 ssd=16 node=4 socket=8 core=144 "
                                 "gpu=16 memory=32" },
    { "mt-storage/mtl2.graphml", "cluster=1 mtl2unit=1 ssd=16 rack=2 node=4 socket=8 core=144 "
                                 "gpu=16 memory=32" },
    { "mt-storage/mtl3.graphml", "cluster=1 mtl2unit=1 rack=2 mtl1unit=2 ssd=16 node=4 "
                                 "socket=8 core=144 gpu=16 memory=32" },
};

static struct graph *load(const char *file)
{
    struct graph *g = NULL;
    struct errmsg err = { "" };
    int rc = grug_load(grug(file), &g, &err);
    ok(rc == 0 && g, "%s loads %s", file, err.text);
    return g;
}

static void test_conformance(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct graph *g = load(cases[i].file);
        if (g)
            check_counts(g, cases[i].file, cases[i].counts);
        graph_destroy(g);
    }
}

/* Every recipe shipped with the conformance data loads, listed or not. */
static void test_all_load(void)
{
    static const char *const dirs[] = { "", "mt-storage/" };
    for (size_t d = 0; d < 2; d++) {
        DIR *dir = opendir(grug(dirs[d]));
        ok(dir != NULL, "grugs/%s is readable", dirs[d]);
        if (!dir)
            continue;
        int n = 0, good = 0;
        struct dirent *de;
        while ((de = readdir(dir))) {
            size_t len = strlen(de->d_name);
            if (len < 8 || strcmp(de->d_name + len - 8, ".graphml"))
                continue;
            char name[512];
            snprintf(name, sizeof(name), "%s%s", dirs[d], de->d_name);
            struct graph *g = NULL;
            struct errmsg err = { "" };
            n++;
            if (grug_load(grug(name), &g, &err) == 0 && graph_nvertices(g) > 1)
                good++;
            else
                diag("%s: %s", name, err.text);
            graph_destroy(g);
        }
        closedir(dir);
        ok(n > 0 && good == n, "grugs/%s: %d of %d recipes load", dirs[d], good, n);
    }
}

static int at(const struct graph *g, const char *path)
{
    return graph_find_path(g, path);
}

static void test_tiny(void)
{
    struct graph *g = load("tiny.graphml");
    if (!g)
        return;
    char buf[256];
    int v = at(g, "/tiny0/rack0/node1/socket1/core35");
    ok(v > 0, "tiny: /tiny0/rack0/node1/socket1/core35 exists");
    ok(graph_path(g, v, buf, sizeof(buf)) == 0
       && !strcmp(buf, "/tiny0/rack0/node1/socket1/core35"), "tiny: graph_path agrees: %s", buf);
    const struct graph_vertex *x = graph_vertex(g, v);
    ok(x && x->id == 35 && x->rank == 1 && !strcmp(x->basename, "core"),
       "tiny: core35 has id 35, rank 1");
    ok(at(g, "/tiny0/rack0/node0/socket0/core0") > 0 && at(g, "/tiny0/rack0/node0/socket0/core17") > 0
       && at(g, "/tiny0/rack0/node0/socket1/core18") > 0
       && at(g, "/tiny0/rack0/node0/socket1/core17") == -ENOENT,
       "tiny: core ids run on across a node's sockets (id_scope 1)");
    ok(at(g, "/tiny0/rack0/node1/socket0/gpu0") > 0 && at(g, "/tiny0/rack0/node1/socket1/gpu1") > 0,
       "tiny: gpu0, gpu1 per node");
    v = at(g, "/tiny0/rack0/node0/socket1/memory7");
    x = graph_vertex(g, v);
    ok(x && x->size == 2 && x->unit && !strcmp(x->unit, "GB"), "tiny: memory7 is 2 GB");
    x = graph_vertex(g, at(g, "/tiny0/rack0/node1"));
    ok(x && x->rank == 1 && x->total[0] == 36 && x->total[1] == 2,
       "tiny: node1 is rank 1 with 36 cores and 2 gpus beneath");
    x = graph_vertex(g, 0);
    ok(x->parent == -1 && !strcmp(x->name, "tiny0") && x->rank == -1 && x->total[0] == 72,
       "tiny: root tiny0, 72 cores in all");
    is(graph_vertex(g, at(g, "/tiny0/rack0"))->rank, -1, "tiny: rack has no rank");
    is(graph_nedges(g), 0, "tiny: no edges outside containment");
    graph_destroy(g);
}

static void test_medium(void)
{
    struct graph *g = load("medium.graphml");
    if (!g)
        return;
    int v = at(g, "/medium0/rack3/node71/socket1/memory7");
    const struct graph_vertex *x = graph_vertex(g, v);
    ok(x && x->size == 32, "medium: /medium0/rack3/node71/socket1/memory7 is 32 GB");
    ok(at(g, "/medium0/rack0/node17") > 0 && at(g, "/medium0/rack1/node18") > 0,
       "medium: node ids are global across racks");
    x = graph_vertex(g, at(g, "/medium0/rack3/node71"));
    ok(x && x->rank == 71, "medium: node71 is rank 71");
    graph_destroy(g);
}

static void test_subsystems(void)
{
    struct graph *g = load("power.graphml");
    if (g) {
        int power = graph_lookup_type(g, "power"), npower = 0, good = 1;
        for (int i = 0; i < graph_nedges(g); i++) {
            const struct graph_edge *e = graph_edge(g, i);
            if (e->subsystem != power)
                continue;
            npower++;
            /* each pdu supplies the nodes of its own rack */
            const struct graph_vertex *s = graph_vertex(g, e->src), *d = graph_vertex(g, e->dst);
            if (strcmp(graph_type_name(g, s->type), "pdu") || strcmp(graph_type_name(g, d->type), "node")
                || s->parent != d->parent || strcmp(e->relation, "supplies_to"))
                good = 0;
        }
        is(npower, 72, "power: 72 pdu->node edges in the power subsystem");
        ok(good, "power: each pdu supplies_to the nodes of its rack");
        graph_destroy(g);
    }
    g = load("mt-storage/mtl3.graphml");
    if (g) {
        int contain = graph_lookup_type(g, "containment"), n = 0;
        for (int i = 0; i < graph_nedges(g); i++) {
            const struct graph_edge *e = graph_edge(g, i);
            if (e->subsystem == contain
                && !strcmp(graph_vertex(g, e->src)->name, "mtl2unit0")
                && !strcmp(graph_type_name(g, graph_vertex(g, e->dst)->type), "mtl1unit"))
                n++;
        }
        is(n, 2, "mtl3: mtl2unit0 also contains both mtl1units (ASSOCIATE_IN)");
        ok(at(g, "/mtl3-test0/rack1/mtl1unit1/ssd7") > 0,
           "mtl3: the tree keeps mtl1units under their racks");
        graph_destroy(g);
    }
}

#define HEAD "<?xml version=\"1.0\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n"

static int parse(const char *text, struct graph **g, struct errmsg *err)
{
    *g = NULL;
    err->text[0] = '\0';
    return grug_load_buffer(text, strlen(text), g, err);
}

static void test_ids(void)
{
    struct graph *g;
    struct errmsg err;
    /* no <key> declarations: Fluxion's defaults apply */
    const char *t = HEAD "<graph>\n"
                    "<node id='r'><data key='root'>1</data><data key='type'>cluster</data></node>\n"
                    "<node id='n'><data key='type'>node</data><data key='basename'>n</data></node>\n"
                    "<node id='s'><data key='type'>switch</data></node>\n"
                    "<node id='c'><data key='type'>core</data></node>\n"
                    "<edge source='n' target='c'><data key='multi_scale'>2</data>"
                    "<data key='id_start'>10</data><data key='id_stride'>5</data></edge>\n"
                    "<edge source='r' target='n'><data key='multi_scale'>3</data>"
                    "<data key='id_start'>1</data></edge>\n"
                    "<edge source='r' target='s'><data key='id_scope'>-1</data></edge>\n"
                    "</graph></graphml>\n";
    int rc = parse(t, &g, &err);
    ok(rc == 0, "ids: recipe loads %s", err.text);
    if (g) {
        ok(at(g, "/cluster0/n1/core10") > 0 && at(g, "/cluster0/n1/core15") > 0
           && at(g, "/cluster0/n3/core15") > 0, "ids: id_start and id_stride");
        ok(at(g, "/cluster0/switch") > 0, "ids: id_scope -1 names by basename alone");
        is(graph_vertex(g, at(g, "/cluster0/n3/core15"))->rank, 2, "ids: cores inherit the node rank");
        is(graph_vertex(g, 0)->type, graph_lookup_type(g, "cluster"), "ids: basename defaults to type");
        graph_destroy(g);
    }
}

struct bad {
    const char *text, *msg;
};

static void test_errors(void)
{
    static const struct bad bad[] = {
        { "", "line" },
        { HEAD "<graph><node id='a'>", "line 3: Premature end of data" },
        { "<?xml version='1.0'?><foo/>", "not a GraphML document" },
        { HEAD "</graphml>", "expected one <graph>, found 0" },
        { HEAD "<graph><node id='a'><data key='type'>x</data></node></graph></graphml>",
          "no containment root" },
        { HEAD "<graph><node id='a'><data key='root'>1</data></node></graph></graphml>",
          "node 'a' has no type" },
        { HEAD "<graph><node><data key='type'>x</data></node></graph></graphml>",
          "<node> without an id" },
        { HEAD "<graph><node id='a'><data key='root'>yes</data><data key='type'>x</data></node>"
               "</graph></graphml>", "node 'a': root must be an integer, not 'yes'" },
        { HEAD "<graph><node id='a'><data key='root'>1</data><data key='type'>x</data>"
               "<data key='size'>0</data></node></graph></graphml>", "node 'a': size must be >= 1" },
        { HEAD "<graph><node id='a'><data key='root'>1</data><data key='type'>x</data></node>"
               "<node id='a'><data key='type'>y</data></node></graph></graphml>",
          "line 3: node 'a' is defined twice" },
        { HEAD "<graph><node id='a'><data key='root'>1</data><data key='type'>x</data></node>"
               "<node id='b'><data key='root'>1</data><data key='type'>y</data></node>"
               "</graph></graphml>", "node 'b': a second containment root (the first is 'a')" },
        { HEAD "<graph><node id='a'><data key='root'>1</data><data key='type'>x</data></node>"
               "<edge id='e' source='a' target='zz'/></graph></graphml>",
          "edge 'e': unknown target 'zz'" },
        { HEAD "<graph><node id='a'><data key='root'>1</data><data key='type'>x</data></node>"
               "<edge id='e' source='a'/></graph></graphml>", "edge 'e' needs a source and a target" },
        { HEAD "<graph><node id='a'><data key='root'>1</data><data key='type'>x</data></node>"
               "<edge id='e' source='a' target='a'><data key='gen_method'>COPY</data></edge>"
               "</graph></graphml>", "edge 'e': unknown gen_method 'COPY'" },
        { HEAD "<graph><node id='a'><data key='root'>1</data><data key='type'>x</data></node>"
               "<node id='b'><data key='type'>y</data></node>"
               "<edge id='e' source='a' target='b'><data key='multi_scale'>-2</data></edge>"
               "</graph></graphml>", "edge 'e': multi_scale -2 is out of range" },
        { HEAD "<graph><node id='a'><data key='root'>1</data><data key='type'>x</data></node>"
               "<node id='b'><data key='type'>y</data></node><node id='c'><data key='type'>z</data></node>"
               "<edge id='e' source='a' target='b'><data key='multi_scale'>100000</data></edge>"
               "<edge id='f' source='b' target='c'><data key='multi_scale'>1000</data></edge>"
               "</graph></graphml>", "edge 'f': the recipe makes more than 16777216 vertices" },
        { HEAD "<graph><node id='a'><data key='root'>1</data><data key='type'>x</data></node>"
               "<node id='b'><data key='type'>y</data></node>"
               "<edge id='e' source='a' target='b'><data key='id_stride'>99999999999</data></edge>"
               "</graph></graphml>", "edge 'e': id_start and id_stride must be within +-1073741824" },
        { HEAD "<graph><node id='a'><data key='root'>1</data><data key='type'>x</data></node>"
               "<edge source='a' target='a'><data key='gen_method'>ASSOCIATE_BY_PATH_IN</data>"
               "<data key='as_tgt_subsystem'>power</data></edge></graph></graphml>",
          "as_tgt_subsystem 'power' is not supported" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct graph *g;
        struct errmsg err;
        int rc = parse(bad[i].text, &g, &err);
        ok((rc == -EINVAL || rc == -E2BIG) && !g && strstr(err.text, bad[i].msg),
           "bad recipe rejected: %s", err.text);
        graph_destroy(g);
    }
    struct graph *g = NULL;
    struct errmsg err = { "" };
    int rc = grug_load("/nonexistent/x.graphml", &g, &err);
    ok(rc < 0 && !g && rc == -ENOENT
       && !strcmp(err.text, "'/nonexistent/x.graphml': No such file or directory"), "missing file: %s", err.text);
}

int main(void)
{
    plan(NO_PLAN);
    test_conformance();
    test_all_load();
    test_tiny();
    test_medium();
    test_subsystems();
    test_ids();
    test_errors();
    return done_testing();
}
