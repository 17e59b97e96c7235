/* sched.c - priority queue, first-fit matching and EASY backfill.
 *
 * State per node: who owns each core and gpu (job pointers), and free
 * counts kept in max segment trees so "first node at or after i with at
 * least k free cores" costs O(log n) instead of a scan over 16k nodes.
 *
 * A scheduling pass walks the pending jobs in priority order.  Until a job
 * fails to match, jobs start in order.  The first job that does not fit (the
 * head) gets a reservation: running jobs are released in order of expected
 * end on a simulated copy of the free counts until the head fits; that time
 * is the shadow time and the cores/gpus it would get are reserved.  Later
 * jobs start now if they fit in what is free and not reserved, or if they
 * fit in what is free and end by the shadow time.  Jobs without a duration
 * end at +inf, so the head of a queue behind unlimited jobs is reserved at
 * +inf: jobs with a duration still backfill anywhere, unlimited ones only
 * outside the reservation (no starvation of wide jobs).
 *
 * Resources only shrink during a pass, so a request shape that failed once
 * in a pass fails again: such shapes are remembered for the rest of the pass.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched/rv1.h"
#include "sched/sched.h"

enum job_state { JOB_PENDING, JOB_RUNNING, JOB_DEAD };

struct job {
    uint64_t id;
    struct sched_request req;
    int urgency;
    double t_submit;
    enum job_state state;
    double end;              /* running: expected end, INFINITY if unlimited */
    size_t run_idx;          /* index in s->running */
    struct sched_alloc alloc;
    int *alloc_ints;         /* backing store for alloc core/gpu arrays */
};

/* Max segment tree over per-node values. */
struct seg {
    int size;                /* leaves, a power of two */
    int *v;                  /* 2 * size entries, leaves at [size, 2*size) */
};

/* Free resources per node, as seen by one mode of matching. */
struct avail {
    int *cores;              /* free cores per node */
    int *gpus;               /* free gpus per node */
    struct seg tcores, tgpus;
    struct seg tidle;        /* ncores if the node is completely free, else -1 */
    long total_cores;
    int nidle;
};

/* How matching judges a core or gpu usable. */
enum mode {
    MODE_LIVE,               /* free now */
    MODE_BACKFILL,           /* free now and not reserved for the head job */
    MODE_SIM,                /* free at the simulated time s->sim_time */
};

/* A matching result, not yet committed. */
struct pick {
    int nnodes;
    int *node, *nslots, *ncores, *ngpus, *core_off, *gpu_off;
    int node_cap;
    int *cores, *gpus;       /* core/gpu indexes, per node at *_off */
    int ncores_total, ngpus_total;
    int cores_cap, gpus_cap;
};

#define FAILCACHE_SIZE 256

struct failkey {
    bool used;
    int nnodes, nslots, slot_cores, slot_gpus;
    bool excl;
    enum mode mode;
};

struct sched {
    const struct rgraph *g;
    int nnodes;
    int *core_base, *gpu_base;     /* offsets of each node in the flat arrays */
    struct job **core_owner;       /* flat over all cores */
    struct job **gpu_owner;
    int max_cores, max_gpus, min_cores, min_gpus;

    struct avail live;
    struct avail sim;              /* scratch: reservation computation */
    struct avail bf;               /* scratch: live minus reservation */
    bool bf_active;
    double sim_time;

    uint8_t *core_resv, *gpu_resv; /* reserved for the head job this pass */
    int *resv_cores, *resv_gpus;   /* flat indexes set in core_resv/gpu_resv */
    int nresv_cores, nresv_gpus;

    /* jobs by id: open addressing, linear probing, backward-shift delete */
    struct job **table;
    size_t table_size, table_count;

    struct job **pending;          /* priority order when !pending_dirty */
    size_t npending_slots, pending_cap, npending;
    bool pending_dirty;

    struct job **running;
    size_t nrunning, running_cap;
    struct job **by_end;           /* scratch for reservations */

    struct pick pick;
    struct failkey failcache[FAILCACHE_SIZE];
};

/* ---- segment tree ---- */

static int seg_init(struct seg *t, int n)
{
    t->size = 1;
    while (t->size < n)
        t->size *= 2;
    if (!(t->v = malloc(2 * (size_t)t->size * sizeof(int))))
        return -ENOMEM;
    for (int i = 0; i < 2 * t->size; i++)
        t->v[i] = -1;
    return 0;
}

static void seg_set(struct seg *t, int i, int val)
{
    int k = t->size + i;
    t->v[k] = val;
    for (k /= 2; k >= 1; k /= 2) {
        int m = t->v[2 * k] > t->v[2 * k + 1] ? t->v[2 * k] : t->v[2 * k + 1];
        if (t->v[k] == m)
            break;
        t->v[k] = m;
    }
}

/* Rebuild internal nodes after writing leaves directly. */
static void seg_build(struct seg *t)
{
    for (int k = t->size - 1; k >= 1; k--)
        t->v[k] = t->v[2 * k] > t->v[2 * k + 1] ? t->v[2 * k] : t->v[2 * k + 1];
}

/* First leaf index >= start whose value is >= k, or -1. */
static int seg_find(const struct seg *t, int start, int k)
{
    if (start >= t->size || t->v[1] < k)
        return -1;
    /* climb from the start leaf until a right subtree can hold the answer */
    int x = t->size + start;
    if (t->v[x] >= k)
        return start;
    for (;;) {
        if (x == 1)
            return -1;
        if ((x & 1) == 0 && t->v[x + 1] >= k) {
            x = x + 1;
            break;
        }
        x /= 2;
    }
    while (x < t->size)
        x = t->v[2 * x] >= k ? 2 * x : 2 * x + 1;
    return x - t->size;
}

/* ---- avail ---- */

static int avail_init(struct avail *a, int n)
{
    if (!(a->cores = calloc((size_t)n + 1, sizeof(int)))
        || !(a->gpus = calloc((size_t)n + 1, sizeof(int)))
        || seg_init(&a->tcores, n) < 0 || seg_init(&a->tgpus, n) < 0
        || seg_init(&a->tidle, n) < 0)
        return -ENOMEM;
    return 0;
}

static void avail_release(struct avail *a)
{
    free(a->cores);
    free(a->gpus);
    free(a->tcores.v);
    free(a->tgpus.v);
    free(a->tidle.v);
}

static void avail_copy(struct avail *dst, const struct avail *src, int n)
{
    memcpy(dst->cores, src->cores, (size_t)n * sizeof(int));
    memcpy(dst->gpus, src->gpus, (size_t)n * sizeof(int));
    memcpy(dst->tcores.v, src->tcores.v, 2 * (size_t)src->tcores.size * sizeof(int));
    memcpy(dst->tgpus.v, src->tgpus.v, 2 * (size_t)src->tgpus.size * sizeof(int));
    memcpy(dst->tidle.v, src->tidle.v, 2 * (size_t)src->tidle.size * sizeof(int));
    dst->total_cores = src->total_cores;
    dst->nidle = src->nidle;
}

static bool node_idle(const struct sched *s, const struct avail *a, int n)
{
    const struct rgraph_node *rn = rgraph_node(s->g, n);
    return a->cores[n] == rn->ncores && a->gpus[n] == rn->ngpus;
}

static void avail_set(struct sched *s, struct avail *a, int n, int cores, int gpus)
{
    bool was_idle = node_idle(s, a, n);
    a->total_cores += cores - a->cores[n];
    a->cores[n] = cores;
    a->gpus[n] = gpus;
    bool idle = node_idle(s, a, n);
    a->nidle += (int)idle - (int)was_idle;
    seg_set(&a->tcores, n, cores);
    seg_set(&a->tgpus, n, gpus);
    seg_set(&a->tidle, n, idle ? rgraph_node(s->g, n)->ncores : -1);
}

/* ---- job table ---- */

static size_t hash_id(uint64_t id)
{
    id ^= id >> 33;
    id *= UINT64_C(0xff51afd7ed558ccd);
    id ^= id >> 33;
    return (size_t)id;
}

static struct job *table_get(const struct sched *s, uint64_t id)
{
    size_t mask = s->table_size - 1;
    for (size_t i = hash_id(id) & mask; s->table[i]; i = (i + 1) & mask)
        if (s->table[i]->id == id)
            return s->table[i];
    return NULL;
}

static int table_grow(struct sched *s)
{
    size_t nsize = s->table_size * 2;
    struct job **nt = calloc(nsize, sizeof(*nt));
    if (!nt)
        return -ENOMEM;
    for (size_t k = 0; k < s->table_size; k++) {
        struct job *j = s->table[k];
        if (!j)
            continue;
        size_t i = hash_id(j->id) & (nsize - 1);
        while (nt[i])
            i = (i + 1) & (nsize - 1);
        nt[i] = j;
    }
    free(s->table);
    s->table = nt;
    s->table_size = nsize;
    return 0;
}

static int table_put(struct sched *s, struct job *j)
{
    if ((s->table_count + 1) * 4 > s->table_size * 3 && table_grow(s) < 0)
        return -ENOMEM;
    size_t mask = s->table_size - 1;
    size_t i = hash_id(j->id) & mask;
    while (s->table[i])
        i = (i + 1) & mask;
    s->table[i] = j;
    s->table_count++;
    return 0;
}

static void table_del(struct sched *s, uint64_t id)
{
    size_t mask = s->table_size - 1;
    size_t i = hash_id(id) & mask;
    while (s->table[i] && s->table[i]->id != id)
        i = (i + 1) & mask;
    if (!s->table[i])
        return;
    s->table[i] = NULL;
    s->table_count--;
    /* shift back entries whose probe chain crossed the hole */
    for (size_t k = (i + 1) & mask; s->table[k]; k = (k + 1) & mask) {
        size_t home = hash_id(s->table[k]->id) & mask;
        bool movable = (i <= k) ? (home <= i || home > k) : (home <= i && home > k);
        if (movable) {
            s->table[i] = s->table[k];
            s->table[k] = NULL;
            i = k;
        }
    }
}

/* ---- lifecycle ---- */

static void job_destroy(struct job *j)
{
    if (j) {
        free(j->alloc.nodes);
        free(j->alloc_ints);
        free(j);
    }
}

void sched_destroy(struct sched *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->npending_slots; i++)
        if (s->pending[i]->state != JOB_RUNNING)
            job_destroy(s->pending[i]);
    for (size_t i = 0; i < s->nrunning; i++)
        job_destroy(s->running[i]);
    free(s->pending);
    free(s->running);
    free(s->by_end);
    free(s->table);
    free(s->core_base);
    free(s->gpu_base);
    free(s->core_owner);
    free(s->gpu_owner);
    free(s->core_resv);
    free(s->gpu_resv);
    free(s->resv_cores);
    free(s->resv_gpus);
    avail_release(&s->live);
    avail_release(&s->sim);
    avail_release(&s->bf);
    struct pick *p = &s->pick;
    free(p->node);
    free(p->nslots);
    free(p->ncores);
    free(p->ngpus);
    free(p->core_off);
    free(p->gpu_off);
    free(p->cores);
    free(p->gpus);
    free(s);
}

struct sched *sched_create(const struct rgraph *g)
{
    struct sched *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->g = g;
    s->nnodes = rgraph_nnodes(g);
    int n = s->nnodes;
    int tc = rgraph_total_cores(g), tg = rgraph_total_gpus(g);
    if (!(s->core_base = calloc((size_t)n + 1, sizeof(int)))
        || !(s->gpu_base = calloc((size_t)n + 1, sizeof(int)))
        || !(s->core_owner = calloc((size_t)tc + 1, sizeof(struct job *)))
        || !(s->gpu_owner = calloc((size_t)tg + 1, sizeof(struct job *)))
        || !(s->core_resv = calloc((size_t)tc + 1, 1))
        || !(s->gpu_resv = calloc((size_t)tg + 1, 1))
        || !(s->resv_cores = calloc((size_t)tc + 1, sizeof(int)))
        || !(s->resv_gpus = calloc((size_t)tg + 1, sizeof(int)))
        || avail_init(&s->live, n) < 0 || avail_init(&s->sim, n) < 0
        || avail_init(&s->bf, n) < 0)
        goto error;
    s->table_size = 1024;
    if (!(s->table = calloc(s->table_size, sizeof(*s->table))))
        goto error;
    s->min_cores = s->min_gpus = n > 0 ? -1 : 0;
    for (int i = 0; i < n; i++) {
        const struct rgraph_node *rn = rgraph_node(g, i);
        s->core_base[i + 1] = s->core_base[i] + rn->ncores;
        s->gpu_base[i + 1] = s->gpu_base[i] + rn->ngpus;
        if (rn->ncores > s->max_cores)
            s->max_cores = rn->ncores;
        if (rn->ngpus > s->max_gpus)
            s->max_gpus = rn->ngpus;
        if (s->min_cores < 0 || rn->ncores < s->min_cores)
            s->min_cores = rn->ncores;
        if (s->min_gpus < 0 || rn->ngpus < s->min_gpus)
            s->min_gpus = rn->ngpus;
        s->live.cores[i] = rn->ncores;
        s->live.gpus[i] = rn->ngpus;
        s->live.tcores.v[s->live.tcores.size + i] = rn->ncores;
        s->live.tgpus.v[s->live.tgpus.size + i] = rn->ngpus;
        s->live.tidle.v[s->live.tidle.size + i] = rn->ncores;
        s->live.total_cores += rn->ncores;
    }
    s->live.nidle = n;
    seg_build(&s->live.tcores);
    seg_build(&s->live.tgpus);
    seg_build(&s->live.tidle);
    return s;
error:
    sched_destroy(s);
    return NULL;
}

/* ---- satisfiability ---- */

static long slots_on(int ncores, int ngpus, const struct sched_request *req)
{
    long k = ncores / req->slot_cores;
    if (req->slot_gpus > 0 && ngpus / req->slot_gpus < k)
        k = ngpus / req->slot_gpus;
    return k;
}

bool sched_satisfiable(const struct sched *s, const struct sched_request *req,
                       struct errmsg *err)
{
    if (req->nnodes < 0 || req->nslots < 1 || req->slot_cores < 1 || req->slot_gpus < 0
        || !(req->duration >= 0)) {
        errmsg_set(err, -EINVAL, "invalid request: nnodes %d nslots %d cores %d gpus %d",
                   req->nnodes, req->nslots, req->slot_cores, req->slot_gpus);
        return false;
    }
    if (req->nnodes > s->nnodes) {
        errmsg_set(err, -EINVAL, "requested %d node%s but the instance has %d",
                   req->nnodes, req->nnodes == 1 ? "" : "s", s->nnodes);
        return false;
    }
    if (req->slot_cores > s->max_cores) {
        errmsg_set(err, -EINVAL, "requested %d core%s per slot but the largest node has %d",
                   req->slot_cores, req->slot_cores == 1 ? "" : "s", s->max_cores);
        return false;
    }
    if (req->slot_gpus > 0 && s->max_gpus == 0) {
        errmsg_set(err, -EINVAL, "requested %d gpu%s per slot but the instance has none",
                   req->slot_gpus, req->slot_gpus == 1 ? "" : "s");
        return false;
    }
    if (req->slot_gpus > s->max_gpus) {
        errmsg_set(err, -EINVAL, "requested %d gpus per slot but the largest node has %d",
                   req->slot_gpus, s->max_gpus);
        return false;
    }
    if (req->nnodes > 0) {
        long need_c = (long)req->nslots * req->slot_cores;
        long need_g = (long)req->nslots * req->slot_gpus;
        int fit = 0;
        if (need_c <= s->min_cores && need_g <= s->min_gpus) {
            fit = s->nnodes;
        } else {
            for (int i = 0; i < s->nnodes && fit < req->nnodes; i++) {
                const struct rgraph_node *rn = rgraph_node(s->g, i);
                if (rn->ncores >= need_c && rn->ngpus >= need_g)
                    fit++;
            }
        }
        if (fit < req->nnodes) {
            if (need_g > 0)
                errmsg_set(err, -EINVAL, "requested %d node%s with %ld cores and %ld gpus each "
                           "but the instance has %d such node%s", req->nnodes,
                           req->nnodes == 1 ? "" : "s", need_c, need_g, fit, fit == 1 ? "" : "s");
            else
                errmsg_set(err, -EINVAL, "requested %d node%s with %ld cores each but the "
                           "instance has %d such node%s", req->nnodes, req->nnodes == 1 ? "" : "s",
                           need_c, fit, fit == 1 ? "" : "s");
            return false;
        }
        return true;
    }
    long cap = 0;
    if (req->slot_gpus == 0 && (long)s->nnodes * (s->min_cores / req->slot_cores) >= req->nslots)
        return true;
    for (int i = 0; i < s->nnodes && cap < req->nslots; i++) {
        const struct rgraph_node *rn = rgraph_node(s->g, i);
        cap += slots_on(rn->ncores, rn->ngpus, req);
    }
    if (cap < req->nslots) {
        errmsg_set(err, -EINVAL, "requested %d slots of %d core%s%s but the instance holds %ld",
                   req->nslots, req->slot_cores, req->slot_cores == 1 ? "" : "s",
                   req->slot_gpus > 0 ? " and gpus" : "", cap);
        return false;
    }
    return true;
}

/* ---- queue ---- */

static int job_cmp(const struct job *a, const struct job *b)
{
    if (a->urgency != b->urgency)
        return a->urgency > b->urgency ? -1 : 1;
    if (a->t_submit != b->t_submit)
        return a->t_submit < b->t_submit ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static int job_qcmp(const void *a, const void *b)
{
    return job_cmp(*(struct job *const *)a, *(struct job *const *)b);
}

int sched_submit(struct sched *s, uint64_t id, const struct sched_request *req,
                 int urgency, double t_submit, struct errmsg *err)
{
    if (id == 0)
        return errmsg_set(err, -EINVAL, "job id 0 is reserved");
    if (urgency < SCHED_URGENCY_HOLD || urgency > SCHED_URGENCY_MAX)
        return errmsg_set(err, -EINVAL, "urgency %d is out of range 0-31", urgency);
    if (table_get(s, id))
        return errmsg_set(err, -EEXIST, "job %llu is already known", (unsigned long long)id);
    if (!sched_satisfiable(s, req, err))
        return -EINVAL;
    if (s->npending_slots == s->pending_cap) {
        size_t ncap = s->pending_cap ? s->pending_cap * 2 : 64;
        struct job **np = realloc(s->pending, ncap * sizeof(*np));
        if (!np)
            return errmsg_set(err, -ENOMEM, "out of memory");
        s->pending = np;
        s->pending_cap = ncap;
    }
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return errmsg_set(err, -ENOMEM, "out of memory");
    j->id = id;
    j->req = *req;
    j->urgency = urgency;
    j->t_submit = t_submit;
    j->state = JOB_PENDING;
    if (table_put(s, j) < 0) {
        free(j);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    if (s->npending_slots > 0 && job_cmp(s->pending[s->npending_slots - 1], j) > 0)
        s->pending_dirty = true;
    s->pending[s->npending_slots++] = j;
    s->npending++;
    return 0;
}

int sched_cancel(struct sched *s, uint64_t id)
{
    struct job *j = table_get(s, id);
    if (!j || j->state != JOB_PENDING)
        return -ENOENT;
    /* the queue slot is reclaimed (and j freed) by the next pass */
    table_del(s, id);
    j->state = JOB_DEAD;
    s->npending--;
    return 0;
}

int sched_set_urgency(struct sched *s, uint64_t id, int urgency)
{
    struct job *j = table_get(s, id);
    if (!j || j->state != JOB_PENDING)
        return -ENOENT;
    if (urgency < SCHED_URGENCY_HOLD || urgency > SCHED_URGENCY_MAX)
        return -EINVAL;
    if (j->urgency != urgency) {
        j->urgency = urgency;
        s->pending_dirty = true;
    }
    return 0;
}

/* ---- matching ---- */

static bool core_usable(const struct sched *s, enum mode mode, int flat)
{
    const struct job *o = s->core_owner[flat];
    switch (mode) {
    case MODE_LIVE:
        return !o;
    case MODE_BACKFILL:
        return !o && !s->core_resv[flat];
    case MODE_SIM:
        return !o || o->end <= s->sim_time;
    }
    return false;
}

static bool gpu_usable(const struct sched *s, enum mode mode, int flat)
{
    const struct job *o = s->gpu_owner[flat];
    switch (mode) {
    case MODE_LIVE:
        return !o;
    case MODE_BACKFILL:
        return !o && !s->gpu_resv[flat];
    case MODE_SIM:
        return !o || o->end <= s->sim_time;
    }
    return false;
}

static int grow_ints(int **a, int *cap, int need)
{
    if (need <= *cap)
        return 0;
    int ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    int *na = realloc(*a, (size_t)ncap * sizeof(int));
    if (!na)
        return -ENOMEM;
    *a = na;
    *cap = ncap;
    return 0;
}

static int pick_reserve_nodes(struct pick *p, int need)
{
    if (need <= p->node_cap)
        return 0;
    int ncap = p->node_cap ? p->node_cap : 16;
    while (ncap < need)
        ncap *= 2;
    int **arrs[] = { &p->node, &p->nslots, &p->ncores, &p->ngpus, &p->core_off, &p->gpu_off };
    for (size_t i = 0; i < sizeof(arrs) / sizeof(arrs[0]); i++) {
        int *na = realloc(*arrs[i], (size_t)ncap * sizeof(int));
        if (!na)
            return -ENOMEM;
        *arrs[i] = na;
    }
    p->node_cap = ncap;
    return 0;
}

/* Add node n with nslots slots to the pick, choosing its cores and gpus
 * (all of them when whole). */
static int pick_add(struct sched *s, enum mode mode, int n, int nslots, int ncores,
                    int ngpus, bool whole)
{
    struct pick *p = &s->pick;
    const struct rgraph_node *rn = rgraph_node(s->g, n);
    if (whole) {
        ncores = rn->ncores;
        ngpus = rn->ngpus;
    }
    if (pick_reserve_nodes(p, p->nnodes + 1) < 0
        || grow_ints(&p->cores, &p->cores_cap, p->ncores_total + ncores) < 0
        || grow_ints(&p->gpus, &p->gpus_cap, p->ngpus_total + ngpus) < 0)
        return -ENOMEM;
    int k = p->nnodes++;
    p->node[k] = n;
    p->nslots[k] = nslots;
    p->ncores[k] = ncores;
    p->ngpus[k] = ngpus;
    p->core_off[k] = p->ncores_total;
    p->gpu_off[k] = p->ngpus_total;
    int got = 0;
    for (int c = 0; c < rn->ncores && got < ncores; c++)
        if (core_usable(s, mode, s->core_base[n] + c))
            p->cores[p->ncores_total + got++] = c;
    p->ncores_total += got;
    int gg = 0;
    for (int c = 0; c < rn->ngpus && gg < ngpus; c++)
        if (gpu_usable(s, mode, s->gpu_base[n] + c))
            p->gpus[p->ngpus_total + gg++] = c;
    p->ngpus_total += gg;
    /* counts and owner arrays agree, so this cannot come up short */
    return (got == ncores && gg == ngpus) ? 0 : -EIO;
}

/* Next node >= start that can hold at least one unit of need. */
static int next_node(const struct avail *a, int start, bool excl, int need_c, int need_g)
{
    for (;;) {
        int n;
        if (excl)
            n = seg_find(&a->tidle, start, need_c);
        else if (need_g > 0)
            n = seg_find(&a->tgpus, start, need_g);
        else
            n = seg_find(&a->tcores, start, need_c);
        if (n < 0)
            return -1;
        if (a->cores[n] >= need_c && a->gpus[n] >= need_g)
            return n;
        start = n + 1;
    }
}

/* First-fit req on the view (a, mode) into s->pick. true if it fits. */
static bool match(struct sched *s, const struct avail *a, enum mode mode,
                  const struct sched_request *req)
{
    struct pick *p = &s->pick;
    bool excl = req->node_exclusive;
    p->nnodes = p->ncores_total = p->ngpus_total = 0;

    if (req->nnodes > 0) {
        int need_c = req->nslots * req->slot_cores;
        int need_g = req->nslots * req->slot_gpus;
        if ((long)need_c * req->nnodes > a->total_cores || (excl && a->nidle < req->nnodes))
            return false;
        int n = -1;
        while (p->nnodes < req->nnodes) {
            if ((n = next_node(a, n + 1, excl, need_c, need_g)) < 0)
                return false;
            if (pick_add(s, mode, n, req->nslots, need_c, need_g, excl) < 0)
                return false;
        }
        return true;
    }
    if ((long)req->nslots * req->slot_cores > a->total_cores)
        return false;
    int left = req->nslots, n = -1;
    while (left > 0) {
        if ((n = next_node(a, n + 1, excl, req->slot_cores, req->slot_gpus)) < 0)
            return false;
        long k = slots_on(a->cores[n], a->gpus[n], req);
        if (k > left)
            k = left;
        if (pick_add(s, mode, n, (int)k, (int)k * req->slot_cores,
                     (int)k * req->slot_gpus, excl) < 0)
            return false;
        left -= (int)k;
    }
    return true;
}

/* ---- failed-shape cache ---- */

static struct failkey make_key(const struct sched_request *r, enum mode mode)
{
    struct failkey k = {
        .used = true, .nnodes = r->nnodes, .nslots = r->nslots,
        .slot_cores = r->slot_cores, .slot_gpus = r->slot_gpus,
        .excl = r->node_exclusive, .mode = mode,
    };
    return k;
}

static size_t key_slot(const struct failkey *k)
{
    uint64_t h = (uint64_t)k->nnodes * 31 + (uint64_t)k->nslots;
    h = h * 31 + (uint64_t)k->slot_cores;
    h = h * 31 + (uint64_t)k->slot_gpus;
    h = h * 4 + (uint64_t)k->excl * 2 + (uint64_t)k->mode;
    return hash_id(h) % FAILCACHE_SIZE;
}

static bool key_eq(const struct failkey *a, const struct failkey *b)
{
    return a->used && b->used && a->nnodes == b->nnodes && a->nslots == b->nslots
           && a->slot_cores == b->slot_cores && a->slot_gpus == b->slot_gpus
           && a->excl == b->excl && a->mode == b->mode;
}

static bool known_failure(const struct sched *s, const struct sched_request *r, enum mode mode)
{
    struct failkey k = make_key(r, mode);
    return key_eq(&s->failcache[key_slot(&k)], &k);
}

static void note_failure(struct sched *s, const struct sched_request *r, enum mode mode)
{
    struct failkey k = make_key(r, mode);
    s->failcache[key_slot(&k)] = k;
}

/* Match with the cache in front. */
static bool try_match(struct sched *s, const struct avail *a, enum mode mode,
                      const struct sched_request *req)
{
    if (known_failure(s, req, mode))
        return false;
    if (match(s, a, mode, req))
        return true;
    note_failure(s, req, mode);
    return false;
}

/* ---- commit / release ---- */

static int commit(struct sched *s, struct job *j, double now)
{
    struct pick *p = &s->pick;
    if (s->nrunning == s->running_cap) {
        size_t ncap = s->running_cap ? s->running_cap * 2 : 64;
        struct job **nr = realloc(s->running, ncap * sizeof(*nr));
        if (!nr)
            return -ENOMEM;
        s->running = nr;
        s->running_cap = ncap;
        struct job **nb = realloc(s->by_end, ncap * sizeof(*nb));
        if (!nb)
            return -ENOMEM;
        s->by_end = nb;
    }
    struct sched_alloc_node *nodes = calloc((size_t)p->nnodes, sizeof(*nodes));
    int *ints = malloc((size_t)(p->ncores_total + p->ngpus_total + 1) * sizeof(int));
    if (!nodes || !ints) {
        free(nodes);
        free(ints);
        return -ENOMEM;
    }
    if (p->ncores_total > 0)
        memcpy(ints, p->cores, (size_t)p->ncores_total * sizeof(int));
    if (p->ngpus_total > 0)
        memcpy(ints + p->ncores_total, p->gpus, (size_t)p->ngpus_total * sizeof(int));
    for (int k = 0; k < p->nnodes; k++) {
        int n = p->node[k];
        struct sched_alloc_node *an = &nodes[k];
        an->node = n;
        an->nslots = p->nslots[k];
        an->ncores = p->ncores[k];
        an->cores = ints + p->core_off[k];
        an->ngpus = p->ngpus[k];
        an->gpus = ints + p->ncores_total + p->gpu_off[k];
        int bf_cores = 0, bf_gpus = 0;
        for (int c = 0; c < an->ncores; c++) {
            int flat = s->core_base[n] + an->cores[c];
            s->core_owner[flat] = j;
            bf_cores += !s->core_resv[flat];
        }
        for (int c = 0; c < an->ngpus; c++) {
            int flat = s->gpu_base[n] + an->gpus[c];
            s->gpu_owner[flat] = j;
            bf_gpus += !s->gpu_resv[flat];
        }
        avail_set(s, &s->live, n, s->live.cores[n] - an->ncores, s->live.gpus[n] - an->ngpus);
        if (s->bf_active)
            avail_set(s, &s->bf, n, s->bf.cores[n] - bf_cores, s->bf.gpus[n] - bf_gpus);
    }
    j->alloc.nnodes = p->nnodes;
    j->alloc.nodes = nodes;
    j->alloc.starttime = now;
    j->alloc.expiration = j->req.duration > 0 ? now + j->req.duration : 0;
    j->alloc_ints = ints;
    j->end = j->req.duration > 0 ? now + j->req.duration : INFINITY;
    j->state = JOB_RUNNING;
    j->run_idx = s->nrunning;
    s->running[s->nrunning++] = j;
    s->npending--;
    return 0;
}

int sched_release(struct sched *s, uint64_t id)
{
    struct job *j = table_get(s, id);
    if (!j || j->state != JOB_RUNNING)
        return -ENOENT;
    for (int k = 0; k < j->alloc.nnodes; k++) {
        const struct sched_alloc_node *an = &j->alloc.nodes[k];
        int n = an->node;
        for (int c = 0; c < an->ncores; c++)
            s->core_owner[s->core_base[n] + an->cores[c]] = NULL;
        for (int c = 0; c < an->ngpus; c++)
            s->gpu_owner[s->gpu_base[n] + an->gpus[c]] = NULL;
        avail_set(s, &s->live, n, s->live.cores[n] + an->ncores, s->live.gpus[n] + an->ngpus);
    }
    struct job *last = s->running[--s->nrunning];
    s->running[j->run_idx] = last;
    last->run_idx = j->run_idx;
    table_del(s, id);
    job_destroy(j);
    return 0;
}

/* ---- reservation ---- */

static int end_cmp(const void *a, const void *b)
{
    double x = (*(struct job *const *)a)->end, y = (*(struct job *const *)b)->end;
    return (x > y) - (x < y);
}

static void clear_reservation(struct sched *s)
{
    for (int i = 0; i < s->nresv_cores; i++)
        s->core_resv[s->resv_cores[i]] = 0;
    for (int i = 0; i < s->nresv_gpus; i++)
        s->gpu_resv[s->resv_gpus[i]] = 0;
    s->nresv_cores = s->nresv_gpus = 0;
    s->bf_active = false;
}

/* Find when and where the head job could start, reserve those resources,
 * and set up the backfill view.  Returns the shadow time. */
static double reserve(struct sched *s, const struct job *head, double now)
{
    const struct sched_request *req = &head->req;
    long need = (long)(req->nnodes > 0 ? req->nnodes : 1) * req->nslots * req->slot_cores;
    int need_idle = req->node_exclusive ? (req->nnodes > 0 ? req->nnodes : 1) : 0;
    double shadow = INFINITY;
    bool found = false;

    avail_copy(&s->sim, &s->live, s->nnodes);
    if (s->nrunning > 0)
        memcpy(s->by_end, s->running, s->nrunning * sizeof(*s->by_end));
    if (s->nrunning > 1)
        qsort(s->by_end, s->nrunning, sizeof(*s->by_end), end_cmp);
    size_t i = 0;
    while (i < s->nrunning) {
        double t = s->by_end[i]->end;
        /* release everything ending by t; overrun jobs count as ending now */
        while (i < s->nrunning && (s->by_end[i]->end <= t || s->by_end[i]->end <= now)) {
            const struct job *r = s->by_end[i++];
            for (int k = 0; k < r->alloc.nnodes; k++) {
                const struct sched_alloc_node *an = &r->alloc.nodes[k];
                avail_set(s, &s->sim, an->node, s->sim.cores[an->node] + an->ncores,
                          s->sim.gpus[an->node] + an->ngpus);
            }
        }
        if (s->sim.total_cores < need || s->sim.nidle < need_idle)
            continue;
        s->sim_time = t < now ? now : t;
        if (match(s, &s->sim, MODE_SIM, req)) {
            shadow = s->sim_time;
            found = true;
            break;
        }
    }
    avail_copy(&s->bf, &s->live, s->nnodes);
    s->bf_active = true;
    if (!found)
        return shadow;  /* unsatisfiable even when idle: reserve nothing */
    const struct pick *p = &s->pick;
    for (int k = 0; k < p->nnodes; k++) {
        int n = p->node[k], fc = 0, fg = 0;
        for (int c = 0; c < p->ncores[k]; c++) {
            int flat = s->core_base[n] + p->cores[p->core_off[k] + c];
            s->core_resv[flat] = 1;
            s->resv_cores[s->nresv_cores++] = flat;
            fc += !s->core_owner[flat];
        }
        for (int c = 0; c < p->ngpus[k]; c++) {
            int flat = s->gpu_base[n] + p->gpus[p->gpu_off[k] + c];
            s->gpu_resv[flat] = 1;
            s->resv_gpus[s->nresv_gpus++] = flat;
            fg += !s->gpu_owner[flat];
        }
        if (fc || fg)
            avail_set(s, &s->bf, n, s->bf.cores[n] - fc, s->bf.gpus[n] - fg);
    }
    return shadow;
}

/* ---- the pass ---- */

static long job_cores(const struct job *j)
{
    return (long)(j->req.nnodes > 0 ? j->req.nnodes : 1) * j->req.nslots * j->req.slot_cores;
}

int sched_schedule(struct sched *s, double now, sched_alloc_f cb, void *arg)
{
    /* cancelled jobs behind a blocked point would otherwise pile up */
    if (s->npending_slots > 2 * s->npending + 1024)
        s->pending_dirty = true;
    if (s->pending_dirty) {
        size_t w = 0;
        for (size_t i = 0; i < s->npending_slots; i++) {
            struct job *j = s->pending[i];
            if (j->state == JOB_DEAD)
                job_destroy(j);
            else
                s->pending[w++] = j;
        }
        s->npending_slots = w;
        qsort(s->pending, w, sizeof(*s->pending), job_qcmp);
        s->pending_dirty = false;
    }
    memset(s->failcache, 0, sizeof(s->failcache));

    int started = 0;
    struct job *head = NULL;     /* first job that did not fit */
    bool reserved = false;
    double shadow = 0;
    size_t i, w = 0;
    for (i = 0; i < s->npending_slots; i++) {
        struct job *j = s->pending[i];
        if (j->state == JOB_DEAD) {
            job_destroy(j);
            continue;
        }
        /* held jobs sort last; nothing fits when no core is free */
        if (j->urgency == SCHED_URGENCY_HOLD || s->live.total_cores == 0)
            break;
        bool fits = false;
        if (job_cores(j) > s->live.total_cores) {
            /* cannot fit now in any mode */
        } else if (!head) {
            fits = try_match(s, &s->live, MODE_LIVE, &j->req);
        } else {
            if (!reserved) {
                /* computed only once a later job could use free resources */
                shadow = reserve(s, head, now);
                reserved = true;
            }
            bool short_job = j->req.duration > 0 && now + j->req.duration <= shadow;
            fits = job_cores(j) <= s->bf.total_cores
                   && try_match(s, &s->bf, MODE_BACKFILL, &j->req);
            if (!fits && short_job)
                fits = try_match(s, &s->live, MODE_LIVE, &j->req);
        }
        if (fits && commit(s, j, now) == 0) {
            started++;
            if (cb)
                cb(arg, j->id, &j->alloc);
            continue;
        }
        if (!head)
            head = j;
        s->pending[w++] = j;
    }
    /* keep the unscanned tail */
    if (w != i)
        memmove(&s->pending[w], &s->pending[i], (s->npending_slots - i) * sizeof(*s->pending));
    s->npending_slots = w + (s->npending_slots - i);
    clear_reservation(s);
    return started;
}

/* ---- queries ---- */

const struct sched_alloc *sched_lookup_alloc(const struct sched *s, uint64_t id)
{
    const struct job *j = table_get(s, id);
    return j && j->state == JOB_RUNNING ? &j->alloc : NULL;
}

uint64_t sched_core_owner(const struct sched *s, int node, int core)
{
    if (node < 0 || node >= s->nnodes || core < 0
        || core >= s->core_base[node + 1] - s->core_base[node])
        return 0;
    const struct job *j = s->core_owner[s->core_base[node] + core];
    return j ? j->id : 0;
}

uint64_t sched_gpu_owner(const struct sched *s, int node, int gpu)
{
    if (node < 0 || node >= s->nnodes || gpu < 0
        || gpu >= s->gpu_base[node + 1] - s->gpu_base[node])
        return 0;
    const struct job *j = s->gpu_owner[s->gpu_base[node] + gpu];
    return j ? j->id : 0;
}

size_t sched_pending(const struct sched *s)
{
    return s->npending;
}

size_t sched_running(const struct sched *s)
{
    return s->nrunning;
}

int sched_free_cores(const struct sched *s)
{
    return (int)s->live.total_cores;
}

/* ---- R ---- */

/* Map allocated indices to the node's ids (ids[idx[i]]); NULL on ENOMEM. */
static int *alloc_ids(const int *idx, int n, const int *ids)
{
    int *out = malloc(sizeof(*out) * (n > 0 ? n : 1));
    for (int i = 0; out && i < n; i++)
        out[i] = ids[idx[i]];
    return out;
}

json_t *sched_alloc_to_R(const struct sched *s, const struct sched_alloc *a)
{
    struct rv1_writer *w = rv1_writer_create();
    json_t *R = NULL;
    if (!w)
        return NULL;
    for (int k = 0; k < a->nnodes; k++) {
        const struct sched_alloc_node *an = &a->nodes[k];
        const struct rgraph_node *rn = rgraph_node(s->g, an->node);
        int *cores = alloc_ids(an->cores, an->ncores, rn->core_ids);
        int *gpus = alloc_ids(an->gpus, an->ngpus, rn->gpu_ids);
        int rc = cores && gpus ? rv1_writer_add(w, rn->rank, rn->name, cores, an->ncores, gpus,
                                                an->ngpus)
                               : -ENOMEM;
        free(cores);
        free(gpus);
        if (rc < 0)
            goto out;
    }
    R = rv1_writer_finish(w, a->starttime, a->expiration);
out:
    rv1_writer_destroy(w);
    return R;
}
