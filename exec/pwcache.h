/* pwcache.h - users' entries of the user database, remembered for a few
 * seconds.
 *
 * Every task of another user starts with that user's HOME, USER, LOGNAME
 * and SHELL from the user database (exec.c), as login(1) sets them: a
 * getpwuid_r per job reads and parses /etc/passwd (or asks sssd), 7% of
 * the broker's loop when 1,000 jobs a second are a user's. The entries are
 * kept for PWCACHE_TTL seconds, and all of them are dropped at once when
 * /etc/passwd changes (its device, inode, size or mtime), so an edit there
 * counts for the next job and another source (LDAP) within the TTL. A uid
 * the database does not know is never kept. The table is small and fixed
 * (a new entry takes the oldest slot) and belongs to one thread.
 */
#ifndef FLUXFS_PWCACHE_H
#define FLUXFS_PWCACHE_H

#include <sys/types.h>
#include <time.h>

#define PWCACHE_TTL 5

struct pwcache;

struct pwcache_entry {
    uid_t uid;
    gid_t gid;
    char *name;
    char *dir;
    char *shell;        /* "/bin/sh" where the database has none */
};

/* NULL with errno. passwd: the file whose changes drop every entry
 * (NULL: /etc/passwd; tests pass their own). */
struct pwcache *pwcache_create(const char *passwd);
void pwcache_destroy(struct pwcache *pc);

/* uid's entry at time now (seconds, any monotonic clock): 0 with *out
 * valid until the next call, -ENOENT if the database does not know uid,
 * or -errno. */
int pwcache_get(struct pwcache *pc, uid_t uid, time_t now, const struct pwcache_entry **out);

/* How many times the database was asked (tests). */
unsigned long pwcache_lookups(const struct pwcache *pc);

#endif
