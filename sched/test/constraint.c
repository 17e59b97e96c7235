/* Unit tests for sched/constraint.c: RFC 31 constraints against node
 * vertices (name, rank, properties), and through the matcher. */
#include <errno.h>
#include <string.h>

#include "common/rspec.h"
#include "common/tap.h"
#include "sched/constraint.h"
#include "sched/graph.h"
#include "sched/match.h"

/* node0..node3 (ranks 0-3) of 2 cores each; bigmem on 2-3, gpu on 3 */
static struct graph *four(void)
{
    struct graph *g = graph_create();
    struct errmsg err;
    int c = graph_add_vertex(g, -1, "cluster", "c", NULL, 0, 1, NULL, -1, &err);
    for (int n = 0; n < 4; n++) {
        int v = graph_add_vertex(g, c, "node", "node", NULL, n, 1, NULL, n, &err);
        for (int i = 0; i < 2; i++)
            graph_add_vertex(g, v, "core", NULL, NULL, i, 1, NULL, n, &err);
        if (n >= 2)
            graph_set_property(g, v, "bigmem", "");
        if (n == 3)
            graph_set_property(g, v, "gpu", "");
    }
    graph_finalize(g, &err);
    return g;
}

/* The ranks of the nodes c lets through, as "0,2". */
static const char *which(struct graph *g, const char *json)
{
    static char out[64];
    json_t *o = json_loads(json, 0, NULL);
    struct constraint *c = NULL;
    struct errmsg err = { "" };
    out[0] = '\0';
    if (constraint_compile(o, &c, &err) < 0) {
        snprintf(out, sizeof(out), "error: %s", err.text);
        json_decref(o);
        return out;
    }
    for (int v = 0; v < graph_nvertices(g); v++) {
        const struct graph_vertex *x = graph_vertex(g, v);
        if (!strcmp(graph_type_name(g, x->type), "node") && constraint_match(c, x))
            snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%d", out[0] ? "," : "",
                     x->rank);
    }
    constraint_destroy(c);
    json_decref(o);
    return out;
}

int main(void)
{
    plan(NO_PLAN);
    struct graph *g = four();
    is_str(which(g, "{\"properties\": [\"bigmem\"]}"), "2,3", "properties");
    is_str(which(g, "{\"properties\": [\"bigmem\", \"^gpu\"]}"), "2", "a property and ^absent");
    is_str(which(g, "{\"hostlist\": [\"node[0-1]\", \"node3\"]}"), "0,1,3", "hostlists");
    is_str(which(g, "{\"ranks\": [\"1-2\", 3]}"), "1,2,3", "ranks as idsets and numbers");
    is_str(which(g, "{\"or\": [{\"ranks\": [\"0\"]}, {\"properties\": [\"gpu\"]}]}"), "0,3", "or");
    is_str(which(g, "{\"not\": [{\"properties\": [\"bigmem\"]}]}"), "0,1", "not");
    is_str(which(g, "{\"and\": [{\"properties\": [\"bigmem\"]}, {\"not\": [{\"ranks\": [3]}]}]}"),
           "2", "and with not");
    is_str(which(g, "{\"properties\": [\"bigmem\"], \"ranks\": [\"3\"]}"), "3",
           "two operators of one object must both hold");
    is_str(which(g, "{\"not\": []}"), "", "an empty not matches nothing (not of and)");
    is_str(which(g, "{\"hostlist\": [\"node[0-99999999]\"], \"ranks\": [\"2-2147483645\"]}"),
           "2,3", "huge ranges, tested without expanding them");
    is_str(which(g, "{\"hostlist\": [\"node[\"]}"),
           "error: constraints: invalid host list 'node['", "a bad host list is named");
    is_str(which(g, "{\"color\": [\"red\"]}"), "error: constraints: unknown operator 'color'",
           "an unknown operator is named");

    /* through the matcher: a 2-node request (whole nodes' cores) on bigmem nodes */
    struct matcher *m = match_create(g, MATCH_LOW);
    struct rspec *rs = NULL;
    struct errmsg err = { "" };
    const char *req = "version: 9999\nresources:\n  - type: node\n    count: 2\n    with:\n"
                      "      - type: slot\n        count: 1\n        label: t\n        with:\n"
                      "          - type: core\n            count: 2\ntasks:\n  - command: [x]\n"
                      "    slot: t\n    count: {per_slot: 1}\nattributes:\n  system:\n"
                      "    duration: 10\n    constraints: {properties: [bigmem]}\n";
    ok(rspec_parse(req, strlen(req), &rs, &err) == 0, "a request with constraints (%s)", err.text);
    const struct match_alloc *a = NULL;
    is(match_job(m, rs, 1, MATCH_ALLOCATE, 0, 10, &a, &err), 0, "it fits on the bigmem nodes");
    char *s = a ? match_format_simple(m, a) : NULL;
    ok(s && strstr(s, "node2") && strstr(s, "node3") && !strstr(s, "node0"),
       "... node2 and node3");
    free(s);
    is(match_job(m, rs, 2, MATCH_ALLOCATE_WITH_SAT, 0, 10, &a, &err), -EBUSY,
       "a second such job: busy, not unsatisfiable (%s)", err.text);
    rspec_destroy(rs);
    rs = NULL;
    const char *three = "version: 9999\nresources:\n  - type: node\n    count: 3\n    with:\n"
                        "      - type: slot\n        count: 1\n        label: t\n        with:\n"
                        "          - type: core\n            count: 1\ntasks:\n  - command: [x]\n"
                        "    slot: t\n    count: {per_slot: 1}\nattributes:\n  system:\n"
                        "    duration: 10\n    constraints: {properties: [bigmem]}\n";
    rspec_parse(three, strlen(three), &rs, &err);
    is(match_job(m, rs, 3, MATCH_SATISFIABILITY, 0, 10, NULL, &err), -ENODEV,
       "three bigmem nodes: never");
    is_str(err.text, "the constraints (--requires) leave 2 nodes, and those can never satisfy "
           "the request", "... saying what the constraints leave");
    rspec_destroy(rs);
    match_destroy(m);
    graph_destroy(g);
    return done_testing();
}
