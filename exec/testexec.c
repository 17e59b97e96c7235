/* testexec.c - jobs that run nothing until the test ends them. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "exec/testexec.h"

struct tjob {
    uint64_t id;
    int ntasks;
    bool contained;
    int last_signal;
    bool running;
    struct tjob *next;
};

/* A callback waiting for the loop to turn. */
struct pending {
    struct testexec *t;
    uint64_t id;
    int stream;         /* 0: finished with status */
    int status;
    char *data;
    uint64_t timer;
    struct pending *next;
};

struct testexec {
    struct ev_loop *loop;
    const struct exec_ops *cb;
    void *cb_arg;
    struct tjob *jobs;
    struct pending *pending;
    int fail_next;
    bool obey_terminate;
    bool reattach_found;
};

static struct tjob *find(struct testexec *t, uint64_t id)
{
    for (struct tjob *j = t->jobs; j; j = j->next)
        if (j->id == id)
            return j;
    return NULL;
}

static void unlink_pending(struct testexec *t, struct pending *p)
{
    for (struct pending **pp = &t->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

static void deliver(struct ev_loop *loop, uint64_t timer_id, void *arg)
{
    struct pending *p = arg;
    struct testexec *t = p->t;
    unlink_pending(t, p);
    struct tjob *j = find(t, p->id);
    if (j && p->stream)
        t->cb->output(t->cb_arg, p->id, p->stream, p->data, strlen(p->data));
    else if (j && j->running) {
        j->running = false;
        t->cb->finished(t->cb_arg, p->id, p->status);
    }
    free(p->data);
    free(p);
}

static int later(struct testexec *t, uint64_t id, int stream, int status, const char *data)
{
    struct pending *p = calloc(1, sizeof(*p));
    if (!p || (data && !(p->data = strdup(data)))) {
        free(p);
        return -ENOMEM;
    }
    p->t = t;
    p->id = id;
    p->stream = stream;
    p->status = status;
    p->next = t->pending;
    t->pending = p;
    p->timer = ev_timer_add(t->loop, 0, deliver, p);
    return 0;
}

static struct tjob *find_or_add(struct testexec *t, uint64_t id)
{
    struct tjob *j = find(t, id);
    if (!j && (j = calloc(1, sizeof(*j)))) {
        j->id = id;
        j->next = t->jobs;
        t->jobs = j;
    }
    return j;
}

static int t_contain(void *impl, uint64_t id, const char *idstr)
{
    struct tjob *j = find_or_add(impl, id);
    if (!j)
        return -ENOMEM;
    j->contained = true;
    return 0;
}

static void t_release(void *impl, uint64_t id)
{
    struct tjob *j = find(impl, id);
    if (j)
        j->contained = false;
}

static int t_start(void *impl, const struct exec_job *job, struct errmsg *err)
{
    struct testexec *t = impl;
    if (t->fail_next) {
        int rc = -t->fail_next;
        t->fail_next = 0;
        return errmsg_set(err, rc, "cannot start (testexec)");
    }
    struct tjob *j = find_or_add(t, job->id);
    if (!j)
        return errmsg_set(err, -ENOMEM, "out of memory");
    j->ntasks = job->ntasks;
    j->running = true;
    return 0;
}

static int t_signal(void *impl, uint64_t id, int sig)
{
    struct tjob *j = find(impl, id);
    if (!j || !j->running)
        return -ENOENT;
    j->last_signal = sig;
    return 0;
}

static int t_terminate(void *impl, uint64_t id, double grace)
{
    struct testexec *t = impl;
    int rc = t_signal(impl, id, SIGTERM);
    if (rc == 0 && t->obey_terminate)
        rc = later(t, id, 0, 128 + SIGTERM, NULL);
    return rc;
}

static int t_reattach(void *impl, uint64_t id, const char *idstr, int *killed)
{
    struct testexec *t = impl;
    if (!t->reattach_found)
        return -ESRCH;
    struct errmsg err;
    struct exec_job job = { .id = id, .idstr = idstr };
    return t_start(impl, &job, &err);
}

static void t_destroy(void *impl)
{
    struct testexec *t = impl;
    while (t->jobs) {
        struct tjob *j = t->jobs;
        t->jobs = j->next;
        free(j);
    }
    while (t->pending) {
        struct pending *p = t->pending;
        t->pending = p->next;
        ev_timer_cancel(t->loop, p->timer);
        free(p->data);
        free(p);
    }
    free(t);
}

static const struct executor_ops test_ops = {
    .contain = t_contain,
    .release = t_release,
    .start = t_start,
    .signal = t_signal,
    .terminate = t_terminate,
    .reattach = t_reattach,
    .destroy = t_destroy,
};

struct executor *testexec_create(struct ev_loop *loop, const struct exec_ops *cb, void *cb_arg,
                                 void *arg)
{
    struct executor *x = calloc(1, sizeof(*x));
    struct testexec *t = calloc(1, sizeof(*t));
    if (!x || !t) {
        free(x);
        free(t);
        return NULL;
    }
    t->loop = loop;
    t->cb = cb;
    t->cb_arg = cb_arg;
    t->obey_terminate = true;
    x->ops = &test_ops;
    x->impl = t;
    if (arg)
        *(struct testexec **)arg = t;
    return x;
}

int testexec_output(struct testexec *t, uint64_t id, int stream, const char *data)
{
    struct tjob *j = find(t, id);
    return j && j->running ? later(t, id, stream, 0, data) : -ENOENT;
}

int testexec_finish(struct testexec *t, uint64_t id, int status)
{
    struct tjob *j = find(t, id);
    return j && j->running ? later(t, id, 0, status, NULL) : -ENOENT;
}

bool testexec_contained(struct testexec *t, uint64_t id)
{
    struct tjob *j = find(t, id);
    return j && j->contained;
}

bool testexec_running(struct testexec *t, uint64_t id)
{
    struct tjob *j = find(t, id);
    return j && j->running;
}

int testexec_ntasks(struct testexec *t, uint64_t id)
{
    struct tjob *j = find(t, id);
    return j ? j->ntasks : 0;
}

int testexec_last_signal(struct testexec *t, uint64_t id)
{
    struct tjob *j = find(t, id);
    return j ? j->last_signal : 0;
}

void testexec_fail_next_start(struct testexec *t, int err)
{
    t->fail_next = err;
}

void testexec_set_obey_terminate(struct testexec *t, bool obey)
{
    t->obey_terminate = obey;
}

void testexec_set_reattach(struct testexec *t, bool found)
{
    t->reattach_found = found;
}
