/* orphans.c - kill a job's leftovers by their environment (orphans.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/orphans.h"

/* Does /proc/<pid>/environ hold every one of the n strings want[], exactly? */
static bool environ_has_all(const char *pid, const char *const *want, int n)
{
    char path[64], buf[65536];
    int found = 0;
    bool seen[2] = { false, false };
    snprintf(path, sizeof(path), "/proc/%s/environ", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t len = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (len <= 0)
        return false;
    buf[len] = '\0';
    for (char *p = buf; p < buf + len && found < n; p += strlen(p) + 1)
        for (int i = 0; i < n; i++)
            if (!seen[i] && strcmp(p, want[i]) == 0) {
                seen[i] = true;
                found++;
            }
    return found == n;
}

int orphans_kill(const char *token, const char *idstr)
{
    char idvar[128], instvar[128];
    const char *want[2] = { idvar, instvar };
    /* Job ids are unique per instance, not per machine: a nested instance,
     * another root instance or a Flux job may use the same spelling. Only
     * a process that also names our instance is ours to kill. */
    int nwant = token && *token ? 2 : 1;
    int count = 0;
    if (snprintf(idvar, sizeof(idvar), "FLUX_JOB_ID=%s", idstr) >= (int)sizeof(idvar) ||
        snprintf(instvar, sizeof(instvar), "FLUXFS_INSTANCE=%s", token ? token : "")
            >= (int)sizeof(instvar))
        return -EINVAL;
    DIR *d = opendir("/proc");
    if (!d)
        return -errno;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        pid_t pid = (pid_t)atoi(de->d_name);
        if (pid != getpid() && environ_has_all(de->d_name, want, nwant)
            && kill(pid, SIGKILL) == 0)
            count++;
    }
    closedir(d);
    return count;
}
