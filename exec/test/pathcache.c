/* test/pathcache.c - unit tests for the one-second command hash. */
#include <stdio.h>
#include <string.h>

#include "common/tap.h"
#include "exec/pathcache.h"

static const char *PATH1 = "/usr/local/bin:/usr/bin:/bin";
static const char *PATH2 = "/opt/x/bin:/usr/bin:/bin";

int main(void)
{
    struct pathcache *pc = pathcache_create();
    ok(pc != NULL, "created");
    ok(pathcache_get(pc, 1000, PATH1, "true", 100) == NULL, "an empty cache misses");

    pathcache_put(pc, 1000, PATH1, "true", "/usr/bin/true", 100);
    const char *f = pathcache_get(pc, 1000, PATH1, "true", 100);
    is_str(f ? f : "(null)", "/usr/bin/true", "found again in the same second");
    ok(pathcache_get(pc, 1000, PATH1, "true", 101) == NULL, "gone the next second");
    ok(pathcache_get(pc, 1001, PATH1, "true", 100) == NULL, "another user's is not ours");
    ok(pathcache_get(pc, 1000, PATH2, "true", 100) == NULL, "nor another PATH's");
    ok(pathcache_get(pc, 1000, PATH1, "false", 100) == NULL, "nor another program's");
    /* PATH and program are kept apart: "a:b" + "c" is not "a:" + "bc" */
    pathcache_put(pc, 1000, "/a:/b", "c", "/b/c", 100);
    ok(pathcache_get(pc, 1000, "/a:/", "bc", 100) == NULL, "PATH and program do not run together");

    /* a newer find replaces; a failed start or a relative file forgets */
    pathcache_put(pc, 1000, PATH1, "true", "/bin/true", 100);
    f = pathcache_get(pc, 1000, PATH1, "true", 100);
    is_str(f ? f : "(null)", "/bin/true", "a newer find replaces the older");
    pathcache_put(pc, 1000, PATH1, "true", "", 100);
    ok(pathcache_get(pc, 1000, PATH1, "true", 100) == NULL, "a program that could not start is forgotten");
    pathcache_put(pc, 1000, PATH1, "true", "/bin/true", 100);
    pathcache_put(pc, 1000, PATH1, "true", "./true", 100);
    ok(pathcache_get(pc, 1000, PATH1, "true", 100) == NULL, "one found under the cwd is forgotten");
    pathcache_put(pc, 1000, PATH1, "true", NULL, 100);
    ok(pathcache_get(pc, 1000, PATH1, "true", 100) == NULL, "forgetting twice is harmless");

    /* many programs at once: the table is fixed, each is found or missed,
     * never confused with another */
    char prog[32], file[64];
    for (int i = 0; i < 200; i++) {
        snprintf(prog, sizeof(prog), "p%d", i);
        snprintf(file, sizeof(file), "/bin/p%d", i);
        pathcache_put(pc, (uid_t)(i % 7), PATH1, prog, file, 200);
    }
    int found = 0, wrong = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(prog, sizeof(prog), "p%d", i);
        snprintf(file, sizeof(file), "/bin/p%d", i);
        const char *g = pathcache_get(pc, (uid_t)(i % 7), PATH1, prog, 200);
        found += g != NULL;
        wrong += g && strcmp(g, file) != 0;
    }
    ok(found > 0 && found <= 16, "a fixed table keeps some of 200 (%d)", found);
    is(wrong, 0, "none of them answers for another");
    /* the last one put is always there */
    f = pathcache_get(pc, 199 % 7, PATH1, "p199", 200);
    is_str(f ? f : "(null)", "/bin/p199", "the newest is kept");

    pathcache_destroy(pc);
    pathcache_destroy(NULL);
    ok(1, "destroyed (NULL too)");
    return done_testing();
}
