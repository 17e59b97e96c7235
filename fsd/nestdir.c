/* nestdir.c - a nested instance's directory and link socket (nestdir.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/imp_client.h"
#include "fsd/nestdir.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* Hand dirfd/name to uid:gid: as root ourselves, or through the
 * privileged helper of a broker that dropped root (a root job's child is
 * root and needs nothing; the broker's own user stands for root's group). */
static int give(struct imp *imp, int dirfd, const char *name, uid_t uid, gid_t gid)
{
    if (geteuid() == 0)
        return fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
    if (!imp || uid == 0 || (uid == geteuid() && gid == 0))
        return 0;
    return imp_give(imp, dirfd, name, uid, gid == 0 ? getegid() : gid, NULL);
}

/* Whether we keep the nested directories as their root side: root, or a
 * system instance's broker user. */
static bool root_side(struct imp *imp)
{
    return geteuid() == 0 || imp;
}

/* name in dirfd as a directory of ours: made if missing, taken back (root,
 * mode) if it exists; a symlink or anything else in its place is an error,
 * never followed. Its fd or -errno. */
static int own_dir(int dirfd, const char *name, mode_t mode, bool root)
{
    struct stat st;
    if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
        return -errno;
    /* another's (an older release gave it to its owner) and we may not take
     * it back (a broker that dropped root): moved aside, made anew; dirfd
     * is ours, so nothing can take name's place meanwhile */
    if (root && geteuid() != 0 && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
        && S_ISDIR(st.st_mode) && st.st_uid != geteuid()) {
        char aside[NAME_MAX + 1];
        snprintf(aside, sizeof(aside), ".aside-%.200s-%ld", name, (long)st.st_ino);
        if (renameat(dirfd, name, dirfd, aside) < 0 || mkdirat(dirfd, name, mode) < 0)
            return -errno;
    }
    int fd = openat(dirfd, name, DIR_FLAGS);
    if (fd < 0)
        return errno == ELOOP ? -ENOTDIR : -errno;
    /* ours first, so that its owner of old can make no more entries in it */
    int rc = 0;
    if (root && geteuid() == 0 && fchown(fd, 0, 0) < 0)
        rc = -errno;
    else if (root && fstat(fd, &st) == 0 && st.st_uid != geteuid())
        rc = -EPERM;
    else if (fchmod(fd, mode) < 0)
        rc = -errno;
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

/* name in dirfd (root's) as a directory of uid's: made, or checked to be a
 * real directory, then given to uid. */
static int user_dir(int dirfd, const char *name, mode_t mode, uid_t uid, gid_t gid,
                    struct imp *imp)
{
    struct stat st;
    if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
        return -errno;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode)) {
        /* a symlink or file in its place (left when the owner could write
         * here) goes; dirfd is root's, so nothing comes back */
        if (unlinkat(dirfd, name, 0) < 0 || mkdirat(dirfd, name, mode) < 0)
            return -errno;
    }
    /* dirfd is ours now: nothing can take name's place before this */
    return give(imp, dirfd, name, uid, gid);
}

/* A fresh regular file of root's (an old entry of that name is removed,
 * whatever it was), group gid, with mode. */
static int fresh_file(int dirfd, const char *name, gid_t gid, mode_t mode, struct imp *imp,
                      const char *data, size_t len)
{
    if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
        return -errno;
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    int rc = fchmod(fd, mode) < 0 ? -errno : 0;   /* whatever the umask */
    rc = rc < 0 ? rc : geteuid() == 0 ? (fchown(fd, 0, gid) < 0 ? -errno : 0)
                            : gid ? give(imp, dirfd, name, geteuid(), gid) : 0;
    while (rc == 0 && len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = w < 0 ? -errno : -EIO;
        else {
            data += w;
            len -= (size_t)w;
        }
    }
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

/* Walk statedir/nested/<job>/<name>, making each directory root's. */
static int walk(const char *statedir, const char *job, const char *name, bool make,
                struct imp *imp, struct errmsg *err)
{
    bool root = root_side(imp);
    const char *steps[] = {"nested", job, name};
    int fd = open(statedir, DIR_FLAGS);
    if (fd < 0)
        return errmsg_set(err, -errno, "cannot open %s: %s", statedir, strerror(errno));
    if (root && make) {
        /* owners reach their nested instances' mount points through it;
         * nothing in it is readable by others (everything else is 0600) */
        struct stat st;
        if (fstat(fd, &st) == 0 && (st.st_mode & 0011) != 0011)
            fchmod(fd, (st.st_mode & 07777) | 0011);
    }
    for (int i = 0; i < 3; i++) {
        int next = make ? own_dir(fd, steps[i], 0711, root)
                        : openat(fd, steps[i], DIR_FLAGS);
        if (!make && next < 0)
            next = errno == ELOOP ? -ENOTDIR : -errno;
        close(fd);
        if (next < 0)
            return errmsg_set(err, next, "cannot open %s/nested/%s/%s (at '%s'): %s", statedir,
                              job, name, steps[i], strerror(-next));
        fd = next;
    }
    return fd;
}

int nestdir_make(const char *statedir, const char *job, const char *name, uid_t uid, gid_t gid,
                 const char *R, size_t Rsize, struct imp *imp, struct errmsg *err)
{
    int rc, fd = walk(statedir, job, name, true, imp, err);
    if (fd < 0)
        return fd;
    unlinkat(fd, "failed", 0);   /* a start before failed: this one may not */
    const char *dirs[] = {"state", "mnt"};
    for (int i = 0; i < 2; i++) {
        if ((rc = user_dir(fd, dirs[i], 0700, uid, gid, imp)) < 0) {
            errmsg_set(err, rc, "cannot make %s/nested/%s/%s/%s: %s", statedir, job, name,
                       dirs[i], strerror(-rc));
            goto error;
        }
    }
    /* 0644: the allocation is no secret (jobs/<id>/R is 0444), and the
     * child runs with its owner's groups from the user database, which
     * may lack the group the job was submitted with (sg, newgrp) */
    if ((rc = fresh_file(fd, "R.json", gid, 0644, imp, R, Rsize)) < 0) {
        errmsg_set(err, rc, "cannot write %s/nested/%s/%s/R.json: %s", statedir, job, name,
                   strerror(-rc));
        goto error;
    }
    return fd;
error:
    close(fd);
    return rc;
}

int nestdir_open(const char *statedir, const char *job, const char *name, uid_t *uid)
{
    struct stat st;
    int fd = walk(statedir, job, name, false, NULL, NULL);
    if (fd < 0)
        return fd;
    if (fstatat(fd, "state", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
        close(fd);
        return -ENOTDIR;
    }
    *uid = st.st_uid;
    return fd;
}

int nestdir_log_open(int dirfd, gid_t gid, struct imp *imp)
{
    struct stat st;
    int fd = openat(dirfd, "log", O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0 && errno == ELOOP && unlinkat(dirfd, "log", 0) == 0)
        fd = openat(dirfd, "log", O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    /* a log left by an older release may be another's file: start anew */
    if (root_side(imp) && fstat(fd, &st) == 0
        && (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1)) {
        close(fd);
        if (fresh_file(dirfd, "log", gid, 0640, imp, "", 0) < 0)
            return -EPERM;
        fd = openat(dirfd, "log", O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return -errno;
    }
    int rc = geteuid() == 0 ? (fchown(fd, 0, gid) < 0 ? -errno : 0)
                            : gid ? give(imp, dirfd, "log", geteuid(), gid) : 0;
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

void nestdir_mark_failed(int dirfd)
{
    /* (the directory is ours alone: nothing here a user could have put) */
    int fd = openat(dirfd, "failed", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
}

bool nestdir_failed(int dirfd)
{
    struct stat st;
    return fstatat(dirfd, "failed", &st, AT_SYMLINK_NOFOLLOW) == 0;
}

void nestdir_log_tail(int dirfd, char *buf, size_t size)
{
    buf[0] = '\0';
    int fd = openat(dirfd, "log", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "re") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return;
    }
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '\n')
            continue;
        size_t len = strnlen(line, size - 1);
        memcpy(buf, line, len);
        buf[len] = '\0';
    }
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

void nestdir_detach_mount(int dirfd, const char *dir, struct imp *imp)
{
    char mnt[4200];
    if (imp && dirfd >= 0) {
        imp_detach(imp, dirfd, "mnt");
        return;
    }
    snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
    umount2(mnt, MNT_DETACH | UMOUNT_NOFOLLOW);
}

#define LINK_RECORD "link"
#define LINK_PREFIX "/tmp/fluxfs-link-"

static void link_record(int dirfd, const char *path)
{
    int fd = openat(dirfd, LINK_RECORD, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                    0600);
    if (fd < 0)
        return;
    size_t len = strlen(path);
    if (write(fd, path, len) != (ssize_t)len)
        unlinkat(dirfd, LINK_RECORD, 0);
    close(fd);
}

/* The record's path into buf (NUL-terminated): its length, or -1. */
static ssize_t read_record(int dirfd, char *buf, size_t size)
{
    int fd = openat(dirfd, LINK_RECORD, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

void nestdir_link_forget(int dirfd, const char *path)
{
    /* only our own: a broker still stopping after a crash of its parent
     * shares the directory with the one its parent's restart began, whose
     * record this may be by now */
    char rec[128];
    if (read_record(dirfd, rec, sizeof(rec)) > 0 && !strcmp(rec, path))
        unlinkat(dirfd, LINK_RECORD, 0);
}

/* The record is written before the directory exists and removed after it
 * is gone, so a kill at any point leaves either nothing in /tmp or a record
 * naming what is there (nestdir_link_stale, or a test's sweep, finds it). */
int nestdir_link_dir(int dirfd, char *path, size_t size, struct errmsg *err)
{
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char dir[] = LINK_PREFIX "XXXXXX";
    char *x = dir + strlen(LINK_PREFIX);
    if (size < sizeof(dir) + strlen("/link.ipc"))
        return errmsg_set(err, -ENAMETOOLONG, "link socket path too long");
    for (int tries = 0; tries < 100; tries++) {
        unsigned char r[6];
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
            return errmsg_set(err, -errno, "getrandom: %s", strerror(errno));
        for (size_t i = 0; i < sizeof(r); i++)
            x[i] = alnum[r[i] % (sizeof(alnum) - 1)];
        snprintf(path, size, "%s/link.ipc", dir);
        link_record(dirfd, path);
        if (mkdir(dir, 0700) == 0)
            return 0;
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    nestdir_link_forget(dirfd, path);
    path[0] = '\0';
    return errmsg_set(err, -e, "cannot make a directory in /tmp: %s", strerror(e));
}

/* path's directory part, in buf */
static int parent_of(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash || (size_t)(slash - path) >= size)
        return -EINVAL;
    memcpy(buf, path, (size_t)(slash - path));
    buf[slash - path] = '\0';
    return 0;
}

/* The directory a link socket path is in: an fd, or -errno. */
static int open_link_dir(const char *path)
{
    char dir[256];
    if (parent_of(path, dir, sizeof(dir)) < 0)
        return -EINVAL;
    int fd = open(dir, DIR_FLAGS);
    return fd < 0 ? -errno : fd;
}

int nestdir_link_grant(const char *path, uid_t uid, gid_t gid, struct imp *imp)
{
    int fd = open_link_dir(path);
    if (fd < 0)
        return fd;
    int rc = 0;
    if (root_side(imp) && uid != 0 && uid != geteuid()) {
        rc = give(imp, fd, strrchr(path, '/') + 1, uid, gid);
        if (rc == 0 && fchmod(fd, 0711) < 0)
            rc = -errno;
    }
    close(fd);
    return rc;
}

int nestdir_link_own(const char *path, uid_t uid)
{
    int fd = open_link_dir(path);
    if (fd < 0)
        return fd;
    int rc = fchown(fd, uid, (gid_t)-1) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

void nestdir_link_remove(const char *path)
{
    char dir[256];
    if (!path[0] || parent_of(path, dir, sizeof(dir)) < 0)
        return;
    unlink(path);
    rmdir(dir);
}

static void link_stale_remove(char *path, size_t n, uid_t self)
{
    char dir[128];
    struct stat st;
    path[n] = '\0';
    /* exactly what nestdir_link_dir() makes, a directory of ours: nothing
     * else is removed on the word of a file */
    if (strncmp(path, LINK_PREFIX, strlen(LINK_PREFIX)) || strstr(path, "..")
        || strlen(path) != strlen(LINK_PREFIX "XXXXXX/link.ipc")
        || strcmp(path + strlen(LINK_PREFIX "XXXXXX"), "/link.ipc")
        || parent_of(path, dir, sizeof(dir)) < 0 || lstat(dir, &st) < 0
        || !S_ISDIR(st.st_mode) || st.st_uid != self)
        return;
    nestdir_link_remove(path);
}

void nestdir_link_stale(int dirfd, uid_t self)
{
    char path[128];
    ssize_t n = read_record(dirfd, path, sizeof(path));
    if (n <= 0)
        return;
    char rec[128];
    memcpy(rec, path, (size_t)n + 1);
    link_stale_remove(path, (size_t)n, self);
    nestdir_link_forget(dirfd, rec);    /* after: see nestdir_link_dir() */
}
