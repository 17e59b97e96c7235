/* rspec.c - validate a general RFC 14 jobspec and decode its resource tree.
 *
 * Loading is jobspec_load_yaml()'s job; this file only walks the jansson
 * tree, top level first, then resources, tasks and attributes, and stops at
 * the first problem with "path.to.key: what is wrong" in the error buffer.
 */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "common/jobspec.h"
#include "common/rspec.h"

/* Room for resources[0] plus RSPEC_MAX_DEPTH levels of .with[NNN] and a key;
 * longer paths are cut short in the message, never overflowed. */
#define PATH_LEN 512

/* Fluxion accepts versions 1 to 9999; flux-core only asks for >= 1. */
#define VERSION_MAX 9999

/* State shared by the whole walk: the error buffer and the labels seen so
 * far (a JSON object used as a set), since RFC 14 labels are jobspec-wide. */
struct walk {
    struct errmsg *err;
    json_t *labels;
};

/* Format a key path into dst (PATH_LEN bytes).  A path too long is cut: it
 * still names the spot, and the error text is shorter than PATH_LEN anyway. */
static void pathf(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *dst, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(dst, PATH_LEN, fmt, ap);
    va_end(ap);
}

/* Longest path printed whole; past it the middle gives way, so the reason
 * after the path always fits the 256-byte errmsg. */
#define PATH_SHOWN 140

/* Report "path: reason" as -EINVAL. */
static int fail(struct errmsg *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct errmsg *err, const char *path, const char *fmt, ...)
{
    char what[160], cut[PATH_SHOWN + 1];
    size_t n = strlen(path);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (n > PATH_SHOWN) {
        snprintf(cut, sizeof(cut), "%.40s...%s", path, path + n - (PATH_SHOWN - 43));
        path = cut;
    }
    return errmsg_set(err, -EINVAL, "%s: %s", path, what);
}

static int invalid(struct errmsg *err, const char *path, const char *what)
{
    return fail(err, path, "%s", what);
}

static int nomem(struct errmsg *err)
{
    return errmsg_set(err, -ENOMEM, "out of memory");
}

/* Strings handed to exec() or compared with strcmp() would be cut short at
 * a NUL byte, so one inside a string is as wrong as a number. */
static bool is_plain_string(json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

static bool is_key(const char *key, const char *const *keys)
{
    for (; *keys; keys++) {
        if (!strcmp(key, *keys))
            return true;
    }
    return false;
}

/* Name the first key of o that is not in keys. */
static int check_keys(json_t *o, const char *path, const char *const *keys,
                      struct errmsg *err)
{
    char sub[PATH_LEN];
    const char *key;
    json_t *v;

    json_object_foreach(o, key, v) {
        if (!is_key(key, keys)) {
            pathf(sub, "%s%s%s", path, *path ? "." : "", key);
            return invalid(err, sub, "unknown key");
        }
    }
    return 0;
}

/* An optional string member: absent is fine, anything else but a string is not. */
static int get_string(json_t *o, const char *key, const char *path, bool nonempty,
                      const char **out, struct errmsg *err)
{
    json_t *v = json_object_get(o, key);
    char sub[PATH_LEN];

    *out = NULL;
    if (!v)
        return 0;
    pathf(sub, "%s.%s", path, key);
    if (!is_plain_string(v))
        return invalid(err, sub, nonempty ? "must be a non-empty string" : "must be a string");
    if (nonempty && json_string_length(v) == 0)
        return invalid(err, sub, "must be a non-empty string");
    *out = json_string_value(v);
    return 0;
}

static int dup_string(const char *s, char **out, struct errmsg *err)
{
    if (s && !(*out = strdup(s)))
        return nomem(err);
    return 0;
}

/* ------------------------------------------------------------------ counts */

/* Overflow-checked integer power; false when the result exceeds INT64_MAX. */
static bool pow_i64(int64_t base, int64_t exp, int64_t *out)
{
    int64_t r = 1;

    /* 0 and 1 never grow; anything else overflows within 63 turns */
    if (base == 0 || base == 1) {
        *out = exp > 0 ? base : 1;
        return true;
    }
    for (int64_t i = 0; i < exp; i++) {
        if (__builtin_mul_overflow(r, base, &r))
            return false;
    }
    *out = r;
    return true;
}

/* One step of the operator, or false on overflow. */
static bool count_step(const struct rspec_count *c, int64_t v, int64_t *out)
{
    switch (c->op) {
    case '*':
        return !__builtin_mul_overflow(v, c->operand, out);
    case '^':
        return pow_i64(v, c->operand, out);
    default:
        return !__builtin_add_overflow(v, c->operand, out);
    }
}

int64_t rspec_count_next(const struct rspec_count *c, int64_t cur)
{
    int64_t v;

    /* a hand-built count that cannot progress has no next value */
    if (!c || c->operand < 1)
        return -1;
    if (c->nset > 0) {
        for (int i = 0; i < c->nset; i++) {
            if (cur < c->set[i].lo)
                return c->set[i].lo;
            if (cur < c->set[i].hi)
                return cur + 1;
        }
        return -1;
    }
    if (cur < c->min)
        return c->min <= c->max ? c->min : -1;
    if (c->op == '+') {
        /* closed form: an unbounded "1+" must not loop to INT64_MAX */
        int64_t k = (cur - c->min) / c->operand + 1;
        if (__builtin_mul_overflow(k, c->operand, &v) || __builtin_add_overflow(v, c->min, &v))
            return -1;
    } else {
        /* '*' and '^' at least double each step, so this is a few dozen turns */
        v = c->min;
        while (v <= cur) {
            int64_t n;
            if (!count_step(c, v, &n) || n <= v)
                return -1;
            v = n;
        }
    }
    return v <= c->max ? v : -1;
}

int64_t rspec_count_best(const struct rspec_count *c, int64_t avail)
{
    int64_t limit, v, n;

    if (!c || c->operand < 1 || avail < c->min)
        return -1;
    if (c->nset > 0) {
        for (int i = c->nset - 1; i >= 0; i--) {
            if (c->set[i].lo <= avail)
                return avail < c->set[i].hi ? avail : c->set[i].hi;
        }
        return -1;
    }
    limit = avail < c->max ? avail : c->max;
    if (c->op == '+')
        return c->min + (limit - c->min) / c->operand * c->operand;
    v = c->min;
    while ((n = rspec_count_next(c, v)) >= 0 && n <= limit)
        v = n;
    return v;
}

/* Reports a range problem on the key itself (mapping form) or on the whole
 * count with the key named in the text (string form). */
static int range_invalid(struct errmsg *err, const char *path, bool str, const char *key,
                         const char *what)
{
    char sub[PATH_LEN];

    if (str)
        return fail(err, path, "%s %s", key, what);
    pathf(sub, "%s.%s", path, key);
    return invalid(err, sub, what);
}

/* Rules shared by the mapping and the RFC 45 string: min >= 1, max >= min,
 * and an operator that makes progress ('*' 1 or '^' from 1 would repeat). */
static int check_range(const struct rspec_count *c, const char *path, bool str,
                       struct errmsg *err)
{
    char what[64];

    if (c->min < 1)
        return range_invalid(err, path, str, "min", "must be an integer >= 1");
    if (c->max < c->min) {
        snprintf(what, sizeof(what), "must be >= min (%lld)", (long long)c->min);
        return range_invalid(err, path, str, "max", what);
    }
    if (c->op != '+' && c->op != '*' && c->op != '^')
        return range_invalid(err, path, str, "operator", "must be one of +, *, ^");
    if (c->operand < 1)
        return range_invalid(err, path, str, "operand", "must be an integer >= 1");
    if (c->op != '+' && c->operand < 2) {
        snprintf(what, sizeof(what), "must be >= 2 for operator '%c'", c->op);
        return range_invalid(err, path, str, "operand", what);
    }
    if (c->op == '^' && c->min < 2)
        return range_invalid(err, path, str, "min", "must be >= 2 for operator '^'");
    return 0;
}

bool rspec_is_huge_integer(json_t *v)
{
    const char *s = json_string_value(v);
    if (!s)
        return false;
    if (*s == '+')
        s++;
    size_t n = strspn(s, "0123456789");
    if (n == 0 || s[n] != '\0')
        return false;
    while (n > 1 && *s == '0')
        s++, n--;
    /* more digits than INT64_MAX (19), or as many and larger */
    return n > 19 || (n == 19 && strcmp(s, "9223372036854775807") > 0);
}

static int too_large(struct errmsg *err, const char *path)
{
    return fail(err, path, "too large (at most %lld)", (long long)INT64_MAX);
}

/* A count member: a JSON integer >= 1.  How members relate to each other
 * is check_range()'s business. */
static int range_int(json_t *v, const char *path, const char *key, int64_t *out,
                     struct errmsg *err)
{
    char sub[PATH_LEN];

    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        pathf(sub, "%s.%s", path, key);
        return rspec_is_huge_integer(v) ? too_large(err, sub)
                                        : invalid(err, sub, "must be an integer >= 1");
    }
    *out = json_integer_value(v);
    return 0;
}

static int parse_count_object(json_t *o, const char *path, struct rspec_count *c,
                              struct errmsg *err)
{
    static const char *const keys[] = { "min", "max", "operator", "operand", NULL };
    json_t *min = json_object_get(o, "min");
    json_t *max = json_object_get(o, "max");
    json_t *op = json_object_get(o, "operator");
    json_t *operand = json_object_get(o, "operand");
    char sub[PATH_LEN];
    int rc;

    if ((rc = check_keys(o, path, keys, err)) < 0)
        return rc;
    if (!min) {
        pathf(sub, "%s.min", path);
        return invalid(err, sub, "required");
    }
    if ((rc = range_int(min, path, "min", &c->min, err)) < 0)
        return rc;
    /* operator and operand only mean something together (flux-core), and
     * Fluxion and the RFC 14 schema want a max with them; max alone steps
     * by +1, as flux-core reads {min: 1, max: 4} */
    if (op && !operand) {
        pathf(sub, "%s.operand", path);
        return invalid(err, sub, "required with 'operator'");
    }
    if (operand && !op) {
        pathf(sub, "%s.operator", path);
        return invalid(err, sub, "required with 'operand'");
    }
    if (op && !max) {
        pathf(sub, "%s.max", path);
        return invalid(err, sub, "required with 'operator' and 'operand'");
    }
    if (max && (rc = range_int(max, path, "max", &c->max, err)) < 0)
        return rc;
    if (op) {
        if (!json_is_string(op) || json_string_length(op) != 1) {
            pathf(sub, "%s.operator", path);
            return invalid(err, sub, "must be one of +, *, ^");
        }
        c->op = json_string_value(op)[0];
        if ((rc = range_int(operand, path, "operand", &c->operand, err)) < 0)
            return rc;
    }
    return check_range(c, path, false, err);
}

/* Decimal without leading zeros (RFC 22 and 45); advances *s. */
static bool scan_uint(const char **s, int64_t *out)
{
    const char *p = *s;
    int64_t v = 0;

    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
            return false;
    }
    *s = p;
    *out = v;
    return true;
}

static int add_span(struct rspec_count *c, int64_t lo, int64_t hi)
{
    struct rspec_span *s;

    /* "1-3,4-5" is one run; keeping runs maximal makes "has gaps" exact
     * (lo - 1, not hi + 1: hi may be INT64_MAX, lo is >= 0) */
    if (c->nset > 0 && c->set[c->nset - 1].hi == lo - 1) {
        c->set[c->nset - 1].hi = hi;
        return 0;
    }
    if (c->nset == INT_MAX || !(s = realloc(c->set, (c->nset + 1) * sizeof(*s))))
        return -ENOMEM;
    c->set = s;
    c->set[c->nset].lo = lo;
    c->set[c->nset].hi = hi;
    c->nset++;
    return 0;
}

/* RFC 22 idset: "N" or "N-M" items, comma separated, ascending, disjoint.
 * Returns 0, -EINVAL (not an idset) or -ENOMEM. */
static int scan_idset(const char *s, struct rspec_count *c)
{
    int64_t lo, hi;

    for (;;) {
        if (!scan_uint(&s, &lo))
            return -EINVAL;
        hi = lo;
        if (*s == '-') {
            s++;
            if (!scan_uint(&s, &hi) || hi < lo)
                return -EINVAL;
        }
        if (c->nset > 0 && lo <= c->set[c->nset - 1].hi)
            return -EINVAL;
        if (add_span(c, lo, hi) < 0)
            return -ENOMEM;
        if (*s == '\0')
            return 0;
        if (*s++ != ',')
            return -EINVAL;
    }
}

/* RFC 45 range: "min-max[:operand[:operator]]" or "min+[:operand[:operator]]". */
static bool scan_range(const char *s, struct rspec_count *c)
{
    if (!scan_uint(&s, &c->min))
        return false;
    if (*s == '+') {
        c->max = INT64_MAX;
        s++;
    } else if (*s++ != '-' || !scan_uint(&s, &c->max))
        return false;
    if (*s == ':') {
        s++;
        if (!scan_uint(&s, &c->operand))
            return false;
        if (*s == ':') {
            c->op = s[1];
            s += c->op ? 2 : 1;
        }
    }
    return *s == '\0' && c->op != '\0';
}

/* An idset decoded into spans: a single run is an ordinary range, so set
 * is kept only when there are real gaps. */
static int finish_idset(struct rspec_count *c, const char *path, struct errmsg *err)
{
    if (c->set[0].lo < 1)
        return invalid(err, path, "counts must be >= 1");
    c->min = c->set[0].lo;
    c->max = c->set[c->nset - 1].hi;
    if (c->nset == 1) {
        free(c->set);
        c->set = NULL;
        c->nset = 0;
    }
    return 0;
}

static int parse_count_string(json_t *v, const char *path, struct rspec_count *c,
                              struct errmsg *err)
{
    const char *text = json_string_value(v);
    size_t n = json_string_length(v);
    bool range = false;
    int rc = -EINVAL;
    char *buf;

    /* both forms MAY be wrapped in [ ] for readability */
    if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
        text++;
        n -= 2;
    }
    if (n > 0 && !memchr(text, '\0', n)) {
        if (!(buf = strndup(text, n)))
            return nomem(err);
        /* "1-5" reads the same either way; only a failed idset tries RFC 45 */
        if ((rc = scan_idset(buf, c)) == -EINVAL) {
            free(c->set);
            c->set = NULL;
            c->nset = 0;
            range = scan_range(buf, c);
        }
        free(buf);
    }
    if (rc == -ENOMEM)
        return nomem(err);
    if (rc == 0)
        return finish_idset(c, path, err);
    if (range)
        return check_range(c, path, true, err);
    return fail(err, path, "invalid count '%.40s' (expected an idset like '4,9,16'"
                " or a range like '2-32:2:*')", json_string_value(v));
}

/* count: integer, RFC 14 mapping, or RFC 22/45 string. */
static int parse_count(json_t *v, const char *type, const char *path, struct rspec_count *c,
                       struct errmsg *err)
{
    c->op = '+';
    c->operand = 1;
    c->max = INT64_MAX;
    if (!v)
        return invalid(err, path, "required");
    if (json_is_integer(v)) {
        /* flux-core: zero of an optional resource (gpu: 0) is "none" */
        bool needs_one = !strcmp(type, "node") || !strcmp(type, "slot") || !strcmp(type, "core");
        if (json_integer_value(v) < (needs_one ? 1 : 0))
            return invalid(err, path, needs_one ? "must be an integer >= 1"
                                                : "must be an integer >= 0");
        c->min = c->max = json_integer_value(v);
        return 0;
    }
    if (json_is_object(v))
        return parse_count_object(v, path, c, err);
    if (rspec_is_huge_integer(v))
        return too_large(err, path);
    if (json_is_string(v))
        return parse_count_string(v, path, c, err);
    return invalid(err, path, "must be an integer, a mapping or a range string");
}

/* --------------------------------------------------------------- resources */

static void res_release(struct rspec_res *r)
{
    for (int i = 0; i < r->nwith; i++)
        res_release(&r->with[i]);
    free(r->with);
    free(r->type);
    free(r->label);
    free(r->unit);
    free(r->id);
    free(r->count.set);
}

static int parse_res_list(json_t *list, const char *path, int depth, struct rspec_res **out,
                          int *nout, struct walk *w);

static int check_label(const char *label, const char *path, struct walk *w)
{
    char sub[PATH_LEN];

    pathf(sub, "%s.label", path);
    /* tasks name slots by label, so two vertices with one label are ambiguous */
    if (json_object_get(w->labels, label))
        return fail(w->err, sub, "duplicate label '%.60s'", label);
    if (json_object_set_new(w->labels, label, json_true()) < 0)
        return nomem(w->err);
    return 0;
}

static int parse_res(json_t *v, const char *path, int depth, struct rspec_res *r,
                     struct walk *w)
{
    static const char *const keys[] = { "type", "count", "exclusive", "with", "label",
                                        "unit", "id", NULL };
    const char *type, *label, *unit, *id;
    json_t *excl, *with;
    char sub[PATH_LEN];
    int rc;

    if (!json_is_object(v))
        return invalid(w->err, path, "must be a mapping");
    /* a misspelt key ("cuont") is the real mistake, not the missing one */
    if ((rc = check_keys(v, path, keys, w->err)) < 0)
        return rc;
    pathf(sub, "%s.type", path);
    if (!json_object_get(v, "type"))
        return invalid(w->err, sub, "required");
    if ((rc = get_string(v, "type", path, true, &type, w->err)) < 0)
        return rc;
    if ((rc = dup_string(type, &r->type, w->err)) < 0)
        return rc;
    pathf(sub, "%s.count", path);
    if ((rc = parse_count(json_object_get(v, "count"), type, sub, &r->count, w->err)) < 0)
        return rc;
    if ((rc = get_string(v, "label", path, true, &label, w->err)) < 0
        || (rc = get_string(v, "unit", path, false, &unit, w->err)) < 0
        || (rc = get_string(v, "id", path, false, &id, w->err)) < 0)
        return rc;
    if ((excl = json_object_get(v, "exclusive"))) {
        pathf(sub, "%s.exclusive", path);
        if (!json_is_boolean(excl))
            return invalid(w->err, sub, "must be a boolean");
        r->exclusive = json_is_true(excl);
        r->exclusive_set = true;
    }
    bool slot = !strcmp(type, "slot");
    if (slot && !label) {
        pathf(sub, "%s.label", path);
        return invalid(w->err, sub, "required for a slot");
    }
    if (label && (rc = check_label(label, path, w)) < 0)
        return rc;
    if ((rc = dup_string(label, &r->label, w->err)) < 0
        || (rc = dup_string(unit, &r->unit, w->err)) < 0
        || (rc = dup_string(id, &r->id, w->err)) < 0)
        return rc;
    pathf(sub, "%s.with", path);
    if (!(with = json_object_get(v, "with"))) {
        /* RFC 14: a task slot has at least one edge */
        if (slot)
            return invalid(w->err, sub, "required for a slot");
    } else if ((rc = parse_res_list(with, sub, depth + 1, &r->with, &r->nwith, w)) < 0)
        return rc;
    return 0;
}

static int parse_res_list(json_t *list, const char *path, int depth, struct rspec_res **out,
                          int *nout, struct walk *w)
{
    char sub[PATH_LEN];
    json_t *v;
    size_t i;
    int rc;

    if (!json_is_array(list) || json_array_size(list) == 0)
        return invalid(w->err, path, "must be a non-empty list");
    if (depth >= RSPEC_MAX_DEPTH)
        return invalid(w->err, path, "nesting is too deep");
    /* zeroed, so a half-built list is safe to release */
    if (!(*out = calloc(json_array_size(list), sizeof(**out))))
        return nomem(w->err);
    *nout = (int)json_array_size(list);
    json_array_foreach(list, i, v) {
        pathf(sub, "%s[%zu]", path, i);
        if ((rc = parse_res(v, sub, depth, &(*out)[i], w)) < 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------- tasks */

static int parse_command(json_t *cmd, struct rspec *rs, struct errmsg *err)
{
    json_t *arg;
    size_t i;

    if (!(rs->argv = calloc(json_array_size(cmd) + 1, sizeof(char *))))
        return nomem(err);
    json_array_foreach(cmd, i, arg) {
        if (!(rs->argv[i] = strdup(json_string_value(arg))))
            return nomem(err);
        rs->argc++;
    }
    return 0;
}

static int check_command(json_t *cmd, const char *path, struct errmsg *err)
{
    char sub[PATH_LEN];
    json_t *arg;
    size_t i;

    pathf(sub, "%s.command", path);
    if (!cmd)
        return invalid(err, sub, "required");
    if (!json_is_array(cmd) || json_array_size(cmd) == 0)
        return invalid(err, sub, "must be a non-empty list of strings");
    json_array_foreach(cmd, i, arg) {
        if (!is_plain_string(arg))
            return invalid(err, sub, "must be a non-empty list of strings");
    }
    return 0;
}

static int check_count_int(json_t *v, const char *path, const char *key, struct errmsg *err)
{
    char sub[PATH_LEN];

    pathf(sub, "%s.%s", path, key);
    if (!v)
        return invalid(err, sub, "required");
    /* tasks are counted in ints, here and by every executor */
    if (rspec_is_huge_integer(v) || (json_is_integer(v) && json_integer_value(v) > INT_MAX))
        return fail(err, sub, "too large (at most %d)", INT_MAX);
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return invalid(err, sub, "must be an integer >= 1");
    return 0;
}

/* per_resource: {type, count}, tasks per resource of that type in the slot. */
static int check_per_resource(json_t *v, const char *path, struct errmsg *err)
{
    char sub[PATH_LEN];
    const char *type;
    int rc;

    if (!json_is_object(v))
        return invalid(err, path, "must be a mapping");
    pathf(sub, "%s.type", path);
    if (!json_object_get(v, "type"))
        return invalid(err, sub, "required");
    if ((rc = get_string(v, "type", path, true, &type, err)) < 0)
        return rc;
    return check_count_int(json_object_get(v, "count"), path, "count", err);
}

/* tasks[i].count: exactly one of per_slot, per_resource, total. */
static int check_task_count(json_t *count, const char *path, struct errmsg *err)
{
    static const char *const keys[] = { "per_slot", "per_resource", "total", NULL };
    char sub[PATH_LEN], sub2[PATH_LEN];
    const char *key;
    json_t *v;
    int rc;

    pathf(sub, "%s.count", path);
    if (!count)
        return invalid(err, sub, "required");
    if (!json_is_object(count))
        return invalid(err, sub, "must be a mapping");
    if (json_object_size(count) != 1)
        return invalid(err, sub, "must have exactly one of 'per_slot', 'per_resource' or 'total'");
    if ((rc = check_keys(count, sub, keys, err)) < 0)
        return rc;
    /* exactly one member, so this loop runs once */
    json_object_foreach(count, key, v) {
        if (strcmp(key, "per_resource") != 0)
            return check_count_int(v, sub, key, err);
        pathf(sub2, "%s.per_resource", sub);
        return check_per_resource(v, sub2, err);
    }
    return 0;
}

/* Per-task attributes: free-form, but environment is a mapping of strings
 * (null unsets a variable, RFC 14 use case 2.7). */
static int check_environment(json_t *env, const char *path, struct errmsg *err)
{
    char sub[PATH_LEN];
    const char *name;
    json_t *val;

    if (!json_is_object(env))
        return invalid(err, path, "must be a mapping");
    json_object_foreach(env, name, val) {
        if (!is_plain_string(val) && !json_is_null(val)) {
            pathf(sub, "%s.%s", path, name);
            return invalid(err, sub, "must be a string or null");
        }
    }
    return 0;
}

static int check_task(json_t *task, const char *path, struct errmsg *err)
{
    static const char *const keys[] = { "command", "slot", "count", "distribution",
                                        "attributes", NULL };
    const char *s;
    char sub[PATH_LEN];
    json_t *attrs, *env;
    int rc;

    if (!json_is_object(task))
        return invalid(err, path, "must be a mapping");
    if ((rc = check_keys(task, path, keys, err)) < 0)
        return rc;
    if ((rc = check_command(json_object_get(task, "command"), path, err)) < 0)
        return rc;
    pathf(sub, "%s.slot", path);
    if (!json_object_get(task, "slot"))
        return invalid(err, sub, "required");
    if ((rc = get_string(task, "slot", path, true, &s, err)) < 0)
        return rc;
    if ((rc = check_task_count(json_object_get(task, "count"), path, err)) < 0)
        return rc;
    if ((rc = get_string(task, "distribution", path, false, &s, err)) < 0)
        return rc;
    if ((attrs = json_object_get(task, "attributes"))) {
        pathf(sub, "%s.attributes", path);
        if (!json_is_object(attrs))
            return invalid(err, sub, "must be a mapping");
        pathf(sub, "%s.attributes.environment", path);
        if ((env = json_object_get(attrs, "environment"))
            && (rc = check_environment(env, sub, err)) < 0)
            return rc;
    }
    return 0;
}

static int parse_tasks(json_t *tasks, struct rspec *rs, struct errmsg *err)
{
    char sub[PATH_LEN];
    json_t *task, *count, *v;
    size_t i;
    int rc;

    if (!json_is_array(tasks) || json_array_size(tasks) == 0)
        return invalid(err, "tasks", "must be a non-empty list");
    json_array_foreach(tasks, i, task) {
        pathf(sub, "tasks[%zu]", i);
        if ((rc = check_task(task, sub, err)) < 0)
            return rc;
    }
    rs->ntaskspecs = (int)json_array_size(tasks);
    /* tasks[0] is decoded for callers; the rest stay in rs->json */
    task = json_array_get(tasks, 0);
    if ((rc = parse_command(json_object_get(task, "command"), rs, err)) < 0)
        return rc;
    if ((rc = dup_string(json_string_value(json_object_get(task, "slot")), &rs->task_slot,
                         err)) < 0)
        return rc;
    count = json_object_get(task, "count");
    rs->per_slot = json_integer_value(json_object_get(count, "per_slot"));
    rs->total = json_integer_value(json_object_get(count, "total"));
    if ((v = json_object_get(count, "per_resource"))) {
        rs->per_resource = json_integer_value(json_object_get(v, "count"));
        if ((rc = dup_string(json_string_value(json_object_get(v, "type")),
                             &rs->per_resource_type, err)) < 0)
            return rc;
    }
    return 0;
}

/* -------------------------------------------------------------- attributes */

static int check_number(json_t *system, const char *key, double *out, struct errmsg *err)
{
    json_t *v = json_object_get(system, key);
    char sub[PATH_LEN];

    if (!v)
        return 0;
    pathf(sub, "attributes.system.%s", key);
    if (!json_is_number(v) || json_number_value(v) < 0)
        return invalid(err, sub, "must be a number >= 0");
    if (out)
        *out = json_number_value(v);
    return 0;
}

int rspec_check_dependencies(json_t *deps, struct errmsg *err)
{
    static const char *const keys[] = { "scheme", "value" };
    char sub[PATH_LEN];
    json_t *dep;
    size_t i;

    if (!json_is_array(deps))
        return invalid(err, "attributes.system.dependencies", "must be a list");
    json_array_foreach(deps, i, dep) {
        pathf(sub, "attributes.system.dependencies[%zu]", i);
        if (!json_is_object(dep))
            return invalid(err, sub, "must be a mapping");
        for (size_t k = 0; k < 2; k++) {
            json_t *v = json_object_get(dep, keys[k]);
            pathf(sub, "attributes.system.dependencies[%zu].%s", i, keys[k]);
            if (!v)
                return invalid(err, sub, "required");
            /* (Flux's begin-time takes a time in seconds, a number) */
            bool begin = k == 1 && is_plain_string(json_object_get(dep, "scheme"))
                         && !strcmp(json_string_value(json_object_get(dep, "scheme")),
                                    "begin-time");
            if (begin ? !json_is_number(v) : !is_plain_string(v))
                return invalid(err, sub, begin ? "must be a number (seconds since the epoch)"
                                               : "must be a string");
        }
    }
    return 0;
}

/* Property names as Fluxion matches them: an optional leading '^' negates,
 * and none of the characters its constraint syntax reserves. */
static bool valid_property(const char *s)
{
    if (*s == '^')
        s++;
    return *s != '\0' && !strpbrk(s, "!&'\"^`|()");
}

/* RFC 31: {op: [args]} where and/or/not nest constraints, properties and
 * hostlist take strings, ranks take idset strings or rank numbers. */
static int check_constraint(json_t *c, const char *path, int depth, struct errmsg *err)
{
    char sub[PATH_LEN];
    const char *op;
    json_t *args, *arg;
    size_t i;
    int rc;

    if (!json_is_object(c))
        return invalid(err, path, "must be a mapping");
    if (depth >= RSPEC_MAX_DEPTH)
        return invalid(err, path, "nesting is too deep");
    json_object_foreach(c, op, args) {
        bool nested = !strcmp(op, "and") || !strcmp(op, "or") || !strcmp(op, "not");
        bool props = !strcmp(op, "properties");
        bool ranks = !strcmp(op, "ranks");

        pathf(sub, "%s.%s", path, op);
        if (!nested && !props && !ranks && strcmp(op, "hostlist") != 0)
            return fail(err, path, "unknown constraint operator '%.40s'", op);
        if (!json_is_array(args))
            return invalid(err, sub, "must be a list");
        json_array_foreach(args, i, arg) {
            pathf(sub, "%s.%s[%zu]", path, op, i);
            if (nested) {
                if ((rc = check_constraint(arg, sub, depth + 1, err)) < 0)
                    return rc;
            } else if (props && is_plain_string(arg)) {
                if (!valid_property(json_string_value(arg)))
                    return fail(err, sub, "invalid property name '%.40s'",
                                json_string_value(arg));
            } else if (ranks && json_is_integer(arg)) {
                if (json_integer_value(arg) < 0)
                    return invalid(err, sub, "must be a rank >= 0 or an idset string");
            } else if (!is_plain_string(arg))
                return invalid(err, sub, ranks ? "must be a rank >= 0 or an idset string"
                                               : "must be a string");
        }
    }
    return 0;
}

/* attributes.system.job: RFC 14 says every value is a string. */
static int check_job(json_t *job, struct errmsg *err)
{
    char sub[PATH_LEN];
    const char *key;
    json_t *v;

    if (!json_is_object(job))
        return invalid(err, "attributes.system.job", "must be a mapping");
    json_object_foreach(job, key, v) {
        if (!is_plain_string(v)) {
            pathf(sub, "attributes.system.job.%s", key);
            return invalid(err, sub, "must be a string");
        }
    }
    return 0;
}

/* RFC 14: unknown system keys are at most a warning, so only the keys it
 * defines are checked, and only for their types. */
static int check_system(json_t *system, struct rspec *rs, struct errmsg *err)
{
    static const char *const strings[] = { "cwd", "queue", "bank", "project" };
    static const char *const maps[] = { "shell", "files" };
    char sub[PATH_LEN];
    const char *s;
    json_t *v;
    int rc;

    if (!json_is_object(system))
        return invalid(err, "attributes.system", "must be a mapping");
    if ((rc = check_number(system, "duration", &rs->duration, err)) < 0
        || (rc = check_number(system, "preemptible-after", NULL, err)) < 0)
        return rc;
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        if ((rc = get_string(system, strings[i], "attributes.system", false, &s, err)) < 0)
            return rc;
    }
    rs->queue = json_string_value(json_object_get(system, "queue"));
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        pathf(sub, "attributes.system.%s", maps[i]);
        if ((v = json_object_get(system, maps[i])) && !json_is_object(v))
            return invalid(err, sub, "must be a mapping");
    }
    if ((v = json_object_get(json_object_get(system, "shell"), "options"))
        && !json_is_object(v))
        return invalid(err, "attributes.system.shell.options", "must be a mapping");
    if ((v = json_object_get(system, "environment"))
        && (rc = check_environment(v, "attributes.system.environment", err)) < 0)
        return rc;
    if ((v = json_object_get(system, "job")) && (rc = check_job(v, err)) < 0)
        return rc;
    if ((v = json_object_get(system, "dependencies")) && (rc = rspec_check_dependencies(v, err)) < 0)
        return rc;
    if ((v = json_object_get(system, "constraints"))) {
        if ((rc = check_constraint(v, "attributes.system.constraints", 0, err)) < 0)
            return rc;
        rs->constraints = v;
    }
    return 0;
}

static int check_attributes(json_t *attrs, struct rspec *rs, struct errmsg *err)
{
    static const char *const keys[] = { "system", "user", NULL };
    json_t *v;
    int rc;

    /* Fluxion reads a bare "attributes:" as empty; flux-core's version 1
     * (RFC 25) wants the mapping that holds the duration */
    if (json_is_null(attrs) && rs->version != 1)
        return 0;
    if (!json_is_object(attrs))
        return invalid(err, "attributes", "must be a mapping");
    if ((rc = check_keys(attrs, "attributes", keys, err)) < 0)
        return rc;
    if ((v = json_object_get(attrs, "user")) && !json_is_object(v))
        return invalid(err, "attributes.user", "must be a mapping");
    if ((v = json_object_get(attrs, "system")))
        return check_system(v, rs, err);
    return 0;
}

/* ---------------------------------------------------------------- top level */

static int check_top(json_t *o, struct rspec *rs, struct walk *w)
{
    static const char *const top[] = { "version", "resources", "tasks", "attributes", NULL };
    json_t *v;
    int rc;

    if (!json_is_object(o))
        return errmsg_set(w->err, -EINVAL, "jobspec: must be a mapping");
    if ((rc = check_keys(o, "", top, w->err)) < 0)
        return rc;
    /* a missing section is the plainest mistake; report it before details */
    for (int i = 0; top[i]; i++) {
        if (!json_object_get(o, top[i]))
            return invalid(w->err, top[i], "required");
    }
    v = json_object_get(o, "version");
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > VERSION_MAX)
        return errmsg_set(w->err, -EINVAL, "version: must be an integer from 1 to %d",
                          VERSION_MAX);
    rs->version = json_integer_value(v);
    if ((rc = parse_res_list(json_object_get(o, "resources"), "resources", 0, &rs->res,
                             &rs->nres, w)) < 0)
        return rc;
    if ((rc = parse_tasks(json_object_get(o, "tasks"), rs, w->err)) < 0)
        return rc;
    return check_attributes(json_object_get(o, "attributes"), rs, w->err);
}

uint64_t rspec_hash(uint64_t h, const json_t *o)
{
    /* FNV-1a of its compact text, keys sorted: equal values, equal text */
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    free(s);
    return h;
}

/* FNV-1a over the parsed request: what the matcher reads of it, so equal
 * requests hash alike whatever their text (keys in another order, a count
 * of 2 written as 2 or as {"min": 2, "max": 2}). Hashing the resources'
 * JSON text instead (dumped with sorted keys) was 3% of the broker's loop
 * while it took submissions. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    for (const unsigned char *c = p; n--; c++)
        h = (h ^ *c) * 0x100000001b3ull;
    return h;
}

static uint64_t hash_i64(uint64_t h, int64_t v)
{
    return hash_bytes(h, &v, sizeof(v));
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    /* NULL and "" differ; the NUL ends each string, so "ab","c" and "a","bc" differ */
    return s ? hash_bytes(h, s, strlen(s) + 1) : hash_i64(h, -1);
}

static uint64_t hash_res(uint64_t h, const struct rspec_res *res, int n)
{
    h = hash_i64(h, n);
    for (int i = 0; i < n; i++) {
        const struct rspec_res *r = &res[i];
        const struct rspec_count *c = &r->count;
        h = hash_str(h, r->type);
        h = hash_i64(hash_i64(hash_i64(hash_i64(h, c->min), c->max), c->op), c->operand);
        h = hash_i64(h, c->nset);
        for (int k = 0; k < c->nset; k++)
            h = hash_i64(hash_i64(h, c->set[k].lo), c->set[k].hi);
        h = hash_str(hash_str(hash_str(h, r->label), r->unit), r->id);
        h = hash_i64(h, (r->exclusive ? 1 : 0) | (r->exclusive_set ? 2 : 0));
        h = hash_res(h, r->with, r->nwith);
    }
    return h;
}

int rspec_from_json(json_t *js, struct rspec **out, struct errmsg *err)
{
    struct walk w = { .err = err };
    struct rspec *rs;
    int rc;

    if (!js || !out)
        return errmsg_set(err, -EINVAL, "no input");
    if (!(rs = calloc(1, sizeof(*rs))))
        return nomem(err);
    rs->json = json_incref(js);
    if (!(w.labels = json_object())) {
        rc = nomem(err);
        goto error;
    }
    if ((rc = check_top(js, rs, &w)) < 0)
        goto error;
    json_decref(w.labels);
    rs->shape = hash_res(RSPEC_HASH_INIT, rs->res, rs->nres);
    *out = rs;
    return 0;
error:
    json_decref(w.labels);
    rspec_destroy(rs);
    return rc;
}

int rspec_parse(const char *buf, size_t len, struct rspec **out, struct errmsg *err)
{
    struct errmsg lerr = { "" };
    json_t *o;
    int rc;

    if (!buf || !out)
        return errmsg_set(err, -EINVAL, "no input");
    if (len > JOBSPEC_MAX_SIZE)
        return errmsg_set(err, -E2BIG, "jobspec is %zu bytes, more than the %d allowed",
                          len, JOBSPEC_MAX_SIZE);
    if (!(o = jobspec_load_yaml(buf, len, &lerr))) {
        /* the loader returns only NULL; its text tells memory from syntax */
        rc = strstr(lerr.text, "out of memory") ? -ENOMEM : -EINVAL;
        return errmsg_set(err, rc, "%s", lerr.text);
    }
    rc = rspec_from_json(o, out, err);
    json_decref(o);
    return rc;
}

static const struct rspec_res *find_label(const struct rspec_res *res, int n, const char *label)
{
    const struct rspec_res *r;

    for (int i = 0; i < n; i++) {
        if (res[i].label && !strcmp(res[i].label, label))
            return &res[i];
        if ((r = find_label(res[i].with, res[i].nwith, label)))
            return r;
    }
    return NULL;
}

const struct rspec_res *rspec_find_label(const struct rspec *rs, const char *label)
{
    if (!rs || !label)
        return NULL;
    return find_label(rs->res, rs->nres, label);
}

void rspec_destroy(struct rspec *rs)
{
    if (!rs)
        return;
    json_decref(rs->queue_constraints);
    for (int i = 0; i < rs->nres; i++)
        res_release(&rs->res[i]);
    free(rs->res);
    if (rs->argv) {
        for (int i = 0; rs->argv[i]; i++)
            free(rs->argv[i]);
        free(rs->argv);
    }
    free(rs->task_slot);
    free(rs->per_resource_type);
    json_decref(rs->json);
    free(rs);
}
