/* errmsg.h - a small text buffer for errors a person must read.
 *
 * Modules that validate user input (jobspecs, control verbs, resource files)
 * return -errno and fill a struct errmsg with the reason, flux_error_t style:
 * lowercase, no full stop, what went wrong first, the subject quoted.
 */
#ifndef FLUXFS_ERRMSG_H
#define FLUXFS_ERRMSG_H

#include <stdarg.h>
#include <stdio.h>

struct errmsg {
    char text[256];
};

/* Format into e (NULL-safe) and return rc, so callers can write
 *   return errmsg_set(err, -EINVAL, "unknown verb '%s'", verb);
 */
static inline int errmsg_set(struct errmsg *e, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int errmsg_set(struct errmsg *e, int rc, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->text, sizeof(e->text), fmt, ap);
        va_end(ap);
    }
    return rc;
}

#endif
