/* fluid.h - unique, time-ordered 64-bit job IDs (Flux RFC 19 FLUIDs).
 *
 * Layout (RFC 19): 40 bits of milliseconds since the generator's epoch, 14
 * bits of generator id (one per live instance of a tree: doc/tree.md "Job
 * IDs"), 10 bits of sequence within the millisecond. Older stores hold ids
 * split 10 generator / 14 sequence bits; they decode and resolve as they are
 * (an id is a 64-bit number), and since the timestamp field is the same in
 * both layouts, ids minted after the change sort after them (see
 * fluid_gen_init()).
 * Spelled in ASCII F58: 'f' followed by base58 digits (Flux accepts the same
 * spelling), e.g. "f3Ckjp2oQ". Shell-safe and used as directory names.
 */
#ifndef FLUXFS_FLUID_H
#define FLUXFS_FLUID_H

#include <stdint.h>
#include <stddef.h>

#define FLUID_STR_MAX 16   /* 'f' + at most 11 base58 digits + NUL, with room */

#define FLUID_TS_BITS        40
#define FLUID_GENERATOR_BITS 14
#define FLUID_SEQ_BITS       10
#define FLUID_GENERATOR_MAX  ((1U << FLUID_GENERATOR_BITS) - 1)   /* 16383 */
#define FLUID_SEQ_MAX        ((1U << FLUID_SEQ_BITS) - 1)         /* 1023 */

struct fluid_gen {
    uint64_t epoch_ms;   /* wall-clock ms that timestamp 0 stands for */
    uint32_t genid;      /* 0..FLUID_GENERATOR_MAX */
    uint64_t last_ts;    /* timestamp of the last id (or of 'after') */
    uint32_t next_seq;   /* sequence the next id at last_ts gets; past
                          * FLUID_SEQ_MAX means last_ts is used up */
};

/* Initialise; ids generated will be greater than 'after' (pass the largest
 * id ever issued from this store, under either layout, 0 if none) so
 * restarts never reuse an id. Returns 0 or -EINVAL (genid too large). */
int fluid_gen_init(struct fluid_gen *g, uint64_t epoch_ms, uint32_t genid, uint64_t after);

/* Next id: strictly greater than every id this generator issued before.
 * Never waits: past FLUID_SEQ_MAX + 1 ids in one millisecond it borrows the
 * next millisecond (the timestamp runs ahead of the clock until the clock
 * catches up); a clock that went backwards is treated the same way. Returns
 * 0, or -EAGAIN once the 40-bit timestamp is used up (34 years). */
int fluid_gen_next(struct fluid_gen *g, uint64_t *id);

/* Fields of an id under the current layout. */
uint64_t fluid_timestamp(uint64_t id);   /* ms since epoch (both layouts) */
uint32_t fluid_generator(uint64_t id);
uint32_t fluid_sequence(uint64_t id);

/* An id (or any 64-bit key) mixed so that every bit of it reaches every
 * bit of the result, for hash tables: take the low bits or a remainder.
 * Ids of one burst differ only in a few sequence and millisecond bits; a
 * plain multiply left most of a table's buckets unused (192 of 8,192 for
 * 100,000 ids at 3 a millisecond). MurmurHash3's finalizer. */
static inline uint64_t fluid_hash(uint64_t id)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdull;
    id ^= id >> 33;
    id *= 0xc4ceb9fe1a85ec53ull;
    id ^= id >> 33;
    return id;
}

/* Encode to buf (at least FLUID_STR_MAX bytes). Returns 0 or -EINVAL. */
int fluid_encode(uint64_t id, char *buf, size_t size);

/* Decode "f..." (also accepts Flux's UTF-8 "ƒ" prefix and plain decimal).
 * Only canonical spellings: no leading zero digits ("f12", "007" are
 * rejected) so each id has one directory name. Returns 0 or -EINVAL. */
int fluid_decode(const char *s, uint64_t *id);

/* Any RFC 19 spelling a person types: those fluid_decode() takes, hex
 * ("0x1f4"), dothex ("0000.0000.0000.01f4") and decimal with leading zeros
 * (not the mnemonic words). For arguments; a directory has one name, its
 * F58 (fluid_encode). 0 or -EINVAL. */
int fluid_parse(const char *s, uint64_t *id);

#endif
