/* hostlist.c - RFC 29 hostlists as a plain array of names.
 *
 * Decoding accepts "prefix[ranges]suffix" items separated by commas, where
 * ranges is an idset whose ids may be zero-padded ("node[01-10]").  Encoding
 * groups neighbouring names that share a prefix and digit width, keeping list
 * order: "pi3,pi0,pi1" -> "pi[3,0-1]".
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hostlist.h"

/* Refuse to expand absurd ranges ("n[0-2000000000]") into memory. */
#define HOSTLIST_MAX_EXPAND (1u << 24)

struct hostlist {
    char **hosts;
    size_t count;
    size_t cap;
};

struct hostlist *hostlist_create(void)
{
    return calloc(1, sizeof(struct hostlist));
}

void hostlist_destroy(struct hostlist *hl)
{
    if (hl) {
        for (size_t i = 0; i < hl->count; i++)
            free(hl->hosts[i]);
        free(hl->hosts);
        free(hl);
    }
}

size_t hostlist_count(const struct hostlist *hl)
{
    return hl->count;
}

const char *hostlist_nth(const struct hostlist *hl, size_t n)
{
    return n < hl->count ? hl->hosts[n] : NULL;
}

static int push(struct hostlist *hl, char *name)
{
    if (hl->count == hl->cap) {
        size_t ncap = hl->cap ? hl->cap * 2 : 16;
        char **nh = realloc(hl->hosts, ncap * sizeof(char *));
        if (!nh)
            return -ENOMEM;
        hl->hosts = nh;
        hl->cap = ncap;
    }
    hl->hosts[hl->count++] = name;
    return 0;
}

static bool valid_name_char(char c)
{
    return c != '\0' && c != ',' && c != '[' && c != ']' && c > ' ';
}

/* Parse one decimal number of at most 9 digits: value and digit count. */
static int parse_num(const char **pp, const char *end, unsigned *val, int *ndigits)
{
    const char *p = *pp;
    unsigned v = 0;
    int n = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        if (++n > 9)
            return -1;
        v = v * 10 + (unsigned)(*p - '0');
        p++;
    }
    if (n == 0)
        return -1;
    *pp = p;
    *val = v;
    *ndigits = n;
    return 0;
}

static int append_expanded(struct hostlist *hl, const char *pre, size_t prelen,
                           unsigned n, int width, const char *suf, size_t suflen)
{
    char num[16];
    int nlen = snprintf(num, sizeof(num), "%0*u", width, n);
    char *name = malloc(prelen + (size_t)nlen + suflen + 1);
    if (!name)
        return -ENOMEM;
    memcpy(name, pre, prelen);
    memcpy(name + prelen, num, (size_t)nlen);
    memcpy(name + prelen + (size_t)nlen, suf, suflen);
    name[prelen + (size_t)nlen + suflen] = '\0';
    if (push(hl, name) < 0) {
        free(name);
        return -ENOMEM;
    }
    return 0;
}

/* One item: "name" or "prefix[ranges]suffix"; [p, end). */
static int append_item(struct hostlist *hl, const char *p, const char *end)
{
    const char *lb = memchr(p, '[', (size_t)(end - p));
    if (!lb) {
        for (const char *q = p; q < end; q++)
            if (!valid_name_char(*q))
                return -EINVAL;
        char *name = strndup(p, (size_t)(end - p));
        if (!name)
            return -ENOMEM;
        if (push(hl, name) < 0) {
            free(name);
            return -ENOMEM;
        }
        return 0;
    }
    const char *rb = memchr(lb, ']', (size_t)(end - lb));
    if (!rb || rb == lb + 1)
        return -EINVAL;
    for (const char *q = p; q < lb; q++)
        if (!valid_name_char(*q))
            return -EINVAL;
    for (const char *q = rb + 1; q < end; q++)
        if (!valid_name_char(*q))
            return -EINVAL;
    const char *q = lb + 1;
    size_t expanded = 0;
    while (q < rb) {
        unsigned lo, hi;
        int wlo, whi, width;
        if (parse_num(&q, rb, &lo, &wlo) < 0)
            return -EINVAL;
        hi = lo;
        width = (wlo > 1 && *(q - wlo) == '0') ? wlo : 0;
        if (q < rb && *q == '-') {
            q++;
            if (parse_num(&q, rb, &hi, &whi) < 0 || hi < lo)
                return -EINVAL;
        }
        expanded += hi - lo + 1;
        if (expanded > HOSTLIST_MAX_EXPAND)
            return -EINVAL;
        for (unsigned n = lo; n <= hi; n++) {
            int rc = append_expanded(hl, p, (size_t)(lb - p), n, width,
                                     rb + 1, (size_t)(end - rb - 1));
            if (rc < 0)
                return rc;
        }
        if (q == rb)
            break;
        if (*q != ',' || q + 1 == rb)
            return -EINVAL;
        q++;
    }
    if (q != rb)
        return -EINVAL;
    return 0;
}

/* Does item [p, end), "name" or "prefix[ranges]suffix", name name (NULL:
 * only check the item)? 1, 0 or -EINVAL, as append_item would expand it. */
static int item_contains(const char *p, const char *end, const char *name)
{
    const char *lb = memchr(p, '[', (size_t)(end - p));
    size_t nlen = name ? strlen(name) : 0;
    if (!lb) {
        for (const char *q = p; q < end; q++)
            if (!valid_name_char(*q))
                return -EINVAL;
        return name && nlen == (size_t)(end - p) && !memcmp(name, p, nlen);
    }
    const char *rb = memchr(lb, ']', (size_t)(end - lb));
    if (!rb || rb == lb + 1)
        return -EINVAL;
    for (const char *q = p; q < end; q++)
        if ((q < lb || q > rb) && !valid_name_char(*q))
            return -EINVAL;
    size_t pre = (size_t)(lb - p), suf = (size_t)(end - rb - 1);
    /* name's number: between the prefix and the suffix, digits only */
    const char *mid = name ? name + pre : NULL;   /* check only: no name */
    size_t mlen = name && nlen > pre + suf ? nlen - pre - suf : 0;
    bool shape = mlen > 0 && mlen <= 9 && !memcmp(name, p, pre) && !memcmp(mid + mlen, rb + 1, suf);
    for (size_t i = 0; shape && i < mlen; i++)
        shape = mid[i] >= '0' && mid[i] <= '9';
    unsigned value = 0;
    for (size_t i = 0; shape && i < mlen; i++)
        value = value * 10 + (unsigned)(mid[i] - '0');
    const char *q = lb + 1;
    int found = 0;
    while (q < rb) {
        unsigned lo, hi;
        int wlo, whi;
        if (parse_num(&q, rb, &lo, &wlo) < 0)
            return -EINVAL;
        hi = lo;
        int width = (wlo > 1 && *(q - wlo) == '0') ? wlo : 0;
        if (q < rb && *q == '-') {
            q++;
            if (parse_num(&q, rb, &hi, &whi) < 0 || hi < lo)
                return -EINVAL;
        }
        /* padded ranges print every number at their width, others plainly */
        if (shape && value >= lo && value <= hi
            && (width ? (int)mlen >= width && (mlen == (size_t)width || mid[0] != '0')
                      : (mlen == 1 || mid[0] != '0')))
            found = 1;
        if (q == rb)
            break;
        if (*q != ',' || q + 1 == rb)
            return -EINVAL;
        q++;
    }
    return q == rb ? found : -EINVAL;
}

int hostlist_text_contains(const char *text, const char *name)
{
    const char *p = text;
    int found = 0;
    if (!text || !*text)
        return text ? 0 : -EINVAL;
    for (;;) {
        const char *q = p;
        int depth = 0;
        while (*q && (depth > 0 || *q != ',')) {
            if (*q == '[' && ++depth > 1)
                return -EINVAL;
            if (*q == ']' && --depth < 0)
                return -EINVAL;
            q++;
        }
        if (depth != 0 || q == p)
            return -EINVAL;
        int rc = item_contains(p, q, name);
        if (rc < 0)
            return rc;
        found |= rc;
        if (*q == '\0')
            return found;
        p = q + 1;
        if (*p == '\0')
            return -EINVAL;
    }
}

int hostlist_append(struct hostlist *hl, const char *text)
{
    if (!text)
        return -EINVAL;
    size_t orig = hl->count;
    const char *p = text;
    int rc = 0;
    if (*p == '\0')
        return 0;
    for (;;) {
        /* an item ends at the first comma outside brackets */
        const char *q = p;
        int depth = 0;
        while (*q && (depth > 0 || *q != ',')) {
            if (*q == '[' && ++depth > 1)
                break;
            if (*q == ']' && --depth < 0)
                break;
            q++;
        }
        if (depth != 0 || (*q && *q != ',') || q == p) {
            rc = -EINVAL;
            goto undo;
        }
        if ((rc = append_item(hl, p, q)) < 0)
            goto undo;
        if (*q == '\0')
            break;
        p = q + 1;
        if (*p == '\0') {
            rc = -EINVAL;
            goto undo;
        }
    }
    return 0;
undo:
    /* no side effects on failure */
    while (hl->count > orig)
        free(hl->hosts[--hl->count]);
    return rc;
}

/* Split a name into prefix and trailing number; width 0 = no zero padding. */
struct hname {
    size_t prelen;
    bool numeric;
    unsigned num;
    int width;      /* digit count when zero-padded, else 0 */
    int ndigits;
};

static void split_name(const char *name, struct hname *h)
{
    size_t len = strlen(name);
    size_t i = len;
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
        i--;
    h->prelen = i;
    h->ndigits = (int)(len - i);
    h->numeric = h->ndigits > 0 && h->ndigits <= 9;
    if (!h->numeric) {
        h->prelen = len;
        h->ndigits = 0;
        return;
    }
    h->num = (unsigned)strtoul(name + i, NULL, 10);
    h->width = (h->ndigits > 1 && name[i] == '0') ? h->ndigits : 0;
}

/* Can b join a group started by a (same prefix, compatible padding)? */
static bool same_group(const char *na, const struct hname *a,
                       const char *nb, const struct hname *b)
{
    if (!a->numeric || !b->numeric || a->prelen != b->prelen
        || strncmp(na, nb, a->prelen) != 0)
        return false;
    if (a->width == 0)
        return b->width == 0;
    return b->ndigits == a->width;
}

struct sbuf {
    char *s;
    size_t len, cap;
    bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 64;
        while (b->len + n + 1 > ncap)
            ncap *= 2;
        char *ns = realloc(b->s, ncap);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = ncap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_num(struct sbuf *b, unsigned n, int width)
{
    char tmp[16];
    int len = snprintf(tmp, sizeof(tmp), "%0*u", width, n);
    sb_add(b, tmp, (size_t)len);
}

char *hostlist_encode(const struct hostlist *hl)
{
    struct sbuf b = { 0 };
    sb_add(&b, "", 0);
    size_t i = 0;
    while (i < hl->count) {
        const char *first = hl->hosts[i];
        struct hname h0, h;
        split_name(first, &h0);
        size_t j = i + 1;
        while (j < hl->count) {
            split_name(hl->hosts[j], &h);
            if (!same_group(first, &h0, hl->hosts[j], &h))
                break;
            j++;
        }
        if (i > 0)
            sb_add(&b, ",", 1);
        if (j == i + 1) {
            sb_add(&b, first, strlen(first));
            i = j;
            continue;
        }
        sb_add(&b, first, h0.prelen);
        sb_add(&b, "[", 1);
        size_t k = i;
        while (k < j) {
            struct hname lo, hi;
            split_name(hl->hosts[k], &lo);
            hi = lo;
            size_t m = k + 1;
            while (m < j) {
                split_name(hl->hosts[m], &h);
                if (h.num != hi.num + 1)
                    break;
                hi = h;
                m++;
            }
            if (k > i)
                sb_add(&b, ",", 1);
            sb_num(&b, lo.num, h0.width);
            if (hi.num != lo.num) {
                sb_add(&b, "-", 1);
                sb_num(&b, hi.num, h0.width);
            }
            k = m;
        }
        sb_add(&b, "]", 1);
        i = j;
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
