/* nest_gens.c - job-id generators for nested instances (doc/tree.md "Job
 * IDs"): a child gets a block carved from ours (fsd/genblock.h); when ours
 * is used up, we ask our parent, which lends from its block or asks its
 * own parent, up to the root; a stopped child's loans go back the same way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "common/vec.h"
#include "fsd/nest_private.h"

/* A block of our generators no live child's subtree uses. 0 or -ENOSPC,
 * -ENOMEM. */
int nest_pick_generators(struct nests *ns, struct genblock *out)
{
    size_t nused = 0, alloc = 0;
    struct genblock *used = NULL;
    int rc = 0;
    for (struct nest *x = ns->list; x && rc == 0; x = x->next) {
        /* a history broker mints nothing: its block is free again */
        if (x->state != NEST_STARTING && x->state != NEST_LIVE && x->state != NEST_STOPPING)
            continue;
        if (vec_grow(&used, &alloc, nused + 1 + x->nloans, sizeof(*used)) < 0) {
            rc = -ENOMEM;
            break;
        }
        if (!x->gen_req)
            used[nused++] = x->gens;
        for (size_t k = 0; k < x->nloans; k++)
            used[nused++] = x->loans[k];
    }
    if (rc == 0)
        rc = genblock_child(&ns->cfg.gens, used, nused, out);
    free(used);
    return rc;
}


/* A child still waiting for generators will not start: its mkdir fails. */
void nest_abandon_waiting(struct nest *n, int rc, const char *why)
{
    n->gen_req = 0;
    if (n->timer) {
        ev_timer_cancel(n->ns->loop, n->timer);
        n->timer = 0;
    }
    n->state = NEST_DEAD;
    if (n->coord)
        nest_coord_answer(n, rc, why);   /* perhaps a follower's mkdir */
    else
        nest_answer(n, rc, why);
}

static void on_gen_timeout(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct nest *n = arg;
    n->timer = 0;
    nest_abandon_waiting(n, -ETIMEDOUT, "the parent instance did not grant job id generators");
}

/* Generators lent from above that nobody here will use go back up. */
static void give_back(struct nests *ns, const struct genblock *b)
{
    if (ns->give_back)
        ns->give_back(ns->ask_arg, b);
}

/* Our parent answered request req: a block, or rc < 0. */
void nests_granted(struct nests *ns, uint64_t req, int rc, const struct genblock *b)
{
    for (struct nest *n = ns->list; n; n = n->next) {
        if (n->gen_req != req)
            continue;
        struct errmsg err = { "" };
        if (n->timer) {
            ev_timer_cancel(ns->loop, n->timer);
            n->timer = 0;
        }
        n->gen_req = 0;
        bool granted = rc == 0;
        if (rc == 0 && !ns->shutdown) {
            n->gens = *b;
            rc = nest_start_child(n, &err);
        } else if (rc == 0)
            rc = errmsg_set(&err, -ESHUTDOWN, "the instance is shutting down");
        else
            errmsg_set(&err, rc, "no job id generator left in this tree of instances for "
                       "a nested instance");
        if (rc < 0) {
            n->gens.count = 0;
            if (granted)
                give_back(ns, b);
            nest_abandon_waiting(n, rc, err.text);
        }
        return;
    }
    for (struct gen_forward **pp = &ns->forwards; *pp; pp = &(*pp)->next) {
        struct gen_forward *f = *pp;
        if (f->req != req)
            continue;
        *pp = f->next;
        if (f->child) {
            f->child->asking--;
            nest_give_generators(f->child, f->child_req, rc, b);
        }
        else if (rc == 0)
            give_back(ns, b);   /* its asker is gone */
        free(f);
        return;
    }
    if (rc == 0)
        give_back(ns, b);   /* an answer that came too late (timed out) */
}

static int add_block(struct genblock **v, size_t *n, size_t *alloc, const struct genblock *b)
{
    if (vec_grow(v, alloc, *n + 1, sizeof(**v)) < 0)
        return -ENOMEM;
    (*v)[(*n)++] = *b;
    return 0;
}

/* Take b (exactly) out of v; whether it was there. */
static bool take_block(struct genblock *v, size_t *n, const struct genblock *b)
{
    for (size_t k = 0; k < *n; k++) {
        if (v[k].first == b->first && v[k].count == b->count) {
            v[k] = v[--*n];
            return true;
        }
    }
    return false;
}

void nest_give_generators(struct nest *n, uint64_t req, int rc, const struct genblock *b)
{
    struct nests *ns = n->ns;
    bool ours = rc == 0 && nest_in_block(&ns->cfg.gens, b);
    json_t *msg;
    if (rc == 0 && (n->state != NEST_LIVE || !n->link)) {
        rc = -ESRCH;   /* it cannot take them: what came from above goes back */
        if (!ours)
            give_back(ns, b);
    } else if (rc == 0) {
        /* its subtree holds them until it gives them back or stops */
        rc = ours ? add_block(&n->loans, &n->nloans, &n->aloans, b)
                  : add_block(&n->above, &n->nabove, &n->aabove, b);
        if (rc < 0 && !ours)
            give_back(ns, b);
        if (rc == 0)
            syslog(LOG_INFO, "job id generators %u:%u lent to nested instance %s/%s",
                   b->first, b->count, n->job ? job_get_idstr(n->job) : "-", n->name);
    }
    if (rc == 0)
        msg = json_pack("{s:s s:I s:i s:i s:i}", "type", "gen-grant", "req", (json_int_t)req,
                        "rc", 0, "first", (int)b->first, "count", (int)b->count);
    else
        msg = json_pack("{s:s s:I s:i}", "type", "gen-grant", "req", (json_int_t)req, "rc", rc);
    if (msg && n->link)
        link_send(n->link, msg);
    json_decref(msg);
}

void nest_return_generators(struct nest *n)
{
    for (size_t k = 0; k < n->nabove; k++)
        give_back(n->ns, &n->above[k]);
    n->nabove = 0;
    n->nloans = 0;   /* ours are free again as it no longer counts */
}

void nests_set_asker(struct nests *ns, nests_ask_f ask, nests_return_f give_back, void *arg)
{
    ns->ask = ask;
    ns->give_back = give_back;
    ns->ask_arg = arg;
}

bool nest_in_block(const struct genblock *block, const struct genblock *b)
{
    return b->first > block->first && b->first < block->first + block->count;
}

void nests_returned(struct nests *ns, struct nest *n, const struct genblock *b)
{
    /* only what was given to that child, exactly, is taken back */
    if (take_block(n->loans, &n->nloans, b))
        return;
    if (take_block(n->above, &n->nabove, b))
        give_back(ns, b);   /* lent to us from above for it: back up */
}

void nest_gen_msg(struct nest *n, const char *type, json_t *msg)
{
    if (!strcmp(type, "gen-return")) {
        struct genblock b = {
            .first = (uint32_t)json_integer_value(json_object_get(msg, "first")),
            .count = (uint32_t)json_integer_value(json_object_get(msg, "count")),
        };
        nests_returned(n->ns, n, &b);
        return;
    }
    /* gen-request: the child's own generators are used up: ours, or our
     * parent's */
    uint64_t req = (uint64_t)json_integer_value(json_object_get(msg, "req"));
    struct nests *ns = n->ns;
    struct genblock b;
    /* a part of a child across nodes got its block from our leader, which
     * alone knows what else it gave out: none from here */
    int rc = n->part ? -ENOSPC
           : ns->shutdown ? -ESHUTDOWN
           : n->state != NEST_LIVE ? -EAGAIN
           : n->asking > 0 ? -EBUSY                       /* one at a time */
           : n->nloans + n->nabove >= NEST_LOANS_MAX ? -ENOSPC
           : nest_pick_generators(ns, &b);
    struct gen_forward *f = NULL;
    if (rc == -ENOSPC && n->nloans + n->nabove < NEST_LOANS_MAX && ns->ask &&
        (f = calloc(1, sizeof(*f)))) {
        *f = (struct gen_forward){ n, req, ++ns->nreq, ns->forwards };
        if (ns->ask(ns->ask_arg, f->req) == 0) {
            ns->forwards = f;
            n->asking++;
            return;
        }
        free(f);
    }
    nest_give_generators(n, req, rc, &b);
}

void nest_wait_generators(struct nest *n)
{
    n->timer = ev_timer_add(n->ns->loop, NEST_START_TIMEOUT, on_gen_timeout, n);
}
