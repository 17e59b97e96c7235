/* usage.c - accounting records summed by user and bank; see usage.h */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/usage.h"

struct usage {
    int userid;
    char *bank;
    json_int_t jobs, completed, failed;
    double core_s, node_s, gpu_s;
};

struct usage_sum {
    double since, until;
    struct usage *u;
    size_t n, alloc;
};

static int usage_cmp(const void *a, const void *b)
{
    const struct usage *x = a, *y = b;
    if (x->userid != y->userid)
        return x->userid < y->userid ? -1 : 1;
    return strcmp(x->bank ? x->bank : "", y->bank ? y->bank : "");
}

struct usage_sum *usage_sum_create(double since, double until)
{
    struct usage_sum *s = calloc(1, sizeof(*s));
    if (s) {
        s->since = since;
        s->until = until;
    }
    return s;
}

void usage_sum_destroy(struct usage_sum *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->u[i].bank);
    free(s->u);
    free(s);
}

/* the (userid, bank) entry, made on first use; NULL on ENOMEM. Entries are
 * kept in order, found by bisection: a centre's hundreds of users and
 * banks times a year of records is no quadratic walk. */
static struct usage *entry(struct usage_sum *s, int userid, const char *bank)
{
    struct usage key = { .userid = userid, .bank = (char *)bank };
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = usage_cmp(&s->u[mid], &key);
        if (c == 0)
            return &s->u[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s->n == s->alloc) {
        size_t alloc = s->alloc ? s->alloc * 2 : 16;
        struct usage *u = realloc(s->u, alloc * sizeof(*u));
        if (!u)
            return NULL;
        s->u = u;
        s->alloc = alloc;
    }
    char *b = bank ? strdup(bank) : NULL;
    if (bank && !b)
        return NULL;
    memmove(&s->u[lo + 1], &s->u[lo], (s->n - lo) * sizeof(*s->u));
    struct usage *e = &s->u[lo];
    memset(e, 0, sizeof(*e));
    e->userid = userid;
    e->bank = b;
    s->n++;
    return e;
}

int usage_sum_add(struct usage_sum *s, json_t *r)
{
    double end = json_number_value(json_object_get(r, "t_inactive"));
    if ((s->since > 0 && end < s->since) || (s->until > 0 && end >= s->until))
        return 0;
    struct usage *e = entry(s, (int)json_integer_value(json_object_get(r, "userid")),
                            json_string_value(json_object_get(r, "bank")));
    if (!e)
        return -ENOMEM;
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
    return 0;
}

json_t *usage_sum_totals(struct usage_sum *s)
{
    json_t *out = json_array();
    if (!out)
        return NULL;
    for (size_t i = 0; i < s->n; i++) {
        struct usage *u = &s->u[i];
        if (json_array_append_new(out, json_pack("{s:i s:s? s:I s:I s:I s:f s:f s:f}",
                                                 "userid", u->userid, "bank", u->bank,
                                                 "jobs", u->jobs, "completed", u->completed,
                                                 "failed", u->failed, "core_seconds", u->core_s,
                                                 "node_seconds", u->node_s,
                                                 "gpu_seconds", u->gpu_s)) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

json_t *usage_totals(json_t *records, double since, double until)
{
    struct usage_sum *s = usage_sum_create(since, until);
    json_t *r, *out = NULL;
    size_t i;
    if (!s)
        return NULL;
    json_array_foreach(records, i, r) {
        if (usage_sum_add(s, r) < 0)
            goto out;
    }
    out = usage_sum_totals(s);
out:
    usage_sum_destroy(s);
    return out;
}
