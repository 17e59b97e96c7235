/* fuzz-ctl - libFuzzer target: what users write to jobs/<id>/ctl and
 * resources/ctl (tests/fuzz/README.md), through the job manager itself
 * (test executor, a scratch store in /tmp), as root and as another user. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/testexec.h"
#include "fsd/jobmgr.h"
#include "fsd/store.h"
#include "sched/graph.h"
#include "sched/rgraph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char R_text[] =
    "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0-1\",\"children\":"
    "{\"core\":\"0-1\"}}],\"nodelist\":[\"n[0-1]\"]}}";
static const char spec[] =
    "{\"version\":1,\"resources\":[{\"type\":\"slot\",\"count\":1,\"label\":\"t\",\"with\":"
    "[{\"type\":\"core\",\"count\":1}]}],\"tasks\":[{\"command\":[\"true\"],\"slot\":\"t\","
    "\"count\":{\"per_slot\":1}}],\"attributes\":{\"system\":{\"duration\":60}}}";

static struct {
    struct ev_loop *loop;
    struct store *st;
    struct jobmgr *m;
    struct testexec *x;
    uint64_t id;            /* the job inputs control (looked up: it may be purged) */
} F;

static void turn(void)
{
    ev_run_once(F.loop, 0);
    jobmgr_prepare_commit(F.m, true);
    jobmgr_after_commit(F.m, store_commit(F.st));
}

static void setup(void)
{
    static char dir[] = "/tmp/fluxfs-fuzz-ctl.XXXXXX";
    struct errmsg err = {""};
    struct rgraph *g;
    struct graph *graph;
    struct jobmgr_config cfg = {
        .kill_grace = 0.01,
        .purge_keep = 16,
        .executor_create = testexec_create,
        .executor_arg = &F.x,
    };
    if (!mkdtemp(dir) || !(F.loop = ev_create())
        || !(g = rgraph_create_R(R_text, strlen(R_text), &err))
        || !(graph = rgraph_to_graph(g, &err))
        || store_open(dir, 256ull << 20, &F.st, &err) < 0
        || !(F.m = jobmgr_create(F.loop, F.st, g, graph, &cfg, &err)))
        abort();
    turn();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct errmsg err = {""};
    if (!F.m)
        setup();
    struct job *job = F.id ? jobmgr_lookup(F.m, F.id) : NULL;
    if (!job || job_get_state(job) == JOB_INACTIVE) {
        if (jobmgr_submit(F.m, spec, strlen(spec), 1000, 1000, "/", &job, &err) < 0)
            return 0;
        F.id = job->id;
        turn();
        if (!(job = jobmgr_lookup(F.m, F.id)))
            return 0;
    }
    const char *text = (const char *)data;
    jobmgr_ctl(F.m, job, size & 1 ? 0 : 1000, text, size, &err);
    jobmgr_resource_ctl(F.m, 0, text, size, &err);
    turn();
    /* a drain or down must not stop the next inputs from running jobs */
    jobmgr_resource_ctl(F.m, 0, "up n0\nup n1\n", 12, &err);
    turn();
    return 0;
}
