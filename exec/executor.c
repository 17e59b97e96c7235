/* executor.c - the calls through the ops table, and the local executor:
 * exec.h's launcher behind that table. */
#include <errno.h>
#include <stdlib.h>

#include "exec/executor.h"

int executor_contain(struct executor *x, uint64_t id, const char *idstr)
{
    return x->ops->contain(x->impl, id, idstr);
}

void executor_release(struct executor *x, uint64_t id)
{
    x->ops->release(x->impl, id);
}

int executor_start(struct executor *x, const struct exec_job *job, struct errmsg *err)
{
    return x->ops->start(x->impl, job, err);
}

int executor_node_active(struct executor *x, uint64_t id, int nodeid)
{
    return x->ops->node_active ? x->ops->node_active(x->impl, id, nodeid) : -EOPNOTSUPP;
}

int executor_signal(struct executor *x, uint64_t id, int sig)
{
    return x->ops->signal(x->impl, id, sig);
}

int executor_terminate(struct executor *x, uint64_t id, double grace)
{
    return x->ops->terminate(x->impl, id, grace);
}

int executor_reattach(struct executor *x, uint64_t id, const char *idstr, int *killed)
{
    *killed = 0;
    return x->ops->reattach(x->impl, id, idstr, killed);
}

void executor_destroy(struct executor *x)
{
    if (!x)
        return;
    x->ops->destroy(x->impl);
    free(x);
}

/* ---- the local executor ---- */

static int local_contain(void *impl, uint64_t id, const char *idstr)
{
    return exec_contain(impl, id, idstr);
}

static void local_release(void *impl, uint64_t id)
{
    exec_release(impl, id);
}

static int local_start(void *impl, const struct exec_job *job, struct errmsg *err)
{
    return exec_start(impl, job, err);
}

static int local_signal(void *impl, uint64_t id, int sig)
{
    return exec_signal(impl, id, sig);
}

static int local_node_active(void *impl, uint64_t id, int nodeid)
{
    return exec_node_active(impl, id, nodeid);
}

static int local_terminate(void *impl, uint64_t id, double grace)
{
    return exec_terminate(impl, id, grace);
}

/* A job's tasks die with the broker that forked them (their launcher's
 * death signal): nothing to take over, only leftovers to kill. */
static int local_reattach(void *impl, uint64_t id, const char *idstr, int *killed)
{
    *killed = exec_kill_orphans(idstr);
    exec_kill_group(idstr);   /* and what detached from them, in its cgroup */
    return -ESRCH;
}

static void local_destroy(void *impl)
{
    exec_destroy(impl);
}

static const struct executor_ops local_ops = {
    .contain = local_contain,
    .release = local_release,
    .start = local_start,
    .signal = local_signal,
    .node_active = local_node_active,
    .terminate = local_terminate,
    .reattach = local_reattach,
    .destroy = local_destroy,
};

struct executor *executor_local_create(struct ev_loop *loop, const struct exec_ops *cb,
                                       void *cb_arg, void *arg)
{
    struct executor *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->ops = &local_ops;
    if (!(x->impl = exec_create(loop, cb, cb_arg))) {
        free(x);
        return NULL;
    }
    return x;
}
