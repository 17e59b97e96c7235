/* jobstream.c - split one submission into its jobspecs. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/jobstream.h"

struct docs {
    struct jobstream_doc *v;
    size_t n, alloc;
};

static int add(struct docs *d, const char *buf, size_t off, size_t end, struct errmsg *err)
{
    if (d->n == JOBSTREAM_MAX_DOCS)
        return errmsg_set(err, -EINVAL, "more than %d jobs in one submission",
                          JOBSTREAM_MAX_DOCS);
    if (d->n == d->alloc) {
        size_t n = d->alloc ? d->alloc * 2 : 16;
        struct jobstream_doc *p = realloc(d->v, n * sizeof(*p));
        if (!p)
            return errmsg_set(err, -ENOMEM, "out of memory");
        d->v = p;
        d->alloc = n;
    }
    /* count lines on from the previous document, not from the start */
    int line = d->n ? d->v[d->n - 1].line : 1;
    for (size_t i = d->n ? d->v[d->n - 1].off : 0; i < off; i++)
        line += buf[i] == '\n';
    d->v[d->n++] = (struct jobstream_doc){ .off = off, .len = end - off, .line = line };
    return 0;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* JSON: objects back to back. Braces are matched outside strings; a
 * document that never closes runs to the end, where the parser will say
 * what is missing. */
static int split_json(const char *buf, size_t len, struct docs *d, struct errmsg *err)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && blank(buf[i]))
            i++;
        if (i == len)
            break;
        size_t start = i;
        int depth = 0;
        bool str = false;
        for (; i < len; i++) {
            char c = buf[i];
            if (str) {
                if (c == '\\')
                    i++;
                else if (c == '"')
                    str = false;
            } else if (c == '"')
                str = true;
            else if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth <= 0) {
                i++;
                break;
            } else if (depth == 0 && blank(c))
                break;      /* a stray bare word: its own (invalid) document */
        }
        if (i > len)
            i = len;
        int rc = add(d, buf, start, i, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* "---" or "..." at the start of a line, then a blank or the end. */
static bool marker(const char *p, const char *end, char c)
{
    return end - p >= 3 && p[0] == c && p[1] == c && p[2] == c &&
           (end - p == 3 || blank(p[3]));
}

/* A YAML document with nothing but its marker, blanks and comments. */
static bool yaml_empty(const char *p, const char *end)
{
    if (marker(p, end, '-'))
        p += 3;
    bool comment = false;
    for (; p < end; p++) {
        if (*p == '\n')
            comment = false;
        else if (*p == '#' && !comment)
            comment = true;
        else if (!comment && !blank(*p))
            return false;
    }
    return true;
}

static int split_yaml(const char *buf, size_t len, struct docs *d, struct errmsg *err)
{
    const char *end = buf + len;
    size_t start = 0;
    bool in_doc = true;     /* text before the first marker is a document */
    for (const char *p = buf; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        bool dashes = marker(p, end, '-'), dots = marker(p, end, '.');
        if (dashes || dots) {
            size_t here = (size_t)(p - buf);
            if (in_doc && !yaml_empty(buf + start, p)) {
                int rc = add(d, buf, start, here, err);
                if (rc < 0)
                    return rc;
            }
            start = dots ? (size_t)(next - buf) : here;
            in_doc = dashes;
        }
        p = next;
    }
    if (in_doc && !yaml_empty(buf + start, end))
        return add(d, buf, start, len, err);
    return 0;
}

int jobstream_split(const char *buf, size_t len, struct jobstream_doc **docs,
                    struct errmsg *err)
{
    struct docs d = { 0 };
    size_t i = 0;
    while (i < len && blank(buf[i]))
        i++;
    int rc = 0;
    /* a batch script is one job whatever it contains */
    if (!(len >= 2 && buf[0] == '#' && buf[1] == '!'))
        rc = i < len && buf[i] == '{' ? split_json(buf, len, &d, err)
                                      : split_yaml(buf, len, &d, err);
    if (rc < 0) {
        free(d.v);
        return rc;
    }
    if (d.n == 0 && !(len >= 2 && buf[0] == '#' && buf[1] == '!')) {
        /* whatever its size: it is not too big, it has nothing in it */
        free(d.v);
        return errmsg_set(err, -EINVAL, i == len ? "no jobspec in the submission (it is empty)"
                          : "no jobspec in the submission (nothing but blank lines, comments "
                            "and '---' or '...' markers)");
    }
    if (d.n <= 1) {
        /* one job: its text exactly as written, markers and all */
        d.n = 0;
        if ((rc = add(&d, buf, 0, len, err)) < 0) {
            free(d.v);
            return rc;
        }
    }
    *docs = d.v;
    return (int)d.n;
}
