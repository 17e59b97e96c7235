/* strbuf.h - a growable byte buffer, always NUL-terminated (git's strbuf). */
#ifndef FLUXFS_STRBUF_H
#define FLUXFS_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *buf;      /* NUL-terminated; "" (static) until something is added */
    size_t len;
    size_t alloc;
};

#define STRBUF_INIT { (char *)"", 0, 0 }

void strbuf_init(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);   /* frees, leaves sb empty and usable */
void strbuf_reset(struct strbuf *sb);     /* keeps the allocation */
int strbuf_grow(struct strbuf *sb, size_t extra);          /* 0 or -ENOMEM */
int strbuf_add(struct strbuf *sb, const void *data, size_t len);
int strbuf_addstr(struct strbuf *sb, const char *s);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hand the buffer to the caller (who frees it); sb is left empty. */
char *strbuf_detach(struct strbuf *sb, size_t *len);

#endif
