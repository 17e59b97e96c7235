/* acct.h - accounting records: what an ended job used, kept apart from the
 * job so that purging it leaves the record (doc/tree.md "accounting/").
 *
 * One JSON object per ended job, written with the commit that makes the job
 * INACTIVE, and again with the next if that one fails (so a record is
 * exactly as durable as the job's end):
 *   {"id": F58, "userid", "name", "bank", "queue", "t_submit", "t_run",
 *    "t_inactive", "nnodes", "ncores", "ngpus", "result", "status",
 *    "core_seconds", "node_seconds"}
 * bank and queue are the jobspec's attributes.system.bank and .queue (null
 * when it names none); t_run is 0 for a job that never ran; nnodes, ncores
 * and ngpus come from the job's R (0 without one). Pure: no I/O.
 */
#ifndef FLUXFS_ACCT_H
#define FLUXFS_ACCT_H

#include <jansson.h>
#include "fsd/job.h"

struct acct_in {
    const char *R;              /* the job's R as text (NULL: none), counted
                                   unless the job's counts are (job->counted) */
    const char *bank, *queue;   /* when the jobspec names none, or NULL */
    double t_run, t_end;        /* it ran from t_run (0: never), ended at t_end */
};

/* The record of job as JSON text (free it; NULL out of memory), whose
 * jobspec is js (NULL: no attributes known); *bank is the bank it names
 * (in js or in), *core_seconds what it used. Written as text: a record per
 * job built as a jansson tree was 8% of the broker's time. */
char *acct_record(const struct job *job, const struct jobspec *js, const struct acct_in *in,
                  const char **bank, double *core_seconds);

/* The userid of a record (-1 if it has none): acct_record()'s own shape,
 * {"id":"F58","userid":N,...}, is read without a parse, so that a user's
 * few records are found among a year of everyone's; any other is parsed. */
long acct_record_uid(const char *data, size_t len);

/* Nodes, cores and gpus an R holds (R_lite: ranks x children; 0 each for
 * NULL). */
void acct_count_R(json_t *R, int *nnodes, int *ncores, int *ngpus);

#endif
