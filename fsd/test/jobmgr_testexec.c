/* test/jobmgr_testexec.c - the job manager driven through its executor
 * interface with testexec, a double that runs nothing: every outcome
 * (exit status, output, cancel, signals, a start that fails, a restart)
 * happens when the test says, with no process and no timing.
 *
 * A real store (in a mkdtemp dir) and a real loop, turned as fsd/broker.c
 * does; a fixed 2-node, 2-core graph.
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tap.h"
#include "exec/testexec.h"
#include "fsd/jobmgr.h"
#include "fsd/store.h"
#include "sched/rgraph.h"

static const char R_text[] =
    "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0-1\",\"children\":"
    "{\"core\":\"0-1\"}}],\"nodelist\":[\"n[0-1]\"]}}";

struct env {
    char dir[64];
    struct ev_loop *loop;
    struct rgraph *g;
    struct graph *graph;
    struct store *st;
    struct jobmgr *m;
    struct testexec *x;
};

static void bail(const char *what, const char *why)
{
    printf("Bail out! %s: %s\n", what, why);
    exit(1);
}

static void env_open(struct env *e)
{
    struct errmsg err = { "" };
    struct jobmgr_config cfg = {
        .kill_grace = 0.1,
        .contain = true,
        .executor_create = testexec_create,
        .executor_arg = &e->x,
    };
    if (store_open(e->dir, 64ull << 20, &e->st, &err) < 0)
        bail("store_open", err.text);
    if (!(e->m = jobmgr_create(e->loop, e->st, e->g, e->graph, &cfg, &err)))
        bail("jobmgr_create", err.text);
    jobmgr_prepare_commit(e->m, true);
    if (store_commit(e->st) < 0)
        bail("store_commit", "setup");
    jobmgr_after_commit(e->m, 0);
}

static void env_close(struct env *e)
{
    jobmgr_destroy(e->m);
    e->m = NULL;
    e->x = NULL;
    if (store_commit(e->st) < 0)
        bail("store_commit", "final");
    store_close(e->st);
    e->st = NULL;
}

/* One turn of the broker's loop: a zero-delay callback runs, then the
 * scheduling and commit phases. */
static void turn(struct env *e)
{
    ev_run_once(e->loop, 0);
    jobmgr_prepare_commit(e->m, true);
    jobmgr_after_commit(e->m, store_commit(e->st));
}

static void turns(struct env *e, int n)
{
    while (n-- > 0)
        turn(e);
}

static uint64_t submit(struct env *e, const char *spec)
{
    struct errmsg err = { "" };
    struct job *job;
    if (jobmgr_submit(e->m, spec, strlen(spec), getuid(), getgid(), "/", &job, &err) < 0) {
        diag("submit: %s", err.text);
        return 0;
    }
    uint64_t id = job->id;
    turns(e, 3);   /* durable, queued, allocated, started */
    return id;
}

static const char *state(struct env *e, uint64_t id)
{
    struct job *job = jobmgr_lookup(e->m, id);
    return job ? job_state_name(job->state) : "(gone)";
}

static const char *result(struct env *e, uint64_t id, char *buf, size_t size)
{
    struct job *job = jobmgr_lookup(e->m, id);
    if (!job || job_result_text(job, buf, size) < 0)
        return "(none)";
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

static bool has_event(struct env *e, uint64_t id, const char *needle)
{
    struct strbuf sb = STRBUF_INIT;
    struct job *job = jobmgr_lookup(e->m, id);
    bool found = job && jobmgr_eventlog(e->m, job, &sb) == 0 && sb.buf &&
                 strstr(sb.buf, needle);
    strbuf_release(&sb);
    return found;
}

static char *spec(const char *nodes_or_slots, int count, int per_slot)
{
    static char buf[1024];
    if (!strcmp(nodes_or_slots, "node"))
        snprintf(buf, sizeof(buf),
                 "{\"version\":1,\"resources\":[{\"type\":\"node\",\"count\":%d,\"exclusive\":true,"
                 "\"with\":[{\"type\":\"slot\",\"count\":1,\"label\":\"t\",\"with\":"
                 "[{\"type\":\"core\",\"count\":1}]}]}],\"tasks\":[{\"command\":[\"x\"],"
                 "\"slot\":\"t\",\"count\":{\"per_slot\":%d}}],"
                 "\"attributes\":{\"system\":{\"duration\":0}}}", count, per_slot);
    else
        snprintf(buf, sizeof(buf),
                 "{\"version\":1,\"resources\":[{\"type\":\"slot\",\"count\":%d,\"label\":\"t\","
                 "\"with\":[{\"type\":\"core\",\"count\":1}]}],\"tasks\":[{\"command\":[\"x\"],"
                 "\"slot\":\"t\",\"count\":{\"per_slot\":%d}}],"
                 "\"attributes\":{\"system\":{\"duration\":0}}}", count, per_slot);
    return buf;
}

static void test_outcomes(struct env *e)
{
    char buf[64];
    uint64_t a = submit(e, spec("slot", 1, 1));
    is_str(state(e, a), "RUN", "a job runs once its allocation is committed");
    ok(testexec_running(e->x, a), "the executor was asked to start it");
    is(testexec_ntasks(e->x, a), 1, "with its one task");
    ok(testexec_contained(e->x, a), "contained while it runs");
    ok(testexec_output(e->x, a, 1, "hello\n") == 0, "its task writes to stdout");
    ok(testexec_finish(e->x, a, 0) == 0, "its tasks exit 0");
    turns(e, 2);
    is_str(state(e, a), "INACTIVE", "it ends");
    ok(!testexec_contained(e->x, a), "its containment was torn down");
    is_str(result(e, a, buf, sizeof(buf)), "COMPLETED 0", "COMPLETED 0");
    char out[16] = "";
    struct job *job = jobmgr_lookup(e->m, a);
    ssize_t n = job ? jobmgr_output_read(e->m, job, 1, 0, out, sizeof(out) - 1) : -1;
    is((int)n, 6, "its output was stored");
    is_str(out, "hello\n", "as written");

    uint64_t b = submit(e, spec("slot", 1, 1));
    testexec_finish(e->x, b, 3);
    turns(e, 2);
    is_str(result(e, b, buf, sizeof(buf)), "FAILED 3", "a task exiting 3: FAILED 3");

    uint64_t c = submit(e, spec("node", 2, 2));
    is(testexec_ntasks(e->x, c), 4, "2 whole nodes x 1 slot x 2 per slot: 4 tasks");
    testexec_finish(e->x, c, 0);
    turns(e, 2);
}

static void test_control(struct env *e)
{
    char buf[64];
    struct errmsg err = { "" };
    uint64_t a = submit(e, spec("slot", 1, 1));
    struct job *job = jobmgr_lookup(e->m, a);
    ok(jobmgr_ctl(e->m, job, getuid(), "signal USR1", 11, &err) == 0, "signal USR1");
    is(testexec_last_signal(e->x, a), SIGUSR1, "reaches the executor");
    ok(jobmgr_ctl(e->m, job, getuid(), "cancel", 6, &err) == 0, "cancel a running job");
    is(testexec_last_signal(e->x, a), SIGTERM, "the executor terminates it");
    turns(e, 3);
    is_str(result(e, a, buf, sizeof(buf)), "CANCELED", "it ends CANCELED");
    ok(has_event(e, a, "\"type\":\"cancel\""), "with a cancel exception");

    /* a task that ignores SIGTERM keeps the job running until it exits */
    testexec_set_obey_terminate(e->x, false);
    uint64_t b = submit(e, spec("slot", 1, 1));
    job = jobmgr_lookup(e->m, b);
    jobmgr_ctl(e->m, job, getuid(), "cancel", 6, &err);
    turns(e, 3);
    is_str(state(e, b), "RUN", "canceled, its task still running: RUN");
    testexec_finish(e->x, b, 128 + SIGKILL);
    turns(e, 2);
    is_str(result(e, b, buf, sizeof(buf)), "CANCELED", "then CANCELED once it exits");
    testexec_set_obey_terminate(e->x, true);

    /* canceled between its allocation and its start (the commit that
     * holds its submission and its allocation): it never starts, and ends
     * CANCELED */
    struct job *cj;
    if (jobmgr_submit(e->m, spec("slot", 1, 1), strlen(spec("slot", 1, 1)), getuid(), getgid(),
                      "/", &cj, &err) < 0)
        bail("submit", err.text);
    uint64_t d = cj->id;                      /* queued at once */
    ev_run_once(e->loop, 0);
    jobmgr_prepare_commit(e->m, true);        /* allocated: RUN, start pending */
    is_str(state(e, d), "RUN", "allocated, not yet started");
    ok(jobmgr_ctl(e->m, jobmgr_lookup(e->m, d), getuid(), "cancel", 6, &err) == 0,
       "cancel it before its start");
    jobmgr_after_commit(e->m, store_commit(e->st));
    turns(e, 2);
    ok(!testexec_running(e->x, d) && testexec_ntasks(e->x, d) == 0, "its tasks never start");
    is_str(result(e, d, buf, sizeof(buf)), "CANCELED", "it ends CANCELED");

    /* a start that fails */
    testexec_fail_next_start(e->x, EIO);
    uint64_t c = submit(e, spec("slot", 1, 1));
    is_str(state(e, c), "INACTIVE", "a job the executor cannot start ends");
    ok(has_event(e, c, "cannot start (testexec)"), "with the executor's reason");
    ok(has_event(e, c, "\"type\":\"exec\""), "in an exec exception");
}

static void test_resources(struct env *e)
{
    /* 2 nodes x 2 cores: a third 2-core job waits for one to end */
    uint64_t a = submit(e, spec("slot", 2, 1));
    uint64_t b = submit(e, spec("slot", 2, 1));
    uint64_t c = submit(e, spec("slot", 2, 1));
    is_str(state(e, a), "RUN", "first 2-core job runs");
    is_str(state(e, b), "RUN", "second 2-core job runs");
    is_str(state(e, c), "SCHED", "third waits");
    is(jobmgr_free_cores(e->m), 0, "no core is free");
    testexec_finish(e->x, a, 0);
    turns(e, 4);
    is_str(state(e, c), "RUN", "the third runs once the first ends");
    testexec_finish(e->x, b, 0);
    testexec_finish(e->x, c, 0);
    turns(e, 3);
    is(jobmgr_free_cores(e->m), 4, "every core is free again");
}

static void test_restart(struct env *e)
{
    char buf[64];
    uint64_t a = submit(e, spec("slot", 1, 1));
    uint64_t b = submit(e, spec("node", 2, 1));   /* waits behind a */
    is_str(state(e, b), "SCHED", "a whole-2-node job waits behind a running one");
    /* the broker dies: what its shutdown would write is never committed,
     * so the store keeps the running job as running */
    jobmgr_destroy(e->m);
    store_close(e->st);
    e->st = NULL;
    e->m = NULL;
    env_open(e);
    is_str(result(e, a, buf, sizeof(buf)), "LOST", "the job running at the crash is LOST");
    ok(has_event(e, a, "\"type\":\"lost\""), "with a lost exception");
    turns(e, 3);
    is_str(state(e, b), "RUN", "the pending one runs after the restart");
    testexec_finish(e->x, b, 0);
    turns(e, 2);
    is_str(result(e, b, buf, sizeof(buf)), "COMPLETED 0", "and completes");
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

int main(void)
{
    struct env e = { .dir = "/tmp/fluxfs-testexec.XXXXXX" };
    struct errmsg err = { "" };
    if (!mkdtemp(e.dir))
        bail("mkdtemp", strerror(errno));
    if (!(e.loop = ev_create()))
        bail("ev_create", "failed");
    if (!(e.g = rgraph_create_R(R_text, strlen(R_text), &err)) ||
        !(e.graph = rgraph_to_graph(e.g, &err)))
        bail("graph", err.text);
    env_open(&e);
    test_outcomes(&e);
    test_control(&e);
    test_resources(&e);
    test_restart(&e);
    env_close(&e);
    graph_destroy(e.graph);
    rgraph_destroy(e.g);
    ev_destroy(e.loop);
    nftw(e.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    done_testing();
    return 0;
}
