/* statedir.h - the state directory's own files, beside the store (store.h):
 * the lock that keeps a second broker out, and the disk-space reserve.
 */
#ifndef FLUXFS_STATEDIR_H
#define FLUXFS_STATEDIR_H

#include <stdbool.h>
#include <stdint.h>
#include "common/errmsg.h"

/* Set aside while the disk has room, given back to the store when it is
 * full: enough for many commits of state changes, never for output. */
#define STATEDIR_RESERVE (1ULL << 20)

/* Take DIR/lock (flock) and write our pid in it. 0 with *fdp held open, or
 * -EBUSY ("in use by pid N"), -errno, with err filled. A holder that has
 * said it is stopping (statedir_stopping) is waited for, up to
 * STATEDIR_STOP_WAIT seconds: `fusermount3 -u M && fluxfsd M` restarts,
 * although the old daemon gives its running jobs their kill grace first. */
#define STATEDIR_STOP_WAIT 60
int statedir_lock(const char *dir, int *fdp, struct errmsg *err);
/* Say in the lock (held: fd) that we are stopping and will release it. */
void statedir_stopping(int fd);

/* Bytes this process may still write on dir's file system (root may use
 * the blocks kept for root); UINT64_MAX if unknown. */
uint64_t statedir_free(const char *dir);
/* Whether DIR/reserve is there (set aside, not yet given back). */
bool statedir_has_reserve(const char *dir);
/* Give DIR/reserve back to the file system. */
void statedir_reserve_release(const char *dir);
/* Make DIR/reserve (STATEDIR_RESERVE bytes, allocated), whole or not at
 * all. 0 or -errno. */
int statedir_reserve_make(const char *dir);

#endif
