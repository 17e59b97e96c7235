/* link.c - the message link between a nested instance and its parent (see link.h).
 *
 * nng runs its own threads; everything here runs on the loop thread except
 * on_pipe(), which only touches the atomics and the wake eventfd.
 *
 * nng 1.5.2 (Debian 12), measured here with small standalone programs:
 * - closing a pipe while a message is in flight on it, either way, can hang
 *   nng's reaper thread for good, and with it nng_close() and every later
 *   REM_POST in the process (2-6% of closes right after a small message
 *   arrived, ~70% with 1 MiB still being written);
 * - a connection that closes before the SP handshake leaves an ipc
 *   listener deaf to every later dialer;
 * - a dialer that pair0 refuses (the old peer not yet reaped) may be left
 *   half open: it believes it is connected, the listener never reads.
 * So link_destroy() closes only a quiet link: it sends "#bye", the peer
 * answers "#bye" after its last message and then sends nothing, and our
 * own last write is out (SENDBUF 0 makes that visible); see quiesce().
 * Nothing here connects to a listener just to probe it. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <nng/nng.h>
#include <nng/protocol/pair0/pair.h>
#include <nng/supplemental/tls/tls.h>

#include "common/base64.h"
#include "common/strbuf.h"
#include "fsd/link.h"

/* A batch grows while the pipe is busy until it reaches this size (small
 * enough that a write is in flight only briefly). */
#define LINK_BATCH_MAX (64u << 10)
/* nng messages (batches) nng may hold for us before the loop reads them;
 * they survive the pipe's death, so a peer's last words are not lost. */
#define LINK_RECVBUF 256
/* Batches read per wake-up, so a flood cannot starve other fds. */
#define LINK_RECV_BURST 64
/* A dialer's retry interval starts here and doubles up to the max. */
#define LINK_REDIAL_MIN_MS 20
#define LINK_REDIAL_MAX_MS 1000

/* How long link_destroy() waits for the peer's "#bye". */
#define LINK_CLOSE_WAIT 0.5

#define IPC_PREFIX "ipc://"
/* Control lines start with '#', which no JSON text does. */
#define LINK_BYE "#bye"
/* A binary frame: "#bin N", the message's JSON line without its "bin",
 * then N raw bytes (link.h). */
#define LINK_BIN "#bin "

/* Messages queued for one connection, coalesced into one nng message. */
struct batch {
    struct batch *next;
    nng_msg *msg;
    uint32_t pipe;              /* the connection they were meant for */
};

struct link {
    struct ev_loop *loop;
    char *url;
    link_msg_f on_msg;
    link_down_f on_down;
    link_up_f on_up;
    void *arg;
    nng_dialer dialer;          /* the one we made, if we dial */
    nng_listener listener;      /* ... or listen */
    nng_tls_config *tls;
    uint64_t seen_fail[6];      /* counters link_failures() reported */

    nng_socket sock;
    int recv_fd;                /* nng's: readable while a message waits */
    int send_fd;                /* nng's: readable while the pipe is idle */
    int wake_fd;                /* eventfd: nng threads wake the loop */
    bool recv_watched, send_watched, wake_watched;

    struct batch *head, *tail;
    size_t queued;              /* bytes in the batches */

    /* Written by nng threads (on_pipe), read anywhere. */
    _Atomic uint32_t pipe;      /* id of the attached pipe, 0 = none */
    atomic_uint downs;          /* disconnects not yet reported */
    atomic_uint ups;            /* connections not yet reported */

    uint32_t bye_pipe;          /* the pipe whose peer said "#bye" */
    int busy;                   /* our callbacks on the stack */
    bool dead;                  /* destroyed: free when busy drops to 0 */
    bool leaked;                /* could not close safely: never free */
};

static int nng_errno(int rv)
{
    if (rv & NNG_ESYSERR)
        return -(rv & ~NNG_ESYSERR);
    switch (rv) {
    case 0:                return 0;
    case NNG_ENOMEM:       return -ENOMEM;
    case NNG_EINVAL:       return -EINVAL;
    case NNG_EADDRINVAL:   return -EINVAL;
    case NNG_EBUSY:        return -EBUSY;
    case NNG_ETIMEDOUT:    return -ETIMEDOUT;
    case NNG_ECONNREFUSED: return -ECONNREFUSED;
    case NNG_EAGAIN:       return -EAGAIN;
    case NNG_ENOTSUP:      return -ENOTSUP;
    case NNG_EADDRINUSE:   return -EADDRINUSE;
    case NNG_ENOENT:       return -ENOENT;
    case NNG_EPERM:        return -EACCES;
    case NNG_EMSGSIZE:     return -EMSGSIZE;
    case NNG_ECLOSED:
    case NNG_ECONNRESET:
    case NNG_ECONNABORTED:
    case NNG_ECONNSHUT:    return -EPIPE;
    default:               return -EIO;
    }
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Milliseconds until deadline, rounded up so a wait does not end early. */
static int ms_left(double deadline)
{
    double ms = (deadline - mono_now()) * 1000;
    return ms <= 0 ? 0 : ms >= INT_MAX - 1 ? INT_MAX : (int)ms + 1;
}

/* ---- teardown ---- */

static void batch_pop(struct link *l)
{
    struct batch *b = l->head;
    if (b->msg) {
        l->queued -= nng_msg_len(b->msg);
        nng_msg_free(b->msg);
    }
    l->head = b->next;
    if (!l->head)
        l->tail = NULL;
    free(b);
}

static void unwatch(struct link *l, int fd, bool *watched)
{
    if (*watched)
        ev_fd_del(l->loop, fd);
    *watched = false;
}

/* Leave one of our callbacks; the last one out frees a destroyed link. */
static void release(struct link *l)
{
    if (--l->busy == 0 && l->dead && !l->leaked)
        free(l);
}

/* ---- sending ---- */

static void on_send_ready(struct ev_loop *loop, int fd, int events, void *arg);

static void watch_send(struct link *l, bool on)
{
    if (on && !l->send_watched) {
        int rc = ev_fd_add(l->loop, l->send_fd, EV_READ, on_send_ready, l);
        if (rc < 0)   /* the next link_send() retries */
            syslog(LOG_ERR, "link %s: cannot watch send fd: %s", l->url, strerror(-rc));
        l->send_watched = rc == 0;
    } else if (!on) {
        unwatch(l, l->send_fd, &l->send_watched);
    }
}

/* send_fd is readable exactly while the pipe is idle (SENDBUF 0). */
static bool pipe_idle(const struct link *l)
{
    struct pollfd pfd = { .fd = l->send_fd, .events = POLLIN };
    return poll(&pfd, 1, 0) > 0;
}

/* Give nng the next batch if its pipe takes it; idle: send_fd was just
 * seen readable. Drops batches meant for a connection that has gone: they
 * must not reach its successor (which could be another process). */
static void flush(struct link *l, bool idle)
{
    uint32_t cur = atomic_load(&l->pipe);
    while (l->head && l->head->pipe != cur)
        batch_pop(l);
    /* A refused nng_sendmsg costs a trip through nng's threads (~50 us),
     * a poll one syscall. After a handoff the pipe is busy until the batch
     * is written (SENDBUF 0), so one batch per call. */
    if (l->head && (idle || pipe_idle(l))) {
        size_t len = nng_msg_len(l->head->msg);
        int rv = nng_sendmsg(l->sock, l->head->msg, NNG_FLAG_NONBLOCK);
        if (rv == 0) {
            l->queued -= len;
            l->head->msg = NULL;
            batch_pop(l);
        } else if (rv != NNG_EAGAIN) {
            syslog(LOG_ERR, "link %s: send failed: %s", l->url, nng_strerror(rv));
            batch_pop(l);
        }
    }
    watch_send(l, l->head != NULL);
}

static void on_send_ready(struct ev_loop *loop, int fd, int events, void *arg)
{
    flush(arg, true);
}

/* Append msg's compact text and '\n' to m; on failure m is unchanged.
 * JSON_COMPACT escapes newlines inside strings, so '\n' ends a message.
 * A string "bin" goes as its raw bytes after the line, in a binary frame:
 * neither escaped nor parsed as JSON (a replica's commits, link.h). */
static int encode(json_t *msg, nng_msg *m)
{
    if (!json_is_object(msg))
        return -EINVAL;
    json_t *bin = json_object_get(msg, "bin"), *head = msg;
    if (json_is_string(bin) && (!(head = json_copy(msg)) || json_object_del(head, "bin") < 0)) {
        json_decref(head);
        return -ENOMEM;
    }
    char *text = json_dumps(head, JSON_COMPACT);
    if (head != msg)
        json_decref(head);
    if (!text)
        return -ENOMEM;
    char frame[32] = "";
    size_t nbin = head != msg ? json_string_length(bin) : 0;
    if (head != msg)
        snprintf(frame, sizeof(frame), LINK_BIN "%zu\n", nbin);
    size_t nf = strlen(frame), n = strlen(text), len = nng_msg_len(m), need = nf + n + 1 + nbin;
    int rc = 0;
    /* nng grows a message to the exact size asked: double it ourselves, or
     * a batch of small messages costs quadratic copying */
    size_t cap = nng_msg_capacity(m);
    /* (the frame's line counted too: a batch stays within what the
     * receiver takes, NNG_OPT_RECVMAXSZ) */
    if (nf + n + nbin > LINK_MSG_MAX)
        rc = -EMSGSIZE;
    else if (cap < len + need && nng_msg_reserve(m, len + need > 2 * cap ? len + need : 2 * cap))
        rc = -ENOMEM;
    else if (nng_msg_append(m, frame, nf) || nng_msg_append(m, text, n)
             || nng_msg_append(m, "\n", 1)
             || (nbin && nng_msg_append(m, json_string_value(bin), nbin))) {
        nng_msg_chop(m, nng_msg_len(m) - len);
        rc = -ENOMEM;
    }
    free(text);
    return rc;
}

static int enqueue(struct link *l, json_t *msg, uint32_t pipe)
{
    struct batch *b = l->tail;
    bool fresh = !b || b->pipe != pipe || nng_msg_len(b->msg) >= LINK_BATCH_MAX;
    if (fresh) {
        if (!(b = calloc(1, sizeof(*b))))
            return -ENOMEM;
        if (nng_msg_alloc(&b->msg, 0) != 0) {
            free(b);
            return -ENOMEM;
        }
        b->pipe = pipe;
    }
    size_t before = nng_msg_len(b->msg);
    int rc = encode(msg, b->msg);
    if (rc < 0) {
        if (fresh) {
            nng_msg_free(b->msg);
            free(b);
        }
        return rc;
    }
    l->queued += nng_msg_len(b->msg) - before;
    if (fresh) {
        if (l->tail)
            l->tail->next = b;
        else
            l->head = b;
        l->tail = b;
    }
    return 0;
}

int link_send(struct link *l, json_t *msg)
{
    uint32_t pipe = atomic_load(&l->pipe);
    if (!json_is_object(msg))
        return -EINVAL;
    if (pipe == 0 || pipe == l->bye_pipe || l->queued >= LINK_QUEUE_MAX)
        return -EAGAIN;
    int rc = enqueue(l, msg, pipe);
    if (rc < 0)
        return rc;
    /* while send_fd is watched the loop flushes when the pipe is idle */
    if (!l->send_watched)
        flush(l, false);
    return 0;
}

/* Give m to nng, waiting until deadline for the pipe to take it.
 * 0: nng owns m; else m is still the caller's. */
static int send_wait(struct link *l, nng_aio *aio, nng_msg *m, double deadline)
{
    nng_aio_set_msg(aio, m);
    nng_aio_set_timeout(aio, ms_left(deadline));
    nng_send_aio(l->sock, aio);
    nng_aio_wait(aio);
    int rv = nng_aio_result(aio);
    if (rv != 0)
        nng_aio_set_msg(aio, NULL);
    return nng_errno(rv);
}

int link_send_sync(struct link *l, json_t *msg, double timeout)
{
    double deadline = mono_now() + (timeout > 0 ? timeout : 0);
    uint32_t pipe = atomic_load(&l->pipe);
    /* after our "#bye" answer the peer may close: nothing may follow it */
    if (pipe != 0 && pipe == l->bye_pipe)
        return -EAGAIN;
    nng_msg *m = NULL;
    nng_aio *aio = NULL;
    struct pollfd pfd = { .fd = l->send_fd, .events = POLLIN };
    int rc = -ENOMEM;
    if (nng_msg_alloc(&m, 0) != 0 || nng_aio_alloc(&aio, NULL, NULL) != 0)
        goto out;
    if ((rc = encode(msg, m)) < 0)
        goto out;
    /* what link_send() queued goes first, in order (stale batches are
     * dropped, as in flush()) */
    while (l->head) {
        struct batch *b = l->head;
        if (b->pipe == atomic_load(&l->pipe)) {
            size_t len = nng_msg_len(b->msg);
            if ((rc = send_wait(l, aio, b->msg, deadline)) < 0)
                goto out;
            l->queued -= len;
            b->msg = NULL;
        }
        batch_pop(l);
    }
    watch_send(l, false);
    if ((rc = send_wait(l, aio, m, deadline)) < 0)
        goto out;
    m = NULL;
    /* send_fd rises again when the pipe has written the message out:
     * only then would closing the socket not lose it */
    do {
        rc = poll(&pfd, 1, ms_left(deadline));
    } while (rc < 0 && errno == EINTR);
    rc = rc > 0 ? 0 : rc == 0 ? -ETIMEDOUT : -errno;
out:
    if (m)
        nng_msg_free(m);
    if (aio)
        nng_aio_free(aio);
    if (l->head)
        watch_send(l, true);
    return rc;
}

/* ---- receiving ---- */

static void deliver_one(struct link *l, const char *text, size_t len, const char *bin,
                        size_t nbin)
{
    json_error_t jerr;
    json_t *o = json_loadb(text, len, 0, &jerr);
    if (!json_is_object(o)) {
        syslog(LOG_WARNING, "link %s: dropping malformed message: %s", l->url,
               o ? "not a JSON object" : jerr.text);
        json_decref(o);
        return;
    }
    /* (a string of any bytes: its readers take json_string_length) */
    if (bin && json_object_set_new(o, "bin", json_stringn_nocheck(bin, nbin)) < 0) {
        syslog(LOG_WARNING, "link %s: dropping a binary message: out of memory", l->url);
        json_decref(o);
        return;
    }
    l->on_msg(l->arg, o);
    json_decref(o);
}

/* Split the next '\n'-terminated line off a batch. */
static bool next_line(const char **p, size_t *left, const char **line, size_t *len)
{
    if (*left == 0)
        return false;
    const char *nl = memchr(*p, '\n', *left);
    *line = *p;
    *len = nl ? (size_t)(nl - *p) : *left;
    *p += *len + (nl != NULL);
    *left -= *len + (nl != NULL);
    return true;
}

/* The next message of a batch: a line, or a binary frame (its JSON line
 * in line, its bytes in bin). false at the end, and at a malformed frame
 * (left > 0 then: the rest of the batch cannot be split). */
static bool next_frame(const char **p, size_t *left, const char **line, size_t *len,
                       const char **bin, size_t *nbin)
{
    *bin = NULL;
    *nbin = 0;
    if (!next_line(p, left, line, len))
        return false;
    size_t k = strlen(LINK_BIN);
    if (*len <= k || memcmp(*line, LINK_BIN, k) != 0)
        return true;
    char num[24], *end;
    if (*len - k >= sizeof(num))
        return false;
    memcpy(num, *line + k, *len - k);
    num[*len - k] = '\0';
    errno = 0;
    unsigned long long n = strtoull(num, &end, 10);
    if (errno || *end || end == num || n > LINK_MSG_MAX || !next_line(p, left, line, len)
        || n > *left)
        return false;
    *bin = *p;
    *nbin = (size_t)n;
    *p += n;
    *left -= n;
    return true;
}

ssize_t link_payload(json_t *msg, const char *b64key, size_t max, struct strbuf *sb)
{
    json_t *bin = json_object_get(msg, "bin"), *t = bin ? bin : json_object_get(msg, b64key);
    size_t len = json_string_length(t);
    if (!json_is_string(t) || len > (bin ? max : BASE64_LEN(max))
        || strbuf_grow(sb, (bin ? len : len / 4 * 3) + 1) < 0)
        return -1;
    ssize_t n = (ssize_t)len;
    if (bin)
        memcpy(sb->buf + sb->len, json_string_value(t), len);
    else if ((n = base64_decode(json_string_value(t), len, sb->buf + sb->len)) < 0)
        return -1;
    sb->len += (size_t)n;
    sb->buf[sb->len] = '\0';
    return n;
}

static bool is_bye(const char *line, size_t len)
{
    return len == strlen(LINK_BYE) && memcmp(line, LINK_BYE, len) == 0;
}

/* The peer on pipe is closing: it has sent its last message and closes
 * once we answer "#bye" and go quiet too. What we queued is dropped. */
static void peer_bye(struct link *l, uint32_t pipe)
{
    l->bye_pipe = pipe;
    while (l->head)
        batch_pop(l);
    struct batch *b = calloc(1, sizeof(*b));
    if (!b || nng_msg_alloc(&b->msg, 0) != 0 ||
        nng_msg_append(b->msg, LINK_BYE "\n", strlen(LINK_BYE) + 1) != 0) {
        /* the peer closes when its wait runs out instead */
        if (b && b->msg)
            nng_msg_free(b->msg);
        free(b);
        return;
    }
    b->pipe = pipe;
    l->head = l->tail = b;
    l->queued = nng_msg_len(b->msg);
    flush(l, false);
}

/* A disconnect not reported yet is, before anything the connection that
 * replaced it delivers: the peer's first words there (a hello) must not be
 * undone by the end of the one before. */
static void report_down(struct link *l)
{
    if (atomic_exchange(&l->downs, 0) > 0 && !l->dead && l->on_down)
        l->on_down(l->arg);
}

/* Read up to max batches and pass on their messages; stops if destroyed. */
static void drain(struct link *l, int max)
{
    for (int i = 0; i < max && !l->dead; i++) {
        nng_msg *m;
        if (nng_recvmsg(l->sock, &m, NNG_FLAG_NONBLOCK) != 0)
            break;
        uint32_t from = (uint32_t)nng_pipe_id(nng_msg_get_pipe(m));
        if (from == atomic_load(&l->pipe) && atomic_load(&l->downs) > 0) {
            report_down(l);
            if (l->dead) {
                nng_msg_free(m);
                break;
            }
        }
        const char *p = nng_msg_body(m), *line, *bin;
        size_t left = nng_msg_len(m), len, nbin;
        while (!l->dead && next_frame(&p, &left, &line, &len, &bin, &nbin)) {
            if (!bin && is_bye(line, len))
                peer_bye(l, (uint32_t)nng_pipe_id(nng_msg_get_pipe(m)));
            else
                deliver_one(l, line, len, bin, nbin);
        }
        if (left > 0 && !l->dead)
            syslog(LOG_WARNING, "link %s: dropping the rest of a batch: a malformed binary "
                   "frame", l->url);
        nng_msg_free(m);
    }
}

static void on_recv_ready(struct ev_loop *loop, int fd, int events, void *arg)
{
    struct link *l = arg;
    l->busy++;
    drain(l, LINK_RECV_BURST);
    release(l);
}

/* ---- connection state ---- */

/* nng thread: record the change and wake the loop (calling into the socket
 * from here would deadlock nng). */
static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    struct link *l = arg;
    uint32_t id = (uint32_t)nng_pipe_id(p);
    if (ev == NNG_PIPE_EV_ADD_POST) {
        /* nng 1.5 ends the old pipe before adding a new one; should that
         * ever change, the replacement still counts as a disconnect */
        if (atomic_exchange(&l->pipe, id) != 0)
            atomic_fetch_add(&l->downs, 1);
        atomic_fetch_add(&l->ups, 1);
    } else {
        /* only our peer's pipe counts: a second dialer that pair0 refuses
         * gets ADD_PRE and REM_POST, no ADD_POST */
        if (!atomic_compare_exchange_strong(&l->pipe, &id, 0))
            return;
        atomic_fetch_add(&l->downs, 1);
    }
    eventfd_write(l->wake_fd, 1);
}

static void on_wake(struct ev_loop *loop, int fd, int events, void *arg)
{
    struct link *l = arg;
    eventfd_t n;
    eventfd_read(fd, &n);
    l->busy++;
    if (atomic_load(&l->downs) > 0) {
        /* what the old connection delivered comes before its end (and what
         * a new one delivered after it: drain reports it in between) */
        drain(l, INT_MAX);
        report_down(l);
    }
    if (atomic_exchange(&l->ups, 0) > 0 && !l->dead && link_connected(l) && l->on_up)
        l->on_up(l->arg);
    /* drops batches meant for a connection that has gone */
    if (!l->dead)
        flush(l, false);
    release(l);
}

bool link_connected(const struct link *l)
{
    return atomic_load(&l->pipe) != 0;
}

bool link_drop_peer(struct link *l)
{
    uint32_t id = atomic_load(&l->pipe);
    if (!id)
        return true;
    /* only a quiet pipe (see the top): nothing queued, our last write out */
    if (l->head || !pipe_idle(l))
        return false;
    nng_pipe p = NNG_PIPE_INITIALIZER;
    p.id = id;
    nng_pipe_close(p);
    return true;
}

/* ---- closing ---- */

static bool has_bye(nng_msg *m)
{
    const char *p = nng_msg_body(m), *line, *bin;
    size_t left = nng_msg_len(m), len, nbin;
    while (next_frame(&p, &left, &line, &len, &bin, &nbin))
        if (!bin && is_bye(line, len))
            return true;
    return false;
}

/* Make the link quiet before nng_close (see the top). true: nothing is in
 * flight either way; false: the peer did not answer and our last write is
 * still stuck. Blocks up to LINK_CLOSE_WAIT while a peer is attached. */
static bool quiesce(struct link *l)
{
    double deadline = mono_now() + LINK_CLOSE_WAIT;
    uint32_t id = atomic_load(&l->pipe);
    if (id == 0)
        return true;
    /* a peer that said "#bye" sends nothing more, and ends its wait when
     * our close reaches it */
    bool silent = id == l->bye_pipe;
    if (!silent) {
        nng_msg *m = NULL;
        nng_aio *aio = NULL;
        if (nng_msg_alloc(&m, 0) == 0 && nng_aio_alloc(&aio, NULL, NULL) == 0 &&
            nng_msg_append(m, LINK_BYE "\n", strlen(LINK_BYE) + 1) == 0 &&
            send_wait(l, aio, m, deadline) == 0)
            m = NULL;
        if (m)
            nng_msg_free(m);
        if (aio)
            nng_aio_free(aio);
    }
    /* what arrives meanwhile is read (so the peer's writes finish) and
     * dropped: nobody listens any more */
    struct pollfd pfd[2] = { { .fd = l->wake_fd, .events = POLLIN },
                             { .fd = l->recv_fd, .events = POLLIN } };
    while (!silent && atomic_load(&l->pipe) == id && ms_left(deadline) > 0) {
        if (poll(pfd, 2, ms_left(deadline)) < 0 && errno != EINTR)
            break;
        nng_msg *m;
        while (nng_recvmsg(l->sock, &m, NNG_FLAG_NONBLOCK) == 0) {
            silent = silent || has_bye(m);
            nng_msg_free(m);
        }
        eventfd_t n;
        eventfd_read(l->wake_fd, &n);
    }
    /* the peer answered (or is hung and sends nothing): close once our
     * last write is out, or the pipe is gone */
    pfd[1].fd = l->send_fd;
    while (atomic_load(&l->pipe) == id) {
        if (pipe_idle(l))
            return true;
        if (ms_left(deadline) == 0 || (poll(pfd, 2, ms_left(deadline)) < 0 && errno != EINTR))
            return false;
        eventfd_t n;
        eventfd_read(l->wake_fd, &n);
    }
    return true;
}

/* What nng_close() leaves: ours to free, unless a callback of ours is
 * still on the stack (release() frees it then). */
static void link_free(struct link *l)
{
    if (l->tls)
        nng_tls_config_free(l->tls);
    if (l->wake_fd >= 0)
        close(l->wake_fd);
    free(l->url);
    if (!l->busy)
        free(l);
}

static void *closer(void *arg)
{
    struct link *l = arg;
    nng_close(l->sock);
    link_free(l);
    return NULL;
}

/* Close l's socket and free it on a detached thread. The loop no longer
 * watches l; a callback of l's still on the stack (busy) makes it leak the
 * struct instead (release() must not free what the thread uses). */
static bool close_in_thread(struct link *l)
{
    pthread_t t;
    pthread_attr_t attr;
    if (l->busy)
        l->leaked = true;
    if (pthread_attr_init(&attr) != 0)
        return false;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    bool ok = pthread_create(&t, &attr, closer, l) == 0;
    pthread_attr_destroy(&attr);
    if (!ok)
        l->leaked = false;
    return ok;
}

void link_destroy(struct link *l)
{
    if (!l || l->dead)
        return;
    l->dead = true;
    unwatch(l, l->recv_fd, &l->recv_watched);
    unwatch(l, l->send_fd, &l->send_watched);
    unwatch(l, l->wake_fd, &l->wake_watched);
    while (l->head)
        batch_pop(l);
    if (nng_socket_id(l->sock) > 0) {
        if (!quiesce(l)) {
            /* closing now could hang this process's nng for good; the
             * socket goes when the process does */
            syslog(LOG_WARNING, "link %s: peer does not drain, leaving the socket open",
                   l->url);
            l->leaked = true;
            return;
        }
        /* over tcp and TLS the close can hang even on a quiet link (seen
         * with nng 1.5.2 and a peer whose loop was not running): a thread
         * of its own does it, so the loop never waits on it */
        if (strncmp(l->url, IPC_PREFIX, strlen(IPC_PREFIX)) && close_in_thread(l))
            return;
        /* nng_close returns after the last pipe callback, so the eventfd
         * and the atomics on_pipe() uses are ours again; it closes nng's
         * fds and a listener's socket file */
        nng_close(l->sock);
    }
    link_free(l);
}

/* ---- setup ---- */

static const char *ipc_path(const char *url, struct errmsg *err)
{
    if (!url || strncmp(url, IPC_PREFIX, strlen(IPC_PREFIX)) != 0) {
        errmsg_set(err, -EINVAL, "link url '%s' is not ipc://", url ? url : "(null)");
        return NULL;
    }
    const char *path = url + strlen(IPC_PREFIX);
    if (!*path || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        errmsg_set(err, -ENAMETOOLONG, "socket path '%s' is empty or too long", path);
        return NULL;
    }
    return path;
}

static struct link *link_create(struct ev_loop *loop, const char *url, link_msg_f on_msg,
                                link_down_f on_down, void *arg, struct errmsg *err)
{
    struct link *l = calloc(1, sizeof(*l));
    if (!l || !(l->url = strdup(url))) {
        errmsg_set(err, -ENOMEM, "out of memory");
        free(l);
        return NULL;
    }
    l->loop = loop;
    l->on_msg = on_msg;
    l->on_down = on_down;
    l->arg = arg;
    l->recv_fd = l->send_fd = -1;
    l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wake_fd < 0) {
        errmsg_set(err, -errno, "eventfd: %s", strerror(errno));
        goto error;
    }
    int rv = nng_pair0_open(&l->sock);
    /* SENDBUF 0: nng takes a message only when the pipe is idle, so
     * nothing sits in a queue that nng_close would drop; we batch instead */
    if (rv == 0)
        rv = nng_socket_set_int(l->sock, NNG_OPT_SENDBUF, 0);
    if (rv == 0)
        rv = nng_socket_set_int(l->sock, NNG_OPT_RECVBUF, LINK_RECVBUF);
    if (rv == 0)
        rv = nng_socket_set_size(l->sock, NNG_OPT_RECVMAXSZ, LINK_BATCH_MAX + LINK_MSG_MAX + 1);
    if (rv == 0)
        rv = nng_pipe_notify(l->sock, NNG_PIPE_EV_ADD_POST, on_pipe, l);
    if (rv == 0)
        rv = nng_pipe_notify(l->sock, NNG_PIPE_EV_REM_POST, on_pipe, l);
    if (rv == 0)
        rv = nng_socket_get_int(l->sock, NNG_OPT_RECVFD, &l->recv_fd);
    if (rv == 0)
        rv = nng_socket_get_int(l->sock, NNG_OPT_SENDFD, &l->send_fd);
    if (rv != 0) {
        errmsg_set(err, nng_errno(rv), "nng socket: %s", nng_strerror(rv));
        goto error;
    }
    int rc = ev_fd_add(loop, l->wake_fd, EV_READ, on_wake, l);
    l->wake_watched = rc == 0;
    if (rc == 0)
        rc = ev_fd_add(loop, l->recv_fd, EV_READ, on_recv_ready, l);
    l->recv_watched = rc == 0;
    if (rc < 0) {
        errmsg_set(err, rc, "cannot watch link fds: %s", strerror(-rc));
        goto error;
    }
    return l;
error:
    link_destroy(l);
    return NULL;
}

/* A socket file at path is left by a listener that is gone (the directory
 * is the caller's, so a live one would be the caller's bug). Not probed by
 * connecting: a connect that closes before nng's handshake leaves an
 * nng 1.5.2 listener deaf to every later dialer. */
static int remove_stale(const char *path, struct errmsg *err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : errmsg_set(err, -errno, "cannot stat '%s': %s", path,
                                                strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return errmsg_set(err, -EEXIST, "'%s' exists and is not a socket", path);
    if (unlink(path) < 0 && errno != ENOENT)
        return errmsg_set(err, -errno, "cannot remove stale '%s': %s", path, strerror(errno));
    return 0;
}

struct link *link_listen_mode(struct ev_loop *loop, const char *url, mode_t mode,
                              link_msg_f on_msg, link_down_f on_down, void *arg,
                              struct errmsg *err)
{
    const char *path = ipc_path(url, err);
    if (!path || remove_stale(path, err) < 0)
        return NULL;
    struct link *l = link_create(loop, url, on_msg, on_down, arg, err);
    if (!l)
        return NULL;
    nng_listener lst;
    int rv = nng_listener_create(&lst, l->sock, url);
    if (rv == 0) {
        rv = nng_listener_set_int(lst, NNG_OPT_IPC_PERMISSIONS, (int)(mode & 07777));
        /* not every platform can set it; the directory still guards */
        if (rv == NNG_ENOTSUP)
            rv = 0;
    }
    if (rv == 0)
        rv = nng_listener_start(lst, 0);
    if (rv != 0) {
        errmsg_set(err, nng_errno(rv), "cannot listen on '%s': %s", url, nng_strerror(rv));
        goto error;
    }
    return l;
error:
    link_destroy(l);
    return NULL;
}

struct link *link_listen(struct ev_loop *loop, const char *url, link_msg_f on_msg,
                         link_down_f on_down, void *arg, struct errmsg *err)
{
    return link_listen_mode(loop, url, 0600, on_msg, on_down, arg, err);
}

static struct link *net_link(struct ev_loop *loop, const char *url, const struct link_tls *tls,
                             bool listen, link_msg_f on_msg, link_down_f on_down, void *arg,
                             struct errmsg *err);

struct link *link_dial(struct ev_loop *loop, const char *url, link_msg_f on_msg,
                       link_down_f on_down, void *arg, struct errmsg *err)
{
    if (!ipc_path(url, err))
        return NULL;
    return net_link(loop, url, NULL, false, on_msg, on_down, arg, err);
}

/* ---- tcp and TLS (the overlay between brokers) ---- */

char *link_read_pem(const char *path, struct errmsg *err)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    size_t len = 0;
    if (!f) {
        errmsg_set(err, -errno, "%s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(65536);
    if (buf)
        len = fread(buf, 1, 65535, f);
    fclose(f);
    if (!buf || len == 0 || len == 65535) {
        errmsg_set(err, -EINVAL, "%s: empty, too large or unreadable", path);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

static int make_tls(struct link *l, bool server, const struct link_tls *tls, struct errmsg *err)
{
    char *cert = NULL, *key = NULL;
    int rv = nng_tls_config_alloc(&l->tls, server ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT);
    if (rv != 0)
        return errmsg_set(err, nng_errno(rv), "tls: %s", nng_strerror(rv));
    if (!tls || !tls->ca || !tls->cert || !tls->key)
        return errmsg_set(err, -EINVAL, "tls+tcp:// needs a CA, a certificate and a key");
    rv = tls->ca_pem ? nng_tls_config_ca_chain(l->tls, tls->ca_pem, NULL)
                     : nng_tls_config_ca_file(l->tls, tls->ca);
    if (rv != 0)
        return errmsg_set(err, nng_errno(rv), "tls ca %s: %s", tls->ca, nng_strerror(rv));
    if (tls->cert_pem && tls->key_pem) {
        cert = strdup(tls->cert_pem);
        key = strdup(tls->key_pem);
        if (!cert || !key) {
            free(cert);
            free(key);
            return errmsg_set(err, -ENOMEM, "out of memory");
        }
    } else if (!(cert = link_read_pem(tls->cert, err)) || !(key = link_read_pem(tls->key, err))) {
        free(cert);
        return -EINVAL;
    }
    rv = nng_tls_config_own_cert(l->tls, cert, key, NULL);
    explicit_bzero(key, strlen(key));
    free(cert);
    free(key);
    if (rv != 0)
        return errmsg_set(err, nng_errno(rv), "tls cert %s / key %s: %s", tls->cert, tls->key,
                          nng_strerror(rv));
    if ((rv = nng_tls_config_auth_mode(l->tls, NNG_TLS_AUTH_MODE_REQUIRED)) != 0
        || (!server && (rv = nng_tls_config_server_name(l->tls, "fluxfs")) != 0))
        return errmsg_set(err, nng_errno(rv), "tls: %s", nng_strerror(rv));
    return 0;
}

static bool is_tls(const char *url)
{
    return !strncmp(url, "tls+tcp://", 10);
}

/* tls+tcp:// needs our credentials on the listener or dialer made. */
static int attach_tls(struct link *l, const char *url, const struct link_tls *tls,
                      struct errmsg *err)
{
    if (!is_tls(url))
        return 0;
    bool server = nng_listener_id(l->listener) > 0;
    int rv = make_tls(l, server, tls, err);
    if (rv < 0)
        return rv;
    rv = server ? nng_listener_set_ptr(l->listener, NNG_OPT_TLS_CONFIG, l->tls)
                : nng_dialer_set_ptr(l->dialer, NNG_OPT_TLS_CONFIG, l->tls);
    return rv ? errmsg_set(err, nng_errno(rv), "tls: %s", nng_strerror(rv)) : 0;
}

/* Make l's listener or dialer at url (with our TLS for tls+tcp://) and
 * start it; a dialer keeps redialling in the background. 0 or -errno. */
static int open_endpoint(struct link *l, const char *url, const struct link_tls *tls,
                         bool listen, struct errmsg *err)
{
    const char *what = listen ? "listen on" : "dial";
    int rv = listen ? nng_listener_create(&l->listener, l->sock, url)
                    : nng_dialer_create(&l->dialer, l->sock, url);
    if (rv == 0 && !listen)
        rv = nng_dialer_set_ms(l->dialer, NNG_OPT_RECONNMINT, LINK_REDIAL_MIN_MS);
    if (rv == 0 && !listen)
        rv = nng_dialer_set_ms(l->dialer, NNG_OPT_RECONNMAXT, LINK_REDIAL_MAX_MS);
    if (rv != 0)
        return errmsg_set(err, nng_errno(rv), "cannot %s '%s': %s", what, url, nng_strerror(rv));
    int rc = attach_tls(l, url, tls, err);
    if (rc < 0)
        return rc;
    /* NONBLOCK: a peer that is not listening yet is retried, not an error */
    rv = listen ? nng_listener_start(l->listener, 0)
                : nng_dialer_start(l->dialer, NNG_FLAG_NONBLOCK);
    if (rv != 0)
        return errmsg_set(err, nng_errno(rv), "cannot %s '%s': %s", what, url, nng_strerror(rv));
    return 0;
}

static struct link *net_link(struct ev_loop *loop, const char *url, const struct link_tls *tls,
                             bool listen, link_msg_f on_msg, link_down_f on_down, void *arg,
                             struct errmsg *err)
{
    struct link *l = link_create(loop, url, on_msg, on_down, arg, err);
    if (l && open_endpoint(l, url, tls, listen, err) < 0) {
        link_destroy(l);
        l = NULL;
    }
    return l;
}

struct link *link_listen_url(struct ev_loop *loop, const char *url, const struct link_tls *tls,
                             link_msg_f on_msg, link_down_f on_down, void *arg,
                             struct errmsg *err)
{
    if (!strncmp(url, IPC_PREFIX, strlen(IPC_PREFIX)))
        return link_listen(loop, url, on_msg, on_down, arg, err);
    return net_link(loop, url, tls, true, on_msg, on_down, arg, err);
}

struct link *link_dial_url(struct ev_loop *loop, const char *url, const struct link_tls *tls,
                           link_msg_f on_msg, link_down_f on_down, void *arg,
                           struct errmsg *err)
{
    if (!strncmp(url, IPC_PREFIX, strlen(IPC_PREFIX)))
        return link_dial(loop, url, on_msg, on_down, arg, err);
    return net_link(loop, url, tls, false, on_msg, on_down, arg, err);
}

int link_bound_port(const struct link *l)
{
    int port = 0;
    if (nng_listener_id(l->listener) <= 0)
        return -EINVAL;
    int rv = nng_listener_get_int(l->listener, NNG_OPT_TCP_BOUND_PORT, &port);
    return rv ? nng_errno(rv) : port;
}

void link_set_on_up(struct link *l, link_up_f on_up)
{
    l->on_up = on_up;
}

int link_failures(struct link *l, char *buf, size_t size)
{
    static const char *names[] = {"auth", "protocol", "reject", "refused", "timedout",
                                  "other"};
    static const char *why[] = {
        "refused by TLS (certificate not signed by this instance's CA?)",
        "refused: not the same protocol",
        "refused by the peer",
        "connection refused (is the peer up?)",
        "timed out",
        "failed (network or TLS error)",
    };
    nng_stat *all = NULL, *mine = NULL;
    int total = 0;
    size_t off = 0;
    buf[0] = '\0';
    if (nng_stats_get(&all) != 0)
        return 0;
    if (nng_dialer_id(l->dialer) > 0)
        mine = nng_stat_find_dialer(all, l->dialer);
    else if (nng_listener_id(l->listener) > 0)
        mine = nng_stat_find_listener(all, l->listener);
    for (int i = 0; mine && i < 6; i++) {
        nng_stat *st = nng_stat_find(mine, names[i]);
        uint64_t v = st ? nng_stat_value(st) : 0;
        if (v > l->seen_fail[i]) {
            int n = snprintf(buf + off, size - off, "%s%llu %s", off ? "; " : "",
                             (unsigned long long)(v - l->seen_fail[i]), why[i]);
            if (n > 0 && (size_t)n < size - off)
                off += (size_t)n;
            total += (int)(v - l->seen_fail[i]);
            l->seen_fail[i] = v;
        }
    }
    nng_stats_free(all);
    return total;
}
