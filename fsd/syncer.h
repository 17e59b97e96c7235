/* syncer.h - durable commits off the broker's loop thread (pipelined group
 * commit).
 *
 * A durable commit is a write (fast: the page cache) and an fdatasync
 * (~0.4 ms here, FACTS.md). Made on the loop thread, the fdatasync stops
 * everything: each submitter's open, write and close waits behind it, and
 * four clients got ~1,250 submissions/s. Instead the loop commits without
 * syncing (safe at once from a crash of the broker) and asks the syncer,
 * whose thread calls fn (mdb_env_sync) while the loop goes on; the
 * answers to the submissions a sync covers wait for it (their ticket). A
 * sync covers everything committed before it started, so submissions that
 * arrive while one runs share the next.
 */
#ifndef FLUXFS_SYNCER_H
#define FLUXFS_SYNCER_H

#include <stdint.h>

struct syncer;

/* fn(arg) makes everything written so far durable: 0 or -errno. It runs
 * on the syncer's thread, named name (top -H, bench-cpu.sh). NULL with
 * errno. */
typedef int (*syncer_fn)(void *arg);
struct syncer *syncer_create(syncer_fn fn, void *arg, const char *name);

/* Readable (the loop watches it) when a sync has ended. */
int syncer_fd(const struct syncer *s);

/* A sync of everything written until now: its ticket (1, 2, ...). */
uint64_t syncer_request(struct syncer *s);

/* After syncer_fd is readable: the highest ticket made durable, and the
 * highest whose sync failed (0: none) with its error. */
uint64_t syncer_done(struct syncer *s, uint64_t *failed, int *fail_rc);

/* What the sync that covered ticket (done) ended with: 0, or its error.
 * The last SYNCER_FAILS failures are remembered; a ticket older than one
 * forgotten is said to have failed (-EIO) rather than to be durable. */
#define SYNCER_FAILS 16
int syncer_result(struct syncer *s, uint64_t ticket);

/* fn(arg, rc) on the syncer's thread as soon as the sync that covers
 * ticket has ended (rc: 0, or its error), before the loop hears of it: a
 * submitter's answer then does not wait for the loop, which may be busy
 * or waiting for a core (one of the jobs it just started runs there). fn
 * owns arg. 0 when queued; 1 when that sync has ended already (fn is not
 * called: the caller answers as before); -ENOMEM. */
typedef void (*syncer_after_fn)(void *arg, int rc);
int syncer_after(struct syncer *s, uint64_t ticket, syncer_after_fn fn, void *arg);

/* The highest ticket made durable, without taking syncer_fd's wakeup:
 * cheap enough to ask before each request, so that whoever an answer from
 * syncer_after() let go finds the loop caught up with that sync. */
uint64_t syncer_peek(const struct syncer *s);

/* Makes what was asked for durable, answers its syncer_after()s, and
 * stops the thread; syncer_done() and syncer_result() still say how each
 * sync ended, for the books. NULL-safe. */
void syncer_stop(struct syncer *s);

/* syncer_stop(), then frees it; NULL-safe. */
void syncer_destroy(struct syncer *s);

#endif
