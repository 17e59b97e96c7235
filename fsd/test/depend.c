/* depend.c - unit tests for job dependency schemes. */
#include <errno.h>
#include <string.h>

#include "common/tap.h"
#include "fsd/depend.h"

static struct job jobs[3];   /* "fA" running, "fB" completed 0, "fC" failed */

static struct job *lookup(void *arg, const char *idstr)
{
    if (!strcmp(idstr, "fA"))
        return &jobs[0];
    if (!strcmp(idstr, "fB"))
        return &jobs[1];
    if (!strcmp(idstr, "fC"))
        return &jobs[2];
    return NULL;
}

static json_t *spec(const char *scheme, const char *value)
{
    return json_pack("{s:{s:{s:[{s:s s:s}]}}}", "attributes", "system", "dependencies",
                     "scheme", scheme, "value", value);
}

static int check(const char *scheme, const char *value)
{
    struct errmsg err = { "" };
    json_t *js = spec(scheme, value);
    int rc = depend_check(js, lookup, NULL, 0, NULL, &err);
    json_decref(js);
    return rc;
}

static int validate(json_t *js, struct errmsg *err)
{
    int rc = depend_validate(js, lookup, NULL, err);
    json_decref(js);
    return rc;
}

int main(void)
{
    struct errmsg err = { "" };
    plan(NO_PLAN);
    jobs[0].state = JOB_RUN;
    jobs[1].state = JOB_INACTIVE;
    jobs[1].result = RESULT_COMPLETED;
    jobs[1].R = (char *)"{}";
    jobs[2].state = JOB_INACTIVE;
    jobs[2].result = RESULT_FAILED;
    jobs[2].status = 2;
    jobs[2].R = (char *)"{}";

    is(validate(json_object(), &err), 0, "no dependencies");
    is(validate(spec("afterok", "fA"), &err), 1, "one valid dependency");
    is(validate(spec("afterfoo", "fA"), &err), -EINVAL, "unknown scheme rejected");
    ok(strstr(err.text, "unknown scheme 'afterfoo'") != NULL, "reason names it: %s", err.text);
    is(validate(spec("afterok", "fZ"), &err), -EINVAL, "unknown job rejected");
    ok(strstr(err.text, "unknown job 'fZ'") != NULL, "reason names it: %s", err.text);
    is(validate(json_pack("{s:{s:{s:i}}}", "attributes", "system", "dependencies", 3), &err),
       -EINVAL, "dependencies must be a list");

    is(check("after", "fA"), DEPEND_READY, "after: target running");
    is(check("afterany", "fA"), DEPEND_WAIT, "afterany: target still running");
    is(check("afterok", "fA"), DEPEND_WAIT, "afterok: target still running");
    is(check("afterok", "fB"), DEPEND_READY, "afterok: target completed");
    is(check("afterok", "fC"), DEPEND_NEVER, "afterok: target failed");
    is(check("afternotok", "fC"), DEPEND_READY, "afternotok: target failed");
    is(check("afternotok", "fB"), DEPEND_NEVER, "afternotok: target completed");
    is(check("afterany", "fC"), DEPEND_READY, "afterany: target ended");
    jobs[2].R = NULL;   /* canceled before it ever ran */
    is(check("after", "fC"), DEPEND_NEVER, "after: target ended without starting");
    is(check("afterok", "fZ"), DEPEND_NEVER, "a vanished target can never satisfy");

    json_t *two = json_pack("{s:{s:{s:[{s:s s:s} {s:s s:s}]}}}", "attributes", "system",
                            "dependencies", "scheme", "afterok", "value", "fB",
                            "scheme", "afterany", "value", "fA");
    is(depend_check(two, lookup, NULL, 0, NULL, &err), DEPEND_WAIT,
       "all must hold: one still waits");
    jobs[0].state = JOB_INACTIVE;
    is(depend_check(two, lookup, NULL, 0, NULL, &err), DEPEND_READY, "then both hold");
    json_decref(two);

    /* begin-time (Flux's --begin-time): a time, not a job */
    json_t *bt = json_pack("{s:{s:{s:[{s:s s:f} {s:s s:s}]}}}", "attributes", "system",
                           "dependencies", "scheme", "begin-time", "value", 1000.0,
                           "scheme", "afterok", "value", "fB");
    is(depend_validate(bt, lookup, NULL, &err), 2, "begin-time takes a number");
    double wake = 0;
    is(depend_check(bt, lookup, NULL, 999.0, &wake, &err), DEPEND_WAIT,
       "begin-time: waits before the time");
    ok(wake == 1000.0, "... and says when to look again");
    wake = 0;
    is(depend_check(bt, lookup, NULL, 1000.5, &wake, &err), DEPEND_READY, "then it holds");
    ok(wake == 0, "... with nothing to wake for");
    json_decref(bt);
    bt = json_pack("{s:{s:{s:[{s:s s:s}]}}}", "attributes", "system", "dependencies",
                   "scheme", "begin-time", "value", "tomorrow");
    is(depend_validate(bt, lookup, NULL, &err), -EINVAL, "begin-time with a string refused");
    json_decref(bt);
    return done_testing();
}
