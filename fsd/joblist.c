/* joblist.c - a job's line of `joblist` (see joblist.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/jobinfo.h"
#include "fsd/job.h"
#include "fsd/joblist.h"

/* What the jobspec says (name, tasks, cores and nodes asked for, duration,
 * bank), read once: NULL only when out of memory. */
static const struct jobinfo *spec_info(struct jobmgr *m, struct job *job)
{
    if (job->list_spec)
        return job->list_spec;
    struct jobinfo *s = malloc(sizeof(*s));
    if (!s)
        return NULL;
    jobinfo_init(s, NULL);
    const char *text;
    size_t len;
    if (jobmgr_job_blob(m, job, 'S', &text, &len) == 0)
        jobinfo_jobspec(s, text, len);
    if (!s->name && !(s->name = strdup("-"))) {
        free(s);
        return NULL;
    }
    job->list_spec = s;
    return s;
}

static int dup_str(char **dst, const char *s)
{
    return s && !(*dst = strdup(s)) ? -ENOMEM : 0;
}

static int build(struct jobmgr *m, struct job *job, struct strbuf *sb)
{
    const struct jobinfo *spec = spec_info(m, job);
    if (!spec)
        return -ENOMEM;
    struct jobinfo j;
    jobinfo_init(&j, job_get_idstr(job));
    int rc = dup_str(&j.name, spec->name) | dup_str(&j.bank, spec->bank);
    j.ntasks = spec->ntasks;
    j.ncores = spec->ncores;
    j.nnodes = spec->nnodes;
    j.duration = spec->duration;
    snprintf(j.state, sizeof(j.state), "%s", job_state_name(job_get_state(job)));
    char result[sizeof(j.result) + 1];
    if (job_result_text(job, result, sizeof(result)) > 0)
        snprintf(j.result, sizeof(j.result), "%.*s", (int)strcspn(result, "\n"), result);
    /* the eventlog's times, urgency, priority, status, exception, queue:
     * what jobs/<id>/eventlog shows, so the two never disagree */
    struct strbuf ev = STRBUF_INIT;
    if (jobmgr_eventlog(m, job, &ev) == 0)
        jobinfo_eventlog(&j, ev.buf, ev.len);
    strbuf_release(&ev);
    j.userid = (long)job_get_uid(job);
    const char *R;
    size_t rlen;
    if (job_get_R_size(job) > 0 && jobmgr_job_blob(m, job, 'R', &R, &rlen) == 0)
        jobinfo_R(&j, R, rlen);
    rc |= jobinfo_write(&j, sb);
    jobinfo_release(&j);
    return rc ? -ENOMEM : 0;
}

int joblist_line(struct jobmgr *m, struct job *job, struct strbuf *sb)
{
    if (job->list_line && job->list_state == job->state && job->list_nevents == job->nevents
        && job->list_stored == job->nevents_stored)
        return strbuf_add(sb, job->list_line, job->list_len);
    size_t start = sb->len;
    int rc = build(m, job, sb);
    char *line = rc == 0 ? realloc(job->list_line, sb->len - start) : NULL;
    if (line) {
        job->list_line = line;
        job->list_len = sb->len - start;
        memcpy(line, sb->buf + start, job->list_len);
        job->list_state = job->state;
        job->list_nevents = job->nevents;
        job->list_stored = job->nevents_stored;
    }
    /* ended and all of its eventlog committed: its line is final, and
     * what the jobspec said is no longer needed */
    if (line && job->state == JOB_INACTIVE && job->nevents_stored == job->nevents) {
        jobinfo_release(job->list_spec);
        free(job->list_spec);
        job->list_spec = NULL;
    }
    return rc;
}
