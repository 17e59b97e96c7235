/* genblock.c - blocks of job-id generators for nested instances. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/fluid.h"
#include "fsd/genblock.h"

#define GEN_LIMIT (FLUID_GENERATOR_MAX + 1U)

static bool parse_u32(const char *s, char **end, uint32_t *v)
{
    if (*s < '0' || *s > '9')
        return false;
    unsigned long n = strtoul(s, end, 10);
    if (n > GEN_LIMIT)
        return false;
    *v = (uint32_t)n;
    return true;
}

int genblock_parse(const char *s, struct genblock *out)
{
    struct genblock b;
    char *end;

    if (!s || !parse_u32(s, &end, &b.first) || b.first > FLUID_GENERATOR_MAX)
        return -EINVAL;
    if (*end == ':') {
        if (!parse_u32(end + 1, &end, &b.count) || b.count == 0
            || b.count > GEN_LIMIT - b.first)
            return -EINVAL;
    } else
        b.count = b.first == 0 ? GEN_LIMIT : 1;
    if (*end != '\0')
        return -EINVAL;
    *out = b;
    return 0;
}

static uint32_t isqrt(uint32_t n)
{
    uint32_t r = 0;
    while ((r + 1) * (r + 1) <= n)
        r++;
    return r;
}

int genblock_child(const struct genblock *parent, const struct genblock *used, size_t nused,
                   struct genblock *out)
{
    uint32_t end = parent->first + parent->count;
    uint32_t best = 0, best_len = 0;

    /* Walk the free runs of (first, end) in order: at each point, skip to
     * the end of a used block starting there, else measure up to the
     * nearest used block after it. nused is small (28 per job). */
    for (uint32_t at = parent->first + 1; at < end;) {
        uint32_t next = end;
        bool skipped = false;
        for (size_t i = 0; i < nused; i++) {
            if (used[i].first <= at && at < used[i].first + used[i].count) {
                at = used[i].first + used[i].count;
                skipped = true;
                break;
            }
            if (used[i].first > at && used[i].first < next)
                next = used[i].first;
        }
        if (skipped)
            continue;
        if (next - at > best_len) {
            best = at;
            best_len = next - at;
        }
        at = next;
    }
    if (best_len == 0)
        return -ENOSPC;
    uint32_t size = nused == 0 ? (best_len + 1) / 2 : isqrt(best_len);
    out->first = best;
    out->count = size > 0 ? size : 1;
    return 0;
}
