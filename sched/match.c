/* match.c - depth-first matching of a request tree on the resource graph.
 *
 * One match attempt runs against a time window [t0, t1). While it searches,
 * the job's tentative choices live in per-vertex scratch (struct tent) so
 * that two slots of one job never pick the same core; on failure of a branch
 * the selection stack is unwound, on success it is turned into holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/fluid.h"
#include "common/vec.h"
#include "common/strbuf.h"
#include "sched/constraint.h"
#include "sched/match.h"
#include "sched/rv1.h"

#define RQ_SLOT (-2)

/* The request tree with types resolved against the graph. */
struct rq {
    int type;                       /* graph type or RQ_SLOT */
    const struct rspec_count *count;
    bool excl;                      /* exclusive: true on a non-slot */
    int nwith;
    struct rq *with;
    uint64_t withmask;              /* types of with[] (slot resolution) */
    int64_t need[GRAPH_AGG_MAX];    /* aggregate units one unit needs */
};

/* A job's scratch state on one vertex during a match. */
struct tent {
    int32_t use;        /* selections at or beneath this vertex */
    int32_t agg[GRAPH_AGG_MAX];
    int64_t taken;      /* pool units taken */
    uint8_t x;          /* selected exclusively */
};

struct sel {
    int v;
    int64_t amount;
    int32_t contrib[GRAPH_AGG_MAX];
    uint8_t x, pool, whole;
};

struct job {
    struct match_alloc a;
    struct job *next;   /* hash chain */
};

struct matcher {
    struct graph *g;
    enum match_policy policy;
    int n;
    int node_type;
    int *kids;          /* children of v: kids[kid_off[v] .. kid_off[v+1]) */
    int *kid_off;
    uint64_t *childmask;    /* types of v's children */
    uint64_t *descmask;     /* types in v's subtree (v excluded) */

    /* one match attempt */
    int64_t t0, t1;
    bool sat;           /* satisfiability: ignore holds and status */
    bool sat_up;        /* ... holds only (MATCH_SATISFIABILITY_UP) */
    uint8_t *banned;    /* nodes the request's constraints rule out, or NULL */
    bool want_max;      /* moldable counts must reach their max (policy first) */
    int nallowed;       /* ... and how many nodes they leave */
    struct tent *tent;
    int *touched;
    int ntouched;
    size_t maxtouched;
    struct sel *sel;
    int nsel;
    size_t maxsel;
    struct { int64_t t, d; } *ev;   /* sweep scratch */
    size_t maxev;
    int64_t (*agg)[GRAPH_AGG_MAX];  /* commit scratch, all zero between commits */
    bool agg_pooled;    /* some core or gpu vertex is a pool (size > 1) */

    struct job **jobs;  /* hash by job id */
    size_t nbuckets, njobs;
};

static const char *policy_names[] = {
    [MATCH_LOW] = "low", [MATCH_HIGH] = "high", [MATCH_FIRST] = "first",
    [MATCH_LONODE] = "lonode", [MATCH_HINODE] = "hinode",
    [MATCH_LONODEX] = "lonodex", [MATCH_HINODEX] = "hinodex",
    [MATCH_LOCALITY] = "locality",
};

int match_policy_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]); i++)
        if (name && !strcmp(name, policy_names[i]))
            return (int)i;
    return -1;
}

const char *match_policy_name(enum match_policy p)
{
    return p <= MATCH_LOCALITY ? policy_names[p] : "?";
}

static inline uint64_t type_bit(int t)
{
    /* Types past 63 share the top bit: a mask test then only says "maybe". */
    return t < 0 ? 0 : (uint64_t)1 << (t < 63 ? t : 63);
}

static inline const struct graph_vertex *V(const struct matcher *m, int v)
{
    return graph_vertex(m->g, v);
}

static bool node_exclusive(const struct matcher *m)
{
    return m->policy == MATCH_LONODEX || m->policy == MATCH_HINODEX;
}

/* What the matcher derives from the graph's shape: children as one flat
 * array (a policy walks them forwards or backwards) and type masks. Made
 * again when the graph grows (match_graph_grown); holds are the graph's. */
static int derive(struct matcher *m)
{
    int n = graph_nvertices(m->g);
    int *kids = malloc((n + 1) * sizeof(int));
    int *kid_off = calloc(n + 1, sizeof(int));
    uint64_t *childmask = calloc(n + 1, sizeof(uint64_t));
    uint64_t *descmask = calloc(n + 1, sizeof(uint64_t));
    struct tent *tent = calloc(n + 1, sizeof(struct tent));
    if (!kids || !kid_off || !childmask || !descmask || !tent) {
        free(kids);
        free(kid_off);
        free(childmask);
        free(descmask);
        free(tent);
        return -ENOMEM;
    }
    free(m->kids);
    free(m->kid_off);
    free(m->childmask);
    free(m->descmask);
    free(m->tent);
    free(m->agg);       /* sized by n, made again when next needed */
    m->agg = NULL;
    m->kids = kids;
    m->kid_off = kid_off;
    m->childmask = childmask;
    m->descmask = descmask;
    m->tent = tent;
    m->n = n;
    m->node_type = graph_lookup_type(m->g, "node");
    int off = 0;
    for (int v = 0; v < m->n; v++) {
        m->kid_off[v] = off;
        for (int c = V(m, v)->first_child; c >= 0; c = V(m, c)->next_sibling) {
            m->kids[off++] = c;
            m->childmask[v] |= type_bit(V(m, c)->type);
        }
    }
    m->kid_off[m->n] = off;
    m->agg_pooled = false;
    for (int v = 0; v < m->n; v++)
        for (int a = 0; a < GRAPH_AGG_MAX; a++)
            if (V(m, v)->size > 1 && V(m, v)->type == graph_agg_type(m->g, a))
                m->agg_pooled = true;
    for (int v = m->n - 1; v > 0; v--) {
        int p = V(m, v)->parent;
        m->descmask[p] |= m->descmask[v] | type_bit(V(m, v)->type);
    }
    return 0;
}

struct matcher *match_create(struct graph *g, enum match_policy policy)
{
    struct matcher *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->g = g;
    m->policy = policy;
    m->nbuckets = 1024;
    m->jobs = calloc(m->nbuckets, sizeof(*m->jobs));
    if (!m->jobs || derive(m) < 0)
        goto error;
    return m;
error:
    match_destroy(m);
    return NULL;
}

int match_graph_grown(struct matcher *m)
{
    return derive(m);
}

static void job_free(struct job *j)
{
    if (j) {
        free(j->a.items);
        free(j);
    }
}

void match_destroy(struct matcher *m)
{
    if (!m)
        return;
    /* the graph outlives us: leave it without our holds */
    for (size_t b = 0; b < m->nbuckets; b++) {
        while (m->jobs && m->jobs[b]) {
            struct job *j = m->jobs[b];
            m->jobs[b] = j->next;
            for (int i = 0; i < j->a.nitems; i++)
                graph_hold_remove_job(m->g, j->a.items[i].v, j->a.job);
            job_free(j);
        }
    }
    free(m->jobs);
    free(m->kids);
    free(m->kid_off);
    free(m->childmask);
    free(m->descmask);
    free(m->tent);
    free(m->touched);
    free(m->sel);
    free(m->ev);
    free(m->agg);
    free(m);
}

void match_set_policy(struct matcher *m, enum match_policy policy)
{
    m->policy = policy;
}

/* ---- availability over the window ---- */

static inline bool overlaps(const struct matcher *m, const struct graph_hold *h)
{
    return h->start < m->t1 && h->end > m->t0;
}

static int ev_cmp(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];  /* releases before claims */
}

/* Callers that need the exact peak pass this as the bound. */
#define PEAK_EXACT INT64_MIN
/* Up to this many holds starting inside the window are counted directly. */
#define PEAK_DIRECT 8

/* Peak of a per-hold quantity over the window (amount when a < 0, else
 * agg[a]). When the sum of every overlapping hold is at most bound, that
 * sum is returned instead: it bounds the peak from above, which is all a
 * caller comparing against a limit needs.
 *
 * The total only rises where a hold starts, so the peak is the total at t0
 * or at the start of a hold that begins inside the window ("late"). Holds
 * already running at t0 (running jobs; reservations lie later) need no
 * sweep at all, a few late ones are counted directly, and only many are
 * swept, releases before claims, so a job ending at t and one starting at t
 * never collide. */
static int64_t hold_peak(struct matcher *m, const struct graph_vertex *x, int a,
                         int64_t bound)
{
    int64_t sum = 0, base = 0;
    int late = 0, k = 0;
    for (int i = 0; i < x->nholds; i++) {
        const struct graph_hold *h = &x->holds[i];
        if (!overlaps(m, h))
            continue;
        int64_t val = a < 0 ? h->amount : h->agg[a];
        sum += val;
        if (h->start <= m->t0)
            base += val;
        else
            late++;
        k++;
    }
    if (late == 0 || sum <= bound)
        return sum;
    int64_t peak = base;
    if (late <= PEAK_DIRECT) {
        for (int i = 0; i < x->nholds; i++) {
            const struct graph_hold *h = &x->holds[i];
            if (!overlaps(m, h) || h->start <= m->t0)
                continue;
            int64_t at = 0;     /* the total just after h starts */
            for (int j = 0; j < x->nholds; j++) {
                const struct graph_hold *o = &x->holds[j];
                if (o->start <= h->start && o->end > h->start)
                    at += a < 0 ? o->amount : o->agg[a];
            }
            if (at > peak)
                peak = at;
        }
        return peak;
    }
    if (vec_grow(&m->ev, &m->maxev, 2 * (size_t)k, sizeof(*m->ev)) < 0)
        return sum;     /* no memory: the upper bound is still safe */
    /* From base at t0: late holds claim at their start, and every hold that
     * ends inside the window releases there. */
    int n = 0;
    for (int i = 0; i < x->nholds; i++) {
        const struct graph_hold *h = &x->holds[i];
        if (!overlaps(m, h))
            continue;
        int64_t val = a < 0 ? h->amount : h->agg[a];
        if (h->start > m->t0) {
            m->ev[n].t = h->start;
            m->ev[n++].d = val;
        }
        if (h->end < m->t1) {
            m->ev[n].t = h->end;
            m->ev[n++].d = -val;
        }
    }
    qsort(m->ev, n, sizeof(*m->ev), ev_cmp);
    int64_t cur = base;
    for (int i = 0; i < n; i++) {
        cur += m->ev[i].d;
        if (cur > peak)
            peak = cur;
    }
    return peak;
}

static bool held(const struct matcher *m, const struct graph_vertex *x, bool only_x)
{
    for (int i = 0; i < x->nholds; i++)
        if (overlaps(m, &x->holds[i]) && (!only_x || x->holds[i].kind == GRAPH_HOLD_X))
            return true;
    return false;
}

/* May the search pass through v (shared use)? */
static bool vx_open(struct matcher *m, int v)
{
    const struct graph_vertex *x = V(m, v);
    if (m->tent[v].x || (m->banned && m->banned[v]))
        return false;
    if (m->sat)
        return !m->sat_up || x->status == GRAPH_UP;
    return x->status == GRAPH_UP && !held(m, x, true);
}

/* Nobody else holds anything at or beneath v in the window. */
static bool vx_real_free(struct matcher *m, int v)
{
    return m->sat || !held(m, V(m, v), false);
}

/* May the job claim v (and everything beneath) exclusively? */
static bool vx_free(struct matcher *m, int v)
{
    return vx_open(m, v) && m->tent[v].use == 0 && vx_real_free(m, v);
}

static int64_t vx_pool_avail(struct matcher *m, int v)
{
    const struct graph_vertex *x = V(m, v);
    int64_t used = m->sat ? 0 : hold_peak(m, x, -1, PEAK_EXACT);
    return x->size - used - m->tent[v].taken;
}

/* Enough aggregate units (cores, gpus) left beneath v for need? */
static bool vx_agg_enough(struct matcher *m, int v, const int64_t *need)
{
    const struct graph_vertex *x = V(m, v);
    for (int a = 0; a < GRAPH_AGG_MAX; a++) {
        if (need[a] == 0)
            continue;
        int64_t limit = x->total[a] - m->tent[v].agg[a] - need[a];
        if (limit < 0 || (!m->sat && hold_peak(m, x, a, limit) > limit))
            return false;
    }
    return true;
}

/* ---- the job's tentative selection ---- */

static int touch(struct matcher *m, int v)
{
    if (vec_grow(&m->touched, &m->maxtouched, (size_t)m->ntouched + 1, sizeof(*m->touched)) < 0)
        return -ENOMEM;
    m->touched[m->ntouched++] = v;
    return 0;
}

static int push_sel(struct matcher *m, int v, int64_t amount, bool x, bool pool,
                    bool whole)
{
    if (vec_grow(&m->sel, &m->maxsel, (size_t)m->nsel + 1, sizeof(*m->sel)) < 0)
        return -ENOMEM;
    struct sel *s = &m->sel[m->nsel];
    memset(s, 0, sizeof(*s));
    s->v = v;
    s->amount = amount;
    s->x = x;
    s->pool = pool;
    s->whole = whole && s->x;
    /* An exclusive vertex takes its whole subtree out of the aggregates,
     * unless an ancestor the job already holds exclusively counted it. */
    bool under_x = false;
    for (int u = V(m, v)->parent; u >= 0; u = V(m, u)->parent)
        if (m->tent[u].x)
            under_x = true;
    if (s->x && !under_x)
        for (int a = 0; a < GRAPH_AGG_MAX; a++)
            s->contrib[a] = (int32_t)V(m, v)->total[a];
    for (int u = v; u >= 0; u = V(m, u)->parent) {
        if (m->tent[u].use++ == 0 && touch(m, u) < 0)
            return -ENOMEM;
        if (u != v)
            for (int a = 0; a < GRAPH_AGG_MAX; a++)
                m->tent[u].agg[a] += s->contrib[a];
    }
    if (s->x)
        m->tent[v].x = 1;
    if (pool)
        m->tent[v].taken += amount;
    m->nsel++;
    return 0;
}

static void unwind(struct matcher *m, int mark)
{
    while (m->nsel > mark) {
        struct sel *s = &m->sel[--m->nsel];
        if (s->x)
            m->tent[s->v].x = 0;
        if (s->pool)
            m->tent[s->v].taken -= s->amount;
        for (int u = s->v; u >= 0; u = V(m, u)->parent) {
            m->tent[u].use--;
            if (u != s->v)
                for (int a = 0; a < GRAPH_AGG_MAX; a++)
                    m->tent[u].agg[a] -= s->contrib[a];
        }
    }
}

static void reset(struct matcher *m)
{
    for (int i = 0; i < m->ntouched; i++)
        memset(&m->tent[m->touched[i]], 0, sizeof(struct tent));
    m->ntouched = 0;
    m->nsel = 0;
}

/* ---- the search ---- */

/* Policy order of v's children: reversed for "high" style choices. */
static bool reverse_children(const struct matcher *m, int v)
{
    int below_node = 0;   /* is v a node or inside one? */
    for (int u = v; u >= 0 && m->node_type >= 0; u = V(m, u)->parent)
        if (V(m, u)->type == m->node_type)
            below_node = 1;
    switch (m->policy) {
    case MATCH_HIGH:
    case MATCH_FIRST:
        return true;
    case MATCH_LONODE:
    case MATCH_LONODEX:
        return below_node;
    case MATCH_HINODE:
    case MATCH_HINODEX:
        return !below_node;
    default:
        return false;
    }
}

struct order {
    int buf[64];
    int *v;
    int n;
};

static int64_t free_units(struct matcher *m, int v)
{
    const struct graph_vertex *x = V(m, v);
    int64_t f = 0;
    for (int a = 0; a < GRAPH_AGG_MAX; a++)
        f += x->total[a] - m->tent[v].agg[a] - (m->sat ? 0 : hold_peak(m, x, a, PEAK_EXACT));
    return f;
}

static int locality_cmp(const void *a, const void *b, void *arg)
{
    const int64_t *key = arg;
    int i = *(const int *)a, j = *(const int *)b;
    if (key[i] != key[j])
        return key[i] < key[j] ? -1 : 1;
    return i - j;
}

/* Children of v in the order the policy wants them tried. */
static void order_children(struct matcher *m, int v, struct order *o)
{
    int lo = m->kid_off[v], n = m->kid_off[v + 1] - lo;
    o->n = n;
    o->v = n <= 64 ? o->buf : malloc(n * sizeof(int));
    if (!o->v) {
        o->n = 0;
        return;
    }
    bool rev = reverse_children(m, v);
    for (int i = 0; i < n; i++)
        o->v[i] = m->kids[lo + (rev ? n - 1 - i : i)];
    if (m->policy == MATCH_LOCALITY && n > 1) {
        /* Best fit: the child with the fewest free units that is still
         * tried first, so partly used subtrees fill up before empty ones. */
        int64_t *key = malloc(n * sizeof(int64_t));
        int *idx = malloc(n * sizeof(int));
        if (key && idx) {
            for (int i = 0; i < n; i++) {
                key[i] = free_units(m, o->v[i]);
                idx[i] = i;
            }
            qsort_r(idx, n, sizeof(int), locality_cmp, key);
            int tmp[64], *cp = n <= 64 ? tmp : malloc(n * sizeof(int));
            if (cp) {
                for (int i = 0; i < n; i++)
                    cp[i] = o->v[idx[i]];
                memcpy(o->v, cp, n * sizeof(int));
                if (cp != tmp)
                    free(cp);
            }
        }
        free(key);
        free(idx);
    }
}

static void order_release(struct order *o)
{
    if (o->v != o->buf)
        free(o->v);
}

static int64_t collect(struct matcher *m, int u, const struct rq *q, bool x,
                       int64_t want, bool self);
static bool satisfy(struct matcher *m, int u, const struct rq *with, int n, bool x);
static bool take_count(struct matcher *m, int u, const struct rq *q, bool x, bool self);

/* May the search for q go through (not claim) w? */
static bool pass_through(struct matcher *m, int w, const struct rq *q)
{
    if (!vx_open(m, w))
        return false;
    if (node_exclusive(m) && V(m, w)->type == m->node_type && !vx_real_free(m, w))
        return false;
    if (q->type >= 0 && !(m->descmask[w] & type_bit(q->type)))
        return false;
    if (q->type == RQ_SLOT && !(m->descmask[w] & q->withmask))
        return false;
    return vx_agg_enough(m, w, q->need);
}

/* w has q's type: claim it (and what q->with needs beneath it). */
static int64_t candidate(struct matcher *m, int w, const struct rq *q, bool x, int64_t want)
{
    const struct graph_vertex *vx = V(m, w);
    bool excl = x || q->excl;
    if (vx->size > 1) {
        if (!vx_open(m, w))
            return 0;
        if (excl) {
            /* Fluxion: a pool claimed exclusively (inside a slot, or under
             * an exclusive vertex) is held whole, so it is neither shared
             * with another job nor split between two slots of this one */
            if (m->tent[w].use || !vx_real_free(m, w)
                || push_sel(m, w, vx->size, true, true, false) < 0)
                return 0;
            return vx->size < want ? vx->size : want;
        }
        int64_t avail = vx_pool_avail(m, w);
        int64_t take = avail < want ? avail : want;
        if (take <= 0 || push_sel(m, w, take, excl, true, false) < 0)
            return 0;
        return take;
    }
    if (excl ? !vx_free(m, w) : !vx_open(m, w))
        return 0;
    if (node_exclusive(m) && vx->type == m->node_type && !vx_real_free(m, w))
        return 0;
    if (!vx_agg_enough(m, w, q->need))
        return 0;
    int mark = m->nsel;
    if (push_sel(m, w, 1, excl, false, q->excl) < 0)
        return 0;
    if (!satisfy(m, w, q->with, q->nwith, excl)) {
        unwind(m, mark);
        return 0;
    }
    return 1;
}

static int64_t visit(struct matcher *m, int w, const struct rq *q, bool x, int64_t want)
{
    if (V(m, w)->type == q->type)
        return candidate(m, w, q, x, want);
    if (!pass_through(m, w, q))
        return 0;
    return collect(m, w, q, x, want, false);
}

/* Up to want units of q in the subtree of u (u itself too when self). */
static int64_t collect(struct matcher *m, int u, const struct rq *q, bool x,
                       int64_t want, bool self)
{
    if (self)
        return visit(m, u, q, x, want);
    struct order o;
    order_children(m, u, &o);
    int64_t got = 0;
    for (int i = 0; i < o.n && got < want; i++)
        got += visit(m, o.v[i], q, x, want - got);
    order_release(&o);
    return got;
}

/* Form up to want slots from the subtree of w, w being a resolution point. */
static int64_t slot_form(struct matcher *m, int w, const struct rq *q, int64_t want)
{
    int64_t n = 0;
    while (n < want) {
        int mark = m->nsel;
        int i;
        for (i = 0; i < q->nwith; i++)
            if (!take_count(m, w, &q->with[i], true, false))
                break;
        if (i < q->nwith) {
            unwind(m, mark);
            break;
        }
        n++;
    }
    return n;
}

/* Slots are formed at the lowest vertex whose children carry a slot type. */
static int64_t slot_collect(struct matcher *m, int u, const struct rq *q, int64_t want)
{
    if (m->childmask[u] & q->withmask)
        return slot_form(m, u, q, want);
    struct order o;
    order_children(m, u, &o);
    int64_t got = 0;
    for (int i = 0; i < o.n && got < want; i++)
        if (pass_through(m, o.v[i], q))
            got += slot_collect(m, o.v[i], q, want - got);
    order_release(&o);
    return got;
}

static int64_t count_units(struct matcher *m, int u, const struct rq *q, bool x,
                           int64_t want, bool self)
{
    if (q->type != RQ_SLOT)
        return collect(m, u, q, x, want, self);
    if (self && !pass_through(m, u, q))
        return 0;
    return slot_collect(m, u, q, want);
}

/* Take an acceptable count of q beneath u: the most that are free, up to
 * the request's max, rounded down to a value its operator allows. */
static bool take_count(struct matcher *m, int u, const struct rq *q, bool x, bool self)
{
    const struct rspec_count *c = q->count;
    if (c->max == 0)
        return true;    /* "gpu: 0" */
    int mark = m->nsel;
    int64_t got = count_units(m, u, q, x, c->max, self);
    int64_t best = rspec_count_best(c, got);
    if (best < 0 || best < c->min
        || (m->want_max && c->min < c->max && c->max != INT64_MAX
            && best < rspec_count_best(c, c->max))) {
        unwind(m, mark);
        return false;
    }
    if (best < got) {
        /* The operator skips the count we reached: take the lower one. */
        unwind(m, mark);
        if (count_units(m, u, q, x, best, self) < best) {
            unwind(m, mark);
            return false;
        }
    }
    return true;
}

static bool satisfy(struct matcher *m, int u, const struct rq *with, int n, bool x)
{
    for (int i = 0; i < n; i++)
        if (!take_count(m, u, &with[i], x || with[i].type == RQ_SLOT, false))
            return false;
    return true;
}

/* ---- request compilation ---- */

static void rq_free(struct rq *r, int n)
{
    for (int i = 0; r && i < n; i++)
        rq_free(r[i].with, r[i].nwith);
    free(r);
}

static int rq_build(struct matcher *m, const struct rspec_res *res, int n,
                    struct rq **out, struct errmsg *err)
{
    struct rq *r = calloc(n ? n : 1, sizeof(*r));
    if (!r)
        return errmsg_set(err, -ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const struct rspec_res *s = &res[i];
        struct rq *q = &r[i];
        q->count = &s->count;
        if (!strcmp(s->type, "slot")) {
            q->type = RQ_SLOT;
        } else {
            q->type = graph_lookup_type(m->g, s->type);
            if ((q->type < 0 || graph_count_type(m->g, q->type) == 0) && s->count.max > 0) {
                rq_free(r, n);
                return errmsg_set(err, -EINVAL, "requested resource type '%s' but the "
                                  "instance has none", s->type);
            }
            q->excl = s->exclusive;
        }
        int rc = rq_build(m, s->with, s->nwith, &q->with, err);
        if (rc < 0) {
            rq_free(r, n);
            return rc;
        }
        q->nwith = s->nwith;
        for (int a = 0; a < GRAPH_AGG_MAX; a++)
            if (q->type >= 0 && q->type == graph_agg_type(m->g, a))
                q->need[a] = 1;
        for (int j = 0; j < q->nwith; j++) {
            q->withmask |= type_bit(q->with[j].type);
            for (int a = 0; a < GRAPH_AGG_MAX; a++)
                q->need[a] += q->with[j].count->min * q->with[j].need[a];
        }
    }
    *out = r;
    return 0;
}

/* ---- jobs ---- */

static struct job **job_slot(const struct matcher *m, uint64_t id)
{
    struct job **p = &m->jobs[fluid_hash(id) % m->nbuckets];
    while (*p && (*p)->a.job != id)
        p = &(*p)->next;
    return p;
}

const struct match_alloc *match_lookup(const struct matcher *m, uint64_t job)
{
    struct job *j = *job_slot(m, job);
    return j ? &j->a : NULL;
}

size_t match_njobs(const struct matcher *m)
{
    return m->njobs;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return x < y ? -1 : x > y;
}

static const struct match_item *find_item(const struct job *j, int v);

/* The graph holds of j's items. Aggregates per hold, bottom-up: an X hold
 * takes its subtree's total, an S hold the sum of what the job takes
 * beneath it. All or none: 0 or -ENOMEM. */
static int add_holds(struct matcher *m, struct job *j)
{
    if (!m->agg && !(m->agg = calloc(m->n ? m->n : 1, sizeof(*m->agg))))
        return -ENOMEM;
    int64_t (*agg)[GRAPH_AGG_MAX] = m->agg;
    int n = j->a.nitems, rc = 0;
    for (int k = n - 1; k >= 0; k--) {
        struct match_item *it = &j->a.items[k];
        const struct graph_vertex *x = V(m, it->v);
        struct graph_hold h = {.job = j->a.job, .start = j->a.start, .end = j->a.end,
                               .amount = it->amount, .kind = it->kind};
        for (int a = 0; a < GRAPH_AGG_MAX; a++) {
            int64_t val = it->kind == GRAPH_HOLD_X ? x->total[a]
                        : it->kind == GRAPH_HOLD_P ? 0 : agg[it->v][a];
            h.agg[a] = (int32_t)val;
            if (x->parent >= 0)
                agg[x->parent][a] += val;
        }
        if ((rc = graph_hold_add(m->g, it->v, &h)) < 0) {
            for (int r = k + 1; r < n; r++)
                graph_hold_remove_job(m->g, j->a.items[r].v, j->a.job);
            break;
        }
    }
    /* Only the items' parents were written: zero them for the next commit. */
    for (int k = 0; k < n; k++) {
        int p = V(m, j->a.items[k].v)->parent;
        if (p >= 0)
            memset(agg[p], 0, sizeof(agg[p]));
    }
    return rc;
}

/* Turn the tentative selection into holds and a job record. */
static int commit(struct matcher *m, uint64_t id, int64_t now, struct job **out)
{
    struct job *j = calloc(1, sizeof(*j));
    int n = 0;
    if (!j)
        return -ENOMEM;
    qsort(m->touched, m->ntouched, sizeof(int), cmp_int);
    j->a.items = calloc(m->ntouched ? m->ntouched : 1, sizeof(*j->a.items));
    if (!j->a.items)
        goto nomem;
    bool nodex = node_exclusive(m);
    for (int i = 0; i < m->ntouched; i++) {
        int v = m->touched[i];
        struct tent *t = &m->tent[v];
        /* A vertex unwound to no use and chosen again was touched twice:
         * one item (and one hold) per vertex. */
        if (t->use == 0 || (i > 0 && m->touched[i - 1] == v))
            continue;
        struct match_item *it = &j->a.items[n];
        it->v = v;
        it->amount = t->taken > 0 ? t->taken : 1;
        it->kind = t->taken > 0 ? GRAPH_HOLD_P : t->x ? GRAPH_HOLD_X : GRAPH_HOLD_S;
        if (nodex && V(m, v)->type == m->node_type) {
            it->kind = GRAPH_HOLD_X;
            it->whole = 1;
        }
        n++;
    }
    j->a.nitems = n;
    /* Explicitly exclusive (non-slot) vertices are held whole. */
    for (int i = 0; i < m->nsel; i++) {
        struct match_item *it;
        if (m->sel[i].whole && (it = (struct match_item *)find_item(j, m->sel[i].v)))
            it->whole = 1;
    }
    j->a.job = id;
    j->a.start = m->t0;
    j->a.end = m->t1;
    j->a.reserved = m->t0 > now;
    int rc = add_holds(m, j);
    if (rc < 0)
        goto nomem;
    *job_slot(m, id) = j;
    m->njobs++;
    *out = j;
    return 0;
nomem:
    job_free(j);
    return -ENOMEM;
}

int match_extend(struct matcher *m, uint64_t job, int64_t end)
{
    struct job *j = *job_slot(m, job);
    if (!j)
        return -ENOENT;
    for (int i = 0; i < j->a.nitems; i++)
        graph_hold_set_end(m->g, j->a.items[i].v, job, end);
    j->a.end = end;
    return 0;
}

int match_cancel(struct matcher *m, uint64_t job)
{
    struct job **p = job_slot(m, job);
    struct job *j = *p;
    if (!j)
        return -ENOENT;
    for (int i = 0; i < j->a.nitems; i++)
        graph_hold_remove_job(m->g, j->a.items[i].v, job);
    *p = j->next;
    job_free(j);
    m->njobs--;
    return 0;
}

/* The node vertex at or above v, or -1. */
static int node_of(const struct matcher *m, int v)
{
    for (; v >= 0; v = V(m, v)->parent)
        if (V(m, v)->type == m->node_type)
            return v;
    return -1;
}

int match_release(struct matcher *m, uint64_t job, match_node_f release, void *arg,
                  bool *full)
{
    struct job **p = job_slot(m, job);
    struct job *j = *p;
    if (!j)
        return -ENOENT;
    if (j->a.reserved)
        return -EINVAL;
    int n = j->a.nitems, kept = 0;
    uint8_t *keep = calloc(n ? n : 1, 1);
    if (!keep)
        return -ENOMEM;
    /* what stays: items on the nodes kept, and what is not on a node (a
     * rack's pool); the shared vertices above released nodes only go */
    int released = 0;
    for (int i = 0; i < n; i++) {
        int node = node_of(m, j->a.items[i].v);
        bool gone = node >= 0 && release(arg, V(m, node));
        keep[i] = node < 0 ? j->a.items[i].kind != GRAPH_HOLD_S : !gone;
        released += gone;
    }
    if (!released) {
        free(keep);
        *full = false;
        return 0;
    }
    for (int i = 0; i < n; i++) {
        int node = node_of(m, j->a.items[i].v);
        if (node >= 0 && keep[i])
            continue;
        if (node >= 0 || j->a.items[i].kind != GRAPH_HOLD_X)
            continue;
        /* a vertex above the nodes held whole cannot lose part of itself */
        for (int k = 0; k < n; k++) {
            int nk = node_of(m, j->a.items[k].v);
            if (nk < 0 || keep[k])
                continue;
            for (int u = V(m, nk)->parent; u >= 0; u = V(m, u)->parent)
                if (u == j->a.items[i].v) {
                    free(keep);
                    return -EBUSY;
                }
        }
    }
    for (int i = 0; i < n; i++) {
        if (!keep[i])
            continue;
        /* an ancestor of a kept item stays (items are in pre-order) */
        for (int u = V(m, j->a.items[i].v)->parent; u >= 0; u = V(m, u)->parent) {
            const struct match_item *it = find_item(j, u);
            if (it)
                keep[it - j->a.items] = 1;
        }
    }
    for (int i = 0; i < n; i++)
        graph_hold_remove_job(m->g, j->a.items[i].v, job);
    for (int i = 0; i < n; i++)
        if (keep[i])
            j->a.items[kept++] = j->a.items[i];
    free(keep);
    j->a.nitems = kept;
    *full = kept == 0;
    if (kept == 0 || add_holds(m, j) < 0) {
        /* all of it, or holds that cannot be made again: the job is gone */
        *p = j->next;
        job_free(j);
        m->njobs--;
        *full = true;
    }
    return 0;
}

/* ---- entry points ---- */

/* Does the request have a bounded moldable count (min < max) anywhere? */
static bool moldable(const struct rq *r, int n)
{
    for (int i = 0; i < n; i++)
        if ((r[i].count->min < r[i].count->max && r[i].count->max != INT64_MAX)
            || moldable(r[i].with, r[i].nwith))
            return true;
    return false;
}

static bool try_once(struct matcher *m, const struct rq *top, int ntop)
{
    reset(m);
    for (int i = 0; i < ntop; i++)
        if (!take_count(m, 0, &top[i], top[i].type == RQ_SLOT, true))
            return false;
    return true;
}

static bool try_at(struct matcher *m, const struct rq *top, int ntop, int64_t t0,
                   int64_t t1, bool sat)
{
    m->t0 = t0;
    m->t1 = t1;
    m->sat = sat;
    /* Fluxion's first: the first vertices that can give a moldable count
     * its max, before any that give less */
    if (m->policy == MATCH_FIRST && !sat && moldable(top, ntop)) {
        m->want_max = true;
        bool ok = try_once(m, top, ntop);
        m->want_max = false;
        if (ok)
            return true;
    }
    return try_once(m, top, ntop);
}

/* Units of each type the request asks for, counts at their minimum. */
static void need_by_type(const struct rq *r, int n, int64_t mult, int64_t *need, int ntypes)
{
    for (int i = 0; i < n; i++) {
        int64_t c = mult * r[i].count->min;
        if (r[i].type >= 0 && r[i].type < ntypes)
            need[r[i].type] += c;
        need_by_type(r[i].with, r[i].nwith, c, need, ntypes);
    }
}

/* Why a request can never be met: the first type it wants more of than the
 * whole graph has, else its shape. */
static int unsat_reason(struct matcher *m, const struct rq *top, int ntop, struct errmsg *err)
{
    if (m->sat_up) {
        /* unsatisfiable on what is up: is it only for want of those down? */
        m->sat_up = false;
        bool all = try_at(m, top, ntop, 0, 1, true);
        m->sat_up = true;
        if (all)
            return errmsg_set(err, -ENODEV, "only resources that are down, drained or "
                              "offline could satisfy the request");
    }
    int ntypes = graph_ntypes(m->g), best = -1;
    int64_t *need = calloc(ntypes ? ntypes : 1, sizeof(*need));
    int *depth = calloc(ntypes ? ntypes : 1, sizeof(*depth));
    if (need && depth) {
        need_by_type(top, ntop, 1, need, ntypes);
        /* the outermost type short first: 5 nodes of a 4-node instance
         * are too many nodes, not too many cores */
        for (int t = 0; t < ntypes; t++)
            depth[t] = INT32_MAX;
        for (int v = 0; v < graph_nvertices(m->g); v++) {
            const struct graph_vertex *x = graph_vertex(m->g, v);
            if (x->depth < depth[x->type])
                depth[x->type] = x->depth;
        }
        for (int t = 0; t < ntypes; t++)
            if (need[t] > graph_count_type(m->g, t) && graph_count_type(m->g, t) > 0
                && (best < 0 || depth[t] < depth[best]))
                best = t;
    }
    if (m->banned) {
        /* blame the constraints only if the whole instance could do it */
        uint8_t *banned = m->banned;
        m->banned = NULL;
        bool whole = try_at(m, top, ntop, 0, 1, true);
        m->banned = banned;
        if (whole) {
            free(need);
            free(depth);
            return errmsg_set(err, -ENODEV, "the constraints (--requires) leave %d node%s, "
                              "and those can never satisfy the request", m->nallowed,
                              m->nallowed == 1 ? "" : "s");
        }
    }
    int rc = best >= 0
        ? errmsg_set(err, -ENODEV, "requested %lld %s%s but the instance has %lld",
                     (long long)need[best], graph_type_name(m->g, best),
                     need[best] == 1 ? "" : "s", (long long)graph_count_type(m->g, best))
        : errmsg_set(err, -ENODEV, "no part of the resource graph can ever satisfy "
                     "the request (its resources are not nested that way)");
    free(need);
    free(depth);
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Candidate start times after now: when some allocation ends. */
static int64_t *end_times(const struct matcher *m, int64_t now, size_t *count)
{
    int64_t *t = malloc((m->njobs + 1) * sizeof(*t));
    size_t n = 0;
    if (!t)
        return NULL;
    for (size_t b = 0; b < m->nbuckets; b++)
        for (struct job *j = m->jobs[b]; j; j = j->next)
            if (j->a.end > now && j->a.end < GRAPH_FOREVER)
                t[n++] = j->a.end;
    qsort(t, n, sizeof(*t), cmp_i64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || t[k - 1] != t[i])
            t[k++] = t[i];
    *count = k;
    return t;
}

static int64_t window_end(int64_t t0, int64_t duration)
{
    return duration > 0 && duration < GRAPH_FOREVER - t0 ? t0 + duration : GRAPH_FOREVER;
}

/* ---- the reservation search's root gate ----
 *
 * Searching for the earliest start tries every end time of every
 * allocation, and each try walks the graph. A try can only succeed if the
 * root has, over the whole window, at least the aggregate units (cores,
 * gpus) the request must hold alone: the units inside its slots or
 * beneath its exclusive vertices, min of every count. Those units are held
 * by nobody else during the window, and the root's holds count exactly the
 * units others make unavailable, so peak usage <= total - need is
 * necessary. The root's holds do not change during the search, so their
 * usage profile is sorted once and each time is checked in O(log n). */

#define NEED_CAP ((int64_t)1 << 40)     /* saturate: beyond any graph */

static int64_t sat_add(int64_t a, int64_t b)
{
    return a + b > NEED_CAP ? NEED_CAP : a + b;
}

static int64_t sat_mul(int64_t a, int64_t b)
{
    return a != 0 && b > NEED_CAP / a ? NEED_CAP : a * b;
}

/* Aggregate units of type index a that the requests q[0..n) claim alone,
 * at least; x: they are inside a slot or an exclusive vertex. */
static int64_t excl_need(const struct matcher *m, const struct rq *q, int n, bool x, int a)
{
    int64_t need = 0;
    for (int i = 0; i < n; i++) {
        bool ex = x || q[i].excl || q[i].type == RQ_SLOT;
        int64_t unit = ex && q[i].type == graph_agg_type(m->g, a) ? 1 : 0;
        unit = sat_add(unit, excl_need(m, q[i].with, q[i].nwith, ex, a));
        need = sat_add(need, sat_mul(q[i].count->min, unit));
    }
    return need;
}

/* The root's usage profile of one aggregate, and a sliding window over it. */
struct profile {
    int64_t need;                   /* 0: this aggregate is not checked */
    struct { int64_t t, d; } *ev;   /* sorted, releases before claims */
    int64_t *cum;                   /* usage after ev[0..i] */
    int *dq;                        /* indices in [lo, hi), cum decreasing */
    int n, lo, hi, head, tail;
};

struct gate {
    struct profile p[GRAPH_AGG_MAX];
};

static void gate_release(struct gate *gt)
{
    for (int a = 0; a < GRAPH_AGG_MAX; a++) {
        free(gt->p[a].ev);
        free(gt->p[a].cum);
        free(gt->p[a].dq);
    }
}

/* Build the root's profiles; on any failure the gate stays open. */
static void gate_init(struct matcher *m, const struct rq *top, int ntop, struct gate *gt)
{
    const struct graph_vertex *root = V(m, 0);
    memset(gt, 0, sizeof(*gt));
    /* A pool of cores gives units its hold does not count: no gate then. */
    if (m->agg_pooled)
        return;
    for (int a = 0; a < GRAPH_AGG_MAX; a++) {
        struct profile *p = &gt->p[a];
        int64_t need = excl_need(m, top, ntop, false, a);
        if (need == 0)
            continue;
        int n = 0, max = 2 * root->nholds + 1;
        p->ev = malloc(max * sizeof(*p->ev));
        p->cum = malloc(max * sizeof(*p->cum));
        p->dq = malloc(max * sizeof(*p->dq));
        if (!p->ev || !p->cum || !p->dq)
            goto open;
        for (int i = 0; i < root->nholds; i++) {
            const struct graph_hold *h = &root->holds[i];
            if (h->agg[a] == 0 || h->start >= h->end)
                continue;
            p->ev[n].t = h->start;
            p->ev[n++].d = h->agg[a];
            p->ev[n].t = h->end;
            p->ev[n++].d = -h->agg[a];
        }
        qsort(p->ev, n, sizeof(*p->ev), ev_cmp);
        for (int i = 0; i < n; i++)
            p->cum[i] = (i ? p->cum[i - 1] : 0) + p->ev[i].d;
        p->n = n;
        p->need = need;
    }
    return;
open:
    gate_release(gt);
    memset(gt, 0, sizeof(*gt));
}

/* May the request fit in [t0, t1) as far as the root's totals go? Calls
 * must come with t0 and t1 each non-decreasing (the search's order), so the
 * window's peak is a sliding maximum: every event enters and leaves once. */
static bool gate_open(const struct matcher *m, struct gate *gt, int64_t t0, int64_t t1)
{
    for (int a = 0; a < GRAPH_AGG_MAX; a++) {
        struct profile *p = &gt->p[a];
        if (p->need == 0)
            continue;
        int64_t limit = V(m, 0)->total[a] - p->need;
        if (limit < 0)
            return false;
        /* events before t1 enter; the usage at t0 is cum[lo - 1] */
        for (; p->hi < p->n && p->ev[p->hi].t < t1; p->hi++) {
            while (p->tail > p->head && p->cum[p->dq[p->tail - 1]] <= p->cum[p->hi])
                p->tail--;
            p->dq[p->tail++] = p->hi;
        }
        while (p->lo < p->n && p->ev[p->lo].t <= t0)
            p->lo++;
        while (p->tail > p->head && p->dq[p->head] < p->lo)
            p->head++;
        int64_t peak = p->lo > 0 ? p->cum[p->lo - 1] : 0;
        if (p->tail > p->head && p->cum[p->dq[p->head]] > peak)
            peak = p->cum[p->dq[p->head]];
        if (peak > limit)
            return false;
    }
    return true;
}

/* RFC 31 constraints: the nodes they rule out are closed to this match, so
 * neither they nor anything beneath them is claimed or passed through. */
static int ban_nodes(struct matcher *m, json_t *constraints, struct errmsg *err)
{
    struct constraint *c;
    int rc = constraint_compile(constraints, &c, err);
    if (rc < 0)
        return rc;
    if (!(m->banned = calloc((size_t)m->n, 1))) {
        constraint_destroy(c);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    int allowed = 0;
    for (int v = 0; v < m->n; v++) {
        const struct graph_vertex *x = V(m, v);
        if (x->type != m->node_type)
            continue;
        m->banned[v] = !constraint_match(c, x);
        allowed += !m->banned[v];
    }
    constraint_destroy(c);
    m->nallowed = allowed;
    return 0;
}

int match_job(struct matcher *m, const struct rspec *req, uint64_t job,
              enum match_op op, int64_t now, int64_t duration,
              const struct match_alloc **out, struct errmsg *err)
{
    struct rq *top = NULL;
    struct job *j = NULL;
    int rc;
    bool sat = op == MATCH_SATISFIABILITY || op == MATCH_SATISFIABILITY_UP;
    if (!sat && match_lookup(m, job))
        return errmsg_set(err, -EEXIST, "job %llu already holds resources",
                          (unsigned long long)job);
    if ((rc = rq_build(m, req->res, req->nres, &top, err)) < 0)
        return rc;
    if (req->constraints && (rc = ban_nodes(m, req->constraints, err)) < 0) {
        rq_free(top, req->nres);
        return rc;
    }
    if (sat) {
        m->sat_up = op == MATCH_SATISFIABILITY_UP;
        rc = try_at(m, top, req->nres, now, window_end(now, duration), true) ? 0
           : unsat_reason(m, top, req->nres, err);
        m->sat_up = false;
        goto done;
    }
    bool ok = try_at(m, top, req->nres, now, window_end(now, duration), false);
    if (!ok && op == MATCH_ALLOCATE_ORELSE_RESERVE) {
        size_t nt = 0;
        int64_t *t = end_times(m, now, &nt);
        struct gate gt;
        gate_init(m, top, req->nres, &gt);
        for (size_t i = 0; t && i < nt && !ok; i++) {
            int64_t t1 = window_end(t[i], duration);
            if (gate_open(m, &gt, t[i], t1))
                ok = try_at(m, top, req->nres, t[i], t1, false);
        }
        gate_release(&gt);
        free(t);
    }
    if (ok) {
        rc = commit(m, job, now, &j);
        if (rc == 0 && out)
            *out = &j->a;
        if (rc < 0)
            errmsg_set(err, rc, "out of memory");
        goto done;
    }
    rc = errmsg_set(err, -EBUSY, "no matching resources are free");
    if (op == MATCH_ALLOCATE_WITH_SAT || op == MATCH_ALLOCATE_ORELSE_RESERVE) {
        /* allocate_with_satisfiability answers as Fluxion does: what only
         * down resources could hold is unsatisfiable now. A reservation
         * (the broker's queue) still waits for them to come back up. */
        m->sat_up = op == MATCH_ALLOCATE_WITH_SAT;
        if (!try_at(m, top, req->nres, now, window_end(now, duration), true))
            rc = unsat_reason(m, top, req->nres, err);
        m->sat_up = false;
    }
done:
    reset(m);
    rq_free(top, req->nres);
    free(m->banned);
    m->banned = NULL;
    return rc;
}

int match_unsat_per_unit(struct matcher *m, const struct rspec *req, struct errmsg *err)
{
    struct rq *top = NULL;
    int rc = rq_build(m, req->res, req->nres, &top, err);
    if (rc < 0)
        return rc;
    /* One unit of each top-level resource, ignoring every hold. */
    struct rspec_count *one = calloc(req->nres ? req->nres : 1, sizeof(*one));
    if (!one) {
        rq_free(top, req->nres);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    for (int i = 0; i < req->nres; i++) {
        one[i] = *top[i].count;
        /* the root itself is not searched for: its count stands */
        if (one[i].min > 1 && top[i].type != V(m, 0)->type)
            one[i].min = one[i].max = 1;
        one[i].nset = 0;
        one[i].set = NULL;
        top[i].count = &one[i];
    }
    rc = try_at(m, top, req->nres, 0, GRAPH_FOREVER, true) ? -EBUSY
       : unsat_reason(m, top, req->nres, err);
    reset(m);
    free(one);
    rq_free(top, req->nres);
    return rc;
}

/* ---- output ---- */

static struct job *job_of(const struct matcher *m, const struct match_alloc *a)
{
    return a ? *job_slot(m, a->job) : NULL;
}

/* Walk an allocation in containment post-order, whole subtrees expanded. */
typedef match_item_f item_f;

static void walk_sub(const struct matcher *m, int v, item_f f, void *arg)
{
    for (int i = m->kid_off[v]; i < m->kid_off[v + 1]; i++)
        walk_sub(m, m->kids[i], f, arg);
    f(arg, v, V(m, v)->size, true);
}

static int item_cmp(const void *key, const void *elem)
{
    int v = *(const int *)key;
    const struct match_item *it = elem;
    return v < it->v ? -1 : v > it->v;
}

static const struct match_item *find_item(const struct job *j, int v)
{
    return bsearch(&v, j->a.items, j->a.nitems, sizeof(*j->a.items), item_cmp);
}

/* Every ancestor of a held vertex is itself held (shared at least), so the
 * allocation is a subtree rooted at the graph root: walk it children first. */
static void walk_rec(const struct matcher *m, const struct job *j,
                     const struct match_item *it, item_f f, void *arg)
{
    if (it->whole) {
        walk_sub(m, it->v, f, arg);
        return;
    }
    for (int i = m->kid_off[it->v]; i < m->kid_off[it->v + 1]; i++) {
        const struct match_item *c = find_item(j, m->kids[i]);
        if (c)
            walk_rec(m, j, c, f, arg);
    }
    f(arg, it->v, it->amount, it->kind != GRAPH_HOLD_S);
}

static void walk_alloc(const struct matcher *m, const struct job *j, item_f f, void *arg)
{
    const struct match_item *root = find_item(j, 0);
    if (root)
        walk_rec(m, j, root, f, arg);
}

struct fmt_ctx {
    const struct matcher *m;
    struct strbuf *sb;
};

static void fmt_item(void *arg, int v, int64_t amount, bool x)
{
    struct fmt_ctx *c = arg;
    const struct graph_vertex *vx = V(c->m, v);
    strbuf_addstr(c->sb, "      ");
    for (int i = 0; i <= vx->depth; i++)
        strbuf_addstr(c->sb, "---");
    strbuf_addf(c->sb, "%s[%lld:%s]\n", vx->name, (long long)(x ? amount : 1),
                x ? "x" : "s");
}

void match_walk(const struct matcher *m, const struct match_alloc *a, match_item_f f,
                void *arg)
{
    struct job *j = job_of(m, a);
    if (j)
        walk_alloc(m, j, f, arg);
}

char *match_format_simple(const struct matcher *m, const struct match_alloc *a)
{
    struct job *j = job_of(m, a);
    struct strbuf sb = STRBUF_INIT;
    struct fmt_ctx c = {.m = m, .sb = &sb};
    if (j)
        walk_alloc(m, j, fmt_item, &c);
    return strbuf_detach(&sb, NULL);
}

struct count_ctx {
    const struct matcher *m;
    int64_t *counts;
    int ntypes;
};

static void count_item(void *arg, int v, int64_t amount, bool x)
{
    struct count_ctx *c = arg;
    int t = V(c->m, v)->type;
    if (x && t < c->ntypes)
        c->counts[t] += amount;
}

void match_count_exclusive(const struct matcher *m, const struct match_alloc *a,
                           int64_t *counts, int ntypes)
{
    struct job *j = job_of(m, a);
    struct count_ctx c = {.m = m, .counts = counts, .ntypes = ntypes};
    memset(counts, 0, ntypes * sizeof(*counts));
    if (j)
        walk_alloc(m, j, count_item, &c);
}

struct r_node {
    int v;
    int ncores, ngpus;
    int *cores, *gpus;
};

struct r_ctx {
    const struct matcher *m;
    int core_t, gpu_t;
    struct r_node *nodes;
    int nnodes;
    int err;
};

static int push_id(int **a, int *n, int id)
{
    int *x = realloc(*a, (*n + 1) * sizeof(int));
    if (!x)
        return -ENOMEM;
    x[(*n)++] = id;
    *a = x;
    return 0;
}

static void r_item(void *arg, int v, int64_t amount, bool x)
{
    struct r_ctx *c = arg;
    (void)amount;
    int t = V(c->m, v)->type;
    bool leaf = t == c->core_t || t == c->gpu_t;
    if (c->err || (leaf && !x) || (!leaf && t != c->m->node_type))
        return;
    int nv = node_of(c->m, v);
    if (nv < 0)
        return;
    struct r_node *rn = NULL;
    for (int i = c->nnodes - 1; i >= 0 && !rn; i--)
        if (c->nodes[i].v == nv)
            rn = &c->nodes[i];
    if (!rn) {
        struct r_node *nn = realloc(c->nodes, (c->nnodes + 1) * sizeof(*nn));
        if (!nn) {
            c->err = -ENOMEM;
            return;
        }
        c->nodes = nn;
        rn = &c->nodes[c->nnodes++];
        memset(rn, 0, sizeof(*rn));
        rn->v = nv;
    }
    if (t == c->core_t)
        c->err = push_id(&rn->cores, &rn->ncores, (int)V(c->m, v)->id);
    else if (t == c->gpu_t)
        c->err = push_id(&rn->gpus, &rn->ngpus, (int)V(c->m, v)->id);
}

static int rank_of(const struct matcher *m, int nv)
{
    if (V(m, nv)->rank >= 0)
        return V(m, nv)->rank;
    /* Graphs without ranks (GRUG recipes): the node's ordinal. */
    int r = 0;
    for (int v = 0; v < nv; v++)
        if (V(m, v)->type == m->node_type)
            r++;
    return r;
}

static int r_node_cmp(const void *a, const void *b)
{
    const struct r_node *x = a, *y = b;
    return x->v < y->v ? -1 : x->v > y->v;
}

json_t *match_to_R(const struct matcher *m, const struct match_alloc *a)
{
    struct job *j = job_of(m, a);
    struct r_ctx c = {.m = m, .core_t = graph_lookup_type(m->g, "core"),
                      .gpu_t = graph_lookup_type(m->g, "gpu")};
    struct rv1_writer *w = NULL;
    json_t *R = NULL;
    if (!j)
        return NULL;
    walk_alloc(m, j, r_item, &c);
    if (c.err || !(w = rv1_writer_create()))
        goto out;
    qsort(c.nodes, c.nnodes, sizeof(*c.nodes), r_node_cmp);
    for (int i = 0; i < c.nnodes; i++) {
        struct r_node *rn = &c.nodes[i];
        if (rv1_writer_add(w, rank_of(m, rn->v), V(m, rn->v)->name, rn->cores,
                           rn->ncores, rn->gpus, rn->ngpus) < 0)
            goto out;
    }
    R = rv1_writer_finish(w, (double)a->start,
                          a->end >= GRAPH_FOREVER ? 0. : (double)a->end);
out:
    rv1_writer_destroy(w);
    for (int i = 0; i < c.nnodes; i++) {
        free(c.nodes[i].cores);
        free(c.nodes[i].gpus);
    }
    free(c.nodes);
    return R;
}
