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

#endif
