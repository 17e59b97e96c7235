/* procfd.c - a process's open descriptors, from /proc (procfd.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

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

static bool inside(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 1 && dir[0] == '/')
        return true;
    return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

static uid_t owner(pid_t pid)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof(path), "/proc/%d", (int)pid);
    return stat(path, &st) == 0 ? st.st_uid : (uid_t)-1;
}

/* The program pid runs, as the file it was executed from: (0, 0) if gone. */
static struct stat program(pid_t pid)
{
    char path[64];
    struct stat st = { 0 };
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
    if (stat(path, &st) < 0)
        memset(&st, 0, sizeof(st));
    return st;
}

/* pid's working directory into buf: 0, -ENOENT if it was removed, or
 * -errno. */
static int cwd_of(pid_t pid, char *buf, size_t size)
{
    static const char deleted[] = " (deleted)";
    char link[64];
    snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
    ssize_t n = readlink(link, buf, size - 1);
    if (n < 0)
        return -errno;
    if ((size_t)n >= size - 1)
        return -ENAMETOOLONG;
    buf[n] = '\0';
    /* a removed directory reads "PATH (deleted)": whatever now has that
     * name (another user may have made it) is not where it was */
    if (n > (ssize_t)sizeof(deleted) && !strcmp(buf + n - (sizeof(deleted) - 1), deleted))
        return -ENOENT;
    return 0;
}

int procfd_cwd(pid_t pid, const char *avoid, char *buf, size_t size)
{
    pid_t first = pid, kin = 0;   /* the first of the writer's kind outside avoid */
    uid_t uid = 0;
    struct stat exe = { 0 };
    for (int up = 0; up <= PROCFD_CWD_UP && pid > 1; up++, pid = procfd_parent(pid)) {
        /* an ancestor of another user (sudo, sshd) is not asked: the job
         * would run in someone else's directory (whose the process is, only
         * asked when an ancestor is: the common case reads one link) */
        if (up == 1) {
            uid = owner(first);
            exe = program(first);
        }
        if (up > 0 && owner(pid) != uid)
            break;
        /* the writer's own kind above it is its other half, not the user:
         * rsync's sender stands in the source's directory. Kept in case no
         * other is found (a shell that exec'd rsync, under sudo or sshd) */
        if (up > 0 && exe.st_ino) {
            struct stat st = program(pid);
            if (st.st_ino == exe.st_ino && st.st_dev == exe.st_dev) {
                char dir[PATH_MAX];
                if (!kin && cwd_of(pid, dir, sizeof(dir)) == 0 && (!avoid || !inside(dir, avoid)))
                    kin = pid;
                continue;
            }
        }
        int rc = cwd_of(pid, buf, size);
        if (rc < 0)
            return rc;
        if (!avoid || !inside(buf, avoid))
            return 0;
    }
    if (kin && cwd_of(kin, buf, size) == 0)
        return 0;
    return -EXDEV;
}

bool procfd_held(pid_t pid, uint64_t ino, const char *name, bool parent)
{
    if (procfd_holds(pid, ino, name))
        return true;
    if (!parent)
        return false;
    pid_t ppid = procfd_parent(pid);
    return ppid > 1 && procfd_holds(ppid, ino, name);
}
