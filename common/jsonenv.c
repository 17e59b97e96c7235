/* jsonenv.c - a job's environment straight from its JSON jobspec (see
 * jsonenv.h). RFC 8259 strings, numbers and literals are skipped or
 * decoded; anything this scanner does not like is -EINVAL, and the caller
 * asks jansson, which words the error. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonenv.h"
#include "common/jsonw.h"

#define DEPTH_MAX 64   /* nesting skipped before giving up (jansson's is 2048) */

struct scan {
    const char *p, *end;
};

static void ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d > 15)
            return -EINVAL;
        *v = *v << 4 | d;
    }
    return 0;
}

/* The string at s->p (its opening quote), decoded into out (room for as
 * many bytes as the raw string has: decoding never grows it) unless out is
 * NULL; s->p ends past the closing quote. The decoded length, or -EINVAL
 * (also for a NUL, which no C string can carry). */
static long string(struct scan *s, char *out)
{
    long n = 0;
    if (s->p >= s->end || *s->p != '"')
        return -EINVAL;
    s->p++;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p++;
        if (c == '"')
            return n;
        if (c < 0x20)
            return -EINVAL;
        if (c != '\\') {
            if (out)
                out[n] = (char)c;
            n++;
            continue;
        }
        if (s->p >= s->end)
            return -EINVAL;
        char e = *s->p++;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            if (out)
                out[n] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            n++;
            continue;
        }
        unsigned cp, lo;
        if (e != 'u' || s->end - s->p < 4 || hex4(s->p, &cp) < 0)
            return -EINVAL;
        s->p += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return -EINVAL;   /* a low surrogate alone */
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u'
                || hex4(s->p + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                return -EINVAL;
            s->p += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp == 0)
            return -EINVAL;
        /* 6 or 12 bytes of text become at most 4: out has room */
        unsigned char u[4];
        int k = cp < 0x80 ? (u[0] = (unsigned char)cp, 1)
                : cp < 0x800
                    ? (u[0] = (unsigned char)(0xC0 | cp >> 6), u[1] = (unsigned char)(0x80 | (cp & 0x3F)), 2)
                : cp < 0x10000
                    ? (u[0] = (unsigned char)(0xE0 | cp >> 12),
                       u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)),
                       u[2] = (unsigned char)(0x80 | (cp & 0x3F)), 3)
                    : (u[0] = (unsigned char)(0xF0 | cp >> 18),
                       u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F)),
                       u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)),
                       u[3] = (unsigned char)(0x80 | (cp & 0x3F)), 4);
        if (out)
            memcpy(out + n, u, (size_t)k);
        n += k;
    }
    return -EINVAL;
}

static int value(struct scan *s, int depth);

/* The members of the object or elements of the array at s->p. */
static int container(struct scan *s, int depth)
{
    char close = *s->p == '{' ? '}' : ']';
    bool object = close == '}';
    if (depth >= DEPTH_MAX)
        return -EINVAL;
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    for (;;) {
        if (object) {
            if (string(s, NULL) < 0)
                return -EINVAL;
            ws(s);
            if (s->p >= s->end || *s->p++ != ':')
                return -EINVAL;
        }
        if (value(s, depth + 1) < 0)
            return -EINVAL;
        ws(s);
        if (s->p >= s->end)
            return -EINVAL;
        char c = *s->p++;
        if (c == close)
            return 0;
        if (c != ',')
            return -EINVAL;
        ws(s);
    }
}

/* Skip one value (with the space before it). */
static int value(struct scan *s, int depth)
{
    ws(s);
    if (s->p >= s->end)
        return -EINVAL;
    char c = *s->p;
    if (c == '"')
        return string(s, NULL) < 0 ? -EINVAL : 0;
    if (c == '{' || c == '[')
        return container(s, depth);
    static const char *const lits[] = { "true", "false", "null" };
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(lits[i]);
        if ((size_t)(s->end - s->p) >= n && !memcmp(s->p, lits[i], n)) {
            s->p += n;
            return 0;
        }
    }
    /* a number: what its grammar allows, loosely (the text was accepted
     * by jansson when it was submitted) */
    const char *start = s->p;
    while (s->p < s->end && *s->p && strchr("0123456789+-.eE", *s->p))
        s->p++;
    return s->p > start ? 0 : -EINVAL;
}

/* In the object at s->p, the value of key: s->p at it, or -ENOENT (s->p
 * past the object). Keys are compared decoded. */
static int member(struct scan *s, const char *key)
{
    size_t klen = strlen(key);
    char name[32];
    ws(s);
    if (s->p >= s->end || *s->p != '{')
        return -EINVAL;
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return -ENOENT;
    }
    for (;;) {
        /* a name longer than ours cannot be it: measure before decoding */
        struct scan peek = *s;
        long n = string(&peek, NULL);
        if (n < 0)
            return -EINVAL;
        bool match = false;
        if ((size_t)n == klen && klen < sizeof(name)) {
            string(s, name);
            match = !memcmp(name, key, klen);
        } else {
            s->p = peek.p;
        }
        ws(s);
        if (s->p >= s->end || *s->p++ != ':')
            return -EINVAL;
        ws(s);
        if (match)
            return 0;
        if (value(s, 1) < 0)
            return -EINVAL;
        ws(s);
        if (s->p >= s->end)
            return -EINVAL;
        char c = *s->p++;
        if (c == '}')
            return -ENOENT;
        if (c != ',')
            return -EINVAL;
        ws(s);
    }
}

/* "NAME=value" entries ordered by NAME (which has no '='). */
static int by_name(const void *a, const void *b)
{
    const unsigned char *x = *(const unsigned char *const *)a, *y = *(const unsigned char *const *)b;
    while (*x == *y && *x != '=')
        x++, y++;
    return (*x == '=' ? 0 : *x) - (*y == '=' ? 0 : *y);
}

static bool has_duplicate(char **v, size_t n)
{
    char *small[64], **sorted = n <= 64 ? small : malloc(n * sizeof(char *));
    bool dup = !sorted;   /* out of memory: cannot vouch, so refuse */
    if (sorted) {
        memcpy(sorted, v, n * sizeof(char *));
        qsort(sorted, n, sizeof(char *), by_name);
        for (size_t i = 1; i < n && !dup; i++)
            dup = by_name(&sorted[i - 1], &sorted[i]) == 0;
        if (sorted != small)
            free(sorted);
    }
    return dup;
}

static int decode(const char *text, size_t len, char ***envv, size_t *off, size_t *span,
                  bool strict)
{
    struct scan s = { text, text + len };
    int rc;
    *envv = NULL;
    ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return -ENOENT;
    if ((rc = member(&s, "attributes")) < 0 || (rc = member(&s, "system")) < 0
        || (rc = member(&s, "environment")) < 0)
        return rc;
    if (s.p >= s.end || *s.p != '{')
        return -EINVAL;

    /* first pass: how many, and where the object ends */
    struct scan env = s;
    if (container(&s, 1) < 0)
        return -EINVAL;
    size_t raw = (size_t)(s.p - env.p), count = 0;
    /* outside its strings the object is ASCII, so this checks them */
    if (strict && !jsonw_utf8(env.p, raw))
        return -EINVAL;
    for (const char *q = env.p; q < s.p; q++)
        count += *q == ':';   /* at least the members: ':' in strings only adds */
    char **v = malloc((count + 1) * sizeof(char *) + raw + count);
    if (!v)
        return -ENOMEM;
    char *out = (char *)(v + count + 1);
    size_t n = 0;
    if (off) {
        *off = (size_t)(env.p - text);
        *span = raw;
    }

    /* second pass: decode (validated by the first) */
    env.p++;
    ws(&env);
    while (*env.p != '}') {
        char *entry = out;
        long kn = string(&env, out);
        if (kn <= 0 || memchr(out, '=', (size_t)kn))
            goto invalid;
        out += kn;
        *out++ = '=';
        ws(&env);
        env.p++;   /* ':' */
        ws(&env);
        long vn = string(&env, out);
        if (vn < 0)
            goto invalid;   /* not a string */
        out += vn;
        *out++ = '\0';
        v[n++] = entry;
        ws(&env);
        if (*env.p == ',')
            env.p++;
        ws(&env);
    }
    v[n] = NULL;
    if (strict && has_duplicate(v, n))
        goto invalid;
    *envv = v;
    return (int)n;
invalid:
    free(v);
    return -EINVAL;
}

char **jsonenv_dup(char *const *envv)
{
    size_t n = 0, bytes = 0;
    for (; envv[n]; n++)
        bytes += strlen(envv[n]) + 1;
    char **v = malloc((n + 1) * sizeof(char *) + bytes);
    if (!v)
        return NULL;
    char *out = (char *)(v + n + 1);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(envv[i]) + 1;
        memcpy(out, envv[i], len);
        v[i] = out;
        out += len;
    }
    v[n] = NULL;
    return v;
}

int jsonenv_decode(const char *text, size_t len, char ***envv)
{
    return decode(text, len, envv, NULL, NULL, false);
}

int jsonenv_take(const char *text, size_t len, char ***envv, size_t *off, size_t *span)
{
    return decode(text, len, envv, off, span, true);
}
