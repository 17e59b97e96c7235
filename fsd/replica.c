/* replica.c - the leader's store, copied to every broker (replica.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fsd/link.h"
#include "common/strbuf.h"
#include "fsd/journal.h"
#include "fsd/replica.h"

/* What a parent is doing for one child. */
enum kid_state {
    KID_NONE = 0,   /* has not asked (or its link is down): sends nothing */
    KID_WAIT,       /* asked while we were not synced: served once we are */
    KID_COPY,       /* being sent a copy of our replica, and our commits */
    KID_LIVE,       /* gets everything our parent sends (or, leader, our commits) */
    KID_STALE,      /* a send to it failed: it gets a new copy */
};

struct kid {
    int rank;
    enum kid_state st;
    uint64_t gen, seq;      /* where it said its replica is */
    struct store_dump pos;
    int inflight;   /* copy steps not acknowledged */
    double last_ack;        /* when it last acknowledged one (or was sent the first) */
};

struct barrier {
    uint64_t token;
    uint64_t seq;           /* the leader's answer; 0 = none yet */
    bool answered;
    double t;
    replica_done_f done;
    void *arg;
    struct barrier *next;
};

/* Recent commits, so that a child that was away briefly (a restart, a
 * link that dropped, a leader restart) gets what it missed, not a copy. */
#define RING_MAX 4096
#define RING_BYTES (32u << 20)

struct ring_entry {
    uint64_t first, seq;    /* the commits first..seq */
    char *data;
    size_t len;
};

struct replica {
    struct ev_loop *loop;
    struct replica_config cfg;
    struct kid *kids;       /* the bootstrap's children, then adopted ones */
    int nkids;
    int parent;             /* follower: the rank our parent link is to now */
    struct jobmgr *m;

    uint64_t gen, seq;      /* our position */
    uint64_t next_seq;      /* leader: the number of the commit being made */
    bool synced;            /* follower: a consistent copy at (gen, seq) */
    bool parent_up;         /* follower: our parent has said hello */
    double sync_sent;       /* follower: when we last said where we are */
    bool copying;           /* follower: reset, a copy is arriving */
    struct strbuf part;     /* follower: a repl.data in several messages */
    bool skip;              /* follower: dropping the rest of this repl.data */
    struct strbuf out;      /* scratch: journal taken, a copy step */
    struct strbuf batch;    /* leader: commits batch_first..seq, not sent yet */
    uint64_t batch_first;
    double batch_t;         /* wall clock at its first commit */
    uint64_t flush_timer;
    double window_at;           /* ev_now() when this send window began */
    int window_sends;           /* batches sent in it */

    uint64_t *touched;      /* follower: jobs changed since the last commit */
    size_t ntouched, touched_alloc;
    bool reload_all;
    bool shared_changed;    /* follower: the instance's shared records (the nodes) */

    struct barrier *barriers;
    uint64_t next_token;
    uint64_t barrier_timer, tick_timer;

    struct ring_entry ring[RING_MAX];   /* batches of commits, in order */
    size_t ring_head, ring_count, ring_bytes;

    uint64_t commits, copies;   /* commits applied/sent, copies served */
    uint64_t catchups;          /* children given what they missed from the ring */
    double lag, lag_max;        /* follower: leader commit -> applied here (s) */
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- position, kept in the store's meta ---- */

static void position_store(struct replica *r, uint64_t gen, uint64_t seq)
{
    uint64_t v[2] = { gen, seq };
    if (store_meta_put(r->cfg.st, "repl", v, sizeof(v)) < 0)
        syslog(LOG_ERR, "replica: cannot record its position: %s", store_errstr(r->cfg.st));
}

static void position_load(struct replica *r)
{
    uint64_t v[2];
    size_t len = 0;
    if (store_meta_get(r->cfg.st, "repl", v, sizeof(v), &len) == 0 && len == sizeof(v)) {
        r->gen = v[0];
        r->seq = v[1];
    }
}

/* The leader's history is the same as long as its machine has not rebooted:
 * a crash of the process keeps what lazy commits wrote (page cache), a
 * reboot may not, and followers may have applied those commits. */
static void leader_position(struct replica *r)
{
    char boot[64] = "", was[64] = "";
    size_t len = 0;
    const char *id = store_boot_id(r->cfg.st);
    if (*id)   /* with /proc's newline, as it has always been saved */
        snprintf(boot, sizeof(boot), "%s\n", id);
    position_load(r);
    if (store_meta_get(r->cfg.st, "repl.boot", was, sizeof(was) - 1, &len) == 0
        && len < sizeof(was))
        was[len] = '\0';
    if (!r->gen || strcmp(boot, was) || !*boot) {
        uint64_t g = 0;
        while (!g && getrandom(&g, sizeof(g), 0) == (ssize_t)sizeof(g))
            g &= 0x3fffffffffffffffULL;   /* a JSON integer */
        if (!g)
            g = (uint64_t)time(NULL);
        if (r->gen)
            syslog(LOG_INFO, "replica: this machine rebooted since the last run: followers "
                   "get a new copy");
        r->gen = g;
        position_store(r, r->gen, r->seq);
        store_meta_put(r->cfg.st, "repl.boot", boot, strlen(boot));
    }
}

/* ---- sending ---- */

static void on_flush_timer(struct ev_loop *loop, uint64_t id, void *arg);

static int send_to(struct replica *r, int rank, json_t *msg)
{
    return r->cfg.send(r->cfg.send_arg, rank, msg);
}

static struct kid *kid_of(struct replica *r, int rank)
{
    for (int i = 0; i < r->nkids; i++)
        if (r->kids[i].rank == rank)
            return &r->kids[i];
    return NULL;
}

int replica_add_kid(struct replica *r, int rank)
{
    if (!r || kid_of(r, rank))
        return 0;
    struct kid *k = realloc(r->kids, (size_t)(r->nkids + 1) * sizeof(*k));
    if (!k)
        return -ENOMEM;
    r->kids = k;
    memset(&r->kids[r->nkids], 0, sizeof(*k));
    r->kids[r->nkids++].rank = rank;   /* KID_NONE until it says repl.sync */
    return 0;
}

/* A send to a child failed: not connected, it asks again when it is; a
 * full queue, it gets a new copy when there is room. */
static void kid_failed(struct replica *r, struct kid *k, int rc)
{
    k->st = rc == -EHOSTUNREACH ? KID_NONE : KID_STALE;
    if (k->st == KID_STALE)   /* served by the tick */
        syslog(LOG_WARNING, "replica: rank %d fell behind (%s): it gets a new copy", k->rank,
               strerror(-rc));
}

static bool kid_wants(const struct kid *k, const char *kind)
{
    return k->st == KID_LIVE || (k->st == KID_COPY && *kind == 'c');
}

/* Send msg to every child that follows kind's stream ("c" commits, "d"
 * copies, "" control: live children only). */
static void send_kids(struct replica *r, const char *kind, json_t *msg)
{
    for (int i = 0; i < r->nkids; i++) {
        struct kid *k = &r->kids[i];
        if (!kid_wants(k, *kind ? kind : "d"))
            continue;
        int rc = send_to(r, k->rank, msg);
        if (rc < 0)
            kid_failed(r, k, rc);
    }
}

/* buf as repl.data messages of kind, at most REPLICA_PART bytes each, to
 * one child (k) or to every child that follows kind (k NULL). Commits
 * first..seq (kind "c"), made at wall clock t. */
static int send_data(struct replica *r, struct kid *k, const char *kind, const void *buf,
                     size_t len, uint64_t first, uint64_t seq, double t)
{
    size_t off = 0;
    do {
        size_t n = len - off < REPLICA_PART ? len - off : REPLICA_PART;
        /* the ops as they are, in a binary frame (link.h): base64 and the
         * JSON parse of it at every hop were half a follower's CPU */
        json_t *msg = json_pack("{s:s s:s s:I s:I s:I s:f s:o s:I s:b}", "type", "repl.data",
                                "kind", kind, "gen", (json_int_t)r->gen, "first",
                                (json_int_t)first, "seq", (json_int_t)seq, "t", t, "bin",
                                json_stringn_nocheck((const char *)buf + off, n),
                                "off", (json_int_t)off, "more", off + n < len);
        off += n;
        if (!msg)
            return -ENOMEM;
        if (k) {
            int rc = send_to(r, k->rank, msg);
            if (rc < 0) {
                json_decref(msg);
                return rc;
            }
        } else
            send_kids(r, kind, msg);
        json_decref(msg);
    } while (off < len);
    return 0;
}

static void send_position(struct replica *r, int to, const char *type)
{
    json_t *msg = json_pack("{s:s s:I s:I}", "type", type, "gen", (json_int_t)r->gen, "seq",
                            (json_int_t)r->seq);
    if (msg) {
        int rc = send_to(r, to, msg);
        struct kid *k = kid_of(r, to);
        if (rc < 0 && k)
            kid_failed(r, k, rc);
    }
    json_decref(msg);
}

/* ---- the ring of recent commits ---- */

static void ring_drop_oldest(struct replica *r)
{
    struct ring_entry *e = &r->ring[r->ring_head];
    r->ring_bytes -= e->len;
    free(e->data);
    e->data = NULL;
    r->ring_head = (r->ring_head + 1) % RING_MAX;
    r->ring_count--;
}

static void ring_clear(struct replica *r)
{
    while (r->ring_count)
        ring_drop_oldest(r);
}

/* Commits first..seq (their journal) were made or applied here. */
static void ring_push(struct replica *r, uint64_t first, uint64_t seq, const void *data,
                      size_t len)
{
    if (len > RING_BYTES / 4) {
        ring_clear(r);   /* a gap in the ring would be worse than none */
        return;
    }
    if (r->ring_count && r->ring[(r->ring_head + r->ring_count - 1) % RING_MAX].seq + 1 != first)
        ring_clear(r);
    while (r->ring_count && (r->ring_count == RING_MAX || r->ring_bytes + len > RING_BYTES))
        ring_drop_oldest(r);
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        ring_clear(r);
        return;
    }
    memcpy(copy, data, len);
    struct ring_entry *e = &r->ring[(r->ring_head + r->ring_count) % RING_MAX];
    e->first = first;
    e->seq = seq;
    e->data = copy;
    e->len = len;
    r->ring_count++;
    r->ring_bytes += len;
}

static int ring_load(void *arg, uint64_t seq, const void *data, size_t len)
{
    struct replica *r = arg;
    if (seq <= r->seq)
        ring_push(r, seq, seq, data, len);
    return 0;
}

/* A child at seq (of our gen) gets the batches after it from the ring, or
 * -ENOENT if the ring does not reach back that far. A batch that it has in
 * part is sent whole: replaying ops it has applied, in order, changes
 * nothing (journal.h). */
static int ring_catch_up(struct replica *r, struct kid *k, uint64_t seq)
{
    if (seq > r->seq || !r->ring_count || r->ring[r->ring_head].first > seq + 1
        || r->ring[(r->ring_head + r->ring_count - 1) % RING_MAX].seq != r->seq)
        return -ENOENT;
    for (size_t i = 0; i < r->ring_count; i++) {
        struct ring_entry *e = &r->ring[(r->ring_head + i) % RING_MAX];
        if (e->seq <= seq)
            continue;
        int rc = send_data(r, k, "c", e->data, e->len, e->first, e->seq, wall_now());
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- a parent: serving children ---- */

static void kid_copy_begin(struct replica *r, struct kid *k)
{
    memset(&k->pos, 0, sizeof(k->pos));
    k->inflight = 0;
    k->st = KID_COPY;
    r->copies++;
    syslog(LOG_INFO, "replica: copying our replica to rank %d", k->rank);
    send_position(r, k->rank, "repl.reset");
}

/* Copy steps to every child being copied to, up to the window. Only with
 * nothing uncommitted in the store (a copy holds committed data only). */
static void pump(struct replica *r)
{
    for (int i = 0; i < r->nkids; i++) {
        struct kid *k = &r->kids[i];
        while (k->st == KID_COPY && k->inflight < REPLICA_WINDOW) {
            strbuf_reset(&r->out);
            int rc = store_dump(r->cfg.st, &k->pos, &r->out, REPLICA_STEP);
            if (rc < 0) {
                if (rc != -EBUSY)
                    syslog(LOG_ERR, "replica: copy to rank %d: %s", k->rank, strerror(-rc));
                break;
            }
            if (r->out.len) {
                int src = send_data(r, k, "d", r->out.buf, r->out.len, r->seq, r->seq, 0);
                if (src < 0) {
                    kid_failed(r, k, src);
                    break;
                }
                if (k->inflight++ == 0)
                    k->last_ack = ev_now(r->loop);
            }
            if (rc == 0) {
                k->st = KID_LIVE;
                send_position(r, k->rank, "repl.synced");
            }
        }
    }
}

/* We can tell a child where it stands: leader, or synced with no message
 * half received (its parts would reach the child without its head). */
static bool serving(const struct replica *r)
{
    return r->cfg.rank == 0 || (r->synced && r->part.len == 0 && !r->skip);
}

static void kid_serve(struct replica *r, struct kid *k);

/* A child says where its replica is. */
static void kid_sync(struct replica *r, struct kid *k, json_t *msg)
{
    k->gen = (uint64_t)json_integer_value(json_object_get(msg, "gen"));
    k->seq = (uint64_t)json_integer_value(json_object_get(msg, "seq"));
    if (!serving(r)) {
        k->st = KID_WAIT;
        return;
    }
    kid_serve(r, k);
}

/* A child that asked: what it misses, else a copy. */
static void kid_serve(struct replica *r, struct kid *k)
{
    if (k->gen && k->gen == r->gen && k->seq <= r->seq) {
        int rc = k->seq == r->seq ? 0 : ring_catch_up(r, k, k->seq);
        if (rc == 0) {
            if (k->seq < r->seq)
                r->catchups++;
            k->st = KID_LIVE;
            send_position(r, k->rank, "repl.ok");
            return;
        }
        if (rc != -ENOENT) {
            kid_failed(r, k, rc);
            return;
        }
    }
    kid_copy_begin(r, k);
}

/* We can serve again: children that waited are served, those that fell
 * behind get copies. */
static void serve_waiting(struct replica *r)
{
    if (!serving(r))
        return;
    for (int i = 0; i < r->nkids; i++) {
        if (r->kids[i].st == KID_WAIT)
            kid_serve(r, &r->kids[i]);
        else if (r->kids[i].st == KID_STALE)
            kid_copy_begin(r, &r->kids[i]);
    }
}

/* Once a second: children that fell behind get copies, a copy whose
 * steps are not acknowledged starts over, and a follower that has not been
 * answered says where it is again. */
static void send_sync(struct replica *r);
static void on_tick(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct replica *r = arg;
    double now = ev_now(loop);
    (void)id;
    for (int i = 0; i < r->nkids; i++) {
        struct kid *k = &r->kids[i];
        if (k->st == KID_COPY && k->inflight > 0 && now - k->last_ack > REPLICA_ACK_WAIT) {
            syslog(LOG_WARNING, "replica: rank %d acknowledged nothing for %.0f s: copying "
                   "again", k->rank, now - k->last_ack);
            k->st = KID_STALE;
        }
    }
    serve_waiting(r);
    pump(r);
    if (r->cfg.rank > 0 && r->parent_up && !r->synced && !r->copying
        && now - r->sync_sent >= REPLICA_SYNC_RETRY)
        send_sync(r);
    r->tick_timer = ev_timer_add(loop, 1.0, on_tick, r);
}

/* ---- a follower: applying ---- */

static void touch(struct replica *r, uint64_t id)
{
    if (r->reload_all || (r->ntouched && r->touched[r->ntouched - 1] == id))
        return;
    if (r->ntouched == r->touched_alloc) {
        size_t n = r->touched_alloc ? 2 * r->touched_alloc : 64;
        uint64_t *t = realloc(r->touched, n * sizeof(*t));
        if (!t) {
            r->reload_all = true;
            return;
        }
        r->touched = t;
        r->touched_alloc = n;
    }
    r->touched[r->ntouched++] = id;
}

static int cmp_id(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void on_applied(void *arg, const struct journal_op *op)
{
    struct replica *r = arg;
    if (op->db == JOURNAL_SHARED)
        r->shared_changed = true;
    else if (op->db == JOURNAL_ACCT)
        ;   /* records of ended jobs: nothing shown changes */
    else if (!r->copying)
        touch(r, journal_key_id(op->key, op->klen));
}

/* Say where our replica is; again every REPLICA_SYNC_RETRY until answered
 * (the tick), since a send at join may not get through. */
static void send_sync(struct replica *r)
{
    json_t *msg = json_pack("{s:s s:I s:I}", "type", "repl.sync", "gen", (json_int_t)r->gen,
                            "seq", (json_int_t)r->seq);
    if (msg)
        send_to(r, r->parent, msg);
    json_decref(msg);
    r->sync_sent = ev_now(r->loop);
}

/* Our replica cannot be trusted to follow: ask for a copy. */
static void ask_copy(struct replica *r, const char *why)
{
    if (why)
        syslog(LOG_WARNING, "replica: %s: asking rank %d for a copy", why, r->parent);
    r->synced = false;
    r->copying = false;
    strbuf_reset(&r->part);
    /* nothing here is a position until the copy is complete */
    r->gen = 0;
    r->seq = 0;
    position_store(r, 0, 0);
    send_sync(r);
}

static void on_reset(struct replica *r, json_t *msg)
{
    int rc = store_wipe(r->cfg.st);
    if (rc < 0) {
        syslog(LOG_ERR, "replica: cannot empty the replica: %s", strerror(-rc));
        return;
    }
    uint64_t gen = (uint64_t)json_integer_value(json_object_get(msg, "gen"));
    if (gen != r->gen)
        ring_clear(r);
    r->gen = gen;
    r->seq = (uint64_t)json_integer_value(json_object_get(msg, "seq"));
    /* a copy cut short by a crash must not pass for a position */
    position_store(r, 0, 0);
    r->copying = true;
    r->synced = false;
    strbuf_reset(&r->part);
    r->ntouched = 0;
    /* our children start over with us, from the same stream */
    for (int i = 0; i < r->nkids; i++) {
        if (r->kids[i].st != KID_NONE)
            r->kids[i].st = KID_LIVE;
        r->kids[i].gen = 0;   /* what they said before no longer holds */
    }
    send_kids(r, "", msg);
}

/* repl.data: a commit batch or a copy step, in parts of at most
 * REPLICA_PART bytes ("off": where the part starts). Whether we take it is
 * decided at its first part; only then is it passed on to our children, so
 * what we drop does not make them ask for copies. */
static void on_data(struct replica *r, json_t *msg)
{
    const char *kind = json_string_value(json_object_get(msg, "kind"));
    /* "bin": the bytes; "data": base64 (a broker before binary frames) */
    json_t *data = json_object_get(msg, "bin") ?: json_object_get(msg, "data");
    if (!kind || (strcmp(kind, "c") && strcmp(kind, "d")) || !json_is_string(data)) {
        syslog(LOG_WARNING, "replica: dropped a malformed repl.data");
        return;
    }
    uint64_t gen = (uint64_t)json_integer_value(json_object_get(msg, "gen"));
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(msg, "seq"));
    json_t *jfirst = json_object_get(msg, "first");
    uint64_t first = jfirst ? (uint64_t)json_integer_value(jfirst) : seq;
    uint64_t off = (uint64_t)json_integer_value(json_object_get(msg, "off"));
    bool more = json_is_true(json_object_get(msg, "more"));
    if (off == 0) {
        /* a new message: one cut short before it (a parent that went) is
         * dropped; the gap that leaves is seen as any other */
        strbuf_reset(&r->part);
        r->skip = false;
        /* commits are taken whenever they follow what we have (a
         * catch-up before "repl.ok", the live stream, a copy's commits);
         * copy steps only during a copy */
        if (!r->gen || (*kind == 'd' && !r->copying))
            r->skip = true;
        else if (*kind == 'c' && gen == r->gen && seq <= r->seq)
            r->skip = true;   /* had it all (a catch-up's overlap) */
        else if (*kind == 'c' && (gen != r->gen || first > r->seq + 1 || first > seq)) {
            r->skip = true;
            /* awaiting the answer to our repl.sync: what our parent sent
             * before it read it; the answer covers it */
            if (r->synced || r->copying)
                ask_copy(r, "a commit out of order");
        }
    } else if (!r->skip && off != r->part.len) {
        if (r->synced || r->copying)
            ask_copy(r, "a repl.data part out of place");
        r->skip = true;
    }
    if (r->skip) {
        if (!more)
            r->skip = false;
        return;
    }
    send_kids(r, kind, msg);
    if (r->part.len > JOURNAL_VAL_MAX + (64u << 20)) {
        ask_copy(r, "a repl.data too large");
        return;
    }
    if (link_payload(msg, "data", REPLICA_PART, &r->part) < 0) {
        ask_copy(r, "a repl.data that is not base64 (or is too large)");
        return;
    }
    if (more)
        return;
    if (*kind == 'c') {
        r->seq = seq;
        r->commits++;
        double t = json_real_value(json_object_get(msg, "t"));
        if (t > 0) {
            r->lag = wall_now() - t;
            if (r->lag > r->lag_max)
                r->lag_max = r->lag;
        }
    }
    int rc = store_apply(r->cfg.st, r->part.buf, r->part.len, on_applied, r);
    if (rc < 0) {
        ask_copy(r, rc == -EINVAL ? "malformed journal ops" : "cannot apply a commit");
        return;
    }
    if (*kind == 'c') {
        if (r->nkids > 0)   /* a leaf serves nobody */
            ring_push(r, first, r->seq, r->part.buf, r->part.len);
        if (!r->copying)   /* contiguous commits on a whole replica */
            position_store(r, r->gen, r->seq);
    }
    strbuf_reset(&r->part);
    if (*kind == 'd') {
        json_t *ack = json_pack("{s:s}", "type", "repl.ack");
        if (!ack || send_to(r, r->parent, ack) < 0)
            ask_copy(r, "cannot acknowledge a copy step");   /* or it stalls */
        json_decref(ack);
    }
    /* children that asked while a message was half here are served now */
    serve_waiting(r);
}

static void on_synced(struct replica *r, json_t *msg, bool ok)
{
    if (!r->gen)
        return;   /* we asked for a copy since: this answers something older */
    uint64_t gen = (uint64_t)json_integer_value(json_object_get(msg, "gen"));
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(msg, "seq"));
    /* a copy ends with repl.synced only; repl.ok answers a position */
    if (!ok != r->copying || gen != r->gen || seq != r->seq) {
        ask_copy(r, "a copy that does not end where it should");
        return;
    }
    if (!ok) {
        send_kids(r, "", msg);
        position_store(r, r->gen, r->seq);
        r->reload_all = true;
        syslog(LOG_INFO, "replica: copy complete at %llu", (unsigned long long)r->seq);
    }
    r->copying = false;
    r->synced = true;
    serve_waiting(r);
}

/* ---- barriers ---- */

static void barrier_finish(struct replica *r, struct barrier **pp, int rc)
{
    struct barrier *b = *pp;
    *pp = b->next;
    b->done(b->arg, rc);
    free(b);
}

static void barriers_check(struct replica *r, bool expire)
{
    double now = ev_now(r->loop);
    for (struct barrier **pp = &r->barriers; *pp;) {
        struct barrier *b = *pp;
        if (b->answered && r->synced && r->seq >= b->seq && !r->ntouched && !r->reload_all)
            barrier_finish(r, pp, 0);
        else if (expire && now - b->t >= REPLICA_BARRIER_WAIT)
            barrier_finish(r, pp, -ETIMEDOUT);
        else
            pp = &b->next;
    }
}

static void on_barrier_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct replica *r = arg;
    (void)loop;
    (void)id;
    r->barrier_timer = 0;
    barriers_check(r, true);
    if (r->barriers)
        r->barrier_timer = ev_timer_add(r->loop, 0.25, on_barrier_timer, r);
}

static struct barrier *barrier_add(struct replica *r, replica_done_f done, void *arg)
{
    struct barrier *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->token = ++r->next_token;
    b->t = ev_now(r->loop);
    b->done = done;
    b->arg = arg;
    b->next = r->barriers;
    r->barriers = b;
    if (!r->barrier_timer)
        r->barrier_timer = ev_timer_add(r->loop, 0.25, on_barrier_timer, r);
    return b;
}

/* A barrier: ask the leader for its position (ask), or wait for seq (or
 * ours, if larger: an answer that came behind the commits it depends on). */
static int barrier_begin(struct replica *r, replica_done_f done, void *arg, bool ask,
                         uint64_t seq)
{
    if (r->cfg.rank == 0) {
        done(arg, 0);
        return 0;
    }
    struct barrier *b = barrier_add(r, done, arg);
    if (!b)
        return -ENOMEM;
    if (!ask) {
        b->seq = seq > r->seq ? seq : r->seq;
        b->answered = true;
        return 0;
    }
    json_t *msg = json_pack("{s:s s:I}", "type", "repl.barrier", "token", (json_int_t)b->token);
    int rc = msg ? send_to(r, 0, msg) : -ENOMEM;
    json_decref(msg);
    if (rc < 0) {
        /* the leader cannot be asked: what is here is the answer */
        for (struct barrier **pp = &r->barriers; *pp; pp = &(*pp)->next)
            if (*pp == b) {
                barrier_finish(r, pp, -ENOTCONN);
                break;
            }
    }
    return 0;
}

int replica_settle(struct replica *r, uint64_t seq, replica_done_f done, void *arg)
{
    return barrier_begin(r, done, arg, false, seq);
}

uint64_t replica_seq(const struct replica *r)
{
    return r ? r->seq : 0;
}

int replica_barrier(struct replica *r, replica_done_f done, void *arg)
{
    return barrier_begin(r, done, arg, true, 0);
}

void replica_cancel(struct replica *r)
{
    while (r && r->barriers)
        barrier_finish(r, &r->barriers, -ECANCELED);
}

static void on_barrier_reply(struct replica *r, json_t *msg)
{
    uint64_t token = (uint64_t)json_integer_value(json_object_get(msg, "token"));
    for (struct barrier *b = r->barriers; b; b = b->next) {
        if (b->token == token) {
            b->seq = (uint64_t)json_integer_value(json_object_get(msg, "seq"));
            b->answered = true;
        }
    }
    /* completed after our next commit, once what we applied is shown */
}

/* ---- the loop ---- */

void replica_recv(struct replica *r, int from, const char *type, json_t *msg)
{
    struct kid *k = kid_of(r, from);
    /* what follows is about our position: the commits it counts go first */
    replica_flush(r);
    if (!strcmp(type, "repl.barrier") && r->cfg.rank == 0) {
        json_t *reply = json_pack("{s:s s:O s:I}", "type", "repl.barrier-reply", "token",
                                  json_object_get(msg, "token") ?: json_null(), "seq",
                                  (json_int_t)r->seq);
        if (reply)
            send_to(r, from, reply);
        json_decref(reply);
    } else if (k && !strcmp(type, "repl.sync")) {
        kid_sync(r, k, msg);
    } else if (k && !strcmp(type, "repl.ack")) {
        if (k->st == KID_COPY && k->inflight > 0) {
            k->inflight--;
            k->last_ack = ev_now(r->loop);
        }
    } else if (r->cfg.rank > 0 && !strcmp(type, "repl.barrier-reply")) {
        on_barrier_reply(r, msg);   /* from the leader, maybe our parent */
    } else if (r->cfg.rank > 0 && from == r->parent) {
        if (!strcmp(type, "repl.data"))
            on_data(r, msg);
        else if (!strcmp(type, "repl.reset"))
            on_reset(r, msg);
        else if (!strcmp(type, "repl.synced"))
            on_synced(r, msg, false);
        else if (!strcmp(type, "repl.ok"))
            on_synced(r, msg, true);
        else
            goto drop;
    } else {
    drop:
        syslog(LOG_WARNING, "replica: dropped '%.32s' from rank %d", type, from);
    }
}

void replica_parent(struct replica *r, bool up, int rank)
{
    r->parent_up = up;
    if (up && rank >= 0)
        r->parent = rank;   /* another broker, after re-parenting */
    if (!up) {
        /* what our parent sends next may not follow what it sent before;
         * a copy cut short is no position at all */
        if (r->copying) {
            r->gen = 0;
            r->seq = 0;
        }
        r->copying = false;
        r->synced = false;
        r->skip = false;
        strbuf_reset(&r->part);
        return;
    }
    send_sync(r);
}

void replica_flush(struct replica *r)
{
    if (!r || r->cfg.rank != 0 || !r->batch.len)
        return;
    if (r->flush_timer) {
        ev_timer_cancel(r->loop, r->flush_timer);
        r->flush_timer = 0;
    }
    double now = ev_now(r->loop);
    if (now - r->window_at >= REPLICA_BATCH_WAIT) {
        r->window_at = now;
        r->window_sends = 0;
    }
    r->window_sends++;
    ring_push(r, r->batch_first, r->seq, r->batch.buf, r->batch.len);
    if (send_data(r, NULL, "c", r->batch.buf, r->batch.len, r->batch_first, r->seq,
                  r->batch_t) < 0)
        for (int i = 0; i < r->nkids; i++)
            if (r->kids[i].st == KID_LIVE || r->kids[i].st == KID_COPY)
                kid_failed(r, &r->kids[i], -ENOMEM);
    strbuf_reset(&r->batch);
}

static void on_flush_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct replica *r = arg;
    (void)loop;
    (void)id;
    r->flush_timer = 0;
    replica_flush(r);
}

void replica_before_commit(struct replica *r)
{
    if (r && r->cfg.rank == 0 && store_journal_pending(r->cfg.st)) {
        r->next_seq = r->seq + 1;
        position_store(r, r->gen, r->next_seq);
        /* kept with the commit: after a restart, even a kill -9 before it
         * was sent, the children still catch up from it */
        if (store_journal_log(r->cfg.st, r->next_seq, RING_MAX) < 0)
            syslog(LOG_ERR, "replica: cannot keep commit %llu's journal: %s",
                   (unsigned long long)r->next_seq, store_errstr(r->cfg.st));
    }
}

void replica_after_commit(struct replica *r, int rc)
{
    if (!r)
        return;
    if (r->cfg.rank == 0) {
        store_journal_take(r->cfg.st, &r->out);
        if (rc == 0 && r->out.len) {
            if (!r->batch.len) {
                r->batch_first = r->seq + 1;
                r->batch_t = wall_now();
            }
            if (strbuf_add(&r->batch, r->out.buf, r->out.len) < 0) {
                /* what we have goes; this commit cannot: nobody may serve
                 * a history without it (ring) and the children get copies */
                replica_flush(r);
                ring_clear(r);
                r->seq++;
                r->commits++;
                for (int i = 0; i < r->nkids; i++)
                    if (r->kids[i].st == KID_LIVE || r->kids[i].st == KID_COPY)
                        kid_failed(r, &r->kids[i], -ENOMEM);
                return;
            }
            /* == next_seq, unless this commit was not numbered before
             * (then its number is recorded with the next one) */
            r->seq++;
            r->commits++;
            /* the first few of a window go at once (a job's end on a
             * follower's tree came 1-2 ms late when only a commit after a
             * quiet spell did); the rest wait for the window's end */
            double since = ev_now(r->loop) - r->window_at;
            if (r->batch.len >= REPLICA_BATCH || since >= REPLICA_BATCH_WAIT
                || r->window_sends < REPLICA_BURST)
                replica_flush(r);
            else if (!r->flush_timer)
                r->flush_timer = ev_timer_add(r->loop, REPLICA_BATCH_WAIT - since,
                                              on_flush_timer, r);
        }
    } else if (rc < 0) {
        if (r->synced || r->copying)
            ask_copy(r, "the replica's commit failed");
    } else if (r->m && r->synced) {
        /* the nodes first: the jobs' allocations are on them */
        if (r->shared_changed || r->reload_all)
            jobmgr_replica_shared(r->m);
        r->shared_changed = false;
        if (r->reload_all)
            jobmgr_replica_reload(r->m);
        else {
            /* a batch touches a job's record, events and output, often
             * apart: each job once, in id (= submission) order */
            if (r->ntouched > 1)
                qsort(r->touched, r->ntouched, sizeof(*r->touched), cmp_id);
            for (size_t i = 0; i < r->ntouched; i++)
                if (i == 0 || r->touched[i] != r->touched[i - 1])
                    jobmgr_replica_refresh(r->m, r->touched[i]);
        }
        r->reload_all = false;
        r->ntouched = 0;
        jobmgr_journal_flush(r->m);
        barriers_check(r, false);
    }
    if (rc == 0)
        pump(r);
}

/* ---- create, destroy, status ---- */

struct replica *replica_create(struct ev_loop *loop, const struct replica_config *cfg,
                               struct errmsg *err)
{
    struct replica *r = calloc(1, sizeof(*r));
    if (!r || (cfg->nchildren > 0 && !(r->kids = calloc((size_t)cfg->nchildren,
                                                        sizeof(*r->kids))))) {
        free(r);
        errmsg_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    r->loop = loop;
    r->cfg = *cfg;
    strbuf_init(&r->part);
    strbuf_init(&r->out);
    strbuf_init(&r->batch);
    for (int i = 0; i < cfg->nchildren; i++)
        r->kids[i].rank = cfg->first_child + i;
    r->nkids = cfg->nchildren;
    r->parent = cfg->parent;
    if (cfg->rank == 0) {
        leader_position(r);
        store_journal_enable(cfg->st);
        /* the commits of the last run, up to ours: the ring as it was */
        store_journal_foreach(cfg->st, ring_load, r);
        if (r->ring_count && r->ring[(r->ring_head + r->ring_count - 1) % RING_MAX].seq != r->seq)
            ring_clear(r);
    } else
        position_load(r);
    r->tick_timer = ev_timer_add(loop, 1.0, on_tick, r);
    return r;
}

void replica_destroy(struct replica *r)
{
    if (!r)
        return;
    if (r->barrier_timer)
        ev_timer_cancel(r->loop, r->barrier_timer);
    if (r->tick_timer)
        ev_timer_cancel(r->loop, r->tick_timer);
    replica_cancel(r);
    if (r->flush_timer)
        ev_timer_cancel(r->loop, r->flush_timer);
    strbuf_release(&r->part);
    strbuf_release(&r->out);
    strbuf_release(&r->batch);
    ring_clear(r);
    free(r->touched);
    free(r->kids);
    free(r);
}

void replica_set_jobmgr(struct replica *r, struct jobmgr *m)
{
    r->m = m;
}

bool replica_synced(const struct replica *r)
{
    return r->cfg.rank == 0 || r->synced;
}

json_t *replica_status(const struct replica *r)
{
    const char *state = r->cfg.rank == 0 ? "leader" : r->synced ? "synced"
                      : r->copying ? "copying" : "waiting";
    json_t *o = json_pack("{s:I s:I s:s s:I s:I s:I}", "gen", (json_int_t)r->gen, "seq",
                          (json_int_t)r->seq, "state", state, "commits", (json_int_t)r->commits,
                          "copies_served", (json_int_t)r->copies, "catchups_served",
                          (json_int_t)r->catchups);
    if (o && r->cfg.rank > 0) {
        json_object_set_new(o, "lag_ms", json_real(r->lag * 1000));
        json_object_set_new(o, "lag_max_ms", json_real(r->lag_max * 1000));
    }
    return o;
}
