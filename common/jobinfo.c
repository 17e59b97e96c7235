/* jobinfo.c - what a listing shows of a job (see jobinfo.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/batch.h"
#include "common/hostlist.h"
#include "common/idset.h"
#include "common/jobinfo.h"
#include "common/jobspec.h"
#include "common/jsonw.h"

void jobinfo_init(struct jobinfo *j, const char *id)
{
    memset(j, 0, sizeof(*j));
    snprintf(j->id, sizeof(j->id), "%s", id ? id : "");
    j->userid = -1;
    j->ntasks = j->nnodes = j->ncores = j->urgency = j->priority = -1;
    j->duration = -1;
    j->status = -1;
}

void jobinfo_release(struct jobinfo *j)
{
    if (!j)
        return;
    char id[sizeof(j->id)];
    memcpy(id, j->id, sizeof(id));
    free(j->name);
    free(j->nodelist);
    free(j->exception);
    free(j->queue);
    free(j->bank);
    jobinfo_init(j, id);
}

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = s ? strdup(s) : NULL;
}

static void eventlog_line(struct jobinfo *j, json_t *e)
{
    json_t *ctx;
    const char *name;
    double ts;
    if (json_unpack(e, "{s:F s:s s:o}", "timestamp", &ts, "name", &name, "context", &ctx) < 0)
        return;
    if (!strcmp(name, "submit")) {
        j->t_submit = ts;
        json_int_t uid = -1, urg = -1;
        const char *queue = NULL;
        json_unpack(ctx, "{s?I s?I s?s}", "userid", &uid, "urgency", &urg, "queue", &queue);
        j->userid = (long)uid;
        j->urgency = (int)urg;
        if (queue && !j->queue)
            j->queue = strdup(queue);
    } else if (!strcmp(name, "urgency")) {
        json_int_t urg = j->urgency;
        json_unpack(ctx, "{s?I}", "urgency", &urg);
        j->urgency = (int)urg;
    } else if (!strcmp(name, "priority")) {
        json_int_t pri = j->priority;
        json_unpack(ctx, "{s?I}", "priority", &pri);
        j->priority = (int)pri;
    } else if (!strcmp(name, "alloc")) {
        j->t_run = ts;
    } else if (!strcmp(name, "finish")) {
        json_int_t st = -1;
        json_unpack(ctx, "{s?I}", "status", &st);
        j->status = st < 0 || st > 65535 ? -1 : (int)st;
        if (!j->t_cleanup)
            j->t_cleanup = ts;
    } else if (!strcmp(name, "exception")) {
        const char *type = "?", *note = "";
        json_int_t sev = 0;
        json_unpack(ctx, "{s?s s?s s?I}", "type", &type, "note", &note, "severity", &sev);
        if (sev == 0) {
            free(j->exception);
            if (asprintf(&j->exception, "%s%s%s", type, *note ? ": " : "", note) < 0)
                j->exception = NULL;
            if (!j->t_cleanup)
                j->t_cleanup = ts;
        }
    } else if (!strcmp(name, "clean")) {
        j->t_inactive = ts;
    }
}

void jobinfo_eventlog(struct jobinfo *j, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *e = n ? json_loadb(p, n, 0, NULL) : NULL;
        if (e)
            eventlog_line(j, e);
        json_decref(e);
        p = nl ? nl + 1 : end;
    }
}

bool jobinfo_jobspec(struct jobinfo *j, const char *text, size_t len)
{
    struct jobspec *js = NULL;
    struct errmsg err;
    char *spec = NULL;
    size_t slen;
    /* a batch script is shown through the jobspec it stands for */
    if (text && batch_is_script(text, len) && batch_to_jobspec(text, len, &spec, &slen, &err) == 0) {
        text = spec;
        len = slen;
    }
    bool ok = text && jobspec_parse(text, len, &js, &err) == 0;
    if (ok) {
        j->ntasks = jobspec_ntasks(js);
        /* what it asks for, until R says what it got */
        j->ncores = js->slot_cores * js->nslots * (js->nnodes > 0 ? js->nnodes : 1);
        j->duration = js->duration;
        if (js->nnodes > 0)
            j->nnodes = js->nnodes;
        const char *bank = json_string_value(json_object_get(json_object_get(
            json_object_get(js->json, "attributes"), "system"), "bank"));
        if (bank && !j->bank)
            j->bank = strdup(bank);
        if (jobspec_job_name(js))
            set_str(&j->name, jobspec_job_name(js));
    }
    jobspec_destroy(js);
    free(spec);
    if (!j->name)
        j->name = strdup("-");
    return ok;
}

void jobinfo_R(struct jobinfo *j, const char *text, size_t len)
{
    json_t *R = text && len ? json_loadb(text, len, 0, NULL) : NULL;
    json_t *nodelist = NULL;
    if (R && json_unpack(R, "{s:{s:o}}", "execution", "nodelist", &nodelist) == 0
        && json_is_array(nodelist)) {
        struct hostlist *hl = hostlist_create();
        size_t i;
        json_t *v;
        json_array_foreach(nodelist, i, v) {
            if (hl && json_is_string(v))
                hostlist_append(hl, json_string_value(v));
        }
        if (hl && hostlist_count(hl) > 0) {
            j->nnodes = hostlist_count(hl);
            free(j->nodelist);
            j->nodelist = hostlist_encode(hl);
        }
        hostlist_destroy(hl);
    }
    /* the cores it holds: R_lite's core idsets */
    json_t *lite = json_object_get(json_object_get(R, "execution"), "R_lite"), *entry;
    size_t i, ncores = 0;
    json_array_foreach(lite, i, entry) {
        struct idset *ranks = idset_decode(json_string_value(json_object_get(entry, "rank")));
        struct idset *cores = idset_decode(json_string_value(json_object_get(
                                  json_object_get(entry, "children"), "core")));
        if (ranks && cores)
            ncores += idset_count(ranks) * idset_count(cores);
        idset_destroy(ranks);
        idset_destroy(cores);
    }
    if (ncores > 0)
        j->ncores = (int)ncores;
    json_decref(R);
}

/* -1 (unknown) as null */
static int kint_or_null(struct strbuf *sb, const char *name, long v)
{
    return v < 0 ? jsonw_key(sb, name) | strbuf_add(sb, "null", 4) : jsonw_kint(sb, name, v);
}

int jobinfo_write(const struct jobinfo *j, struct strbuf *sb)
{
    int rc = strbuf_addstr(sb, "{");
    rc |= jsonw_kstr(sb, "id", j->id);
    rc |= kint_or_null(sb, "userid", j->userid);
    rc |= jsonw_kstr(sb, "state", j->state[0] ? j->state : NULL);
    rc |= jsonw_kstr(sb, "result", j->result[0] ? j->result : NULL);
    rc |= jsonw_kstr(sb, "name", j->spec_hidden ? NULL : j->name);
    rc |= jsonw_kstr(sb, "queue", j->queue);
    rc |= jsonw_kstr(sb, "bank", j->bank);
    rc |= kint_or_null(sb, "urgency", j->urgency);
    rc |= kint_or_null(sb, "priority", j->priority);
    rc |= kint_or_null(sb, "ntasks", j->ntasks);
    rc |= kint_or_null(sb, "nnodes", j->nnodes);
    rc |= kint_or_null(sb, "ncores", j->ncores);
    if (j->duration < 0)
        rc |= jsonw_key(sb, "duration") | strbuf_add(sb, "null", 4);
    else
        rc |= jsonw_knum(sb, "duration", j->duration);
    rc |= jsonw_ktime(sb, "t_submit", j->t_submit);
    rc |= jsonw_ktime(sb, "t_run", j->t_run);
    rc |= jsonw_ktime(sb, "t_cleanup", j->t_cleanup);
    rc |= jsonw_ktime(sb, "t_inactive", j->t_inactive);
    rc |= kint_or_null(sb, "status", j->status);
    rc |= jsonw_kstr(sb, "nodelist", j->nodelist);
    rc |= jsonw_kstr(sb, "exception", j->exception);
    rc |= strbuf_addstr(sb, "}\n");
    return rc ? -ENOMEM : 0;
}

static const char *get_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* an integer member, -1 when null, absent or not one */
static long get_int(json_t *o, const char *key, long dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

static double get_num(json_t *o, const char *key, double dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

int jobinfo_read(struct jobinfo *j, const char *line, size_t len)
{
    jobinfo_init(j, NULL);
    json_t *o = json_loadb(line, len, 0, NULL);
    const char *id = get_str(o, "id");
    if (!id) {
        json_decref(o);
        return -EINVAL;
    }
    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->state, sizeof(j->state), "%s", get_str(o, "state") ? get_str(o, "state") : "");
    snprintf(j->result, sizeof(j->result), "%s", get_str(o, "result") ? get_str(o, "result") : "");
    json_t *name = json_object_get(o, "name");
    j->spec_hidden = json_is_null(name);
    set_str(&j->name, json_is_string(name) ? json_string_value(name) : "?");
    set_str(&j->queue, get_str(o, "queue"));
    set_str(&j->bank, get_str(o, "bank"));
    set_str(&j->nodelist, get_str(o, "nodelist"));
    set_str(&j->exception, get_str(o, "exception"));
    j->userid = get_int(o, "userid", -1);
    j->urgency = (int)get_int(o, "urgency", -1);
    j->priority = (int)get_int(o, "priority", -1);
    j->ntasks = (int)get_int(o, "ntasks", -1);
    j->nnodes = (int)get_int(o, "nnodes", -1);
    j->ncores = (int)get_int(o, "ncores", -1);
    j->status = (int)get_int(o, "status", -1);
    j->duration = get_num(o, "duration", -1);
    j->t_submit = get_num(o, "t_submit", 0);
    j->t_run = get_num(o, "t_run", 0);
    j->t_cleanup = get_num(o, "t_cleanup", 0);
    j->t_inactive = get_num(o, "t_inactive", 0);
    json_decref(o);
    return 0;
}
