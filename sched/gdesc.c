/* gdesc.c - parse a one-line cluster description and expand it to a graph.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sched/gdesc.h"

#define GDESC_MAX_VERTICES (1 << 24)
#define GDESC_MAX_DEPTH 64     /* parentheses and 'x', so recursion is bounded */
#define GDESC_MAX_TYPES 64     /* distinct types, for the id counters */
#define GDESC_TYPE_MAX 63
#define GDESC_UNIT_MAX 15

enum { TERM_ITEM, TERM_GROUP };

/* A parsed term; child and next index the parser's pool, -1 ends. */
struct term {
    int kind;
    int col;
    int64_t count, size;
    int type;                  /* index into parser.types */
    char unit[GDESC_UNIT_MAX + 1];
    int child;                 /* item: what each copy contains; group: its terms */
    int next;                  /* next sibling term in the same seq */
};

struct parser {
    const char *text;
    size_t pos;
    int depth;
    int nterms, maxterms;
    struct term *terms;
    int ntypes;
    char types[GDESC_MAX_TYPES][GDESC_TYPE_MAX + 1];
    struct errmsg *err;
};

static int col(const struct parser *p)
{
    return (int)p->pos + 1;
}

static void skip_blanks(struct parser *p)
{
    while (isspace((unsigned char)p->text[p->pos]))
        p->pos++;
}

static bool word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* The 'x' operator: an x standing alone. */
static bool at_x(struct parser *p)
{
    skip_blanks(p);
    return p->text[p->pos] == 'x' && !word_char(p->text[p->pos + 1]);
}

static bool at_char(struct parser *p, char c)
{
    skip_blanks(p);
    return p->text[p->pos] == c;
}

/* What the parser is looking at, quoted for an error message. */
static const char *seen(const struct parser *p, char *buf, size_t size)
{
    const char *s = p->text + p->pos;
    if (!*s)
        return "the end";
    size_t len = word_char(*s) ? strspn(s, "abcdefghijklmnopqrstuvwxyz"
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
                               : 1;
    snprintf(buf, size, "'%.*s'", (int)(len > 20 ? 20 : len), s);
    return buf;
}

static int expected(struct parser *p, const char *what)
{
    char buf[32];
    return errmsg_set(p->err, -EINVAL, "column %d: expected %s, not %s", col(p), what,
                      seen(p, buf, sizeof(buf)));
}

static int parse_int(struct parser *p, const char *what, int64_t *out)
{
    skip_blanks(p);
    int start = col(p);
    if (!isdigit((unsigned char)p->text[p->pos]))
        return expected(p, what);
    int64_t v = 0;
    while (isdigit((unsigned char)p->text[p->pos])) {
        v = v * 10 + (p->text[p->pos++] - '0');
        if (v > GDESC_MAX_VERTICES)
            return errmsg_set(p->err, -EINVAL, "column %d: %s is too large (at most %d)",
                              start, what, GDESC_MAX_VERTICES);
    }
    if (v < 1)
        return errmsg_set(p->err, -EINVAL, "column %d: %s must be at least 1", start, what);
    *out = v;
    return 0;
}

static int intern(struct parser *p, const char *type)
{
    for (int i = 0; i < p->ntypes; i++)
        if (!strcmp(p->types[i], type))
            return i;
    if (p->ntypes == GDESC_MAX_TYPES)
        return errmsg_set(p->err, -EINVAL, "column %d: more than %d resource types", col(p),
                          GDESC_MAX_TYPES);
    snprintf(p->types[p->ntypes], sizeof(p->types[0]), "%s", type);
    return p->ntypes++;
}

static int parse_type(struct parser *p, int *type)
{
    skip_blanks(p);
    const char *s = p->text + p->pos;
    if (!isalpha((unsigned char)*s) && *s != '_')
        return expected(p, "a resource type");
    size_t len = 1;
    while (word_char(s[len]))
        len++;
    if (len > GDESC_TYPE_MAX)
        return errmsg_set(p->err, -EINVAL, "column %d: resource type longer than %d characters",
                          col(p), GDESC_TYPE_MAX);
    char name[GDESC_TYPE_MAX + 1];
    memcpy(name, s, len);
    name[len] = '\0';
    if (len > 1 && name[len - 1] == 's')
        name[len - 1] = '\0';
    int rc = intern(p, name);
    if (rc < 0)
        return rc;
    p->pos += len;
    *type = rc;
    return 0;
}

static int new_term(struct parser *p, int kind, int at)
{
    if (p->nterms == p->maxterms) {
        int max = p->maxterms ? p->maxterms * 2 : 16;
        struct term *t = realloc(p->terms, (size_t)max * sizeof(*t));
        if (!t)
            return errmsg_set(p->err, -ENOMEM, "out of memory");
        p->terms = t;
        p->maxterms = max;
    }
    struct term *t = &p->terms[p->nterms];
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    t->col = at;
    t->size = 1;
    t->child = t->next = -1;
    return p->nterms++;
}

static int parse_seq(struct parser *p, int *first);

static int parse_item(struct parser *p, int *out)
{
    skip_blanks(p);
    int t = new_term(p, TERM_ITEM, col(p)), rc;
    if (t < 0)
        return t;
    int64_t count = 0, size = 1;
    int type = 0;
    char unit[GDESC_UNIT_MAX + 1] = "";
    if ((rc = parse_int(p, "a count", &count)) < 0 || (rc = parse_type(p, &type)) < 0)
        return rc;
    if (at_char(p, ':')) {
        p->pos++;
        if ((rc = parse_int(p, "a size after ':'", &size)) < 0)
            return rc;
        size_t len = 0;
        while (isalpha((unsigned char)p->text[p->pos + len]))
            len++;
        if (len > GDESC_UNIT_MAX)
            return errmsg_set(p->err, -EINVAL, "column %d: unit longer than %d letters",
                              col(p), GDESC_UNIT_MAX);
        memcpy(unit, p->text + p->pos, len);
        unit[len] = '\0';
        p->pos += len;
    }
    struct term *x = &p->terms[t];
    x->count = count;
    x->type = type;
    x->size = size;
    memcpy(x->unit, unit, sizeof(unit));
    if (at_x(p)) {
        p->pos++;
        int child;
        if ((rc = parse_seq(p, &child)) < 0)
            return rc;
        p->terms[t].child = child;
    }
    *out = t;
    return 0;
}

static int parse_term(struct parser *p, int *out)
{
    if (!at_char(p, '('))
        return parse_item(p, out);
    int at = col(p), inner, rc;
    p->pos++;
    if ((rc = parse_seq(p, &inner)) < 0)
        return rc;
    if (!at_char(p, ')'))
        return expected(p, "'+' or ')'");
    p->pos++;
    if (at_x(p))
        return errmsg_set(p->err, -EINVAL, "column %d: a group in parentheses cannot contain "
                          "anything (put the 'x' inside them)", col(p));
    int t = new_term(p, TERM_GROUP, at);
    if (t < 0)
        return t;
    p->terms[t].child = inner;
    *out = t;
    return 0;
}

static int parse_seq(struct parser *p, int *first)
{
    if (++p->depth > GDESC_MAX_DEPTH)
        return errmsg_set(p->err, -EINVAL, "column %d: nested deeper than %d levels", col(p),
                          GDESC_MAX_DEPTH);
    int last, t, rc;
    if ((rc = parse_term(p, first)) < 0)
        return rc;
    last = *first;
    while (at_char(p, '+')) {
        p->pos++;
        if ((rc = parse_term(p, &t)) < 0)
            return rc;
        p->terms[last].next = t;
        last = t;
    }
    p->depth--;
    return 0;
}

/* Vertices a seq expands to, saturating past the limit. */
static int64_t count_seq(const struct parser *p, int t)
{
    int64_t n = 0;
    for (; t >= 0 && n <= GDESC_MAX_VERTICES; t = p->terms[t].next) {
        const struct term *x = &p->terms[t];
        int64_t inner = count_seq(p, x->child);
        if (x->kind == TERM_GROUP)
            n += inner;
        else
            n += x->count * (1 + (inner > GDESC_MAX_VERTICES ? GDESC_MAX_VERTICES : inner));
    }
    return n;
}

struct builder {
    const struct parser *p;
    struct graph *g;
    int64_t global[GDESC_MAX_TYPES];
    int nnodes;
    int node_type;             /* parser type index of "node", -1 */
    struct errmsg *err;
};

static int expand(struct builder *b, int t, int parent, int64_t *local)
{
    for (; t >= 0; t = b->p->terms[t].next) {
        const struct term *x = &b->p->terms[t];
        int rc;
        if (x->kind == TERM_GROUP) {
            if ((rc = expand(b, x->child, parent, local)) < 0)
                return rc;
            continue;
        }
        const char *type = b->p->types[x->type];
        bool node = x->type == b->node_type;
        int64_t *ids = local ? local : b->global;
        for (int64_t k = 0; k < x->count; k++) {
            int rank = node ? b->nnodes : parent >= 0 ? graph_vertex(b->g, parent)->rank : -1;
            int v = graph_add_vertex(b->g, parent, type, type, NULL, ids[x->type]++, x->size,
                                     x->unit, rank, b->err);
            if (v < 0)
                return v;
            if (node) {
                /* ids inside a node start again at 0 */
                int64_t inner[GDESC_MAX_TYPES] = { 0 };
                b->nnodes++;
                rc = expand(b, x->child, v, inner);
            } else {
                rc = expand(b, x->child, v, local);
            }
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static int build(struct parser *p, int first, struct graph **out, struct errmsg *err)
{
    const struct term *x = &p->terms[first];
    int cluster = -1;
    for (int i = 0; i < p->ntypes; i++)
        if (!strcmp(p->types[i], "cluster"))
            cluster = i;
    bool explicit_root = x->kind == TERM_ITEM && x->type == cluster;
    if (explicit_root && (x->count != 1 || x->next >= 0))
        return errmsg_set(err, -EINVAL, "column %d: a cluster first is the root: it must be "
                          "'1 cluster' and stand alone", x->col);
    int64_t n = count_seq(p, first) + !explicit_root;
    if (n > GDESC_MAX_VERTICES)
        return errmsg_set(err, -E2BIG, "the description makes more than %d vertices",
                          GDESC_MAX_VERTICES);
    struct builder *b = calloc(1, sizeof(*b));
    int rc;
    if (!b || !(b->g = graph_create())) {
        free(b);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    b->p = p;
    b->err = err;
    b->node_type = -1;
    for (int i = 0; i < p->ntypes; i++)
        if (!strcmp(p->types[i], "node"))
            b->node_type = i;
    if (explicit_root) {
        rc = expand(b, first, -1, NULL);
    } else if ((rc = graph_add_vertex(b->g, -1, "cluster", "cluster", NULL, 0, 1, NULL, -1,
                                      err)) >= 0) {
        /* the implicit cluster0 takes cluster id 0 */
        if (cluster >= 0)
            b->global[cluster] = 1;
        rc = expand(b, first, 0, NULL);
    }
    if (rc >= 0)
        rc = graph_finalize(b->g, err);
    if (rc >= 0) {
        *out = b->g;
        b->g = NULL;
        rc = 0;
    }
    graph_destroy(b->g);
    free(b);
    return rc;
}

int gdesc_parse(const char *text, struct graph **out, struct errmsg *err)
{
    struct parser p = { .text = text ? text : "", .err = err };
    int first, rc;
    if ((rc = parse_seq(&p, &first)) < 0)
        goto out;
    skip_blanks(&p);
    if (p.text[p.pos]) {
        rc = expected(&p, "'+', 'x' or the end");
        goto out;
    }
    rc = build(&p, first, out, err);
out:
    free(p.terms);
    return rc;
}
