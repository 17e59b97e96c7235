/* fuzz-overlay - libFuzzer target: what brokers read from each other and
 * from their bootstrap file (tests/fuzz/README.md). The input is tried as a
 * bootstrap file, then as a replica's journal ops (journal.c), then as a
 * message: an exec.start (cluster_msg.c) and a node's resources at join
 * (rgraph_node_from_json). */
#include <stdint.h>
#include <stdlib.h>
#include <jansson.h>

#include "fsd/bootstrap.h"
#include "fsd/cluster_msg.h"
#include "fsd/journal.h"
#include "sched/rgraph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct errmsg err = {""};
    struct bootstrap *bs = bootstrap_parse((const char *)data, size, &err);
    if (bs) {
        for (int r = 0; r < bs->size && r < 64; r++) {
            int n;
            bootstrap_first_child(bs, r, &n);
            bootstrap_next_hop(bs, 0, r);
            bootstrap_depth(bs, r);
        }
        bootstrap_rank_of(bs, "n1.cluster");
        bootstrap_destroy(bs);
    }
    struct journal_op op;
    size_t pos = 0;
    uint64_t sum = 0;
    while (journal_next(data, size, &pos, &op) > 0)
        sum += journal_key_id(op.key, op.klen) + op.vlen;
    (void)sum;
    json_t *msg = json_loadb((const char *)data, size, 0, NULL);
    if (!msg)
        return 0;
    struct cluster_start cs;
    if (cluster_start_decode(msg, &cs, &err) == 0)
        cluster_start_release(&cs);
    struct rgraph_node node;
    if (rgraph_node_from_json(json_object_get(json_object_get(msg, "info"), "resources"), &node,
                              &err) == 0)
        rgraph_node_release(&node);
    if (rgraph_node_from_json(msg, &node, &err) == 0)
        rgraph_node_release(&node);
    json_decref(msg);
    return 0;
}
