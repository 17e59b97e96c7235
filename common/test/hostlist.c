#include <errno.h>
#include <stdlib.h>

#include "common/hostlist.h"
#include "common/tap.h"

static void check(const char *in, size_t count, const char *first,
                  const char *last, const char *enc)
{
    struct hostlist *hl = hostlist_create();
    is(hostlist_append(hl, in), 0, "append '%s'", in);
    is(hostlist_count(hl), count, "'%s' has %zu hosts", in, count);
    if (count) {
        is_str(hostlist_nth(hl, 0), first, "'%s' first is '%s'", in, first);
        is_str(hostlist_nth(hl, count - 1), last, "'%s' last is '%s'", in, last);
    }
    ok(hostlist_nth(hl, count) == NULL, "nth out of range is NULL");
    char *txt = hostlist_encode(hl);
    is_str(txt, enc, "'%s' encodes as '%s'", in, enc);
    free(txt);
    hostlist_destroy(hl);
}

static void check_bad(const char *in)
{
    struct hostlist *hl = hostlist_create();
    hostlist_append(hl, "keep1");
    is(hostlist_append(hl, in), -EINVAL, "'%s' is rejected", in);
    is(hostlist_count(hl), 1, "'%s' left the list unchanged", in);
    hostlist_destroy(hl);
}

int main(void)
{
    plan(NO_PLAN);

    check("", 0, NULL, NULL, "");
    check("login1", 1, "login1", "login1", "login1");
    check("node[0-3,7],login1", 6, "node0", "login1", "node[0-3,7],login1");
    check("node0,node1,node2,node3", 4, "node0", "node3", "node[0-3]");
    check("pi[3,0-2,4]", 5, "pi3", "pi4", "pi[3,0-2,4]");
    check("fluke[3-103]", 101, "fluke3", "fluke103", "fluke[3-103]");
    check("f[0-1]", 2, "f0", "f1", "f[0-1]");
    check("node[01-10]", 10, "node01", "node10", "node[01-10]");
    check("node[8-10]", 3, "node8", "node10", "node[8-10]");
    check("rack[1-2]-ib", 2, "rack1-ib", "rack2-ib", "rack1-ib,rack2-ib");
    check("foo,bar,foo", 3, "foo", "foo", "foo,bar,foo");
    check("[0-2]", 3, "0", "2", "[0-2]");
    check("a1,b1,a2", 3, "a1", "a2", "a1,b1,a2");
    check("n1,n01", 2, "n1", "n01", "n1,n01");

    struct hostlist *hl = hostlist_create();
    is(hostlist_append(hl, "n[0-1]"), 0, "append n[0-1]");
    is(hostlist_append(hl, "n2,m5"), 0, "append n2,m5");
    is(hostlist_count(hl), 4, "4 hosts");
    char *txt = hostlist_encode(hl);
    is_str(txt, "n[0-2],m5", "appended lists merge when encoded");
    free(txt);
    hostlist_destroy(hl);
    hostlist_destroy(NULL);

    check_bad("node[");
    check_bad("node]");
    check_bad("node[1-");
    check_bad("node[3-1]");
    check_bad("node[[1]]");
    check_bad("node[1,]");
    check_bad("node[]");
    check_bad("a,,b");
    check_bad("a,");
    check_bad(",a");
    check_bad("a b");
    check_bad("n[1]x[2]");
    check_bad("n[0-99999999]");
    check_bad("n[1234567890]");

    /* membership without expansion */
    is(hostlist_text_contains("node[0-3,7],login1", "node7"), 1, "contains: node7 in node[0-3,7]");
    is(hostlist_text_contains("node[0-3,7],login1", "node4"), 0, "... node4 is not");
    is(hostlist_text_contains("node[0-3,7],login1", "login1"), 1, "... login1 (a plain name)");
    is(hostlist_text_contains("node[01-10]", "node05"), 1, "padded: node05 in node[01-10]");
    is(hostlist_text_contains("node[01-10]", "node5"), 0, "... node5 is not (unpadded)");
    is(hostlist_text_contains("node[01-10]", "node10"), 1, "... node10 is");
    is(hostlist_text_contains("node[0-10]", "node05"), 0, "unpadded range: node05 is not");
    is(hostlist_text_contains("n[0-99999999]", "n12345678"), 1, "a huge range costs nothing");
    is(hostlist_text_contains("rack[1-2]-bmc", "rack2-bmc"), 1, "a suffix after the range");
    is(hostlist_text_contains("rack[1-2]-bmc", "rack2"), 0, "... is required");
    is(hostlist_text_contains("node[", "node1"), -EINVAL, "a bad list: -EINVAL");
    is(hostlist_text_contains("a,,b", NULL), -EINVAL, "an empty item: -EINVAL");
    is(hostlist_text_contains("a[1-3]", NULL), 0, "NULL name only checks the list");
    return done_testing();
}
