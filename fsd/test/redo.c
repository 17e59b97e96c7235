/* test/redo.c - unit tests for the store's redo log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tap.h"
#include "fsd/redo.h"

#define SIZE (64 * 1024)

struct seen {
    int n;
    uint64_t txn[4096];
    size_t len[4096];
    bool bytes_ok;
};

/* Each record's ops are its txnid's low byte, len times. */
static int collect(void *arg, uint64_t txnid, const void *ops, size_t len)
{
    struct seen *s = arg;
    const unsigned char *p = ops;
    for (size_t i = 0; i < len; i++)
        if (p[i] != (unsigned char)txnid)
            s->bytes_ok = false;
    if (s->n < 4096) {
        s->txn[s->n] = txnid;
        s->len[s->n] = len;
    }
    s->n++;
    return 0;
}

static int append(struct redo *r, uint64_t txnid, size_t len)
{
    unsigned char *buf = malloc(len ? len : 1);
    memset(buf, (int)(unsigned char)txnid, len);
    int rc = redo_append(r, txnid, buf, len);
    free(buf);
    return rc;
}

static struct redo *reopen(struct redo *r, const char *dir, struct seen *s)
{
    struct errmsg err = { "" };
    redo_close(r);
    r = NULL;
    if (redo_open(dir, SIZE, &r, &err) < 0) {
        diag("redo_open: %s", err.text);
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    s->bytes_ok = true;
    redo_replay(r, collect, s);
    return r;
}

int main(void)
{
    char dir[] = "/tmp/fluxfs-test-redo.XXXXXX";
    struct errmsg err = { "" };
    struct redo *r = NULL;
    struct seen s;
    if (!mkdtemp(dir))
        return 1;

    is(redo_crc32c("123456789", 9), 0xE3069283u, "CRC-32C of its check string");
    is(redo_crc32c("", 0), 0u, "... and of nothing");
    ok(redo_open(dir, 1000, &r, &err) < 0 && strstr(err.text, "size"), "a size not in pages is refused");
    is(redo_open(dir, SIZE, &r, &err), -ENOENT, "its files are not there yet: -ENOENT");
    is(redo_prepare(dir, SIZE), 0, "made");
    err.text[0] = '\0';
    ok(redo_open(dir, SIZE, &r, &err) == 0, "opened%s", err.text);
    char path[256];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/redo.1", dir);
    ok(stat(path, &sb) == 0 && sb.st_size == SIZE && (sb.st_mode & 0777) == 0600,
       "its files are made at their full size, 0600");
    is(redo_prepare(dir, SIZE), 0, "making them again changes nothing");
    is(append(r, 1, 10), -EINVAL, "no append before a reset (after the replay)");
    memset(&s, 0, sizeof(s));
    is(redo_replay(r, collect, &s), 0, "a new log replays");
    is(s.n, 0, "... nothing");
    is(redo_reset(r), 0, "reset");

    /* appends come back in order, with their bytes */
    for (int i = 1; i <= 5; i++)
        is(append(r, (uint64_t)i, (size_t)(100 * i)), 0, "append %d", i);
    is(redo_used(r), (size_t)((32 + 104) + (32 + 200) + (32 + 304) + (32 + 400) + (32 + 504)),
       "used: headers and 8-byte aligned ops");
    is(redo_sync(r), 0, "synced");
    r = reopen(r, dir, &s);
    is(s.n, 5, "reopened: 5 records replayed");
    ok(s.bytes_ok && s.txn[0] == 1 && s.txn[4] == 5 && s.len[2] == 300, "in order, whole");

    /* a reset forgets them all */
    is(redo_reset(r), 0, "reset");
    r = reopen(r, dir, &s);
    is(s.n, 0, "after a reset nothing is replayed");
    redo_reset(r);

    /* a torn record ends the replay: what follows it is not trusted */
    append(r, 10, 50);
    append(r, 11, 60);
    append(r, 12, 70);
    int fd = open(path, O_RDWR);
    /* the second record's ops: header 4096, first record 32 + 56 */
    ok(fd >= 0 && pwrite(fd, "X", 1, 4096 + 88 + 32 + 5) == 1, "a byte of record 2 flipped");
    close(fd);
    r = reopen(r, dir, &s);
    is(s.n, 1, "a torn record ends the replay: only record 1");
    redo_reset(r);

    /* rotation: the active file fills, the free one takes over; then, while
     * it drains, a full file says -ENOSPC until it is checkpointed */
    int rot = 0, nospc = 0, i;
    uint64_t t = 100;
    for (i = 0; i < 2000 && !nospc; i++) {
        int rc = append(r, t, 1000);
        if (rc == 1)
            rot++;
        else if (rc == -ENOSPC)
            nospc = 1;
        else if (rc != 0)
            break;
        if (rc >= 0)
            t++;
    }
    is(rot, 1, "one rotation when the active file filled");
    ok(nospc, "then -ENOSPC: the other file still drains");
    ok(redo_rotations(r) == 1, "one rotation counted");
    ok(!redo_rotate(r), "no rotation on request either while it drains");
    redo_checkpointed(r, 0);
    is(append(r, t, 1000), -ENOSPC, "a checkpoint begun before the rotation frees nothing");
    redo_checkpointed(r, redo_rotations(r));
    is(append(r, t, 1000), 1, "after the checkpoint, the drained file takes over");
    t++;
    is(append(r, t++, 1000), 0, "and takes more");
    uint64_t last = t - 1;
    redo_sync(r);
    r = reopen(r, dir, &s);
    ok(s.n > 2 && s.txn[s.n - 1] == last && s.bytes_ok, "replay ends with the newest record (%d)", s.n);
    bool ordered = true;
    for (int k = 1; k < s.n && k < 4096; k++)
        if (s.txn[k] <= s.txn[k - 1])
            ordered = false;
    ok(ordered, "older file first: transaction ids only grow");
    redo_reset(r);

    /* what a sync costs: a file a checkpoint freed is not synced again,
     * one still draining is */
    append(r, 20, 10);
    redo_sync(r);
    append(r, 21, 10);          /* a lazy commit, left unsynced */
    ok(redo_rotate(r), "the periodic rotation");
    redo_checkpointed(r, redo_rotations(r));
    append(r, 22, 10);
    uint64_t syncs = redo_syncs(r);
    is(redo_sync(r), 0, "synced after a checkpoint");
    ok(redo_syncs(r) - syncs == 1, "one fdatasync: the checkpointed file's record needs none (%d)",
       (int)(redo_syncs(r) - syncs));
    append(r, 23, 10);          /* unsynced again, and not checkpointed */
    ok(redo_rotate(r), "rotated again");
    append(r, 24, 10);
    syncs = redo_syncs(r);
    redo_sync(r);
    ok(redo_syncs(r) - syncs == 2, "both files synced while the older still drains (%d)",
       (int)(redo_syncs(r) - syncs));
    syncs = redo_syncs(r);
    redo_sync(r);
    ok(redo_syncs(r) == syncs, "nothing appended since: no fdatasync");
    r = reopen(r, dir, &s);
    /* 20 and 21 went with the file the checkpoint freed, now reused */
    ok(s.n == 3 && s.txn[0] == 22 && s.txn[2] == 24, "the three since the checkpoint replayed, in order (%d)",
       s.n);
    redo_reset(r);

    /* periodic rotation, and sizes */
    ok(!redo_rotate(r), "nothing to rotate in an empty file");
    append(r, 7, 10);
    ok(redo_rotate(r), "rotated on request");
    is(redo_used(r), (size_t)0, "the new active file is empty");
    is(append(r, 8, SIZE), -E2BIG, "a record larger than a file: -E2BIG");
    is(append(r, 9, 0), 0, "an empty record is fine");

    /* the checkpoint record: saved, found again after a reopen; the newest
     * of its two slots counts, the other is kept when a write is torn */
    uint64_t ct = 0;
    char cs[REDO_CKPT_MAX];
    size_t cl = 0;
    is(redo_ckpt_load(r, &ct, cs, &cl), -ENOENT, "ckpt: none saved yet");
    is(redo_ckpt_save(r, 100, "state-100", 9), 0, "ckpt: saved at 100");
    is(redo_ckpt_save(r, 90, "state-90", 8), 0, "ckpt: an older one ...");
    ok(redo_ckpt_load(r, &ct, cs, &cl) == 0 && ct == 100 && cl == 9 && !memcmp(cs, "state-100", 9),
       "ckpt: ... is not written: 100 stays");
    ok(redo_ckpt_newest(r) == 100, "ckpt: the newest saved is 100");
    is(redo_ckpt_save(r, 200, "state-200", 9), 0, "ckpt: saved at 200");
    r = reopen(r, dir, &s);
    ok(redo_ckpt_load(r, &ct, cs, &cl) == 0 && ct == 200 && !memcmp(cs, "state-200", 9),
       "ckpt: reopened, 200 is the newest");
    is(redo_ckpt_save(r, 150, "state-150", 9), 0, "ckpt: after an open, a lower one ...");
    ok(redo_ckpt_load(r, &ct, cs, &cl) == 0 && ct == 150, "ckpt: ... is taken (a store put back)");
    char cpath[256];
    snprintf(cpath, sizeof(cpath), "%s/redo.ckpt", dir);
    int cfd = open(cpath, O_RDWR);
    /* 150 went into the slot after 200's: flip a byte of its state */
    uint64_t slot150 = 0;
    for (int i = 0; i < 2 && cfd >= 0; i++) {
        char b[64];
        if (pread(cfd, b, sizeof(b), i * 512) == (ssize_t)sizeof(b) && !memcmp(b + 32, "state-150", 9))
            slot150 = (uint64_t)i * 512 + 1;
    }
    ok(slot150 && pwrite(cfd, "X", 1, (off_t)(slot150 - 1) + 35) == 1, "ckpt: the newest slot torn");
    if (cfd >= 0)
        close(cfd);
    ok(redo_ckpt_load(r, &ct, cs, &cl) == 0 && ct == 200, "ckpt: the other one counts: 200");
    ok(redo_ckpt_save(r, 0, NULL, 0) == 0 && redo_ckpt_load(r, &ct, cs, &cl) == 0 && cl == 0,
       "ckpt: an empty one says there is none");
    ok(redo_ckpt_save(r, 5, "s5", 2) == 0 && redo_ckpt_load(r, &ct, cs, &cl) == 0 && ct == 5,
       "ckpt: after an empty one any is taken");

    /* a stale file of another size is remade */
    redo_close(r);
    r = NULL;
    ok(truncate(path, SIZE / 2) == 0, "one file shrunk");
    is(redo_open(dir, SIZE, &r, &err), -ENOENT, "a file of another size is not opened");
    ok(redo_prepare(dir, SIZE) == 0 && stat(path, &sb) == 0 && sb.st_size == SIZE,
       "it is remade at its size");
    ok(redo_open(dir, SIZE, &r, &err) == 0, "and opens");
    redo_close(r);

    /* what is there instead of a file is refused, never followed or read */
    char other[300];
    snprintf(other, sizeof(other), "%s/elsewhere", dir);
    ok(unlink(path) == 0 && symlink(other, path) == 0, "redo.1 made a symlink");
    ok(redo_prepare(dir, SIZE) < 0 && access(other, F_OK) != 0, "a symlink is not followed");
    ok(unlink(path) == 0 && mkfifo(path, 0600) == 0, "redo.1 made a FIFO");
    is(redo_prepare(dir, SIZE), -EINVAL, "a FIFO is refused");
    is(redo_open(dir, SIZE, &r, &err), -EINVAL, "and not opened");

    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
