/* procfd.c - a process's open descriptors, from /proc (procfd.h). */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exec/procfd.h"

/* The descriptor being closed is already gone from its table, and an
 * exiting process shows none. Only /proc is read here: nothing touches the
 * mount (that would deadlock a FUSE server asking). The descriptors looked
 * at are bounded: shells keep their duplicates low (3-10, and 255). */
bool procfd_holds(pid_t pid, uint64_t ino, const char *name)
{
    char path[64], target[PATH_MAX], info[320];
    size_t nlen = strlen(name);
    bool held = false;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return false;
    int seen = 0;
    for (struct dirent *e; !held && seen < PROCFD_SCAN_MAX && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        seen++;
        ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
        /* the link names the file as "<mount>/queue/<name>", or with
         * " (deleted)" once a lookup of the name has missed (anyone's stat
         * of it): a cheap filter before the exact test on the inode */
        static const char deleted[] = " (deleted)";
        size_t dlen = sizeof(deleted) - 1;
        if (n > (ssize_t)dlen && !memcmp(target + n - dlen, deleted, dlen))
            n -= dlen;
        if (n <= (ssize_t)nlen || target[n - nlen - 1] != '/' ||
            memcmp(target + n - nlen, name, nlen) != 0)
            continue;
        snprintf(info, sizeof(info), "/proc/%d/fdinfo/%s", (int)pid, e->d_name);
        FILE *f = fopen(info, "re");
        unsigned long long fino;
        while (f && fgets(info, sizeof(info), f))
            if (sscanf(info, "ino: %llu", &fino) == 1 && fino == ino)
                held = true;
        if (f)
            fclose(f);
    }
    closedir(d);
    return held;
}


/* The parent of process pid, or 0: from /proc/PID/stat, much cheaper for
 * the kernel to render than status. */
pid_t procfd_parent(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and parentheses */
    char *p = strrchr(buf, ')');
    int ppid = 0;
    if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
        return 0;
    return (pid_t)ppid;
}

bool procfd_held(pid_t pid, uint64_t ino, const char *name)
{
    if (procfd_holds(pid, ino, name))
        return true;
    pid_t ppid = procfd_parent(pid);
    return ppid > 1 && procfd_holds(ppid, ino, name);
}
