/* store.c - the broker's durable state in LMDB.
 *
 * Files: dir/lock (flock, holds the owner's pid), dir/data.mdb and
 * dir/lock.mdb (LMDB in its normal subdirectory mode), dir/reserve (space
 * set aside for a full disk, see store_low_space()).
 *
 * Keys are big-endian so LMDB's default memcmp order is numeric order:
 *   jobs    id:8                      -> job record
 *   jobs    id:8 seq:4                -> eventlog line
 *   jobs    id:8 kind:1               -> the job's immutable blobs ('S' its
 *                                        jobspec, 'R' its allocation), written
 *                                        once rather than with every record
 *   output  id:8 stream:1 offset:8    -> chunk of output starting at offset
 *   meta    name (no NUL)             -> value
 *   journal seq:8                     -> a commit's journal (multi-node leader)
 *
 * A job's record, events and blobs sit side by side in one tree (in that
 * order: a shorter key first, and a seq's first byte is below any kind), so
 * that a commit touching a job rewrites one leaf and one path to it, not
 * one per tree: a submission's commit wrote 7-9 pages, and each page costs
 * its fdatasync about 20 us here on top of 0.3 ms. The "events" tree of
 * older stores is moved in when one is opened (move_events).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <unistd.h>

#include <lmdb.h>

#include "common/bigendian.h"
#include "fsd/journal.h"
#include "fsd/redo.h"
#include "fsd/statedir.h"
#include "fsd/store.h"

#define STORE_DEFAULT_MAPSIZE (64ULL << 30)
/* Each of the redo log's two files: a second of commits at full speed
 * here, or a bulk submission of a few thousand jobs (larger ones sync
 * LMDB itself, as every commit did before the log). */
#define STORE_REDO_SIZE (4u << 20)
#define STORE_REDO_ROOM (64u << 20)   /* free space wanted to make its files */
#define REDO_KEEP (256u << 10)          /* the ops buffer kept between commits */
#define STORE_MAXDBS 8

/* An LMDB meta page as far as it is written: the page header (16 bytes)
 * and MDB_meta (136), of LMDB 0.9 on a 64-bit machine; checked against
 * the file before it is relied on (meta_capture). */
#define META_LEN 152
#define META_FLAGS_OFF 10      /* uint16_t mp_flags */
#define META_P_META 0x08
#define META_MAGIC_OFF 16      /* uint32_t mm_magic, then mm_version */
#define META_MAGIC 0xBEEFC0DEu
#define META_PSIZE_OFF 40      /* mm_dbs[FREE_DBI].md_pad: the page size */
#define META_TXNID_OFF 144     /* txnid_t mm_txnid */
#define PINS_PENDING 4         /* checkpoints begun but not saved yet */
#define BOOT_ID_LEN 36         /* /proc/sys/kernel/random/boot_id, saved after the meta page */
#define CKPT_LEN (META_LEN + BOOT_ID_LEN)

/* A snapshot held by a read transaction, with its meta page. */
struct pin {
    MDB_txn *txn;
    uint64_t txnid;
    unsigned char meta[META_LEN];
};

#define JOB_KEY_LEN    8
#define BLOB_KEY_LEN   9
#define EVENT_KEY_LEN  12
#define OUTPUT_KEY_LEN 17

struct store {
    MDB_env *env;
    MDB_dbi jobs, events, output, meta, shared;
    MDB_dbi acct;       /* end:8 id:8 -> an ended job's accounting record */
    MDB_dbi jlog;       /* seq:8 -> a commit's journal (store_journal_log) */
    MDB_txn *wtxn;      /* open write txn, begun on the first write */
    bool writes;        /* it has writes no commit has ended yet */
    /* deferred commits (see "Deferred commits"): ended, in the redo log,
     * not yet committed to LMDB: they are in wtxn, of id deferred_txnid */
    uint32_t deferred;
    uint64_t deferred_txnid;
    MDB_txn *rtxn;      /* read-only handle, reset between store calls */
    bool rlive;         /* rtxn is renewed (holds a snapshot) */
    int rbusy;          /* reads in progress on rtxn (callbacks may nest) */
    int lock_fd;
    bool unsynced;      /* lazily committed writes not yet fsynced */
    int failed;         /* a write failed and its txn was aborted: the next
                           commit must fail too (-errno), not commit the rest */
    bool low;           /* the disk is full: the reserve is given back */
    uint64_t file_end;  /* the data file's size as far as we know (keep_room),
                           0: not looked at yet */
    struct redo *redo;  /* the redo log (redo.h), or NULL */
    bool redo_on;       /* commits go to it (store_redo_enable) */
    struct strbuf redo_ops;   /* the open txn's writes, for the redo log */
    bool redo_unlogged; /* the open txn wrote what the redo log cannot hold */
    bool ckpt_wanted;   /* a rotation: LMDB must be synced (store_checkpoint_*) */
    /* power failure (see "Checkpoints"): the saved checkpoint's snapshot,
     * held; the marks not saved yet; the hand-off to the checkpointer */
    bool pinning;       /* the redo log follows a pinned, saved checkpoint */
    MDB_txn *pin;
    struct pin pending[PINS_PENDING];
    int npending;
    uint64_t mark_txnid;      /* the latest mark's snapshot (0: none taken) */
    uint64_t open_txnid;      /* LMDB's newest transaction when opened */
    pthread_mutex_t ckpt_lock;
    bool ckpt_have;           /* under ckpt_lock: a mark to save */
    struct pin ckpt_next;     /* ... its txnid and meta (no txn) */
    char boot_id[BOOT_ID_LEN + 1];   /* this boot's, saved with each checkpoint; "": unknown */
    bool journaling;    /* record writes (store_journal_enable) */
    struct strbuf journal;
    size_t journal_committed;   /* journal bytes of commits that succeeded */
    char *dir;
    char errstr[256];
};

static MDB_dbi journal_dbi(const struct store *st, int db);
static int sync_now(struct store *st);
static void deferred_restore(struct store *st);
static int settle(struct store *st);
static int apply_local(struct store *st, MDB_txn *txn, const void *ops, size_t len);
static int delete_prefix(MDB_txn *txn, MDB_dbi dbi, const void *prefix, size_t plen,
                         bool *found);

static void job_key(unsigned char k[JOB_KEY_LEN], uint64_t id)
{
    put_be(k, id, 8);
}

static void event_key(unsigned char k[EVENT_KEY_LEN], uint64_t id, uint32_t seq)
{
    put_be(k, id, 8);
    put_be(k + 8, seq, 4);
}

static void output_key(unsigned char k[OUTPUT_KEY_LEN], uint64_t id, int stream, uint64_t off)
{
    put_be(k, id, 8);
    k[8] = (unsigned char)stream;
    put_be(k + 9, off, 8);
}

/* Does key k (of an id-prefixed DB) start with prefix p of length n? */
static bool key_has_prefix(const MDB_val *k, const unsigned char *p, size_t n, size_t keylen)
{
    return k->mv_size == keylen && memcmp(k->mv_data, p, n) == 0;
}

/* Errors: translate LMDB's error space once, here. */

static int store_error(struct store *st, int rc, const char *what)
{
    if (rc == MDB_SUCCESS)
        return 0;
    snprintf(st->errstr, sizeof(st->errstr), "%s: %s", what, mdb_strerror(rc));
    switch (rc) {
    case MDB_NOTFOUND:
        return -ENOENT;
    case MDB_MAP_FULL:
        return -ENOSPC;
    case MDB_KEYEXIST:
        return -EEXIST;
    case MDB_BAD_VALSIZE:
        return -EINVAL;
    }
    /* Positive values are errno from the system (disk full, EIO...). */
    if (rc > 0)
        return -rc;
    return -EIO;
}

const char *store_boot_id(const struct store *st)
{
    return st->boot_id;
}

const char *store_errstr(const struct store *st)
{
    return st ? st->errstr : "";
}

/* Space on the state directory's disk. */

/* The disk is full: LMDB may grow into the reserve. */
static void give_reserve(struct store *st)
{
    statedir_reserve_release(st->dir);
    st->low = true;
}

bool store_check_space(struct store *st)
{
    uint64_t avail = statedir_free(st->dir);

    if (!st->low && avail < STATEDIR_RESERVE)
        give_reserve(st);
    else if (st->low && avail >= 2 * STATEDIR_RESERVE && statedir_reserve_make(st->dir) == 0)
        st->low = false;
    return st->low;
}

bool store_low_space(const struct store *st)
{
    return st->low;
}

/* A commit or sync failed. LMDB reports a short write (the disk filled up
 * in the middle of it) as EIO: on a full disk that is ENOSPC. On ENOSPC,
 * hand the reserve to LMDB so that the changes that must not be lost (state,
 * events) can be written again. */
static int commit_error(struct store *st, int rc, const char *what)
{
    if (rc == EIO && statedir_free(st->dir) < STATEDIR_RESERVE)
        rc = ENOSPC;
    int err = store_error(st, rc, what);
    if (err == -ENOSPC && !st->low)
        give_reserve(st);
    return err;
}

/* Transactions. */

/* Forget what the uncommitted writes journaled. */
static void journal_rollback(struct store *st)
{
    st->journal.len = st->journal_committed;
    if (st->journal.alloc)
        st->journal.buf[st->journal.len] = '\0';
}

/* The next transaction's writes start a new redo record; a buffer a bulk
 * submission grew is given back. */
static void redo_clear(struct store *st)
{
    if (st->redo_ops.alloc > REDO_KEEP)
        strbuf_release(&st->redo_ops);
    else
        strbuf_reset(&st->redo_ops);
    st->redo_unlogged = false;
}

/* What the open txn wrote outgrows a redo file: it will sync LMDB itself,
 * and its copy is not kept (a bulk of 20,000 jobs is 25 MB of ops). */
static bool redo_room(struct store *st, size_t more)
{
    if (st->redo_ops.len + more <= STORE_REDO_SIZE)
        return true;
    st->redo_unlogged = true;
    strbuf_release(&st->redo_ops);
    return false;
}


/* Drop the snapshot a previous call may have left for the caller (store_job_get
 * pointers), so an idle broker does not pin old pages. */
static void snapshot_release(struct store *st)
{
    if (st->rlive && st->rbusy == 0) {
        mdb_txn_reset(st->rtxn);
        st->rlive = false;
    }
}

static int read_begin(struct store *st, MDB_txn **txn)
{
    int rc;

    if (st->wtxn) {
        *txn = st->wtxn;
        return 0;
    }
    if (st->rbusy == 0) {
        snapshot_release(st);
        if ((rc = mdb_txn_renew(st->rtxn)) != 0)
            return store_error(st, rc, "renew read transaction");
        st->rlive = true;
    }
    st->rbusy++;
    *txn = st->rtxn;
    return 0;
}

/* End a read begun by read_begin(). keep: leave the snapshot until the next
 * store call, because the caller holds pointers into it. */
static void read_end(struct store *st, MDB_txn *txn, bool keep)
{
    if (txn != st->rtxn)
        return;
    st->rbusy--;
    if (!keep)
        snapshot_release(st);
}

static int write_begin(struct store *st, MDB_txn **txn)
{
    int rc;

    snapshot_release(st);
    if (st->failed)
        return st->failed;   /* until the commit reports it */
    if (!st->wtxn) {
        if ((rc = mdb_txn_begin(st->env, NULL, 0, &st->wtxn)) != 0) {
            st->wtxn = NULL;
            return store_error(st, rc, "begin write transaction");
        }
    }
    st->writes = true;
    *txn = st->wtxn;
    return 0;
}

/* A failed write leaves an LMDB txn unusable (except NOTFOUND/KEYEXIST,
 * which are answers, not failures): abort it, losing uncommitted writes. */
static int write_fail(struct store *st, int rc, const char *what)
{
    int err = store_error(st, rc, what);

    if (rc != MDB_NOTFOUND && rc != MDB_KEYEXIST) {
        store_abort(st);
        st->failed = err;
        if (err == -ENOSPC && !st->low)
            give_reserve(st);
    }
    return err;
}

/* Zero-filled room past the store's last page. A commit that grows the
 * file (LMDB writes new pages past its end) makes its fdatasync commit the
 * file system's journal too (the size, the new blocks): 1.36 ms per sync
 * instead of 0.37 (medians) in a `fluxfs run true` loop on this VM's ext4.
 * Blocks written once with zeros are plain overwrites afterwards, which
 * fallocate's unwritten extents are not (their first write changes the
 * extent tree). Written only past the file's end, on the loop thread
 * between transactions: never over a page LMDB wrote, and LMDB never
 * shrinks the file. Not while the disk is low; a failure leaves it as is.
 * The size is looked at once, then followed: a stat per commit would ask
 * ext4 for fine-grained timestamps (multigrain), so that every write
 * changed the mtime, and every fdatasync (without a journal) wrote the
 * inode too. */
#define STORE_ROOM_LOW (2u << 20)      /* add room when less than this is left */
#define STORE_ROOM_CHUNK (4u << 20)    /* ... this much at a time */

static void keep_room(struct store *st)
{
    static const char zeros[64 * 1024];
    MDB_envinfo info;
    MDB_stat ms;
    struct stat sb;
    int fd;
    if (st->wtxn || st->low || mdb_env_info(st->env, &info) != 0
        || mdb_env_stat(st->env, &ms) != 0 || mdb_env_get_fd(st->env, &fd) != 0)
        return;
    if (!st->file_end) {
        if (fstat(fd, &sb) < 0)
            return;
        st->file_end = (uint64_t)sb.st_size;
    }
    uint64_t used = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    if (st->file_end < used)
        st->file_end = used;   /* LMDB wrote past it */
    if (st->file_end >= used + STORE_ROOM_LOW || used + STORE_ROOM_CHUNK > info.me_mapsize)
        return;
    for (uint64_t end = st->file_end + STORE_ROOM_CHUNK; st->file_end < end;) {
        ssize_t n = pwrite(fd, zeros, sizeof(zeros), (off_t)st->file_end);
        if (n <= 0)
            return;   /* no space: the store goes on as before, growing as it writes */
        st->file_end += (uint64_t)n;
    }
}

/* Commit the open txn (durably unless MDB_NOSYNC is set). */
static int commit_txn(struct store *st)
{
    int rc;

    snapshot_release(st);
    if (st->failed) {
        rc = st->failed;
        st->failed = 0;
        journal_rollback(st);
        return rc;
    }
    if (!st->wtxn)
        return 0;
    rc = mdb_txn_commit(st->wtxn);   /* frees the txn, success or not */
    st->wtxn = NULL;
    st->writes = false;
    if (rc == 0) {
        st->unsynced = false;   /* its fdatasync covered every earlier write */
        st->journal_committed = st->journal.len;
        st->deferred = 0;
        keep_room(st);
    } else {
        journal_rollback(st);
        rc = commit_error(st, rc, "commit");
        deferred_restore(st);   /* they stay deferred */
    }
    return rc;
}

int store_commit(struct store *st)
{
    /* durable in LMDB itself: the redo log need not hold it, once the
     * checkpoint a crash would put the store back to is this one */
    int rc = commit_txn(st);
    redo_clear(st);
    if (rc == 0 && st->pinning)
        rc = sync_now(st);
    return rc;
}

/* Checkpoints, and a power failure between them.
 *
 * A lazy commit reaches LMDB's file without a sync, so after a power
 * failure the disk may hold any part of the writes made since the last
 * checkpoint: a newer meta page whose pages never arrived, or pages of the
 * checkpoint's own state overwritten (LMDB reuses a page two transactions
 * after it was freed). Either would leave the redo log replaying onto a
 * corrupt store. So:
 *  - a read transaction holds the state of the last checkpoint saved:
 *    while it lives LMDB reuses no page of that state or of any later one
 *    (pages freed after the oldest reader's snapshot stay free);
 *  - once a checkpoint's LMDB sync is done, its meta page is saved with the
 *    redo log (redo_ckpt_save), and the hold moves up to it;
 *  - a store opened with a newer meta page than the saved checkpoint's
 *    (a crash, of the broker or of the machine) gets the checkpoint's meta
 *    page back (meta_restore), then the log's records after it applied.
 * The cost: pages freed in the last second or so are reused a second
 * later, and each checkpoint writes and syncs one more small file. */

static uint64_t meta_u64(const unsigned char *m, size_t off)
{
    uint64_t v;
    memcpy(&v, m + off, sizeof(v));
    return v;
}

/* A meta page as LMDB 0.9 writes it: its transaction id, or 0. */
static uint64_t meta_txnid(const unsigned char m[META_LEN])
{
    uint16_t flags;
    uint32_t magic, version;
    memcpy(&flags, m + META_FLAGS_OFF, sizeof(flags));
    memcpy(&magic, m + META_MAGIC_OFF, sizeof(magic));
    memcpy(&version, m + META_MAGIC_OFF + 4, sizeof(version));
    return (flags & META_P_META) && magic == META_MAGIC && version == 1
           ? meta_u64(m, META_TXNID_OFF) : 0;
}

/* The meta page of transaction txnid, still in the file (LMDB writes
 * transaction t's into page t % 2): -ESTALE when it is not there or not
 * laid out as expected (a layout we do not know: no pinning). */
static int meta_capture(struct store *st, uint64_t txnid, unsigned char meta[META_LEN])
{
    MDB_stat ms;
    int fd;
    if (mdb_env_get_fd(st->env, &fd) != 0 || mdb_env_stat(st->env, &ms) != 0)
        return -EIO;
    ssize_t n = pread(fd, meta, META_LEN, (off_t)(txnid & 1) * ms.ms_psize);
    if (n != META_LEN)
        return n < 0 ? -errno : -EIO;
    uint32_t psize;
    memcpy(&psize, meta + META_PSIZE_OFF, sizeof(psize));
    return meta_txnid(meta) == txnid && psize == ms.ms_psize ? 0 : -ESTALE;
}

/* This boot's id: a checkpoint saved during the same boot needs no going
 * back (what LMDB wrote is whole in the page cache: only the machine going
 * down loses part of it). Unknown: "" (all zeros), taken for another boot.
 * Tests play a reboot with FLUXFS_TEST_BOOT_ID (a file to read it from). */
static void boot_id_read(char id[BOOT_ID_LEN + 1])
{
    const char *path = getenv("FLUXFS_TEST_BOOT_ID");
    memset(id, 0, BOOT_ID_LEN + 1);
    int fd = open(path && *path ? path : "/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (read(fd, id, BOOT_ID_LEN) != BOOT_ID_LEN)
        memset(id, 0, BOOT_ID_LEN);
    close(fd);
}

/* The checkpoint record: the meta page, then the boot's id. */
static int ckpt_save(struct store *st, uint64_t txnid, const unsigned char meta[META_LEN])
{
    unsigned char rec[CKPT_LEN];
    memcpy(rec, meta, META_LEN);
    memcpy(rec + META_LEN, st->boot_id, BOOT_ID_LEN);
    return redo_ckpt_save(st->redo, txnid, rec, sizeof(rec));
}

/* A read transaction on the newest state, with its meta page. */
static int pin_take(struct store *st, struct pin *p)
{
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &p->txn);
    if (rc != 0) {
        p->txn = NULL;
        return store_error(st, rc, "pin");
    }
    p->txnid = mdb_txn_id(p->txn);
    if ((rc = meta_capture(st, p->txnid, p->meta)) < 0) {
        mdb_txn_abort(p->txn);
        p->txn = NULL;
    }
    return rc;
}

/* The hold moves up to the newest pending snapshot no newer than saved
 * (what is on disk as the checkpoint); older holds go. */
static void pins_advance(struct store *st, uint64_t saved)
{
    int k = -1;
    for (int i = 0; i < st->npending; i++)
        if (st->pending[i].txnid <= saved)
            k = i;
    if (k < 0)
        return;
    if (st->pin)
        mdb_txn_abort(st->pin);
    st->pin = st->pending[k].txn;
    for (int i = 0; i < k; i++)
        mdb_txn_abort(st->pending[i].txn);
    memmove(st->pending, st->pending + k + 1, (size_t)(st->npending - k - 1) * sizeof(st->pending[0]));
    st->npending -= k + 1;
}

static void pins_release(struct store *st)
{
    for (int i = 0; i < st->npending; i++)
        mdb_txn_abort(st->pending[i].txn);
    st->npending = 0;
    if (st->pin)
        mdb_txn_abort(st->pin);
    st->pin = NULL;
}

/* On the loop, LMDB just synced: its newest state is the checkpoint,
 * saved and held now. A layout we cannot read turns pinning off (as
 * before it: a power failure between checkpoints may corrupt the store,
 * said once in the log). */
static int checkpoint_here(struct store *st)
{
    struct pin p;
    int rc = pin_take(st, &p);
    if (rc == -ESTALE) {
        syslog(LOG_WARNING, "%s: LMDB's meta page is not laid out as this build expects: "
               "a power failure between checkpoints may corrupt the store", st->dir);
        pins_release(st);
        st->pinning = false;
        return 0;
    }
    if (rc < 0)
        return rc;
    if ((rc = ckpt_save(st, p.txnid, p.meta)) < 0) {
        mdb_txn_abort(p.txn);
        snprintf(st->errstr, sizeof(st->errstr), "redo checkpoint: %s", strerror(-rc));
        return rc;
    }
    pins_release(st);   /* all older */
    st->pin = p.txn;
    return 0;
}

/* After a crash: a meta page newer than the saved checkpoint's is put back
 * to it, in both of LMDB's slots (the other as its predecessor), before
 * LMDB opens the file. The checkpoint's pages were held, so its state is
 * whole whatever reached the disk after it. */
static int meta_restore(struct store *st, uint64_t ckpt, const unsigned char meta[META_LEN])
{
    char path[PATH_MAX];
    unsigned char m[2][META_LEN];
    uint32_t psize;
    uint64_t newest = 0;
    memcpy(&psize, meta + META_PSIZE_OFF, sizeof(psize));
    if (meta_txnid(meta) != ckpt || psize < 512 || psize > 65536 || psize & (psize - 1))
        return 0;   /* not one we saved: nothing to go by */
    snprintf(path, sizeof(path), "%s/data.mdb", st->dir);
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    for (int i = 0; i < 2; i++) {
        uint64_t t = pread(fd, m[i], META_LEN, (off_t)i * psize) == META_LEN ? meta_txnid(m[i]) : 0;
        if (t > newest)
            newest = t;
    }
    int rc = 0;
    if (newest < ckpt)
        syslog(LOG_WARNING, "%s: the store (transaction %llu) is older than its checkpoint "
               "(%llu): was it put back from a copy?", st->dir, (unsigned long long)newest,
               (unsigned long long)ckpt);
    if (newest <= ckpt)
        goto out;
    int slot = (int)(ckpt & 1);
    uint64_t prev_no = (uint64_t)!slot, prev_txnid = ckpt - 1;
    memcpy(m[slot], meta, META_LEN);
    memcpy(m[!slot], meta, META_LEN);
    memcpy(m[!slot], &prev_no, sizeof(prev_no));   /* mp_pgno */
    memcpy(m[!slot] + META_TXNID_OFF, &prev_txnid, sizeof(prev_txnid));
    for (int i = 0; i < 2 && rc == 0; i++)
        if (pwrite(fd, m[i], META_LEN, (off_t)i * psize) != META_LEN)
            rc = -EIO;
    if (rc == 0 && fdatasync(fd) < 0)
        rc = -errno;
    if (rc == 0)
        syslog(LOG_NOTICE, "%s: the store was put back to its last checkpoint (transaction "
               "%llu; the disk had %llu): the redo log has the rest", st->dir,
               (unsigned long long)ckpt, (unsigned long long)newest);
out:
    close(fd);
    return rc;
}

/* LMDB synced here, on the loop: every commit so far is durable, and
 * neither redo file is needed any more once the checkpoint is saved. */
static int sync_now(struct store *st)
{
    int rc = settle(st);
    if (rc < 0)
        return rc;
    rc = mdb_env_sync(st->env, 1);
    if (rc != 0)
        return commit_error(st, rc, "sync");
    st->unsynced = false;
    if (st->pinning && (rc = checkpoint_here(st)) < 0)
        return rc;   /* the records stay: they follow the saved checkpoint */
    if (st->redo)
        redo_checkpointed(st->redo, redo_rotations(st->redo));
    return 0;
}

/* A lazy commit, as txnid: its writes go into the redo log, whose sync
 * makes it durable; or, where the log cannot take them, LMDB is synced
 * now, before anything later can be acknowledged. */
static int redo_log_commit(struct store *st, uint64_t txnid)
{
    int rc = -E2BIG;
    if (!st->redo_unlogged) {
        rc = redo_append(st->redo, txnid, st->redo_ops.buf, st->redo_ops.len);
        if (rc == -ENOSPC) {
            /* both files hold what LMDB may not have yet: sync it here
             * (the background checkpoint fell behind) */
            if ((rc = sync_now(st)) == 0)
                rc = redo_append(st->redo, txnid, st->redo_ops.buf, st->redo_ops.len);
        }
    }
    redo_clear(st);
    if (rc == 1)
        st->ckpt_wanted = true;
    return rc >= 0 ? 0 : sync_now(st);
}

/* Deferred commits.
 *
 * With the redo log, a lazy commit needs no LMDB commit to be safe: its
 * record is what a crash replays. So it only ends there: its writes stay
 * in the open write transaction, which reads go through, and LMDB commits
 * once per checkpoint (store_checkpoint_mark) all that ended since, as one
 * transaction: each B-tree page written once, not once per loop iteration
 * (at 1,400 jobs/s the commit was 11-16% of the loop, writing the same
 * leaf and branch pages over and over). Every record of a deferred commit
 * carries the open transaction's id, so a replay applies all of them or,
 * once LMDB has that transaction, none.
 *
 * A write that fails aborts the transaction, the deferred commits with it:
 * they are applied again from the redo log (deferred_restore), and only
 * the commit in progress is lost, as without deferral. A commit the log
 * cannot take (too large, a write the log does not hold, a log that fails)
 * commits to LMDB at once, with everything deferred before it. */

/* The redo log's records that LMDB lacks (a transaction after last),
 * applied again: for deferred commits, all into txn; at open, the records
 * of each transaction as one LMDB transaction, as they were committed
 * (deferred commits share one), so that LMDB's transaction ids follow the
 * records' and a replay cut short by a crash is taken up where it stopped.
 * An LMDB error stops it as -errno. */
struct replay {
    struct store *st;
    uint64_t last;           /* LMDB's last transaction: older records are in it */
    MDB_txn *txn;            /* or NULL */
    MDB_txn *cur;            /* at open: the transaction being applied, of id cur_id */
    uint64_t cur_id;
    size_t applied;
};

static int replay_error(int rc)
{
    return rc > 0 ? -rc : rc == MDB_MAP_FULL ? -ENOSPC : -EIO;
}

/* At open: the transaction applied so far, committed. */
static int replay_end(struct replay *rp)
{
    int rc = rp->cur ? mdb_txn_commit(rp->cur) : 0;
    rp->cur = NULL;
    return rc ? replay_error(rc) : 0;
}

static int replay_one(void *arg, uint64_t txnid, const void *ops, size_t len)
{
    struct replay *rp = arg;
    MDB_txn *txn = rp->txn;
    int rc;
    if (txnid <= rp->last)
        return 0;
    if (!txn) {
        if (rp->cur && rp->cur_id != txnid && (rc = replay_end(rp)) < 0)
            return rc;
        if (!rp->cur && (rc = mdb_txn_begin(rp->st->env, NULL, 0, &rp->cur)) != 0) {
            rp->cur = NULL;
            return replay_error(rc);
        }
        rp->cur_id = txnid;
        txn = rp->cur;
    }
    if ((rc = apply_local(rp->st, txn, ops, len)) != 0) {
        if (!rp->txn) {
            mdb_txn_abort(rp->cur);
            rp->cur = NULL;
        }
        return replay_error(rc);
    }
    rp->applied++;
    return 0;
}

/* The deferred commits' writes, again, into a new write transaction: the
 * one that held them is gone (a failed write or commit). Their records
 * are all in the redo log (its files are freed only once LMDB has them),
 * and they were acknowledged: failing here, the broker must not go on
 * without them, and a restart replays them. */
static void deferred_restore(struct store *st)
{
    if (!st->deferred)
        return;
    struct replay r = { .st = st, .last = st->deferred_txnid - 1 };
    int rc = mdb_txn_begin(st->env, NULL, 0, &r.txn);
    if (rc != 0) {
        r.txn = NULL;
        rc = replay_error(rc);
    } else if (mdb_txn_id(r.txn) != st->deferred_txnid)
        rc = -ESTALE;   /* LMDB committed something without us */
    else
        rc = redo_replay(st->redo, replay_one, &r);
    if (rc == 0 && r.applied != st->deferred)
        rc = -ENODATA;
    if (rc < 0) {
        syslog(LOG_CRIT, "%s: %u commits the redo log holds could not be applied again "
               "(%s): stopping, so that the next start replays them", st->dir,
               st->deferred, strerror(-rc));
        abort();
    }
    st->wtxn = r.txn;
    st->writes = false;
}

/* End this commit in the redo log alone: 0, or -errno and nothing done. */
static int defer_commit(struct store *st, uint64_t txnid)
{
    if (!st->redo_on || st->redo_unlogged)
        return -EAGAIN;   /* a write the log does not hold (a wipe, the journal log) */
    int rc = redo_append(st->redo, txnid, st->redo_ops.buf, st->redo_ops.len);
    if (rc < 0)
        return rc;   /* the LMDB commit's way tries again, and falls back */
    if (rc == 1)
        st->ckpt_wanted = true;
    if (st->deferred++ == 0)
        st->deferred_txnid = txnid;
    st->writes = false;
    st->unsynced = true;
    st->journal_committed = st->journal.len;
    redo_clear(st);
    return 0;
}

/* LMDB commits what was deferred (no sync: a checkpoint's or a durable
 * commit's follows). -EBUSY while writes no commit has ended are open:
 * LMDB would get half of them. */
static int settle(struct store *st)
{
    if (!st->deferred)
        return 0;
    if (st->writes)
        return -EBUSY;
    mdb_env_set_flags(st->env, MDB_NOSYNC, 1);
    int rc = commit_txn(st);
    mdb_env_set_flags(st->env, MDB_NOSYNC, 0);
    return rc;
}

int store_commit_lazy(struct store *st)
{
    if (st->failed) {
        int rc = st->failed;
        st->failed = 0;
        journal_rollback(st);
        redo_clear(st);
        snapshot_release(st);
        return rc;
    }
    if (!st->writes) {
        snapshot_release(st);
        return 0;
    }
    uint64_t txnid = mdb_txn_id(st->wtxn);
    if (defer_commit(st, txnid) == 0)
        return 0;
    /* written to the page cache (safe from a crash of this process), made
     * durable by the redo log's sync (store_flush), or by the next durable
     * commit or store_sync() */
    mdb_env_set_flags(st->env, MDB_NOSYNC, 1);
    int rc = commit_txn(st);
    mdb_env_set_flags(st->env, MDB_NOSYNC, 0);
    if (rc == 0) {
        st->unsynced = true;
        if (st->redo_on)
            return redo_log_commit(st, txnid);
    }
    redo_clear(st);
    return rc;
}

int store_sync(struct store *st)
{
    if (!st->unsynced)
        return 0;
    return sync_now(st);
}

int store_flush(struct store *st)
{
    /* on the syncer's thread: the env or the redo log only (no state of
     * ours), and a message-free error (errstr is the loop thread's) */
    return st->redo_on ? redo_sync(st->redo) : store_checkpoint_sync(st);
}

int store_redo_prepare(struct store *st)
{
    char path[PATH_MAX];
    struct stat sb;
    /* only where there is room to spare: on a small disk its 8 MiB would
     * take what the store needs */
    snprintf(path, sizeof(path), "%s/redo.1", st->dir);
    if ((stat(path, &sb) < 0 || sb.st_size != STORE_REDO_SIZE)
        && statedir_free(st->dir) < STORE_REDO_ROOM)
        return -ENOSPC;
    return redo_prepare(st->dir, STORE_REDO_SIZE);
}

int store_redo_enable(struct store *st)
{
    int rc;
    if (!st->redo) {
        struct errmsg err = { "" };
        if ((rc = redo_open(st->dir, STORE_REDO_SIZE, &st->redo, &err)) < 0) {
            st->redo = NULL;
            return rc;
        }
        if ((rc = redo_reset(st->redo)) < 0) {
            redo_close(st->redo);
            st->redo = NULL;
            return rc;
        }
    }
    /* what was committed before is not in the log: durable first, and
     * the checkpoint a crash puts the store back to from now on */
    st->pinning = true;
    rc = sync_now(st);
    if (rc < 0) {
        pins_release(st);
        st->pinning = false;
        return rc;
    }
    st->redo_on = true;
    return 0;
}

bool store_redo_on(const struct store *st)
{
    return st->redo_on;
}

bool store_checkpoint_due(const struct store *st)
{
    return st->ckpt_wanted;
}

/* The newest state, held, to be saved by the checkpoint begun now. One
 * that cannot be held (no reader slot) frees no redo file: the next will. */
static void mark_pin(struct store *st)
{
    st->mark_txnid = 0;
    if (st->npending == PINS_PENDING) {   /* checkpoints falling behind: the oldest goes */
        mdb_txn_abort(st->pending[0].txn);
        memmove(st->pending, st->pending + 1, (PINS_PENDING - 1) * sizeof(st->pending[0]));
        st->npending--;
    }
    struct pin *p = &st->pending[st->npending];
    if (pin_take(st, p) < 0)
        return;
    st->npending++;
    st->mark_txnid = p->txnid;
    pthread_mutex_lock(&st->ckpt_lock);
    st->ckpt_next = *p;
    st->ckpt_next.txn = NULL;
    st->ckpt_have = true;
    pthread_mutex_unlock(&st->ckpt_lock);
}

uint64_t store_checkpoint_mark(struct store *st)
{
    st->ckpt_wanted = false;
    st->unsynced = false;   /* the checkpoint asked for now covers it */
    if (!st->redo_on)
        return 0;
    if (settle(st) < 0) {
        /* LMDB lacks deferred commits: this checkpoint frees no record
         * (mark 0, no pin); the next one tries again */
        st->unsynced = true;
        st->mark_txnid = 0;
        return 0;
    }
    redo_rotate(st->redo);   /* if it can: the records since go to the other file */
    if (st->pinning)
        mark_pin(st);
    return redo_rotations(st->redo);
}

/* Tests play a checkpoint whose save never reached the disk (the power
 * failed between LMDB's sync and the save) while the file that
 * FLUXFS_TEST_CKPT_UNSAVED names exists. */
static bool ckpt_unsaved_test(void)
{
    const char *path = getenv("FLUXFS_TEST_CKPT_UNSAVED");
    return path && *path && access(path, F_OK) == 0;
}

int store_checkpoint_sync(struct store *st)
{
    /* on the checkpointer's thread, like store_flush. The mark is taken
     * before the sync starts, so the sync covers it. */
    struct pin next;
    pthread_mutex_lock(&st->ckpt_lock);
    bool have = st->ckpt_have;
    next = st->ckpt_next;
    st->ckpt_have = false;
    pthread_mutex_unlock(&st->ckpt_lock);
    int rc = mdb_env_sync(st->env, 1);
    if (rc != 0)
        return rc > 0 ? -rc : -EIO;
    return have && !ckpt_unsaved_test() ? ckpt_save(st, next.txnid, next.meta) : 0;
}

void store_checkpoint_done(struct store *st, uint64_t mark)
{
    if (!st->redo)
        return;
    if (st->pinning) {
        uint64_t saved = redo_ckpt_newest(st->redo);
        pins_advance(st, saved);
        if (!st->mark_txnid || saved < st->mark_txnid)
            return;   /* not saved: the records stay, they follow the saved checkpoint */
    }
    redo_checkpointed(st->redo, mark);
}

bool store_writing(const struct store *st)
{
    return st->writes;
}

bool store_unsynced(const struct store *st)
{
    return st->unsynced;
}

void store_abort(struct store *st)
{
    journal_rollback(st);
    redo_clear(st);
    if (st->writes) {
        mdb_txn_abort(st->wtxn);
        st->wtxn = NULL;
        st->writes = false;
        deferred_restore(st);   /* what is deferred was committed: it stays */
    }
}

bool store_dirty(const struct store *st)
{
    return st->writes;
}

/* Open and close. */

/* One journal op (journal.h) in txn: an LMDB error, or 0. The replicas'
 * batches and the redo log's records both come through here. */
static int apply_op(struct store *st, MDB_txn *txn, const struct journal_op *op)
{
    MDB_dbi dbi = op->db == JOURNAL_META ? st->meta : op->db == JOURNAL_JLOG ? st->jlog
                : journal_dbi(st, op->db);
    if (op->op != 'P')
        return delete_prefix(txn, dbi, op->key, op->klen, NULL);
    MDB_val key = { op->klen, (void *)op->key }, val = { op->vlen, (void *)op->val };
    return mdb_put(txn, dbi, &key, &val, 0);
}

/* One redo record's ops, in the open write transaction. */
static int apply_local(struct store *st, MDB_txn *txn, const void *ops, size_t len)
{
    struct journal_op op;
    size_t pos = 0;
    int rc;
    while ((rc = journal_next_local(ops, len, &pos, &op)) > 0)
        if ((rc = apply_op(st, txn, &op)) != 0)
            return rc;
    return rc < 0 ? EINVAL : 0;
}

/* Before LMDB reads its meta page: the redo log, and if a crash left the
 * store newer than the log's checkpoint, the checkpoint's state back
 * (meta_restore). A log not made yet has nothing to go by; one that
 * cannot be opened leaves the store without one (every durable commit
 * then syncs LMDB, as before it). */
static int ckpt_restore(struct store *st)
{
    struct errmsg err = { "" };
    unsigned char meta[REDO_CKPT_MAX];
    uint64_t txnid;
    size_t len = 0;
    int rc = redo_open(st->dir, STORE_REDO_SIZE, &st->redo, &err);
    if (rc < 0) {
        if (rc != -ENOENT)
            syslog(LOG_WARNING, "%s: no redo log (%s): every durable commit syncs the store",
                   st->dir, err.text);
        st->redo = NULL;
        return 0;
    }
    /* an empty checkpoint: the log was not in use, LMDB is as it was left;
     * one saved during this boot: only the broker went down, and LMDB's
     * newest state is whole (the log's records after it are applied) */
    if (redo_ckpt_load(st->redo, &txnid, meta, &len) == 0 && len == CKPT_LEN
        && (!st->boot_id[0] || memcmp(meta + META_LEN, st->boot_id, BOOT_ID_LEN) != 0))
        return meta_restore(st, txnid, meta);
    return 0;
}

/* What the redo log holds that LMDB lost (a crash before a checkpoint):
 * applied again, made durable, and the log emptied, with its checkpoint
 * (until store_redo_enable, commits are LMDB's alone: nothing to go back
 * to). One that cannot be replayed fails the open: what it holds was
 * acknowledged. */
static int redo_recover(struct store *st)
{
    int rc;
    if (!st->redo)
        return 0;
    /* what the first open's own transactions (new trees) did is not in it */
    struct replay rp = { .st = st, .last = st->open_txnid };
    mdb_env_set_flags(st->env, MDB_NOSYNC, 1);
    rc = redo_replay(st->redo, replay_one, &rp);
    if (rc == 0)
        rc = replay_end(&rp);
    else if (rp.cur)
        mdb_txn_abort(rp.cur);
    mdb_env_set_flags(st->env, MDB_NOSYNC, 0);
    if (rc < 0)
        return -rc;
    if (rp.applied)
        syslog(LOG_NOTICE, "%s: %zu %s the store had lost %s applied again from its redo log",
               st->dir, rp.applied, rp.applied == 1 ? "commit" : "commits",
               rp.applied == 1 ? "was" : "were");
    if ((rc = mdb_env_sync(st->env, 1)) != 0)
        return rc;
    if ((rc = redo_ckpt_save(st->redo, 0, NULL, 0)) < 0) {
        snprintf(st->errstr, sizeof(st->errstr), "redo checkpoint: %s", strerror(-rc));
        return -rc;
    }
    if ((rc = redo_reset(st->redo)) < 0) {
        syslog(LOG_WARNING, "%s: redo log: %s: every durable commit syncs the store",
               st->dir, strerror(-rc));
        redo_close(st->redo);
        st->redo = NULL;
    }
    return 0;
}

/* A store written before events moved into jobs: move them, a batch per
 * transaction (a million jobs' events are too many dirty pages for one),
 * each durable before the next; a crash between batches leaves some in
 * both trees, which the next open moves again (same keys, same values). */
#define MOVE_BATCH 20000

static int move_events(struct store *st)
{
    size_t moved = 0;
    for (;;) {
        MDB_txn *txn;
        MDB_cursor *cur;
        MDB_val key, val;
        size_t n = 0;
        int rc;
        if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
            return rc;
        if ((rc = mdb_cursor_open(txn, st->events, &cur)) != 0) {
            mdb_txn_abort(txn);
            return rc;
        }
        while (n < MOVE_BATCH && (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST)) == 0) {
            if ((rc = mdb_put(txn, st->jobs, &key, &val, 0)) != 0)
                break;
            if ((rc = mdb_cursor_del(cur, 0)) != 0)
                break;
            n++;
        }
        mdb_cursor_close(cur);
        if (rc != 0 && rc != MDB_NOTFOUND) {
            mdb_txn_abort(txn);
            return rc;
        }
        if (n == 0) {
            mdb_txn_abort(txn);
            if (moved)
                syslog(LOG_NOTICE, "%s: %zu eventlog lines moved beside their jobs' records",
                       st->dir, moved);
            return 0;
        }
        /* a store of millions of jobs takes a while: say so once */
        if (!moved)
            syslog(LOG_NOTICE, "%s: moving eventlogs beside their jobs' records (once)", st->dir);
        if ((rc = mdb_txn_commit(txn)) != 0)
            return rc;
        moved += n;
    }
}

static int open_dbs(struct store *st)
{
    static const struct {
        const char *name;
        size_t off;
    } dbs[] = {
        { "jobs", offsetof(struct store, jobs) },
        { "events", offsetof(struct store, events) },
        { "output", offsetof(struct store, output) },
        { "meta", offsetof(struct store, meta) },
        { "shared", offsetof(struct store, shared) },
        { "journal", offsetof(struct store, jlog) },
        { "acct", offsetof(struct store, acct) },
    };
    MDB_txn *txn;
    int rc;

    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
        return rc;
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        MDB_dbi *dbi = (MDB_dbi *)((char *)st + dbs[i].off);
        if ((rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, dbi)) != 0)
            goto out_abort;
    }
    return mdb_txn_commit(txn);
out_abort:
    mdb_txn_abort(txn);
    return rc;
}

void store_stopping(struct store *st)
{
    if (st)
        statedir_stopping(st->lock_fd);
}

int store_open(const char *dir, size_t map_size, struct store **out, struct errmsg *err)
{
    struct store *st;
    MDB_envinfo info;
    int rc, dead;

    if (!dir || !*dir || !out)
        return errmsg_set(err, -EINVAL, "no state directory given");
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return errmsg_set(err, -errno, "cannot create state directory '%s': %s",
                          dir, strerror(errno));
    if (!(st = calloc(1, sizeof(*st))))
        return errmsg_set(err, -ENOMEM, "out of memory");
    st->lock_fd = -1;
    pthread_mutex_init(&st->ckpt_lock, NULL);
    boot_id_read(st->boot_id);
    strbuf_init(&st->journal);
    strbuf_init(&st->redo_ops);
    if (!(st->dir = strdup(dir))) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    /* The flock comes first: LMDB must not be opened twice in one process. */
    if ((rc = statedir_lock(dir, &st->lock_fd, err)) < 0)
        goto error;
    /* On a full disk, LMDB gets the reserve before it may need to write. */
    st->low = !statedir_has_reserve(dir);
    store_check_space(st);
    if ((rc = ckpt_restore(st)) < 0) {
        errmsg_set(err, rc, "cannot put the store in '%s' back to its checkpoint: %s", dir,
                   strerror(-rc));
        goto error;
    }

    if ((rc = mdb_env_create(&st->env)) != 0) {
        st->env = NULL;
        goto error_lmdb;
    }
    if ((rc = mdb_env_set_mapsize(st->env, map_size ? map_size : STORE_DEFAULT_MAPSIZE)) != 0
        || (rc = mdb_env_set_maxdbs(st->env, STORE_MAXDBS)) != 0
        || (rc = mdb_env_open(st->env, dir, MDB_NOTLS, 0600)) != 0)
        goto error_lmdb;
    /* Reader slots of a broker that died mid-read would pin pages forever. */
    if ((rc = mdb_reader_check(st->env, &dead)) != 0 || (rc = mdb_env_info(st->env, &info)) != 0)
        goto error_lmdb;
    st->open_txnid = info.me_last_txnid;
    if ((rc = open_dbs(st)) != 0 || (rc = move_events(st)) != 0 || (rc = redo_recover(st)) != 0)
        goto error_lmdb;
    if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &st->rtxn)) != 0) {
        st->rtxn = NULL;
        goto error_lmdb;
    }
    mdb_txn_reset(st->rtxn);
    *out = st;
    return 0;

error_lmdb:
    rc = store_error(st, rc, "lmdb");
    errmsg_set(err, rc, "cannot open store in '%s': %s", dir, st->errstr);
error:
    store_close(st);
    return rc;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    store_abort(st);
    if (st->rtxn)
        mdb_txn_abort(st->rtxn);
    /* a clean stop leaves nothing for the redo log to replay */
    if (st->env && st->redo_on && sync_now(st) != 0)
        syslog(LOG_ERR, "%s: store sync at close failed: the redo log holds the rest",
               st->dir);
    if (st->wtxn)
        mdb_txn_abort(st->wtxn);   /* deferred commits LMDB could not take */
    pins_release(st);
    redo_close(st->redo);
    strbuf_release(&st->redo_ops);
    if (st->env)
        mdb_env_close(st->env);
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    strbuf_release(&st->journal);
    pthread_mutex_destroy(&st->ckpt_lock);
    free(st->dir);
    free(st);
}

uint64_t store_size(const struct store *st)
{
    MDB_envinfo info;
    MDB_stat stat;

    if (mdb_env_info(st->env, &info) != 0 || mdb_env_stat(st->env, &stat) != 0)
        return 0;
    return ((uint64_t)info.me_last_pgno + 1) * stat.ms_psize;
}

/* Journal. */

static int journal_db(const struct store *st, MDB_dbi dbi)
{
    return dbi == st->jobs ? JOURNAL_JOBS : dbi == st->shared ? JOURNAL_SHARED
         : dbi == st->acct ? JOURNAL_ACCT : JOURNAL_OUTPUT;
}

/* Any of our databases as the redo log names it: the replicated ones as
 * the journal does, our own (meta, a leader's journal log) besides. */
static int local_db(const struct store *st, MDB_dbi dbi)
{
    return dbi == st->meta ? JOURNAL_META : dbi == st->jlog ? JOURNAL_JLOG : journal_db(st, dbi);
}

/* The redo log's copy of a write; what it cannot hold (no memory, a key
 * too long) makes the commit durable in LMDB itself instead. */
static void redo_note_put(struct store *st, MDB_dbi dbi, const void *k, size_t klen,
                          const void *v, size_t vlen)
{
    if (!st->redo_on || st->redo_unlogged || !redo_room(st, 8 + klen + vlen))
        return;
    if (journal_put_local(&st->redo_ops, local_db(st, dbi), k, klen, v, vlen) < 0)
        st->redo_unlogged = true;
}

static void redo_note_delete(struct store *st, MDB_dbi dbi, const void *prefix, size_t plen)
{
    if (st->redo_on && !st->redo_unlogged && redo_room(st, 4 + plen)
        && journal_delete_local(&st->redo_ops, local_db(st, dbi), prefix, plen) < 0)
        st->redo_unlogged = true;
}

/* A write that cannot be journaled must not be committed either: the
 * replicas would miss it. */
static int journal_fail(struct store *st)
{
    snprintf(st->errstr, sizeof(st->errstr), "journal: out of memory");
    store_abort(st);
    st->failed = -ENOMEM;
    return -ENOMEM;
}

void store_journal_enable(struct store *st)
{
    st->journaling = true;
}

bool store_journal_pending(const struct store *st)
{
    return st->journal.len > st->journal_committed;
}

void store_journal_take(struct store *st, struct strbuf *out)
{
    strbuf_reset(out);
    if (st->journal_committed == 0)
        return;
    if (st->journal.len == st->journal_committed) {
        /* the usual case, nothing uncommitted behind it: swap buffers */
        struct strbuf t = *out;
        *out = st->journal;
        st->journal = t;
    } else if (strbuf_add(out, st->journal.buf, st->journal_committed) == 0) {
        memmove(st->journal.buf, st->journal.buf + st->journal_committed,
                st->journal.len - st->journal_committed);
        st->journal.len -= st->journal_committed;
        st->journal.buf[st->journal.len] = '\0';
    }
    st->journal_committed = 0;
}

/* Jobs. */

/* One put in the open write transaction (begun if need be). */
static int put(struct store *st, MDB_dbi dbi, void *k, size_t klen, const void *data,
               size_t len, unsigned flags, const char *what)
{
    MDB_val key = { klen, k }, val = { len, (void *)data };
    MDB_txn *txn;
    int rc;

    if (!data && len)
        return -EINVAL;
    if ((rc = write_begin(st, &txn)) < 0)
        return rc;
    if ((rc = mdb_put(txn, dbi, &key, &val, flags)) != 0)
        return write_fail(st, rc, what);
    redo_note_put(st, dbi, k, klen, data, len);
    if (st->journaling && journal_put(&st->journal, journal_db(st, dbi), k, klen, data, len) < 0)
        return journal_fail(st);
    return 0;
}

/* One get; *data points into LMDB memory until the next store call. */
static int get(struct store *st, MDB_dbi dbi, void *k, size_t klen, const void **data,
               size_t *len, const char *what)
{
    MDB_val key = { klen, k }, val;
    MDB_txn *txn = NULL;
    int rc;

    if ((rc = read_begin(st, &txn)) < 0)
        return rc;
    rc = mdb_get(txn, dbi, &key, &val);
    read_end(st, txn, rc == 0);
    if (rc != 0)
        return store_error(st, rc, what);
    *data = val.mv_data;
    *len = val.mv_size;
    return 0;
}

int store_job_put(struct store *st, uint64_t id, const void *data, size_t len)
{
    unsigned char k[JOB_KEY_LEN];
    job_key(k, id);
    return put(st, st->jobs, k, sizeof(k), data, len, 0, "put job");
}

int store_job_get(struct store *st, uint64_t id, const void **data, size_t *len)
{
    unsigned char k[JOB_KEY_LEN];
    job_key(k, id);
    return get(st, st->jobs, k, sizeof(k), data, len, "get job");
}

int store_blob_put(struct store *st, uint64_t id, char kind, const void *data, size_t len)
{
    unsigned char k[BLOB_KEY_LEN];
    job_key(k, id);
    k[JOB_KEY_LEN] = (unsigned char)kind;
    return put(st, st->jobs, k, sizeof(k), data, len, 0, "put blob");
}

int store_blob_get(struct store *st, uint64_t id, char kind, const void **data, size_t *len)
{
    unsigned char k[BLOB_KEY_LEN];
    job_key(k, id);
    k[JOB_KEY_LEN] = (unsigned char)kind;
    return get(st, st->jobs, k, sizeof(k), data, len, "get blob");
}

/* Delete every key of dbi that starts with prefix, whatever its length
 * (re-seeking after each delete rather than trusting the cursor after
 * mdb_cursor_del). Sets *found (if not NULL) if anything was deleted. */
static int delete_prefix(MDB_txn *txn, MDB_dbi dbi, const void *prefix, size_t plen,
                         bool *found)
{
    MDB_cursor *cur;
    MDB_val key, val;
    int rc;
    if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
        return rc;
    for (;;) {
        key.mv_size = plen;
        key.mv_data = (void *)prefix;
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND || (rc == 0 && (key.mv_size < plen
                                               || memcmp(key.mv_data, prefix, plen)))) {
            rc = 0;
            break;
        }
        if (rc != 0 || (rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        if (found)
            *found = true;
    }
    mdb_cursor_close(cur);
    return rc;
}

int store_job_delete(struct store *st, uint64_t id)
{
    unsigned char k[JOB_KEY_LEN];
    MDB_txn *txn;
    bool found = false;
    int rc;

    if ((rc = write_begin(st, &txn)) < 0)
        return rc;
    job_key(k, id);
    /* the record and its blobs (jobs), its eventlog, its output: every key
     * that starts with its id */
    MDB_dbi dbs[] = { st->jobs, st->output };
    const int ndbs = (int)(sizeof(dbs) / sizeof(dbs[0]));
    for (int db = 0; db < ndbs; db++) {
        if ((rc = delete_prefix(txn, dbs[db], k, sizeof(k), &found)) != 0)
            return write_fail(st, rc, "delete job");
        redo_note_delete(st, dbs[db], k, sizeof(k));
    }
    if (found && st->journaling)
        for (int db = 0; db < ndbs; db++)
            if (journal_delete_prefix(&st->journal, journal_db(st, dbs[db]), k, sizeof(k)) < 0)
                return journal_fail(st);
    return found ? 0 : -ENOENT;
}

int store_job_foreach(struct store *st, store_job_f cb, void *arg)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val key, val;
    MDB_cursor_op op = MDB_FIRST;
    int rc, ret = 0;

    if ((rc = read_begin(st, &txn)) < 0)
        return rc;
    if ((rc = mdb_cursor_open(txn, st->jobs, &cur)) != 0) {
        ret = store_error(st, rc, "open cursor");
        goto out_read_end;
    }
    unsigned char next[JOB_KEY_LEN];
    while ((rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
        op = MDB_NEXT;
        if (key.mv_size != JOB_KEY_LEN)
            continue;
        uint64_t id = get_be(key.mv_data, 8);
        if ((ret = cb(arg, id, val.mv_data, val.mv_size)) != 0 || id == UINT64_MAX)
            break;
        /* past its events and blobs in one seek: the next job's record */
        job_key(next, id + 1);
        key = (MDB_val){ sizeof(next), next };
        op = MDB_SET_RANGE;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        ret = store_error(st, rc, "iterate jobs");
    mdb_cursor_close(cur);
out_read_end:
    read_end(st, txn, false);
    return ret;
}

/* Eventlog. */

int store_event_append(struct store *st, uint64_t id, uint32_t seq, const char *line, size_t len)
{
    unsigned char k[EVENT_KEY_LEN];
    event_key(k, id, seq);
    return put(st, st->jobs, k, sizeof(k), line, len, MDB_NOOVERWRITE, "append event");
}

int store_event_foreach(struct store *st, uint64_t id, store_event_f cb, void *arg)
{
    unsigned char k[EVENT_KEY_LEN];
    MDB_val key = { sizeof(k), k }, val;
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_cursor_op op = MDB_SET_RANGE;
    int rc, ret = 0;

    if ((rc = read_begin(st, &txn)) < 0)
        return rc;
    if ((rc = mdb_cursor_open(txn, st->jobs, &cur)) != 0) {
        ret = store_error(st, rc, "open cursor");
        goto out_read_end;
    }
    event_key(k, id, 0);
    while ((rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
        op = MDB_NEXT;
        if (!key_has_prefix(&key, k, JOB_KEY_LEN, EVENT_KEY_LEN))
            break;
        ret = cb(arg, (uint32_t)get_be((unsigned char *)key.mv_data + 8, 4),
                 val.mv_data, val.mv_size);
        if (ret != 0)
            break;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        ret = store_error(st, rc, "iterate events");
    mdb_cursor_close(cur);
out_read_end:
    read_end(st, txn, false);
    return ret;
}

/* Output. */

static bool valid_stream(int stream)
{
    return stream == 1 || stream == 2;
}

int store_output_append(struct store *st, uint64_t id, int stream, uint64_t offset,
                        const void *data, size_t len)
{
    unsigned char k[OUTPUT_KEY_LEN];

    if (!valid_stream(stream) || (!data && len) || offset + len < offset)
        return -EINVAL;
    if (len == 0)
        return 0;   /* an empty chunk would only get in the way of reads */
    output_key(k, id, stream, offset);
    return put(st, st->output, k, sizeof(k), data, len, MDB_NOOVERWRITE, "append output");
}

/* Position cur on the chunk of (id, stream) containing offset. */
static int output_seek(MDB_cursor *cur, const unsigned char *prefix, uint64_t offset,
                       MDB_val *key, MDB_val *val, uint64_t *chunk_off)
{
    unsigned char k[OUTPUT_KEY_LEN];
    int rc;

    memcpy(k, prefix, 9);
    put_be(k + 9, offset, 8);
    key->mv_size = sizeof(k);
    key->mv_data = k;
    rc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(cur, key, val, MDB_LAST);
    else if (rc == 0 && memcmp(key->mv_data, k, sizeof(k)) != 0)
        rc = mdb_cursor_get(cur, key, val, MDB_PREV);   /* chunk starts before offset */
    if (rc != 0)
        return rc;
    if (!key_has_prefix(key, prefix, 9, OUTPUT_KEY_LEN))
        return MDB_NOTFOUND;
    *chunk_off = get_be((unsigned char *)key->mv_data + 9, 8);
    if (*chunk_off > offset || offset - *chunk_off >= val->mv_size)
        return MDB_NOTFOUND;   /* at or past the end (or in a gap) */
    return 0;
}

ssize_t store_output_read(struct store *st, uint64_t id, int stream, uint64_t offset,
                          void *buf, size_t size)
{
    unsigned char prefix[OUTPUT_KEY_LEN];
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val key, val;
    uint64_t chunk_off = 0;
    size_t done = 0;
    ssize_t ret;
    int rc;

    if (!valid_stream(stream) || (!buf && size))
        return -EINVAL;
    if (size > SSIZE_MAX)
        size = SSIZE_MAX;
    if (size == 0)
        return 0;
    if ((rc = read_begin(st, &txn)) < 0)
        return rc;
    if ((rc = mdb_cursor_open(txn, st->output, &cur)) != 0) {
        ret = store_error(st, rc, "open cursor");
        goto out_read_end;
    }
    output_key(prefix, id, stream, 0);
    rc = output_seek(cur, prefix, offset, &key, &val, &chunk_off);
    while (rc == 0 && done < size) {
        uint64_t skip = offset + done - chunk_off;
        size_t n = val.mv_size - skip;

        if (n > size - done)
            n = size - done;
        memcpy((char *)buf + done, (char *)val.mv_data + skip, n);
        done += n;
        if (done == size)
            break;
        /* Continue only into the chunk that starts where this one ends. */
        uint64_t next_off = chunk_off + val.mv_size;
        if ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) != 0)
            break;
        if (!key_has_prefix(&key, prefix, 9, OUTPUT_KEY_LEN)
            || (chunk_off = get_be((unsigned char *)key.mv_data + 9, 8)) != next_off)
            break;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        ret = store_error(st, rc, "read output");
    else
        ret = (ssize_t)done;
    mdb_cursor_close(cur);
out_read_end:
    read_end(st, txn, false);
    return ret;
}

/* Meta. */

static int meta_key(struct store *st, const char *name, MDB_val *key)
{
    size_t len;

    if (!name || (len = strlen(name)) == 0 || len > (size_t)mdb_env_get_maxkeysize(st->env))
        return -EINVAL;
    key->mv_size = len;
    key->mv_data = (void *)name;
    return 0;
}

int store_meta_put(struct store *st, const char *name, const void *data, size_t len)
{
    MDB_val key, val = { len, (void *)data };
    MDB_txn *txn;
    int rc;

    if ((!data && len) || (rc = meta_key(st, name, &key)) < 0)
        return -EINVAL;
    if ((rc = write_begin(st, &txn)) < 0)
        return rc;
    if ((rc = mdb_put(txn, st->meta, &key, &val, 0)) != 0)
        return write_fail(st, rc, "put meta");
    redo_note_put(st, st->meta, key.mv_data, key.mv_size, data, len);
    return 0;
}

int store_meta_get(struct store *st, const char *name, void *buf, size_t size, size_t *len)
{
    MDB_val key, val;
    MDB_txn *txn;
    int rc;

    if ((!buf && size) || meta_key(st, name, &key) < 0)
        return -EINVAL;
    if ((rc = read_begin(st, &txn)) < 0)
        return rc;
    rc = mdb_get(txn, st->meta, &key, &val);
    if (rc == 0) {
        if (size)
            memcpy(buf, val.mv_data, val.mv_size < size ? val.mv_size : size);
        if (len)
            *len = val.mv_size;
    }
    read_end(st, txn, false);
    return store_error(st, rc, "get meta");
}

int store_shared_put(struct store *st, const char *name, const void *data, size_t len)
{
    MDB_val key;
    if (meta_key(st, name, &key) < 0 || key.mv_size > JOURNAL_KEY_MAX)
        return -EINVAL;
    return put(st, st->shared, key.mv_data, key.mv_size, data, len, 0, "put shared");
}

int store_shared_get(struct store *st, const char *name, char **out, size_t *len)
{
    MDB_val key;
    const void *data;
    *out = NULL;
    if (meta_key(st, name, &key) < 0)
        return -EINVAL;
    int rc = get(st, st->shared, key.mv_data, key.mv_size, &data, len, "get shared");
    if (rc == 0 && !(*out = malloc(*len + 1)))
        rc = -ENOMEM;
    if (rc == 0) {
        memcpy(*out, data, *len);
        (*out)[*len] = '\0';
    }
    return rc;
}

/* Accounting records: keyed by end time (ms), then id, so retention and
 * time ranges are key ranges. */

#define ACCT_KEY_LEN 16

int store_acct_put(struct store *st, uint64_t end_ms, uint64_t id, const void *data,
                   size_t len)
{
    unsigned char k[ACCT_KEY_LEN];
    put_be(k, end_ms, 8);
    put_be(k + 8, id, 8);
    return put(st, st->acct, k, sizeof(k), data, len, 0, "put accounting record");
}

/* Each record of txn's from key (from_ms, from_id) on (store_acct_foreach) */
static int acct_iterate(struct store *st, MDB_txn *txn, uint64_t from_ms, uint64_t from_id,
                        store_acct_f cb, void *arg)
{
    unsigned char k[ACCT_KEY_LEN] = { 0 };
    MDB_cursor *cur;
    MDB_val key = { sizeof(k), k }, val;
    int rc, ret = 0;
    put_be(k, from_ms, 8);
    put_be(k + 8, from_id, 8);
    if ((rc = mdb_cursor_open(txn, st->acct, &cur)) != 0)
        return -EIO;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != ACCT_KEY_LEN)
            continue;
        if ((ret = cb(arg, get_be(key.mv_data, 8), get_be((unsigned char *)key.mv_data + 8, 8),
                      val.mv_data, val.mv_size)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc != 0 && rc != MDB_NOTFOUND ? -EIO : ret;
}

int store_acct_foreach(struct store *st, uint64_t from_ms, uint64_t from_id, store_acct_f cb,
                       void *arg)
{
    MDB_txn *txn = NULL;
    int rc = read_begin(st, &txn);
    if (rc < 0)
        return rc;
    rc = acct_iterate(st, txn, from_ms, from_id, cb, arg);
    if (rc == -EIO)
        store_error(st, EIO, "iterate accounting");
    read_end(st, txn, false);
    return rc;
}

int store_acct_walk(struct store *st, uint64_t from_ms, uint64_t from_id, store_acct_f cb,
                    void *arg)
{
    /* touches only the environment and the accounting table's handle,
     * both fixed once the store is open (the map is never resized) */
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) != 0)
        return -EIO;
    int rc = acct_iterate(st, txn, from_ms, from_id, cb, arg);
    mdb_txn_abort(txn);
    return rc;
}

int store_acct_expire(struct store *st, uint64_t before_ms, size_t max)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val key, val;
    int rc, n = 0;
    /* a look first: most seconds nothing is due, and no write is made */
    if ((rc = read_begin(st, &txn)) < 0)
        return rc;
    bool due = false;
    if (mdb_cursor_open(txn, st->acct, &cur) == 0) {
        due = mdb_cursor_get(cur, &key, &val, MDB_FIRST) == 0 && key.mv_size == ACCT_KEY_LEN
              && get_be(key.mv_data, 8) < before_ms;
        mdb_cursor_close(cur);
    }
    read_end(st, txn, false);
    if (!due)
        return 0;
    if ((rc = write_begin(st, &txn)) < 0)
        return rc;
    if ((rc = mdb_cursor_open(txn, st->acct, &cur)) != 0)
        return write_fail(st, rc, "expire accounting");
    while ((size_t)n < max && (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST)) == 0) {
        if (key.mv_size != ACCT_KEY_LEN || get_be(key.mv_data, 8) >= before_ms)
            break;   /* not ours, or not due */
        unsigned char k[JOURNAL_KEY_MAX];
        size_t klen = key.mv_size < sizeof(k) ? key.mv_size : sizeof(k);
        memcpy(k, key.mv_data, klen);
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        n++;
        redo_note_delete(st, st->acct, k, klen);
        if (st->journaling && journal_delete_prefix(&st->journal, JOURNAL_ACCT, k, klen) < 0) {
            mdb_cursor_close(cur);
            return journal_fail(st);
        }
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return write_fail(st, rc, "expire accounting");
    return n;
}

/* Replicas (journal.h). */

static MDB_dbi journal_dbi(const struct store *st, int db)
{
    /* events are in jobs now, also when an older leader says otherwise */
    return db == JOURNAL_JOBS || db == JOURNAL_EVENTS ? st->jobs
         : db == JOURNAL_SHARED ? st->shared : db == JOURNAL_ACCT ? st->acct : st->output;
}

int store_apply(struct store *st, const void *ops, size_t len, store_apply_f cb, void *arg)
{
    struct journal_op op;
    size_t pos = 0;
    int rc;
    /* all or nothing: a malformed op anywhere refuses the whole batch */
    while ((rc = journal_next(ops, len, &pos, &op)) > 0)
        ;
    if (rc < 0)
        return -EINVAL;
    MDB_txn *txn;
    if ((rc = write_begin(st, &txn)) < 0)
        return rc;
    if (st->redo_on && !st->redo_unlogged && redo_room(st, len)
        && strbuf_add(&st->redo_ops, ops, len) < 0)
        st->redo_unlogged = true;
    pos = 0;
    while (journal_next(ops, len, &pos, &op) > 0) {
        if ((rc = apply_op(st, txn, &op)) != 0)
            return write_fail(st, rc, op.op == 'P' ? "apply put" : "apply delete");
        if (cb)
            cb(arg, &op);
    }
    return 0;
}

int store_wipe(struct store *st)
{
    MDB_txn *txn;
    int rc;
    if ((rc = write_begin(st, &txn)) < 0)
        return rc;
    st->redo_unlogged = true;   /* a wipe is no op of the log's */
    for (int db = 0; db < JOURNAL_NDB; db++)
        if ((rc = mdb_drop(txn, journal_dbi(st, db), 0)) != 0)
            return write_fail(st, rc, "wipe");
    return 0;
}

int store_dump(struct store *st, struct store_dump *pos, struct strbuf *out, size_t max)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int rc;
    if (st->writes)
        return -EBUSY;   /* a dump holds committed data only */
    if ((rc = read_begin(st, &txn)) < 0)
        return rc;
    size_t start = out->len;
    int ret = 0;
    while (pos->db < JOURNAL_NDB) {
        if (pos->db == JOURNAL_EVENTS) {
            pos->db++;   /* in jobs (journal_dbi) */
            continue;
        }
        if ((rc = mdb_cursor_open(txn, journal_dbi(st, pos->db), &cur)) != 0) {
            ret = store_error(st, rc, "dump");
            goto out;
        }
        MDB_val key = { pos->klen, pos->key }, val;
        rc = pos->klen ? mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE)
                       : mdb_cursor_get(cur, &key, &val, MDB_FIRST);
        /* pos is the last key sent: start after it */
        if (rc == 0 && pos->klen && key.mv_size == pos->klen
            && !memcmp(key.mv_data, pos->key, pos->klen))
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
        for (; rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
            if (out->len - start >= max) {
                ret = 1;
                goto out;
            }
            if (key.mv_size > JOURNAL_KEY_MAX)
                continue;   /* not one of ours */
            if (journal_put(out, pos->db, key.mv_data, key.mv_size, val.mv_data,
                            val.mv_size) < 0) {
                ret = -ENOMEM;
                goto out;
            }
            memcpy(pos->key, key.mv_data, key.mv_size);
            pos->klen = key.mv_size;
        }
        if (rc != MDB_NOTFOUND) {
            ret = store_error(st, rc, "dump");
            goto out;
        }
        mdb_cursor_close(cur);
        cur = NULL;
        pos->db++;
        pos->klen = 0;
    }
out:
    if (cur)
        mdb_cursor_close(cur);
    read_end(st, txn, false);
    return ret;
}

/* The journal log: what recent commits wrote, kept with them. */

int store_journal_log(struct store *st, uint64_t seq, uint64_t keep)
{
    unsigned char k[8];
    MDB_txn *txn;
    int rc;
    size_t len = st->journal.len - st->journal_committed;
    if (!len)
        return 0;
    if ((rc = write_begin(st, &txn)) < 0)
        return rc;
    put_be(k, seq, 8);
    MDB_val key = { sizeof(k), k }, val = { len, st->journal.buf + st->journal_committed };
    if ((rc = mdb_put(txn, st->jlog, &key, &val, 0)) != 0)
        return write_fail(st, rc, "journal log");
    /* not journaled itself (it is the journal's log), but in the redo log:
     * a replay puts back what a follower may ask to catch up from */
    redo_note_put(st, st->jlog, k, sizeof(k), val.mv_data, len);
    if (seq > keep) {
        /* the oldest goes as the newest comes: seq - keep and anything
         * older a crash may have left (a smaller keep) */
        put_be(k, seq - keep, 8);
        MDB_cursor *cur;
        if ((rc = mdb_cursor_open(txn, st->jlog, &cur)) != 0)
            return write_fail(st, rc, "journal log");
        MDB_val v;
        while ((rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST)) == 0 && key.mv_size == 8
               && get_be(key.mv_data, 8) <= seq - keep) {
            unsigned char gone[8];
            memcpy(gone, key.mv_data, sizeof(gone));
            if ((rc = mdb_cursor_del(cur, 0)) != 0)
                break;
            redo_note_delete(st, st->jlog, gone, sizeof(gone));
        }
        mdb_cursor_close(cur);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return write_fail(st, rc, "journal log");
    }
    return 0;
}

int store_journal_foreach(struct store *st, store_journal_f cb, void *arg)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val key, val;
    int rc, ret = 0;
    if ((rc = read_begin(st, &txn)) < 0)
        return rc;
    if ((rc = mdb_cursor_open(txn, st->jlog, &cur)) != 0) {
        ret = store_error(st, rc, "journal log");
        goto out;
    }
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0 && ret == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
        if (key.mv_size == 8)
            ret = cb(arg, get_be(key.mv_data, 8), val.mv_data, val.mv_size);
    mdb_cursor_close(cur);
out:
    read_end(st, txn, false);
    return ret;
}
