/* bench-match [-p POLICY] [-n N] [-j JOBS] [-H HELD] [-q] [-s lmqb] - the graph
 * matcher and the queue on synthetic clusters built by gdesc_parse() from
 * "R racks x 32 nodes x (2 sockets x 18 cores) + 2 gpus" (the gpus beside
 * the sockets in every node). Prints one table:
 *   1. graph load time and memory (each size in a fresh child process);
 *   2. time per match_job() for node, core and gpu jobs on an idle and on a
 *      busy graph (half the nodes running long jobs, 1,000 reservations);
 *   3. qmgr_schedule() throughput: 10,000 queued jobs under EASY backfill,
 *      simulated to completion in virtual time;
 *   b. (only if asked) qmgr bookkeeping at 100,000 jobs on 1,024 nodes:
 *      held submits, lookups and cancels, and a deep one-core queue behind
 *      12,000 held jobs (submit, the pass that starts 36,864, cancel).
 * -q: the 1,024-node graph only; -s: the parts to run (default "lmq": load,
 * match, queue; add "b" for bookkeeping); -n: samples per match row; -j:
 * jobs in the queue; -H: held jobs queued beside them.
 * Not part of the test suite: figures depend on the machine and its load. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/rspec.h"
#include "sched/gdesc.h"
#include "sched/graph.h"
#include "sched/match.h"
#include "sched/qmgr.h"

#define RACK_NODES 32
#define HOUR 3600

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* splitmix64: the same sequence on every libc */
static uint64_t rng_state = 42;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [lo, hi] */
static int64_t rng_range(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_next() % (uint64_t)(hi - lo + 1));
}

/* kB of a /proc/self/status field, or -1 */
static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t len = strlen(field);
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, field, len) && line[len] == ':')
            kb = atol(line + len + 1);
    fclose(f);
    return kb;
}

/* ---- the synthetic graph ---- */

static int build_graph(int nnodes, struct graph **out)
{
    char desc[128];
    struct errmsg err = {""};
    snprintf(desc, sizeof(desc), "%d racks x %d nodes x (2 sockets x 18 cores) + 2 gpus",
             nnodes / RACK_NODES, RACK_NODES);
    int rc = gdesc_parse(desc, out, &err);
    if (rc < 0)
        fprintf(stderr, "bench-match: graph '%s': %s\n", desc, err.text);
    return rc;
}

/* ---- requests ---- */

enum kind { K_NODE, K_CORE, K_GPU, K_NODE8, K_NKINDS };

static const char *kind_name[] = {
    [K_NODE] = "node", [K_CORE] = "core", [K_GPU] = "gpu", [K_NODE8] = "8-node",
};

#define TASKS "tasks: [{command: [app], slot: s, count: {per_slot: 1}}]\n" \
              "attributes: {system: {}}\n"

static struct rspec *spec(const char *yaml)
{
    struct rspec *rs = NULL;
    struct errmsg err = {""};
    if (rspec_parse(yaml, strlen(yaml), &rs, &err) < 0) {
        fprintf(stderr, "bench-match: jobspec: %s\n", err.text);
        exit(1);
    }
    return rs;
}

static struct rspec *node_spec(int nnodes)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "version: 9999\nresources:\n"
             "- {type: node, count: %d, exclusive: true, with: [{type: slot, count: 1,"
             " label: s, with: [{type: socket, count: 2, with: [{type: core, count: 18}]}]}]}\n"
             TASKS, nnodes);
    return spec(buf);
}

static struct rspec *kind_spec(enum kind k)
{
    switch (k) {
    case K_NODE:
        return node_spec(1);
    case K_NODE8:
        return node_spec(8);
    case K_CORE:
        return spec("version: 9999\nresources:\n"
                    "- {type: slot, count: 1, label: s, with: [{type: core, count: 1}]}\n"
                    TASKS);
    default:
        return spec("version: 9999\nresources:\n"
                    "- {type: slot, count: 1, label: s, with: [{type: core, count: 1},"
                    " {type: gpu, count: 1}]}\n" TASKS);
    }
}

/* ---- samples ---- */

struct samples {
    double *t;
    int n, max;
    int fail;
};

static void sample_add(struct samples *s, double t)
{
    if (s->n == s->max) {
        s->max = s->max ? 2 * s->max : 1024;
        if (!(s->t = realloc(s->t, s->max * sizeof(*s->t)))) {
            perror("bench-match");
            exit(1);
        }
    }
    s->t[s->n++] = t;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double sample_mean(const struct samples *s)
{
    double sum = 0;
    for (int i = 0; i < s->n; i++)
        sum += s->t[i];
    return s->n ? sum / s->n : 0;
}

/* Sorts the samples. */
static double sample_pct(struct samples *s, double p)
{
    if (s->n == 0)
        return 0;
    qsort(s->t, s->n, sizeof(*s->t), dbl_cmp);
    int i = (int)ceil(p / 100. * s->n) - 1;
    return s->t[i < 0 ? 0 : i];
}

static void sample_release(struct samples *s)
{
    free(s->t);
    memset(s, 0, sizeof(*s));
}

static void row(int nnodes, const char *state, const char *kind, const char *op,
                struct samples *s)
{
    double mean = sample_mean(s);
    double p50 = sample_pct(s, 50), p99 = sample_pct(s, 99), max = sample_pct(s, 100);
    printf("%6d  %-5s %-6s %-16s %6d %5d %10.1f %10.1f %10.1f %10.1f\n", nnodes, state,
           kind, op, s->n, s->fail, mean * 1e6, p50 * 1e6, p99 * 1e6, max * 1e6);
    fflush(stdout);
}

/* ---- 1. load ---- */

static void load_one(int nnodes)
{
    long rss0 = status_kb("VmRSS"), anon0 = status_kb("RssAnon");
    double t0 = now_s();
    struct graph *g = NULL;
    if (build_graph(nnodes, &g) < 0)
        exit(1);
    double t1 = now_s();
    long rss1 = status_kb("VmRSS"), anon1 = status_kb("RssAnon");
    struct matcher *m = match_create(g, MATCH_LOW);
    double t2 = now_s();
    long rss2 = status_kb("VmRSS"), anon2 = status_kb("RssAnon");
    if (!m)
        exit(1);
    printf("%6d %9d %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f\n", nnodes,
           graph_nvertices(g), (t1 - t0) * 1e3, (rss1 - rss0) / 1024., (anon1 - anon0) / 1024.,
           (t2 - t1) * 1e3, (rss2 - rss1) / 1024., (anon2 - anon1) / 1024.);
    match_destroy(m);
    graph_destroy(g);
}

static void bench_load(const int *sizes, int nsizes)
{
    printf("\n== graph load: cluster > rack(32 nodes) > node > 2 sockets x 18 cores + 2 gpus\n"
           "   (each size in a fresh process; memory = VmRSS / RssAnon delta)\n");
    printf("%6s %9s %10s %10s %10s %10s %10s %10s\n", "nodes", "vertices", "build ms",
           "graph MB", "anon MB", "matcher ms", "match MB", "anon MB");
    for (int i = 0; i < nsizes; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("bench-match: fork");
            exit(1);
        }
        if (pid == 0) {
            load_one(sizes[i]);
            fflush(stdout);
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            exit(1);
    }
}

/* ---- 2. match ---- */

static uint64_t next_id = 1;

/* At most iters samples; stop early after max_s seconds once min are taken. */
static void time_cycle(struct matcher *m, const struct rspec *rs, enum match_op op,
                       int64_t duration, int iters, int min, double max_s,
                       struct samples *s)
{
    double start = now_s();
    for (int i = 0; i < iters; i++) {
        uint64_t id = next_id++;
        struct errmsg err;
        double t0 = now_s();
        int rc = match_job(m, rs, id, op, 0, duration, NULL, &err);
        double t1 = now_s();
        sample_add(s, t1 - t0);
        if (rc < 0)
            s->fail++;
        else
            match_cancel(m, id);
        if (i + 1 >= min && t1 - start > max_s)
            break;
    }
}

/* Allocate and keep: each match sees the previous ones. */
static void time_fill(struct matcher *m, const struct rspec *rs, int count,
                      int64_t duration, struct samples *s)
{
    uint64_t first = next_id;
    for (int i = 0; i < count; i++) {
        struct errmsg err;
        double t0 = now_s();
        int rc = match_job(m, rs, next_id++, MATCH_ALLOCATE, 0, duration, NULL, &err);
        sample_add(s, now_s() - t0);
        if (rc < 0)
            s->fail++;
    }
    for (uint64_t id = first; id < next_id; id++)
        match_cancel(m, id);
}

/* Half the nodes run long jobs (4-24 h, 1 node each). While one unlimited
 * job holds the other half, 1,000 jobs (40% 1-node, 30% 4-node, 30% 1-core,
 * 1-8 h) are reserved behind the running ones (timed: the busy-graph
 * reserve row); then the blocker ends, leaving half the nodes free now. */
static int make_busy(int nnodes, struct matcher *m, struct samples *rsv)
{
    struct rspec *one = node_spec(1), *four = node_spec(4), *core = kind_spec(K_CORE);
    struct rspec *half = node_spec(nnodes / 2);
    struct errmsg err;
    int running = 0;
    for (int i = 0; i < nnodes / 2; i++) {
        if (match_job(m, one, next_id++, MATCH_ALLOCATE, 0, rng_range(4 * HOUR, 24 * HOUR),
                      NULL, &err) < 0) {
            fprintf(stderr, "bench-match: busy: %s\n", err.text);
            exit(1);
        }
        running++;
    }
    uint64_t blocker = next_id++;
    if (match_job(m, half, blocker, MATCH_ALLOCATE, 0, 0, NULL, &err) < 0) {
        fprintf(stderr, "bench-match: blocker: %s\n", err.text);
        exit(1);
    }
    for (int i = 0; i < 1000; i++) {
        int r = (int)rng_range(0, 9);
        const struct rspec *rs = r < 4 ? one : r < 7 ? four : core;
        const struct match_alloc *a = NULL;
        double t0 = now_s();
        int rc = match_job(m, rs, next_id++, MATCH_ALLOCATE_ORELSE_RESERVE, 0,
                           rng_range(HOUR, 8 * HOUR), &a, &err);
        sample_add(rsv, now_s() - t0);
        if (rc < 0 || !a->reserved)
            rsv->fail++;
    }
    match_cancel(m, blocker);
    rspec_destroy(one);
    rspec_destroy(four);
    rspec_destroy(core);
    rspec_destroy(half);
    return running;
}

static void bench_match(const int *sizes, int nsizes, enum match_policy policy, int iters)
{
    printf("\n== match_job(), policy %s, duration 1 h, times in microseconds\n"
           "   cycle: MATCH_ALLOCATE then match_cancel (cancel not timed), %d times\n"
           "   fill: allocate and keep 500 jobs; busy: half of the nodes run 4-24 h\n"
           "   1-node jobs, and 1,000 jobs are reserved behind them\n",
           match_policy_name(policy), iters);
    printf("%6s  %-5s %-6s %-16s %6s %5s %10s %10s %10s %10s\n", "nodes", "graph", "job",
           "op", "n", "fail", "mean", "p50", "p99", "max");
    struct rspec *rs[K_NKINDS];
    for (int k = 0; k < K_NKINDS; k++)
        rs[k] = kind_spec(k);
    for (int i = 0; i < nsizes; i++) {
        struct graph *g = NULL;
        if (build_graph(sizes[i], &g) < 0)
            exit(1);
        struct matcher *m = match_create(g, policy);
        if (!m)
            exit(1);
        for (int busy = 0; busy <= 1; busy++) {
            const char *state = busy ? "busy" : "idle";
            if (busy) {
                struct samples rsv = {0};
                double t0 = now_s();
                int running = make_busy(sizes[i], m, &rsv);
                printf("# %d nodes: %d running 1-node jobs, %zu allocations in all,"
                       " made in %.1f s\n", sizes[i], running, match_njobs(m), now_s() - t0);
                row(sizes[i], state, "mixed", "reserve(half)", &rsv);
                sample_release(&rsv);
            }
            for (int k = K_NODE; k <= K_GPU; k++) {
                struct samples s = {0};
                time_cycle(m, rs[k], MATCH_ALLOCATE, HOUR, iters, 10, 20, &s);
                row(sizes[i], state, kind_name[k], "alloc+cancel", &s);
                sample_release(&s);
                time_fill(m, rs[k], 500, HOUR, &s);
                row(sizes[i], state, kind_name[k], "fill 500", &s);
                sample_release(&s);
                if (busy) {
                    time_cycle(m, rs[k], MATCH_ALLOCATE_ORELSE_RESERVE, HOUR, iters, 10, 20,
                               &s);
                    row(sizes[i], state, kind_name[k], "orelse_reserve", &s);
                    sample_release(&s);
                }
            }
            if (busy) {
                /* More nodes than are free now: a reservation is the only answer,
                 * searched over the end times of every allocation. */
                int wide = sizes[i] / 2 + RACK_NODES;
                struct rspec *w = node_spec(wide);
                struct samples s = {0};
                time_cycle(m, w, MATCH_ALLOCATE_ORELSE_RESERVE, HOUR, 10, 3, 60, &s);
                char kind[32];
                snprintf(kind, sizeof(kind), "%dn", wide);
                row(sizes[i], state, kind, "reserve(wide)", &s);
                sample_release(&s);
                rspec_destroy(w);
            }
        }
        match_destroy(m);
        graph_destroy(g);
    }
    for (int k = 0; k < K_NKINDS; k++)
        rspec_destroy(rs[k]);
}

/* ---- 3. queue throughput ---- */

struct ev {
    int64_t t;
    uint64_t id;
};

struct heap {
    struct ev *e;
    size_t n, max;
};

static void heap_push(struct heap *h, struct ev e)
{
    if (h->n == h->max) {
        h->max = h->max ? 2 * h->max : 1024;
        if (!(h->e = realloc(h->e, h->max * sizeof(*h->e)))) {
            perror("bench-match");
            exit(1);
        }
    }
    size_t i = h->n++;
    while (i > 0 && h->e[(i - 1) / 2].t > e.t) {
        h->e[i] = h->e[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->e[i] = e;
}

static struct ev heap_pop(struct heap *h)
{
    struct ev top = h->e[0], last = h->e[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->e[c + 1].t < h->e[c].t)
            c++;
        if (last.t <= h->e[c].t)
            break;
        h->e[i] = h->e[c];
        i = c;
    }
    if (h->n)
        h->e[i] = last;
    return top;
}

struct sim {
    struct heap ends;
    int64_t now;
    int64_t *dur;       /* by job id */
};

static void on_alloc(void *arg, uint64_t id, const struct match_alloc *a)
{
    struct sim *s = arg;
    (void)a;
    heap_push(&s->ends, (struct ev){s->now + s->dur[id], id});
}

static void bench_queue(int nnodes, int njobs, int nheld, enum match_policy policy)
{
    struct graph *g = NULL;
    if (build_graph(nnodes, &g) < 0)
        exit(1);
    struct qmgr *q = qmgr_create(g, policy, QMGR_EASY);
    struct rspec *rs[K_NKINDS];
    for (int k = 0; k < K_NKINDS; k++)
        rs[k] = kind_spec(k);
    struct sim s = {.dur = calloc(njobs + 1, sizeof(int64_t))};
    int count[K_NKINDS] = {0};
    if (!q || !s.dur)
        exit(1);
    rng_state = 7;
    double t0 = now_s();
    for (int id = 1; id <= njobs; id++) {
        int r = (int)rng_range(0, 9);
        enum kind k = r < 7 ? K_CORE : r < 9 ? K_NODE : K_NODE8;
        struct errmsg err;
        count[k]++;
        s.dur[id] = rng_range(60, 3600);
        if (qmgr_submit(q, (uint64_t)id, rs[k], QMGR_URGENCY_DEFAULT, 0, (double)s.dur[id],
                        &err) < 0) {
            fprintf(stderr, "bench-match: submit: %s\n", err.text);
            exit(1);
        }
    }
    for (int i = 1; i <= nheld; i++) {      /* held all along: never placed */
        struct errmsg err;
        if (qmgr_submit(q, (uint64_t)(njobs + i), rs[K_CORE], QMGR_URGENCY_HOLD, 0, HOUR,
                        &err) < 0) {
            fprintf(stderr, "bench-match: submit: %s\n", err.text);
            exit(1);
        }
    }
    double t_submit = now_s() - t0;
    struct samples calls = {0};
    double t_release = 0, first = 0;
    int placed = 0, firstn = 0;
    while (qmgr_pending(q) > 0 || s.ends.n > 0) {
        double a = now_s();
        int n = qmgr_schedule(q, (double)s.now, on_alloc, &s);
        double b = now_s();
        sample_add(&calls, b - a);
        if (calls.n == 1) {
            first = b - a;
            firstn = n;
        }
        placed += n;
        if (s.ends.n == 0)
            break;      /* nothing runs and nothing fits: stuck */
        /* the next end time; release everything that ends then */
        s.now = s.ends.e[0].t;
        a = now_s();
        while (s.ends.n > 0 && s.ends.e[0].t == s.now)
            qmgr_release(q, heap_pop(&s.ends).id);
        t_release += now_s() - a;
    }
    double wall = now_s() - t0, sched = sample_mean(&calls) * calls.n;
    printf("%6d %6d %6d/%d/%d %8d %9.1f %8.2f %8.2f %9.0f %9.2f %9.2f %8.0f %9.1f\n", nnodes,
           njobs, count[K_CORE], count[K_NODE], count[K_NODE8], placed, (double)s.now / HOUR,
           wall, sched, placed / sched, sample_mean(&calls) * 1e3, sample_pct(&calls, 99) * 1e3,
           calls.n > 0 ? (double)calls.n : 0, first * 1e3);
    printf("#   %d jobs placed by the first pass in %.1f ms; submit %.2f s,"
           " release %.2f s; %zu left pending\n", firstn, first * 1e3, t_submit, t_release,
           qmgr_pending(q));
    fflush(stdout);
    sample_release(&calls);
    free(s.ends.e);
    free(s.dur);
    qmgr_destroy(q);
    for (int k = 0; k < K_NKINDS; k++)
        rspec_destroy(rs[k]);
    graph_destroy(g);
}

/* ---- the queue's bookkeeping at 100,000 jobs ---- */

static void noop_alloc(void *arg, uint64_t id, const struct match_alloc *a)
{
    (void)a;
    ((uint64_t *)arg)[0]++;
    ((uint64_t *)arg)[1] = id;
}

static void brow(const char *what, int n, double s)
{
    printf(" %-44s %7d %9.3f %9.2f\n", what, n, s, n > 0 ? s / n * 1e6 : 0.0);
}

/* Held submissions and cancels, lookups, and a deep queue of one-core jobs
 * behind held ones: what the broker does with 10,000-100,000 queued jobs. */
static void bench_bookkeeping(int nnodes, int njobs, int nheld, enum match_policy policy)
{
    struct graph *g = NULL;
    if (build_graph(nnodes, &g) < 0)
        exit(1);
    struct qmgr *q = qmgr_create(g, policy, QMGR_EASY);
    struct rspec *rs = kind_spec(K_CORE);
    struct errmsg err;
    uint64_t got[2] = {0, 0};
    if (!q)
        exit(1);
    printf("\n== qmgr bookkeeping: %d nodes, EASY, policy %s, one-core jobs of 1 h\n",
           nnodes, match_policy_name(policy));
    printf(" %-44s %7s %9s %9s\n", "operation", "n", "s", "us/op");
    double a = now_s();
    for (int id = 1; id <= njobs; id++)
        if (qmgr_submit(q, (uint64_t)id, rs, QMGR_URGENCY_HOLD, id, HOUR, &err) < 0)
            exit(1);
    brow("submit held (urgency 0)", njobs, now_s() - a);
    a = now_s();
    for (int id = 1; id <= njobs; id++)
        if (qmgr_set_urgency(q, (uint64_t)id, QMGR_URGENCY_HOLD) < 0)
            exit(1);
    brow("set_urgency unchanged (a lookup)", njobs, now_s() - a);
    a = now_s();
    for (int id = 1; id <= njobs; id++)
        if (qmgr_cancel(q, (uint64_t)id) < 0)
            exit(1);
    brow("cancel held", njobs, now_s() - a);

    uint64_t id = (uint64_t)njobs + 1;
    for (int i = 0; i < nheld; i++, id++)
        if (qmgr_submit(q, id, rs, QMGR_URGENCY_HOLD, (double)id, HOUR, &err) < 0)
            exit(1);
    uint64_t first = id;
    char what[96];
    snprintf(what, sizeof(what), "submit urgency 16 behind %d held", nheld);
    a = now_s();
    for (int i = 0; i < njobs; i++, id++)
        if (qmgr_submit(q, id, rs, QMGR_URGENCY_DEFAULT, (double)id, HOUR, &err) < 0)
            exit(1);
    brow(what, njobs, now_s() - a);
    a = now_s();
    int n = qmgr_schedule(q, 0, noop_alloc, got);
    brow("first pass (jobs started)", n, now_s() - a);
    a = now_s();
    int n2 = qmgr_schedule(q, 1, noop_alloc, got);
    snprintf(what, sizeof(what), "second pass, nothing fits (%zu queued)", qmgr_pending(q));
    brow(what, 1, now_s() - a);
    (void)n2;
    a = now_s();
    int nc = 0;
    for (uint64_t k = first; k < id; k++)
        if (qmgr_cancel(q, k) == 0)
            nc++;
    brow("cancel the rest, in submit order", nc, now_s() - a);
    a = now_s();
    int nr = 0;
    for (uint64_t k = first; k < id; k++)
        if (qmgr_release(q, k) == 0)
            nr++;
    brow("release the started, in submit order", nr, now_s() - a);
    printf("#   %zu held left queued, %zu running\n", qmgr_pending(q), qmgr_running(q));
    qmgr_destroy(q);
    rspec_destroy(rs);
    graph_destroy(g);
}

int main(int argc, char **argv)
{
    int sizes[] = {1024, 16384}, nsizes = 2, iters = 1000, opt, njobs = 10000, nheld = 0;
    const char *parts = "lmq";
    enum match_policy policy = MATCH_LOW;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt(argc, argv, "p:n:j:H:qs:")) != -1) {
        switch (opt) {
        case 'p': {
            int p = match_policy_parse(optarg);
            if (p < 0) {
                fprintf(stderr, "bench-match: unknown policy '%s'\n", optarg);
                return 2;
            }
            policy = (enum match_policy)p;
            break;
        }
        case 'n':
            iters = atoi(optarg);
            break;
        case 'j':
            njobs = atoi(optarg);
            break;
        case 'H':
            nheld = atoi(optarg);
            break;
        case 'q':
            nsizes = 1;
            break;
        case 's':
            parts = optarg;
            break;
        default:
            fprintf(stderr, "usage: bench-match [-p policy] [-n iters] [-j jobs] [-H held] [-q]"
                    " [-s lmqb]\n");
            return 2;
        }
    }
    if (strchr(parts, 'l'))
        bench_load(sizes, nsizes);
    if (strchr(parts, 'm'))
        bench_match(sizes, nsizes, policy, iters);
    if (strchr(parts, 'b'))
        bench_bookkeeping(sizes[0], 100000, 12000, policy);
    if (!strchr(parts, 'q'))
        return 0;
    printf("\n== qmgr_schedule() throughput: %d jobs queued at t=0, EASY backfill, policy %s\n"
           "   70%% 1-core, 20%% 1-node, 10%% 8-node (exclusive nodes), durations uniform"
           " 60-3600 s\n   (seed 7), each runs its full duration; virtual clock jumps to"
           " the next end\n", njobs, match_policy_name(policy));
    if (nheld > 0)
        printf("   and %d one-core jobs held (urgency 0) in the queue throughout\n", nheld);
    printf("%6s %6s %13s %8s %9s %8s %8s %9s %9s %9s %8s %9s\n", "nodes", "jobs",
           "core/node/8n", "placed", "span h", "wall s", "sched s", "jobs/s", "mean ms",
           "p99 ms", "calls", "first ms");
    for (int i = 0; i < nsizes; i++)
        bench_queue(sizes[i], njobs, nheld, policy);
    return 0;
}
