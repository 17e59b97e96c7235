/* strbuf.c - growable byte buffer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

static char strbuf_empty[1];

void strbuf_init(struct strbuf *sb)
{
    sb->buf = strbuf_empty;
    sb->len = sb->alloc = 0;
}

void strbuf_release(struct strbuf *sb)
{
    if (sb->alloc)
        free(sb->buf);
    strbuf_init(sb);
}

void strbuf_reset(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->alloc)
        sb->buf[0] = '\0';
}

int strbuf_grow(struct strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->alloc)
        return 0;
    size_t want = sb->alloc ? sb->alloc : 64;
    while (want < sb->len + extra + 1)
        want *= 2;
    char *p = realloc(sb->alloc ? sb->buf : NULL, want);
    if (!p)
        return -ENOMEM;
    if (!sb->alloc)
        p[0] = '\0';
    sb->buf = p;
    sb->alloc = want;
    return 0;
}

int strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
    if (strbuf_grow(sb, len) < 0)
        return -ENOMEM;
    memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
    return 0;
}

int strbuf_addstr(struct strbuf *sb, const char *s)
{
    return strbuf_add(sb, s, strlen(s));
}

int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || strbuf_grow(sb, n) < 0)
        return -ENOMEM;
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, n + 1, fmt, ap);
    va_end(ap);
    sb->len += n;
    return 0;
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
    char *p = sb->alloc ? sb->buf : strdup("");
    if (len)
        *len = sb->len;
    strbuf_init(sb);
    return p;
}
