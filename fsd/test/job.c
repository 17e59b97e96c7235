/* test/job.c - job states, result text, durable records, eventlog lines. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "common/jsonw.h"
#include "fsd/job.h"
#include "common/tap.h"

static void test_names(void)
{
    static const char *want[JOB_NSTATES] = {
        "NEW", "DEPEND", "PRIORITY", "SCHED", "RUN", "CLEANUP", "INACTIVE",
    };
    for (int s = 0; s < JOB_NSTATES; s++)
        is_str(job_state_name(s), want[s], "state %d is %s", s, want[s]);
    is_str(job_state_name(JOB_NSTATES), "UNKNOWN", "out-of-range state is UNKNOWN");
    is_str(job_state_name(-1), "UNKNOWN", "negative state is UNKNOWN");

    is_str(job_result_name(RESULT_NONE), "", "no result is empty");
    is_str(job_result_name(RESULT_COMPLETED), "COMPLETED", "COMPLETED");
    is_str(job_result_name(RESULT_FAILED), "FAILED", "FAILED");
    is_str(job_result_name(RESULT_CANCELED), "CANCELED", "CANCELED");
    is_str(job_result_name(RESULT_TIMEOUT), "TIMEOUT", "TIMEOUT");
    is_str(job_result_name(RESULT_LOST), "LOST", "LOST");
    is_str(job_result_name(RESULT_LOST + 1), "", "out-of-range result is empty");
}

static void result_is(enum job_result r, int status, const char *want)
{
    struct job *job = job_create(1);
    char buf[64];
    job->result = r;
    job->status = status;
    memset(buf, 'x', sizeof(buf));
    int n = job_result_text(job, buf, sizeof(buf));
    is(n, strlen(want), "result text length for %s/%d", job_result_name(r), status);
    is_str(buf, want, "result text for %s/%d", job_result_name(r), status);
    job_destroy(job);
}

static void test_result_text(void)
{
    result_is(RESULT_NONE, 0, "");
    result_is(RESULT_COMPLETED, 0, "COMPLETED 0\n");
    result_is(RESULT_FAILED, 3, "FAILED 3\n");
    result_is(RESULT_FAILED, 137, "FAILED 137\n");
    result_is(RESULT_CANCELED, 143, "CANCELED\n");
    result_is(RESULT_TIMEOUT, 143, "TIMEOUT\n");
    result_is(RESULT_LOST, 137, "LOST\n");

    /* snprintf semantics: the would-be length, truncated but terminated */
    struct job *job = job_create(2);
    char small[5];
    job->result = RESULT_COMPLETED;
    is(job_result_text(job, small, sizeof(small)), 12, "short buffer: full length returned");
    is_str(small, "COMP", "short buffer: truncated and terminated");
    job_destroy(job);
}

static const char spec[] =
    "version: 1\n"
    "tasks:\n"
    "  - command: [\"sh\", \"-c\", \"echo \\\"hi\\\" \\\\ 'x'\"]\n"
    "\ttab \xc3\xa9\n";
static const char R[] =
    "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0\",\"children\":{\"core\":\"0-1\"}}]}}\n";

static void test_round_trip(void)
{
    struct job *job = job_create(123456789);
    ok(job != NULL, "job_create");
    ok(strlen(job->idstr) > 0, "job_create sets idstr: %s", job->idstr);
    job->state = JOB_INACTIVE;
    job->result = RESULT_FAILED;
    job->status = 3;
    job->uid = 4242;
    job->gid = 4343;
    job->urgency = 31;
    job->t_submit = 1700000000.123456;
    job->t_state = 1700000012.5;
    job->spec_text = strdup(spec);
    job->spec_len = strlen(spec);
    job->cwd = strdup("/home/u \"q\"/dir\n2");
    job->R = strdup(R);
    job->R_len = strlen(R);
    job->nevents = 10;
    job->evlog_len = 5000000000ull;
    job->out_len[1] = 4294967296ull + 7;
    job->out_len[2] = 11;
    job->dirty = true;             /* bookkeeping: must not travel */
    job->canceling = true;

    char *rec = job_record_encode(job);
    ok(rec != NULL, "encode");
    if (!rec) {
        job_destroy(job);
        return;
    }
    ok(strchr(rec, '\n') == NULL, "record is one line (newlines escaped)");
    struct job *j2 = job_record_decode(999, rec, strlen(rec));
    ok(j2 != NULL, "decode");
    if (j2) {
        is(j2->id, 999, "decode takes the id from the key");
        is(j2->state, JOB_INACTIVE, "state");
        is(j2->result, RESULT_FAILED, "result");
        is(j2->status, 3, "status");
        is(j2->uid, 4242, "uid");
        is(j2->gid, 4343, "gid");
        is(j2->urgency, 31, "urgency");
        ok(j2->t_submit == job->t_submit, "t_submit exact (%.6f)", j2->t_submit);
        ok(j2->t_state == job->t_state, "t_state exact (%.6f)", j2->t_state);
        is(j2->spec_len, strlen(spec), "jobspec length");
        ok(j2->spec_text == NULL && strstr(rec, "newlines") == NULL,
           "the jobspec text is not in the record (it is a blob of its own)");
        is_str(j2->cwd, job->cwd, "cwd");
        is(j2->R_len, strlen(R), "R length");
        ok(j2->R == NULL && strstr(rec, "R_lite") == NULL, "nor is R");
        ok(!j2->legacy, "a current record is not legacy");
        is(j2->nevents, 10, "nevents");
        ok(j2->evlog_len == 5000000000ull, "evlog_len (> 32 bits)");
        ok(j2->out_len[1] == 4294967296ull + 7, "out_len[1] (> 32 bits)");
        is(j2->out_len[2], 11, "out_len[2]");
        ok(j2->committed && j2->announced, "a decoded job is committed and announced");
        ok(!j2->dirty && !j2->canceling && j2->js == NULL, "bookkeeping not persisted");
        ok(j2->t_output[1] == j2->t_state && j2->t_output[2] == j2->t_state,
           "output times start at t_state");
        char *rec2 = job_record_encode(j2);
        ok(rec2 != NULL, "re-encode");
        /* ids differ (999 vs 123456789), the rest must match */
        struct job *j3 = rec2 ? job_record_decode(123456789, rec2, strlen(rec2)) : NULL;
        char *rec3 = j3 ? job_record_encode(j3) : NULL;
        is_str(rec3, rec, "encode(decode(encode(job))) is stable");
        free(rec2);
        free(rec3);
        job_destroy(j3);
    }
    job_destroy(j2);
    free(rec);

    /* optional fields absent: cwd and R */
    free(job->cwd);
    job->cwd = NULL;
    free(job->R);
    job->R = NULL;
    job->R_len = 0;
    job->state = JOB_SCHED;
    job->result = RESULT_NONE;
    rec = job_record_encode(job);
    ok(rec && !strstr(rec, "\"cwd\"") && !strstr(rec, "\"R\""), "no cwd/R keys when unset");
    j2 = rec ? job_record_decode(5, rec, strlen(rec)) : NULL;
    ok(j2 != NULL, "decode without cwd and R");
    if (j2) {
        ok(j2->cwd == NULL && j2->R == NULL && j2->R_len == 0, "cwd and R stay NULL");
        is(j2->state, JOB_SCHED, "state SCHED");
        is(j2->result, RESULT_NONE, "result none");
    }
    job_destroy(j2);
    free(rec);

    /* a record written before blobs existed carries both texts */
    rec = job_record_encode(job);
    json_t *o = json_loads(rec, 0, NULL);
    json_object_del(o, "spec_len");
    json_object_del(o, "R_len");
    json_object_set_new(o, "jobspec", json_stringn(spec, sizeof(spec) - 1));
    json_object_set_new(o, "R", json_string(R));
    free(rec);
    rec = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    j2 = rec ? job_record_decode(6, rec, strlen(rec)) : NULL;
    ok(j2 && j2->legacy, "an old record decodes, marked legacy");
    ok(j2 && j2->spec_len == sizeof(spec) - 1 && j2->spec_text &&
       memcmp(j2->spec_text, spec, sizeof(spec)) == 0,
       "with its jobspec text (newlines, quotes, backslashes, tab, utf-8)");
    ok(j2 && j2->R && !strcmp(j2->R, R) && j2->R_len == strlen(R), "and its R text");
    job_destroy(j2);
    free(rec);
    job_destroy(job);
}

/* A valid record with one key replaced (value JSON text) or removed (NULL). */
static char *record_with(const char *key, const char *value)
{
    struct job *job = job_create(1);
    job->spec_text = strdup("x");
    job->spec_len = 1;
    char *rec = job_record_encode(job);
    job_destroy(job);
    json_t *o = json_loads(rec, 0, NULL);
    free(rec);
    if (value)
        json_object_set_new(o, key, json_loads(value, JSON_DECODE_ANY, NULL));
    else
        json_object_del(o, key);
    rec = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return rec;
}

static void rejects(const char *what, const char *key, const char *value)
{
    char *rec = record_with(key, value);
    struct job *job = job_record_decode(1, rec, strlen(rec));
    ok(job == NULL, "decode rejects %s", what);
    job_destroy(job);
    free(rec);
}

static void test_malformed(void)
{
    static const char *required[] = {
        "state", "result", "status", "uid", "gid", "urgency", "t_submit", "t_state",
        "nevents", "evlog_len", "out_len",
    };
    const char *bad[] = { "", "{", "not json", "[]", "null", "{\"state\":\"RUN\"}" };
    struct job *job;

    char *rec = record_with("state", "\"RUN\"");
    job = job_record_decode(1, rec, strlen(rec));
    ok(job != NULL && job->state == JOB_RUN, "the unmodified baseline decodes");
    job_destroy(job);
    free(rec);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        job = job_record_decode(1, bad[i], strlen(bad[i]));
        ok(job == NULL, "decode rejects '%s'", bad[i]);
        job_destroy(job);
    }
    rec = record_with("state", "\"SCHED\"");
    job = job_record_decode(1, rec, strlen(rec) - 1);
    ok(job == NULL, "decode rejects a truncated record");
    job_destroy(job);
    free(rec);

    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        char what[64];
        snprintf(what, sizeof(what), "missing '%s'", required[i]);
        rejects(what, required[i], NULL);
    }
    rejects("unknown state", "state", "\"RUNNING\"");
    rejects("lower-case state", "state", "\"sched\"");
    rejects("unknown result", "result", "\"EXPLODED\"");
    rejects("state of the wrong type", "state", "3");
    rejects("status of the wrong type", "status", "\"0\"");
    rejects("jobspec of the wrong type", "jobspec", "{}");
    rejects("out_len with one element", "out_len", "[1]");
    rejects("out_len not a list", "out_len", "5");
    rejects("cwd of the wrong type", "cwd", "7");
    rejects("R of the wrong type", "R", "{}");
}

static void test_event_format(void)
{
    json_error_t jerr;
    char *line = job_event_format(1700000000.25, "submit",
                                  json_pack("{s:i s:s}", "userid", 42, "note", "a\nb"));
    ok(line != NULL, "format an event");
    if (!line)
        return;
    size_t n = strlen(line);
    ok(n > 0 && line[n - 1] == '\n', "line ends in a newline");
    ok(strchr(line, '\n') == line + n - 1, "exactly one newline (context newlines escaped)");
    json_t *o = json_loadb(line, n - 1, 0, &jerr);
    ok(o != NULL, "line is JSON: %s", o ? "yes" : jerr.text);
    ok(json_real_value(json_object_get(o, "timestamp")) == 1700000000.25, "timestamp");
    is_str(json_string_value(json_object_get(o, "name")), "submit", "name");
    json_t *ctx = json_object_get(o, "context");
    is(json_integer_value(json_object_get(ctx, "userid")), 42, "context.userid");
    is_str(json_string_value(json_object_get(ctx, "note")), "a\nb", "context.note");
    is(json_object_size(o), 3, "exactly timestamp, name, context");
    json_decref(o);
    free(line);

    line = job_event_format(2.0, "clean", NULL);
    ok(line != NULL, "format with NULL context");
    o = line ? json_loads(line, 0, NULL) : NULL;
    ctx = json_object_get(o, "context");
    ok(json_is_object(ctx) && json_object_size(ctx) == 0, "NULL context is {}");
    ok(json_is_real(json_object_get(o, "timestamp")), "timestamp is a number with a fraction");
    json_decref(o);
    free(line);
}

/* rec with its first `from` replaced by `to` (malloc'd; NULL if absent) */
static char *replaced(const char *rec, const char *from, const char *to)
{
    const char *at = rec ? strstr(rec, from) : NULL;
    size_t size = at ? strlen(rec) + strlen(to) + 1 : 0;
    char *out = at ? malloc(size) : NULL;
    if (out)
        snprintf(out, size, "%.*s%s%s", (int)(at - rec), rec, to, at + strlen(from));
    return out;
}

/* A directory is bytes: one named in Latin-1 is not UTF-8, which jansson
 * refuses in a document. The record keeps it as "cwd_hex"; a record an
 * earlier version wrote with the raw bytes still reads. */
static void test_cwd_bytes(void)
{
    static const char latin1[] = "/home/u/caf\xe9/r\xe9sultats";
    struct job *job = job_create(77);
    job->state = JOB_RUN;
    job->t_submit = 1700000000.000001;
    job->t_state = 1700000001.999999;
    job->cwd = strdup(latin1);
    char *rec = job_record_encode(job);
    ok(rec && strstr(rec, "\"cwd_hex\":\"") && !strstr(rec, "\"cwd\":"),
       "a cwd that is not UTF-8 is written as cwd_hex");
    json_error_t jerr;
    json_t *o = rec ? json_loads(rec, 0, &jerr) : NULL;
    ok(o != NULL, "... and the record is JSON jansson reads (%s)", o ? "yes" : jerr.text);
    struct job *j2 = rec ? job_record_decode(77, rec, strlen(rec)) : NULL;
    is_str(j2 ? j2->cwd : NULL, latin1, "... read back byte for byte");
    ok(j2 && j2->t_submit == job->t_submit && j2->t_state == job->t_state,
       "... with its times exact");
    job_destroy(j2);
    /* the same document laid out otherwise (spaces, another order): jansson's reader */
    char *pretty = o ? json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
    j2 = pretty ? job_record_decode(77, pretty, strlen(pretty)) : NULL;
    is_str(j2 ? j2->cwd : NULL, latin1, "... also when jansson reads it");
    char *again = j2 ? job_record_encode(j2) : NULL;
    is_str(again, rec, "both readers make the same job");
    free(again);
    free(pretty);
    json_decref(o);
    job_destroy(j2);
    free(rec);

    /* what the version before wrote: the raw bytes in "cwd" */
    free(job->cwd);
    job->cwd = strdup("/tmp/x");
    rec = job_record_encode(job);
    char *old = replaced(rec, "/tmp/x", latin1);
    j2 = old ? job_record_decode(77, old, strlen(old)) : NULL;
    ok(j2 != NULL, "a record with raw bytes in cwd (an earlier version's) still reads");
    is_str(j2 ? j2->cwd : NULL, latin1, "... with its cwd as it was");
    job_destroy(j2);
    free(old);

    /* ... and one whose name also has a quote, a backslash and a tab in it
     * (jsonw_str escaped those, and left the rest raw) */
    static const char odd[] = "/home/u/\"caf\xe9\"\\r\xe9s\tx\x01\x1f";
    old = replaced(rec, "/tmp/x", "/home/u/\\\"caf\xe9\\\"\\\\r\xe9s\\tx\\u0001\\u001F");
    j2 = old ? job_record_decode(77, old, strlen(old)) : NULL;
    is_str(j2 ? j2->cwd : NULL, odd, "... also with escapes in it (\\\", \\\\, \\t, \\u00XX)");
    job_destroy(j2);
    free(old);

    /* what jansson refuses, the fast reader does not take either */
    static const char *const bad[][2] = {
        { "\"status\":0,", "\"status\":007," }, { "\"status\":0,", "\"status\":-0," },
        { "\"status\":0,", "\"status\":99999999999999999999999," },
        { "\"t_submit\":1700000000.000001", "\"t_submit\":1700000000." },
        { "\"t_submit\":1700000000.000001", "\"t_submit\":.5" },
        { "\"t_submit\":1700000000.000001", "\"t_submit\":00.5" },
        { "\"t_submit\":1700000000.000001", "\"t_submit\":1e9" },
    };
    for (size_t i = 0; rec && i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *buf = replaced(rec, bad[i][0], bad[i][1]);
        json_t *o = buf ? json_loads(buf, 0, NULL) : NULL;
        struct job *j = buf ? job_record_decode(77, buf, strlen(buf)) : NULL;
        ok(buf && (o != NULL) == (j != NULL), "'%s': read by jansson %s, and by the record "
           "reader %s", bad[i][1], o ? "yes" : "no", j ? "yes" : "no");
        json_decref(o);
        job_destroy(j);
        free(buf);
    }
    free(rec);

    /* every prefix of a record, and every byte flipped: refused or read,
     * never read past (ASan) */
    free(job->cwd);
    job->cwd = strdup(latin1);
    rec = job_record_encode(job);
    size_t n = rec ? strlen(rec) : 0, taken = 0;
    for (size_t i = 0; i < n; i++) {
        char *cut = malloc(i ? i : 1);
        if (!cut)
            break;
        memcpy(cut, rec, i);
        j2 = job_record_decode(77, cut, i);
        taken += j2 != NULL;
        job_destroy(j2);
        free(cut);
    }
    is(taken, 0, "no prefix of a record reads as a job");
    for (size_t i = 0; i < n; i++) {
        char *flip = malloc(n);
        if (!flip)
            break;
        memcpy(flip, rec, n);
        flip[i] ^= 0x20;
        job_destroy(job_record_decode(77, flip, n));
        free(flip);
    }
    ok(1, "flipped bytes are refused or read without a fault");
    free(rec);
    job_destroy(job);

    static const char hex[] = "2f78";
    char *b = jsonw_unhex(hex, 4);
    is_str(b, "/x", "jsonw_unhex");
    free(b);
    ok(jsonw_unhex("2f7", 3) == NULL && jsonw_unhex("2g", 2) == NULL
       && jsonw_unhex("2f00", 4) == NULL, "jsonw_unhex refuses odd lengths, non-hex, a NUL");
}

int main(void)
{
    plan(NO_PLAN);
    test_names();
    test_result_text();
    test_round_trip();
    test_malformed();
    test_cwd_bytes();
    test_event_format();
    return done_testing();
}
