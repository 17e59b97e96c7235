/* test/usage.c - unit tests for common/usage.c: accounting records summed
 * by user and bank over a time range. */
#include <string.h>

#include "common/tap.h"
#include "common/usage.h"

int main(void)
{
    plan(NO_PLAN);
    json_t *recs = json_loads("["
        "{\"userid\": 5, \"bank\": null, \"t_run\": 10, \"t_inactive\": 20, \"ngpus\": 1,"
        " \"result\": \"COMPLETED\", \"status\": 0, \"core_seconds\": 40, \"node_seconds\": 10},"
        "{\"userid\": 5, \"bank\": \"phys\", \"t_run\": 0, \"t_inactive\": 30, \"ngpus\": 0,"
        " \"result\": \"CANCELED\", \"status\": 0, \"core_seconds\": 0, \"node_seconds\": 0},"
        "{\"userid\": 2, \"bank\": null, \"t_run\": 40, \"t_inactive\": 50, \"ngpus\": 0,"
        " \"result\": \"FAILED\", \"status\": 3, \"core_seconds\": 20, \"node_seconds\": 10},"
        "{\"userid\": 5, \"bank\": null, \"t_run\": 60, \"t_inactive\": 70, \"ngpus\": 2,"
        " \"result\": \"COMPLETED\", \"status\": 0, \"core_seconds\": 10, \"node_seconds\": 10}"
        "]", 0, NULL);
    json_t *u = usage_totals(recs, 0, 0);
    char *s = json_dumps(u, JSON_COMPACT | JSON_PRESERVE_ORDER);
    is_str(s, "[{\"userid\":2,\"bank\":null,\"jobs\":1,\"completed\":0,\"failed\":1,"
              "\"core_seconds\":20.0,\"node_seconds\":10.0,\"gpu_seconds\":0.0},"
              "{\"userid\":5,\"bank\":null,\"jobs\":2,\"completed\":2,\"failed\":0,"
              "\"core_seconds\":50.0,\"node_seconds\":20.0,\"gpu_seconds\":30.0},"
              "{\"userid\":5,\"bank\":\"phys\",\"jobs\":1,\"completed\":0,\"failed\":1,"
              "\"core_seconds\":0.0,\"node_seconds\":0.0,\"gpu_seconds\":0.0}]",
           "by user then bank; completed is COMPLETED 0; gpu seconds from the run");
    free(s);
    json_decref(u);
    u = usage_totals(recs, 25, 60);
    s = json_dumps(u, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ok(s && strstr(s, "\"userid\":2") && strstr(s, "\"bank\":\"phys\"")
       && !strstr(s, "\"core_seconds\":50"), "[since, until) keeps the records that ended in it");
    free(s);
    json_decref(u);
    u = usage_totals(NULL, 0, 0);
    is((int)json_array_size(u), 0, "no records: no rows");
    json_decref(u);
    json_decref(recs);
    return done_testing();
}
