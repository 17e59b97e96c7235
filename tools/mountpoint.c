/* mountpoint.c - locate a mounted fluxfs instance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/mountpoint.h"

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
    snprintf(buf, size, "%s", first);
    return buf;
}
