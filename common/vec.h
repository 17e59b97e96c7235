/* vec.h - one growable array for every element type, in the manner of
 * git's ALLOC_GROW: the array stays a plain pointer with a length and a
 * capacity beside it, and this makes room.
 *
 *     if (vec_grow(&a->ids, &a->alloc, a->len + 1, sizeof(*a->ids)) < 0)
 *         return -ENOMEM;
 *     a->ids[a->len++] = id;
 */
#ifndef FLUXFS_VEC_H
#define FLUXFS_VEC_H

#include <stddef.h>

/* Make *pp (an array of elements of size bytes, with room for *alloc)
 * hold at least need elements, doubling its capacity (at least 16). On
 * failure nothing changes. 0 or -ENOMEM (also when need * size would
 * overflow). */
int vec_grow(void *pp, size_t *alloc, size_t need, size_t size);

#endif
