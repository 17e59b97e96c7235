/* usage.h - usage by user and bank over accounting records (fsd/acct.h):
 * what accounting/usage shows and `fluxfs account` prints. Pure. */
#ifndef FLUXFS_USAGE_H
#define FLUXFS_USAGE_H

#include <jansson.h>

/* One object per (userid, bank) of records (a JSON array of them), in
 * userid then bank order: {"userid", "bank", "jobs", "completed",
 * "failed", "core_seconds", "node_seconds", "gpu_seconds"}; "completed"
 * counts COMPLETED 0, "failed" the rest. Records whose t_inactive is
 * outside [since, until) are skipped (0 = open). NULL on ENOMEM. */
json_t *usage_totals(json_t *records, double since, double until);

#endif
