/* journal.h - a store transaction's writes as bytes, so that another
 * broker can make the same writes (doc/overlay.md "Replication").
 *
 * The leader's store records what each commit wrote (store_journal_*);
 * the leader sends that down the tree, and followers apply it to their
 * replica (store_apply). The same ops carry a full copy of a store to a
 * broker that (re)joins (store_dump). Pure: no LMDB, no I/O.
 *
 * Ops, integers big-endian:
 *   'P' db:1 klen:2 vlen:4 key val    put key = val (overwrite)
 *   'X' db:1 plen:2 prefix            delete every key that starts with prefix
 * Both are idempotent, which is what lets a copy and the commits made while
 * it is taken interleave (store_dump).
 */
#ifndef FLUXFS_JOURNAL_H
#define FLUXFS_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

/* The store's databases that are replicated (its "meta" is each broker's
 * own; "shared" is the instance's small records every broker shows, such as
 * the nodes and their status: store_shared_put). */
enum journal_db { JOURNAL_JOBS = 0, JOURNAL_EVENTS, JOURNAL_OUTPUT, JOURNAL_SHARED,
                  JOURNAL_ACCT, JOURNAL_NDB,
                  /* a broker's own, in its redo log only (redo.h): never
                   * sent, and refused by journal_next: its meta, and a
                   * cluster leader's journal log (store_journal_log) */
                  JOURNAL_META = JOURNAL_NDB, JOURNAL_JLOG, JOURNAL_NLOCAL };

/* Keys are the store's own (at most 17 bytes); anything longer is refused. */
#define JOURNAL_KEY_MAX 64
/* One value: a jobspec, an R, an output chunk. Larger is malformed. */
#define JOURNAL_VAL_MAX (64u << 20)

struct journal_op {
    char op;            /* 'P' or 'X' */
    int db;             /* enum journal_db */
    const void *key;    /* the key, or the prefix for 'X' */
    size_t klen;
    const void *val;    /* 'P' only */
    size_t vlen;
};

/* Append one op to j. 0, -EINVAL (bad db or sizes) or -ENOMEM (j unchanged). */
int journal_put(struct strbuf *j, int db, const void *key, size_t klen, const void *val,
                size_t vlen);
int journal_delete_prefix(struct strbuf *j, int db, const void *prefix, size_t plen);
/* The same for a redo log: a broker's own databases too. */
int journal_put_local(struct strbuf *j, int db, const void *key, size_t klen, const void *val,
                      size_t vlen);
int journal_delete_local(struct strbuf *j, int db, const void *prefix, size_t plen);

/* Decode the op at *pos of buf[0..len): 1 with *op set (pointing into buf)
 * and *pos moved past it; 0 at the end; -EINVAL if what is there is not a
 * whole, valid op (truncated, unknown op or db, a key too long or empty). */
int journal_next(const void *buf, size_t len, size_t *pos, struct journal_op *op);
/* The same for a redo log: a broker's own databases too. */
int journal_next_local(const void *buf, size_t len, size_t *pos, struct journal_op *op);

/* The job id a key of any replicated db starts with (its first 8 bytes),
 * or 0 if the key is shorter. */
uint64_t journal_key_id(const void *key, size_t klen);

#endif
