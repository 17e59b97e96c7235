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

/* The record of job, whose jobspec is js (NULL: no attributes known) and R
 * the text R (NULL: none), ended at t_end, having run from t_run (0: never). */
json_t *acct_record(const struct job *job, const struct jobspec *js, const char *R,
                    double t_run, double t_end);

/* Nodes, cores and gpus an R holds (R_lite: ranks x children; 0 each for
 * NULL). */
void acct_count_R(json_t *R, int *nnodes, int *ncores, int *ngpus);

#endif
