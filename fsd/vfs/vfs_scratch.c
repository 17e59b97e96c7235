/* vfs_scratch.c - scratch files (queue/.name and everything in
 * queue/drafts/): plain in-memory files owned by their creator, which
 * closing never submits; and the attributes (mode, owner, times) that
 * chmod, chown and utimes change on files in queue/.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsd/vfs/vfs_private.h"

/* Scratch files a user may have in queue/ and queue/drafts/ together. */
#define SCRATCH_MAX_PER_USER 64

void vfs_queue_touch(struct vfs *v, fuse_ino_t dir)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = ts.tv_sec + ts.tv_nsec / 1e9;
    if (dir == VFS_I_QDRAFTS)
        v->drafts_mtime = now;
    else
        v->queue_mtime = now;
}

void vfs_attr_init(struct vfs_attr *a, const struct fuse_ctx *ctx, mode_t mode)
{
    a->uid = ctx->uid;
    a->gid = ctx->gid;
    a->mode = mode & 0777;
    clock_gettime(CLOCK_REALTIME, &a->mtime);
    a->atime = a->ctime = a->mtime;
}

void vfs_attr_stat(struct vfs *v, const struct vfs_attr *a, fuse_ino_t ino, off_t size,
                      struct stat *st)
{
    vfs_stat_file(v, st, ino, a->uid, a->mode, size, 0);
    st->st_gid = a->gid;
    st->st_atim = a->atime;
    st->st_mtim = a->mtime;
    st->st_ctim = a->ctime;
}

/* Scratch names are per user: two users' ".draft" are two files, each
 * seen by its owner alone (lookups are never cached: VFS_TTL_NONE). */
struct vfs_scratch *vfs_scratch_find(struct vfs *v, fuse_ino_t dir, const char *name, uid_t uid)
{
    for (struct vfs_scratch *s = v->scratch; s; s = s->next)
        if (s->dir == dir && s->attr.uid == uid && strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

/* Listed scratch files only (lookups, forget bookkeeping). */
static struct vfs_scratch *scratch_listed(struct vfs *v, fuse_ino_t ino)
{
    for (struct vfs_scratch *s = v->scratch; s; s = s->next)
        if (s->ino == ino)
            return s;
    return NULL;
}

/* Any scratch file the kernel may still name, unlinked ones included (an
 * open file can be stat'ed and truncated after unlink). */
struct vfs_scratch *vfs_scratch_by_ino(struct vfs *v, fuse_ino_t ino)
{
    struct vfs_scratch *s = scratch_listed(v, ino);
    for (s = s ? s : v->scratch_gone; s && s->ino != ino; s = s->next)
        ;
    return s;
}

static void scratch_free(struct vfs *v, struct vfs_scratch *s)
{
    vfs_quota_bytes(v, s->attr.uid, -(int64_t)s->data.len);
    strbuf_release(&s->data);
    free(s->name);
    free(s);
}

/* Take s out of its directory; it is freed once the kernel forgets it. */
void vfs_scratch_unlink(struct vfs *v, struct vfs_scratch *s)
{
    for (struct vfs_scratch **pp = &v->scratch; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    s->unlinked = true;
    vfs_queue_touch(v, s->dir);
    clock_gettime(CLOCK_REALTIME, &s->attr.ctime);
    if (s->nlookup == 0) {
        scratch_free(v, s);
        return;
    }
    s->next = v->scratch_gone;
    v->scratch_gone = s;
}

void vfs_scratch_stat(struct vfs *v, const struct vfs_scratch *s, struct stat *st)
{
    vfs_attr_stat(v, &s->attr, s->ino, s->data.len, st);
    st->st_nlink = s->unlinked ? 0 : 1;
}

void vfs_scratch_touch(struct vfs_scratch *s)
{
    clock_gettime(CLOCK_REALTIME, &s->attr.mtime);
    s->attr.ctime = s->attr.mtime;
}

static int scratch_count(struct vfs *v, uid_t uid)
{
    int n = 0;
    for (struct vfs_scratch *s = v->scratch; s; s = s->next)
        n += s->attr.uid == uid;
    return n;
}

/* Whether uid may open s for acc (O_RDONLY, O_WRONLY, O_RDWR): its owner
 * and the privileged always; others as its mode's "other" bits say. */
bool vfs_scratch_may(struct vfs *v, const struct vfs_scratch *s, uid_t uid, int acc)
{
    if (uid == s->attr.uid || vfs_is_privileged(v, uid))
        return true;
    mode_t need = (acc == O_RDONLY ? 04 : acc == O_WRONLY ? 02 : 06);
    return (s->attr.mode & need) == need;
}

int vfs_scratch_create(struct vfs *v, fuse_req_t req, fuse_ino_t dir, const char *name,
                          mode_t mode, struct vfs_scratch **out)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    if (vfs_scratch_find(v, dir, name, ctx->uid))
        return -EEXIST;
    if (scratch_count(v, ctx->uid) >= SCRATCH_MAX_PER_USER)
        return -EDQUOT;
    struct vfs_scratch *s = calloc(1, sizeof(*s));
    if (!s || !(s->name = strdup(name))) {
        free(s);
        return -ENOMEM;
    }
    s->ino = VFS_INO(VK_SCRATCH, v->next_serial++);
    s->dir = dir;
    vfs_attr_init(&s->attr, ctx, mode);
    strbuf_init(&s->data);
    s->next = v->scratch;
    v->scratch = s;
    vfs_queue_touch(v, dir);
    *out = s;
    return 0;
}

static bool in_groups(fuse_req_t req, gid_t gid)
{
    gid_t list[64];
    if (gid == fuse_req_ctx(req)->gid)
        return true;
    int n = fuse_req_getgroups(req, 64, list);
    for (int i = 0; i < n && i < 64; i++)
        if (list[i] == gid)
            return true;
    return false;
}

static void set_time(struct timespec *dst, const struct timespec *src, bool now)
{
    if (now)
        clock_gettime(CLOCK_REALTIME, dst);
    else
        *dst = *src;
}

/* chmod, chown and utimes as on a local file system: the owner changes
 * mode, group (to one of its groups) and times; only root gives a file
 * away. own_uid: whether a change of owner applies (scratch files) or is
 * accepted from root and ignored (submissions belong to their writer). */
int vfs_attr_change(struct vfs *v, fuse_req_t req, struct vfs_attr *a, const struct stat *in,
                       int to_set, bool own_uid, bool writable)
{
    uid_t uid = fuse_req_ctx(req)->uid;
    bool owner = uid == a->uid || vfs_is_privileged(v, uid);

    bool explicit_time =
        ((to_set & FUSE_SET_ATTR_ATIME) && !(to_set & FUSE_SET_ATTR_ATIME_NOW)) ||
        ((to_set & FUSE_SET_ATTR_MTIME) && !(to_set & FUSE_SET_ATTR_MTIME_NOW));

    if ((to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_GID) || explicit_time) && !owner)
        return -EPERM;
    /* "touch" to now needs only write access */
    if ((to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) && !owner && !writable)
        return -EACCES;
    if ((to_set & FUSE_SET_ATTR_UID) && in->st_uid != a->uid && uid != 0)
        return -EPERM;
    if ((to_set & FUSE_SET_ATTR_GID) && in->st_gid != a->gid && uid != 0 &&
        !in_groups(req, in->st_gid))
        return -EPERM;
    if (to_set & FUSE_SET_ATTR_MODE)
        a->mode = in->st_mode & 0777;
    if ((to_set & FUSE_SET_ATTR_UID) && own_uid)
        a->uid = in->st_uid;
    if (to_set & FUSE_SET_ATTR_GID)
        a->gid = in->st_gid;
    if (to_set & FUSE_SET_ATTR_ATIME)
        set_time(&a->atime, &in->st_atim, to_set & FUSE_SET_ATTR_ATIME_NOW);
    if (to_set & FUSE_SET_ATTR_MTIME)
        set_time(&a->mtime, &in->st_mtim, to_set & FUSE_SET_ATTR_MTIME_NOW);
    clock_gettime(CLOCK_REALTIME, &a->ctime);
    return 0;
}

int vfs_buf_truncate(struct strbuf *sb, off_t size)
{
    if (size < 0 || size > VFS_SUBMIT_MAX)
        return -EFBIG;
    if ((size_t)size > sb->len) {
        if (strbuf_grow(sb, size - sb->len) < 0)
            return -ENOMEM;
        memset(sb->buf + sb->len, 0, size - sb->len);
    }
    sb->len = size;
    sb->buf[size] = '\0';
    return 0;
}

int vfs_buf_write(struct strbuf *sb, const char *buf, size_t size, off_t off)
{
    if (off < 0 || (size_t)off + size > VFS_SUBMIT_MAX)
        return -EFBIG;
    size_t end = off + size;
    if (end > sb->len) {
        if (strbuf_grow(sb, end - sb->len) < 0)
            return -ENOMEM;
        if ((size_t)off > sb->len)
            memset(sb->buf + sb->len, 0, off - sb->len);
        sb->len = end;
        sb->buf[end] = '\0';
    }
    memcpy(sb->buf + off, buf, size);
    return 0;
}

/* Rename s to dir/newname, both scratch names. */
int vfs_scratch_rename(struct vfs *v, fuse_req_t req, struct vfs_scratch *s, fuse_ino_t dir,
                          const char *newname, unsigned int flags)
{
    uid_t uid = fuse_req_ctx(req)->uid;
    struct vfs_scratch *old = vfs_scratch_find(v, dir, newname, s->attr.uid);
    if (old == s)
        return 0;
    if (old && (flags & RENAME_NOREPLACE))
        return -EEXIST;
    if (old && old->attr.uid != uid && !vfs_is_privileged(v, uid))
        return -EPERM;   /* sticky: another user's file stays */
    char *n = strdup(newname);
    if (!n)
        return -ENOMEM;
    if (old)
        vfs_scratch_unlink(v, old);
    vfs_queue_touch(v, s->dir);
    vfs_queue_touch(v, dir);
    free(s->name);
    s->name = n;
    s->dir = dir;
    clock_gettime(CLOCK_REALTIME, &s->attr.ctime);
    return 0;
}

void vfs_queue_forget(struct vfs *v, fuse_ino_t ino, uint64_t nlookup)
{
    struct vfs_scratch *s = scratch_listed(v, ino);
    if (s) {
        s->nlookup = s->nlookup > nlookup ? s->nlookup - nlookup : 0;
        return;
    }
    /* an unlinked scratch file is freed when the kernel lets go of it */
    for (struct vfs_scratch **pp = &v->scratch_gone; *pp; pp = &(*pp)->next) {
        s = *pp;
        if (s->ino != ino)
            continue;
        s->nlookup = s->nlookup > nlookup ? s->nlookup - nlookup : 0;
        if (s->nlookup == 0) {
            *pp = s->next;
            scratch_free(v, s);
        }
        return;
    }
}

static void scratch_free_list(struct vfs *v, struct vfs_scratch *s)
{
    while (s) {
        struct vfs_scratch *next = s->next;
        scratch_free(v, s);
        s = next;
    }
}

void vfs_queue_destroy(struct vfs *v)
{
    scratch_free_list(v, v->scratch);
    scratch_free_list(v, v->scratch_gone);
    v->scratch = v->scratch_gone = NULL;
}
