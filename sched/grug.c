/* grug.c - generate a resource graph from a Fluxion GRUG recipe.
 *
 * XML is parsed with libxml2 rather than a home-grown tokenizer: recipes are
 * hand-edited files that use comments, entities and stray text (Fluxion's own
 * examples close <graphml> early and leave its attributes as text), and hwloc
 * already links libxml2, so the dependency costs nothing at run time.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/vec.h"
#include "sched/grug.h"

/* A typo in multi_scale must not allocate tens of gigabytes. */
#define GRUG_MAX_VERTICES (1 << 24)
#define GRUG_MAX_TEMPLATES 4096
#define GRUG_MAX_ID (1LL << 30)

enum { DOM_NODE = 1, DOM_EDGE = 2, DOM_ALL = 3 };
enum { WHITE = 0, GRAY, BLACK };
enum gen_method { GEN_MULTIPLY, GEN_ASSOCIATE_IN, GEN_ASSOCIATE_BY_PATH_IN };

struct key {
    char *id, *name, *def;
    int dom;
};

struct attr {
    char *name, *value;
};

/* A <node> or <edge> of the recipe: its id, line and <data> values. */
struct elem {
    char *xmlid;
    int line;
    int nattrs;
    struct attr *attrs;
};

struct tmpl {
    struct elem e;
    const char *type, *basename, *unit, *subsystem;
    int64_t size;
    bool root;
    int color;
    int *inst;                 /* instances: vertex index, -1 = not created */
    size_t ninst, maxinst;
};

struct tedge {
    struct elem e;
    int src, dst;
    enum gen_method method;
    const char *subsystem, *relation, *tgt_subsystem;
    int64_t scope, start, stride, scale, tgt_up, src_up;
};

struct recipe {
    int nkeys;
    struct key *keys;
    int ntmpl;
    struct tmpl *t;
    int nedges;
    struct tedge *e;
    struct graph *g;
    int64_t skipped;           /* vertices only in another subsystem */
    int nnodes;                /* node vertices so far: the next rank */
    int64_t *scales;           /* multi_scale of the edges above, root first */
};

/* Fluxion's defaults, used when a recipe declares no <key> for a name. */
static const struct { int dom; const char *name, *value; } builtin[] = {
    { DOM_NODE, "root", "0" },
    { DOM_NODE, "size", "1" },
    { DOM_NODE, "unit", "" },
    { DOM_NODE, "subsystem", "containment" },
    { DOM_EDGE, "e_subsystem", "containment" },
    { DOM_EDGE, "relation", "contains" },
    { DOM_EDGE, "rrelation", "in" },
    { DOM_EDGE, "id_scope", "0" },
    { DOM_EDGE, "id_start", "0" },
    { DOM_EDGE, "id_stride", "1" },
    { DOM_EDGE, "gen_method", "MULTIPLY" },
    { DOM_EDGE, "multi_scale", "1" },
    { DOM_EDGE, "as_tgt_subsystem", "containment" },
    { DOM_EDGE, "as_tgt_uplvl", "1" },
    { DOM_EDGE, "as_src_uplvl", "1" },
};

static void elem_release(struct elem *e)
{
    free(e->xmlid);
    for (int i = 0; i < e->nattrs; i++) {
        free(e->attrs[i].name);
        free(e->attrs[i].value);
    }
    free(e->attrs);
}

static void recipe_release(struct recipe *r)
{
    for (int i = 0; i < r->nkeys; i++) {
        free(r->keys[i].id);
        free(r->keys[i].name);
        free(r->keys[i].def);
    }
    free(r->keys);
    for (int i = 0; i < r->ntmpl; i++) {
        elem_release(&r->t[i].e);
        free(r->t[i].inst);
    }
    free(r->t);
    for (int i = 0; i < r->nedges; i++)
        elem_release(&r->e[i].e);
    free(r->e);
    free(r->scales);
}

static bool is_elem(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* Text content without surrounding blanks (recipes indent their values). */
static char *node_text(xmlNode *n)
{
    xmlChar *c = xmlNodeGetContent(n);
    if (!c)
        return strdup("");
    const char *s = (const char *)c;
    size_t len = strlen(s);
    while (len > 0 && strchr(" \t\r\n", s[len - 1]))
        len--;
    while (len > 0 && strchr(" \t\r\n", *s))
        s++, len--;
    char *out = strndup(s, len);
    xmlFree(c);
    return out;
}

/* An XML attribute as a heap string, NULL if absent (errno 0) or ENOMEM. */
static char *prop(xmlNode *n, const char *name)
{
    errno = 0;
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    char *s = strdup((const char *)v);
    xmlFree(v);
    if (!s)
        errno = ENOMEM;
    return s;
}

static const struct key *key_by_id(const struct recipe *r, const char *id, int dom)
{
    for (int i = 0; i < r->nkeys; i++)
        if ((r->keys[i].dom & dom) && !strcmp(r->keys[i].id, id))
            return &r->keys[i];
    return NULL;
}

static int parse_key(struct recipe *r, xmlNode *n, struct errmsg *err)
{
    struct key *k = &r->keys[r->nkeys];
    memset(k, 0, sizeof(*k));
    char *dom = NULL;
    if (!(k->id = prop(n, "id")) && errno)
        goto nomem;
    if (!k->id)
        return errmsg_set(err, -EINVAL, "line %d: <key> without an id", (int)xmlGetLineNo(n));
    if (!(k->name = prop(n, "attr.name")) && errno)
        goto nomem;
    if (!k->name && !(k->name = strdup(k->id)))
        goto nomem;
    if (!(dom = prop(n, "for")) && errno)
        goto nomem;
    k->dom = !dom || !strcmp(dom, "all") ? DOM_ALL
             : !strcmp(dom, "node")      ? DOM_NODE
             : !strcmp(dom, "edge")      ? DOM_EDGE
                                         : 0;  /* graph, port...: not ours */
    free(dom);
    for (xmlNode *c = n->children; c; c = c->next) {
        if (is_elem(c, "default")) {
            free(k->def);
            if (!(k->def = node_text(c)))
                goto nomem;
        }
    }
    r->nkeys++;
    return 0;
nomem:
    free(k->id);
    free(k->name);
    free(k->def);
    return errmsg_set(err, -ENOMEM, "out of memory");
}

/* Collect the id and <data> values of a <node> or <edge>. */
static int parse_elem(struct recipe *r, xmlNode *n, int dom, struct elem *e,
                      struct errmsg *err)
{
    memset(e, 0, sizeof(*e));
    e->line = (int)xmlGetLineNo(n);
    if (!(e->xmlid = prop(n, "id")) && errno)
        return errmsg_set(err, -ENOMEM, "out of memory");
    if (!e->xmlid && dom == DOM_NODE)
        return errmsg_set(err, -EINVAL, "line %d: <node> without an id", e->line);
    int max = 0;
    for (xmlNode *c = n->children; c; c = c->next)
        if (is_elem(c, "data"))
            max++;
    if (max && !(e->attrs = calloc((size_t)max, sizeof(*e->attrs))))
        return errmsg_set(err, -ENOMEM, "out of memory");
    for (xmlNode *c = n->children; c; c = c->next) {
        if (!is_elem(c, "data"))
            continue;
        char *kid = prop(c, "key");
        if (!kid)
            return errno ? errmsg_set(err, -ENOMEM, "out of memory")
                         : errmsg_set(err, -EINVAL, "line %d: <data> without a key",
                                      (int)xmlGetLineNo(c));
        const struct key *k = key_by_id(r, kid, dom);
        /* A key the recipe never declared is named by its id. */
        const char *name = k ? k->name : kid;
        struct attr *a = &e->attrs[e->nattrs];
        a->name = strdup(name);
        free(kid);
        if (!a->name || !(a->value = node_text(c))) {
            free(a->name);
            return errmsg_set(err, -ENOMEM, "out of memory");
        }
        e->nattrs++;
    }
    return 0;
}

static const char *lookup(const struct recipe *r, const struct elem *e, int dom,
                          const char *name)
{
    for (int i = e->nattrs - 1; i >= 0; i--)
        if (!strcmp(e->attrs[i].name, name))
            return e->attrs[i].value;
    for (int i = 0; i < r->nkeys; i++)
        if ((r->keys[i].dom & dom) && r->keys[i].def && !strcmp(r->keys[i].name, name))
            return r->keys[i].def;
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        if (builtin[i].dom == dom && !strcmp(builtin[i].name, name))
            return builtin[i].value;
    return NULL;
}

static const char *elem_what(int dom)
{
    return dom == DOM_NODE ? "node" : "edge";
}

static int lookup_int(const struct recipe *r, const struct elem *e, int dom,
                      const char *name, int64_t *out, struct errmsg *err)
{
    const char *s = lookup(r, e, dom, name);
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || errno)
        return errmsg_set(err, -EINVAL, "line %d: %s '%s': %s must be an integer, not '%s'",
                          e->line, elem_what(dom), e->xmlid ? e->xmlid : "",
                          name, s ? s : "");
    *out = v;
    return 0;
}

static int parse_template(struct recipe *r, xmlNode *n, struct errmsg *err)
{
    struct tmpl *t = &r->t[r->ntmpl];
    memset(t, 0, sizeof(*t));
    int rc = parse_elem(r, n, DOM_NODE, &t->e, err);
    r->ntmpl++;                /* released by recipe_release() even if bad */
    if (rc < 0)
        return rc;
    for (int i = 0; i < r->ntmpl - 1; i++)
        if (!strcmp(r->t[i].e.xmlid, t->e.xmlid))
            return errmsg_set(err, -EINVAL, "line %d: node '%s' is defined twice",
                              t->e.line, t->e.xmlid);
    int64_t root;
    t->type = lookup(r, &t->e, DOM_NODE, "type");
    if (!t->type || !*t->type)
        return errmsg_set(err, -EINVAL, "line %d: node '%s' has no type",
                          t->e.line, t->e.xmlid);
    t->basename = lookup(r, &t->e, DOM_NODE, "basename");
    if (!t->basename || !*t->basename)
        t->basename = t->type;
    t->unit = lookup(r, &t->e, DOM_NODE, "unit");
    t->subsystem = lookup(r, &t->e, DOM_NODE, "subsystem");
    if ((rc = lookup_int(r, &t->e, DOM_NODE, "size", &t->size, err)) < 0
        || (rc = lookup_int(r, &t->e, DOM_NODE, "root", &root, err)) < 0)
        return rc;
    if (t->size < 1)
        return errmsg_set(err, -EINVAL, "line %d: node '%s': size must be >= 1",
                          t->e.line, t->e.xmlid);
    t->root = root != 0;
    return 0;
}

static int find_template(const struct recipe *r, const char *xmlid)
{
    for (int i = 0; i < r->ntmpl; i++)
        if (!strcmp(r->t[i].e.xmlid, xmlid))
            return i;
    return -1;
}

/* Edges may name nodes defined after them, so they are resolved last. */
static int parse_edge(struct recipe *r, xmlNode *n, struct errmsg *err)
{
    struct tedge *e = &r->e[r->nedges];
    memset(e, 0, sizeof(*e));
    int rc = parse_elem(r, n, DOM_EDGE, &e->e, err);
    r->nedges++;
    if (rc < 0)
        return rc;
    char *src = prop(n, "source"), *dst = prop(n, "target");
    if (!src || !dst) {
        free(src);
        free(dst);
        return errmsg_set(err, -EINVAL, "line %d: edge '%s' needs a source and a target",
                          e->e.line, e->e.xmlid ? e->e.xmlid : "");
    }
    e->src = find_template(r, src);
    e->dst = find_template(r, dst);
    rc = e->src < 0 || e->dst < 0
             ? errmsg_set(err, -EINVAL, "line %d: edge '%s': unknown %s '%s'", e->e.line,
                          e->e.xmlid ? e->e.xmlid : "", e->src < 0 ? "source" : "target",
                          e->src < 0 ? src : dst)
             : 0;
    free(src);
    free(dst);
    if (rc < 0)
        return rc;
    if (!e->e.xmlid && !(e->e.xmlid = strdup("")))
        return errmsg_set(err, -ENOMEM, "out of memory");
    const char *m = lookup(r, &e->e, DOM_EDGE, "gen_method");
    if (!strcmp(m, "MULTIPLY"))
        e->method = GEN_MULTIPLY;
    else if (!strcmp(m, "ASSOCIATE_IN"))
        e->method = GEN_ASSOCIATE_IN;
    else if (!strcmp(m, "ASSOCIATE_BY_PATH_IN"))
        e->method = GEN_ASSOCIATE_BY_PATH_IN;
    else
        return errmsg_set(err, -EINVAL, "line %d: edge '%s': unknown gen_method '%s'",
                          e->e.line, e->e.xmlid, m);
    e->subsystem = lookup(r, &e->e, DOM_EDGE, "e_subsystem");
    e->relation = lookup(r, &e->e, DOM_EDGE, "relation");
    e->tgt_subsystem = lookup(r, &e->e, DOM_EDGE, "as_tgt_subsystem");
    static const char *const ints[] = { "id_scope", "id_start", "id_stride", "multi_scale",
                                        "as_tgt_uplvl", "as_src_uplvl" };
    int64_t *dst_int[] = { &e->scope, &e->start, &e->stride, &e->scale, &e->tgt_up,
                           &e->src_up };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        if ((rc = lookup_int(r, &e->e, DOM_EDGE, ints[i], dst_int[i], err)) < 0)
            return rc;
    if (e->scale < 0 || e->scale > GRUG_MAX_VERTICES)
        return errmsg_set(err, -EINVAL, "line %d: edge '%s': multi_scale %lld is out of range",
                          e->e.line, e->e.xmlid, (long long)e->scale);
    /* ids are computed in int64: keep their factors far from overflow */
    if (llabs(e->start) > GRUG_MAX_ID || llabs(e->stride) > GRUG_MAX_ID)
        return errmsg_set(err, -EINVAL, "line %d: edge '%s': id_start and id_stride must be "
                          "within +-%lld", e->e.line, e->e.xmlid, (long long)GRUG_MAX_ID);
    if (e->method == GEN_ASSOCIATE_BY_PATH_IN && strcmp(e->tgt_subsystem, "containment"))
        return errmsg_set(err, -EINVAL,
                          "line %d: edge '%s': as_tgt_subsystem '%s' is not supported "
                          "(only containment paths are known)",
                          e->e.line, e->e.xmlid, e->tgt_subsystem);
    return 0;
}

static int count_children(xmlNode *parent, const char *name)
{
    int n = 0;
    for (xmlNode *c = parent->children; c; c = c->next)
        if (is_elem(c, name))
            n++;
    return n;
}

static int parse_doc(struct recipe *r, xmlDoc *doc, struct errmsg *err)
{
    xmlNode *top = xmlDocGetRootElement(doc);
    if (!top || !is_elem(top, "graphml"))
        return errmsg_set(err, -EINVAL, "not a GraphML document (no <graphml> element)");
    int ngraphs = count_children(top, "graph");
    if (ngraphs != 1)
        return errmsg_set(err, -EINVAL, "expected one <graph>, found %d", ngraphs);
    xmlNode *graph = NULL;
    int nkeys = count_children(top, "key");
    for (xmlNode *c = top->children; c; c = c->next)
        if (is_elem(c, "graph"))
            graph = c;
    int nnodes = count_children(graph, "node"), nedges = count_children(graph, "edge");
    /* visit() recurses once per template */
    if (nnodes > GRUG_MAX_TEMPLATES)
        return errmsg_set(err, -E2BIG, "more than %d node templates", GRUG_MAX_TEMPLATES);
    if ((nkeys && !(r->keys = calloc((size_t)nkeys, sizeof(*r->keys))))
        || (nnodes && !(r->t = calloc((size_t)nnodes, sizeof(*r->t))))
        || (nedges && !(r->e = calloc((size_t)nedges, sizeof(*r->e))))
        || !(r->scales = calloc((size_t)nnodes + 1, sizeof(*r->scales))))
        return errmsg_set(err, -ENOMEM, "out of memory");
    int rc;
    for (xmlNode *c = top->children; c; c = c->next)
        if (is_elem(c, "key") && (rc = parse_key(r, c, err)) < 0)
            return rc;
    for (xmlNode *c = graph->children; c; c = c->next)
        if (is_elem(c, "node") && (rc = parse_template(r, c, err)) < 0)
            return rc;
    for (xmlNode *c = graph->children; c; c = c->next)
        if (is_elem(c, "edge") && (rc = parse_edge(r, c, err)) < 0)
            return rc;
    return 0;
}

static int push_inst(struct tmpl *t, int v)
{
    if (vec_grow(&t->inst, &t->maxinst, t->ninst + 1, sizeof(*t->inst)) < 0)
        return -ENOMEM;
    t->inst[t->ninst++] = v;
    return 0;
}

static bool is_containment(const char *subsystem)
{
    return !strcmp(subsystem, "containment");
}

static int64_t gen_id(const struct recipe *r, const struct tedge *e, int nscales,
                      int64_t j, int64_t i)
{
    if (e->scope < 0)
        return -1;
    if (e->scope == 0)
        return e->start + i * e->stride;
    int64_t wrap = 1;
    for (int h = 0; h < e->scope && h < nscales; h++)
        wrap *= r->scales[nscales - 1 - h];
    if (wrap == 0)
        wrap = 1;
    return e->start + ((j % wrap) * e->scale + i) * e->stride;
}

static int add_vertex(struct recipe *r, int parent, const struct tmpl *t, int64_t id,
                      struct errmsg *err)
{
    bool node = !strcmp(t->type, "node");
    int rank = node ? r->nnodes : parent >= 0 ? graph_vertex(r->g, parent)->rank : -1;
    int v = graph_add_vertex(r->g, parent, t->type, t->basename, id < 0 ? t->basename : NULL,
                             id < 0 ? 0 : id, t->size, t->unit, rank, err);
    if (v >= 0 && node)
        r->nnodes++;
    return v;
}

static int check_room(struct recipe *r, const struct tedge *e, size_t more, struct errmsg *err)
{
    if ((int64_t)more + graph_nvertices(r->g) + r->skipped > GRUG_MAX_VERTICES)
        return errmsg_set(err, -E2BIG, "line %d: edge '%s': the recipe makes more than %d vertices",
                          e->e.line, e->e.xmlid, GRUG_MAX_VERTICES);
    return 0;
}

static int multiply(struct recipe *r, const struct tedge *e, int nscales, struct errmsg *err)
{
    struct tmpl *src = &r->t[e->src], *dst = &r->t[e->dst];
    bool create = is_containment(e->subsystem);
    int rc;
    if ((rc = check_room(r, e, src->ninst * (size_t)e->scale, err)) < 0)
        return rc;
    for (size_t j = 0; j < src->ninst; j++) {
        int p = src->inst[j];
        for (int64_t i = 0; i < e->scale; i++) {
            int v = -1;
            if (p >= 0 && create) {
                v = add_vertex(r, p, dst, gen_id(r, e, nscales, (int64_t)j, i), err);
                if (v < 0)
                    return v;
            } else {
                r->skipped++;
            }
            if (push_inst(dst, v) < 0)
                return errmsg_set(err, -ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* Ancestor up levels above v, or -1 past the root. */
static int ancestor(const struct graph *g, int v, int64_t up)
{
    for (int64_t k = 0; k < up && v >= 0; k++)
        v = graph_vertex(g, v)->parent;
    return v;
}

static int associate(struct recipe *r, const struct tedge *e, struct errmsg *err)
{
    struct tmpl *src = &r->t[e->src], *dst = &r->t[e->dst];
    int type = graph_lookup_type(r->g, dst->type);
    int n = graph_nvertices(r->g);
    bool tree = is_containment(e->subsystem);
    if (type < 0)
        return 0;
    /* Several sources may name one target: it is one instance. */
    char *seen = calloc((size_t)n + 1, 1);
    if (!seen)
        return errmsg_set(err, -ENOMEM, "out of memory");
    int rc = 0;
    for (size_t j = 0; j < src->ninst; j++) {
        int s = src->inst[j];
        int sa = e->method == GEN_ASSOCIATE_BY_PATH_IN ? ancestor(r->g, s, e->src_up) : -1;
        if (e->method == GEN_ASSOCIATE_BY_PATH_IN && (s < 0 || sa < 0))
            continue;
        for (int v = 0; v < n; v++) {
            const struct graph_vertex *x = graph_vertex(r->g, v);
            if (x->type != type)
                continue;
            if (e->method == GEN_ASSOCIATE_BY_PATH_IN && ancestor(r->g, v, e->tgt_up) != sa)
                continue;
            if (s >= 0 && s != v && !(tree && x->parent == s)
                && (rc = graph_add_edge(r->g, s, v, e->subsystem, e->relation)) < 0) {
                rc = errmsg_set(err, rc, "out of memory");
                goto out;
            }
            if (!seen[v]) {
                seen[v] = 1;
                if (push_inst(dst, v) < 0) {
                    rc = errmsg_set(err, -ENOMEM, "out of memory");
                    goto out;
                }
            }
        }
    }
out:
    free(seen);
    return rc;
}

/* Fluxion walks the recipe depth first and generates all copies of a
 * template when it crosses the tree edge into it; only tree edges generate,
 * so a template reached a second way is not generated twice. */
static int visit(struct recipe *r, int u, int nscales, struct errmsg *err)
{
    r->t[u].color = GRAY;
    for (int k = 0; k < r->nedges; k++) {
        const struct tedge *e = &r->e[k];
        if (e->src != u || r->t[e->dst].color != WHITE)
            continue;
        struct tmpl *dst = &r->t[e->dst];
        dst->ninst = 0;
        int rc = e->method == GEN_MULTIPLY ? multiply(r, e, nscales, err)
                                           : associate(r, e, err);
        if (rc < 0)
            return rc;
        int depth = nscales;
        if (e->method == GEN_MULTIPLY)
            r->scales[depth++] = e->scale;
        if ((rc = visit(r, e->dst, depth, err)) < 0)
            return rc;
    }
    r->t[u].color = BLACK;
    return 0;
}

static int generate(struct recipe *r, struct errmsg *err)
{
    int croot = -1;
    for (int i = 0; i < r->ntmpl; i++) {
        struct tmpl *t = &r->t[i];
        if (!t->root || !is_containment(t->subsystem))
            continue;
        if (croot >= 0)
            return errmsg_set(err, -EINVAL, "line %d: node '%s': a second containment root "
                              "(the first is '%s')", t->e.line, t->e.xmlid,
                              r->t[croot].e.xmlid);
        croot = i;
    }
    if (croot < 0)
        return errmsg_set(err, -EINVAL, "no containment root (a node with root=1)");
    /* Containment first, so other subsystems can associate with all of it. */
    for (int k = -1; k < r->ntmpl; k++) {
        int i = k < 0 ? croot : k;
        struct tmpl *t = &r->t[i];
        if (!t->root || t->color != WHITE)
            continue;
        int v = -1, rc;
        if (i == croot && (v = add_vertex(r, -1, t, 0, err)) < 0)
            return v;
        if (i != croot)
            r->skipped++;
        t->ninst = 0;
        if (push_inst(t, v) < 0)
            return errmsg_set(err, -ENOMEM, "out of memory");
        if ((rc = visit(r, i, 0, err)) < 0)
            return rc;
    }
    return 0;
}

static int build(xmlParserCtxt *ctxt, xmlDoc *doc, struct graph **out, struct errmsg *err)
{
    struct recipe r = { 0 };
    int rc;
    if (!doc) {
        const xmlError *x = xmlCtxtGetLastError(ctxt);
        if (!x)
            return errmsg_set(err, -ENOMEM, "out of memory");
        /* libxml2 messages end in a newline */
        size_t len = x->message ? strcspn(x->message, "\n") : 0;
        return errmsg_set(err, -EINVAL, "line %d: %.*s", x->line, (int)len,
                          x->message ? x->message : "");
    }
    if (!(r.g = graph_create())) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = parse_doc(&r, doc, err)) < 0 || (rc = generate(&r, err)) < 0
        || (rc = graph_finalize(r.g, err)) < 0)
        goto out;
    *out = r.g;
    r.g = NULL;
out:
    graph_destroy(r.g);
    recipe_release(&r);
    return rc;
}

/* No network, no DTD loading, no entity expansion from outside the file. */
#define XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

static int parse_buffer(const char *buf, size_t len, const char *url, struct graph **out,
                        struct errmsg *err)
{
    if (len > INT_MAX)
        return errmsg_set(err, -E2BIG, "recipe too large");
    xmlParserCtxt *ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return errmsg_set(err, -ENOMEM, "out of memory");
    xmlDoc *doc = xmlCtxtReadMemory(ctxt, buf, (int)len, url, NULL, XML_OPTIONS);
    int rc = build(ctxt, doc, out, err);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}

/* Read the file here rather than in libxml2, whose I/O errors go to stderr
 * whatever the options say. */
static int read_file(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    char *b = NULL;
    size_t n = 0, cap = 0, got;
    int rc = 0;
    do {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 16384;
            char *nb = realloc(b, cap);
            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            b = nb;
        }
        got = fread(b + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    if (rc == 0 && ferror(f))
        rc = -EIO;
    fclose(f);
    if (rc < 0) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = n;
    return 0;
}

int grug_load(const char *path, struct graph **out, struct errmsg *err)
{
    char *buf = NULL;
    size_t len = 0;
    struct errmsg e;
    int rc = read_file(path, &buf, &len);
    if (rc < 0)
        return errmsg_set(err, rc, "'%s': %s", path, strerror(-rc));
    if ((rc = parse_buffer(buf, len, path, out, &e)) < 0)
        errmsg_set(err, rc, "'%s': %s", path, e.text);
    free(buf);
    return rc;
}

int grug_load_buffer(const char *buf, size_t len, struct graph **out, struct errmsg *err)
{
    return parse_buffer(buf, len, "recipe.graphml", out, err);
}
