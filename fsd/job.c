/* job.c - job states, durable records and eventlog lines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        rc |= jsonw_kstr(&sb, "cwd", job->cwd);
    rc |= strbuf_addstr(&sb, "}");
    if (rc) {
        strbuf_release(&sb);
        return NULL;
    }
    return strbuf_detach(&sb, NULL);
}

struct job *job_record_decode(uint64_t id, const void *data, size_t len)
{
    json_error_t jerr;
    json_t *o = json_loadb(data, len, 0, &jerr);
    const char *state, *result, *spec = NULL, *cwd = NULL, *R = NULL;
    size_t spec_len = 0, R_len = 0;
    json_int_t spec_size = 0, R_size = 0;
    int status, uid, gid, urgency, nevents;
    json_int_t evlog_len, out1, out2;
    double t_submit, t_state;
    struct job *job = NULL;

    if (!o)
        return NULL;
    /* records written before the blobs existed carry the texts themselves */
    if (json_unpack(o, "{s:s s:s s:i s:i s:i s:i s:F s:F s?s% s?I s?I s:i s:I s:[I,I] s?s "
                    "s?s%}",
                    "state", &state, "result", &result, "status", &status,
                    "uid", &uid, "gid", &gid, "urgency", &urgency,
                    "t_submit", &t_submit, "t_state", &t_state,
                    "jobspec", &spec, &spec_len, "spec_len", &spec_size, "R_len", &R_size,
                    "nevents", &nevents, "evlog_len", &evlog_len, "out_len", &out1, &out2,
                    "cwd", &cwd, "R", &R, &R_len) < 0)
        goto error;
    int st = state_from_name(state), res = result_from_name(result);
    if (st < 0 || res < 0 || !(job = job_create(id)))
        goto error;
    job->state = st;
    job->result = res;
    job->status = status;
    job->uid = uid;
    job->gid = gid;
    job->urgency = urgency;
    job->t_submit = t_submit;
    job->t_state = t_state;
    job->nevents = nevents;
    job->evlog_len = evlog_len;
    job->out_len[1] = out1;
    job->out_len[2] = out2;
    job->nevents_stored = job->nevents;
    job->evlog_stored = job->evlog_len;
    job->out_stored[1] = job->out_len[1];
    job->out_stored[2] = job->out_len[2];
    job->t_output[1] = job->t_output[2] = t_state;
    job->spec_len = spec ? spec_len : (size_t)spec_size;
    job->R_len = R ? R_len : (size_t)R_size;
    if ((spec && !(job->spec_text = strndup(spec, spec_len)))
        || (R && !(job->R = strndup(R, R_len))))
        goto error;
    job->legacy = spec != NULL;
    if (cwd && !(job->cwd = strdup(cwd)))
        goto error;
    job->committed = true;
    job->announced = true;
    json_decref(o);
    return job;
error:
    job_destroy(job);
    json_decref(o);
    return NULL;
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
