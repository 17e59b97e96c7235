/* test/fluid.c - FLUID generation and F58 encoding. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "common/fluid.h"
#include "common/tap.h"

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Vectors from flux-core's t/fluid test, with the ASCII prefix. */
static const struct {
    uint64_t id;
    const char *f58;
} vectors[] = {
    { 0, "f1" },
    { 1, "f2" },
    { 57, "fz" },
    { 58, "f21" },
    { 3364, "f211" },
    { 6787342413402046ULL, "fuzzybunny" },
    { UINT64_MAX, "fjpXCZedGfVQ" },
};

static void test_vectors(void)
{
    char buf[FLUID_STR_MAX];
    char utf8[FLUID_STR_MAX + 2];
    uint64_t id;

    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        is(fluid_encode(vectors[i].id, buf, sizeof(buf)), 0, "encode %ju", (uintmax_t)vectors[i].id);
        is_str(buf, vectors[i].f58, "%ju encodes as expected", (uintmax_t)vectors[i].id);
        id = 42;
        is(fluid_decode(vectors[i].f58, &id), 0, "decode %s", vectors[i].f58);
        ok(id == vectors[i].id, "%s decodes to %ju", vectors[i].f58, (uintmax_t)vectors[i].id);
        snprintf(utf8, sizeof(utf8), "\xc6\x92%s", vectors[i].f58 + 1);
        id = 42;
        is(fluid_decode(utf8, &id), 0, "decode %s", utf8);
        ok(id == vectors[i].id, "%s decodes to %ju", utf8, (uintmax_t)vectors[i].id);
    }
    is(fluid_decode("18446744073709551615", &id), 0, "decimal UINT64_MAX decodes");
    ok(id == UINT64_MAX, "decimal UINT64_MAX value");
    is(fluid_decode("0", &id), 0, "decimal 0 decodes");
    ok(id == 0, "decimal 0 value");
}

static void test_roundtrip(void)
{
    char buf[FLUID_STR_MAX];
    uint64_t v = 0x9e3779b97f4a7c15ULL, id;
    int bad = 0;

    for (int i = 0; i < 100000; i++) {
        uint64_t x;
        /* xorshift, plus small values and powers of two around limits */
        v ^= v << 13; v ^= v >> 7; v ^= v << 17;
        switch (i % 4) {
        case 0: x = v; break;
        case 1: x = (uint64_t)i; break;
        case 2: x = UINT64_MAX - (uint64_t)i; break;
        default: x = v >> (i % 64); break;
        }
        if (fluid_encode(x, buf, sizeof(buf)) != 0 || fluid_decode(buf, &id) != 0 || id != x) {
            if (bad++ < 5)
                diag("roundtrip failed for %ju (%s)", (uintmax_t)x, buf);
        }
    }
    is(bad, 0, "100k encode/decode roundtrips");
    for (int s = 0; s < 64; s++) {
        uint64_t x = 1ULL << s;
        if (fluid_encode(x, buf, sizeof(buf)) != 0 || fluid_decode(buf, &id) != 0 || id != x)
            bad++;
    }
    is(bad, 0, "powers of two roundtrip");
}

static void test_invalid(void)
{
    static const char *bad[] = {
        "", "f", "\xc6\x92", "f0", "fO", "fI", "fl", "f1 ", " f1", "f-1",
        "F1", "fjpXCZedGfVR",        /* UINT64_MAX + 1 */
        "fzzzzzzzzzzzz", "18446744073709551616", "12a", "-1", "0x10",
        "f12", "f11", "007", "00",   /* non-canonical: two names for one id */
        "\xc6", "\xc6\x93\x31",     /* half an ƒ; U+0193 then "1" (\x31) */
    };
    char buf[FLUID_STR_MAX];
    uint64_t id = 7;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is(fluid_decode(bad[i], &id), -EINVAL, "'%s' rejected", bad[i]);
    ok(id == 7, "rejected input leaves id unchanged");
    is(fluid_decode(NULL, &id), -EINVAL, "NULL string rejected");
    /* fluid_parse: every spelling a person may type */
    ok(fluid_parse("0x1f4", &id) == 0 && id == 500, "hex parses");
    ok(fluid_parse("0X1F4", &id) == 0 && id == 500, "upper-case hex parses");
    ok(fluid_parse("0000.0000.0000.01f4", &id) == 0 && id == 500, "dothex parses");
    ok(fluid_parse("00500", &id) == 0 && id == 500, "decimal with leading zeros parses");
    ok(fluid_parse("500", &id) == 0 && id == 500, "decimal parses");
    char f58[FLUID_STR_MAX];
    fluid_encode(500, f58, sizeof(f58));
    ok(fluid_parse(f58, &id) == 0 && id == 500, "F58 parses");
    static const char *notids[] = { "", "0x", "0x12345678123456789", "0xg", "0000.0000.01f4",
                                    "0000-0000-0000-01f4", "abc", "f0" };
    for (size_t i = 0; i < sizeof(notids) / sizeof(notids[0]); i++)
        is(fluid_parse(notids[i], &id), -EINVAL, "'%s' is no id", notids[i]);
    is(fluid_encode(UINT64_MAX, buf, 12), -EINVAL, "too small buffer rejected");
    is(fluid_encode(UINT64_MAX, buf, 13), 0, "exact buffer accepted");
    is(fluid_encode(0, buf, 2), -EINVAL, "2-byte buffer too small for f1");
    is(fluid_encode(0, buf, 3), 0, "3-byte buffer fits f1");
    is(fluid_encode(0, NULL, 3), -EINVAL, "NULL buffer rejected");
}

/* An id of the layout before RFC 19's: 10 generator bits, 14 sequence bits. */
static uint64_t old_layout(uint64_t ts, uint32_t genid, uint32_t seq)
{
    return (ts << 24) | ((uint64_t)genid << 14) | seq;
}

static uint64_t new_layout(uint64_t ts, uint32_t genid, uint32_t seq)
{
    return (ts << 24) | ((uint64_t)genid << 10) | seq;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_layout(void)
{
    uint64_t id = new_layout(123456789, 16383, 1023);

    is(fluid_timestamp(id), 123456789, "timestamp: bits 24..63");
    is(fluid_generator(id), 16383, "generator: 14 bits (10..23)");
    is(fluid_sequence(id), 1023, "sequence: 10 bits (0..9)");
    id = new_layout(1, 5, 7);
    ok(fluid_generator(id) == 5 && fluid_sequence(id) == 7 && fluid_timestamp(id) == 1,
       "fields do not bleed into each other");
    is(fluid_timestamp(old_layout(99, 3, 16383)), 99, "old layout: same timestamp field");
}

static void test_generate(void)
{
    struct fluid_gen g;
    uint64_t epoch = now_ms() - 1000;
    uint64_t prev = 0, id = 0, last = 0;
    int bad = 0, err = 0;

    is(fluid_gen_init(&g, epoch, 16384, 0), -EINVAL, "genid 16384 rejected");
    is(fluid_gen_init(&g, epoch, 16383, 0), 0, "genid 16383 accepted");
    is(fluid_gen_next(&g, &id), 0, "... and mints");
    is(fluid_generator(id), 16383, "... with its generator bits");
    is(fluid_gen_init(&g, epoch, 5, 0), 0, "init genid 5");
    for (int i = 0; i < 100000; i++) {
        if (fluid_gen_next(&g, &id) != 0)
            err++;
        else if (id <= prev || fluid_generator(id) != 5)
            bad++;
        prev = id;
    }
    is(err, 0, "100k ids generated");
    is(bad, 0, "100k ids strictly increasing with genid 5");
    ok(fluid_timestamp(id) >= 1000 && fluid_timestamp(id) < 1000 + 60000,
       "timestamp is ms since epoch (%ju)", (uintmax_t)fluid_timestamp(id));
    last = id;

    /* Restart, passing the last id issued: never reuse. */
    is(fluid_gen_init(&g, epoch, 5, last), 0, "re-init after last id");
    is(fluid_gen_next(&g, &id), 0, "next after restart");
    ok(id > last, "id after restart is greater");

    /* 'after' far in the future (clock set back across a restart). */
    uint64_t future = fluid_timestamp(id) + 3600000ULL;
    last = new_layout(future, 5, 7);
    fluid_gen_init(&g, epoch, 5, last);
    fluid_gen_next(&g, &id);
    ok(id == last + 1, "future 'after' with same genid: next is after + 1");

    /* 'after' from a generator with a higher genid in the same ms. */
    last = new_layout(future, 9, 3);
    fluid_gen_init(&g, epoch, 5, last);
    fluid_gen_next(&g, &id);
    ok(id > last, "future 'after' with higher genid: next is greater");
    is(fluid_timestamp(id), future + 1, "... in the next millisecond");
    is(fluid_sequence(id), 0, "... at sequence 0");

    /* 'after' from a lower genid in the same ms: this ms still has room. */
    last = new_layout(future, 2, 1000);
    fluid_gen_init(&g, epoch, 5, last);
    fluid_gen_next(&g, &id);
    ok(id == new_layout(future, 5, 0), "future 'after' with lower genid: same ms, seq 0");

    /* The 40-bit timestamp space runs out. */
    is(fluid_gen_init(&g, epoch, 0, UINT64_MAX), 0, "init with after = UINT64_MAX");
    is(fluid_gen_next(&g, &id), -EAGAIN, "no id after the largest");
    is(fluid_gen_next(&g, &id), -EAGAIN, "still none");
}

/* More than 1024 ids in one millisecond: borrow the next one, never wait.
 * A clock an hour behind the generator's last timestamp freezes "now". */
static void test_seq_overflow(void)
{
    struct fluid_gen g;
    uint64_t epoch = now_ms() - 1000;
    uint64_t T = 1000 + 3600000ULL, prev, id = 0;
    int bad = 0;

    fluid_gen_init(&g, epoch, 7, new_layout(T, 7, 0));
    prev = new_layout(T, 7, 0);
    for (uint32_t s = 1; s <= FLUID_SEQ_MAX; s++) {
        if (fluid_gen_next(&g, &id) != 0 || id != new_layout(T, 7, s))
            bad++;
    }
    is(bad, 0, "seq 1..1023 in the frozen millisecond");
    is(fluid_gen_next(&g, &id), 0, "1025th id in one ms");
    ok(id == new_layout(T + 1, 7, 0), "... borrows the next millisecond, seq 0");
    prev = id;
    bad = 0;
    for (int i = 0; i < 5000; i++) {
        if (fluid_gen_next(&g, &id) != 0 || id <= prev || fluid_generator(id) != 7)
            bad++;
        prev = id;
    }
    is(bad, 0, "5000 more: strictly increasing, generator kept");
    is(fluid_timestamp(id), T + 1 + 5000 / 1024, "timestamp ran ahead by one ms per 1024 ids");
}

/* A store written under the old 10/14 layout, then minting under the new
 * one: every new id is greater than (so distinct from) every old one. */
static void test_restart_from_old_layout(void)
{
    enum { NOLD = 16384, NNEW = 3000 };
    static uint64_t ids[NOLD + NNEW];
    struct fluid_gen g;
    uint64_t epoch = now_ms() - 1000;
    uint64_t T = 1000 + 7200000ULL, id, after;
    size_t n = 0;
    int bad = 0;

    /* the old generator 0 filled a whole millisecond: old seq 0..16383,
     * whose low bits read as new generators 0..15 */
    for (uint32_t s = 0; s < NOLD; s++)
        ids[n++] = old_layout(T, 0, s);
    after = ids[n - 1];
    fluid_gen_init(&g, epoch, 0, after);
    for (int i = 0; i < NNEW; i++) {
        if (fluid_gen_next(&g, &id) != 0 || id <= ids[n - 1])
            bad++;
        ids[n++] = id;
    }
    is(bad, 0, "old seq 16383 last: new ids greater and increasing");
    is(fluid_timestamp(ids[NOLD]), T + 1, "... starting at the next millisecond");
    qsort(ids, n, sizeof(ids[0]), cmp_u64);
    bad = 0;
    for (size_t i = 1; i < n; i++)
        if (ids[i] == ids[i - 1])
            bad++;
    is(bad, 0, "no new id equals an old one");

    /* old sequence below 1024 reads as generator 0: continue in the ms */
    after = old_layout(T, 0, 3);
    fluid_gen_init(&g, epoch, 0, after);
    fluid_gen_next(&g, &id);
    ok(id == after + 1, "old seq 3: next is after + 1, same ms");

    /* old sequence 5000 reads as generator 4, seq 904: a new generator 1
     * must not mint (T, 1, x) below it, nor generator 4 reuse 904 */
    after = old_layout(T, 0, 5000);
    fluid_gen_init(&g, epoch, 1, after);
    fluid_gen_next(&g, &id);
    ok(id > after && fluid_timestamp(id) == T + 1, "genid 1 after old seq 5000: next ms");
    fluid_gen_init(&g, epoch, 4, after);
    fluid_gen_next(&g, &id);
    ok(id == after + 1, "genid 4 after old seq 5000: after + 1");
    fluid_gen_init(&g, epoch, 5, after);
    fluid_gen_next(&g, &id);
    ok(id == new_layout(T, 5, 0), "genid 5 after old seq 5000: same ms, seq 0");

    /* an old non-zero generator's ids (old genid 1 = low bits >= 16384) */
    after = old_layout(T, 1, 0);
    fluid_gen_init(&g, epoch, 15, after);
    fluid_gen_next(&g, &id);
    ok(id > after && fluid_timestamp(id) == T + 1, "genid 15 after old genid 1: next ms");
}

/* Two instances of one tree, same epoch, same milliseconds: the generator
 * bits alone keep their ids apart. */
static void test_two_generators(void)
{
    enum { N = 3000 };
    static uint64_t ids[2 * N];
    struct fluid_gen root, child;
    uint64_t epoch = now_ms() - 1000;
    int bad = 0;

    fluid_gen_init(&root, epoch, 0, 0);
    fluid_gen_init(&child, epoch, 1, 0);
    for (int i = 0; i < N; i++) {
        if (fluid_gen_next(&root, &ids[2 * i]) != 0
            || fluid_gen_next(&child, &ids[2 * i + 1]) != 0)
            bad++;
    }
    is(bad, 0, "root and child mint interleaved");
    qsort(ids, 2 * N, sizeof(ids[0]), cmp_u64);
    for (int i = 1; i < 2 * N; i++)
        if (ids[i] == ids[i - 1])
            bad++;
    is(bad, 0, "no id minted by both");
}

/* A burst of ids, as one generator mints them at 3 a millisecond, spreads
 * over a hash table's buckets: the job tables index by fluid_hash(). */
static void test_hash_spread(void)
{
    enum { N = 100000, BUCKETS = 131072, SMALL = 8192 };
    static unsigned count[BUCKETS];
    unsigned small[SMALL] = { 0 };
    size_t used = 0, used_small = 0;
    unsigned longest = 0;
    for (uint64_t i = 0; i < N; i++) {
        uint64_t id = (1700000000000ull + i / 3) << (FLUID_GENERATOR_BITS + FLUID_SEQ_BITS) |
                      (uint64_t)7 << FLUID_SEQ_BITS | i % 3;
        uint64_t h = fluid_hash(id);
        if (count[h % BUCKETS]++ == 0)
            used++;
        if (count[h % BUCKETS] > longest)
            longest = count[h % BUCKETS];
        if (small[h & (SMALL - 1)]++ == 0)
            used_small++;
    }
    /* a uniform hash fills 1 - e^-(N/BUCKETS) = 53% of them */
    ok(used > BUCKETS / 2 * 9 / 10, "100,000 ids use %zu of %d buckets (uniform: ~70,000)", used, BUCKETS);
    ok(longest <= 12, "the longest chain is %u", longest);
    is((int)used_small, SMALL, "a table of %d buckets has every bucket used", SMALL);
    ok(fluid_hash(1) != fluid_hash(2) && fluid_hash(0) == 0, "a mixer: 1 and 2 differ, 0 stays 0");
}

int main(void)
{
    plan(NO_PLAN);
    test_vectors();
    test_roundtrip();
    test_invalid();
    test_layout();
    test_generate();
    test_seq_overflow();
    test_restart_from_old_layout();
    test_two_generators();
    test_hash_spread();
    return done_testing();
}
