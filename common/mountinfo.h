/* mountinfo.h - what is mounted where, from /proc/self/mountinfo: asked
 * without touching the mount itself (a stat of a FUSE mount whose server
 * is the caller, or is waiting on the caller, never returns). */
#ifndef FLUXFS_MOUNTINFO_H
#define FLUXFS_MOUNTINFO_H

#include <stddef.h>

/* The file system type of the topmost mount at mnt (an absolute path as
 * mountinfo spells it: "fuse.fluxfsd"), or "" when nothing is mounted there. */
void mountinfo_fstype(const char *mnt, char *fstype, size_t size);

#endif
