/* throttle.c - counted groups of jobs (Slurm's array %LIMIT); see throttle.h */
#include <errno.h>
#include <stdlib.h>

#include "common/vec.h"
#include "fsd/throttle.h"

/* Few groups are ever counted at once (the arrays with jobs running), so a
 * short vector searched from the end is enough; a group leaves it when its
 * count drops to zero, so it never grows with the instance's history. */
struct group {
    uid_t uid;
    uint64_t id;
    int count;
};

struct throttle {
    struct group *v;
    size_t len, alloc;
};

struct throttle *throttle_create(void)
{
    return calloc(1, sizeof(struct throttle));
}

void throttle_destroy(struct throttle *t)
{
    if (t) {
        free(t->v);
        free(t);
    }
}

static struct group *find(const struct throttle *t, uid_t uid, uint64_t id)
{
    for (size_t i = t->len; i-- > 0;)
        if (t->v[i].id == id && t->v[i].uid == uid)
            return &t->v[i];
    return NULL;
}

int throttle_count(const struct throttle *t, uid_t uid, uint64_t id)
{
    struct group *g = find(t, uid, id);
    return g ? g->count : 0;
}

int throttle_take(struct throttle *t, uid_t uid, uint64_t id)
{
    struct group *g = find(t, uid, id);
    if (!g) {
        if (vec_grow(&t->v, &t->alloc, t->len + 1, sizeof(*t->v)) < 0)
            return -ENOMEM;
        g = &t->v[t->len++];
        *g = (struct group){ .uid = uid, .id = id };
    }
    g->count++;
    return 0;
}

bool throttle_admit(struct throttle *t, uid_t uid, uint64_t id, int limit)
{
    if (limit <= 0)
        return true;
    /* out of memory, the job waits: the next pass tries again */
    return throttle_count(t, uid, id) < limit && throttle_take(t, uid, id) == 0;
}

void throttle_release(struct throttle *t, uid_t uid, uint64_t id)
{
    struct group *g = find(t, uid, id);
    if (g && --g->count <= 0)
        *g = t->v[--t->len];
}
