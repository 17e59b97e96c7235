/* link.h - the message link between a nested instance and its parent broker.
 *
 * One peer each side (nng pair0 over ipc://), JSON messages, driven by the
 * broker's event loop: callbacks run on the loop thread, never in nng threads.
 * The parent listens, the child dials. This is where fsd/ meets nng: callers
 * see JSON and the loop, never nng.h.
 *
 * Delivery: messages arrive in order, once, while the link stays up. Nothing
 * is carried across a disconnect: link_send() refuses while the peer is away,
 * and messages still queued when the peer goes are dropped. Anything that
 * must survive a broker restart goes through the store, not the link.
 *
 * Wire format (both ends are this module): an nng message body holds one or
 * more lines, each a compact JSON object or a control line starting with
 * '#'. Queued messages are coalesced into one nng message while the pipe is
 * busy, so a burst costs one transport round per batch, not per message.
 * A message with a string member "bin" goes as a binary frame: the line
 * "#bin N", its JSON without "bin", then the N bytes of "bin" as they are;
 * the receiver's object has them back as "bin" (json_stringn_nocheck: any
 * bytes, NULs too; read them with json_string_length). Bulk data (a
 * replica's commits) so costs a copy, not base64 and a JSON parse of it.
 *
 * Closing: link_destroy() says "#bye", the peer answers "#bye" after its
 * last message and sees on_down; only then is the socket closed. nng 1.5.2
 * can hang a process's nng for good when a pipe closes with a message in
 * flight (see link.c), so this wait is not optional.
 *
 * Access control: the listener's socket file is created with mode 0600
 * (link_listen_mode() takes another mode). A child that runs as another user
 * needs the file chown'ed to it (or a group mode) and search permission on
 * the directory. Create the socket in a directory only the parent can write,
 * ideally 0700 until the chown: nng applies the mode just after bind().
 *
 * Single-threaded: call everything from the loop thread.
 */
#ifndef FLUXFS_LINK_H
#define FLUXFS_LINK_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>

#include "common/errmsg.h"
#include "common/ev.h"

/* Largest message link_send() accepts (its compact JSON text, with the
 * bytes of its "bin" and the "#bin N" line before them). */
#define LINK_MSG_MAX   (8u << 20)
/* Bytes queued for a busy peer before link_send() says -EAGAIN. */
#define LINK_QUEUE_MAX (32u << 20)

struct link;

/* A message from the peer: a JSON object, borrowed for the call (incref to
 * keep it). May call link_send() or link_destroy() on this link. */
typedef void (*link_msg_f)(void *arg, json_t *msg);
/* The peer went away (destroyed its link, exited or crashed). Called after
 * every message its connection delivered. A dialer keeps redialling and a
 * listener keeps listening: link_connected() turns true again when a peer
 * (re)connects. Not called by link_destroy(). May destroy the link. */
typedef void (*link_down_f)(void *arg);

/* Parent: listen at url ("ipc:///path/link.ipc"), socket file mode 0600.
 * A socket file already at the path is taken to be stale and removed (the
 * directory is the caller's; it is not probed, as a probe's connect-and-
 * close deafens a live nng 1.5.2 listener); any other file fails with
 * "exists". Returns NULL with err filled on failure. on_down may be NULL. */
struct link *link_listen(struct ev_loop *loop, const char *url, link_msg_f on_msg,
                         link_down_f on_down, void *arg, struct errmsg *err);
struct link *link_listen_mode(struct ev_loop *loop, const char *url, mode_t mode,
                              link_msg_f on_msg, link_down_f on_down, void *arg,
                              struct errmsg *err);

/* Child: dial url. nng retries in the background (20 ms, backing off to 1 s)
 * until the parent listens, and redials after a disconnect. */
struct link *link_dial(struct ev_loop *loop, const char *url, link_msg_f on_msg,
                       link_down_f on_down, void *arg, struct errmsg *err);

/* Transport security for tls+tcp:// links: PEM files. Both ends present a
 * certificate and require the peer's to be signed by ca (mutual TLS); the
 * certificates are named "fluxfs" (`fluxfs keygen`). */
struct link_tls {
    const char *ca;
    const char *cert;
    const char *key;
    /* their contents, read once while the broker could (before it dropped
     * root, fsd/privsep.h): used instead of the files when set */
    const char *ca_pem, *cert_pem, *key_pem;
};

/* A PEM file's contents (at most 64 KiB), malloc'd; NULL with err. */
char *link_read_pem(const char *path, struct errmsg *err);

/* Listen or dial at any url: ipc:// (as link_listen/link_dial), tcp://, or
 * tls+tcp:// (tls required). The overlay's links between brokers. */
struct link *link_listen_url(struct ev_loop *loop, const char *url, const struct link_tls *tls,
                             link_msg_f on_msg, link_down_f on_down, void *arg,
                             struct errmsg *err);
struct link *link_dial_url(struct ev_loop *loop, const char *url, const struct link_tls *tls,
                           link_msg_f on_msg, link_down_f on_down, void *arg,
                           struct errmsg *err);

/* The port a tcp:// or tls+tcp:// listener is bound to (its url may say
 * port 0: any free one), or -errno (-EINVAL: not a tcp listener). */
int link_bound_port(const struct link *l);

/* A peer attached (called on the loop, after on_down for the one before).
 * NULL: none. */
typedef void (*link_up_f)(void *arg);
void link_set_on_up(struct link *l, link_up_f on_up);

/* Why connections failed since the last call, from the transport's
 * counters: e.g. "2 refused by TLS (certificate not signed by this
 * instance's CA?)". 0 and buf "" when nothing failed; else the number of
 * failures. Cheap enough for once a second, not for every message. */
int link_failures(struct link *l, char *buf, size_t size);

struct strbuf;
/* A message's bulk bytes, appended to sb (NUL after them): its "bin" (a
 * binary frame), else b64key's base64 (from a broker before binary
 * frames), at most max bytes. Their length, or -1: missing, over max, not
 * base64, out of memory (sb then as it was). */
ssize_t link_payload(json_t *msg, const char *b64key, size_t max, struct strbuf *sb);

/* Queue msg (a JSON object, borrowed: serialized before return). Never blocks
 * the loop. Returns 0; -EAGAIN if the peer is not connected, is closing, or
 * LINK_QUEUE_MAX bytes are already waiting; -EINVAL if msg is not an object;
 * -EMSGSIZE if it serializes to more than LINK_MSG_MAX; -ENOMEM. */
int link_send(struct link *l, json_t *msg);

/* Send msg after everything queued and wait up to timeout seconds until the
 * transport has written it to the socket (so link_destroy() right after
 * cannot lose it), waiting for a connection if there is none yet. Blocks the
 * loop thread: for a child's last words at shutdown. Returns 0; -ETIMEDOUT
 * if it was not seen written in time (it may still be in flight, or unsent
 * if what was queued before it did not go out; that stays queued); -EAGAIN
 * if the peer is closing; -EINVAL, -EMSGSIZE, -ENOMEM as link_send(); -EPIPE
 * if the socket failed. */
int link_send_sync(struct link *l, json_t *msg, double timeout);

/* A peer is attached now (may change at any moment: nng threads set it). */
bool link_connected(const struct link *l);
/* Close the connection to the current peer (a listener's: the slot is then
 * free for the next dialer; a dialer's: it dials again); on_down follows.
 * Only while nothing of ours is in flight (nng 1.5.2 can hang closing a
 * busy pipe, see link.c): false when it was not quiet; try again later. */
bool link_drop_peer(struct link *l);

/* Drop queued messages, close quietly (see Closing above) and free. Blocks
 * while a peer is attached: one round trip with its loop (~0.3 ms here), at
 * most 0.5 s if it does not answer. If even then our last write is stuck
 * (peer alive but not reading), the socket is left open rather than risk
 * the hang (logged; it goes with the process). A listener removes its
 * socket file.
 * NULL-safe. Safe inside this link's own callbacks. */
void link_destroy(struct link *l);

#endif
