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
    char *cwd;               /* the job's directory (cluster_path_get) */
};

/* 0, or -EINVAL/-ENOMEM with err filled; on failure nothing to release. */
int cluster_start_decode(json_t *msg, struct cluster_start *cs, struct errmsg *err);
void cluster_start_release(struct cluster_start *cs);

/* A path in a message, which is bytes (a directory named in Latin-1 is not
 * UTF-8, which JSON strings must be): "key" as a string when it is UTF-8,
 * else "key_hex" with its bytes in hex (common/jsonw.h jsonw_kpath). set:
 * 0 or -ENOMEM. get: 0 with *path malloc'd, or NULL when neither is
 * there; -EINVAL when one is not a string of such bytes, or -ENOMEM. */
int cluster_path_set(json_t *o, const char *key, const char *path);
int cluster_path_get(json_t *o, const char *key, char **path);

#endif
