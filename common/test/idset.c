#include <errno.h>
#include <stdlib.h>

#include "common/idset.h"
#include "common/tap.h"

static void check_roundtrip(const char *in, const char *want, size_t count)
{
    struct idset *s = idset_decode(in);
    ok(s != NULL, "decode '%s'", in);
    if (!s)
        return;
    char *txt = idset_encode(s);
    is_str(txt, want, "encode '%s' -> '%s'", in, want);
    is(idset_count(s), count, "'%s' has %zu ids", in, count);
    free(txt);
    idset_destroy(s);
}

static void check_bad(const char *in)
{
    errno = 0;
    struct idset *s = idset_decode(in);
    ok(s == NULL && errno == EINVAL, "'%s' is rejected with EINVAL", in);
    idset_destroy(s);
}

int main(void)
{
    plan(NO_PLAN);

    check_roundtrip("", "", 0);
    check_roundtrip("[]", "", 0);
    check_roundtrip("0", "0", 1);
    check_roundtrip("0-3,5", "0-3,5", 5);
    check_roundtrip("[0-3]", "0-3", 4);
    check_roundtrip("5,0,1,2,3", "0-3,5", 5);
    check_roundtrip("7-8,1,1,2", "1-2,7-8", 4);
    check_roundtrip("63-65,127,128", "63-65,127-128", 5);
    check_roundtrip("1000", "1000", 1);

    check_bad("a");
    check_bad("1,");
    check_bad(",1");
    check_bad("3-1");
    check_bad("1-");
    check_bad("-1");
    check_bad("1 2");
    check_bad("[1");
    check_bad("1]");
    check_bad("1,,2");
    check_bad("99999999999");
    ok(idset_decode(NULL) == NULL && errno == EINVAL, "NULL is rejected");

    struct idset *s = idset_create(4);
    ok(s != NULL, "create");
    is(idset_first(s), -1, "empty set: first is -1");
    is(idset_set(s, 3), 0, "set 3");
    is(idset_set(s, 200), 0, "set 200 grows the set");
    is(idset_set(s, 3), 0, "set 3 again");
    is(idset_count(s), 2, "count 2");
    ok(idset_test(s, 200) && idset_test(s, 3) && !idset_test(s, 4)
       && !idset_test(s, 100000), "test");
    is(idset_first(s), 3, "first is 3");
    is(idset_next(s, 3), 200, "next after 3 is 200");
    is(idset_next(s, 200), -1, "next after 200 is -1");
    idset_clear(s, 3);
    idset_clear(s, 3);
    idset_clear(s, 99999);
    is(idset_count(s), 1, "count 1 after clear");
    is(idset_first(s), 200, "first is 200");
    char *txt = idset_encode(s);
    is_str(txt, "200", "encode");
    free(txt);
    idset_destroy(s);
    idset_destroy(NULL);

    is(idset_text_contains("0-3,7", 7), 1, "text_contains: 7 in 0-3,7");
    is(idset_text_contains("0-3,7", 5), 0, "... 5 is not");
    is(idset_text_contains("[2-4]", 3), 1, "... brackets are allowed");
    is(idset_text_contains("0-2147483645", 2000000000), 1, "a huge range costs nothing");
    is(idset_text_contains("3-1", 2), -EINVAL, "a backwards range: -EINVAL");
    is(idset_text_contains("x", 0), -EINVAL, "not an idset: -EINVAL");
    return done_testing();
}
