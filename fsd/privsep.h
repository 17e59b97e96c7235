/* privsep.h - a root-started broker becomes a system instance: it keeps
 * root only as long as it takes to mount, then runs as an unprivileged
 * user (`fluxfs` by default) for good, and asks its privileged helper
 * (exec/imp.c) for whatever still needs root.
 *
 * The order, as broker.c follows it: privsep_user() (made if missing),
 * imp_start(), setup as root (store, resources, mount), privsep_own() on
 * the state directory, privsep_drop(). From then on nothing in this
 * process is root: not its threads, not the children it forks itself.
 */
#ifndef FLUXFS_PRIVSEP_H
#define FLUXFS_PRIVSEP_H

#include <sys/types.h>
#include "common/errmsg.h"

#define PRIVSEP_DEFAULT_USER "fluxfs"

/* The broker's user: name's uid and gid. A missing system user of the
 * default name is created (useradd --system, no home, no login shell); any
 * other missing name is an error. 0 or -errno with err filled. */
int privsep_user(const char *name, uid_t *uid, gid_t *gid, struct errmsg *err);

/* Make what root made in dir the broker's: every entry owned by root
 * (user root -> uid, group root -> gid; other groups kept), without
 * following symlinks, crossing mounts or entering a directory of another
 * user (a nested instance's state). 0 or -errno. */
int privsep_own(const char *dir, uid_t uid, gid_t gid);

/* Become uid:gid (no supplementary groups) for good: real, effective and
 * saved; checked by trying to get root back. 0 or -errno with err. */
int privsep_drop(uid_t uid, gid_t gid, struct errmsg *err);

#endif
