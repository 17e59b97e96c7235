/* broker.c - wire store, jobmgr, vfs and publisher into one event loop. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/keygen.h"
#include "exec/exec.h"
#include "fsd/broker.h"
#include "fsd/privsep.h"
#include "common/mountinfo.h"
#include "exec/imp_client.h"
#include "fsd/bootstrap.h"
#include "fsd/cluster.h"
#include "fsd/jobmgr.h"
#include "fsd/link.h"
#include "fsd/mntclone.h"
#include "fsd/nest.h"
#include "fsd/publish.h"
#include "fsd/store.h"
#include "fsd/vfs/vfs.h"
#include "fsd/syncer.h"
#include "sched/graph.h"
#include "sched/grug.h"
#include "sched/jgf.h"
#include "sched/rgraph.h"
#include "sched/rread.h"

struct broker {
    const struct broker_config *cfg;
    struct ev_loop *loop;
    struct store *st;
    struct rgraph *g;            /* this machine's cpus, or the R it was given */
    struct graph *graph;         /* what the scheduler places jobs on */
    struct jobmgr *m;
    struct vfs *v;
    struct publisher *pub;
    struct nests *nests;         /* our nested instances */
    struct link *parent;         /* we are one: the link to our parent */
    struct bootstrap *bs;        /* a multi-node instance: its brokers */
    struct imp *imp;             /* a system instance's privileged helper, or NULL */
    bool nice_changed;           /* we run at another nice than our tasks: */
    int task_nice;               /* theirs, the one we were started with */
    uid_t run_uid;               /* ... and the user we become (fsd/privsep.h) */
    gid_t run_gid;
    int rank;                    /* ... and ours among them */
    struct cluster *cluster;     /* ... our part in it */
    struct syncer *checkpointer; /* LMDB synced in the background while the
                                    redo log makes commits durable, or NULL */
    uint64_t ckpt_ticket, ckpt_mark;   /* the last checkpoint asked for */
    uint64_t ckpt_done;          /* the last one ended (synced or failed) */
    int redo_files;              /* the redo log's: 0 not made (the checkpointer
                                    makes them: atomic), 1 made, 2 in use,
                                    -errno could not be made */
    bool redo_told;              /* ... and it was logged */
    struct syncer *syncer;       /* durable commits off the loop thread */
    bool rich_graph;             /* --resources was a GRUG or JGF graph */
    size_t told_active;          /* last active count sent to the parent */
    bool parent_shutdown;        /* the parent asked us to stop */
    bool ready_told;             /* the parent knows we are mounted */
    json_t *peers;               /* a nested broker across nodes: the brokers, from
                                  * the parent (nest_exchange) */
    json_t *peers_tls;           /* ... and its instance's credentials (PEM), if TLS */
    char nest_ipcdir[64];        /* ... its own directory for an ipc:// listener */
    struct fuse_session *se;
    struct fuse_buf buf;
    int sigfd;
    bool mounted;
    /* The publisher works through a clone of our mount where one can be
     * made, which keeps the file system alive past an unmount (publish.h):
     * the mount table (mounts_fd, /proc/self/mountinfo) tells us of it. */
    int tree_fd;                 /* the clone, until the publisher takes it */
    int mounts_fd;               /* watched for changes, or -1 */
    dev_t mnt_dev;               /* our file system's device number (0: unknown) */
    uint64_t mounts_retry;       /* a timer: mountinfo could not be read */
    bool stop;                   /* asked to stop: unmounted, a signal, the parent */
    /* Stopping (see drain_begin): the loop keeps serving the tree until the
     * jobs, the nested instances and then the publisher are gone, or until
     * the deadline; only then does teardown() unmount. */
    bool draining;
    bool pub_stopping;           /* jobs and children are gone: the publisher now */
    bool drained;                /* everything stopped, or no more waiting */
    bool deadline_passed;
    uint64_t deadline_timer;
    uint64_t pub_timer;          /* polls a publisher that has no pidfd */
    int pub_fd;                  /* the publisher's pidfd while watched, or -1 */
    double unsynced_since;       /* first lazy commit not yet fsynced, or 0 */
    uint64_t synced_seen;        /* the last sync the loop has caught up with */
    useconds_t test_sync_delay;  /* FLUXFS_TEST_SYNC_DELAY_MS (tests), or 0 */
    const char *test_sync_fail;  /* FLUXFS_TEST_SYNC_FAIL (tests), or NULL */
    size_t active_peak;          /* most jobs active at once since the last trim */
    double space_checked;        /* last look at the state directory's disk */
    bool low_space;              /* what it said (to log the changes) */
    struct genblock gens;        /* our job-id generators (setup_ids) */
    char instance[EXEC_INSTANCE_MAX + 1];   /* our FLUXFS_INSTANCE token */
};

static void on_synced(struct ev_loop *loop, int fd, int events, void *arg);

/* Drain pending FUSE requests (the fd is non-blocking). A bounded batch per
 * call keeps task output and timers from starving under a submission flood. */
static void on_fuse(struct ev_loop *loop, int fd, int events, void *arg)
{
    struct broker *b = arg;
    for (int i = 0; i < 256; i++) {
        int rc = fuse_session_receive_buf(b->se, &b->buf);
        if (rc == -EAGAIN)
            break;
        if (rc == -EINTR)
            continue;
        if (rc <= 0 || fuse_session_exited(b->se)) {
            b->stop = true;   /* unmounted: nothing more will come */
            ev_fd_del(loop, fd);
            break;
        }
        /* the syncer answers submitters itself: this request may come from
         * one it let go, who must find what that sync ended (queue/errors
         * of a failed one) as if the loop had answered */
        if (b->syncer && syncer_peek(b->syncer) != b->synced_seen)
            on_synced(loop, -1, 0, b);
        fuse_session_process_buf(b->se, &b->buf);
    }
    vfs_process_interrupts(b->v);
}

/* The syncer's work, on its thread. Tests stretch it (a slow disk) with
 * FLUXFS_TEST_SYNC_DELAY_MS, to see that a close waits for its sync, and
 * fail it (a failing disk: EIO) while the file FLUXFS_TEST_SYNC_FAIL
 * names exists, owned by root or by us (not a file another user made). */
static int flush_store(void *arg)
{
    struct broker *b = arg;
    struct stat st;
    if (b->test_sync_delay)
        usleep(b->test_sync_delay);
    if (b->test_sync_fail && stat(b->test_sync_fail, &st) == 0
        && (st.st_uid == 0 || st.st_uid == geteuid()))
        return -EIO;
    return store_flush(b->st);
}

/* The checkpointer's work: LMDB synced, so that the redo log's records
 * up to the mark taken before are needed no more. Its first, on a new
 * state directory: the redo log's files, made here rather than before
 * the tree is mounted. */
static int checkpoint_store(void *arg)
{
    struct broker *b = arg;
    if (__atomic_load_n(&b->redo_files, __ATOMIC_ACQUIRE) == 0) {
        int rc = store_redo_prepare(b->st);
        __atomic_store_n(&b->redo_files, rc == 0 ? 1 : rc, __ATOMIC_RELEASE);
    }
    return store_checkpoint_sync(b->st);
}

/* The redo log's files are there: commits go to it from now on. */
static void redo_start(struct broker *b)
{
    int files = __atomic_load_n(&b->redo_files, __ATOMIC_ACQUIRE);
    if (files == 1 && !store_redo_on(b->st)) {
        int rc = store_redo_enable(b->st);
        if (rc < 0)
            syslog(LOG_WARNING, "%s: no redo log: %s: every durable commit syncs the store",
                   b->cfg->statedir, strerror(-rc));
        __atomic_store_n(&b->redo_files, rc < 0 ? rc : 2, __ATOMIC_RELEASE);
    } else if (files < 0) {
        if (!b->redo_told)
            syslog(LOG_NOTICE, "%s: no redo log yet: %s: every durable commit syncs the store",
                   b->cfg->statedir, files == -ENOSPC ? "less than 64 MiB free" : strerror(-files));
        b->redo_told = true;
        /* tried again at each checkpoint: space given back is used */
        __atomic_store_n(&b->redo_files, 0, __ATOMIC_RELEASE);
    }
}

/* A checkpoint still runs: the next one waits (a rotation's does not). */
static bool checkpointing(const struct broker *b)
{
    return b->checkpointer && b->ckpt_done < b->ckpt_ticket;
}

/* A checkpoint of everything committed so far, in the background. */
static void checkpoint_begin(struct broker *b)
{
    b->ckpt_mark = store_checkpoint_mark(b->st);
    b->ckpt_ticket = syncer_request(b->checkpointer);
}

static void on_checkpointed(struct ev_loop *loop, int fd, int events, void *arg)
{
    struct broker *b = arg;
    uint64_t failed;
    int fail_rc;
    uint64_t done = syncer_done(b->checkpointer, &failed, &fail_rc);
    b->ckpt_done = done > failed ? done : failed;
    if (failed >= b->ckpt_ticket)
        syslog(LOG_ERR, "store checkpoint failed (the redo log keeps what it covers): %s",
               strerror(-fail_rc));
    else if (done >= b->ckpt_ticket)
        store_checkpoint_done(b->st, b->ckpt_mark);
    redo_start(b);
}

/* A sync ended: the submissions it made durable are answered. */
static void on_synced(struct ev_loop *loop, int fd, int events, void *arg)
{
    struct broker *b = arg;
    uint64_t failed;
    int fail_rc;
    uint64_t done = syncer_done(b->syncer, &failed, &fail_rc);
    if (done == b->synced_seen)
        return;   /* caught up already, before a request (on_fuse) */
    b->synced_seen = done;
    if (failed)
        syslog(LOG_ERR, "store sync failed: %s", strerror(-fail_rc));
    vfs_after_sync(b->v, done, failed, fail_rc);
    if (b->cluster && b->rank == 0)
        cluster_after_sync(b->cluster, done, failed, fail_rc);
}

static void on_signal(struct ev_loop *loop, int fd, int events, void *arg)
{
    struct broker *b = arg;
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof(si)) != sizeof(si))
        return;
    if (b->draining && !b->deadline_passed) {
        syslog(LOG_WARNING, "signal %d again: not waiting for jobs and nested instances",
               (int)si.ssi_signo);
        b->deadline_passed = true;
    } else if (!b->stop) {
        syslog(LOG_INFO, "signal %d: shutting down", (int)si.ssi_signo);
        b->stop = true;
    }
}

/* ---- as a nested instance: the link to our parent ---- */

/* 0 once handed to the link; the dial may not have connected yet. */
static int tell_parent(struct broker *b, const char *type)
{
    json_t *msg = json_pack("{s:s s:I}", "type", type, "active",
                            (json_int_t)jobmgr_active(b->m));
    int rc = msg ? link_send(b->parent, msg) : -ENOMEM;
    if (rc == 0)
        b->told_active = jobmgr_active(b->m);
    json_decref(msg);
    return rc;
}

/* A nested instance across nodes is ready for its parent's mkdir to
 * return once every one of its brokers has joined the leader. */
static bool ready_to_tell(struct broker *b)
{
    return !b->cluster || b->rank > 0 || cluster_all_up(b->cluster);
}

/* nests_ask_f: our block of job-id generators is used up. */
static int ask_parent_generators(void *arg, uint64_t req)
{
    struct broker *b = arg;
    json_t *msg = json_pack("{s:s s:I}", "type", "gen-request", "req", (json_int_t)req);
    int rc = msg ? link_send(b->parent, msg) : -ENOMEM;
    json_decref(msg);
    return rc;
}

/* nests_return_f: a child of ours stopped; generators lent to it go back. */
static void return_parent_generators(void *arg, const struct genblock *g)
{
    struct broker *b = arg;
    json_t *msg = json_pack("{s:s s:i s:i}", "type", "gen-return", "first", (int)g->first,
                            "count", (int)g->count);
    if (msg)
        link_send(b->parent, msg);
    json_decref(msg);
}

static void on_parent_msg(void *arg, json_t *msg)
{
    struct broker *b = arg;
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (type && !strcmp(type, "gen-grant")) {
        struct genblock g = {
            .first = (uint32_t)json_integer_value(json_object_get(msg, "first")),
            .count = (uint32_t)json_integer_value(json_object_get(msg, "count")),
        };
        int rc = (int)json_integer_value(json_object_get(msg, "rc"));
        uint64_t req = (uint64_t)json_integer_value(json_object_get(msg, "req"));
        if (rc == 0 && (g.count == 0 || g.first + g.count > FLUID_GENERATOR_MAX + 1))
            rc = -EPROTO;   /* a parent's mistake must not make ids collide */
        if (req != 0)       /* 0 names no request (and every child not waiting) */
            nests_granted(b->nests, req, rc, &g);
        return;
    }
    if (type && !strcmp(type, "peers") && !b->peers && json_is_object(json_object_get(msg, "bootstrap"))) {
        b->peers = json_incref(json_object_get(msg, "bootstrap"));
        b->peers_tls = json_incref(json_object_get(msg, "tls"));
        return;
    }
    if (!type || strcmp(type, "shutdown"))
        return;
    syslog(LOG_INFO, "the parent instance asks us to shut down");
    if (!b->m) {    /* still starting (nest_exchange) */
        b->stop = true;
        return;
    }
    if (json_is_true(json_object_get(msg, "force")))
        jobmgr_cancel_all(b->m, "shutdown", "the nested instance was shut down");
    b->parent_shutdown = true;
}

static void on_parent_down(void *arg)
{
    (void)arg;      /* if the parent died, PDEATHSIG stops us */
}

/* ---- as a parent: nested instances ---- */

static bool hook_job_ending(void *arg, struct job *job)
{
    struct broker *b = arg;
    return nests_job_ending(b->nests, job);
}

static bool hook_job_nested(void *arg, const struct job *job)
{
    struct broker *b = arg;
    return b->nests && nests_of_job(b->nests, job) > 0;
}

static void hook_job_gone(void *arg, struct job *job)
{
    struct broker *b = arg;
    nests_job_gone(b->nests, job);
}

static void on_nest_stopped(void *arg, int rc, const char *reason)
{
    (void)arg;
    if (rc < 0)
        syslog(LOG_ERR, "nested instance shutdown: %s", reason ? reason : strerror(-rc));
}

static int hook_nest_shutdown(void *arg, struct job *job, const char *name, uid_t uid,
                              bool force, struct errmsg *err)
{
    struct broker *b = arg;
    return nest_remove(b->nests, job, name, uid, force, on_nest_stopped, b, err);
}

static void on_job_cleared(void *arg, struct job *job)
{
    struct broker *b = arg;
    jobmgr_job_cleared(b->m, job);
}

static struct job *lookup_job(void *arg, const char *idstr)
{
    struct broker *b = arg;
    return jobmgr_lookup_name(b->m, idstr);
}

static struct job *lookup_job_id(void *arg, uint64_t id)
{
    struct broker *b = arg;
    return jobmgr_lookup(b->m, id);
}

static char *job_R_copy(void *arg, const struct job *job)
{
    struct broker *b = arg;
    const char *data;
    size_t len;
    return jobmgr_job_blob(b->m, job, 'R', &data, &len) == 0 ? strndup(data, len) : NULL;
}

static int nest_net_send(void *arg, int to, json_t *msg)
{
    struct broker *b = arg;
    return cluster_send(b->cluster, to, msg);
}

static void nest_net_recv(void *arg, int from, const char *type, json_t *msg)
{
    struct broker *b = arg;
    if (b->nests)
        nests_net_recv(b->nests, from, type, msg);
}

static const struct jobmgr_hooks nest_hooks = {
    .job_ending = hook_job_ending,
    .job_gone = hook_job_gone,
    .job_nested = hook_job_nested,
    .nest_shutdown = hook_nest_shutdown,
};

/* ---- stopping without blocking the loop ---- */

/* Slack after the longest grace (the jobs' kill grace, the nested
 * instances' stop grace) for SIGKILLed processes to go. */
#define DRAIN_SLACK 5.0

static double kill_grace(const struct broker *b)
{
    return b->cfg->kill_grace > 0 ? b->cfg->kill_grace : 5.0;
}

static void on_drain_deadline(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct broker *b = arg;
    (void)loop;
    (void)id;
    b->deadline_timer = 0;
    syslog(LOG_WARNING, "shutdown: %zu jobs running, nested instances %s: not waiting longer",
           jobmgr_count(b->m, JOB_RUN) + jobmgr_count(b->m, JOB_CLEANUP),
           nests_running(b->nests) ? "still running" : "gone");
    b->deadline_passed = true;
}

/* The publisher process has exited: wake the loop (drain_step reaps it). */
static void on_publisher_exit(struct ev_loop *loop, int fd, int events, void *arg)
{
    struct broker *b = arg;
    (void)events;
    ev_fd_del(loop, fd);
    b->pub_fd = -1;
}

static void on_publisher_poll(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct broker *b = arg;
    (void)id;
    b->pub_timer = publisher_stopped(b->pub) ? 0
                 : ev_timer_add(loop, 0.02, on_publisher_poll, b);
}

/* Asked to stop: running jobs are canceled (SIGTERM, SIGKILL after the kill
 * grace) and nested instances told to shut down (SIGKILL after
 * NEST_STOP_GRACE); pending jobs stay pending. Nothing here waits: the loop
 * goes on answering the tree (a task's last close is a FLUSH that must be
 * answered before it can exit) and drain_step() sees them go. */
static void drain_begin(struct broker *b)
{
    syslog(LOG_INFO, "shutting down");
    b->draining = true;
    store_stopping(b->st);
    vfs_shutdown(b->v);
    jobmgr_terminate_running(b->m, "shutdown", "the instance was shut down");
    /* a history broker has NEST_GONE_GRACE: its own histories get less */
    nests_stop(b->nests, b->cfg->read_only ? NEST_GONE_GRACE_CHILD : NEST_STOP_GRACE);
    double grace = kill_grace(b) > NEST_STOP_GRACE ? kill_grace(b) : NEST_STOP_GRACE;
    b->deadline_timer = ev_timer_add(b->loop, grace + DRAIN_SLACK, on_drain_deadline, b);
    if (!b->deadline_timer)
        b->deadline_passed = true;   /* no timer: do not wait at all */
}

/* After each iteration while draining: first jobs and nested instances,
 * then the publisher (it announces their ends), then done. */
static void drain_step(struct broker *b)
{
    if (!b->pub_stopping) {
        if (!b->deadline_passed && (nests_running(b->nests) || jobmgr_count(b->m, JOB_RUN)
                                    || jobmgr_count(b->m, JOB_CLEANUP)))
            return;
        b->pub_stopping = true;
        if (b->pub) {
            publisher_stop(b->pub);
            int fd = publisher_exit_fd(b->pub);
            if (fd >= 0 && ev_fd_add(b->loop, fd, EV_READ, on_publisher_exit, b) == 0)
                b->pub_fd = fd;
            else
                b->pub_timer = ev_timer_add(b->loop, 0.02, on_publisher_poll, b);
        }
    }
    if (!b->deadline_passed && b->pub && !publisher_stopped(b->pub))
        return;
    b->drained = true;
}

/* One iteration: events, then decisions, one durable commit (covering every
 * submission of the iteration: group commit), then answers, then actions.
 * Submitters blocked in close() are answered right after the commit, before
 * any job of this iteration is forked. */
#define SYNC_INTERVAL 1.0
/* With the redo log, LMDB's sync in the background (a checkpoint) comes
 * this soon after a change: until the next checkpoint is saved, the last
 * one's pages are held (fsd/store.c), and every page freed meanwhile with
 * them. Over 100,000 jobs at 1,300 jobs/s the store held 18,000-23,000
 * free pages at 1 s (without the hold 1,000-3,700), 9,000-13,600 at 0.3 s
 * (135 MB against 94), 4,400-4,900 at 0.1 s (after 40,000 jobs); but at
 * 0.1 s the LMDB syncs slowed a `cp` loop's durable closes by 8%, at
 * 0.3 s not measurably. */
#define CKPT_INTERVAL 0.3

static double sync_interval(const struct broker *b)
{
    return b->checkpointer ? CKPT_INTERVAL : SYNC_INTERVAL;
}
#define SPACE_INTERVAL 1.0

/* Once a second: a full disk stops output and submissions before a commit
 * fails, and space given back starts them again, without a restart. */
static void check_space(struct broker *b, double now)
{
    if (now - b->space_checked < SPACE_INTERVAL && store_low_space(b->st) == b->low_space)
        return;
    b->space_checked = now;
    bool low = store_check_space(b->st);
    if (low != b->low_space)
        syslog(low ? LOG_ERR : LOG_INFO, low
               ? "%s: the disk is full: output is dropped and submissions refused"
               : "%s: the disk has room again: output is stored and submissions accepted",
               b->cfg->statedir);
    b->low_space = low;
}

/* What the loop changed, into the store: prepare (schedule, records),
 * commit, then what follows a commit (answers, replication, starts). */
static void commit_round(struct broker *b)
{
    jobmgr_prepare_commit(b->m, !b->draining);
    replica_before_commit(cluster_replica(b->cluster));
    /* fsync only what someone waits on (submissions); state changes are
     * safe from a crash of this process at once, and from a crash of the
     * machine within SYNC_INTERVAL. With a syncer the fsync is its
     * thread's, and the submissions' answers wait for it (vfs ticket) */
    uint64_t ticket = 0;
    bool need = jobmgr_needs_sync(b->m);
    int rc = need && !b->syncer ? store_commit(b->st) : store_commit_lazy(b->st);
    if (need && b->syncer && rc == 0)
        ticket = syncer_request(b->syncer);
    if (b->checkpointer && store_checkpoint_due(b->st))
        checkpoint_begin(b);   /* the redo log rotated: its older file drains */
    if (rc < 0)
        syslog(LOG_ERR, "store commit failed: %s", strerror(-rc));
    /* the commit goes down the tree before the answers to the followers'
     * submissions that it made durable: on one link, in that order, so a
     * follower shows a job before its cp returns */
    replica_after_commit(cluster_replica(b->cluster), rc);
    vfs_after_commit(b->v, rc, ticket);
    if (b->cluster && b->rank == 0)
        cluster_after_commit(b->cluster, rc, ticket);
    jobmgr_after_commit(b->m, rc);
}

/* glibc keeps freed heap for reuse and gives back only its top: after a
 * burst (20,000 jobs queued at once) 85 MB of free heap stayed counted in
 * the daemon's RssAnon for good. It is given back as the instance becomes
 * idle after at least TRIM_JOBS were active at once: once per such burst
 * (a trim of a large heap takes milliseconds), when it has room to give. */
#define TRIM_JOBS 1000

static void trim_when_idle(struct broker *b)
{
    size_t active = jobmgr_active(b->m);
    if (active > b->active_peak)
        b->active_peak = active;
    if (active == 0 && b->active_peak >= TRIM_JOBS) {
        malloc_trim(0);
        b->active_peak = 0;
    }
}

/* epoll's timeout for something due in left seconds (never early). */
static int ms_until(double left)
{
    return left > 0 ? (int)(left * 1000) + 1 : 0;
}

static void iterate(struct broker *b)
{
    int timeout = -1;
    /* while draining nothing is scheduled, so a scheduling pass that is
     * due is no reason to spin */
    if ((jobmgr_busy(b->m) && !b->draining) || (b->stop && !b->draining))
        timeout = 0;
    else if (store_low_space(b->st))
        timeout = (int)(SPACE_INTERVAL * 1000);   /* look for space again */
    else if (store_unsynced(b->st) && !checkpointing(b)) {
        /* wake up when the pending sync is due (or the running checkpoint
         * ends: its fd) */
        double left = b->unsynced_since ? b->unsynced_since + sync_interval(b) - ev_now(b->loop)
                                        : sync_interval(b);
        timeout = ms_until(left);
    }
    /* a deferred event (jm_post_event_deferred) is written when due */
    double due = jobmgr_deferred_due(b->m);
    if (due > 0 && timeout != 0) {
        int ms = ms_until(due - ev_now(b->loop));
        if (timeout < 0 || ms < timeout)
            timeout = ms;
    }
    ev_run_once(b->loop, timeout);
    /* before the commit, so that the shutdown's exceptions go in it */
    if (b->stop && !b->draining)
        drain_begin(b);
    double now = ev_now(b->loop);
    check_space(b, now);
    commit_round(b);
    /* a job this commit queued (its submission is in the store) is
     * scheduled and started now, not after the next pass over the FUSE
     * requests that came meanwhile (the publisher's, other submissions):
     * one more round when the commit left a scheduling pass to do */
    if (jobmgr_busy(b->m) && !b->draining)
        commit_round(b);
    /* the sync comes SYNC_INTERVAL after the first unsynced change, and
     * after this iteration's answers and starts: a job submitted to an idle
     * instance does not wait for it */
    if (!store_unsynced(b->st))
        b->unsynced_since = 0;
    else if (!b->unsynced_since)
        b->unsynced_since = now;
    else if (now - b->unsynced_since >= sync_interval(b) && !checkpointing(b)) {
        b->unsynced_since = 0;
        if (b->checkpointer)
            checkpoint_begin(b);
        else if (store_sync(b->st) < 0)
            syslog(LOG_ERR, "store sync failed");
    }
    if (b->parent) {
        if (!b->ready_told)
            b->ready_told = ready_to_tell(b) && tell_parent(b, "ready") == 0;
        else if (jobmgr_active(b->m) != b->told_active)
            tell_parent(b, "status");
        /* a shut-down nested instance leaves once its jobs have ended; a
         * follower of one once the tasks it runs have */
        if (b->parent_shutdown && (b->cluster && b->rank > 0 ? cluster_active(b->cluster)
                                                             : jobmgr_active(b->m)) == 0)
            b->stop = true;
    }
    if (b->draining)
        drain_step(b);
    trim_when_idle(b);
    /* what this iteration changed, to watchers in one batch */
    publisher_flush(b->pub);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* --resources: R JSON or hwloc XML (the flat model, tasks bound to the
 * matching cores of this machine), a Fluxion GRUG recipe (.graphml) or a
 * JGF graph (JSON with a "graph" key) for richer graphs, whose tasks run
 * here unbound. Default: this machine, discovered with hwloc. */
static int load_resources(struct broker *b)
{
    struct errmsg err = { "" };
    const char *path = b->cfg->resources;
    char head[4096] = "";
    if (path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, head, sizeof(head) - 1);
            head[n > 0 ? n : 0] = '\0';
            close(fd);
        }
    }
    bool grug = path && (has_suffix(path, ".graphml") || strstr(head, "<graphml"));
    bool jgf = path && head[0] == '{' && strstr(head, "\"graph\"");
    b->rich_graph = grug || jgf;
    if (!path || grug || jgf)
        b->g = rgraph_create_hwloc(NULL, &err);
    else
        b->g = head[0] == '<' ? rgraph_create_hwloc(path, &err) : rgraph_load_file(path, &err);
    if (b->g) {
        int rc = grug ? grug_load(path, &b->graph, &err)
               : jgf ? jgf_load(path, &b->graph, &err)
               : (b->graph = rgraph_to_graph(b->g, &err)) ? 0 : -1;
        /* an R file's node properties, for constraints (--requires) */
        if (rc == 0 && path && head[0] == '{') {
            json_t *R = json_load_file(path, 0, NULL);
            rc = rread_apply_properties(b->graph, R, &err);
            json_decref(R);
        }
        if (rc == 0 && graph_finalize(b->graph, &err) < 0)
            rc = -1;
        if (rc < 0) {
            graph_destroy(b->graph);
            b->graph = NULL;
        }
    }
    if (!b->g || !b->graph) {
        fprintf(stderr, "fluxfsd: resources%s%s: %s\n", path ? " " : "", path ? path : "",
                err.text);
        return -1;
    }
    return 0;
}


/* Refuse to stack a second instance on a mounted tree. */
static int check_not_mounted(const char *mnt)
{
    char fstype[256];
    mountinfo_fstype(mnt, fstype, sizeof(fstype));
    if (strncmp(fstype, "fuse", 4) != 0)
        return 0;
    fprintf(stderr, "fluxfsd: %s is already mounted (%s); unmount it first "
                    "with: fusermount3 -u %s\n", mnt, fstype, mnt);
    return -1;
}

int broker_detach_dead_mount(const char *mnt)
{
    char abs[PATH_MAX], fstype[256];
    struct stat st;
    if (stat(mnt, &st) == 0 || errno != ENOTCONN)
        return 0;
    if (mnt[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd)) ||
            (size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, mnt) >= sizeof(abs))
            return -ENOTCONN;
    } else if ((size_t)snprintf(abs, sizeof(abs), "%s", mnt) >= sizeof(abs)) {
        return -ENOTCONN;
    }
    size_t len = strlen(abs);
    while (len > 1 && abs[len - 1] == '/')
        abs[--len] = '\0';
    /* only our own: a dead sshfs there is not ours to take away */
    mountinfo_fstype(abs, fstype, sizeof(fstype));
    if (strcmp(fstype, "fuse.fluxfsd") != 0)
        return -ENOTCONN;
    if (umount2(abs, MNT_DETACH) < 0) {
        /* not root: the setuid helper may detach the user's own mounts */
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (null >= 0)
                dup2(null, STDERR_FILENO);
            execlp("fusermount3", "fusermount3", "-u", "-z", "--", abs, (char *)NULL);
            _exit(127);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            return -ENOTCONN;
    }
    fprintf(stderr, "fluxfsd: %s: the fluxfsd that mounted it died; its dead mount "
                    "was detached\n", abs);
    syslog(LOG_NOTICE, "detached the dead mount left at %s", abs);
    return 1;
}

static int mount_tree(struct broker *b)
{
    char opts[1024];
    snprintf(opts, sizeof(opts), "fsname=fluxfs,subtype=fluxfsd%s%s%s",
             geteuid() == 0 ? ",allow_other" : "", b->cfg->fuse_opts ? "," : "",
             b->cfg->fuse_opts ? b->cfg->fuse_opts : "");
    char *argv[] = { (char *)"fluxfsd", (char *)"-o", opts, (char *)"-d", NULL };
    struct fuse_args args = FUSE_ARGS_INIT(b->cfg->debug ? 4 : 3, argv);

    b->se = fuse_session_new(&args, vfs_ops(), sizeof(*vfs_ops()), b->v);
    fuse_opt_free_args(&args);
    if (!b->se) {
        fprintf(stderr, "fluxfsd: bad mount options '%s'\n", opts);
        return -1;
    }
    if (fuse_session_mount(b->se, b->cfg->mountpoint) != 0) {
        /* the likeliest cause, said on the line a nested instance's parent
         * shows (its last): libfuse's own is on the line before */
        struct stat st;
        int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (fd < 0 && errno == EACCES && stat("/dev/fuse", &st) == 0)
            fprintf(stderr, "fluxfsd: cannot mount on %s: /dev/fuse (mode %04o) is not "
                    "read-writable by uid %u; users' instances need it 0666, as Debian "
                    "makes it\n", b->cfg->mountpoint, (unsigned)(st.st_mode & 07777),
                    (unsigned)geteuid());
        else
            fprintf(stderr, "fluxfsd: cannot mount on %s\n", b->cfg->mountpoint);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    b->mounted = true;
    int fd = fuse_session_fd(b->se);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return ev_fd_add(b->loop, fd, EV_READ, on_fuse, b);
}

static void check_mounts(struct broker *b);

static void on_mounts_retry(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct broker *b = arg;
    (void)loop;
    (void)id;
    b->mounts_retry = 0;
    check_mounts(b);
}

/* The mount table changed: if our file system is mounted nowhere any more
 * (unmounted, lazily or not), stop as if the kernel had said so (it does
 * not while the publisher's clone holds the file system), and leave the
 * mount point alone at the end: what is mounted there now is not ours.
 * By device number, not mount id (mountinfo.h): ids are reused at once. */
static void check_mounts(struct broker *b)
{
    int rc = mountinfo_has_dev(b->mounts_fd, b->mnt_dev);
    if (rc > 0)
        return;
    if (rc < 0) {   /* the change is consumed: look again, not never */
        if (!b->mounts_retry)
            b->mounts_retry = ev_timer_add(b->loop, 1.0, on_mounts_retry, b);
        return;
    }
    syslog(LOG_INFO, "%s was unmounted", b->cfg->mountpoint);
    ev_fd_del(b->loop, b->mounts_fd);
    b->mounted = false;
    b->stop = true;
}

static void on_mounts(struct ev_loop *loop, int fd, int events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    check_mounts(arg);
}

/* Whether what is mounted at our mount point is still our file system
 * (it may have been unmounted and something else mounted there, or ours
 * moved): only then may the end unmount it. Unknown device: as before. */
static bool ours_on_top(const struct broker *b)
{
    dev_t dev = 0;
    return !b->mnt_dev || (mountinfo_top(b->cfg->mountpoint, NULL, 0, &dev) >= 0
                           && dev == b->mnt_dev);
}

/* Our file system's device number; the publisher's clone of our mount
 * (publish.h, mntclone.h), and the watch that replaces the kernel's word
 * of an unmount. Where no clone can be made (no open_tree, no user
 * namespaces), or the mount table cannot be watched, the publisher works
 * by path as before. */
static int watch_mount(struct broker *b)
{
    struct errmsg err = { "" };
    char type[64];
    dev_t dev = 0;
    if (mountinfo_top(b->cfg->mountpoint, type, sizeof(type), &dev) < 0
        || strcmp(type, "fuse.fluxfsd") != 0)
        return 0;
    b->mnt_dev = dev;
    if (!b->cfg->publish)
        return 0;   /* no publisher, no clone: the kernel tells of the unmount */
    if ((b->tree_fd = mntclone_open(b->cfg->mountpoint, &err)) < 0) {
        syslog(LOG_INFO, "%s: inotify events are made by path (an unmount while they are "
               "can fail with EBUSY)", err.text);
        return 0;
    }
    if ((b->mounts_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) < 0
        || ev_fd_add(b->loop, b->mounts_fd, EV_PRI, on_mounts, b) < 0) {
        if (b->mounts_fd >= 0)
            close(b->mounts_fd);
        b->mounts_fd = -1;
        close(b->tree_fd);   /* without the watch, an unmount would go unseen */
        b->tree_fd = -1;
    }
    return 0;
}

/* Job ids (doc/tree.md "Job IDs"): our generator and our instance token,
 * recorded in the store so a restart on the same state directory keeps
 * them: a history broker is started without --generator and reads its own
 * back. For an instance that mints, the parent's --generator wins, as its
 * block is what keeps the tree's generators apart (store order keeps ids
 * increasing anyway). jobmgr reads "generator" when it starts minting. */
static int setup_ids(struct broker *b)
{
    uint32_t gen = 0;
    size_t len = 0;
    int rc;
    bool have = store_meta_get(b->st, "generator", &gen, sizeof(gen), &len) == 0
                && len == sizeof(gen) && gen <= FLUID_GENERATOR_MAX;
    if (b->cfg->generator_set)
        b->gens = b->cfg->generator;
    else if (have && gen != 0)
        b->gens = (struct genblock){ gen, 1 };
    else
        b->gens = GENBLOCK_ROOT;
    if (!b->cfg->read_only && (!have || gen != b->gens.first)) {
        if (have)
            syslog(LOG_NOTICE, "job id generator %u (was %u)", b->gens.first, gen);
        /* jobmgr reads it back from the store: a nested instance that could
         * not record it would mint with the root's */
        rc = store_meta_put(b->st, "generator", &b->gens.first, sizeof(uint32_t));
        if (rc < 0 && b->gens.first != 0) {
            fprintf(stderr, "fluxfsd: cannot record the job id generator: %s\n", strerror(-rc));
            return -1;
        }
    }
    /* the token: random, so that instances of different trees differ too */
    if (store_meta_get(b->st, "instance", b->instance, sizeof(b->instance) - 1, &len) < 0
        || len == 0 || len >= sizeof(b->instance)) {
        uint64_t r = 0;
        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
            r = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)b;
        snprintf(b->instance, sizeof(b->instance), "%016llx", (unsigned long long)r);
        /* unrecorded, it still names this run's tasks; only a crash's
         * leftovers would then escape the next start's cleanup */
        if (!b->cfg->read_only
            && (rc = store_meta_put(b->st, "instance", b->instance, strlen(b->instance))) < 0)
            syslog(LOG_ERR, "cannot record the instance token: %s", strerror(-rc));
    } else
        b->instance[len] = '\0';
    if (exec_set_instance(b->instance) < 0) {
        fprintf(stderr, "fluxfsd: bad instance token '%s' in %s\n", b->instance,
                b->cfg->statedir);
        return -1;
    }
    struct errmsg err = { "" };
    if (b->imp && imp_init(b->imp, b->instance, &err) < 0) {
        fprintf(stderr, "fluxfsd: the privileged helper: %s\n", err.text);
        return -1;
    }
    return 0;
}

/* The broker and its helper run a few steps of nice above the jobs' tasks,
 * which get back the nice we were started with (exec_set_task_nice, the
 * helper's --task-nice, a nested broker's fork). Where the jobs keep every
 * core busy, a submission's close() waited p90 4-12 ms for a core at equal
 * nice, 0.4-1.1 ms at 5 steps above (tests/bench/results/nice-*.txt). By
 * default only where the kernel lets us (root, RLIMIT_NICE); --nice N asks
 * for N and fails if refused, or if it is above our start and the tasks
 * could not come back down to it (that needs root or RLIMIT_NICE). Before
 * any thread or child exists: each inherits its creator's. */
static int set_nice(struct broker *b)
{
    errno = 0;
    int base = getpriority(PRIO_PROCESS, 0);
    if (base == -1 && errno)
        return 0;
    int want = b->cfg->nice_set ? b->cfg->nice : base - 5 < -20 ? -20 : base - 5;
    if (want == base)
        return 0;
    struct rlimit rl;
    if (want > base && geteuid() != 0
        && (getrlimit(RLIMIT_NICE, &rl) < 0 || (rl.rlim_cur != RLIM_INFINITY
                                                && 20 - (long)rl.rlim_cur > base))) {
        fprintf(stderr, "fluxfsd: --nice %d: the tasks could not come back to our nice %d "
                "(that needs root or RLIMIT_NICE)\n", want, base);
        return -1;
    }
    if (setpriority(PRIO_PROCESS, 0, want) < 0) {
        if (!b->cfg->nice_set)
            return 0;
        fprintf(stderr, "fluxfsd: --nice %d: %s (from %d, lower needs root or RLIMIT_NICE)\n",
                want, strerror(errno), base);
        return -1;
    }
    b->nice_changed = true;
    b->task_nice = base;
    exec_set_task_nice(base);
    return 0;
}

/* A root-started broker is a system instance (fsd/privsep.h): its user is
 * found (or made) and its privileged helper started before anything else,
 * so that every job and nested broker, even one recovered now, is started
 * through the helper; root itself is kept only until the tree is mounted. */
static int privsep_begin(struct broker *b)
{
    struct errmsg err = { "" };
    const char *user = b->cfg->user ? b->cfg->user : PRIVSEP_DEFAULT_USER;
    char helper[PATH_MAX];
    if (geteuid() != 0)
        return 0;
    if (!strcmp(user, "root")) {
        if (!b->cfg->parent_url)   /* a nested instance of root's job is root's */
            syslog(LOG_WARNING, "--user root: the broker keeps running as root; every "
                                "request of every user is served with root's authority");
        return 0;
    }
    if (privsep_user(user, &b->run_uid, &b->run_gid, &err) < 0) {
        fprintf(stderr, "fluxfsd: %s (--user NAME picks another, --user root keeps root)\n",
                err.text);
        return -1;
    }
    if (!imp_default_path(helper, sizeof(helper))) {
        fprintf(stderr, "fluxfsd: the privileged helper fluxfs-imp is not installed "
                        "(set FLUXFS_IMP, or --user root)\n");
        return -1;
    }
    if (!(b->imp = imp_start(helper, b->run_uid, b->cfg->mountpoint,
                             b->nice_changed ? &b->task_nice : NULL, &err))) {
        fprintf(stderr, "fluxfsd: %s\n", err.text);
        return -1;
    }
    exec_set_imp(b->imp, b->run_uid);
    return 0;
}

/* Mounted: the state directory becomes the broker user's, and so do we. */
static int privsep_end(struct broker *b)
{
    struct errmsg err = { "" };
    if (!b->imp)
        return 0;
    int rc = privsep_own(b->cfg->statedir, b->run_uid, b->run_gid);
    if (rc < 0) {
        fprintf(stderr, "fluxfsd: %s: %s\n", b->cfg->statedir, strerror(-rc));
        return -1;
    }
    if (privsep_drop(b->run_uid, b->run_gid, &err) < 0) {
        fprintf(stderr, "fluxfsd: %s\n", err.text);
        return -1;
    }
    int fd = open(b->cfg->statedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "fluxfsd: the state directory %s is out of reach of uid %u: %s "
                "(its parents must be searchable: chmod o+x; or --user root)\n",
                b->cfg->statedir, (unsigned)b->run_uid, strerror(errno));
        return -1;
    }
    close(fd);
    syslog(LOG_INFO, "running as uid %u; root only in fluxfs-imp", (unsigned)b->run_uid);
    return 0;
}

/* One broker of a multi-node instance (--bootstrap): our rank, our node
 * named as the bootstrap file names it; the leader's graph has every
 * other broker's node too, empty and down until that broker joins with
 * its resources (jobmgr_node_joined). */
static int setup_multinode(struct broker *b)
{
    struct errmsg err = { "" };
    char host[256] = "";
    if (b->bs)      /* learnt from our parent instance (nest_exchange) */
        goto have_rank;
    if (!(b->bs = bootstrap_load(b->cfg->bootstrap, &err))
        || bootstrap_read_tls(b->bs, &err) < 0) {
        fprintf(stderr, "fluxfsd: bootstrap %s: %s\n", b->cfg->bootstrap, err.text);
        return -1;
    }
    b->rank = b->cfg->rank;
    if (b->rank < 0) {
        gethostname(host, sizeof(host) - 1);
        b->rank = bootstrap_rank_of(b->bs, host);
        if (b->rank < 0) {
            fprintf(stderr, "fluxfsd: bootstrap %s: %s '%s' (give --rank)\n",
                    b->cfg->bootstrap, b->rank == -EEXIST ? "several brokers have host"
                    : "no broker has host", host);
            return -1;
        }
    }
have_rank:
    if (b->rank >= b->bs->size) {
        fprintf(stderr, "fluxfsd: rank %d: the bootstrap file has %d brokers\n", b->rank,
                b->bs->size);
        return -1;
    }
    int node_type = graph_lookup_type(b->graph, "node");
    if (b->rich_graph || rgraph_nnodes(b->g) != 1 || graph_count_type(b->graph, node_type) != 1) {
        fprintf(stderr, "fluxfsd: with --bootstrap, --resources is this broker's node alone "
                "(an R of one node or hwloc XML)\n");
        return -1;
    }
    if (rgraph_name_node(b->g, 0, b->bs->brokers[b->rank].host, b->rank) < 0)
        return -1;
    /* every broker's graph has every node: the leader schedules on it, a
     * follower shows it in resources/ (jobmgr_replica_shared fills in what
     * the leader hears later) */
    for (int r = 0; r < b->bs->size; r++) {
        if (r == b->rank)
            continue;
        /* what the node had when it last joined (jobmgr_node_joined
         * records it), else nothing until it joins */
        struct rgraph_node node = { 0 }, empty = { .name = b->bs->brokers[r].host,
                                                   .rank = r };
        char key[32], buf[65536], *text = NULL;
        size_t len = 0;
        snprintf(key, sizeof(key), "node.%d", r);
        json_t *o = store_shared_get(b->st, key, &text, &len) == 0
                    ? json_loads(text, 0, NULL)
                    : store_meta_get(b->st, key, buf, sizeof(buf) - 1, &len) == 0
                      && len < sizeof(buf) ? json_loadb(buf, len, 0, NULL) : NULL;
        free(text);
        bool known = o && rgraph_node_from_json(o, &node, &err) == 0;
        json_decref(o);
        int i = rgraph_add_node(b->g, &empty);
        if (i >= 0 && known)
            rgraph_fill_node(b->g, i, &node);
        rgraph_node_release(&node);
        if (i < 0)
            return -1;
    }
    /* in rank order, as the leader's (resources/R reads the same) */
    rgraph_sort_by_rank(b->g);
    graph_destroy(b->graph);
    if (!(b->graph = rgraph_to_graph(b->g, &err))) {
        fprintf(stderr, "fluxfsd: resources: %s\n", err.text);
        return -1;
    }
    struct cluster_config ccfg = {
        .st = b->st,
        .bs = b->bs,
        .rank = b->rank,
        .node = rgraph_node(b->g, rgraph_find_rank(b->g, b->rank)),
        .mount = b->cfg->mountpoint,
    };
    if (!(b->cluster = cluster_create(b->loop, &ccfg, &err))) {
        fprintf(stderr, "fluxfsd: overlay: %s\n", err.text);
        return -1;
    }
    return 0;
}

/* A follower: the leader's answer to a submission made on our tree. It
 * came behind the commit that made the jobs durable (replica.h); the
 * submitter is answered once that commit shows in our tree. */
struct forward_answer {
    struct broker *b;
    uint64_t token;
    uid_t uid;
    char *ids, *subject;
};

static void forward_answer_free(struct forward_answer *a)
{
    free(a->ids);
    free(a->subject);
    free(a);
}

static void forward_answer(void *arg, int settled)
{
    struct forward_answer *a = arg;
    (void)settled;   /* durable on the leader either way */
    if (a->b->v)
        vfs_forward_done(a->b->v, a->token, 0, a->ids, a->uid, a->subject, NULL);
    forward_answer_free(a);
}

static void forward_done(void *arg, uint64_t token, int rc, const char *ids, uid_t uid,
                         const char *subject, const char *why, uint64_t seq)
{
    struct broker *b = arg;
    struct forward_answer *a = rc == 0 ? calloc(1, sizeof(*a)) : NULL;
    if (a) {
        a->b = b;
        a->token = token;
        a->uid = uid;
        a->ids = ids ? strdup(ids) : NULL;
        a->subject = subject ? strdup(subject) : NULL;
        if ((!ids || a->ids) && (!subject || a->subject)
            && replica_settle(cluster_replica(b->cluster), seq, forward_answer, a) == 0)
            return;
        forward_answer_free(a);
    }
    if (b->v)
        vfs_forward_done(b->v, token, rc, ids, uid, subject, why);
}

static int answer_after(void *arg, uint64_t ticket, vfs_answer_f fn, void *answer)
{
    return syncer_after(arg, ticket, fn, answer);
}

static int sync_result(void *arg, uint64_t ticket)
{
    return syncer_result(arg, ticket);
}

static const struct vfs_sync_ops sync_ops = { answer_after, sync_result };

static int read_barrier(void *arg, vfs_done_f done, void *done_arg)
{
    struct broker *b = arg;
    return replica_barrier(cluster_replica(b->cluster), done, done_arg);
}

static json_t *status_overlay(void *arg)
{
    struct broker *b = arg;
    return cluster_status(b->cluster);
}

/* A broker of a nested instance across nodes learns the others as Flux's
 * brokers do under PMI: it tells its parent broker where it listens (rank
 * 0 listens nowhere), the parent instance's leader gathers every rank's
 * address and sends the whole list back as a bootstrap document. */
#define NEST_PEERS_WAIT 30.0

/* Where we listen: a free port of bind's host, or a socket in a directory
 * of our own. The port is found by binding it and letting it go, as a
 * listener cannot be handed to the overlay; it binds the port again at once. */
static int nest_listen_url(struct broker *b, char *url, size_t size, struct errmsg *err)
{
    const char *bind = b->cfg->nest_bind;
    if (!strncmp(bind, "ipc://", 6)) {
        snprintf(b->nest_ipcdir, sizeof(b->nest_ipcdir), "/tmp/fluxfs-nest-XXXXXX");
        if (!mkdtemp(b->nest_ipcdir)) {
            b->nest_ipcdir[0] = '\0';
            return errmsg_set(err, -errno, "mkdtemp: %s", strerror(errno));
        }
        snprintf(url, size, "ipc://%s/overlay.ipc", b->nest_ipcdir);
        return 0;
    }
    const char *colon = strrchr(bind, ':');
    const char *host = strstr(bind, "://");
    if (!host || !colon || colon < host + 3)
        return errmsg_set(err, -EINVAL, "bad --nest-bind '%s'", bind);
    char probe[512];
    snprintf(probe, sizeof(probe), "tcp://%.*s:0", (int)(colon - host - 3), host + 3);
    struct link *l = link_listen_url(b->loop, probe, NULL, NULL, NULL, NULL, err);
    int port = l ? link_bound_port(l) : -EIO;
    link_destroy(l);
    if (port <= 0)
        return port < 0 && !err->text[0] ? errmsg_set(err, port, "no port: %s", strerror(-port))
                                         : port < 0 ? port : -EIO;
    snprintf(url, size, "%.*s:%d", (int)(colon - bind), bind, port);
    return 0;
}

/* The credentials of a nested instance over TLS live in STATEDIR/tls/,
 * ours alone. */
static const char *const tls_files[] = { "ca", "cert", "key" };
#define TLS_PEM_MAX (64u << 10)

static void tls_path(const struct broker *b, int i, char *buf, size_t size)
{
    snprintf(buf, size, "%s/tls/%s.pem", b->cfg->statedir, tls_files[i]);
}

/* The child's leader makes them (keygen.h) and hands them to the parent,
 * which passes them to the other brokers with the list of brokers. */
static json_t *nest_make_tls(struct broker *b, struct errmsg *err)
{
    char dir[PATH_MAX], path[PATH_MAX], pem[TLS_PEM_MAX];
    snprintf(dir, sizeof(dir), "%s/tls", b->cfg->statedir);
    if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || keygen_write(dir, err) < 0) {
        if (!err->text[0])
            errmsg_set(err, -errno, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    json_t *o = json_object();
    for (int i = 0; o && i < 3; i++) {
        tls_path(b, i, path, sizeof(path));
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        ssize_t n = fd >= 0 ? read(fd, pem, sizeof(pem) - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n <= 0 || json_object_set_new(o, tls_files[i], json_stringn(pem, (size_t)n)) < 0) {
            errmsg_set(err, -EIO, "cannot read %s", path);
            json_decref(o);
            return NULL;
        }
        explicit_bzero(pem, sizeof(pem));
    }
    return o;
}

/* The others keep them where the bootstrap document then names them. */
static int nest_keep_tls(struct broker *b, json_t *doc, struct errmsg *err)
{
    char dir[PATH_MAX], path[PATH_MAX];
    json_t *names = json_object();
    snprintf(dir, sizeof(dir), "%s/tls", b->cfg->statedir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return errmsg_set(err, -errno, "%s: %s", dir, strerror(errno));
    for (int i = 0; names && i < 3; i++) {
        const char *pem = json_string_value(json_object_get(b->peers_tls, tls_files[i]));
        tls_path(b, i, path, sizeof(path));
        if (!pem || strlen(pem) >= TLS_PEM_MAX) {
            json_decref(names);
            return errmsg_set(err, -EPROTO, "the parent sent no usable %s", tls_files[i]);
        }
        if (b->cfg->nest_rank > 0) {
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
            size_t len = strlen(pem);
            bool ok = fd >= 0 && write(fd, pem, len) == (ssize_t)len;
            if (fd >= 0)
                close(fd);
            if (!ok) {
                json_decref(names);
                return errmsg_set(err, -EIO, "cannot write %s", path);
            }
        }
        json_object_set_new(names, tls_files[i], json_string(path));
    }
    if (!names || json_object_set_new(doc, "tls", names) < 0)
        return errmsg_set(err, -ENOMEM, "out of memory");
    return 0;
}

static int nest_exchange(struct broker *b)
{
    struct errmsg err = { "" };
    char url[600] = "";
    bool tls = !strncmp(b->cfg->nest_bind, "tls+tcp://", 10);
    json_t *creds = NULL;
    b->parent = link_dial(b->loop, b->cfg->parent_url, on_parent_msg, on_parent_down, b, &err);
    if (!b->parent || (b->cfg->nest_rank > 0 && nest_listen_url(b, url, sizeof(url), &err) < 0)) {
        fprintf(stderr, "fluxfsd: nested broker %d: %s\n", b->cfg->nest_rank, err.text);
        return -1;
    }
    if (tls && b->cfg->nest_rank == 0 && !(creds = nest_make_tls(b, &err))) {
        fprintf(stderr, "fluxfsd: nested broker 0: %s\n", err.text);
        return -1;
    }
    json_t *msg = json_pack("{s:s s:i s:s}", "type", "url", "rank", b->cfg->nest_rank, "url", url);
    if (msg && creds)
        json_object_set_new(msg, "tls", creds);
    else
        json_decref(creds);
    int rc = msg ? link_send_sync(b->parent, msg, 10.0) : -ENOMEM;
    json_decref(msg);
    if (rc < 0) {
        fprintf(stderr, "fluxfsd: nested broker %d: cannot reach the parent: %s\n",
                b->cfg->nest_rank, strerror(-rc));
        return -1;
    }
    double deadline = ev_now(b->loop) + NEST_PEERS_WAIT;
    while (!b->peers && !b->stop && ev_now(b->loop) < deadline)
        ev_run_once(b->loop, 100);
    if (!b->peers) {
        fprintf(stderr, "fluxfsd: nested broker %d: %s\n", b->cfg->nest_rank,
                b->stop ? "stopped while waiting for the other brokers"
                        : "the parent did not send the other brokers in time");
        return -1;
    }
    if (tls && nest_keep_tls(b, b->peers, &err) < 0) {
        fprintf(stderr, "fluxfsd: nested broker %d: %s\n", b->cfg->nest_rank, err.text);
        return -1;
    }
    char *text = json_dumps(b->peers, JSON_COMPACT);
    b->bs = text ? bootstrap_parse(text, strlen(text), &err) : NULL;
    free(text);
    if (b->bs && bootstrap_read_tls(b->bs, &err) < 0) {
        bootstrap_destroy(b->bs);
        b->bs = NULL;
    }
    if (!b->bs) {
        fprintf(stderr, "fluxfsd: nested broker %d: the parent's brokers: %s\n",
                b->cfg->nest_rank, err.text);
        return -1;
    }
    if (b->cfg->nest_rank >= b->bs->size
        || (b->cfg->nest_rank > 0 && strcmp(b->bs->brokers[b->cfg->nest_rank].bind, url))) {
        fprintf(stderr, "fluxfsd: nested broker %d: the parent gave it another address\n",
                b->cfg->nest_rank);
        return -1;
    }
    b->rank = b->cfg->nest_rank;
    return 0;
}

static int setup(struct broker *b)
{
    struct errmsg err = { "" };
    struct jobmgr_config mcfg = {
        .kill_grace = b->cfg->kill_grace,
        .output_cap = b->cfg->output_cap,
        .purge_age = b->cfg->purge_age,
        .purge_keep = b->cfg->purge_keep,
        .acct_keep = (b->cfg->acct_keep_days < 0 ? 365 : b->cfg->acct_keep_days) * 86400.,
        .match_policy = b->cfg->match_policy,
        .queue_policy = b->cfg->queue_policy,
        .queue_depth = b->cfg->queue_depth,
        .max_tasks = b->cfg->max_tasks,
        .priority = b->cfg->priority,
        .contain = b->cfg->contain,
        .max_pending = (size_t)b->cfg->max_pending,
        .submit_rate = b->cfg->submit_rate,
        .read_only = b->cfg->read_only,
    };
    struct nests_config ncfg = {
        .statedir = b->cfg->statedir,
        .match_policy = b->cfg->match_policy,
        .queue_policy = b->cfg->queue_policy,
    };
    sigset_t mask;
    int rc;

    /* signals arrive through the loop; block them before any thread exists
     * (nng's, the publisher's), or a thread that does not block SIGTERM
     * takes it and the default action kills us without a teardown */
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (check_not_mounted(b->cfg->mountpoint) < 0 || set_nice(b) < 0 || privsep_begin(b) < 0
        || load_resources(b) < 0)
        return -1;
    if (!(b->loop = ev_create()))
        return -1;
    if ((rc = store_open(b->cfg->statedir, 0, &b->st, &err)) < 0) {
        fprintf(stderr, "fluxfsd: %s\n", err.text);
        return -1;
    }
    if (setup_ids(b) < 0)
        return -1;
    if (b->cfg->nest_size > 1 && nest_exchange(b) < 0)
        return -1;
    if (b->cfg->bootstrap || b->bs) {
        if (setup_multinode(b) < 0)
            return -1;
        if (b->rank == 0) {
            mcfg.executor_create = cluster_executor_create;
            mcfg.executor_arg = b->cluster;
            mcfg.share = true;
        } else {
            /* jobs live on the leader: submissions on this tree go there
             * (vfs_set_forward below); the local job manager shows the
             * replica of the leader's jobs (fsd/replica.h) */
            mcfg.replica = true;
        }
    }
    mcfg.mount = b->cfg->mountpoint;
    if (!(b->m = jobmgr_create(b->loop, b->st, b->g, b->graph, &mcfg, &err))) {
        fprintf(stderr, "fluxfsd: %s\n", err.text);
        return -1;
    }
    if (b->cluster)
        cluster_set_jobmgr(b->cluster, b->m);
    if (b->cluster && b->rank == 0)
        jobmgr_share_node(b->m, 0);    /* the others come with their joins */
    if (b->cluster && b->rank > 0)
        jobmgr_replica_shared(b->m);   /* what the replica had when we stopped */
    /* what recovery changed is durable before anyone can look; on a full
     * disk it is kept to be written later, so that jobs can still be read
     * and canceled */
    jobmgr_prepare_commit(b->m, true);
    replica_before_commit(cluster_replica(b->cluster));
    rc = store_commit(b->st);
    replica_after_commit(cluster_replica(b->cluster), rc);
    if (rc < 0 && rc != -ENOSPC) {
        fprintf(stderr, "fluxfsd: cannot write to %s: %s\n", b->cfg->statedir, strerror(-rc));
        return -1;
    }
    if (rc < 0)
        syslog(LOG_ERR, "%s: the disk is full: recovery not stored yet", b->cfg->statedir);
    jobmgr_after_commit(b->m, rc);
    b->low_space = store_low_space(b->st);
    if (b->low_space)
        syslog(LOG_ERR, "%s: the disk is full: output is dropped and submissions refused",
               b->cfg->statedir);
    if (!(b->v = vfs_create(b->m, b->loop)) || vfs_set_statedir(b->v, b->cfg->statedir) < 0
        || vfs_set_mountpoint(b->v, b->cfg->mountpoint) < 0)
        return -1;
    vfs_set_imp(b->v, b->imp);
    vfs_set_user_limits(b->v,
                        b->cfg->queue_bytes >= 0 ? (uint64_t)b->cfg->queue_bytes : VFS_QUOTA_BYTES,
                        b->cfg->queue_files >= 0 ? (unsigned)b->cfg->queue_files : VFS_QUOTA_FILES);
    jobmgr_set_notify(b->m, vfs_job_changed, b->v);
    if (b->cluster)
        vfs_set_status_extra(b->v, status_overlay, b);
    if (b->cluster && b->rank > 0) {
        vfs_set_forward(b->v, cluster_forward, b->cluster);
        vfs_set_forward_ctl(b->v, cluster_forward_ctl);
        vfs_set_barrier(b->v, read_barrier, b);
        cluster_set_sink(b->cluster, forward_done, b);
    }
    ncfg.gens = b->gens;
    ncfg.instance = b->instance;
    ncfg.imp = b->imp;
    ncfg.imp_uid = b->run_uid;
    ncfg.set_nice = b->nice_changed;
    ncfg.task_nice = b->task_nice;
    if (!(b->nests = nests_create(b->loop, &ncfg, on_job_cleared, b)))
        return -1;
    jobmgr_set_hooks(b->m, &nest_hooks, b);
    vfs_set_nests(b->v, b->nests);
    if (b->cluster) {
        nests_set_net(b->nests, b->rank, b->bs, nest_net_send, lookup_job_id, job_R_copy, b);
        cluster_set_nest_recv(b->cluster, nest_net_recv, b);
    }
    nests_recover(b->nests, lookup_job, b);

    if ((b->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
        ev_fd_add(b->loop, b->sigfd, EV_READ, on_signal, b) < 0)
        return -1;
    /* without it (no thread) every durable commit syncs on the loop
     * thread. A cluster's leader answers its followers' submissions after
     * the sync too (cluster_after_sync) */
    const char *delay = getenv("FLUXFS_TEST_SYNC_DELAY_MS");
    if (delay && atoi(delay) > 0 && atoi(delay) <= 10000)
        b->test_sync_delay = (useconds_t)atoi(delay) * 1000;
    b->test_sync_fail = getenv("FLUXFS_TEST_SYNC_FAIL");
    if ((b->syncer = syncer_create(flush_store, b, "fluxfs-sync"))
        && ev_fd_add(b->loop, syncer_fd(b->syncer), EV_READ, on_synced, b) < 0) {
        syncer_destroy(b->syncer);
        b->syncer = NULL;
    }
    if (b->syncer)
        vfs_set_sync(b->v, &sync_ops, b->syncer);
    /* with it, the redo log: a durable commit is one sequential write and
     * its sync, and LMDB is synced in the background (store.h) */
    if (b->syncer && (b->checkpointer = syncer_create(checkpoint_store, b, "fluxfs-ckpt"))) {
        if (ev_fd_add(b->loop, syncer_fd(b->checkpointer), EV_READ, on_checkpointed, b) < 0) {
            syncer_destroy(b->checkpointer);
            b->checkpointer = NULL;
        } else if (store_redo_enable(b->st) == 0)
            b->redo_files = 2;
    }

    if (mount_tree(b) < 0 || watch_mount(b) < 0 || privsep_end(b) < 0)
        return -1;
    /* missing, the redo log's files are the checkpointer's first work, now
     * that we are the broker's user (they must be its own) */
    if (b->checkpointer && b->redo_files == 0)
        checkpoint_begin(b);
    if (b->cfg->publish) {
        b->pub = publisher_create(b->cfg->mountpoint, b->tree_fd);
        b->tree_fd = -1;   /* the publisher's now */
        if (!b->pub) {
            fprintf(stderr, "fluxfsd: cannot start the publisher thread\n");
            return -1;
        }
        vfs_set_publisher(b->v, b->pub);
    }
    if (b->cfg->parent_url) {
        if (!b->parent)
            b->parent = link_dial(b->loop, b->cfg->parent_url, on_parent_msg, on_parent_down,
                                  b, &err);
        if (!b->parent) {
            fprintf(stderr, "fluxfsd: parent %s: %s\n", b->cfg->parent_url, err.text);
            return -1;
        }
        nests_set_asker(b->nests, ask_parent_generators, return_parent_generators, b);
    }
    return 0;
}

/* Free everything. After a drain nothing is left running; after the drain's
 * deadline (or a failed setup) what is left is killed, never waited for. */
static void teardown(struct broker *b)
{
    if (b->deadline_timer)
        ev_timer_cancel(b->loop, b->deadline_timer);
    if (b->pub_timer)
        ev_timer_cancel(b->loop, b->pub_timer);
    if (b->pub_fd >= 0)
        ev_fd_del(b->loop, b->pub_fd);
    if (b->checkpointer) {
        ev_fd_del(b->loop, syncer_fd(b->checkpointer));
        syncer_destroy(b->checkpointer);   /* waits for one in progress */
        b->checkpointer = NULL;
    }
    if (b->syncer) {
        /* what is committed is made durable and its submitters answered,
         * before anything is torn down */
        ev_fd_del(b->loop, syncer_fd(b->syncer));
        /* its syncs' outcomes into the books while it can still say each
         * one's (the final flush below covers only what came after) */
        syncer_stop(b->syncer);
        on_synced(b->loop, -1, 0, b);
        if (b->v)
            vfs_set_sync(b->v, NULL, NULL);
        syncer_destroy(b->syncer);
        b->syncer = NULL;
        int rc = store_flush(b->st);
        if (b->v)
            vfs_after_sync(b->v, UINT64_MAX, rc < 0 ? UINT64_MAX : 0, rc);
        if (b->cluster && b->rank == 0)
            cluster_after_sync(b->cluster, UINT64_MAX, rc < 0 ? UINT64_MAX : 0, rc);
    }
    if (b->v)
        vfs_shutdown(b->v);
    /* children first: they run on our jobs' resources; then our jobs end
     * without waiting for them */
    if (b->nests) {
        nests_destroy(b->nests);
        b->nests = NULL;
        vfs_set_nests(b->v, NULL);
        jobmgr_set_hooks(b->m, NULL, NULL);
    }
    if (b->v)
        vfs_set_publisher(b->v, NULL);
    /* lookups and submitters waiting on the replica are answered first */
    replica_cancel(cluster_replica(b->cluster));
    vfs_destroy(b->v);
    if (b->cluster && b->rank > 0)
        cluster_terminate_all(b->cluster, 0);
    if (b->m) {
        /* the replica's last commit below must not reach a freed manager */
        if (b->cluster && b->rank > 0)
            replica_set_jobmgr(cluster_replica(b->cluster), NULL);
        jobmgr_destroy(b->m);
        replica_before_commit(cluster_replica(b->cluster));
        int rc = store_commit(b->st);
        replica_after_commit(cluster_replica(b->cluster), rc);
        replica_flush(cluster_replica(b->cluster));   /* our last words go down */
        if (rc < 0 || store_sync(b->st) < 0)
            syslog(LOG_ERR, "final commit failed");
    }
    /* closing the session aborts the connection: a process still blocked
     * on the mount (a killed task's FLUSH, the publisher) is released */
    if (b->se) {
        if (b->mounted && !ours_on_top(b)) {
            syslog(LOG_WARNING, "%s: not ours any more (moved, or another mounted there): "
                   "left alone", b->cfg->mountpoint);
            b->mounted = false;
        }
        if (b->mounted && b->imp)
            imp_unmount(b->imp);   /* root's mount: we may no longer take it off */
        /* (not ours any more: libfuse keeps its copy of the mount point,
         * which only fuse_session_unmount frees, and that would unmount
         * whatever is there now; tests/lsan.supp) */
        if (b->mounted)
            fuse_session_unmount(b->se);
        fuse_session_destroy(b->se);
    }
    publisher_destroy(b->pub);
    if (b->tree_fd >= 0)
        close(b->tree_fd);
    if (b->mounts_fd >= 0)
        close(b->mounts_fd);
    if (b->parent) {
        json_t *msg = json_pack("{s:s s:i}", "type", "gone", "active", 0);
        if (msg)
            link_send_sync(b->parent, msg, 1.0);
        json_decref(msg);
        link_destroy(b->parent);
    }
    free(b->buf.mem);
    store_close(b->st);
    if (b->sigfd > 0)
        close(b->sigfd);
    /* after the job manager: its executor is the cluster's (leader) */
    cluster_destroy(b->cluster);
    bootstrap_destroy(b->bs);
    json_decref(b->peers);
    json_decref(b->peers_tls);
    if (b->nest_ipcdir[0]) {
        char path[128];
        snprintf(path, sizeof(path), "%s/overlay.ipc", b->nest_ipcdir);
        unlink(path);
        rmdir(b->nest_ipcdir);
    }
    ev_destroy(b->loop);
    rgraph_destroy(b->g);
    graph_destroy(b->graph);
    /* last: what it started for us (ended above) is gone with it */
    exec_set_imp(NULL, 0);
    imp_destroy(b->imp);
}

/* Once started, a daemon's stdio goes to the log file in its state dir. */
static void redirect_stdio(const char *statedir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/fluxfsd.log", statedir);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (null >= 0)
        dup2(null, 0);
    if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
    }
    if (null > 2)
        close(null);
    if (log > 2)
        close(log);
}

static void report_ready(const struct broker_config *cfg, char status)
{
    if (cfg->ready_fd >= 0) {
        if (status == 0)
            redirect_stdio(cfg->statedir);
        (void)!write(cfg->ready_fd, &status, 1);
        close(cfg->ready_fd);
    }
}

int broker_run(const struct broker_config *cfg)
{
    struct broker b = { .cfg = cfg, .sigfd = -1, .pub_fd = -1, .tree_fd = -1,
                        .mounts_fd = -1 };

    if (setup(&b) < 0) {
        report_ready(cfg, 1);
        teardown(&b);
        return 1;
    }
    report_ready(cfg, 0);
    syslog(LOG_INFO, "mounted %s (state %s)", cfg->mountpoint, cfg->statedir);
    if (b.parent && ready_to_tell(&b))
        b.ready_told = tell_parent(&b, "ready") == 0;
    while (!b.drained)
        iterate(&b);
    syslog(LOG_INFO, "stopped: unmounting");
    teardown(&b);
    return 0;
}
