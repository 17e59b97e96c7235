/* fluxfs-query - try the graph scheduler offline, in resource-query's language.
 *
 *   fluxfs-query -L GRAPH [-f grug|jgf|hwloc|desc] [-P POLICY] [-F FORMAT]
 *                [-S SUBSYSTEM] [-r N] < COMMANDS
 *
 * Reads Fluxion resource-query commands, one per line, so Fluxion's own test
 * cases run unchanged:
 *   match allocate|allocate_orelse_reserve|allocate_with_satisfiability|
 *         satisfiability JOBSPEC
 *   cancel JOBID [stats]
 *   partial-cancel JOBID rv1exec|jgf FILE [stats]   (release those nodes)
 *   set-status PATH up|down|drain     get-status PATH
 *   find EXPRESSION                   (status=, sched-now=, sched-future=,
 *                                      property=, names=, jobid-alloc=,
 *                                      jobid-reserved=, jobid-span=; and, or)
 *   info JOBID    list    stat    quit
 * Time stands still at 0, as in resource-query: jobs that do not fit now
 * are reserved at the end of earlier jobs (allocate_orelse_reserve).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/errmsg.h"
#include "common/strbuf.h"
#include "common/rspec.h"
#include "sched/gdesc.h"
#include "sched/ghwloc.h"
#include "sched/graph.h"
#include "sched/grug.h"
#include "common/hostlist.h"
#include "common/idset.h"
#include "sched/jgf.h"
#include "sched/match.h"
#include "sched/rread.h"
#include "sched/rv1.h"

enum out_format { OUT_SIMPLE, OUT_RV1, OUT_JGF };

/* What resource-query remembers of a job: info and list print it. */
struct qjob {
    uint64_t id;
    const char *state;      /* ALLOCATED, RESERVED, CANCELED */
    int64_t at;
    char *jobspec;
    double overhead;
};

struct query {
    struct graph *g;
    struct matcher *m;
    enum out_format format;
    uint64_t next_id;
    double match_seconds, match_min, match_max;
    uint64_t nmatches;
    struct qjob *jobs;
    size_t njobs, maxjobs;
};

static struct qjob *qjob_find(struct query *q, uint64_t id)
{
    for (size_t i = 0; i < q->njobs; i++)
        if (q->jobs[i].id == id)
            return &q->jobs[i];
    return NULL;
}

static void qjob_add(struct query *q, uint64_t id, const char *state, int64_t at,
                     const char *jobspec, double overhead)
{
    if (q->njobs == q->maxjobs) {
        size_t n = q->maxjobs ? 2 * q->maxjobs : 64;
        struct qjob *p = realloc(q->jobs, n * sizeof(*p));
        if (!p)
            return;     /* info/list lose it; the match stands */
        q->jobs = p;
        q->maxjobs = n;
    }
    q->jobs[q->njobs++] = (struct qjob){ id, state, at, strdup(jobspec), overhead };
}

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: fluxfs-query -L GRAPH [-f grug|jgf|hwloc|desc] [-P POLICY] [-F FORMAT]\n"
        "Read resource-query commands on stdin and match them on GRAPH.\n"
        "  -L GRAPH    GRUG .graphml recipe, JGF .json, hwloc .xml, or with -f desc\n"
        "              a description such as '2 racks x 4 nodes x 2 sockets x 8 cores'\n"
        "  -f FORMAT   graph format: grug, jgf, hwloc, desc, rv1exec (an R); default\n"
        "              from the file name: .graphml grug, .json jgf, .xml hwloc\n"
        "  -P POLICY   low high first lonode hinode lonodex hinodex locality (first)\n"
        "  -F FORMAT   simple or pretty_simple (vertices, then an INFO block), rv1 or\n"
        "              rv1_nosched (R), jgf (the vertices as JSON Graph Format)\n"
        "  -p, --prune-filters=SPEC  accepted (ALL:core,ALL:gpu...): every vertex\n"
        "              always keeps core and gpu totals to prune by\n"
        "  -S SUBSYS   subsystem to match in (only containment, 'CA', is matched)\n"
        "  -r N        accepted for compatibility, ignored\n"
        "Commands: match allocate|allocate_orelse_reserve|allocate_with_satisfiability|\n"
        "          satisfiability JOBSPEC; cancel JOBID [stats]; partial-cancel JOBID\n"
        "          rv1exec|jgf FILE [stats]; set-status PATH up|down|drain; get-status\n"
        "          PATH; find EXPRESSION; info JOBID; list; stat; quit\n");
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static int load_graph(const char *path, const char *format, struct graph **g,
                      struct errmsg *err)
{
    if (!format)
        format = ends_with(path, ".json") ? "jgf" : ends_with(path, ".xml") ? "hwloc" : "grug";
    if (!strcmp(format, "grug"))
        return grug_load(path, g, err);
    if (!strcmp(format, "jgf"))
        return jgf_load(path, g, err);
    if (!strcmp(format, "hwloc"))
        return ghwloc_load(path, NULL, g, err);
    if (!strcmp(format, "rv1exec") || !strcmp(format, "rv1"))
        return rread_load(path, g, err);
    if (!strcmp(format, "desc"))
        return gdesc_parse(path, g, err);
    return errmsg_set(err, -EINVAL, "unknown graph format '%s'", format);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t alloc = 0, n = 0, r;
    if (!f)
        return NULL;
    do {
        if (n == alloc) {
            char *p = realloc(buf, alloc = alloc ? alloc * 2 : 8192);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        r = fread(buf + n, 1, alloc - n, f);
        n += r;
    } while (r > 0);
    fclose(f);
    *len = n;
    return buf;
}

static const char *rule = "INFO: =============================";

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* An allocation's vertices, for the JGF writer. */
struct vset {
    int *v;
    int64_t *size;
    bool *x;
    int n, max;
};

static void vset_add(void *arg, int v, int64_t amount, bool x)
{
    struct vset *s = arg;
    if (s->n == s->max) {
        int max = s->max ? 2 * s->max : 64;
        int *nv = realloc(s->v, max * sizeof(*nv));
        if (nv)
            s->v = nv;
        int64_t *ns = realloc(s->size, max * sizeof(*ns));
        if (ns)
            s->size = ns;
        bool *nx = realloc(s->x, max * sizeof(*nx));
        if (nx)
            s->x = nx;
        if (!nv || !ns || !nx)
            return;
        s->max = max;
    }
    s->v[s->n] = v;
    s->size[s->n] = x ? amount : 1;
    s->x[s->n++] = x;
}

static void vset_release(struct vset *s)
{
    free(s->v);
    free(s->size);
    free(s->x);
}

/* The set in vertex order (the walk gives children first): sorted by a
 * permutation, then the three arrays rearranged after it. */
static const int *sort_key;

static int by_vertex(const void *a, const void *b)
{
    int x = sort_key[*(const int *)a], y = sort_key[*(const int *)b];
    return (x > y) - (x < y);
}

static void vset_sort(struct vset *s)
{
    int *perm = malloc((size_t)(s->n ? s->n : 1) * sizeof(*perm));
    int *v = malloc((size_t)(s->n ? s->n : 1) * sizeof(*v));
    int64_t *size = malloc((size_t)(s->n ? s->n : 1) * sizeof(*size));
    bool *x = malloc((size_t)(s->n ? s->n : 1) * sizeof(*x));
    if (perm && v && size && x) {
        for (int i = 0; i < s->n; i++)
            perm[i] = i;
        sort_key = s->v;
        qsort(perm, (size_t)s->n, sizeof(*perm), by_vertex);
        for (int i = 0; i < s->n; i++) {
            v[i] = s->v[perm[i]];
            size[i] = s->size[perm[i]];
            x[i] = s->x[perm[i]];
        }
        memcpy(s->v, v, (size_t)s->n * sizeof(*v));
        memcpy(s->size, size, (size_t)s->n * sizeof(*size));
        memcpy(s->x, x, (size_t)s->n * sizeof(*x));
    }
    free(perm);
    free(v);
    free(size);
    free(x);
}

static void print_jgf(struct query *q, struct vset *s)
{
    vset_sort(s);
    json_t *jgf = jgf_dump_set(q->g, s->v, s->size, s->x, s->n);
    char *text = jgf ? json_dumps(jgf, JSON_COMPACT) : NULL;
    printf("%s\n", text ? text : "null");
    free(text);
    json_decref(jgf);
}

static void print_alloc(struct query *q, const struct match_alloc *a)
{
    if (q->format == OUT_JGF) {
        struct vset s = { 0 };
        match_walk(q->m, a, vset_add, &s);
        print_jgf(q, &s);
        vset_release(&s);
    } else if (q->format == OUT_RV1) {
        json_t *R = match_to_R(q->m, a);
        char *s = R ? json_dumps(R, JSON_COMPACT) : NULL;
        printf("%s\n", s ? s : "null");
        free(s);
        json_decref(R);
    } else {
        char *s = match_format_simple(q->m, a);
        fputs(s ? s : "", stdout);
        free(s);
    }
    printf("%s\nINFO: JOBID=%llu\nINFO: RESOURCES=%s\n", rule,
           (unsigned long long)a->job, a->reserved ? "RESERVED" : "ALLOCATED");
    if (a->reserved)
        printf("INFO: SCHEDULED AT=%lld\n", (long long)a->start);
    else
        printf("INFO: SCHEDULED AT=Now\n");
    printf("%s\n", rule);
}

static void cmd_match(struct query *q, const char *opname, const char *path)
{
    static const struct { const char *name; enum match_op op; } ops[] = {
        {"allocate", MATCH_ALLOCATE},
        {"allocate_orelse_reserve", MATCH_ALLOCATE_ORELSE_RESERVE},
        {"allocate_with_satisfiability", MATCH_ALLOCATE_WITH_SAT},
        {"satisfiability", MATCH_SATISFIABILITY},
    };
    struct errmsg err = {""};
    struct rspec *rs = NULL;
    size_t len = 0;
    char *buf = NULL;
    int op = -1;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (!strcmp(opname, ops[i].name))
            op = (int)ops[i].op;
    if (op < 0) {
        fprintf(stderr, "fluxfs-query: unknown match operation '%s'\n", opname);
        return;
    }
    if (!(buf = read_file(path, &len))) {
        fprintf(stderr, "fluxfs-query: %s: %s\n", path, strerror(errno));
        return;
    }
    if (rspec_parse(buf, len, &rs, &err) < 0) {
        fprintf(stderr, "fluxfs-query: %s: %s\n", path, err.text);
        goto out;
    }
    /* Jobspecs naming types the graph lacks are refused before any id is
     * used, as resource-query does. */
    if (match_job(q->m, rs, 0, MATCH_SATISFIABILITY, 0, 0, NULL, &err) == -EINVAL) {
        fprintf(stderr, "fluxfs-query: %s: %s\n", path, err.text);
        goto out;
    }
    int64_t duration = rs->duration > 0 ? (int64_t)rs->duration : 0;
    if (op == MATCH_SATISFIABILITY) {
        int rc = match_job(q->m, rs, 0, MATCH_SATISFIABILITY, 0, duration, NULL, &err);
        printf("%s\nINFO: %s\n%s\n", rule,
               rc == 0 ? "Satisfiable request" : "Unsatisfiable request", rule);
        goto out;
    }
    uint64_t id = q->next_id++;
    const struct match_alloc *a = NULL;
    double t = now_seconds();
    int rc = match_job(q->m, rs, id, op, 0, duration, &a, &err);
    t = now_seconds() - t;
    q->match_seconds += t;
    if (q->nmatches == 0 || t < q->match_min)
        q->match_min = t;
    if (t > q->match_max)
        q->match_max = t;
    q->nmatches++;
    if (rc == 0) {
        print_alloc(q, a);
        qjob_add(q, id, a->reserved ? "RESERVED" : "ALLOCATED", a->reserved ? a->start : 0,
                 path, t);
        goto out;
    }
    bool unsat = rc == -ENODEV;
    if (unsat && op == MATCH_ALLOCATE_ORELSE_RESERVE)
        unsat = match_unsat_per_unit(q->m, rs, &err) == -ENODEV;
    printf("%s\nINFO: No matching resources found\n%sINFO: JOBID=%llu\n%s\n", rule,
           unsat ? "INFO: Unsatisfiable request\n" : "", (unsigned long long)id, rule);
out:
    rspec_destroy(rs);
    free(buf);
}

static void cmd_cancel(struct query *q, const char *idstr, const char *stats)
{
    char *end;
    unsigned long long id = strtoull(idstr, &end, 10);
    if (*end || match_cancel(q->m, id) < 0) {
        fprintf(stderr, "fluxfs-query: cancel: no job '%s'\n", idstr);
        return;
    }
    struct qjob *j = qjob_find(q, id);
    if (j)
        j->state = "CANCELED";
    if (stats && !strcmp(stats, "stats"))
        printf("%s\nINFO: JOBS LIVE=%zu\nINFO: MATCHES=%llu\n"
               "INFO: MEAN MATCH TIME=%.6f s\n%s\n", rule, match_njobs(q->m),
               (unsigned long long)q->nmatches,
               q->nmatches ? q->match_seconds / q->nmatches : 0., rule);
}

static void cmd_set_status(struct query *q, const char *path, const char *state)
{
    int v = graph_find_path(q->g, path);
    enum graph_status st = !strcmp(state, "up") ? GRAPH_UP
                         : !strcmp(state, "down") ? GRAPH_DOWN
                         : !strcmp(state, "drain") ? GRAPH_DRAINED : (enum graph_status)-1;
    if (v < 0)
        fprintf(stderr, "fluxfs-query: set-status: no vertex at '%s'\n", path);
    else if ((int)st < 0)
        fprintf(stderr, "fluxfs-query: set-status: state must be up, down or drain\n");
    else
        graph_set_status(q->g, v, st);
}

/* The node ranks a partial-cancel file names: an R (rv1exec: R_lite's
 * ranks) or JGF (its node vertices' ranks), as an idset text. */
static char *release_ranks(const char *reader, const char *path)
{
    json_t *o = json_load_file(path, 0, NULL), *e;
    struct idset *ids = idset_create(0);
    char *text = NULL;
    size_t i;
    if (!o || !ids)
        goto out;
    if (!strcmp(reader, "rv1exec")) {
        json_array_foreach(json_object_get(json_object_get(o, "execution"), "R_lite"), i, e) {
            struct idset *r = idset_decode(json_string_value(json_object_get(e, "rank")));
            for (int k = r ? idset_first(r) : -1; k >= 0; k = idset_next(r, (unsigned)k))
                idset_set(ids, (unsigned)k);
            idset_destroy(r);
        }
    } else {
        json_array_foreach(json_object_get(json_object_get(o, "graph"), "nodes"), i, e) {
            json_t *md = json_object_get(e, "metadata");
            const char *type = json_string_value(json_object_get(md, "type"));
            json_t *rank = json_object_get(md, "rank");
            if (type && !strcmp(type, "node") && json_is_integer(rank)
                && json_integer_value(rank) >= 0)
                idset_set(ids, (unsigned)json_integer_value(rank));
        }
    }
    if (idset_count(ids) > 0)
        text = idset_encode(ids);
out:
    json_decref(o);
    idset_destroy(ids);
    return text;
}

struct rank_ctx {
    const struct graph *g;
    const char *ranks;
};

/* A node's rank, or for a graph without ranks (GRUG) its place among the
 * nodes, as the R of a match numbers them (match_to_R). */
static bool rank_in(void *arg, const struct graph_vertex *node)
{
    const struct rank_ctx *c = arg;
    int rank = node->rank;
    if (rank < 0) {
        rank = 0;
        for (int v = 0; v < graph_nvertices(c->g) && graph_vertex(c->g, v) != node; v++)
            rank += graph_vertex(c->g, v)->type == node->type;
    }
    return idset_text_contains(c->ranks, (unsigned)rank) > 0;
}

static void cmd_partial_cancel(struct query *q, char **w, int n)
{
    char *end;
    unsigned long long id = strtoull(w[1], &end, 10);
    if (n < 4 || (strcmp(w[2], "rv1exec") && strcmp(w[2], "jgf"))) {
        fprintf(stderr, "fluxfs-query: partial-cancel JOBID rv1exec|jgf FILE [stats]\n");
        return;
    }
    char *ranks = release_ranks(w[2], w[3]);
    bool full = false;
    struct rank_ctx rc_ctx = { .g = q->g, .ranks = ranks };
    int rc = *end || !ranks ? -EINVAL : match_release(q->m, id, rank_in, &rc_ctx, &full);
    free(ranks);
    if (rc == -EINVAL && !*end)
        fprintf(stderr, "fluxfs-query: partial-cancel: '%s' names no node ranks, or job %llu "
                "is a reservation (only allocations shrink)\n", w[3], id);
    else if (rc < 0)
        fprintf(stderr, "fluxfs-query: partial-cancel: no job '%s'\n", w[1]);
    else if (full && qjob_find(q, id))
        qjob_find(q, id)->state = "CANCELED";
    if (n > 4 && !strcmp(w[4], "stats"))
        printf("%s\nINFO: JOBS LIVE=%zu\n%s\n", rule, match_njobs(q->m), rule);
}

static const char *status_name(int st)
{
    return st == GRAPH_UP ? "up" : st == GRAPH_DOWN ? "down" : st == GRAPH_DRAINED ? "drained"
                                                                                   : "offline";
}

static void cmd_get_status(struct query *q, const char *path)
{
    int v = graph_find_path(q->g, path);
    if (v < 0)
        printf("Could not find path %s in resource graph.\n", path);
    else
        printf("%s is %s\n", path, status_name(graph_vertex(q->g, v)->status));
}

/* ---- find: Fluxion's expressions over the graph's vertices ---- */

/* Does one of x's holds match: now (1), later (2), of job (0: any)? */
static bool held_by(const struct graph_vertex *x, uint64_t job, int when)
{
    for (int i = 0; i < x->nholds; i++) {
        int w = x->holds[i].start > 0 ? 2 : 1;   /* time stands at 0 */
        if ((!job || x->holds[i].job == job) && (w & when))
            return true;
    }
    return false;
}

/* One predicate KEY=VALUE on vertex v; -1 if it is not one. */
static int predicate(struct query *q, int v, const char *pred)
{
    const struct graph_vertex *x = graph_vertex(q->g, v);
    const char *eq = strchr(pred, '=');
    if (!eq)
        return -1;
    size_t klen = (size_t)(eq - pred);
    const char *val = eq + 1;
#define KEY(s) (klen == strlen(s) && !strncmp(pred, s, klen))
    if (KEY("status"))
        return !strcmp(val, "up") ? x->status == GRAPH_UP
             : !strcmp(val, "down") ? x->status != GRAPH_UP : -1;
    if (KEY("sched-now") || KEY("sched-future")) {
        bool found = held_by(x, 0, KEY("sched-now") ? 1 : 2);
        return !strcmp(val, "free") ? !found
             : !strcmp(val, KEY("sched-now") ? "allocated" : "reserved") ? found : -1;
    }
    if (KEY("property")) {
        for (int i = 0; i < x->nprops; i++)
            if (!strcmp(x->props[i].key, val))
                return 1;
        return 0;
    }
    if (KEY("names")) {
        int rc = hostlist_text_contains(val, x->name);
        return rc < 0 ? -1 : rc;
    }
    if (KEY("jobid-alloc") || KEY("jobid-reserved") || KEY("jobid-span")) {
        char *end;
        uint64_t job = strtoull(val, &end, 10);
        if (*end || !job)
            return -1;
        return held_by(x, job, KEY("jobid-alloc") ? 1 : KEY("jobid-reserved") ? 2 : 3);
    }
    if (KEY("agfilter"))
        return 1;   /* fluxfs always keeps its aggregate filters */
#undef KEY
    return -1;
}

/* "a and b or c": and binds tighter. 1, 0, or -1 (bad expression). */
static int expression(struct query *q, int v, char **w, int n)
{
    int any = 0, all = 1;
    for (int i = 0; i < n; i++) {
        if (!strcmp(w[i], "and"))
            continue;
        if (!strcmp(w[i], "or")) {
            any |= all;
            all = 1;
            continue;
        }
        int r = predicate(q, v, w[i]);
        if (r < 0)
            return -1;
        all &= r;
    }
    return any | all;
}

static bool in_vset(void *arg, int v)
{
    const struct vset *s = arg;
    for (int i = 0; i < s->n; i++)
        if (s->v[i] == v)
            return true;
    return false;
}

static void cmd_find(struct query *q, char **w, int n)
{
    struct vset s = { 0 };
    struct strbuf expr = STRBUF_INIT;
    for (int i = 0; i < n; i++)
        strbuf_addf(&expr, "%s%s", i ? " " : "", w[i]);
    for (int v = 0; v < graph_nvertices(q->g); v++) {
        int r = expression(q, v, w, n);
        if (r < 0) {
            fprintf(stderr, "fluxfs-query: find: cannot read '%s' (predicates: status=up|down "
                    "sched-now=allocated|free sched-future=reserved|free property=NAME "
                    "names=HOSTLIST jobid-alloc|jobid-reserved|jobid-span=ID, with and/or)\n",
                    expr.buf);
            goto out;
        }
        if (r)
            vset_add(&s, v, graph_vertex(q->g, v)->size, false);
    }
    if (q->format == OUT_JGF)
        print_jgf(q, &s);
    else if (q->format == OUT_RV1) {
        /* the nodes found, with their cores and gpus, as R */
        json_t *R = rv1_from_graph_nodes(q->g, in_vset, &s);
        char *text = R ? json_dumps(R, JSON_COMPACT) : NULL;
        printf("%s\n", text ? text : "null");
        free(text);
        json_decref(R);
    } else {
        for (int i = 0; i < s.n; i++) {
            const struct graph_vertex *x = graph_vertex(q->g, s.v[i]);
            printf("      ");
            for (int d = 0; d <= x->depth; d++)
                printf("---");
            printf("%s[%lld:%s]\n", x->name, (long long)x->size, status_name(x->status));
        }
    }
    printf("%s\nINFO: EXPRESSION=\"%s\"\n%s\n", rule, expr.buf, rule);
out:
    strbuf_release(&expr);
    vset_release(&s);
}

static void cmd_info(struct query *q, const char *idstr, bool all)
{
    for (size_t i = 0; i < q->njobs; i++) {
        struct qjob *j = &q->jobs[i];
        if (all || j->id == strtoull(idstr, NULL, 10)) {
            printf("INFO: %llu, %s, %lld, %s, %f\n", (unsigned long long)j->id, j->state,
                   (long long)j->at, j->jobspec ? j->jobspec : "", j->overhead);
            if (!all)
                return;
        }
    }
    if (!all)
        printf("ERROR: jobid doesn't exist: %s\n", idstr);
}

static void cmd_stat(struct query *q)
{
    printf("INFO: Num. of Jobs Matched: %zu\nINFO: Min. Match Time: %f\n"
           "INFO: Max. Match Time: %f\nINFO: Avg. Match Time: %f\n", q->njobs,
           q->njobs ? q->match_min : 0., q->match_max,
           q->njobs ? q->match_seconds / (double)q->njobs : 0.);
}

/* Split a line into at most 16 words; '#' starts a comment. */
static int split(char *line, char **w)
{
    int n = 0;
    char *save = NULL;
    line[strcspn(line, "#\n")] = '\0';
    for (char *t = strtok_r(line, " \t\r", &save); t && n < 16; t = strtok_r(NULL, " \t\r", &save))
        w[n++] = t;
    return n;
}

int main(int argc, char **argv)
{
    const char *graphfile = NULL, *format = NULL, *policy = "first";
    struct query q = {.next_id = 1};
    struct errmsg err = {""};
    int opt, rc = 1;
    static const struct option longopts[] = {
        {"load-file", required_argument, NULL, 'L'},
        {"load-format", required_argument, NULL, 'f'},
        {"match-policy", required_argument, NULL, 'P'},
        {"match-format", required_argument, NULL, 'F'},
        {"match-subsystems", required_argument, NULL, 'S'},
        {"reserve-vtx-vec", required_argument, NULL, 'r'},
        {"prune-filters", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    while ((opt = getopt_long(argc, argv, "L:f:P:F:S:r:p:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'L': graphfile = optarg; break;
        case 'f': format = optarg; break;
        case 'P': policy = optarg; break;
        case 'F':
            if (!strcmp(optarg, "rv1") || !strcmp(optarg, "rv1_nosched"))
                q.format = OUT_RV1;
            else if (!strcmp(optarg, "jgf"))
                q.format = OUT_JGF;
            else if (strcmp(optarg, "simple") && strcmp(optarg, "pretty_simple")) {
                fprintf(stderr, "fluxfs-query: unknown format '%s'\n", optarg);
                return 2;
            }
            break;
        case 'S':
            if (strcmp(optarg, "CA") && strcmp(optarg, "containment"))
                fprintf(stderr, "fluxfs-query: only the containment subsystem is "
                                "matched; '%s' ignored\n", optarg);
            break;
        case 'r': break;
        case 'p': break;    /* core and gpu totals are always kept (graph.h) */
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!graphfile || optind != argc) {
        usage(stderr);
        return 2;
    }
    int p = match_policy_parse(policy);
    if (p < 0) {
        fprintf(stderr, "fluxfs-query: unknown policy '%s'\n", policy);
        return 2;
    }
    if (load_graph(graphfile, format, &q.g, &err) < 0
        || graph_finalize(q.g, &err) < 0) {
        fprintf(stderr, "fluxfs-query: %s: %s\n", graphfile, err.text);
        goto out;
    }
    if (!(q.m = match_create(q.g, (enum match_policy)p))) {
        fprintf(stderr, "fluxfs-query: out of memory\n");
        goto out;
    }
    char line[8192];
    while (fgets(line, sizeof(line), stdin)) {
        char *w[16];
        int n = split(line, w);
        if (n == 0)
            continue;
        if (!strcmp(w[0], "quit"))
            break;
        if (!strcmp(w[0], "match") && n >= 3)
            cmd_match(&q, w[1], w[2]);
        else if (!strcmp(w[0], "cancel") && n >= 2)
            cmd_cancel(&q, w[1], n > 2 ? w[2] : NULL);
        else if (!strcmp(w[0], "set-status") && n >= 3)
            cmd_set_status(&q, w[1], w[2]);
        else if (!strcmp(w[0], "get-status") && n >= 2)
            cmd_get_status(&q, w[1]);
        else if (!strcmp(w[0], "partial-cancel") && n >= 2)
            cmd_partial_cancel(&q, w, n);
        else if (!strcmp(w[0], "find") && n >= 2)
            cmd_find(&q, w + 1, n - 1);
        else if (!strcmp(w[0], "info") && n >= 2)
            cmd_info(&q, w[1], false);
        else if (!strcmp(w[0], "list"))
            cmd_info(&q, NULL, true);
        else if (!strcmp(w[0], "stat"))
            cmd_stat(&q);
        else
            fprintf(stderr, "fluxfs-query: cannot parse '%s'\n", w[0]);
        fflush(stdout);
    }
    rc = 0;
out:
    match_destroy(q.m);
    graph_destroy(q.g);
    for (size_t i = 0; i < q.njobs; i++)
        free(q.jobs[i].jobspec);
    free(q.jobs);
    return rc;
}
