/* cluster_msg.c - decoding what a peer sends (cluster_msg.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonw.h"
#include "fsd/cluster_msg.h"

/* An integer member in [lo, hi], or -1 with err filled. */
static int get_int(json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out,
                   struct errmsg *err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return errmsg_set(err, -EINVAL, "exec.start: '%s' is not an integer in %lld..%lld", key,
                          (long long)lo, (long long)hi);
    *out = json_integer_value(v);
    return 0;
}

static int int_at(json_t *a, size_t i, int64_t lo, int64_t hi, int *out)
{
    json_t *v = json_array_get(a, i);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return -EINVAL;
    *out = (int)json_integer_value(v);
    return 0;
}

void cluster_start_release(struct cluster_start *cs)
{
    free(cs->argv);
    free(cs->tasks);
    free(cs->cpus);
    free(cs->node_memory);
    free(cs->cwd);
    memset(cs, 0, sizeof(*cs));
}

int cluster_path_set(json_t *o, const char *key, const char *path)
{
    char name[64];
    size_t n = strlen(path);
    if (jsonw_utf8(path, n))
        return json_object_set_new(o, key, json_string(path)) < 0 ? -ENOMEM : 0;
    char *hex = malloc(2 * n + 1);
    if (!hex || (size_t)snprintf(name, sizeof(name), "%s_hex", key) >= sizeof(name)) {
        free(hex);
        return -ENOMEM;
    }
    jsonw_hex(hex, path, n);
    int rc = json_object_set_new(o, name, json_string(hex)) < 0 ? -ENOMEM : 0;
    free(hex);
    return rc;
}

int cluster_path_get(json_t *o, const char *key, char **path)
{
    char name[64];
    json_t *v = json_object_get(o, key);
    *path = NULL;
    if (v) {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
            return -EINVAL;
        return (*path = strdup(json_string_value(v))) ? 0 : -ENOMEM;
    }
    snprintf(name, sizeof(name), "%s_hex", key);
    if (!(v = json_object_get(o, name)))
        return 0;
    if (!json_is_string(v))
        return -EINVAL;
    *path = jsonw_unhex(json_string_value(v), json_string_length(v));
    return *path ? 0 : errno == ENOMEM ? -ENOMEM : -EINVAL;
}

int cluster_start_decode(json_t *msg, struct cluster_start *cs, struct errmsg *err)
{
    json_t *argv = json_object_get(msg, "argv"), *tasks = json_object_get(msg, "tasks");
    json_t *env = json_object_get(msg, "env");
    json_t *out = json_object_get(msg, "out"), *errp = json_object_get(msg, "err");
    json_t *inp = json_object_get(msg, "in");
    int64_t id, nnodes, size, uid, gid;
    size_t nargs = json_array_size(argv), ntasks = json_array_size(tasks), ncpus = 0;
    memset(cs, 0, sizeof(*cs));
    if (get_int(msg, "id", 0, INT64_MAX, &id, err) < 0
        || get_int(msg, "nnodes", 1, CLUSTER_MAX_TASKS, &nnodes, err) < 0
        || get_int(msg, "ntasks", 1, CLUSTER_MAX_TASKS, &size, err) < 0
        || get_int(msg, "uid", 0, INT32_MAX, &uid, err) < 0
        || get_int(msg, "gid", 0, INT32_MAX, &gid, err) < 0)
        return -EINVAL;
    const char *idstr = json_string_value(json_object_get(msg, "idstr"));
    if (!idstr || strlen(idstr) > 64)
        return errmsg_set(err, -EINVAL, "exec.start: 'idstr' is not a job id");
    if (!json_is_array(argv) || nargs == 0 || nargs > CLUSTER_MAX_ARGS)
        return errmsg_set(err, -EINVAL, "exec.start: 'argv' is not 1 to %d strings",
                          CLUSTER_MAX_ARGS);
    if (!json_is_array(tasks) || ntasks == 0 || ntasks > (size_t)size)
        return errmsg_set(err, -EINVAL, "exec.start: 'tasks' is not 1 to ntasks tasks");
    if ((env && !json_is_object(env)) || (out && !json_is_string(out))
        || (errp && !json_is_string(errp)) || (inp && !json_is_string(inp)))
        return errmsg_set(err, -EINVAL, "exec.start: 'env', 'out', 'err' or 'in' of the "
                          "wrong type");
    json_t *mem = json_object_get(msg, "memory");
    if (mem && (!json_is_array(mem) || json_array_size(mem) != (size_t)nnodes))
        return errmsg_set(err, -EINVAL, "exec.start: 'memory' is not one number per node");
    for (size_t t = 0; t < ntasks; t++) {
        json_t *e = json_array_get(tasks, t), *cl = json_array_get(e, 3);
        if (!json_is_array(e) || json_array_size(e) != 4 || !json_is_array(cl)
            || json_array_size(cl) > CLUSTER_MAX_CPUS)
            return errmsg_set(err, -EINVAL, "exec.start: tasks[%zu] is not [rank, nodeid, "
                              "localid, [cpus]]", t);
        ncpus += json_array_size(cl);
    }
    if (mem) {
        if (!(cs->node_memory = calloc((size_t)nnodes, sizeof(uint64_t))))
            return errmsg_set(err, -ENOMEM, "out of memory");
        for (size_t n = 0; n < (size_t)nnodes; n++) {
            json_t *b = json_array_get(mem, n);
            if (!json_is_integer(b) || json_integer_value(b) < 0) {
                cluster_start_release(cs);
                return errmsg_set(err, -EINVAL, "exec.start: memory[%zu] is not a byte count", n);
            }
            cs->node_memory[n] = (uint64_t)json_integer_value(b);
        }
    }
    int rc = cluster_path_get(msg, "cwd", &cs->cwd);
    if (rc < 0) {
        cluster_start_release(cs);
        return errmsg_set(err, rc, "exec.start: 'cwd' (or 'cwd_hex') is not a path");
    }
    cs->argv = calloc(nargs + 1, sizeof(char *));
    cs->tasks = calloc(ntasks, sizeof(*cs->tasks));
    cs->cpus = malloc((ncpus ? ncpus : 1) * sizeof(int));
    if (!cs->argv || !cs->tasks || !cs->cpus) {
        cluster_start_release(cs);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nargs; i++) {
        if (!(cs->argv[i] = json_string_value(json_array_get(argv, i)))) {
            cluster_start_release(cs);
            return errmsg_set(err, -EINVAL, "exec.start: argv[%zu] is not a string", i);
        }
    }
    int *cpu = cs->cpus;
    for (size_t t = 0; t < ntasks; t++) {
        json_t *e = json_array_get(tasks, t), *cl = json_array_get(e, 3);
        struct exec_task *x = &cs->tasks[t];
        int bad = int_at(e, 0, 0, size - 1, &x->rank) | int_at(e, 1, 0, nnodes - 1, &x->nodeid)
                | int_at(e, 2, 0, size - 1, &x->localid);
        x->ncpus = (int)json_array_size(cl);
        x->cpus = cpu;
        for (int k = 0; k < x->ncpus; k++)
            bad |= int_at(cl, (size_t)k, -1, 1 << 20, cpu++);
        if (bad) {
            cluster_start_release(cs);
            return errmsg_set(err, -EINVAL, "exec.start: tasks[%zu]: a value out of range", t);
        }
    }
    cs->job = (struct exec_job){
        .id = (uint64_t)id,
        .idstr = idstr,
        .argv = (char *const *)cs->argv,
        .cwd = cs->cwd,
        .out_path = json_string_value(out),
        .err_path = json_string_value(errp),
        .in_path = json_string_value(inp),
        .environment = env,
        .nnodes = (int)nnodes,
        .ntasks = (int)ntasks,
        .size = (int)size,
        .tasks = cs->tasks,
        .label = json_is_true(json_object_get(msg, "label")),
        .uid = (uid_t)uid,
        .gid = (gid_t)gid,
        .node_memory = cs->node_memory,
    };
    return 0;
}
