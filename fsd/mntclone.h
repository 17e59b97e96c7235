/* mntclone.h - a clone of a mount, attached nowhere (open_tree(2) with
 * OPEN_TREE_CLONE): the same file system reached by another mount, so
 * that a process working through it does not make an unmount of the
 * original fail with EBUSY. The clone keeps the file system alive until
 * its descriptor is closed (fsd/publish.h says why the publisher uses one
 * and how the broker then learns of the unmount).
 *
 * open_tree needs CAP_SYS_ADMIN in the caller's mount namespace: root has
 * it; a user gets it in a mount namespace of its own, made with a user
 * namespace of its own, by a short-lived child that clones the mount there
 * and hands the descriptor back (the namespace, and its copies of every
 * other mount of the system, end with that child: only the clone stays).
 */
#ifndef FLUXFS_MNTCLONE_H
#define FLUXFS_MNTCLONE_H

#include "common/errmsg.h"

/* A descriptor (O_CLOEXEC) of a clone of the mount at mnt, or -errno with
 * err filled (ENOSYS: the kernel has no open_tree; EPERM: user namespaces
 * are not allowed here). Never touches the mount's file system: safe to
 * call before its server answers anything. Safe in a process with threads
 * (the child makes only system calls). */
int mntclone_open(const char *mnt, struct errmsg *err);

#endif
