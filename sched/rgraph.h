/* rgraph.h - the resources an instance schedules: nodes with cores, gpus, memory.
 *
 * A first, flat resource model (cluster > node > {core, gpu}); the graph
 * scheduler issue grows it into typed vertices and subsystems. Built from
 * hwloc (this machine or an XML file) or from an RFC 20 R document, which may
 * describe more nodes than exist: their tasks then run on this machine.
 */
#ifndef FLUXFS_RGRAPH_H
#define FLUXFS_RGRAPH_H

#include <stdint.h>
#include <jansson.h>
#include "common/errmsg.h"

struct rgraph_node {
    char *name;          /* hostname */
    int rank;            /* broker rank in R_lite */
    int ncores;
    int *core_ids;       /* ids as named in R (sorted ascending) */
    int *core_cpus;      /* OS cpu to bind core i to, or -1 if unknown */
    int ngpus;
    int *gpu_ids;
    uint64_t memory;     /* bytes, 0 = unknown */
};

struct rgraph;

/* Discover this machine with hwloc (xmlfile == NULL) or load an hwloc XML
 * file. Memory comes from /proc/meminfo for the live machine (hwloc's figure
 * is wrong on some VMs). Returns NULL with err filled. */
struct rgraph *rgraph_create_hwloc(const char *xmlfile, struct errmsg *err);

/* Build from RFC 20 R text (version 1, R_lite + optional nodelist).
 * Missing nodelist: nodes are named "<hostname>" for a single rank, or
 * "<hostname>-<rank>" for several. Returns NULL with err filled. */
struct rgraph *rgraph_create_R(const char *text, size_t len, struct errmsg *err);

/* Read a file and dispatch: R JSON (starts with '{'), else an error. */
struct rgraph *rgraph_load_file(const char *path, struct errmsg *err);

void rgraph_destroy(struct rgraph *g);

int rgraph_nnodes(const struct rgraph *g);
const struct rgraph_node *rgraph_node(const struct rgraph *g, int i);
int rgraph_total_cores(const struct rgraph *g);
int rgraph_total_gpus(const struct rgraph *g);

/* The scheduling graph of this flat model: cluster0 > node (name, rank) >
 * core, gpu (ids as in R). Finalized; caller destroys. NULL with err. */
struct graph;
struct graph *rgraph_to_graph(const struct rgraph *rg, struct errmsg *err);

/* The whole instance as RFC 20 R (caller owns the reference). */
json_t *rgraph_to_R(const struct rgraph *g);

/* Nodes of a multi-node instance, as their brokers report them at join.
 * A node holds at most this many cores and as many gpus. */
#define RGRAPH_NODE_MAX 65536
/* Append a copy of n (name, rank, resources): its index, or -ENOMEM. */
int rgraph_add_node(struct rgraph *g, const struct rgraph_node *n);
/* Give node i n's resources (cores with their cpus, gpus, memory); its name
 * and rank stay. 0, -EINVAL, -ENOMEM. */
int rgraph_fill_node(struct rgraph *g, int i, const struct rgraph_node *n);
/* Name node i and give it a broker rank. */
int rgraph_name_node(struct rgraph *g, int i, const char *name, int rank);
/* Put the nodes in rank order (indices change; call before rgraph_to_graph). */
void rgraph_sort_by_rank(struct rgraph *g);
/* The index of the node of that broker rank, or -ENOENT. */
int rgraph_find_rank(const struct rgraph *g, int rank);
/* Add node i's cores and gpus beneath vertex nv of G (then finalize G). */
int rgraph_node_vertices(const struct rgraph *g, int i, struct graph *G, int nv,
                         struct errmsg *err);
/* A node's resources as JSON ({"cores","cpus","gpus","memory"}) and back;
 * from_json checks sizes and types (it reads what a peer sent) and fills
 * out (release it with rgraph_node_release). */
json_t *rgraph_node_to_json(const struct rgraph_node *n);
int rgraph_node_from_json(json_t *o, struct rgraph_node *out, struct errmsg *err);
void rgraph_node_release(struct rgraph_node *n);

#endif
