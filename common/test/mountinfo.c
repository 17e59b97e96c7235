/* test/mountinfo.c - unit tests for common/mountinfo.c: the topmost mount
 * at a path, whether a mount is still there, mountinfo's escapes undone,
 * and that a change of the mount table wakes an EV_PRI watcher of
 * /proc/self/mountinfo (what the broker stops on). The mounts need root;
 * without, those checks are skipped. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ev.h"
#include "common/mountinfo.h"
#include "common/tap.h"

static void on_change(struct ev_loop *loop, int fd, int events, void *arg)
{
    (void)loop;
    (void)fd;
    if (events & EV_PRI)
        ++*(int *)arg;
}

int main(void)
{
    plan(NO_PLAN);
    char type[64];
    dev_t rootdev = 0, dev = 0;
    struct stat st;
    int mi = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    int root = mountinfo_top("/", type, sizeof(type), &rootdev);
    ok(root >= 0 && type[0], "/ has a mount (id %d, type %s)", root, type);
    ok(stat("/", &st) == 0 && st.st_dev == rootdev, "... its device number is /'s st_dev");
    is(mountinfo_has_dev(mi, rootdev), 1, "... and is mounted");
    is(mountinfo_has_dev(mi, rootdev), 1, "... again, from the same descriptor");
    ok(mountinfo_top("/no/such/mount", type, sizeof(type), NULL) == -1 && type[0] == '\0',
       "nothing is mounted at a path that does not exist");
    is(mountinfo_has_dev(-1, rootdev), -EBADF, "an unreadable mountinfo is an error, not a no");

    if (geteuid() != 0) {
        printf("ok %d # skip the mount checks need root\n", ++tap_count);
        done_testing();
        return 0;
    }
    char dir[] = "/tmp/fluxfs-mi.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char mnt[256];
    snprintf(mnt, sizeof(mnt), "%s/a b\\c", dir);   /* mountinfo: a\040b\134c */
    mkdir(mnt, 0755);
    struct ev_loop *loop = ev_create();
    int changes = 0;
    int fd = dup(mi);
    ok(fd >= 0 && ev_fd_add(loop, fd, EV_PRI, on_change, &changes) == 0,
       "an EV_PRI watch on /proc/self/mountinfo");
    ev_run_once(loop, 0);
    is(changes, 0, "no change, no call (not woken again and again)");
    if (mount("t", mnt, "tmpfs", 0, "size=64k") < 0) {
        printf("ok %d # skip cannot mount a tmpfs here\n", ++tap_count);
        rmdir(mnt);
        rmdir(dir);
        done_testing();
        return 0;
    }
    ev_run_once(loop, 1000);
    is(changes, 1, "a mount wakes the watch once");
    ev_run_once(loop, 0);
    is(changes, 1, "... and only once");
    int id = mountinfo_top(mnt, type, sizeof(type), &dev);
    ok(id >= 0 && strcmp(type, "tmpfs") == 0, "a mount point with a space and a backslash "
       "is found (mountinfo escapes them): %s", type);
    is(mountinfo_has_dev(mi, dev), 1, "... mounted");
    char moved[300];
    snprintf(moved, sizeof(moved), "%s/moved", dir);
    mkdir(moved, 0755);
    ok(mount(mnt, moved, NULL, MS_MOVE, NULL) == 0 && mountinfo_has_dev(mi, dev) == 1,
       "moved elsewhere (mount --move), it is still mounted");
    mount(moved, mnt, NULL, MS_MOVE, NULL);
    dev_t top = 0;
    mount("u", mnt, "tmpfs", 0, "size=64k");   /* stacked on top of it */
    ok(mountinfo_top(mnt, NULL, 0, &top) != id && top != dev && mountinfo_has_dev(mi, dev) == 1,
       "a mount on top: the one below is still mounted, and not the topmost");
    umount(mnt);
    umount2(mnt, MNT_DETACH);
    ev_run_once(loop, 1000);
    ok(changes >= 2, "the unmounts wake the watch");
    is(mountinfo_has_dev(mi, dev), 0, "once unmounted (lazily), it is mounted nowhere");
    rmdir(moved);
    ev_fd_del(loop, fd);
    close(fd);
    ev_destroy(loop);
    close(mi);
    rmdir(mnt);
    rmdir(dir);
    done_testing();
    return 0;
}
