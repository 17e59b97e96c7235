/* depend.c - job dependency schemes (RFC 26 subset). */
#include <errno.h>
#include <string.h>

#include "fsd/depend.h"

static const char *schemes[] = { "after", "afterany", "afterok", "afternotok", "begin-time",
                                  "singleton" };
#define BEGIN_TIME 4
#define SINGLETON 5

static json_t *dep_list(json_t *jobspec)
{
    json_t *system = json_object_get(json_object_get(jobspec, "attributes"), "system");
    return json_object_get(system, "dependencies");
}

static int scheme_index(const char *s)
{
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strcmp(schemes[i], s) == 0)
            return (int)i;
    return -1;
}

bool depend_singleton(json_t *jobspec)
{
    json_t *d;
    size_t i;
    json_array_foreach(dep_list(jobspec), i, d)
        if (scheme_index(json_string_value(json_object_get(d, "scheme")) ?: "") == SINGLETON)
            return true;
    return false;
}

int depend_validate(json_t *jobspec, depend_lookup_f lookup, void *arg, struct errmsg *err)
{
    json_t *deps = dep_list(jobspec), *d;
    size_t i;
    if (!deps)
        return 0;
    if (!json_is_array(deps))
        return errmsg_set(err, -EINVAL, "attributes.system.dependencies: must be a list");
    json_array_foreach(deps, i, d) {
        const char *scheme, *value;
        json_t *v = json_object_get(d, "value");
        if (json_unpack(d, "{s:s}", "scheme", &scheme) == 0
            && scheme_index(scheme) == BEGIN_TIME) {
            if (!json_is_number(v) || json_number_value(v) < 0)
                return errmsg_set(err, -EINVAL, "attributes.system.dependencies[%zu].value: "
                                  "begin-time takes a time in seconds since the epoch", i);
            continue;
        }
        if (json_unpack(d, "{s:s s:s}", "scheme", &scheme, "value", &value) < 0)
            return errmsg_set(err, -EINVAL, "attributes.system.dependencies[%zu]: must be "
                              "a mapping with string 'scheme' and 'value'", i);
        if (scheme_index(scheme) < 0)
            return errmsg_set(err, -EINVAL, "attributes.system.dependencies[%zu].scheme: "
                              "unknown scheme '%s' (expected after, afterany, afterok, "
                              "afternotok, begin-time, singleton)", i, scheme);
        if (scheme_index(scheme) == SINGLETON)
            continue;   /* its value names no job: the job manager decides it */
        if (!lookup(arg, value))
            return errmsg_set(err, -EINVAL, "attributes.system.dependencies[%zu].value: "
                              "unknown job '%s'", i, value);
    }
    return (int)json_array_size(deps);
}

/* One dependency on target: ready, waiting, or never. */
static enum depend_status check_one(int scheme, const struct job *t)
{
    bool ended = t->state == JOB_INACTIVE;
    bool started = t->state >= JOB_RUN && (t->state != JOB_INACTIVE || t->R_len > 0);
    bool ok = ended && t->result == RESULT_COMPLETED && t->status == 0;
    switch (scheme) {
    case 0:   /* after */
        return started ? DEPEND_READY : ended ? DEPEND_NEVER : DEPEND_WAIT;
    case 1:   /* afterany */
        return ended ? DEPEND_READY : DEPEND_WAIT;
    case 2:   /* afterok */
        return !ended ? DEPEND_WAIT : ok ? DEPEND_READY : DEPEND_NEVER;
    default:  /* afternotok */
        return !ended ? DEPEND_WAIT : ok ? DEPEND_NEVER : DEPEND_READY;
    }
}

enum depend_status depend_check(json_t *jobspec, depend_lookup_f lookup, void *arg,
                                double now, double *wake, struct errmsg *err)
{
    json_t *deps = dep_list(jobspec), *d;
    enum depend_status all = DEPEND_READY;
    size_t i;
    json_array_foreach(deps, i, d) {
        const char *scheme = json_string_value(json_object_get(d, "scheme"));
        if (scheme && scheme_index(scheme) == BEGIN_TIME) {
            double t = json_number_value(json_object_get(d, "value"));
            if (t > now) {
                all = DEPEND_WAIT;
                if (wake && (*wake <= 0 || t < *wake))
                    *wake = t;
            }
            continue;
        }
        if (scheme && scheme_index(scheme) == SINGLETON)
            continue;   /* jobmgr: depend_singleton() */
        const char *value = json_string_value(json_object_get(d, "value"));
        struct job *t = value ? lookup(arg, value) : NULL;
        int s = scheme ? scheme_index(scheme) : -1;
        enum depend_status st = (t && s >= 0) ? check_one(s, t) : DEPEND_NEVER;
        if (st == DEPEND_NEVER) {
            errmsg_set(err, 0, "dependency %s on %s can never be satisfied",
                       scheme ? scheme : "?", value ? value : "?");
            return DEPEND_NEVER;
        }
        if (st == DEPEND_WAIT)
            all = DEPEND_WAIT;
    }
    return all;
}
