/* test/evjournal.c - the event journal's ring of lines. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/tap.h"
#include "fsd/evjournal.h"

static void test_basic(void)
{
    struct evj *j = evj_create(64);
    char buf[128];
    ok(j != NULL, "create");
    is((int)evj_end(j), 0, "empty: end 0");
    is((int)evj_backlog(j, 10), 0, "empty: the backlog starts at the end");
    is(evj_append(j, "no newline", 10), -EINVAL, "a line without its newline is refused");
    is(evj_append(j, "a\n", 2), 0, "append");
    is(evj_append(j, "bb\n", 3), 0, "append");
    is((int)evj_end(j), 5, "end counts bytes");
    size_t n = evj_read(j, 0, buf, sizeof(buf));
    ok(n == 5 && !memcmp(buf, "a\nbb\n", 5), "read everything");
    n = evj_read(j, 2, buf, 2);
    ok(n == 2 && !memcmp(buf, "bb", 2), "read from an offset, bounded");
    is((int)evj_read(j, 5, buf, sizeof(buf)), 0, "nothing at the end");
    is((int)evj_backlog(j, 1), 2, "the last line starts at 2");
    is((int)evj_backlog(j, 2), 0, "the last two at 0");
    is((int)evj_backlog(j, 9), 0, "more than kept: from the start");
    char big[100];
    memset(big, 'x', sizeof(big));
    big[99] = '\n';
    is(evj_append(j, big, sizeof(big)), -E2BIG, "a line over the capacity is refused");
    evj_destroy(j);
}

static void test_wrap(void)
{
    struct evj *j = evj_create(32);
    char line[16], buf[64];
    for (int i = 0; i < 100; i++) {
        int len = snprintf(line, sizeof(line), "line %d\n", i);
        if (evj_append(j, line, (size_t)len) < 0)
            break;
    }
    ok(evj_end(j) - evj_start(j) <= 32, "never more than the capacity (%llu kept)",
       (unsigned long long)(evj_end(j) - evj_start(j)));
    size_t n = evj_read(j, evj_start(j), buf, sizeof(buf));
    buf[n] = '\0';
    ok(n > 0 && !strncmp(buf, "line ", 5) && buf[n - 1] == '\n',
       "what is kept is whole lines, across the wrap: '%.40s'", buf);
    ok(strstr(buf, "line 99\n") != NULL, "ending with the newest");
    is((int)evj_read(j, evj_start(j) - 1, buf, sizeof(buf)), 0, "dropped bytes read nothing");
    uint64_t b = evj_backlog(j, 1);
    n = evj_read(j, b, buf, sizeof(buf));
    ok(n == 8 && !memcmp(buf, "line 99\n", 8), "the backlog of one line is the newest");
    evj_destroy(j);
}

int main(void)
{
    plan(NO_PLAN);
    test_basic();
    test_wrap();
    return done_testing();
}
