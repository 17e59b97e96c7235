/* jobspec.c - parse YAML/JSON jobspecs and validate them as RFC 25 V1.
 *
 * Two stages: a libyaml event loop builds a jansson tree (the only place
 * that knows about YAML), then a validator walks that tree the way
 * flux-core's JobspecV1 does and reduces it to struct jobspec.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include <jansson.h>

#include "common/jobspec.h"
#include "common/jsonenv.h"

/* Nesting a real jobspec needs is about 8 levels; 64 leaves room for user
 * attributes while keeping recursion in the validator shallow. */
#define LOAD_MAX_DEPTH 64

/* Bounds the tree after alias expansion, so a 1 MiB "billion laughs"
 * document cannot turn into gigabytes of JSON. */
#define LOAD_MAX_NODES 200000

/* The node limit alone still lets an alias copy a long scalar 200,000
 * times, so what the loader builds is also measured in bytes: each value
 * costs LOAD_VALUE_BYTES (about what jansson allocates for one, with its
 * slot in the parent) plus the bytes of its text (scalars and keys), and an
 * alias costs everything it copies. The count is kept as the tree is
 * built, before each copy is made, so a document over a limit is refused
 * having allocated no more than the limit.
 *
 * Two limits, both reached only through aliases: without them a value
 * takes at least one byte of text, so a document costs at most
 * LOAD_VALUE_BYTES + 1 per byte, and within the node limit at most
 * 200000 * 32 + 1 MiB < 8 MiB.
 *   - LOAD_MAX_BYTES: the expanded document, 8 times the largest jobspec
 *     (JOBSPEC_MAX_SIZE): room for any real use of anchors, and a fixed
 *     bound on what one document can cost the daemon.
 *   - LOAD_ALIAS_FACTOR: alias copies add at most that many bytes per byte
 *     of the document. A bulk submission (common/jobstream.h) is parsed
 *     one document at a time and keeps every result until all are
 *     accepted, so a per-document limit alone would let 100,000 small
 *     bombs cost 100,000 times it; this one keeps the whole submission's
 *     alias copies within 8 times its size, whatever the number of
 *     documents. */
#define LOAD_VALUE_BYTES 32
#define LOAD_MAX_BYTES (8 * 1024 * 1024)
#define LOAD_ALIAS_FACTOR 8

/* Room for a JSON-path-like subject such as resources[0].with[0].with[1].count. */
#define PATH_MAX_LEN 160

struct load_frame {
    json_t *node;            /* container being filled (borrowed from parent) */
    char *key;               /* mapping key waiting for its value, or NULL */
    char *anchor;            /* anchor name of this container, or NULL */
    size_t first_node;       /* node count when the container started */
    size_t first_bytes;      /* byte count when the container started */
};

struct load_anchor {
    char *name;
    json_t *value;
    size_t nodes;            /* nodes an alias to it would add */
    size_t bytes;            /* bytes an alias to it would add */
};

struct loader {
    yaml_parser_t parser;
    const char *buf;
    size_t len;
    struct load_frame stack[LOAD_MAX_DEPTH];
    int depth;
    size_t nodes;
    size_t bytes;            /* what the tree costs so far (LOAD_VALUE_BYTES) */
    size_t alias_bytes;      /* the part of bytes that alias copies cost */
    int ndocs;
    json_t *root;
    struct load_anchor *anchors;
    size_t nanchors;
    struct errmsg *err;
};

/* ---------------------------------------------------------------- loading */

static int load_error(struct loader *ld, const yaml_mark_t *mark, int rc,
                      const char *what)
{
    return errmsg_set(ld->err, rc, "line %zu column %zu: %s",
                      mark->line + 1, mark->column + 1, what);
}

/* libyaml reader errors (bad UTF-8, control characters) carry only a byte
 * offset; count lines ourselves so every syntax error names a line. */
static int reader_error(struct loader *ld)
{
    size_t line = 1, column = 1;
    size_t off = ld->parser.problem_offset < ld->len ? ld->parser.problem_offset : ld->len;

    for (size_t i = 0; i < off; i++) {
        if (ld->buf[i] == '\n') {
            line++;
            column = 1;
        } else
            column++;
    }
    return errmsg_set(ld->err, -EINVAL, "line %zu column %zu: %s", line, column,
                      ld->parser.problem ? ld->parser.problem : "invalid input");
}

static int parser_error(struct loader *ld)
{
    yaml_parser_t *p = &ld->parser;

    if (p->error == YAML_MEMORY_ERROR)
        return errmsg_set(ld->err, -ENOMEM, "out of memory parsing yaml");
    if (p->error == YAML_READER_ERROR)
        return reader_error(ld);
    return load_error(ld, &p->problem_mark, -EINVAL,
                      p->problem ? p->problem : "syntax error");
}

/* Matches [-+]?[0-9]+ and the YAML 1.2 core 0x / 0o forms. */
static bool resolve_int(const char *s, json_int_t *out)
{
    const char *digits = s;
    int base = 10;
    char *end;

    if (*digits == '-' || *digits == '+')
        digits++;
    if (digits == s && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        base = s[1] == 'x' ? 16 : 8;
        digits = s + 2;
    }
    if (*digits == '\0')
        return false;
    for (const char *c = digits; *c; c++) {
        bool ok = base == 16 ? (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')
                                   || (*c >= 'A' && *c <= 'F')
                             : *c >= '0' && *c < '0' + base;
        if (!ok)
            return false;
    }
    errno = 0;
    long long v = strtoll(base == 10 ? s : digits, &end, base);
    if (errno == ERANGE || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* Matches [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? with a dot or
 * an exponent, so "3600." is a float as YAML 1.1 says and "1h" stays text. */
static bool resolve_float(const char *s, double *out)
{
    const char *c = s;
    bool mant = false, dot = false, exp = false;
    char *end;

    if (*c == '-' || *c == '+')
        c++;
    while (*c >= '0' && *c <= '9') {
        c++;
        mant = true;
    }
    if (*c == '.') {
        dot = true;
        c++;
        while (*c >= '0' && *c <= '9') {
            c++;
            mant = true;
        }
    }
    if (!mant)
        return false;
    if (*c == 'e' || *c == 'E') {
        exp = true;
        c++;
        if (*c == '-' || *c == '+')
            c++;
        if (!(*c >= '0' && *c <= '9'))
            return false;
        while (*c >= '0' && *c <= '9')
            c++;
    }
    if (*c != '\0' || !(dot || exp))
        return false;
    errno = 0;
    double v = strtod(s, &end);
    /* jansson cannot hold inf/nan, so out-of-range numbers stay strings */
    if (*end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* YAML core schema resolution for untagged plain scalars; everything the
 * rules do not recognise is a string, as in PyYAML's safe_load. */
static json_t *resolve_plain(const char *s, size_t len)
{
    json_int_t i;
    double d;

    if (len == 0 || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null")
        || !strcmp(s, "NULL"))
        return json_null();
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return json_false();
    if (strlen(s) == len) {
        if (resolve_int(s, &i))
            return json_integer(i);
        if (resolve_float(s, &d))
            return json_real(d);
    }
    return json_stringn(s, len);
}

static bool tag_is_str(const yaml_char_t *tag)
{
    return !strcmp((const char *)tag, "!") || !strcmp((const char *)tag, YAML_STR_TAG);
}

/* Only the tags that cannot change meaning are accepted: a jobspec that
 * relies on custom tags would be read differently by Flux. */
static int check_tag(struct loader *ld, const yaml_event_t *ev, const yaml_char_t *tag,
                     const char *allowed)
{
    char msg[128];

    if (!tag || !strcmp((const char *)tag, allowed))
        return 0;
    snprintf(msg, sizeof(msg), "unsupported tag '%.80s'", (const char *)tag);
    return load_error(ld, &ev->start_mark, -EINVAL, msg);
}

/* n more values (scalars, lists, mappings; an alias counts what it
 * expands to) costing bytes: the limit says which it was that went past it. */
static int count_node(struct loader *ld, const yaml_event_t *ev, size_t n, size_t bytes)
{
    bool alias = ev->type == YAML_ALIAS_EVENT;
    const char *name = alias ? (const char *)ev->data.alias.anchor : "";
    size_t alias_max = ld->len > LOAD_MAX_BYTES / LOAD_ALIAS_FACTOR
                           ? LOAD_MAX_BYTES : ld->len * LOAD_ALIAS_FACTOR;
    char msg[200];

    if (n > LOAD_MAX_NODES || ld->nodes > LOAD_MAX_NODES - n) {
        if (alias)
            snprintf(msg, sizeof(msg), "too many nodes: alias '%.40s' expands the document "
                     "past %d values", name, LOAD_MAX_NODES);
        else
            snprintf(msg, sizeof(msg), "too many nodes: the document has more than %d "
                     "values (list elements, keys and scalars)", LOAD_MAX_NODES);
        return load_error(ld, &ev->start_mark, -EINVAL, msg);
    }
    if (bytes > LOAD_MAX_BYTES || ld->bytes > LOAD_MAX_BYTES - bytes) {
        if (alias)
            snprintf(msg, sizeof(msg), "too large once expanded: alias '%.40s' takes the "
                     "document past %d bytes (8 MiB, the most a jobspec may expand to)",
                     name, LOAD_MAX_BYTES);
        else
            snprintf(msg, sizeof(msg), "too large once expanded: the document is more than "
                     "%d bytes (8 MiB, the most a jobspec may expand to)", LOAD_MAX_BYTES);
        return load_error(ld, &ev->start_mark, -EINVAL, msg);
    }
    if (alias && (bytes > alias_max || ld->alias_bytes > alias_max - bytes)) {
        snprintf(msg, sizeof(msg), "too large once expanded: alias '%.40s' takes the copies "
                 "past %zu bytes (aliases may add at most %d times the document's %zu bytes)",
                 name, alias_max, LOAD_ALIAS_FACTOR, ld->len);
        return load_error(ld, &ev->start_mark, -EINVAL, msg);
    }
    ld->nodes += n;
    ld->bytes += bytes;
    if (alias)
        ld->alias_bytes += bytes;
    return 0;
}

static int add_anchor(struct loader *ld, char *name, json_t *value, size_t nodes,
                      size_t bytes)
{
    struct load_anchor *a;

    a = realloc(ld->anchors, (ld->nanchors + 1) * sizeof(*a));
    if (!a)
        return -ENOMEM;
    ld->anchors = a;
    /* a later anchor of the same name shadows the earlier one (YAML spec) */
    a[ld->nanchors].name = name;
    a[ld->nanchors].value = json_incref(value);
    a[ld->nanchors].nodes = nodes;
    a[ld->nanchors].bytes = bytes;
    ld->nanchors++;
    return 0;
}

static const struct load_anchor *find_anchor(const struct loader *ld, const char *name)
{
    for (size_t i = ld->nanchors; i > 0; i--) {
        if (!strcmp(ld->anchors[i - 1].name, name))
            return &ld->anchors[i - 1];
    }
    return NULL;
}

static bool expecting_key(const struct loader *ld)
{
    const struct load_frame *f;

    if (ld->depth == 0)
        return false;
    f = &ld->stack[ld->depth - 1];
    return json_is_object(f->node) && !f->key;
}

/* Attach a finished value (stolen) to the open container or make it the root. */
static int attach(struct loader *ld, json_t *v)
{
    struct load_frame *f;
    int rc;

    if (!v)
        return errmsg_set(ld->err, -ENOMEM, "out of memory parsing yaml");
    if (ld->depth == 0) {
        ld->root = v;
        return 0;
    }
    f = &ld->stack[ld->depth - 1];
    if (json_is_array(f->node))
        rc = json_array_append_new(f->node, v);
    else {
        rc = json_object_set_new(f->node, f->key, v);
        free(f->key);
        f->key = NULL;
    }
    if (rc < 0)
        return errmsg_set(ld->err, -ENOMEM, "out of memory parsing yaml");
    return 0;
}

/* Mapping keys are kept as their source text: JSON object keys are strings,
 * and "1: x" must not silently become something else. */
static int set_key(struct loader *ld, const yaml_event_t *ev, const char *s, size_t len)
{
    struct load_frame *f = &ld->stack[ld->depth - 1];
    char msg[128];

    if (strlen(s) != len)
        return load_error(ld, &ev->start_mark, -EINVAL, "mapping key contains a NUL byte");
    /* a duplicate would silently drop one value; say so instead */
    if (json_object_get(f->node, s)) {
        snprintf(msg, sizeof(msg), "duplicate key '%.80s'", s);
        return load_error(ld, &ev->start_mark, -EINVAL, msg);
    }
    if (!(f->key = strdup(s)))
        return errmsg_set(ld->err, -ENOMEM, "out of memory parsing yaml");
    return 0;
}

static int on_scalar(struct loader *ld, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const yaml_char_t *tag = ev->data.scalar.tag;
    json_t *v;
    int rc;

    if (tag && !tag_is_str(tag))
        return check_tag(ld, ev, tag, YAML_STR_TAG);
    if ((rc = count_node(ld, ev, 1, LOAD_VALUE_BYTES + len)) < 0)
        return rc;
    if (expecting_key(ld)) {
        if (ev->data.scalar.anchor)
            return load_error(ld, &ev->start_mark, -EINVAL, "anchors on keys are not supported");
        return set_key(ld, ev, s, len);
    }
    /* quoting or an explicit !!str keeps "1" and "true" as strings */
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag)
        v = resolve_plain(s, len);
    else
        v = json_stringn(s, len);
    if (!v)
        return errmsg_set(ld->err, -ENOMEM, "out of memory parsing yaml");
    if (ev->data.scalar.anchor) {
        char *name = strdup((const char *)ev->data.scalar.anchor);
        if (!name || add_anchor(ld, name, v, 1, LOAD_VALUE_BYTES + len) < 0) {
            free(name);
            json_decref(v);
            return errmsg_set(ld->err, -ENOMEM, "out of memory parsing yaml");
        }
    }
    return attach(ld, v);
}

static int on_alias(struct loader *ld, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const struct load_anchor *a = find_anchor(ld, name);
    char msg[128];
    json_t *copy;
    int rc;

    if (!a) {
        snprintf(msg, sizeof(msg), "unknown anchor '%.80s'", name);
        return load_error(ld, &ev->start_mark, -EINVAL, msg);
    }
    if ((rc = count_node(ld, ev, a->nodes, a->bytes)) < 0)
        return rc;
    if (expecting_key(ld)) {
        if (!json_is_string(a->value))
            return load_error(ld, &ev->start_mark, -EINVAL, "mapping keys must be scalars");
        return set_key(ld, ev, json_string_value(a->value), json_string_length(a->value));
    }
    /* a private copy, so editing one place later cannot change another */
    if (!(copy = json_deep_copy(a->value)))
        return errmsg_set(ld->err, -ENOMEM, "out of memory parsing yaml");
    return attach(ld, copy);
}

static int on_container_start(struct loader *ld, const yaml_event_t *ev, bool mapping)
{
    const yaml_char_t *tag = mapping ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
    const yaml_char_t *anchor = mapping ? ev->data.mapping_start.anchor
                                        : ev->data.sequence_start.anchor;
    struct load_frame *f;
    json_t *node;
    int rc;

    if ((rc = check_tag(ld, ev, tag, mapping ? YAML_MAP_TAG : YAML_SEQ_TAG)) < 0)
        return rc;
    if (expecting_key(ld))
        return load_error(ld, &ev->start_mark, -EINVAL, "mapping keys must be scalars");
    if (ld->depth == LOAD_MAX_DEPTH)
        return load_error(ld, &ev->start_mark, -EINVAL, "nesting is too deep");
    if ((rc = count_node(ld, ev, 1, LOAD_VALUE_BYTES)) < 0)
        return rc;
    node = mapping ? json_object() : json_array();
    /* attach first: the parent owns it, the frame only borrows it */
    if ((rc = attach(ld, node)) < 0)
        return rc;
    f = &ld->stack[ld->depth++];
    f->node = node;
    f->key = NULL;
    f->anchor = NULL;
    f->first_node = ld->nodes - 1;
    f->first_bytes = ld->bytes - LOAD_VALUE_BYTES;
    if (anchor && !(f->anchor = strdup((const char *)anchor)))
        return errmsg_set(ld->err, -ENOMEM, "out of memory parsing yaml");
    return 0;
}

static int on_container_end(struct loader *ld)
{
    struct load_frame *f = &ld->stack[--ld->depth];
    int rc = 0;

    free(f->key);
    f->key = NULL;
    if (f->anchor) {
        if (add_anchor(ld, f->anchor, f->node, ld->nodes - f->first_node,
                       ld->bytes - f->first_bytes) < 0) {
            free(f->anchor);
            rc = errmsg_set(ld->err, -ENOMEM, "out of memory parsing yaml");
        }
        f->anchor = NULL;
    }
    return rc;
}

static int on_event(struct loader *ld, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        /* a stream of jobspecs would be ambiguous: which one runs? */
        if (++ld->ndocs > 1)
            return load_error(ld, &ev->start_mark, -EINVAL,
                              "expected a single document");
        return 0;
    case YAML_SCALAR_EVENT:
        return on_scalar(ld, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(ld, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_container_start(ld, ev, false);
    case YAML_MAPPING_START_EVENT:
        return on_container_start(ld, ev, true);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_container_end(ld);
    default:
        return 0;
    }
}

static void loader_release(struct loader *ld)
{
    for (int i = 0; i < ld->depth; i++) {
        free(ld->stack[i].key);
        free(ld->stack[i].anchor);
    }
    for (size_t i = 0; i < ld->nanchors; i++) {
        free(ld->anchors[i].name);
        json_decref(ld->anchors[i].value);
    }
    free(ld->anchors);
    json_decref(ld->root);
    yaml_parser_delete(&ld->parser);
}

/* Returns 0 with *out set, or -EINVAL/-ENOMEM with err filled. */
/* JSON is the common machine-written form (fluxfs submit, Flux's own
 * tools), and jansson reads it several times faster than the YAML loader
 * (which dominated bulk submission). Text that is not strict JSON, such as
 * a YAML flow mapping "{a: 1}", goes to the YAML loader, which also words
 * the errors. */
static json_t *load_json_fast(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
        i++;
    if (i == len || buf[i] != '{')
        return NULL;
    json_error_t jerr;
    return json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
}

static int load_yaml(const char *buf, size_t len, json_t **out, struct errmsg *err)
{
    json_t *fast = load_json_fast(buf, len);
    if (fast) {
        *out = fast;
        return 0;
    }

    struct loader ld = { .buf = buf, .len = len, .err = err };
    yaml_event_t ev;
    bool done = false;
    int rc = 0;

    if (!yaml_parser_initialize(&ld.parser))
        return errmsg_set(err, -ENOMEM, "out of memory parsing yaml");
    yaml_parser_set_input_string(&ld.parser, (const unsigned char *)buf, len);
    while (!done) {
        if (!yaml_parser_parse(&ld.parser, &ev)) {
            rc = parser_error(&ld);
            goto out;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(&ld, &ev);
        yaml_event_delete(&ev);
        if (rc < 0)
            goto out;
    }
    if (!ld.root) {
        rc = errmsg_set(err, -EINVAL, "line 1 column 1: empty document");
        goto out;
    }
    *out = ld.root;
    ld.root = NULL;
out:
    loader_release(&ld);
    return rc;
}

json_t *jobspec_load_yaml(const char *buf, size_t len, struct errmsg *err)
{
    json_t *o = NULL;

    if (!buf) {
        errmsg_set(err, -EINVAL, "no input");
        return NULL;
    }
    if (load_yaml(buf, len, &o, err) < 0)
        return NULL;
    return o;
}

/* ------------------------------------------------------------- validation */

static int invalid(struct errmsg *err, const char *path, const char *what)
{
    return errmsg_set(err, -EINVAL, "%s: %s", path, what);
}

/* Edit distance (insertions, deletions, substitutions, transpositions of
 * neighbours) between short keys, or a large number for long ones. */
static size_t key_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b), d[33][33];
    if (n > 32 || m > 32)
        return SIZE_MAX;
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && d[i - 2][j - 2] + 1 < c)
                c = d[i - 2][j - 2] + 1;
            d[i][j] = c;
        }
    }
    return d[n][m];
}

/* Close enough to be a misspelling of want. */
static bool looks_like(const char *key, const char *want)
{
    return strcmp(key, want) != 0 && key_distance(key, want) <= (strlen(want) > 4 ? 2 : 1);
}

/* A required key is missing from obj: say so, and name a key there that
 * looks like a misspelling of it ("comand" for "command"). */
static int required(struct errmsg *err, const char *path, json_t *obj, const char *key)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
        if (looks_like(k, key))
            return errmsg_set(err, -EINVAL, "%s: required ('%.40s' is there: did you mean "
                              "'%s'?)", path, k, key);
    return invalid(err, path, "required");
}

/* key is not one of known[]: say so, with the known key it looks like. */
static int unknown_key(struct errmsg *err, const char *path, const char *key,
                       const char *const *known, size_t nknown)
{
    for (size_t i = 0; i < nknown; i++)
        if (looks_like(key, known[i]))
            return errmsg_set(err, -EINVAL, "%s: unknown key (did you mean '%s'?)", path,
                              known[i]);
    return invalid(err, path, "unknown key");
}

/* Counts are json integers that must also fit the int fields of the struct. */
static int get_int(json_t *v, const char *path, int min, int *out, struct errmsg *err)
{
    json_int_t n;

    if (rspec_is_huge_integer(v) || (json_is_integer(v) && json_integer_value(v) > INT_MAX))
        return errmsg_set(err, -EINVAL, "%s: too large (at most %d)", path, INT_MAX);
    if (!json_is_integer(v) || (n = json_integer_value(v)) < min)
        return errmsg_set(err, -EINVAL, "%s: must be an integer >= %d", path, min);
    if (out)
        *out = (int)n;
    return 0;
}

/* Strings handed to exec() or chdir() would be cut short at a NUL byte. */
static bool is_plain_string(json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

static int check_optional_string(json_t *obj, const char *key, const char *path,
                                 struct errmsg *err)
{
    json_t *v = json_object_get(obj, key);
    char sub[PATH_MAX_LEN];

    if (v && !is_plain_string(v)) {
        snprintf(sub, sizeof(sub), "%s.%s", path, key);
        return invalid(err, sub, "must be a string");
    }
    return 0;
}

/* RFC 14 rules for any resource vertex, applied to the whole tree before the
 * V1 shape check, so a bad field is reported even where the shape is wrong. */
static int check_vertex(json_t *v, const char *path, struct errmsg *err)
{
    static const char *const strings[] = { "id", "unit", "label" };
    char sub[PATH_MAX_LEN];
    const char *type;
    json_t *count, *excl, *with, *child;
    size_t i;
    int rc;

    if (!json_is_object(v))
        return invalid(err, path, "must be a mapping");
    snprintf(sub, sizeof(sub), "%s.type", path);
    if (!json_object_get(v, "type"))
        return required(err, sub, v, "type");
    if (!(type = json_string_value(json_object_get(v, "type"))))
        return invalid(err, sub, "must be a string");
    snprintf(sub, sizeof(sub), "%s.count", path);
    if (!(count = json_object_get(v, "count")))
        return required(err, sub, v, "count");
    /* Flux allows zero of optional resources such as gpus, never of these */
    bool needs_one = !strcmp(type, "node") || !strcmp(type, "slot") || !strcmp(type, "core");
    if ((rc = get_int(count, sub, needs_one ? 1 : 0, NULL, err)) < 0)
        return rc;
    for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        if ((rc = check_optional_string(v, strings[i], path, err)) < 0)
            return rc;
    }
    if ((excl = json_object_get(v, "exclusive")) && !json_is_boolean(excl)) {
        snprintf(sub, sizeof(sub), "%s.exclusive", path);
        return invalid(err, sub, "must be a boolean");
    }
    /* tasks name their slot by label, so an unlabeled slot is unusable */
    if (!strcmp(type, "slot") && !json_object_get(v, "label")) {
        snprintf(sub, sizeof(sub), "%s.label", path);
        return required(err, sub, v, "label");
    }
    if (!(with = json_object_get(v, "with")))
        return 0;
    snprintf(sub, sizeof(sub), "%s.with", path);
    if (!json_is_array(with) || json_array_size(with) == 0)
        return invalid(err, sub, "must be a non-empty list");
    json_array_foreach(with, i, child) {
        snprintf(sub, sizeof(sub), "%s.with[%zu]", path, i);
        if ((rc = check_vertex(child, sub, err)) < 0)
            return rc;
    }
    return 0;
}

static int vertex_count(json_t *v)
{
    return (int)json_integer_value(json_object_get(v, "count"));
}

static const char *vertex_type(json_t *v)
{
    return json_string_value(json_object_get(v, "type"));
}

/* V1 slot: with: [core] or [core, gpu] in either order. */
static int check_slot(json_t *slot, const char *path, struct jobspec *js,
                      struct errmsg *err)
{
    json_t *with = json_object_get(slot, "with");
    char sub[PATH_MAX_LEN];
    bool have_core = false, have_gpu = false;
    json_t *child;
    size_t i;

    snprintf(sub, sizeof(sub), "%s.with", path);
    if (!with)
        return invalid(err, sub, "required");
    if (json_array_size(with) > 2)
        return invalid(err, sub, "must list one core and at most one gpu");
    json_array_foreach(with, i, child) {
        const char *type = vertex_type(child);
        bool core = !strcmp(type, "core");

        snprintf(sub, sizeof(sub), "%s.with[%zu].type", path, i);
        if (!core && strcmp(type, "gpu") != 0)
            return invalid(err, sub, "must be 'core' or 'gpu'");
        if (core ? have_core : have_gpu)
            return errmsg_set(err, -EINVAL, "%s: duplicate '%s'", sub, type);
        /* V1 counts whole cores and gpus; nothing may hang below them */
        if (json_object_get(child, "with")) {
            snprintf(sub, sizeof(sub), "%s.with[%zu].with", path, i);
            return invalid(err, sub, "not allowed in version 1");
        }
        if (core) {
            have_core = true;
            js->slot_cores = vertex_count(child);
        } else {
            have_gpu = true;
            js->slot_gpus = vertex_count(child);
        }
    }
    if (!have_core) {
        snprintf(sub, sizeof(sub), "%s.with", path);
        return invalid(err, sub, "must include a core");
    }
    js->nslots = vertex_count(slot);
    js->slot_label = strdup(json_string_value(json_object_get(slot, "label")));
    if (!js->slot_label)
        return errmsg_set(err, -ENOMEM, "out of memory");
    return 0;
}

static int check_resources(json_t *res, struct jobspec *js, struct errmsg *err)
{
    json_t *top, *with;
    const char *type;
    int rc;

    if (!json_is_array(res) || json_array_size(res) != 1)
        return invalid(err, "resources", "must be a list of exactly one resource");
    top = json_array_get(res, 0);
    if ((rc = check_vertex(top, "resources[0]", err)) < 0)
        return rc;
    type = vertex_type(top);
    if (!strcmp(type, "slot"))
        rc = check_slot(top, "resources[0]", js, err);
    else if (!strcmp(type, "node")) {
        js->nnodes = vertex_count(top);
        js->node_exclusive = json_is_true(json_object_get(top, "exclusive"));
        if (!(with = json_object_get(top, "with")))
            return invalid(err, "resources[0].with", "required");
        if (json_array_size(with) != 1)
            return invalid(err, "resources[0].with", "must list exactly one slot");
        if (strcmp(vertex_type(json_array_get(with, 0)), "slot") != 0)
            return invalid(err, "resources[0].with[0].type", "must be 'slot'");
        rc = check_slot(json_array_get(with, 0), "resources[0].with[0]", js, err);
    } else
        return invalid(err, "resources[0].type", "must be 'node' or 'slot'");
    if (rc < 0)
        return rc;
    /* callers multiply these freely; make sure the products fit an int */
    if (js->nnodes > 0 && js->nslots > INT_MAX / js->nnodes)
        return invalid(err, "resources", "too many slots");
    return 0;
}

static int check_command(json_t *cmd, struct jobspec *js, struct errmsg *err)
{
    json_t *arg;
    size_t i;

    if (!json_is_array(cmd) || json_array_size(cmd) == 0)
        return invalid(err, "tasks[0].command", "must be a non-empty list of strings");
    json_array_foreach(cmd, i, arg) {
        if (!is_plain_string(arg))
            return invalid(err, "tasks[0].command", "must be a non-empty list of strings");
    }
    if (!(js->argv = calloc(json_array_size(cmd) + 1, sizeof(char *))))
        return errmsg_set(err, -ENOMEM, "out of memory");
    json_array_foreach(cmd, i, arg) {
        if (!(js->argv[i] = strdup(json_string_value(arg))))
            return errmsg_set(err, -ENOMEM, "out of memory");
        js->argc++;
    }
    return 0;
}

static int check_task_count(json_t *count, struct jobspec *js, struct errmsg *err)
{
    json_t *per_slot, *total;

    if (!count)
        return invalid(err, "tasks[0].count", "required");
    if (!json_is_object(count))
        return invalid(err, "tasks[0].count", "must be a mapping");
    /* per_resource is RFC 14 but not V1; name it so the user knows why */
    if (json_object_get(count, "per_resource"))
        return invalid(err, "tasks[0].count.per_resource", "not supported in version 1");
    per_slot = json_object_get(count, "per_slot");
    total = json_object_get(count, "total");
    if (json_object_size(count) != 1 || (!per_slot && !total))
        return invalid(err, "tasks[0].count", "must have exactly one of 'per_slot' or 'total'");
    if (per_slot)
        return get_int(per_slot, "tasks[0].count.per_slot", 1, &js->per_slot, err);
    return get_int(total, "tasks[0].count.total", 1, &js->total, err);
}

static int check_tasks(json_t *tasks, struct jobspec *js, struct errmsg *err)
{
    json_t *task, *slot, *attrs;
    int rc;

    if (!tasks)
        return invalid(err, "tasks", "required");
    if (!json_is_array(tasks) || json_array_size(tasks) != 1)
        return invalid(err, "tasks", "must be a list of exactly one task");
    task = json_array_get(tasks, 0);
    if (!json_is_object(task))
        return invalid(err, "tasks[0]", "must be a mapping");
    if (!json_object_get(task, "command"))
        return required(err, "tasks[0].command", task, "command");
    if ((rc = check_command(json_object_get(task, "command"), js, err)) < 0)
        return rc;
    if (!(slot = json_object_get(task, "slot")))
        return required(err, "tasks[0].slot", task, "slot");
    if (!json_is_string(slot))
        return invalid(err, "tasks[0].slot", "must be a string");
    if ((attrs = json_object_get(task, "attributes")) && !json_is_object(attrs))
        return invalid(err, "tasks[0].attributes", "must be a mapping");
    return check_task_count(json_object_get(task, "count"), js, err);
}

static int check_environment(json_t *env, struct jobspec *js, struct errmsg *err)
{
    char sub[PATH_MAX_LEN];
    const char *name;
    json_t *val;

    if (!json_is_object(env))
        return invalid(err, "attributes.system.environment", "must be a mapping");
    json_object_foreach(env, name, val) {
        if (!is_plain_string(val)) {
            snprintf(sub, sizeof(sub), "attributes.system.environment.%s", name);
            return invalid(err, sub, "must be a string");
        }
    }
    js->environment = env;
    return 0;
}

static int check_job(json_t *system, struct jobspec *js, struct errmsg *err)
{
    json_t *job = json_object_get(system, "job");
    json_t *name;

    if (job) {
        if (!json_is_object(job))
            return invalid(err, "attributes.system.job", "must be a mapping");
        name = json_object_get(job, "name");
    } else
        /* a dotted key, as written by tools that set attributes by path */
        name = json_object_get(system, "job.name");
    if (!name)
        return 0;
    if (!is_plain_string(name))
        return invalid(err, "attributes.system.job.name", "must be a string");
    js->name = json_string_value(name);
    return 0;
}

/* attributes.system.array: the element of a Slurm array (common/batch.h). */
static int check_array(json_t *a, struct jobspec *js, struct errmsg *err)
{
    json_t *id = json_object_get(a, "id"), *index = json_object_get(a, "index");
    json_t *limit = json_object_get(a, "limit");
    if (!json_is_object(a))
        return invalid(err, "attributes.system.array", "must be a mapping");
    if (!is_plain_string(id) || !*json_string_value(id) || strlen(json_string_value(id)) > 40)
        return invalid(err, "attributes.system.array.id", "must be a job id");
    if (!json_is_integer(index) || json_integer_value(index) < 0
        || json_integer_value(index) > INT_MAX)
        return invalid(err, "attributes.system.array.index", "must be an integer >= 0");
    if (limit && (!json_is_integer(limit) || json_integer_value(limit) < 0
                  || json_integer_value(limit) > INT_MAX))
        return invalid(err, "attributes.system.array.limit", "must be an integer >= 0");
    js->array_id = json_string_value(id);
    js->array_index = (int)json_integer_value(index);
    js->array_limit = limit ? (int)json_integer_value(limit) : 0;
    return 0;
}

static int check_constraint(json_t *c, const char *path, struct errmsg *err)
{
    char sub[PATH_MAX_LEN];
    const char *op;
    json_t *args, *arg;
    size_t i;
    int rc;

    if (!json_is_object(c))
        return invalid(err, path, "must be a mapping");
    json_object_foreach(c, op, args) {
        bool nested = !strcmp(op, "and") || !strcmp(op, "or") || !strcmp(op, "not");
        bool terms = !strcmp(op, "properties") || !strcmp(op, "hostlist")
                     || !strcmp(op, "ranks");

        snprintf(sub, sizeof(sub), "%s.%s", path, op);
        if (!nested && !terms)
            return errmsg_set(err, -EINVAL, "%s: unknown constraint operator '%s'", path, op);
        if (!json_is_array(args))
            return invalid(err, sub, "must be a list");
        json_array_foreach(args, i, arg) {
            snprintf(sub, sizeof(sub), "%s.%s[%zu]", path, op, i);
            if (nested && (rc = check_constraint(arg, sub, err)) < 0)
                return rc;
            if (terms && !json_is_string(arg))
                return invalid(err, sub, "must be a string");
        }
    }
    return 0;
}

static int check_system(json_t *system, struct jobspec *js, struct errmsg *err)
{
    json_t *duration, *cwd, *env, *v;
    int rc;

    if (!system)
        return invalid(err, "attributes.system", "required");   /* check_attributes names a misspelling */
    if (!json_is_object(system))
        return invalid(err, "attributes.system", "must be a mapping");
    if ((cwd = json_object_get(system, "cwd"))) {
        if (!is_plain_string(cwd))
            return invalid(err, "attributes.system.cwd", "must be a string");
        js->cwd = json_string_value(cwd);
    }
    if ((env = json_object_get(system, "environment"))
        && (rc = check_environment(env, js, err)) < 0)
        return rc;
    if ((rc = check_job(system, js, err)) < 0)
        return rc;
    if ((v = json_object_get(system, "array")) && (rc = check_array(v, js, err)) < 0)
        return rc;
    if ((v = json_object_get(system, "dependencies")) && (rc = rspec_check_dependencies(v, err)) < 0)
        return rc;
    if ((v = json_object_get(system, "constraints"))
        && (rc = check_constraint(v, "attributes.system.constraints", err)) < 0)
        return rc;
    /* V1 requires a duration so the scheduler can always plan ahead; checked
     * after the RFC 14 types, as Flux does, so those errors are not hidden */
    if (!(duration = json_object_get(system, "duration")))
        return required(err, "attributes.system.duration", system, "duration");
    if (!json_is_number(duration) || json_number_value(duration) < 0)
        return invalid(err, "attributes.system.duration", "must be a number >= 0");
    js->duration = json_number_value(duration);
    return 0;
}

static int check_attributes(json_t *attrs, struct jobspec *js, struct errmsg *err)
{
    char sub[PATH_MAX_LEN];
    const char *key;
    json_t *v;

    if (!attrs)
        return invalid(err, "attributes", "required");
    if (!json_is_object(attrs))
        return invalid(err, "attributes", "must be a mapping");
    static const char *const known[] = { "system", "user" };
    json_object_foreach(attrs, key, v) {
        if (strcmp(key, "system") != 0 && strcmp(key, "user") != 0) {
            snprintf(sub, sizeof(sub), "attributes.%s", key);
            return unknown_key(err, sub, key, known, 2);
        }
    }
    if ((v = json_object_get(attrs, "user")) && !json_is_object(v))
        return invalid(err, "attributes.user", "must be a mapping");
    return check_system(json_object_get(attrs, "system"), js, err);
}

static int check_jobspec(json_t *o, struct jobspec *js, struct errmsg *err)
{
    static const char *const top[] = { "version", "resources", "tasks", "attributes" };
    const char *key;
    json_t *v;
    int rc;

    if (!json_is_object(o))
        return errmsg_set(err, -EINVAL, "jobspec: must be a mapping");
    json_object_foreach(o, key, v) {
        bool known = false;
        for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
            known = known || !strcmp(key, top[i]);
        if (!known)
            return unknown_key(err, key, key, top, sizeof(top) / sizeof(top[0]));
    }
    /* a missing section is the plainest mistake; report it before details */
    for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
        if (!json_object_get(o, top[i]))
            return required(err, top[i], o, top[i]);
    }
    v = json_object_get(o, "version");
    if (!json_is_integer(v) || json_integer_value(v) != 1)
        return invalid(err, "version", "must be 1");
    if ((rc = check_resources(json_object_get(o, "resources"), js, err)) < 0)
        return rc;
    if ((rc = check_tasks(json_object_get(o, "tasks"), js, err)) < 0)
        return rc;
    if ((rc = check_attributes(json_object_get(o, "attributes"), js, err)) < 0)
        return rc;
    /* the task count is multiplied by slots; keep the result an int */
    if (js->per_slot > 0 && jobspec_total_slots(js) > INT_MAX / js->per_slot)
        return errmsg_set(err, -EINVAL, "tasks[0].count.per_slot: too many tasks: %d per "
                          "slot x %d slots is more than %d", js->per_slot,
                          jobspec_total_slots(js), INT_MAX);
    return 0;
}

static int64_t sat_mul(int64_t a, int64_t b)
{
    return (a > 0 && b > INT64_MAX / a) ? INT64_MAX : a * b;
}

/* Slots and their cores/gpus, counting each vertex at its minimum. */
static void general_shape(const struct rspec_res *r, int n, int64_t mult, bool in_slot,
                          struct jobspec *js, int64_t *nslots)
{
    for (int i = 0; i < n; i++) {
        int64_t c = r[i].count.min > 0 ? r[i].count.min : 0;
        if (!strcmp(r[i].type, "slot")) {
            /* saturates: more than INT_MAX slots is refused by the caller */
            *nslots = sat_mul(mult, c) > INT64_MAX - *nslots ? INT64_MAX
                                                             : *nslots + sat_mul(mult, c);
            if (!js->slot_label && r[i].label)
                js->slot_label = strdup(r[i].label);
            int64_t per = 0;
            struct jobspec tmp = {0};
            general_shape(r[i].with, r[i].nwith, 1, true, &tmp, &per);
            if (!js->slot_cores) {
                js->slot_cores = tmp.slot_cores;
                js->slot_gpus = tmp.slot_gpus;
            }
            continue;
        }
        int64_t n = sat_mul(mult, c);
        if (n > INT_MAX)
            n = INT_MAX;    /* no slot of that many is ever satisfiable */
        if (in_slot && !strcmp(r[i].type, "core"))
            js->slot_cores = (int)(js->slot_cores + n > INT_MAX ? INT_MAX : js->slot_cores + n);
        if (in_slot && !strcmp(r[i].type, "gpu"))
            js->slot_gpus = (int)(js->slot_gpus + n > INT_MAX ? INT_MAX : js->slot_gpus + n);
        general_shape(r[i].with, r[i].nwith, sat_mul(mult, c), in_slot, js, nslots);
    }
}

static bool has_slot(const struct rspec_res *r, int n, const char *label)
{
    for (int i = 0; i < n; i++) {
        if (!strcmp(r[i].type, "slot") && r[i].label && !strcmp(r[i].label, label))
            return true;
        if (has_slot(r[i].with, r[i].nwith, label))
            return true;
    }
    return false;
}

/* RFC 14: a task's slot is the label of a slot in resources; a task that
 * names none would run on slots it never asked for. (rspec.h leaves this
 * out: Fluxion's resource-query cases name slots that do not exist, and
 * flux-core's V1 validator does not check it either.) */
static int check_task_slots(const struct rspec *rs, struct errmsg *err)
{
    json_t *task;
    size_t i;

    json_array_foreach(json_object_get(rs->json, "tasks"), i, task) {
        const char *label = json_string_value(json_object_get(task, "slot"));
        if (label && !has_slot(rs->res, rs->nres, label))
            return errmsg_set(err, -EINVAL, "tasks[%zu].slot: no slot labeled '%.60s' "
                              "in resources", i, label);
    }
    return 0;
}

/* A jobspec in general RFC 14 form (version != 1). */
static int check_general(json_t *o, struct jobspec *js, struct errmsg *err)
{
    int rc = rspec_from_json(o, &js->rs, err);
    if (rc < 0)
        return rc;
    const struct rspec *rs = js->rs;
    if ((rc = check_task_slots(rs, err)) < 0)
        return rc;
    js->general = true;
    if (!(js->argv = calloc(rs->argc + 1, sizeof(char *))))
        return errmsg_set(err, -ENOMEM, "out of memory");
    for (int i = 0; i < rs->argc; i++)
        if (!(js->argv[i] = strdup(rs->argv[i])))
            return errmsg_set(err, -ENOMEM, "out of memory");
    js->argc = rs->argc;
    if (js->argc == 0)
        return invalid(err, "tasks[0].command", "must be a non-empty list");
    int64_t nslots = 0;
    general_shape(rs->res, rs->nres, 1, false, js, &nslots);
    if (nslots < 1 || nslots > INT_MAX)
        return invalid(err, "resources", "must ask for between 1 and INT_MAX slots");
    js->nslots = (int)nslots;
    if (js->slot_cores < 1)
        js->slot_cores = 1;     /* a slot of gpus or memory still runs somewhere */
    if (rs->per_slot > INT_MAX || rs->total > INT_MAX)
        return errmsg_set(err, -EINVAL, "tasks[0].count.%s: too large (at most %d)",
                          rs->total ? "total" : "per_slot", INT_MAX);
    js->per_slot = rs->per_slot > 0 ? (int)rs->per_slot : 0;
    js->total = rs->total > 0 ? (int)rs->total : 0;
    if (!js->per_slot && !js->total)
        js->per_slot = 1;
    if (js->per_slot > 0 && nslots > INT_MAX / js->per_slot)
        return errmsg_set(err, -EINVAL, "tasks[0].count.per_slot: too many tasks: %d per "
                          "slot x %lld slots is more than %d", js->per_slot,
                          (long long)nslots, INT_MAX);
    js->duration = rs->duration;
    json_t *sys = json_object_get(json_object_get(o, "attributes"), "system");
    json_t *v;
    if ((v = json_object_get(sys, "cwd")) && json_is_string(v))
        js->cwd = json_string_value(v);
    if ((v = json_object_get(json_object_get(sys, "job"), "name")) && json_is_string(v))
        js->name = json_string_value(v);
    if ((v = json_object_get(sys, "environment")) && json_is_object(v))
        js->environment = v;
    return 0;
}

/* attributes.system.shell.options.signal = {"signum": N, "timeleft": T}:
 * Flux's --signal, the tasks get signal N T seconds before the time limit. */
static int check_shell_signal(json_t *o, struct jobspec *js, struct errmsg *err)
{
    static const char where[] = "attributes.system.shell.options.signal";
    json_t *s = json_object_get(json_object_get(json_object_get(json_object_get(
                    json_object_get(o, "attributes"), "system"), "shell"), "options"), "signal");
    if (!s)
        return 0;
    json_t *num = json_object_get(s, "signum"), *left = json_object_get(s, "timeleft");
    if (!json_is_object(s) || !json_is_integer(num) || json_integer_value(num) < 1
        || json_integer_value(num) > 64 || (left && (!json_is_number(left)
                                                     || json_number_value(left) < 0)))
        return invalid(err, where, "must be {\"signum\": 1-64, \"timeleft\": seconds >= 0}");
    js->signal_num = (int)json_integer_value(num);
    js->signal_timeleft = left ? json_number_value(left) : 60;
    return 0;
}

/* attributes.system.shell.options.output.{stdout,stderr}.label: Flux's
 * shell options for `flux run -l`; either labels the job's output. */
static int check_shell_label(json_t *o, struct jobspec *js, struct errmsg *err)
{
    static const char *const path[] = {"attributes", "system", "shell", "options", "output"};
    static const char *const stream[] = {"stdout", "stderr"};
    json_t *out = o;
    for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++)
        out = json_object_get(out, path[i]);
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(json_object_get(out, stream[i]), "label");
        char where[64];
        snprintf(where, sizeof(where), "attributes.system.shell.options.output.%s.label",
                 stream[i]);
        if (v && !json_is_boolean(v))
            return invalid(err, where, "must be true or false");
        js->label |= json_is_true(v);
        /* Flux's --output/--error: type "file" with a path (the tasks
         * write it, as their owner); "kvs" is the job's own file */
        json_t *st = json_object_get(out, stream[i]);
        json_t *type = json_object_get(st, "type"), *path = json_object_get(st, "path");
        snprintf(where, sizeof(where), "attributes.system.shell.options.output.%s", stream[i]);
        if (type && (!json_is_string(type) || (strcmp(json_string_value(type), "file")
                                               && strcmp(json_string_value(type), "kvs"))))
            return invalid(err, where, "type must be \"file\" or \"kvs\"");
        if (type && !strcmp(json_string_value(type), "kvs"))
            continue;
        if (path && (!json_is_string(path) || !json_string_value(path)[0]
                     || strlen(json_string_value(path)) >= 4096))
            return invalid(err, where, "path must be a file name (1 to 4095 bytes)");
        if (type && !path)
            return invalid(err, where, "type \"file\" needs a path");
        if (path)
            *(i == 0 ? &js->out_path : &js->err_path) = json_string_value(path);
    }
    /* Flux's --input: shell.options.input.stdin {type: "file", path} */
    json_t *in = json_object_get(json_object_get(json_object_get(json_object_get(
                     json_object_get(o, "attributes"), "system"), "shell"), "options"), "input");
    json_t *st = json_object_get(in, "stdin"), *ipath = json_object_get(st, "path");
    json_t *itype = json_object_get(st, "type");
    if (itype && (!json_is_string(itype) || strcmp(json_string_value(itype), "file")))
        return invalid(err, "attributes.system.shell.options.input.stdin", "type must be "
                       "\"file\"");
    if (ipath && (!json_is_string(ipath) || !json_string_value(ipath)[0]
                  || strlen(json_string_value(ipath)) >= 4096))
        return invalid(err, "attributes.system.shell.options.input.stdin",
                       "path must be a file name (1 to 4095 bytes)");
    js->in_path = json_string_value(ipath);
    return 0;
}

/* A JSON jobspec's environment by jsonenv_take() (unless env holds it
 * already), and jansson on the rest of the text with an empty object
 * where the environment was: building a jansson object per variable was
 * most of the parse (an eighth of the broker's time at 1,000 jobs/s).
 * env->envv NULL after it: the text, all of it, went the usual way (YAML,
 * no environment, or anything the scanner does not vouch for: then
 * jansson or libyaml word the error, as before). */
static int load_spec(const char *buf, size_t len, json_t **out, struct jobspec_env *env,
                     struct errmsg *err)
{
    if (!env->envv && jobspec_env_take(buf, len, env) < 0)
        return load_yaml(buf, len, out, err);
    size_t n = len - env->span + 2;
    char *rest = malloc(n);
    json_t *o = NULL;
    json_error_t jerr;
    if (rest) {
        memcpy(rest, buf, env->off);
        memcpy(rest + env->off, "{}", 2);
        memcpy(rest + env->off + 2, buf + env->off + env->span, len - env->off - env->span);
        o = json_loadb(rest, n, JSON_REJECT_DUPLICATES, &jerr);
        free(rest);
    }
    if (o) {
        json_object_del(json_object_get(json_object_get(o, "attributes"), "system"),
                        "environment");
        *out = o;
        return 0;
    }
    free(env->envv);
    *env = (struct jobspec_env){ 0 };
    return load_yaml(buf, len, out, err);
}

int jobspec_env_take(const char *buf, size_t len, struct jobspec_env *env)
{
    *env = (struct jobspec_env){ 0 };
    int count = jsonenv_take(buf, len, &env->envv, &env->off, &env->span);
    if (count < 0)
        return count;
    env->size = env->span + (size_t)(count + 1) * sizeof(char *);
    return 0;
}

bool jobspec_env_same_rest(const char *a, size_t alen, const struct jobspec_env *ea,
                           const char *b, size_t blen, const struct jobspec_env *eb)
{
    if (!ea->span || !eb->span || ea->off + ea->span > alen || eb->off + eb->span > blen)
        return false;
    size_t atail = alen - ea->off - ea->span, btail = blen - eb->off - eb->span;
    return ea->off == eb->off && atail == btail
           && !memcmp(a, b, ea->off)
           && !memcmp(a + ea->off + ea->span, b + eb->off + eb->span, atail);
}

int jobspec_parse(const char *buf, size_t len, struct jobspec **out, struct errmsg *err)
{
    return jobspec_parse_taken(buf, len, NULL, out, err);
}

int jobspec_parse_taken(const char *buf, size_t len, struct jobspec_env *taken,
                        struct jobspec **out, struct errmsg *err)
{
    struct jobspec *js;
    json_t *o = NULL;
    struct jobspec_env env = { 0 };
    int rc;

    if (taken) {
        env = *taken;
        *taken = (struct jobspec_env){ 0 };
    }
    if (!buf || !out) {
        free(env.envv);
        return errmsg_set(err, -EINVAL, "no input");
    }
    if (len > JOBSPEC_MAX_SIZE) {
        free(env.envv);
        return errmsg_set(err, -E2BIG, "jobspec is %zu bytes, more than the %d allowed",
                          len, JOBSPEC_MAX_SIZE);
    }
    if ((rc = load_spec(buf, len, &o, &env, err)) < 0)
        return rc;
    if (!(js = calloc(1, sizeof(*js)))) {
        json_decref(o);
        free(env.envv);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    js->refs = 1;
    js->json = o;
    js->env = env;
    json_t *version = json_is_object(o) ? json_object_get(o, "version") : NULL;
    if (version && (!json_is_integer(version) || json_integer_value(version) != 1))
        rc = check_general(o, js, err);
    else if ((rc = check_jobspec(o, js, err)) == 0)
        rc = rspec_from_json(o, &js->rs, err);
    if (rc == 0)
        rc = check_shell_label(o, js, err);
    if (rc == 0)
        rc = check_shell_signal(o, js, err);
    if (rc < 0)
        goto error;
    *out = js;
    return 0;
error:
    jobspec_destroy(js);
    return rc;
}

/* Slots of a general request with every count at its maximum. */
static int64_t max_slots(const struct rspec_res *r, int n, int64_t mult, int64_t limit)
{
    int64_t sum = 0;
    for (int i = 0; i < n && sum < limit; i++) {
        int64_t c = sat_mul(mult, r[i].count.max < limit ? r[i].count.max : limit);
        if (!strcmp(r[i].type, "slot"))
            sum += c < limit ? c : limit;
        else if (c > 0)
            sum += max_slots(r[i].with, r[i].nwith, c, limit);
    }
    return sum < limit ? sum : limit;
}

int64_t jobspec_max_tasks(const struct jobspec *js, int64_t slot_limit, const char **element)
{
    int64_t per_slot = js->per_slot, total = js->total, slots;
    *element = "tasks[0].count.per_slot";
    if (js->general) {
        /* the request as written, not as reduced for the executor */
        per_slot = js->rs->per_slot;
        total = js->rs->total;
        slots = max_slots(js->rs->res, js->rs->nres, 1, slot_limit);
        if (!per_slot && !total) {
            *element = "tasks[0].count";
            per_slot = 1;
        }
    } else
        slots = jobspec_total_slots(js) < slot_limit ? jobspec_total_slots(js) : slot_limit;
    if (total > 0) {
        *element = "tasks[0].count.total";
        return total;
    }
    return sat_mul(per_slot, slots);
}

int jobspec_total_slots(const struct jobspec *js)
{
    if (!js)
        return 0;
    return js->nnodes > 0 ? js->nnodes * js->nslots : js->nslots;
}

const char *jobspec_job_name(const struct jobspec *js)
{
    if (!js)
        return NULL;
    if (js->name && *js->name)
        return js->name;
    if (js->argc < 1 || !js->argv[0])
        return NULL;
    const char *slash = strrchr(js->argv[0], '/');
    const char *base = slash ? slash + 1 : js->argv[0];
    return *base ? base : NULL;
}

int jobspec_ntasks(const struct jobspec *js)
{
    if (!js)
        return 0;
    return js->total > 0 ? js->total : js->per_slot * jobspec_total_slots(js);
}

void jobspec_shed_environment(struct jobspec *js)
{
    json_t *sys = json_object_get(json_object_get(js->json, "attributes"), "system");
    if (js->env.envv) {
        free(js->env.envv);
        js->env = (struct jobspec_env){ 0 };
        js->environment_shed = true;
    }
    if (!js->environment || !sys)
        return;
    js->environment = NULL;
    js->environment_shed = true;
    json_object_del(sys, "environment");
}

json_t *jobspec_load_environment(const char *buf, size_t len)
{
    json_t *o = NULL, *env = NULL;
    if (load_yaml(buf, len, &o, NULL) == 0) {
        env = json_object_get(json_object_get(json_object_get(o, "attributes"), "system"),
                              "environment");
        json_incref(env);
    }
    json_decref(o);
    return json_is_object(env) ? env : (json_decref(env), NULL);
}

struct jobspec *jobspec_ref(struct jobspec *js)
{
    if (js)
        js->refs++;
    return js;
}

void jobspec_destroy(struct jobspec *js)
{
    if (!js || --js->refs > 0)
        return;
    if (js->argv) {
        for (int i = 0; js->argv[i]; i++)
            free(js->argv[i]);
        free(js->argv);
    }
    free(js->slot_label);
    free(js->env.envv);
    rspec_destroy(js->rs);
    json_decref(js->json);
    free(js);
}
