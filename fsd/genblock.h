/* genblock.h - which job-id generators an instance may hand to its children.
 *
 * Every instance of a tree mints job ids (common/fluid.h) with its own
 * 14-bit generator. An instance owns a block of generators [first, first +
 * count): it mints with 'first' and gives each nested instance it starts a
 * block carved from the rest, disjoint from the blocks of its other live
 * children. A child's descendants only ever use its block, so no two live
 * instances of a tree share a generator, with nothing shared between
 * brokers but the command line (doc/tree.md "Job IDs"). A root instance
 * owns all of them: 0 and 16384.
 *
 * Pure functions: no I/O, no allocation.
 */
#ifndef FLUXFS_GENBLOCK_H
#define FLUXFS_GENBLOCK_H

#include <stddef.h>
#include <stdint.h>
#include "common/fluid.h"

struct genblock {
    uint32_t first;     /* this instance's own generator */
    uint32_t count;     /* 1 .. FLUID_GENERATOR_MAX + 1 - first */
};

/* The root's block: generator 0, all 16384. */
#define GENBLOCK_ROOT ((struct genblock){ 0, FLUID_GENERATOR_MAX + 1 })

/* Parse "G" or "G:N" (the daemon's --generator). "G" alone is the block
 * [G, G+1), or the root's block for G = 0. 0 or -EINVAL (out of range,
 * empty block, trailing text). */
int genblock_parse(const char *s, struct genblock *out);

/* Pick a block for a new child of parent, given the blocks of the parent's
 * live children (used[0..nused), each inside parent, disjoint). The child
 * gets the start of the largest free run: half of it when the parent has no
 * live child (a chain of single children nests about 14 deep), else about
 * its square root (a parent's first hundred or so concurrent children all
 * get room for nesting of their own). 0 with *out set, or -ENOSPC when
 * every generator of the block is in use. */
int genblock_child(const struct genblock *parent, const struct genblock *used, size_t nused,
                   struct genblock *out);

#endif
