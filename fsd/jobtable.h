/* jobtable.h - every job the broker knows, by id and by order of appearance.
 *
 * The table owns its jobs (jobtable_destroy frees them) and counts them by
 * state. Lookups by id are O(1) (open addressing); jobs are also numbered
 * 1, 2, 3... in the order they entered this broker run (job->seq), which
 * names their inodes and orders directory listings. A job's state changes
 * only through jobtable_set_state, so the counts stay true.
 */
#ifndef FLUXFS_JOBTABLE_H
#define FLUXFS_JOBTABLE_H

#include <stddef.h>
#include <stdint.h>
#include "fsd/job.h"

struct jobtable;

struct jobtable *jobtable_create(void);
/* Frees the table and every job in it. NULL-safe. */
void jobtable_destroy(struct jobtable *t);

/* Make room for n more jobs: the next n inserts cannot fail. 0 or -ENOMEM. */
int jobtable_reserve(struct jobtable *t, size_t n);
/* Add job (its seq is set here); the table owns it from now on. 0 or -ENOMEM. */
int jobtable_insert(struct jobtable *t, struct job *job);
/* Take job out (the caller frees it). */
void jobtable_remove(struct jobtable *t, struct job *job);

struct job *jobtable_lookup(const struct jobtable *t, uint64_t id);
/* By the canonical F58 spelling only (each id has exactly one). */
struct job *jobtable_lookup_name(const struct jobtable *t, const char *idstr);
struct job *jobtable_lookup_seq(const struct jobtable *t, uint64_t seq);
/* First job whose seq >= seq, or NULL: for (j = next(t, 1); j; j = next(t, j->seq + 1)). */
struct job *jobtable_next(const struct jobtable *t, uint64_t seq);
/* The largest seq handed out so far (jobs below it may be gone). */
uint64_t jobtable_last_seq(const struct jobtable *t);

void jobtable_set_state(struct jobtable *t, struct job *job, enum job_state state);
/* Jobs of uid not yet running (NEW to SCHED). */
size_t jobtable_pending_of(const struct jobtable *t, uid_t uid);
size_t jobtable_count(const struct jobtable *t, enum job_state s);

#endif
