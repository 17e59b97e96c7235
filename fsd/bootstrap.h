/* bootstrap.h - the brokers of a multi-node instance and the tree over them.
 *
 * One JSON file serves every broker of an instance, as Flux's [bootstrap]
 * table does (doc/overlay.md has the format):
 *
 *   { "version": 1, "fanout": 2, "name": "cluster-a",
 *     "heartbeat": { "period": 1, "timeout": 5 },
 *     "tls": { "ca": "ca.pem", "cert": "cert.pem", "key": "key.pem" },
 *     "brokers": [ { "host": "node0", "bind": "tls+tcp://0.0.0.0:8050",
 *                    "connect": "tls+tcp://node0:8050" }, ... ] }
 *
 * Ranks are positions in "brokers"; rank 0 is the leader. The tree is k-ary
 * over ranks (k = "fanout", default 32): the parent of rank r > 0 is
 * (r - 1) / k, its children k*r + 1 ... k*r + k. Pure: no I/O but loading.
 */
#ifndef FLUXFS_BOOTSTRAP_H
#define FLUXFS_BOOTSTRAP_H

#include <stdbool.h>
#include <stddef.h>
#include "common/errmsg.h"

#define BOOTSTRAP_FANOUT_DEFAULT 32
#define BOOTSTRAP_MAX_BROKERS    65536
#define BOOTSTRAP_FILE_MAX       (16u << 20)
#define BOOTSTRAP_HB_PERIOD      1.0
#define BOOTSTRAP_HB_TIMEOUT     5.0

struct bootstrap_broker {
    char *host;              /* the node's name in resources/ */
    char *bind;              /* where this broker listens (for its parent) */
    char *connect;           /* the URL its parent dials to reach it */
};

struct bootstrap {
    int size;                /* number of brokers */
    int fanout;
    char *name;              /* instance name (default "fluxfs"): peers must agree */
    bool insecure;           /* ipc:// and tcp:// allowed (tests only) */
    double hb_period;        /* heartbeat: seconds between a parent's beats */
    double hb_timeout;       /* ... and silence after which a peer is lost */
    char *ca, *cert, *key;   /* PEM files, NULL when insecure and not given */
    char *ca_pem, *cert_pem, *key_pem;   /* their contents (bootstrap_read_tls) */
    struct bootstrap_broker *brokers;
};

/* Parse text (JSON). NULL with err filled: a person reads it. */
struct bootstrap *bootstrap_parse(const char *text, size_t len, struct errmsg *err);
/* Read and parse a file (at most BOOTSTRAP_FILE_MAX bytes). */
struct bootstrap *bootstrap_load(const char *path, struct errmsg *err);
void bootstrap_destroy(struct bootstrap *bs);
/* Read the TLS files now, while we may (a root-started broker drops root
 * later, and dials again when it re-parents). 0 or -errno with err. */
int bootstrap_read_tls(struct bootstrap *bs, struct errmsg *err);

/* The rank whose host is hostname (exactly, or its first label: "node3"
 * matches "node3.cluster"), or -ENOENT, or -EEXIST if two ranks share it. */
int bootstrap_rank_of(const struct bootstrap *bs, const char *hostname);

/* Tree shape. parent: -1 for rank 0. children: the first child and how
 * many (0 for a leaf). */
int bootstrap_parent(const struct bootstrap *bs, int rank);
int bootstrap_first_child(const struct bootstrap *bs, int rank, int *count);
/* Depth of rank in the tree (0 for the leader). */
int bootstrap_depth(const struct bootstrap *bs, int rank);
/* The next hop from rank `from` towards rank `to`: a child of `from` whose
 * subtree holds `to`, or from's parent when `to` is not below `from`; -1
 * when from == to or either is out of range. */
int bootstrap_next_hop(const struct bootstrap *bs, int from, int to);

#endif
