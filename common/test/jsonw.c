/* test/jsonw.c - what jsonw writes, jansson reads back the same. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonw.h"
#include "common/tap.h"

/* Wrap text as [text] and read it back with jansson. */
static json_t *back(const char *text)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "[%s]", text);
    json_t *a = json_loads(sb.buf, JSON_DECODE_ANY, NULL);
    strbuf_release(&sb);
    json_t *v = json_incref(json_array_get(a, 0));
    json_decref(a);
    return v;
}

int main(void)
{
    struct strbuf sb = STRBUF_INIT;
    json_t *v;
    plan(NO_PLAN);

    const char *strs[] = { "", "plain", "a\"b\\c", "tab\there\nnl\r\b\f", "\x01\x1f\x7f",
                           "caf\xc3\xa9 \xf0\x9f\x98\x80", "/slash/" };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        strbuf_reset(&sb);
        ok(jsonw_str(&sb, strs[i]) == 0, "string %zu written", i);
        v = back(sb.buf);
        is_str(json_string_value(v), strs[i], "... reads back the same (%s)", sb.buf);
        json_decref(v);
    }
    strbuf_reset(&sb);
    jsonw_str(&sb, NULL);
    is_str(sb.buf, "null", "a NULL string is null");

    int64_t ints[] = { 0, 1, -1, 42, INT64_MAX, INT64_MIN, 1000000000000LL };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        strbuf_reset(&sb);
        jsonw_int(&sb, ints[i]);
        v = back(sb.buf);
        ok(json_is_integer(v) && json_integer_value(v) == ints[i], "integer %s", sb.buf);
        json_decref(v);
    }

    double nums[] = { 0.0, 1.0, -2.5, 1765049643.1234567, 1e-300, 3.0e300, 0.1 };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        strbuf_reset(&sb);
        jsonw_num(&sb, nums[i]);
        v = back(sb.buf);
        ok(json_is_real(v) && json_real_value(v) == nums[i], "real %s reads back exactly",
           sb.buf);
        json_decref(v);
    }
    strbuf_reset(&sb);
    jsonw_num(&sb, NAN);
    is_str(sb.buf, "null", "NaN is null");

    struct { double t; const char *want; } times[] = {
        { 1700000000.25, "1700000000.250000" }, { 2.0, "2.000000" },
        { 1765049643.9999996, "1765049644.000000" }, { 0.000001, "0.000001" },
        { -1.5, "-1.500000" },
    };
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        strbuf_reset(&sb);
        jsonw_time(&sb, times[i].t);
        is_str(sb.buf, times[i].want, "time %.7f", times[i].t);
    }
    strbuf_reset(&sb);
    jsonw_key(&sb, "name");
    jsonw_str(&sb, "x");
    is_str(sb.buf, "\"name\":\"x\"", "a key and its value");
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "{");
    jsonw_key(&sb, "a");
    jsonw_int(&sb, 1);
    jsonw_key(&sb, "b");
    jsonw_int(&sb, 2);
    strbuf_addstr(&sb, "}");
    is_str(sb.buf, "{\"a\":1,\"b\":2}", "keys after the first get their comma");
    strbuf_release(&sb);
    /* one character at a time, as queue/errors escapes a name */
    is(jsonw_utf8_char("a", 1), 1, "utf8_char: ASCII is 1 byte");
    is(jsonw_utf8_char("\xc3\xa9x", 3), 2, "utf8_char: e-acute is 2 bytes");
    is(jsonw_utf8_char("\xe9t\xe9", 3), 0, "utf8_char: a Latin-1 byte starts none");
    is(jsonw_utf8_char("\xe2\x82", 2), 0, "utf8_char: a character cut short is none");
    is(jsonw_utf8_char("\xc0\x80", 2), 0, "utf8_char: an overlong form is none");
    ok(jsonw_utf8("h\xc3\xa9llo", 6) && !jsonw_utf8("h\xe9llo", 5), "utf8: whole strings, as before");
    done_testing();
}
