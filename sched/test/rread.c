#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tap.h"
#include "sched/rread.h"

static char path_buf[4096];

static const char *shared(const char *name)
{
    const char *dir = getenv("FLUXFS_SHARED");
    snprintf(path_buf, sizeof(path_buf), "%s/conformance/R/%s", dir ? dir : "../shared", name);
    return path_buf;
}

static const char *fixture(const char *name)
{
    const char *dir = getenv("FLUXFS_FIXTURES");
    snprintf(path_buf, sizeof(path_buf), "%s/%s", dir ? dir : "tests/fixtures", name);
    return path_buf;
}

static int64_t count(const struct graph *g, const char *type)
{
    return graph_count_type(g, graph_lookup_type(g, type));
}

/* The i-th node vertex in index order. */
static const struct graph_vertex *nth_node(const struct graph *g, int i)
{
    int node = graph_lookup_type(g, "node");
    for (int v = 0; v < graph_nvertices(g); v++)
        if (graph_vertex(g, v)->type == node && i-- == 0)
            return graph_vertex(g, v);
    return NULL;
}

struct rcase {
    const char *file;
    int nodes, cores, gpus;
    const char *first, *last;  /* names, NULL = derived from this host */
};

static void test_conformance(void)
{
    static const struct rcase cases[] = {
        { "1r1c.json", 1, 1, 0, NULL, NULL },
        { "1r1c2gpu.json", 1, 1, 2, NULL, NULL },
        { "1r2c.json", 1, 2, 0, NULL, NULL },
        { "4r4c4r1c.json", 8, 20, 0, NULL, NULL },
        { "8r1c.json", 8, 8, 0, NULL, NULL },
        { "out-of-order-ranks.json", 2, 10, 0, "f0", "f1" },
        { "fluke.R", 101, 404, 0, "fluke3", "fluke103" },
        { "normal-new.R", 5, 20, 0, "pi3", "pi4" },
        { "fluxion.R", 4, 16, 0, NULL, NULL },
        { "missing.R", 4, 16, 0, NULL, NULL },
        { "null.R", 4, 16, 0, NULL, NULL },
        { "normal-input.R", 4, 16, 0, NULL, NULL },
    };
    char host[256], name[300];
    gethostname(host, sizeof(host));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct rcase *c = &cases[i];
        struct graph *g = NULL;
        struct errmsg err = { "" };
        int rc = rread_load(shared(c->file), &g, &err);
        ok(rc == 0 && g, "%s: loads %s", c->file, err.text);
        if (!g)
            continue;
        ok(count(g, "cluster") == 1 && count(g, "node") == c->nodes && count(g, "core") == c->cores
           && count(g, "gpu") == c->gpus && count(g, "socket") == 0
           && graph_nvertices(g) == 1 + c->nodes + c->cores + c->gpus,
           "%s: %d nodes, %d cores, %d gpus, nothing else", c->file, c->nodes, c->cores, c->gpus);
        int sorted = 1;
        for (int k = 0; k < c->nodes; k++)
            if (nth_node(g, k)->rank != k)
                sorted = 0;
        ok(sorted, "%s: nodes in rank order", c->file);
        const char *first = c->first;
        if (!first) {
            first = host;
            if (c->nodes > 1) {
                snprintf(name, sizeof(name), "%s-0", host);
                first = name;
            }
        }
        is_str(nth_node(g, 0)->name, first, "%s: first node is '%s'", c->file, first);
        if (c->last)
            is_str(nth_node(g, c->nodes - 1)->name, c->last, "%s: last node is '%s'", c->file,
                   c->last);
        graph_destroy(g);
    }
}

static int parse(const char *text, struct graph **g, struct errmsg *err)
{
    json_t *R = json_loads(text, JSON_DECODE_ANY, NULL);
    *g = NULL;
    err->text[0] = '\0';
    int rc = rread_load_json(R, g, err);
    json_decref(R);
    return rc;
}

static void test_details(void)
{
    struct graph *g;
    struct errmsg err;
    const char *t = "{\"version\":1,\"execution\":{\"R_lite\":["
                    "{\"rank\":\"1\",\"children\":{\"core\":\"0-7\"}},"
                    "{\"rank\":\"0\",\"children\":{\"core\":\"2,4\",\"gpu\":\"1\"}}],"
                    "\"nodelist\":[\"f[0-1]\"],\"properties\":{\"big\":\"1\",\"gpu\":\"0\"}}}";
    int rc = parse(t, &g, &err);
    ok(rc == 0, "out-of-order R loads %s", err.text);
    if (g) {
        ok(graph_find_path(g, "/cluster0/f0/core2") > 0 && graph_find_path(g, "/cluster0/f0/core4") > 0
           && graph_find_path(g, "/cluster0/f0/gpu1") > 0 && graph_find_path(g, "/cluster0/f1/core7") > 0,
           "ids as named in R");
        const struct graph_vertex *n = graph_vertex(g, graph_find_path(g, "/cluster0/f1"));
        ok(n && n->rank == 1 && n->id == 1 && !strcmp(n->basename, "f") && n->total[0] == 8,
           "f1: rank 1, basename f, id 1, 8 cores");
        ok(n && n->nprops == 1 && !strcmp(n->props[0].key, "big"), "f1 has property 'big'");
        const struct graph_vertex *c = graph_vertex(g, graph_find_path(g, "/cluster0/f1/core7"));
        ok(c && c->rank == 1, "cores carry their node's rank");
        graph_destroy(g);
    }
    rc = rread_load(shared("fluke.R"), &g, &err);
    if (rc == 0) {
        const struct graph_vertex *n = graph_vertex(g, graph_find_path(g, "/cluster0/fluke96"));
        ok(n && n->rank == 93 && n->nprops == 1 && !strcmp(n->props[0].key, "debug"),
           "fluke.R: fluke96 is rank 93 with property 'debug'");
        graph_destroy(g);
    }
}

struct bad {
    const char *text, *msg;
};

static void test_malformed(void)
{
    static const struct bad bad[] = {
        { "[]", "R: must be a JSON object" },
        { "{\"execution\":{\"R_lite\":[]}}", "R: version: missing" },
        { "{\"version\":2,\"execution\":{}}", "R: unsupported version 2" },
        { "{\"version\":1}", "R: execution: missing" },
        { "{\"version\":1,\"execution\":{}}", "R_lite: must be a non-empty array" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[null]}}", "R_lite[0]: must be an object" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"children\":{\"core\":\"0\"}}]}}",
          "R_lite[0].rank: must be an idset string" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"x\",\"children\":{\"core\":\"0\"}}]}}",
          "R_lite[0].rank: invalid idset 'x'" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0\"}]}}",
          "R_lite[0].children: must be an object" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0\",\"children\":{}}]}}",
          "R_lite[0].children.core: must be an idset string" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0\",\"children\":{\"core\":\"\"}}]}}",
          "R_lite[0].children.core: invalid idset ''" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0\",\"children\":{\"core\":\"0\",\"gpu\":1}}]}}",
          "R_lite[0].children.gpu: must be an idset string" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0\",\"children\":{\"core\":\"0-999999\"}}]}}",
          "children.core: invalid idset" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0-1\",\"children\":{\"core\":\"0\"}},"
          "{\"rank\":\"1\",\"children\":{\"core\":\"0\"}}]}}",
          "R_lite[1].rank: rank 1 appears more than once" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0-1\",\"children\":{\"core\":\"0\"}}],"
          "\"nodelist\":[\"a\"]}}", "nodelist names 1 hosts but R_lite has 2 ranks" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0\",\"children\":{\"core\":\"0\"}}],"
          "\"nodelist\":\"a\"}}", "nodelist: must be an array" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0\",\"children\":{\"core\":\"0\"}}],"
          "\"nodelist\":[\"a[\"]}}", "nodelist[0]: invalid hostlist 'a['" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0\",\"children\":{\"core\":\"0\"}}],"
          "\"properties\":{\"p\":\"3\"}}}", "properties.p: rank 3 is not in R_lite" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0\",\"children\":{\"core\":\"0\"}}],"
          "\"properties\":{\"p\":3}}}", "properties.p: invalid idset" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct graph *g;
        struct errmsg err;
        int rc = parse(bad[i].text, &g, &err);
        ok(rc == -EINVAL && !g && strstr(err.text, bad[i].msg), "malformed R rejected: %s",
           err.text);
        graph_destroy(g);
    }
    struct graph *g = NULL;
    struct errmsg err = { "" };
    int rc = rread_load(fixture("hwloc-2x4x2.xml"), &g, &err);
    ok(rc == -EINVAL && !g && strstr(err.text, "R: line 1"), "XML is not R: %s", err.text);
    rc = rread_load("/nonexistent/R", &g, &err);
    ok(rc == -ENOENT && !g && strstr(err.text, "No such file"), "missing file: %s", err.text);
}

int main(void)
{
    plan(NO_PLAN);
    test_conformance();
    test_details();
    test_malformed();
    return done_testing();
}
