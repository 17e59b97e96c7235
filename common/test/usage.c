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

    /* a record at a time, many users and banks in no order: the totals
     * come sorted, one row each, with what was added to it */
    struct usage_sum *sum = usage_sum_create(0, 0);
    int bad = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int uid = 299; uid >= 0; uid--)
            for (int b = 0; b < 3; b++) {
                json_t *r = json_pack("{s:i s:s? s:f s:f s:s s:i s:f s:f s:i}", "userid",
                                      (uid * 7919) % 300, "bank",
                                      b == 0 ? NULL : b == 1 ? "phys" : "chem", "t_run", 1.0,
                                      "t_inactive", 2.0, "result", "COMPLETED", "status", pass,
                                      "core_seconds", 1.0, "node_seconds", 1.0, "ngpus", 0);
                bad += usage_sum_add(sum, r) != 0;
                json_decref(r);
            }
    ok(!bad, "usage_sum_add: 1,800 records added");
    json_t *rows = usage_sum_totals(sum), *row;
    size_t i;
    int prev = -1, order = 0, counts = 0;
    json_array_foreach(rows, i, row) {
        int uid = (int)json_integer_value(json_object_get(row, "userid"));
        order += uid < prev;
        prev = uid;
        counts += json_integer_value(json_object_get(row, "jobs")) != 2
                  || json_integer_value(json_object_get(row, "completed")) != 1
                  || json_real_value(json_object_get(row, "core_seconds")) != 2.0;
    }
    is((int)json_array_size(rows), 900, "usage_sum: a row per (user, bank)");
    ok(!order && !counts, "... sorted by user, each with its 2 jobs, 1 completed, 2 core-seconds");
    const char *b0 = json_string_value(json_object_get(json_array_get(rows, 1), "bank"));
    ok(json_is_null(json_object_get(json_array_get(rows, 0), "bank")) && b0 && !strcmp(b0, "chem"),
       "... no bank first, then banks in name order");
    json_decref(rows);
    usage_sum_destroy(sum);
    return done_testing();
}
