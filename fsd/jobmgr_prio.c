/* jobmgr_prio.c - the job manager's priorities and fair share
 * (fsd/priority.h, sched/fairshare.h): the bank tree kept in the store,
 * usage charged as jobs run and end, replayed from the accounting records
 * at start, and the queue reordered every interval.
 */
#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fsd/jobmgr_private.h"

/* The shared record (replicated to every broker) holding the bank tree. */
#define BANKS_KEY "banks"
/* Bytes of a bank tree written to accounting/banks. */
#define BANKS_MAX (4u << 20)

int jm_shared_json(struct jobmgr *m, const char *key, json_t **out)
{
    char *text = NULL;
    size_t len;
    *out = NULL;
    if (store_shared_get(m->st, key, &text, &len) < 0)
        return -ENOENT;
    *out = json_loadb(text, len, 0, NULL);
    free(text);
    return 0;
}

const char *jm_job_bank(const struct job *job)
{
    json_t *sys = job->js ? json_object_get(json_object_get(job->js->json, "attributes"),
                                            "system") : NULL;
    return json_string_value(json_object_get(sys, "bank"));
}

/* Usage of a running job since it was last charged, charged now. */
void jm_prio_charge_running(struct jobmgr *m, struct job *job, double now)
{
    if (job->state != JOB_RUN && job->state != JOB_CLEANUP)
        return;
    double from = job->fs_charged > job->t_run ? job->fs_charged : job->t_run;
    if (from <= 0 || now <= from)
        return;
    fairshare_charge(priority_fairshare(m->prio), job->uid, jm_job_bank(job),
                     job->ncores * (now - from), now);
    job->fs_used += job->ncores * (now - from);
    job->fs_charged = now;
}

void jm_prio_charge_end(struct jobmgr *m, struct job *job, const char *bank,
                        double core_seconds, double t_end)
{
    if (core_seconds > job->fs_used)
        fairshare_charge(priority_fairshare(m->prio), job->uid, bank,
                         core_seconds - job->fs_used, t_end);
    job->fs_used = core_seconds;
}

int64_t jm_prio_of(struct jobmgr *m, const struct job *job, struct priority_factors *f)
{
    return priority_of(m->prio, job->uid, jm_job_bank(job), job->urgency,
                       jm_queue_priority(m, job), job->t_submit, ev_now(m->loop), f);
}

static int64_t prio_cb(void *arg, uint64_t id)
{
    struct jobmgr *m = arg;
    struct job *job = jobmgr_lookup(m, id);
    if (!job)
        return 0;
    job->priority = jm_prio_of(m, job, NULL);
    return job->priority;
}

/* Usage moves on, pending jobs age: charge the running, recompute the
 * factors, reorder the queue in one sort. */
void jm_prio_update(struct jobmgr *m)
{
    double now = ev_now(m->loop);
    struct fairshare *fs = priority_fairshare(m->prio);
    if (fairshare_active(fs)) {
        for (struct job *job = jobmgr_next(m, 1); job; job = jobmgr_next(m, job->seq + 1))
            jm_prio_charge_running(m, job, now);
        fairshare_update(fs, now);
    }
    if (qmgr_pending(m->q) > 0) {
        qmgr_reprioritize(m->q, prio_cb, m);
        m->sched_needed = true;
    }
}

static void on_prio_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct jobmgr *m = arg;
    m->prio_timer = ev_timer_add(loop, priority_config(m->prio)->interval, on_prio_timer, m);
    /* the fair share moves while jobs run, the order only matters with
     * jobs queued */
    if (qmgr_pending(m->q) > 0 || fairshare_active(priority_fairshare(m->prio)))
        jm_prio_update(m);
}

/* An accounting record read back at start: its usage, decayed from its end. */
static int replay_record(void *arg, uint64_t end_ms, uint64_t id, const void *data, size_t len)
{
    struct jobmgr *m = arg;
    json_t *r = json_loadb(data, len, 0, NULL);
    json_t *uid = json_object_get(r, "userid");
    double cs = json_number_value(json_object_get(r, "core_seconds"));
    if (json_is_integer(uid) && cs > 0)
        fairshare_charge(priority_fairshare(m->prio), (uid_t)json_integer_value(uid),
                         json_string_value(json_object_get(r, "bank")), cs, end_ms / 1000.);
    json_decref(r);
    return 0;
}

/* Usage as the accounting records of what ended recently enough to still
 * count (20 half-lives: less than a millionth) and the running jobs say. */
static void rebuild_usage(struct jobmgr *m)
{
    struct fairshare *fs = priority_fairshare(m->prio);
    double now = ev_now(m->loop), from = now - 20 * priority_config(m->prio)->halflife;
    if (!fairshare_active(fs))
        return;
    /* a follower's replica has the records too (not its running jobs' cores) */
    jobmgr_acct_foreach(m, from > 0 ? from : 0, replay_record, m);
    for (struct job *job = jobmgr_next(m, 1); job; job = jobmgr_next(m, job->seq + 1)) {
        job->fs_charged = job->fs_used = 0;
        jm_prio_charge_running(m, job, now);
    }
    fairshare_update(fs, now);
}

/* A tree (the stored one, or a new one) in a fair share of its own:
 * usage is rebuilt from the records (if usage), never carried over twice. */
static int install_tree(struct jobmgr *m, json_t *tree, bool usage, struct errmsg *err)
{
    struct fairshare *fs = fairshare_create(priority_config(m->prio)->halflife);
    if (!fs)
        return errmsg_set(err, -ENOMEM, "out of memory");
    int rc = fairshare_set_tree(fs, tree, err);
    if (rc < 0) {
        fairshare_destroy(fs);
        return rc;
    }
    priority_set_fairshare(m->prio, fs);
    if (usage)
        rebuild_usage(m);
    /* what accounting/banks reads, made once (a stat must not render it) */
    free(m->banks_text);
    m->banks_text = json_dumps(fairshare_tree(fs), JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    return 0;
}

/* The tree in the store, if any, and (usage) the usage of the records. */
static void load_banks(struct jobmgr *m, bool usage)
{
    struct errmsg err = { "" };
    json_t *tree;
    if (jm_shared_json(m, BANKS_KEY, &tree) < 0)
        return;
    if (!tree || install_tree(m, tree, usage, &err) < 0)
        syslog(LOG_ERR, "the stored bank tree is unusable: %s", err.text);
    json_decref(tree);
    m->banks_mtime = ev_now(m->loop);
}

int jm_prio_init(struct jobmgr *m, const char *config, struct errmsg *err)
{
    struct priority_config pc;
    int rc = priority_config_parse(config, &pc, err);
    if (rc < 0)
        return rc;
    if (!(m->prio = priority_create(&pc)))
        return errmsg_set(err, -ENOMEM, "out of memory");
    load_banks(m, !m->cfg.replica);
    if (!m->cfg.read_only
        && !(m->prio_timer = ev_timer_add(m->loop, pc.interval, on_prio_timer, m)))
        return errmsg_set(err, -ENOMEM, "out of memory");
    return 0;
}

void jm_prio_fini(struct jobmgr *m)
{
    if (m->prio_timer)
        ev_timer_cancel(m->loop, m->prio_timer);
    m->prio_timer = 0;
    priority_destroy(m->prio);
    m->prio = NULL;
    free(m->banks_text);
    m->banks_text = NULL;
}

int jm_admit(struct jobmgr *m, struct job *job, const char *queue, size_t k, size_t n,
             struct errmsg *err)
{
    const char *resolved, *bank = jm_job_bank(job);
    struct errmsg e = { "" };
    int rc = jm_queue_admit(m, job, queue, k, n, &e);
    /* root and the instance owner never need a bank; a bank named while
     * none exist is only recorded (accounting) */
    if (rc == 0 && (job->uid == 0 || job->uid == m->owner
                    || !fairshare_active(priority_fairshare(m->prio))))
        return 0;
    if (rc == 0)
        rc = fairshare_resolve(priority_fairshare(m->prio), job->uid, bank, &resolved, &e);
    if (rc == -ENOENT)
        rc = -EPERM;   /* "no such file" would mislead whoever ran cp */
    if (rc < 0 && k > 0)
        return errmsg_set(err, rc, "job %zu of %zu: %s", k, n, e.text);
    if (rc < 0)
        return errmsg_set(err, rc, "%s", e.text);
    return 0;
}

const char *jm_prio_bank_charged(struct jobmgr *m, const struct job *job)
{
    const char *resolved = NULL;
    if (fairshare_resolve(priority_fairshare(m->prio), job->uid, jm_job_bank(job), &resolved,
                          NULL) < 0)
        return NULL;
    return resolved;
}

/* A user named in the tree: a name becomes its uid (the tree holds uids,
 * as the kernel names callers). */
static int user_key(const char *name, char *out, size_t size)
{
    char *end;
    unsigned long v = strtoul(name, &end, 10);
    if (*name && !*end && v < 4294967295ul) {
        snprintf(out, size, "%lu", v);
        return 0;
    }
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || !res)
        return -ENOENT;
    snprintf(out, size, "%u", (unsigned)pw.pw_uid);
    return 0;
}

int jobmgr_set_banks(struct jobmgr *m, uid_t uid, const char *text, size_t len,
                     struct errmsg *err)
{
    if (uid != 0 && uid != m->owner)
        return errmsg_set(err, -EPERM, "only root or the instance owner may set banks");
    if (m->cfg.read_only)
        return errmsg_set(err, -EROFS, "this instance is read-only");
    if (len > BANKS_MAX)
        return errmsg_set(err, -EFBIG, "a bank tree is at most %u bytes", BANKS_MAX);
    json_error_t jerr;
    json_t *tree = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *bank;
    size_t i;
    if (!tree)
        return errmsg_set(err, -EINVAL, "not JSON: line %d: %.100s", jerr.line, jerr.text);
    if (json_is_object(tree) && json_is_array(json_object_get(tree, "banks"))) {
        json_t *a = json_incref(json_object_get(tree, "banks"));
        json_decref(tree);
        tree = a;
    }
    int rc = 0;
    json_array_foreach(tree, i, bank) {
        json_t *users = json_object_get(bank, "users"), *named, *v;
        const char *name;
        if (!json_is_object(users))
            continue;
        named = json_object();
        json_object_foreach(users, name, v) {
            char key[32];
            if (user_key(name, key, sizeof(key)) < 0) {
                rc = errmsg_set(err, -EINVAL, "bank '%.60s': no user '%.60s'",
                                json_string_value(json_object_get(bank, "name")), name);
                break;
            }
            if (json_object_get(named, key)) {
                rc = errmsg_set(err, -EINVAL, "bank '%.60s': user '%.60s' is listed twice "
                                "(uid %s)", json_string_value(json_object_get(bank, "name")),
                                name, key);
                break;
            }
            json_object_set(named, key, v);
        }
        json_object_set_new(bank, "users", named);
        if (rc < 0)
            break;
    }
    /* checked aside, stored, and only then in force: a store that fails
     * leaves memory, the store and the followers as they were */
    struct fairshare *check = rc == 0 ? fairshare_create(1) : NULL;
    if (rc == 0 && !check)
        rc = errmsg_set(err, -ENOMEM, "out of memory");
    if (rc == 0)
        rc = fairshare_set_tree(check, tree, err);
    char *out = rc == 0 ? json_dumps(fairshare_tree(check), JSON_COMPACT) : NULL;
    if (rc == 0 && (!out || store_shared_put(m->st, BANKS_KEY, out, strlen(out)) < 0))
        rc = errmsg_set(err, -EIO, "cannot store the bank tree");
    if (rc == 0)
        rc = install_tree(m, tree, true, err);
    fairshare_destroy(check);
    free(out);
    json_decref(tree);
    if (rc == 0) {
        m->banks_mtime = ev_now(m->loop);
        m->sync_wanted = true;   /* its writer is answered once it is durable */
        jm_prio_update(m);
    }
    return rc;
}

double jobmgr_banks_mtime(struct jobmgr *m)
{
    return m->banks_mtime;
}

const char *jobmgr_banks_text(struct jobmgr *m)
{
    return m->banks_text ? m->banks_text : "[]";
}

json_t *jobmgr_banks(struct jobmgr *m)
{
    return json_incref(fairshare_tree(priority_fairshare(m->prio)));
}

void jm_prio_reload(struct jobmgr *m)
{
    load_banks(m, false);   /* usage is made when it is read */
}

json_t *jobmgr_fairshare_report(struct jobmgr *m, long uid)
{
    /* a follower charges nothing itself: the usage its replica's records
     * say, as of now */
    if (m->cfg.replica)
        load_banks(m, true);
    return fairshare_report(priority_fairshare(m->prio), uid);
}

static int last_priority(void *arg, uint32_t seq, const char *line, size_t len)
{
    static const char key[] = "\"name\":\"priority\"";
    if (memmem(line, len, key, sizeof(key) - 1)) {
        json_t *e = json_loadb(line, len, 0, NULL);
        json_t *p = json_object_get(json_object_get(e, "context"), "priority");
        if (json_is_integer(p))
            *(int64_t *)arg = json_integer_value(p);
        json_decref(e);
    }
    return 0;
}

json_t *jobmgr_job_priority(struct jobmgr *m, const struct job *job)
{
    struct priority_factors f;
    /* past the queue, or on a follower (the leader computes): the last
     * priority its eventlog holds */
    if (job->state > JOB_SCHED || m->cfg.replica) {
        int64_t p = 0;
        store_event_foreach(m->st, job->id, last_priority, &p);
        return json_pack("{s:I s:s}", "priority", (json_int_t)p, "note",
                         job->state > JOB_SCHED ? "the job left the queue with this priority"
                                                : "the priority the leader last posted");
    }
    int64_t p = jm_prio_of(m, job, &f);
    json_t *o = priority_factors_json(m->prio, &f);
    const char *bank = jm_prio_bank_charged(m, job), *queue = jm_queue_name(m, job);
    if (o && bank)
        json_object_set_new(o, "bank", json_string(bank));
    if (o && queue)
        json_object_set_new(o, "queue", json_string(queue));
    char why[160];
    if (o && jm_job_waits_for(m, job, why, sizeof(why)))
        json_object_set_new(o, "waiting", json_string(why));
    (void)p;
    return o;
}
