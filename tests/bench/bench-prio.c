/* bench-prio [-j JOBS] [-u USERS] [-n PASSES] - the scheduler pass with
 * multi-factor priority and fair share (issue 18): JOBS (10,000) pending
 * jobs of USERS (100) users in 4 named queues, each queue on its own
 * quarter of a 128-node x 32-core graph (an RFC 31 hostlist constraint),
 * behind a full machine. Each pass frees 16 running jobs and then does
 * what the broker does every priority interval and after: with fair share
 * off, reprioritize (weights, urgency, queue, age) and schedule; with it on,
 * also recompute the Fair Tree (4 banks of USERS/4 users, random usage)
 * first. Prints one table: per-pass time (median and mean), and the parts.
 * Not part of the test suite: figures depend on the machine and its load. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/rspec.h"
#include "fsd/priority.h"
#include "sched/fairshare.h"
#include "sched/gdesc.h"
#include "sched/graph.h"
#include "sched/qmgr.h"

#define NQUEUES 4
#define NODES 128

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 7;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

struct bjob {
    uid_t uid;
    int queue;              /* 1..NQUEUES */
    int urgency;
    double t_submit;
    bool running;
};

struct bench {
    struct bjob *jobs;
    int njobs;
    struct priority *prio;
    bool fairshare;
    double now;
};

static const char *bank_of(int uid)
{
    static const char *banks[NQUEUES] = { "chem", "phys", "bio", "cs" };
    return banks[uid % NQUEUES];
}

static int64_t prio_cb(void *arg, uint64_t id)
{
    struct bench *b = arg;
    const struct bjob *j = &b->jobs[id - 1];
    return priority_of(b->prio, j->uid, b->fairshare ? bank_of((int)j->uid) : NULL,
                       j->urgency, j->queue, j->t_submit, b->now, NULL);
}

static struct rspec *spec(int cores, int queue)
{
    char text[512];
    int lo = (queue - 1) * (NODES / NQUEUES), hi = lo + NODES / NQUEUES - 1;
    snprintf(text, sizeof(text),
             "version: 9999\nresources:\n"
             "- {type: slot, count: 1, label: s, with: [{type: core, count: %d}]}\n"
             "tasks: [{command: [app], slot: s, count: {per_slot: 1}}]\n"
             "attributes: {system: {duration: 3600, constraints: "
             "{hostlist: [\"node[%d-%d]\"]}}}\n", cores, lo, hi);
    struct rspec *rs = NULL;
    struct errmsg err = { "" };
    if (rspec_parse(text, strlen(text), &rs, &err) < 0)
        fprintf(stderr, "bench-prio: %s\n", err.text);
    return rs;
}

struct started {
    struct bench *b;
    int n;
};

static void on_alloc(void *arg, uint64_t id, const struct match_alloc *a)
{
    struct started *s = arg;
    s->b->jobs[id - 1].running = true;
    s->n++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One mode: fair share on or off. Fills the table's row. */
static int run(bool fairshare, int njobs, int nusers, int passes, double out[4])
{
    struct graph *g = NULL;
    struct errmsg err = { "" };
    char desc[64];
    snprintf(desc, sizeof(desc), "%d nodes x 2 sockets x 16 cores", NODES);
    if (gdesc_parse(desc, &g, &err) < 0) {
        fprintf(stderr, "bench-prio: %s\n", err.text);
        return -1;
    }
    struct qmgr *q = qmgr_create(g, MATCH_LOW, QMGR_EASY);
    struct priority_config pc;
    priority_config_parse(NULL, &pc, &err);
    struct bench b = { .njobs = njobs, .prio = priority_create(&pc), .fairshare = fairshare,
                       .now = 1000000 };
    struct rspec *specs[NQUEUES][4];
    for (int qi = 0; qi < NQUEUES; qi++)
        for (int c = 0; c < 4; c++)
            specs[qi][c] = spec(1 << c, qi + 1);
    /* the bank tree: root > 4 banks > users/4 users each, random usage */
    struct fairshare *fs = priority_fairshare(b.prio);
    if (fairshare) {
        json_t *tree = json_pack("[{s:s}]", "name", "root");
        for (int k = 0; k < NQUEUES; k++) {
            json_t *users = json_object();
            for (int u = k; u < nusers; u += NQUEUES) {
                char key[16];
                snprintf(key, sizeof(key), "%d", 1000 + u);
                json_object_set_new(users, key, json_integer(1 + (int)(rng_next() % 100)));
            }
            json_array_append_new(tree, json_pack("{s:s s:s s:i s:o}", "name",
                                                  bank_of(1000 + k), "parent", "root",
                                                  "shares", 1 + k, "users", users));
        }
        if (fairshare_set_tree(fs, tree, &err) < 0)
            fprintf(stderr, "bench-prio: %s\n", err.text);
        json_decref(tree);
        for (int u = 0; u < nusers; u++)
            fairshare_charge(fs, (uid_t)(1000 + u), bank_of(1000 + u),
                             (double)(rng_next() % 1000000), b.now - 3600);
    }
    /* the running jobs first (fill the machine), then njobs pending */
    int total = njobs + NODES * 32;
    b.jobs = calloc((size_t)total, sizeof(*b.jobs));
    b.njobs = total;
    for (int i = 0; i < total; i++) {
        struct bjob *j = &b.jobs[i];
        j->uid = (uid_t)(1000 + (int)(rng_next() % (uint64_t)nusers));
        j->queue = 1 + (int)(rng_next() % NQUEUES);
        j->urgency = 10 + (int)(rng_next() % 12);
        j->t_submit = b.now - (double)(rng_next() % 86400);
        int c = i < NODES * 32 ? 0 : (int)(rng_next() % 4);
        if (qmgr_submit(q, (uint64_t)i + 1, specs[j->queue - 1][c], j->urgency, j->t_submit,
                        3600, &err) < 0 || qmgr_set_queue(q, (uint64_t)i + 1, j->queue) < 0) {
            fprintf(stderr, "bench-prio: submit: %s\n", err.text);
            return -1;
        }
        if (i == NODES * 32 - 1) {
            struct started s = { &b, 0 };
            qmgr_schedule(q, b.now, on_alloc, &s);   /* the machine, full */
        }
    }
    double *t = calloc((size_t)passes, sizeof(double)), t_fs = 0, t_re = 0, t_sched = 0;
    int started = 0;
    for (int p = 0; p < passes; p++) {
        /* 16 running jobs end */
        for (int k = 0, i = 0; k < 16 && i < total; i++) {
            int x = (int)(rng_next() % (uint64_t)total);
            if (b.jobs[x].running && qmgr_release(q, (uint64_t)x + 1) == 0) {
                b.jobs[x].running = false;
                k++;
            }
        }
        b.now += 10;
        double t0 = now_s();
        if (fairshare)
            fairshare_update(fs, b.now);
        double t1 = now_s();
        qmgr_reprioritize(q, prio_cb, &b);
        double t2 = now_s();
        struct started s = { &b, 0 };
        qmgr_schedule(q, b.now, on_alloc, &s);
        double t3 = now_s();
        started += s.n;
        t[p] = (t3 - t0) * 1e3;
        t_fs += (t1 - t0) * 1e3;
        t_re += (t2 - t1) * 1e3;
        t_sched += (t3 - t2) * 1e3;
    }
    qsort(t, (size_t)passes, sizeof(double), cmp_double);
    out[0] = t[passes / 2];
    out[1] = (t_fs + t_re + t_sched) / passes;
    out[2] = t_fs / passes;
    out[3] = t_re / passes;
    printf("  fair share %-3s  %9.2f  %9.2f  %9.3f  %9.2f  %9.2f  %7d  %7zu\n",
           fairshare ? "on" : "off", out[0], out[1], out[2], out[3], t_sched / passes,
           started, qmgr_pending(q));
    free(t);
    for (int qi = 0; qi < NQUEUES; qi++)
        for (int c = 0; c < 4; c++)
            rspec_destroy(specs[qi][c]);
    qmgr_destroy(q);
    graph_destroy(g);
    priority_destroy(b.prio);
    free(b.jobs);
    return 0;
}

int main(int argc, char **argv)
{
    int njobs = 10000, nusers = 100, passes = 30, c;
    while ((c = getopt(argc, argv, "j:u:n:")) != -1) {
        switch (c) {
        case 'j': njobs = atoi(optarg); break;
        case 'u': nusers = atoi(optarg); break;
        case 'n': passes = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: bench-prio [-j JOBS] [-u USERS] [-n PASSES]\n");
            return 2;
        }
    }
    if (njobs < 1 || nusers < NQUEUES || passes < 1)
        return 2;
    printf("scheduler pass, %d pending jobs of %d users in %d queues, %d nodes x 32 cores "
           "full, 16 jobs end before each of %d passes (ms)\n", njobs, nusers, NQUEUES, NODES,
           passes);
    printf("  %-14s  %9s  %9s  %9s  %9s  %9s  %7s  %7s\n", "", "median", "mean",
           "fairtree", "reprio", "schedule", "started", "pending");
    double off[4], on[4];
    if (run(false, njobs, nusers, passes, off) < 0 || run(true, njobs, nusers, passes, on) < 0)
        return 1;
    printf("  fair share on / off, median pass: %.2fx\n", off[0] > 0 ? on[0] / off[0] : 0);
    return 0;
}
