/* fluid.c - unique, time-ordered 64-bit job IDs (Flux RFC 19 FLUIDs). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "common/fluid.h"

#define FLUID_TS_LIMIT   (1ULL << FLUID_TS_BITS)

#define FLUID_TS_SHIFT    (FLUID_GENERATOR_BITS + FLUID_SEQ_BITS)
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

uint32_t fluid_generator(uint64_t id)
{
    return (id >> FLUID_GENID_SHIFT) & FLUID_GENERATOR_MAX;
}

uint32_t fluid_sequence(uint64_t id)
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
    if (!g || genid > FLUID_GENERATOR_MAX)
        return -EINVAL;
    g->epoch_ms = epoch_ms;
    g->genid = genid;
    g->last_ts = fluid_timestamp(after);
    /* The next id is (last_ts, genid, next_seq) until the clock passes
     * last_ts; make that greater than 'after'. Only after's timestamp is
     * taken at its word: its low 24 bits may be of the old 10/14 layout
     * (an old sequence >= 1024 reads as generator 1..15), which is why
     * this compares the low bits as a whole rather than field by field. */
    uint64_t low = after & ((1ULL << FLUID_TS_SHIFT) - 1);
    uint64_t mine = (uint64_t)genid << FLUID_GENID_SHIFT;
    if (low < mine)
        g->next_seq = 0;                        /* (last_ts, genid, 0) > after */
    else if (low - mine < FLUID_SEQ_MAX)
        g->next_seq = (uint32_t)(low - mine) + 1;
    else
        g->next_seq = FLUID_SEQ_MAX + 1;        /* last_ts is used up */
    return 0;
}

int fluid_gen_next(struct fluid_gen *g, uint64_t *id)
{
    uint64_t now_abs = wallclock_ms();
    uint64_t now = now_abs > g->epoch_ms ? now_abs - g->epoch_ms : 0;

    if (now > g->last_ts) {
        g->last_ts = now;
        g->next_seq = 0;
    } else if (g->next_seq > FLUID_SEQ_MAX) {
        /* The millisecond is used up (or the clock went backwards and we
         * are still ahead of it): borrow the next one rather than wait, the
         * loop thread must not sleep. Strictly increasing either way. */
        if (g->last_ts + 1 >= FLUID_TS_LIMIT)
            return -EAGAIN;
        g->last_ts++;
        g->next_seq = 0;
    }
    if (g->last_ts >= FLUID_TS_LIMIT)
        return -EAGAIN;
    *id = fluid_pack(g->last_ts, g->genid, g->next_seq++);
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

/* hex digits of s (1 to 16 of them) as a number: 0 or -EINVAL */
static int hex_value(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 16)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -EINVAL;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 0;
}

int fluid_parse(const char *s, uint64_t *id)
{
    if (!s || !id)
        return -EINVAL;
    if (fluid_decode(s, id) == 0)
        return 0;
    size_t len = strlen(s);
    /* RFC 19 hex: 0x1234abcd */
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        return hex_value(s + 2, len - 2, id);
    /* RFC 19 dothex: 0000.0001.2345.6789 */
    if (len == 19 && s[4] == '.' && s[9] == '.' && s[14] == '.') {
        uint64_t v = 0, part;
        for (int g = 0; g < 4; g++) {
            if (hex_value(s + g * 5, 4, &part) < 0)
                return -EINVAL;
            v = v << 16 | part;
        }
        *id = v;
        return 0;
    }
    /* decimal with leading zeros: the same number */
    if (len > 1 && s[0] == '0' && strspn(s, "0123456789") == len) {
        while (*s == '0' && s[1])
            s++;
        return fluid_decode(s, id);
    }
    return -EINVAL;
}
