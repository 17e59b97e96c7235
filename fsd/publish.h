/* publish.h - make inotify watchers see what the broker changes.
 *
 * FUSE raises no inotify event for changes a daemon makes on its own (see
 * ../shared/FACTS.md). Real syscalls on the mount do, when a thread other
 * than the request loop makes them. The publisher is that thread: the broker
 * queues "this path changed" and the thread performs a harmless syscall on
 * it (mkdir of a new job directory, a 1-byte write "poke" on a file), which
 * the vfs recognises by the calling thread id and answers without effect.
 *
 * Pokes on the same path coalesce while queued, so a busy job costs one
 * event per burst, not one per change; after each batch the thread pauses
 * 5 ms, so that under load a burst is everything in that time.
 *
 * They are made through a clone of the mount where one can be made
 * (mntclone.h: the same file system, another mount, attached nowhere), not
 * through the mount point: a process inside a syscall on the mount point
 * makes its unmount fail with EBUSY, and with jobs running the publisher
 * is inside one much of the time (a `fusermount3 -u` failed up to 40 times
 * in a row). The clone does not pin the mount point, but it keeps the file
 * system alive: the broker watches the mount table to learn of the unmount
 * (broker.c), and only the publisher process holds the clone, so that its
 * exit ends the file system.
 *
 * The syscalls are made by a separate *process*, fed through a pipe by a
 * thread of the broker. A thread of the broker itself must never wait on the
 * mount: if the broker is killed while such a request is being answered, the
 * kernel waits for that answer uninterruptibly, the dying broker cannot
 * release /dev/fuse, and the mount hangs forever. The publisher process holds
 * no descriptor of the FUSE device, so the broker's death always aborts the
 * connection and frees it too.
 */
#ifndef FLUXFS_PUBLISH_H
#define FLUXFS_PUBLISH_H

#include <sys/types.h>

struct publisher;

/* Start the publisher process and its feeding thread; call before any other
 * thread exists (it forks). Paths given later are relative to mountpoint,
 * and made through tree (a clone of the mount, see above) unless it is -1;
 * tree is the publisher's from now on, closed here even on failure. */
struct publisher *publisher_create(const char *mountpoint, int tree);

/* Stopping never blocks the loop. publisher_stop() asks the thread and the
 * process to finish what is queued and exit; they may be inside a syscall on
 * the mount, so the broker keeps serving requests until publisher_stopped()
 * (a non-blocking check that reaps the process) is true; publisher_exit_fd()
 * turns readable when the process has exited (-1 if it cannot be watched:
 * poll publisher_stopped() then). publisher_destroy() kills what is left and
 * joins the thread: call it once stopped, or after the FUSE connection is
 * closed (a killed process blocked on the mount dies only then). It does
 * not wait for the process: if it has not exited yet, init reaps it once we
 * have. All NULL-safe. */
void publisher_stop(struct publisher *p);
int publisher_stopped(struct publisher *p);
int publisher_exit_fd(const struct publisher *p);
void publisher_destroy(struct publisher *p);

/* Process id of the publisher (compare with fuse_req_ctx()->pid). */
pid_t publisher_tid(const struct publisher *p);

/* Queued changes wait for publisher_flush(), which the loop calls once
 * per iteration: one wakeup of the feeding thread for all of them (a
 * wakeup per change was 3% of the broker's time at 1,000 jobs/s), and
 * pokes of one path in the same iteration are one event. */
void publisher_flush(struct publisher *p);
/* Queue a mkdir of relpath (a new directory to announce). */
void publisher_mkdir(struct publisher *p, const char *relpath);
/* Queue a poke (open O_WRONLY, pwrite 1 byte, close) of relpath. The
 * vfs answers its open with FOPEN_NOFLUSH: no FLUSH request at close. */
void publisher_poke(struct publisher *p, const char *relpath);

#endif
