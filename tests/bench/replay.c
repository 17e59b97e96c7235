/* replay [-q POLICY] [-d DEPTH] [-p MATCH] [-T SECONDS] [-c F] [TRACE] - replay a
 * Parallel Workloads Archive log (SWF, optionally gzipped) through the queue
 * manager in virtual time, and print one row per queue policy.
 *
 * The machine is MaxNodes (else MaxProcs) of the SWF header, one core per
 * node. Each job asks for N nodes (requested processors, else allocated) for
 * its requested time (else its run time), is submitted at its recorded
 * submit time, and runs for its recorded run time: the executor is just an
 * end event at start + run time. Jobs with run time <= 0, no processor count
 * or more processors than the machine are skipped and counted.
 *
 * TRACE defaults to ../shared/traces/NASA-iPSC-1993-3.1-cln.swf.gz from the
 * working directory (the repository root). -q picks one policy (default:
 * fcfs, easy and conservative in turn); -d sets the reservation depth. A
 * run whose scheduler time passes -T seconds (default 120) is stopped and,
 * for conservative with unlimited depth, run again with depth 64. -c F
 * multiplies every submit time by F (0.5 doubles the offered load: a stress
 * test of the queue, no longer the recorded workload).
 * Not part of the test suite. */
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

#define DEFAULT_TRACE "../shared/traces/NASA-iPSC-1993-3.1-cln.swf.gz"
#define BSLD_BOUND 10.0
#define CAPPED_DEPTH 64

struct job {
    long num;
    int64_t submit, run, walltime;
    int procs;
    int64_t start, end;     /* simulated; start -1 until placed */
};

struct trace {
    struct job *jobs;
    int n, max;
    int max_nodes, max_procs;
    int skip_runtime, skip_procs, skip_big;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A stream of the trace text: gzip -dc for .gz files. */
static FILE *trace_open(const char *path, pid_t *child)
{
    size_t len = strlen(path);
    *child = -1;
    if (len < 3 || strcmp(path + len - 3, ".gz"))
        return fopen(path, "r");
    if (access(path, R_OK) < 0)
        return NULL;
    int fd[2];
    if (pipe(fd) < 0)
        return NULL;
    pid_t pid = fork();
    if (pid < 0)
        return NULL;
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execlp("gzip", "gzip", "-dc", "--", path, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    *child = pid;
    return fdopen(fd[0], "r");
}

static int header_int(const char *line, const char *key)
{
    size_t len = strlen(key);
    const char *p = line + 1;
    while (*p == ' ' || *p == '\t')
        p++;
    return strncmp(p, key, len) ? -1 : atoi(p + len);
}

static int trace_load(const char *path, struct trace *tr)
{
    pid_t child;
    FILE *f = trace_open(path, &child);
    char line[1024];
    int lineno = 0;
    if (!f)
        return -errno;
    memset(tr, 0, sizeof(*tr));
    tr->max_nodes = tr->max_procs = -1;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (line[0] == ';') {
            int v;
            if ((v = header_int(line, "MaxNodes:")) > 0)
                tr->max_nodes = v;
            if ((v = header_int(line, "MaxProcs:")) > 0)
                tr->max_procs = v;
            continue;
        }
        double fld[18];
        int nf = sscanf(line, "%lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf"
                        " %lf %lf", &fld[0], &fld[1], &fld[2], &fld[3], &fld[4], &fld[5],
                        &fld[6], &fld[7], &fld[8], &fld[9], &fld[10], &fld[11], &fld[12],
                        &fld[13], &fld[14], &fld[15], &fld[16], &fld[17]);
        if (nf <= 0)
            continue;
        if (nf != 18) {
            fprintf(stderr, "replay: %s:%d: expected 18 fields, found %d\n", path, lineno, nf);
            fclose(f);
            return -EINVAL;
        }
        if (tr->n == tr->max) {
            tr->max = tr->max ? 2 * tr->max : 4096;
            struct job *j = realloc(tr->jobs, tr->max * sizeof(*j));
            if (!j) {
                fclose(f);
                return -ENOMEM;
            }
            tr->jobs = j;
        }
        struct job *j = &tr->jobs[tr->n++];
        j->num = (long)fld[0];
        j->submit = (int64_t)fld[1];
        j->run = (int64_t)fld[3];
        j->procs = fld[7] > 0 ? (int)fld[7] : (int)fld[4];
        j->walltime = fld[8] > 0 ? (int64_t)ceil(fld[8]) : j->run;
        j->start = j->end = -1;
    }
    fclose(f);
    if (child > 0) {
        int st;
        waitpid(child, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "replay: gzip -dc '%s' failed\n", path);
            return -EIO;
        }
    }
    return 0;
}

/* Drop the jobs a replay cannot run, counting why. */
static void trace_filter(struct trace *tr, int nodes)
{
    int k = 0;
    for (int i = 0; i < tr->n; i++) {
        struct job *j = &tr->jobs[i];
        if (j->run <= 0)
            tr->skip_runtime++;
        else if (j->procs <= 0)
            tr->skip_procs++;
        else if (j->procs > nodes)
            tr->skip_big++;
        else
            tr->jobs[k++] = *j;
    }
    tr->n = k;
}

static int submit_cmp(const void *a, const void *b)
{
    const struct job *x = a, *y = b;
    if (x->submit != y->submit)
        return x->submit < y->submit ? -1 : 1;
    return x->num < y->num ? -1 : x->num > y->num;
}

/* ---- end events: a binary heap of (time, job index) ---- */

struct ev {
    int64_t t;
    int job;
};

struct heap {
    struct ev *e;
    size_t n, max;
};

static int heap_push(struct heap *h, struct ev e)
{
    if (h->n == h->max) {
        size_t max = h->max ? 2 * h->max : 1024;
        struct ev *x = realloc(h->e, max * sizeof(*x));
        if (!x)
            return -ENOMEM;
        h->e = x;
        h->max = max;
    }
    size_t i = h->n++;
    while (i > 0 && h->e[(i - 1) / 2].t > e.t) {
        h->e[i] = h->e[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->e[i] = e;
    return 0;
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

/* ---- the simulation ---- */

struct sim {
    struct trace *tr;
    struct heap ends;
    int64_t now;
    int err;
};

static void on_alloc(void *arg, uint64_t id, const struct match_alloc *a)
{
    struct sim *s = arg;
    struct job *j = &s->tr->jobs[id - 1];
    (void)a;
    j->start = s->now;
    j->end = s->now + j->run;
    if (heap_push(&s->ends, (struct ev){j->end, (int)(id - 1)}) < 0)
        s->err = -ENOMEM;
}

struct result {
    double sched_s, max_call_s;
    long calls;
    int done, stuck;
    bool aborted;
};

static struct rspec *node_spec(int n)
{
    char buf[512];
    struct rspec *rs = NULL;
    struct errmsg err = {""};
    snprintf(buf, sizeof(buf), "version: 9999\nresources:\n"
             "- {type: node, count: %d, with: [{type: slot, count: 1, label: s,"
             " with: [{type: core, count: 1}]}]}\n"
             "tasks: [{command: [app], slot: s, count: {per_slot: 1}}]\n"
             "attributes: {system: {}}\n", n);
    if (rspec_parse(buf, strlen(buf), &rs, &err) < 0)
        fprintf(stderr, "replay: jobspec: %s\n", err.text);
    return rs;
}

/* A fresh graph per run, so runs cannot see each other's state. */
static int simulate(struct trace *tr, const char *desc, struct rspec **specs,
                    enum match_policy mp, enum qmgr_policy qp, int depth, double budget,
                    struct result *res)
{
    struct graph *g = NULL;
    struct errmsg err = {""};
    struct sim s = {.tr = tr};
    int next = 0, rc = 0;
    if ((rc = gdesc_parse(desc, &g, &err)) < 0) {
        fprintf(stderr, "replay: graph '%s': %s\n", desc, err.text);
        return rc;
    }
    struct qmgr *q = qmgr_create(g, mp, qp);
    if (!q) {
        graph_destroy(g);
        return -ENOMEM;
    }
    qmgr_set_depth(q, depth);
    memset(res, 0, sizeof(*res));
    for (int i = 0; i < tr->n; i++)
        tr->jobs[i].start = tr->jobs[i].end = -1;
    while (next < tr->n || s.ends.n > 0) {
        /* the next event time: a submission or an end, whichever is first */
        int64_t t = next < tr->n ? tr->jobs[next].submit : INT64_MAX;
        if (s.ends.n > 0 && s.ends.e[0].t < t)
            t = s.ends.e[0].t;
        s.now = t;
        while (s.ends.n > 0 && s.ends.e[0].t <= t) {
            struct ev e = heap_pop(&s.ends);
            qmgr_release(q, (uint64_t)e.job + 1);
            res->done++;
        }
        for (; next < tr->n && tr->jobs[next].submit <= t; next++) {
            struct job *j = &tr->jobs[next];
            struct errmsg err;
            if ((rc = qmgr_submit(q, (uint64_t)next + 1, specs[j->procs], QMGR_URGENCY_DEFAULT,
                                  (double)j->submit, (double)j->walltime, &err)) < 0) {
                fprintf(stderr, "replay: job %ld: %s\n", j->num, err.text);
                goto out;
            }
        }
        double a = now_s();
        qmgr_schedule(q, (double)t, on_alloc, &s);
        double d = now_s() - a;
        res->sched_s += d;
        res->calls++;
        if (d > res->max_call_s)
            res->max_call_s = d;
        if ((rc = s.err) < 0)
            goto out;
        if (res->sched_s > budget) {
            res->aborted = true;
            break;
        }
    }
    res->stuck = (int)qmgr_pending(q);
out:
    free(s.ends.e);
    qmgr_destroy(q);
    graph_destroy(g);
    return rc;
}

static void report(const struct trace *tr, int nodes, const char *name, int depth,
                   const struct result *res)
{
    char dep[32];
    if (depth == 0)
        snprintf(dep, sizeof(dep), "%s", "-");
    else if (depth == 1 << 30)
        snprintf(dep, sizeof(dep), "%s", "all");
    else
        snprintf(dep, sizeof(dep), "%d", depth);
    if (res->aborted) {
        printf("%-12s %5s  stopped: scheduler time passed %.0f s after %ld passes,"
               " %d of %d jobs done\n", name, dep, res->sched_s, res->calls, res->done, tr->n);
        return;
    }
    int64_t first = INT64_MAX, last = 0;
    double wait = 0, bsld = 0, work = 0, maxwait = 0;
    for (int i = 0; i < tr->n; i++) {
        const struct job *j = &tr->jobs[i];
        if (j->start < 0)
            continue;
        double w = (double)(j->start - j->submit), r = (double)j->run;
        first = j->submit < first ? j->submit : first;
        last = j->end > last ? j->end : last;
        wait += w;
        maxwait = w > maxwait ? w : maxwait;
        double sd = (w + r) / (r > BSLD_BOUND ? r : BSLD_BOUND);
        bsld += sd > 1 ? sd : 1;
        work += r * j->procs;
    }
    double span = (double)(last - first);
    printf("%-12s %5s %6d %10.0f %7.2f %9.0f %9.0f %8.2f %6.1f%% %9.2f %7ld %8.3f %8.1f\n",
           name, dep, res->done, span, span / 86400, wait / res->done, maxwait,
           bsld / res->done, 100 * work / (nodes * span), res->sched_s, res->calls,
           res->sched_s / res->calls * 1e3, res->max_call_s * 1e3);
    if (res->stuck)
        printf("#   %d jobs never started\n", res->stuck);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int opt, depth = 0, only = -1;
    double budget = 120, compress = 1;
    enum match_policy mp = MATCH_FIRST;
    while ((opt = getopt(argc, argv, "q:d:p:T:c:")) != -1) {
        switch (opt) {
        case 'q':
            if ((only = qmgr_policy_parse(optarg)) < 0) {
                fprintf(stderr, "replay: unknown queue policy '%s'\n", optarg);
                return 2;
            }
            break;
        case 'd':
            depth = atoi(optarg);
            break;
        case 'p': {
            int p = match_policy_parse(optarg);
            if (p < 0) {
                fprintf(stderr, "replay: unknown match policy '%s'\n", optarg);
                return 2;
            }
            mp = (enum match_policy)p;
            break;
        }
        case 'T':
            budget = atof(optarg);
            break;
        case 'c':
            if ((compress = atof(optarg)) <= 0) {
                fprintf(stderr, "replay: -c wants a factor > 0\n");
                return 2;
            }
            break;
        default:
            fprintf(stderr, "usage: replay [-q policy] [-d depth] [-p match-policy]"
                    " [-T seconds] [-c factor] [trace.swf[.gz]]\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *path = optind < argc ? argv[optind] : DEFAULT_TRACE;
    struct trace tr;
    int rc = trace_load(path, &tr);
    if (rc < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(-rc));
        return 1;
    }
    int total = tr.n, nodes = tr.max_nodes > 0 ? tr.max_nodes : tr.max_procs;
    if (nodes <= 0) {
        fprintf(stderr, "replay: %s: no MaxNodes or MaxProcs in the header\n", path);
        return 1;
    }
    trace_filter(&tr, nodes);
    for (int i = 0; i < tr.n; i++)
        tr.jobs[i].submit = (int64_t)floor(tr.jobs[i].submit * compress);
    qsort(tr.jobs, tr.n, sizeof(*tr.jobs), submit_cmp);

    char desc[64];
    snprintf(desc, sizeof(desc), "%d nodes x 1 core", nodes);
    struct rspec **specs = calloc(nodes + 1, sizeof(*specs));
    if (!specs)
        return 1;
    for (int i = 0; i < tr.n; i++)
        if (!specs[tr.jobs[i].procs] && !(specs[tr.jobs[i].procs] = node_spec(tr.jobs[i].procs)))
            return 1;

    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    printf("== replay of %s: MaxNodes %d, MaxProcs %d -> graph '%s'\n", base, tr.max_nodes,
           tr.max_procs, desc);
    printf("   %d jobs in the log, %d replayed; skipped: %d with run time <= 0,"
           " %d without a processor count, %d wider than the machine\n", total, tr.n,
           tr.skip_runtime, tr.skip_procs, tr.skip_big);
    if (compress != 1)
        printf("   submit times x %.2f: offered load x %.2f (a stress test, not the recorded"
               " workload)\n", compress, 1 / compress);
    printf("   request: node N > slot > core 1 for the requested time (else the run time);"
           " match policy %s;\n   bounded slowdown with a %.0f s bound; sched s = sum of"
           " qmgr_schedule() wall time\n", match_policy_name(mp), BSLD_BOUND);
    printf("%-12s %5s %6s %10s %7s %9s %9s %8s %7s %9s %7s %8s %8s\n", "policy", "depth",
           "jobs", "makespan s", "days", "mean wait", "max wait", "bsld", "util", "sched s",
           "passes", "ms/pass", "max ms");
    for (int qp = QMGR_FCFS; qp <= QMGR_CONSERVATIVE; qp++) {
        if (only >= 0 && qp != only)
            continue;
        int d = depth;
        struct result res;
        if (qp != QMGR_FCFS && d == 0)
            d = qp == QMGR_EASY ? 1 : 1 << 30;
        if (qp == QMGR_FCFS)
            d = 0;
        if ((rc = simulate(&tr, desc, specs, mp, qp, d, budget, &res)) < 0)
            return 1;
        report(&tr, nodes, qmgr_policy_name(qp), d, &res);
        if (res.aborted && qp == QMGR_CONSERVATIVE && d > CAPPED_DEPTH) {
            if ((rc = simulate(&tr, desc, specs, mp, qp, CAPPED_DEPTH, budget * 10, &res)) < 0)
                return 1;
            report(&tr, nodes, qmgr_policy_name(qp), CAPPED_DEPTH, &res);
        }
    }
    for (int i = 0; i <= nodes; i++)
        rspec_destroy(specs[i]);
    free(specs);
    free(tr.jobs);
    return 0;
}
