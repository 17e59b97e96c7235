/* jsonw.h - JSON text written straight into a strbuf.
 *
 * The records and events of every job are small JSON objects; building
 * them as jansson trees and dumping them cost a malloc per member and a
 * quarter of the broker's time per `true` job. These append the text
 * itself. Each returns 0 or -ENOMEM; OR them and check once.
 */
#ifndef FLUXFS_JSONW_H
#define FLUXFS_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/strbuf.h"

/* A JSON string: quoted, with '"', '\\' and control characters escaped;
 * other bytes as they are (the caller's are UTF-8). NULL writes null. */
int jsonw_str(struct strbuf *sb, const char *s);
/* "name": (the name a literal of the caller's, written as is), after a
 * comma unless it is the object's first (the buffer ends in '{'). */
int jsonw_key(struct strbuf *sb, const char *name);
int jsonw_int(struct strbuf *sb, int64_t v);
/* A double that reads back the same (%.17g, as jansson writes it); a
 * non-finite one as null. */
int jsonw_num(struct strbuf *sb, double v);
/* A time in seconds with microseconds (%.6f), as Flux's eventlogs have it. */
int jsonw_time(struct strbuf *sb, double t);
/* A member: jsonw_key(), then the value as above. */
int jsonw_kstr(struct strbuf *sb, const char *name, const char *s);
int jsonw_kint(struct strbuf *sb, const char *name, int64_t v);
int jsonw_knum(struct strbuf *sb, const char *name, double v);
int jsonw_ktime(struct strbuf *sb, const char *name, double t);

/* Whether p[0..n) is strict UTF-8, as jansson checks it: no overlong
 * forms, no surrogates, nothing above U+10FFFF. */
bool jsonw_utf8(const char *p, size_t n);
/* The bytes of the strict UTF-8 character at p (n bytes there), or 0 when
 * none starts there. */
size_t jsonw_utf8_char(const char *p, size_t n);
/* A path, which is bytes, not text (a directory may be named in Latin-1,
 * and jansson refuses a document with such a string): "name" with the
 * path as a string when it is UTF-8, else "name_hex" with its bytes in
 * hex, so that the document stays JSON and the path comes back byte for
 * byte (jsonw_unhex). */
int jsonw_kpath(struct strbuf *sb, const char *name, const char *s);
/* The n bytes at s as 2n lowercase hex digits into out, NUL-terminated
 * (out has 2n + 1 bytes). */
void jsonw_hex(char *out, const char *s, size_t n);
/* The bytes of n hex digits, NUL-terminated and malloc'd; NULL with errno
 * EINVAL when they are not an even count of hex digits or make a NUL, or
 * ENOMEM. */
char *jsonw_unhex(const char *hex, size_t n);

#endif
