/* ghwloc.h - the resource graph of one machine, from hwloc.
 *
 *   cluster0 > node (named for the host, rank 0)
 *            > socket<i>  one per hwloc package (i = its logical index)
 *              > core<i>  i = the core's logical index in the machine
 *              > memory<i> one per NUMA node, size in GiB (unit "GB")
 *              > gpu<i>   i counts GPUs in the machine
 * Cores, NUMA nodes and GPUs outside any package hang from the node. A
 * machine without cores (some VMs, synthetic topologies) has its PUs as
 * cores. GPUs are the OS devices of type GPU or CoProc from the first of the
 * CUDA, RSMI and OpenCL backends that reports any, since those may describe
 * the same device; they sit under the package of their nearest non-I/O
 * ancestor. The node's basename and id split the hostname at its trailing
 * digits ("fluke12": fluke, 12; no digits: id 0), as Fluxion does; every
 * vertex below the cluster has rank 0.
 */
#ifndef FLUXFS_GHWLOC_H
#define FLUXFS_GHWLOC_H

#include <hwloc.h>
#include "common/errmsg.h"
#include "sched/graph.h"

/* Load an hwloc XML file, or discover this machine when xmlpath is NULL
 * (HWLOC_XMLFILE in the environment still applies), and build its graph.
 * hostname NULL means gethostname(). On success *out owns a new finalized
 * graph and 0 is returned; otherwise -errno with err filled, *out untouched. */
int ghwloc_load(const char *xmlpath, const char *hostname, struct graph **out,
                struct errmsg *err);

/* The same from a topology the caller loaded (and still owns). Load it with
 * I/O devices kept (HWLOC_TYPE_FILTER_KEEP_IMPORTANT) to see GPUs. */
int ghwloc_load_topology(hwloc_topology_t topo, const char *hostname, struct graph **out,
                         struct errmsg *err);

#endif
