/* mountinfo.c - mounts from /proc/self/mountinfo (mountinfo.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mountinfo.h"

struct mount_line {
    int id;
    char point[PATH_MAX];
    char type[256];
};

/* Undo mountinfo's octal escapes (\040 space, \011 tab, \012 newline,
 * \134 backslash) in place. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7'
            && r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
            r += 3;
        } else
            *w++ = *r;
    }
    *w = '\0';
}

/* The next well-formed line of f. Fields: id parent maj:min root point
 * opts [optional...] - fstype source superopts. */
static bool next_mount(FILE *f, struct mount_line *m)
{
    char line[8192];
    while (fgets(line, sizeof(line), f)) {
        char *dash = strstr(line, " - ");
        if (sscanf(line, "%d %*s %*s %*s %4095s", &m->id, m->point) != 2 || !dash
            || sscanf(dash + 3, "%255s", m->type) != 1)
            continue;
        unescape(m->point);
        return true;
    }
    return false;
}

int mountinfo_top(const char *mnt, char *fstype, size_t size)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    struct mount_line m;
    int id = -1;
    if (size)
        fstype[0] = '\0';
    if (!f)
        return -1;
    while (next_mount(f, &m)) {
        if (strcmp(m.point, mnt) == 0) {   /* the last one listed is on top */
            id = m.id;
            if (size)
                snprintf(fstype, size, "%s", m.type);
        }
    }
    fclose(f);
    return id;
}

void mountinfo_fstype(const char *mnt, char *fstype, size_t size)
{
    mountinfo_top(mnt, fstype, size);
}

bool mountinfo_present(int id, const char *mnt)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    struct mount_line m;
    bool found = false;
    if (!f)
        return true;
    while (!found && next_mount(f, &m))
        found = m.id == id && strcmp(m.point, mnt) == 0;
    fclose(f);
    return found;
}
