/* evjournal.c - the instance's event journal (evjournal.h): a circular
 * byte buffer of whole lines with global offsets. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsd/evjournal.h"

struct evj {
    char *buf;
    size_t cap;
    uint64_t start, end;        /* global offsets kept: [start, end) */
};

struct evj *evj_create(size_t cap)
{
    struct evj *j = calloc(1, sizeof(*j));
    if (!j || !(j->buf = malloc(cap ? cap : 1))) {
        free(j);
        return NULL;
    }
    j->cap = cap ? cap : 1;
    return j;
}

void evj_destroy(struct evj *j)
{
    if (j) {
        free(j->buf);
        free(j);
    }
}

static char at(const struct evj *j, uint64_t off)
{
    return j->buf[off % j->cap];
}

int evj_append(struct evj *j, const char *line, size_t len)
{
    if (!len || line[len - 1] != '\n')
        return -EINVAL;
    if (len > j->cap)
        return -E2BIG;
    /* drop the oldest whole lines until it fits */
    while (j->end - j->start + len > j->cap) {
        uint64_t o = j->start;
        while (o < j->end && at(j, o) != '\n')
            o++;
        j->start = o < j->end ? o + 1 : j->end;
    }
    size_t pos = (size_t)(j->end % j->cap), first = j->cap - pos < len ? j->cap - pos : len;
    memcpy(j->buf + pos, line, first);
    memcpy(j->buf, line + first, len - first);
    j->end += len;
    return 0;
}

uint64_t evj_start(const struct evj *j)
{
    return j->start;
}

uint64_t evj_end(const struct evj *j)
{
    return j->end;
}

uint64_t evj_backlog(const struct evj *j, size_t n)
{
    if (j->end == j->start || n == 0)
        return j->end;
    /* back from the last line's newline, over n newlines */
    uint64_t o = j->end - 1;
    while (o > j->start) {
        if (at(j, o - 1) == '\n' && --n == 0)
            return o;
        o--;
    }
    return j->start;
}

size_t evj_read(const struct evj *j, uint64_t off, char *buf, size_t size)
{
    if (off < j->start || off >= j->end)
        return 0;
    size_t n = (size_t)(j->end - off) < size ? (size_t)(j->end - off) : size;
    size_t pos = (size_t)(off % j->cap), first = j->cap - pos < n ? j->cap - pos : n;
    memcpy(buf, j->buf + pos, first);
    memcpy(buf + first, j->buf, n - first);
    return n;
}
