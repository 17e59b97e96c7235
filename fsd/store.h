/* store.h - the broker's durable state in LMDB.
 *
 * The only module that includes lmdb.h. Everything a broker must not lose
 * lives here: job records, eventlogs, output, and small metadata.
 *
 * Transactions: writes go into one write transaction that is begun on the
 * first write and ended by store_commit(), which the broker calls once per
 * event-loop iteration (group commit: many submissions, one fsync).
 * Reads see the open write transaction if there is one (so a read after a
 * write in the same iteration sees it), else a fresh snapshot. With the
 * redo log a lazy commit ends in the log alone, and its writes stay in
 * the open transaction, which LMDB commits at the next checkpoint (one
 * LMDB commit for a third of a second of them; "Deferred commits" in
 * store.c).
 * Single-threaded: call everything from the broker thread.
 *
 * Errors: 0 or -errno. MDB_NOTFOUND -> -ENOENT, MDB_MAP_FULL -> -ENOSPC,
 * other LMDB errors -> -EIO (message via store_errstr()); errno values
 * LMDB passes up from the system (e.g. ENOSPC, EIO) are returned as -errno.
 * A write that fails with anything but -ENOENT/-EEXIST/-EINVAL aborts the
 * write transaction: all uncommitted writes are lost and store_dirty() is
 * false afterwards (LMDB cannot continue a transaction after such errors).
 */
#ifndef FLUXFS_STORE_H
#define FLUXFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/errmsg.h"
#include "common/strbuf.h"

struct store;

/* Open (creating if needed) the store in directory dir (created 0700 if
 * missing). Takes an exclusive flock on dir/lock: a second broker on the
 * same dir fails with -EBUSY and err says "state directory '...' is in use
 * by pid N". map_size 0 = default (64 GiB sparse). */
int store_open(const char *dir, size_t map_size, struct store **out, struct errmsg *err);
void store_close(struct store *st);   /* aborts an uncommitted txn; NULL-safe */
/* We are stopping: a daemon started on the same directory meanwhile waits
 * for us to release it rather than failing (statedir.h). NULL-safe. */
void store_stopping(struct store *st);

/* This machine's boot id, read once at open (/proc/sys/kernel/random/boot_id;
 * in tests the file FLUXFS_TEST_BOOT_ID names), or "" if unknown: what the
 * page cache held is gone when it changes. */
const char *store_boot_id(const struct store *st);
/* Text of the last LMDB error (for logs); valid until the next store call. */
const char *store_errstr(const struct store *st);

/* Commit the open write transaction durably (fsync). 0 if none was open.
 * On failure the transaction is gone (its writes are lost). A write that
 * failed since the last commit aborted the transaction: then this fails
 * with that write's error, and writes in between were refused, so a commit
 * never makes half of an iteration durable. */
int store_commit(struct store *st);
/* Commit without fsync: safe from a crash of this process (the data is in
 * the kernel's page cache), not from a crash of the machine until the next
 * store_commit() or store_sync(). For changes nobody is waiting on. */
int store_commit_lazy(struct store *st);
/* fsync what lazy commits wrote. 0 if there was nothing to do. */
int store_sync(struct store *st);
bool store_unsynced(const struct store *st);
/* Writes no commit has ended yet: the next commit writes something. */
bool store_writing(const struct store *st);
/* Make every commit so far durable (fdatasync), from any thread: the
 * syncer's (fsd/syncer.h), while the loop thread goes on committing
 * lazily. Touches no state of the store's but LMDB's env or the redo
 * log's files. 0 or -errno. */
int store_flush(struct store *st);

/* The redo log (fsd/redo.h). Once enabled, a lazy commit's writes are
 * appended to it, and store_flush syncs it instead of LMDB (one
 * sequential write, not every page the commit touched). LMDB is then
 * committed and synced in the background, a checkpoint, a third of a
 * second after a change and whenever store_checkpoint_due:
 * store_checkpoint_mark on the loop (the LMDB commit), then
 * store_checkpoint_sync on another thread, then store_checkpoint_done(mark)
 * on the loop. Enabling fails with -ENOENT until its files are made:
 * store_redo_prepare does that, from any thread (tens of ms), or refuses
 * with -ENOSPC where the disk has less than 64 MiB free. */
int store_redo_prepare(struct store *st);
int store_redo_enable(struct store *st);
bool store_redo_on(const struct store *st);
bool store_checkpoint_due(const struct store *st);
uint64_t store_checkpoint_mark(struct store *st);
int store_checkpoint_sync(struct store *st);   /* any thread, like store_flush */
void store_checkpoint_done(struct store *st, uint64_t mark);

/* Drop uncommitted writes. */
void store_abort(struct store *st);
bool store_dirty(const struct store *st);

/* Accounting records (fsd/acct.h): one blob per ended job, keyed by its end
 * time in ms and its id, apart from the job records so that purging a job
 * leaves it; replicated. */
int store_acct_put(struct store *st, uint64_t end_ms, uint64_t id, const void *data,
                   size_t len);
/* Each record from key (from_ms, from_id) on (ending at from_ms with an id
 * of at least from_id, or later), in end order; cb's non-zero return stops
 * the walk and is returned. */
typedef int (*store_acct_f)(void *arg, uint64_t end_ms, uint64_t id, const void *data,
                            size_t len);
int store_acct_foreach(struct store *st, uint64_t from_ms, uint64_t from_id, store_acct_f cb,
                       void *arg);
/* The same on a read transaction of its own, from any thread, of what is
 * committed (a worker's walk of a year of records, while the loop goes on
 * writing); the store must outlive the walk. */
int store_acct_walk(struct store *st, uint64_t from_ms, uint64_t from_id, store_acct_f cb,
                    void *arg);
/* Delete at most max records that ended before before_ms, oldest first:
 * how many, or -errno. */
int store_acct_expire(struct store *st, uint64_t before_ms, size_t max);

/* Job records: an opaque blob per job id (the broker stores JSON). */
int store_job_put(struct store *st, uint64_t id, const void *data, size_t len);
/* *data points into LMDB memory, valid until the next store call. */
int store_job_get(struct store *st, uint64_t id, const void **data, size_t *len);
/* A job's immutable blobs, by kind (one byte: the broker uses 'S' for the
 * jobspec, 'R' for the allocation): written once, while the record (small,
 * rewritten on every change) stays cheap. get: -ENOENT if absent; *data
 * points into LMDB memory, valid until the next store call. */
int store_blob_put(struct store *st, uint64_t id, char kind, const void *data, size_t len);
int store_blob_get(struct store *st, uint64_t id, char kind, const void **data, size_t *len);
/* Remove the job record, its blobs, its eventlog and its output. -ENOENT if
 * there was none of them. */
int store_job_delete(struct store *st, uint64_t id);
/* Call cb for each job in ascending id order; stop early if cb returns non-zero
 * (that value is returned). data valid only during the call. cb may read
 * from the store; it must not call store_commit/store_abort. */
typedef int (*store_job_f)(void *arg, uint64_t id, const void *data, size_t len);
int store_job_foreach(struct store *st, store_job_f cb, void *arg);

/* Eventlog: append-only lines per job, numbered from 0 by the caller.
 * -EEXIST if seq is already used. */
int store_event_append(struct store *st, uint64_t id, uint32_t seq, const char *line, size_t len);
/* Call cb for each event of job id in order. */
typedef int (*store_event_f)(void *arg, uint32_t seq, const char *line, size_t len);
int store_event_foreach(struct store *st, uint64_t id, store_event_f cb, void *arg);

/* Output: stream 1 = stdout, 2 = stderr. The caller tracks the length and
 * appends at offset == current length (-EEXIST if a chunk already starts at
 * offset; len 0 stores nothing). */
int store_output_append(struct store *st, uint64_t id, int stream, uint64_t offset,
                        const void *data, size_t len);
/* Read up to size bytes at offset. Returns bytes read (0 at end) or -errno. */
ssize_t store_output_read(struct store *st, uint64_t id, int stream, uint64_t offset,
                          void *buf, size_t size);

/* Small named values (e.g. "last-id", "epoch"). Names are non-empty C strings.
 * store_meta_get copies at most size bytes and sets *len (if len != NULL) to
 * the full length of the value, so *len > size means it was truncated. */
int store_meta_put(struct store *st, const char *key, const void *data, size_t len);
int store_meta_get(struct store *st, const char *key, void *buf, size_t size, size_t *len);

/* The instance's own records every broker shows (the nodes, their status):
 * like meta, but replicated (journal.h JOURNAL_SHARED). Names of at most 64
 * bytes. get: a malloc'd, NUL-terminated copy in *out (free it), or
 * -ENOENT. */
int store_shared_put(struct store *st, const char *name, const void *data, size_t len);
int store_shared_get(struct store *st, const char *name, char **out, size_t *len);

/* Replication (fsd/journal.h, doc/overlay.md "Replication"): job records,
 * blobs, eventlogs and output, not meta, which is each broker's own.
 *
 * Journal: once enabled, every write to them is also recorded as journal
 * ops. store_journal_take() moves what the commits made since the last take
 * wrote into out (reset first); writes not yet committed stay, and are
 * dropped if their transaction fails. */
void store_journal_enable(struct store *st);
void store_journal_take(struct store *st, struct strbuf *out);
/* Writes are journaled that no commit has made yet. */
bool store_journal_pending(const struct store *st);

/* The journal log: store_journal_log() keeps what the open transaction
 * has journaled so far under seq, in that transaction (so it is exactly as
 * durable as the commit), and drops what is keep or more commits older.
 * store_journal_foreach() calls cb for each kept, in seq order (data valid
 * during the call). So a leader that restarts, even after kill -9, still
 * has its recent commits to send (fsd/replica.c). 0 or -errno. */
int store_journal_log(struct store *st, uint64_t seq, uint64_t keep);
typedef int (*store_journal_f)(void *arg, uint64_t seq, const void *data, size_t len);
int store_journal_foreach(struct store *st, store_journal_f cb, void *arg);

/* A replica: make the writes of journal ops (all of them in the open
 * transaction, or none: -EINVAL if any op is malformed). cb, if not NULL,
 * is told each op after it is made (op points into ops). 0 or -errno. */
struct journal_op;
typedef void (*store_apply_f)(void *arg, const struct journal_op *op);
int store_apply(struct store *st, const void *ops, size_t len, store_apply_f cb, void *arg);
/* Empty the replicated databases (in the open transaction). */
int store_wipe(struct store *st);

/* A copy of the replicated databases, as put ops, in steps: each call
 * appends ops for the keys after *pos until out has grown by max bytes
 * (at least one op), from a fresh snapshot of what is committed. 1: more to
 * come; 0: done; -EBUSY while a write transaction is open; -errno. Steps
 * see commits made between them: a key changed after it was copied is
 * copied again only if the commit's own journal reaches the copy too, so
 * send commits and steps down the same ordered channel. */
struct store_dump {
    int db;                     /* 0 at the start */
    unsigned char key[64];      /* the last key copied (JOURNAL_KEY_MAX) */
    size_t klen;                /* 0: none yet in db */
};
int store_dump(struct store *st, struct store_dump *pos, struct strbuf *out, size_t max);

/* Space. The store keeps a reserve file (1 MiB) on the state directory's
 * disk while it has room. When the disk is full (a commit fails with
 * ENOSPC, or store_check_space() finds less free than the reserve) the
 * reserve is deleted, so LMDB can still write what must not be lost, and
 * the store is "low" until store_check_space() finds twice the reserve free
 * again and takes it back. While low, callers write no output and accept no
 * submissions (the job model's policy, see jobmgr.h). A commit that fails
 * because the disk filled up returns -ENOSPC even when LMDB says EIO (its
 * word for a short write). */
bool store_low_space(const struct store *st);
/* Look at the disk (a statvfs; call it about once a second): enter or leave
 * the low state as above. Returns store_low_space(). */
bool store_check_space(struct store *st);

/* Bytes used by the data file (for status). */
uint64_t store_size(const struct store *st);

#endif
