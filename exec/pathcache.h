/* pathcache.h - where a PATH found a program, remembered for a second, as
 * a shell's command hash.
 *
 * A task's argv[0] without a '/' is looked up on its PATH: a stat (the
 * launcher) or a failed execve (the helper's child) per entry before the
 * one that has it, a path walk each. A burst of tasks starts the same
 * program of the same user on the same PATH again and again, so the file
 * found is kept for the second it was found in; a program replaced or
 * moved is found anew within a second, like bash's `hash -r` done for you.
 * A miss is never kept. The table is small and fixed (a newer entry takes
 * an older one's slot) and belongs to one thread.
 */
#ifndef FLUXFS_PATHCACHE_H
#define FLUXFS_PATHCACHE_H

#include <sys/types.h>
#include <time.h>

struct pathcache;

/* NULL with errno. */
struct pathcache *pathcache_create(void);
void pathcache_destroy(struct pathcache *pc);

/* The file that uid's prog was found as on path during second now, or
 * NULL. The string stays valid until the next pathcache_put. */
const char *pathcache_get(struct pathcache *pc, uid_t uid, const char *path, const char *prog,
                          time_t now);

/* Remember file (absolute) as uid's prog on path, found during second now;
 * a NULL or relative file forgets what was kept for them instead (a
 * relative PATH entry resolves under each task's own cwd). */
void pathcache_put(struct pathcache *pc, uid_t uid, const char *path, const char *prog,
                   const char *file, time_t now);

#endif
