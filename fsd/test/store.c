/* test/store.c - the LMDB store: persistence, locking, eventlogs, output. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "common/bigendian.h"
#include "fsd/journal.h"
#include "fsd/store.h"
#include "common/tap.h"

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* 0 (the 64 GiB default) unless FLUXFS_TEST_MAPSIZE says otherwise:
 * valgrind cannot map 64 GiB. */
static size_t mapsize(void)
{
    const char *s = getenv("FLUXFS_TEST_MAPSIZE");
    return s ? strtoull(s, NULL, 0) : 0;
}

static bool job_is(struct store *st, uint64_t id, const char *want)
{
    const void *data;
    size_t len;

    if (store_job_get(st, id, &data, &len) != 0)
        return false;
    return len == strlen(want) && memcmp(data, want, len) == 0;
}

static void test_basic(const char *dir)
{
    struct errmsg err = { "" };
    struct store *st = NULL, *st2 = NULL;
    const void *data;
    size_t len;
    struct stat sb;
    char pidstr[32];

    is(store_open(dir, mapsize(), &st, &err), 0, "open creates the store");
    ok(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700, "state directory is 0700");
    if (!st) {
        printf("Bail out! open %s: %s\n", dir, err.text);
        exit(1);
    }

    is(store_open(dir, mapsize(), &st2, &err), -EBUSY, "second open of the same dir fails -EBUSY");
    snprintf(pidstr, sizeof(pidstr), "in use by pid %d", (int)getpid());
    ok(strstr(err.text, pidstr) != NULL, "message names the owner: %s", err.text);
    ok(st2 == NULL, "no store returned on failure");

    ok(!store_dirty(st), "fresh store is clean");
    is(store_job_get(st, 1, &data, &len), -ENOENT, "missing job is -ENOENT");
    ok(!store_dirty(st), "a read does not begin a write txn");
    is(store_job_put(st, 1, "{\"a\":1}", 7), 0, "put job 1");
    ok(store_dirty(st), "put makes the store dirty");
    ok(job_is(st, 1, "{\"a\":1}"), "read-your-own-writes before commit");
    is(store_commit(st), 0, "commit");
    ok(!store_dirty(st), "commit makes the store clean");
    is(store_commit(st), 0, "commit with nothing open is 0");
    ok(job_is(st, 1, "{\"a\":1}"), "job 1 readable from a snapshot after commit");

    is(store_job_put(st, 2, "two", 3), 0, "put job 2");
    is(store_job_put(st, 1, "changed", 7), 0, "overwrite job 1");
    ok(job_is(st, 2, "two"), "job 2 visible before abort");
    store_abort(st);
    ok(!store_dirty(st), "abort makes the store clean");
    is(store_job_get(st, 2, &data, &len), -ENOENT, "abort dropped job 2");
    ok(job_is(st, 1, "{\"a\":1}"), "abort dropped the overwrite of job 1");

    is(store_meta_put(st, "last-id", "12345", 5), 0, "meta put");
    is(store_job_put(st, 3, "", 0), 0, "put empty job record");
    store_close(st);   /* uncommitted: lost */

    is(store_open(dir, mapsize(), &st, &err), 0, "reopen after close");
    ok(job_is(st, 1, "{\"a\":1}"), "job 1 persisted");
    is(store_job_get(st, 3, &data, &len), -ENOENT, "uncommitted job 3 lost at close");
    is(store_meta_put(st, "last-id", "12345", 5), 0, "meta put again");
    is(store_job_put(st, 3, NULL, 0), 0, "put empty job record");
    is(store_commit(st), 0, "commit");
    store_close(st);

    is(store_open(dir, 1 << 20, &st, &err), 0, "reopen with a smaller map size");
    is(store_job_get(st, 3, &data, &len), 0, "empty job record persisted");
    is(len, 0, "... with length 0");
    ok(store_size(st) > 0, "store_size is %ju", (uintmax_t)store_size(st));
    store_close(st);
    store_close(NULL);
}

static void test_meta(struct store *st)
{
    char buf[16];
    size_t len = 0;

    is(store_meta_put(st, "epoch", "1700000000000", 13), 0, "meta put epoch");
    memset(buf, 0, sizeof(buf));
    is(store_meta_get(st, "epoch", buf, sizeof(buf), &len), 0, "meta get epoch before commit");
    is(len, 13, "meta length");
    ok(memcmp(buf, "1700000000000", 13) == 0, "meta value");
    is(store_commit(st), 0, "commit");
    memset(buf, 0, sizeof(buf));
    is(store_meta_get(st, "epoch", buf, 4, &len), 0, "meta get into a short buffer");
    is(len, 13, "full length reported");
    ok(memcmp(buf, "1700", 4) == 0 && buf[4] == 0, "only size bytes copied");
    is(store_meta_get(st, "nope", buf, sizeof(buf), &len), -ENOENT, "missing meta -ENOENT");
    is(store_meta_get(st, "", buf, sizeof(buf), &len), -EINVAL, "empty name -EINVAL");
    is(store_meta_put(st, NULL, "x", 1), -EINVAL, "NULL name -EINVAL");
    ok(!store_dirty(st), "rejected put did not begin a txn");
}

struct events {
    int n;
    uint32_t seq[16];
    char line[16][32];
};

static int collect_event(void *arg, uint32_t seq, const char *line, size_t len)
{
    struct events *ev = arg;

    if (ev->n >= 16 || len >= 32)
        return -1;
    ev->seq[ev->n] = seq;
    memcpy(ev->line[ev->n], line, len);
    ev->line[ev->n][len] = '\0';
    ev->n++;
    return 0;
}

static void test_events(struct store *st)
{
    struct events ev = { 0 };
    char line[32];
    bool good = true;

    /* Neighbours on either side, and seq values that sort wrong as
     * little-endian (256 after 1). */
    is(store_event_append(st, 4, 0, "other-before", 12), 0, "append event of job 4");
    is(store_event_append(st, 6, 0, "other-after", 11), 0, "append event of job 6");
    for (uint32_t s = 0; s < 5; s++) {
        uint32_t seq = s < 4 ? s : 256;
        int n = snprintf(line, sizeof(line), "event %u", seq);
        if (store_event_append(st, 5, seq, line, (size_t)n) != 0)
            good = false;
    }
    ok(good, "append 5 events of job 5");
    is(store_event_append(st, 5, 2, "dup", 3), -EEXIST, "duplicate seq -EEXIST");
    ok(store_dirty(st), "-EEXIST keeps the txn");
    is(store_event_foreach(st, 5, collect_event, &ev), 0, "foreach before commit");
    is(ev.n, 5, "5 events seen");
    is(store_commit(st), 0, "commit");

    memset(&ev, 0, sizeof(ev));
    is(store_event_foreach(st, 5, collect_event, &ev), 0, "foreach after commit");
    is(ev.n, 5, "5 events seen");
    good = ev.n == 5;
    for (int i = 0; good && i < 5; i++) {
        uint32_t seq = i < 4 ? (uint32_t)i : 256;
        snprintf(line, sizeof(line), "event %u", seq);
        good = ev.seq[i] == seq && strcmp(ev.line[i], line) == 0;
    }
    ok(good, "events in seq order with their text");
    memset(&ev, 0, sizeof(ev));
    is(store_event_foreach(st, 99, collect_event, &ev), 0, "foreach of job without events");
    is(ev.n, 0, "no events");
}

static int stop_at_two(void *arg, uint32_t seq, const char *line, size_t len)
{
    int *n = arg;
    return ++*n == 2 ? 42 : 0;
}

static void test_event_stop(struct store *st)
{
    int n = 0;

    is(store_event_foreach(st, 5, stop_at_two, &n), 42, "event foreach returns cb's value");
    is(n, 2, "event foreach stopped early");
}

/* Output: chunks of odd sizes, read at every offset with several sizes. */
static int check_output(struct store *st, uint64_t id, int stream, const char *ref, size_t total)
{
    static const size_t sizes[] = { 1, 2, 3, 7, 16, 64, 200, 4096 };
    char buf[4096];
    int bad = 0;

    for (size_t off = 0; off <= total + 3; off++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            size_t want = off >= total ? 0 : total - off;
            if (want > sizes[i])
                want = sizes[i];
            ssize_t n = store_output_read(st, id, stream, off, buf, sizes[i]);
            if (n != (ssize_t)want || memcmp(buf, ref + (off < total ? off : 0), want) != 0) {
                if (bad++ < 5)
                    diag("read off=%zu size=%zu: got %zd, want %zu", off, sizes[i], n, want);
            }
        }
    }
    return bad;
}

static void test_output(struct store *st)
{
    static const size_t chunks[] = { 3, 5, 1, 7, 100, 1, 2500 };
    char ref[4096], buf[16];
    size_t total = 0;
    bool good = true;

    for (size_t i = 0; i < sizeof(ref); i++)
        ref[i] = (char)('a' + (i * 7 + i / 13) % 26);
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        if (store_output_append(st, 5, 1, total, ref + total, chunks[i]) != 0)
            good = false;
        total += chunks[i];
    }
    ok(good, "append %zu bytes of stdout in 7 chunks", total);
    /* Neighbours: stderr of the same job, stdout of jobs 4 and 6. */
    ok(store_output_append(st, 5, 2, 0, "ERR", 3) == 0
       && store_output_append(st, 4, 1, 0, "four", 4) == 0
       && store_output_append(st, 6, 1, 0, "six", 3) == 0, "append neighbouring output");
    is(store_output_append(st, 5, 1, 0, "x", 1), -EEXIST, "append at a used offset -EEXIST");
    is(store_output_append(st, 5, 3, 0, "x", 1), -EINVAL, "bad stream -EINVAL");
    is(store_output_append(st, 5, 1, total, "", 0), 0, "empty append is a no-op");

    is(check_output(st, 5, 1, ref, total), 0, "reads at every offset before commit");
    is(store_commit(st), 0, "commit");
    is(check_output(st, 5, 1, ref, total), 0, "reads at every offset after commit");
    is(store_output_read(st, 5, 1, total, buf, sizeof(buf)), 0, "read at end returns 0");
    is(store_output_read(st, 5, 1, total + 1000, buf, sizeof(buf)), 0, "read past end returns 0");
    is(store_output_read(st, 5, 1, UINT64_MAX, buf, sizeof(buf)), 0, "read at UINT64_MAX returns 0");
    is(store_output_read(st, 5, 2, 1, buf, sizeof(buf)), 2, "stderr read");
    ok(memcmp(buf, "RR", 2) == 0, "stderr data");
    is(store_output_read(st, 5, 2, 3, buf, sizeof(buf)), 0, "stderr read at end returns 0");
    is(store_output_read(st, 4, 1, 0, buf, sizeof(buf)), 4, "job 4 output unaffected");
    is(store_output_read(st, 7, 1, 0, buf, sizeof(buf)), 0, "job without output reads 0");
    is(store_output_read(st, 3, 2, 0, buf, sizeof(buf)), 0, "job before any output reads 0");
    is(store_output_read(st, 5, 0, 0, buf, sizeof(buf)), -EINVAL, "read of bad stream -EINVAL");
}

struct idlist {
    int n, stop_after;
    uint64_t ids[32];
};

static int collect_id(void *arg, uint64_t id, const void *data, size_t len)
{
    struct idlist *l = arg;

    if (l->n < 32)
        l->ids[l->n++] = id;
    return l->stop_after && l->n == l->stop_after ? 7 : 0;
}

static void test_foreach(struct store *st)
{
    static const uint64_t put[] = { 300, 2, 1ULL << 40, 256, 70000, 255, UINT64_MAX };
    static const uint64_t want[] = { 2, 255, 256, 300, 70000, 1ULL << 40, UINT64_MAX };
    struct idlist l = { 0 };
    bool good = true;

    for (size_t i = 0; i < sizeof(put) / sizeof(put[0]); i++)
        if (store_job_put(st, put[i], "j", 1) != 0)
            good = false;
    ok(good, "put 7 jobs in random order");
    is(store_job_foreach(st, collect_id, &l), 0, "foreach (in the write txn)");
    is(l.n, 7, "7 jobs seen");
    good = l.n == 7;
    for (int i = 0; good && i < 7; i++)
        good = l.ids[i] == want[i];
    ok(good, "ascending numeric id order");
    is(store_commit(st), 0, "commit");
    memset(&l, 0, sizeof(l));
    l.stop_after = 3;
    is(store_job_foreach(st, collect_id, &l), 7, "foreach returns cb's non-zero value");
    is(l.n, 3, "foreach stopped early");
    ok(l.ids[2] == 256, "... after the third id");
}

/* A callback that reads from the store while a foreach holds the snapshot. */
static int nested_get(void *arg, uint64_t id, const void *data, size_t len)
{
    struct store *st = arg;
    const void *d2;
    size_t l2;
    char buf[4];

    if (store_job_get(st, id, &d2, &l2) != 0 || l2 != len || memcmp(d2, data, len) != 0)
        return -1;
    if (store_output_read(st, 4, 1, 0, buf, sizeof(buf)) != 4)
        return -1;
    return 0;
}

static void test_nested(struct store *st)
{
    ok(!store_dirty(st), "no write txn open");
    is(store_job_foreach(st, nested_get, st), 0, "reads nest inside foreach callbacks");
}

static void test_delete(struct store *st)
{
    struct events ev = { 0 };
    const void *data;
    size_t len;
    char buf[16];

    is(store_job_put(st, 5, "five", 4), 0, "put job 5");
    is(store_job_put(st, 4, "four", 4), 0, "put job 4");
    is(store_job_put(st, 6, "six", 3), 0, "put job 6");
    is(store_commit(st), 0, "commit");
    is(store_job_delete(st, 5), 0, "delete job 5");
    is(store_job_get(st, 5, &data, &len), -ENOENT, "record gone before commit");
    is(store_commit(st), 0, "commit");
    is(store_job_get(st, 5, &data, &len), -ENOENT, "record gone");
    is(store_event_foreach(st, 5, collect_event, &ev), 0, "event foreach of deleted job");
    is(ev.n, 0, "events gone");
    is(store_output_read(st, 5, 1, 0, buf, sizeof(buf)), 0, "stdout gone");
    is(store_output_read(st, 5, 2, 0, buf, sizeof(buf)), 0, "stderr gone");
    ok(job_is(st, 4, "four") && job_is(st, 6, "six"), "neighbour records intact");
    is(store_event_foreach(st, 4, collect_event, &ev), 0, "event foreach of job 4");
    is(store_event_foreach(st, 6, collect_event, &ev), 0, "event foreach of job 6");
    is(ev.n, 2, "neighbour events intact");
    is(store_output_read(st, 6, 1, 0, buf, sizeof(buf)), 3, "neighbour output intact");
    is(store_job_delete(st, 5), -ENOENT, "deleting again is -ENOENT");
    is(store_job_delete(st, 12345), -ENOENT, "deleting an unknown id is -ENOENT");
    store_abort(st);
}

static int count_job(void *arg, uint64_t id, const void *data, size_t len)
{
    (*(int *)arg)++;
    return 0;
}

static void test_map_full(const char *dir)
{
    struct errmsg err = { "" };
    struct store *st;
    static char blob[65536];
    int rc = 0, n;

    is(store_open(dir, 1 << 20, &st, &err), 0, "open with a 1 MiB map");
    if (!st)
        return;
    is(store_job_put(st, 1, "keep", 4), 0, "put job 1");
    is(store_commit(st), 0, "commit");
    for (n = 0; n < 100 && rc == 0; n++)
        rc = store_job_put(st, 100 + (uint64_t)n, blob, sizeof(blob));
    is(rc, -ENOSPC, "filling the map gives -ENOSPC (after %d puts)", n - 1);
    ok(!store_dirty(st), "the failed txn was aborted");
    ok(strlen(store_errstr(st)) > 0, "errstr: %s", store_errstr(st));
    ok(job_is(st, 1, "keep"), "committed data still readable");
    /* the rest of that iteration must not be committed without the part
     * that was lost */
    is(store_job_put(st, 3, "after", 5), -ENOSPC, "later writes refused until the commit");
    is(store_commit(st), -ENOSPC, "and the commit reports the failure");
    ok(!job_is(st, 3, "after"), "nothing of that transaction was committed");
    is(store_job_put(st, 2, "small", 5), 0, "store usable after the failed commit");
    is(store_commit(st), 0, "commit after -ENOSPC");
    ok(job_is(st, 2, "small"), "new write persisted");
    is(store_blob_put(st, 2, 'S', "spec", 4), 0, "a blob beside the record");
    const void *d;
    size_t len;
    ok(store_blob_get(st, 2, 'S', &d, &len) == 0 && len == 4 && !memcmp(d, "spec", 4),
       "read back before the commit");
    is(store_commit(st), 0, "committed");
    ok(job_is(st, 2, "small"), "the record is untouched by its blob");
    is(store_blob_get(st, 2, 'R', &d, &len), -ENOENT, "another kind is absent");
    int njobs = 0;
    store_job_foreach(st, count_job, &njobs);
    is(njobs, 2, "foreach sees records only, not blobs");
    is(store_job_delete(st, 2), 0, "delete the job");
    is(store_commit(st), 0, "committed");
    is(store_blob_get(st, 2, 'S', &d, &len), -ENOENT, "its blob went with it");
    store_close(st);
}

static void test_fork_crash(const char *dir)
{
    struct errmsg err = { "" };
    struct store *st;
    pid_t pid;
    int status, missing = 0;
    char rec[32];

    pid = fork();
    if (pid == 0) {
        struct store *cst;
        if (store_open(dir, mapsize(), &cst, NULL) != 0)
            _exit(2);
        for (uint64_t id = 1; id <= 1000; id++) {
            int n = snprintf(rec, sizeof(rec), "job-%ju", (uintmax_t)id);
            if (store_job_put(cst, id, rec, (size_t)n) != 0
                || store_event_append(cst, id, 0, "submit", 6) != 0)
                _exit(3);
        }
        /* Leave a reader slot in use, as a broker killed mid-read would. */
        const void *d;
        size_t l;
        if (store_commit(cst) != 0 || store_job_get(cst, 1, &d, &l) != 0)
            _exit(4);
        _exit(0);   /* no store_close: like a crash right after commit */
    }
    ok(pid > 0, "fork");
    ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "child wrote 1000 jobs in one txn and exited without closing");
    is(store_open(dir, mapsize(), &st, &err), 0, "parent reopens the store");
    if (!st)
        return;
    for (uint64_t id = 1; id <= 1000; id++) {
        snprintf(rec, sizeof(rec), "job-%ju", (uintmax_t)id);
        if (!job_is(st, id, rec))
            missing++;
    }
    is(missing, 0, "all 1000 jobs survived");
    store_close(st);
}

/* A lazy commit survives a crash of the process (not of the machine): the
 * child commits lazily and dies; the parent must see the data. */
static void test_lazy(const char *dir)
{
    struct store *st;
    int status;
    pid_t pid = fork();
    if (pid == 0) {
        struct store *cst;
        if (store_open(dir, mapsize(), &cst, NULL) != 0)
            _exit(2);
        if (store_job_put(cst, 7, "lazy", 4) != 0 || store_commit_lazy(cst) != 0)
            _exit(3);
        if (!store_unsynced(cst))
            _exit(4);
        _exit(0);
    }
    ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "child committed lazily and reported unsynced");
    is(store_open(dir, mapsize(), &st, NULL), 0, "reopen after lazy commit");
    if (!st)
        return;
    ok(job_is(st, 7, "lazy"), "lazily committed record is there");
    ok(!store_unsynced(st), "a fresh store has nothing unsynced");
    is(store_job_put(st, 8, "x", 1), 0, "put");
    is(store_commit_lazy(st), 0, "lazy commit");
    ok(store_unsynced(st), "lazy commit leaves it unsynced");
    is(store_sync(st), 0, "sync");
    ok(!store_unsynced(st), "synced");
    is(store_job_put(st, 9, "y", 1), 0, "put");
    is(store_commit_lazy(st), 0, "lazy commit again");
    is(store_job_put(st, 10, "z", 1), 0, "put");
    is(store_commit(st), 0, "a durable commit");
    ok(!store_unsynced(st), "a durable commit syncs earlier lazy ones too");
    store_close(st);
}

static int copy_file(const char *from, const char *to)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600), rc = 0;
    if (in < 0 || out < 0)
        rc = -1;
    while (rc == 0 && (n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n)
            rc = -1;
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) < 0)
        rc = -1;
    return rc;
}

/* The redo log: a child commits lazily with the log on, syncs the log (a
 * submitter's answer) and dies without closing. The machine "loses" what
 * LMDB had not synced: data.mdb goes back to its copy taken when the log
 * was enabled. Reopening applies the log again: every acknowledged commit
 * is there, in order (a deleted job stays deleted), and nothing twice. */
static void test_redo(const char *dir)
{
    char data[PATH_MAX], copy[PATH_MAX];
    struct store *st;
    int status;
    snprintf(data, sizeof(data), "%s/data.mdb", dir);
    snprintf(copy, sizeof(copy), "%s/data.copy", dir);
    pid_t pid = fork();
    if (pid == 0) {
        struct store *cst;
        if (store_open(dir, mapsize(), &cst, NULL) != 0)
            _exit(2);
        if (store_job_put(cst, 1, "one", 3) || store_commit(cst))
            _exit(3);
        if (store_redo_enable(cst) != -ENOENT)   /* its files are not made yet */
            _exit(11);
        if (store_redo_prepare(cst) != 0 || store_redo_enable(cst) != 0)
            _exit(4);   /* enabling syncs LMDB: the copy is whole */
        if (copy_file(data, copy) != 0)
            _exit(5);
        char v[32];
        for (int i = 2; i <= 300; i++) {
            int n = snprintf(v, sizeof(v), "job %d", i);
            if (store_job_put(cst, (uint64_t)i, v, (size_t)n) || store_event_append(cst, (uint64_t)i, 1, v, (size_t)n)
                || store_commit_lazy(cst))
                _exit(6);
        }
        /* 5 MB more: past the end of the log's first file, into its second */
        static char blob[10000];
        for (int i = 301; i <= 800; i++) {
            memset(blob, 'a' + i % 26, sizeof(blob));
            if (store_blob_put(cst, (uint64_t)i, 'S', blob, sizeof(blob)) || store_commit_lazy(cst))
                _exit(9);
        }
        if (!store_checkpoint_due(cst))
            _exit(10);
        if (store_job_put(cst, 2, "two again", 9) || store_job_delete(cst, 1)
            || store_meta_put(cst, "redo-test", "m", 1) || store_commit_lazy(cst))
            _exit(7);
        if (store_flush(cst) != 0)
            _exit(8);
        _exit(0);   /* no close: a crash */
    }
    ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "redo: a child committed 300 times lazily and synced the log (%d)", WEXITSTATUS(status));
    ok(rename(copy, data) == 0, "redo: LMDB loses every commit since the log was enabled");
    struct errmsg err = { "" };
    is(store_open(dir, mapsize(), &st, &err), 0, "redo: it opens (%s)", err.text);
    if (!st)
        return;
    bool all = true;
    char v[32];
    for (int i = 3; i <= 300; i++) {
        snprintf(v, sizeof(v), "job %d", i);
        all = all && job_is(st, (uint64_t)i, v);
    }
    ok(all, "redo: jobs 3..300 are back");
    ok(job_is(st, 2, "two again"), "redo: job 2 as it was last written");
    bool blobs = true;
    for (int i = 301; i <= 800; i++) {
        const void *b;
        size_t blen;
        blobs = blobs && store_blob_get(st, (uint64_t)i, 'S', &b, &blen) == 0 && blen == 10000
                && ((const char *)b)[9999] == 'a' + i % 26;
    }
    ok(blobs, "redo: 500 blobs of 10 KB are back, across both of its files");
    const void *d;
    size_t len;
    is(store_job_get(st, 1, &d, &len), -ENOENT, "redo: job 1 stays deleted");
    char m[8];
    size_t mlen = 0;
    ok(store_meta_get(st, "redo-test", m, sizeof(m), &mlen) == 0 && mlen == 1 && m[0] == 'm',
       "redo: a meta write is back too");
    store_close(st);

    /* again: the log was emptied, and LMDB has it all */
    is(store_open(dir, mapsize(), &st, &err), 0, "redo: it opens again");
    if (!st)
        return;
    ok(job_is(st, 300, "job 300") && job_is(st, 2, "two again")
       && store_job_get(st, 1, &d, &len) == -ENOENT, "redo: the same, nothing applied twice");

    /* a commit the log cannot hold (larger than its file) is made durable
     * in LMDB itself */
    is(store_redo_enable(st), 0, "redo: enabled");
    size_t big = 5u << 20;
    char *blob = malloc(big);
    memset(blob, 'b', big);
    is(store_blob_put(st, 400, 'S', blob, big), 0, "redo: a 5 MiB blob");
    is(store_commit_lazy(st), 0, "redo: committed lazily");
    ok(!store_unsynced(st), "redo: ... and synced at once: too large for the log");
    free(blob);
    store_close(st);
}

/* The newest transaction a data file's meta pages name (LMDB 0.9,
 * 64-bit, 4 KiB pages: txnid at byte 144 of pages 0 and 1). */
static uint64_t file_txnid(const char *path)
{
    uint64_t t[2] = { 0, 0 };
    int fd = open(path, O_RDONLY);
    for (int i = 0; fd >= 0 && i < 2; i++)
        if (pread(fd, &t[i], 8, (off_t)i * 4096 + 144) != 8)
            t[i] = 0;
    if (fd >= 0)
        close(fd);
    return t[0] > t[1] ? t[0] : t[1];
}

/* With the redo log a lazy commit is deferred: LMDB commits once per
 * checkpoint; reads see it before; a failed write loses only its own
 * commit; a crash loses none. */
static void test_deferred(const char *dir)
{
    char data[PATH_MAX];
    static char blob[65536];
    struct errmsg err = { "" };
    struct store *st;
    int status, rc = 0, n;
    snprintf(data, sizeof(data), "%s/data.mdb", dir);
    is(store_open(dir, 4 << 20, &st, &err), 0, "defer: open with a 4 MiB map (%s)", err.text);
    if (!st)
        return;
    ok(store_redo_prepare(st) == 0 && store_redo_enable(st) == 0, "defer: redo log on");
    uint64_t t0 = file_txnid(data);
    bool all = true;
    for (int i = 1; i <= 100; i++)
        all = all && store_job_put(st, (uint64_t)i, "v1", 2) == 0 && store_commit_lazy(st) == 0;
    ok(all, "defer: 100 lazy commits");
    is(file_txnid(data), t0, "defer: LMDB committed none of them");
    ok(!store_dirty(st) && !store_writing(st), "defer: nothing is left uncommitted");
    ok(store_unsynced(st), "defer: a checkpoint is wanted");
    ok(job_is(st, 1, "v1") && job_is(st, 100, "v1"), "defer: reads see them");
    /* a write that fails (the map is full) aborts the transaction */
    is(store_job_put(st, 101, "lost", 4), 0, "defer: a put in a new commit");
    for (n = 0; n < 100 && rc == 0; n++)
        rc = store_blob_put(st, 1000 + (uint64_t)n, 'S', blob, sizeof(blob));
    is(rc, -ENOSPC, "defer: then writes until the map is full (%d)", n);
    ok(!store_dirty(st), "defer: that commit's transaction is gone");
    ok(store_commit_lazy(st) < 0, "defer: its commit fails");
    ok(job_is(st, 1, "v1") && job_is(st, 100, "v1"), "defer: the deferred commits are still there");
    ok(!job_is(st, 101, "lost"), "defer: the failed commit's own write is not");
    ok(store_job_put(st, 102, "after", 5) == 0 && store_commit_lazy(st) == 0,
       "defer: commits go on");
    uint64_t mark = store_checkpoint_mark(st);
    is(file_txnid(data), t0 + 1, "defer: the checkpoint commits all of them to LMDB at once");
    ok(store_checkpoint_sync(st) == 0, "defer: ... and syncs it");
    store_checkpoint_done(st, mark);
    ok(job_is(st, 100, "v1") && job_is(st, 102, "after") && !job_is(st, 101, "lost"),
       "defer: reads after the checkpoint");
    store_close(st);

    /* a crash with deferred commits: the log has them */
    pid_t pid = fork();
    if (pid == 0) {
        struct store *cst;
        if (store_open(dir, 4 << 20, &cst, NULL) != 0 || store_redo_enable(cst) != 0)
            _exit(2);
        for (int i = 1; i <= 100; i++)
            if (store_job_put(cst, (uint64_t)i, "v2", 2) || store_commit_lazy(cst))
                _exit(3);
        if (store_job_delete(cst, 102) || store_commit_lazy(cst) || store_flush(cst))
            _exit(4);
        _exit(0);
    }
    ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "defer: a child deferred 101 commits, synced the log and died (%d)", WEXITSTATUS(status));
    is(store_open(dir, 4 << 20, &st, &err), 0, "defer: it opens (%s)", err.text);
    if (!st)
        return;
    const void *d;
    size_t len;
    ok(job_is(st, 1, "v2") && job_is(st, 100, "v2") && store_job_get(st, 102, &d, &len) == -ENOENT,
       "defer: every deferred commit is back");
    store_close(st);
}

/* A cluster leader's journal log (what followers catch up from) goes
 * into the redo log with the commit it belongs to: its commits are
 * deferred too, and a crash puts it back as it was, old entries dropped. */
static int log_seen(void *arg, uint64_t seq, const void *data, size_t len);

static void test_redo_jlog(const char *dir)
{
    struct errmsg err = { "" };
    struct store *st = NULL;
    struct strbuf j = STRBUF_INIT;
    char data[PATH_MAX];
    int status;
    snprintf(data, sizeof(data), "%s/data.mdb", dir);
    pid_t pid = fork();
    if (pid == 0) {
        struct store *cst;
        if (store_open(dir, 16 << 20, &cst, NULL) != 0 || store_redo_prepare(cst) != 0
            || store_redo_enable(cst) != 0)
            _exit(2);
        store_journal_enable(cst);
        uint64_t t0 = file_txnid(data);
        for (uint64_t seq = 1; seq <= 10; seq++) {
            if (store_job_put(cst, seq, "j", 1) || store_journal_log(cst, seq, 4)
                || store_commit_lazy(cst))
                _exit(3);
            store_journal_take(cst, &j);
        }
        if (file_txnid(data) != t0)
            _exit(4);   /* the log took them: LMDB committed none */
        _exit(store_flush(cst) == 0 ? 0 : 5);
    }
    ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "jlog: a leader deferred 10 commits with their journal log, synced the log and died "
       "(%d)", WEXITSTATUS(status));
    is(store_open(dir, 16 << 20, &st, &err), 0, "jlog: it opens (%s)", err.text);
    if (!st)
        return;
    struct logged { uint64_t first, last, n; size_t bytes; } lg = { 0, 0, 0, 0 };
    is(store_journal_foreach(st, log_seen, &lg), 0, "jlog: journal log foreach");
    ok(lg.first == 7 && lg.last == 10 && lg.n == 4,
       "jlog: it holds the last 4 commits' journals, as before the crash (%llu..%llu, %llu)",
       (unsigned long long)lg.first, (unsigned long long)lg.last, (unsigned long long)lg.n);
    ok(job_is(st, 10, "j"), "jlog: and the jobs they journaled");
    store_close(st);
    strbuf_release(&j);
}

/* A replay at open that LMDB cannot take (its map is full) fails the open
 * and applies nothing; an open that can, later, applies every record. */
static void test_replay_full(const char *dir)
{
    static char blob[100000];
    struct errmsg err = { "" };
    struct store *st = NULL;
    int status;
    pid_t pid = fork();
    if (pid == 0) {
        struct store *cst;
        if (store_open(dir, 64 << 20, &cst, NULL) != 0 || store_redo_prepare(cst) != 0
            || store_redo_enable(cst) != 0)
            _exit(2);
        for (int i = 1; i <= 30; i++) {
            memset(blob, 'a' + i % 26, sizeof(blob));
            if (store_blob_put(cst, (uint64_t)i, 'S', blob, sizeof(blob)) || store_commit_lazy(cst))
                _exit(3);
        }
        _exit(store_flush(cst) == 0 ? 0 : 4);
    }
    ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "replay: a child deferred 30 commits of 100 KB, synced the log and died");
    is(store_open(dir, 1 << 20, &st, &err), -ENOSPC,
       "replay: opened with a 1 MiB map, the replay fails the open (%s)", err.text);
    if (st)
        store_close(st);
    st = NULL;
    err = (struct errmsg){ "" };
    is(store_open(dir, 64 << 20, &st, &err), 0, "replay: opened with room, it opens (%s)", err.text);
    bool all = st != NULL;
    for (int i = 1; all && i <= 30; i++) {
        const void *b;
        size_t blen;
        all = store_blob_get(st, (uint64_t)i, 'S', &b, &blen) == 0 && blen == sizeof(blob)
              && ((const char *)b)[blen - 1] == 'a' + i % 26;
    }
    ok(all, "replay: all 30 are back: the failed replay left nothing half applied");
    if (st)
        store_close(st);
}

/* 50 jobs of 900 bytes each rewritten, a lazy commit each: pages are
 * freed and, without a hold on them, reused two commits later */
static int churn(struct store *st, int round)
{
    char v[900];
    for (int i = 1; i <= 50; i++) {
        memset(v, 'a' + round % 26, sizeof(v));
        int n = snprintf(v, sizeof(v), "round %d job %d ", round, i);
        v[n] = '.';
        if (store_job_put(st, (uint64_t)i, v, sizeof(v)) || store_commit_lazy(st))
            return -1;
    }
    return 0;
}

static bool round_is(struct store *st, int round)
{
    char want[32];
    for (int i = 1; i <= 50; i++) {
        const void *d;
        size_t len;
        int n = snprintf(want, sizeof(want), "round %d job %d ", round, i);
        if (store_job_get(st, (uint64_t)i, &d, &len) != 0 || len != 900
            || memcmp(d, want, (size_t)n) != 0 || ((const char *)d)[899] != 'a' + round % 26)
            return false;
    }
    return true;
}

/* dir's data.mdb: base's bytes, with its first two pages (LMDB's meta
 * pages) from meta's */
static int meta_splice(const char *dir, const char *base, const char *meta)
{
    char data[PATH_MAX], page[8192];
    snprintf(data, sizeof(data), "%s/data.mdb", dir);
    if (copy_file(base, data) != 0)
        return -1;
    int in = open(meta, O_RDONLY), out = open(data, O_WRONLY);
    int rc = in >= 0 && out >= 0 && pread(in, page, sizeof(page), 0) == (ssize_t)sizeof(page)
             && pwrite(out, page, sizeof(page), 0) == (ssize_t)sizeof(page) ? 0 : -1;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

static int keep_log(const char *dir, bool back)
{
    static const char *const names[] = { "redo.0", "redo.1", "redo.ckpt" };
    for (int i = 0; i < 3; i++) {
        char a[PATH_MAX], b[PATH_MAX];
        snprintf(a, sizeof(a), "%s/%s", dir, names[i]);
        snprintf(b, sizeof(b), "%s/%s.keep", dir, names[i]);
        if (copy_file(back ? b : a, back ? a : b) != 0)
            return -1;
    }
    return 0;
}

/* A power failure between checkpoints: the disk holds the checkpoint and
 * any part of what was written after it, in any order. The two worst
 * cases, made from what a crashed child left: the later pages without the
 * later meta page (the checkpoint's state must not have been overwritten),
 * and the later meta page without the later pages (pointing at pages that
 * never arrived). Either way the store opens with every commit whose log
 * sync returned. */
static void test_power_loss(const char *dir)
{
    char data[PATH_MAX], at_ckpt[PATH_MAX], late[PATH_MAX];
    struct errmsg err = { "" };
    struct store *st;
    int status;
    snprintf(data, sizeof(data), "%s/data.mdb", dir);
    snprintf(at_ckpt, sizeof(at_ckpt), "%s/data.ckpt", dir);
    snprintf(late, sizeof(late), "%s/data.late", dir);
    pid_t pid = fork();
    if (pid == 0) {
        struct store *cst;
        if (store_open(dir, mapsize(), &cst, NULL) != 0 || store_redo_prepare(cst) != 0
            || store_redo_enable(cst) != 0)
            _exit(2);
        for (int r = 1; r <= 3; r++)
            if (churn(cst, r) != 0)
                _exit(3);
        if (store_flush(cst) != 0)
            _exit(4);
        uint64_t mark = store_checkpoint_mark(cst);
        if (store_checkpoint_sync(cst) != 0)
            _exit(5);
        store_checkpoint_done(cst, mark);
        /* what the disk holds for sure: the checkpoint */
        if (copy_file(data, at_ckpt) != 0)
            _exit(6);
        /* checkpoints begun whose sync never ends: each commits to LMDB
         * what was deferred since the last, over the checkpoint's pages
         * if they were not held */
        for (int r = 4; r <= 9; r++) {
            if (churn(cst, r) != 0)
                _exit(7);
            store_checkpoint_mark(cst);
        }
        if (store_flush(cst) != 0)
            _exit(8);
        _exit(0);   /* the power goes */
    }
    ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "power: a child checkpointed after 150 commits, made 300 more and synced the log (%d)",
       WEXITSTATUS(status));
    ok(copy_file(data, late) == 0 && keep_log(dir, false) == 0, "power: its files kept");
    ok(file_txnid(late) > file_txnid(at_ckpt) + 3,
       "power: LMDB committed after the checkpoint (%llu, then %llu)",
       (unsigned long long)file_txnid(at_ckpt), (unsigned long long)file_txnid(late));
    /* the machine came back: another boot */
    char boot[PATH_MAX];
    snprintf(boot, sizeof(boot), "%s/boot_id", dir);
    FILE *bf = fopen(boot, "w");
    ok(bf && fputs("00000000-1111-2222-3333-444444444444\n", bf) >= 0 && fclose(bf) == 0,
       "power: a new boot");
    setenv("FLUXFS_TEST_BOOT_ID", boot, 1);

    ok(meta_splice(dir, late, at_ckpt) == 0, "power: the later pages, the checkpoint's meta pages");
    st = NULL;
    is(store_open(dir, mapsize(), &st, &err), 0, "power: it opens (%s)", err.text);
    if (st) {
        ok(round_is(st, 9), "power: every job as last written: the checkpoint's pages were held");
        store_close(st);
    }
    ok(keep_log(dir, true) == 0 && meta_splice(dir, at_ckpt, late) == 0,
       "power: the checkpoint's pages, the later meta pages");
    st = NULL;
    is(store_open(dir, mapsize(), &st, &err), 0, "power: it opens (%s)", err.text);
    if (st) {
        ok(round_is(st, 9), "power: every job as last written: put back to the checkpoint, "
           "then the log applied");
        store_close(st);
    }
    st = NULL;
    is(store_open(dir, mapsize(), &st, &err), 0, "power: it opens once more");
    if (st) {
        ok(round_is(st, 9), "power: the same, nothing put back after a clean close");
        store_close(st);
    }
    unsetenv("FLUXFS_TEST_BOOT_ID");
    /* in the same boot only the broker went down: nothing is put back,
     * even to a checkpoint older than the store's newest state */
    ok(keep_log(dir, true) == 0 && copy_file(late, data) == 0, "power: the files as the child left them");
    st = NULL;
    is(store_open(dir, mapsize(), &st, &err), 0, "power: same boot: it opens");
    if (st) {
        ok(round_is(st, 9), "power: same boot: every job as last written");
        store_close(st);
    }
}

/* journal.c: ops round-trip, and anything malformed is refused whole */
static void test_journal_codec(void)
{
    struct strbuf j = STRBUF_INIT;
    struct journal_op op;
    size_t pos = 0;
    unsigned char key[8] = { 0, 0, 0, 0, 0, 0, 1, 2 };
    is(journal_put(&j, JOURNAL_JOBS, key, 8, "rec", 3), 0, "journal_put");
    is(journal_delete_prefix(&j, JOURNAL_OUTPUT, key, 8), 0, "journal_delete_prefix");
    is(journal_put(&j, 7, key, 8, "x", 1), -EINVAL, "an unknown db is refused");
    is(journal_put(&j, JOURNAL_JOBS, key, 0, "x", 1), -EINVAL, "an empty key is refused");
    is(journal_next(j.buf, j.len, &pos, &op), 1, "first op decodes");
    ok(op.op == 'P' && op.db == JOURNAL_JOBS && op.klen == 8 && op.vlen == 3
       && !memcmp(op.val, "rec", 3), "as the put that was written");
    is(journal_key_id(op.key, op.klen), 0x0102, "its job id is the key's first 8 bytes");
    is(journal_next(j.buf, j.len, &pos, &op), 1, "second op decodes");
    ok(op.op == 'X' && op.db == JOURNAL_OUTPUT && op.klen == 8 && !op.val, "as the delete");
    is(journal_next(j.buf, j.len, &pos, &op), 0, "then the end");
    size_t bad_cut = 0;
    for (size_t cut = 1; cut < j.len && !bad_cut; cut++) {
        pos = 0;
        int rc;
        while ((rc = journal_next(j.buf, cut, &pos, &op)) > 0)
            ;
        if (cut != 19 && rc != -EINVAL)   /* 19: the first op whole */
            bad_cut = cut;
    }
    is(bad_cut, 0, "every cut through an op is refused");
    unsigned char bad[] = { 'P', 0, 0, 100, 0, 0, 0, 0, 'k' };
    pos = 0;
    is(journal_next(bad, sizeof(bad), &pos, &op), -EINVAL, "a key longer than its op is refused");
    strbuf_release(&j);
}

static int log_seen(void *arg, uint64_t seq, const void *data, size_t len)
{
    struct { uint64_t first, last, n; size_t bytes; } *lg = arg;
    (void)data;
    if (!lg->n)
        lg->first = seq;
    lg->last = seq;
    lg->n++;
    lg->bytes += len;
    return 0;
}

static int acct_seen(void *arg, uint64_t end_ms, uint64_t id, const void *data, size_t len)
{
    struct strbuf *sb = arg;
    strbuf_addf(sb, "%llu:%llu:%.*s ", (unsigned long long)end_ms, (unsigned long long)id,
                (int)len, (const char *)data);
    return 0;
}

/* Accounting records: by end time, kept by job deletion, expired by age,
 * replicated. */
static void test_acct(const char *base)
{
    char a[512], b[512];
    struct store *la, *rb;
    struct errmsg err = { "" };
    struct strbuf j = STRBUF_INIT, seen = STRBUF_INIT;
    snprintf(a, sizeof(a), "%s/acct-leader", base);
    snprintf(b, sizeof(b), "%s/acct-replica", base);
    if (store_open(a, mapsize(), &la, &err) || store_open(b, mapsize(), &rb, &err)) {
        ok(0, "open: %s", err.text);
        return;
    }
    store_journal_enable(la);
    store_job_put(la, 7, "record", 6);
    is(store_acct_put(la, 3000, 7, "r7", 2), 0, "a record of job 7, ended at 3 s");
    is(store_acct_put(la, 1000, 9, "r9", 2), 0, "one of job 9, ended at 1 s");
    is(store_acct_put(la, 2000, 8, "r8", 2), 0, "one of job 8, ended at 2 s");
    store_commit(la);
    store_journal_take(la, &j);
    is(store_acct_foreach(la, 0, 0, acct_seen, &seen), 0, "foreach");
    is_str(seen.buf, "1000:9:r9 2000:8:r8 3000:7:r7 ", "... in end order");
    strbuf_reset(&seen);
    store_acct_foreach(la, 2000, 0, acct_seen, &seen);
    is_str(seen.buf, "2000:8:r8 3000:7:r7 ", "... from a time on");
    strbuf_reset(&seen);
    store_acct_foreach(la, 2000, 9, acct_seen, &seen);
    is_str(seen.buf, "3000:7:r7 ", "... from a key on: taken up again after (2000, 8)");
    is(store_apply(rb, j.buf, j.len, NULL, NULL), 0, "the replica applies the journal");
    store_commit(rb);
    strbuf_reset(&seen);
    store_acct_foreach(rb, 0, 0, acct_seen, &seen);
    is_str(seen.buf, "1000:9:r9 2000:8:r8 3000:7:r7 ", "... and has the records");
    is(store_job_delete(la, 7), 0, "purging job 7");
    is(store_acct_expire(la, 2500, 1), 1, "expire before 2.5 s, at most one: one");
    is(store_acct_expire(la, 2500, 10), 1, "again: the other");
    store_commit(la);
    store_journal_take(la, &j);
    strbuf_reset(&seen);
    store_acct_foreach(la, 0, 0, acct_seen, &seen);
    is_str(seen.buf, "3000:7:r7 ", "job 7's record outlives its purge; older ones expired");
    store_apply(rb, j.buf, j.len, NULL, NULL);
    store_commit(rb);
    strbuf_reset(&seen);
    store_acct_foreach(rb, 0, 0, acct_seen, &seen);
    is_str(seen.buf, "3000:7:r7 ", "the replica expired them too");
    strbuf_release(&j);
    strbuf_release(&seen);
    store_close(la);
    store_close(rb);
}

/* A leader's journal applied to a replica makes the same store; a copy in
 * steps does too, even with commits between the steps. */
static void test_replica(const char *base)
{
    char a[512], b[512], c[512];
    struct store *la, *rb, *rc;
    struct errmsg err = { "" };
    struct strbuf j = STRBUF_INIT, copy = STRBUF_INIT;
    snprintf(a, sizeof(a), "%s/leader", base);
    snprintf(b, sizeof(b), "%s/replica", base);
    snprintf(c, sizeof(c), "%s/copy", base);
    if (store_open(a, mapsize(), &la, &err) || store_open(b, mapsize(), &rb, &err)
        || store_open(c, mapsize(), &rc, &err)) {
        ok(0, "open: %s", err.text);
        return;
    }
    store_journal_enable(la);
    for (uint64_t id = 1; id <= 50; id++) {
        store_job_put(la, id, "record", 6);
        store_blob_put(la, id, 'S', "spec", 4);
        store_event_append(la, id, 0, "{\"name\":\"submit\"}", 17);
        store_output_append(la, id, 1, 0, "out\n", 4);
    }
    store_meta_put(la, "mine", "x", 1);
    ok(store_journal_pending(la), "writes not yet committed are pending");
    is(store_commit(la), 0, "leader commits");
    store_journal_take(la, &j);
    ok(j.len > 50 * 4 * 8, "the journal holds the commit's writes (%zu bytes)", j.len);
    is(store_apply(rb, j.buf, j.len, NULL, NULL), 0, "the replica applies it");
    is(store_commit(rb), 0, "and commits");
    ok(job_is(rb, 50, "record"), "a record arrived");
    char buf[16];
    is(store_output_read(rb, 7, 1, 0, buf, sizeof(buf)), 4, "output arrived");
    ok(store_meta_get(rb, "mine", buf, sizeof(buf), NULL) == -ENOENT, "meta is not replicated");

    /* the journal log keeps the last `keep` commits' journals with them */
    for (uint64_t seq = 1; seq <= 5; seq++) {
        store_job_put(la, 100 + seq, "x", 1);
        is(store_journal_log(la, seq, 3), 0, "journal log of commit %llu", (unsigned long long)seq);
        store_commit(la);
        store_journal_take(la, &j);
    }
    struct logged { uint64_t first, last, n; size_t bytes; } lg = { 0, 0, 0, 0 };
    is(store_journal_foreach(la, log_seen, &lg), 0, "journal log foreach");
    ok(lg.first == 3 && lg.last == 5 && lg.n == 3, "it keeps the last 3 (%llu..%llu, %llu)",
       (unsigned long long)lg.first, (unsigned long long)lg.last, (unsigned long long)lg.n);
    ok(lg.bytes == 3 * j.len, "each as its commit's journal");

    /* a failed transaction leaves nothing in the journal */
    store_job_put(la, 99, "gone", 4);
    store_abort(la);
    is(store_commit(la), 0, "an aborted write commits nothing");
    store_journal_take(la, &j);
    is(j.len, 0, "and journals nothing");

    /* a copy in 1 KiB steps, with a delete and a put between steps */
    struct store_dump pos = { 0 };
    int steps = 0, r;
    bool changed = false;
    do {
        strbuf_reset(&copy);
        r = store_dump(la, &pos, &copy, 1024);
        if (r < 0 || store_apply(rc, copy.buf, copy.len, NULL, NULL) < 0) {
            ok(0, "copy step %d: %d", steps, r);
            break;
        }
        steps++;
        if (steps == 3 && !changed) {
            changed = true;
            store_job_delete(la, 2);
            store_job_put(la, 51, "late", 4);
            store_job_put(la, 50, "changed", 7);
            is(store_dump(la, &pos, &copy, 1024), -EBUSY, "no copy step with a write open");
            store_commit(la);
            store_journal_take(la, &j);
            is(store_apply(rc, j.buf, j.len, NULL, NULL), 0, "a commit between steps applies");
        }
    } while (r == 1);
    ok(steps > 3, "the copy took several steps (%d)", steps);
    store_commit(rc);
    ok(!job_is(rc, 2, "record") && store_output_read(rc, 2, 1, 0, buf, sizeof(buf)) == 0,
       "the job deleted meanwhile is gone from the copy, output too");
    ok(job_is(rc, 51, "late") && job_is(rc, 50, "changed") && job_is(rc, 49, "record"),
       "what changed meanwhile is as the leader has it");

    /* wipe; malformed ops change nothing */
    is(store_wipe(rc), 0, "wipe");
    store_commit(rc);
    const void *d;
    size_t len;
    is(store_job_get(rc, 1, &d, &len), -ENOENT, "a wiped replica is empty");
    unsigned char bad[] = { 'P', 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 'v', 'Z' };
    is(store_apply(rc, bad, sizeof(bad), NULL, NULL), -EINVAL, "malformed ops are refused");
    ok(!store_dirty(rc), "without a write");
    strbuf_release(&j);
    strbuf_release(&copy);
    store_close(la);
    store_close(rb);
    store_close(rc);
}

struct counted {
    int n;
    bool in_order;
    uint32_t next;
};

static int count_event(void *arg, uint32_t seq, const char *line, size_t len)
{
    struct counted *c = arg;
    char want[32];
    int n = snprintf(want, sizeof(want), "event %u", seq);
    c->in_order &= seq == c->next && len == (size_t)n && memcmp(line, want, len) == 0;
    c->next = seq + 1;
    c->n++;
    return 0;
}

/* A store of the layout before events moved into jobs, written with LMDB
 * itself: opening it moves them (over more than one batch), and every
 * eventlog, record and blob reads as before. */
static void test_move_events(const char *base)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/old-layout", base);
    mkdir(dir, 0700);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi jobs, events;
    int nev[] = { 3, 25000, 0, 5 };   /* jobs 1-4's events */
    bool good = mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 8) == 0
                && mdb_env_set_mapsize(env, 1ULL << 30) == 0 && mdb_env_open(env, dir, 0, 0600) == 0
                && mdb_txn_begin(env, NULL, 0, &txn) == 0
                && mdb_dbi_open(txn, "jobs", MDB_CREATE, &jobs) == 0
                && mdb_dbi_open(txn, "events", MDB_CREATE, &events) == 0;
    for (uint64_t id = 1; good && id <= 4; id++) {
        unsigned char k[12];
        char line[32];
        put_be(k, id, 8);
        MDB_val key = { 8, k }, val = { 6, (char *)(uintptr_t)"record" };
        good &= mdb_put(txn, jobs, &key, &val, 0) == 0;
        k[8] = 'S';
        key.mv_size = 9;
        val = (MDB_val){ 4, (char *)(uintptr_t)"spec" };
        good &= mdb_put(txn, jobs, &key, &val, 0) == 0;
        for (int seq = 0; good && seq < nev[id - 1]; seq++) {
            put_be(k + 8, (uint64_t)seq, 4);
            key.mv_size = 12;
            val = (MDB_val){ (size_t)snprintf(line, sizeof(line), "event %d", seq), line };
            good &= mdb_put(txn, events, &key, &val, 0) == 0;
        }
    }
    good = good && mdb_txn_commit(txn) == 0;
    mdb_env_close(env);
    ok(good, "move: a store of the old layout, 25,008 events in their own tree");

    struct store *st = NULL;
    struct errmsg err = { "" };
    is(store_open(dir, mapsize(), &st, &err), 0, "move: it opens (%s)", err.text);
    if (!st)
        return;
    bool all = true;
    for (uint64_t id = 1; id <= 4; id++) {
        struct counted c = { .in_order = true };
        all &= store_event_foreach(st, id, count_event, &c) == 0 && c.n == nev[id - 1]
               && c.in_order;
    }
    ok(all, "move: every job's eventlog reads whole and in order");
    struct idlist l = { 0 };
    is(store_job_foreach(st, collect_id, &l), 0, "move: foreach of records");
    ok(l.n == 4 && l.ids[0] == 1 && l.ids[3] == 4, "... sees the 4 records only");
    ok(job_is(st, 2, "record"), "... the records are as they were");
    const void *data;
    size_t len;
    ok(store_blob_get(st, 3, 'S', &data, &len) == 0 && len == 4 && !memcmp(data, "spec", 4),
       "... and so are the blobs");
    is(store_event_append(st, 2, 25000, "event 25000", 11), 0, "move: an event appended");
    is(store_job_delete(st, 1), 0, "... a job deleted");
    is(store_commit(st), 0, "... committed");
    struct counted c = { .in_order = true };
    ok(store_event_foreach(st, 2, count_event, &c) == 0 && c.n == 25001 && c.in_order,
       "... the eventlog grew by it");
    c = (struct counted){ .in_order = true };
    ok(store_event_foreach(st, 1, count_event, &c) == 0 && c.n == 0,
       "... the deleted job's events are gone with it");
    store_close(st);

    /* nothing is left in the old tree, and a second open has nothing to do */
    MDB_stat ms = { 0 };
    good = mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 8) == 0
           && mdb_env_set_mapsize(env, 1ULL << 30) == 0 && mdb_env_open(env, dir, 0, 0600) == 0
           && mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0
           && mdb_dbi_open(txn, "events", 0, &events) == 0 && mdb_stat(txn, events, &ms) == 0;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    ok(good && ms.ms_entries == 0, "move: the old events tree is empty (%zu)", ms.ms_entries);
    is(store_open(dir, mapsize(), &st, &err), 0, "move: it opens again");
    c = (struct counted){ .in_order = true };
    ok(st && store_event_foreach(st, 4, count_event, &c) == 0 && c.n == 5, "... as it was");
    store_close(st);
}

int main(void)
{
    char base[] = "/tmp/fluxfs-test-store-XXXXXX";
    char dir[sizeof(base) + 32];
    struct errmsg err = { "" };
    struct store *st;

    plan(NO_PLAN);
    if (!mkdtemp(base)) {
        printf("Bail out! mkdtemp failed\n");
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s/state", base);   /* store_open creates it */
    test_basic(dir);

    snprintf(dir, sizeof(dir), "%s/model", base);
    if (store_open(dir, mapsize(), &st, &err) != 0) {
        printf("Bail out! open %s: %s\n", dir, err.text);
        return 1;
    }
    test_meta(st);
    test_events(st);
    test_event_stop(st);
    test_output(st);
    test_foreach(st);
    test_nested(st);
    test_delete(st);
    store_close(st);

    snprintf(dir, sizeof(dir), "%s/full", base);
    test_map_full(dir);
    snprintf(dir, sizeof(dir), "%s/crash", base);
    test_fork_crash(dir);
    snprintf(dir, sizeof(dir), "%s/lazy", base);
    test_lazy(dir);
    snprintf(dir, sizeof(dir), "%s/redo", base);
    test_redo(dir);
    snprintf(dir, sizeof(dir), "%s/power", base);
    test_power_loss(dir);
    snprintf(dir, sizeof(dir), "%s/defer", base);
    test_deferred(dir);
    snprintf(dir, sizeof(dir), "%s/replayfull", base);
    test_replay_full(dir);
    snprintf(dir, sizeof(dir), "%s/jlog", base);
    test_redo_jlog(dir);
    test_journal_codec();
    test_replica(base);
    test_acct(base);
    test_move_events(base);

    rm_rf(base);
    return done_testing();
}
