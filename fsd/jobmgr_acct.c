/* jobmgr_acct.c - reading the accounting records (fsd/acct.h): walks in
 * end order, a user's alone, and usage totals summed off the loop. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/usage.h"
#include "common/workq.h"
#include "fsd/acct.h"
#include "fsd/jobmgr_private.h"
#include "fsd/store.h"

int jobmgr_acct_foreach(struct jobmgr *m, double since, jobmgr_acct_f cb, void *arg)
{
    return store_acct_foreach(m->st, since > 0 ? (uint64_t)(since * 1000) : 0, 0, cb, arg);
}

struct only {
    long uid;
    jobmgr_acct_f cb;
    void *arg;
};

static int only_uid(void *arg, uint64_t end_ms, uint64_t id, const void *data, size_t len)
{
    struct only *o = arg;
    return acct_record_uid(data, len) == o->uid ? o->cb(o->arg, end_ms, id, data, len) : 0;
}

int jobmgr_acct_foreach_from(struct jobmgr *m, uint64_t from_ms, uint64_t from_id, long uid,
                             jobmgr_acct_f cb, void *arg)
{
    if (uid < 0)
        return store_acct_foreach(m->st, from_ms, from_id, cb, arg);
    struct only o = { uid, cb, arg };
    return store_acct_foreach(m->st, from_ms, from_id, only_uid, &o);
}

/* A usage walk: made on the loop, walked on the worker (which touches only
 * this and a read transaction of its own), finished on the loop. The
 * worker sees what LMDB has committed, which with the redo log on is up to
 * a checkpoint (a third of a second) behind: the loop then adds the records
 * after the last one it saw, from its own view. */
struct usage_walk {
    struct jobmgr *m;
    long uid;
    struct usage_sum *sum;
    uint64_t last_ms, last_id;   /* the last record summed, if any */
    bool any;
    int rc;
    json_t *names;               /* uid (text) -> user name, looked up on the worker */
    jobmgr_usage_f done;
    void *arg;
};

static int usage_one(void *arg, uint64_t end_ms, uint64_t id, const void *data, size_t len)
{
    struct usage_walk *w = arg;
    w->last_ms = end_ms;
    w->last_id = id;
    w->any = true;
    if (w->uid >= 0 && acct_record_uid(data, len) != w->uid)
        return 0;
    json_t *r = json_loadb(data, len, 0, NULL);
    int rc = r ? usage_sum_add(w->sum, r) : 0;
    json_decref(r);
    return rc;
}

/* A user's name, or the uid as text (borrowed from names): the user
 * database may be a directory service (sssd, LDAP) that takes its time, so
 * it is asked on the worker (and on the loop only for a user the worker
 * did not see). */
static json_t *user_name(json_t *names, json_int_t uid)
{
    char key[24], buf[1024];
    struct passwd pw, *res = NULL;
    snprintf(key, sizeof(key), "%lld", (long long)uid);
    json_t *name = json_object_get(names, key);
    if (name)
        return name;
    bool known = getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) == 0 && res;
    json_object_set_new(names, key, json_string(known ? pw.pw_name : key));
    return json_object_get(names, key);
}

/* Each row's user name; with set, put in the row as "user" too. */
static void name_rows(json_t *names, json_t *rows, bool set)
{
    json_t *row;
    size_t i;
    json_array_foreach(rows, i, row) {
        json_t *name = user_name(names, json_integer_value(json_object_get(row, "userid")));
        if (set)
            json_object_set(row, "user", name);
    }
}

static void usage_walk(void *arg)
{
    struct usage_walk *w = arg;
    w->rc = store_acct_walk(w->m->st, 0, 0, usage_one, w);
    json_t *rows = w->rc == 0 ? usage_sum_totals(w->sum) : NULL;
    name_rows(w->names, rows, false);
    json_decref(rows);
}

static void usage_walked(void *arg, bool canceled)
{
    struct usage_walk *w = arg;
    json_t *totals = NULL;
    int rc = canceled ? -ECANCELED : w->rc;
    if (rc == 0 && w->any)   /* what came after the worker's snapshot */
        rc = store_acct_foreach(w->m->st, w->last_id == UINT64_MAX ? w->last_ms + 1 : w->last_ms,
                                w->last_id == UINT64_MAX ? 0 : w->last_id + 1, usage_one, w);
    else if (rc == 0)
        rc = store_acct_foreach(w->m->st, 0, 0, usage_one, w);
    if (rc == 0 && !(totals = usage_sum_totals(w->sum)))
        rc = -ENOMEM;
    /* each row's user name: the worker's, or (a user new since) asked now */
    name_rows(w->names, totals, true);
    w->done(w->arg, rc, totals);
    json_decref(totals);
    json_decref(w->names);
    usage_sum_destroy(w->sum);
    free(w);
}

int jobmgr_acct_usage(struct jobmgr *m, long uid, jobmgr_usage_f done, void *arg)
{
    if (!m->acct_walker && !(m->acct_walker = workq_create(m->loop, "fluxfs-acct")))
        return -errno;
    struct usage_walk *w = calloc(1, sizeof(*w));
    if (!w || !(w->sum = usage_sum_create(0, 0)) || !(w->names = json_object())) {
        if (w)
            usage_sum_destroy(w->sum);
        free(w);
        return -ENOMEM;
    }
    w->m = m;
    w->uid = uid;
    w->done = done;
    w->arg = arg;
    int rc = workq_push(m->acct_walker, usage_walk, usage_walked, w);
    if (rc < 0) {
        usage_sum_destroy(w->sum);
        json_decref(w->names);
        free(w);
    }
    return rc;
}
