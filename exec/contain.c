/* contain.c - a cgroup v1 freezer group per job, and a cpuset group that
 * holds its tasks to the cpus they were given. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/contain.h"

#define CONTAIN_ROOT "/sys/fs/cgroup/freezer/fluxfs"
#define CPUSET_ROOT "/sys/fs/cgroup/cpuset/fluxfs"
#define MEMORY_ROOT "/sys/fs/cgroup/memory/fluxfs"

struct contain {
    char path[PATH_MAX];
    int procs_fd;
    char cpuset[PATH_MAX];      /* the job's cpuset group, "" if none */
    char names[PATH_MAX];       /* "<instance>/<job>", the groups' names */
    int cpuset_fd;              /* its cgroup.procs */
    char memory[PATH_MAX];      /* the job's memory group, "" if none */
    int memory_fd;              /* its cgroup.procs */
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
    c->procs_fd = c->cpuset_fd = c->memory_fd = -1;
    char procs[PATH_MAX + 16];
    if (snprintf(c->path, sizeof(c->path), "%s/%s", dir, idstr) >= (int)sizeof(c->path)) {
        free(c);
        return -ENAMETOOLONG;
    }
    snprintf(c->names, sizeof(c->names), "%s/%s", *instance ? instance : "default", idstr);
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

static int read_file(const char *dir, const char *name, char *buf, size_t size)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, size - 1);
    int rc = n < 0 ? -errno : 0;
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return rc;
}

/* A cpuset group under parent: v1 gives a new one no cpus and no memory
 * nodes, so it takes its parent's (cpus: the given list instead). */
static int cpuset_dir(const char *parent, const char *dir, const char *cpus)
{
    char pcpus[4096], pmems[4096];
    int rc = mkdir_one(dir);
    if (rc == 0)
        rc = read_file(parent, "cpuset.mems", pmems, sizeof(pmems));
    if (rc == 0 && !cpus && (rc = read_file(parent, "cpuset.cpus", pcpus, sizeof(pcpus))) == 0)
        cpus = pcpus;
    if (rc == 0)
        rc = write_file(dir, "cpuset.cpus", cpus);
    if (rc == 0)
        rc = write_file(dir, "cpuset.mems", pmems);
    return rc;
}

/* A controller's instance directory and the job's group under root, from
 * the freezer group's names. 0 or -ENAMETOOLONG. */
static int group_paths(const char *root, const struct contain *c, char *inst, size_t isize,
                       char *dir, size_t dsize)
{
    const char *slash = strchr(c->names, '/');
    if ((size_t)snprintf(inst, isize, "%s/%.*s", root, (int)(slash - c->names), c->names)
        >= isize || (size_t)snprintf(dir, dsize, "%s/%s", root, c->names) >= dsize)
        return -ENAMETOOLONG;
    return 0;
}

/* The group's cgroup.procs, open to write "0" into: its fd or -errno. */
static int open_procs(const char *dir)
{
    char procs[PATH_MAX + 16];
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int contain_set_cpus(struct contain *c, const int *cpus, int n)
{
    char inst[PATH_MAX], list[4096] = "";
    const char *slash = strchr(c->names, '/');
    size_t len = 0;
    int rc;
    if (c->cpuset_fd >= 0 || n <= 0 || !slash)
        return c->cpuset_fd >= 0 ? 0 : -EINVAL;
    for (int i = 0; i < n && len < sizeof(list) - 16; i++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d", i ? "," : "", cpus[i]);
    if ((rc = group_paths(CPUSET_ROOT, c, inst, sizeof(inst), c->cpuset, sizeof(c->cpuset))) < 0)
        return rc;
    if ((rc = cpuset_dir("/sys/fs/cgroup/cpuset", CPUSET_ROOT, NULL)) < 0
        || (rc = cpuset_dir(CPUSET_ROOT, inst, NULL)) < 0
        || (rc = cpuset_dir(inst, c->cpuset, list)) < 0
        || (rc = c->cpuset_fd = open_procs(c->cpuset)) < 0)
        goto error;
    return 0;
error:
    rmdir(c->cpuset);
    c->cpuset[0] = '\0';
    c->cpuset_fd = -1;
    return rc;
}

int contain_cpuset_fd(const struct contain *c)
{
    return c->cpuset_fd;
}

int contain_set_memory(struct contain *c, uint64_t bytes)
{
    char inst[PATH_MAX], limit[32];
    const char *slash = strchr(c->names, '/');
    int rc;
    if (c->memory_fd >= 0 || bytes == 0 || !slash)
        return c->memory_fd >= 0 ? 0 : -EINVAL;
    if ((rc = group_paths(MEMORY_ROOT, c, inst, sizeof(inst), c->memory, sizeof(c->memory))) < 0)
        return rc;
    snprintf(limit, sizeof(limit), "%llu", (unsigned long long)bytes);
    if ((rc = mkdir_one(MEMORY_ROOT)) < 0 || (rc = mkdir_one(inst)) < 0
        || (rc = mkdir_one(c->memory)) < 0
        || (rc = write_file(c->memory, "memory.limit_in_bytes", limit)) < 0)
        goto error;
    /* and no swap beyond it, where swap is accounted */
    write_file(c->memory, "memory.memsw.limit_in_bytes", limit);
    if ((rc = c->memory_fd = open_procs(c->memory)) < 0)
        goto error;
    return 0;
error:
    rmdir(c->memory);
    c->memory[0] = '\0';
    c->memory_fd = -1;
    return rc;
}

int contain_memory_fd(const struct contain *c)
{
    return c->memory_fd;
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
    if (!c->path[0] && !c->cpuset[0] && !c->memory[0])
        return true;
    /* mostly nothing is left (10 us to see and remove); freezing costs
     * 200 us, so only a group with members is frozen: then nothing in it
     * can fork while it is emptied, and a killed member dies once thawed */
    if (c->path[0] && members(c->path, false) > 0) {
        write_file(c->path, "freezer.state", "FROZEN");
        members(c->path, true);
        write_file(c->path, "freezer.state", "THAWED");
    }
    if (c->path[0] && (rmdir(c->path) == 0 || errno == ENOENT))
        c->path[0] = '\0';
    /* the same processes: empty once the freezer group is */
    if (!c->path[0] && c->cpuset[0] && (rmdir(c->cpuset) == 0 || errno == ENOENT))
        c->cpuset[0] = '\0';
    /* a memory group goes once its charges are gone: the next try */
    if (!c->path[0] && c->memory[0] && (rmdir(c->memory) == 0 || errno == ENOENT))
        c->memory[0] = '\0';
    return !c->path[0] && !c->cpuset[0] && !c->memory[0];
}

void contain_destroy(struct contain *c)
{
    if (!c)
        return;
    if (c->procs_fd >= 0)
        close(c->procs_fd);
    if (c->cpuset_fd >= 0)
        close(c->cpuset_fd);
    if (c->memory_fd >= 0)
        close(c->memory_fd);
    free(c);
}

void contain_remove_instance(const char *root, const char *instance)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof(dir), "%s/%s", root ? root : CONTAIN_ROOT,
                 *instance ? instance : "default") < (int)sizeof(dir))
        rmdir(dir);   /* fails, as it should, while a group is left */
    if (!root && snprintf(dir, sizeof(dir), "%s/%s", CPUSET_ROOT, *instance ? instance : "default")
                 < (int)sizeof(dir))
        rmdir(dir);
    if (!root && snprintf(dir, sizeof(dir), "%s/%s", MEMORY_ROOT, *instance ? instance : "default")
                 < (int)sizeof(dir))
        rmdir(dir);
}
