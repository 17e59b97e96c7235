#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jobstream.h"
#include "common/tap.h"

/* Split text and render the documents as "[line]text|[line]text|..." */
static const char *split(const char *text, int *n)
{
    static char out[4096];
    struct jobstream_doc *d = NULL;
    struct errmsg err = { "" };
    *n = jobstream_split(text, strlen(text), &d, &err);
    if (*n < 0) {
        snprintf(out, sizeof(out), "error: %s", err.text);
        return out;
    }
    size_t o = 0;
    for (int i = 0; i < *n; i++)
        o += snprintf(out + o, sizeof(out) - o, "[%d]%.*s|", d[i].line, (int)d[i].len,
                      text + d[i].off);
    free(d);
    return out;
}

int main(void)
{
    int n;
    const char *s;

    /* one document: the whole text, unchanged, markers included */
    s = split("version: 1\ntasks: []\n", &n);
    is(n, 1, "plain YAML is one document");
    is_str(s, "[1]version: 1\ntasks: []\n|", "with its text unchanged");
    s = split("---\nversion: 1\n...\n", &n);
    is(n, 1, "a single '---' document is one document");
    is_str(s, "[1]---\nversion: 1\n...\n|", "markers kept");
    s = split("# comment\n---\nversion: 1\n", &n);
    is(n, 1, "a comment before the marker is not a document");
    s = split("{\"version\": 1}", &n);
    is(n, 1, "one JSON object");
    s = split("  {\"a\": \"}{\"}\n", &n);
    is(n, 1, "braces inside strings do not split");
    is_str(s, "[1]  {\"a\": \"}{\"}\n|", "and the text is unchanged");
    s = split("#!/bin/sh\n#FLUX: -n1\n---\necho hi\n", &n);
    is(n, 1, "a batch script is always one document");
    s = split("", &n);
    is(n, -EINVAL, "empty text is refused");
    is_str(s, "error: no jobspec in the submission (it is empty)", "as holding no jobspec");
    s = split("---\n# nothing\n...\n---\n", &n);
    is(n, -EINVAL, "only empty documents are refused");
    is_str(s, "error: no jobspec in the submission (nothing but blank lines, comments and "
           "'---' or '...' markers)", "as holding no jobspec");
    s = split("#!/bin/sh\n", &n);
    is(n, 1, "a batch script of one line is still one document");

    /* YAML streams */
    s = split("a: 1\n---\nb: 2\n---\nc: 3\n", &n);
    is(n, 3, "three YAML documents");
    is_str(s, "[1]a: 1\n|[2]---\nb: 2\n|[4]---\nc: 3\n|", "split at the markers, with lines");
    s = split("---\na: 1\n---\n---\nb: 2\n", &n);
    is(n, 2, "an empty document between markers is skipped");
    is_str(s, "[1]---\na: 1\n|[4]---\nb: 2\n|", "the rest kept");
    s = split("--- {a: 1}\n--- {b: 2}\n", &n);
    is(n, 2, "content on the marker line");
    is_str(s, "[1]--- {a: 1}\n|[2]--- {b: 2}\n|", "stays with its document");
    s = split("a: 1\n...\nb: 2\n---\nc: 3\n", &n);
    is(n, 2, "text after '...' and before the next '---' is not a document");
    s = split("a: |\n  ---\n  x\nb: ----\n", &n);
    is(n, 1, "indented '---' and '----' are not markers");
    s = split("a: 1\n---\n# only a comment\n", &n);
    is(n, 1, "a trailing comment-only document is skipped");

    /* JSON streams */
    s = split("{\"a\":1}\n{\"b\":[1,{\"c\":2}]}\n{\"d\":\"\\\"}\"}\n", &n);
    is(n, 3, "three JSON Lines");
    is_str(s, "[1]{\"a\":1}|[2]{\"b\":[1,{\"c\":2}]}|[3]{\"d\":\"\\\"}\"}|",
           "split at the closing braces, escapes respected");
    s = split("{\"a\":1}{\"b\":2}", &n);
    is(n, 2, "objects back to back");
    s = split("{\"a\":1}\n{\"b\":2", &n);
    is(n, 2, "an unclosed object is the last document");
    is_str(s, "[1]{\"a\":1}|[2]{\"b\":2|", "running to the end");
    s = split("{\"a\":1}\ngarbage\n{\"b\":2}", &n);
    is(n, 3, "a stray word is a document of its own");
    is_str(s, "[1]{\"a\":1}|[2]garbage|[3]{\"b\":2}|", "for the parser to reject");

    /* the limit */
    size_t big = (JOBSTREAM_MAX_DOCS + 1) * 3;
    char *t = malloc(big + 1);
    for (size_t i = 0; i < big; i += 3)
        memcpy(t + i, "{}\n", 3);
    t[big] = '\0';
    struct jobstream_doc *d = NULL;
    struct errmsg err = { "" };
    is(jobstream_split(t, big - 3, &d, &err), JOBSTREAM_MAX_DOCS, "the maximum is accepted");
    free(d);
    d = NULL;
    is(jobstream_split(t, big, &d, &err), -EINVAL, "one more is refused");
    ok(strstr(err.text, "more than 100000 jobs") != NULL, "with a reason: %s", err.text);
    free(t);

    /* 4 MB of empty documents: nothing to submit, whatever the size */
    big = 2000000 * 4;
    t = malloc(big + 1);
    for (size_t i = 0; i < big; i += 4)
        memcpy(t + i, "---\n", 4);
    t[big] = '\0';
    d = NULL;
    is(jobstream_split(t, big, &d, &err), -EINVAL, "2 million '---' lines are refused");
    ok(strstr(err.text, "no jobspec in the submission") != NULL, "as no jobspec: %s", err.text);
    free(t);
    return done_testing();
}
