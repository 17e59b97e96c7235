/* test/jobmgr.c - the job model: the RFC 21 state machine, control, output,
 * timeouts, exclusivity, and recovery after a shutdown or a crash.
 *
 * Uses a real store (in a mkdtemp dir), a real event loop and real processes
 * on a fixed 1-node, 2-core graph, and drives the loop phases as
 * fsd/broker.c does.
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "common/fluid.h"
#include "fsd/ingest.h"
#include "fsd/jobmgr.h"
#include "fsd/store.h"
#include "common/ev.h"
#include "common/strbuf.h"
#include "sched/rgraph.h"
#include "common/tap.h"

#define MAPSIZE (64ull << 20)   /* small enough for valgrind */
#define OUTPUT_CAP 100

static const char R_text[] =
    "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0\",\"children\":"
    "{\"core\":\"0-1\"}}],\"nodelist\":[\"n0\"]}}";

struct env {
    char dir[64];
    struct store *st;
    struct ev_loop *loop;
    struct rgraph *g;
    struct graph *graph;
    struct jobmgr *m;
    /* called after every iteration (to watch invariants) */
    void (*watch)(struct env *e, void *arg);
    void *watch_arg;
};

/* ---- notify log ---- */

#define NLOG 256
struct note {
    uint64_t id;
    enum jobmgr_change what;
    enum job_state state;
    bool committed;
    bool stored;        /* JOBMGR_OUTPUT: what the stream holds is committed */
};
static struct note notes[NLOG];
static int nnotes;

static int njournal;   /* JOBMGR_JOURNAL notifications (no job) */

static void on_notify(void *arg, struct job *job, enum jobmgr_change what, int stream)
{
    if (what == JOBMGR_JOURNAL) {
        njournal++;
        return;
    }
    if (nnotes < NLOG)
        notes[nnotes++] = (struct note){ job->id, what, job->state, job->committed,
                                         stream >= 1 && stream <= 2
                                         && job->out_stored[stream] == job->out_len[stream] };
}

/* ---- helpers ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void bail(const char *what, const char *why)
{
    printf("Bail out! %s: %s\n", what, why);
    exit(1);
}

/* Open the store and a jobmgr on it (recovery done, nothing committed). */
static void env_open_raw(struct env *e)
{
    struct errmsg err = { "" };
    struct jobmgr_config cfg = { .kill_grace = 0.2, .output_cap = OUTPUT_CAP };

    if (!e->loop && !(e->loop = ev_create()))
        bail("ev_create", "failed");
    if (!e->g && !(e->g = rgraph_create_R(R_text, strlen(R_text), &err)))
        bail("rgraph_create_R", err.text);
    if (!e->graph && !(e->graph = rgraph_to_graph(e->g, &err)))
        bail("rgraph_to_graph", err.text);
    if (store_open(e->dir, MAPSIZE, &e->st, &err) < 0)
        bail("store_open", err.text);
    if (!(e->m = jobmgr_create(e->loop, e->st, e->g, e->graph, &cfg, &err)))
        bail("jobmgr_create", err.text);
}

/* ...and commit what recovery changed, as the broker's setup() does. */
static void env_setup_commit(struct env *e)
{
    jobmgr_prepare_commit(e->m, true);
    if (store_commit(e->st) < 0)
        bail("store_commit", "setup commit failed");
    jobmgr_after_commit(e->m, 0);
    jobmgr_set_notify(e->m, on_notify, NULL);
}

static void env_open(struct env *e)
{
    env_open_raw(e);
    env_setup_commit(e);
}

/* Shut down as the broker's teardown() does. */
static void env_close(struct env *e)
{
    jobmgr_destroy(e->m);
    e->m = NULL;
    if (store_commit(e->st) < 0)
        bail("store_commit", "final commit failed");
    store_close(e->st);
    e->st = NULL;
}

static void iterate(struct env *e)
{
    ev_run_once(e->loop, jobmgr_busy(e->m) ? 0 : 50);
    jobmgr_prepare_commit(e->m, true);
    int rc = store_commit(e->st);
    jobmgr_after_commit(e->m, rc);
    if (e->watch)
        e->watch(e, e->watch_arg);
}

typedef bool (*cond_f)(struct env *e, uint64_t id, int arg);

/* Iterate until cond holds (true) or timeout seconds pass (false). */
static bool run_until(struct env *e, cond_f cond, uint64_t id, int arg, double timeout)
{
    double end = now() + timeout;
    while (!cond(e, id, arg)) {
        if (now() > end)
            return false;
        iterate(e);
    }
    return true;
}

static void run_for(struct env *e, double seconds)
{
    double end = now() + seconds;
    while (now() < end)
        iterate(e);
}

static bool in_state(struct env *e, uint64_t id, int state)
{
    struct job *job = jobmgr_lookup(e->m, id);
    return job && job->state == (enum job_state)state;
}

/* The eventlog of a job. */
static char *eventlog(struct env *e, uint64_t id)
{
    struct strbuf sb = STRBUF_INIT;
    struct job *job = jobmgr_lookup(e->m, id);
    if (!job || jobmgr_eventlog(e->m, job, &sb) < 0) {
        strbuf_release(&sb);
        return strdup("");
    }
    return strbuf_detach(&sb, NULL);
}

/* Event names joined by ',' (caller frees). */
static char *event_names(struct env *e, uint64_t id)
{
    char *log = eventlog(e, id), *save = NULL;
    struct strbuf sb = STRBUF_INIT;
    for (char *line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL);
        const char *name = json_string_value(json_object_get(o, "name"));
        strbuf_addf(&sb, "%s%s", sb.len ? "," : "", name ? name : "?");
        json_decref(o);
    }
    free(log);
    return strbuf_detach(&sb, NULL);
}

static bool has_event(struct env *e, uint64_t id, const char *name)
{
    char *names = event_names(e, id);
    size_t n = strlen(name);
    bool found = false;
    for (const char *p = names; (p = strstr(p, name)); p += n)
        if ((p == names || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            found = true;
    free(names);
    return found;
}

/* Its "start" event is in its eventlog (committed). */
static bool started(struct env *e, uint64_t id, int arg)
{
    (void)arg;
    return has_event(e, id, "start");
}

static bool start_posted(struct env *e, uint64_t id, int arg)
{
    (void)arg;
    struct job *job = jobmgr_lookup(e->m, id);
    return job && job->start_posted;
}

/* Context of the first "exception" event, as JSON text ("" if none). */
static char *exception_context(struct env *e, uint64_t id)
{
    char *log = eventlog(e, id), *save = NULL, *ctx = NULL;
    for (char *line = strtok_r(log, "\n", &save); line && !ctx; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL);
        if (strcmp(json_string_value(json_object_get(o, "name")) ?: "", "exception") == 0)
            ctx = json_dumps(json_object_get(o, "context"), JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
    }
    free(log);
    return ctx ? ctx : strdup("");
}

static bool exception_type_is(struct env *e, uint64_t id, const char *type)
{
    char *ctx = exception_context(e, id), want[64];
    snprintf(want, sizeof(want), "\"type\":\"%s\"", type);
    bool found = strstr(ctx, want) != NULL;
    if (!found)
        diag("exception context: '%s'", ctx);
    free(ctx);
    return found;
}

static char *result_text(struct env *e, uint64_t id)
{
    static char buf[64];
    struct job *job = jobmgr_lookup(e->m, id);
    buf[0] = '\0';
    if (job)
        job_result_text(job, buf, sizeof(buf));
    return buf;
}

/* A jobspec: one slot of `cores` cores running sh -c cmd (caller frees). */
static char *mkspec(const char *cmd, int cores, double duration)
{
    json_t *s = json_string(cmd);
    char *q = json_dumps(s, JSON_ENCODE_ANY);
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb,
                "version: 1\n"
                "resources:\n"
                "  - type: slot\n"
                "    count: 1\n"
                "    label: task\n"
                "    with:\n"
                "      - type: core\n"
                "        count: %d\n"
                "tasks:\n"
                "  - command: [\"sh\", \"-c\", %s]\n"
                "    slot: task\n"
                "    count:\n"
                "      per_slot: 1\n"
                "attributes:\n"
                "  system:\n"
                "    duration: %g\n", cores, q, duration);
    free(q);
    json_decref(s);
    return strbuf_detach(&sb, NULL);
}

static uint64_t max_id;   /* largest id seen so far, for the ordering check */

static int submit_as(struct env *e, const char *cmd, int cores, double duration, uid_t uid,
                     uint64_t *idp, struct errmsg *err)
{
    char *spec = mkspec(cmd, cores, duration);
    struct job *job = NULL;
    int rc = jobmgr_submit(e->m, spec, strlen(spec), uid, uid, "/tmp", &job, err);
    free(spec);
    if (rc == 0) {
        *idp = job->id;
        if (job->id > max_id)
            max_id = job->id;
    }
    return rc;
}

/* Submit as root; bail on failure (the case under test is elsewhere). */
static uint64_t submit(struct env *e, const char *cmd, int cores, double duration)
{
    struct errmsg err = { "" };
    uint64_t id = 0;
    if (submit_as(e, cmd, cores, duration, 0, &id, &err) < 0)
        bail("submit", err.text);
    return id;
}

static int ctl(struct env *e, uint64_t id, uid_t uid, const char *text, struct errmsg *err)
{
    struct job *job = jobmgr_lookup(e->m, id);
    if (!job)
        return -ENOENT;
    err->text[0] = '\0';
    return jobmgr_ctl(e->m, job, uid, text, strlen(text), err);
}

/* Run a job to its end and return its result text. */
static const char *run_to_end(struct env *e, uint64_t id, double timeout)
{
    if (!run_until(e, in_state, id, JOB_INACTIVE, timeout))
        diag("job did not end within %.1fs (state %s)", timeout,
             job_state_name(jobmgr_lookup(e->m, id)->state));
    return result_text(e, id);
}

/* ---- cases ---- */

static void test_lifecycle(struct env *e)
{
    struct errmsg err = { "" };
    struct job *job = NULL;
    char *spec = mkspec("true", 1, 60);
    const void *data;
    size_t len;

    nnotes = 0;
    is(jobmgr_submit(e->m, spec, strlen(spec), 0, 0, "/tmp", &job, &err), 0, "submit 'true'");
    free(spec);
    if (!job)
        bail("submit", err.text);
    uint64_t id = job->id;
    max_id = id;
    is(job->state, JOB_SCHED, "submitted job is SCHED");
    ok(!job->committed, "not durable before the commit");
    is(store_job_get(e->st, id, &data, &len), -ENOENT, "no record before prepare_commit");
    is(nnotes, 0, "no notification before the commit");
    ok(jobmgr_lookup(e->m, id) == job, "lookup by id");
    ok(jobmgr_lookup_name(e->m, job->idstr) == job, "lookup by name %s", job->idstr);
    ok(jobmgr_lookup_seq(e->m, job->seq) == job, "lookup by seq");
    is(jobmgr_count(e->m, JOB_SCHED), 1, "count SCHED 1");
    is_str(job->cwd, "/tmp", "cwd from the submitter");
    is(job->uid, 0, "uid");

    iterate(e);
    ok(job->committed, "durable after one iteration");
    ok(store_job_get(e->st, id, &data, &len) == 0, "record in the store");
    ok(nnotes >= 1 && notes[0].what == JOBMGR_NEW && notes[0].id == id && notes[0].committed,
       "first notification is JOBMGR_NEW for a committed job");
    ok(njournal >= 1, "the commit told the view the event journal grew (%d)", njournal);

    is_str(run_to_end(e, id, 3.0), "COMPLETED 0\n", "'true' completes with status 0");
    is(job->result, RESULT_COMPLETED, "result COMPLETED");
    is(job->status, 0, "status 0");
    const char *Rtext = NULL;
    size_t Rlen = 0;
    ok(jobmgr_job_blob(e->m, job, 'R', &Rtext, &Rlen) == 0 && Rlen == job->R_len &&
       memmem(Rtext, Rlen, "R_lite", 6) && Rtext[Rlen - 1] == '\n',
       "R recorded (in the store), one line ending in a newline");
    ok(job->R == NULL && job->spec_text == NULL, "no texts kept in memory once inactive");
    const char *stored = NULL;
    size_t speclen = 0;
    ok(jobmgr_job_blob(e->m, job, 'S', &stored, &speclen) == 0 && speclen == job->spec_len &&
       memmem(stored, speclen, "version", 7), "the jobspec is read back from the store");
    ok(job->js == NULL, "parsed jobspec dropped once inactive");

    char *names = event_names(e, id);
    is_str(names, "submit,validate,depend,priority,alloc,start,finish,release,free,clean",
           "eventlog names in RFC 21 order");
    free(names);
    is(job->nevents, 10, "nevents counts the lines");
    char *log = eventlog(e, id);
    is(job->evlog_len, strlen(log), "evlog_len counts the bytes");
    free(log);

    /* notifications: NEW (allocated in the commit that made it durable,
     * so already running), then STATE changes CLEANUP, INACTIVE */
    struct strbuf sb = STRBUF_INIT;
    for (int i = 0; i < nnotes; i++)
        if (notes[i].id == id)
            strbuf_addf(&sb, "%s%s%s", i ? "," : "",
                        notes[i].what == JOBMGR_NEW ? "NEW:" :
                        notes[i].what == JOBMGR_STATE ? "" : "OUTPUT:",
                        job_state_name(notes[i].state));
    is_str(sb.buf, "NEW:RUN,CLEANUP,INACTIVE", "notify sees NEW, running, then each state change");
    strbuf_release(&sb);

    /* the durable record agrees */
    ok(store_job_get(e->st, id, &data, &len) == 0, "record readable");
    struct job *rec = job_record_decode(id, data, len);
    ok(rec && rec->state == JOB_INACTIVE && rec->result == RESULT_COMPLETED,
       "stored record says INACTIVE COMPLETED");
    job_destroy(rec);
    is(jobmgr_count(e->m, JOB_INACTIVE), 1, "count INACTIVE 1");
    is(jobmgr_count(e->m, JOB_SCHED) + jobmgr_count(e->m, JOB_RUN), 0, "nothing active");
}

static void test_rejects(struct env *e)
{
    struct errmsg err = { "" };
    struct job *job = NULL;
    size_t n = jobmgr_count(e->m, JOB_INACTIVE) + jobmgr_count(e->m, JOB_SCHED);
    const char *bad = "version: 1\n";
    uint64_t id;

    is(jobmgr_submit(e->m, bad, strlen(bad), 0, 0, "/tmp", &job, &err), -EINVAL,
       "incomplete jobspec is -EINVAL");
    ok(err.text[0] != '\0', "with a reason: %s", err.text);
    err.text[0] = '\0';
    bad = "version: 1\nresources: [\n";
    is(jobmgr_submit(e->m, bad, strlen(bad), 0, 0, "/tmp", &job, &err), -EINVAL,
       "YAML syntax error is -EINVAL");
    ok(err.text[0] != '\0', "with a reason: %s", err.text);
    err.text[0] = '\0';
    is(submit_as(e, "true", 3, 60, 0, &id, &err), -EINVAL, "3 cores on a 2-core graph is -EINVAL");
    ok(strstr(err.text, "core") != NULL, "reason mentions cores: %s", err.text);
    ok(job == NULL, "no job returned on failure");
    is(jobmgr_count(e->m, JOB_INACTIVE) + jobmgr_count(e->m, JOB_SCHED), n,
       "rejected submissions leave no job behind");
    ok(!jobmgr_busy(e->m), "and nothing to write");
}

static void test_exit_and_output(struct env *e)
{
    char buf[2048];

    uint64_t id = submit(e, "exit 3", 1, 60);
    is_str(run_to_end(e, id, 3.0), "FAILED 3\n", "exit 3 is FAILED 3");

    id = submit(e, "echo hello; echo oops >&2", 1, 60);
    nnotes = 0;
    is_str(run_to_end(e, id, 3.0), "COMPLETED 0\n", "echo job completes");
    struct job *job = jobmgr_lookup(e->m, id);
    is(job->out_len[1], 6, "stdout length 6");
    is(job->out_len[2], 5, "stderr length 5");
    ssize_t n = jobmgr_output_read(e->m, job, 1, 0, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    is_str(buf, "hello\n", "stdout via jobmgr_output_read");
    n = jobmgr_output_read(e->m, job, 2, 0, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    is_str(buf, "oops\n", "stderr via jobmgr_output_read");
    n = jobmgr_output_read(e->m, job, 1, 2, buf, 3);
    ok(n == 3 && memcmp(buf, "llo", 3) == 0, "read at an offset");
    is(jobmgr_output_read(e->m, job, 1, 6, buf, sizeof(buf)), 0, "read at the end is 0");
    is(jobmgr_output_read(e->m, job, 3, 0, buf, sizeof(buf)), -EINVAL, "stream 3 is -EINVAL");
    bool out1 = false, out2 = true;
    for (int i = 0; i < nnotes; i++)
        if (notes[i].id == id && notes[i].what == JOBMGR_OUTPUT) {
            out1 = true;
            out2 = out2 && notes[i].stored;
        }
    ok(out1 && out2, "JOBMGR_OUTPUT notifications once the output is committed");

    /* the cap: 1000 bytes printed, OUTPUT_CAP kept plus a note */
    id = submit(e, "head -c 1000 /dev/zero | tr '\\0' x", 1, 60);
    is_str(run_to_end(e, id, 3.0), "COMPLETED 0\n", "capped job still completes");
    job = jobmgr_lookup(e->m, id);
    char note[128];
    int nl = snprintf(note, sizeof(note), "\nfluxfs: stdout truncated at %d bytes\n", OUTPUT_CAP);
    is(job->out_len[1], OUTPUT_CAP + nl, "stdout kept at the cap plus the note");
    ok(job->out_capped[1], "stream marked capped");
    n = jobmgr_output_read(e->m, job, 1, 0, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    is(n, OUTPUT_CAP + nl, "read returns all of it");
    bool xs = n >= OUTPUT_CAP;
    for (int i = 0; xs && i < OUTPUT_CAP; i++)
        xs = buf[i] == 'x';
    ok(xs, "first %d bytes are the output", OUTPUT_CAP);
    is_str(n >= OUTPUT_CAP ? buf + OUTPUT_CAP : "", note, "then the truncation note");
    ok(has_event(e, id, "log"), "a log event records the truncation");
}

/* The running job holding core i of the one node (NULL: free). */
static struct job *core_owner(struct env *e, int core)
{
    char path[64];
    snprintf(path, sizeof(path), "/cluster0/n0/core%d", core);
    return jobmgr_vertex_owner(e->m, graph_find_path(e->graph, path));
}

/* Two all-core jobs: the second waits; hold it, cancel it, cancel the first. */
static void test_cancel(struct env *e)
{
    struct errmsg err = { "" };
    uint64_t a = submit(e, "sleep 10", 2, 60);
    uint64_t b = submit(e, "true", 2, 60);

    ok(run_until(e, in_state, a, JOB_RUN, 3.0), "first all-core job runs");
    /* the start happens after the commit that recorded the alloc, and its
     * event is written with a later one */
    ok(run_until(e, started, a, 0, 3.0), "first job started");
    ok(core_owner(e, 0) == jobmgr_lookup(e->m, a) && core_owner(e, 1) == jobmgr_lookup(e->m, a),
       "it owns both cores");
    is(jobmgr_free_cores(e->m), 0, "no core is free");
    run_for(e, 0.1);
    is(jobmgr_lookup(e->m, b)->state, JOB_SCHED, "second stays SCHED");

    is(ctl(e, b, 0, "urgency 0", &err), 0, "hold the pending job");
    is(jobmgr_lookup(e->m, b)->urgency, 0, "urgency is 0");
    ok(has_event(e, b, "urgency"), "urgency event recorded");
    is(ctl(e, b, 0, "signal 15", &err), -EINVAL, "signal on a pending job is -EINVAL");
    ok(strstr(err.text, "not running") != NULL, "reason: %s", err.text);
    is(ctl(e, b, 0, "cancel", &err), 0, "cancel the pending job");
    is(jobmgr_lookup(e->m, b)->state, JOB_INACTIVE, "pending job is INACTIVE at once");
    is_str(result_text(e, b), "CANCELED\n", "result CANCELED");
    ok(exception_type_is(e, b, "cancel"), "exception of type cancel");
    char *names = event_names(e, b);
    ok(!strstr(names, "alloc") && !strstr(names, "start"), "it never ran: %s", names);
    free(names);
    is(ctl(e, b, 0, "cancel", &err), -EINVAL, "cancel an inactive job is -EINVAL");
    is(ctl(e, b, 0, "urgency 5", &err), -EINVAL, "urgency of an inactive job is -EINVAL");
    iterate(e);
    ok(core_owner(e, 0) == jobmgr_lookup(e->m, a), "running job unaffected");

    is(ctl(e, a, 0, "cancel", &err), 0, "cancel the running job");
    is(jobmgr_lookup(e->m, a)->state, JOB_RUN, "still RUN until its tasks are gone");
    is(ctl(e, a, 0, "cancel", &err), 0, "a second cancel is a no-op");
    /* the bound is a hang guard; SIGTERM (below) is what shows it was the cancel */
    ok(run_until(e, in_state, a, JOB_INACTIVE, 20.0), "running job ends");
    is_str(result_text(e, a), "CANCELED\n", "result CANCELED");
    is(jobmgr_lookup(e->m, a)->status, 128 + SIGTERM, "killed by SIGTERM");
    ok(exception_type_is(e, a, "cancel"), "exception of type cancel");
    ok(core_owner(e, 0) == NULL && core_owner(e, 1) == NULL, "cores free again");
    is(jobmgr_free_cores(e->m), 2, "both count as free");
}

/* A job held before it is even queued does not run until released. */
static void test_hold(struct env *e)
{
    struct errmsg err = { "" };
    uint64_t id = submit(e, "true", 1, 60);
    is(ctl(e, id, 0, "urgency 0", &err), 0, "hold before the first commit");
    run_for(e, 0.3);
    is(jobmgr_lookup(e->m, id)->state, JOB_SCHED, "held job stays SCHED on idle cores");
    is(ctl(e, id, 0, "urgency 31", &err), 0, "the owner may set urgency 31");
    is_str(run_to_end(e, id, 3.0), "COMPLETED 0\n", "released job runs");
}

static void test_timeout(struct env *e)
{
    double t0 = now();
    uint64_t id = submit(e, "sleep 10", 1, 0.3);
    is_str(run_to_end(e, id, 8.0), "TIMEOUT\n", "duration 0.3 with sleep 10 is TIMEOUT");
    double dt = now() - t0;
    ok(dt >= 0.3, "not before its duration (%.2fs)", dt);
    is(jobmgr_lookup(e->m, id)->status, 128 + SIGTERM, "SIGTERM ended it");
    ok(exception_type_is(e, id, "timeout"), "exception of type timeout");

    /* a job that ignores SIGTERM gets SIGKILL after kill_grace */
    t0 = now();
    id = submit(e, "trap '' TERM; sleep 10", 1, 0.3);
    is_str(run_to_end(e, id, 8.0), "TIMEOUT\n", "TERM-ignoring job is TIMEOUT");
    dt = now() - t0;
    ok(dt >= 0.45, "not before duration + grace (%.2fs)", dt);
    is(jobmgr_lookup(e->m, id)->status, 128 + SIGKILL, "SIGKILL ended it");
}

static void test_ctl_errors(struct env *e)
{
    struct errmsg err = { "" };
    uint64_t id = submit(e, "true", 1, 60);
    char big[5000];

    is(ctl(e, id, 0, "urgency 0", &err), 0, "hold it");
    is(ctl(e, id, 0, "frobnicate", &err), -EINVAL, "unknown verb is -EINVAL");
    ok(strstr(err.text, "frobnicate") != NULL, "reason names it: %s", err.text);
    is(ctl(e, id, 0, "cancel now", &err), -EINVAL, "cancel with an argument is -EINVAL");
    is(ctl(e, id, 0, "urgency", &err), -EINVAL, "urgency without a value is -EINVAL");
    is(ctl(e, id, 0, "urgency 32", &err), -EINVAL, "urgency 32 is -EINVAL");
    ok(strstr(err.text, "out of range") != NULL, "reason: %s", err.text);
    is(ctl(e, id, 0, "urgency -1", &err), -EINVAL, "urgency -1 is -EINVAL");
    is(ctl(e, id, 0, "urgency 5x", &err), -EINVAL, "urgency 5x is -EINVAL");
    is(ctl(e, id, 0, "urgency 1 2", &err), -EINVAL, "urgency with two values is -EINVAL");
    is(ctl(e, id, 0, "signal BOGUS", &err), -EINVAL, "unknown signal is -EINVAL");
    is(ctl(e, id, 0, "signal 0", &err), -EINVAL, "signal 0 is -EINVAL");
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    is(ctl(e, id, 0, big, &err), -E2BIG, "over 4096 bytes is -E2BIG");
    is(ctl(e, id, 0, "", &err), 0, "empty text is a no-op");
    is(ctl(e, id, 0, "\n\n", &err), 0, "blank lines are a no-op");
    is(jobmgr_lookup(e->m, id)->state, JOB_SCHED, "still pending after all that");
    is(ctl(e, id, 0, "urgency 3\ncancel\n", &err), 0, "two lines in one write");
    is_str(result_text(e, id), "CANCELED\n", "both applied");
    /* canceled before its first commit: the commit must not queue it */
    iterate(e);
    struct job *job = jobmgr_lookup(e->m, id);
    ok(job->committed && job->state == JOB_INACTIVE, "commit after a pre-commit cancel is safe");
    run_for(e, 0.1);
    ok(!has_event(e, id, "alloc") && jobmgr_count(e->m, JOB_RUN) == 0, "and it never runs");
}

static void test_permission(struct env *e)
{
    struct errmsg err = { "" };
    uint64_t id = 0;

    is(submit_as(e, "true", 1, 60, 4242, &id, &err), 0, "submit as uid 4242");
    is(ctl(e, id, 4242, "urgency 0", &err), 0, "the job's user may hold it");
    iterate(e);
    is(ctl(e, id, 5555, "cancel", &err), -EPERM, "another user cannot cancel it");
    ok(strstr(err.text, "4242") != NULL, "reason names the owner: %s", err.text);
    is(ctl(e, id, 5555, "urgency 16", &err), -EPERM, "nor change its urgency");
    is(ctl(e, id, 4242, "urgency 17", &err), -EINVAL, "a user's urgency is at most 16");
    is(ctl(e, id, 4242, "urgency 16", &err), 0, "16 is fine");
    is(ctl(e, id, 4242, "urgency 0", &err), 0, "hold again");
    is(jobmgr_lookup(e->m, id)->state, JOB_SCHED, "still pending");
    is(ctl(e, id, 4242, "cancel", &err), 0, "the job's user may cancel it");
    is_str(result_text(e, id), "CANCELED\n", "CANCELED");
    char *ctx = exception_context(e, id);
    ok(strstr(ctx, "\"userid\":4242") != NULL, "exception names the canceling user: %s", ctx);
    free(ctx);
    iterate(e);

    is(submit_as(e, "true", 1, 60, 4242, &id, &err), 0, "submit another as uid 4242");
    is(ctl(e, id, 0, "urgency 0", &err), 0, "root may hold it");
    is(ctl(e, id, 0, "cancel", &err), 0, "root may cancel it");
    iterate(e);
}

struct exclusive {
    uint64_t a, b;
    int both, max_run;
};

static void watch_exclusive(struct env *e, void *arg)
{
    struct exclusive *x = arg;
    int nrun = in_state(e, x->a, JOB_RUN) + in_state(e, x->b, JOB_RUN);
    if (nrun > x->max_run)
        x->max_run = nrun;
    if ((int)jobmgr_count(e->m, JOB_RUN) > x->max_run)
        x->max_run = jobmgr_count(e->m, JOB_RUN);
}

static void test_exclusive(struct env *e)
{
    struct exclusive x = { 0 };
    x.a = submit(e, "sleep 0.2", 2, 60);
    x.b = submit(e, "sleep 0.2", 2, 60);
    e->watch = watch_exclusive;
    e->watch_arg = &x;
    watch_exclusive(e, &x);
    is_str(run_to_end(e, x.a, 3.0), "COMPLETED 0\n", "first 2-core job completes");
    is_str(run_to_end(e, x.b, 3.0), "COMPLETED 0\n", "second 2-core job completes");
    e->watch = NULL;
    is(x.max_run, 1, "never both RUN at the same time");
    ok(jobmgr_lookup(e->m, x.a)->t_state <= jobmgr_lookup(e->m, x.b)->t_state,
       "first submitted, first done");
}

/* A job's start was a commit of its own; it goes with the next commit
 * made anyway, or JM_DEFER_DELAY later: never lost, never long. */
static void test_deferred_start(struct env *e)
{
    struct errmsg err = { "" };
    uint64_t a = submit(e, "sleep 10", 1, 60);
    ok(run_until(e, start_posted, a, 0, 3.0), "deferred: a job's tasks started");
    ok(!has_event(e, a, "start"), "... its start is not written yet");
    ok(jobmgr_deferred_due(e->m) > 0, "... but due");
    /* idle (the job sleeps): only the due time can write it */
    ok(run_until(e, started, a, 0, 3.0), "... written once due, with nothing else to commit");
    is(jobmgr_deferred_due(e->m), 0., "... nothing waits any more");
    uint64_t b = submit(e, "sleep 10", 1, 60);
    ok(run_until(e, start_posted, b, 0, 3.0), "deferred: another starts");
    ok(!has_event(e, b, "start"), "... not written yet");
    is(ctl(e, a, 0, "cancel", &err), 0, "... the first is canceled");
    ok(run_until(e, started, b, 0, 3.0), "... the start is written with that commit, or when due");
    is_str(run_to_end(e, a, 3.0), "CANCELED\n", "the first ends");
    is(ctl(e, b, 0, "cancel", &err), 0, "cancel the second");
    is_str(run_to_end(e, b, 3.0), "CANCELED\n", "the second ends");
    ok(has_event(e, b, "start") && has_event(e, b, "finish"), "... its eventlog has both");
}

/* A submission whose commit fails (a full disk) was never accepted:
 * nothing it counted stays counted, so a singleton of its name runs. */
static void test_failed_commit(struct env *e)
{
    static const char fmt[] =
        "{\"version\":1,\"resources\":[{\"type\":\"slot\",\"count\":1,\"label\":\"t\","
        "\"with\":[{\"type\":\"core\",\"count\":1}]}],\"tasks\":[{\"command\":[\"true\"],"
        "\"slot\":\"t\",\"count\":{\"per_slot\":1}}],\"attributes\":{\"system\":{"
        "\"duration\":60,\"job\":{\"name\":\"solo\"}%s}}}";
    char spec[1024];
    struct errmsg err = { "" };
    struct job *job = NULL;
    snprintf(spec, sizeof(spec), fmt, "");
    is(jobmgr_submit(e->m, spec, strlen(spec), 0, 0, "/tmp", &job, &err), 0,
       "failed commit: a job named solo is submitted");
    uint64_t lost = job ? job->id : 0;
    int free0 = jobmgr_free_cores(e->m);
    jobmgr_prepare_commit(e->m, true);
    ok(job && job->state == JOB_RUN && jobmgr_free_cores(e->m) == free0 - 1,
       "... allocated before the commit that would hold it");
    store_abort(e->st);
    jobmgr_after_commit(e->m, -ENOSPC);
    ok(!jobmgr_lookup(e->m, lost), "... its commit fails: it is gone");
    is(jobmgr_free_cores(e->m), free0, "... and so is its allocation");
    snprintf(spec, sizeof(spec), fmt,
             ",\"dependencies\":[{\"scheme\":\"singleton\",\"value\":\"\"}]");
    job = NULL;
    is(jobmgr_submit(e->m, spec, strlen(spec), 0, 0, "/tmp", &job, &err), 0,
       "a singleton named solo is submitted");
    uint64_t solo = job ? job->id : 0;
    is_str(run_to_end(e, solo, 3.0), "COMPLETED 0\n", "... and runs: the lost one holds no name");
}

struct async_answer {
    int calls, rc;
    char *ids;
    char why[256];
};

static void on_submitted(void *arg, int rc, const char *ids, const char *why)
{
    struct async_answer *a = arg;
    a->calls++;
    a->rc = rc;
    free(a->ids);
    a->ids = strdup(ids ? ids : "");
    snprintf(a->why, sizeof(a->why), "%s", why ? why : "");
}

static bool answered(struct env *e, uint64_t id, int arg)
{
    (void)e;
    (void)arg;
    return ((struct async_answer *)(uintptr_t)id)->calls > 0;
}

/* n YAML documents, every third the same as the one before it (shared
 * parse), document bad (1-based; 0: none) with a count of 0. Each says
 * which it is in its command and a comment ("echo doc 5", "# document 5"). */
static char *bulk_yaml(int n, int bad)
{
    struct strbuf sb = STRBUF_INIT;
    for (int i = 1; i <= n; i++) {
        char cmd[32];
        snprintf(cmd, sizeof(cmd), "echo doc %d", i % 3 == 0 ? i - 1 : i);
        char *spec = mkspec(cmd, 1, 0);
        if (i == bad) {
            char *p = strstr(spec, "per_slot: 1");
            p[strlen("per_slot: ")] = '0';
        }
        /* held, so that they stay as submitted */
        strbuf_addf(&sb, "---\n%s    urgency: 0\n# document %d\n", spec,
                    i % 3 == 0 ? i - 1 : i);
        free(spec);
    }
    return strbuf_detach(&sb, NULL);
}

/* jobmgr_submit_text_async parses on another thread and ends as the
 * synchronous path does: the same jobs, the same refusals. */
static void test_async_submit(struct env *e)
{
    enum { N = 600 };
    char *text = bulk_yaml(N, 0);
    size_t len = strlen(text);
    struct ingest_cwd cwd = { .dir = "/tmp" };
    struct async_answer a = { 0 };
    struct errmsg err = { "" };
    ok(len >= JOBMGR_ASYNC_BYTES, "async: a bulk submission of %zu bytes", len);
    is(jobmgr_submit_text_async(e->m, text, len, 0, 0, &cwd, NULL, on_submitted, &a, &err), 0,
       "... is taken");
    memset(text, 'x', len);   /* it was copied */
    ok(a.calls == 0 && jobmgr_parsing(e->m) == 1, "... answered later, parsing meanwhile");
    ok(run_until(e, answered, (uintptr_t)&a, 0, 10.0), "... answered");
    ok(a.calls == 1 && a.rc == 0, "... accepted (%d: %s)", a.rc, a.why);
    ok(jobmgr_parsing(e->m) == 0, "... parsing no more");
    int lines = 0, right = 0, shared = 0, nids = 0;
    static uint64_t ids[N];
    const struct job *prev = NULL;
    for (char *l = a.ids, *nl; l && (nl = strchr(l, '\n')); l = nl + 1) {
        *nl = '\0';
        uint64_t id;
        struct job *job = fluid_decode(l, &id) == 0 ? jobmgr_lookup(e->m, id) : NULL;
        lines++;
        char want[32], cmd[32];
        int k = lines % 3 == 0 ? lines - 1 : lines;
        snprintf(want, sizeof(want), "# document %d\n", k);
        snprintf(cmd, sizeof(cmd), "echo doc %d\"", k);
        const char *spec;
        size_t slen;
        if (job && jobmgr_job_blob(e->m, job, 'S', &spec, &slen) == 0
            && memmem(spec, slen, want, strlen(want))
            && memmem(spec, slen, cmd, strlen(cmd)))
            right++;
        if (job && prev && lines % 3 == 0 && job->js && job->js == prev->js)
            shared++;
        prev = job;
        if (job)
            ids[nids++] = job->id;
    }
    is(lines, N, "... an id for every document");
    is(right, N, "... each job its own document, in order");
    is(shared, N / 3, "... a copy of the document before shares its parse");
    for (int i = 0; i < nids; i++)
        ctl(e, ids[i], 0, "cancel", &err);
    free(a.ids);
    free(text);

    /* a refusal, named as the synchronous path names it */
    text = bulk_yaml(N, 401);
    len = strlen(text);
    struct errmsg sync = { "" };
    size_t before = jobmgr_count(e->m, JOB_SCHED) + jobmgr_count(e->m, JOB_RUN)
                    + jobmgr_count(e->m, JOB_INACTIVE);
    is(jobmgr_submit_text(e->m, text, len, 0, 0, &cwd, NULL, NULL, &sync), -EINVAL,
       "async: a bad document refused on the loop");
    a = (struct async_answer){ 0 };
    is(jobmgr_submit_text_async(e->m, text, len, 0, 0, &cwd, NULL, on_submitted, &a, &err), 0,
       "... and taken off it");
    ok(run_until(e, answered, (uintptr_t)&a, 0, 10.0) && a.rc == -EINVAL,
       "... then refused: %s", a.why);
    is_str(a.why, sync.text, "... with the same reason");
    ok(strstr(a.why, "job 401 of 600 (line ") != NULL, "... naming the document");
    ok(jobmgr_count(e->m, JOB_SCHED) + jobmgr_count(e->m, JOB_RUN)
       + jobmgr_count(e->m, JOB_INACTIVE) == before, "... and no job of it entered");
    free(a.ids);
    free(text);

    /* a syntax error's line counts from the start of the whole text */
    text = bulk_yaml(N, 0);
    char *p = strstr(text + len / 2, "command: [");
    p[strlen("command: ")] = '{';
    len = strlen(text);
    sync = (struct errmsg){ "" };
    a = (struct async_answer){ 0 };
    jobmgr_submit_text(e->m, text, len, 0, 0, &cwd, NULL, NULL, &sync);
    is(jobmgr_submit_text_async(e->m, text, len, 0, 0, &cwd, NULL, on_submitted, &a, &err), 0,
       "async: a syntax error");
    ok(run_until(e, answered, (uintptr_t)&a, 0, 10.0) && a.rc == -EINVAL,
       "... refused: %s", a.why);
    is_str(a.why, sync.text, "... at the same line as on the loop");
    free(a.ids);

    /* JSON copies that differ in their environment (fluxfs submit --cc):
     * the thread takes each environment, the loop keeps it */
    a = (struct async_answer){ 0 };
    struct strbuf js = STRBUF_INIT;
    char pad[201];
    memset(pad, 'p', 200);
    pad[200] = '\0';
    for (int i = 0; i < 400; i++)
        strbuf_addf(&js, "{\"version\":1,\"resources\":[{\"type\":\"slot\",\"count\":1,"
                    "\"label\":\"t\",\"with\":[{\"type\":\"core\",\"count\":1}]}],"
                    "\"tasks\":[{\"command\":[\"true\"],\"slot\":\"t\",\"count\":"
                    "{\"per_slot\":1}}],\"attributes\":{\"system\":{\"duration\":0,"
                    "\"urgency\":0,\"environment\":{\"PAD\":\"%s\",\"IDX\":\"%d\"}}}}\n",
                    pad, i);
    is(jobmgr_submit_text_async(e->m, js.buf, js.len, 0, 0, &cwd, NULL, on_submitted, &a, &err),
       0, "async: 400 JSON copies but for IDX (%zu bytes)", js.len);
    ok(run_until(e, answered, (uintptr_t)&a, 0, 10.0) && a.rc == 0, "... accepted (%s)", a.why);
    int own = 0, same = 0, k = 0;
    prev = NULL;
    for (char *l = a.ids, *nl; l && (nl = strchr(l, '\n')); l = nl + 1, k++) {
        *nl = '\0';
        uint64_t id;
        struct job *job = fluid_decode(l, &id) == 0 ? jobmgr_lookup(e->m, id) : NULL;
        char want[32];
        snprintf(want, sizeof(want), "IDX=%d", k);
        for (char **v = job ? job->env.envv : NULL; v && *v; v++)
            if (!strcmp(*v, want))
                own++;
        if (job && prev && job->js && job->js == prev->js)
            same++;
        prev = job;
        if (job && k < N)
            ids[k] = job->id;
    }
    is(own, 400, "... each job its own environment");
    is(same, 399, "... and one parse for all");
    for (int i = 0; i < k && i < N; i++)
        ctl(e, ids[i], 0, "cancel", &err);
    strbuf_release(&js);
    free(a.ids);

    /* the instance stops while it is parsed: canceled, nothing entered */
    a = (struct async_answer){ 0 };
    is(jobmgr_submit_text_async(e->m, text, len, 0, 0, &cwd, NULL, on_submitted, &a, &err), 0,
       "async: submitted as the instance stops");
    env_close(e);
    ok(a.calls == 1 && a.rc == -ECANCELED, "... told it was canceled (%d)", a.rc);
    free(a.ids);
    free(text);
    env_open(e);
}

/* Shutdown: the running job is canceled, the pending one survives. */
static void test_restart(struct env *e)
{
    uint64_t run = submit(e, "sleep 10", 2, 60);
    uint64_t pend = submit(e, "true", 2, 60);
    ok(run_until(e, in_state, run, JOB_RUN, 3.0), "all-core job runs");
    ok(run_until(e, started, run, 0, 3.0), "and started");
    is(jobmgr_lookup(e->m, pend)->state, JOB_SCHED, "the other is pending");

    env_close(e);
    env_open_raw(e);
    struct job *pj = jobmgr_lookup(e->m, pend);
    is(pj ? (int)pj->state : -1, JOB_SCHED, "after recovery the pending job is SCHED again");
    ok(pj && pj->js != NULL, "its jobspec was parsed again");
    env_setup_commit(e);

    struct job *job = jobmgr_lookup(e->m, run);
    ok(job != NULL, "running job is still known after restart");
    is(job ? (int)job->state : -1, JOB_INACTIVE, "it is INACTIVE");
    is_str(result_text(e, run), "CANCELED\n", "result CANCELED");
    ok(exception_type_is(e, run, "shutdown"), "exception of type shutdown");
    char *names = event_names(e, run);
    is_str(names, "submit,validate,depend,priority,alloc,start,exception,finish,release,free,clean",
           "its eventlog is complete");
    free(names);

    is_str(run_to_end(e, pend, 3.0), "COMPLETED 0\n", "and runs to completion");

    uint64_t old_max = max_id;
    uint64_t id = submit(e, "true", 1, 60);
    ok(id > old_max, "a job submitted after restart has a larger id");
    is_str(run_to_end(e, id, 3.0), "COMPLETED 0\n", "and runs");
}

static bool started_durably(struct env *e, uint64_t id, int unused)
{
    return in_state(e, id, JOB_RUN) && has_event(e, id, "start") && !store_dirty(e->st);
}

/* Crash: a broker dies with a job running; the next one marks it LOST. */
static void test_crash(struct env *e)
{
    int fds[2];
    uint64_t id = 0;

    env_close(e);
    if (pipe(fds) < 0)
        bail("pipe", strerror(errno));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        bail("fork", strerror(errno));
    if (pid == 0) {
        struct env c = { 0 };
        memcpy(c.dir, e->dir, sizeof(c.dir));
        close(fds[0]);
        env_open(&c);
        id = submit(&c, "sleep 10", 1, 60);
        bool started = run_until(&c, started_durably, id, 0, 5.0);
        /* make sure the RUN record itself is durable */
        iterate(&c);
        if (!started)
            id = 0;
        if (write(fds[1], &id, sizeof(id)) != sizeof(id))
            _exit(2);
        /* crash, no cleanup: the store keeps the RUN record */
        kill(getpid(), SIGKILL);
        _exit(3);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], &id, sizeof(id));
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    ok(n == sizeof(id) && id != 0, "child broker ran a job and died");
    is(WIFSIGNALED(status) ? WTERMSIG(status) : -1, SIGKILL, "child was killed, no cleanup");

    struct store *st;
    struct errmsg err = { "" };
    const void *data;
    size_t len;
    if (store_open(e->dir, MAPSIZE, &st, &err) < 0)
        bail("store_open", err.text);
    struct job *rec = store_job_get(st, id, &data, &len) == 0 ? job_record_decode(id, data, len)
                                                               : NULL;
    is(rec ? (int)rec->state : -1, JOB_RUN, "the store holds a RUN record");
    job_destroy(rec);
    store_close(st);

    env_open(e);
    struct job *job = jobmgr_lookup(e->m, id);
    ok(job != NULL, "job known after the crash");
    is(job ? (int)job->state : -1, JOB_INACTIVE, "recovered as INACTIVE");
    is_str(result_text(e, id), "LOST\n", "result LOST");
    is(job ? job->status : -1, 128 + SIGKILL, "status says killed");
    ok(exception_type_is(e, id, "lost"), "exception of type lost");
    ok(has_event(e, id, "clean"), "eventlog ends with clean");
    ok(store_job_get(e->st, id, &data, &len) == 0 &&
       (rec = job_record_decode(id, data, len)) && rec->state == JOB_INACTIVE &&
       rec->result == RESULT_LOST, "recovery is durable");
    job_destroy(rec);
    if (id > max_id)
        max_id = id;

    uint64_t old_max = max_id;
    uint64_t id2 = submit(e, "true", 1, 60);
    ok(id2 > old_max, "a job submitted after the crash has a larger id");
    is_str(run_to_end(e, id2, 3.0), "COMPLETED 0\n", "and runs");
}

/* A store written before jobspecs and R were blobs: the texts were in the
 * record. Recovery must read them, and store them as blobs. */
static void test_legacy_records(struct env *e)
{
    uint64_t done = submit(e, "true", 1, 60);
    is_str(run_to_end(e, done, 3.0), "COMPLETED 0\n", "legacy: a job ran");
    uint64_t held = submit(e, "true", 1, 60);
    struct errmsg err = { "" };
    is(jobmgr_ctl(e->m, jobmgr_lookup(e->m, held), 0, "urgency 0", 9, &err), 0,
       "legacy: another is held");
    iterate(e);
    const char *t;
    size_t n;
    char *spec = NULL, *R = NULL;
    if (jobmgr_job_blob(e->m, jobmgr_lookup(e->m, done), 'S', &t, &n) == 0)
        spec = strndup(t, n);
    if (jobmgr_job_blob(e->m, jobmgr_lookup(e->m, done), 'R', &t, &n) == 0)
        R = strndup(t, n);
    ok(spec && R, "legacy: both texts are there to begin with");
    env_close(e);

    /* rewrite both records the old way: texts inside, no blobs */
    struct errmsg oerr = { "" };
    if (store_open(e->dir, MAPSIZE, &e->st, &oerr) < 0)
        bail("store_open", oerr.text);
    uint64_t ids[] = { done, held };
    for (int i = 0; i < 2; i++) {
        const void *d;
        size_t len;
        const void *sd;
        size_t slen = 0;
        if (store_job_get(e->st, ids[i], &d, &len) < 0 ||
            store_blob_get(e->st, ids[i], 'S', &sd, &slen) < 0)
            bail("legacy", "records missing");
        json_t *o = json_loadb(d, len, 0, NULL);
        json_object_set_new(o, "jobspec", json_stringn(sd, slen));
        json_object_del(o, "spec_len");
        if (i == 0) {
            json_object_set_new(o, "R", json_string(R));
            json_object_del(o, "R_len");
        }
        char *rec = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        store_job_delete(e->st, ids[i]);   /* the blobs go too */
        store_job_put(e->st, ids[i], rec, strlen(rec));
        free(rec);
    }
    is(store_commit(e->st), 0, "legacy: old-style records written");
    store_close(e->st);
    e->st = NULL;

    env_open(e);
    const void *d;
    size_t len;
    struct job *dj = jobmgr_lookup(e->m, done), *hj = jobmgr_lookup(e->m, held);
    ok(dj && hj, "legacy: both jobs recovered");
    ok(dj && store_blob_get(e->st, done, 'S', &d, &len) == 0 && len == strlen(spec) &&
       !memcmp(d, spec, len), "legacy: the jobspec became a blob");
    ok(dj && store_blob_get(e->st, done, 'R', &d, &len) == 0 && len == strlen(R) &&
       !memcmp(d, R, len), "legacy: R became a blob");
    ok(dj && store_job_get(e->st, done, &d, &len) == 0 && !memmem(d, len, "\"jobspec\"", 9),
       "legacy: the record was rewritten without the text");
    ok(dj && !dj->spec_text && !dj->R, "legacy: no texts held in memory for the finished job");
    ok(hj && hj->js != NULL && hj->state == JOB_SCHED, "legacy: the held job is pending again");
    is(jobmgr_ctl(e->m, hj, 0, "urgency 16", 10, &err), 0, "legacy: released");
    is_str(run_to_end(e, held, 3.0), "COMPLETED 0\n", "legacy: and it runs");
    free(spec);
    free(R);
}

int main(void)
{
    struct env e = { .dir = "/tmp/fluxfs-jobmgr-XXXXXX" };

    plan(NO_PLAN);
    if (!mkdtemp(e.dir))
        bail("mkdtemp", strerror(errno));
    env_open(&e);
    test_lifecycle(&e);
    test_rejects(&e);
    test_exit_and_output(&e);
    test_cancel(&e);
    test_hold(&e);
    test_timeout(&e);
    test_ctl_errors(&e);
    test_permission(&e);
    test_exclusive(&e);
    test_deferred_start(&e);
    test_failed_commit(&e);
    test_async_submit(&e);
    test_restart(&e);
    test_crash(&e);
    test_legacy_records(&e);
    env_close(&e);
    rgraph_destroy(e.g);
    graph_destroy(e.graph);
    ev_destroy(e.loop);
    nftw(e.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return done_testing();
}
