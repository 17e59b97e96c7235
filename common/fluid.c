/* fluid.c - unique, time-ordered 64-bit job IDs (Flux RFC 19 FLUIDs). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "common/fluid.h"

#define FLUID_TS_BITS    40
#define FLUID_GENID_BITS 10
#define FLUID_SEQ_BITS   14

#define FLUID_TS_LIMIT   (1ULL << FLUID_TS_BITS)
#define FLUID_GENID_MAX  ((1U << FLUID_GENID_BITS) - 1)
#define FLUID_SEQ_MAX    ((1U << FLUID_SEQ_BITS) - 1)

#define FLUID_TS_SHIFT    (FLUID_GENID_BITS + FLUID_SEQ_BITS)
#define FLUID_GENID_SHIFT FLUID_SEQ_BITS

/* Same alphabet as flux-core's F58 (bitcoin base58). */
static const char f58_alphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
#define F58_BASE 58

/* "ƒ" (U+0192) in UTF-8, the prefix flux-core prints by default. */
static const char f58_utf8_prefix[] = "\xc6\x92";

static uint64_t fluid_pack(uint64_t ts, uint32_t genid, uint32_t seq)
{
    return (ts << FLUID_TS_SHIFT) | ((uint64_t)genid << FLUID_GENID_SHIFT) | seq;
}

static uint32_t fluid_genid(uint64_t id)
{
    return (id >> FLUID_GENID_SHIFT) & FLUID_GENID_MAX;
}

static uint32_t fluid_seq(uint64_t id)
{
    return id & FLUID_SEQ_MAX;
}

uint64_t fluid_timestamp(uint64_t id)
{
    return id >> FLUID_TS_SHIFT;
}

static uint64_t wallclock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int fluid_gen_init(struct fluid_gen *g, uint64_t epoch_ms, uint32_t genid, uint64_t after)
{
    if (!g || genid > FLUID_GENID_MAX)
        return -EINVAL;
    g->epoch_ms = epoch_ms;
    g->genid = genid;
    g->last_ts = fluid_timestamp(after);
    /* fluid_gen_next() issues (last_ts, genid, seq + 1) while the clock has
     * not passed last_ts. That is > after unless another generator with a
     * higher genid issued 'after' in the same millisecond: then start at
     * the next millisecond, by pretending the sequence is exhausted. */
    if (fluid_genid(after) > genid)
        g->seq = FLUID_SEQ_MAX;
    else
        g->seq = fluid_seq(after);
    return 0;
}

int fluid_gen_next(struct fluid_gen *g, uint64_t *id)
{
    uint64_t now_abs = wallclock_ms();
    uint64_t now = now_abs > g->epoch_ms ? now_abs - g->epoch_ms : 0;

    if (now > g->last_ts) {
        g->last_ts = now;
        g->seq = 0;
    }
    else if (g->seq < FLUID_SEQ_MAX) {
        /* Same millisecond, or the clock went backwards: keep last_ts. */
        g->seq++;
    }
    else {
        /* Sequence exhausted: run a logical clock ahead of the real one. */
        g->last_ts++;
        g->seq = 0;
    }
    if (g->last_ts >= FLUID_TS_LIMIT) {
        /* Undo, so a later call fails the same way rather than wrapping. */
        g->last_ts = FLUID_TS_LIMIT - 1;
        g->seq = FLUID_SEQ_MAX;
        return -EAGAIN;
    }
    *id = fluid_pack(g->last_ts, g->genid, g->seq);
    return 0;
}

int fluid_encode(uint64_t id, char *buf, size_t size)
{
    char rev[16];
    size_t n = 0;

    if (!buf)
        return -EINVAL;
    do {
        rev[n++] = f58_alphabet[id % F58_BASE];
        id /= F58_BASE;
    } while (id > 0);
    if (size < n + 2)   /* prefix + digits + NUL */
        return -EINVAL;
    *buf++ = 'f';
    while (n > 0)
        *buf++ = rev[--n];
    *buf = '\0';
    return 0;
}

static int f58_value(char c)
{
    const char *p;

    if (c == '\0')
        return -1;
    p = strchr(f58_alphabet, c);
    return p ? (int)(p - f58_alphabet) : -1;
}

static int decode_digits(const char *s, unsigned base, uint64_t *id)
{
    uint64_t v = 0;

    /* Reject leading zeros: ids name directories, so one spelling each. */
    if (*s == '\0' || (s[0] == (base == 10 ? '0' : f58_alphabet[0]) && s[1] != '\0'))
        return -EINVAL;
    for (; *s; s++) {
        int d = base == 10 ? (*s >= '0' && *s <= '9' ? *s - '0' : -1)
                           : f58_value(*s);
        if (d < 0)
            return -EINVAL;
        if (v > (UINT64_MAX - (uint64_t)d) / base)
            return -EINVAL;   /* overflow */
        v = v * base + (uint64_t)d;
    }
    *id = v;
    return 0;
}

int fluid_decode(const char *s, uint64_t *id)
{
    size_t plen = strlen(f58_utf8_prefix);

    if (!s || !id)
        return -EINVAL;
    if (s[0] == 'f')
        return decode_digits(s + 1, F58_BASE, id);
    if (strncmp(s, f58_utf8_prefix, plen) == 0)
        return decode_digits(s + plen, F58_BASE, id);
    return decode_digits(s, 10, id);
}
