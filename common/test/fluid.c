/* test/fluid.c - FLUID generation and F58 encoding. */
#include <errno.h>
#include <stdint.h>
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
    is(fluid_encode(UINT64_MAX, buf, 12), -EINVAL, "too small buffer rejected");
    is(fluid_encode(UINT64_MAX, buf, 13), 0, "exact buffer accepted");
    is(fluid_encode(0, buf, 2), -EINVAL, "2-byte buffer too small for f1");
    is(fluid_encode(0, buf, 3), 0, "3-byte buffer fits f1");
    is(fluid_encode(0, NULL, 3), -EINVAL, "NULL buffer rejected");
}

static void test_generate(void)
{
    struct fluid_gen g;
    uint64_t epoch = now_ms() - 1000;
    uint64_t prev = 0, id = 0, last = 0;
    int bad = 0, err = 0;

    is(fluid_gen_init(&g, epoch, 1024, 0), -EINVAL, "genid 1024 rejected");
    is(fluid_gen_init(&g, epoch, 5, 0), 0, "init genid 5");
    for (int i = 0; i < 100000; i++) {
        if (fluid_gen_next(&g, &id) != 0)
            err++;
        else if (id <= prev)
            bad++;
        else if (((id >> 14) & 1023) != 5)
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
    last = ((fluid_timestamp(id) + 3600000ULL) << 24) | (5 << 14) | 7;
    fluid_gen_init(&g, epoch, 5, last);
    fluid_gen_next(&g, &id);
    ok(id == last + 1, "future 'after' with same genid: next is after + 1");

    /* 'after' from a generator with a higher genid in the same ms. */
    last = ((fluid_timestamp(id) + 3600000ULL) << 24) | (9 << 14) | 3;
    fluid_gen_init(&g, epoch, 5, last);
    fluid_gen_next(&g, &id);
    ok(id > last, "future 'after' with higher genid: next is greater");
    is(fluid_timestamp(id), fluid_timestamp(last) + 1, "... in the next millisecond");

    /* Clock behind last_ts: keep last_ts, count seq, then advance 1 ms. */
    fluid_gen_init(&g, epoch, 0, 0);
    g.last_ts = fluid_timestamp(id) + 10;
    g.seq = 16380;
    prev = 0;
    bad = 0;
    for (int i = 0; i < 10; i++) {
        if (fluid_gen_next(&g, &id) != 0 || id <= prev)
            bad++;
        prev = id;
    }
    is(bad, 0, "ids increase across seq overflow while clock is behind");
    is(fluid_timestamp(id), g.last_ts, "timestamp follows the logical clock");
    is(g.last_ts, fluid_timestamp(last) + 1 + 10 + 1, "seq overflow advanced last_ts by 1 ms");

    /* The 40-bit timestamp space runs out. */
    is(fluid_gen_init(&g, epoch, 0, UINT64_MAX), 0, "init with after = UINT64_MAX");
    is(fluid_gen_next(&g, &id), -EAGAIN, "no id after the largest");
    is(fluid_gen_next(&g, &id), -EAGAIN, "still none");
}

int main(void)
{
    plan(NO_PLAN);
    test_vectors();
    test_roundtrip();
    test_invalid();
    test_generate();
    return done_testing();
}
