/* rv1.h - RFC 20 R version 1 writer.
 *
 * Builds {"version": 1, "execution": {"R_lite": [...], "nodelist": [...],
 * "starttime": T, "expiration": E}} from nodes given in rank order.
 * Neighbouring nodes with identical children (same core and gpu id sets)
 * share one R_lite entry; the host names become one compressed RFC 29
 * hostlist.  Pure: no I/O.
 */
#ifndef FLUXFS_SCHED_RV1_H
#define FLUXFS_SCHED_RV1_H

#include <stdbool.h>
#include <jansson.h>

struct graph;

struct rv1_writer;

/* An empty writer, or NULL with errno set. */
struct rv1_writer *rv1_writer_create(void);

/* NULL-safe. */
void rv1_writer_destroy(struct rv1_writer *w);

/* Append node rank named host with the given core and gpu ids (the ids, not
 * indices; order does not matter).  Children with no gpus have no "gpu" key.
 * The arrays are copied.  Returns 0 or -errno (-ENOMEM, -EINVAL for a bad
 * host name); after a failure the writer only accepts destroy, and
 * rv1_writer_finish() fails. */
int rv1_writer_add(struct rv1_writer *w, int rank, const char *host,
                   const int *core_ids, int ncores, const int *gpu_ids, int ngpus);

/* The R document of all nodes added (caller owns the new reference), or NULL
 * with errno set.  Call at most once; then only rv1_writer_destroy(). */
json_t *rv1_writer_finish(struct rv1_writer *w, double starttime, double expiration);

/* The R of a whole resource graph: every vertex of type node, by rank (a
 * graph without ranks, as from GRUG recipes, numbers its nodes in order, as
 * the matcher's R does), with the ids of the cores and gpus beneath it.
 * NULL on ENOMEM. What resources/R shows: the scheduler's graph is the one
 * model, whatever file it was read from. */
json_t *rv1_from_graph(const struct graph *g);
/* ... of the nodes v for which keep(arg, v) is true (ranks as above). */
json_t *rv1_from_graph_nodes(const struct graph *g, bool (*keep)(void *arg, int v), void *arg);

#endif
