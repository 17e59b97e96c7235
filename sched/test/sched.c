#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/tap.h"
#include "sched/sched.h"

struct rec {
    uint64_t ids[64];
    int n;
};

static void record(void *arg, uint64_t id, const struct sched_alloc *a)
{
    struct rec *r = arg;
    if (r->n < 64)
        r->ids[r->n++] = id;
}

static struct rgraph *graph(const char *R)
{
    struct errmsg err;
    struct rgraph *g = rgraph_create_R(R, strlen(R), &err);
    if (!g)
        diag("graph: %s", err.text);
    return g;
}

/* n nodes "n[0-(n-1)]" with cores 0-(c-1) and optional gpus 0-(gp-1). */
static struct rgraph *uniform(int n, int c, int gp)
{
    char buf[512];
    char gpus[64] = "";
    if (gp > 0)
        snprintf(gpus, sizeof(gpus), ",\"gpu\":\"0-%d\"", gp - 1);
    snprintf(buf, sizeof(buf), "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0-%d\","
             "\"children\":{\"core\":\"0-%d\"%s}}],\"nodelist\":[\"n[0-%d]\"]}}",
             n - 1, c - 1, gpus, n - 1);
    return graph(buf);
}

static struct sched_request slots(int nslots, int cores, int gpus, double duration)
{
    struct sched_request r = { .nnodes = 0, .nslots = nslots, .slot_cores = cores,
                               .slot_gpus = gpus, .duration = duration };
    return r;
}

static struct sched_request nodes(int nnodes, bool excl, int nslots, int cores, int gpus,
                                  double duration)
{
    struct sched_request r = { .nnodes = nnodes, .node_exclusive = excl, .nslots = nslots,
                               .slot_cores = cores, .slot_gpus = gpus, .duration = duration };
    return r;
}

static int submit(struct sched *s, uint64_t id, struct sched_request r, int urgency, double t)
{
    struct errmsg err = { "" };
    int rc = sched_submit(s, id, &r, urgency, t, &err);
    if (rc < 0)
        diag("submit %llu: %s", (unsigned long long)id, err.text);
    return rc;
}

static int run(struct sched *s, double now, struct rec *r)
{
    memset(r, 0, sizeof(*r));
    return sched_schedule(s, now, record, r);
}

static void test_exclusive_all_cores(void)
{
    struct rgraph *g = uniform(1, 2, 0);
    struct sched *s = sched_create(g);
    struct rec r;
    is(submit(s, 1, slots(2, 1, 0, 0), 16, 1), 0, "all-cores: submit job 1");
    is(submit(s, 2, slots(2, 1, 0, 0), 16, 2), 0, "all-cores: submit job 2");
    is(sched_pending(s), 2, "all-cores: 2 pending");
    is(run(s, 10, &r), 1, "all-cores: one job starts");
    is(r.ids[0], 1, "all-cores: it is job 1");
    ok(sched_core_owner(s, 0, 0) == 1 && sched_core_owner(s, 0, 1) == 1, "all-cores: job 1 owns both cores");
    is(sched_free_cores(s), 0, "all-cores: no free cores");
    is(run(s, 11, &r), 0, "all-cores: job 2 does not start while job 1 runs");
    ok(sched_lookup_alloc(s, 2) == NULL, "all-cores: job 2 has no allocation");
    is(sched_running(s), 1, "all-cores: 1 running");
    is(sched_pending(s), 1, "all-cores: 1 pending");
    is(sched_release(s, 1), 0, "all-cores: release job 1");
    is(sched_free_cores(s), 2, "all-cores: release frees both cores");
    is(sched_core_owner(s, 0, 0), 0, "all-cores: core 0 is free");
    is(sched_release(s, 1), -ENOENT, "all-cores: second release is ENOENT");
    is(run(s, 12, &r), 1, "all-cores: job 2 starts after release");
    is(r.ids[0], 2, "all-cores: it is job 2");
    const struct sched_alloc *a = sched_lookup_alloc(s, 2);
    ok(a && a->nnodes == 1 && a->nodes[0].ncores == 2 && a->nodes[0].nslots == 2
       && a->starttime == 12 && a->expiration == 0, "all-cores: job 2 allocation");
    is(sched_running(s), 1, "all-cores: 1 running");
    is(sched_pending(s), 0, "all-cores: 0 pending");
    sched_destroy(s);
    rgraph_destroy(g);
}

static void test_urgency(void)
{
    struct rgraph *g = uniform(1, 1, 0);
    struct sched *s = sched_create(g);
    struct rec r;
    submit(s, 1, slots(1, 1, 0, 0), 16, 1.0);
    submit(s, 2, slots(1, 1, 0, 0), 20, 2.0);
    submit(s, 3, slots(1, 1, 0, 0), 20, 1.5);
    submit(s, 5, slots(1, 1, 0, 0), 8, 3.0);
    submit(s, 4, slots(1, 1, 0, 0), 8, 3.0);
    submit(s, 6, slots(1, 1, 0, 0), SCHED_URGENCY_HOLD, 0.0);
    uint64_t want[] = { 3, 2, 1, 4, 5 };
    int good = 1;
    for (int i = 0; i < 5; i++) {
        if (run(s, 10 + i, &r) != 1 || r.ids[0] != want[i])
            good = 0;
        sched_release(s, r.ids[0]);
    }
    ok(good, "urgency: order is urgency desc, then submit time, then id");
    is(run(s, 20, &r), 0, "hold: a held job never starts");
    is(sched_pending(s), 1, "hold: still pending");
    is(sched_set_urgency(s, 6, 31), 0, "hold: release the hold");
    is(run(s, 21, &r), 1, "hold: job starts once unheld");
    is(sched_set_urgency(s, 6, 3), -ENOENT, "set_urgency on a running job is ENOENT");
    is(sched_set_urgency(s, 99, 3), -ENOENT, "set_urgency on an unknown job is ENOENT");
    sched_release(s, 6);

    /* a held job does not block others; urgency changes reorder */
    submit(s, 10, slots(1, 1, 0, 0), 0, 1);
    submit(s, 11, slots(1, 1, 0, 0), 16, 2);
    submit(s, 12, slots(1, 1, 0, 0), 16, 3);
    is(sched_set_urgency(s, 12, 17), 0, "raise job 12");
    is(sched_set_urgency(s, 12, 32), -EINVAL, "urgency 32 is EINVAL");
    run(s, 30, &r);
    ok(r.n == 1 && r.ids[0] == 12, "raised job goes first, held job is skipped");
    sched_destroy(s);
    rgraph_destroy(g);
}

static void test_node_exclusive(void)
{
    struct rgraph *g = uniform(2, 4, 0);
    struct sched *s = sched_create(g);
    struct rec r;
    submit(s, 1, slots(1, 1, 0, 0), 16, 1);
    submit(s, 2, nodes(1, true, 1, 1, 0, 0), 16, 2);
    is(run(s, 1, &r), 2, "exclusive: both start");
    const struct sched_alloc *a = sched_lookup_alloc(s, 2);
    ok(a && a->nnodes == 1 && a->nodes[0].node == 1 && a->nodes[0].ncores == 4,
       "exclusive: job 2 gets all of node 1");
    is(sched_core_owner(s, 1, 3), 2, "exclusive: job 2 owns core 3 of node 1");
    is(sched_free_cores(s), 3, "exclusive: 3 cores free on node 0");
    submit(s, 3, nodes(1, true, 1, 1, 0, 0), 16, 3);
    is(run(s, 2, &r), 0, "exclusive: no whole node is free for job 3");
    /* job 3 is reserved node 0 (at +inf: everything running is unlimited) */
    submit(s, 4, slots(1, 1, 0, 0), 16, 4);
    is(run(s, 3, &r), 0, "exclusive: an unlimited 1-core job may not use job 3's node");
    submit(s, 5, slots(1, 1, 0, 10), 16, 5);
    is(run(s, 4, &r), 1, "exclusive: a job with a duration backfills");
    is(r.ids[0], 5, "exclusive: it is job 5");
    sched_release(s, 1);
    sched_release(s, 5);
    is(run(s, 5, &r), 1, "exclusive: job 3 starts when node 0 is idle");
    ok(r.ids[0] == 3 && sched_lookup_alloc(s, 3)->nodes[0].node == 0, "exclusive: job 3 on node 0");
    sched_destroy(s);
    rgraph_destroy(g);
}

static void test_gpus(void)
{
    struct rgraph *g = graph("{\"version\":1,\"execution\":{\"R_lite\":["
                             "{\"rank\":\"0\",\"children\":{\"core\":\"0-3\"}},"
                             "{\"rank\":\"1\",\"children\":{\"core\":\"0-3\",\"gpu\":\"0-1\"}}],"
                             "\"nodelist\":[\"g[0-1]\"]}}");
    struct sched *s = sched_create(g);
    struct rec r;
    submit(s, 1, slots(1, 1, 1, 0), 16, 1);
    is(run(s, 1, &r), 1, "gpu: 1-gpu job starts");
    const struct sched_alloc *a = sched_lookup_alloc(s, 1);
    ok(a && a->nnodes == 1 && a->nodes[0].node == 1 && a->nodes[0].ngpus == 1
       && a->nodes[0].gpus[0] == 0, "gpu: on node 1 gpu 0");
    is(sched_gpu_owner(s, 1, 0), 1, "gpu: job 1 owns gpu 0");
    is(sched_gpu_owner(s, 1, 1), 0, "gpu: gpu 1 is free");
    is(sched_gpu_owner(s, 0, 0), 0, "gpu: node 0 has no gpu 0");
    submit(s, 2, slots(2, 1, 1, 0), 16, 2);
    submit(s, 3, slots(1, 2, 0, 0), 16, 3);
    is(run(s, 2, &r), 1, "gpu: 2-gpu job blocked, cpu-only job does not need gpus");
    ok(r.ids[0] == 3 && sched_lookup_alloc(s, 3)->nodes[0].node == 0, "gpu: cpu job lands on node 0");
    sched_release(s, 1);
    is(run(s, 3, &r), 1, "gpu: 2-gpu job starts after release");
    a = sched_lookup_alloc(s, 2);
    ok(a && a->nodes[0].node == 1 && a->nodes[0].ngpus == 2 && a->nodes[0].nslots == 2,
       "gpu: 2 slots with a gpu each on node 1");
    json_t *R = sched_alloc_to_R(s, a);
    char *txt = json_dumps(R, JSON_COMPACT | JSON_SORT_KEYS);
    is_str(txt, "{\"execution\":{\"R_lite\":[{\"children\":{\"core\":\"0-1\",\"gpu\":\"0-1\"},"
           "\"rank\":\"1\"}],\"expiration\":0.0,\"nodelist\":[\"g1\"],\"starttime\":3.0},"
           "\"version\":1}", "gpu: R of the allocation");
    free(txt);
    json_decref(R);
    sched_destroy(s);
    rgraph_destroy(g);
}

static void check_unsat(struct sched *s, struct sched_request req, const char *msg)
{
    struct errmsg err = { "" };
    ok(!sched_satisfiable(s, &req, &err), "unsatisfiable: %s", msg);
    is_str(err.text, msg, "message");
    is(sched_submit(s, 999, &req, 16, 0, &err), -EINVAL, "submit is EINVAL");
}

static void test_satisfiable(void)
{
    struct rgraph *g = uniform(1, 2, 0);
    struct sched *s = sched_create(g);
    struct errmsg err = { "" };
    struct sched_request ok1 = slots(2, 1, 0, 0);
    ok(sched_satisfiable(s, &ok1, &err), "satisfiable: 2 slots of 1 core");
    check_unsat(s, nodes(4, false, 1, 1, 0, 0), "requested 4 nodes but the instance has 1");
    check_unsat(s, slots(1, 3, 0, 0), "requested 3 cores per slot but the largest node has 2");
    check_unsat(s, slots(1, 1, 1, 0), "requested 1 gpu per slot but the instance has none");
    check_unsat(s, slots(3, 1, 0, 0), "requested 3 slots of 1 core but the instance holds 2");
    check_unsat(s, nodes(1, false, 2, 2, 0, 0),
                "requested 1 node with 4 cores each but the instance has 0 such nodes");
    check_unsat(s, slots(0, 1, 0, 0), "invalid request: nnodes 0 nslots 0 cores 1 gpus 0");
    sched_destroy(s);
    rgraph_destroy(g);

    g = graph("{\"version\":1,\"execution\":{\"R_lite\":["
              "{\"rank\":\"0-1\",\"children\":{\"core\":\"0-3\",\"gpu\":\"0\"}},"
              "{\"rank\":\"2\",\"children\":{\"core\":\"0-7\",\"gpu\":\"0-1\"}}]}}");
    s = sched_create(g);
    check_unsat(s, slots(1, 1, 3, 0), "requested 3 gpus per slot but the largest node has 2");
    check_unsat(s, nodes(2, false, 2, 3, 1, 0),
                "requested 2 nodes with 6 cores and 2 gpus each but the instance has 1 such node");
    struct sched_request ok2 = nodes(3, true, 1, 4, 1, 0);
    ok(sched_satisfiable(s, &ok2, &err), "satisfiable: 3 exclusive nodes");
    struct sched_request ok3 = slots(4, 1, 1, 0);
    ok(sched_satisfiable(s, &ok3, &err), "satisfiable: 4 gpu slots over 3 nodes");
    check_unsat(s, slots(5, 1, 1, 0), "requested 5 slots of 1 core and gpus but the instance holds 4");

    is(submit(s, 1, slots(1, 1, 0, 0), 16, 0), 0, "submit job 1");
    struct sched_request one = slots(1, 1, 0, 0);
    is(sched_submit(s, 1, &one, 16, 0, &err), -EEXIST, "duplicate id is EEXIST");
    is(sched_submit(s, 0, &one, 16, 0, &err), -EINVAL, "id 0 is EINVAL");
    is(sched_submit(s, 2, &one, 32, 0, &err), -EINVAL, "urgency 32 is EINVAL");
    is(sched_submit(s, 2, &one, -1, 0, &err), -EINVAL, "urgency -1 is EINVAL");
    sched_destroy(s);
    rgraph_destroy(g);
}

static void test_backfill(void)
{
    struct rgraph *g = uniform(1, 4, 0);
    struct sched *s = sched_create(g);
    struct rec r;
    submit(s, 1, slots(2, 1, 0, 100), 16, 1);
    is(run(s, 0, &r), 1, "backfill: job 1 (2 cores until t=100) starts");
    submit(s, 2, slots(4, 1, 0, 50), 16, 2);   /* head: blocked until 100 */
    submit(s, 3, slots(1, 1, 0, 200), 16, 3);  /* long: would delay head */
    submit(s, 4, slots(1, 1, 0, 0), 16, 4);    /* unlimited: would delay head */
    submit(s, 5, slots(1, 1, 0, 50), 16, 5);   /* short: ends at 50 */
    is(run(s, 0, &r), 1, "backfill: one job backfills");
    is(r.ids[0], 5, "backfill: the short job 5");
    ok(sched_lookup_alloc(s, 3) == NULL && sched_lookup_alloc(s, 4) == NULL,
       "backfill: long and unlimited jobs wait");
    sched_release(s, 5);
    submit(s, 6, slots(2, 1, 0, 60), 16, 6);   /* ends at 110 > 100 */
    submit(s, 7, slots(2, 1, 0, 50), 16, 7);   /* ends at 100 */
    is(run(s, 50, &r), 1, "backfill: at t=50 one more job backfills");
    is(r.ids[0], 7, "backfill: job 7 ends exactly at the shadow time");
    sched_release(s, 7);
    sched_release(s, 1);
    is(run(s, 100, &r), 1, "backfill: at t=100 only the head starts");
    is(r.ids[0], 2, "backfill: the head job 2");
    is(sched_pending(s), 3, "backfill: 3 still pending");
    sched_destroy(s);
    rgraph_destroy(g);

    /* long jobs backfill when they avoid the head's reservation */
    g = uniform(3, 2, 0);
    s = sched_create(g);
    submit(s, 1, nodes(2, false, 2, 1, 0, 100), 16, 1);
    is(run(s, 0, &r), 1, "backfill: job 1 takes nodes 0-1 until t=100");
    submit(s, 2, nodes(2, false, 1, 2, 0, 10), 16, 2);  /* needs 2 free nodes */
    submit(s, 3, slots(1, 1, 0, 0), 16, 3);
    is(run(s, 1, &r), 1, "backfill: unlimited job starts outside the reservation");
    ok(r.ids[0] == 3 && sched_lookup_alloc(s, 3)->nodes[0].node == 2, "backfill: job 3 on node 2");
    sched_destroy(s);
    rgraph_destroy(g);

    /* a head blocked by unlimited jobs is reserved at +inf */
    g = uniform(1, 2, 0);
    s = sched_create(g);
    submit(s, 1, slots(1, 1, 0, 0), 16, 1);
    run(s, 0, &r);
    submit(s, 2, slots(2, 1, 0, 0), 16, 2);
    submit(s, 3, slots(1, 1, 0, 0), 16, 3);
    submit(s, 4, slots(1, 1, 0, 1000), 16, 4);
    is(run(s, 1, &r), 1, "inf shadow: one job backfills");
    is(r.ids[0], 4, "inf shadow: the job with a duration, not the unlimited one");
    sched_release(s, 1);
    sched_release(s, 4);
    is(run(s, 2, &r), 1, "inf shadow: the wide head runs next");
    is(r.ids[0], 2, "inf shadow: it is job 2");
    sched_destroy(s);
    rgraph_destroy(g);
}

static void test_cancel(void)
{
    struct rgraph *g = uniform(1, 1, 0);
    struct sched *s = sched_create(g);
    struct rec r;
    submit(s, 1, slots(1, 1, 0, 0), 16, 1);
    submit(s, 2, slots(1, 1, 0, 0), 16, 2);
    submit(s, 3, slots(1, 1, 0, 0), 16, 3);
    is(sched_cancel(s, 1), 0, "cancel: pending job 1");
    is(sched_cancel(s, 1), -ENOENT, "cancel: twice is ENOENT");
    is(sched_cancel(s, 42), -ENOENT, "cancel: unknown is ENOENT");
    is(sched_pending(s), 2, "cancel: 2 pending");
    is(run(s, 1, &r), 1, "cancel: one starts");
    is(r.ids[0], 2, "cancel: the cancelled job never starts");
    is(sched_cancel(s, 2), -ENOENT, "cancel: a running job is ENOENT");
    is(sched_cancel(s, 3), 0, "cancel: job 3");
    is(submit(s, 1, slots(1, 1, 0, 0), 16, 5), 0, "cancel: a cancelled id may be reused");
    sched_release(s, 2);
    is(run(s, 2, &r), 1, "cancel: the resubmitted job runs");
    is(r.ids[0], 1, "cancel: it is job 1");
    is(sched_pending(s), 0, "cancel: nothing pending");
    submit(s, 7, slots(1, 1, 0, 0), 16, 6);
    sched_cancel(s, 7);   /* freed by destroy, not by a pass */
    sched_destroy(s);
    rgraph_destroy(g);
}

static void test_R(void)
{
    struct rgraph *g = graph("{\"version\":1,\"execution\":{\"R_lite\":["
                             "{\"rank\":\"0-2\",\"children\":{\"core\":\"2,4-6\"}}],"
                             "\"nodelist\":[\"node[7-9]\"]}}");
    struct sched *s = sched_create(g);
    struct rec r;
    submit(s, 1, slots(1, 1, 0, 0), 16, 1);
    submit(s, 2, nodes(2, false, 2, 1, 0, 10), 16, 2);
    is(run(s, 5, &r), 2, "R: both start");
    const struct sched_alloc *a = sched_lookup_alloc(s, 2);
    ok(a && a->nnodes == 2 && a->nodes[0].cores[0] == 1 && a->nodes[0].cores[1] == 2,
       "R: core indexes on the first node skip the busy one");
    json_t *R = sched_alloc_to_R(s, a);
    char *txt = json_dumps(R, JSON_COMPACT | JSON_SORT_KEYS);
    is_str(txt, "{\"execution\":{\"R_lite\":[{\"children\":{\"core\":\"4-5\"},\"rank\":\"0\"},"
           "{\"children\":{\"core\":\"2,4\"},\"rank\":\"1\"}],\"expiration\":15.0,"
           "\"nodelist\":[\"node[7-8]\"],\"starttime\":5.0},\"version\":1}",
           "R: real core ids, nodelist, start and expiration");
    free(txt);
    /* the allocation's R is itself a valid resource set */
    txt = json_dumps(R, JSON_COMPACT);
    struct errmsg err;
    struct rgraph *sub = rgraph_create_R(txt, strlen(txt), &err);
    ok(sub && rgraph_total_cores(sub) == 4 && strcmp(rgraph_node(sub, 1)->name, "node8") == 0,
       "R: allocation R loads as a graph");
    rgraph_destroy(sub);
    free(txt);
    json_decref(R);

    submit(s, 3, nodes(3, false, 1, 1, 0, 0), 16, 3);
    run(s, 6, &r);
    R = sched_alloc_to_R(s, sched_lookup_alloc(s, 3));
    txt = json_dumps(R, JSON_COMPACT | JSON_SORT_KEYS);
    ok(txt && strstr(txt, "\"nodelist\":[\"node[7-9]\"]") && strstr(txt, "\"expiration\":0.0"),
       "R: unlimited job has expiration 0: %s", txt);
    free(txt);
    json_decref(R);
    ok(sched_core_owner(s, 5, 0) == 0 && sched_core_owner(s, 0, 99) == 0
       && sched_gpu_owner(s, 0, 0) == 0, "owner queries out of range return 0");
    sched_destroy(s);
    rgraph_destroy(g);
}

/* Check owners, free counts and request shapes after every step. */
static int check_invariants(struct sched *s, const struct rgraph *g, uint64_t maxid,
                            const struct sched_request *reqs)
{
    int owned = 0, total = rgraph_total_cores(g);
    for (uint64_t id = 1; id <= maxid; id++) {
        const struct sched_alloc *a = sched_lookup_alloc(s, id);
        if (!a)
            continue;
        const struct sched_request *q = &reqs[id];
        int slots = 0;
        if (q->nnodes > 0 && a->nnodes != q->nnodes)
            return 0;
        for (int k = 0; k < a->nnodes; k++) {
            const struct sched_alloc_node *an = &a->nodes[k];
            const struct rgraph_node *rn = rgraph_node(g, an->node);
            if (k > 0 && an->node <= a->nodes[k - 1].node)
                return 0;
            if (q->node_exclusive && (an->ncores != rn->ncores || an->ngpus != rn->ngpus))
                return 0;
            if (!q->node_exclusive && (an->ncores != an->nslots * q->slot_cores
                                       || an->ngpus != an->nslots * q->slot_gpus))
                return 0;
            if (q->nnodes > 0 && an->nslots != q->nslots)
                return 0;
            slots += an->nslots;
            for (int i = 0; i < an->ncores; i++)
                if (sched_core_owner(s, an->node, an->cores[i]) != id)
                    return 0;
            for (int i = 0; i < an->ngpus; i++)
                if (sched_gpu_owner(s, an->node, an->gpus[i]) != id)
                    return 0;
            owned += an->ncores;
        }
        if (q->nnodes == 0 && slots != q->nslots)
            return 0;
    }
    return sched_free_cores(s) == total - owned;
}

static void test_random(void)
{
    struct rgraph *g = graph("{\"version\":1,\"execution\":{\"R_lite\":["
                             "{\"rank\":\"0-3\",\"children\":{\"core\":\"0-3\"}},"
                             "{\"rank\":\"4-5\",\"children\":{\"core\":\"0-7\",\"gpu\":\"0-1\"}},"
                             "{\"rank\":\"6\",\"children\":{\"core\":\"0-1\"}}]}}");
    struct sched *s = sched_create(g);
    enum { NJOBS = 3000 };
    static struct sched_request reqs[NJOBS + 1];
    unsigned seed = 12345;
    uint64_t next = 1;
    int good = 1, started = 0;
    double now = 0;
    for (int step = 0; step < 4000 && good; step++) {
        int op = (int)(rand_r(&seed) % 10);
        if (op < 5 && next <= NJOBS) {
            struct sched_request q;
            int shape = (int)(rand_r(&seed) % 4);
            double dur = (rand_r(&seed) % 3) ? (double)(1 + rand_r(&seed) % 50) : 0;
            if (shape == 0)
                q = slots(1 + (int)(rand_r(&seed) % 6), 1 + (int)(rand_r(&seed) % 2), 0, dur);
            else if (shape == 1)
                q = nodes(1 + (int)(rand_r(&seed) % 3), false, 1 + (int)(rand_r(&seed) % 2), 1, 0, dur);
            else if (shape == 2)
                q = nodes(1 + (int)(rand_r(&seed) % 2), true, 1, 1, 0, dur);
            else
                q = slots(1 + (int)(rand_r(&seed) % 3), 1, 1, dur);
            struct errmsg err;
            reqs[next] = q;
            int urg = (int)(rand_r(&seed) % 32);
            if (sched_submit(s, next, &q, urg, now, &err) == 0 && rand_r(&seed) % 7 == 0)
                sched_set_urgency(s, next, (int)(rand_r(&seed) % 32));
            next++;
        } else if (op < 8) {
            /* release running jobs that reached their expected end, or a random one */
            for (uint64_t id = 1; id < next; id++) {
                const struct sched_alloc *a = sched_lookup_alloc(s, id);
                if (a && ((a->expiration > 0 && a->expiration <= now) || rand_r(&seed) % 20 == 0))
                    sched_release(s, id);
            }
        } else if (next > 1) {
            sched_cancel(s, 1 + rand_r(&seed) % (next - 1));
        }
        now += 1;
        struct rec r;
        started += run(s, now, &r);
        if (!check_invariants(s, g, next - 1, reqs)) {
            diag("invariants broken at step %d", step);
            good = 0;
        }
    }
    ok(good, "random: owners, free counts and shapes stay consistent (%d jobs started)", started);
    sched_destroy(s);
    rgraph_destroy(g);
}

static double elapsed(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

struct count {
    int n;
    uint64_t last;
};

static void counter(void *arg, uint64_t id, const struct sched_alloc *a)
{
    struct count *c = arg;
    c->n++;
    c->last = id;
}

static void test_scale(void)
{
    struct rgraph *g = uniform(16384, 36, 0);
    struct sched *s = sched_create(g);
    struct timespec t0;
    ok(s != NULL, "scale: 16384 nodes x 36 cores");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int good = 1;
    for (int i = 1; i <= 100000; i++) {
        double dur = (i % 3) ? 0 : 100 + i % 1000;
        struct sched_request req = (i % 10) ? slots(8, 1, 0, dur) : nodes(2, true, 1, 4, 0, dur);
        if (submit(s, (uint64_t)i, req, 16, i) < 0)
            good = 0;
    }
    ok(good, "scale: 100k jobs submitted (%.2fs)", elapsed(&t0));
    struct count c = { 0 };
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int n = sched_schedule(s, 1, counter, &c);
    double t1 = elapsed(&t0);
    ok(n > 0 && n == c.n && n < 100000, "scale: first pass starts %d jobs (%.2fs)", n, t1);
    is(sched_running(s), (size_t)n, "scale: running count");
    is(sched_pending(s) + (size_t)n, 100000, "scale: pending count");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int n2 = sched_schedule(s, 2, counter, &c);
    ok(n2 == 0, "scale: a pass with nothing free starts nothing (%.4fs)", elapsed(&t0));
    /* free some, then a pass with a blocked head and backfill */
    for (uint64_t id = 1; id <= 2000; id++)
        sched_release(s, id);
    c.n = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n2 = sched_schedule(s, 3, counter, &c);
    ok(n2 > 0, "scale: pass after releases starts %d jobs (%.2fs)", n2, elapsed(&t0));
    int consistent = 1;
    for (uint64_t id = 1; id <= 100000 && consistent; id += 997) {
        const struct sched_alloc *a = sched_lookup_alloc(s, id);
        for (int k = 0; a && k < a->nnodes; k++)
            for (int i = 0; i < a->nodes[k].ncores; i++)
                if (sched_core_owner(s, a->nodes[k].node, a->nodes[k].cores[i]) != id)
                    consistent = 0;
    }
    ok(consistent, "scale: core owners match allocations");
    sched_destroy(s);
    rgraph_destroy(g);
}

int main(void)
{
    plan(NO_PLAN);
    test_exclusive_all_cores();
    test_urgency();
    test_node_exclusive();
    test_gpus();
    test_satisfiable();
    test_backfill();
    test_cancel();
    test_R();
    test_random();
    test_scale();
    sched_destroy(NULL);
    return done_testing();
}
