/* test/rspec.c - unit and conformance tests for common/rspec.c */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jobspec.h"
#include "common/rspec.h"
#include "common/tap.h"

/* RFC 14 use case 1.10 with extras: nested slots, exclusive both ways,
 * unit and id, every count form, and attributes the parser reads. */
static const char *tree_yaml =
    "version: 9999\n"
    "resources:\n"
    "  - type: rack\n"
    "    count: 5\n"
    "    id: \"0-7\"\n"
    "    with:\n"
    "      - type: slot\n"
    "        count: { min: 2, max: 8, operator: \"*\", operand: 2 }\n"
    "        label: rabbit\n"
    "        with:\n"
    "          - type: ssd\n"
    "            count: \"4,9,16,25\"\n"
    "            unit: GB\n"
    "          - type: node\n"
    "            exclusive: true\n"
    "            count: 1\n"
    "            with:\n"
    "              - type: slot\n"
    "                label: task\n"
    "                count: \"[2+]\"\n"
    "                exclusive: false\n"
    "                with:\n"
    "                  - type: core\n"
    "                    count: { min: 4 }\n"
    "                  - type: gpu\n"
    "                    count: 0\n"
    "tasks:\n"
    "  - command: [ \"app\", \"--flag\", \"x y\" ]\n"
    "    slot: task\n"
    "    count:\n"
    "      per_slot: 3\n"
    "  - command: [ \"other\" ]\n"
    "    slot: rabbit\n"
    "    count:\n"
    "      total: 1\n"
    "attributes:\n"
    "  system:\n"
    "    duration: 3600.\n"
    "    queue: debug\n"
    "    constraints: { properties: [ \"^foo\", \"bar\" ] }\n";

/* version, resources and tasks of a small valid spec, for message tests */
#define HEAD "version: 1\nresources:\n  - type: slot\n    count: 1\n    label: s\n" \
             "    with:\n      - type: core\n        count: 1\n"
#define TASKS "tasks:\n  - command: [ app ]\n    slot: s\n    count:\n      per_slot: 1\n"
#define ATTRS "attributes:\n  system:\n    duration: 60\n"

static int parse_str(const char *s, struct rspec **rs, struct errmsg *err)
{
    err->text[0] = '\0';
    return rspec_parse(s, strlen(s), rs, err);
}

/* Expect -EINVAL with exactly this reason. */
static void reject(const char *s, const char *want, const char *what)
{
    struct rspec *rs = NULL;
    struct errmsg err;
    int rc = parse_str(s, &rs, &err);

    ok(rc == -EINVAL && rs == NULL, "%s is rejected", what);
    is_str(err.text, want, "%s: reason", what);
    rspec_destroy(rs);
}

/* A spec whose only resource is "- type: node\n    count: <count>". */
static void reject_count(const char *count, const char *want, const char *what)
{
    char *s;

    if (asprintf(&s, "version: 1\nresources:\n  - type: node\n    count: %s\n"
                 TASKS ATTRS, count) < 0)
        abort();
    reject(s, want, what);
    free(s);
}

static struct rspec_count count_of(const char *count)
{
    struct rspec_count c = { 0 };
    struct rspec *rs = NULL;
    struct errmsg err;
    char *s;

    if (asprintf(&s, "version: 1\nresources:\n  - type: node\n    count: %s\n"
                 TASKS ATTRS, count) < 0)
        abort();
    if (parse_str(s, &rs, &err) < 0)
        diag("count %s: %s", count, err.text);
    else {
        c = rs->res[0].count;
        /* keep the set alive past rspec_destroy for the caller */
        if (c.nset > 0) {
            c.set = malloc(c.nset * sizeof(*c.set));
            memcpy(c.set, rs->res[0].count.set, c.nset * sizeof(*c.set));
        }
    }
    rspec_destroy(rs);
    free(s);
    return c;
}

/* The whole sequence from rspec_count_next() as "a,b,c" (at most 12). */
static const char *sequence(const struct rspec_count *c, char *buf, size_t size)
{
    size_t off = 0;
    int64_t v = -1;

    buf[0] = '\0';
    for (int i = 0; i < 12 && (v = rspec_count_next(c, v)) >= 0; i++)
        off += snprintf(buf + off, size - off, "%s%lld", i ? "," : "", (long long)v);
    if (v >= 0)
        snprintf(buf + off, size - off, ",...");
    return buf;
}

static void test_counts(void)
{
    struct rspec_count c;
    char buf[256];

    c = count_of("7");
    ok(c.min == 7 && c.max == 7 && c.op == '+' && c.operand == 1, "integer count is fixed");
    is_str(sequence(&c, buf, sizeof(buf)), "7", "fixed count yields one value");

    c = count_of("{ min: 3, max: 30, operator: \"+\", operand: 1 }");
    ok(c.min == 3 && c.max == 30, "use case 1.2 range 3..30");
    is(rspec_count_next(&c, -1), 3, "range starts at min");
    is(rspec_count_next(&c, 3), 4, "then min + 1");
    is(rspec_count_next(&c, 29), 30, "up to max");
    is(rspec_count_next(&c, 30), -1, "-1 past max");
    is(rspec_count_best(&c, 100), 30, "best of plenty is max");
    is(rspec_count_best(&c, 12), 12, "best of 12 is 12");
    is(rspec_count_best(&c, 2), -1, "best below min is -1");

    c = count_of("{ min: 1, max: 10, operator: \"+\", operand: 3 }");
    is_str(sequence(&c, buf, sizeof(buf)), "1,4,7,10", "'+' 3 from 1 to 10");
    is(rspec_count_next(&c, 5), 7, "next of an off-sequence value");
    is(rspec_count_best(&c, 9), 7, "best of 9 stays on the sequence");

    c = count_of("{ min: 2, max: 300, operator: \"^\", operand: 2 }");
    is_str(sequence(&c, buf, sizeof(buf)), "2,4,16,256", "'^' 2 squares");
    is(rspec_count_best(&c, 255), 16, "best '^' below 256");

    c = count_of("{ min: 1, max: 4 }");
    ok(c.min == 1 && c.max == 4 && c.op == '+' && c.operand == 1,
       "min and max alone step by +1");
    is_str(sequence(&c, buf, sizeof(buf)), "1,2,3,4", "1..4 in steps of 1");

    c = count_of("{ min: 4 }");
    ok(c.min == 4 && c.max == INT64_MAX && c.op == '+' && c.operand == 1,
       "min only: unbounded, '+' 1");
    is(rspec_count_next(&c, INT64_MAX - 1), INT64_MAX, "unbounded reaches INT64_MAX");
    is(rspec_count_next(&c, INT64_MAX), -1, "and stops there");
    is(rspec_count_best(&c, 1000000), 1000000, "min only: best is all available");

    c = count_of("\"2-32:2:*\"");
    ok(c.min == 2 && c.max == 32 && c.op == '*' && c.operand == 2 && c.nset == 0,
       "RFC 45 range string");
    is_str(sequence(&c, buf, sizeof(buf)), "2,4,8,16,32", "'2-32:2:*' doubles");
    is(rspec_count_best(&c, 20), 16, "best '*' below 20");

    c = count_of("\"2+\"");
    ok(c.min == 2 && c.max == INT64_MAX && c.op == '+' && c.operand == 1, "'2+' is unbounded");
    c = count_of("\"[3-9:3]\"");
    is_str(sequence(&c, buf, sizeof(buf)), "3,6,9", "bracketed range, '+' omitted");
    c = count_of("\"1-5\"");
    ok(c.min == 1 && c.max == 5 && c.nset == 0, "'1-5' is a plain range");

    c = count_of("\"4,9,16,25\"");
    ok(c.nset == 4 && c.min == 4 && c.max == 25, "idset with gaps keeps a set");
    is_str(sequence(&c, buf, sizeof(buf)), "4,9,16,25", "idset sequence");
    is(rspec_count_best(&c, 20), 16, "best idset value below 20");
    is(rspec_count_best(&c, 3), -1, "best idset value below min");
    free(c.set);
    c = count_of("\"1-3,4,7-9\"");
    ok(c.nset == 2 && c.set[0].hi == 4, "adjacent idset runs merge");
    is_str(sequence(&c, buf, sizeof(buf)), "1,2,3,4,7,8,9", "idset runs sequence");
    is(rspec_count_best(&c, 6), 4, "best falls back to the earlier run");
    free(c.set);

    reject_count("0", "resources[0].count: must be an integer >= 1", "node count 0");
    reject_count("1.5", "resources[0].count: must be an integer, a mapping or a range string",
                 "fractional count");
    reject_count("{ min: 2, max: 4, operator: \"/\", operand: 2 }",
                 "resources[0].count.operator: must be one of +, *, ^", "bad operator");
    reject_count("{ min: 2, max: 4, operator: \"++\", operand: 2 }",
                 "resources[0].count.operator: must be one of +, *, ^", "two-character operator");
    reject_count("{ min: 1, max: 4, operator: \"*\", operand: 1 }",
                 "resources[0].count.operand: must be >= 2 for operator '*'", "'*' 1");
    reject_count("{ min: 1, max: 4, operator: \"^\", operand: 2 }",
                 "resources[0].count.min: must be >= 2 for operator '^'", "'^' from 1");
    reject_count("{ min: 3, max: 2, operator: \"+\", operand: 1 }",
                 "resources[0].count.max: must be >= min (3)", "max below min");
    reject_count("{ min: 1, max: 2, operator: \"+\" }",
                 "resources[0].count.operand: required with 'operator'", "missing operand");
    reject_count("{ min: 1, max: 2, operand: 1 }",
                 "resources[0].count.operator: required with 'operand'", "missing operator");
    reject_count("{ min: 1, operator: \"*\", operand: 2 }",
                 "resources[0].count.max: required with 'operator' and 'operand'",
                 "operator without max");
    reject_count("{ min: 1, step: 2 }", "resources[0].count.step: unknown key",
                 "unknown count key");
    reject_count("{ max: 2, operator: \"+\", operand: 1 }", "resources[0].count.min: required",
                 "missing min");
    reject_count("\"2-32:1:*\"", "resources[0].count: operand must be >= 2 for operator '*'",
                 "range string '*' 1");
    reject_count("\"4-2\"", "resources[0].count: max must be >= min (4)",
                 "range string max below min");
    reject_count("\"0-3\"", "resources[0].count: counts must be >= 1", "idset with 0");
    reject_count("bar", "resources[0].count: invalid count 'bar' (expected an idset like "
                 "'4,9,16' or a range like '2-32:2:*')", "count 'bar'");
    reject_count("\"3,1\"", "resources[0].count: invalid count '3,1' (expected an idset like "
                 "'4,9,16' or a range like '2-32:2:*')", "idset out of order");
    reject_count("\"2-8:2:\"", "resources[0].count: invalid count '2-8:2:' (expected an idset "
                 "like '4,9,16' or a range like '2-32:2:*')", "range string without operator");
}

static void test_tree(void)
{
    struct rspec *rs = NULL;
    struct errmsg err;
    const struct rspec_res *rack, *rabbit, *ssd, *node, *task;

    if (!ok(parse_str(tree_yaml, &rs, &err) == 0, "nested jobspec parses")) {
        diag("%s", err.text);
        return;
    }
    is(rs->version, 9999, "version");
    is(rs->nres, 1, "one top-level resource");
    rack = &rs->res[0];
    is_str(rack->type, "rack", "top is a rack");
    is_str(rack->id, "0-7", "id is kept");
    ok(!rack->exclusive && !rack->exclusive_set, "rack: exclusive absent");
    is(rack->nwith, 1, "rack has one child");
    rabbit = &rack->with[0];
    is_str(rabbit->type, "slot", "child is a slot");
    is_str(rabbit->label, "rabbit", "slot label");
    ok(rabbit->count.op == '*' && rabbit->count.operand == 2 && rabbit->count.max == 8,
       "slot count mapping");
    is(rabbit->nwith, 2, "slot has ssd and node");
    ssd = &rabbit->with[0];
    is_str(ssd->unit, "GB", "unit is kept");
    is(ssd->count.nset, 4, "ssd count is an idset");
    ok(ssd->label == NULL && ssd->id == NULL, "absent label and id are NULL");
    node = &rabbit->with[1];
    ok(node->exclusive && node->exclusive_set, "node: exclusive: true");
    task = &node->with[0];
    ok(!task->exclusive && task->exclusive_set, "inner slot: exclusive: false is kept as set");
    is_str(task->label, "task", "inner slot label");
    is(task->count.max, INT64_MAX, "'[2+]' is unbounded");
    is(task->nwith, 2, "inner slot has core and gpu");
    ok(task->with[1].count.min == 0 && task->with[1].count.max == 0, "gpu: 0 is kept");
    is(rspec_count_next(&task->with[1].count, -1), 0, "a count of 0 yields 0 once");
    is(rspec_count_next(&task->with[1].count, 0), -1, "and nothing after");
    ok(rspec_find_label(rs, "task") == task, "find_label finds the nested slot");
    ok(rspec_find_label(rs, "rabbit") == rabbit, "find_label finds the outer slot");
    ok(rspec_find_label(rs, "nope") == NULL, "find_label: unknown label");

    is(rs->argc, 3, "argc");
    is_str(rs->argv[0], "app", "argv[0]");
    is_str(rs->argv[2], "x y", "argv[2] keeps its space");
    ok(rs->argv[3] == NULL, "argv is NULL-terminated");
    is_str(rs->task_slot, "task", "task slot");
    ok(rs->per_slot == 3 && rs->total == 0 && rs->per_resource == 0, "per_slot 3");
    is(rs->ntaskspecs, 2, "two task entries");
    ok(rs->duration == 3600.0, "duration 3600.");
    is_str(rs->queue, "debug", "queue");
    ok(json_is_object(rs->constraints), "constraints are exposed");
    rspec_destroy(rs);
}

static void test_from_json(void)
{
    const char *text =
        "{\"version\": 1, \"resources\": [{\"type\": \"slot\", \"count\": 2, \"label\": \"t\","
        " \"with\": [{\"type\": \"core\", \"count\": 1}]}],"
        " \"tasks\": [{\"command\": [\"hostname\"], \"slot\": \"t\","
        "   \"count\": {\"per_resource\": {\"type\": \"core\", \"count\": 2}}}],"
        " \"attributes\": {}}";
    json_t *o = json_loads(text, 0, NULL);
    struct rspec *rs = NULL;
    struct errmsg err;

    ok(o != NULL, "json fixture loads");
    is(rspec_from_json(o, &rs, &err), 0, "rspec_from_json accepts a json_t");
    if (rs) {
        ok(rs->json == o && o->refcount == 2, "the result holds its own reference");
        is_str(rs->per_resource_type, "core", "per_resource type");
        is(rs->per_resource, 2, "per_resource count");
        ok(rs->duration == 0.0, "no duration is 0");
        ok(rs->queue == NULL && rs->constraints == NULL, "no queue, no constraints");
        rspec_destroy(rs);
    }
    is(o->refcount, 1, "destroy drops only its own reference");
    json_object_set_new(o, "version", json_string("1"));
    rs = NULL;
    is(rspec_from_json(o, &rs, &err), -EINVAL, "string version is rejected");
    ok(rs == NULL && o->refcount == 1, "no result and no reference kept on failure");
    json_decref(o);
    is(rspec_from_json(NULL, &rs, &err), -EINVAL, "NULL json is -EINVAL");
}

static void test_messages(void)
{
    struct rspec *rs = NULL;
    struct errmsg err;
    char *big;

    reject("foo: bar: baz\n", "line 1 column 9: mapping values are not allowed in this context",
           "yaml syntax error");
    reject("- 1\n", "jobspec: must be a mapping", "top-level list");
    reject(HEAD TASKS ATTRS "extra: 1\n", "extra: unknown key", "unknown top-level key");
    reject("version: 1\n" TASKS ATTRS, "resources: required", "missing resources");
    reject("version: 10000\nresources: []\n" TASKS ATTRS,
           "version: must be an integer from 1 to 9999", "version 10000");
    reject("version: 1\nresources: []\n" TASKS ATTRS, "resources: must be a non-empty list",
           "empty resources");
    reject("version: 1\nresources:\n  - type: slot\n    count: 1\n    label: s\n" TASKS ATTRS,
           "resources[0].with: required for a slot", "slot without with");
    reject("version: 1\nresources:\n  - type: slot\n    count: 1\n    with:\n"
           "      - type: core\n        count: 1\n" TASKS ATTRS,
           "resources[0].label: required for a slot", "slot without label");
    reject("version: 1\nresources:\n  - type: node\n    count: 1\n    with: []\n" TASKS ATTRS,
           "resources[0].with: must be a non-empty list", "empty with");
    reject("version: 1\nresources:\n  - type: node\n    count: 1\n    exclusive: yes\n"
           TASKS ATTRS, "resources[0].exclusive: must be a boolean", "exclusive: yes");
    reject("version: 1\nresources:\n  - type: node\n    count: 1\n    colour: red\n"
           TASKS ATTRS, "resources[0].colour: unknown key", "unknown resource key");
    reject("version: 1\nresources:\n  - type: node\n    cuont: 1\n" TASKS ATTRS,
           "resources[0].cuont: unknown key", "misspelt count is named");
    reject(HEAD "tasks:\n  - command: [ app ]\n    slot: s\n    count:\n"
           "      per_resource: { count: 2 }\n" ATTRS,
           "tasks[0].count.per_resource.type: required", "per_resource without type");
    reject("version: 1\nresources:\n  - type: node\n    count: 1\n    with:\n"
           "      - type: slot\n        count: 1\n        label: s\n        with:\n"
           "          - type: core\n            count: 1\n"
           "      - type: slot\n        count: 1\n        label: s\n        with:\n"
           "          - type: gpu\n            count: 1\n" TASKS ATTRS,
           "resources[0].with[1].label: duplicate label 's'", "duplicate label");
    reject("version: 1\nresources:\n  - type: node\n    count: 1\n    with:\n"
           "      - type: core\n        count: -1\n" TASKS ATTRS,
           "resources[0].with[0].count: must be an integer >= 1", "negative core count");
    reject("version: 1\nresources:\n  - type: node\n    count: 1\n    with:\n"
           "      - type: memory\n        count: -1\n" TASKS ATTRS,
           "resources[0].with[0].count: must be an integer >= 0", "negative memory count");
    reject(HEAD "tasks: []\n" ATTRS, "tasks: must be a non-empty list", "empty tasks");
    reject(HEAD "tasks:\n  - command: app\n    slot: s\n    count:\n      per_slot: 1\n" ATTRS,
           "tasks[0].command: must be a non-empty list of strings", "string command");
    reject(HEAD "tasks:\n  - command: [ app ]\n    slot: s\n    count:\n      per_slot: 0\n"
           ATTRS, "tasks[0].count.per_slot: must be an integer >= 1", "per_slot 0");
    reject(HEAD "tasks:\n  - command: [ app ]\n    slot: s\n    count: {}\n" ATTRS,
           "tasks[0].count: must have exactly one of 'per_slot', 'per_resource' or 'total'",
           "empty task count");
    reject(HEAD TASKS "  - command: [ app ]\n    slot: s\n    count:\n      total: 1\n"
           "    nodes: 2\n" ATTRS, "tasks[1].nodes: unknown key", "unknown task key");
    reject(HEAD TASKS "attributes:\n", "attributes: must be a mapping",
           "null attributes in version 1");
    reject(HEAD TASKS "attributes:\n  system:\n    duration: 1h\n",
           "attributes.system.duration: must be a number >= 0", "string duration");
    reject(HEAD TASKS "attributes:\n  system:\n    environment:\n      A: 1\n",
           "attributes.system.environment.A: must be a string or null", "numeric env value");
    reject(HEAD TASKS "attributes:\n  system:\n    constraints: { properties: [ \"f^oo\" ] }\n",
           "attributes.system.constraints.properties[0]: invalid property name 'f^oo'",
           "bad property name");
    reject(HEAD TASKS "attributes:\n  system:\n    constraints: { near: [ x ] }\n",
           "attributes.system.constraints: unknown constraint operator 'near'",
           "unknown constraint operator");
    reject(HEAD TASKS "attributes:\n  system:\n    dependencies:\n      - scheme: afterok\n",
           "attributes.system.dependencies[0].value: required", "dependency without value");

    /* YAML stops at 64 containers first; a json_t can nest deeper, and a
     * path too long for the buffer loses its middle, never the reason */
    {
        char deep[4096] = "{\"version\": 1, \"resources\": [", *p = deep + strlen(deep);
        json_t *o;

        for (int i = 0; i < RSPEC_MAX_DEPTH + 1; i++)
            p += sprintf(p, "{\"type\": \"a\", \"count\": 1, \"with\": [");
        p += sprintf(p, "{\"type\": \"b\", \"count\": 1}");
        for (int i = 0; i < RSPEC_MAX_DEPTH + 1; i++)
            p += sprintf(p, "]}");
        sprintf(p, "], \"tasks\": [{\"command\": [\"a\"], \"slot\": \"s\","
                " \"count\": {\"total\": 1}}], \"attributes\": {}}");
        o = json_loads(deep, 0, NULL);
        ok(o != NULL, "deep json fixture loads");
        is(rspec_from_json(o, &rs, &err), -EINVAL, "33 levels of with are rejected");
        ok(strncmp(err.text, "resources[0].with[0].with[0].with[0].wit...", 43) == 0
           && strstr(err.text, ".with[0].with: nesting is too deep") != NULL,
           "deep path is elided and keeps its reason: %s", err.text);
        ok(rs == NULL, "nothing returned for deep nesting");
        json_decref(o);
    }
    reject(HEAD TASKS "attributes:\n  system:\n    constraints: { properties: [ 1 ] }\n",
           "attributes.system.constraints.properties[0]: must be a string",
           "numeric property name");

    /* the same null attributes are fine outside version 1 (Fluxion) */
    ok(parse_str("version: 2\nresources:\n  - type: slot\n    count: 1\n    label: s\n"
                 "    with:\n      - type: core\n        count: 1\n" TASKS "attributes:\n",
                 &rs, &err) == 0, "null attributes are accepted in version 2");
    rspec_destroy(rs);
    rs = NULL;
    ok(parse_str(HEAD TASKS "attributes:\n  system:\n    whatever: [ 1 ]\n", &rs, &err) == 0,
       "unknown system attributes are accepted");
    rspec_destroy(rs);
    rs = NULL;

    if (!(big = malloc(JOBSPEC_MAX_SIZE + 1)))
        abort();
    memset(big, ' ', JOBSPEC_MAX_SIZE + 1);
    is(rspec_parse(big, JOBSPEC_MAX_SIZE + 1, &rs, &err), -E2BIG, "oversized text is -E2BIG");
    is_str(err.text, "jobspec is 1048577 bytes, more than the 1048576 allowed", "-E2BIG reason");
    ok(rs == NULL, "nothing returned on -E2BIG");
    free(big);
    is(rspec_parse(NULL, 0, &rs, &err), -EINVAL, "NULL text is -EINVAL");
}

static int read_file(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    long n;

    if (!f)
        return -errno;
    if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
        goto error;
    if (!(b = malloc(n + 1)) || fread(b, 1, n, f) != (size_t)n)
        goto error;
    fclose(f);
    *buf = b;
    *len = n;
    return 0;
error:
    free(b);
    fclose(f);
    return -EIO;
}

static int yaml_only(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 5 && !strcmp(d->d_name + n - 5, ".yaml");
}

/* Parse one file; 0 or -errno, with the reason in err. */
static int parse_file(const char *path, struct errmsg *err)
{
    struct rspec *rs = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc;

    err->text[0] = '\0';
    if ((rc = read_file(path, &buf, &len)) < 0) {
        snprintf(err->text, sizeof(err->text), "cannot read %s", path);
        return rc;
    }
    rc = rspec_parse(buf, len, &rs, err);
    if ((rc == 0) != (rs != NULL))
        rc = -EPROTO;
    rspec_destroy(rs);
    free(buf);
    return rc;
}

enum expect { ACCEPT, REJECT, REPORT };

/* One assertion per file: accepted, or rejected with -EINVAL and a reason
 * (printed as a diag).  REPORT only prints what happened. */
static void conformance(const char *dir, const char *name, enum expect want, int *counts)
{
    struct dirent **names = NULL;
    char path[1024];
    int n;

    n = scandir(dir, &names, yaml_only, alphasort);
    ok(n > 0, "%s has test files", name);
    for (int i = 0; i < n; i++) {
        struct errmsg err;
        int rc;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        rc = parse_file(path, &err);
        counts[rc == 0 ? 0 : 1]++;
        if (want == ACCEPT) {
            ok(rc == 0, "%s/%s is accepted", name, names[i]->d_name);
            if (rc < 0)
                diag("unexpected rejection: %s", err.text);
        } else if (want == REJECT) {
            ok(rc == -EINVAL && err.text[0] != '\0', "%s/%s is rejected", name,
               names[i]->d_name);
            diag("%s", rc == 0 ? "(accepted)" : err.text);
        } else
            diag("%s/%s: %s", name, names[i]->d_name, rc == 0 ? "accepted" : err.text);
        free(names[i]);
    }
    free(names);
}

/* V1-only rules are not general RFC 14 rules: these invalid_v1 files are
 * expected to be accepted here, the others are invalid under any version. */
static const char *const v1_only[] = {
    "duration_missing.yaml",        /* duration is optional in RFC 14 */
    "res_type_unknown.yaml",        /* any type name is allowed */
    "slot_node.yaml",               /* a slot may hold a node */
    "task_count_per_resource.yaml", /* per_resource is RFC 14 */
    "version_wrong.yaml",           /* version 2 is a valid general version */
    "with_toomany.yaml",            /* a slot may hold any number of types */
    "with_whatnow.yaml",
    NULL,
};

static void invalid_v1(const char *shared)
{
    char dir[512];
    int counts[2] = { 0, 0 };

    snprintf(dir, sizeof(dir), "%s/conformance/jobspec/invalid_v1", shared);
    diag("invalid_v1 (RFC 25 V1 rules; not asserted, listed for the record):");
    for (int i = 0; v1_only[i]; i++)
        diag("  expected accepted by the general parser: %s", v1_only[i]);
    conformance(dir, "invalid_v1", REPORT, counts);
    diag("invalid_v1: %d accepted, %d rejected", counts[0], counts[1]);
}

/* Fluxion's resource-query jobspecs: all parse except basics/bad.yaml (a
 * YAML error); basics/bad_res_type.yaml names an unknown type, which is the
 * scheduler's business, not the parser's. */
static void fluxion_jobspecs(const char *shared)
{
    static const char *const subs[] = { "basics", "exclusive", "omit_prefix", "reservation",
                                        "satisfiability", NULL };
    char dir[512], path[1024];
    int total = 0;

    for (int s = 0; subs[s]; s++) {
        struct dirent **names = NULL;
        int n;

        snprintf(dir, sizeof(dir), "%s/conformance/fluxion/jobspecs/%s", shared, subs[s]);
        n = scandir(dir, &names, yaml_only, alphasort);
        ok(n > 0, "fluxion/jobspecs/%s has files", subs[s]);
        for (int i = 0; i < n; i++) {
            bool bad = !strcmp(subs[s], "basics") && !strcmp(names[i]->d_name, "bad.yaml");
            struct errmsg err;
            int rc;

            snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
            rc = parse_file(path, &err);
            if (bad) {
                ok(rc == -EINVAL, "fluxion/jobspecs/%s/%s is rejected", subs[s],
                   names[i]->d_name);
                diag("%s", err.text);
            } else {
                ok(rc == 0, "fluxion/jobspecs/%s/%s is accepted", subs[s], names[i]->d_name);
                if (rc < 0)
                    diag("unexpected rejection: %s", err.text);
            }
            total++;
            free(names[i]);
        }
        free(names);
    }
    diag("fluxion/jobspecs: %d files", total);
}

/* The request's shape (the scheduler groups jobs by it): equal requests
 * alike however written, different ones not. */
static uint64_t shape_of(const char *resources)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"version\": 1, \"resources\": %s, \"tasks\": [{\"command\": [\"x\"],"
             " \"slot\": \"t\", \"count\": {\"per_slot\": 1}}], \"attributes\": {}}", resources);
    struct rspec *rs = NULL;
    struct errmsg err = { "" };
    uint64_t h = rspec_parse(text, strlen(text), &rs, &err) == 0 ? rs->shape : 0;
    if (!h)
        diag("%s: %s", resources, err.text);
    rspec_destroy(rs);
    return h;
}

static void test_shape(void)
{
    const char *base = "[{\"type\": \"slot\", \"count\": 2, \"label\": \"t\","
                       " \"with\": [{\"type\": \"core\", \"count\": 1}]}]";
    static const struct {
        const char *resources;
        bool same;
        const char *what;
    } cases[] = {
        { "[{\"label\": \"t\", \"with\": [{\"count\": 1, \"type\": \"core\"}], \"count\": 2,"
          " \"type\": \"slot\"}]", true, "keys in another order, the same" },
        { "[{\"type\": \"slot\", \"count\": {\"min\": 2, \"max\": 2}, \"label\": \"t\", \"with\":"
          " [{\"type\": \"core\", \"count\": 1}]}]", true, "2 written as a range, the same" },
        { "[{\"type\": \"slot\", \"count\": {\"min\": 2}, \"label\": \"t\", \"with\":"
          " [{\"type\": \"core\", \"count\": 1}]}]", false, "a range differs from a fixed count" },
        { "[{\"type\": \"slot\", \"count\": 3, \"label\": \"t\", \"with\":"
          " [{\"type\": \"core\", \"count\": 1}]}]", false, "another count differs" },
        { "[{\"type\": \"slot\", \"count\": 2, \"label\": \"t\", \"with\":"
          " [{\"type\": \"gpu\", \"count\": 1}]}]", false, "another type below differs" },
        { "[{\"type\": \"slot\", \"count\": 2, \"label\": \"t\", \"exclusive\": true, \"with\":"
          " [{\"type\": \"core\", \"count\": 1}]}]", false, "exclusive differs" },
        { "[{\"type\": \"slot\", \"count\": 2, \"label\": \"t\", \"with\": [{\"type\": \"core\","
          " \"count\": 1}, {\"type\": \"memory\", \"count\": 4, \"unit\": \"GB\"}]}]", false,
          "one more child differs" },
    };
    uint64_t h = shape_of(base);
    ok(h != 0, "shape: a request has one");
    is(shape_of(base), h, "shape: the same text, the same shape");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is(shape_of(cases[i].resources) == h, cases[i].same, "shape: %s", cases[i].what);
}

int main(void)
{
    static const struct {
        const char *sub;
        enum expect want;
    } dirs[] = {
        { "valid", ACCEPT }, { "fluxion-valid", ACCEPT }, { "valid_v1", ACCEPT },
        { "invalid", REJECT }, { "fluxion-invalid", REJECT },
    };
    const char *shared = getenv("FLUXFS_SHARED");
    char dir[512];

    plan(NO_PLAN);
    test_counts();
    test_tree();
    test_from_json();
    test_shape();
    test_messages();
    if (!shared) {
        ok(0, "FLUXFS_SHARED is set for the conformance tests");
        return done_testing();
    }
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        int counts[2] = { 0, 0 };
        snprintf(dir, sizeof(dir), "%s/conformance/jobspec/%s", shared, dirs[i].sub);
        conformance(dir, dirs[i].sub, dirs[i].want, counts);
        diag("%s: %d accepted, %d rejected", dirs[i].sub, counts[0], counts[1]);
    }
    invalid_v1(shared);
    fluxion_jobspecs(shared);
    return done_testing();
}
