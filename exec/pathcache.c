/* pathcache.c - where a PATH found a program, for a second (pathcache.h). */
#include "exec/pathcache.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PATHCACHE_SLOTS 16

struct pathcache_entry {
    uid_t uid;
    time_t when;             /* the second it was found in */
    uint64_t hash;           /* of PATH and the program */
    char *path, *prog, *file;   /* file NULL: empty */
};

struct pathcache {
    struct pathcache_entry slot[PATHCACHE_SLOTS];
};

struct pathcache *pathcache_create(void)
{
    return calloc(1, sizeof(struct pathcache));
}

static void entry_clear(struct pathcache_entry *e)
{
    free(e->path);
    free(e->prog);
    free(e->file);
    *e = (struct pathcache_entry){ 0 };
}

void pathcache_destroy(struct pathcache *pc)
{
    if (!pc)
        return;
    for (int i = 0; i < PATHCACHE_SLOTS; i++)
        entry_clear(&pc->slot[i]);
    free(pc);
}

/* FNV-1a of PATH, a separator no string holds, and the program */
static uint64_t hash_of(const char *path, const char *prog)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *c = path; *c; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
    h = (h ^ 0xff) * 0x100000001b3ull;
    for (const char *c = prog; *c; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
    return h;
}

static struct pathcache_entry *slot_of(struct pathcache *pc, uid_t uid, uint64_t h)
{
    return &pc->slot[(h ^ uid) % PATHCACHE_SLOTS];
}

static bool same(const struct pathcache_entry *e, uid_t uid, uint64_t h, const char *path,
                 const char *prog)
{
    return e->file && e->uid == uid && e->hash == h && !strcmp(e->path, path)
           && !strcmp(e->prog, prog);
}

const char *pathcache_get(struct pathcache *pc, uid_t uid, const char *path, const char *prog,
                          time_t now)
{
    uint64_t h = hash_of(path, prog);
    struct pathcache_entry *e = slot_of(pc, uid, h);
    return same(e, uid, h, path, prog) && e->when == now ? e->file : NULL;
}

void pathcache_put(struct pathcache *pc, uid_t uid, const char *path, const char *prog,
                   const char *file, time_t now)
{
    uint64_t h = hash_of(path, prog);
    struct pathcache_entry *e = slot_of(pc, uid, h);
    if (!file || file[0] != '/') {
        if (same(e, uid, h, path, prog))
            entry_clear(e);
        return;
    }
    entry_clear(e);
    e->path = strdup(path);
    e->prog = strdup(prog);
    e->file = strdup(file);
    if (!e->path || !e->prog || !e->file) {
        entry_clear(e);   /* out of memory: the next task searches, as without us */
        return;
    }
    e->uid = uid;
    e->hash = h;
    e->when = now;
}
