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

/* The same a record at a time, holding only the totals (a year of records
 * is not kept to be summed): add each, then take the totals (NULL on
 * ENOMEM); usage_sum_add() is 0 or -ENOMEM. */
struct usage_sum;
struct usage_sum *usage_sum_create(double since, double until);
int usage_sum_add(struct usage_sum *s, json_t *record);
json_t *usage_sum_totals(struct usage_sum *s);
void usage_sum_destroy(struct usage_sum *s);

#endif
