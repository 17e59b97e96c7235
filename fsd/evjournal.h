/* evjournal.h - the instance's event journal: every job event, in commit
 * order, as the lines `events` serves (doc/tree.md "events").
 *
 * An append-only stream of lines with global byte offsets: offset 0 is the
 * first byte ever appended, evj_end() the next. Memory is bounded: the
 * oldest whole lines are dropped to stay under the capacity, so only
 * [evj_start(), evj_end()) can be read. Pure: no I/O, no loop.
 */
#ifndef FLUXFS_EVJOURNAL_H
#define FLUXFS_EVJOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct evj;

/* A journal keeping at most cap bytes (at least one line of up to cap). */
struct evj *evj_create(size_t cap);
void evj_destroy(struct evj *j);   /* NULL-safe */

/* Append one line (len bytes, ending in '\n'; longer than the capacity:
 * -E2BIG). 0, -EINVAL, -E2BIG. */
int evj_append(struct evj *j, const char *line, size_t len);

uint64_t evj_start(const struct evj *j);
uint64_t evj_end(const struct evj *j);

/* Where the last n lines begin (evj_start() if fewer are kept). */
uint64_t evj_backlog(const struct evj *j, size_t n);

/* Copy up to size bytes from global offset off (at least evj_start()) into
 * buf: how many (0 at or past the end, or before the start). */
size_t evj_read(const struct evj *j, uint64_t off, char *buf, size_t size);

#endif
