/* queues.c - unit tests for named queues: names, configuration, state,
 * dump and load. */
#include <errno.h>
#include <string.h>

#include "common/tap.h"
#include "fsd/queues.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *o = json_loads(text, JSON_DECODE_ANY, &e);
    if (!o) {
        diag("bad test JSON '%s': %s", text, e.text);
        exit(1);
    }
    return o;
}

static int conf(struct queues *qs, const char *name, const char *text, struct errmsg *err)
{
    json_t *c = J(text);
    int rc = queues_configure(qs, name, c, err);
    json_decref(c);
    return rc;
}

static bool json_is(json_t *got, const char *want)
{
    json_t *w = J(want);
    bool eq = got && json_equal(got, w);
    json_decref(w);
    return eq;
}

/* The names in iteration order, as "a,b,c". */
static const char *order(const struct queues *qs)
{
    static char out[2048];
    out[0] = '\0';
    for (struct queue *q = queues_next(qs, NULL); q; q = queues_next(qs, q))
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", out[0] ? "," : "",
                 q->name);
    return out;
}

static void test_names(void)
{
    char name[64];
    ok(queues_name_valid("batch"), "name: batch");
    ok(queues_name_valid("a"), "name: one byte");
    ok(queues_name_valid("Debug_2-x"), "name: letters, digits, '_' and '-'");
    ok(queues_name_valid("x-"), "name: '-' after the first byte");
    ok(queues_name_valid("New"), "name: reserved names are case-sensitive");
    memset(name, 'q', QUEUE_NAME_MAX - 1);
    name[QUEUE_NAME_MAX - 1] = '\0';
    ok(queues_name_valid(name), "name: %d bytes", QUEUE_NAME_MAX - 1);
    memset(name, 'q', QUEUE_NAME_MAX);
    name[QUEUE_NAME_MAX] = '\0';
    ok(!queues_name_valid(name), "name: %d bytes refused", QUEUE_NAME_MAX);
    ok(!queues_name_valid(NULL), "name: NULL refused");
    ok(!queues_name_valid(""), "name: empty refused");
    ok(!queues_name_valid("-x"), "name: leading '-' refused");
    ok(!queues_name_valid("a b"), "name: space refused");
    ok(!queues_name_valid("a/b"), "name: '/' refused");
    ok(!queues_name_valid("."), "name: '.' refused");
    ok(!queues_name_valid(".."), "name: '..' refused");
    ok(!queues_name_valid("caf\xc3\xa9"), "name: non-ASCII refused");
    ok(!queues_name_valid("new"), "name: new is reserved");
    ok(!queues_name_valid("errors"), "name: errors is reserved");
    ok(!queues_name_valid("drafts"), "name: drafts is reserved");
}

static void test_add_remove(void)
{
    struct queues *qs = queues_create();
    struct errmsg err = { "" };
    char name[16];

    ok(qs != NULL, "create");
    is(queues_count(qs), 0, "empty at first");
    ok(queues_next(qs, NULL) == NULL, "nothing to iterate");
    ok(queues_default(qs) == NULL, "no default at first");

    is(queues_add(qs, "batch", &err), 0, "add batch");
    is(queues_add(qs, "debug", &err), 0, "add debug");
    is(queues_count(qs), 2, "two queues");
    struct queue *b = queues_lookup(qs, "batch"), *d = queues_lookup(qs, "debug");
    ok(b && !strcmp(b->name, "batch"), "lookup batch");
    ok(d != NULL, "lookup debug");
    is(b->index, 1, "batch has index 1");
    is(d->index, 2, "debug has index 2");
    ok(queues_by_index(qs, 1) == b && queues_by_index(qs, 2) == d, "by_index finds them");
    ok(!queues_by_index(qs, 0) && !queues_by_index(qs, -1) && !queues_by_index(qs, 3)
       && !queues_by_index(qs, QUEUES_MAX + 1), "by_index: 0, -1, unused, out of range");
    ok(!queues_lookup(qs, "nope") && !queues_lookup(qs, NULL), "lookup: unknown, NULL");

    ok(b->enabled && b->started, "a new queue is enabled and started");
    ok(json_is(b->config, "{}"), "... configured {}");
    ok(b->constraint == NULL, "... on all nodes");
    ok(b->max_duration == 0 && b->max_nodes == 0 && b->max_running == 0 && b->max_pending == 0,
       "... without limits");
    ok(b->priority == 0 && !b->is_default, "... priority 0, not the default");

    is(queues_add(qs, "batch", &err), -EEXIST, "add batch again: EEXIST");
    is_str(err.text, "queue 'batch' already exists", "... and why");
    is(queues_add(qs, "new", &err), -EINVAL, "add a reserved name: EINVAL");
    is_str(err.text, "invalid queue name 'new'", "... and why");
    is(queues_add(qs, "a b", &err), -EINVAL, "add a bad name: EINVAL");
    is(queues_add(qs, NULL, &err), -EINVAL, "add NULL: EINVAL");
    is(queues_count(qs), 2, "still two queues");

    is(queues_remove(qs, "batch"), 0, "remove batch");
    is(queues_remove(qs, "batch"), -ENOENT, "remove it again: ENOENT");
    ok(!queues_lookup(qs, "batch") && !queues_by_index(qs, 1), "batch is gone");
    is(queues_count(qs), 1, "one queue");
    is(queues_add(qs, "other", &err), 0, "add other");
    is(queues_lookup(qs, "other")->index, 1, "it takes the freed index 1");

    for (int i = queues_count(qs); i < QUEUES_MAX; i++) {
        snprintf(name, sizeof(name), "q%02d", i);
        if (queues_add(qs, name, &err) < 0)
            diag("add %s: %s", name, err.text);
    }
    is(queues_count(qs), QUEUES_MAX, "%d queues", QUEUES_MAX);
    ok(queues_by_index(qs, QUEUES_MAX) != NULL, "index %d used", QUEUES_MAX);
    is(queues_add(qs, "onemore", &err), -ENOSPC, "one more: ENOSPC");
    is_str(err.text, "queue 'onemore': too many queues (at most 63)", "... and why");
    ok(!queues_lookup(qs, "onemore"), "... and it is not there");
    is(queues_remove(qs, "q30"), 0, "remove q30");
    is(queues_add(qs, "onemore", &err), 0, "then there is room");
    is(queues_lookup(qs, "onemore")->index, 31, "... at q30's index");
    queues_destroy(qs);
    queues_destroy(NULL);
}

static void test_iterate(void)
{
    struct queues *qs = queues_create();
    const char *names[] = { "zeta", "alpha", "Mid", "beta", "alpha2", "_u", "9" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        queues_add(qs, names[i], NULL);
    is_str(order(qs), "9,Mid,_u,alpha,alpha2,beta,zeta", "iteration in name (strcmp) order");
    queues_remove(qs, "alpha");
    is_str(order(qs), "9,Mid,_u,alpha2,beta,zeta", "... after a removal");
    queues_destroy(qs);
}

struct bad {
    const char *config;
    const char *why;
};

static void test_configure(void)
{
    struct queues *qs = queues_create();
    struct errmsg err = { "" };
    struct queue *q, before;
    char *big;

    queues_add(qs, "debug", NULL);
    q = queues_lookup(qs, "debug");
    is(conf(qs, "debug",
            "{\"nodes\": \"node[1-4],big7\", \"requires\": [\"gpu\", \"^bigmem\"],"
            " \"max-duration\": 3600, \"max-nodes\": 4, \"max-running-per-user\": 2,"
            " \"max-pending-per-user\": 10, \"priority\": -5, \"default\": true}", &err),
       0, "configure every key");
    ok(q->max_duration == 3600.0, "max-duration 3600");
    is(q->max_nodes, 4, "max-nodes 4");
    is(q->max_running, 2, "max-running-per-user 2");
    is(q->max_pending, 10, "max-pending-per-user 10");
    is(q->priority, -5, "priority -5");
    ok(q->is_default && queues_default(qs) == q, "default");
    ok(json_is(q->config,
               "{\"nodes\": \"node[1-4],big7\", \"requires\": [\"gpu\", \"^bigmem\"],"
               " \"max-duration\": 3600, \"max-nodes\": 4, \"max-running-per-user\": 2,"
               " \"max-pending-per-user\": 10, \"priority\": -5, \"default\": true}"),
       "config kept");
    ok(json_is(q->constraint, "{\"and\": [{\"hostlist\": [\"node[1-4],big7\"]},"
                              " {\"properties\": [\"gpu\", \"^bigmem\"]}]}"),
       "nodes and requires: and of hostlist and properties");
    ok(q->enabled && q->started, "configuring leaves the state alone");

    /* each refused config leaves everything as it was */
    memcpy(&before, q, sizeof(before));
    static const struct bad bad[] = {
        { "[]", "queue 'debug': configuration must be an object" },
        { "\"x\"", "queue 'debug': configuration must be an object" },
        { "null", "queue 'debug': configuration must be an object" },
        { "{\"foo\": 1}", "queue 'debug': unknown key 'foo'" },
        { "{\"Nodes\": \"n1\"}", "queue 'debug': unknown key 'Nodes'" },
        { "{\"nodes\": 3}", "queue 'debug': nodes: must be a host list of 1..1024 bytes" },
        { "{\"nodes\": \"\"}", "queue 'debug': nodes: must be a host list of 1..1024 bytes" },
        { "{\"nodes\": [\"n1\"]}", "queue 'debug': nodes: must be a host list of 1..1024 bytes" },
        { "{\"nodes\": \"node[1-\"}", "queue 'debug': nodes: invalid host list 'node[1-'" },
        { "{\"nodes\": \"a,,b\"}", "queue 'debug': nodes: invalid host list 'a,,b'" },
        { "{\"nodes\": \"n[4-2]\"}", "queue 'debug': nodes: invalid host list 'n[4-2]'" },
        { "{\"nodes\": \"n 1\"}", "queue 'debug': nodes: invalid host list 'n 1'" },
        { "{\"requires\": \"gpu\"}",
          "queue 'debug': requires: must be a list of 1..64 properties" },
        { "{\"requires\": []}", "queue 'debug': requires: must be a list of 1..64 properties" },
        { "{\"requires\": [\"\"]}",
          "queue 'debug': requires: entry 0 must be a property of 1..64 bytes, "
          "optionally after '^'" },
        { "{\"requires\": [\"gpu\", \"^\"]}",
          "queue 'debug': requires: entry 1 must be a property of 1..64 bytes, "
          "optionally after '^'" },
        { "{\"requires\": [\"gpu\", 3]}",
          "queue 'debug': requires: entry 1 must be a property of 1..64 bytes, "
          "optionally after '^'" },
        { "{\"max-duration\": 0}", "queue 'debug': max-duration: must be a number > 0" },
        { "{\"max-duration\": -1.5}", "queue 'debug': max-duration: must be a number > 0" },
        { "{\"max-duration\": \"1h\"}", "queue 'debug': max-duration: must be a number > 0" },
        { "{\"max-nodes\": 0}", "queue 'debug': max-nodes: must be an integer >= 1" },
        { "{\"max-nodes\": -3}", "queue 'debug': max-nodes: must be an integer >= 1" },
        { "{\"max-nodes\": 1.5}", "queue 'debug': max-nodes: must be an integer >= 1" },
        { "{\"max-nodes\": 2.0}", "queue 'debug': max-nodes: must be an integer >= 1" },
        { "{\"max-nodes\": \"2\"}", "queue 'debug': max-nodes: must be an integer >= 1" },
        { "{\"max-running-per-user\": 0}",
          "queue 'debug': max-running-per-user: must be an integer >= 1" },
        { "{\"max-running-per-user\": true}",
          "queue 'debug': max-running-per-user: must be an integer >= 1" },
        { "{\"max-pending-per-user\": 0}",
          "queue 'debug': max-pending-per-user: must be an integer >= 1" },
        { "{\"max-pending-per-user\": null}",
          "queue 'debug': max-pending-per-user: must be an integer >= 1" },
        { "{\"priority\": 1000001}",
          "queue 'debug': priority: must be an integer -1000000..1000000" },
        { "{\"priority\": -1000001}",
          "queue 'debug': priority: must be an integer -1000000..1000000" },
        { "{\"priority\": 1.0}", "queue 'debug': priority: must be an integer -1000000..1000000" },
        { "{\"default\": 1}", "queue 'debug': default: must be true or false" },
        { "{\"default\": \"yes\"}", "queue 'debug': default: must be true or false" },
        /* a valid key before a bad one changes nothing either */
        { "{\"max-nodes\": 8, \"priority\": 7, \"nodes\": \"x[\"}",
          "queue 'debug': nodes: invalid host list 'x['" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.text[0] = '\0';
        is(conf(qs, "debug", bad[i].config, &err), -EINVAL, "refused: %s", bad[i].config);
        is_str(err.text, bad[i].why, "... why");
        ok(!memcmp(&before, q, sizeof(before)), "... and nothing changed");
    }
    is(queues_configure(qs, "debug", NULL, &err), -EINVAL, "NULL config refused");

    /* sizes a user controls */
    big = malloc(2048);
    memset(big, 'n', 1024);
    strcpy(big + 1024, "");
    json_t *c = json_pack("{s:s}", "nodes", big);
    is(queues_configure(qs, "debug", c, &err), 0, "nodes: 1024 bytes");
    json_decref(c);
    strcpy(big + 1024, "1");
    c = json_pack("{s:s}", "nodes", big);
    memcpy(&before, q, sizeof(before));
    is(queues_configure(qs, "debug", c, &err), -EINVAL, "nodes: 1025 bytes refused");
    ok(!memcmp(&before, q, sizeof(before)), "... and nothing changed");
    json_decref(c);
    c = json_pack("{s:s#}", "nodes", "n1\0n2", (int)5);
    is(queues_configure(qs, "debug", c, &err), -EINVAL, "nodes: embedded NUL refused");
    json_decref(c);

    c = json_pack("{s:[]}", "requires");
    for (int i = 0; i < 64; i++)
        json_array_append_new(json_object_get(c, "requires"), json_string("p"));
    is(queues_configure(qs, "debug", c, &err), 0, "requires: 64 entries");
    json_array_append_new(json_object_get(c, "requires"), json_string("p"));
    is(queues_configure(qs, "debug", c, &err), -EINVAL, "requires: 65 refused");
    is_str(err.text, "queue 'debug': requires: must be a list of 1..64 properties", "... why");
    json_decref(c);
    memset(big, 'p', 64);
    big[64] = '\0';
    c = json_pack("{s:[s]}", "requires", big);
    is(queues_configure(qs, "debug", c, &err), 0, "requires: a 64-byte property");
    json_decref(c);
    big[0] = '^';
    c = json_pack("{s:[s]}", "requires", big);
    is(queues_configure(qs, "debug", c, &err), 0, "requires: '^' and 63 bytes");
    json_decref(c);
    strcpy(big + 64, "p");
    c = json_pack("{s:[s]}", "requires", big);
    is(queues_configure(qs, "debug", c, &err), -EINVAL, "requires: 65 bytes refused");
    json_decref(c);
    free(big);

    /* edges that are valid */
    is(conf(qs, "debug", "{\"priority\": 1000000}", &err), 0, "priority 1000000");
    is(q->priority, 1000000, "... kept");
    is(conf(qs, "debug", "{\"priority\": -1000000}", &err), 0, "priority -1000000");
    is(q->priority, -1000000, "... kept");
    is(conf(qs, "debug", "{\"max-duration\": 0.5}", &err), 0, "max-duration 0.5");
    ok(q->max_duration == 0.5, "... kept");
    is(conf(qs, "debug", "{\"max-nodes\": 9223372036854775807}", &err), 0,
       "max-nodes: the largest integer");
    is(conf(qs, "debug", "{\"default\": false}", &err), 0, "default false");
    ok(!q->is_default && !queues_default(qs), "... no default");
    is(conf(qs, "debug", "{\"nodes\": \"n[0-99999999]\"}", &err), 0,
       "nodes: a huge range is checked, not expanded");

    /* constraint shapes */
    is(conf(qs, "debug", "{\"nodes\": \"node[0-3]\"}", &err), 0, "nodes only");
    ok(json_is(q->constraint, "{\"hostlist\": [\"node[0-3]\"]}"), "... a hostlist constraint");
    is(conf(qs, "debug", "{\"requires\": [\"gpu\"]}", &err), 0, "requires only");
    ok(json_is(q->constraint, "{\"properties\": [\"gpu\"]}"), "... a properties constraint");
    is(conf(qs, "debug", "{\"nodes\": \"a1\", \"requires\": [\"^slow\", \"ib\"]}", &err), 0,
       "both");
    ok(json_is(q->constraint, "{\"and\": [{\"hostlist\": [\"a1\"]},"
                              " {\"properties\": [\"^slow\", \"ib\"]}]}"),
       "... and of both");
    is(conf(qs, "debug", "{\"max-nodes\": 2}", &err), 0, "neither");
    ok(q->constraint == NULL, "... no constraint");

    /* {} clears everything */
    is(conf(qs, "debug",
            "{\"nodes\": \"n1\", \"max-duration\": 60, \"max-nodes\": 1,"
            " \"max-running-per-user\": 1, \"max-pending-per-user\": 1, \"priority\": 3,"
            " \"default\": true}", &err), 0, "configure again");
    is(conf(qs, "debug", "{}", &err), 0, "configure {}");
    ok(json_is(q->config, "{}") && q->constraint == NULL, "... all nodes");
    ok(q->max_duration == 0 && q->max_nodes == 0 && q->max_running == 0 && q->max_pending == 0,
       "... no limits");
    ok(q->priority == 0 && !q->is_default && !queues_default(qs), "... priority 0, no default");

    /* the config is a copy: the caller's stays the caller's */
    c = J("{\"max-nodes\": 3}");
    is(queues_configure(qs, "debug", c, &err), 0, "configure from a caller's object");
    json_object_set_new(c, "max-nodes", json_integer(99));
    ok(json_is(q->config, "{\"max-nodes\": 3}"), "... changing it later changes nothing");
    json_decref(c);

    is(conf(qs, "nope", "{}", &err), -ENOENT, "configure an unknown queue: ENOENT");
    is_str(err.text, "unknown queue 'nope'", "... why");
    queues_destroy(qs);
}

static void test_default(void)
{
    struct queues *qs = queues_create();
    struct errmsg err = { "" };
    queues_add(qs, "a", NULL);
    queues_add(qs, "b", NULL);
    struct queue *a = queues_lookup(qs, "a"), *b = queues_lookup(qs, "b"), before;

    is(conf(qs, "a", "{\"default\": true}", &err), 0, "a is the default");
    ok(queues_default(qs) == a, "... queues_default says so");
    memcpy(&before, b, sizeof(before));
    is(conf(qs, "b", "{\"default\": true, \"priority\": 4}", &err), -EEXIST,
       "b as the default too: EEXIST");
    is_str(err.text, "queue 'b': default: queue 'a' is already the default", "... naming a");
    ok(!memcmp(&before, b, sizeof(before)), "... and b is unchanged");
    ok(queues_default(qs) == a, "... a is still the default");
    is(conf(qs, "a", "{\"default\": true, \"priority\": 1}", &err), 0,
       "the default may be configured as the default again");
    is(conf(qs, "b", "{\"default\": false}", &err), 0, "b not the default: fine");
    is(conf(qs, "a", "{}", &err), 0, "a no longer the default");
    is(conf(qs, "b", "{\"default\": true}", &err), 0, "then b may be");
    ok(queues_default(qs) == b, "... and is");
    is(queues_remove(qs, "b"), 0, "remove the default");
    ok(queues_default(qs) == NULL, "... no default left");
    is(conf(qs, "a", "{\"default\": true}", &err), 0, "a may be the default again");
    queues_destroy(qs);
}

static void test_state(void)
{
    struct queues *qs = queues_create();
    struct errmsg err = { "" };
    queues_add(qs, "a", NULL);
    struct queue *a = queues_lookup(qs, "a");
    is(queues_set_state(qs, "a", "stop", &err), 0, "stop");
    ok(!a->started && a->enabled, "... stopped, still enabled");
    is(queues_set_state(qs, "a", "disable", &err), 0, "disable");
    ok(!a->started && !a->enabled, "... disabled");
    is(queues_set_state(qs, "a", "start", &err), 0, "start");
    ok(a->started && !a->enabled, "... started, still disabled");
    is(queues_set_state(qs, "a", "enable", &err), 0, "enable");
    ok(a->started && a->enabled, "... enabled");
    is(queues_set_state(qs, "a", "start", &err), 0, "start a started queue: fine");
    is(queues_set_state(qs, "a", "pause", &err), -EINVAL, "unknown verb: EINVAL");
    is_str(err.text, "queue 'a': unknown verb 'pause'", "... why");
    is(queues_set_state(qs, "a", NULL, &err), -EINVAL, "NULL verb: EINVAL");
    ok(a->started && a->enabled, "... nothing changed");
    is(queues_set_state(qs, "z", "stop", &err), -ENOENT, "unknown queue: ENOENT");
    is_str(err.text, "unknown queue 'z'", "... why");
    queues_destroy(qs);
}

/* A set of three queues with some of everything, and a hole at index 2. */
static struct queues *sample(void)
{
    struct queues *qs = queues_create();
    queues_add(qs, "batch", NULL);
    queues_add(qs, "gone", NULL);
    queues_add(qs, "debug", NULL);
    queues_add(qs, "gpu", NULL);
    queues_remove(qs, "gone");
    conf(qs, "batch", "{\"max-duration\": 86400.5, \"priority\": 10, \"default\": true}", NULL);
    conf(qs, "debug", "{\"nodes\": \"n[0-1]\", \"max-nodes\": 2, \"max-running-per-user\": 1}",
         NULL);
    conf(qs, "gpu", "{\"nodes\": \"g[0-7]\", \"requires\": [\"gpu\"],"
                    " \"max-pending-per-user\": 50, \"priority\": -3}", NULL);
    queues_set_state(qs, "debug", "stop", NULL);
    queues_set_state(qs, "gpu", "disable", NULL);
    return qs;
}

static bool same_queue(const struct queue *a, const struct queue *b)
{
    return a && b && !strcmp(a->name, b->name) && a->index == b->index
           && a->enabled == b->enabled && a->started == b->started
           && json_equal(a->config, b->config)
           && (a->constraint ? b->constraint && json_equal(a->constraint, b->constraint)
                             : !b->constraint)
           && a->max_duration == b->max_duration && a->max_nodes == b->max_nodes
           && a->max_running == b->max_running && a->max_pending == b->max_pending
           && a->priority == b->priority && a->is_default == b->is_default;
}

static void test_dump_load(void)
{
    struct queues *qs = sample(), *fresh = queues_create();
    struct errmsg err = { "" };
    json_t *dump = queues_dump(qs), *again;

    ok(json_is(dump,
               "{\"batch\": {\"index\": 1, \"enabled\": true, \"started\": true,"
               "  \"config\": {\"max-duration\": 86400.5, \"priority\": 10, \"default\": true}},"
               " \"debug\": {\"index\": 3, \"enabled\": true, \"started\": false,"
               "  \"config\": {\"nodes\": \"n[0-1]\", \"max-nodes\": 2,"
               "   \"max-running-per-user\": 1}},"
               " \"gpu\": {\"index\": 4, \"enabled\": false, \"started\": true,"
               "  \"config\": {\"nodes\": \"g[0-7]\", \"requires\": [\"gpu\"],"
               "   \"max-pending-per-user\": 50, \"priority\": -3}}}"),
       "dump: every queue, its index, state and config");
    is(queues_load(fresh, dump, &err), 0, "load into a fresh set");
    is(queues_count(fresh), 3, "... three queues");
    again = queues_dump(fresh);
    ok(again && json_equal(dump, again), "... and it dumps the same");
    json_decref(again);
    bool same = true;
    for (struct queue *q = queues_next(qs, NULL); q; q = queues_next(qs, q))
        same = same && same_queue(q, queues_lookup(fresh, q->name))
               && queues_by_index(fresh, q->index) == queues_lookup(fresh, q->name);
    ok(same, "... every field, index and constraint alike");
    ok(queues_default(fresh) == queues_lookup(fresh, "batch"), "... batch is the default");
    is(queues_add(fresh, "more", &err), 0, "add after a load");
    is(queues_lookup(fresh, "more")->index, 2, "... takes the free index 2");

    /* a dump is the caller's: changing it changes no queue */
    json_object_set_new(json_object_get(json_object_get(dump, "batch"), "config"), "priority",
                        json_integer(99));
    is(queues_lookup(qs, "batch")->priority, 10, "changing a dump changes no queue");
    json_decref(dump);

    /* a load replaces every queue */
    json_t *one = J("{\"solo\": {\"index\": 63, \"enabled\": true, \"started\": true,"
                    " \"config\": {}}}");
    is(queues_load(fresh, one, &err), 0, "load a set of one");
    is_str(order(fresh), "solo", "... replaces all the others");
    is(queues_count(fresh), 1, "... one queue");
    is(queues_by_index(fresh, 63) ? 1 : 0, 1, "... at index 63");
    ok(queues_default(fresh) == NULL, "... no default");
    json_decref(one);
    one = J("{}");
    is(queues_load(fresh, one, &err), 0, "load {}");
    is(queues_count(fresh), 0, "... no queues");
    json_decref(one);
    queues_destroy(fresh);

    /* refused loads leave the set as it was */
    static const struct bad bad[] = {
        { "[]", "queues: must be an object" },
        { "{\"a\": {\"index\": 1, \"enabled\": true, \"started\": true, \"config\": {}},"
          " \"b\": {\"index\": 1, \"enabled\": true, \"started\": true, \"config\": {}}}",
          "queue 'b': index 1: already queue 'a''s" },
        { "{\"a\": {\"index\": 1, \"enabled\": true, \"started\": true,"
          " \"config\": {\"max-nodes\": 0}}}",
          "queue 'a': max-nodes: must be an integer >= 1" },
        { "{\"a\": {\"index\": 1, \"enabled\": true, \"started\": true,"
          " \"config\": {\"bogus\": 0}}}",
          "queue 'a': unknown key 'bogus'" },
        { "{\"a\": {\"index\": 1, \"enabled\": true, \"started\": true, \"config\": []}}",
          "queue 'a': configuration must be an object" },
        { "{\"new\": {\"index\": 1, \"enabled\": true, \"started\": true, \"config\": {}}}",
          "invalid queue name 'new'" },
        { "{\"a b\": {\"index\": 1, \"enabled\": true, \"started\": true, \"config\": {}}}",
          "invalid queue name 'a b'" },
        { "{\"a\": {\"index\": 0, \"enabled\": true, \"started\": true, \"config\": {}}}",
          "queue 'a': index: must be an integer 1..63" },
        { "{\"a\": {\"index\": 64, \"enabled\": true, \"started\": true, \"config\": {}}}",
          "queue 'a': index: must be an integer 1..63" },
        { "{\"a\": {\"index\": \"1\", \"enabled\": true, \"started\": true, \"config\": {}}}",
          "queue 'a': index: must be an integer 1..63" },
        { "{\"a\": {\"index\": 1, \"enabled\": 1, \"started\": true, \"config\": {}}}",
          "queue 'a': enabled, started: must be true or false" },
        { "{\"a\": {\"index\": 1, \"enabled\": true, \"started\": null, \"config\": {}}}",
          "queue 'a': enabled, started: must be true or false" },
        { "{\"a\": {\"index\": 1, \"enabled\": true, \"started\": true}}",
          "queue 'a': must be an object of index, enabled, started, config (and reason)" },
        { "{\"a\": {\"index\": 1, \"enabled\": true, \"started\": true, \"config\": {},"
          " \"extra\": 1}}",
          "queue 'a': must be an object of index, enabled, started, config (and reason)" },
        { "{\"a\": {\"index\": 1, \"enabled\": true, \"started\": true, \"config\": {},"
          " \"extr\": 1, \"more\": 2}}",
          "queue 'a': must be an object of index, enabled, started, config (and reason)" },
        { "{\"a\": 1}", "queue 'a': must be an object of index, enabled, started, config (and reason)" },
        { "{\"a\": {\"index\": 1, \"enabled\": true, \"started\": true,"
          " \"config\": {\"default\": true}},"
          " \"b\": {\"index\": 2, \"enabled\": true, \"started\": true,"
          " \"config\": {\"default\": true}}}",
          "queue 'b': default: queue 'a' is the default too" },
    };
    json_t *before = queues_dump(qs);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *d = J(bad[i].config);
        err.text[0] = '\0';
        is(queues_load(qs, d, &err), -EINVAL, "load refused: %s", bad[i].config);
        is_str(err.text, bad[i].why, "... why");
        json_t *after = queues_dump(qs);
        ok(json_equal(before, after) && queues_count(qs) == 3, "... and the set is unchanged");
        json_decref(after);
        json_decref(d);
    }
    is(queues_load(qs, NULL, &err), -EINVAL, "load NULL refused");

    /* names that are one as C strings but two as jansson keys */
    json_t *d = json_object();
    json_object_set_new(d, "a", json_pack("{s:i s:b s:b s:{}}", "index", 1, "enabled", 1,
                                          "started", 1, "config"));
    json_object_setn_new(d, "a\0b", 3, json_pack("{s:i s:b s:b s:{}}", "index", 2, "enabled", 1,
                                                  "started", 1, "config"));
    is(queues_load(qs, d, &err), -EINVAL, "load refuses a name twice");
    json_decref(d);
    json_t *after = queues_dump(qs);
    ok(json_equal(before, after), "... and the set is unchanged");
    json_decref(after);
    json_decref(before);
    queues_destroy(qs);
}

/* disable REASON: kept, dumped and loaded back; enable clears it */
static void test_reason(void)
{
    struct queues *qs = queues_create(), *back = queues_create();
    struct errmsg err;
    char longer[QUEUE_REASON_MAX + 8];
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    queues_add(qs, "debug", &err);
    is(queues_disable(qs, "debug", "maintenance until 17:00", &err), 0, "disable with a reason");
    struct queue *q = queues_lookup(qs, "debug");
    ok(!q->enabled && !strcmp(q->reason, "maintenance until 17:00"), "it is disabled, the reason kept");
    is(queues_disable(qs, "debug", "two\nlines", &err), -EINVAL, "a reason of two lines is refused: %s", err.text);
    is(queues_disable(qs, "debug", longer, &err), -EINVAL, "so is one too long");
    ok(!strcmp(q->reason, "maintenance until 17:00"), "... and the reason stays");
    is(queues_disable(qs, "nosuch", "x", &err), -ENOENT, "an unknown queue has none");
    json_t *dump = queues_dump(qs);
    ok(!strcmp(json_string_value(json_object_get(json_object_get(dump, "debug"), "reason")),
               "maintenance until 17:00"), "the dump has the reason");
    is(queues_load(back, dump, &err), 0, "and loads back");
    ok(!strcmp(queues_lookup(back, "debug")->reason, "maintenance until 17:00"), "with its reason");
    json_object_set_new(json_object_get(dump, "debug"), "reason", json_integer(3));
    is(queues_load(back, dump, &err), -EINVAL, "a reason that is not text is refused");
    json_decref(dump);
    is(queues_set_state(qs, "debug", "enable", &err), 0, "enable");
    ok(q->enabled && !q->reason[0], "clears the reason");
    dump = queues_dump(qs);
    ok(!json_object_get(json_object_get(dump, "debug"), "reason"), "a dump without one names none");
    json_decref(dump);
    queues_destroy(qs);
    queues_destroy(back);
}

int main(void)
{
    plan(NO_PLAN);
    test_names();
    test_add_remove();
    test_iterate();
    test_configure();
    test_default();
    test_state();
    test_dump_load();
    test_reason();
    return done_testing();
}
