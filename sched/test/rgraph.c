#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tap.h"
#include "sched/rgraph.h"

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

static long ncpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

static char *R_text(const struct rgraph *g)
{
    json_t *R = rgraph_to_R(g);
    char *s = R ? json_dumps(R, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(R);
    return s;
}

static void test_hwloc_live(void)
{
    struct errmsg err = { "" };
    struct rgraph *g = rgraph_create_hwloc(NULL, &err);
    ok(g != NULL, "hwloc: this machine loads %s", err.text);
    if (!g)
        return;
    char host[256];
    gethostname(host, sizeof(host));
    is(rgraph_nnodes(g), 1, "hwloc: one node");
    const struct rgraph_node *n = rgraph_node(g, 0);
    is_str(n->name, host, "hwloc: node is named for this host");
    ok(n->ncores >= 1 && n->ncores <= ncpus(), "hwloc: %d cores", n->ncores);
    ok(n->core_cpus[0] >= 0 && n->core_cpus[n->ncores - 1] < 4096, "hwloc: core cpus are known");
    is(n->core_ids[0], 0, "hwloc: core ids are logical indexes");
    ok(n->memory > 0, "hwloc: memory from /proc/meminfo (%llu bytes)",
       (unsigned long long)n->memory);
    is(rgraph_total_cores(g), n->ncores, "hwloc: total cores");
    ok(rgraph_node(g, 1) == NULL && rgraph_node(g, -1) == NULL, "rgraph_node out of range is NULL");
    rgraph_destroy(g);
}

static void test_hwloc_xml(void)
{
    struct errmsg err = { "" };
    struct rgraph *g = rgraph_create_hwloc(fixture("hwloc-2x4x2.xml"), &err);
    ok(g != NULL, "xml: 2x4x2 loads %s", err.text);
    if (g) {
        const struct rgraph_node *n = rgraph_node(g, 0);
        is(n->ncores, 8, "xml: 8 cores");
        is(n->core_ids[7], 7, "xml: core 7 has id 7");
        int good = 1;
        for (int i = 0; i < 8; i++)
            if (n->core_cpus[i] != (2 * i < ncpus() ? 2 * i : -1))
                good = 0;
        ok(good, "xml: core cpus are the first PU of each core (-1 when not online here)");
        is(n->ngpus, 0, "xml: no gpus");
        is(n->memory, 1073741824, "xml: memory from hwloc");
        rgraph_destroy(g);
    }

    g = rgraph_create_hwloc(fixture("hwloc-nocore-3pu.xml"), &err);
    ok(g != NULL && rgraph_total_cores(g) == 3, "xml: PUs stand in for missing cores");
    rgraph_destroy(g);

    g = rgraph_create_hwloc(fixture("hwloc-2core-2gpu.xml"), &err);
    ok(g != NULL, "xml: 2core-2gpu loads %s", err.text);
    if (g) {
        const struct rgraph_node *n = rgraph_node(g, 0);
        is(n->ncores, 2, "xml: 2 cores");
        is(n->ngpus, 2, "xml: 2 CUDA gpus (OpenCL and DRM views not double counted)");
        is(n->gpu_ids[1], 1, "xml: gpu ids 0-1");
        is(rgraph_total_gpus(g), 2, "xml: total gpus");
        char *txt = R_text(g);
        ok(txt && strstr(txt, "\"children\":{\"core\":\"0-1\",\"gpu\":\"0-1\"}"),
           "xml: R has core 0-1 gpu 0-1: %s", txt);
        free(txt);
        rgraph_destroy(g);
    }

    err.text[0] = '\0';
    g = rgraph_create_hwloc(fixture("no-such-file.xml"), &err);
    ok(g == NULL && strstr(err.text, "no-such-file.xml"), "xml: missing file fails: %s", err.text);

    setenv("HWLOC_XMLFILE", fixture("hwloc-2x4x2.xml"), 1);
    g = rgraph_create_hwloc(NULL, &err);
    unsetenv("HWLOC_XMLFILE");
    ok(g != NULL && rgraph_total_cores(g) == 8 && rgraph_node(g, 0)->memory == 1073741824,
       "env HWLOC_XMLFILE is honoured, memory from hwloc");
    rgraph_destroy(g);
}

struct rcase {
    const char *file;
    int nnodes, cores, gpus;
    const char *first, *last;   /* names, NULL = derived from hostname */
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
        /* missing.R and null.R are valid R (identical to fluxion.R) */
        { "fluxion.R", 4, 16, 0, NULL, NULL },
        { "missing.R", 4, 16, 0, NULL, NULL },
        { "null.R", 4, 16, 0, NULL, NULL },
        { "normal-input.R", 4, 16, 0, NULL, NULL },
    };
    char host[256], name[300];
    gethostname(host, sizeof(host));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct rcase *c = &cases[i];
        struct errmsg err = { "" };
        struct rgraph *g = rgraph_load_file(shared(c->file), &err);
        ok(g != NULL, "%s: loads %s", c->file, err.text);
        if (!g)
            continue;
        is(rgraph_nnodes(g), c->nnodes, "%s: %d nodes", c->file, c->nnodes);
        is(rgraph_total_cores(g), c->cores, "%s: %d cores", c->file, c->cores);
        is(rgraph_total_gpus(g), c->gpus, "%s: %d gpus", c->file, c->gpus);
        int sorted = 1;
        for (int k = 0; k < rgraph_nnodes(g); k++)
            if (rgraph_node(g, k)->rank != k)
                sorted = 0;
        ok(sorted, "%s: nodes sorted by rank", c->file);
        const char *first = c->first, *last = c->last;
        if (!first) {
            first = host;
            if (c->nnodes > 1) {
                snprintf(name, sizeof(name), "%s-0", host);
                first = name;
            }
        }
        is_str(rgraph_node(g, 0)->name, first, "%s: first node is '%s'", c->file, first);
        if (last)
            is_str(rgraph_node(g, c->nnodes - 1)->name, last, "%s: last node is '%s'", c->file, last);

        /* R -> graph -> R -> graph keeps every node */
        json_t *R = rgraph_to_R(g);
        char *txt = json_dumps(R, JSON_COMPACT);
        struct rgraph *g2 = txt ? rgraph_create_R(txt, strlen(txt), &err) : NULL;
        int same = g2 && rgraph_nnodes(g2) == rgraph_nnodes(g);
        for (int k = 0; same && k < rgraph_nnodes(g); k++) {
            const struct rgraph_node *a = rgraph_node(g, k), *b = rgraph_node(g2, k);
            same = a->rank == b->rank && a->ncores == b->ncores && a->ngpus == b->ngpus
                   && strcmp(a->name, b->name) == 0
                   && memcmp(a->core_ids, b->core_ids, (size_t)a->ncores * sizeof(int)) == 0;
        }
        ok(same, "%s: rgraph_to_R round-trips", c->file);
        free(txt);
        json_decref(R);
        rgraph_destroy(g2);
        rgraph_destroy(g);
    }
}

static void test_details(void)
{
    struct errmsg err;
    const char *t = "{\"version\":1,\"execution\":{\"R_lite\":["
                    "{\"rank\":\"1\",\"children\":{\"core\":\"0-7\"}},"
                    "{\"rank\":\"0\",\"children\":{\"core\":\"2,4\",\"gpu\":\"1\"}}],"
                    "\"nodelist\":[\"f[0-1]\"]}}";
    struct rgraph *g = rgraph_create_R(t, strlen(t), &err);
    ok(g != NULL, "out-of-order R loads");
    if (g) {
        const struct rgraph_node *n = rgraph_node(g, 0);
        ok(n->rank == 0 && n->ncores == 2 && n->core_ids[0] == 2 && n->core_ids[1] == 4,
           "rank 0 has cores 2,4");
        is(n->core_cpus[0], 2 < ncpus() ? 2 : -1, "core 2 binds to cpu 2 only if online");
        is(n->gpu_ids[0], 1, "rank 0 has gpu 1");
        is(rgraph_node(g, 1)->core_cpus[0], 0, "core 0 binds to cpu 0");
        is(n->memory, 0, "R nodes: memory unknown");
        char *txt = R_text(g);
        is_str(txt, "{\"execution\":{\"R_lite\":[{\"children\":{\"core\":\"2,4\",\"gpu\":\"1\"},"
               "\"rank\":\"0\"},{\"children\":{\"core\":\"0-7\"},\"rank\":\"1\"}],"
               "\"expiration\":0.0,\"nodelist\":[\"f[0-1]\"],\"starttime\":0.0},\"version\":1}",
               "rgraph_to_R text");
        free(txt);
        rgraph_destroy(g);
    }

    t = "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0-3\",\"children\":{\"core\":\"0-1\"}},"
        "{\"rank\":\"4\",\"children\":{\"core\":\"0\"}}],\"nodelist\":[\"a[0-1]\",\"b,c[7-8]\"]}}";
    g = rgraph_create_R(t, strlen(t), &err);
    ok(g != NULL, "R with several nodelist entries loads");
    if (g) {
        is_str(rgraph_node(g, 2)->name, "b", "rank 2 is 'b'");
        is_str(rgraph_node(g, 4)->name, "c8", "rank 4 is 'c8'");
        char *txt = R_text(g);
        is_str(txt, "{\"execution\":{\"R_lite\":[{\"children\":{\"core\":\"0-1\"},\"rank\":\"0-3\"},"
               "{\"children\":{\"core\":\"0\"},\"rank\":\"4\"}],\"expiration\":0.0,"
               "\"nodelist\":[\"a[0-1],b,c[7-8]\"],\"starttime\":0.0},\"version\":1}",
               "rgraph_to_R merges identical neighbours");
        free(txt);
        rgraph_destroy(g);
    }
}

struct bad {
    const char *text;
    const char *msg;
};

static void test_malformed(void)
{
    static const struct bad bad[] = {
        { "", "R: line" },
        { "not json", "R: line 1" },
        { "[]", "must be a JSON object" },
        { "{\"execution\":{\"R_lite\":[]}}", "version: missing" },
        { "{\"version\":2,\"execution\":{}}", "unsupported version 2" },
        { "{\"version\":1}", "execution: missing" },
        { "{\"version\":1,\"execution\":null}", "execution: missing" },
        { "{\"version\":1,\"execution\":{}}", "R_lite: must be a non-empty array" },
        { "{\"version\":1,\"execution\":{\"R_lite\":null}}", "R_lite: must be a non-empty array" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[]}}", "R_lite: must be a non-empty array" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[null]}}", "R_lite[0]: must be an object" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"children\":{\"core\":\"0\"}}]}}",
          "R_lite[0].rank: must be an idset string" },
        { "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":0,\"children\":{\"core\":\"0\"}}]}}",
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
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct errmsg err = { "" };
        struct rgraph *g = rgraph_create_R(bad[i].text, strlen(bad[i].text), &err);
        ok(g == NULL && strstr(err.text, bad[i].msg) != NULL,
           "malformed R rejected: %s", err.text);
        rgraph_destroy(g);
    }
    struct errmsg err = { "" };
    ok(rgraph_load_file(fixture("hwloc-2x4x2.xml"), &err) == NULL
       && strstr(err.text, "not an R document"), "load_file: XML is not R: %s", err.text);
    ok(rgraph_load_file("/nonexistent/R", &err) == NULL
       && strstr(err.text, "No such file"), "load_file: missing file: %s", err.text);
    rgraph_destroy(NULL);
}

int main(void)
{
    plan(NO_PLAN);
    test_hwloc_live();
    test_hwloc_xml();
    test_conformance();
    test_details();
    test_malformed();
    return done_testing();
}
