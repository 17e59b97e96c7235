/* constraint.c - RFC 31 node constraints, compiled; see constraint.h */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hostlist.h"
#include "common/idset.h"
#include "sched/constraint.h"

enum op { OP_AND, OP_OR, OP_NOT, OP_PROPS, OP_HOSTS, OP_RANKS };

struct constraint {
    enum op op;
    struct constraint **kids;   /* and/or/not, and the operators of one object */
    size_t nkids;
    char **names;               /* properties, or host names (sorted) */
    size_t nnames;
    struct idset **ranks;
    size_t nranks;
};

void constraint_destroy(struct constraint *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nkids; i++)
        constraint_destroy(c->kids[i]);
    for (size_t i = 0; i < c->nnames; i++)
        free(c->names[i]);
    for (size_t i = 0; i < c->nranks; i++)
        idset_destroy(c->ranks[i]);
    free(c->kids);
    free(c->names);
    free(c->ranks);
    free(c);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A list of hosts, each host name once, sorted for bsearch. */
static int compile_hosts(struct constraint *c, json_t *args, struct errmsg *err)
{
    struct hostlist *hl = hostlist_create();
    size_t i;
    json_t *a;
    if (!hl)
        return errmsg_set(err, -ENOMEM, "out of memory");
    json_array_foreach(args, i, a) {
        if (hostlist_append(hl, json_string_value(a)) < 0) {
            hostlist_destroy(hl);
            return errmsg_set(err, -EINVAL, "constraints: invalid host list '%.60s'",
                              json_string_value(a));
        }
    }
    size_t n = hostlist_count(hl);
    if (n && !(c->names = calloc(n, sizeof(*c->names)))) {
        hostlist_destroy(hl);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    for (i = 0; i < n; i++) {
        if (!(c->names[c->nnames] = strdup(hostlist_nth(hl, i)))) {
            hostlist_destroy(hl);
            return errmsg_set(err, -ENOMEM, "out of memory");
        }
        c->nnames++;
    }
    hostlist_destroy(hl);
    qsort(c->names, c->nnames, sizeof(*c->names), cmp_str);
    return 0;
}

static int compile_ranks(struct constraint *c, json_t *args, struct errmsg *err)
{
    size_t i;
    json_t *a;
    if (!(c->ranks = calloc(json_array_size(args) + 1, sizeof(*c->ranks))))
        return errmsg_set(err, -ENOMEM, "out of memory");
    json_array_foreach(args, i, a) {
        char num[32];
        const char *text = json_string_value(a);
        if (json_is_integer(a)) {
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(a));
            text = num;
        }
        if (!text || !(c->ranks[c->nranks] = idset_decode(text)))
            return errmsg_set(err, -EINVAL, "constraints: invalid ranks '%.60s'",
                              text ? text : "?");
        c->nranks++;
    }
    return 0;
}

static int compile_op(const char *op, json_t *args, struct constraint **out,
                      struct errmsg *err);

/* An object: each of its operators must hold. */
int constraint_compile(json_t *obj, struct constraint **out, struct errmsg *err)
{
    struct constraint *c = calloc(1, sizeof(*c));
    const char *op;
    json_t *args;
    int rc = 0;
    if (!c || !json_is_object(obj)
        || !(c->kids = calloc(json_object_size(obj) + 1, sizeof(*c->kids)))) {
        constraint_destroy(c);
        return c ? errmsg_set(err, -EINVAL, "constraints: must be a mapping")
                 : errmsg_set(err, -ENOMEM, "out of memory");
    }
    c->op = OP_AND;
    json_object_foreach(obj, op, args) {
        if ((rc = compile_op(op, args, &c->kids[c->nkids], err)) < 0)
            break;
        c->nkids++;
    }
    if (rc < 0) {
        constraint_destroy(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int compile_op(const char *op, json_t *args, struct constraint **out,
                      struct errmsg *err)
{
    struct constraint *c = calloc(1, sizeof(*c));
    size_t i;
    json_t *a;
    int rc = 0;
    if (!c)
        return errmsg_set(err, -ENOMEM, "out of memory");
    if (!json_is_array(args)) {
        rc = errmsg_set(err, -EINVAL, "constraints: '%.40s' must take a list", op);
        goto out;
    }
    if (!strcmp(op, "and") || !strcmp(op, "or") || !strcmp(op, "not")) {
        c->op = op[0] == 'a' ? OP_AND : op[0] == 'o' ? OP_OR : OP_NOT;
        if (!(c->kids = calloc(json_array_size(args) + 1, sizeof(*c->kids)))) {
            rc = errmsg_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        json_array_foreach(args, i, a) {
            if ((rc = constraint_compile(a, &c->kids[c->nkids], err)) < 0)
                goto out;
            c->nkids++;
        }
    } else if (!strcmp(op, "properties")) {
        c->op = OP_PROPS;
        if (!(c->names = calloc(json_array_size(args) + 1, sizeof(*c->names)))) {
            rc = errmsg_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        json_array_foreach(args, i, a) {
            if (!json_is_string(a) || !(c->names[c->nnames] = strdup(json_string_value(a)))) {
                rc = errmsg_set(err, -EINVAL, "constraints: a property must be a string");
                goto out;
            }
            c->nnames++;
        }
    } else if (!strcmp(op, "hostlist")) {
        c->op = OP_HOSTS;
        rc = compile_hosts(c, args, err);
    } else if (!strcmp(op, "ranks")) {
        c->op = OP_RANKS;
        rc = compile_ranks(c, args, err);
    } else
        rc = errmsg_set(err, -EINVAL, "constraints: unknown operator '%.40s'", op);
out:
    if (rc < 0) {
        constraint_destroy(c);
        return rc;
    }
    *out = c;
    return 0;
}

static bool has_prop(const struct graph_vertex *x, const char *key)
{
    for (int i = 0; i < x->nprops; i++)
        if (!strcmp(x->props[i].key, key))
            return true;
    return false;
}

bool constraint_match(const struct constraint *c, const struct graph_vertex *x)
{
    switch (c->op) {
    case OP_AND:
        for (size_t i = 0; i < c->nkids; i++)
            if (!constraint_match(c->kids[i], x))
                return false;
        return true;
    case OP_OR:
        for (size_t i = 0; i < c->nkids; i++)
            if (constraint_match(c->kids[i], x))
                return true;
        return false;
    case OP_NOT:
        for (size_t i = 0; i < c->nkids; i++)
            if (!constraint_match(c->kids[i], x))
                return true;
        return c->nkids == 0;
    case OP_PROPS:
        for (size_t i = 0; i < c->nnames; i++) {
            const char *p = c->names[i];
            if (p[0] == '^' ? has_prop(x, p + 1) : !has_prop(x, p))
                return false;
        }
        return true;
    case OP_HOSTS:
        return x->name && bsearch(&x->name, c->names, c->nnames, sizeof(*c->names), cmp_str);
    case OP_RANKS:
        for (size_t i = 0; i < c->nranks; i++)
            if (x->rank >= 0 && idset_test(c->ranks[i], (unsigned)x->rank))
                return true;
        return false;
    }
    return false;
}
