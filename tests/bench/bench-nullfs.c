/* bench-nullfs MOUNTPOINT - the raw FUSE ceiling: a do-nothing low-level FUSE
 * filesystem (single-threaded) whose root accepts create/write/flush/release
 * and forgets everything, so create+write+close through it measures FUSE
 * itself. Runs in the foreground until unmounted. */
#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void nl_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct stat st = { .st_ino = ino, .st_nlink = 1 };
    st.st_mode = ino == 1 ? S_IFDIR | 0777 : S_IFREG | 0666;
    fuse_reply_attr(req, &st, 0);
}

static void nl_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    fuse_reply_err(req, ENOENT);
}

static void nl_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    struct fuse_entry_param e = { .ino = 2 };
    e.attr.st_ino = 2;
    e.attr.st_mode = S_IFREG | 0666;
    e.attr.st_nlink = 1;
    fi->direct_io = 1;
    fuse_reply_create(req, &e, fi);
}

static void nl_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    fuse_reply_write(req, size);
}

static void nl_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    fuse_reply_err(req, 0);
}

static void nl_forget(fuse_req_t req, fuse_ino_t ino, uint64_t n)
{
    fuse_reply_none(req);
}

static const struct fuse_lowlevel_ops ops = {
    .lookup = nl_lookup, .getattr = nl_getattr, .create = nl_create,
    .write = nl_write, .flush = nl_ok, .release = nl_ok, .forget = nl_forget,
};

int main(int argc, char **argv)
{
    char *args[] = { argv[0], NULL };
    struct fuse_args fa = FUSE_ARGS_INIT(1, args);
    if (argc != 2) {
        fprintf(stderr, "usage: bench-nullfs MOUNTPOINT\n");
        return 2;
    }
    struct fuse_session *se = fuse_session_new(&fa, &ops, sizeof(ops), NULL);
    if (!se || fuse_session_mount(se, argv[1]) != 0)
        return 1;
    int rc = fuse_session_loop(se);
    fuse_session_unmount(se);
    fuse_session_destroy(se);
    return rc ? 1 : 0;
}
