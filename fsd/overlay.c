/* overlay.c - the tree of brokers (overlay.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "fsd/link.h"
#include "fsd/overlay.h"

/* How often unconnected edges are asked why, and how long a follower
 * waits for its parent before saying so in the log. */
#define OVERLAY_DIAG_PERIOD 2.0
#define OVERLAY_PARENT_PATIENCE 10.0
/* A dialer neither connected nor failing for this long is stuck. */
#define OVERLAY_DIAL_STALL 6.0
/* A child that does not answer our hello this long is not reading us. */
#define OVERLAY_HELLO_WAIT 3.0

struct overlay;

struct edge {
    struct overlay *ov;
    int rank;                   /* the peer's rank */
    struct link *l;
    bool joined;                /* parent edge: its hello was accepted */
    char last_fail[256];        /* the last failure logged */
    double progress;            /* kid: last time its dialer connected or failed */
    double hello_at;            /* kid: when we said hello, 0 once it joined */
    bool alive;                 /* kid: joined, and heard within the timeout */
    double heard;               /* the last message from the peer */
    double rtt;                 /* kid: the last heartbeat's round trip, s (-1: none) */
    double hello_wait;          /* kid: how long an unanswered hello waits (backs off) */
    bool adopted;               /* kid: a lost child's child, dialed by us (re-parenting) */
    double adopt_at;            /* ... when; it has hb_timeout to join */
    bool given_up;              /* ... it did not: its own children are ours to adopt */
    double retry_at;            /* kid: refused, dialed again then (0: dialing) */
    double backoff;             /* ... and the wait after the next refusal */
    bool silent;                /* kid: lost to its heartbeats, its connection up */
    json_t *held;               /* adopted kid, not joined yet: what is routed to
                                   it meanwhile, sent once it joins (or dropped
                                   if it never does) */
};

#define OVERLAY_HELD_MAX 4096   /* messages held for one child being adopted */

struct overlay {
    struct ev_loop *loop;
    const struct bootstrap *bs;
    int rank;
    json_t *join_info;
    struct overlay_ops ops;
    void *arg;
    struct link_tls tls;
    struct edge parent;         /* rank > 0: our listener */
    struct edge *kids;
    int nkids, first_kid;
    struct edge **adopted;      /* children of our lost children, ours now */
    int nadopted;
    json_t **joins;             /* by rank: a join we passed up (our subtree) */
    enum overlay_state *state;  /* leader: by rank */
    int *parent_of;             /* leader: by rank, the parent it last joined through */
    char **why;                 /* leader: by rank, the last reason */
    uint64_t timer;
    uint64_t hb_timer;
    double last_beat;           /* when heartbeat() last ran */
    const char *drop;           /* FLUXFS_FAULT_DROP: types to drop (tests) */
    double root_rtt;            /* follower: sum of the round trips up to the leader */
    bool join_pending;          /* our join could not go yet (the link was not up) */
    double since;               /* when we started waiting for a parent */
    bool told_waiting;
    int shunned;                /* a parent we gave up on (silent: stopped, cut
                                   off), refused until shun_until so that its
                                   own parent can adopt us; -1 for none */
    double shun_until;
    double drop_parent_at;      /* let go of the parent's connection then (0: no) */
    bool leader_away;           /* our parent's last beat said it cannot reach the
                                   leader either (a lost link further up) */
};

static const char *state_names[] = {
    [OVERLAY_JOINING] = "joining", [OVERLAY_UP] = "up", [OVERLAY_LOST] = "lost",
    [OVERLAY_REFUSED] = "refused",
};

const char *overlay_state_name(enum overlay_state st)
{
    return st <= OVERLAY_REFUSED ? state_names[st] : "?";
}

int overlay_rank(const struct overlay *ov)
{
    return ov->rank;
}

int overlay_size(const struct overlay *ov)
{
    return ov->bs->size;
}

bool overlay_leader_reachable(const struct overlay *ov)
{
    return ov->rank == 0 || (ov->parent.joined && !ov->leader_away);
}

bool overlay_joined(const struct overlay *ov)
{
    return ov->rank == 0 || ov->parent.joined;
}

enum overlay_state overlay_peer_state(const struct overlay *ov, int rank)
{
    if (!ov->state || rank < 0 || rank >= ov->bs->size)
        return OVERLAY_JOINING;
    return ov->state[rank];
}

/* Is r in the subtree of top (top included)? */
static bool below(const struct overlay *ov, int r, int top)
{
    while (r > top)
        r = bootstrap_parent(ov->bs, r);
    return r == top;
}

static struct edge *kid_edge(struct overlay *ov, int rank)
{
    int i = rank - ov->first_kid;
    if (i >= 0 && i < ov->nkids)
        return &ov->kids[i];
    for (i = 0; i < ov->nadopted; i++)
        if (ov->adopted[i]->rank == rank)
            return ov->adopted[i];
    return NULL;
}

/* Our children: the bootstrap's, then the ones we adopted. */
static int kid_count(const struct overlay *ov)
{
    return ov->nkids + ov->nadopted;
}

static struct edge *kid_at(struct overlay *ov, int i)
{
    return i < ov->nkids ? &ov->kids[i] : ov->adopted[i - ov->nkids];
}

/* The next hop from us towards `to`: an adopted child whose subtree holds
 * it (the deepest, if one of ours was adopted below another), else the
 * bootstrap tree's. */
static int next_hop(const struct overlay *ov, int to)
{
    int best = -1, depth = -1;
    for (int i = 0; i < ov->nadopted; i++) {
        const struct edge *a = ov->adopted[i];
        /* (one being adopted too: what goes to it waits for its join,
         * rather than taking the old path through its lost parent) */
        bool route = a->alive || (a->l && !a->given_up);
        if (route && below(ov, to, a->rank) && bootstrap_depth(ov->bs, a->rank) > depth) {
            best = a->rank;
            depth = bootstrap_depth(ov->bs, a->rank);
        }
    }
    return best >= 0 ? best : bootstrap_next_hop(ov->bs, ov->rank, to);
}

int overlay_next_hop(const struct overlay *ov, int to)
{
    return to == ov->rank ? -1 : next_hop(ov, to);
}

int overlay_kids(const struct overlay *ov, int *ranks, int max)
{
    int n = 0;
    for (int i = 0; i < kid_count(ov) && n < max; i++) {
        const struct edge *e = kid_at((struct overlay *)ov, i);
        /* (one being adopted too: what is sent to it is held for its join;
         * not one our parent adopted while we were lost) */
        if (e->adopted ? e->alive || (e->l && !e->given_up) : e->alive || !e->given_up)
            ranks[n++] = e->rank;
    }
    return n;
}

int overlay_parent_rank(const struct overlay *ov)
{
    return ov->rank == 0 ? -1 : ov->parent.rank;
}

static int edge_send(struct edge *e, json_t *msg)
{
    if (!e || !e->l || !link_connected(e->l))
        return -EHOSTUNREACH;
    return link_send(e->l, msg);
}

/* ---- the leader's view ---- */

static void set_state(struct overlay *ov, int rank, enum overlay_state st, json_t *info,
                      const char *why)
{
    if (rank < 0 || rank >= ov->bs->size || !ov->state)
        return;
    if (ov->state[rank] != st)
        syslog(st == OVERLAY_UP ? LOG_INFO : LOG_WARNING, "overlay: rank %d (%s) %s%s%s", rank,
               ov->bs->brokers[rank].host, state_names[st], why ? ": " : "", why ? why : "");
    ov->state[rank] = st;
    free(ov->why[rank]);
    ov->why[rank] = why ? strdup(why) : NULL;
    if (ov->ops.peer)
        ov->ops.peer(ov->arg, rank, st, info, why);
}

/* ---- routing ---- */

static void deliver(struct overlay *ov, struct edge *via, json_t *msg);
static void on_kid_up(void *arg);

/* An adopted child's held messages: sent when it joins, dropped when it
 * is given up on. */
static void held_flush(struct edge *e, bool send)
{
    size_t i;
    json_t *m;
    json_array_foreach(e->held, i, m)
        if (send)
            edge_send(e, m);
    json_decref(e->held);
    e->held = NULL;
}

/* Send msg on towards "to" (it is not for us). */
static int forward(struct overlay *ov, int to, json_t *msg)
{
    int hop = next_hop(ov, to);
    if (hop < 0)
        return -EINVAL;
    bool up = hop == bootstrap_parent(ov->bs, ov->rank);
    /* nothing goes up to a parent we have not accepted (or gave up on):
     * its silence then tells it to greet us again */
    if (up && !ov->parent.joined)
        return -EHOSTUNREACH;
    struct edge *e = up ? &ov->parent : kid_edge(ov, hop);
    if (e && !e->adopted && !e->alive && e->given_up)
        return -EHOSTUNREACH;   /* our parent adopted it while we were lost */
    if (e && e->adopted && !e->alive && !e->given_up) {
        if (!e->held && !(e->held = json_array()))
            return -ENOMEM;
        if (json_array_size(e->held) >= OVERLAY_HELD_MAX)
            return -EHOSTUNREACH;
        return json_array_append(e->held, msg) < 0 ? -ENOMEM : 0;
    }
    return edge_send(e, msg);
}

int overlay_send(struct overlay *ov, int to, json_t *msg)
{
    if (!json_is_object(msg) || to < 0 || to >= ov->bs->size)
        return -EINVAL;
    json_object_set_new(msg, "from", json_integer(ov->rank));
    json_object_set_new(msg, "to", json_integer(to));
    if (to == ov->rank) {
        deliver(ov, NULL, msg);
        return 0;
    }
    return forward(ov, to, msg);
}

/* The join of rank r and of everything we know is up below it goes up
 * again (our parent is new, or came back). */
static void send_joins(struct overlay *ov)
{
    json_t *mine = json_pack("{s:s s:i s:i s:O}", "type", "join", "rank", ov->rank, "parent",
                             ov->parent.rank, "info", ov->join_info);
    int rc = mine ? overlay_send(ov, 0, mine) : -ENOMEM;
    /* a message can be read before nng has told us its connection is up:
     * then the join goes when it has (on_parent_up) */
    ov->join_pending = rc == -EHOSTUNREACH;
    if (rc < 0 && rc != -EHOSTUNREACH)
        syslog(LOG_ERR, "overlay: cannot send our join: %s", strerror(-rc));
    json_decref(mine);
    for (int r = 0; r < ov->bs->size; r++)
        if (ov->joins[r])
            forward(ov, 0, ov->joins[r]);
}

static void on_kid_up(void *arg);
static void on_kid_down(void *arg);
static void on_edge_msg(void *arg, json_t *msg);

/* Re-parenting (doc/overlay.md "Joining and losing"): the children of a lost
 * child of ours are dialed by us; each accepts any parent that says a
 * valid hello, and its subtree rejoins through us, untouched. */
static void adopt_children(struct overlay *ov, int lost)
{
    int n, first = bootstrap_first_child(ov->bs, lost, &n);
    for (int c = first; c < first + n; c++) {
        struct errmsg err = {""};
        if (kid_edge(ov, c))
            continue;   /* ours already */
        struct edge *e = calloc(1, sizeof(*e)), **a;
        if (!e || !(a = realloc(ov->adopted, (size_t)(ov->nadopted + 1) * sizeof(*a)))) {
            free(e);
            syslog(LOG_ERR, "overlay: cannot adopt rank %d: out of memory", c);
            continue;
        }
        ov->adopted = a;
        e->ov = ov;
        e->rank = c;
        e->adopted = true;
        e->adopt_at = e->progress = ev_now(ov->loop);
        e->rtt = -1;
        e->hello_wait = OVERLAY_HELLO_WAIT;
        e->l = link_dial_url(ov->loop, ov->bs->brokers[c].connect, &ov->tls, on_edge_msg,
                             on_kid_down, e, &err);
        if (e->l)
            link_set_on_up(e->l, on_kid_up);
        else
            syslog(LOG_ERR, "overlay: rank %d: %s", c, err.text);
        ov->adopted[ov->nadopted++] = e;
        syslog(LOG_INFO, "overlay: adopting rank %d, a child of lost rank %d", c, lost);
    }
}

/* A child of ours is gone: its connection closed (it died, or the network
 * dropped it). It alone is lost; its children we adopt. (A child silent
 * with its connection up, a stopped process, is handled the same way in
 * heartbeat(): its children let go of it when they hear nothing either.) */
static void kid_gone(struct overlay *ov, struct edge *e, const char *why)
{
    e->alive = false;
    json_decref(ov->joins[e->rank]);
    ov->joins[e->rank] = NULL;
    json_t *msg = json_pack("{s:s s:[i] s:s}", "type", "lost", "ranks", e->rank, "why", why);
    if (msg)
        overlay_send(ov, 0, msg);
    json_decref(msg);
    adopt_children(ov, e->rank);
}

/* The leader hears of joins and losses. */
/* Is `who` on rank's path to us, as rank last joined (re-parenting moves
 * it)? Only such a broker's word that rank is lost is believed: one that
 * lost it to another parent (it was stopped meanwhile) is not. */
static bool on_path(const struct overlay *ov, int rank, int who)
{
    for (int r = rank, steps = 0; r > 0 && steps < ov->bs->size; steps++) {
        r = ov->parent_of[r];
        if (r == who)
            return true;
    }
    return who == 0;
}

static void leader_msg(struct overlay *ov, const char *type, json_t *msg)
{
    int src = (int)json_integer_value(json_object_get(msg, "from"));
    if (!strcmp(type, "join")) {
        json_t *r = json_object_get(msg, "rank"), *p = json_object_get(msg, "parent");
        int rank = (int)json_integer_value(r);
        if (!json_is_integer(r) || rank <= 0 || rank >= ov->bs->size)
            return;
        if (json_is_integer(p) && json_integer_value(p) >= 0
            && json_integer_value(p) < ov->bs->size && json_integer_value(p) != rank)
            ov->parent_of[rank] = (int)json_integer_value(p);
        set_state(ov, rank, OVERLAY_UP, json_object_get(msg, "info"), NULL);
    } else if (!strcmp(type, "lost") || !strcmp(type, "refused")) {
        const char *why = json_string_value(json_object_get(msg, "why"));
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(msg, "ranks"), i, r) {
            int rank = (int)json_integer_value(r);
            if (rank <= 0 || rank >= ov->bs->size)
                continue;
            if (!strcmp(type, "lost") && !on_path(ov, rank, src)) {
                syslog(LOG_INFO, "overlay: rank %d reports rank %d lost, but it joined through "
                       "another parent since: ignored", src, rank);
                continue;
            }
            /* its children are the reporter's (its parent) to adopt: from
             * now on only the adopter's word that one is lost counts, not
             * that of the lost rank, should it come back and find them gone */
            if (!strcmp(type, "lost"))
                for (int c = 1; c < ov->bs->size; c++)
                    if (ov->parent_of[c] == rank)
                        ov->parent_of[c] = src;
            /* a refusal is the more useful word until the rank joins */
            if (!strcmp(type, "lost") && overlay_peer_state(ov, rank) != OVERLAY_UP)
                continue;
            set_state(ov, rank, type[0] == 'l' ? OVERLAY_LOST : OVERLAY_REFUSED, NULL, why);
        }
    }
}

/* Our parent adopted these children of ours while we were taken for lost
 * (stopped, cut off): they and what is below them join through it now, so
 * we neither speak for them (their joins) nor route to them. We still dial
 * them (pair0 refuses us while they have their new parent): should they
 * lose it, we take them back. */
static void release_adopted(struct overlay *ov, json_t *ranks)
{
    size_t i;
    json_t *r;
    json_array_foreach(ranks, i, r) {
        int top = (int)json_integer_value(r);
        if (top <= ov->rank || top >= ov->bs->size)
            continue;
        struct edge *e = kid_edge(ov, top);
        if (e && (e->alive || e->silent))
            syslog(LOG_INFO, "overlay: rank %d was adopted by our parent while we were lost",
                   top);
        if (e) {
            e->alive = e->silent = false;
            e->given_up = true;   /* not ours to route to, until it joins us again */
        }
        for (int k = top; k < ov->bs->size; k++) {
            if (k == top || below(ov, k, top)) {
                json_decref(ov->joins[k]);
                ov->joins[k] = NULL;
            }
        }
    }
}

/* A parent says hello: ours if it speaks our version and instance and
 * believes it is talking to us. */
static void on_hello(struct overlay *ov, json_t *msg)
{
    char why[256] = "";
    json_t *v = json_object_get(msg, "v");
    const char *name = json_string_value(json_object_get(msg, "name"));
    int you = (int)json_integer_value(json_object_get(msg, "you"));
    int from = (int)json_integer_value(json_object_get(msg, "from"));
    if (!json_is_integer(v) || json_integer_value(v) != OVERLAY_VERSION)
        snprintf(why, sizeof(why), "protocol version %lld, not %d",
                 (long long)json_integer_value(v), OVERLAY_VERSION);
    else if (!name || strcmp(name, ov->bs->name))
        snprintf(why, sizeof(why), "instance '%.64s', not '%.64s'", name ? name : "?",
                 ov->bs->name);
    else if (you != ov->rank)
        snprintf(why, sizeof(why), "it dialed rank %d, this is rank %d", you, ov->rank);
    else if (from == ov->shunned && ev_now(ov->loop) < ov->shun_until) {
        /* not a refusal (the leader would note it): the connection is
         * dropped, so that the one its parent dials to adopt us gets in */
        syslog(LOG_INFO, "overlay: parent rank %d is back, but it was silent for the timeout: "
               "waiting %.0f s more for its parent to adopt this broker", from,
               ov->shun_until - ev_now(ov->loop));
        /* not at once: closing right after a message arrived is what can
         * hang nng 1.5.2 (link.c) */
        ov->drop_parent_at = ev_now(ov->loop) + ov->bs->hb_period;
        return;
    }
    if (why[0]) {
        syslog(LOG_ERR, "overlay: refusing parent (rank %d): %s", from, why);
        json_t *no = json_pack("{s:s s:i s:i s:s}", "type", "refuse", "from", ov->rank, "to",
                               from, "why", why);
        if (no)
            edge_send(&ov->parent, no);
        json_decref(no);
        return;
    }
    ov->shunned = -1;
    release_adopted(ov, json_object_get(msg, "adopted"));
    bool was = ov->parent.joined;
    ov->parent.joined = true;
    ov->parent.heard = ev_now(ov->loop);
    ov->parent.rank = from;
    ov->told_waiting = false;
    syslog(LOG_INFO, "overlay: joined parent rank %d", from);
    send_joins(ov);
    if (!was && ov->ops.parent)
        ov->ops.parent(ov->arg, true);
}

static void deliver(struct overlay *ov, struct edge *via, json_t *msg)
{
    const char *type = json_string_value(json_object_get(msg, "type"));
    json_t *to = json_object_get(msg, "to");
    json_t *from = json_object_get(msg, "from");
    if (!type || !json_is_integer(to) || !json_is_integer(from)) {
        syslog(LOG_WARNING, "overlay: dropped a message without type, from or to");
        return;
    }
    int dst = (int)json_integer_value(to), src = (int)json_integer_value(from);
    /* a parent speaks first: nothing it sends counts before its hello */
    if (via == &ov->parent && !ov->parent.joined && strcmp(type, "hello")) {
        syslog(LOG_WARNING, "overlay: dropped a '%.32s' message from a parent that has not "
               "said hello", type);
        return;
    }
    if (dst < 0 || dst >= ov->bs->size || src < 0 || src >= ov->bs->size) {
        syslog(LOG_WARNING, "overlay: dropped a '%.32s' message for rank %d from %d", type,
               dst, src);
        return;
    }
    if (!strcmp(type, "join") && via && via != &ov->parent) {
        json_int_t r = json_integer_value(json_object_get(msg, "rank"));
        /* a child speaks for its own subtree only */
        if (r < 0 || r >= ov->bs->size || !below(ov, (int)r, via->rank)) {
            syslog(LOG_WARNING, "overlay: dropped a join for rank %lld from below rank %d",
                   (long long)r, via->rank);
            return;
        }
        if (r == via->rank) {
            bool was = via->alive;
            via->hello_at = 0;
            via->alive = true;
            via->silent = false;
            via->backoff = 0;
            via->hello_wait = OVERLAY_HELLO_WAIT;
            if (via->adopted)
                via->given_up = true;   /* ours now: no adoption window any more */
            held_flush(via, true);
            if (via->adopted && !was) {
                syslog(LOG_INFO, "overlay: rank %d joined us (adopted)", via->rank);
                if (ov->ops.adopted)
                    ov->ops.adopted(ov->arg, via->rank);
            }
        }
    }
    /* heartbeats are one hop, between a parent and a child */
    if (!strcmp(type, "hb") && via == &ov->parent) {
        json_t *rtt = json_object_get(msg, "rtt"), *up = json_object_get(msg, "up");
        if (json_is_number(rtt) && json_is_number(up))
            ov->root_rtt = json_number_value(rtt) + json_number_value(up);
        ov->leader_away = json_is_true(json_object_get(msg, "away"));
        json_t *ack = json_pack("{s:s s:i s:i s:O}", "type", "hb-ack", "from", ov->rank, "to",
                                src, "t", json_object_get(msg, "t"));
        if (ack)
            edge_send(&ov->parent, ack);
        json_decref(ack);
        return;
    }
    if (!strcmp(type, "hb-up") && via && via != &ov->parent)
        return;   /* heard (on_edge_msg) is all it says */
    /* a child that gave up on us (it heard nothing for the timeout) asks
     * to be greeted again on the connection it still has */
    if (!strcmp(type, "hello?") && via && via != &ov->parent) {
        double now = ev_now(ov->loop);
        if (!via->hello_at || now - via->hello_at >= ov->bs->hb_period) {
            syslog(LOG_INFO, "overlay: rank %d asks to be greeted again", via->rank);
            on_kid_up(via);
        }
        return;
    }
    if (!strcmp(type, "hb-ack") && via && via != &ov->parent) {
        json_t *t = json_object_get(msg, "t");
        if (json_is_number(t) && ev_now(ov->loop) >= json_number_value(t))
            via->rtt = ev_now(ov->loop) - json_number_value(t);
        return;
    }
    /* joins going up are remembered, to be told again after a reconnect */
    if (!strcmp(type, "join") && ov->rank != 0 && via != &ov->parent) {
        int r = (int)json_integer_value(json_object_get(msg, "rank"));
        if (r > ov->rank && r < ov->bs->size && below(ov, r, ov->rank)) {
            json_decref(ov->joins[r]);
            ov->joins[r] = json_incref(msg);
        }
    }
    /* fault injection for tests (FLUXFS_FAULT_DROP, doc/overlay.md): a
     * message for us that the link delivered but that never arrives */
    if (dst == ov->rank && ov->drop && strstr(ov->drop, type)) {
        syslog(LOG_WARNING, "overlay: FLUXFS_FAULT_DROP: dropped a '%.32s' from rank %d", type,
               src);
        return;
    }
    if (dst != ov->rank) {
        int rc = forward(ov, dst, msg);
        if (rc < 0)
            syslog(LOG_DEBUG, "overlay: cannot forward '%s' to rank %d: %s", type, dst,
                   strerror(-rc));
        return;
    }
    if (!strcmp(type, "hello")) {
        if (via == &ov->parent)
            on_hello(ov, msg);
    } else if (!strcmp(type, "refuse")) {
        const char *why = json_string_value(json_object_get(msg, "why"));
        syslog(LOG_ERR, "overlay: rank %d refused us: %s", src, why ? why : "?");
        json_t *up = json_pack("{s:s s:[i] s:s}", "type", "refused", "ranks", src, "why",
                               why ? why : "refused");
        if (up)
            overlay_send(ov, 0, up);
        json_decref(up);
    } else if (!strcmp(type, "join") || !strcmp(type, "lost") || !strcmp(type, "refused")) {
        if (ov->rank == 0)
            leader_msg(ov, type, msg);
    } else if (ov->ops.recv) {
        ov->ops.recv(ov->arg, src, type, msg);
    }
}

/* ---- edges ---- */

static void on_edge_msg(void *arg, json_t *msg)
{
    struct edge *e = arg;
    e->heard = ev_now(e->ov->loop);
    deliver(e->ov, e, msg);
}

static void on_kid_up(void *arg)
{
    struct edge *e = arg;
    struct overlay *ov = e->ov;
    e->last_fail[0] = '\0';
    json_t *hello = json_pack("{s:s s:i s:s s:i s:i s:i}", "type", "hello", "v", OVERLAY_VERSION,
                              "name", ov->bs->name, "you", e->rank, "from", ov->rank, "to",
                              e->rank);
    /* a child we took for lost, back: which of its children we adopted
     * meanwhile, so that it lets go of them (it rejoins as a leaf) */
    json_t *taken = hello ? json_array() : NULL;
    for (int i = 0; taken && i < ov->nadopted; i++)
        if (ov->adopted[i]->rank != e->rank && below(ov, ov->adopted[i]->rank, e->rank))
            json_array_append_new(taken, json_integer(ov->adopted[i]->rank));
    if (taken && json_array_size(taken) > 0)
        json_object_set_new(hello, "adopted", taken);
    else
        json_decref(taken);
    if (hello && edge_send(e, hello) < 0 && !e->adopted)
        syslog(LOG_WARNING, "overlay: cannot greet rank %d", e->rank);
    e->hello_at = ev_now(ov->loop);
    json_decref(hello);
}

static void on_kid_down(void *arg)
{
    struct edge *e = arg;
    struct overlay *ov = e->ov;
    char why[96];
    snprintf(why, sizeof(why), "its link to rank %d went down", ov->rank);
    if (e->alive || e->silent) {
        /* gone (one lost to its heartbeats, stopped, is dead now): its
         * children are ours to adopt */
        e->silent = false;
        kid_gone(ov, e, why);
        return;
    }
    if (!e->hello_at)
        return;   /* never greeted on this connection */
    /* refused before it joined: it has another parent (pair0 takes one
     * peer: it was adopted, or we came too late to adopt it). nng would
     * dial again at once, hundreds of times a second: wait instead */
    e->hello_at = 0;
    e->backoff = e->backoff ? (e->backoff * 2 < 30 ? e->backoff * 2 : 30) : 1;
    e->retry_at = ev_now(ov->loop) + e->backoff;
    link_destroy(e->l);
    e->l = NULL;
}

static void send_joins(struct overlay *ov);

static void on_parent_up(void *arg)
{
    struct edge *e = arg;
    if (e->joined && e->ov->join_pending)
        send_joins(e->ov);
}

static void on_parent_down(void *arg)
{
    struct edge *e = arg;
    struct overlay *ov = e->ov;
    bool was = e->joined;
    e->joined = false;
    ov->since = ev_now(ov->loop);
    if (was) {
        syslog(LOG_WARNING, "overlay: lost the link to parent rank %d", e->rank);
        if (ov->ops.parent)
            ov->ops.parent(ov->arg, false);
    }
}

static void redial(struct overlay *ov, struct edge *e, bool quiet)
{
    struct errmsg err = {""};
    if (!quiet && !e->hello_at && !e->alive)
        syslog(LOG_INFO, "overlay: rank %d at %s: no connection and no answer for %.0f s: "
               "dialing again", e->rank, ov->bs->brokers[e->rank].connect, OVERLAY_DIAL_STALL);
    e->hello_at = 0;
    e->alive = false;
    link_destroy(e->l);
    e->l = link_dial_url(ov->loop, ov->bs->brokers[e->rank].connect, &ov->tls, on_edge_msg,
                         on_kid_down, e, &err);
    if (e->l)
        link_set_on_up(e->l, on_kid_up);
    else
        syslog(LOG_ERR, "overlay: rank %d: %s", e->rank, err.text);
    e->progress = ev_now(ov->loop);
}

/* Every period: a beat to each child that joined, carrying the round trip
 * we measured to it and ours up to the leader; a child silent for the
 * timeout is lost (its connection may still look up: a stopped process, a
 * partition) and dialed again. A parent silent for the timeout is gone
 * for us until it says hello again. */
static void heartbeat(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct overlay *ov = arg;
    double now = ev_now(loop), timeout = ov->bs->hb_timeout;
    (void)id;
    /* we were stalled ourselves (no CPU, a long step): what our peers sent
     * meanwhile is still unread, so their silence says nothing yet */
    if (ov->last_beat && now - ov->last_beat > 2 * ov->bs->hb_period) {
        syslog(LOG_WARNING, "overlay: this broker did not run for %.1f s: peers get a grace "
               "period", now - ov->last_beat - ov->bs->hb_period);
        for (int i = 0; i < kid_count(ov); i++)
            if (kid_at(ov, i)->heard < now - ov->bs->hb_period)
                kid_at(ov, i)->heard = now - ov->bs->hb_period;
        if (ov->parent.heard < now - ov->bs->hb_period)
            ov->parent.heard = now - ov->bs->hb_period;
    }
    ov->last_beat = now;
    for (int i = 0; i < kid_count(ov); i++) {
        struct edge *e = kid_at(ov, i);
        /* an adopted child that does not join in time is lost too: its
         * children are ours to adopt in turn */
        /* (its window: a child of a stalled parent notices the silence
         * itself only after the timeout, lets go at its next beat, and
         * our dialer comes back within a second) */
        double window = 2 * timeout + 1.0;
        if (e->adopted && !e->alive && !e->given_up && now - e->adopt_at > window) {
            char why[128];
            e->given_up = true;
            snprintf(why, sizeof(why), "its parent was lost and it did not join rank %d in "
                     "%.1f s", ov->rank, window);
            syslog(LOG_WARNING, "overlay: rank %d: %s", e->rank, why);
            /* dialed no more: it may still hang on a parent that is only
             * stopped (pair0 takes one peer), which greets it again later */
            link_destroy(e->l);
            e->l = NULL;
            held_flush(e, false);
            kid_gone(ov, e, why);
            continue;
        }
        if (!e->alive || !e->l)
            continue;
        if (now - e->heard > timeout) {
            char why[96];
            snprintf(why, sizeof(why), "no answer to heartbeats for %.1f s", now - e->heard);
            syslog(LOG_WARNING, "overlay: rank %d: %s: lost", e->rank, why);
            e->alive = false;
            e->silent = true;
            /* only it: its children gave up on it too and drop its
             * connection, and we adopt them (a stopped broker keeps its
             * connections up); those that do not join in time are lost in
             * turn */
            json_decref(ov->joins[e->rank]);
            ov->joins[e->rank] = NULL;
            json_t *lost = json_pack("{s:s s:[i] s:s}", "type", "lost", "ranks", e->rank,
                                     "why", why);
            if (lost)
                overlay_send(ov, 0, lost);
            json_decref(lost);
            adopt_children(ov, e->rank);
            /* hello again: a stopped child answers once it runs again; one
             * that is gone stays silent and is dialed again (diagnose) */
            if (link_connected(e->l))
                on_kid_up(e);
            continue;
        }
        /* "away": we cannot reach the leader ourselves, nor can they
         * through us (a follower then refuses writes at once) */
        json_t *hb = json_pack("{s:s s:i s:i s:f s:f s:f s:b}", "type", "hb", "from", ov->rank,
                               "to", e->rank, "t", now, "rtt", e->rtt > 0 ? e->rtt : 0.0, "up",
                               ov->rank == 0 ? 0.0 : ov->root_rtt, "away",
                               !overlay_leader_reachable(ov));
        if (hb)
            edge_send(e, hb);
        json_decref(hb);
    }
    /* a child with a connection to a parent it gave up on asks for a
     * hello (the parent may still take it for joined) */
    if (ov->rank > 0 && !ov->parent.joined && ov->parent.l && link_connected(ov->parent.l)
        && now - ov->since >= 2 * ov->bs->hb_period && !ov->drop_parent_at
        && !(ov->parent.rank == ov->shunned && now < ov->shun_until)) {
        json_t *ask = json_pack("{s:s s:i s:i}", "type", "hello?", "from", ov->rank, "to",
                                bootstrap_parent(ov->bs, ov->rank));
        if (ask)
            edge_send(&ov->parent, ask);
        json_decref(ask);
    }
    /* a child beats up too: its parent hears it even when what the parent
     * sends it (a replica's commits) queues up behind a beat, so a child
     * that is slow to read but alive is not lost */
    if (ov->rank > 0 && ov->parent.joined) {
        json_t *up = json_pack("{s:s s:i s:i}", "type", "hb-up", "from", ov->rank, "to",
                               ov->parent.rank);
        if (up)
            edge_send(&ov->parent, up);
        json_decref(up);
    }
    if (ov->rank > 0 && ov->parent.joined && now - ov->parent.heard > timeout) {
        syslog(LOG_WARNING, "overlay: no heartbeat from parent rank %d for %.1f s", ov->parent.rank,
               now - ov->parent.heard);
        ov->parent.joined = false;
        ov->since = now;
        /* a silent parent with its connection up (a stopped process, a
         * stalled link) holds our one connection: let it go, so that its
         * parent can adopt us, and refuse it a while should it come back
         * first (doc/overlay.md "Joining and losing") */
        ov->shunned = ov->parent.rank;
        ov->shun_until = now + 3 * timeout;
        ov->drop_parent_at = now;
        if (ov->ops.parent)
            ov->ops.parent(ov->arg, false);
    }
    /* the connection goes once it is quiet: nothing of ours in flight */
    if (ov->rank > 0 && ov->drop_parent_at && now >= ov->drop_parent_at && !ov->parent.joined
        && (!ov->parent.l || link_drop_peer(ov->parent.l)))
        ov->drop_parent_at = 0;

    ov->hb_timer = ev_timer_add(loop, ov->bs->hb_period, heartbeat, ov);
}

static void diagnose(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct overlay *ov = arg;
    char buf[256];
    (void)id;
    for (int i = 0; i < kid_count(ov); i++) {
        struct edge *e = kid_at(ov, i);
        if (!e->l && e->retry_at && ev_now(loop) >= e->retry_at) {
            e->retry_at = 0;   /* refused before: try again */
            redial(ov, e, true);
            continue;
        }
        if (e->l && link_connected(e->l)) {
            e->progress = ev_now(loop);
            /* nng 1.5.2's pair0 can leave a connection half open (we write,
             * nobody reads): no join after our hello means dial again */
            if (e->hello_at > 0 && ev_now(loop) - e->hello_at > e->hello_wait) {
                syslog(LOG_WARNING, "overlay: rank %d did not answer hello in %.0f s",
                       e->rank, e->hello_wait);
                /* each dial again costs up to LINK_CLOSE_WAIT of the loop
                 * (link_destroy): back off for a peer that stays silent */
                e->hello_wait = e->hello_wait * 2 < 60 ? e->hello_wait * 2 : 60;
                redial(ov, e, false);
            }
            continue;
        }
        if (e->l && link_failures(e->l, buf, sizeof(buf)) == 0) {
            /* nng 1.5.2's dialer can stall for good in a TLS handshake the
             * peer refused: neither connected nor failing; dial afresh */
            if (ev_now(loop) - e->progress > OVERLAY_DIAL_STALL)
                redial(ov, e, false);
            continue;
        }
        e->progress = ev_now(loop);
        if (!e->l || !strcmp(buf, e->last_fail))
            continue;
        syslog(LOG_ERR, "overlay: rank %d at %s: %s", e->rank, ov->bs->brokers[e->rank].connect,
               buf);
        snprintf(e->last_fail, sizeof(e->last_fail), "%s", buf);
        if (strstr(buf, "refused by TLS")) {
            json_t *up = json_pack("{s:s s:[i] s:s}", "type", "refused", "ranks", e->rank,
                                   "why", buf);
            if (up)
                overlay_send(ov, 0, up);
            json_decref(up);
        }
    }
    if (ov->rank > 0) {
        if (ov->parent.l && link_failures(ov->parent.l, buf, sizeof(buf)) > 0
            && strcmp(buf, ov->parent.last_fail)) {
            syslog(LOG_ERR, "overlay: connections to %s failed: %s", ov->bs->brokers[ov->rank].bind,
                   buf);
            snprintf(ov->parent.last_fail, sizeof(ov->parent.last_fail), "%s", buf);
        }
        if (!ov->parent.joined && !ov->told_waiting
            && ev_now(loop) - ov->since > OVERLAY_PARENT_PATIENCE) {
            syslog(LOG_WARNING, "overlay: no parent has joined us at %s for %.0f s (rank %d "
                   "should dial it)", ov->bs->brokers[ov->rank].bind, OVERLAY_PARENT_PATIENCE,
                   bootstrap_parent(ov->bs, ov->rank));
            ov->told_waiting = true;
        }
    }
    ov->timer = ev_timer_add(loop, OVERLAY_DIAG_PERIOD, diagnose, ov);
}

void overlay_destroy(struct overlay *ov)
{
    if (!ov)
        return;
    if (ov->timer)
        ev_timer_cancel(ov->loop, ov->timer);
    if (ov->hb_timer)
        ev_timer_cancel(ov->loop, ov->hb_timer);
    for (int i = 0; i < ov->nkids; i++)
        link_destroy(ov->kids[i].l);
    for (int i = 0; i < ov->nadopted; i++) {
        link_destroy(ov->adopted[i]->l);
        json_decref(ov->adopted[i]->held);
        free(ov->adopted[i]);
    }
    free(ov->adopted);
    link_destroy(ov->parent.l);
    for (int r = 0; ov->joins && r < ov->bs->size; r++)
        json_decref(ov->joins[r]);
    for (int r = 0; ov->why && r < ov->bs->size; r++)
        free(ov->why[r]);
    free(ov->why);
    free(ov->state);
    free(ov->parent_of);
    free(ov->joins);
    free(ov->kids);
    json_decref(ov->join_info);
    free(ov);
}

struct overlay *overlay_create(struct ev_loop *loop, const struct bootstrap *bs, int rank,
                               json_t *join_info, const struct overlay_ops *ops, void *arg,
                               struct errmsg *err)
{
    struct overlay *ov = calloc(1, sizeof(*ov));
    if (!ov) {
        errmsg_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    ov->loop = loop;
    ov->bs = bs;
    ov->rank = rank;
    ov->shunned = -1;
    ov->join_info = json_incref(join_info);
    ov->ops = *ops;
    ov->arg = arg;
    ov->since = ev_now(loop);
    ov->tls = (struct link_tls){ bs->ca, bs->cert, bs->key, bs->ca_pem, bs->cert_pem,
                                 bs->key_pem };
    /* only where security is off anyway: tests, never a TLS instance */
    const char *drop = getenv("FLUXFS_FAULT_DROP");
    if (drop && *drop && bs->insecure) {
        ov->drop = drop;
        syslog(LOG_WARNING, "overlay: FLUXFS_FAULT_DROP: messages of types '%s' for this "
               "broker are dropped (fault injection for tests)", drop);
    }
    ov->parent.ov = ov;
    ov->parent.rank = bootstrap_parent(bs, rank);
    if (!(ov->joins = calloc((size_t)bs->size, sizeof(*ov->joins)))) {
        errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    if (rank == 0 && (!(ov->state = calloc((size_t)bs->size, sizeof(*ov->state)))
                      || !(ov->why = calloc((size_t)bs->size, sizeof(*ov->why)))
                      || !(ov->parent_of = calloc((size_t)bs->size, sizeof(int))))) {
        errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    if (rank == 0)
        ov->state[0] = OVERLAY_UP;
    for (int r = 0; rank == 0 && r < bs->size; r++)
        ov->parent_of[r] = bootstrap_parent(bs, r);
    if (bs->insecure)
        syslog(LOG_WARNING, "overlay: \"insecure\": brokers talk without TLS; anyone who can "
               "reach a broker's address can join this instance");
    if (rank > 0) {
        const char *url = bs->brokers[rank].bind;
        /* at start only: a port just let go (a restart, a nested broker's
         * probe for a free one) can take a moment to be free again */
        for (int tries = 0; tries < 50; tries++) {
            err->text[0] = '\0';
            ov->parent.l = link_listen_url(loop, url, &ov->tls, on_edge_msg, on_parent_down,
                                           &ov->parent, err);
            if (ov->parent.l || !strstr(err->text, "in use"))
                break;
            usleep(20000);
        }
        if (!ov->parent.l)
            goto error;
        link_set_on_up(ov->parent.l, on_parent_up);
    }
    ov->first_kid = bootstrap_first_child(bs, rank, &ov->nkids);
    if (ov->nkids > 0 && !(ov->kids = calloc((size_t)ov->nkids, sizeof(*ov->kids)))) {
        errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    for (int i = 0; i < ov->nkids; i++) {
        struct edge *e = &ov->kids[i];
        e->ov = ov;
        e->rank = ov->first_kid + i;
        e->progress = ev_now(loop);
        e->rtt = -1;
        e->hello_wait = OVERLAY_HELLO_WAIT;
        e->l = link_dial_url(loop, bs->brokers[e->rank].connect, &ov->tls, on_edge_msg,
                             on_kid_down, e, err);
        if (!e->l)
            goto error;
        link_set_on_up(e->l, on_kid_up);
    }
    ov->timer = ev_timer_add(loop, OVERLAY_DIAG_PERIOD, diagnose, ov);
    ov->hb_timer = ev_timer_add(loop, bs->hb_period, heartbeat, ov);
    return ov;
error:
    overlay_destroy(ov);
    return NULL;
}

json_t *overlay_status(const struct overlay *ov)
{
    json_t *kids = json_array();
    for (int i = 0; kids && i < kid_count(ov); i++)   /* the ones joined now */
        if (kid_at((struct overlay *)ov, i)->alive)
            json_array_append_new(kids, json_integer(kid_at((struct overlay *)ov, i)->rank));
    json_t *o = json_pack("{s:i s:i s:i s:s s:i s:o s:s}", "rank", ov->rank, "size",
                          ov->bs->size, "fanout", ov->bs->fanout, "name", ov->bs->name,
                          "parent", overlay_parent_rank(ov), "children",
                          kids ? kids : json_array(), "state",
                          overlay_joined(ov) ? "up" : "joining");
    if (o && ov->rank > 0 && ov->parent.joined && ov->root_rtt > 0)
        json_object_set_new(o, "rtt_ms", json_real((double)(long long)(ov->root_rtt * 1e6) / 1e3));
    if (!o || ov->rank != 0)
        return o;
    /* the tree as the ranks last joined it (re-parenting moves them) */
    int size = ov->bs->size, *head = malloc((size_t)size * sizeof(int)),
        *next = malloc((size_t)size * sizeof(int));
    for (int r = 0; head && next && r < size; r++)
        head[r] = next[r] = -1;
    for (int r = size - 1; head && next && r > 0; r--) {
        int p = ov->parent_of[r];
        if (p >= 0 && p < size) {
            next[r] = head[p];
            head[p] = r;
        }
    }
    json_t *ranks = head && next ? json_array() : NULL;
    for (int r = 0; ranks && r < size; r++) {
        json_t *e = json_pack("{s:i s:s s:s s:i s:[]}", "rank", r, "host", ov->bs->brokers[r].host,
                              "state", state_names[ov->state[r]], "parent",
                              r == 0 ? -1 : ov->parent_of[r], "children");
        for (int c = head[r]; e && c >= 0; c = next[c])
            json_array_append_new(json_object_get(e, "children"), json_integer(c));
        if (e && ov->why[r])
            json_object_set_new(e, "why", json_string(ov->why[r]));
        struct edge *k = kid_edge((struct overlay *)ov, r);
        if (e && k && k->alive && k->rtt >= 0)
            json_object_set_new(e, "rtt_ms", json_real((double)(long long)(k->rtt * 1e6) / 1e3));
        if (e)
            json_array_append_new(ranks, e);
    }
    free(head);
    free(next);
    if (ranks)
        json_object_set_new(o, "ranks", ranks);
    return o;
}
