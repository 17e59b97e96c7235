/* pwcache.c - users' entries of the user database, kept a few seconds
 * (pwcache.h). */
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exec/pwcache.h"

#define PWCACHE_SLOTS 16

struct slot {
    struct pwcache_entry e;
    bool used;
    time_t at;          /* when it was read */
};

struct pwcache {
    char *passwd;
    struct stat stamp;  /* passwd when the entries were read */
    bool stamped;
    unsigned long lookups;
    struct slot slots[PWCACHE_SLOTS];
};

static void slot_clear(struct slot *s)
{
    free(s->e.name);
    free(s->e.dir);
    free(s->e.shell);
    memset(s, 0, sizeof(*s));
}

struct pwcache *pwcache_create(const char *passwd)
{
    struct pwcache *pc = calloc(1, sizeof(*pc));
    if (!pc || !(pc->passwd = strdup(passwd ? passwd : "/etc/passwd"))) {
        free(pc);
        errno = ENOMEM;
        return NULL;
    }
    return pc;
}

void pwcache_destroy(struct pwcache *pc)
{
    if (!pc)
        return;
    for (int i = 0; i < PWCACHE_SLOTS; i++)
        slot_clear(&pc->slots[i]);
    free(pc->passwd);
    free(pc);
}

/* Everything goes when the file is another (edited in place, or replaced
 * as vipw and useradd do) than the entries were read under. */
static void check_file(struct pwcache *pc)
{
    struct stat st;
    if (stat(pc->passwd, &st) < 0)
        memset(&st, 0, sizeof(st));
    if (pc->stamped && st.st_dev == pc->stamp.st_dev && st.st_ino == pc->stamp.st_ino
        && st.st_size == pc->stamp.st_size && st.st_mtim.tv_sec == pc->stamp.st_mtim.tv_sec
        && st.st_mtim.tv_nsec == pc->stamp.st_mtim.tv_nsec)
        return;
    for (int i = 0; i < PWCACHE_SLOTS; i++)
        slot_clear(&pc->slots[i]);
    pc->stamp = st;
    pc->stamped = true;
}

int pwcache_get(struct pwcache *pc, uid_t uid, time_t now, const struct pwcache_entry **out)
{
    check_file(pc);
    struct slot *free_slot = NULL;
    for (int i = 0; i < PWCACHE_SLOTS; i++) {
        struct slot *s = &pc->slots[i];
        if (s->used && s->e.uid == uid && now >= s->at && now - s->at < PWCACHE_TTL) {
            *out = &s->e;
            return 0;
        }
        if (!free_slot || (free_slot->used && (!s->used || s->at < free_slot->at)))
            free_slot = s;
    }
    char buf[4096];
    struct passwd pw, *res = NULL;
    pc->lookups++;
    int rc = getpwuid_r(uid, &pw, buf, sizeof(buf), &res);
    if (rc != 0)
        return -rc;
    if (!res)
        return -ENOENT;
    slot_clear(free_slot);
    free_slot->e.uid = uid;
    free_slot->e.gid = pw.pw_gid;
    if (!(free_slot->e.name = strdup(pw.pw_name)) || !(free_slot->e.dir = strdup(pw.pw_dir))
        || !(free_slot->e.shell = strdup(*pw.pw_shell ? pw.pw_shell : "/bin/sh"))) {
        slot_clear(free_slot);
        return -ENOMEM;
    }
    free_slot->used = true;
    free_slot->at = now;
    *out = &free_slot->e;
    return 0;
}

unsigned long pwcache_lookups(const struct pwcache *pc)
{
    return pc->lookups;
}
