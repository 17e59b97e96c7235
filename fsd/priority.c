/* priority.c - multi-factor priority; see priority.h */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fsd/priority.h"
#include "sched/qmgr.h"

struct priority {
    struct priority_config cfg;
    struct fairshare *fs;
};

static const struct priority_config defaults = {
    .w_fairshare = 100000, .w_queue = 10000, .w_urgency = 1000, .w_age = 1000,
    .age_max = 7 * 86400., .halflife = 7 * 86400., .interval = 10,
};

int priority_config_parse(const char *text, struct priority_config *cfg, struct errmsg *err)
{
    static const struct { const char *key; size_t off; bool weight; } keys[] = {
        { "fairshare", offsetof(struct priority_config, w_fairshare), true },
        { "queue", offsetof(struct priority_config, w_queue), true },
        { "urgency", offsetof(struct priority_config, w_urgency), true },
        { "age", offsetof(struct priority_config, w_age), true },
        { "age-max", offsetof(struct priority_config, age_max), false },
        { "halflife", offsetof(struct priority_config, halflife), false },
        { "interval", offsetof(struct priority_config, interval), false },
    };
    struct priority_config c = defaults;
    char *copy = text ? strdup(text) : NULL, *save = NULL;
    int rc = 0;
    if (text && !copy)
        return errmsg_set(err, -ENOMEM, "out of memory");
    for (char *item = copy ? strtok_r(copy, ",", &save) : NULL; item && rc == 0;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '='), *end;
        size_t k;
        if (!eq) {
            rc = errmsg_set(err, -EINVAL, "priority: '%.40s' is not KEY=VALUE", item);
            break;
        }
        *eq = '\0';
        for (k = 0; k < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[k].key, item); k++)
            ;
        double v = strtod(eq + 1, &end);
        if (k == sizeof(keys) / sizeof(keys[0]))
            rc = errmsg_set(err, -EINVAL, "priority: unknown key '%.40s' (fairshare, queue, "
                            "urgency, age, age-max, halflife, interval)", item);
        else if (*end || eq[1] == '\0' || !isfinite(v) || v < 0 || (!keys[k].weight && v <= 0)
                 || v > 1e9)
            rc = errmsg_set(err, -EINVAL, "priority: %s: '%.40s' is not a %s", item, eq + 1,
                            keys[k].weight ? "weight (0 to 1e9)" : "number of seconds (> 0)");
        else
            *(double *)((char *)&c + keys[k].off) = v;
    }
    free(copy);
    if (rc == 0)
        *cfg = c;
    return rc;
}

struct priority *priority_create(const struct priority_config *cfg)
{
    struct priority *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cfg = cfg ? *cfg : defaults;
    if (!(p->fs = fairshare_create(p->cfg.halflife))) {
        free(p);
        return NULL;
    }
    return p;
}

void priority_destroy(struct priority *p)
{
    if (p) {
        fairshare_destroy(p->fs);
        free(p);
    }
}

const struct priority_config *priority_config(const struct priority *p)
{
    return &p->cfg;
}

struct fairshare *priority_fairshare(struct priority *p)
{
    return p->fs;
}

void priority_set_fairshare(struct priority *p, struct fairshare *fs)
{
    fairshare_destroy(p->fs);
    p->fs = fs;
}

int64_t priority_of(const struct priority *p, uid_t uid, const char *bank, int urgency,
                    double queue_prio, double t_submit, double now,
                    struct priority_factors *f)
{
    struct priority_factors x = { .urgency = urgency, .queue = queue_prio };
    const struct priority_config *c = &p->cfg;
    x.fairshare = fairshare_active(p->fs) ? fairshare_factor(p->fs, uid, bank) : 0;
    x.age = now > t_submit ? (now - t_submit) / c->age_max : 0;
    if (x.age > 1)
        x.age = 1;
    if (urgency == QMGR_URGENCY_HOLD)
        x.priority = PRIORITY_HELD;
    else if (urgency == QMGR_URGENCY_MAX)
        x.priority = PRIORITY_MAX;
    else {
        double v = c->w_fairshare * x.fairshare + c->w_queue * queue_prio
                   + c->w_urgency * urgency + c->w_age * x.age;
        /* whole numbers, as Flux's; rounding down keeps ties ties */
        x.priority = v < 1 ? 1 : v > PRIORITY_MAX - 1 ? PRIORITY_MAX - 1 : (int64_t)floor(v);
    }
    if (f)
        *f = x;
    return x.priority;
}

json_t *priority_factors_json(const struct priority *p, const struct priority_factors *f)
{
    const struct priority_config *c = &p->cfg;
    return json_pack("{s:I s:{s:f s:f s:i s:f} s:{s:f s:f s:f s:f}}",
                     "priority", (json_int_t)f->priority,
                     "factors", "fairshare", f->fairshare, "queue", f->queue,
                     "urgency", f->urgency, "age", f->age,
                     "weights", "fairshare", c->w_fairshare, "queue", c->w_queue,
                     "urgency", c->w_urgency, "age", c->w_age);
}
