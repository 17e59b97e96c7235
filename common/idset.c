/* idset.c - sets of small non-negative integers as a growable bitmap.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/idset.h"

#define WORD_BITS 64

struct idset {
    uint64_t *words;
    size_t nwords;
    size_t count;
};

static size_t words_for(size_t nbits)
{
    return nbits / WORD_BITS + 1;
}

struct idset *idset_create(size_t capacity)
{
    struct idset *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->nwords = words_for(capacity);
    if (!(s->words = calloc(s->nwords, sizeof(uint64_t)))) {
        free(s);
        return NULL;
    }
    return s;
}

void idset_destroy(struct idset *s)
{
    if (s) {
        free(s->words);
        free(s);
    }
}

static int grow(struct idset *s, unsigned id)
{
    size_t n = s->nwords;
    while (n <= id / WORD_BITS)
        n *= 2;
    uint64_t *w = realloc(s->words, n * sizeof(uint64_t));
    if (!w)
        return -ENOMEM;
    memset(w + s->nwords, 0, (n - s->nwords) * sizeof(uint64_t));
    s->words = w;
    s->nwords = n;
    return 0;
}

int idset_set(struct idset *s, unsigned id)
{
    if (id > INT_MAX)
        return -EINVAL;
    if (id / WORD_BITS >= s->nwords) {
        int rc = grow(s, id);
        if (rc < 0)
            return rc;
    }
    uint64_t bit = UINT64_C(1) << (id % WORD_BITS);
    if (!(s->words[id / WORD_BITS] & bit)) {
        s->words[id / WORD_BITS] |= bit;
        s->count++;
    }
    return 0;
}

void idset_clear(struct idset *s, unsigned id)
{
    if (id / WORD_BITS >= s->nwords)
        return;
    uint64_t bit = UINT64_C(1) << (id % WORD_BITS);
    if (s->words[id / WORD_BITS] & bit) {
        s->words[id / WORD_BITS] &= ~bit;
        s->count--;
    }
}

bool idset_test(const struct idset *s, unsigned id)
{
    if (id / WORD_BITS >= s->nwords)
        return false;
    return (s->words[id / WORD_BITS] >> (id % WORD_BITS)) & 1;
}

size_t idset_count(const struct idset *s)
{
    return s->count;
}

/* First member >= from, or -1. */
static int scan_from(const struct idset *s, size_t from)
{
    size_t w = from / WORD_BITS;
    if (w >= s->nwords)
        return -1;
    uint64_t bits = s->words[w] & (~UINT64_C(0) << (from % WORD_BITS));
    for (;;) {
        if (bits)
            return (int)(w * WORD_BITS + (size_t)__builtin_ctzll(bits));
        if (++w >= s->nwords)
            return -1;
        bits = s->words[w];
    }
}

int idset_first(const struct idset *s)
{
    return scan_from(s, 0);
}

int idset_next(const struct idset *s, unsigned prev)
{
    if (prev >= INT_MAX)
        return -1;
    return scan_from(s, (size_t)prev + 1);
}

/* Parse a decimal id without sign or spaces. */
static int parse_id(const char **pp, unsigned *out)
{
    const char *p = *pp;
    unsigned long v = 0;
    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > INT_MAX - 1)
            return -1;
        p++;
    }
    *pp = p;
    *out = (unsigned)v;
    return 0;
}

struct idset *idset_decode(const char *text)
{
    if (!text) {
        errno = EINVAL;
        return NULL;
    }
    size_t len = strlen(text);
    const char *p = text;
    const char *end = text + len;
    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        p++;
        end--;
    }
    struct idset *s = idset_create(0);
    if (!s)
        return NULL;
    while (p < end) {
        unsigned lo, hi;
        if (parse_id(&p, &lo) < 0)
            goto inval;
        hi = lo;
        if (p < end && *p == '-') {
            p++;
            if (parse_id(&p, &hi) < 0 || hi < lo)
                goto inval;
        }
        if (p > end)
            goto inval;
        if (hi > lo && grow(s, hi) < 0) {
            idset_destroy(s);
            errno = ENOMEM;
            return NULL;
        }
        for (unsigned id = lo; id <= hi; id++) {
            if (idset_set(s, id) < 0) {
                idset_destroy(s);
                errno = ENOMEM;
                return NULL;
            }
        }
        if (p == end)
            break;
        if (*p != ',' || p + 1 == end)
            goto inval;
        p++;
    }
    return s;
inval:
    idset_destroy(s);
    errno = EINVAL;
    return NULL;
}

int idset_text_contains(const char *text, unsigned id)
{
    if (!text)
        return -EINVAL;
    size_t len = strlen(text);
    const char *p = text, *end = text + len;
    int found = 0;
    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        p++;
        end--;
    }
    while (p < end) {
        unsigned lo, hi;
        if (parse_id(&p, &lo) < 0)
            return -EINVAL;
        hi = lo;
        if (p < end && *p == '-') {
            p++;
            if (parse_id(&p, &hi) < 0 || hi < lo)
                return -EINVAL;
        }
        if (p > end)
            return -EINVAL;
        found |= id >= lo && id <= hi;
        if (p == end)
            break;
        if (*p != ',' || p + 1 == end)
            return -EINVAL;
        p++;
    }
    return found;
}

char *idset_encode(const struct idset *s)
{
    size_t cap = 64, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    buf[0] = '\0';
    int id = idset_first(s);
    while (id >= 0) {
        int lo = id, hi = id, next;
        while ((next = idset_next(s, (unsigned)hi)) == hi + 1)
            hi = next;
        char tmp[32];
        int n = lo == hi ? snprintf(tmp, sizeof(tmp), "%s%d", len ? "," : "", lo)
                         : snprintf(tmp, sizeof(tmp), "%s%d-%d", len ? "," : "", lo, hi);
        if (len + (size_t)n + 1 > cap) {
            while (len + (size_t)n + 1 > cap)
                cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
        memcpy(buf + len, tmp, (size_t)n + 1);
        len += (size_t)n;
        id = next;
    }
    return buf;
}
