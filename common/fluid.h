/* fluid.h - unique, time-ordered 64-bit job IDs (Flux RFC 19 FLUIDs).
 *
 * Layout: 40 bits of milliseconds since the generator's epoch, 10 bits of
 * generator id (broker rank), 14 bits of sequence within the millisecond.
 * Spelled in ASCII F58: 'f' followed by base58 digits (Flux accepts the same
 * spelling), e.g. "f3Ckjp2oQ". Shell-safe and used as directory names.
 */
#ifndef FLUXFS_FLUID_H
#define FLUXFS_FLUID_H

#include <stdint.h>
#include <stddef.h>

#define FLUID_STR_MAX 16   /* 'f' + at most 11 base58 digits + NUL, with room */

struct fluid_gen {
    uint64_t epoch_ms;   /* wall-clock ms that timestamp 0 stands for */
    uint32_t genid;      /* 0..1023 */
    uint64_t last_ts;    /* last timestamp used */
    uint32_t seq;        /* sequence within last_ts */
};

/* Initialise; ids generated will be greater than 'after' (pass the largest
 * id ever issued, 0 if none) so restarts never reuse an id. Returns 0 or -EINVAL. */
int fluid_gen_init(struct fluid_gen *g, uint64_t epoch_ms, uint32_t genid, uint64_t after);

/* Next id. Returns 0 or -EAGAIN if the clock went backwards beyond recovery. */
int fluid_gen_next(struct fluid_gen *g, uint64_t *id);

/* Milliseconds since epoch encoded in id. */
uint64_t fluid_timestamp(uint64_t id);

/* Encode to buf (at least FLUID_STR_MAX bytes). Returns 0 or -EINVAL. */
int fluid_encode(uint64_t id, char *buf, size_t size);

/* Decode "f..." (also accepts Flux's UTF-8 "ƒ" prefix and plain decimal).
 * Only canonical spellings: no leading zero digits ("f12", "007" are
 * rejected) so each id has one directory name. Returns 0 or -EINVAL. */
int fluid_decode(const char *s, uint64_t *id);

#endif
