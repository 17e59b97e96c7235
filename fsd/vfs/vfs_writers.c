/* vfs_writers.c - who is still writing a submission, and who just made
 * one. A close submits only when it ends the writing: neither the closing
 * process nor its parent has the file open any more (read from /proc,
 * never from the mount). A submission stays visible to the thread that
 * made it for a few seconds (a "ghost"), for tools that set attributes by
 * name after closing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec/imp_client.h"
#include "exec/procfd.h"
#include "fsd/vfs/vfs_private.h"

struct vfs_ghost *vfs_ghost_by_ino(struct vfs *v, fuse_ino_t ino)
{
    double now = ev_now(v->loop);
    for (int i = 0; i < VFS_GHOSTS; i++)
        if (v->ghosts[i].ino == ino && v->ghosts[i].until > now)
            return &v->ghosts[i];
    return NULL;
}

/* The ghost of name in dir (queue/ or a queue/NAME/) for the calling
 * thread (the process, unless it has several threads), if it has one. */
struct vfs_ghost *vfs_ghost_find(struct vfs *v, fuse_req_t req, fuse_ino_t dir,
                                 const char *name)
{
    double now = ev_now(v->loop);
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    const char *queue = vfs_qdir_name(v, dir);
    for (int i = 0; i < VFS_GHOSTS; i++) {
        struct vfs_ghost *g = &v->ghosts[i];
        if (g->ino && g->until > now && g->attr.uid == ctx->uid && g->pid == ctx->pid &&
            !strcmp(g->name, name) && !strcmp(g->queue, queue ? queue : ""))
            return g;
    }
    return NULL;
}

/* Remember a submission just made by fh's writer (the oldest ghost makes
 * way: ghosts are a convenience, never a promise). */
void vfs_ghost_add(struct vfs *v, const struct vfs_fh *fh, pid_t pid)
{
    struct vfs_ghost *slot = &v->ghosts[0];
    for (int i = 0; i < VFS_GHOSTS; i++) {
        if (v->ghosts[i].until < slot->until)
            slot = &v->ghosts[i];
    }
    if (!fh->name || strlen(fh->name) >= sizeof(slot->name)
        || (fh->queue && strlen(fh->queue) >= sizeof(slot->queue)))
        return;
    for (int i = 0; i < VFS_GHOSTS; i++) {
        struct vfs_ghost *g = &v->ghosts[i];
        if (g->ino && g->pid == pid && g->attr.uid == fh->uid && !strcmp(g->name, fh->name))
            g->ino = 0;   /* one name, one ghost: the latest */
    }
    memset(slot, 0, sizeof(*slot));
    slot->ino = VFS_INO(VK_GHOST, v->next_serial++);
    strcpy(slot->name, fh->name);
    snprintf(slot->queue, sizeof(slot->queue), "%s", fh->queue ? fh->queue : "");
    slot->pid = pid;
    slot->until = ev_now(v->loop) + VFS_GHOST_TTL;
    slot->size = (off_t)fh->data.len;
    slot->attr = fh->attr;
}

/* Whether a close by pid leaves the file open for writing elsewhere: in the
 * closing process (a shell's `exec 3>f` around a builtin's `>&3`, `dup2`
 * before writing) or in its parent (the shell that lent `>&3` to a command
 * that now exits). A writer in the background of a shell that closes its
 * own descriptor first is not seen: the doc says to `wait` for it. */
bool vfs_still_open(struct vfs *v, struct vfs_fh *fh, pid_t pid)
{
    const char *name = vfs_fh_name(fh);
    if (pid <= 0 || !name)
        return false;
    bool parent = vfs_parent_may_hold(fh, pid);
    /* another user's /proc is the privileged helper's to read: one question */
    if (v->imp) {
        int rc = imp_holds(v->imp, pid, fh->ino, name, parent);
        if (rc >= 0)
            return rc > 0;
    }
    return procfd_held(pid, fh->ino, name, parent);
}

bool vfs_parent_may_hold(const struct vfs_fh *fh, pid_t pid)
{
    /* the thread that made the only open closes it (cp, a shell's `>`, a
     * program's own open): descriptors go from parent to child, never
     * back, so its parent cannot hold this open. The parent's scan was
     * 70% of the helper's work for a cp-style submission. Another open of
     * the file (/dev/fd/N) or another closer: its parent is looked at. */
    return fh->refs > 0 || pid != fh->pid;
}
