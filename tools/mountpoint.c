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

#define MOUNTS_MAX 64

const char *fluxfs_find_mount(char *buf, size_t size)
{
    const char *env = getenv("FLUXFS_MOUNT");
    if (env && *env) {
        snprintf(buf, size, "%s", env);
        return buf;
    }
    FILE *f = fopen("/proc/mounts", "re");
    char line[4096], dev[1024], point[2048], type[256];
    static char mounts[MOUNTS_MAX][2048];
    int count = 0;
    bool flux = false;
    if (!f) {
        errno = ENOENT;
        return NULL;
    }
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%1023s %2047s %255s", dev, point, type) != 3
            || strcmp(type, "fuse.fluxfsd") != 0 || nested_mount(point))
            continue;
        flux |= strcmp(point, "/flux") == 0;
        if (count < MOUNTS_MAX)
            snprintf(mounts[count], sizeof(mounts[count]), "%s", point);
        count++;
    }
    fclose(f);
    if (count == 0) {
        errno = ENOENT;
        return NULL;
    }
    if (count == 1 || flux) {
        snprintf(buf, size, "%s", count == 1 ? mounts[0] : "/flux");
        return buf;
    }
    /* several: the brokers of one multi-node instance on this machine
     * (tests, examples) mean its leader; only then are their trees read,
     * so a hung instance of someone else's stalls nobody who named theirs */
    int leaders = 0, leader = -1, n = count < MOUNTS_MAX ? count : MOUNTS_MAX;
    bool all_brokers = count <= MOUNTS_MAX;
    for (int i = 0; i < n && all_brokers; i++) {
        int rank = fluxfs_overlay_rank(mounts[i]);
        all_brokers = rank >= 0;
        if (rank == 0 && leaders++ == 0)
            leader = i;
    }
    if (all_brokers && leaders == 1) {
        snprintf(buf, size, "%s", mounts[leader]);
        return buf;
    }
    /* another instance (someone else's, perhaps): never a guess */
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len < size; i++) {
        int k = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", mounts[i]);
        len += k > 0 ? (size_t)k : 0;
    }
    errno = EEXIST;
    return NULL;
}
