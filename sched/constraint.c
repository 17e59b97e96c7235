/* constraint.c - RFC 31 node constraints, compiled; see constraint.h */
#include <errno.h>
#include <stdio.h>
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
    char **names;               /* properties, host lists or rank idsets, as
                                 * written: tested without expanding them, so
                                 * a range of any size costs nothing */
    size_t nnames;
};

void constraint_destroy(struct constraint *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nkids; i++)
        constraint_destroy(c->kids[i]);
    for (size_t i = 0; i < c->nnames; i++)
        free(c->names[i]);
    free(c->kids);
    free(c->names);
    free(c);
}

/* The strings of args (a rank may be a number), each checked by valid. */
static int compile_names(struct constraint *c, json_t *args, const char *what,
                         bool (*valid)(const char *), struct errmsg *err)
{
    size_t i;
    json_t *a;
    if (!(c->names = calloc(json_array_size(args) + 1, sizeof(*c->names))))
        return errmsg_set(err, -ENOMEM, "out of memory");
    json_array_foreach(args, i, a) {
        char num[32];
        const char *text = json_string_value(a);
        if (json_is_integer(a) && json_integer_value(a) >= 0) {
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(a));
            text = num;
        }
        if (!text || !valid(text))
            return errmsg_set(err, -EINVAL, "constraints: invalid %s '%.60s'", what,
                              text ? text : "?");
        if (!(c->names[c->nnames] = strdup(text)))
            return errmsg_set(err, -ENOMEM, "out of memory");
        c->nnames++;
    }
    return 0;
}

static bool valid_hosts(const char *s)
{
    return hostlist_text_contains(s, NULL) >= 0;
}

static bool valid_ranks(const char *s)
{
    return idset_text_contains(s, 0) >= 0;
}

static bool valid_property(const char *s)
{
    return *s != '\0';
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
        rc = compile_names(c, args, "property", valid_property, err);
    } else if (!strcmp(op, "hostlist")) {
        c->op = OP_HOSTS;
        rc = compile_names(c, args, "host list", valid_hosts, err);
    } else if (!strcmp(op, "ranks")) {
        c->op = OP_RANKS;
        rc = compile_names(c, args, "ranks", valid_ranks, err);
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
        /* not: the negation of and, so an empty not matches nothing */
        for (size_t i = 0; i < c->nkids; i++)
            if (!constraint_match(c->kids[i], x))
                return true;
        return false;
    case OP_PROPS:
        for (size_t i = 0; i < c->nnames; i++) {
            const char *p = c->names[i];
            if (p[0] == '^' ? has_prop(x, p + 1) : !has_prop(x, p))
                return false;
        }
        return true;
    case OP_HOSTS:
        for (size_t i = 0; x->name && i < c->nnames; i++)
            if (hostlist_text_contains(c->names[i], x->name) > 0)
                return true;
        return false;
    case OP_RANKS:
        for (size_t i = 0; x->rank >= 0 && i < c->nnames; i++)
            if (idset_text_contains(c->names[i], (unsigned)x->rank) > 0)
                return true;
        return false;
    }
    return false;
}
