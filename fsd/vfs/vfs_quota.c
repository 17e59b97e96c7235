/* vfs_quota.c - per-user budgets for what users make the daemon hold
 * through queue/: bytes in open submissions, queue/new files and scratch
 * files, and open files there. One user filling them affects nobody else;
 * root is exempt. Limits: doc/tree.md "Per-user limits".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "fsd/vfs/vfs_private.h"

struct vfs_quota_user {
    uid_t uid;
    uint64_t bytes;
    unsigned files;
    struct vfs_quota_user *next;
};

static struct vfs_quota_user *quota_user(struct vfs *v, uid_t uid)
{
    for (struct vfs_quota_user *q = v->quota; q; q = q->next)
        if (q->uid == uid)
            return q;
    struct vfs_quota_user *q = calloc(1, sizeof(*q));
    if (q) {
        q->uid = uid;
        q->next = v->quota;
        v->quota = q;
    }
    return q;
}

int vfs_quota_bytes(struct vfs *v, uid_t uid, int64_t delta)
{
    if (delta == 0)
        return 0;
    struct vfs_quota_user *q = quota_user(v, uid);
    if (!q)
        return delta > 0 ? -ENOMEM : 0;
    if (delta < 0) {
        q->bytes = (uint64_t)-delta > q->bytes ? 0 : q->bytes - (uint64_t)-delta;
        return 0;
    }
    if (uid != 0 && v->quota_bytes && q->bytes + (uint64_t)delta > v->quota_bytes)
        return -ENOSPC;
    q->bytes += (uint64_t)delta;
    return 0;
}

int vfs_quota_file(struct vfs *v, uid_t uid, int delta)
{
    struct vfs_quota_user *q = quota_user(v, uid);
    if (!q)
        return delta > 0 ? -ENOMEM : 0;
    if (delta < 0) {
        q->files = q->files > 0 ? q->files - 1 : 0;
        return 0;
    }
    if (uid != 0 && v->quota_files && q->files >= v->quota_files)
        return -EMFILE;
    q->files += delta > 0;
    return 0;
}

void vfs_quota_refused(struct vfs *v, uid_t uid, const char *subject, int rc)
{
    char why[160];
    if (rc == -ENOSPC)
        snprintf(why, sizeof(why), "your files in queue/ would hold more than the %" PRIu64
                 " bytes one user may (fluxfsd --queue-bytes-per-user)", v->quota_bytes);
    else
        snprintf(why, sizeof(why), "you have %u files open in queue/, as many as one user may "
                 "(fluxfsd --queue-files-per-user)", v->quota_files);
    vfs_errlog_add(v, uid, subject, -rc, why);
}

void vfs_quota_destroy(struct vfs *v)
{
    while (v->quota) {
        struct vfs_quota_user *q = v->quota;
        v->quota = q->next;
        free(q);
    }
}
