/* nest_net.c - nested instances across the nodes of a multi-node instance
 * (nest.h, doc/overlay.md "Nested instances across nodes").
 *
 * A job that spans nodes gets a child instance that spans them too: one
 * child broker ("part") under each node's broker, its leader on the job's
 * first node, linked into a tree of their own. Our leader coordinates, as
 * Flux's PMI bootstrap does for a nested Flux: it sends "nest.start" to
 * every node's broker, each part says where it listens ("nest.url"), the
 * leader sends everyone the whole list ("nest.peers"), and answers mkdir
 * once every part is ready. Stopping goes the same way ("nest.stop",
 * "nest.stopped"), and each node then serves the child's history from its
 * own copy of the child's store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "common/idset.h"
#include "fsd/bootstrap.h"
#include "fsd/nest_private.h"
#include "fsd/nestdir.h"
#include "sched/rread.h"
#include "sched/rv1.h"

#define COORD_URL 1
#define COORD_READY 2
#define COORD_STOPPED 4
/* Seconds the leader waits for every part to start (each has
 * NEST_START_TIMEOUT), or to stop (each has NEST_STOP_GRACE), before it
 * gives up on the silent ones (a node lost meanwhile). */
#define COORD_START_WAIT (NEST_START_TIMEOUT + 10.0)
#define COORD_STOP_WAIT (NEST_STOP_GRACE + 20.0)
/* Seconds a follower waits for the leader's answer to mkdir or rmdir. */
#define NEST_REQ_WAIT (NEST_START_TIMEOUT + COORD_START_WAIT + 10.0)   /* generators, then start */

void nests_set_net(struct nests *ns, int rank, const struct bootstrap *bs, nests_send_f send,
                   struct job *(*lookup)(void *arg, uint64_t id),
                   char *(*R)(void *arg, const struct job *job), void *arg)
{
    ns->net_R = R;
    ns->net_rank = rank;
    ns->net_bs = bs;
    ns->net_send = send;
    ns->net_lookup = lookup;
    ns->net_arg = arg;
}

/* msg (stolen) to rank `to`, ourselves included. */
static int net_send(struct nests *ns, int to, const char *type, json_t *msg)
{
    int rc = -ENOMEM;
    if (msg && json_object_set_new(msg, "type", json_string(type)) == 0) {
        if (to == ns->net_rank) {
            nests_net_recv(ns, to, type, msg);
            rc = 0;
        } else
            rc = ns->net_send(ns->net_arg, to, msg);
    }
    if (rc < 0)
        syslog(LOG_WARNING, "nested instances: cannot send %s to rank %d: %s", type, to,
               strerror(-rc));
    json_decref(msg);
    return rc;
}

/* The message about nested instance `name` of job id, with more keys. */
static json_t *about(const struct job *job, const char *name)
{
    return json_pack("{s:I s:s}", "id", (json_int_t)job_get_id(job), "name", name);
}

/* ---- the job's nodes ---- */

struct nodes {
    int n;
    int *ranks;
    char **hosts;
    json_t **Rs;
};

static void nodes_free(struct nodes *nd)
{
    for (int i = 0; i < nd->n; i++) {
        free(nd->hosts ? nd->hosts[i] : NULL);
        json_decref(nd->Rs ? nd->Rs[i] : NULL);
    }
    free(nd->ranks);
    free(nd->hosts);
    free(nd->Rs);
    memset(nd, 0, sizeof(*nd));
}

static int *id_array(const struct idset *s, int *count)
{
    *count = 0;
    int *a = malloc((s ? idset_count(s) : 0) * sizeof(int) + sizeof(int));
    for (int id = s ? idset_first(s) : -1; a && id >= 0; id = idset_next(s, (unsigned)id))
        a[(*count)++] = id;
    return a;
}

/* One node's share of R: what its part is given as --resources. */
static json_t *node_R(const struct rread_node *node)
{
    int nc, ng;
    int *cores = id_array(node->cores, &nc), *gpus = id_array(node->gpus, &ng);
    struct rv1_writer *w = cores && gpus ? rv1_writer_create() : NULL;
    json_t *R = w && rv1_writer_add(w, 0, node->name, cores, nc, gpus, ng) == 0
                ? rv1_writer_finish(w, 0, 0) : NULL;
    rv1_writer_destroy(w);
    free(cores);
    free(gpus);
    return R;
}

/* The job's nodes in R's order, each with the broker it runs under. */
static int job_nodes(struct nests *ns, const struct job *job, struct nodes *nd,
                     struct errmsg *err)
{
    char *text = ns->net_R(ns->net_arg, job);
    json_t *R = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    struct rread_r *r = NULL;
    int rc = R ? rread_parse(R, &r, err) : errmsg_set(err, -EINVAL, "the job's R is unreadable");
    memset(nd, 0, sizeof(*nd));
    if (rc < 0)
        goto done;
    nd->n = (int)rread_nnodes(r);
    nd->ranks = calloc((size_t)nd->n, sizeof(int));
    nd->hosts = calloc((size_t)nd->n, sizeof(char *));
    nd->Rs = calloc((size_t)nd->n, sizeof(json_t *));
    if (!nd->ranks || !nd->hosts || !nd->Rs) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < nd->n; i++) {
        const struct rread_node *node = rread_node(r, (size_t)i);
        /* the scheduler's ranks are the brokers' (setup_multinode) */
        int rank = node->rank;
        if (rank < 0 || rank >= ns->net_bs->size || strcmp(ns->net_bs->brokers[rank].host, node->name))
            rank = bootstrap_rank_of(ns->net_bs, node->name);
        if (rank < 0) {
            rc = errmsg_set(err, -EINVAL, "node %s of the job has no broker", node->name);
            goto done;
        }
        nd->ranks[i] = rank;
        if (!(nd->hosts[i] = strdup(node->name)) || !(nd->Rs[i] = node_R(node))) {
            rc = errmsg_set(err, -ENOMEM, "out of memory");
            goto done;
        }
    }
done:
    if (rc < 0)
        nodes_free(nd);
    rread_r_destroy(r);
    json_decref(R);
    return rc;
}

static bool nodes_have(const struct nodes *nd, int rank)
{
    for (int i = 0; i < nd->n; i++)
        if (nd->ranks[i] == rank)
            return true;
    return false;
}

/* A reason naming where a job's nested instances can be made. */
static int not_here(const struct job *job, const struct nodes *nd, struct errmsg *err)
{
    return errmsg_set(err, -ENXIO, "job %s runs on %s%s: its nested instances are made from "
                      "the tree of one of its nodes (FLUXFS_MOUNT in the job)", job_get_idstr(job),
                      nd->hosts[0], nd->n > 1 ? " and others" : "");
}

/* ---- the coordinator (our leader) ---- */

void nest_coord_free(struct nest_coord *c, int csize)
{
    if (!c)
        return;
    for (int i = 0; i < csize; i++) {
        free(c->hosts ? c->hosts[i] : NULL);
        json_decref(c->Rs ? c->Rs[i] : NULL);
        free(c->binds ? c->binds[i] : NULL);
        free(c->connects ? c->connects[i] : NULL);
    }
    free(c->ranks);
    free(c->hosts);
    free(c->Rs);
    free(c->binds);
    free(c->connects);
    free(c->flags);
    json_decref(c->tls);
    free(c);
}

static struct nest *coord_lookup(struct nests *ns, const struct job *job, const char *name)
{
    for (struct nest *n = ns->list; n; n = n->next)
        if (n->coord && n->job == job && !strcmp(n->name, name) && n->state != NEST_DEAD)
            return n;
    return NULL;
}

/* Answer the coordinator's mkdir or rmdir: here, or on the follower it
 * came from. */
void nest_coord_answer(struct nest *n, int rc, const char *why)
{
    struct nest_coord *c = n->coord;
    int to = c->req_rank;
    if (to > 0) {
        c->req_rank = 0;
        net_send(n->ns, to, "nest.reply", json_pack("{s:I s:i s:s}", "token",
                 (json_int_t)c->req_token, "rc", rc, "why", why ? why : ""));
    } else
        nest_answer(n, rc, why);
}

static void coord_stopped(struct nest *n)
{
    struct nest_coord *c = n->coord;
    if (c->timer) {
        ev_timer_cancel(n->ns->loop, c->timer);
        c->timer = 0;
    }
    n->state = c->failed ? NEST_DEAD : NEST_ARCHIVE;
    nest_coord_answer(n, 0, NULL);   /* a waiting rmdir: every node serves the history */
    nest_after_stop(n);
}

static void arm(struct nest *n, double secs);

void nest_net_stop(struct nest *n, bool force)
{
    struct nest_coord *c = n->coord;
    n->state = NEST_STOPPING;
    if (c->nstopped == n->csize) {   /* every part is gone already (it crashed) */
        coord_stopped(n);
        return;
    }
    arm(n, COORD_STOP_WAIT);
    for (int i = 0; i < n->csize && n->state == NEST_STOPPING; i++) {
        if (c->flags[i] & COORD_STOPPED)
            continue;
        json_t *m = about(n->job, n->name);
        if (m && json_object_update_new(m, json_pack("{s:b s:i s:b}", "force", force, "crank", i,
                                                      "discard", c->failed)) < 0) {
            json_decref(m);
            m = NULL;
        }
        net_send(n->ns, c->ranks[i], "nest.stop", m);
    }
}

/* A part failed to start: mkdir fails with its reason, the rest stop. */
static void coord_fail(struct nest *n, const char *why)
{
    if (n->state != NEST_STARTING)
        return;
    syslog(LOG_ERR, "nested instance %s/%s: %s", job_get_idstr(n->job), n->name, why);
    n->coord->failed = true;
    nest_coord_answer(n, -EIO, why);
    nest_net_stop(n, true);
}

static void on_coord_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct nest *n = arg;
    struct nest_coord *c = n->coord;
    (void)loop;
    (void)id;
    c->timer = 0;
    for (int i = 0; i < n->csize; i++) {
        if (n->state == NEST_STARTING && !(c->flags[i] & COORD_READY)) {
            char why[300];
            snprintf(why, sizeof(why), "its broker on %s (rank %d) did not start in time",
                     c->hosts[i], c->ranks[i]);
            coord_fail(n, why);
            return;
        }
        if (n->state == NEST_STOPPING && !(c->flags[i] & COORD_STOPPED)) {
            syslog(LOG_WARNING, "nested instance %s/%s: no word from its broker on %s (rank %d) "
                   "that it stopped: not waiting longer", job_get_idstr(n->job), n->name,
                   c->hosts[i], c->ranks[i]);
            c->flags[i] |= COORD_STOPPED;
            c->nstopped++;
        }
    }
    if (n->state == NEST_STOPPING)
        coord_stopped(n);
}

static void arm(struct nest *n, double secs)
{
    struct nest_coord *c = n->coord;
    if (c->timer)
        ev_timer_cancel(n->ns->loop, c->timer);
    c->timer = ev_timer_add(n->ns->loop, secs, on_coord_timer, n);
}

/* Every part told us where it listens: tell them all, as a bootstrap
 * document (bootstrap.h) of the child's own. */
static void send_peers(struct nest *n)
{
    struct nest_coord *c = n->coord;
    const struct bootstrap *bs = n->ns->net_bs;
    char name[256];
    json_t *brokers = json_array();
    for (int i = 0; brokers && i < n->csize; i++) {
        json_t *b = i == 0 ? json_pack("{s:s}", "host", c->hosts[0])
                   : json_pack("{s:s s:s s:s}", "host", c->hosts[i], "bind", c->binds[i],
                               "connect", c->connects[i]);
        if (!b || json_array_append_new(brokers, b) < 0) {
            json_decref(brokers);
            brokers = NULL;
        }
    }
    snprintf(name, sizeof(name), "%s/%s/%s", bs->name, job_get_idstr(n->job), n->name);
    json_t *doc = brokers ? json_pack("{s:i s:i s:s s:b s:{s:f s:f} s:o}", "version", 1,
                                      "fanout", bs->fanout, "name", name, "insecure",
                                      bs->insecure, "heartbeat", "period", bs->hb_period,
                                      "timeout", bs->hb_timeout, "brokers", brokers) : NULL;
    if (!doc) {
        coord_fail(n, "out of memory");
        return;
    }
    for (int i = 0; i < n->csize; i++) {
        json_t *m = about(n->job, n->name);
        if (m)
            json_object_set(m, "bootstrap", doc);
        if (m && c->tls)
            json_object_set(m, "tls", c->tls);
        net_send(n->ns, c->ranks[i], "nest.peers", m);
    }
    json_decref(doc);
}

/* A part's report, at the leader. */
static void coord_msg(struct nest *n, int from, const char *type, json_t *msg)
{
    struct nest_coord *c = n->coord;
    json_int_t crank = json_integer_value(json_object_get(msg, "crank"));
    if (crank < 0 || crank >= n->csize || c->ranks[crank] != from) {
        syslog(LOG_WARNING, "nested instance %s/%s: %s from rank %d names no part of it",
               job_get_idstr(n->job), n->name, type, from);
        return;
    }
    unsigned char *f = &c->flags[crank];
    if (!strcmp(type, "nest.url")) {
        const char *bind = json_string_value(json_object_get(msg, "bind"));
        const char *conn = json_string_value(json_object_get(msg, "connect"));
        json_t *tls = json_object_get(msg, "tls");
        if ((*f & COORD_URL) || n->state != NEST_STARTING)
            return;
        bool need_tls = !n->ns->net_bs->insecure;
        if (crank == 0 ? need_tls && !json_is_object(tls) : !bind || !conn)
            return;
        if (crank == 0)
            c->tls = need_tls ? json_incref(tls) : NULL;
        else if (!(c->binds[crank] = strdup(bind)) || !(c->connects[crank] = strdup(conn))) {
            coord_fail(n, "out of memory");
            return;
        }
        *f |= COORD_URL;
        /* every broker waits for the list (so each can be told), and over
         * TLS the child's leader's credentials go with it */
        if (++c->nurl == n->csize)
            send_peers(n);
    } else if (!strcmp(type, "nest.ready")) {
        if (*f & COORD_READY)
            return;
        *f |= COORD_READY;
        if (++c->nready == n->csize && n->state == NEST_STARTING) {
            n->state = NEST_LIVE;
            ev_timer_cancel(n->ns->loop, c->timer);
            c->timer = 0;
            nest_coord_answer(n, 0, NULL);
        }
    } else if (!strcmp(type, "nest.status")) {
        if (crank == 0)
            n->active = (int)json_integer_value(json_object_get(msg, "active"));
    } else if (!strcmp(type, "nest.failed")) {
        const char *why = json_string_value(json_object_get(msg, "why"));
        char text[400];
        snprintf(text, sizeof(text), "on %s: %s", c->hosts[crank], why && *why ? why
                 : "its broker exited while starting");
        coord_fail(n, text);
    } else if (!strcmp(type, "nest.stopped")) {
        if (*f & COORD_STOPPED)
            return;
        *f |= COORD_STOPPED;
        if (++c->nstopped == n->csize && n->state == NEST_STOPPING)
            coord_stopped(n);
    }
}

int nest_net_start(struct nest *n, struct errmsg *err)
{
    struct nest_coord *c = n->coord;
    (void)err;
    arm(n, COORD_START_WAIT);
    for (int i = 0; i < n->csize && n->state == NEST_STARTING; i++) {
        json_t *m = about(n->job, n->name);
        char gens[32] = "";
        if (i == 0)
            snprintf(gens, sizeof(gens), "%u:%u", n->gens.first, n->gens.count);
        if (m && json_object_update_new(m, json_pack("{s:i s:i s:i s:i s:O s:s}", "uid", (int)n->uid,
                                                 "gid", (int)n->gid, "crank", i, "csize",
                                                 n->csize, "R", c->Rs[i], "gens", gens)) < 0) {
            json_decref(m);
            m = NULL;
        }
        if (net_send(n->ns, c->ranks[i], "nest.start", m) < 0 && n->state == NEST_STARTING) {
            char why[300];
            snprintf(why, sizeof(why), "cannot reach the broker on %s (rank %d)", c->hosts[i],
                     c->ranks[i]);
            coord_fail(n, why);
        }
    }
    return 0;
}

int nest_net_create(struct nests *ns, struct job *job, const char *name, uid_t uid,
                    nest_done_f done, void *arg, int req_rank, uint64_t req_token,
                    struct errmsg *err)
{
    struct nodes nd;
    int slot = nest_check(ns, job, name, uid, err);
    if (slot < 0)
        return slot;
    int rc = job_nodes(ns, job, &nd, err);
    if (rc < 0)
        return rc;
    if (!nodes_have(&nd, req_rank)) {
        rc = not_here(job, &nd, err);
        nodes_free(&nd);
        return rc;
    }
    struct genblock gens = { 0, 0 };
    rc = nest_pick_generators(ns, &gens);
    struct nest *n = rc == 0 || (rc == -ENOSPC && ns->ask) ? calloc(1, sizeof(*n)) : NULL;
    struct nest_coord *c = n ? calloc(1, sizeof(*c)) : NULL;
    if (!c) {
        nodes_free(&nd);
        free(n);
        return errmsg_set(err, rc == 0 || rc == -ENOMEM ? -ENOMEM : rc, rc == 0 || rc == -ENOMEM
                          ? "out of memory" : "no job id generator left for a nested instance");
    }
    n->coord = c;
    n->csize = nd.n;
    c->ranks = nd.ranks;
    c->hosts = nd.hosts;
    c->Rs = nd.Rs;
    c->binds = calloc((size_t)nd.n, sizeof(char *));
    c->connects = calloc((size_t)nd.n, sizeof(char *));
    c->flags = calloc((size_t)nd.n, 1);
    c->req_rank = req_rank;
    c->req_token = req_token;
    n->gens = gens;
    if (rc == -ENOSPC)
        n->gen_req = ++ns->nreq;
    snprintf(n->name, sizeof(n->name), "%s", name);
    n->ns = ns;
    n->job = job;
    n->slot = slot;
    n->uid = job_get_uid(job);
    n->gid = job_get_gid(job);
    n->ctime = ev_now(ns->loop);
    n->pidfd = -1;
    n->dirfd = -1;
    n->state = NEST_STARTING;
    n->done = done;
    n->done_arg = arg;
    if (!c->binds || !c->connects || !c->flags) {
        nest_coord_free(c, n->csize);
        free(n);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    if (n->gen_req && (rc = ns->ask(ns->ask_arg, n->gen_req)) < 0) {
        nest_coord_free(c, n->csize);
        free(n);
        return errmsg_set(err, rc, "cannot ask the parent instance for job id generators");
    }
    /* in the list first: a part here may answer at once */
    n->next = ns->list;
    ns->list = n;
    if (n->gen_req)
        nest_wait_generators(n);
    else
        nest_net_start(n, err);
    return 0;
}

int nest_net_remove(struct nests *ns, struct job *job, const char *name, uid_t uid, bool force,
                    nest_done_f done, void *arg, int req_rank, uint64_t req_token,
                    struct errmsg *err)
{
    struct nest *n = coord_lookup(ns, job, name);
    if (!n)
        return 1;   /* not one across nodes */
    int rc = nest_remove_check(n, uid, force, err);
    if (rc < 0)
        return rc;
    if (n->coord->req_rank)
        return errmsg_set(err, -EBUSY, "nested instance '%s' is busy", name);
    n->done = done;
    n->done_arg = arg;
    n->coord->req_rank = req_rank;
    n->coord->req_token = req_token;
    nest_net_stop(n, force);
    return 0;
}

bool nest_net_job_ending(struct nest *n)
{
    if (n->state == NEST_STARTING) {
        n->coord->failed = true;
        nest_coord_answer(n, -EINVAL, "the job ended before the nested instance started");
        nest_net_stop(n, true);
    } else if (n->state == NEST_LIVE)
        nest_net_stop(n, true);
    return n->state == NEST_STOPPING;
}

/* ---- a part (any broker, the leader too) ---- */

static void part_report(struct nests *ns, uint64_t id, const char *name, int crank,
                        const char *type, json_t *extra)
{
    json_t *m = json_pack("{s:I s:s s:i}", "id", (json_int_t)id, "name", name, "crank", crank);
    if (m && extra)
        json_object_update(m, extra);
    json_decref(extra);
    net_send(ns, 0, type, m);
}

static void report(struct nest *n, const char *type, json_t *extra)
{
    if (n->job)
        part_report(n->ns, job_get_id(n->job), n->name, n->crank, type, extra);
    else
        json_decref(extra);
}

/* The url our parent in the child dials for a part listening at url: the
 * port it got, at the address our own parent dials us at. */
static int connect_url(struct nests *ns, const char *url, char *buf, size_t size)
{
    const struct bootstrap_broker *me = &ns->net_bs->brokers[ns->net_rank];
    const char *port = strrchr(url, ':');
    if (!strncmp(url, "ipc://", 6))
        return snprintf(buf, size, "%s", url) < (int)size ? 0 : -ENAMETOOLONG;
    if (!port || !strstr(url, "://"))
        return -EINVAL;
    const char *tmpl = me->connect ? me->connect : me->bind;
    const char *colon = tmpl ? strrchr(tmpl, ':') : NULL;
    int len = colon && colon > strstr(tmpl, "://")
              ? snprintf(buf, size, "%.*s%s", (int)(colon - tmpl), tmpl, port)
              : snprintf(buf, size, "%.*s://%s%s", (int)(strstr(url, "://") - url), url,
                         me->host, port);
    return len > 0 && (size_t)len < size ? 0 : -ENAMETOOLONG;
}

void nest_net_bind(struct nests *ns, char *buf, size_t size)
{
    const struct bootstrap_broker *me = &ns->net_bs->brokers[ns->net_rank];
    const char *own = me->bind ? me->bind : me->connect;
    const char *sep = own ? strstr(own, "://") : NULL;
    const char *colon = own ? strrchr(own, ':') : NULL;
    if (own && !strncmp(own, "ipc://", 6))
        snprintf(buf, size, "ipc://");
    else if (sep && colon > sep)
        snprintf(buf, size, "%.*s:0", (int)(colon - own), own);
    else
        snprintf(buf, size, "%s://0.0.0.0:0", ns->net_bs->insecure ? "tcp" : "tls+tcp");
}

void nest_part_msg(struct nest *n, const char *type, json_t *msg)
{
    if (!strcmp(type, "url")) {
        const char *url = json_string_value(json_object_get(msg, "url"));
        char conn[600];
        json_t *tls = json_object_get(msg, "tls");
        if (n->crank == 0) {
            /* the child's leader listens for nobody, but it is waiting for
             * the list now (and over TLS it made the credentials the
             * others need) */
            if (n->state == NEST_STARTING)
                report(n, "nest.url", json_is_object(tls) ? json_pack("{s:O}", "tls", tls)
                                                          : NULL);
            return;
        }
        if (n->state != NEST_STARTING || !url || strlen(url) > 500
            || connect_url(n->ns, url, conn, sizeof(conn)) < 0) {
            report(n, "nest.failed", json_pack("{s:s}", "why", "its broker listens at no "
                                               "usable address"));
            return;
        }
        report(n, "nest.url", json_pack("{s:s s:s}", "bind", url, "connect", conn));
    } else if (!strcmp(type, "ready"))
        report(n, "nest.ready", NULL);
    else if (!strcmp(type, "status") && n->crank == 0)
        report(n, "nest.status", json_pack("{s:i}", "active", n->active));
}

void nest_part_exited(struct nest *n, const char *why)
{
    report(n, "nest.failed", json_pack("{s:s}", "why", why && *why ? why
                                       : "its broker exited while starting"));
}

void nest_part_archived(struct nest *n)
{
    report(n, "nest.stopped", NULL);
}

static struct nest *part_lookup(struct nests *ns, const struct job *job, const char *name)
{
    struct nest *n = job ? nest_lookup(ns, job, name) : NULL;
    return n && n->part ? n : NULL;
}

static void part_start(struct nests *ns, uint64_t id, const char *name, json_t *msg);

static void part_wait_free(struct part_wait *w)
{
    struct part_wait **pp = &w->ns->waits;
    while (*pp && *pp != w)
        pp = &(*pp)->next;
    if (*pp)
        *pp = w->next;
    if (w->timer)
        ev_timer_cancel(w->ns->loop, w->timer);
    json_decref(w->msg);
    free(w);
}

/* The leader saw the job running before our replica did: look again. */
static void on_part_wait(struct ev_loop *loop, uint64_t tid, void *arg)
{
    struct part_wait *w = arg;
    struct nests *ns = w->ns;
    (void)tid;
    w->timer = 0;
    if (!ns->net_lookup(ns->net_arg, w->id) && !ns->shutdown
        && ev_now(loop) - w->since < NEST_PART_JOB_WAIT) {
        w->timer = ev_timer_add(loop, 0.05, on_part_wait, w);
        return;
    }
    json_t *msg = json_incref(w->msg);
    uint64_t id = w->id;
    char name[NEST_NAME_MAX + 1];
    memcpy(name, w->name, sizeof(name));
    part_wait_free(w);
    part_start(ns, id, name, msg);   /* the job, or why not */
    json_decref(msg);
}

/* A stop (or our end) for a part still waiting for its job: it never starts. */
static bool part_wait_drop(struct nests *ns, uint64_t id, const char *name)
{
    for (struct part_wait *w = ns->waits; w; w = w->next)
        if (w->id == id && !strcmp(w->name, name)) {
            part_wait_free(w);
            return true;
        }
    return false;
}

void nest_net_waits_free(struct nests *ns)
{
    while (ns->waits)
        part_wait_free(ns->waits);
}

static void part_start(struct nests *ns, uint64_t id, const char *name, json_t *msg)
{
    struct job *job = ns->net_lookup(ns->net_arg, id);
    struct part_wait *w;
    bool waiting = false;
    for (w = ns->waits; w; w = w->next)
        waiting |= w->id == id && !strcmp(w->name, name);
    /* a follower's replica can be behind the leader that sent this: the
     * job comes (the mkdir waits for every part, COORD_START_WAIT) */
    if (!job && !waiting && ns->net_rank != 0 && !ns->shutdown
        && !json_is_true(json_object_get(msg, "waited")) && (w = calloc(1, sizeof(*w)))) {
        w->ns = ns;
        w->id = id;
        snprintf(w->name, sizeof(w->name), "%s", name);
        w->msg = json_copy(msg);
        w->since = ev_now(ns->loop);
        if (w->msg && json_object_set_new(w->msg, "waited", json_true()) == 0
            && (w->timer = ev_timer_add(ns->loop, 0.05, on_part_wait, w))) {
            w->next = ns->waits;
            ns->waits = w;
            syslog(LOG_INFO, "nested instance %llu/%s: job not here yet, waiting for it",
                   (unsigned long long)id, name);
            return;
        }
        json_decref(w->msg);
        free(w);
    }
    struct errmsg err = { "" };
    int crank = (int)json_integer_value(json_object_get(msg, "crank"));
    int csize = (int)json_integer_value(json_object_get(msg, "csize"));
    const char *gens = json_string_value(json_object_get(msg, "gens"));
    json_t *R = json_object_get(msg, "R");
    char *Rtext = NULL;
    struct nest *n = NULL;
    int rc;
    if (!job)
        rc = errmsg_set(&err, -ENOENT, "the job is not known there yet");
    else if (ns->shutdown)
        rc = errmsg_set(&err, -ESHUTDOWN, "its broker is shutting down");
    else if (nest_lookup(ns, job, name))
        rc = errmsg_set(&err, -EEXIST, "'%s' exists there", name);
    else if (csize < 1 || crank < 0 || crank >= csize || !json_is_object(R)
             || !(Rtext = json_dumps(R, JSON_COMPACT)))
        rc = errmsg_set(&err, -EPROTO, "a malformed nest.start");
    else if ((rc = nest_new(ns, job, name, (uid_t)json_integer_value(json_object_get(msg, "uid")),
                            (gid_t)json_integer_value(json_object_get(msg, "gid")), Rtext, &n,
                            &err)) < 0)
        n = NULL;
    else {
        n->part = true;
        n->crank = crank;
        n->csize = csize;
        if (crank == 0 && gens && genblock_parse(gens, &n->gens) < 0)
            n->gens = (struct genblock){ 0, 0 };
        if ((rc = nest_spawn(n, false, &err)) == 0) {
            n->next = ns->list;
            ns->list = n;
        }
    }
    free(Rtext);
    if (rc == 0)
        return;
    if (n)
        nest_discard(n);
    syslog(LOG_ERR, "nested instance %llu/%s: part %d: %s", (unsigned long long)id, name, crank,
           err.text);
    part_report(ns, id, name, crank, "nest.failed", json_pack("{s:s}", "why", err.text));
    part_report(ns, id, name, crank, "nest.stopped", NULL);
}

static void part_stop(struct nests *ns, uint64_t id, const char *name, json_t *msg)
{
    struct job *job = ns->net_lookup(ns->net_arg, id);
    struct nest *n = part_lookup(ns, job, name);
    bool force = json_is_true(json_object_get(msg, "force"));
    part_wait_drop(ns, id, name);   /* not started: now it never will be */
    if (!n || n->state == NEST_ARCHIVE || n->state == NEST_DEAD) {
        int crank = n ? n->crank : (int)json_integer_value(json_object_get(msg, "crank"));
        part_report(ns, id, name, crank, "nest.stopped", NULL);
        return;
    }
    /* a part of a child that failed to start leaves no history (its name
     * can be used again); one still starting never ran */
    if (json_is_true(json_object_get(msg, "discard")))
        n->discard = true;
    if (n->state == NEST_LIVE)
        n->state = NEST_STOPPING;
    if (n->state == NEST_STOPPING || n->state == NEST_STARTING) {
        nest_send_shutdown(n, force);
        nest_kill_later(n, NEST_STOP_GRACE);   /* as nests_stop: a child that hangs goes */
    }
}

static void part_peers(struct nests *ns, uint64_t id, const char *name, json_t *msg)
{
    struct nest *n = part_lookup(ns, ns->net_lookup(ns->net_arg, id), name);
    json_t *m = json_pack("{s:s s:O}", "type", "peers", "bootstrap",
                          json_object_get(msg, "bootstrap"));
    if (m && json_is_object(json_object_get(msg, "tls")))
        json_object_set(m, "tls", json_object_get(msg, "tls"));
    int rc = n && n->link && n->state == NEST_STARTING && m ? link_send(n->link, m) : -ENOENT;
    json_decref(m);
    if (rc < 0 && n)
        report(n, "nest.failed", json_pack("{s:s}", "why", "cannot tell its broker the others"));
}

/* ---- a follower's mkdir and rmdir, sent to the leader ---- */

static void req_finish(struct nest_req *r, int rc, const char *why)
{
    struct nests *ns = r->ns;
    for (struct nest_req **pp = &ns->reqs; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    if (r->timer)
        ev_timer_cancel(ns->loop, r->timer);
    if (r->done)
        r->done(r->arg, rc, why);
    free(r);
}

static void on_req_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct nest_req *r = arg;
    (void)loop;
    (void)id;
    r->timer = 0;
    req_finish(r, -ETIMEDOUT, "the leader did not answer in time (it may still be done)");
}

static int forward(struct nests *ns, const char *type, json_t *m, nest_done_f done, void *arg,
                   struct errmsg *err)
{
    struct nest_req *r = m ? calloc(1, sizeof(*r)) : NULL;
    if (!r) {
        json_decref(m);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    r->ns = ns;
    r->token = ++ns->next_token;
    r->done = done;
    r->arg = arg;
    json_object_set_new(m, "token", json_integer((json_int_t)r->token));
    if (net_send(ns, 0, type, m) < 0) {
        free(r);
        return errmsg_set(err, -EAGAIN, "cannot reach the leader (rank 0): try again");
    }
    r->timer = ev_timer_add(ns->loop, NEST_REQ_WAIT, on_req_timer, r);
    r->next = ns->reqs;
    ns->reqs = r;
    return 0;
}

int nest_net_route_create(struct nests *ns, struct job *job, const char *name, uid_t uid,
                          nest_done_f done, void *arg, struct errmsg *err)
{
    struct nodes nd;
    int rc = job_nodes(ns, job, &nd, err);
    if (rc < 0)
        return rc;
    if (!nodes_have(&nd, ns->net_rank))
        rc = not_here(job, &nd, err);
    else if (ns->net_rank == 0 && nd.n == 1)
        rc = 1;     /* on our own node alone: a child of one broker, here */
    else if (ns->net_rank == 0)
        rc = nest_net_create(ns, job, name, uid, done, arg, 0, 0, err);
    else {
        json_t *m = about(job, name);
        if (m)
            json_object_set_new(m, "uid", json_integer((json_int_t)uid));
        rc = forward(ns, "nest.mkdir", m, done, arg, err);
    }
    nodes_free(&nd);
    return rc;
}

int nest_net_route_remove(struct nests *ns, struct job *job, const char *name, uid_t uid,
                          bool force, nest_done_f done, void *arg, struct errmsg *err)
{
    if (ns->net_rank == 0)
        return nest_net_remove(ns, job, name, uid, force, done, arg, 0, 0, err);
    json_t *m = about(job, name);
    if (m && json_object_update_new(m, json_pack("{s:I s:b}", "uid", (json_int_t)uid, "force",
                                             force)) < 0) {
        json_decref(m);
        m = NULL;
    }
    return forward(ns, "nest.rmdir", m, done, arg, err);
}

/* The leader: a follower's mkdir or rmdir. */
static void leader_request(struct nests *ns, int from, const char *type, uint64_t id,
                           const char *name, json_t *msg)
{
    struct job *job = ns->net_lookup(ns->net_arg, id);
    struct errmsg err = { "" };
    uid_t uid = (uid_t)json_integer_value(json_object_get(msg, "uid"));
    uint64_t token = (uint64_t)json_integer_value(json_object_get(msg, "token"));
    int rc;
    if (!job)
        rc = errmsg_set(&err, -ENOENT, "no job %llu", (unsigned long long)id);
    else if (!strcmp(type, "nest.mkdir"))
        rc = nest_net_create(ns, job, name, uid, NULL, NULL, from, token, &err);
    else if ((rc = nest_net_remove(ns, job, name, uid, json_is_true(json_object_get(msg, "force")),
                                   NULL, NULL, from, token, &err)) > 0)
        rc = errmsg_set(&err, -ENOENT, "no nested instance '%s' on the job's nodes", name);
    if (rc < 0)
        net_send(ns, from, "nest.reply", json_pack("{s:I s:i s:s}", "token", (json_int_t)token,
                 "rc", err.text[0] ? rc : -EIO, "why", err.text));
}

void nests_net_recv(struct nests *ns, int from, const char *type, json_t *msg)
{
    const char *name = json_string_value(json_object_get(msg, "name"));
    uint64_t id = (uint64_t)json_integer_value(json_object_get(msg, "id"));
    if (!strcmp(type, "nest.reply")) {
        uint64_t token = (uint64_t)json_integer_value(json_object_get(msg, "token"));
        const char *why = json_string_value(json_object_get(msg, "why"));
        int rc = (int)json_integer_value(json_object_get(msg, "rc"));
        for (struct nest_req *r = ns->reqs; r; r = r->next) {
            if (r->token == token) {
                req_finish(r, rc > 0 ? -EIO : rc, why && *why ? why : NULL);
                return;
            }
        }
        return;
    }
    if (!name || !nest_valid_name(name)) {   /* it names a directory */
        syslog(LOG_WARNING, "nested instances: dropped a malformed %s from rank %d", type, from);
        return;
    }
    if (!strcmp(type, "nest.start"))
        part_start(ns, id, name, msg);
    else if (!strcmp(type, "nest.stop"))
        part_stop(ns, id, name, msg);
    else if (!strcmp(type, "nest.peers"))
        part_peers(ns, id, name, msg);
    else if (ns->net_rank != 0)
        syslog(LOG_WARNING, "nested instances: dropped a %s from rank %d", type, from);
    else if (!strcmp(type, "nest.mkdir") || !strcmp(type, "nest.rmdir"))
        leader_request(ns, from, type, id, name, msg);
    else {
        struct job *job = ns->net_lookup(ns->net_arg, id);
        struct nest *n = job ? coord_lookup(ns, job, name) : NULL;
        if (n)
            coord_msg(n, from, type, msg);
    }
}
