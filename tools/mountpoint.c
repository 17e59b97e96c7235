/* mountpoint.c - locate a mounted fluxfs instance. */
#include <errno.h>
#include <stdbool.h>
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

/* A nested instance's tree (STATEDIR/nested/<job>/<name>/mnt): reached
 * through its parent's, never a default. */
static bool nested_mount(const char *point)
{
    size_t len = strlen(point);
    return strstr(point, "/nested/") && len > 4 && !strcmp(point + len - 4, "/mnt");
}

const char *fluxfs_find_mount(char *buf, size_t size)
{
    const char *env = getenv("FLUXFS_MOUNT");
    if (env && *env) {
        snprintf(buf, size, "%s", env);
        return buf;
    }
    FILE *f = fopen("/proc/mounts", "re");
    char line[4096], dev[1024], point[2048], pick[2048] = "", leader[2048] = "";
    char type[256], list[1024] = "";
    int count = 0, leaders = 0;
    bool all_brokers = true, flux = false;
    if (!f) {
        errno = ENOENT;
        return NULL;
    }
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%1023s %2047s %255s", dev, point, type) != 3
            || strcmp(type, "fuse.fluxfsd") != 0 || nested_mount(point))
            continue;
        if (count++ == 0)
            snprintf(pick, sizeof(pick), "%s", point);
        size_t n = strlen(list);
        snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", point);
        flux |= strcmp(point, "/flux") == 0;
        /* several brokers of one multi-node instance on this machine
         * (tests, examples): its leader */
        int rank = fluxfs_overlay_rank(point);
        all_brokers &= rank >= 0;
        if (rank == 0 && leaders++ == 0)
            snprintf(leader, sizeof(leader), "%s", point);
    }
    fclose(f);
    if (count == 0) {
        errno = ENOENT;
        return NULL;
    }
    if (count > 1 && flux)
        snprintf(pick, sizeof(pick), "/flux");
    else if (count > 1 && all_brokers && leaders == 1)
        snprintf(pick, sizeof(pick), "%s", leader);
    else if (count > 1) {
        /* another instance (someone else's, perhaps): never a guess */
        snprintf(buf, size, "%s", list);
        errno = EEXIST;
        return NULL;
    }
    snprintf(buf, size, "%s", pick);
    return buf;
}
