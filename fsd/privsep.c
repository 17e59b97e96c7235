/* privsep.c - root to an unprivileged broker user (see privsep.h). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fsd/privsep.h"

static int lookup(const char *name, uid_t *uid, gid_t *gid)
{
    char buf[16384];
    struct passwd pw, *res = NULL;
    int rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
    if (rc != 0)
        return -rc;
    if (!res)
        return -ENOENT;
    *uid = pw.pw_uid;
    *gid = pw.pw_gid;
    return 0;
}

/* useradd --system, as Debian's packages make their daemons' users. */
static int create_user(const char *name, struct errmsg *err)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0)
            dup2(null, STDOUT_FILENO);
        execlp("useradd", "useradd", "--system", "--user-group", "--no-create-home",
               "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
               "--comment", "fluxfs workload manager", name, (char *)NULL);
        execl("/usr/sbin/useradd", "useradd", "--system", "--user-group", "--no-create-home",
              "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
              "--comment", "fluxfs workload manager", name, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return errmsg_set(err, -errno, "useradd: %s", strerror(errno));
    /* 9: another broker made it meanwhile */
    if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 9))
        return errmsg_set(err, -EPERM, "useradd --system %s failed (exit %d)", name,
                          WIFEXITED(status) ? WEXITSTATUS(status) : 128);
    return 0;
}

int privsep_user(const char *name, uid_t *uid, gid_t *gid, struct errmsg *err)
{
    int rc = lookup(name, uid, gid);
    if (rc == -ENOENT && !strcmp(name, PRIVSEP_DEFAULT_USER)) {
        /* a broker starting beside us may have made it meanwhile (useradd
         * then fails on its lock): what counts is that it exists after */
        int made = create_user(name, err);
        rc = lookup(name, uid, gid);
        if (rc < 0 && made < 0)
            return made;
    }
    if (rc < 0)
        return errmsg_set(err, rc, "user %s: %s", name,
                          rc == -ENOENT ? "no such user" : strerror(-rc));
    if (*uid == 0)
        return errmsg_set(err, -EINVAL, "user %s is root", name);
    return 0;
}

/* nested/<job>/<name>/state and mnt are the job owner's, root's included:
 * the child broker's, never the parent's to take */
static bool owners_own(int nested_depth, const char *name)
{
    return nested_depth == 3 && (!strcmp(name, "state") || !strcmp(name, "mnt"));
}

static int own_at(int dirfd, uid_t uid, gid_t gid, dev_t dev, int depth, int nested_depth)
{
    if (depth > 64)
        return 0;
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return -errno;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (owners_own(nested_depth, de->d_name)
            || fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_uid != 0
            || st.st_dev != dev)
            continue;   /* gone, not root's (a user's nested state stays theirs),
                           or a mount (a nested instance's tree) */
        if (fchownat(dirfd, de->d_name, uid, st.st_gid == 0 ? gid : (gid_t)-1,
                     AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int fd = openat(dirfd, de->d_name,
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            int nd = nested_depth ? nested_depth + 1 : depth == 0 && !strcmp(de->d_name, "nested");
            if (fd >= 0)
                own_at(fd, uid, gid, dev, depth + 1, nd);
        }
    }
    closedir(d);
    return 0;
}

int privsep_own(const char *dir, uid_t uid, gid_t gid)
{
    struct stat st;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || (st.st_uid == 0 && fchown(fd, uid, gid) < 0)) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return own_at(fd, uid, gid, st.st_dev, 0, 0);
}

int privsep_drop(uid_t uid, gid_t gid, struct errmsg *err)
{
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        return errmsg_set(err, -errno, "dropping to uid %u: %s", (unsigned)uid,
                          strerror(errno));
    if (setuid(0) == 0 || geteuid() == 0)
        return errmsg_set(err, -EPERM, "root could be taken back after the drop");
    /* a daemon of its own user: its /proc files are its own (changing
     * credentials made it undumpable), and it may dump core */
    prctl(PR_SET_DUMPABLE, 1);
    return 0;
}
