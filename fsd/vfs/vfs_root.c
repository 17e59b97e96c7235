/* vfs_root.c - the instance root: queue/ jobs/ resources/ status
 * status.json README. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsd/queues.h"
#include "fsd/vfs/vfs_private.h"

#define TREE_VERSION 2
#ifndef FLUXFS_PROJECT_VERSION            /* set by meson from project() */
#define FLUXFS_PROJECT_VERSION "unknown"
#endif

static const char readme_text[] =
    "This is a fluxfs instance: a workload manager you use with files.\n"
    "\n"
    "  queue/      submit: cp job.yaml queue/   (a Flux jobspec, YAML or JSON)\n"
    "              or open queue/new read-write, write the jobspec, read the job id\n"
    "              queue/errors: why your last submissions were rejected\n"
    "              queue/NAME/: a named queue (cp job.yaml queue/NAME/); its config,\n"
    "              ctl (start, stop, enable, disable) and status; root: mkdir, rmdir\n"
    "  jobs/<id>/  one directory per job: state, eventlog, jobspec, R, stdout,\n"
    "              stderr, result, wait (blocks until the job ends), ctl,\n"
    "              priority (its number, factors, and what it waits for)\n"
    "              echo cancel > jobs/<id>/ctl   (also: signal N, urgency N, release HOSTS)\n"
    "  resources/  the resource graph as a tree: cat a vertex (or its state)\n"
    "              for its status and which jobs hold or reserved it, until when\n"
    "  status      instance summary: jobs by state, cores in use, uptime\n"
    "  status.json the same as one JSON object\n"
    "  events      every job's every event, in order: tail -f events\n"
    "  accounting/ jobs: a record of every ended job (JSON lines), kept after it\n"
    "              is purged; usage, usage.csv: totals by user and bank;\n"
    "              banks: the bank tree (root writes it); fairshare: shares, usage\n"
    "\n"
    "Full reference: doc/tree.md in the fluxfs sources (tree version 2).\n";

struct fixed_entry {
    const char *name;
    fuse_ino_t ino;
};

static const struct fixed_entry root_entries[] = {
    { "README", VFS_I_README },
    { "accounting", VFS_I_ACCT },
    { "events", VFS_I_EVENTS },
    { "joblist", VFS_I_JOBLIST },
    { "jobs", VFS_I_JOBS },
    { "queue", VFS_I_QUEUE },
    { "resources", VFS_I_RESOURCES },
    { "status", VFS_I_STATUS },
    { "status.json", VFS_I_STATUS_JSON },
};

#define NROOT (sizeof(root_entries) / sizeof(root_entries[0]))

/* The facts status and status.json both show, taken at one instant. */
struct status_facts {
    double uptime;                  /* seconds */
    char started[32];               /* ISO 8601 UTC, 2026-11-27T07:59:54Z */
    int nodes, cores, cores_free, gpus;
    size_t jobs;                    /* all known jobs */
    size_t count[JOB_NSTATES];
};

static void status_facts(struct vfs *v, struct status_facts *f)
{
    struct jobmgr *m = v->m;
    struct vfs_res_totals rt;
    double t0 = jobmgr_start_time(m);
    time_t t = (time_t)t0;
    struct tm tm;

    f->uptime = ev_now(v->loop) - t0;
    if (f->uptime < 0)
        f->uptime = 0;
    if (!gmtime_r(&t, &tm) ||
        strftime(f->started, sizeof(f->started), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        strcpy(f->started, "unknown");
    /* the scheduler's graph, as resources/summary counts it */
    vfs_res_totals(v, &rt);
    f->nodes = (int)rt.nodes;
    f->cores = (int)rt.cores;
    f->cores_free = (int)rt.cores_free;
    f->gpus = (int)rt.gpus;
    f->jobs = 0;
    for (int i = 0; i < JOB_NSTATES; i++) {
        f->count[i] = jobmgr_count(m, i);
        f->jobs += f->count[i];
    }
}

/* A state's name as a key: lowercase, "SCHED" -> "sched". */
static const char *state_key(int s, char *key, size_t size)
{
    const char *name = job_state_name(s);
    size_t k;
    for (k = 0; name[k] && k < size - 1; k++)
        key[k] = (char)(name[k] | 0x20);
    key[k] = '\0';
    return key;
}

/* "45s", "3m 12s", "2h 0m 5s", "4d 2h 3m 12s" */
static void add_duration(struct strbuf *sb, double seconds)
{
    unsigned long long s = (unsigned long long)seconds;
    unsigned long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
    if (d)
        strbuf_addf(sb, "%llud %lluh %llum ", d, h, m);
    else if (h)
        strbuf_addf(sb, "%lluh %llum ", h, m);
    else if (m)
        strbuf_addf(sb, "%llum ", m);
    strbuf_addf(sb, "%llus", s % 60);
}

static void render_status(struct vfs *v, struct strbuf *sb)
{
    struct status_facts f;
    char key[16];
    status_facts(v, &f);
    strbuf_addf(sb, "tree-version: %d\n", TREE_VERSION);
    strbuf_addf(sb, "uptime: %.1f\n", f.uptime);
    strbuf_addf(sb, "uptime-human: ");
    add_duration(sb, f.uptime);
    strbuf_addf(sb, "\nstarted: %s\n", f.started);
    strbuf_addf(sb, "nodes: %d\n", f.nodes);
    strbuf_addf(sb, "cores: %d\n", f.cores);
    strbuf_addf(sb, "cores-free: %d\n", f.cores_free);
    strbuf_addf(sb, "gpus: %d\n", f.gpus);
    strbuf_addf(sb, "jobs: %zu\n", f.jobs);
    for (int i = 0; i < JOB_NSTATES; i++)
        strbuf_addf(sb, "%s: %zu\n", state_key(i, key, sizeof(key)), f.count[i]);
    strbuf_addf(sb, "parsing: %zu\n", jobmgr_parsing(v->m));
    char why[128];
    strbuf_addf(sb, "containment: %s\n", jobmgr_containment(v->m, why, sizeof(why)));
    json_t *ov = v->status_extra ? v->status_extra(v->status_extra_arg) : NULL;
    if (ov) {
        /* "overlay-rank: 0", then one line per rank on the leader:
         * "overlay.3: host=n3 state=up parent=1 children=7,8" */
        strbuf_addf(sb, "overlay-rank: %d\noverlay-size: %d\noverlay-state: %s\n",
                    (int)json_integer_value(json_object_get(ov, "rank")),
                    (int)json_integer_value(json_object_get(ov, "size")),
                    json_string_value(json_object_get(ov, "state")));
        json_t *rtt = json_object_get(ov, "rtt_ms");
        if (rtt)   /* a follower: its round trip to the leader, hop by hop */
            strbuf_addf(sb, "overlay-rtt-ms: %.3f\n", json_number_value(rtt));
        /* the copy of the leader's jobs (fsd/replica.h) */
        json_t *rp = json_object_get(ov, "replica");
        if (rp) {
            strbuf_addf(sb, "replica-state: %s\nreplica-seq: %lld\n",
                        json_string_value(json_object_get(rp, "state")),
                        (long long)json_integer_value(json_object_get(rp, "seq")));
            if (json_object_get(rp, "lag_ms"))
                strbuf_addf(sb, "replica-lag-ms: %.3f\nreplica-lag-max-ms: %.3f\n",
                            json_number_value(json_object_get(rp, "lag_ms")),
                            json_number_value(json_object_get(rp, "lag_max_ms")));
        }
        size_t i, k;
        json_t *r, *c;
        json_array_foreach(json_object_get(ov, "ranks"), i, r) {
            strbuf_addf(sb, "overlay.%d: host=%s state=%s parent=%d children=",
                        (int)json_integer_value(json_object_get(r, "rank")),
                        json_string_value(json_object_get(r, "host")),
                        json_string_value(json_object_get(r, "state")),
                        (int)json_integer_value(json_object_get(r, "parent")));
            json_array_foreach(json_object_get(r, "children"), k, c)
                strbuf_addf(sb, "%s%d", k ? "," : "", (int)json_integer_value(c));
            strbuf_addstr(sb, "\n");
        }
        json_decref(ov);
    }
}

static int render_status_json(struct vfs *v, struct strbuf *sb)
{
    struct status_facts f;
    char key[16];
    status_facts(v, &f);
    json_t *states = json_object();
    for (int i = 0; states && i < JOB_NSTATES; i++) {
        if (json_object_set_new(states, state_key(i, key, sizeof(key)),
                                json_integer((json_int_t)f.count[i])) < 0) {
            json_decref(states);
            return -ENOMEM;
        }
    }
    /* uptime to 0.1 s, as in status */
    json_t *o = json_pack("{s:i, s:s, s:f, s:s, s:i, s:i, s:i, s:i, s:I, s:o}",
                          "tree_version", TREE_VERSION,
                          "version", FLUXFS_PROJECT_VERSION,
                          "uptime", (double)(long long)(f.uptime * 10 + 0.5) / 10,
                          "started", f.started,
                          "nodes", f.nodes,
                          "cores", f.cores,
                          "cores_free", f.cores_free,
                          "gpus", f.gpus,
                          "jobs", (json_int_t)f.jobs,
                          "states", states);   /* steals states, even on error */
    char why[128];
    if (o)
        json_object_set_new(o, "parsing", json_integer((json_int_t)jobmgr_parsing(v->m)));
    if (o)
        json_object_set_new(o, "containment",
                            json_string(jobmgr_containment(v->m, why, sizeof(why))));
    json_t *ov = o && v->status_extra ? v->status_extra(v->status_extra_arg) : NULL;
    if (ov)
        json_object_set_new(o, "overlay", ov);
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                JSON_REAL_PRECISION(15)) : NULL;
    json_decref(o);
    if (!s)
        return -ENOMEM;
    int rc = strbuf_addstr(sb, s);
    if (rc == 0)
        rc = strbuf_addstr(sb, "\n");
    free(s);
    return rc;
}

/* What a read of resources/ctl returns (it is written to, not read). */
#define RES_CTL_HELP "# write: up|down|drain PATH (see resources/allocations)\n"

int vfs_fixed_render(struct vfs *v, fuse_ino_t ino, uid_t uid, struct strbuf *sb)
{
    switch (ino) {
    case VFS_I_README:
        return strbuf_addstr(sb, readme_text);
    case VFS_I_STATUS:
        render_status(v, sb);
        return 0;
    case VFS_I_STATUS_JSON:
        return render_status_json(v, sb);
    case VFS_I_QERRORS:
        return vfs_errlog_render(v, uid, sb);
    case VFS_I_RES_R:
    case VFS_I_RES_SUMMARY:
    case VFS_I_RES_ALLOC:
        return vfs_res_render(v, ino, sb);
    case VFS_I_RES_CTL:
        return strbuf_addstr(sb, RES_CTL_HELP);
    case VFS_I_ACCT_BANKS:
    case VFS_I_ACCT_FS:
        return vfs_acct_render(v, ino, uid, sb);
    }
    return -EISDIR;
}

int vfs_fixed_stat(struct vfs *v, fuse_ino_t ino, struct stat *st)
{
    return vfs_fixed_stat_as(v, ino, v->owner, st);
}

int vfs_fixed_stat_as(struct vfs *v, fuse_ino_t ino, uid_t uid, struct stat *st)
{
    struct strbuf sb = STRBUF_INIT;
    double now = ev_now(v->loop);

    switch (ino) {
    case VFS_I_ROOT:
    case VFS_I_RESOURCES:
    case VFS_I_ACCT:
        vfs_stat_dir(v, st, ino, v->owner, 0755, v->t_mount);
        return 0;
    case VFS_I_ACCT_JOBS:
    case VFS_I_ACCT_USAGE:
    case VFS_I_ACCT_CSV:
    case VFS_I_ACCT_FS:
    case VFS_I_JOBLIST:
        /* size 0, as /proc's: made when opened, read to the end (a stat
         * or an ls must not walk a year of records) */
        vfs_stat_file(v, st, ino, v->owner, 0444, 0, now);
        return 0;
    case VFS_I_ACCT_BANKS:
        /* root and the owner write it whole (vfs_config.c); its true size
         * and last change, as editors and `>>` expect */
        vfs_stat_file(v, st, ino, v->owner, 0644, strlen(jobmgr_banks_text(v->m)) + 1,
                      jobmgr_banks_mtime(v->m));
        return 0;
    case VFS_I_JOBS:
        /* its mtime moves when a job appears or is purged */
        vfs_stat_dir(v, st, ino, v->owner, 0755, v->jobs_mtime);
        return 0;
    case VFS_I_QUEUE:
        /* anyone may submit; sticky like /tmp so scratch files stay private;
         * its mtime moves with every submission and scratch file */
        vfs_stat_dir(v, st, ino, v->owner, 01777, v->queue_mtime);
        /* ., .., and the .. of drafts/ and of each named queue */
        st->st_nlink = 3 + (nlink_t)queues_count(jobmgr_queues(v->m));
        return 0;
    case VFS_I_QDRAFTS:
        vfs_stat_dir(v, st, ino, v->owner, 01777, v->drafts_mtime);
        return 0;
    case VFS_I_QNEW:
    case VFS_I_QRUN:
        vfs_stat_file(v, st, ino, v->owner, 0666, 0, v->t_mount);
        return 0;
    case VFS_I_EVENTS:
        vfs_events_stat(v, st);
        return 0;
    case VFS_I_RES_CTL:
        /* reads give the reminder: stat says as much, as for jobs/<id>/ctl */
        vfs_stat_file(v, st, ino, v->owner, 0600, sizeof(RES_CTL_HELP) - 1, v->t_mount);
        return 0;
    case VFS_I_QERRORS:
        /* each user reads their own lines: their size, their last change */
        vfs_fixed_render(v, ino, uid, &sb);
        vfs_stat_file(v, st, ino, v->owner, 0444, sb.len, vfs_errlog_mtime(v, uid));
        strbuf_release(&sb);
        return 0;
    case VFS_I_README:
    case VFS_I_STATUS:
    case VFS_I_STATUS_JSON:
    case VFS_I_RES_R:
    case VFS_I_RES_SUMMARY:
    case VFS_I_RES_ALLOC:
        /* size must match what a read returns, so render it */
        vfs_fixed_render(v, ino, v->owner, &sb);
        vfs_stat_file(v, st, ino, v->owner, 0444, sb.len,
                      ino == VFS_I_STATUS || ino == VFS_I_STATUS_JSON || ino == VFS_I_RES_ALLOC
                      ? now : v->t_mount);
        strbuf_release(&sb);
        return 0;
    }
    return -ENOENT;
}

void vfs_root_lookup(struct vfs *v, fuse_req_t req, const char *name)
{
    for (size_t i = 0; i < NROOT; i++) {
        if (strcmp(name, root_entries[i].name) == 0) {
            struct stat st;
            vfs_fixed_stat(v, root_entries[i].ino, &st);
            vfs_reply_entry(req, &st, VFS_TTL_FIXED);
            return;
        }
    }
    fuse_reply_err(req, ENOENT);
}

void vfs_root_readdir(struct vfs *v, struct vfs_dirbuf *db, off_t off)
{
    if (off < 1 && !vfs_dirbuf_add(db, ".", VFS_I_ROOT, S_IFDIR, 1))
        return;
    if (off < 2 && !vfs_dirbuf_add(db, "..", VFS_I_ROOT, S_IFDIR, 2))
        return;
    for (size_t i = off > 2 ? off - 2 : 0; i < NROOT; i++) {
        struct stat st;
        vfs_fixed_stat(v, root_entries[i].ino, &st);
        if (!vfs_dirbuf_add(db, root_entries[i].name, st.st_ino, st.st_mode, i + 3))
            return;
    }
}
