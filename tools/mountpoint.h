/* mountpoint.h - find the fluxfs instance a command-line tool should use. */
#ifndef FLUXFS_TOOLS_MOUNTPOINT_H
#define FLUXFS_TOOLS_MOUNTPOINT_H

#include <stddef.h>

/* $FLUXFS_MOUNT if set, else the only fuse.fluxfsd mount in /proc/mounts
 * (nested instances' trees do not count); of several, /flux, or the leader
 * of one multi-node instance whose brokers they all are. Writes into buf.
 * NULL with errno ENOENT (none) or EEXIST (several, which buf then lists:
 * never a guess, it could be another user's instance). */
const char *fluxfs_find_mount(char *buf, size_t size);

/* The tree's rank in a multi-node instance (its status' overlay-rank), or
 * -1 for a single-node instance or an unreadable status. */
int fluxfs_overlay_rank(const char *mnt);

#endif
