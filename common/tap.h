/* tap.h - a tiny Test Anything Protocol helper for unit tests.
 *
 * plan(N) or plan(NO_PLAN), then ok()/is()/is_str(), then done_testing().
 * Output goes to stdout; meson runs the binaries with protocol: 'tap'.
 */
#ifndef FLUXFS_TAP_H
#define FLUXFS_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>

#define NO_PLAN (-1)

static int tap_count, tap_failed, tap_planned = NO_PLAN;

static inline void plan(int n)
{
    tap_planned = n;
    if (n >= 0)
        printf("1..%d\n", n);
}

static inline int tap_vok(int cond, const char *file, int line, const char *fmt, va_list ap)
{
    tap_count++;
    printf("%sok %d - ", cond ? "" : "not ", tap_count);
    vprintf(fmt, ap);
    printf("\n");
    if (!cond) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return cond;
}

static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = tap_vok(cond, file, line, fmt, ap);
    va_end(ap);
    return rc;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is(got, want, ...) do { \
        long long g_ = (long long)(got), w_ = (long long)(want); \
        if (!tap_ok(g_ == w_, __FILE__, __LINE__, __VA_ARGS__)) \
            printf("#   got: %lld\n#   expected: %lld\n", g_, w_); \
    } while (0)

#define is_str(got, want, ...) do { \
        const char *g_ = (got), *w_ = (want); \
        int c_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_; \
        if (!tap_ok(c_, __FILE__, __LINE__, __VA_ARGS__)) \
            printf("#   got: '%s'\n#   expected: '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)

static inline void diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static inline int done_testing(void)
{
    if (tap_planned == NO_PLAN)
        printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
