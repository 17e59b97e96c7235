/* queues.c - named queues: names, configuration, state; see queues.h */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hostlist.h"
#include "fsd/queues.h"
#include "sched/constraint.h"

#define NODES_MAX 1024         /* bytes of "nodes" */
#define REQUIRES_MAX 64        /* entries of "requires" */
#define PROPERTY_MAX 64        /* bytes of one of them */
#define PRIORITY_LIMIT 1000000

struct queues {
    struct queue *slot[QUEUES_MAX];   /* slot i holds index i + 1, or NULL */
    size_t count;
};

/* What one configuration says, parsed before anything is changed, so a
 * refused configuration leaves its queue as it was. */
struct qconf {
    json_t *config, *constraint;
    double max_duration;
    int64_t max_nodes, max_running, max_pending, priority;
    bool is_default;
};

static void qconf_release(struct qconf *c)
{
    json_decref(c->config);
    json_decref(c->constraint);
    memset(c, 0, sizeof(*c));
}

/* Hand c's parts over to q (c is empty afterwards). */
static void qconf_apply(struct queue *q, struct qconf *c)
{
    json_decref(q->config);
    json_decref(q->constraint);
    q->config = c->config;
    q->constraint = c->constraint;
    q->max_duration = c->max_duration;
    q->max_nodes = c->max_nodes;
    q->max_running = c->max_running;
    q->max_pending = c->max_pending;
    q->priority = c->priority;
    q->is_default = c->is_default;
    memset(c, 0, sizeof(*c));
}

static void queue_destroy(struct queue *q)
{
    if (!q)
        return;
    json_decref(q->config);
    json_decref(q->constraint);
    free(q);
}

/* A new queue: all nodes, enabled, started, no limits (config {}). */
static struct queue *queue_create(const char *name, int index)
{
    struct queue *q = calloc(1, sizeof(*q));
    if (!q || !(q->config = json_object()))
        goto error;
    strcpy(q->name, name);   /* fits: the name was checked first */
    q->index = index;
    q->enabled = q->started = true;
    return q;
error:
    queue_destroy(q);
    return NULL;
}

struct queues *queues_create(void)
{
    return calloc(1, sizeof(struct queues));
}

void queues_destroy(struct queues *qs)
{
    if (!qs)
        return;
    for (int i = 0; i < QUEUES_MAX; i++)
        queue_destroy(qs->slot[i]);
    free(qs);
}

bool queues_name_valid(const char *name)
{
    /* queue/ holds a directory per queue beside these files of its own */
    static const char *const reserved[] = { "new", "errors", "drafts" };
    size_t len = name ? strnlen(name, QUEUE_NAME_MAX) : 0;
    if (len == 0 || len >= QUEUE_NAME_MAX || name[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '_' || c == '-'))
            return false;
    }
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (!strcmp(name, reserved[i]))
            return false;
    return true;
}

struct queue *queues_lookup(const struct queues *qs, const char *name)
{
    for (int i = 0; name && i < QUEUES_MAX; i++)
        if (qs->slot[i] && !strcmp(qs->slot[i]->name, name))
            return qs->slot[i];
    return NULL;
}

struct queue *queues_by_index(const struct queues *qs, int index)
{
    if (index < 1 || index > QUEUES_MAX)
        return NULL;
    return qs->slot[index - 1];
}

struct queue *queues_default(const struct queues *qs)
{
    for (int i = 0; i < QUEUES_MAX; i++)
        if (qs->slot[i] && qs->slot[i]->is_default)
            return qs->slot[i];
    return NULL;
}

size_t queues_count(const struct queues *qs)
{
    return qs->count;
}

/* The least name after prev's: a scan of at most QUEUES_MAX slots per step
 * costs less than keeping a second, sorted copy in step. */
struct queue *queues_next(const struct queues *qs, const struct queue *prev)
{
    struct queue *best = NULL;
    for (int i = 0; i < QUEUES_MAX; i++) {
        struct queue *q = qs->slot[i];
        if (q && (!prev || strcmp(q->name, prev->name) > 0)
            && (!best || strcmp(q->name, best->name) < 0))
            best = q;
    }
    return best;
}

int queues_add(struct queues *qs, const char *name, struct errmsg *err)
{
    if (!queues_name_valid(name))
        return errmsg_set(err, -EINVAL, "invalid queue name '%.40s'", name ? name : "");
    if (queues_lookup(qs, name))
        return errmsg_set(err, -EEXIST, "queue '%s' already exists", name);
    /* the lowest free index, so a removed queue's index is used again */
    int i = 0;
    while (i < QUEUES_MAX && qs->slot[i])
        i++;
    if (i == QUEUES_MAX)
        return errmsg_set(err, -ENOSPC, "queue '%s': too many queues (at most %d)", name,
                          QUEUES_MAX);
    if (!(qs->slot[i] = queue_create(name, i + 1)))
        return errmsg_set(err, -ENOMEM, "out of memory");
    qs->count++;
    return 0;
}

int queues_remove(struct queues *qs, const char *name)
{
    struct queue *q = queues_lookup(qs, name);
    if (!q)
        return -ENOENT;
    qs->slot[q->index - 1] = NULL;
    qs->count--;
    queue_destroy(q);
    return 0;
}

/* An integer key in lo..hi; what says the range in err's words. */
static int parse_int(const char *name, const char *key, json_t *v, int64_t lo, int64_t hi,
                     const char *what, int64_t *out, struct errmsg *err)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return errmsg_set(err, -EINVAL, "queue '%s': %s: must be an integer %s", name, key,
                          what);
    *out = json_integer_value(v);
    return 0;
}

static int parse_nodes(const char *name, json_t *v, struct errmsg *err)
{
    const char *s = json_string_value(v);
    if (!s || json_string_length(v) == 0 || json_string_length(v) > NODES_MAX)
        return errmsg_set(err, -EINVAL, "queue '%s': nodes: must be a host list of 1..%d bytes",
                          name, NODES_MAX);
    /* checked as written, not expanded, as constraints test it later; an
     * embedded NUL would make the text checked differ from the one stored */
    if (strlen(s) != json_string_length(v) || hostlist_text_contains(s, NULL) < 0)
        return errmsg_set(err, -EINVAL, "queue '%s': nodes: invalid host list '%.60s'", name,
                          s);
    return 0;
}

static int parse_requires(const char *name, json_t *v, struct errmsg *err)
{
    size_t i;
    json_t *p;
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > REQUIRES_MAX)
        return errmsg_set(err, -EINVAL, "queue '%s': requires: must be a list of 1..%d properties",
                          name, REQUIRES_MAX);
    json_array_foreach(v, i, p) {
        const char *s = json_string_value(p);
        size_t len = json_string_length(p);
        /* "^" alone would name no property at all */
        if (!s || len == 0 || len > PROPERTY_MAX || strlen(s) != len
            || (s[0] == '^' && len == 1))
            return errmsg_set(err, -EINVAL,
                              "queue '%s': requires: entry %zu must be a property of 1..%d bytes, "
                              "optionally after '^'", name, i, PROPERTY_MAX);
    }
    return 0;
}

/* jansson's _new calls take their value even when they fail (a NULL
 * container included), so these steal their arguments whatever happens. */
static json_t *list_of(json_t *a, json_t *b)
{
    json_t *l = json_array();
    int ra = json_array_append_new(l, a);
    int rb = b ? json_array_append_new(l, b) : 0;
    if (ra < 0 || rb < 0) {
        json_decref(l);
        return NULL;
    }
    return l;
}

static json_t *op_of(const char *op, json_t *list)
{
    json_t *o = json_object();
    if (json_object_set_new(o, op, list) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The RFC 31 constraint that nodes and requires (either may be NULL) make
 * together, into *out (NULL when neither: all nodes). */
static int build_constraint(json_t *nodes, json_t *requires, json_t **out)
{
    json_t *hosts = nodes ? op_of("hostlist", list_of(json_incref(nodes), NULL)) : NULL;
    json_t *props = requires ? op_of("properties", json_deep_copy(requires)) : NULL;
    *out = NULL;
    if ((nodes && !hosts) || (requires && !props)) {
        json_decref(hosts);
        json_decref(props);
        return -ENOMEM;
    }
    if (!hosts || !props) {
        *out = hosts ? hosts : props;
        return 0;
    }
    *out = op_of("and", list_of(hosts, props));
    return *out ? 0 : -ENOMEM;
}

/* config, checked whole, into c; on failure c is left empty. */
static int parse_config(const char *name, json_t *config, struct qconf *c,
                        struct errmsg *err)
{
    json_t *nodes = NULL, *requires = NULL, *v;
    struct constraint *compiled = NULL;
    struct errmsg cerr = { "" };
    const char *key;
    int rc = 0;
    memset(c, 0, sizeof(*c));
    if (!json_is_object(config))
        return errmsg_set(err, -EINVAL, "queue '%s': configuration must be an object", name);
    json_object_foreach(config, key, v) {
        if (!strcmp(key, "nodes")) {
            rc = parse_nodes(name, v, err);
            nodes = v;
        } else if (!strcmp(key, "requires")) {
            rc = parse_requires(name, v, err);
            requires = v;
        } else if (!strcmp(key, "max-duration")) {
            if (!json_is_number(v) || !(json_number_value(v) > 0))
                rc = errmsg_set(err, -EINVAL, "queue '%s': max-duration: must be a number > 0",
                                name);
            else
                c->max_duration = json_number_value(v);
        } else if (!strcmp(key, "max-nodes"))
            rc = parse_int(name, key, v, 1, INT64_MAX, ">= 1", &c->max_nodes, err);
        else if (!strcmp(key, "max-running-per-user"))
            rc = parse_int(name, key, v, 1, INT64_MAX, ">= 1", &c->max_running, err);
        else if (!strcmp(key, "max-pending-per-user"))
            rc = parse_int(name, key, v, 1, INT64_MAX, ">= 1", &c->max_pending, err);
        else if (!strcmp(key, "priority"))
            rc = parse_int(name, key, v, -PRIORITY_LIMIT, PRIORITY_LIMIT,
                           "-1000000..1000000", &c->priority, err);
        else if (!strcmp(key, "default")) {
            if (!json_is_boolean(v))
                rc = errmsg_set(err, -EINVAL, "queue '%s': default: must be true or false",
                                name);
            else
                c->is_default = json_is_true(v);
        } else
            rc = errmsg_set(err, -EINVAL, "queue '%s': unknown key '%.40s'", name, key);
        if (rc < 0)
            goto error;
    }
    if ((rc = build_constraint(nodes, requires, &c->constraint)) < 0) {
        errmsg_set(err, rc, "out of memory");
        goto error;
    }
    /* what the scheduler will compile for every job of the queue: refused
     * now rather than then */
    if (c->constraint) {
        if ((rc = constraint_compile(c->constraint, &compiled, &cerr)) < 0) {
            errmsg_set(err, rc, "queue '%s': %s", name, cerr.text);
            goto error;
        }
        constraint_destroy(compiled);
    }
    if (!(c->config = json_deep_copy(config))) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    return 0;
error:
    qconf_release(c);
    return rc;
}

int queues_configure(struct queues *qs, const char *name, json_t *config, struct errmsg *err)
{
    struct queue *q = queues_lookup(qs, name);
    struct queue *d = queues_default(qs);
    struct qconf c;
    int rc;
    if (!q)
        return errmsg_set(err, -ENOENT, "unknown queue '%.40s'", name ? name : "");
    if ((rc = parse_config(q->name, config, &c, err)) < 0)
        return rc;
    if (c.is_default && d && d != q) {
        qconf_release(&c);
        return errmsg_set(err, -EEXIST, "queue '%s': default: queue '%s' is already the default",
                          q->name, d->name);
    }
    qconf_apply(q, &c);
    return 0;
}

int queues_set_state(struct queues *qs, const char *name, const char *verb,
                     struct errmsg *err)
{
    struct queue *q = queues_lookup(qs, name);
    if (!q)
        return errmsg_set(err, -ENOENT, "unknown queue '%.40s'", name ? name : "");
    if (verb && !strcmp(verb, "start"))
        q->started = true;
    else if (verb && !strcmp(verb, "stop"))
        q->started = false;
    else if (verb && !strcmp(verb, "enable")) {
        q->enabled = true;
        q->reason[0] = '\0';
    } else if (verb && !strcmp(verb, "disable")) {
        q->enabled = false;
        q->reason[0] = '\0';
    }
    else
        return errmsg_set(err, -EINVAL, "queue '%s': unknown verb '%.40s'", q->name,
                          verb ? verb : "");
    return 0;
}

/* A reason is one line of printable text, as it goes in errors. */
static bool reason_valid(const char *why)
{
    size_t n = strlen(why);
    if (n == 0 || n >= QUEUE_REASON_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)why; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

int queues_disable(struct queues *qs, const char *name, const char *why, struct errmsg *err)
{
    struct queue *q = queues_lookup(qs, name);
    if (!q)
        return errmsg_set(err, -ENOENT, "unknown queue '%.40s'", name ? name : "");
    if (why && !reason_valid(why))
        return errmsg_set(err, -EINVAL, "queue '%s': a reason is one line of 1 to %d "
                          "printable bytes", q->name, QUEUE_REASON_MAX - 1);
    q->enabled = false;
    snprintf(q->reason, sizeof(q->reason), "%s", why ? why : "");
    return 0;
}

json_t *queues_dump(const struct queues *qs)
{
    json_t *dump = json_object();
    if (!dump)
        return NULL;
    for (struct queue *q = queues_next(qs, NULL); q; q = queues_next(qs, q)) {
        /* a copy: the caller may change the dump without changing the queue */
        json_t *entry = json_pack("{s:i s:b s:b}", "index", q->index, "enabled", q->enabled,
                                  "started", q->started);
        if (json_object_set_new(entry, "config", json_deep_copy(q->config)) < 0
            || (q->reason[0] && json_object_set_new(entry, "reason", json_string(q->reason)) < 0)) {
            json_decref(entry);
            goto error;
        }
        if (json_object_set_new(dump, q->name, entry) < 0)
            goto error;
    }
    return dump;
error:
    json_decref(dump);
    return NULL;
}

/* One entry of a dump, checked whole, as a new queue into *out. */
static int load_one(const char *name, json_t *entry, struct queue **out, struct errmsg *err)
{
    struct queue *q = NULL;
    struct qconf c;
    json_t *index, *enabled, *started, *config, *reason;
    int rc;
    if (!queues_name_valid(name))
        return errmsg_set(err, -EINVAL, "invalid queue name '%.40s'", name);
    reason = json_is_object(entry) ? json_object_get(entry, "reason") : NULL;
    if (reason && (!json_is_string(reason) || !reason_valid(json_string_value(reason))))
        return errmsg_set(err, -EINVAL, "queue '%s': reason: must be one line of text", name);
    if (!json_is_object(entry) || json_object_size(entry) != 4u + (reason != NULL)
        || !(index = json_object_get(entry, "index"))
        || !(enabled = json_object_get(entry, "enabled"))
        || !(started = json_object_get(entry, "started"))
        || !(config = json_object_get(entry, "config")))
        return errmsg_set(err, -EINVAL,
                          "queue '%s': must be an object of index, enabled, started, config "
                          "(and reason)", name);
    if (!json_is_integer(index) || json_integer_value(index) < 1
        || json_integer_value(index) > QUEUES_MAX)
        return errmsg_set(err, -EINVAL, "queue '%s': index: must be an integer 1..%d", name,
                          QUEUES_MAX);
    if (!json_is_boolean(enabled) || !json_is_boolean(started))
        return errmsg_set(err, -EINVAL, "queue '%s': enabled, started: must be true or false",
                          name);
    if ((rc = parse_config(name, config, &c, err)) < 0)
        return rc;
    if (!(q = queue_create(name, (int)json_integer_value(index)))) {
        qconf_release(&c);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    q->enabled = json_is_true(enabled);
    q->started = json_is_true(started);
    if (reason)
        snprintf(q->reason, sizeof(q->reason), "%s", json_string_value(reason));
    qconf_apply(q, &c);
    *out = q;
    return 0;
}

/* Does q, just loaded, fit with the ones loaded before it (slot, def)? */
static int load_fits(struct queue *const slot[], const struct queue *def,
                     const struct queue *q, struct errmsg *err)
{
    const struct queue *other = slot[q->index - 1];
    if (other)
        return errmsg_set(err, -EINVAL, "queue '%s': index %d: already queue '%s''s", q->name,
                          q->index, other->name);
    /* keys are unique as jansson holds them, not always as C strings (one
     * built with an embedded NUL) */
    for (int i = 0; i < QUEUES_MAX; i++)
        if (slot[i] && !strcmp(slot[i]->name, q->name))
            return errmsg_set(err, -EINVAL, "queue '%s': named twice", q->name);
    if (q->is_default && def)
        return errmsg_set(err, -EINVAL, "queue '%s': default: queue '%s' is the default too",
                          q->name, def->name);
    return 0;
}

int queues_load(struct queues *qs, json_t *dump, struct errmsg *err)
{
    struct queue *slot[QUEUES_MAX] = { NULL };
    struct queue *def = NULL;
    size_t count = 0;
    const char *name;
    json_t *entry;
    int rc = 0;
    if (!json_is_object(dump))
        return errmsg_set(err, -EINVAL, "queues: must be an object");
    json_object_foreach(dump, name, entry) {
        struct queue *q = NULL;
        if ((rc = load_one(name, entry, &q, err)) < 0)
            goto error;
        if ((rc = load_fits(slot, def, q, err)) < 0) {
            queue_destroy(q);
            goto error;
        }
        if (q->is_default)
            def = q;
        slot[q->index - 1] = q;
        count++;
    }
    /* all of it is valid: only now is the old set let go */
    for (int i = 0; i < QUEUES_MAX; i++) {
        queue_destroy(qs->slot[i]);
        qs->slot[i] = slot[i];
    }
    qs->count = count;
    return 0;
error:
    for (int i = 0; i < QUEUES_MAX; i++)
        queue_destroy(slot[i]);
    return rc;
}
