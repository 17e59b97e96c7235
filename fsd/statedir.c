/* statedir.c - the state directory's own files, beside the store: the
 * lock that keeps a second broker out, and the reserve that a full disk
 * gives back to the store. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "fsd/statedir.h"

/* Bytes this process may still write there (root may use the blocks a file
 * system keeps for root); UINT64_MAX if unknown. */
uint64_t statedir_free(const char *dir)
{
    struct statvfs sv;

    if (statvfs(dir, &sv) < 0)
        return UINT64_MAX;
    return (uint64_t)(geteuid() == 0 ? sv.f_bfree : sv.f_bavail) * sv.f_frsize;
}

static int reserve_path(const char *dir, const char *name, char *buf, size_t size)
{
    return snprintf(buf, size, "%s/%s", dir, name) < (int)size ? 0 : -ENAMETOOLONG;
}

bool statedir_has_reserve(const char *dir)
{
    char path[PATH_MAX];
    return reserve_path(dir, "reserve", path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

/* Give the reserve back to the file system: LMDB can grow into it. */
void statedir_reserve_release(const char *dir)
{
    char path[PATH_MAX];

    if (reserve_path(dir, "reserve", path, sizeof(path)) == 0)
        unlink(path);
}

/* Allocate the reserve under a temporary name, so that a reserve file is
 * always whole. */
int statedir_reserve_make(const char *dir)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    int fd, rc;

    if (reserve_path(dir, "reserve.new", tmp, sizeof(tmp)) < 0
        || reserve_path(dir, "reserve", path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return -errno;
    rc = -posix_fallocate(fd, 0, (off_t)STATEDIR_RESERVE);
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/* The lock file: "PID       \n" then "stopping\n" or 8 spaces and "\n"
 * (written whole by each holder, so a marker never outlives its holder). */
#define LOCK_STOPPING "stopping"
#define LOCK_PID_LEN 11

static int read_lock_pid(int fd, bool *stopping)
{
    char buf[32];
    ssize_t n;

    /* The holder writes its pid right after taking the lock: allow it a
     * moment in case we raced with it. */
    for (int tries = 0; tries < 50; tries++) {
        n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n > 0) {
            buf[n] = '\0';
            int pid = atoi(buf);
            *stopping = n > LOCK_PID_LEN && !strncmp(buf + LOCK_PID_LEN, LOCK_STOPPING,
                                                     strlen(LOCK_STOPPING));
            if (pid > 0)
                return pid;
        }
        usleep(2000);
    }
    return -1;
}

void statedir_stopping(int fd)
{
    if (fd >= 0)
        (void)!pwrite(fd, LOCK_STOPPING, strlen(LOCK_STOPPING), LOCK_PID_LEN);
}

int statedir_lock(const char *dir, int *fdp, struct errmsg *err)
{
    char path[PATH_MAX], pidbuf[32];
    int fd, len;

    if (snprintf(path, sizeof(path), "%s/lock", dir) >= (int)sizeof(path))
        return errmsg_set(err, -ENAMETOOLONG, "state directory '%s': name too long", dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return errmsg_set(err, -errno, "cannot open '%s': %s", path, strerror(errno));
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        bool stopping = false;
        if (e == EINTR)
            continue;
        if (e != EWOULDBLOCK) {
            close(fd);
            return errmsg_set(err, -e, "cannot lock '%s': %s", path, strerror(e));
        }
        int pid = read_lock_pid(fd, &stopping);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!stopping || now.tv_sec - t0.tv_sec >= STATEDIR_STOP_WAIT) {
            close(fd);
            if (stopping)
                return errmsg_set(err, -EBUSY, "state directory '%s' is in use by pid %d "
                                  "(stopping, still after %d s)", dir, pid, STATEDIR_STOP_WAIT);
            return errmsg_set(err, -EBUSY, "state directory '%s' is in use by pid %d", dir, pid);
        }
        usleep(20000);
    }
    /* Overwritten in place, never truncated: on a full disk, truncating
     * and writing again may find no block to write to. The pid is only for
     * the message above: a full disk must not keep the broker from starting,
     * so a failed write leaves whatever was there. */
    len = snprintf(pidbuf, sizeof(pidbuf), "%-10d\n%8s\n", (int)getpid(), "");
    (void)!pwrite(fd, pidbuf, (size_t)len, 0);
    *fdp = fd;
    return 0;
}

