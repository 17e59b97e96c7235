/* usage.c - accounting records summed by user and bank; see usage.h */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/usage.h"

struct usage {
    int userid;
    const char *bank;
    json_int_t jobs, completed, failed;
    double core_s, node_s, gpu_s;
};

static int usage_cmp(const void *a, const void *b)
{
    const struct usage *x = a, *y = b;
    if (x->userid != y->userid)
        return x->userid < y->userid ? -1 : 1;
    return strcmp(x->bank ? x->bank : "", y->bank ? y->bank : "");
}

json_t *usage_totals(json_t *records, double since, double until)
{
    size_t n = json_array_size(records), nu = 0, i;
    struct usage *u = calloc(n ? n : 1, sizeof(*u));
    json_t *out = json_array(), *r;
    if (!u || !out) {
        free(u);
        json_decref(out);
        return NULL;
    }
    json_array_foreach(records, i, r) {
        double end = json_number_value(json_object_get(r, "t_inactive"));
        if ((since > 0 && end < since) || (until > 0 && end >= until))
            continue;
        struct usage key = { .userid = (int)json_integer_value(json_object_get(r, "userid")),
                             .bank = json_string_value(json_object_get(r, "bank")) };
        struct usage *e = NULL;
        for (size_t k = 0; k < nu && !e; k++)
            if (!usage_cmp(&u[k], &key))
                e = &u[k];
        if (!e) {
            e = &u[nu++];
            *e = key;
        }
        double ran = json_number_value(json_object_get(r, "t_run")) > 0
                   ? end - json_number_value(json_object_get(r, "t_run")) : 0;
        e->jobs++;
        const char *res = json_string_value(json_object_get(r, "result"));
        bool ok = res && !strcmp(res, "COMPLETED")
                  && json_integer_value(json_object_get(r, "status")) == 0;
        e->completed += ok;
        e->failed += !ok;
        e->core_s += json_number_value(json_object_get(r, "core_seconds"));
        e->node_s += json_number_value(json_object_get(r, "node_seconds"));
        e->gpu_s += ran * (double)json_integer_value(json_object_get(r, "ngpus"));
    }
    qsort(u, nu, sizeof(*u), usage_cmp);
    for (i = 0; i < nu; i++)
        json_array_append_new(out, json_pack("{s:i s:s? s:I s:I s:I s:f s:f s:f}",
                                             "userid", u[i].userid, "bank", u[i].bank,
                                             "jobs", u[i].jobs, "completed", u[i].completed,
                                             "failed", u[i].failed, "core_seconds", u[i].core_s,
                                             "node_seconds", u[i].node_s,
                                             "gpu_seconds", u[i].gpu_s));
    free(u);
    return out;
}
