/* placement.c - R + jobspec -> tasks per node, bound to their slots' cpus. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "common/idset.h"
#include "fsd/placement.h"

/* One node's share of an allocation, as the executor deals tasks. */
struct alloc_node {
    int rank;
    int ncores;
    int *cpus;       /* OS cpu per allocated core, -1 if unknown here */
    int nslots;
    int width;       /* cores bound to each slot (>= the slot's cores when a
                      * whole node holds more than its slots ask for) */
};

struct alloc_view {
    int nnodes;
    struct alloc_node *nodes;
};

static void alloc_view_release(struct alloc_view *av)
{
    for (int i = 0; i < av->nnodes; i++)
        free(av->nodes[i].cpus);
    free(av->nodes);
}

/* OS cpu of core id on the node of that rank, from this machine's map. */
static int core_cpu(const struct rgraph *g, int rank, int id)
{
    for (int n = 0; n < rgraph_nnodes(g); n++) {
        const struct rgraph_node *gn = rgraph_node(g, n);
        if (gn->rank != rank && rgraph_nnodes(g) > 1)
            continue;
        for (int i = 0; i < gn->ncores; i++)
            if (gn->core_ids[i] == id)
                return gn->core_cpus[i];
        return -1;
    }
    return -1;
}

/* Nodes, cores and slots of an allocation, from its R (rank order). */
static int alloc_view_build(const struct rgraph *g, const struct jobspec *js, json_t *R,
                            struct alloc_view *av)
{
    json_t *lite = json_object_get(json_object_get(R, "execution"), "R_lite");
    size_t i;
    json_t *e;
    memset(av, 0, sizeof(*av));
    json_array_foreach(lite, i, e) {
        struct idset *ranks = idset_decode(json_string_value(json_object_get(e, "rank")));
        struct idset *cores = idset_decode(json_string_value(
            json_object_get(json_object_get(e, "children"), "core")));
        for (int r = ranks ? idset_first(ranks) : -1; r >= 0; r = idset_next(ranks, r)) {
            struct alloc_node *nn = realloc(av->nodes, (av->nnodes + 1) * sizeof(*nn));
            if (!nn)
                break;
            av->nodes = nn;
            struct alloc_node *an = &av->nodes[av->nnodes++];
            memset(an, 0, sizeof(*an));
            an->rank = r;
            size_t nc = cores ? idset_count(cores) : 0;
            an->cpus = calloc(nc ? nc : 1, sizeof(int));
            for (int c = cores ? idset_first(cores) : -1; an->cpus && c >= 0;
                 c = idset_next(cores, c))
                an->cpus[an->ncores++] = core_cpu(g, r, c);
            /* slots fill a node's cores in order; a slot without cores
             * (gpus only) still gets one place per node */
            an->nslots = js->slot_cores > 0 ? an->ncores / js->slot_cores : 0;
            if (an->nslots == 0 && !js->general)
                an->nslots = an->ncores > 0;
            /* an exclusive node hands over all its cores, yet holds only
             * the slots the jobspec asks for on it */
            if (!js->general && js->nnodes > 0 && an->nslots > js->nslots)
                an->nslots = js->nslots;
        }
        idset_destroy(ranks);
        idset_destroy(cores);
    }
    /* the job has the slots it asked for, wherever the allocation put more
     * cores than they need; general requests may put slots anywhere: deal
     * the job's slots over its nodes in proportion to their cores */
    int want = jobspec_total_slots(js), have = 0;
    for (int n = 0; n < av->nnodes; n++)
        have += av->nodes[n].nslots;
    for (int n = 0; js->general && have < want && av->nnodes > 0;
         n = (n + 1) % av->nnodes, have++)
        av->nodes[n].nslots++;
    for (int n = av->nnodes - 1; have > want && n >= 0; n--)
        while (have > want && av->nodes[n].nslots > 0)
            av->nodes[n].nslots--, have--;
    /* a node's cores are shared out among its slots, so the tasks of a
     * whole node may use all of it */
    for (int n = 0; n < av->nnodes; n++) {
        struct alloc_node *an = &av->nodes[n];
        an->width = an->nslots > 0 ? an->ncores / an->nslots : 0;
        if (an->width < js->slot_cores)
            an->width = js->slot_cores;
    }
    return av->nnodes > 0 ? 0 : -EINVAL;
}

/* Tasks are dealt over the slots in order (per_slot tasks each, or total
 * round-robin); a task is bound to the cores of its slot, and when there
 * are fewer tasks than slots (count.total), the task that owns several slots
 * gets the slots dealt to it, so it is bound to all of its allocation. */
struct slot_ref {
    int node;      /* index into av->nodes */
    int first;     /* first core index into av->nodes[node].cpus */
};

static int build_tasks(const struct jobspec *js, const struct alloc_view *a,
                       struct exec_task **tasksp, int **cpubufp)
{
    int nslots = 0, width = 1;
    for (int i = 0; i < a->nnodes; i++) {
        nslots += a->nodes[i].nslots;
        if (a->nodes[i].width > width)
            width = a->nodes[i].width;
    }
    if (nslots < 1)
        return -EINVAL;
    int ntasks = js->per_slot ? js->per_slot * nslots : js->total;
    struct exec_task *tasks = calloc(ntasks, sizeof(*tasks));
    int *cpus = calloc((size_t)(ntasks + nslots) * width, sizeof(int));
    int *local = calloc(a->nnodes, sizeof(int));
    struct slot_ref *slots = calloc(nslots, sizeof(*slots));
    if (!tasks || !cpus || !local || !slots) {
        free(tasks);
        free(cpus);
        free(local);
        free(slots);
        return -ENOMEM;
    }
    for (int n = 0, k = 0; n < a->nnodes; n++)
        for (int i = 0; i < a->nodes[n].nslots; i++, k++)
            slots[k] = (struct slot_ref){ .node = n, .first = i * a->nodes[n].width };
    int *next = cpus;
    for (int t = 0; t < ntasks; t++) {
        int first = js->per_slot ? t / js->per_slot : t % nslots;
        /* the slots this task is bound to: its own, plus every ntasks-th
         * one after it when tasks are fewer than slots */
        int step = (!js->per_slot && ntasks < nslots) ? ntasks : nslots + 1;
        const struct slot_ref *home = &slots[first];
        tasks[t].rank = t;
        tasks[t].nodeid = home->node;
        tasks[t].localid = local[home->node]++;
        tasks[t].cpus = next;
        for (int k = first; k < nslots; k += step) {
            const struct alloc_node *an = &a->nodes[slots[k].node];
            if (slots[k].node != home->node)
                continue;   /* a task runs on one node */
            for (int c = slots[k].first; c < slots[k].first + an->width && c < an->ncores; c++)
                if (an->cpus[c] >= 0)
                    next[tasks[t].ncpus++] = an->cpus[c];
        }
        next += tasks[t].ncpus;
    }
    free(local);
    free(slots);
    *tasksp = tasks;
    *cpubufp = cpus;
    return ntasks;
}

int placement_build(const struct rgraph *g, const struct jobspec *js, json_t *R,
                    struct placement *p)
{
    struct alloc_view av = {0};
    memset(p, 0, sizeof(*p));
    int rc = R ? alloc_view_build(g, js, R, &av) : -EINVAL;
    if (rc == 0)
        rc = build_tasks(js, &av, &p->tasks, &p->cpus);
    if (rc > 0) {
        p->ntasks = rc;
        p->nnodes = av.nnodes;
        rc = 0;
        if (!(p->node_ranks = malloc((size_t)av.nnodes * sizeof(int))))
            rc = -ENOMEM;
        for (int n = 0; rc == 0 && n < av.nnodes; n++)
            p->node_ranks[n] = av.nodes[n].rank;
    }
    alloc_view_release(&av);
    return rc;
}

void placement_release(struct placement *p)
{
    if (!p)
        return;
    free(p->tasks);
    free(p->cpus);
    free(p->node_ranks);
    memset(p, 0, sizeof(*p));
}
