/* graph.c's own tests: the containment name index behind graph_find_child()
 * and graph_find_path(), before and after finalize. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/tap.h"
#include "sched/graph.h"

static int add(struct graph *g, int parent, const char *type, const char *name, int64_t id)
{
    struct errmsg err = { "" };
    return graph_add_vertex(g, parent, type, NULL, name, id, 1, NULL, -1, &err);
}

static int child(const struct graph *g, int parent, const char *name)
{
    return graph_find_child(g, parent, name, strlen(name));
}

/* cluster0 > node0..node{nnodes-1} > core0..core3; returns the graph */
static struct graph *build(int nnodes)
{
    struct graph *g = graph_create();
    if (!g || add(g, -1, "cluster", NULL, 0) != 0)
        return g;
    for (int n = 0; n < nnodes; n++) {
        int nv = add(g, 0, "node", NULL, n);
        for (int c = 0; c < 4; c++)
            add(g, nv, "core", NULL, c);
    }
    return g;
}

static void test_lookups(bool finalized)
{
    const char *when = finalized ? "indexed" : "unindexed";
    struct graph *g = build(3000);
    struct errmsg err = { "" };
    if (finalized)
        is(graph_finalize(g, &err), 0, "finalize %s", err.text);
    is(child(g, -1, "cluster0"), 0, "%s: the root is the child of -1", when);
    is(child(g, -1, "node0"), -ENOENT, "%s: nothing else is", when);
    int n2999 = child(g, 0, "node2999");
    ok(n2999 > 0 && !strcmp(graph_vertex(g, n2999)->name, "node2999"), "%s: node2999", when);
    int c3 = child(g, n2999, "core3");
    ok(c3 > 0 && graph_vertex(g, c3)->parent == n2999, "%s: its core3", when);
    is(child(g, n2999, "core4"), -ENOENT, "%s: no core4", when);
    is(child(g, 0, "core3"), -ENOENT, "%s: core3 is not a child of the root", when);
    is(graph_find_child(g, 0, "node12x", 6), child(g, 0, "node12"), "%s: len bounds the name", when);
    is(child(g, 0, "node1"), child(g, 0, "node1"), "%s: stable", when);
    is(child(g, 0, "node"), -ENOENT, "%s: a prefix is not a name", when);
    is(child(g, 99999, "x"), -ENOENT, "%s: a bad parent", when);
    is(graph_find_path(g, "/cluster0/node2999/core3"), c3, "%s: find_path agrees", when);
    is(graph_find_path(g, "/cluster0/node2999/core9"), -ENOENT, "%s: find_path misses", when);
    graph_destroy(g);
}

/* Siblings should have unique names; if not, the first one added wins. */
static void test_duplicates(void)
{
    struct graph *g = graph_create();
    struct errmsg err = { "" };
    add(g, -1, "cluster", NULL, 0);
    int a = add(g, 0, "node", "twin", 0);
    add(g, 0, "node", "twin", 1);
    graph_finalize(g, &err);
    is(child(g, 0, "twin"), a, "a duplicate name finds the first sibling");
    /* a vertex added after finalize is still found (the walk) */
    int late = add(g, 0, "node", "late", 2);
    is(child(g, 0, "late"), late, "a vertex added after finalize is found");
    graph_finalize(g, &err);
    is(child(g, 0, "late"), late, "and after finalizing again");
    graph_destroy(g);
}

int main(void)
{
    test_lookups(false);
    test_lookups(true);
    test_duplicates();
    return done_testing();
}
