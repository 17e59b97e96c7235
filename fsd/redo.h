/* redo.h - the store's redo log: what each commit wrote, appended to a
 * file whose fdatasync makes the commit durable.
 *
 * Why: a durable LMDB commit is an fdatasync of the data file, which
 * writes every page the commit touched, wherever it lies (2-4 scattered
 * pages and the meta page for one submission), one I/O each; here a sync
 * of one sequential page costs 410-490 us, of six scattered ones 740-1,070
 * (tests/bench/results). With the redo log a commit's writes, as journal
 * ops (journal.h), are appended to the redo log, whose sync is what a
 * submitter waits for (the page cache alone is safe from a crash of the
 * broker), and stay in LMDB's open transaction. LMDB commits them and is
 * synced in the background, a checkpoint, a third of a second after a
 * change; the records it covers are then no longer needed.
 *
 * Files: dir/redo.0 and dir/redo.1, each of a fixed size, written with
 * zeros when made (a sync that also changes the file's size or extents
 * commits the file system's journal too). One is active (appended to), the
 * other waits for the checkpoint that covers it (draining) or is free. A
 * rotation makes the free one active, with a new sequence number in its
 * header; the caller then checkpoints, and says so (redo_checkpointed).
 * dir/redo.ckpt records the last checkpoint (redo_ckpt_save): what the
 * caller needs to find the state the records follow after a power failure.
 *
 * A record carries its file's sequence number, the LMDB transaction id it
 * committed as, its length and a CRC-32C; a torn or stale record (an
 * earlier use of the file) ends the file's replay. On open, records whose
 * transaction LMDB does not have are applied again, oldest file first, in
 * order; since every op is a blind write (a put or a prefix delete), what
 * is applied twice ends the same.
 *
 * Single-threaded (the broker's loop) except redo_sync and the checkpoint
 * record's calls, which any thread may make at any time.
 */
#ifndef FLUXFS_REDO_H
#define FLUXFS_REDO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errmsg.h"

struct redo;

/* Make dir/redo.0 and dir/redo.1 of file_size bytes each, written with
 * zeros, where they are missing or of another size: 8 MiB of writes and
 * their sync, tens of ms, so a broker has it done on another thread
 * rather than before it mounts (a nested instance starts in 17 ms). Any
 * thread, while the files are not open. 0 or -errno. */
int redo_prepare(const char *dir, size_t file_size);

/* Open them: 0, -ENOENT (missing or of another size: redo_prepare) or
 * -errno, with err. */
int redo_open(const char *dir, size_t file_size, struct redo **out, struct errmsg *err);
void redo_close(struct redo *r);

/* Every valid record in order, oldest file first: fn(arg, txnid, ops,
 * len). A negative return from fn stops and is returned. */
typedef int (*redo_replay_f)(void *arg, uint64_t txnid, const void *ops, size_t len);
int redo_replay(struct redo *r, redo_replay_f fn, void *arg);

/* Forget every record: both files get new sequence numbers, durably (after
 * a replay, once LMDB has been synced). 0 or -errno. */
int redo_reset(struct redo *r);

/* Append one commit's ops, not synced.
 *  0        appended
 *  1        appended after a rotation: the caller checkpoints (LMDB
 *           synced), then calls redo_checkpointed
 *  -ENOSPC  the active file is full and the other still drains: checkpoint
 *           synchronously, call redo_checkpointed, and append again
 *  -E2BIG   larger than a file can ever hold: make the commit durable in
 *           LMDB itself
 *  -errno   the write failed (likewise) */
int redo_append(struct redo *r, uint64_t txnid, const void *ops, size_t len);

/* Rotate if the active file holds records and the other is free (the
 * periodic checkpoint): true if it did, and the caller checkpoints. */
bool redo_rotate(struct redo *r);

/* Rotations so far: a checkpoint begun now covers the records of every
 * one of them. */
uint64_t redo_rotations(const struct redo *r);

/* A checkpoint begun when redo_rotations was upto is durable: a file that
 * drains since one of those rotations is free again. */
void redo_checkpointed(struct redo *r, uint64_t upto);

/* Any thread: make every record appended before this call durable: an
 * fdatasync of each file appended to since (a file a checkpoint freed
 * needs none). */
int redo_sync(struct redo *r);

/* The fdatasyncs redo_sync has made (tests). */
uint64_t redo_syncs(const struct redo *r);

/* The checkpoint the records follow: what the caller needs to find the
 * state they apply to (the store's LMDB meta page, fsd/store.c), saved
 * durably once that state is (dir/redo.ckpt, two slots written in turn).
 * An empty state (len 0) says there is none. Any thread. A save no newer
 * than the last one since the open or the last empty one is not written
 * (0): a background checkpoint that ends after a newer one saved on the
 * loop. 0 or -errno; load: -ENOENT when none was ever saved. */
#define REDO_CKPT_MAX 480
int redo_ckpt_save(struct redo *r, uint64_t txnid, const void *state, size_t len);
int redo_ckpt_load(struct redo *r, uint64_t *txnid, void *state, size_t *len);
/* The transaction of the newest one saved since the open (0: none, or an
 * empty one since). Any thread. */
uint64_t redo_ckpt_newest(struct redo *r);

/* The records' checksum, CRC-32C (the CPU's instruction, else a table). */
uint32_t redo_crc32c(const void *buf, size_t len);

/* Bytes of records in the active file (tests). */
size_t redo_used(const struct redo *r);

#endif
