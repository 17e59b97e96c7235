#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/tap.h"
#include "sched/test/graph_check.h"
#include "sched/grug.h"
#include "sched/jgf.h"

static char path_buf[4096];

static const char *fluxion(const char *name)
{
    const char *dir = getenv("FLUXFS_SHARED");
    snprintf(path_buf, sizeof(path_buf), "%s/conformance/fluxion/%s", dir ? dir : "../shared",
             name);
    return path_buf;
}



static struct graph *load(const char *file)
{
    struct graph *g = NULL;
    struct errmsg err = { "" };
    int rc = jgf_load(fluxion(file), &g, &err);
    ok(rc == 0 && g, "%s loads %s", file, err.text);
    return g;
}

static int at(const struct graph *g, const char *path)
{
    return graph_find_path(g, path);
}

/* Same vertices (by path) with the same type, id and size in both. */
static int same_tree(const struct graph *a, const struct graph *b)
{
    char path[1024];
    if (graph_nvertices(a) != graph_nvertices(b))
        return 0;
    for (int v = 0; v < graph_nvertices(a); v++) {
        const struct graph_vertex *x = graph_vertex(a, v);
        if (graph_path(a, v, path, sizeof(path)) < 0)
            return 0;
        const struct graph_vertex *y = graph_vertex(b, graph_find_path(b, path));
        if (!y || strcmp(graph_type_name(a, x->type), graph_type_name(b, y->type))
            || x->id != y->id || x->size != y->size || strcmp(x->basename, y->basename)
            || (!x->unit != !y->unit) || (x->unit && strcmp(x->unit, y->unit))) {
            diag("differs at %s", path);
            return 0;
        }
    }
    return 1;
}

static void test_conformance(void)
{
    struct graph *g = load("jgfs/tiny.json");
    if (g) {
        check_counts(g, "tiny.json", "cluster=1 rack=1 node=2 socket=4 core=72 gpu=4 memory=16");
        int v = at(g, "/tiny0/rack0/node1/socket1/core35");
        ok(v > 0 && graph_vertex(g, v)->id == 35, "tiny.json: core35 is where Fluxion put it");
        const struct graph_vertex *x = graph_vertex(g, at(g, "/tiny0/rack0/node0/socket1/memory7"));
        ok(x && x->size == 2 && !strcmp(x->unit, "GB"), "tiny.json: memory7 is 2 GB");
        is(graph_vertex(g, 0)->total[0], 72, "tiny.json: 72 cores beneath the root");
        struct graph *r = NULL;
        struct errmsg err;
        if (grug_load(fluxion("grugs/tiny.graphml"), &r, &err) == 0)
            ok(same_tree(g, r), "tiny.json and tiny.graphml describe the same tree");
        graph_destroy(r);
        graph_destroy(g);
    }
    g = load("jgfs/tiny_storage.json");
    if (g) {
        check_counts(g, "tiny_storage.json", "cluster=1 chassis=2 ssd=72 node=1 core=10");
        const struct graph_vertex *x = graph_vertex(g, at(g, "/compute/chassis0/ssd3"));
        ok(x && x->size == 739 && !strcmp(x->unit, "GiB") && x->status == GRAPH_DOWN,
           "tiny_storage.json: ssd3 named from its path, 739 GiB, status 1 is down");
        x = graph_vertex(g, at(g, "/compute/chassis0/compute-01"));
        ok(x && x->id == 1 && x->rank == 0, "tiny_storage.json: node id from its hostname");
        x = graph_vertex(g, at(g, "/compute/chassis1"));
        ok(x && x->nprops == 2 && !strcmp(x->props[0].key, "rabbit")
           && !strcmp(x->props[0].value, "kind-worker3"), "tiny_storage.json: properties");
        ok(graph_vertex(g, at(g, "/compute/chassis0/compute-01/core9"))->rank == 0,
           "tiny_storage.json: core9 on rank 0");
        graph_destroy(g);
    }
    g = load("jgfs/issue1260.json");
    if (g) {
        check_counts(g, "issue1260.json", "cluster=1 rack=2 node=2 core=11 ssd=72");
        ok(at(g, "/compute0/compute-02/core0") > 0 && at(g, "/compute0/rack1/ssd35") > 0,
           "issue1260.json: a node directly under the cluster");
        graph_destroy(g);
    }
}

static char *dump_text(const struct graph *g)
{
    json_t *j = jgf_dump(g);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return s;
}

static struct graph *reload(const struct graph *g)
{
    json_t *j = jgf_dump(g);
    struct graph *out = NULL;
    struct errmsg err = { "" };
    if (!j || jgf_load_json(j, &out, &err) < 0)
        diag("reload: %s", err.text);
    json_decref(j);
    return out;
}

static void round_trip(const char *recipe)
{
    struct graph *g = NULL, *g2 = NULL, *g3 = NULL;
    struct errmsg err;
    if (grug_load(fluxion(recipe), &g, &err) < 0) {
        ok(0, "%s: %s", recipe, err.text);
        return;
    }
    int v = graph_nvertices(g) - 1;
    graph_set_property(g, v, "color", "blue");
    graph_set_status(g, v, GRAPH_DRAINED);
    g2 = reload(g);
    ok(g2 && same_tree(g, g2), "%s: grug -> JGF -> graph keeps every vertex", recipe);
    if (g2) {
        is(graph_nedges(g2), graph_nedges(g), "%s: and the %d subsystem edges", recipe,
           graph_nedges(g));
        char path[1024];
        graph_path(g, v, path, sizeof(path));
        const struct graph_vertex *x = graph_vertex(g2, graph_find_path(g2, path));
        ok(x && x->status == GRAPH_DRAINED && x->nprops == 1 && !strcmp(x->props[0].value, "blue"),
           "%s: status and properties survive", recipe);
        ok(graph_vertex(g2, 0)->total[0] == graph_vertex(g, 0)->total[0]
           && graph_vertex(g2, 0)->total[1] == graph_vertex(g, 0)->total[1],
           "%s: same core and gpu totals", recipe);
    }
    /* pre-order is a fixed point: a second round gives the same text */
    g3 = g2 ? reload(g2) : NULL;
    char *a = g2 ? dump_text(g2) : NULL, *b = g3 ? dump_text(g3) : NULL;
    ok(a && b && !strcmp(a, b), "%s: dump -> load -> dump is stable", recipe);
    free(a);
    free(b);
    graph_destroy(g3);
    graph_destroy(g2);
    graph_destroy(g);
}

static int parse(const char *text, struct graph **g, struct errmsg *err)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    *g = NULL;
    err->text[0] = '\0';
    if (!j) {
        diag("test JSON does not parse: %s: %s", text, jerr.text);
        return -999;
    }
    int rc = jgf_load_json(j, g, err);
    json_decref(j);
    return rc;
}

#define N(id, type) "{\"id\":\"" id "\",\"metadata\":{\"type\":\"" type "\"}}"
#define E(s, t) "{\"source\":\"" s "\",\"target\":\"" t "\"}"

static void test_forms(void)
{
    struct graph *g;
    struct errmsg err;
    /* older Fluxion: name{} metadata and reverse "in" edges, root listed last */
    const char *t = "{\"graph\":{\"nodes\":[" N("1", "node") "," N("2", "core") "," N("0", "cluster")
                    "," "{\"id\":\"p\",\"metadata\":{\"type\":\"pdu\",\"paths\":{\"power\":\"/p\"}}}"
                    "],\"edges\":["
                    "{\"source\":\"1\",\"target\":\"0\",\"metadata\":{\"name\":{\"containment\":\"in\"}}},"
                    "{\"source\":\"0\",\"target\":\"1\",\"metadata\":{\"name\":{\"containment\":\"contains\"}}},"
                    "{\"source\":\"1\",\"target\":\"2\",\"metadata\":{\"name\":{\"containment\":\"contains\"}}},"
                    "{\"source\":\"p\",\"target\":\"1\",\"metadata\":{\"subsystem\":\"power\"}},"
                    "{\"source\":\"0\",\"target\":\"2\",\"metadata\":{\"subsystem\":\"network\",\"relation\":\"links\"}}"
                    "]}}";
    int rc = parse(t, &g, &err);
    ok(rc == 0, "old edge form loads %s", err.text);
    if (g) {
        ok(graph_nvertices(g) == 3 && at(g, "/cluster0/node1/core2") == 2,
           "old edge form: tree in pre-order, root first, 'in' edges are reverse");
        ok(graph_nedges(g) == 1 && !strcmp(graph_edge(g, 0)->relation, "links")
           && graph_edge(g, 0)->src == 0 && graph_edge(g, 0)->dst == 2,
           "a vertex only in the power subsystem is skipped with its edges");
        graph_destroy(g);
    }
}

struct bad {
    const char *text, *msg;
};

static void test_errors(void)
{
    static const struct bad bad[] = {
        { "[]", "graph: missing" },
        { "{\"graph\":{\"nodes\":[],\"edges\":[]}}", "graph.nodes: must be a non-empty array" },
        { "{\"graph\":{\"nodes\":[" N("0", "a") "]}}", "graph.edges: must be an array" },
        { "{\"graph\":{\"nodes\":[{\"id\":0}],\"edges\":[]}}", "nodes[0]: id must be a string" },
        { "{\"graph\":{\"nodes\":[{\"id\":\"0\"}],\"edges\":[]}}", "node '0': metadata must be an object" },
        { "{\"graph\":{\"nodes\":[{\"id\":\"0\",\"metadata\":{}}],\"edges\":[]}}",
          "node '0': metadata: Object item not found: type" },
        { "{\"graph\":{\"nodes\":[{\"id\":\"0\",\"metadata\":{\"type\":\"a\",\"size\":\"2\"}}],"
          "\"edges\":[]}}", "node '0': metadata: Expected integer" },
        { "{\"graph\":{\"nodes\":[{\"id\":\"0\",\"metadata\":{\"type\":\"a\",\"size\":0}}],"
          "\"edges\":[]}}", "node '0': size must be >= 1" },
        { "{\"graph\":{\"nodes\":[{\"id\":\"0\",\"metadata\":{\"type\":\"a\",\"status\":7}}],"
          "\"edges\":[]}}", "node '0': unknown status 7" },
        { "{\"graph\":{\"nodes\":[{\"id\":\"0\",\"metadata\":{\"type\":\"a\",\"paths\":[]}}],"
          "\"edges\":[]}}", "node '0': paths must be an object" },
        { "{\"graph\":{\"nodes\":[{\"id\":\"0\",\"metadata\":{\"type\":\"a\",\"properties\":{\"k\":1}}}],"
          "\"edges\":[]}}", "node '0': property 'k' must be a string" },
        { "{\"graph\":{\"nodes\":[{\"id\":\"x\",\"metadata\":{\"type\":\"a\"}}],\"edges\":[]}}",
          "node 'x': no id, uniq_id or numeric vertex id" },
        { "{\"graph\":{\"nodes\":[" N("0", "a") "," N("0", "b") "],\"edges\":[]}}",
          "node id '0' appears twice" },
        { "{\"graph\":{\"nodes\":[" N("0", "a") "," N("1", "b") "],\"edges\":[]}}",
          "nodes '0' and '1' both lack a containment parent" },
        { "{\"graph\":{\"nodes\":[" N("0", "a") "," N("1", "b") "],\"edges\":[" E("0", "1") ","
          E("1", "0") "]}}", "no containment root" },
        { "{\"graph\":{\"nodes\":[" N("0", "a") "," N("1", "b") "," N("2", "c") "],\"edges\":["
          E("0", "1") "," E("2", "2") "]}}", "edges[1]: node '2' contains itself" },
        { "{\"graph\":{\"nodes\":[" N("0", "a") "," N("1", "b") "," N("2", "c") "],\"edges\":["
          E("1", "2") "," E("2", "1") "]}}", "node '1' is not reachable from the root '0'" },
        { "{\"graph\":{\"nodes\":[" N("0", "a") "," N("1", "b") "," N("2", "c") "," N("3", "d")
          "],\"edges\":[" E("0", "1") "," E("2", "3") "," E("3", "2") "]}}",
          "node '2' is not reachable from the root '0' (a containment cycle)" },
        { "{\"graph\":{\"nodes\":[" N("0", "a") "],\"edges\":[" E("0", "9") "]}}",
          "edges[0]: unknown target '9'" },
        { "{\"graph\":{\"nodes\":[" N("0", "a") "],\"edges\":[{\"source\":\"0\"}]}}",
          "edges[0]: source and target must be strings" },
        { "{\"graph\":{\"nodes\":[" N("0", "a") "],\"edges\":[{\"source\":\"0\",\"target\":\"0\","
          "\"metadata\":{\"subsystem\":3}}]}}", "edges[0]: subsystem and relation must be strings" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct graph *g;
        struct errmsg err;
        int rc = parse(bad[i].text, &g, &err);
        ok(rc == -EINVAL && !g && strstr(err.text, bad[i].msg), "bad JGF rejected: %s", err.text);
        graph_destroy(g);
    }
    struct graph *g = NULL;
    struct errmsg err = { "" };
    int rc = jgf_load("/nonexistent/g.json", &g, &err);
    ok(rc == -ENOENT && !g && !strcmp(err.text, "'/nonexistent/g.json': No such file or directory"),
       "missing file: %s", err.text);
    rc = jgf_load(fluxion("grugs/tiny.graphml"), &g, &err);
    ok(rc == -EINVAL && !g && strstr(err.text, "line 1 column"), "not JSON: %s", err.text);
}

int main(void)
{
    plan(NO_PLAN);
    test_conformance();
    round_trip("grugs/tiny.graphml");
    round_trip("grugs/medium.graphml");
    round_trip("grugs/power.graphml");
    round_trip("grugs/mt-storage/mtl3.graphml");
    test_forms();
    test_errors();
    return done_testing();
}
