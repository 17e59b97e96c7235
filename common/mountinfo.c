/* mountinfo.c - mounts from /proc/self/mountinfo (mountinfo.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "common/mountinfo.h"

struct mount_line {
    int id;
    dev_t dev;
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

/* One line. Fields: id parent maj:min root point opts [optional...] -
 * fstype source superopts. */
static bool parse(const char *line, struct mount_line *m)
{
    unsigned maj, min;
    const char *dash = strstr(line, " - ");
    if (sscanf(line, "%d %*s %u:%u %*s %4095s", &m->id, &maj, &min, m->point) != 4 || !dash
        || sscanf(dash + 3, "%255s", m->type) != 1)
        return false;
    m->dev = makedev(maj, min);
    unescape(m->point);
    return true;
}

/* The whole file from its start, NUL-terminated (malloc'd), or NULL with
 * errno. A mountinfo of thousands of mounts is a few hundred KB. */
static char *slurp(int fd)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    if (!buf || lseek(fd, 0, SEEK_SET) < 0)
        goto error;
    for (;;) {
        if (cap - len < 4096) {
            char *n = realloc(buf, cap * 2);
            if (!n)
                goto error;
            buf = n;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto error;
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    return buf;
error:;
    int e = errno;
    free(buf);
    errno = e;
    return NULL;
}

int mountinfo_top(const char *mnt, char *fstype, size_t size, dev_t *dev)
{
    int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC), id = -1;
    char *buf = fd >= 0 ? slurp(fd) : NULL;
    struct mount_line m;
    if (fstype && size)
        fstype[0] = '\0';
    if (fd >= 0)
        close(fd);
    for (char *line = buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        if ((nl = strchr(line, '\n')))
            *nl = '\0';
        if (!parse(line, &m) || strcmp(m.point, mnt) != 0)
            continue;
        id = m.id;   /* the last one listed is on top */
        if (fstype && size)
            snprintf(fstype, size, "%s", m.type);
        if (dev)
            *dev = m.dev;
    }
    free(buf);
    return id;
}

void mountinfo_fstype(const char *mnt, char *fstype, size_t size)
{
    mountinfo_top(mnt, fstype, size, NULL);
}

int mountinfo_has_dev(int fd, dev_t dev)
{
    char *buf = slurp(fd);
    struct mount_line m;
    int found = 0;
    if (!buf)
        return -errno;
    for (char *line = buf, *nl; !found && line && *line; line = nl ? nl + 1 : NULL) {
        if ((nl = strchr(line, '\n')))
            *nl = '\0';
        found = parse(line, &m) && m.dev == dev;
    }
    free(buf);
    return found;
}
