/* mountinfo.c - mounts from /proc/self/mountinfo (mountinfo.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/mountinfo.h"

void mountinfo_fstype(const char *mnt, char *fstype, size_t size)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    fstype[0] = '\0';
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char point[PATH_MAX], type[256];
        /* fields: id parent maj:min root point opts ... - fstype source opts */
        if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
            continue;
        char *dash = strstr(line, " - ");
        if (!dash || sscanf(dash + 3, "%255s", type) != 1)
            continue;
        if (strcmp(point, mnt) == 0)   /* the last one listed is on top */
            snprintf(fstype, size, "%s", type);
    }
    fclose(f);
}
