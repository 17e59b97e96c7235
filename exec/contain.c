/* contain.c - a cgroup v1 freezer group per job. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/contain.h"

#define CONTAIN_ROOT "/sys/fs/cgroup/freezer/fluxfs"

struct contain {
    char path[PATH_MAX];
    int procs_fd;
};

static int mkdir_one(const char *path)
{
    return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

int contain_create(const char *root, const char *instance, const char *idstr,
                   struct contain **out)
{
    char dir[PATH_MAX];
    int rc;
    if (!root)
        root = CONTAIN_ROOT;
    /* names come from the broker (F58 ids, hex tokens): no '/' or '..' */
    if (strchr(idstr, '/') || strchr(instance, '/') || !strcmp(idstr, "..") ||
        !strcmp(instance, ".."))
        return -EINVAL;
    if (snprintf(dir, sizeof(dir), "%s/%s", root, *instance ? instance : "default")
        >= (int)sizeof(dir))
        return -ENAMETOOLONG;
    if ((rc = mkdir_one(root)) < 0 || (rc = mkdir_one(dir)) < 0)
        return rc;
    struct contain *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->procs_fd = -1;
    char procs[PATH_MAX + 16];
    if (snprintf(c->path, sizeof(c->path), "%s/%s", dir, idstr) >= (int)sizeof(c->path)) {
        free(c);
        return -ENAMETOOLONG;
    }
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", c->path);
    if ((rc = mkdir_one(c->path)) < 0 ||
        ((c->procs_fd = open(procs, O_WRONLY | O_CLOEXEC)) < 0 && (rc = -errno))) {
        rmdir(c->path);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

bool contain_exists(const char *root, const char *instance, const char *idstr)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s/%s", root ? root : CONTAIN_ROOT,
                 *instance ? instance : "default", idstr) >= (int)sizeof(path))
        return false;
    return access(path, F_OK) == 0;
}

int contain_procs_fd(const struct contain *c)
{
    return c->procs_fd;
}

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = write(fd, text, strlen(text)) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* The group's members, each sent SIGKILL when kill; at least 1 if the
 * group cannot be read (so that it is frozen and tried again). */
static int members(const char *dir, bool kill_them)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
    FILE *f = fopen(path, "re");
    int n = 0, pid;
    if (!f)
        return errno == ENOENT ? 0 : 1;
    while (fscanf(f, "%d", &pid) == 1) {
        n++;
        if (!kill_them)
            break;
        kill(pid, SIGKILL);
    }
    fclose(f);
    return n;
}

bool contain_kill(struct contain *c)
{
    if (!c->path[0])
        return true;
    /* mostly nothing is left (10 us to see and remove); freezing costs
     * 200 us, so only a group with members is frozen: then nothing in it
     * can fork while it is emptied, and a killed member dies once thawed */
    if (members(c->path, false) > 0) {
        write_file(c->path, "freezer.state", "FROZEN");
        members(c->path, true);
        write_file(c->path, "freezer.state", "THAWED");
    }
    if (rmdir(c->path) == 0 || errno == ENOENT) {
        c->path[0] = '\0';
        return true;
    }
    return false;
}

void contain_destroy(struct contain *c)
{
    if (!c)
        return;
    if (c->procs_fd >= 0)
        close(c->procs_fd);
    free(c);
}

void contain_remove_instance(const char *root, const char *instance)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof(dir), "%s/%s", root ? root : CONTAIN_ROOT,
                 *instance ? instance : "default") < (int)sizeof(dir))
        rmdir(dir);   /* fails, as it should, while a group is left */
}
