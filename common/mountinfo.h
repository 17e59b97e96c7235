/* mountinfo.h - what is mounted where, from /proc/self/mountinfo: asked
 * without touching the mount itself (a stat of a FUSE mount whose server
 * is the caller, or is waiting on the caller, never returns). Mount points
 * are absolute paths as the kernel resolved them (realpath's); mountinfo's
 * escapes (a space is \040) are undone. */
#ifndef FLUXFS_MOUNTINFO_H
#define FLUXFS_MOUNTINFO_H

#include <stddef.h>
#include <sys/types.h>

/* The file system type of the topmost mount at mnt ("fuse.fluxfsd"), or ""
 * when nothing is mounted there. */
void mountinfo_fstype(const char *mnt, char *fstype, size_t size);

/* The same (fstype may be NULL), and that mount's file system's device
 * number (mountinfo's maj:min, its st_dev) in *dev; returns the mount's id
 * (mountinfo's first field), or -1 if nothing is mounted at mnt. */
int mountinfo_top(const char *mnt, char *fstype, size_t size, dev_t *dev);

/* Whether the file system with device number dev is mounted anywhere in
 * our mount namespace (at its first mount point, moved, or bound
 * elsewhere; not once only detached mounts of it are left), read from fd,
 * an open /proc/self/mountinfo (from its start, whatever was read before:
 * no new descriptor is needed). 1 yes, 0 no, -errno if it cannot be read.
 * (A device number names a file system for as long as the file system
 * lives, where a mount id is reused by the next mount.) */
int mountinfo_has_dev(int fd, dev_t dev);

#endif
