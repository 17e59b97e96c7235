/* Unit tests for the graph matcher on a hand-built copy of Fluxion's "tiny"
 * graph: cluster > rack > 2 nodes > 2 sockets > 18 cores, 1 gpu, 4 memory
 * pools of 2 GB each. */
#include <errno.h>
#include <string.h>

#include "common/rspec.h"
#include "common/tap.h"
#include "sched/graph.h"
#include "sched/match.h"

static struct graph *tiny(void)
{
    struct graph *g = graph_create();
    struct errmsg err;
    int c = graph_add_vertex(g, -1, "cluster", "tiny", NULL, 0, 1, NULL, -1, &err);
    int r = graph_add_vertex(g, c, "rack", NULL, NULL, 0, 1, NULL, -1, &err);
    int core = 0, mem = 0, sock = 0;
    for (int n = 0; n < 2; n++) {
        int nv = graph_add_vertex(g, r, "node", NULL, NULL, n, 1, NULL, n, &err);
        core = mem = 0;
        for (int s = 0; s < 2; s++) {
            int sv = graph_add_vertex(g, nv, "socket", NULL, NULL, sock++ % 2, 1, NULL, -1, &err);
            for (int i = 0; i < 18; i++)
                graph_add_vertex(g, sv, "core", NULL, NULL, core++, 1, NULL, -1, &err);
            graph_add_vertex(g, sv, "gpu", NULL, NULL, s, 1, NULL, -1, &err);
            for (int i = 0; i < 4; i++)
                graph_add_vertex(g, sv, "memory", NULL, NULL, mem++, 2, "GB", -1, &err);
        }
    }
    graph_finalize(g, &err);
    return g;
}

static struct rspec *spec(const char *yaml)
{
    struct rspec *rs = NULL;
    struct errmsg err = {""};
    if (rspec_parse(yaml, strlen(yaml), &rs, &err) < 0)
        diag("rspec: %s", err.text);
    return rs;
}

#define TASKS "tasks: [{command: [app], slot: s, count: {per_slot: 1}}]\n"
#define ATTRS "attributes: {system: {}}\n"

/* count of exclusively held units of a type in job's allocation */
static int64_t held(struct matcher *m, struct graph *g, uint64_t job, const char *type)
{
    int64_t counts[64];
    const struct match_alloc *a = match_lookup(m, job);
    if (!a)
        return -1;
    match_count_exclusive(m, a, counts, 64);
    int t = graph_lookup_type(g, type);
    return t >= 0 && t < 64 ? counts[t] : -1;
}

static void test_socket_slots(void)
{
    struct graph *g = tiny();
    struct matcher *m = match_create(g, MATCH_LOW);
    struct rspec *rs = spec("version: 9999\nresources:\n"
        "- {type: node, count: 1, with: [{type: slot, count: 1, label: s,"
        " with: [{type: socket, count: 1, with: [{type: core, count: 1}]}]}]}\n"
        "attributes: {system: {duration: 3600}}\n" TASKS);
    struct errmsg err;
    const struct match_alloc *a;
    ok(rs != NULL, "node>slot>socket>core parses");
    for (int i = 1; i <= 4; i++)
        ok(match_job(m, rs, i, MATCH_ALLOCATE, 0, 3600, &a, &err) == 0 && !a->reserved,
           "job %d allocated now (one socket each)", i);
    is(held(m, g, 1, "socket"), 1, "job 1 holds one socket exclusively");
    is(held(m, g, 1, "core"), 1, "and one core");
    is(held(m, g, 1, "node"), 0, "the node is shared");
    ok(match_job(m, rs, 5, MATCH_ALLOCATE, 0, 3600, &a, &err) == -EBUSY,
       "a fifth does not fit now: %s", err.text);
    ok(match_job(m, rs, 5, MATCH_ALLOCATE_ORELSE_RESERVE, 0, 3600, &a, &err) == 0
       && a->reserved && a->start == 3600, "but is reserved at 3600");
    ok(match_job(m, rs, 6, MATCH_ALLOCATE_ORELSE_RESERVE, 0, 3600, &a, &err) == 0
       && a->start == 3600, "job 6 also at 3600");
    ok(match_job(m, rs, 9, MATCH_ALLOCATE_ORELSE_RESERVE, 0, 3600, NULL, &err) == 0,
       "job 9 reserved");
    is(match_lookup(m, 9)->start, 3600, "at 3600 too (four sockets free then)");
    for (int i = 10; i <= 13; i++)
        match_job(m, rs, i, MATCH_ALLOCATE_ORELSE_RESERVE, 0, 3600, NULL, &err);
    is(match_lookup(m, 13)->start, 7200, "the ninth waits for the second wave");
    is(match_cancel(m, 1), 0, "cancel job 1");
    is(match_cancel(m, 1), -ENOENT, "twice is ENOENT");
    is(match_job(m, rs, 20, MATCH_ALLOCATE, 0, 7200, &a, &err), -EBUSY,
       "the freed socket cannot take a 2 h job: it is reserved at 3600");
    is(match_job(m, rs, 21, MATCH_ALLOCATE, 0, 10, &a, &err), 0,
       "a 10 s job backfills it");
    rspec_destroy(rs);
    match_destroy(m);
    graph_destroy(g);
}

static void test_core_slots(void)
{
    struct graph *g = tiny();
    struct matcher *m = match_create(g, MATCH_LOW);
    struct rspec *rs = spec("version: 9999\nresources:\n"
        "- {type: slot, count: 1, label: s, with: [{type: core, count: 8},"
        " {type: memory, count: 2}]}\n" ATTRS TASKS);
    struct errmsg err;
    int n = 0;
    for (int i = 1; i <= 10; i++)
        if (match_job(m, rs, i, MATCH_ALLOCATE, 0, 0, NULL, &err) == 0)
            n++;
    is(n, 8, "slot>{core 8, memory 2}: 8 fit (two per socket; a slot never "
             "straddles sockets)");
    is(held(m, g, 1, "core"), 8, "8 cores");
    is(held(m, g, 1, "memory"), 2, "2 GB of memory");
    char *s = match_format_simple(m, match_lookup(m, 1));
    ok(s && strstr(s, "---------------core0[1:x]") && strstr(s, "---tiny0[1:s]"),
       "simple format lists core0 exclusive and the cluster shared");
    free(s);
    json_t *R = match_to_R(m, match_lookup(m, 1));
    char *txt = R ? json_dumps(R, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    ok(txt && strstr(txt, "\"core\": \"0-7\"") == NULL && strstr(txt, "0-7"),
       "R lists cores 0-7: %s", txt ? txt : "(null)");
    free(txt);
    json_decref(R);
    rspec_destroy(rs);
    match_destroy(m);
    graph_destroy(g);
}

static void test_nodex_and_sat(void)
{
    struct graph *g = tiny();
    struct matcher *m = match_create(g, MATCH_HINODEX);
    struct rspec *rs = spec("version: 9999\nresources:\n"
        "- {type: slot, count: 1, label: s, with: [{type: core, count: 1}]}\n" ATTRS TASKS);
    struct rspec *big = spec("version: 9999\nresources:\n"
        "- {type: node, count: 3, with: [{type: slot, count: 1, label: s,"
        " with: [{type: core, count: 1}]}]}\n" ATTRS TASKS);
    struct rspec *zone = spec("version: 9999\nresources:\n"
        "- {type: zone, count: 1, with: [{type: slot, count: 1, label: s,"
        " with: [{type: core, count: 1}]}]}\n" ATTRS TASKS);
    struct errmsg err;
    ok(match_job(m, rs, 1, MATCH_ALLOCATE, 0, 0, NULL, &err) == 0, "hinodex: one core");
    is(held(m, g, 1, "core"), 36, "holds the whole node: 36 cores");
    is(held(m, g, 1, "memory"), 16, "and its 16 GB");
    is(match_lookup(m, 1)->items[0].v, 0, "items start at the root");
    ok(match_job(m, rs, 2, MATCH_ALLOCATE, 0, 0, NULL, &err) == 0, "second node");
    is(match_job(m, rs, 3, MATCH_ALLOCATE, 0, 0, NULL, &err), -EBUSY, "no third");
    is(match_job(m, big, 4, MATCH_ALLOCATE_WITH_SAT, 0, 0, NULL, &err), -ENODEV,
       "3 nodes on 2: unsatisfiable (%s)", err.text);
    is(match_unsat_per_unit(m, big, &err), -EBUSY,
       "but one node of it is satisfiable (resource-query says no match)");
    is(match_job(m, zone, 5, MATCH_ALLOCATE, 0, 0, NULL, &err), -EINVAL,
       "unknown type: %s", err.text);
    is(match_job(m, rs, 6, MATCH_SATISFIABILITY, 0, 0, NULL, &err), 0,
       "satisfiable while busy");
    int v = graph_find_path(g, "/tiny0/rack0/node1");
    ok(v > 0, "find /tiny0/rack0/node1");
    match_cancel(m, 1);
    match_cancel(m, 2);
    graph_set_status(g, v, GRAPH_DOWN);
    ok(match_job(m, rs, 7, MATCH_ALLOCATE, 0, 0, NULL, &err) == 0, "node0 still up");
    is(match_job(m, rs, 8, MATCH_ALLOCATE, 0, 0, NULL, &err), -EBUSY,
       "node1 is down: no second job");
    graph_set_status(g, v, GRAPH_UP);
    is(match_job(m, rs, 8, MATCH_ALLOCATE, 0, 0, NULL, &err), 0, "up again: fits");
    rspec_destroy(rs);
    rspec_destroy(big);
    rspec_destroy(zone);
    match_destroy(m);
    graph_destroy(g);
}

static void test_moldable(void)
{
    struct graph *g = tiny();
    struct matcher *m = match_create(g, MATCH_LOW);
    struct rspec *rs = spec("version: 9999\nresources:\n"
        "- {type: node, count: {min: 1, max: 4}, with: [{type: slot, count: 1, label: s,"
        " with: [{type: core, count: 2}]}]}\n" ATTRS TASKS);
    struct errmsg err;
    ok(match_job(m, rs, 1, MATCH_ALLOCATE, 0, 0, NULL, &err) == 0, "moldable 1-4 nodes");
    is(held(m, g, 1, "core"), 4, "got both nodes (2 cores each)");
    rspec_destroy(rs);
    match_destroy(m);
    graph_destroy(g);
}

/* Fluxion's rule for pools (doc/scheduler.md): claimed exclusively they
 * are held whole; shared they give units. One node, 4 cores, a 1024 GB ssd. */
static void test_exclusive_pools(void)
{
    struct graph *g = graph_create();
    struct errmsg err;
    int c = graph_add_vertex(g, -1, "cluster", "c", NULL, 0, 1, NULL, -1, &err);
    int n = graph_add_vertex(g, c, "node", NULL, NULL, 0, 1, NULL, 0, &err);
    for (int i = 0; i < 4; i++)
        graph_add_vertex(g, n, "core", NULL, NULL, i, 1, NULL, 0, &err);
    graph_add_vertex(g, n, "ssd", NULL, NULL, 0, 1024, "GB", 0, &err);
    graph_finalize(g, &err);
    struct matcher *m = match_create(g, MATCH_LOW);
    const struct match_alloc *a;
    struct rspec *one = spec("version: 9999\nresources:\n"
        "- {type: slot, count: 1, label: s, with: [{type: core, count: 1},"
        " {type: ssd, count: 1}]}\n" ATTRS TASKS);
    is(match_job(m, one, 1, MATCH_ALLOCATE, 0, 0, &a, &err), 0, "a slot with 1 GB of ssd");
    is(held(m, g, 1, "ssd"), 1024, "... holds the whole 1024 GB pool");
    is(match_job(m, one, 2, MATCH_ALLOCATE_WITH_SAT, 0, 0, &a, &err), -EBUSY,
       "a second such job waits: the pool is not shared");
    match_cancel(m, 1);
    struct rspec *two = spec("version: 9999\nresources:\n"
        "- {type: slot, count: 2, label: s, with: [{type: core, count: 1},"
        " {type: ssd, count: 1}]}\n" ATTRS TASKS);
    is(match_job(m, two, 3, MATCH_ALLOCATE_WITH_SAT, 0, 0, &a, &err), -ENODEV,
       "two slots cannot split one pool between them: unsatisfiable");
    struct rspec *shared = spec("version: 9999\nresources:\n"
        "- {type: node, count: 1, with: [{type: ssd, count: 100},"
        " {type: slot, count: 1, label: s, with: [{type: core, count: 1}]}]}\n" ATTRS TASKS);
    is(match_job(m, shared, 4, MATCH_ALLOCATE, 0, 0, &a, &err), 0,
       "ssd outside the slot (shared): ok");
    is(match_job(m, shared, 5, MATCH_ALLOCATE, 0, 0, &a, &err), 0,
       "... and a second job shares the pool, 100 GB each");
    rspec_destroy(one);
    rspec_destroy(two);
    rspec_destroy(shared);
    match_destroy(m);
    graph_destroy(g);
}

/* Fluxion's first with a moldable count: the first socket that can give
 * the max, not the first that gives something. */
static void test_first_moldable(void)
{
    struct graph *g = graph_create();
    struct errmsg err;
    int c = graph_add_vertex(g, -1, "cluster", "c", NULL, 0, 1, NULL, -1, &err);
    int n = graph_add_vertex(g, c, "node", NULL, NULL, 0, 1, NULL, 0, &err);
    for (int s = 0; s < 2; s++) {
        int sv = graph_add_vertex(g, n, "socket", NULL, NULL, s, 1, NULL, 0, &err);
        for (int i = 0; i < 4; i++)
            graph_add_vertex(g, sv, "core", NULL, NULL, s * 4 + i, 1, NULL, 0, &err);
    }
    graph_finalize(g, &err);
    struct matcher *m = match_create(g, MATCH_FIRST);
    const struct match_alloc *a;
    struct rspec *two = spec("version: 9999\nresources:\n"
        "- {type: slot, count: 1, label: s, with: [{type: core, count: 2}]}\n" ATTRS TASKS);
    struct rspec *mold = spec("version: 9999\nresources:\n"
        "- {type: socket, count: 1, with: [{type: slot, count: 1, label: s,"
        " with: [{type: core, count: {min: 1, max: 4}}]}]}\n" ATTRS TASKS);
    is(match_job(m, two, 1, MATCH_ALLOCATE, 0, 0, &a, &err), 0, "first: 2 cores (socket1)");
    is(match_job(m, mold, 2, MATCH_ALLOCATE, 0, 0, &a, &err), 0, "then cores {min 1, max 4}");
    is(held(m, g, 2, "core"), 4, "... all 4 of socket0, the first socket that gives the max");
    match_cancel(m, 2);
    struct rspec *two0 = spec("version: 9999\nresources:\n"
        "- {type: slot, count: 1, label: s, with: [{type: core, count: 2}]}\n" ATTRS TASKS);
    is(match_job(m, two0, 3, MATCH_ALLOCATE, 0, 0, &a, &err), 0, "2 more cores (socket1 full)");
    is(match_job(m, two0, 4, MATCH_ALLOCATE, 0, 0, &a, &err), 0, "2 more (half of socket0)");
    is(match_job(m, mold, 5, MATCH_ALLOCATE, 0, 0, &a, &err), 0,
       "no socket gives 4 now: the moldable job still fits");
    is(held(m, g, 5, "core"), 2, "... with the 2 left");
    rspec_destroy(two);
    rspec_destroy(two0);
    rspec_destroy(mold);
    match_destroy(m);
    graph_destroy(g);
}

/* allocate_with_satisfiability and down resources, as Fluxion answers. */
static void test_sat_down(void)
{
    struct graph *g = tiny();
    struct matcher *m = match_create(g, MATCH_LOW);
    struct errmsg err = { "" };
    const struct match_alloc *a;
    struct rspec *both = spec("version: 9999\nresources:\n"
        "- {type: node, count: 2, with: [{type: slot, count: 1, label: s,"
        " with: [{type: core, count: 1}]}]}\n" ATTRS TASKS);
    graph_set_status(g, graph_find_path(g, "/tiny0/rack0/node1"), GRAPH_DOWN);
    is(match_job(m, both, 1, MATCH_ALLOCATE_WITH_SAT, 0, 0, &a, &err), -ENODEV,
       "2 nodes with one down: allocate_with_satisfiability says unsatisfiable");
    is_str(err.text, "only resources that are down, drained or offline could satisfy the "
           "request", "... saying why");
    is(match_job(m, both, 2, MATCH_ALLOCATE_ORELSE_RESERVE, 0, 0, &a, &err), -EBUSY,
       "allocate_orelse_reserve: busy, not unsatisfiable (the queue waits for the node)");
    is(match_job(m, both, 3, MATCH_SATISFIABILITY, 0, 0, NULL, &err), 0,
       "satisfiability (the graph as built) still says yes");
    graph_set_status(g, graph_find_path(g, "/tiny0/rack0/node1"), GRAPH_UP);
    is(match_job(m, both, 4, MATCH_ALLOCATE_WITH_SAT, 0, 0, &a, &err), 0, "up again: allocated");
    rspec_destroy(both);
    match_destroy(m);
    graph_destroy(g);
}

static bool rank_is(void *arg, const struct graph_vertex *node)
{
    return node->rank == *(int *)arg;
}

/* Partial cancel (Flux's shrink): release one node of a running job. */
static void test_release(void)
{
    struct graph *g = tiny();
    struct matcher *m = match_create(g, MATCH_LOW);
    struct errmsg err = { "" };
    const struct match_alloc *a;
    struct rspec *both = spec("version: 9999\nresources:\n"
        "- {type: node, count: 2, exclusive: true, with: [{type: slot, count: 1, label: s,"
        " with: [{type: core, count: 1}]}]}\n" ATTRS TASKS);
    struct rspec *one = spec("version: 9999\nresources:\n"
        "- {type: node, count: 1, exclusive: true, with: [{type: slot, count: 1, label: s,"
        " with: [{type: core, count: 1}]}]}\n" ATTRS TASKS);
    bool full = true;
    int rank = 1;
    is(match_job(m, both, 1, MATCH_ALLOCATE, 0, 0, &a, &err), 0, "a job on both nodes, whole");
    is(match_job(m, one, 2, MATCH_ALLOCATE, 0, 0, &a, &err), -EBUSY, "no node left");
    is(match_release(m, 1, rank_is, &rank, &full), 0, "release node1 of it");
    ok(!full, "... the job still holds node0");
    is(held(m, g, 1, "node"), 1, "... one node");
    is(match_job(m, one, 2, MATCH_ALLOCATE, 0, 0, &a, &err), 0, "node1 is free at once");
    rank = 7;
    is(match_release(m, 1, rank_is, &rank, &full), 0, "releasing a node it does not hold");
    ok(!full && match_lookup(m, 1), "... changes nothing");
    rank = 0;
    is(match_release(m, 1, rank_is, &rank, &full), 0, "release node0 too");
    ok(full && !match_lookup(m, 1), "... the job is gone");
    is(match_release(m, 1, rank_is, &rank, &full), -ENOENT, "then: ENOENT");
    is(match_job(m, one, 3, MATCH_ALLOCATE, 0, 0, &a, &err), 0, "node0 is free too");
    rspec_destroy(both);
    rspec_destroy(one);
    match_destroy(m);
    graph_destroy(g);
}

int main(void)
{
    plan(NO_PLAN);
    test_release();
    test_sat_down();
    test_first_moldable();
    test_exclusive_pools();
    test_socket_slots();
    test_core_slots();
    test_nodex_and_sat();
    test_moldable();
    done_testing();
}
