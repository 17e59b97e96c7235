/* jsonw.c - JSON text into a strbuf (see jsonw.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonw.h"

int jsonw_str(struct strbuf *sb, const char *s)
{
    if (!s)
        return strbuf_add(sb, "null", 4);
    size_t n = strlen(s);
    /* the worst case (every byte \u00XX) up front: one grow, no checks below */
    if (strbuf_grow(sb, n * 6 + 2) < 0)
        return -ENOMEM;
    char *o = sb->buf + sb->len;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\t': *o++ = 't'; break;
        case '\r': *o++ = 'r'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = "0123456789abcdef"[c >> 4];
            *o++ = "0123456789abcdef"[c & 15];
        }
    }
    *o++ = '"';
    *o = '\0';
    sb->len = (size_t)(o - sb->buf);
    return 0;
}

int jsonw_key(struct strbuf *sb, const char *name)
{
    size_t n = strlen(name);
    if (strbuf_grow(sb, n + 4) < 0)
        return -ENOMEM;
    char *o = sb->buf + sb->len;
    if (sb->len > 0 && o[-1] != '{')
        *o++ = ',';
    *o++ = '"';
    memcpy(o, name, n);
    o += n;
    *o++ = '"';
    *o++ = ':';
    *o = '\0';
    sb->len = (size_t)(o - sb->buf);
    return 0;
}

int jsonw_int(struct strbuf *sb, int64_t v)
{
    char tmp[24], *e = tmp + sizeof(tmp), *p = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    return strbuf_add(sb, p, (size_t)(e - p));
}

int jsonw_num(struct strbuf *sb, double v)
{
    if (!isfinite(v))
        return strbuf_add(sb, "null", 4);
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%.17g", v);
    /* a whole number still reads back as a real (jansson writes 2.0) */
    if (!strpbrk(tmp, ".eE") && n < (int)sizeof(tmp) - 2) {
        tmp[n++] = '.';
        tmp[n++] = '0';
    }
    return strbuf_add(sb, tmp, (size_t)n);
}

int jsonw_time(struct strbuf *sb, double t)
{
    if (!isfinite(t))
        return strbuf_add(sb, "null", 4);
    /* seconds and microseconds as integers: no printf of a double */
    int rc = 0;
    if (t < 0) {
        rc = strbuf_add(sb, "-", 1);
        t = -t;
    }
    double whole = floor(t);
    int64_t s = (int64_t)whole, us = (int64_t)llround((t - whole) * 1e6);
    if (us >= 1000000) {
        s++;
        us -= 1000000;
    }
    char frac[8] = ".000000";
    for (int i = 6; i >= 1; i--, us /= 10)
        frac[i] = (char)('0' + us % 10);
    rc |= jsonw_int(sb, s);   /* in order: | leaves it unsequenced */
    return rc | strbuf_add(sb, frac, 7);
}

int jsonw_kstr(struct strbuf *sb, const char *name, const char *s)
{
    int rc = jsonw_key(sb, name);
    return rc | jsonw_str(sb, s);
}

int jsonw_kint(struct strbuf *sb, const char *name, int64_t v)
{
    int rc = jsonw_key(sb, name);
    return rc | jsonw_int(sb, v);
}

int jsonw_knum(struct strbuf *sb, const char *name, double v)
{
    int rc = jsonw_key(sb, name);
    return rc | jsonw_num(sb, v);
}

int jsonw_ktime(struct strbuf *sb, const char *name, double t)
{
    int rc = jsonw_key(sb, name);
    return rc | jsonw_time(sb, t);
}

size_t jsonw_utf8_char(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (n == 0)
        return 0;
    unsigned char c = p[0];
    size_t k;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        k = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        k = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        k = 3, cp = c & 0x07;
    else
        return 0;
    if (n <= k)
        return 0;
    for (size_t j = 1; j <= k; j++) {
        if ((p[j] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[j] & 0x3F);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10FFFF
        || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k + 1;
}

bool jsonw_utf8(const char *s, size_t n)
{
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = jsonw_utf8_char(s + i, n - i)))
            return false;
    return true;
}

int jsonw_kpath(struct strbuf *sb, const char *name, const char *s)
{
    size_t n = strlen(s), k = strlen(name);
    if (jsonw_utf8(s, n))
        return jsonw_kstr(sb, name, s);
    if (strbuf_grow(sb, k + 2 * n + 16) < 0)
        return -ENOMEM;
    int rc = strbuf_addstr(sb, sb->len > 0 && sb->buf[sb->len - 1] != '{' ? ",\"" : "\"");
    rc |= strbuf_add(sb, name, k);
    rc |= strbuf_addstr(sb, "_hex\":\"");
    jsonw_hex(sb->buf + sb->len, s, n);
    sb->len += 2 * n;
    return rc | strbuf_addstr(sb, "\"");
}

void jsonw_hex(char *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        *out++ = "0123456789abcdef"[c >> 4];
        *out++ = "0123456789abcdef"[c & 15];
    }
    *out = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *jsonw_unhex(const char *hex, size_t n)
{
    if (n % 2) {
        errno = EINVAL;
        return NULL;
    }
    char *out = malloc(n / 2 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi | lo) == 0) {
            free(out);
            errno = EINVAL;
            return NULL;
        }
        out[i] = (char)(hi << 4 | lo);
    }
    out[n / 2] = '\0';
    return out;
}
