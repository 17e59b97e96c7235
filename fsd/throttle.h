/* throttle.h - at most LIMIT jobs of one group past DEPEND at once.
 *
 * Slurm's --array=1-100%4: the jobs of one array wait in DEPEND while four
 * of them are scheduled or running, and the next is let through when one of
 * those ends. A group is a user's: its key is (uid, id), so no one can use
 * up another user's array by naming it. The counts live in memory only: the
 * job manager counts again, from the job states, when it recovers.
 */
#ifndef FLUXFS_THROTTLE_H
#define FLUXFS_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct throttle;

struct throttle *throttle_create(void);
void throttle_destroy(struct throttle *t);

/* Let one more job of the group through if fewer than limit are: true, and
 * it is counted; false, and nothing changes. limit <= 0 lets all through
 * (and counts nothing). */
bool throttle_admit(struct throttle *t, uid_t uid, uint64_t id, int limit);
/* Count one, whatever the limit (a recovered job already past DEPEND);
 * 0 or -ENOMEM. */
int throttle_take(struct throttle *t, uid_t uid, uint64_t id);
/* One counted job of the group has ended. */
void throttle_release(struct throttle *t, uid_t uid, uint64_t id);
/* How many of the group are counted now. */
int throttle_count(const struct throttle *t, uid_t uid, uint64_t id);

#endif
