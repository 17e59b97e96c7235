/* mountpoint.h - find the fluxfs instance a command-line tool should use. */
#ifndef FLUXFS_TOOLS_MOUNTPOINT_H
#define FLUXFS_TOOLS_MOUNTPOINT_H

#include <stddef.h>

/* $FLUXFS_MOUNT if set, else the only fuse.fluxfsd mount in /proc/mounts,
 * else "/flux" if it is one. Writes into buf; NULL if none is found. */
const char *fluxfs_find_mount(char *buf, size_t size);

#endif
