/* test/jobspec.c - unit and conformance tests for common/jobspec.c */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jobspec.h"
#include "common/tap.h"

static const char *spec_yaml =
    "version: 1\n"
    "resources:\n"
    "  - type: node\n"
    "    count: 4\n"
    "    exclusive: true\n"
    "    with:\n"
    "      - type: slot\n"
    "        count: 2\n"
    "        label: default\n"
    "        with:\n"
    "          - type: core\n"
    "            count: 3\n"
    "          - type: gpu\n"
    "            count: 1\n"
    "tasks:\n"
    "  - command: [ \"app\", \"--flag\", \"1\" ]\n"
    "    slot: default\n"
    "    count:\n"
    "      per_slot: 2\n"
    "attributes:\n"
    "  system:\n"
    "    duration: 3600.\n"
    "    cwd: /home/flux\n"
    "    job:\n"
    "      name: myjob\n"
    "    environment:\n"
    "      HOME: /home/flux\n"
    "      PATH: \"/bin:/usr/bin\"\n"
    "  user:\n"
    "    anything: [ 1, 2 ]\n";

static const char *spec_json =
    "{\"version\": 1,"
    " \"resources\": [{\"type\": \"node\", \"count\": 4, \"exclusive\": true,"
    "   \"with\": [{\"type\": \"slot\", \"count\": 2, \"label\": \"default\","
    "     \"with\": [{\"type\": \"core\", \"count\": 3}, {\"type\": \"gpu\", \"count\": 1}]}]}],"
    " \"tasks\": [{\"command\": [\"app\", \"--flag\", \"1\"], \"slot\": \"default\","
    "   \"count\": {\"per_slot\": 2}}],"
    " \"attributes\": {\"system\": {\"duration\": 3600.0, \"cwd\": \"/home/flux\","
    "   \"job\": {\"name\": \"myjob\"},"
    "   \"environment\": {\"HOME\": \"/home/flux\", \"PATH\": \"/bin:/usr/bin\"}},"
    "   \"user\": {\"anything\": [1, 2]}}}";

/* A minimal slot-only V1 spec with one substitutable piece per section. */
static char *make_spec(const char *resources, const char *tasks, const char *attributes)
{
    char *s = NULL;

    if (asprintf(&s, "version: 1\nresources:\n%s\ntasks:\n%s\nattributes:\n%s\n",
                 resources, tasks, attributes) < 0)
        abort();
    return s;
}

#define RES_SLOT "  - type: slot\n    count: 10\n    label: task\n" \
                 "    with:\n      - type: core\n        count: 2\n"
#define TASK_PER_SLOT "  - command: [ app ]\n    slot: task\n    count:\n      per_slot: 1\n"
#define ATTR_DUR "  system:\n    duration: 60\n"

static int parse_str(const char *s, struct jobspec **js, struct errmsg *err)
{
    err->text[0] = '\0';
    return jobspec_parse(s, strlen(s), js, err);
}

/* Expect rejection with exactly this reason. */
static void reject(const char *s, const char *want, const char *what)
{
    struct jobspec *js = NULL;
    struct errmsg err;
    int rc = parse_str(s, &js, &err);

    ok(rc == -EINVAL && js == NULL, "%s is rejected", what);
    is_str(err.text, want, "%s gives the expected reason", what);
    jobspec_destroy(js);
}

static void test_yaml_json_same(void)
{
    struct jobspec *a = NULL, *b = NULL;
    struct errmsg err;

    ok(parse_str(spec_yaml, &a, &err) == 0, "yaml spec parses");
    if (!a)
        diag("%s", err.text);
    ok(parse_str(spec_json, &b, &err) == 0, "json spec parses");
    if (!b)
        diag("%s", err.text);
    if (!a || !b) {
        jobspec_destroy(a);
        jobspec_destroy(b);
        return;
    }
    /* JSON's environment is read apart, into envv (jsonenv.h) */
    json_t *ya = json_deep_copy(a->json);
    json_object_del(json_object_get(json_object_get(ya, "attributes"), "system"), "environment");
    ok(json_equal(ya, b->json), "yaml and json give the same tree, but for the environment");
    json_decref(ya);
    is(a->nnodes, 4, "nnodes from yaml");
    is(b->nnodes, 4, "nnodes from json");
    ok(a->node_exclusive && b->node_exclusive, "node exclusive from both");
    is(a->nslots, 2, "nslots from yaml");
    is(b->nslots, 2, "nslots from json");
    is(a->slot_cores, 3, "slot_cores from yaml");
    is(b->slot_cores, 3, "slot_cores from json");
    is(a->slot_gpus, 1, "slot_gpus from yaml");
    is(b->slot_gpus, 1, "slot_gpus from json");
    is_str(a->slot_label, "default", "slot label from yaml");
    is_str(b->slot_label, "default", "slot label from json");
    is(a->argc, 3, "argc from yaml");
    is(b->argc, 3, "argc from json");
    is_str(a->argv[2], "1", "quoted \"1\" stays a string in yaml argv");
    is_str(b->argv[0], "app", "argv[0] from json");
    ok(a->argv[3] == NULL && b->argv[3] == NULL, "argv is NULL-terminated");
    is(a->per_slot, 2, "per_slot from yaml");
    is(b->per_slot, 2, "per_slot from json");
    ok(a->duration == 3600.0 && b->duration == 3600.0, "duration 3600. from both");
    is_str(a->cwd, "/home/flux", "cwd from yaml");
    is_str(b->cwd, "/home/flux", "cwd from json");
    is_str(a->name, "myjob", "job name from yaml");
    is_str(b->name, "myjob", "job name from json");
    is_str(json_string_value(json_object_get(a->environment, "PATH")), "/bin:/usr/bin",
           "environment PATH value from yaml");
    is(json_object_size(a->environment), 2, "environment has 2 entries");
    ok(a->env.envv == NULL && b->environment == NULL, "yaml's in json, json's as strings");
    ok(b->env.envv && !strcmp(b->env.envv[0], "HOME=/home/flux") && !strcmp(b->env.envv[1], "PATH=/bin:/usr/bin")
       && !b->env.envv[2], "environment from json: the same, in order");
    jobspec_shed_environment(b);
    ok(b->env.envv == NULL && b->environment_shed, "shed: gone, and said so");
    is(jobspec_total_slots(a), 8, "total slots = 4 nodes * 2 slots");
    is(jobspec_ntasks(a), 16, "ntasks = 2 per slot * 8 slots");
    jobspec_destroy(a);
    jobspec_destroy(b);
}

/* A JSON jobspec's environment is read by jsonenv_take(), not jansson:
 * what it must not accept goes the old way, with the old words. */
static void test_json_environment(void)
{
    static const char head[] =
        "{\"version\":1,\"resources\":[{\"type\":\"slot\",\"count\":1,\"label\":\"t\","
        "\"with\":[{\"type\":\"core\",\"count\":1}]}],\"tasks\":[{\"command\":[\"true\"],"
        "\"slot\":\"t\",\"count\":{\"per_slot\":1}}],\"attributes\":{\"system\":{"
        "\"duration\":0,\"environment\":";
    char buf[1024];
    struct jobspec *js = NULL;
    struct errmsg err;

    snprintf(buf, sizeof(buf), "%s{\"A\":\"1\",\"A\":\"2\"}}}}", head);
    ok(parse_str(buf, &js, &err) == -EINVAL && !js, "a name twice is refused");
    ok(strstr(err.text, "duplicate key 'A'") != NULL, "... as before, by the YAML reader: %s",
       err.text);
    snprintf(buf, sizeof(buf), "%s{\"A\":\"\xc0\xaf\"}}}}", head);
    ok(parse_str(buf, &js, &err) == -EINVAL && !js, "an overlong UTF-8 form is refused (%s)",
       err.text);
    snprintf(buf, sizeof(buf), "%s{\"A\":\"1\"},\"environment\":{}}}}", head);
    ok(parse_str(buf, &js, &err) == -EINVAL && !js, "two environments are refused (%s)",
       err.text);
    snprintf(buf, sizeof(buf), "%s{\"A\":1}}}}", head);
    reject(buf, "attributes.system.environment.A: must be a string", "a number in JSON");
    snprintf(buf, sizeof(buf), "%s{\"A=B\":\"x\"}}}}", head);
    ok(parse_str(buf, &js, &err) == 0 && js && !js->env.envv
       && json_object_get(js->environment, "A=B"), "a name with '=' goes the old way");
    jobspec_destroy(js);
    snprintf(buf, sizeof(buf), "%s{\"U\":\"\xf0\x9f\x98\x80\\u00e9\"}}}}", head);
    ok(parse_str(buf, &js, &err) == 0 && js && js->env.envv && !js->environment
       && !strcmp(js->env.envv[0], "U=\xf0\x9f\x98\x80\xc3\xa9") && !js->env.envv[1],
       "UTF-8 and escapes, read apart");
    jobspec_destroy(js);
    snprintf(buf, sizeof(buf), "%s{}}}}", head);
    ok(parse_str(buf, &js, &err) == 0 && js && js->env.envv && !js->env.envv[0],
       "an empty environment stays one (not the broker's)");
    jobspec_destroy(js);
}

static void test_counts(void)
{
    struct jobspec *js = NULL;
    struct errmsg err;
    char *s;

    s = make_spec(RES_SLOT, "  - command: [ app ]\n    slot: task\n    count:\n      total: 5\n",
                  ATTR_DUR);
    ok(parse_str(s, &js, &err) == 0, "slot-only spec with total parses");
    free(s);
    if (js) {
        is(js->nnodes, 0, "slot-only: nnodes is 0");
        is(js->nslots, 10, "slot-only: nslots is the total");
        is(jobspec_total_slots(js), 10, "slot-only: total slots 10");
        is(js->total, 5, "total 5");
        is(js->per_slot, 0, "per_slot 0 when total is given");
        is(jobspec_ntasks(js), 5, "ntasks = total");
        ok(!js->node_exclusive, "no node level, not exclusive");
        is(js->slot_gpus, 0, "no gpu listed means 0 gpus");
        ok(js->duration == 60.0, "integer duration 60");
        ok(js->cwd == NULL && js->name == NULL && js->environment == NULL,
           "absent cwd, name and environment are NULL");
        jobspec_destroy(js);
        js = NULL;
    }

    s = make_spec("  - type: node\n    count: 3\n    exclusive: false\n    with:\n"
                  "      - type: slot\n        count: 1\n        label: task\n"
                  "        with:\n          - type: gpu\n            count: 0\n"
                  "          - type: core\n            count: 4\n",
                  TASK_PER_SLOT, "  system:\n    duration: 0\n    job.name: dotted\n");
    ok(parse_str(s, &js, &err) == 0, "gpu-first, gpu 0, exclusive false parses");
    if (!js)
        diag("%s", err.text);
    free(s);
    if (js) {
        ok(!js->node_exclusive, "exclusive: false is not exclusive");
        is(js->slot_cores, 4, "cores found after gpu");
        is(js->slot_gpus, 0, "gpu count 0 is kept");
        is(jobspec_ntasks(js), 3, "ntasks = 1 per slot * 3 nodes");
        ok(js->duration == 0.0, "duration 0 means unlimited");
        is_str(js->name, "dotted", "job.name dotted key is accepted");
        jobspec_destroy(js);
    }
    is(jobspec_ntasks(NULL), 0, "ntasks(NULL) is 0");
    is(jobspec_total_slots(NULL), 0, "total_slots(NULL) is 0");
    jobspec_destroy(NULL);
}

static void test_size_limit(void)
{
    size_t len = JOBSPEC_MAX_SIZE;
    char *buf = malloc(len + 2);
    struct jobspec *js = NULL;
    struct errmsg err;
    size_t n;

    if (!buf)
        abort();
    /* a valid spec padded with a comment to exactly the limit is fine */
    n = strlen(spec_yaml);
    memcpy(buf, spec_yaml, n);
    buf[n] = '#';
    memset(buf + n + 1, 'x', len - n - 2);
    buf[len - 1] = '\n';
    ok(jobspec_parse(buf, len, &js, &err) == 0, "spec of exactly JOBSPEC_MAX_SIZE is accepted");
    jobspec_destroy(js);
    js = NULL;
    buf[len] = '\n';
    is(jobspec_parse(buf, len + 1, &js, &err), -E2BIG, "one byte over the limit is -E2BIG");
    ok(js == NULL, "no jobspec on -E2BIG");
    is_str(err.text, "jobspec is 1048577 bytes, more than the 1048576 allowed",
           "-E2BIG reason names both sizes");
    free(buf);
}

static void test_syntax(void)
{
    struct jobspec *js = NULL;
    struct errmsg err;

    is(parse_str("foo: bar: baz\n", &js, &err), -EINVAL, "bad yaml is -EINVAL");
    ok(strstr(err.text, "line") != NULL, "syntax error names a line: %s", err.text);
    is_str(err.text, "line 1 column 9: mapping values are not allowed in this context",
           "syntax error exact text");
    is(parse_str("version: 1\nresources:\n  - type: slot\n   count: 1\n", &js, &err), -EINVAL,
       "bad indentation is -EINVAL");
    ok(strncmp(err.text, "line 4 ", 7) == 0, "indentation error on line 4: %s", err.text);
    is(parse_str("{\"version\": 1,\n \"tasks\": [}\n", &js, &err), -EINVAL,
       "bad json is -EINVAL");
    ok(strncmp(err.text, "line 2 ", 7) == 0, "json error on line 2: %s", err.text);
    is(parse_str("a: \"\xff\"\n", &js, &err), -EINVAL, "invalid utf-8 is -EINVAL");
    ok(strncmp(err.text, "line 1 column ", 14) == 0, "utf-8 error names a line: %s", err.text);
    reject("", "line 1 column 1: empty document", "empty input");
    reject("a: 1\nb: 2\na: 3\n", "line 3 column 1: duplicate key 'a'", "duplicate key");
    reject("a: 1\n---\nb: 2\n", "line 2 column 1: expected a single document",
           "two documents");
    reject("- 1\n- 2\n", "jobspec: must be a mapping", "top-level list");
    reject("a: !!python/object 1\n", "line 1 column 4: unsupported tag 'tag:yaml.org,2002:python/object'",
           "custom tag");
    ok(js == NULL, "nothing returned on syntax errors");
}

static void test_scalars(void)
{
    struct errmsg err;
    const char *doc = "i: 42\nneg: -7\nhex: 0x1f\nf: 3600.\ne: 1e3\n"
                      "t: true\nF: False\nn: ~\nnul: null\nempty:\n"
                      "q: \"42\"\nsq: 'true'\ns: 1h\nv: 1.2.3\nyes: yes\n"
                      "tagged: !!str 12\nbig: 99999999999999999999\n";
    json_t *o = jobspec_load_yaml(doc, strlen(doc), &err);

    ok(o != NULL, "scalar document loads");
    if (!o)
        return;
    is(json_integer_value(json_object_get(o, "i")), 42, "plain 42 is an integer");
    is(json_integer_value(json_object_get(o, "neg")), -7, "plain -7 is an integer");
    is(json_integer_value(json_object_get(o, "hex")), 31, "0x1f is an integer");
    ok(json_is_real(json_object_get(o, "f")) && json_real_value(json_object_get(o, "f")) == 3600.0,
       "3600. is a float");
    ok(json_is_real(json_object_get(o, "e")) && json_real_value(json_object_get(o, "e")) == 1000.0,
       "1e3 is a float");
    ok(json_is_true(json_object_get(o, "t")), "true is a boolean");
    ok(json_is_false(json_object_get(o, "F")), "False is a boolean");
    ok(json_is_null(json_object_get(o, "n")), "~ is null");
    ok(json_is_null(json_object_get(o, "nul")), "null is null");
    ok(json_is_null(json_object_get(o, "empty")), "empty value is null");
    is_str(json_string_value(json_object_get(o, "q")), "42", "double-quoted 42 is a string");
    is_str(json_string_value(json_object_get(o, "sq")), "true", "single-quoted true is a string");
    is_str(json_string_value(json_object_get(o, "s")), "1h", "1h is a string");
    is_str(json_string_value(json_object_get(o, "v")), "1.2.3", "1.2.3 is a string");
    is_str(json_string_value(json_object_get(o, "yes")), "yes", "yes stays a string");
    is_str(json_string_value(json_object_get(o, "tagged")), "12", "!!str 12 is a string");
    ok(json_is_string(json_object_get(o, "big")), "integer overflow stays a string");
    json_decref(o);
}

static void test_bombs(void)
{
    struct errmsg err;
    json_t *o;
    char deep[400];
    const char *laughs =
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    const char *anchors = "base: &env {HOME: /h}\ncopy: *env\nname: &n joe\nalso: *n\n";

    o = jobspec_load_yaml(anchors, strlen(anchors), &err);
    ok(o != NULL, "small anchors and aliases are expanded");
    if (o) {
        ok(json_equal(json_object_get(o, "base"), json_object_get(o, "copy")),
           "alias to a mapping copies it");
        is_str(json_string_value(json_object_get(o, "also")), "joe", "alias to a scalar");
        json_decref(o);
    }
    o = jobspec_load_yaml(laughs, strlen(laughs), &err);
    ok(o == NULL, "billion laughs is rejected");
    ok(strstr(err.text, "too large once expanded: alias 'a'") != NULL,
       "by the bytes its first copies add: %s", err.text);
    o = jobspec_load_yaml("a: *nope\n", 9, &err);
    ok(o == NULL, "unknown alias is rejected");
    is_str(err.text, "line 1 column 4: unknown anchor 'nope'", "unknown anchor reason");

    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[200] = '\0';
    o = jobspec_load_yaml(deep, strlen(deep), &err);
    ok(o == NULL, "100 nested lists are rejected");
    ok(strstr(err.text, "nesting is too deep") != NULL, "depth reason: %s", err.text);
    memset(deep, '[', 60);
    memset(deep + 60, ']', 60);
    deep[120] = '\0';
    o = jobspec_load_yaml(deep, strlen(deep), &err);
    ok(o != NULL, "60 nested lists are fine");
    json_decref(o);
}

static void test_messages(void)
{
    char *s;

    s = make_spec(RES_SLOT, TASK_PER_SLOT, "  system:\n    cwd: /tmp\n");
    reject(s, "attributes.system.duration: required", "missing duration");
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, "  system:\n    duration: -1\n");
    reject(s, "attributes.system.duration: must be a number >= 0", "negative duration");
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, "  system:\n    duration: 1h\n");
    reject(s, "attributes.system.duration: must be a number >= 0", "string duration");
    free(s);
    s = make_spec(RES_SLOT, "  - command: []\n    slot: task\n    count:\n      per_slot: 1\n",
                  ATTR_DUR);
    reject(s, "tasks[0].command: must be a non-empty list of strings", "empty command");
    free(s);
    s = make_spec(RES_SLOT, "  - command: [ app, 3 ]\n    slot: task\n    count:\n      per_slot: 1\n",
                  ATTR_DUR);
    reject(s, "tasks[0].command: must be a non-empty list of strings", "non-string argv");
    free(s);
    s = make_spec("  - type: node\n    count: 1\n    with:\n      - type: slot\n        count: 1\n"
                  "        label: task\n        with:\n          - type: core\n            count: 0\n",
                  TASK_PER_SLOT, ATTR_DUR);
    reject(s, "resources[0].with[0].with[0].count: must be an integer >= 1", "zero cores");
    free(s);
    s = make_spec("  - type: slot\n    count: 1\n    label: task\n    with:\n      - type: core\n"
                  "        count: 1\n      - type: gpu\n        count: -1\n",
                  TASK_PER_SLOT, ATTR_DUR);
    reject(s, "resources[0].with[1].count: must be an integer >= 0", "negative gpus");
    free(s);
    s = make_spec("  - type: slot\n    count: 1\n    label: task\n    with:\n      - type: gpu\n"
                  "        count: 1\n", TASK_PER_SLOT, ATTR_DUR);
    reject(s, "resources[0].with: must include a core", "slot without a core");
    free(s);
    s = make_spec("  - type: slot\n    count: 1\n    label: task\n    with:\n      - type: core\n"
                  "        count: 1\n      - type: core\n        count: 1\n", TASK_PER_SLOT, ATTR_DUR);
    reject(s, "resources[0].with[1].type: duplicate 'core'", "two cores");
    free(s);
    s = make_spec("  - type: slot\n    count: 1.5\n    label: task\n    with:\n      - type: core\n"
                  "        count: 1\n", TASK_PER_SLOT, ATTR_DUR);
    reject(s, "resources[0].count: must be an integer >= 1", "fractional slot count");
    free(s);
    s = make_spec("  - type: slot\n    count: 4294967296\n    label: task\n    with:\n"
                  "      - type: core\n        count: 1\n", TASK_PER_SLOT, ATTR_DUR);
    reject(s, "resources[0].count: too large (at most 2147483647)", "slot count over INT_MAX");
    free(s);
    s = make_spec("  - type: node\n    count: 65536\n    with:\n      - type: slot\n"
                  "        count: 65536\n        label: task\n        with:\n"
                  "          - type: core\n            count: 1\n", TASK_PER_SLOT, ATTR_DUR);
    reject(s, "resources: too many slots", "nodes * slots over INT_MAX");
    free(s);
    s = make_spec(RES_SLOT, "  - command: [ app ]\n    slot: task\n    count:\n"
                  "      per_resource:\n        type: core\n        count: 1\n", ATTR_DUR);
    reject(s, "tasks[0].count.per_resource: not supported in version 1", "per_resource count");
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, "  system:\n    duration: 1\n"
                  "    environment:\n      A: 1\n");
    reject(s, "attributes.system.environment.A: must be a string", "non-string environment");
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, "  system:\n    duration: 1\n    job: myjob\n");
    reject(s, "attributes.system.job: must be a mapping", "job not a mapping");
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, "  system:\n    duration: 1\n    cwd: [ a ]\n");
    reject(s, "attributes.system.cwd: must be a string", "cwd not a string");
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, "  system:\n    duration: 1\n"
                  "    constraints:\n      properties: [ foo ]\n      nearby: [ x ]\n");
    reject(s, "attributes.system.constraints: unknown constraint operator 'nearby'",
           "unknown constraint operator");
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, "  user: 1\n" ATTR_DUR);
    reject(s, "attributes.user: must be a mapping", "user attributes not a mapping");
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, ATTR_DUR "extra: 1");
    reject(s, "extra: unknown key", "unknown top-level key");
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, "  system:\n    duration: 1\n"
                  "    dependencies:\n      - scheme: afterok\n        value: 1\n");
    reject(s, "attributes.system.dependencies[0].value: must be a string",
           "non-string dependency value");
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, "  system:\n    duration: 1\n"
                  "    constraints:\n      and:\n        - ranks: [ 0 ]\n");
    reject(s, "attributes.system.constraints.and[0].ranks[0]: must be a string",
           "nested constraint term not a string");
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, "  system:\n    duration: 1\n"
                  "    queue: debug\n    shell: { options: {} }\n");
    {
        struct jobspec *js = NULL;
        struct errmsg err;
        ok(parse_str(s, &js, &err) == 0, "unknown attributes.system keys are allowed");
        jobspec_destroy(js);
    }
    free(s);
    reject("version: 1\nresources: []\ntasks: []\n", "attributes: required",
           "missing attributes");
    /* a misspelled key is named, with the key it looks like */
    s = make_spec(RES_SLOT, TASK_PER_SLOT, ATTR_DUR "atributes: 1");
    reject(s, "atributes: unknown key (did you mean 'attributes'?)", "a misspelled top-level key");
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, "  sytem:\n    duration: 1\n");
    reject(s, "attributes.sytem: unknown key (did you mean 'system'?)",
           "a misspelled attributes key");
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, "  system:\n    duraton: 1\n");
    reject(s, "attributes.system.duration: required ('duraton' is there: did you mean "
           "'duration'?)", "a misspelled duration");
    free(s);
    reject("version: 1\nresources:\n  - type: slot\n    count: 1\n    label: task\n"
           "    with:\n      - type: core\n        count: 1\n"
           "tasks:\n  - comand: [\"true\"]\n    slot: task\n    count:\n      per_slot: 1\n"
           "attributes:\n  system:\n    duration: 1\n",
           "tasks[0].command: required ('comand' is there: did you mean 'command'?)",
           "a misspelled command");
    /* other versions follow the general RFC 14 rules (rspec.h) */
    reject("version: 2\nresources: []\ntasks: []\nattributes: {}\n",
           "resources: must be a non-empty list", "version 2");
    reject("version: \"1\"\nresources: []\ntasks: []\nattributes: {}\n",
           "version: must be an integer from 1 to 9999", "quoted version");
    reject("version: 1\nresources: []\ntasks: []\nattributes: {}\n",
           "resources: must be a list of exactly one resource", "empty resources");
}

/* General jobspecs: a task's slot must be the label of a slot (RFC 14). */
#define GENERAL(label, slot) \
    "version: 9999\nresources:\n  - type: node\n    count: 1\n    label: n\n" \
    "    with:\n      - type: slot\n        count: 1\n        label: " label "\n" \
    "        with:\n          - type: core\n            count: 1\n" \
    "tasks:\n  - command: [ app ]\n    slot: " slot "\n    count:\n      per_slot: 1\n" \
    "attributes:\n  system:\n    duration: 60\n"

/* Limits say which limit, and numbers too large say so (issue 11). */
static void test_limit_messages(void)
{
    char *s;

    s = make_spec(RES_SLOT, "  - command: [ app ]\n    slot: task\n    count:\n"
                  "      per_slot: 9223372036854775808\n", ATTR_DUR);
    reject(s, "tasks[0].count.per_slot: too large (at most 2147483647)", "per_slot of 2^63");
    free(s);
    s = make_spec(RES_SLOT, "  - command: [ app ]\n    slot: task\n    count:\n"
                  "      total: 99999999999999999999\n", ATTR_DUR);
    reject(s, "tasks[0].count.total: too large (at most 2147483647)", "total of 10^20");
    free(s);
    s = make_spec("  - type: slot\n    count: 9223372036854775808\n    label: task\n"
                  "    with:\n      - type: core\n        count: 1\n", TASK_PER_SLOT, ATTR_DUR);
    reject(s, "resources[0].count: too large (at most 2147483647)", "slot count of 2^63");
    free(s);
    s = strdup(GENERAL("s", "s"));
    char *p = strstr(s, "per_slot: 1");
    char *g = NULL;
    if (asprintf(&g, "%.*sper_slot: 9223372036854775808%s", (int)(p - s), s,
                 p + strlen("per_slot: 1")) < 0)
        abort();
    reject(g, "tasks[0].count.per_slot: too large (at most 2147483647)", "general: per_slot 2^63");
    free(g);
    if (asprintf(&g, "%.*sper_slot: 3000000000%s", (int)(p - s), s,
                 p + strlen("per_slot: 1")) < 0)
        abort();
    reject(g, "tasks[0].count.per_slot: too large (at most 2147483647)",
           "general: per_slot over INT_MAX (was silently 1)");
    free(g);
    free(s);
    s = strdup(GENERAL("s", "s"));
    p = strstr(s, "count: 1");
    if (asprintf(&g, "%.*scount: 9223372036854775808%s", (int)(p - s), s,
                 p + strlen("count: 1")) < 0)
        abort();
    reject(g, "resources[0].count: too large (at most 9223372036854775807)",
           "general: node count of 2^63");
    free(g);
    free(s);

    /* a command of 200,001 arguments (YAML): the element limit, named */
    size_t n = 200001, size = n * 2 + 1024;
    char *cmd = malloc(size), *q = cmd;
    q += sprintf(q, "version: 1\nresources:\n" RES_SLOT "tasks:\n  - command: [");
    for (size_t i = 0; i < n; i++)
        q += sprintf(q, "a%s", i + 1 < n ? "," : "]\n");
    sprintf(q, "    slot: task\n    count:\n      per_slot: 1\nattributes:\n" ATTR_DUR);
    struct jobspec *js = NULL;
    struct errmsg err;
    is(parse_str(cmd, &js, &err), -EINVAL, "a command of 200001 elements is refused");
    ok(strstr(err.text, "too many nodes: the document has more than 200000 values") &&
       !strstr(err.text, "alias"), "with the element limit it hit: %s", err.text);
    free(cmd);
}

/* A "billion laughs" of `levels` levels of `fan` aliases each, over a
 * scalar of `scalar` bytes, as a jobspec would carry it in attributes.user. */
static char *laughs(size_t scalar, int levels, int fan)
{
    char *s = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&s, &size);

    if (!f)
        abort();
    fprintf(f, "version: 1\nresources:\n" RES_SLOT "tasks:\n" TASK_PER_SLOT
            "attributes:\n" ATTR_DUR "  user:\n    l0: &l0 \"");
    for (size_t i = 0; i < scalar; i++)
        fputc('x', f);
    fprintf(f, "\"\n");
    for (int l = 1; l <= levels; l++) {
        fprintf(f, "    l%d: &l%d [", l, l);
        for (int i = 0; i < fan; i++)
            fprintf(f, "*l%d%s", l - 1, i + 1 < fan ? ", " : "]\n");
    }
    if (fclose(f) != 0 || !s)
        abort();
    return s;
}

/* Alias expansion is bounded by the bytes it makes, counted before each
 * copy: a bomb is refused whatever its size, naming the limit it hit. */
static void test_expansion_bytes(void)
{
    struct jobspec *js = NULL;
    struct errmsg err;
    char *s;

    /* ~10 KB: 9 levels of 10 over 8 KB, 8e12 bytes expanded */
    s = laughs(8000, 9, 10);
    ok(strlen(s) > 8000 && strlen(s) < 12000, "a 10 KB bomb (%zu bytes)", strlen(s));
    is(parse_str(s, &js, &err), -EINVAL, "a 10 KB bomb is refused");
    ok(strstr(err.text, "too large once expanded: alias 'l0' takes the copies past") &&
       strstr(err.text, "aliases may add at most 8 times the document's"),
       "naming the limit on alias copies: %s", err.text);
    ok(js == NULL, "and nothing is returned");
    free(s);

    /* ~500 KB: a 490 KB scalar copied 10 times, then 10 times that */
    s = laughs(490000, 12, 10);
    is(parse_str(s, &js, &err), -EINVAL, "a 500 KB bomb is refused");
    ok(strstr(err.text, "aliases may add at most 8 times the document's") != NULL,
       "naming the limit: %s", err.text);
    free(s);

    /* a whole jobspec's worth: at 1 MiB the copies may add 8 MiB, but the
     * expanded document may not exceed 8 MiB in all */
    s = laughs(900000, 1, 9);
    size_t len = strlen(s);
    if (!(s = realloc(s, JOBSPEC_MAX_SIZE + 1)))
        abort();
    memset(s + len, '#', JOBSPEC_MAX_SIZE - len);   /* pad with a comment */
    s[len] = '\n';
    s[JOBSPEC_MAX_SIZE - 1] = '\n';
    s[JOBSPEC_MAX_SIZE] = '\0';
    is(parse_str(s, &js, &err), -EINVAL, "a 1 MiB document expanding to 9 MiB is refused");
    ok(strstr(err.text, "too large once expanded: alias 'l0' takes the document past "
              "8388608 bytes (8 MiB, the most a jobspec may expand to)") != NULL,
       "naming the 8 MiB limit: %s", err.text);
    free(s);

    /* the same 900 KB scalar copied 7 times is within both limits */
    s = laughs(900000, 1, 7);
    len = strlen(s);
    if (!(s = realloc(s, JOBSPEC_MAX_SIZE + 1)))
        abort();
    memset(s + len, '#', JOBSPEC_MAX_SIZE - len);
    s[len] = '\n';
    s[JOBSPEC_MAX_SIZE - 1] = '\n';
    s[JOBSPEC_MAX_SIZE] = '\0';
    is(parse_str(s, &js, &err), 0, "a 1 MiB document expanding to 7 MiB is accepted");
    jobspec_destroy(js);
    js = NULL;
    free(s);

    /* no aliases: as many values as the node limit allows and a long
     * scalar never reach the byte limits */
    size_t n = 199000, size = n * 2 + 640000 + 1024;
    char *big = malloc(size), *q;
    if (!(q = big))
        abort();
    q += sprintf(q, "version: 1\nresources:\n" RES_SLOT "tasks:\n" TASK_PER_SLOT
                 "attributes:\n" ATTR_DUR "  user:\n    text: ");
    memset(q, 'y', 640000);
    q += 640000;
    q += sprintf(q, "\n    list: [");
    for (size_t i = 0; i < n; i++)
        q += sprintf(q, "0%s", i + 1 < n ? "," : "]\n");
    ok(strlen(big) <= JOBSPEC_MAX_SIZE, "a dense %zu-byte document", strlen(big));
    is(parse_str(big, &js, &err), 0, "without aliases is accepted: %s", err.text);
    jobspec_destroy(js);
    js = NULL;
    free(big);

    /* what anchors are for: one block used in a few places */
    const char *shared =
        "version: 9999\n"
        "resources:\n"
        "  - type: node\n"
        "    count: 1\n"
        "    with:\n"
        "      - &slot\n"
        "        type: slot\n"
        "        count: 1\n"
        "        label: task\n"
        "        with: &cores [{type: core, count: 2}]\n"
        "  - type: node\n"
        "    count: 1\n"
        "    with:\n"
        "      - type: slot\n"
        "        count: 1\n"
        "        label: other\n"
        "        with: *cores\n"
        "tasks:\n"
        "  - command: &cmd [app, --flag]\n"
        "    slot: task\n"
        "    count: {per_slot: 1}\n"
        "attributes:\n"
        "  system: {duration: 60}\n"
        "  user: {again: *slot, cmd: *cmd, more: [*cores, *cores, *cores]}\n";
    is(parse_str(shared, &js, &err), 0, "a jobspec with a few aliases is accepted: %s",
       err.text);
    if (js) {
        json_t *user = json_object_get(json_object_get(js->json, "attributes"), "user");
        is_str(json_string_value(json_object_get(json_object_get(user, "again"), "label")),
               "task", "and its aliases are expanded");
    }
    jobspec_destroy(js);
}

/* The most tasks a jobspec can start, for the daemon's --max-tasks. */
static void test_max_tasks(void)
{
    struct jobspec *js = NULL;
    struct errmsg err;
    const char *what = NULL;
    char *s;

    s = make_spec("  - type: node\n    count: 2\n    with:\n" "  " "    - type: slot\n"
                  "        count: 3\n        label: task\n        with:\n"
                  "          - type: core\n            count: 1\n",
                  "  - command: [ app ]\n    slot: task\n    count:\n      per_slot: 4\n",
                  ATTR_DUR);
    ok(parse_str(s, &js, &err) == 0, "v1: 2 nodes x 3 slots, per_slot 4: %s", err.text);
    is(jobspec_max_tasks(js, 1000, &what), 24, "v1: 24 tasks");
    is_str(what, "tasks[0].count.per_slot", "named by per_slot");
    is(jobspec_max_tasks(js, 5, &what), 20, "v1: slots stop at the instance's size");
    jobspec_destroy(js);
    free(s);
    s = make_spec(RES_SLOT, "  - command: [ app ]\n    slot: task\n    count:\n"
                  "      total: 2000000000\n", ATTR_DUR);
    ok(parse_str(s, &js, &err) == 0, "v1: total 2e9 parses");
    is(jobspec_max_tasks(js, 1000, &what), 2000000000, "v1: 2e9 tasks");
    is_str(what, "tasks[0].count.total", "named by total");
    jobspec_destroy(js);
    free(s);
    s = strdup(GENERAL("s", "s"));
    char *p = strstr(s, "count: 1\n        label: s"), *g = NULL;
    if (asprintf(&g, "%.*scount: { min: 1 }%s", (int)(p - s), s, p + strlen("count: 1")) < 0)
        abort();
    ok(parse_str(g, &js, &err) == 0, "general: slot count without max: %s", err.text);
    is(jobspec_max_tasks(js, 50, &what), 50, "general: as many slots as the instance has");
    jobspec_destroy(js);
    free(g);
    free(s);
}

static void test_task_slots(void)
{
    struct jobspec *js = NULL;
    struct errmsg err;

    ok(parse_str(GENERAL("s", "s"), &js, &err) == 0, "general: a task on its slot is accepted");
    jobspec_destroy(js);
    reject(GENERAL("s", "nope"), "tasks[0].slot: no slot labeled 'nope' in resources",
           "general: a task slot that names no label");
    reject(GENERAL("s", "n"), "tasks[0].slot: no slot labeled 'n' in resources",
           "general: a task slot that names a node's label");
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

/* Every file in a conformance directory must be accepted (want_ok) or
 * rejected with -EINVAL and a reason. */
static void conformance(const char *shared, const char *sub, bool want_ok)
{
    struct dirent **names = NULL;
    char dir[512], path[1024];
    int n;

    snprintf(dir, sizeof(dir), "%s/conformance/jobspec/%s", shared, sub);
    n = scandir(dir, &names, yaml_only, alphasort);
    ok(n > 0, "%s has test files", sub);
    for (int i = 0; i < n; i++) {
        struct jobspec *js = NULL;
        struct errmsg err = { "" };
        char *buf = NULL;
        size_t len = 0;
        int rc;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (read_file(path, &buf, &len) < 0) {
            ok(0, "%s/%s is readable", sub, names[i]->d_name);
            free(names[i]);
            continue;
        }
        rc = jobspec_parse(buf, len, &js, &err);
        json_t *raw = jobspec_load_yaml(buf, len, NULL);
        json_t *ver = json_is_object(raw) ? json_object_get(raw, "version") : NULL;
        bool general = ver && (!json_is_integer(ver) || json_integer_value(ver) != 1);
        json_decref(raw);
        if (!want_ok && general) {
            /* not V1: which ones the general rules accept is for
             * common/test/rspec.c; here, that the outcome is whole */
            ok(rc == 0 ? js != NULL && js->general
                       : rc == -EINVAL && js == NULL && err.text[0] != '\0',
               "%s/%s is not version 1: %s by the general rules", sub, names[i]->d_name,
               rc == 0 ? "accepted" : "rejected");
            if (rc < 0)
                diag("%s", err.text);
        } else if (want_ok) {
            ok(rc == 0 && js != NULL, "%s/%s is accepted", sub, names[i]->d_name);
            if (rc < 0)
                diag("unexpected rejection: %s", err.text);
        } else {
            ok(rc == -EINVAL && js == NULL && err.text[0] != '\0', "%s/%s is rejected",
               sub, names[i]->d_name);
            diag("%s", err.text);
        }
        jobspec_destroy(js);
        free(buf);
        free(names[i]);
    }
    free(names);
}

static void test_conformance_fields(const char *shared)
{
    char path[1024];
    struct jobspec *js = NULL;
    struct errmsg err;
    char *buf = NULL;
    size_t len;

    snprintf(path, sizeof(path), "%s/conformance/jobspec/valid_v1/use_case_2.1.yaml", shared);
    if (read_file(path, &buf, &len) < 0 || jobspec_parse(buf, len, &js, &err) < 0) {
        ok(0, "use_case_2.1 loads");
        free(buf);
        return;
    }
    is(js->nnodes, 4, "use_case_2.1: 4 nodes");
    is(js->nslots, 1, "use_case_2.1: 1 slot per node");
    is_str(js->slot_label, "myslot", "use_case_2.1: slot label");
    is(jobspec_ntasks(js), 5, "use_case_2.1: 5 tasks total");
    is_str(js->argv[0], "hostname", "use_case_2.1: command");
    jobspec_destroy(js);
    free(buf);
}

/* Flux's shell options for flux run -l: output.{stdout,stderr}.label */
static void test_label(void)
{
    struct jobspec *js = NULL;
    struct errmsg err;
    char *s = make_spec(RES_SLOT, TASK_PER_SLOT, ATTR_DUR);
    ok(parse_str(s, &js, &err) == 0 && !js->label, "no shell options: unlabeled");
    jobspec_destroy(js);
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, ATTR_DUR "    shell:\n      options:\n        output:\n"
                  "          stderr:\n            label: true\n");
    js = NULL;
    ok(parse_str(s, &js, &err) == 0 && js && js->label, "output.stderr.label: true labels (%s)",
       err.text);
    jobspec_destroy(js);
    free(s);
    s = make_spec(RES_SLOT, TASK_PER_SLOT, ATTR_DUR "    shell:\n      options:\n        output:\n"
                  "          stdout:\n            label: 1\n");
    reject(s, "attributes.system.shell.options.output.stdout.label: must be true or false",
           "a label that is not a boolean");
    free(s);
}

int main(void)
{
    const char *shared = getenv("FLUXFS_SHARED");

    plan(NO_PLAN);
    test_yaml_json_same();
    test_json_environment();
    test_counts();
    test_size_limit();
    test_syntax();
    test_scalars();
    test_bombs();
    test_expansion_bytes();
    test_messages();
    test_task_slots();
    test_limit_messages();
    test_max_tasks();
    test_label();
    if (shared) {
        conformance(shared, "valid_v1", true);
        conformance(shared, "invalid_v1", false);
        conformance(shared, "invalid", false);
        test_conformance_fields(shared);
    } else
        ok(0, "FLUXFS_SHARED is set for the conformance tests");
    return done_testing();
}
