/* jobopt.c - Flux's submission options as jobspec JSON; see jobopt.h */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/jobopt.h"

int jobopt_fsd(const char *s, bool bare_minutes, double *secs)
{
    static const struct { const char *unit; double mult; } units[] = {
        { "ms", .001 }, { "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 },
    };
    char *end;
    if (!((*s >= '0' && *s <= '9') || *s == '.'))
        return -EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return -EINVAL;
    if (!*end) {
        *secs = bare_minutes ? v * 60 : v;
        return 0;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (!strcmp(end, units[i].unit) && isfinite(v * units[i].mult)) {
            *secs = v * units[i].mult;
            return 0;
        }
    }
    return -EINVAL;
}

int jobopt_set_attr(json_t *attributes, const char *spec, bool opt, struct errmsg *err)
{
    const char *eq = strchr(spec, '=');
    const char *what = opt ? "--setopt" : "--setattr";
    char key[512];
    size_t klen = eq ? (size_t)(eq - spec) : strlen(spec);
    const char *prefix = opt ? "system.shell.options."
                       : (!strncmp(spec, "system.", 7) || !strncmp(spec, "user.", 5)) ? ""
                       : "system.";
    if (klen == 0 || (size_t)snprintf(key, sizeof(key), "%s%.*s", prefix, (int)klen, spec)
                         >= sizeof(key))
        return errmsg_set(err, -EINVAL, "%s: invalid key in '%.100s'", what, spec);
    json_t *val = !eq ? json_integer(1) : json_loads(eq + 1, JSON_DECODE_ANY, NULL);
    if (!val)
        val = json_string(eq + 1);
    if (!val)
        return errmsg_set(err, -EINVAL, "%s: '%.100s' is not valid UTF-8", what, spec);
    json_t *o = attributes;
    char *save = NULL, *part = strtok_r(key, ".", &save), *next;
    for (; part && (next = strtok_r(NULL, ".", &save)); part = next) {
        json_t *child = json_object_get(o, part);
        if (!json_is_object(child)) {
            child = json_object();
            json_object_set_new(o, part, child);
        }
        o = child;
    }
    if (!part || json_object_set_new(o, part, val) < 0)
        return errmsg_set(err, -EINVAL, "%s: cannot set '%.100s'", what, spec);
    return 0;
}

int jobopt_signal(const char *arg, int *sig, double *timeleft, struct errmsg *err)
{
    const char *at = strchr(arg, '@');
    size_t len = at ? (size_t)(at - arg) : strlen(arg);
    char name[32];
    *sig = SIGUSR1;
    *timeleft = 60;
    if (len >= sizeof(name))
        goto bad;
    snprintf(name, sizeof(name), "%.*s", (int)len, arg);
    if (len > 0) {
        char *end;
        long n = strtol(name, &end, 10);
        if (end != name && !*end && n > 0 && n < NSIG)
            *sig = (int)n;
        else {
            const char *bare = strncasecmp(name, "SIG", 3) ? name : name + 3;
            int i;
            for (i = 1; i < NSIG; i++) {
                const char *abbrev = sigabbrev_np(i);
                if (abbrev && !strcasecmp(abbrev, bare))
                    break;
            }
            if (i == NSIG)
                goto bad;
            *sig = i;
        }
    }
    /* an FSD: a bare number is seconds here (it is minutes in --time-limit) */
    if (at && at[1] && jobopt_fsd(at + 1, false, timeleft) < 0)
        goto bad;
    return 0;
bad:
    return errmsg_set(err, -EINVAL, "--signal: invalid '%.60s' (SIG@TIME: e.g. USR1@60, "
                      "SIGTERM@5m, @2m, 10)", arg);
}

/* One term: host:LIST, rank:IDSET, properties:P, a property, -TERM. */
static json_t *requires_term(const char *t)
{
    bool neg = *t == '-';
    json_t *c;
    if (neg)
        t++;
    const char *colon = strchr(t, ':');
    if (!*t)
        return NULL;
    if (colon && (!strncmp(t, "host:", 5) || !strncmp(t, "hosts:", 6)
                  || !strncmp(t, "hostlist:", 9)))
        c = json_pack("{s:[s]}", "hostlist", colon + 1);
    else if (colon && (!strncmp(t, "rank:", 5) || !strncmp(t, "ranks:", 6)))
        c = json_pack("{s:[s]}", "ranks", colon + 1);
    else if (!colon || !strncmp(t, "properties:", 11)) {
        /* "a,b": both properties, as Flux reads them */
        char *list = strdup(colon ? colon + 1 : t), *save = NULL;
        c = list ? json_pack("{s:[]}", "properties") : NULL;
        for (char *p = c ? strtok_r(list, ",", &save) : NULL; p; p = strtok_r(NULL, ",", &save))
            json_array_append_new(json_object_get(c, "properties"), json_string(p));
        free(list);
        if (c && json_array_size(json_object_get(c, "properties")) == 0) {
            json_decref(c);
            return NULL;
        }
    } else
        return NULL;
    return neg && c ? json_pack("{s:[o]}", "not", c) : c;
}

int jobopt_requires(const char *query, json_t **out, struct errmsg *err)
{
    char *copy = strdup(query), *save = NULL;
    json_t *alts = json_array(), *all = json_array();
    bool negate = false, ok = copy && alts && all;
    for (char *w = ok ? strtok_r(copy, " \t", &save) : NULL; w && ok;
         w = strtok_r(NULL, " \t", &save)) {
        if (!strcasecmp(w, "and"))
            continue;
        if (!strcasecmp(w, "not")) {
            negate = !negate;
            continue;
        }
        if (!strcasecmp(w, "or")) {
            ok = json_array_size(all) > 0 && !negate;
            json_array_append_new(alts, json_pack("{s:o}", "and", all));
            all = json_array();
            continue;
        }
        json_t *c = strchr(w, '(') || strchr(w, ')') ? NULL : requires_term(w);
        ok = c != NULL;
        if (c && negate)
            c = json_pack("{s:[o]}", "not", c);
        negate = false;
        if (c)
            json_array_append_new(all, c);
    }
    ok = ok && all && json_array_size(all) > 0 && !negate;
    free(copy);
    if (!ok) {
        json_decref(alts);
        json_decref(all);
        return errmsg_set(err, -EINVAL, "--requires: cannot read '%.60s' (terms: PROPERTY, "
                          "host:HOSTLIST, rank:IDSET, -TERM or not TERM, joined by blanks "
                          "(and) or 'or'; no parentheses)", query);
    }
    if (json_array_size(alts) == 0) {
        json_decref(alts);
        *out = json_pack("{s:o}", "and", all);
    } else {
        json_array_append_new(alts, json_pack("{s:o}", "and", all));
        *out = json_pack("{s:o}", "or", alts);
    }
    return *out ? 0 : errmsg_set(err, -ENOMEM, "out of memory");
}
