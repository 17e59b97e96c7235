/* test/jsonenv.c - the scanner agrees with jansson: on hand-made specs
 * with every escape, on this process's environment, and on thousands of
 * mutations of a spec (whatever it returns 0 for, jansson reads the same). */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonenv.h"
#include "common/tap.h"

extern char **environ;

/* jansson's reading of text's environment as "k=v" lines, or NULL if it
 * has none or one the scanner must refuse; *parsed whether jansson read
 * the text at all. */
static char *reference(const char *text, size_t len, bool *parsed)
{
    json_error_t e;
    json_t *o = json_loadb(text, len, 0, &e);
    *parsed = o != NULL;
    json_t *env = json_object_get(json_object_get(json_object_get(o, "attributes"), "system"),
                                  "environment");
    char *out = NULL;
    size_t size = 0;
    FILE *f = json_is_object(env) ? open_memstream(&out, &size) : NULL;
    const char *k;
    json_t *v;
    bool bad = false;
    if (f) {
        json_object_foreach(env, k, v) {
            if (!json_is_string(v) || !*k || strchr(k, '=')
                || strlen(json_string_value(v)) != json_string_length(v))
                bad = true;
            else
                fprintf(f, "%s=%s\n", k, json_string_value(v));
        }
        fclose(f);
    }
    json_decref(o);
    if (bad) {
        free(out);
        return NULL;
    }
    return out;
}

static char *joined(char **v)
{
    char *out = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&out, &size);
    for (; v && *v; v++)
        fprintf(f, "%s\n", *v);
    fclose(f);
    return out;
}

/* Decode text: 1 if the scanner and jansson agree (or the scanner refused
 * what it may refuse), 0 otherwise. Text jansson cannot read at all may
 * decode to anything: the scanner reads only what leads to the
 * environment, of texts ingest accepted. */
static int agrees(const char *text, size_t len, int *rcp)
{
    char **v;
    int rc = jsonenv_decode(text, len, &v);
    if (rcp)
        *rcp = rc;
    bool parsed;
    char *want = reference(text, len, &parsed);
    int good;
    if (rc >= 0) {
        char *got = joined(v);
        good = !parsed || (want && !strcmp(got, want));
        free(got);
    } else {
        /* refusing is allowed; only -ENOENT for a JSON text that has an
         * environment would be wrong */
        good = !(rc == -ENOENT && want);
    }
    free(want);
    free(v);
    return good;
}

/* A copy of base with one to three edits: a cut (one in cut_one_in), or a
 * byte overwritten from alphabet; exactly *lenp bytes, so that ASan sees a
 * read past the end. */
static char *mutant(const char *base, const char *alphabet, int cut_one_in, size_t *lenp)
{
    size_t len = strlen(base), na = strlen(alphabet);
    char *m = malloc(len ? len : 1);
    memcpy(m, base, len);
    int edits = 1 + rand() % 3;
    for (int k = 0; k < edits; k++) {
        if (rand() % cut_one_in == 0)
            len = (size_t)rand() % (len + 1);
        else if (len > 0)
            m[rand() % len] = alphabet[(size_t)rand() % na];
    }
    *lenp = len;
    return m;
}

static const char *spec(const char *env)
{
    static char buf[1 << 20];
    int n = snprintf(buf, sizeof(buf),
             "{\"version\":1,\"resources\":[{\"type\":\"slot\",\"count\":1,\"label\":\"t\","
             "\"with\":[{\"type\":\"core\",\"count\":1}]}],\"tasks\":[{\"command\":[\"true\"],"
             "\"slot\":\"t\",\"count\":{\"per_slot\":1}}],\"attributes\":{\"user\":{\"x\":"
             "[1,2.5e3,-0.1,true,false,null,{\"environment\":{\"NO\":\"1\"}}]},\"system\":"
             "{\"duration\":0,\"cwd\":\"/tmp\",\"environment\":%s}}}",
             env);
    if (n < 0 || (size_t)n >= sizeof(buf))
        abort();   /* a test's spec must be whole */
    return buf;
}

/* jsonenv_take on text nobody validated: if it takes the environment,
 * jansson (rejecting duplicates) must read the text with "{}" in its place
 * exactly when it reads the whole, and to the same tree and environment.
 * 1 if so (or it refused). */
static int takes_as_jansson(const char *text, size_t len, int *rcp)
{
    char **v;
    size_t off, span;
    int rc = jsonenv_take(text, len, &v, &off, &span);
    *rcp = rc;
    if (rc < 0)
        return v == NULL;
    char *rest = malloc(len - span + 2);
    memcpy(rest, text, off);
    memcpy(rest + off, "{}", 2);
    memcpy(rest + off + 2, text + off + span, len - off - span);
    json_error_t e;
    json_t *whole = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    json_t *part = json_loadb(rest, len - span + 2, JSON_REJECT_DUPLICATES, &e);
    int good = (whole != NULL) == (part != NULL);
    if (whole && part) {
        bool parsed;
        char *want = reference(text, len, &parsed), *got = joined(v);
        good = want && !strcmp(want, got);
        json_t *sys = json_object_get(json_object_get(whole, "attributes"), "system");
        json_object_set_new(sys, "environment", json_object());
        good = good && json_equal(whole, part);
        free(want);
        free(got);
    }
    json_decref(whole);
    json_decref(part);
    free(rest);
    free(v);
    return good;
}

int main(void)
{
    char **v;
    int rc;
    plan(NO_PLAN);

    const char *s = spec("{\"A\":\"1\",\"PATH\":\"/usr/bin:/bin\",\"E\":\"\"}");
    is(jsonenv_decode(s, strlen(s), &v), 3, "three names");
    ok(v && !strcmp(v[0], "A=1") && !strcmp(v[1], "PATH=/usr/bin:/bin") && !strcmp(v[2], "E=")
       && !v[3], "in order, an empty value kept, NULL-terminated");
    free(v);
    ok(agrees(s, strlen(s), NULL), "as jansson reads them");

    s = spec("{\"Q\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"U\":\"\\u00e9\\u20ac\\ud83d\\ude00x\"}");
    ok(agrees(s, strlen(s), &rc) && rc == 2, "every escape, and \\u to UTF-8 with a surrogate pair");
    s = spec("{\"RAW\":\"caf\xc3\xa9 \xe2\x82\xac\"}");
    ok(agrees(s, strlen(s), &rc) && rc == 1, "raw UTF-8 is copied");
    s = spec("{}");
    is(jsonenv_decode(s, strlen(s), &v), 0, "an empty environment");
    ok(v && !v[0], "... is an empty array");
    free(v);
    s = " \n {\"attributes\" : { \"system\" : { \"environment\" : { \"K\" : \"v\" } } } } ";
    ok(agrees(s, strlen(s), &rc) && rc == 1, "space anywhere JSON allows it");

    /* what it refuses */
    struct { const char *env; int rc; const char *why; } bad[] = {
        { "{\"N\":1}", -EINVAL, "a value that is not a string" },
        { "{\"A=B\":\"x\"}", -EINVAL, "a name with '='" },
        { "{\"\":\"x\"}", -EINVAL, "an empty name" },
        { "{\"Z\":\"a\\u0000b\"}", -EINVAL, "a NUL" },
        { "{\"S\":\"\\ud800\"}", -EINVAL, "a lone high surrogate" },
        { "{\"S\":\"\\udc00\"}", -EINVAL, "a lone low surrogate" },
        { "{\"S\":\"\\x41\"}", -EINVAL, "an escape JSON does not have" },
        { "{\"S\":\"a\tb\"}", -EINVAL, "a raw control character" },
        { "[\"A=1\"]", -EINVAL, "an array" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = spec(bad[i].env);
        is(jsonenv_decode(s, strlen(s), &v), bad[i].rc, "refused: %s", bad[i].why);
        ok(v == NULL, "... nothing returned");
    }
    s = "version: 1\nattributes:\n  system:\n    environment: {A: '1'}\n";
    is(jsonenv_decode(s, strlen(s), &v), -ENOENT, "YAML is not for it");
    s = "{\"version\":1,\"attributes\":{\"system\":{\"duration\":0}}}";
    is(jsonenv_decode(s, strlen(s), &v), -ENOENT, "a spec without an environment");
    s = "{\"attributes\":{\"system\":{\"environment\":{\"A\":\"1\"";
    is(jsonenv_decode(s, strlen(s), &v), -EINVAL, "a cut text");

    /* this process's environment, through jansson and back */
    json_t *env = json_object();
    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (eq && eq > *e)
            json_object_setn_new(env, *e, (size_t)(eq - *e), json_string(eq + 1));
    }
    char *envtext = json_dumps(env, JSON_COMPACT);
    char *big = strdup(spec(envtext));
    int same = agrees(big, strlen(big), &rc);
    ok(same && rc == (int)json_object_size(env) && rc > 0, "this process's environment (%d names)",
       rc);
    char *ascii = json_dumps(env, JSON_COMPACT | JSON_ENSURE_ASCII);
    free(big);
    big = strdup(spec(ascii));
    ok(agrees(big, strlen(big), NULL), "... dumped ASCII-only");

    /* mutations: cut, overwrite with JSON's own characters, never beyond len */
    const char *base = spec("{\"A\":\"x\\u00e9\",\"B\":\"\\ud83d\\ude00\",\"C\":\"\"}");
    static const char alphabet[] = "{}[]:,\"\\u0aZ9e.- \n";
    int fails = 0, decoded = 0;
    srand(19);
    for (int i = 0; i < 20000; i++) {
        size_t len;
        char *m = mutant(base, alphabet, 4, &len);
        if (!agrees(m, len, &rc)) {
            if (fails++ < 3)
                diag("disagrees on: %.*s", (int)len, m);
        }
        decoded += rc >= 0;
        free(m);
    }
    ok(fails == 0, "20,000 mutated specs: never a different environment than jansson's "
                   "(%d decoded)", decoded);

    /* jsonenv_take: what jansson refuses, refused */
    struct { const char *env; const char *why; } strict[] = {
        { "{\"A\":\"1\",\"B\":\"2\",\"A\":\"3\"}", "a name twice" },
        { "{\"A\":\"1\",\"\\u0041\":\"3\"}", "a name twice, once escaped" },
        { "{\"A\":\"\xff\"}", "a byte that is never UTF-8" },
        { "{\"A\":\"\xc0\x80\"}", "an overlong NUL" },
        { "{\"A\":\"\xe0\x80\xaf\"}", "an overlong slash" },
        { "{\"A\":\"\xed\xa0\x80\"}", "an encoded surrogate" },
        { "{\"A\":\"\xf4\x90\x80\x80\"}", "above U+10FFFF" },
        { "{\"A\":\"\xc3\"}", "a cut sequence" },
        { "{\"\xc3\x28\":\"x\"}", "a bad name" },
    };
    for (size_t i = 0; i < sizeof(strict) / sizeof(strict[0]); i++) {
        size_t off, span;
        s = spec(strict[i].env);
        is(jsonenv_take(s, strlen(s), &v, &off, &span), -EINVAL, "take refuses %s",
           strict[i].why);
        ok(jsonenv_decode(s, strlen(s), &v) >= 0, "... which decode (of stored text) takes");
        free(v);
    }
    size_t off, span;
    s = spec("{\"A\":\"\xf0\x9f\x98\x80\xc3\xa9\",\"AB\":\"1\",\"B\":\"\"}");
    ok(jsonenv_take(s, strlen(s), &v, &off, &span) == 3 && s[off] == '{' && s[off + span - 1] == '}'
       && !strncmp(s + off + span, "}}}", 3), "take: valid UTF-8, and where the object is");
    free(v);
    ok(takes_as_jansson(big, strlen(big), &rc) && rc > 0, "take: this process's environment");

    /* mutations again, with bytes that are not UTF-8 and names that repeat */
    const char *dbase = spec("{\"A\":\"x\\u00e9\",\"B\":\"\xc3\xa9\",\"C\":\"\",\"AB\":\"y\"}");
    static const char dalphabet[] = "{}:,\"\\uAB9 \xc3\xa9\xff\x80\xed\xf0";
    int taken = 0;
    fails = 0;
    for (int i = 0; i < 20000; i++) {
        size_t len;
        char *m = mutant(dbase, dalphabet, 5, &len);
        if (!takes_as_jansson(m, len, &rc) && fails++ < 3)
            diag("take disagrees on: %.*s", (int)len, m);
        taken += rc >= 0;
        free(m);
    }
    ok(fails == 0 && taken > 1000, "20,000 mutated submissions: what take reads, jansson reads "
       "the same, around it and in it (%d taken)", taken);
    free(big);
    free(ascii);
    free(envtext);
    json_decref(env);
    done_testing();
}
