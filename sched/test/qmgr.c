/* Unit tests for the queue (qmgr): order, held jobs, cancel and urgency
 * changes, removal of many jobs, and a table of 100,000 jobs. One-core jobs
 * on small described graphs, so a fcfs pass starts exactly the first free
 * cores' worth of jobs in queue order: the callback order is the queue. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/rspec.h"
#include "common/tap.h"
#include "sched/gdesc.h"
#include "sched/graph.h"
#include "sched/qmgr.h"

#define CORE_JOB "version: 9999\nresources:\n" \
    "- {type: slot, count: 1, label: s, with: [{type: core, count: 1}]}\n" \
    "tasks: [{command: [app], slot: s, count: {per_slot: 1}}]\n" \
    "attributes: {system: {}}\n"

static struct graph *described(const char *text)
{
    struct graph *g = NULL;
    struct errmsg err = {""};
    if (gdesc_parse(text, &g, &err) < 0)
        diag("gdesc: %s", err.text);
    return g;
}

static struct rspec *core_job(void)
{
    struct rspec *rs = NULL;
    struct errmsg err = {""};
    if (rspec_parse(CORE_JOB, strlen(CORE_JOB), &rs, &err) < 0)
        diag("rspec: %s", err.text);
    return rs;
}

/* the ids a pass allocated, in order */
struct started {
    uint64_t *id;
    size_t n, max;
};

static void on_alloc(void *arg, uint64_t id, const struct match_alloc *a)
{
    struct started *s = arg;
    (void)a;
    if (s->n == s->max) {
        s->max = s->max ? s->max * 2 : 64;
        s->id = realloc(s->id, s->max * sizeof(*s->id));
    }
    s->id[s->n++] = id;
}

static int pass(struct qmgr *q, struct started *s)
{
    s->n = 0;
    return qmgr_schedule(q, 0, on_alloc, s);
}

static void test_basics(struct rspec *rs)
{
    struct graph *g = described("2 nodes x 2 sockets x 4 cores");
    struct qmgr *q = qmgr_create(g, MATCH_LOW, QMGR_FCFS);
    struct started s = {0};
    struct errmsg err;
    ok(q != NULL, "a queue on 16 cores");
    is(qmgr_submit(q, 1, rs, 32, 0, 60, &err), -EINVAL, "urgency 32 is refused: %s", err.text);
    is(qmgr_submit(q, 1, rs, -1, 0, 60, &err), -EINVAL, "so is -1");
    /* urgency desc, then submit time, then submission order */
    is(qmgr_submit(q, 10, rs, 16, 5, 60, &err), 0, "job 10: urgency 16 at t=5");
    is(qmgr_submit(q, 11, rs, 16, 3, 60, &err), 0, "job 11: urgency 16 at t=3");
    is(qmgr_submit(q, 12, rs, 20, 9, 60, &err), 0, "job 12: urgency 20 at t=9");
    is(qmgr_submit(q, 13, rs, 16, 3, 60, &err), 0, "job 13: urgency 16 at t=3, after 11");
    is(qmgr_submit(q, 14, rs, 1, 0, 60, &err), 0, "job 14: urgency 1 at t=0");
    is(qmgr_submit(q, 10, rs, 16, 5, 60, &err), -EEXIST, "job 10 again: %s", err.text);
    is(qmgr_pending(q), 5, "5 pending");
    is(pass(q, &s), 5, "a pass starts all 5");
    ok(s.n == 5 && s.id[0] == 12 && s.id[1] == 11 && s.id[2] == 13 && s.id[3] == 10
       && s.id[4] == 14, "in the order 12 11 13 10 14");
    is(qmgr_last_pass_tried(q), 5, "having tried 5");
    is(qmgr_pending(q), 0, "none pending");
    is(qmgr_running(q), 5, "5 running");
    is(qmgr_cancel(q, 12), -ENOENT, "a running job cannot be canceled");
    is(qmgr_set_urgency(q, 12, 3), -ENOENT, "nor have its urgency changed");
    is(qmgr_release(q, 13), 0, "job 13 released");
    is(qmgr_release(q, 13), -ENOENT, "only once");
    is(qmgr_release(q, 99), -ENOENT, "an unknown job cannot be released");
    is(qmgr_cancel(q, 99), -ENOENT, "nor canceled");
    ok(qmgr_lookup(q, 13) == NULL && qmgr_lookup(q, 14) != NULL, "13 holds nothing, 14 does");
    /* swap-remove from running[]: every other one still releases */
    uint64_t ids[] = {12, 14, 10, 11};
    for (int i = 0; i < 4; i++)
        is(qmgr_release(q, ids[i]), 0, "job %d released", (int)ids[i]);
    is(qmgr_running(q), 0, "none running");
    free(s.id);
    qmgr_destroy(q);
    graph_destroy(g);
}

static void test_held(struct rspec *rs)
{
    struct graph *g = described("2 nodes x 2 sockets x 4 cores");
    struct qmgr *q = qmgr_create(g, MATCH_LOW, QMGR_CONSERVATIVE);
    struct started s = {0};
    struct errmsg err;
    int bad = 0;
    for (uint64_t id = 1; id <= 1000; id++)
        if (qmgr_submit(q, id, rs, QMGR_URGENCY_HOLD, (double)id, 60, &err) < 0)
            bad++;
    is(bad, 0, "1000 held jobs submitted");
    for (uint64_t id = 1001; id <= 1020; id++)
        if (qmgr_submit(q, id, rs, QMGR_URGENCY_DEFAULT, (double)id, 60, &err) < 0)
            bad++;
    is(bad, 0, "and 20 at urgency 16");
    is(qmgr_pending(q), 1020, "held jobs count as pending, as before");
    is(pass(q, &s), 16, "a conservative pass starts 16 (all cores)");
    ok(s.id[0] == 1001 && s.id[15] == 1016, "the first 16 unheld ones");
    is(qmgr_last_pass_tried(q), 20, "it tried the 20 unheld jobs, no held one");
    is(qmgr_pending(q), 1004, "1004 pending: 4 blocked and 1000 held");
    ok(qmgr_lookup(q, 1017) != NULL && qmgr_lookup(q, 1017)->reserved,
       "a blocked job has a reservation");
    ok(qmgr_lookup(q, 1) == NULL && qmgr_lookup(q, 1000) == NULL, "held jobs have none");

    /* cancel held jobs, from the middle, the start and the end */
    is(qmgr_cancel(q, 500), 0, "held job 500 canceled");
    is(qmgr_cancel(q, 1), 0, "held job 1 canceled");
    is(qmgr_cancel(q, 1000), 0, "held job 1000 canceled");
    is(qmgr_cancel(q, 500), -ENOENT, "500 is gone");
    is(qmgr_set_urgency(q, 500, 16), -ENOENT, "its urgency cannot change");
    is(qmgr_pending(q), 1001, "1001 pending");
    is(qmgr_set_urgency(q, 2, 40), -EINVAL, "urgency 40 is refused for a held job");
    is(qmgr_set_urgency(q, 2, QMGR_URGENCY_HOLD), 0, "holding a held job again is a no-op");

    /* release holds: they sort in by urgency, then submit time */
    is(qmgr_set_urgency(q, 3, QMGR_URGENCY_DEFAULT), 0, "job 3 released at urgency 16");
    is(qmgr_set_urgency(q, 700, QMGR_URGENCY_MAX), 0, "job 700 released at urgency 31");
    is(qmgr_set_urgency(q, 1018, QMGR_URGENCY_HOLD), 0, "blocked job 1018 held");
    is(qmgr_set_urgency(q, 1019, QMGR_URGENCY_HOLD), 0, "blocked job 1019 held");
    is(qmgr_cancel(q, 1019), 0, "and 1019 canceled while held");
    is(qmgr_pending(q), 1000, "1000 pending");
    for (uint64_t id = 1001; id <= 1016; id++)
        qmgr_release(q, id);
    is(pass(q, &s), 4, "with all cores free a pass starts 4");
    ok(s.n == 4 && s.id[0] == 700 && s.id[1] == 3 && s.id[2] == 1017 && s.id[3] == 1020,
       "700 (31), then 3, 1017, 1020 (16) by submit time");
    is(qmgr_last_pass_tried(q), 4, "it tried those 4 only");
    is(qmgr_set_urgency(q, 1018, 5), 0, "1018 released at urgency 5");
    is(pass(q, &s), 1, "and started by the next pass");
    ok(s.n == 1 && s.id[0] == 1018, "it is 1018");
    is(qmgr_pending(q), 995, "995 still held");
    is(qmgr_running(q), 5, "5 running");
    int gone = 0;
    for (uint64_t id = 1; id <= 1000; id++)
        if (qmgr_cancel(q, id) == 0)
            gone++;
    is(gone, 995, "every held job cancels");
    is(qmgr_pending(q), 0, "none pending");
    free(s.id);
    qmgr_destroy(q);
    graph_destroy(g);
}

/* Jobs whose slot in the queue became a hole: started, canceled, or moved
 * by an urgency change. */
static void test_holes(struct rspec *rs)
{
    struct graph *g = described("2 nodes x 2 sockets x 4 cores");
    struct qmgr *q = qmgr_create(g, MATCH_LOW, QMGR_FCFS);
    struct started s = {0};
    struct errmsg err;
    int bad = 0;
    for (uint64_t id = 1; id <= 100; id++)
        if (qmgr_submit(q, id, rs, QMGR_URGENCY_DEFAULT, 0, 60, &err) < 0)
            bad++;
    is(bad, 0, "100 jobs queued");
    for (uint64_t id = 2; id <= 100; id += 2)
        if (qmgr_cancel(q, id) < 0)
            bad++;
    is(bad, 0, "every even one canceled");
    is(qmgr_pending(q), 50, "50 pending");
    is(qmgr_cancel(q, 50), -ENOENT, "a canceled job cannot be canceled again");
    is(qmgr_set_urgency(q, 50, 20), -ENOENT, "nor change urgency");
    is(qmgr_submit(q, 50, rs, 20, 0, 60, &err), 0, "its id can be queued again (urgency 20)");
    is(qmgr_set_urgency(q, 51, 17), 0, "job 51 moved up to 17");
    is(qmgr_set_urgency(q, 51, 16), 0, "and back to 16: behind 1..49 again");
    is(qmgr_set_urgency(q, 99, 0), 0, "job 99 held");
    is(qmgr_set_urgency(q, 99, 16), 0, "and released");
    is(qmgr_cancel(q, 1), 0, "job 1 canceled");
    is(pass(q, &s), 16, "a fcfs pass starts 16");
    ok(s.n == 16 && s.id[0] == 50 && s.id[1] == 3 && s.id[15] == 31,
       "50 first, then 3, 5, ... 31");
    is(qmgr_last_pass_tried(q), 17, "and stops at the 17th");
    is(qmgr_cancel(q, 3), -ENOENT, "a started job's slot is a hole, the job runs");
    is(qmgr_set_urgency(q, 3, 1), -ENOENT, "and its urgency is fixed");
    is(qmgr_cancel(q, 33), 0, "the next one in line is canceled");
    is(qmgr_set_urgency(q, 97, 31), 0, "97 jumps the queue");
    for (uint64_t id = 3; id <= 31; id += 2)
        qmgr_release(q, id);
    qmgr_release(q, 50);
    is(pass(q, &s), 16, "with all free again, 16 start");
    ok(s.n == 16 && s.id[0] == 97 && s.id[1] == 35 && s.id[9] == 51 && s.id[15] == 63,
       "97, then 35, 37, ... 63 (51 in its old place)");
    is(qmgr_pending(q), 17, "17 left: 65..99 odd but 97");
    free(s.id);
    qmgr_destroy(q);
    graph_destroy(g);
}

/* A model of the queue: the jobs with their keys; the expected order is a
 * sort of the unheld queued ones, as qmgr has always kept them. */
struct mjob {
    uint64_t id;
    int urgency;
    double t_submit;
    uint64_t seq;
    int state;      /* 0 gone, 1 queued, 2 running */
};

static int mjob_cmp(const void *pa, const void *pb)
{
    const struct mjob *a = *(const struct mjob *const *)pa, *b = *(const struct mjob *const *)pb;
    if (a->urgency != b->urgency)
        return a->urgency > b->urgency ? -1 : 1;
    if (a->t_submit != b->t_submit)
        return a->t_submit < b->t_submit ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static uint64_t rng = 12345;

static uint32_t rnd(uint32_t n)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33) % n;
}

/* Many random submits, cancels, urgency changes, passes and releases; each
 * fcfs pass must start exactly the first free-cores' worth of the model's
 * order. */
static void test_order(struct rspec *rs)
{
    enum { NJOBS = 4000, CORES = 64, OPS = 40000 };
    struct graph *g = described("2 nodes x 2 sockets x 16 cores");
    struct qmgr *q = qmgr_create(g, MATCH_LOW, QMGR_FCFS);
    struct mjob *jobs = calloc(NJOBS, sizeof(*jobs));
    struct mjob **sorted = calloc(NJOBS, sizeof(*sorted));
    struct started s = {0};
    struct errmsg err;
    uint64_t seq = 0;
    size_t nrunning = 0, npassed = 0, nbad = 0, ncount = 0, nstarted = 0;
    double tnow = 0;
    for (int op = 0; op < OPS; op++) {
        uint32_t r = rnd(100);
        struct mjob *j = &jobs[rnd(NJOBS)];
        if (r < 35) {                           /* submit, usually sorting last */
            if (j->state != 0)
                continue;
            j->id = (uint64_t)(j - jobs) + 1;
            j->urgency = rnd(4) == 0 ? (int)rnd(QMGR_URGENCY_MAX + 1) : QMGR_URGENCY_DEFAULT;
            tnow += rnd(3);                     /* ties on submit time: seq decides */
            j->t_submit = rnd(10) == 0 ? tnow - rnd(100) : tnow;
            if (qmgr_submit(q, j->id, rs, j->urgency, j->t_submit, 3600, &err) < 0) {
                nbad++;
                continue;
            }
            j->seq = seq++;
            j->state = 1;
        } else if (r < 55) {                    /* cancel */
            int want = j->state == 1 ? 0 : -ENOENT;
            if (j->id && qmgr_cancel(q, j->id) != want)
                nbad++;
            if (j->state == 1)
                j->state = 0;
        } else if (r < 80) {                    /* urgency: hold, release, move */
            int u = rnd(3) == 0 ? QMGR_URGENCY_HOLD : (int)rnd(QMGR_URGENCY_MAX + 1);
            int want = j->state == 1 ? 0 : -ENOENT;
            if (j->id && qmgr_set_urgency(q, j->id, u) != want)
                nbad++;
            if (j->state == 1)
                j->urgency = u;
        } else if (r < 90) {                    /* release a running job */
            for (int k = 0; k < NJOBS && j->state != 2 && nrunning > 0; k++)
                j = &jobs[(j - jobs + 1) % NJOBS];
            int want = j->state == 2 ? 0 : -ENOENT;
            if (j->id && qmgr_release(q, j->id) != want)
                nbad++;
            if (j->state == 2) {
                j->state = 0;
                nrunning--;
            }
        } else {                                /* a fcfs pass */
            size_t n = 0;
            for (int i = 0; i < NJOBS; i++)
                if (jobs[i].state == 1 && jobs[i].urgency != QMGR_URGENCY_HOLD)
                    sorted[n++] = &jobs[i];
            qsort(sorted, n, sizeof(*sorted), mjob_cmp);
            size_t expect = CORES - nrunning < n ? CORES - nrunning : n;
            int got = pass(q, &s);
            bool same = (size_t)got == expect && s.n == expect;
            for (size_t i = 0; same && i < expect; i++)
                same = s.id[i] == sorted[i]->id;
            if (!same) {
                diag("pass %zu: started %d, expected %zu", npassed, got, expect);
                nbad++;
            }
            for (size_t i = 0; i < s.n; i++)
                jobs[s.id[i] - 1].state = 2;
            nrunning += s.n;
            nstarted += s.n;
            npassed++;
        }
        size_t queued = 0;
        for (int i = 0; i < NJOBS; i++)
            queued += jobs[i].state == 1;
        if (qmgr_pending(q) != queued || qmgr_running(q) != nrunning)
            ncount++;
    }
    diag("%zu passes started %zu jobs", npassed, nstarted);
    ok(npassed > 1000 && nstarted > 1000, "many passes started many jobs");
    is(nbad, 0, "every pass started the model's first jobs, every call returned as modeled");
    is(ncount, 0, "pending (held included) and running always matched the model");
    /* last: everything runs on a graph big enough, in the model's order */
    size_t n = 0;
    for (int i = 0; i < NJOBS; i++) {
        if (jobs[i].state == 2)
            qmgr_release(q, jobs[i].id);
        if (jobs[i].state == 1 && jobs[i].urgency == QMGR_URGENCY_HOLD) {
            qmgr_set_urgency(q, jobs[i].id, 1);
            jobs[i].urgency = 1;
        }
        if (jobs[i].state == 1)
            sorted[n++] = &jobs[i];
    }
    qsort(sorted, n, sizeof(*sorted), mjob_cmp);
    size_t expect = n < CORES ? n : CORES;
    pass(q, &s);
    bool same = s.n == expect;
    for (size_t i = 0; same && i < expect; i++)
        same = s.id[i] == sorted[i]->id;
    ok(same, "after releasing all holds, the first %zu of %zu start in the model's order",
       expect, n);
    free(s.id);
    free(sorted);
    free(jobs);
    qmgr_destroy(q);
    graph_destroy(g);
}

/* The job table grows well past its first 4096 buckets. */
static void test_many(struct rspec *rs)
{
    enum { N = 100000 };
    struct graph *g = described("1 node x 2 sockets x 4 cores");
    struct qmgr *q = qmgr_create(g, MATCH_LOW, QMGR_EASY);
    struct started s = {0};
    struct errmsg err;
    int bad = 0;
    /* ids spread like FLUIDs: a timestamp above a counter */
#define MANY_ID(i) (((uint64_t)(i) << 22) | 5u)
    for (int i = 0; i < N; i++) {
        int u = i % 2 ? QMGR_URGENCY_HOLD : QMGR_URGENCY_DEFAULT;
        if (qmgr_submit(q, MANY_ID(i), rs, u, i, 60, &err) < 0)
            bad++;
    }
    is(bad, 0, "100,000 jobs submitted, half of them held");
    is(qmgr_pending(q), N, "all pending");
    for (int i = 0; i < N; i++) {
        int u = i % 2 ? QMGR_URGENCY_HOLD : QMGR_URGENCY_DEFAULT;
        if (qmgr_set_urgency(q, MANY_ID(i), u) != 0)
            bad++;
    }
    is(bad, 0, "every one is found (an unchanged urgency)");
    for (int i = 0; i < N; i += 1000)
        if (qmgr_submit(q, MANY_ID(i), rs, 16, 0, 60, &err) != -EEXIST)
            bad++;
    is(bad, 0, "and is a duplicate");
    is(qmgr_cancel(q, MANY_ID(N)), -ENOENT, "an id never queued is not found");
    is(pass(q, &s), 8, "a pass starts 8 on 8 cores");
    ok(s.n == 8 && s.id[0] == MANY_ID(0) && s.id[7] == MANY_ID(14), "the first 8 unheld");
    is(qmgr_last_pass_tried(q), 9, "it looks at 9 of the 50,000 unheld: the 8 and the first like them");
    for (int i = 0; i < N; i++) {
        int want = (i % 2 == 0 && i < 16) ? -ENOENT : 0;
        if (qmgr_cancel(q, MANY_ID(i)) != want)
            bad++;
    }
    is(bad, 0, "every queued one cancels, the 8 running do not");
    is(qmgr_pending(q), 0, "none pending");
    for (int i = 0; i < N; i += 7)
        if (qmgr_cancel(q, MANY_ID(i)) != -ENOENT || qmgr_set_urgency(q, MANY_ID(i), 3) != -ENOENT)
            bad++;
    is(bad, 0, "canceled ones are gone");
    for (int i = 0; i < 16; i += 2)
        if (qmgr_release(q, MANY_ID(i)) != 0)
            bad++;
    is(bad, 0, "the 8 running release");
    is(qmgr_running(q), 0, "none running");
    free(s.id);
    qmgr_destroy(q);
    graph_destroy(g);
}

static int64_t by_id_desc(void *arg, uint64_t id)
{
    (void)arg;
    return (int64_t)id;   /* the later the job, the higher */
}

/* The broker's multi-factor priority orders the queue; a stopped queue's
 * jobs neither start nor block the rest. */
static void test_priority(struct rspec *rs)
{
    struct graph *g = described("1 nodes x 1 sockets x 2 cores");
    struct qmgr *q = qmgr_create(g, MATCH_LOW, QMGR_FCFS);
    struct started s = {0};
    struct errmsg err;
    for (uint64_t id = 1; id <= 6; id++)
        qmgr_submit(q, id, rs, QMGR_URGENCY_DEFAULT, (double)id, 60, &err);
    is(qmgr_set_priority(q, 5, 1000000), 0, "job 5 gets priority 1,000,000");
    is(qmgr_set_priority(q, 99, 1), -ENOENT, "an unknown job has none");
    is(pass(q, &s), 2, "a pass on 2 cores starts 2");
    ok(s.n == 2 && s.id[0] == 5 && s.id[1] == 1, "job 5 first, then 1 (priority 16 = urgency, oldest)");
    is(qmgr_set_priority(q, 5, 1), -ENOENT, "a running job's priority is not the queue's");
    qmgr_release(q, 5);
    qmgr_release(q, 1);
    qmgr_reprioritize(q, by_id_desc, NULL);
    is(pass(q, &s), 2, "after a reprioritize by id, two start");
    ok(s.n == 2 && s.id[0] == 6 && s.id[1] == 4, "6 and 4: 5 and 1 are gone, 6 is highest");
    qmgr_release(q, 6);
    qmgr_release(q, 4);
    /* queue 1 stopped: job 3 there waits, job 2 (queue 0) runs past it */
    is(qmgr_set_queue(q, 3, 1), 0, "job 3 is in queue 1");
    is(qmgr_set_queue(q, 3, QMGR_QUEUES_MAX), -EINVAL, "queue %d does not exist", QMGR_QUEUES_MAX);
    qmgr_queue_stop(q, 1, true);
    is(pass(q, &s), 1, "queue 1 stopped: one job starts");
    ok(s.n == 1 && s.id[0] == 2, "job 2, past the higher job 3 of the stopped queue");
    is(qmgr_pending(q), 1, "job 3 stays queued");
    is(pass(q, &s), 0, "and never starts while its queue is stopped");
    qmgr_queue_stop(q, 1, false);
    is(pass(q, &s), 1, "started again, it runs");
    ok(s.n == 1 && s.id[0] == 3, "job 3");
    /* a held job keeps a priority given while held */
    qmgr_submit(q, 7, rs, QMGR_URGENCY_HOLD, 7, 60, &err);
    qmgr_submit(q, 8, rs, QMGR_URGENCY_DEFAULT, 8, 60, &err);
    qmgr_release(q, 2);
    qmgr_release(q, 3);
    is(qmgr_set_priority(q, 7, 500), 0, "a held job takes a priority");
    is(qmgr_set_urgency(q, 7, 16), 0, "and is released");
    is(pass(q, &s), 2, "both start");
    ok(s.n == 2 && s.id[0] == 7 && s.id[1] == 8, "7 (priority 500) before 8 (16)");
    free(s.id);
    qmgr_destroy(q);
    graph_destroy(g);
}

/* A run of like jobs (same request, duration and queue) is passed over at
 * once when nothing is left to do for its first; a job unlike them after
 * it, or put where a run had been remembered, is still looked at. */
static void test_runs(struct rspec *rs)
{
    struct graph *g = described("1 node x 2 sockets x 4 cores");
    struct qmgr *q = qmgr_create(g, MATCH_LOW, QMGR_EASY);
    struct started s = {0};
    struct errmsg err;
    int bad = 0;
    for (uint64_t id = 1; id <= 2009; id++)
        if (qmgr_submit(q, id, rs, QMGR_URGENCY_DEFAULT, (double)id, id == 1009 ? 30 : 60, &err) < 0)
            bad++;
    is(bad, 0, "2,009 one-core jobs: 1,008 of 60 s, one of 30 s, 1,000 of 60 s");
    is(pass(q, &s), 8, "a pass starts 8 on 8 cores");
    is(qmgr_last_pass_tried(q), 11, "looking at 11: the 8, the first of each run, the unlike one");
    ok(qmgr_lookup(q, 9) && qmgr_lookup(q, 9)->reserved, "the first that did not fit has the reservation");
    is(pass(q, &s), 0, "a pass with nothing freed starts none");
    is(qmgr_last_pass_tried(q), 3, "and looks at 3");
    qmgr_release(q, 1);
    is(pass(q, &s), 1, "one core freed: one starts");
    ok(s.n == 1 && s.id[0] == 9, "job 9, the first in line");
    is(qmgr_last_pass_tried(q), 4, "looking at 4");
    /* the queue's end is trimmed back into the remembered run, and a job
     * unlike it is put where the run had been */
    for (uint64_t id = 2009; id >= 600; id--)   /* from the end: no hole, no compaction */
        if (qmgr_cancel(q, id) < 0)
            bad++;
    is(bad, 0, "jobs 2009 down to 600 canceled: the queue ends at 599");
    is(qmgr_submit(q, 3000, rs, QMGR_URGENCY_DEFAULT, 3000, 10, &err), 0, "a 10 s job queued after it");
    is(pass(q, &s), 0, "nothing freed: none starts");
    is(qmgr_last_pass_tried(q), 2, "the 10 s job is looked at, not skipped with the run");
    qmgr_release(q, 2);
    is(pass(q, &s), 1, "one core freed: one starts");
    ok(s.n == 1 && s.id[0] == 10, "job 10");
    free(s.id);
    qmgr_destroy(q);
    graph_destroy(g);
}

int main(void)
{
    struct rspec *rs = core_job();
    ok(rs != NULL, "a one-core jobspec parses");
    test_basics(rs);
    test_held(rs);
    test_holes(rs);
    test_order(rs);
    test_many(rs);
    test_priority(rs);
    test_runs(rs);
    rspec_destroy(rs);
    return done_testing();
}
