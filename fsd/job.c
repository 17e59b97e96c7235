/* job.c - job states, durable records and eventlog lines. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jobinfo.h"
#include "common/jsonw.h"
#include "common/strbuf.h"
#include "fsd/job.h"

static const char *state_names[JOB_NSTATES] = {
    "NEW", "DEPEND", "PRIORITY", "SCHED", "RUN", "CLEANUP", "INACTIVE",
};

static const char *result_names[] = {
    "", "COMPLETED", "FAILED", "CANCELED", "TIMEOUT", "LOST",
};

const char *job_state_name(enum job_state s)
{
    return (s >= 0 && s < JOB_NSTATES) ? state_names[s] : "UNKNOWN";
}

const char *job_result_name(enum job_result r)
{
    return (r >= 0 && r <= RESULT_LOST) ? result_names[r] : "";
}

static int state_from_name(const char *name)
{
    for (int i = 0; i < JOB_NSTATES; i++)
        if (strcmp(state_names[i], name) == 0)
            return i;
    return -1;
}

static int result_from_name(const char *name)
{
    for (int i = 0; i <= RESULT_LOST; i++)
        if (strcmp(result_names[i], name) == 0)
            return i;
    return -1;
}

int job_result_text(const struct job *job, char *buf, size_t size)
{
    switch (job->result) {
    case RESULT_NONE:
        return snprintf(buf, size, "%s", "");
    case RESULT_COMPLETED:
    case RESULT_FAILED:
        /* the exit status matters only when tasks ran to their end */
        return snprintf(buf, size, "%s %d\n", job_result_name(job->result), job->status);
    default:
        return snprintf(buf, size, "%s\n", job_result_name(job->result));
    }
}

struct job *job_create(uint64_t id)
{
    struct job *job = calloc(1, sizeof(*job));
    if (!job)
        return NULL;
    job->id = id;
    if (fluid_encode(id, job->idstr, sizeof(job->idstr)) < 0)
        snprintf(job->idstr, sizeof(job->idstr), "%llu", (unsigned long long)id);
    return job;
}

void job_destroy(struct job *job)
{
    if (!job)
        return;
    free(job->cwd);
    free(job->spec_text);
    jobspec_destroy(job->js);
    free(job->R);
    free(job->ev_pending);
    free(job->mirror_v);
    free(job->mem_by_rank);
    free(job->acct_text);
    free(job->start_nodes);
    free(job->env.envv);
    json_decref(job->R_json);
    jobinfo_release(job->list_spec);
    free(job->list_spec);
    free(job->list_line);
    free(job);
}

char *job_record_encode(const struct job *job)
{
    /* the jobspec and R are blobs of their own (store_blob_put), written
     * once: only their sizes are here. Written as text: the record is
     * rewritten at every change of state (job_record_decode reads it). */
    struct strbuf sb = STRBUF_INIT;
    int rc = strbuf_grow(&sb, 320);
    rc |= strbuf_addstr(&sb, "{");
    rc |= jsonw_kint(&sb, "id", (int64_t)job->id);
    rc |= jsonw_kstr(&sb, "state", job_state_name(job->state));
    rc |= jsonw_kstr(&sb, "result", job_result_name(job->result));
    rc |= jsonw_kint(&sb, "status", job->status);
    rc |= jsonw_kint(&sb, "uid", (int)job->uid);
    rc |= jsonw_kint(&sb, "gid", (int)job->gid);
    rc |= jsonw_kint(&sb, "urgency", job->urgency);
    /* times to the microsecond, as the eventlog has them: %.17g of two
     * doubles was 3% of the broker's time, a record being rewritten at
     * every change of state */
    rc |= jsonw_ktime(&sb, "t_submit", job->t_submit);
    rc |= jsonw_ktime(&sb, "t_state", job->t_state);
    rc |= jsonw_kint(&sb, "spec_len", (int64_t)job->spec_len);
    rc |= jsonw_kint(&sb, "R_len", (int64_t)job->R_len);
    rc |= jsonw_kint(&sb, "nevents", (int)job->nevents);
    rc |= jsonw_kint(&sb, "evlog_len", (int64_t)job->evlog_len);
    rc |= strbuf_addstr(&sb, ",\"out_len\":[");
    rc |= jsonw_int(&sb, (int64_t)job->out_len[1]);
    rc |= strbuf_addstr(&sb, ",");
    rc |= jsonw_int(&sb, (int64_t)job->out_len[2]);
    rc |= strbuf_addstr(&sb, "]");
    if (job->cwd)
        rc |= jsonw_kpath(&sb, "cwd", job->cwd);   /* "cwd_hex" when not UTF-8 */
    rc |= strbuf_addstr(&sb, "}");
    if (rc) {
        strbuf_release(&sb);
        return NULL;
    }
    return strbuf_detach(&sb, NULL);
}

/* A record's members, as the two readers below find them. */
struct record {
    const char *state, *result, *spec, *cwd, *R;
    char *cwd_buf;               /* cwd unescaped (fast_cwd), freed by the caller */
    size_t state_len, result_len, spec_len, cwd_len, R_len;
    bool cwd_hex;
    int64_t status, uid, gid, urgency, nevents, evlog_len, out1, out2, spec_size, R_size;
    double t_submit, t_state;
};

/* A job from the members read. */
static struct job *record_job(uint64_t id, const struct record *r)
{
    char name[16];
    struct job *job = NULL;
    int st = -1, res = -1;
    if (r->state_len < sizeof(name)) {
        memcpy(name, r->state, r->state_len);
        name[r->state_len] = '\0';
        st = state_from_name(name);
    }
    if (r->result_len < sizeof(name)) {
        memcpy(name, r->result, r->result_len);
        name[r->result_len] = '\0';
        res = result_from_name(name);
    }
    if (st < 0 || res < 0 || !(job = job_create(id)))
        return NULL;
    job->state = st;
    job->result = res;
    job->status = (int)r->status;
    job->uid = (uid_t)r->uid;
    job->gid = (gid_t)r->gid;
    job->urgency = (int)r->urgency;
    job->t_submit = r->t_submit;
    job->t_state = r->t_state;
    job->nevents = (int)r->nevents;
    job->evlog_len = (size_t)r->evlog_len;
    job->out_len[1] = (uint64_t)r->out1;
    job->out_len[2] = (uint64_t)r->out2;
    job->nevents_stored = job->nevents;
    job->evlog_stored = job->evlog_len;
    job->out_stored[1] = job->out_len[1];
    job->out_stored[2] = job->out_len[2];
    job->t_output[1] = job->t_output[2] = r->t_state;
    job->spec_len = r->spec ? r->spec_len : (size_t)r->spec_size;
    job->R_len = r->R ? r->R_len : (size_t)r->R_size;
    if ((r->spec && !(job->spec_text = strndup(r->spec, r->spec_len)))
        || (r->R && !(job->R = strndup(r->R, r->R_len))))
        goto error;
    job->legacy = r->spec != NULL;
    if (r->cwd) {
        job->cwd = r->cwd_hex ? jsonw_unhex(r->cwd, r->cwd_len) : strndup(r->cwd, r->cwd_len);
        if (!job->cwd || strlen(job->cwd) != (r->cwd_hex ? r->cwd_len / 2 : r->cwd_len))
            goto error;
    }
    job->committed = true;
    job->announced = true;
    return job;
error:
    job_destroy(job);
    return NULL;
}

/* The reader for what job_record_encode writes: its members in its order,
 * no white space, strings without escapes. Anything else (an older record,
 * a cwd with a quote in it) is jansson's; so is a number that does not end
 * where a member does. A cwd of raw bytes that are not UTF-8, which an
 * earlier version wrote and jansson refuses, reads back as it was. */
static const char *fast_str(const char *p, const char *end, const char **s, size_t *n)
{
    if (p >= end || *p != '"')
        return NULL;
    const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
    if (!q || memchr(p + 1, '\\', (size_t)(q - p - 1)) || memchr(p + 1, '\0', (size_t)(q - p - 1)))
        return NULL;
    *s = p + 1;
    *n = (size_t)(q - p - 1);
    return q + 1;
}

/* A cwd string as jsonw_str writes it, unescaped into r->cwd_buf when it
 * has escapes: a Latin-1 name with a quote in it, in a record an earlier
 * version wrote, is read too. NULL for any escape jsonw_str does not make. */
static const char *fast_cwd(const char *p, const char *end, struct record *r)
{
    if (p >= end || *p != '"')
        return NULL;
    const char *q = p + 1;
    bool esc = false;
    while (q < end && *q != '"') {
        if (*q == '\\') {
            esc = true;
            if (++q >= end)
                return NULL;
        }
        if (*q == '\0')
            return NULL;
        q++;
    }
    if (q >= end)
        return NULL;
    r->cwd = p + 1;
    r->cwd_len = (size_t)(q - p - 1);
    if (!esc)
        return q + 1;
    char *o = r->cwd_buf = malloc(r->cwd_len + 1);
    if (!o)
        return NULL;
    for (const char *s = p + 1; s < q; s++) {
        if (*s != '\\') {
            *o++ = *s;
            continue;
        }
        switch (*++s) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            /* \u00XX of a byte below 0x80 (jsonw_str's control characters) */
            if (q - s < 5 || s[1] != '0' || s[2] != '0' || s[3] < '0' || s[3] > '7'
                || !strchr("0123456789abcdefABCDEF", s[4]) || !s[4])
                return NULL;
            unsigned lo = (unsigned)(s[4] <= '9' ? s[4] - '0' : (s[4] | 0x20) - 'a' + 10);
            unsigned v = (unsigned)(s[3] - '0') << 4 | lo;
            if (v == 0)
                return NULL;
            *o++ = (char)v;
            s += 4;
            break;
        }
        default:
            return NULL;
        }
    }
    *o = '\0';
    r->cwd = r->cwd_buf;
    r->cwd_len = (size_t)(o - r->cwd_buf);
    return q + 1;
}

static const char *fast_int(const char *p, const char *end, int64_t *v)
{
    bool neg = p < end && *p == '-';
    const char *q = p + neg;
    uint64_t x = 0;
    /* JSON's integers: no leading zero (jansson refuses "007") */
    if (q >= end || *q < '0' || *q > '9'
        || (*q == '0' && q + 1 < end && q[1] >= '0' && q[1] <= '9'))
        return NULL;
    for (; q < end && *q >= '0' && *q <= '9'; q++) {
        if (x > (UINT64_MAX - 9) / 10)
            return NULL;
        x = x * 10 + (uint64_t)(*q - '0');
    }
    if (x > (uint64_t)INT64_MAX)
        return NULL;
    *v = neg ? -(int64_t)x : (int64_t)x;
    return q;
}

/* jsonw_time's "S.UUUUUU" (or an integer): JSON's number syntax without
 * an exponent, then strtod, as jansson reads it (the broker never sets a
 * locale, so '.' is the decimal point) */
static const char *fast_time(const char *p, const char *end, double *t)
{
    int64_t whole;
    const char *q = fast_int(p, end, &whole);
    if (!q)
        return NULL;
    if (q < end && *q == '.') {
        const char *f = ++q;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
        if (q == f)
            return NULL;
    }
    char num[32];
    size_t n = (size_t)(q - p);
    if (n >= sizeof(num) || (q < end && (*q == 'e' || *q == 'E')))
        return NULL;
    memcpy(num, p, n);
    num[n] = '\0';
    char *stop;
    *t = strtod(num, &stop);
    return stop == num + n ? q : NULL;
}

static bool fast_decode(const char *p, size_t len, struct record *r)
{
    const char *end = p + len;
    static const char *const keys[] = { "id", "state", "result", "status", "uid", "gid",
                                        "urgency", "t_submit", "t_state", "spec_len", "R_len",
                                        "nevents", "evlog_len", "out_len" };
    int64_t ignore;
    if (p >= end || *p++ != '{')
        return false;
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        size_t n = strlen(keys[k]);
        if (k > 0 && (p >= end || *p++ != ','))
            return false;
        if ((size_t)(end - p) < n + 3 || p[0] != '"' || memcmp(p + 1, keys[k], n) != 0
            || p[n + 1] != '"' || p[n + 2] != ':')
            return false;
        p += n + 3;
        switch (k) {
        case 0: p = fast_int(p, end, &ignore); break;
        case 1: p = fast_str(p, end, &r->state, &r->state_len); break;
        case 2: p = fast_str(p, end, &r->result, &r->result_len); break;
        case 3: p = fast_int(p, end, &r->status); break;
        case 4: p = fast_int(p, end, &r->uid); break;
        case 5: p = fast_int(p, end, &r->gid); break;
        case 6: p = fast_int(p, end, &r->urgency); break;
        case 7: p = fast_time(p, end, &r->t_submit); break;
        case 8: p = fast_time(p, end, &r->t_state); break;
        case 9: p = fast_int(p, end, &r->spec_size); break;
        case 10: p = fast_int(p, end, &r->R_size); break;
        case 11: p = fast_int(p, end, &r->nevents); break;
        case 12: p = fast_int(p, end, &r->evlog_len); break;
        case 13:
            if (p >= end || *p++ != '[' || !(p = fast_int(p, end, &r->out1)) || p >= end
                || *p++ != ',' || !(p = fast_int(p, end, &r->out2)) || p >= end || *p++ != ']')
                return false;
            break;
        }
        if (!p)
            return false;
    }
    if (p < end && *p == ',') {
        if ((size_t)(end - p) > 7 && memcmp(p, ",\"cwd\":", 7) == 0)
            p = fast_cwd(p + 7, end, r);
        else if ((size_t)(end - p) > 11 && memcmp(p, ",\"cwd_hex\":", 11) == 0) {
            p = fast_str(p + 11, end, &r->cwd, &r->cwd_len);
            r->cwd_hex = true;
        } else
            return false;
        if (!p)
            return false;
    }
    return p + 1 == end && *p == '}';
}

struct job *job_record_decode(uint64_t id, const void *data, size_t len)
{
    struct record r = { 0 };
    if (fast_decode(data, len, &r)) {
        struct job *job = record_job(id, &r);
        free(r.cwd_buf);
        return job;
    }
    free(r.cwd_buf);

    json_error_t jerr;
    json_t *o = json_loadb(data, len, 0, &jerr);
    const char *cwd_hex = NULL;
    size_t cwd_hex_len = 0;
    json_int_t spec_size = 0, R_size = 0, evlog_len, out1, out2;
    int status, uid, gid, urgency, nevents;
    struct job *job = NULL;

    if (!o)
        return NULL;
    memset(&r, 0, sizeof(r));
    /* records written before the blobs existed carry the texts themselves */
    if (json_unpack(o, "{s:s% s:s% s:i s:i s:i s:i s:F s:F s?s% s?I s?I s:i s:I s:[I,I] s?s% "
                    "s?s% s?s%}",
                    "state", &r.state, &r.state_len, "result", &r.result, &r.result_len,
                    "status", &status, "uid", &uid, "gid", &gid, "urgency", &urgency,
                    "t_submit", &r.t_submit, "t_state", &r.t_state,
                    "jobspec", &r.spec, &r.spec_len, "spec_len", &spec_size, "R_len", &R_size,
                    "nevents", &nevents, "evlog_len", &evlog_len, "out_len", &out1, &out2,
                    "cwd", &r.cwd, &r.cwd_len, "cwd_hex", &cwd_hex, &cwd_hex_len,
                    "R", &r.R, &r.R_len) == 0) {
        r.status = status;
        r.uid = uid;
        r.gid = gid;
        r.urgency = urgency;
        r.nevents = nevents;
        r.evlog_len = evlog_len;
        r.out1 = out1;
        r.out2 = out2;
        r.spec_size = spec_size;
        r.R_size = R_size;
        if (!r.cwd && cwd_hex) {
            r.cwd = cwd_hex;
            r.cwd_len = cwd_hex_len;
            r.cwd_hex = true;
        }
        job = record_job(id, &r);
    }
    json_decref(o);
    return job;
}

char *job_event_format_text(double timestamp, const char *name, const char *context)
{
    struct strbuf sb = STRBUF_INIT;
    int rc = strbuf_grow(&sb, 64 + (context ? strlen(context) : 2));
    rc |= strbuf_addstr(&sb, "{");
    rc |= jsonw_key(&sb, "timestamp");
    rc |= jsonw_time(&sb, timestamp);
    rc |= jsonw_kstr(&sb, "name", name);
    rc |= jsonw_key(&sb, "context");
    rc |= strbuf_addstr(&sb, context ? context : "{}");
    rc |= strbuf_addstr(&sb, "}\n");
    if (rc) {
        strbuf_release(&sb);
        return NULL;
    }
    return strbuf_detach(&sb, NULL);
}

char *job_event_format(double timestamp, const char *name, json_t *context)
{
    char *text = context ? json_dumps(context, JSON_COMPACT) : NULL;
    json_decref(context);
    if (context && !text)
        return NULL;
    char *line = job_event_format_text(timestamp, name, text);
    free(text);
    return line;
}
