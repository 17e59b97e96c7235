/* idset.h - sets of small non-negative integers in RFC 22 text form ("0-3,5").
 */
#ifndef FLUXFS_IDSET_H
#define FLUXFS_IDSET_H

#include <stdbool.h>
#include <stddef.h>

struct idset;

/* An empty set able to hold ids < capacity (it grows as needed). */
struct idset *idset_create(size_t capacity);
void idset_destroy(struct idset *s);

/* Parse "0-3,5,7-8" (also "[0-3]"; "" is the empty set).
 * Returns NULL with errno = EINVAL on bad text. */
struct idset *idset_decode(const char *text);

/* Encode in ascending ranges, e.g. "0-3,5". Caller frees. */
char *idset_encode(const struct idset *s);
/* Is id in the set text names? 1, 0, or -EINVAL if text is not an idset.
 * Nothing is expanded, so "0-2147483646" costs what "0" does. */
int idset_text_contains(const char *text, unsigned id);

int idset_set(struct idset *s, unsigned id);       /* 0 or -ENOMEM */
void idset_clear(struct idset *s, unsigned id);
bool idset_test(const struct idset *s, unsigned id);
size_t idset_count(const struct idset *s);

/* Iteration: first id, or -1 when empty; next id after prev, or -1. */
int idset_first(const struct idset *s);
int idset_next(const struct idset *s, unsigned prev);

#endif
