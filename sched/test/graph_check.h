/* graph_check.h - what the graph reader tests (gdesc, grug, jgf, ghwloc)
 * check the same way: counts of vertices by type. Include after tap.h. */
#ifndef FLUXFS_SCHED_TEST_GRAPH_CHECK_H
#define FLUXFS_SCHED_TEST_GRAPH_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sched/graph.h"

static inline int64_t count(const struct graph *g, const char *type)
{
    return graph_count_type(g, graph_lookup_type(g, type));
}

/* want, "a=1 b=2": every listed type has its count and nothing else exists
 * (the counts add up to every vertex). what names the graph in messages. */
static inline void check_counts(const struct graph *g, const char *what, const char *want)
{
    char buf[1024], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", want);
    int64_t sum = 0;
    int good = 1;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = '\0';
        int64_t n = atoll(eq + 1);
        sum += n;
        if (count(g, tok) != n) {
            diag("%s: %lld %s", what, (long long)count(g, tok), tok);
            good = 0;
        }
    }
    ok(good, "%s: %s", what, want);
    is(graph_nvertices(g), sum, "%s: %lld vertices in all", what, (long long)sum);
}

#endif
