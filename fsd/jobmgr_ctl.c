/* jobmgr_ctl.c - what users and the instance owner ask of jobs: the
 * control verbs of jobs/<id>/ctl (cancel, signal, urgency, shutdown of a
 * nested instance), cancel at shutdown, and resources/ctl's effect on the
 * jobs of a vertex that goes down. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "fsd/depend.h"
#include "fsd/jobmgr_private.h"


bool jobmgr_may_control(struct jobmgr *m, const struct job *job, uid_t uid)
{
    return uid == 0 || uid == m->owner || uid == job->uid;
}

static int cancel_job(struct jobmgr *m, struct job *job, uid_t uid, const char *type,
                      const char *note, struct errmsg *err)
{
    struct jobstate_step st;
    if (jobstate_next(job->state, JOBEV_EXCEPTION, &st) < 0)
        return errmsg_set(err, -EINVAL, "job '%s' is inactive", job->idstr);
    if (job->state == JOB_RUN) {
        if (!job->canceling)
            jm_job_terminate(m, job, type, uid, note, RESULT_CANCELED);
        return 0;
    }
    jm_post_exception(m, job, type, uid, note);
    jm_job_end_pending(m, job, RESULT_CANCELED);
    return 0;
}

static int ctl_cancel(struct jobmgr *m, struct job *job, uid_t uid, struct errmsg *err)
{
    return cancel_job(m, job, uid, "cancel", "canceled by user", err);
}

void jobmgr_cancel_all(struct jobmgr *m, const char *type, const char *note)
{
    for (struct job *job = jobmgr_next(m, 1); job; job = jobmgr_next(m, job->seq + 1))
        if (job->state != JOB_INACTIVE && job->state != JOB_CLEANUP)
            cancel_job(m, job, m->owner, type, note, NULL);
}

void jobmgr_terminate_running(struct jobmgr *m, const char *type, const char *note)
{
    for (struct job *job = jobmgr_next(m, 1); job; job = jobmgr_next(m, job->seq + 1))
        if (job->state == JOB_RUN)
            cancel_job(m, job, m->owner, type, note, NULL);
}

size_t jobmgr_active(struct jobmgr *m)
{
    size_t n = 0;
    for (int s = JOB_NEW; s < JOB_INACTIVE; s++)
        n += jobtable_count(m->jobs, s);
    return n;
}

static int parse_signal(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*s && !*end)
        return (n > 0 && n < NSIG) ? (int)n : -1;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (int i = 1; i < NSIG; i++) {
        const char *name = sigabbrev_np(i);
        if (name && strcasecmp(name, s) == 0)
            return i;
    }
    return -1;
}

static int ctl_line(struct jobmgr *m, struct job *job, uid_t uid, char *line, struct errmsg *err)
{
    char *verb = strtok(line, " \t");
    char *arg = strtok(NULL, " \t");
    char *extra = arg ? strtok(NULL, " \t") : NULL;

    if (!verb)
        return 0;
    if (strcmp(verb, "cancel") == 0 && !arg)
        return ctl_cancel(m, job, uid, err);
    if (strcmp(verb, "signal") == 0 && !extra) {
        int sig = arg ? parse_signal(arg) : SIGTERM;
        if (sig < 0)
            return errmsg_set(err, -EINVAL, "unknown signal '%s'", arg);
        if (job->state != JOB_RUN)
            return errmsg_set(err, -EINVAL, "job '%s' is not running", job->idstr);
        return executor_signal(m->exec, job->id, sig);
    }
    if (strcmp(verb, "shutdown") == 0 && arg) {
        char *more = strtok(NULL, " \t");
        bool force = extra && !strcmp(extra, "force");
        if ((extra && !force) || more)
            return errmsg_set(err, -EINVAL, "usage: shutdown NAME [force]");
        if (!m->hooks || !m->hooks->nest_shutdown)
            return errmsg_set(err, -ENOTSUP, "no nested instances here");
        return m->hooks->nest_shutdown(m->hooks_arg, job, arg, uid, force, err);
    }
    if (strcmp(verb, "urgency") == 0 && arg && !extra) {
        char *end;
        long u = strtol(arg, &end, 10);
        int max = (uid == 0 || uid == m->owner) ? QMGR_URGENCY_MAX : QMGR_URGENCY_DEFAULT;
        if (*end || u < 0 || u > max)
            return errmsg_set(err, -EINVAL, "urgency '%s' out of range 0-%d", arg, max);
        if (job->state != JOB_SCHED && job->state != JOB_DEPEND)
            return errmsg_set(err, -EINVAL, "job '%s' is not pending", job->idstr);
        job->urgency = (int)u;
        if (job->state == JOB_SCHED)
            qmgr_set_urgency(m->q, job->id, job->urgency);
        m->sched_needed = true;
        jm_post_event(m, job, "urgency", json_pack("{s:i s:i}", "userid", (int)uid,
                                                 "urgency", job->urgency));
        if (job->state == JOB_SCHED)
            jm_job_prioritize(m, job);
        else   /* in DEPEND, the priority it will get */
            jm_post_event(m, job, "priority", json_pack("{s:i}", "priority", job->urgency));
        jm_notify(m, job, JOBMGR_STATE, 0);
        return 0;
    }
    return errmsg_set(err, -EINVAL,
                      "unknown control '%s' (expected: cancel, signal N, urgency N)", verb);
}

int jobmgr_ctl(struct jobmgr *m, struct job *job, uid_t uid, const char *text, size_t len,
               struct errmsg *err)
{
    if (!jobmgr_may_control(m, job, uid))
        return errmsg_set(err, -EPERM, "job '%s' belongs to user %d", job->idstr, (int)job->uid);
    if (len > 4096)
        return errmsg_set(err, -E2BIG, "control text too long");
    char buf[4097], *save = NULL;
    memcpy(buf, text, len);
    buf[len] = '\0';
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int rc = ctl_line(m, job, uid, line, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Running jobs holding anything at or beneath v get exception type
 * "resource" and are terminated: their node is gone. Every job using
 * something beneath v holds v itself (shared at least); one holding an
 * ancestor whole (a node under lonodex) has v too. */
static void fail_jobs_beneath(struct jobmgr *m, int v, const char *what)
{
    for (int u = v; u >= 0; u = graph_vertex(m->graph, u)->parent) {
        const struct graph_vertex *x = graph_vertex(m->graph, u);
        for (int i = 0; i < x->nholds; i++) {
            struct job *job = jobmgr_lookup(m, x->holds[i].job);
            if (u != v && x->holds[i].kind != GRAPH_HOLD_X)
                continue;
            if (!job || job->state != JOB_RUN || job->canceling)
                continue;
            jm_job_terminate(m, job, "resource", m->owner, what, RESULT_FAILED);
        }
    }
}

/* A vertex went down: the jobs on it fail. */
void jm_on_resource_down(void *arg, int v, const char *path)
{
    struct jobmgr *m = arg;
    char what[1100];
    snprintf(what, sizeof(what), "resource %s went down", path);
    fail_jobs_beneath(m, v, what);
    m->sched_needed = true;
}

int jobmgr_resource_ctl(struct jobmgr *m, uid_t uid, const char *text, size_t len,
                        struct errmsg *err)
{
    if (uid != 0 && uid != m->owner)
        return errmsg_set(err, -EPERM, "only the instance owner may change resources");
    if (m->cfg.read_only)
        return errmsg_set(err, -EROFS, "this instance has ended: it is read-only");
    int rc = resources_ctl(m->res, text, len, err);
    if (rc == 0)
        m->sched_needed = true;
    return rc;
}

