/* nestdir.h - a nested instance's directory and link socket, made so that a
 * root broker never follows a path that a user can write.
 *
 * A root instance starts nested instances as their job's owner. Everything
 * the root side creates, opens, chowns or unmounts lives in directories only
 * root can write, reached with openat() and O_NOFOLLOW from the state
 * directory, so a name a user swaps for a symlink is refused, not followed:
 *
 *   STATEDIR/nested/<job>/<name>/   root's, 0711
 *       R.json                      root's, 0640, group the job's: the child's resources
 *       log                         root's, 0640, group the job's: the child's stderr
 *       state/                      the owner's, 0700: the child's store (never opened here)
 *       mnt/                        the owner's, 0700: the child's mount point
 *                                   (fusermount3 wants the user to own it)
 *
 * The link socket lives in a fresh mkdtemp() directory under /tmp, root's:
 * 0700 while nng binds it (so nobody can connect first), the socket then
 * chowned to the owner and the directory opened to search (0711).
 * A user can neither rename a root-owned entry of /tmp (sticky) nor list it.
 *
 * A state directory made by an older release (<name>/ owned by the user) is
 * taken back: the directory is chowned to root first, then every entry
 * checked with fstatat(AT_SYMLINK_NOFOLLOW); R.json is always made anew.
 */
#ifndef FLUXFS_NESTDIR_H
#define FLUXFS_NESTDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "common/errmsg.h"

/* Make (or take back) STATEDIR/nested/<job>/<name>/ for a child run by
 * uid:gid and write R into it. The directory's fd (O_PATH-free, O_DIRECTORY,
 * close-on-exec), or -errno with err filled. */
struct imp;
/* imp: a system instance's privileged helper, which hands state/, mnt/,
 * the socket and the group of R.json and log to the owner for a broker
 * that dropped root (fsd/privsep.h); "root's" below is then the broker
 * user's. NULL otherwise. */
int nestdir_make(const char *statedir, const char *job, const char *name, uid_t uid, gid_t gid,
                 const char *R, size_t Rsize, struct imp *imp, struct errmsg *err);

/* Open an existing one (after a restart): its fd, or -errno (-ENOENT, or
 * -ENOTDIR for anything but a real directory with a real state/ in it).
 * *uid is state/'s owner. */
int nestdir_open(const char *statedir, const char *job, const char *name, uid_t *uid);

/* A child that never started (its mount failed, it exited while starting)
 * leaves a "failed" file in its directory: a restart does not serve it as
 * a history (it has none), and a new mkdir of the name clears it. */
void nestdir_mark_failed(int dirfd);
bool nestdir_failed(int dirfd);
/* The child's log, for appending (an fd to hand it as stdout and stderr). */
int nestdir_log_open(int dirfd, gid_t gid, struct imp *imp);

/* The last non-empty line of the log, for an error a person can act on. */
void nestdir_log_tail(int dirfd, char *buf, size_t size);

/* Take the child's mount off dir/mnt (a child killed hard leaves it). */
void nestdir_detach_mount(int dirfd, const char *dir, struct imp *imp);

/* The link directory of path becomes uid's (a system instance's broker
 * user): one made while the broker is still root (a history served again
 * at a restart, before it drops root) could not be removed by it later.
 * 0 or -errno. */
int nestdir_link_own(const char *path, uid_t uid);

/* A listening socket path for a child run by uid: "/tmp/fluxfs-link-XXXXXX/
 * link.ipc". nestdir_link_dir() makes the directory (0700); after the
 * listener is bound, nestdir_link_grant() hands the socket to uid:gid and
 * lets it search the directory; nestdir_link_remove() removes both.
 * The path is also kept in the instance's directory (dirfd), so that after a
 * crash (the child died with us, leaving it in /tmp) a restart removes it:
 * nestdir_link_dir() records it before the directory exists, the caller
 * forgets it once removed, and nestdir_link_stale() sweeps at recovery. */
int nestdir_link_dir(int dirfd, char *path, size_t size, struct errmsg *err);
int nestdir_link_grant(const char *path, uid_t uid, gid_t gid, struct imp *imp);
void nestdir_link_remove(const char *path);
void nestdir_link_forget(int dirfd, const char *path);   /* if the record is path */
void nestdir_link_stale(int dirfd, uid_t self);   /* self: who made it (us) */

#endif
