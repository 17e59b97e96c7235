/* vfs_events.c - `events`: every job event of the instance, in commit order
 * (doc/tree.md "events"), from the job manager's journal (fsd/evjournal.h).
 *
 * File offsets are the journal's global byte offsets and the size is its
 * end, so `tail -f` (which seeks near the end, then follows the size) reads
 * exactly what is new. A reader that starts at offset 0 (cat, python's
 * read()) gets a stream instead: the last JOBMGR_JOURNAL_BACKLOG events,
 * then everything that comes, however long it reads; one that falls more
 * than the journal's capacity behind skips what was dropped. Served with
 * direct I/O: the size grows under the kernel's feet.
 */
#include <errno.h>
#include <stdlib.h>

#include "fsd/evjournal.h"
#include "fsd/vfs/vfs_private.h"

void vfs_events_stat(struct vfs *v, struct stat *st)
{
    vfs_stat_file(v, st, VFS_I_EVENTS, v->owner, 0444, (off_t)evj_end(jobmgr_journal(v->m)),
                  v->events_mtime ? v->events_mtime : v->t_mount);
}

void vfs_events_open(struct vfs *v, fuse_req_t req, struct fuse_file_info *fi)
{
    bool poke = (fi->flags & O_ACCMODE) != O_RDONLY;
    if (poke && !vfs_is_publisher(v, req)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    if (poke) {
        vfs_reply_open(req, fi, &v->poke, true);
        return;
    }
    struct vfs_fh *fh = vfs_fh_create(req, FH_EVENTS, VFS_I_EVENTS);
    if (!fh) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    /* readers only: the publisher opens it to raise IN_MODIFY after every
     * commit, and the backlog is a walk back over a thousand lines (it
     * was a third of the broker's time running 1,000 jobs/s) */
    fh->ev_next = evj_backlog(jobmgr_journal(v->m), JOBMGR_JOURNAL_BACKLOG);
    vfs_reply_open(req, fi, fh, true);
}

void vfs_events_read(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, size_t size, off_t off)
{
    const struct evj *j = jobmgr_journal(v->m);
    /* the first read decides: from 0 a stream from the backlog on, else
     * the journal's own offsets (a reader that seeked, as tail does) */
    if (!fh->ev_mode)
        fh->ev_mode = off == 0 ? 1 : 2;
    uint64_t g = fh->ev_mode == 1 ? fh->ev_next : (uint64_t)off;
    if (g < evj_start(j))
        g = evj_start(j);
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    size_t n = evj_read(j, g, buf, size);
    fh->ev_next = g + n;
    fuse_reply_buf(req, buf, n);
    free(buf);
}
