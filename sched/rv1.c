/* rv1.c - RFC 20 R version 1 writer: R_lite entries and a compressed nodelist.
 */
#include <errno.h>
#include <stdlib.h>

#include "common/hostlist.h"
#include "common/idset.h"
#include "common/vec.h"
#include "sched/graph.h"
#include "sched/rv1.h"

struct rv1_writer {
    json_t *rlite;           /* finished R_lite entries */
    struct hostlist *hosts;
    struct idset *ranks;     /* ranks of the pending entry */
    json_t *children;        /* children of the pending entry, NULL if none */
    int errnum;              /* sticky: first failure of rv1_writer_add() */
};

void rv1_writer_destroy(struct rv1_writer *w)
{
    if (w) {
        json_decref(w->rlite);
        hostlist_destroy(w->hosts);
        idset_destroy(w->ranks);
        json_decref(w->children);
        free(w);
    }
}

struct rv1_writer *rv1_writer_create(void)
{
    struct rv1_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    if (!(w->rlite = json_array()) || !(w->hosts = hostlist_create())
        || !(w->ranks = idset_create(64)))
        goto error;
    return w;
error:
    rv1_writer_destroy(w);
    errno = ENOMEM;
    return NULL;
}

static char *ids_encode(const int *ids, int n)
{
    struct idset *set = idset_create(64);
    char *text = NULL;
    if (!set)
        return NULL;
    for (int i = 0; i < n; i++)
        if (idset_set(set, (unsigned)ids[i]) < 0)
            goto out;
    text = idset_encode(set);
out:
    idset_destroy(set);
    return text;
}

/* Children in R_lite form: {"core": "...", "gpu": "..."}. */
static json_t *children_json(const int *cores, int ncores, const int *gpus, int ngpus)
{
    char *ctext = ids_encode(cores, ncores);
    char *gtext = ngpus > 0 ? ids_encode(gpus, ngpus) : NULL;
    json_t *o = NULL;
    if (ctext && ngpus > 0 && gtext)
        o = json_pack("{s:s s:s}", "core", ctext, "gpu", gtext);
    else if (ctext && ngpus == 0)
        o = json_pack("{s:s}", "core", ctext);
    free(ctext);
    free(gtext);
    return o;
}

/* Append the pending entry to R_lite and start an empty one. */
static int flush_entry(struct rv1_writer *w)
{
    char *rtext = idset_encode(w->ranks);
    json_t *e = rtext ? json_pack("{s:s s:O}", "rank", rtext, "children", w->children) : NULL;
    struct idset *fresh = e ? idset_create(64) : NULL;
    free(rtext);
    if (!fresh || json_array_append_new(w->rlite, e) < 0) {
        idset_destroy(fresh);
        return -ENOMEM;
    }
    idset_destroy(w->ranks);
    w->ranks = fresh;
    json_decref(w->children);
    w->children = NULL;
    return 0;
}

int rv1_writer_add(struct rv1_writer *w, int rank, const char *host,
                   const int *core_ids, int ncores, const int *gpu_ids, int ngpus)
{
    if (w->errnum)
        return -w->errnum;
    json_t *ch = children_json(core_ids, ncores, gpu_ids, ngpus);
    int rc = ch ? hostlist_append(w->hosts, host) : -ENOMEM;
    if (rc == 0 && w->children && !json_equal(w->children, ch))
        rc = flush_entry(w);
    if (rc == 0) {
        json_decref(w->children);
        w->children = ch;
        ch = NULL;
        rc = idset_set(w->ranks, (unsigned)rank);
    }
    json_decref(ch);
    if (rc < 0)
        w->errnum = -rc;
    return rc;
}

json_t *rv1_writer_finish(struct rv1_writer *w, double starttime, double expiration)
{
    char *hosts = NULL;
    json_t *R = NULL;
    if (w->errnum) {
        errno = w->errnum;
        return NULL;
    }
    if (w->children && flush_entry(w) < 0)
        goto nomem;
    if (!(hosts = hostlist_encode(w->hosts)))
        goto nomem;
    R = json_pack("{s:i s:{s:O s:[s] s:f s:f}}", "version", 1, "execution",
                  "R_lite", w->rlite, "nodelist", hosts,
                  "starttime", starttime, "expiration", expiration);
    free(hosts);
    if (!R)
        goto nomem;
    return R;
nomem:
    w->errnum = ENOMEM;
    errno = ENOMEM;
    return NULL;
}

/* Core and gpu ids beneath vertex v, appended. */
static int collect(const struct graph *g, int v, int core_t, int gpu_t, int **cores,
                   size_t *nc, size_t *ac, int **gpus, size_t *ng, size_t *ag)
{
    for (int c = graph_vertex(g, v)->first_child; c >= 0; c = graph_vertex(g, c)->next_sibling) {
        const struct graph_vertex *x = graph_vertex(g, c);
        if (x->type == core_t || x->type == gpu_t) {
            bool core = x->type == core_t;
            if (vec_grow(core ? cores : gpus, core ? ac : ag, (core ? *nc : *ng) + 1,
                         sizeof(int)) < 0)
                return -ENOMEM;
            if (core)
                (*cores)[(*nc)++] = (int)x->id;
            else
                (*gpus)[(*ng)++] = (int)x->id;
        }
        if (collect(g, c, core_t, gpu_t, cores, nc, ac, gpus, ng, ag) < 0)
            return -ENOMEM;
    }
    return 0;
}

json_t *rv1_from_graph(const struct graph *g)
{
    return rv1_from_graph_nodes(g, NULL, NULL);
}

json_t *rv1_from_graph_nodes(const struct graph *g, bool (*keep)(void *arg, int v), void *arg)
{
    int node_t = graph_lookup_type(g, "node"), core_t = graph_lookup_type(g, "core");
    int gpu_t = graph_lookup_type(g, "gpu");
    struct rv1_writer *w = rv1_writer_create();
    int *cores = NULL, *gpus = NULL;
    size_t ac = 0, ag = 0;
    json_t *R = NULL;
    int ordinal = 0, rc = w ? 0 : -ENOMEM;
    for (int v = 0; rc == 0 && node_t >= 0 && v < graph_nvertices(g); v++) {
        const struct graph_vertex *x = graph_vertex(g, v);
        if (x->type != node_t)
            continue;
        if (keep && !keep(arg, v)) {
            ordinal++;
            continue;
        }
        size_t nc = 0, ng = 0;
        rc = collect(g, v, core_t, gpu_t, &cores, &nc, &ac, &gpus, &ng, &ag);
        if (rc == 0)
            rc = rv1_writer_add(w, x->rank >= 0 ? x->rank : ordinal, x->name, cores, (int)nc,
                                gpus, (int)ng);
        ordinal++;
    }
    if (rc == 0)
        R = rv1_writer_finish(w, 0.0, 0.0);
    rv1_writer_destroy(w);
    free(cores);
    free(gpus);
    return R;
}
