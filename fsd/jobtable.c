/* jobtable.c - jobs by id (open addressing, linear probing, never more than
 * half full) and by seq (an array with holes for jobs that are gone, whose
 * leading holes are dropped as jobs are purged, oldest first: the array is
 * as long as the jobs held span, not as every job ever submitted, so an
 * instance that runs for months stays flat). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/fluid.h"
#include "fsd/jobtable.h"

/* Pending jobs (NEW to SCHED) of one user, for per-user limits. */
struct user_count {
    uid_t uid;
    size_t pending;
    struct user_count *next;
};

struct jobtable {
    struct user_count *users;
    struct job **hash;
    size_t hash_size, njobs;
    /* seq n is byseq[n - 1 - base]; NULL once a job is gone */
    struct job **byseq;
    size_t nseq, seq_alloc, base;
    size_t lead;            /* byseq[0..lead) are holes (each passed once) */
    size_t count[JOB_NSTATES];
};

struct jobtable *jobtable_create(void)
{
    return calloc(1, sizeof(struct jobtable));
}

void jobtable_destroy(struct jobtable *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nseq - t->base; i++)
        job_destroy(t->byseq[i]);
    while (t->users) {
        struct user_count *u = t->users;
        t->users = u->next;
        free(u);
    }
    free(t->hash);
    free(t->byseq);
    free(t);
}

static bool is_pending(enum job_state s)
{
    return s < JOB_RUN;
}

/* A user's pending count moves by delta (entries are kept: few users). */
static void count_user(struct jobtable *t, uid_t uid, int delta)
{
    struct user_count *u = t->users;
    while (u && u->uid != uid)
        u = u->next;
    if (!u) {
        if (delta < 0 || !(u = calloc(1, sizeof(*u))))
            return;   /* out of memory: a limit is then not enforced for it */
        u->uid = uid;
        u->next = t->users;
        t->users = u;
    }
    u->pending = delta < 0 && u->pending == 0 ? 0 : u->pending + delta;
}

size_t jobtable_pending_of(const struct jobtable *t, uid_t uid)
{
    for (const struct user_count *u = t->users; u; u = u->next)
        if (u->uid == uid)
            return u->pending;
    return 0;
}

static size_t hash_slot(const struct jobtable *t, uint64_t id)
{
    return fluid_hash(id) & (t->hash_size - 1);
}

static int hash_grow(struct jobtable *t)
{
    size_t nsize = t->hash_size ? t->hash_size * 2 : 1024;
    struct job **old = t->hash;
    size_t osize = t->hash_size;
    struct job **nh = calloc(nsize, sizeof(*nh));
    if (!nh)
        return -ENOMEM;
    t->hash = nh;
    t->hash_size = nsize;
    for (size_t i = 0; i < osize; i++) {
        if (!old[i])
            continue;
        size_t s = hash_slot(t, old[i]->id);
        while (t->hash[s])
            s = (s + 1) & (nsize - 1);
        t->hash[s] = old[i];
    }
    free(old);
    return 0;
}

int jobtable_reserve(struct jobtable *t, size_t n)
{
    while ((t->njobs + n) * 2 > t->hash_size)
        if (hash_grow(t) < 0)
            return -ENOMEM;
    size_t used = t->nseq - t->base;
    if (used + n > t->seq_alloc) {
        size_t a = t->seq_alloc ? t->seq_alloc : 1024;
        while (a < used + n)
            a *= 2;
        struct job **p = realloc(t->byseq, a * sizeof(*p));
        if (!p)
            return -ENOMEM;
        t->byseq = p;
        t->seq_alloc = a;
    }
    return 0;
}

int jobtable_insert(struct jobtable *t, struct job *job)
{
    if (jobtable_reserve(t, 1) < 0)
        return -ENOMEM;
    size_t s = hash_slot(t, job->id);
    while (t->hash[s])
        s = (s + 1) & (t->hash_size - 1);
    t->hash[s] = job;
    t->byseq[t->nseq++ - t->base] = job;
    job->seq = t->nseq;
    t->njobs++;
    t->count[job->state]++;
    if (is_pending(job->state))
        count_user(t, job->uid, 1);
    return 0;
}

void jobtable_remove(struct jobtable *t, struct job *job)
{
    size_t mask = t->hash_size - 1, s = hash_slot(t, job->id);
    while (t->hash[s] != job)
        s = (s + 1) & mask;
    t->hash[s] = NULL;
    /* backward-shift the probe run so lookups never stop early */
    for (size_t j = (s + 1) & mask; t->hash[j]; j = (j + 1) & mask) {
        size_t home = hash_slot(t, t->hash[j]->id);
        bool movable = (j > s) ? (home <= s || home > j) : (home <= s && home > j);
        if (movable) {
            t->hash[s] = t->hash[j];
            t->hash[j] = NULL;
            s = j;
        }
    }
    t->byseq[job->seq - 1 - t->base] = NULL;
    /* drop the leading holes once they are half of the array (amortized:
     * each slot is moved at most once per halving) */
    size_t used = t->nseq - t->base;
    while (t->lead < used && !t->byseq[t->lead])
        t->lead++;
    if (t->lead >= 1024 && t->lead * 2 >= used) {
        memmove(t->byseq, t->byseq + t->lead, (used - t->lead) * sizeof(*t->byseq));
        t->base += t->lead;
        t->lead = 0;
    }
    t->njobs--;
    t->count[job->state]--;
    if (is_pending(job->state))
        count_user(t, job->uid, -1);
}

struct job *jobtable_lookup(const struct jobtable *t, uint64_t id)
{
    if (!t->hash_size)
        return NULL;
    for (size_t s = hash_slot(t, id); t->hash[s]; s = (s + 1) & (t->hash_size - 1))
        if (t->hash[s]->id == id)
            return t->hash[s];
    return NULL;
}

struct job *jobtable_lookup_name(const struct jobtable *t, const char *idstr)
{
    uint64_t id;
    if (fluid_decode(idstr, &id) < 0)
        return NULL;
    struct job *job = jobtable_lookup(t, id);
    /* only the canonical spelling names a directory */
    return (job && strcmp(job->idstr, idstr) == 0) ? job : NULL;
}

struct job *jobtable_lookup_seq(const struct jobtable *t, uint64_t seq)
{
    return (seq > t->base && seq <= t->nseq) ? t->byseq[seq - 1 - t->base] : NULL;
}

struct job *jobtable_next(const struct jobtable *t, uint64_t seq)
{
    for (uint64_t s = seq > t->base ? seq : t->base + 1; s <= t->nseq; s++)
        if (t->byseq[s - 1 - t->base])
            return t->byseq[s - 1 - t->base];
    return NULL;
}

uint64_t jobtable_last_seq(const struct jobtable *t)
{
    return t->nseq;
}

void jobtable_set_state(struct jobtable *t, struct job *job, enum job_state state)
{
    t->count[job->state]--;
    t->count[state]++;
    if (is_pending(job->state) != is_pending(state))
        count_user(t, job->uid, is_pending(state) ? 1 : -1);
    job->state = state;
}

size_t jobtable_count(const struct jobtable *t, enum job_state s)
{
    return t->count[s];
}
