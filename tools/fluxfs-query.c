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
 *   set-status PATH up|down|drain
 *   quit
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
#include "common/rspec.h"
#include "sched/gdesc.h"
#include "sched/ghwloc.h"
#include "sched/graph.h"
#include "sched/grug.h"
#include "sched/jgf.h"
#include "sched/match.h"

struct query {
    struct graph *g;
    struct matcher *m;
    bool rv1;
    uint64_t next_id;
    double match_seconds;
    uint64_t nmatches;
};

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: fluxfs-query -L GRAPH [-f grug|jgf|hwloc|desc] [-P POLICY] [-F FORMAT]\n"
        "Read resource-query commands on stdin and match them on GRAPH.\n"
        "  -L GRAPH    GRUG .graphml recipe, JGF .json, hwloc .xml, or with -f desc\n"
        "              a description such as '2 racks x 4 nodes x 2 sockets x 8 cores'\n"
        "  -f FORMAT   graph format (default from the file name: .graphml grug,\n"
        "              .json jgf, .xml hwloc)\n"
        "  -P POLICY   low high first lonode hinode lonodex hinodex locality (first)\n"
        "  -F FORMAT   simple or pretty_simple (vertices, then an INFO block), rv1 (R)\n"
        "  -S SUBSYS   subsystem to match in (only containment, 'CA', is matched)\n"
        "  -r N        accepted for compatibility, ignored\n"
        "Commands: match allocate|allocate_orelse_reserve|allocate_with_satisfiability|\n"
        "          satisfiability JOBSPEC; cancel JOBID [stats]; set-status PATH up|down;\n"
        "          quit\n");
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

static void print_alloc(struct query *q, const struct match_alloc *a)
{
    if (q->rv1) {
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
    q->match_seconds += now_seconds() - t;
    q->nmatches++;
    if (rc == 0) {
        print_alloc(q, a);
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

/* Split a line into at most 4 words; '#' starts a comment. */
static int split(char *line, char **w)
{
    int n = 0;
    char *save = NULL;
    line[strcspn(line, "#\n")] = '\0';
    for (char *t = strtok_r(line, " \t\r", &save); t && n < 4; t = strtok_r(NULL, " \t\r", &save))
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
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    while ((opt = getopt_long(argc, argv, "L:f:P:F:S:r:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'L': graphfile = optarg; break;
        case 'f': format = optarg; break;
        case 'P': policy = optarg; break;
        case 'F':
            if (!strcmp(optarg, "rv1") || !strcmp(optarg, "rv1_nosched"))
                q.rv1 = true;
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
        char *w[4];
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
        else
            fprintf(stderr, "fluxfs-query: cannot parse '%s'\n", w[0]);
        fflush(stdout);
    }
    rc = 0;
out:
    match_destroy(q.m);
    graph_destroy(q.g);
    return rc;
}
