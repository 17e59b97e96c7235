/* mntclone.c - a detached clone of a mount (mntclone.h). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "fsd/mntclone.h"

static int clone_here(const char *mnt)
{
    int fd = open_tree(AT_FDCWD, mnt, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* The child's side: a user and mount namespace of its own, the clone
 * there, its descriptor sent back, then exit (system calls only: the
 * parent may have threads). */
static _Noreturn void child(const char *mnt, int sock)
{
    int rc = unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ? -errno : clone_here(mnt);
    char byte = rc < 0 ? (char)-rc : 0;
    struct iovec io = { &byte, 1 };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } c;
    struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1 };
    if (rc >= 0) {
        m.msg_control = c.buf;
        m.msg_controllen = sizeof(c.buf);
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &rc, sizeof(int));
    }
    _exit(sendmsg(sock, &m, MSG_NOSIGNAL) == 1 ? 0 : 1);
}

/* The descriptor the child sent, or -errno (its failure, or ours). */
static int receive(int sock)
{
    char byte = 0;
    struct iovec io = { &byte, 1 };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } c;
    struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = c.buf,
                        .msg_controllen = sizeof(c.buf) };
    ssize_t n;
    while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (n != 1)
        return n < 0 ? -errno : -EPROTO;
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    if (byte != 0 || !h || h->cmsg_type != SCM_RIGHTS)
        return byte ? -(int)(unsigned char)byte : -EPROTO;
    int fd;
    memcpy(&fd, CMSG_DATA(h), sizeof(int));
    return fd;
}

int mntclone_open(const char *mnt, struct errmsg *err)
{
    int fd = clone_here(mnt);
    if (fd >= 0 || fd != -EPERM || geteuid() == 0)
        return fd >= 0 ? fd : errmsg_set(err, fd, "open_tree %s: %s", mnt, strerror(-fd));
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return errmsg_set(err, -errno, "socketpair: %s", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        child(mnt, sv[1]);
    }
    int rc = pid < 0 ? -errno : 0;
    close(sv[1]);
    if (rc == 0)
        rc = receive(sv[0]);
    close(sv[0]);
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    if (rc < 0)
        return errmsg_set(err, rc, "%s %s in a user namespace: %s", pid < 0 ? "fork for" :
                          "open_tree", mnt, strerror(-rc));
    return rc;
}
