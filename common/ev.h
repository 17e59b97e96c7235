/* ev.h - a small epoll event loop (in the spirit of Redis's ae.c).
 *
 * One loop per broker, run by one thread. File descriptors get a callback
 * when readable/writable; timers are one-shot and identified by a number so
 * a stale timer can be cancelled safely. Not thread-safe: call only from the
 * thread that runs the loop.
 */
#ifndef FLUXFS_EV_H
#define FLUXFS_EV_H

#include <stdint.h>

#define EV_READ  1
#define EV_WRITE 2
#define EV_PRI   4   /* exceptional condition (EPOLLPRI): /proc/self/mountinfo
                        says the mount table changed */

struct ev_loop;

typedef void (*ev_fd_f)(struct ev_loop *loop, int fd, int events, void *arg);
typedef void (*ev_timer_f)(struct ev_loop *loop, uint64_t timer_id, void *arg);

struct ev_loop *ev_create(void);
void ev_destroy(struct ev_loop *loop);   /* closes nothing it did not open */

/* Watch fd for events (EV_READ|EV_WRITE|EV_PRI). One watcher per fd.
 * Returns 0, -EEXIST, or -errno from epoll_ctl. */
int ev_fd_add(struct ev_loop *loop, int fd, int events, ev_fd_f cb, void *arg);
int ev_fd_mod(struct ev_loop *loop, int fd, int events);
/* Stop watching fd (safe to call from inside that fd's callback). */
int ev_fd_del(struct ev_loop *loop, int fd);

/* Call cb once after delay seconds. Returns a timer id > 0, or 0 on ENOMEM. */
uint64_t ev_timer_add(struct ev_loop *loop, double delay, ev_timer_f cb, void *arg);
/* Cancel a pending timer; a no-op if it has already fired. */
void ev_timer_cancel(struct ev_loop *loop, uint64_t timer_id);

/* Wall-clock time (seconds since the Unix epoch) sampled once per iteration. */
double ev_now(struct ev_loop *loop);

/* Wait at most max_wait_ms (-1 = until something happens, 0 = poll) or until
 * the next timer, then dispatch ready fds and due timers.
 * Returns the number of callbacks made, or -errno. */
int ev_run_once(struct ev_loop *loop, int max_wait_ms);

#endif
