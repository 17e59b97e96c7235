/* joblist.h - the lines of `joblist` (doc/tree.md "joblist"): every job,
 * a JSON object a line, as `flux jobs` lists it (common/jobinfo.h).
 *
 * A line is built from what the job manager keeps of the job: its eventlog,
 * jobspec and R. What the jobspec says is read once per job (it never
 * changes, and parsing it is most of a line's cost); the last line built
 * is kept, and used again until the job's state or eventlog moves, so that
 * listing ten thousand retained or waiting jobs again is a copy of each.
 * Both go with the job.
 */
#ifndef FLUXFS_JOBLIST_H
#define FLUXFS_JOBLIST_H

#include "common/strbuf.h"
#include "fsd/jobmgr.h"

/* Append job's line to sb: 0 or -ENOMEM. */
int joblist_line(struct jobmgr *m, struct job *job, struct strbuf *sb);

#endif
