/* cluster_msg.h - decoding what a peer sends (doc/overlay.md "Messages"):
 * pure functions, bounded by counts and bytes, so a malformed or hostile
 * message is refused with a reason and never trusted further (and so that
 * tests/fuzz can drive them).
 */
#ifndef FLUXFS_CLUSTER_MSG_H
#define FLUXFS_CLUSTER_MSG_H

#include <stdint.h>
#include <jansson.h>

#include "common/errmsg.h"
#include "exec/exec.h"

#define CLUSTER_MAX_ARGS   65536
#define CLUSTER_MAX_TASKS  (1 << 20)
#define CLUSTER_MAX_CPUS   65536

/* An exec.start, decoded: job is ready for executor_start() (its strings
 * point into the message, which must outlive it). */
struct cluster_start {
    struct exec_job job;
    const char **argv;
    struct exec_task *tasks;
    int *cpus;
    uint64_t *node_memory;   /* "memory": bytes by nodeid, or NULL */
};

/* 0, or -EINVAL/-ENOMEM with err filled; on failure nothing to release. */
int cluster_start_decode(json_t *msg, struct cluster_start *cs, struct errmsg *err);
void cluster_start_release(struct cluster_start *cs);

#endif
