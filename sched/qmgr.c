/* qmgr.c - queue policies (fcfs, easy, conservative) over the graph matcher.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/fluid.h"
#include "common/vec.h"
#include "sched/qmgr.h"

/* Where a job is: exactly one of the three arrays, pos its index there. */
enum qjob_where { QJOB_PENDING, QJOB_HELD, QJOB_RUNNING };

struct qjob {
    uint64_t id;
    const struct rspec *req;
    int urgency;
    int64_t priority;       /* the order: higher first (urgency until set) */
    bool prio_set;          /* the caller set priority: urgency no longer is it */
    int queue;              /* 0..QMGR_QUEUES_MAX-1: stopped queues wait */
    double t_submit;
    uint64_t seq;
    int64_t duration;       /* whole seconds, 0 = unlimited */
    uint64_t shape;         /* hash of the resource request */
    enum qjob_where where;
    size_t pos;             /* index in pending[], held[] or running[] */
    struct qjob *next;      /* hash chain */
};

/* pending[head..end) is sorted: priority desc, submit time, seq. A job that
 * leaves it (started, canceled, urgency changed) leaves a NULL hole that a
 * pass skips; holes at either end are trimmed at once, and the rest are
 * squeezed out when they outnumber the jobs, when the array is full, or
 * before a job is inserted anywhere but at the end (new jobs usually sort
 * last). Held jobs (urgency 0) are never tried, so they wait in held[],
 * unordered, and are sorted in when their urgency is raised. */
/* Request shapes that failed to fit now during this pass, with the shortest
 * duration that failed (open addressing). The graph only fills up during a
 * pass and a longer window is harder to fit, so the same resources for at
 * least as long fail too. */
struct shapeset {
    uint64_t *key;
    int64_t *dur;
    size_t size, n;
    size_t *used;           /* the slots taken, n of them: emptied for the next
                               pass (zeroing the whole set each pass was 3.5%
                               of the broker's time at 1,000 jobs/s) */
};

/* Where the run of jobs like one in pending[] ends (see run_last()):
 * valid while gen is the qmgr's run_gen. */
struct qrun {
    size_t end;
    uint64_t gen;
};

struct qmgr {
    struct graph *g;
    struct matcher *m;
    enum qmgr_policy policy;
    int depth;
    uint64_t seq;
    struct qjob **pending;
    size_t head, end, holes, maxpending;
    struct qjob **held;     /* unordered */
    size_t nheld, maxheld;
    struct qjob **running;  /* unordered */
    size_t nrunning, maxrunning;
    uint64_t *reserved;     /* reservations made by the last pass */
    size_t nreserved, maxreserved;
    struct qjob **buckets;  /* chained; doubled when njobs passes nbuckets */
    size_t nbuckets, njobs;
    size_t tried;           /* jobs looked at by the last pass */
    uint64_t stopped;       /* queues (bits) whose jobs are not scheduled */
    qmgr_gate_f gate;
    void *gate_arg;
    struct shapeset failed; /* qmgr_schedule's, kept between passes */
    struct qrun *runs;      /* by position in pending[], maxruns of them */
    size_t maxruns;
    uint64_t run_gen;       /* bumped when a position may hold another job */
    size_t run_hiwater;     /* positions below may have a valid runs[] */
};

static const char *policy_names[] = {
    [QMGR_FCFS] = "fcfs", [QMGR_EASY] = "easy", [QMGR_CONSERVATIVE] = "conservative",
};

int qmgr_policy_parse(const char *name)
{
    for (int i = 0; i <= QMGR_CONSERVATIVE; i++)
        if (name && !strcmp(name, policy_names[i]))
            return i;
    return -1;
}

const char *qmgr_policy_name(enum qmgr_policy p)
{
    return p <= QMGR_CONSERVATIVE ? policy_names[p] : "?";
}

struct qmgr *qmgr_create(struct graph *g, enum match_policy mp, enum qmgr_policy qp)
{
    struct qmgr *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->g = g;
    q->policy = qp;
    q->run_gen = 1;
    q->nbuckets = 4096;
    q->buckets = calloc(q->nbuckets, sizeof(*q->buckets));
    if (!q->buckets || !(q->m = match_create(g, mp))) {
        qmgr_destroy(q);
        return NULL;
    }
    return q;
}

void qmgr_destroy(struct qmgr *q)
{
    if (!q)
        return;
    for (size_t b = 0; q->buckets && b < q->nbuckets; b++) {
        while (q->buckets[b]) {
            struct qjob *j = q->buckets[b];
            q->buckets[b] = j->next;
            free(j);
        }
    }
    free(q->buckets);
    free(q->pending);
    free(q->held);
    free(q->running);
    free(q->reserved);
    free(q->failed.key);
    free(q->failed.dur);
    free(q->failed.used);
    free(q->runs);
    match_destroy(q->m);
    free(q);
}

void qmgr_set_depth(struct qmgr *q, int depth)
{
    q->depth = depth < 0 ? 0 : depth;
}

void qmgr_set_policy(struct qmgr *q, enum qmgr_policy qp)
{
    q->policy = qp;
}

enum qmgr_policy qmgr_policy(const struct qmgr *q)
{
    return q->policy;
}

int qmgr_depth(const struct qmgr *q)
{
    if (q->depth > 0)
        return q->depth;
    return q->policy == QMGR_EASY ? 1 : q->policy == QMGR_CONSERVATIVE ? INT_MAX : 0;
}

struct matcher *qmgr_matcher(struct qmgr *q)
{
    return q->m;
}

/* Held jobs count as pending, as they always have. */
size_t qmgr_pending(const struct qmgr *q)
{
    return q->end - q->head - q->holes + q->nheld;
}

size_t qmgr_running(const struct qmgr *q)
{
    return q->nrunning;
}

size_t qmgr_last_pass_tried(const struct qmgr *q)
{
    return q->tried;
}

static size_t bucket_of(uint64_t id, size_t nbuckets)
{
    return (size_t)(fluid_hash(id) % nbuckets);
}

static struct qjob **slot_of(const struct qmgr *q, uint64_t id)
{
    struct qjob **p = &q->buckets[bucket_of(id, q->nbuckets)];
    while (*p && (*p)->id != id)
        p = &(*p)->next;
    return p;
}

/* Keep chains short: double the table when jobs outnumber buckets. If
 * that cannot be allocated, the old table still works, only slower. */
static void buckets_grow(struct qmgr *q)
{
    size_t n = q->nbuckets * 2;
    struct qjob **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < q->nbuckets; i++) {
        while (q->buckets[i]) {
            struct qjob *j = q->buckets[i];
            size_t k = bucket_of(j->id, n);
            q->buckets[i] = j->next;
            j->next = b[k];
            b[k] = j;
        }
    }
    free(q->buckets);
    q->buckets = b;
    q->nbuckets = n;
}

static int job_cmp(const struct qjob *a, const struct qjob *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority ? -1 : 1;
    if (a->t_submit != b->t_submit)
        return a->t_submit < b->t_submit ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Room for n more pointers in *arr (of *max). */
static int reserve(struct qjob ***arr, size_t *max, size_t used, size_t n)
{
    return vec_grow(arr, max, used + n, sizeof(**arr));
}

/* ---- runs of like jobs ----
 * Jobs submitted together (an array, `--cc`, a workflow's burst) sit side
 * by side in pending[] and ask for the same: the same request shape, for
 * as long, in the same queue. Once a pass has nothing left to do for one
 * of them (it does not fit now and no reservation is left to make), it has
 * nothing to do for the rest of its run either, and skips to the run's end
 * instead of looking at each: with 10,000 queued the passes were 12% of
 * the broker's time, and they grew with the queue. Where a run ends is
 * remembered by position until positions change meaning. */
static bool alike(const struct qjob *a, const struct qjob *b)
{
    return a->shape == b->shape && a->duration == b->duration && a->queue == b->queue;
}

/* Positions now name other jobs (compaction, an insertion, a reordering):
 * every remembered run end is void. O(1). */
static void runs_forget(struct qmgr *q)
{
    q->run_gen++;
    q->run_hiwater = 0;
}

/* The last position of the run pending[i] starts or is in (holes do not
 * end a run); i itself when that cannot be remembered (no memory). */
static size_t run_last(struct qmgr *q, size_t i)
{
    if (q->maxruns < q->end) {
        size_t old = q->maxruns;
        if (vec_grow(&q->runs, &q->maxruns, q->end, sizeof(*q->runs)) < 0)
            return i;
        memset(&q->runs[old], 0, (q->maxruns - old) * sizeof(*q->runs));
    }
    if (q->runs[i].gen == q->run_gen && q->runs[i].end > i)
        return (q->runs[i].end < q->end ? q->runs[i].end : q->end) - 1;
    const struct qjob *j = q->pending[i];
    size_t k = i + 1;
    while (k < q->end && (!q->pending[k] || alike(q->pending[k], j)))
        k++;
    for (size_t p = i; p < k; p++)
        q->runs[p] = (struct qrun){ k, q->run_gen };
    if (k > q->run_hiwater)
        q->run_hiwater = k;
    return k - 1;
}

/* Squeeze out the holes: pending[0..end) holds jobs only. */
static void pending_compact(struct qmgr *q)
{
    size_t n = 0;
    for (size_t i = q->head; i < q->end; i++) {
        if (q->pending[i]) {
            q->pending[n] = q->pending[i];
            q->pending[n]->pos = n;
            n++;
        }
    }
    q->head = 0;
    q->end = n;
    q->holes = 0;
    runs_forget(q);
}

/* Not during a pass: it walks pending[] by index. */
static void pending_tidy(struct qmgr *q)
{
    if (q->holes > q->end - q->head - q->holes)
        pending_compact(q);
}

/* A free slot at pending[end]: compact if that frees half, else grow. */
static int pending_reserve(struct qmgr *q)
{
    if (q->end < q->maxpending)
        return 0;
    if (q->maxpending && q->head + q->holes >= q->maxpending / 2) {
        pending_compact(q);
        return 0;
    }
    return reserve(&q->pending, &q->maxpending, q->end, 1);
}

/* O(1): leaves a hole (safe during a pass: nothing moves). */
static void pending_remove(struct qmgr *q, struct qjob *j)
{
    q->pending[j->pos] = NULL;
    q->holes++;
    while (q->head < q->end && !q->pending[q->head]) {
        q->head++;
        q->holes--;
    }
    while (q->end > q->head && !q->pending[q->end - 1]) {
        q->end--;
        q->holes--;
    }
    if (q->head == q->end)
        q->head = q->end = 0;
}

/* O(1) when j sorts last, else O(n). Not during a pass. */
static int pending_insert(struct qmgr *q, struct qjob *j)
{
    if (pending_reserve(q) < 0)
        return -ENOMEM;
    j->where = QJOB_PENDING;
    size_t lo = q->end;
    if (q->end > q->head && job_cmp(q->pending[q->end - 1], j) > 0) {
        if (q->holes)
            pending_compact(q);
        size_t hi = q->end;
        lo = q->head;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (job_cmp(q->pending[mid], j) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        memmove(&q->pending[lo + 1], &q->pending[lo], (q->end - lo) * sizeof(*q->pending));
        for (size_t k = lo + 1; k <= q->end; k++)
            q->pending[k]->pos = k;
        runs_forget(q);
    } else if (lo < q->run_hiwater) {
        runs_forget(q);   /* the end was trimmed back into a remembered run */
    }
    q->pending[lo] = j;
    j->pos = lo;
    q->end++;
    return 0;
}

static void held_remove(struct qmgr *q, struct qjob *j)
{
    struct qjob *last = q->held[--q->nheld];
    q->held[j->pos] = last;
    last->pos = j->pos;
}

static int held_add(struct qmgr *q, struct qjob *j)
{
    if (reserve(&q->held, &q->maxheld, q->nheld, 1) < 0)
        return -ENOMEM;
    j->where = QJOB_HELD;
    j->pos = q->nheld;
    q->held[q->nheld++] = j;
    return 0;
}

static void running_remove(struct qmgr *q, struct qjob *j)
{
    struct qjob *last = q->running[--q->nrunning];
    q->running[j->pos] = last;
    last->pos = j->pos;
}

/* Queue j by its urgency; with room reserved beforehand it cannot fail. */
static int queue_add(struct qmgr *q, struct qjob *j)
{
    return j->urgency == QMGR_URGENCY_HOLD ? held_add(q, j) : pending_insert(q, j);
}

static void queue_remove(struct qmgr *q, struct qjob *j)
{
    if (j->where == QJOB_HELD)
        held_remove(q, j);
    else
        pending_remove(q, j);
}

/* What makes two requests fit or fail alike: their resources and their
 * constraints (two jobs of one shape on different nodes are different).
 * The resources' part was made by the parse; constraints may be a queue's,
 * set since. */
static uint64_t shape_of(const struct rspec *req)
{
    return req->constraints ? rspec_hash(req->shape, req->constraints) : req->shape;
}

int qmgr_satisfiable(struct qmgr *q, const struct rspec *req, struct errmsg *err)
{
    return match_job(q->m, req, 0, MATCH_SATISFIABILITY, 0, 0, NULL, err);
}

int qmgr_satisfiable_up(struct qmgr *q, const struct rspec *req, struct errmsg *err)
{
    return match_job(q->m, req, 0, MATCH_SATISFIABILITY_UP, 0, 0, NULL, err);
}

int qmgr_submit(struct qmgr *q, uint64_t id, const struct rspec *req, int urgency,
                double t_submit, double duration, struct errmsg *err)
{
    if (urgency < QMGR_URGENCY_HOLD || urgency > QMGR_URGENCY_MAX)
        return errmsg_set(err, -EINVAL, "urgency %d is out of range 0-31", urgency);
    if (*slot_of(q, id))
        return errmsg_set(err, -EEXIST, "job is already queued");
    int rc = qmgr_satisfiable(q, req, err);
    if (rc < 0)
        return rc;
    struct qjob *j = calloc(1, sizeof(*j));
    if (!j)
        return errmsg_set(err, -ENOMEM, "out of memory");
    j->id = id;
    j->req = req;
    j->urgency = urgency;
    j->priority = urgency;
    j->t_submit = t_submit;
    j->seq = q->seq++;
    j->duration = duration > 0 ? (int64_t)ceil(duration) : 0;
    j->shape = shape_of(req);
    if (queue_add(q, j) < 0) {
        free(j);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    *slot_of(q, id) = j;
    if (++q->njobs > q->nbuckets)
        buckets_grow(q);
    return 0;
}

static void forget(struct qmgr *q, struct qjob *j)
{
    struct qjob **p = slot_of(q, j->id);
    *p = j->next;
    q->njobs--;
    free(j);
}

int qmgr_cancel(struct qmgr *q, uint64_t id)
{
    struct qjob *j = *slot_of(q, id);
    if (!j || j->where == QJOB_RUNNING)
        return -ENOENT;
    queue_remove(q, j);
    pending_tidy(q);
    match_cancel(q->m, id);     /* its reservation, if any */
    forget(q, j);
    return 0;
}

int qmgr_set_urgency(struct qmgr *q, uint64_t id, int urgency)
{
    struct qjob *j = *slot_of(q, id);
    if (!j || j->where == QJOB_RUNNING)
        return -ENOENT;
    if (urgency < QMGR_URGENCY_HOLD || urgency > QMGR_URGENCY_MAX)
        return -EINVAL;
    if (j->urgency == urgency)
        return 0;
    /* room first, so that the job is never left out of both arrays */
    int rc = urgency == QMGR_URGENCY_HOLD
        ? reserve(&q->held, &q->maxheld, q->nheld, 1) : pending_reserve(q);
    if (rc < 0)
        return rc;
    queue_remove(q, j);
    if (!j->prio_set)
        j->priority = urgency;
    j->urgency = urgency;
    queue_add(q, j);
    pending_tidy(q);
    return 0;
}

int qmgr_set_priority(struct qmgr *q, uint64_t id, int64_t priority)
{
    struct qjob *j = *slot_of(q, id);
    if (!j || j->where == QJOB_RUNNING)
        return -ENOENT;
    j->prio_set = true;
    if (j->priority == priority)
        return 0;
    if (j->where == QJOB_HELD) {
        j->priority = priority;   /* sorted in once released */
        return 0;
    }
    int rc = pending_reserve(q);
    if (rc < 0)
        return rc;
    pending_remove(q, j);
    j->priority = priority;
    pending_insert(q, j);
    pending_tidy(q);
    return 0;
}

static int pending_cmp(const void *a, const void *b)
{
    return job_cmp(*(struct qjob *const *)a, *(struct qjob *const *)b);
}

void qmgr_reprioritize(struct qmgr *q, qmgr_priority_f fn, void *arg)
{
    for (size_t i = 0; i < q->nheld; i++) {
        q->held[i]->priority = fn(arg, q->held[i]->id);
        q->held[i]->prio_set = true;
    }
    pending_compact(q);
    for (size_t i = 0; i < q->end; i++) {
        q->pending[i]->priority = fn(arg, q->pending[i]->id);
        q->pending[i]->prio_set = true;
    }
    /* one sort for all: O(n log n), not n insertions of O(n) */
    qsort(q->pending, q->end, sizeof(*q->pending), pending_cmp);
    for (size_t i = 0; i < q->end; i++)
        q->pending[i]->pos = i;
    runs_forget(q);
}

int qmgr_set_queue(struct qmgr *q, uint64_t id, int queue)
{
    struct qjob *j = *slot_of(q, id);
    if (!j)
        return -ENOENT;
    if (queue < 0 || queue >= QMGR_QUEUES_MAX)
        return -EINVAL;
    if (j->queue != queue)
        runs_forget(q);   /* it may no longer be like its neighbours */
    j->queue = queue;
    return 0;
}

void qmgr_set_gate(struct qmgr *q, qmgr_gate_f fn, void *arg)
{
    q->gate = fn;
    q->gate_arg = arg;
}

void qmgr_queue_stop(struct qmgr *q, int queue, bool stopped)
{
    if (queue < 0 || queue >= QMGR_QUEUES_MAX)
        return;
    if (stopped)
        q->stopped |= 1ull << queue;
    else
        q->stopped &= ~(1ull << queue);
}

int qmgr_release(struct qmgr *q, uint64_t id)
{
    struct qjob *j = *slot_of(q, id);
    if (!j || j->where != QJOB_RUNNING)
        return -ENOENT;
    match_cancel(q->m, id);
    running_remove(q, j);
    forget(q, j);
    return 0;
}

const struct match_alloc *qmgr_lookup(const struct qmgr *q, uint64_t id)
{
    return match_lookup(q->m, id);
}

static int push_reserved(struct qmgr *q, uint64_t id)
{
    if (vec_grow(&q->reserved, &q->maxreserved, q->nreserved + 1, sizeof(*q->reserved)) < 0)
        return -ENOMEM;
    q->reserved[q->nreserved++] = id;
    return 0;
}


static int64_t effective(int64_t duration)
{
    return duration > 0 ? duration : INT64_MAX;     /* 0 = unlimited */
}

static size_t shape_slot(const struct shapeset *s, uint64_t k)
{
    size_t i = k % s->size;
    while (s->key[i] && s->key[i] != k)
        i = (i + 1) % s->size;
    return i;
}

static bool shape_failed(const struct shapeset *s, uint64_t k, int64_t duration)
{
    if (!s->key)
        return false;
    size_t i = shape_slot(s, k | 1);   /* 0 marks an empty slot */
    return s->key[i] && effective(duration) >= s->dur[i];
}

static void shape_fail(struct shapeset *s, uint64_t k, int64_t duration)
{
    if (!s->key)
        return;
    size_t i = shape_slot(s, k | 1);
    if (s->key[i]) {
        if (effective(duration) < s->dur[i])
            s->dur[i] = effective(duration);
    } else if (s->n < s->size / 2) {
        s->key[i] = k | 1;
        s->dur[i] = effective(duration);
        s->used[s->n++] = i;
    }
}

int qmgr_schedule(struct qmgr *q, double now, qmgr_alloc_f cb, void *arg)
{
    int64_t t = (int64_t)floor(now);
    int depth = qmgr_depth(q), nres = 0, nalloc = 0;
    struct shapeset *failed = &q->failed;
    if (!failed->key) {
        failed->size = 1024;
        failed->key = calloc(failed->size, sizeof(uint64_t));
        failed->dur = calloc(failed->size, sizeof(int64_t));
        failed->used = calloc(failed->size / 2, sizeof(size_t));
        if (!failed->dur || !failed->used) {
            free(failed->key);
            free(failed->dur);
            free(failed->used);
            *failed = (struct shapeset){ 0 };   /* no memoization: slower, still right */
        }
    }
    for (size_t i = 0; i < failed->n; i++)
        failed->key[failed->used[i]] = 0;
    failed->n = 0;

    /* Last pass's reservations are remade from scratch. */
    for (size_t i = 0; i < q->nreserved; i++)
        match_cancel(q->m, q->reserved[i]);
    q->nreserved = 0;
    /* A running job that outlives its expected end keeps its resources
     * until it is released: nobody may be placed on them meanwhile. One
     * within a second of its end is extended too, by a minute: jobs that
     * reach their limit usually overrun a little (kill grace, exit), and a
     * reservation made for the very next second would only be remade, while
     * backfill could have used the gap (the NASA trace replay at 2x load:
     * mean wait 60,000 s this way, 77,000 s extending only past the end). */
    for (size_t i = 0; i < q->nrunning; i++) {
        const struct match_alloc *a = match_lookup(q->m, q->running[i]->id);
        if (a && a->end <= t + 1)
            match_extend(q->m, q->running[i]->id, t + 60);
    }
    /* Held jobs are not in pending[]: they would only be skipped. Slots
     * of jobs started here become holes; end may shrink meanwhile. */
    q->tried = 0;
    for (size_t i = q->head; i < q->end; i++) {
        struct qjob *j = q->pending[i];
        if (!j)
            continue;
        if (q->stopped >> j->queue & 1) {
            i = run_last(q, i);   /* a stopped queue's jobs neither run nor reserve */
            continue;
        }
        if (q->gate && !q->gate(q->gate_arg, j->id))
            continue;   /* nor do jobs a limit holds back */
        q->tried++;
        const struct match_alloc *a = NULL;
        int rc = -EBUSY;
        if (!shape_failed(failed, j->shape, j->duration))
            rc = match_job(q->m, j->req, j->id, MATCH_ALLOCATE, t, j->duration, &a, NULL);
        if (rc == 0) {
            if (reserve(&q->running, &q->maxrunning, q->nrunning, 1) < 0) {
                /* cannot track it: give the resources back, retry later */
                match_cancel(q->m, j->id);
                break;
            }
            pending_remove(q, j);
            j->where = QJOB_RUNNING;
            j->pos = q->nrunning;
            q->running[q->nrunning++] = j;
            nalloc++;
            cb(arg, j->id, a);
            continue;
        }
        shape_fail(failed, j->shape, j->duration);
        if (q->policy == QMGR_FCFS)
            break;
        if (nres < depth) {
            nres++;
            if (match_job(q->m, j->req, j->id, MATCH_ALLOCATE_ORELSE_RESERVE, t,
                          j->duration, &a, NULL) == 0) {
                if (!a->reserved || push_reserved(q, j->id) < 0)
                    match_cancel(q->m, j->id);
            }
        }
        /* nothing more for it, nor for the jobs like it after it (unless a
         * gate, which looks at each job's user, may let one of them by) */
        if (nres >= depth && !q->gate)
            i = run_last(q, i);
    }
    pending_tidy(q);
    return nalloc;
}
