/* mountinfo.h - what is mounted where, from /proc/self/mountinfo: asked
 * without touching the mount itself (a stat of a FUSE mount whose server
 * is the caller, or is waiting on the caller, never returns). Mount points
 * are absolute paths as the kernel resolved them (realpath's); mountinfo's
 * escapes (a space is \040) are undone. */
#ifndef FLUXFS_MOUNTINFO_H
#define FLUXFS_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>

/* The file system type of the topmost mount at mnt ("fuse.fluxfsd"), or ""
 * when nothing is mounted there. */
void mountinfo_fstype(const char *mnt, char *fstype, size_t size);

/* The same, and that mount's id (mountinfo's first field); -1 if none. */
int mountinfo_top(const char *mnt, char *fstype, size_t size);

/* Whether the mount with this id is still mounted at mnt: false once it is
 * unmounted (lazily or not), true while something is mounted on top of it.
 * (An id freed by an unmount may be given to a later mount: the mount
 * point must match too.) True if mountinfo cannot be read: a caller that
 * stops when its mount is gone must not stop on a guess. */
bool mountinfo_present(int id, const char *mnt);

#endif
