/* workq.h - long pure work on a thread of its own, finished on the loop.
 *
 * The loop answers every FUSE request, schedules and reaps; whatever it
 * spends seconds on, everyone waits for. Some work is long but touches
 * nothing of the instance: parsing a bulk submission of 32 MiB takes
 * seconds (YAML goes at about 8 MB/s here). A work queue runs fn(arg) on
 * its thread, one item at a time in the order pushed, then done(arg,
 * false) on the loop's thread (an eventfd wakes it). fn must touch nothing
 * the loop touches but its arg.
 *
 * The thread is started by the first push (most instances never need it)
 * with every signal blocked, so signals keep going to the loop's thread.
 */
#ifndef FLUXFS_WORKQ_H
#define FLUXFS_WORKQ_H

#include <stdbool.h>
#include <stddef.h>

#include "common/ev.h"

struct workq;

typedef void (*workq_fn)(void *arg);
/* canceled: fn may or may not have run (workq_destroy); the owner frees. */
typedef void (*workq_done_fn)(void *arg, bool canceled);

/* name: the thread's (top -H, bench-cpu.sh). NULL with errno. */
struct workq *workq_create(struct ev_loop *loop, const char *name);

/* 0, or -errno (no memory, no thread): then done is never called. */
int workq_push(struct workq *q, workq_fn fn, workq_done_fn done, void *arg);

/* Items pushed whose done has not been called yet. */
size_t workq_pending(const struct workq *q);

/* Waits for the item in progress, then calls done(arg, true) for every
 * item not finished. NULL-safe. */
void workq_destroy(struct workq *q);

#endif
