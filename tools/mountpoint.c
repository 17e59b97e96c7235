/* mountpoint.c - locate a mounted fluxfs instance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/mountpoint.h"

int fluxfs_overlay_rank(const char *mnt)
{
    char path[4096], line[256];
    int rank = -1;
    snprintf(path, sizeof(path), "%s/status", mnt);
    FILE *f = fopen(path, "re");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "overlay-rank: %d", &rank) == 1)
            break;
    if (f)
        fclose(f);
    return rank;
}

const char *fluxfs_find_mount(char *buf, size_t size)
{
    const char *env = getenv("FLUXFS_MOUNT");
    if (env && *env) {
        snprintf(buf, size, "%s", env);
        return buf;
    }
    FILE *f = fopen("/proc/mounts", "re");
    char line[4096], dev[1024], point[2048], type[256], first[2048] = "";
    int count = 0;
    if (!f)
        return NULL;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%1023s %2047s %255s", dev, point, type) != 3)
            continue;
        if (strcmp(type, "fuse.fluxfsd") != 0)
            continue;
        if (count++ == 0)
            snprintf(first, sizeof(first), "%s", point);
        else if (strcmp(point, "/flux") == 0)
            snprintf(first, sizeof(first), "%s", point);   /* several: prefer /flux */
    }
    fclose(f);
    if (!count)
        return NULL;
    /* several brokers of a multi-node instance on one machine: a follower's
     * tree has no jobs/ of its own, so the leader's wins */
    if (count > 1 && fluxfs_overlay_rank(first) > 0) {
        f = fopen("/proc/mounts", "re");
        while (f && fgets(line, sizeof(line), f)) {
            if (sscanf(line, "%1023s %2047s %255s", dev, point, type) == 3
                && !strcmp(type, "fuse.fluxfsd") && fluxfs_overlay_rank(point) <= 0) {
                snprintf(first, sizeof(first), "%s", point);
                break;
            }
        }
        if (f)
            fclose(f);
    }
    snprintf(buf, size, "%s", first);
    return buf;
}
