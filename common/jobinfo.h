/* jobinfo.h - what a listing shows of a job (flux jobs' columns), and the
 * one place that reads it out of the job's own texts.
 *
 * The broker builds each job's line of `joblist` (doc/tree.md "joblist")
 * from its eventlog, jobspec and R; the CLI reads those lines back, and
 * reads the same three files of one job when it asks about that job alone.
 * Both go through these functions, so the two can never disagree about
 * what a job's name, its cores or its run time are.
 */
#ifndef FLUXFS_JOBINFO_H
#define FLUXFS_JOBINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

struct jobinfo {
    char id[32];
    char state[16];          /* NEW .. INACTIVE, "" if unknown */
    char result[32];         /* "" while active */
    char *name;              /* job.name, else basename of command[0], else "-";
                                "?" when its jobspec is not ours to read */
    bool spec_hidden;        /* that jobspec could not be read: name, tasks unknown */
    long userid;             /* from the submit event, -1 if unknown */
    int ntasks, nnodes;      /* -1 if unknown (e.g. nnodes before alloc) */
    int ncores;              /* R's cores once allocated, else what it asks */
    int urgency, priority;   /* -1 if unknown */
    double duration;         /* seconds, 0 = unlimited, -1 if unknown */
    double t_submit, t_run, t_cleanup, t_inactive;   /* 0 if not yet */
    int status;              /* the finish event's (largest exit code, 128 + signal), -1 */
    char *nodelist;          /* from R, NULL before allocation */
    char *exception;         /* "type: note" of the last fatal exception, or NULL */
    char *queue;             /* its named queue (submit event), or NULL */
    char *bank;              /* attributes.system.bank, or NULL */
};

/* Everything unknown, the id set (truncated to fit). */
void jobinfo_init(struct jobinfo *j, const char *id);
/* Frees the strings; j is left as jobinfo_init() leaves it, id kept.
 * NULL-safe. */
void jobinfo_release(struct jobinfo *j);

/* What each text says, merged into j: the eventlog (RFC 18 lines: times,
 * userid, urgency, priority, status, the last fatal exception, queue); a
 * jobspec or batch script (name, tasks, cores and nodes asked for,
 * duration, bank: false if it does not parse, and then j->name is "-"); R
 * (nodelist, nodes and the cores held). Unparseable lines are skipped. */
void jobinfo_eventlog(struct jobinfo *j, const char *text, size_t len);
bool jobinfo_jobspec(struct jobinfo *j, const char *text, size_t len);
void jobinfo_R(struct jobinfo *j, const char *text, size_t len);

/* j as one line of joblist: a JSON object and '\n', unknowns as null. */
int jobinfo_write(const struct jobinfo *j, struct strbuf *sb);
/* j from such a line (len bytes, no NUL needed): 0, or -EINVAL when it is
 * not one (no "id"). j is initialised first either way. */
int jobinfo_read(struct jobinfo *j, const char *line, size_t len);

#endif
