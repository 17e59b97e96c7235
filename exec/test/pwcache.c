/* test/pwcache.c - unit tests for the user database's few-seconds cache. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tap.h"
#include "exec/pwcache.h"

int main(void)
{
    char stamp[] = "/tmp/fluxfs-test-pwcache-XXXXXX";
    int fd = mkstemp(stamp);
    if (fd < 0) {
        printf("Bail out! mkstemp\n");
        return 1;
    }
    close(fd);
    struct pwcache *pc = pwcache_create(stamp);
    const struct pwcache_entry *e = NULL;
    ok(pc != NULL, "created");
    is(pwcache_get(pc, 0, 100, &e), 0, "root's entry");
    ok(e && !strcmp(e->name, "root") && e->dir && e->shell && e->gid == 0,
       "its name, home, shell and group (%s %s %s)", e ? e->name : "-", e ? e->dir : "-",
       e ? e->shell : "-");
    is((int)pwcache_lookups(pc), 1, "one lookup");
    ok(pwcache_get(pc, 0, 104, &e) == 0 && !strcmp(e->name, "root"), "again within the TTL");
    is((int)pwcache_lookups(pc), 1, "... from the cache");
    ok(pwcache_get(pc, 0, 100 + PWCACHE_TTL, &e) == 0, "after the TTL");
    is((int)pwcache_lookups(pc), 2, "... looked up again");

    /* an edit of the file drops every entry at once */
    FILE *f = fopen(stamp, "a");
    fputs("x\n", f);
    fclose(f);
    ok(pwcache_get(pc, 0, 106, &e) == 0, "after the file changed");
    is((int)pwcache_lookups(pc), 3, "... looked up again");
    ok(pwcache_get(pc, 0, 106, &e) == 0 && pwcache_lookups(pc) == 3, "then cached again");

    /* a uid nobody has is never kept */
    uid_t ghost = 3999999999u;
    is(pwcache_get(pc, ghost, 106, &e), -ENOENT, "an unknown uid: ENOENT");
    is(pwcache_get(pc, ghost, 106, &e), -ENOENT, "again");
    is((int)pwcache_lookups(pc), 5, "each time asked");

    /* a time that goes backwards (a new clock) does not keep an entry */
    ok(pwcache_get(pc, 0, 50, &e) == 0 && pwcache_lookups(pc) == 6, "a time before the entry's looks up");

    /* more users than slots: the oldest goes, the others stay */
    unsigned long before = pwcache_lookups(pc);
    uid_t last = 0;
    for (uid_t u = 0; u < 20; u++)
        if (pwcache_get(pc, u, 200 + u / 10, &e) == 0)   /* some unknown: not kept */
            last = u;
    ok(pwcache_lookups(pc) == before + 20, "20 uids looked up once each");
    before = pwcache_lookups(pc);
    ok(pwcache_get(pc, last, 202, &e) == 0 && e->uid == last && pwcache_lookups(pc) == before,
       "the newest known one (%u) is still kept", (unsigned)last);
    pwcache_destroy(pc);
    unlink(stamp);
    return done_testing();
}
