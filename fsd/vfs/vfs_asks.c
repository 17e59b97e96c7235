/* vfs_asks.c - questions about submitters that a system instance's broker
 * may not answer itself (another user's /proc is root's to read) and asks
 * its privileged helper without waiting for the answer: the opener's
 * working directory (queue/new's at its first write), and whether a closer
 * still holds the file, asked at its flush (which is answered when the
 * helper is) together with the closer's directory if that is not known yet
 * (cp's: one round trip per submission, not two). The loop goes on serving
 * meanwhile; waiting for those round trips held 4 writers to 3,800
 * submissions/s by cp-style create+write+close here.
 *
 * The helper answers in the order asked (exec/imp_client.h imp_take), so
 * the questions are a FIFO. Without a watchable channel (or once it
 * fails) everything is asked the old way, waiting (imp_cwd, imp_holds).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "exec/imp_client.h"
#include "fsd/vfs/vfs_private.h"

static void take_answers(struct vfs *v, struct vfs_fh *wait_for);

/* Flushes whose answer was taken while the loop waited for another one:
 * finished here, outside of whatever was waiting. */
static void run_answered(struct vfs *v)
{
    while (v->answered) {
        struct vfs_ask *a = v->answered;
        v->answered = a->next;
        vfs_queue_flush_answer(v, a->req, a->fh, a->answer);
        free(a);
    }
}

static void on_answered_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct vfs *v = arg;
    v->answered_timer = 0;
    run_answered(v);
}

static void on_answer(struct ev_loop *loop, int fd, int events, void *arg)
{
    struct vfs *v = arg;
    take_answers(v, NULL);
    run_answered(v);
}

/* The channel failed: nothing more is asked on it. Questions whose answer
 * will not come are answered the old way. */
static void stop_asking(struct vfs *v, int rc)
{
    syslog(LOG_ERR, "questions to the helper about submitters: %s", strerror(-rc));
    ev_fd_del(v->loop, imp_ask_fd(v->imp));
    v->asking = false;
    while (v->asks) {
        struct vfs_ask *a = v->asks;
        v->asks = a->next;
        if (a->what == ASK_CWD) {
            if (a->fh)
                a->fh->cwd_ask = NULL;   /* imp_cwd() when it is needed */
            free(a);
        } else {
            a->answer = -EIO;            /* procfd_held(), as far as we may */
            a->next = NULL;
            struct vfs_ask **pp = &v->answered;   /* in order, after those waiting */
            while (*pp)
                pp = &(*pp)->next;
            *pp = a;
        }
    }
    v->asks_tail = &v->asks;
    if (v->answered && !v->answered_timer)
        v->answered_timer = ev_timer_add(v->loop, 0, on_answered_timer, v);
}

/* A closer's directory, with the answer to its flush's question: the path,
 * or "!N" for imp_cwd()'s -N. Kept from the first close that asked: a
 * submission at its last release (pid 0) has nobody left to ask. */
static void took_cwd(struct vfs_fh *fh, const char *buf)
{
    if (buf[0] == '!') {
        int e = atoi(buf + 1);
        fh->cwd_rc = e > 0 ? -e : -EIO;
    } else if (buf[0] == '/') {
        if (!(fh->cwd = strdup(buf)))
            fh->cwd_rc = -ENOMEM;
    }
}

/* Take the answers that have come, or (wait_for) until fh's directory has. */
static void take_answers(struct vfs *v, struct vfs_fh *wait_for)
{
    char buf[PATH_MAX];
    while (v->asks && (!wait_for || wait_for->cwd_ask)) {
        int answer = 0;
        int rc = imp_take(v->imp, wait_for != NULL, &answer, buf, sizeof(buf));
        if (rc == -EAGAIN)
            return;
        if (rc < 0) {
            stop_asking(v, rc);
            return;
        }
        struct vfs_ask *a = v->asks;
        if (!(v->asks = a->next))
            v->asks_tail = &v->asks;
        if (a->what == ASK_HOLDS) {
            a->answer = answer;
            if (a->cwd_too && answer >= 0 && !a->fh->cwd && a->fh->cwd_rc == 0)
                took_cwd(a->fh, buf);
            a->next = NULL;
            struct vfs_ask **pp = &v->answered;   /* in order */
            while (*pp)
                pp = &(*pp)->next;
            *pp = a;
            continue;
        }
        if (a->fh) {
            a->fh->cwd_ask = NULL;
            a->fh->cwd_rc = answer;
            if (answer == 0 && !(a->fh->cwd = strdup(buf)))
                a->fh->cwd_rc = -ENOMEM;
        }
        free(a);
    }
}

static struct vfs_ask *ask_new(struct vfs *v, int what, struct vfs_fh *fh)
{
    struct vfs_ask *a = calloc(1, sizeof(*a));
    if (a) {
        a->what = what;
        a->fh = fh;
    }
    return a;
}

static void ask_queue(struct vfs *v, struct vfs_ask *a)
{
    *v->asks_tail = a;
    v->asks_tail = &a->next;
}

void vfs_asks_start(struct vfs *v)
{
    v->asks_tail = &v->asks;
    v->asking = v->imp
                && ev_fd_add(v->loop, imp_ask_fd(v->imp), EV_READ, on_answer, v) == 0;
}

void vfs_asks_stop(struct vfs *v)
{
    if (v->asking)
        ev_fd_del(v->loop, imp_ask_fd(v->imp));
    v->asking = false;
    if (v->answered_timer)
        ev_timer_cancel(v->loop, v->answered_timer);
    v->answered_timer = 0;
    while (v->asks) {
        struct vfs_ask *a = v->asks;
        v->asks = a->next;
        if (a->what == ASK_CWD && a->fh)
            a->fh->cwd_ask = NULL;
        if (a->what == ASK_HOLDS)
            fuse_reply_err(a->req, EINTR);
        free(a);
    }
    v->asks_tail = &v->asks;
    while (v->answered) {
        struct vfs_ask *a = v->answered;
        v->answered = a->next;
        fuse_reply_err(a->req, EINTR);
        free(a);
    }
}

void vfs_ask_cwd(struct vfs *v, struct vfs_fh *fh)
{
    struct vfs_ask *a;
    if (!v->asking || fh->uid == geteuid() || fh->pid <= 0 || !(a = ask_new(v, ASK_CWD, fh)))
        return;
    if (imp_ask_cwd(v->imp, fh->pid) < 0) {
        free(a);
        return;
    }
    fh->cwd_ask = a;
    ask_queue(v, a);
}

void vfs_asks_wait(struct vfs *v, struct vfs_fh *fh)
{
    take_answers(v, fh);
    if (v->answered && !v->answered_timer)
        v->answered_timer = ev_timer_add(v->loop, 0, on_answered_timer, v);
}

bool vfs_ask_holds(struct vfs *v, fuse_req_t req, struct vfs_fh *fh, pid_t pid)
{
    const char *name = vfs_fh_name(fh);
    struct vfs_ask *a;
    if (!v->asking || pid <= 0 || !name || fh->uid == geteuid()
        || !(a = ask_new(v, ASK_HOLDS, fh)))
        return false;
    /* a submission whose directory nobody asked yet (cp's) learns it in the
     * same answer: where its closer stands, if the closer is the file's
     * owner (a descriptor passed to another user's process tells nothing
     * of that user's whereabouts to the job) */
    a->cwd_too = !fh->cwd && !fh->cwd_ask && fh->cwd_rc == 0
                 && fuse_req_ctx(req)->uid == fh->uid;
    if (imp_ask_holds(v->imp, pid, fh->ino, name, vfs_parent_may_hold(fh, pid), a->cwd_too)
        < 0) {
        free(a);
        return false;
    }
    a->req = req;
    ask_queue(v, a);
    return true;
}
