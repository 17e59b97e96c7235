/* redo.c - the store's redo log (redo.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/bigendian.h"
#include "fsd/redo.h"

/* A file: its header in the first page, then records, 8-byte aligned.
 *   header  magic:4 version:4 seq:8 crc:4           (crc of the 16 before)
 *   record  magic:4 crc:4 seq:8 txnid:8 len:4 pad:4 ops
 *           (crc of everything after itself: seq to the end of ops) */
#define REDO_HDR 4096
#define REDO_REC 32
#define REDO_MAGIC_FILE 0x46585248u   /* "FXRH" */
#define REDO_MAGIC_REC 0x46585252u    /* "FXRR" */
#define REDO_VERSION 1

/* The checkpoint record, dir/redo.ckpt: two slots written in turn, so a
 * write torn by a power failure leaves the other one whole.
 *   slot  magic:4 crc:4 seq:8 txnid:8 len:4 pad:4 state  (crc of seq to
 *         the end of state; the newest whole slot counts) */
#define CKPT_SLOT 512
#define CKPT_HDR 32
#define CKPT_SIZE (2 * CKPT_SLOT)
#define REDO_MAGIC_CKPT 0x4658524Bu   /* "FXRK" */

enum redo_state { REDO_FREE, REDO_ACTIVE, REDO_DRAINING };

struct redo_file {
    int fd;
    uint64_t seq;
    size_t pos;              /* where the next record goes */
    enum redo_state state;
    uint64_t rotation;       /* the rotation that made it draining */
};

struct redo {
    struct redo_file f[2];
    int active;
    size_t size;
    bool ready;              /* reset since open: appends allowed */
    uint64_t rotations;
    int dirty[2];            /* appended to since its last sync (atomic) */
    uint64_t syncs;          /* fdatasyncs redo_sync made (atomic; tests) */
    int ckpt_fd;             /* redo.ckpt */
    pthread_mutex_t ckpt_lock;   /* its saves come from two threads */
    uint64_t ckpt_seq, ckpt_txnid;   /* the newest slot's (0: none) */
};

/* CRC-32C (Castagnoli): every record is summed as it is written, and a
 * bitwise loop over a job's few KB of ops was 8% of the broker's time per
 * job here. The CPU's instruction where there is one (SSE 4.2), else a
 * table a byte at a time. */
static uint32_t crc_table[256];

static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
        crc_table[i] = c;
    }
}

static uint32_t crc32c_table(uint32_t crc, const unsigned char *p, size_t len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_table_init);
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t len)
{
    uint64_t c = crc;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

static uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
    crc = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2"))
        return ~crc32c_hw(crc, buf, len);
#endif
    return ~crc32c_table(crc, buf, len);
}

uint32_t redo_crc32c(const void *buf, size_t len)
{
    return crc32c(0, buf, len);
}

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
    const char *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int write_header(struct redo_file *f)
{
    unsigned char h[REDO_HDR] = { 0 };
    put_be(h, REDO_MAGIC_FILE, 4);
    put_be(h + 4, REDO_VERSION, 4);
    put_be(h + 8, f->seq, 8);
    put_be(h + 16, crc32c(0, h, 16), 4);
    return write_all(f->fd, h, sizeof(h), 0);
}

/* The header's sequence number, or 0 if there is no valid header. */
static uint64_t read_header(int fd)
{
    unsigned char h[20];
    if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || get_be(h, 4) != REDO_MAGIC_FILE
        || get_be(h + 4, 4) != REDO_VERSION || get_be(h + 16, 4) != crc32c(0, h, 16))
        return 0;
    return get_be(h + 8, 8);
}

/* Zeros to size: later syncs overwrite blocks, never allocate them. */
static int fill(int fd, size_t size)
{
    static const char zeros[64 * 1024];
    for (size_t off = 0; off < size; off += sizeof(zeros)) {
        size_t n = size - off < sizeof(zeros) ? size - off : sizeof(zeros);
        int rc = write_all(fd, zeros, n, (off_t)off);
        if (rc < 0)
            return rc;
    }
    return fdatasync(fd) < 0 ? -errno : 0;
}

/* dir/name made regular and of size bytes (zeros) unless it is already:
 * 1 if it was made, 0 if it was there, or -errno. */
static int make_file(const char *dir, const char *name, size_t size)
{
    char path[PATH_MAX];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    int rc = fstat(fd, &sb) < 0 ? -errno : S_ISREG(sb.st_mode) ? 0 : -EINVAL;
    if (rc == 0 && (size_t)sb.st_size != size) {
        /* new, or made for another size: nothing in it is trusted */
        rc = ftruncate(fd, 0) < 0 ? -errno : fill(fd, size);
        if (rc < 0 && ftruncate(fd, 0) < 0) {
            /* the space stays taken until the next try */
        }
        if (rc == 0)
            rc = 1;
    }
    close(fd);
    return rc;
}

/* A file made is found after a power failure only once its directory
 * entry is on disk too. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int redo_prepare(const char *dir, size_t file_size)
{
    static const char *const names[] = { "redo.0", "redo.1", "redo.ckpt" };
    int made = 0;
    for (int i = 0; i < 3; i++) {
        int rc = make_file(dir, names[i], i < 2 ? file_size : CKPT_SIZE);
        if (rc < 0)
            return rc;
        made |= rc;
    }
    return made ? sync_dir(dir) : 0;
}

static int open_file(const char *dir, int i, size_t size, struct redo_file *f, struct errmsg *err)
{
    char path[PATH_MAX];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/redo.%d", dir, i);
    f->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (f->fd < 0)
        return errmsg_set(err, -errno, "%s: %s", path, strerror(errno));
    if (fstat(f->fd, &sb) < 0)
        return errmsg_set(err, -errno, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return errmsg_set(err, -EINVAL, "%s: not a regular file", path);
    if ((size_t)sb.st_size != size)
        return errmsg_set(err, -ENOENT, "%s: %zu bytes, not %zu: not made yet", path,
                          (size_t)sb.st_size, size);
    f->seq = read_header(f->fd);
    f->pos = REDO_HDR;
    f->state = REDO_FREE;
    return 0;
}

/* Slot i if whole: its seq (0 if not), txnid and state. */
static uint64_t ckpt_slot(struct redo *r, int i, uint64_t *txnid, void *state, size_t *len)
{
    unsigned char s[CKPT_SLOT];
    if (pread(r->ckpt_fd, s, sizeof(s), (off_t)i * CKPT_SLOT) != (ssize_t)sizeof(s)
        || get_be(s, 4) != REDO_MAGIC_CKPT)
        return 0;
    size_t n = get_be(s + 24, 4);
    if (n > REDO_CKPT_MAX || get_be(s + 4, 4) != crc32c(0, s + 8, CKPT_HDR - 8 + n))
        return 0;
    *txnid = get_be(s + 16, 8);
    if (state)
        memcpy(state, s + CKPT_HDR, n);
    if (len)
        *len = n;
    return get_be(s + 8, 8);
}

/* The checkpoint file: made where a log from before it has none. */
static int open_ckpt(const char *dir, struct redo *r, struct errmsg *err)
{
    char path[PATH_MAX];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/redo.ckpt", dir);
    int rc = make_file(dir, "redo.ckpt", CKPT_SIZE);
    if (rc > 0)
        rc = sync_dir(dir);
    if (rc < 0)
        return errmsg_set(err, rc, "%s: %s", path, strerror(-rc));
    r->ckpt_fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (r->ckpt_fd < 0 || fstat(r->ckpt_fd, &sb) < 0)
        return errmsg_set(err, -errno, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode) || sb.st_size != CKPT_SIZE)
        return errmsg_set(err, -EINVAL, "%s: not a regular file of %d bytes", path, CKPT_SIZE);
    /* saves go on from the newest slot's number; the first save after an
     * open is taken whatever its transaction (a store put back to an older
     * copy starts a lower history) */
    uint64_t t;
    for (int i = 0; i < 2; i++) {
        uint64_t seq = ckpt_slot(r, i, &t, NULL, NULL);
        if (seq > r->ckpt_seq)
            r->ckpt_seq = seq;
    }
    return 0;
}

int redo_open(const char *dir, size_t file_size, struct redo **out, struct errmsg *err)
{
    if (file_size < 2 * REDO_HDR || file_size % REDO_HDR)
        return errmsg_set(err, -EINVAL, "redo log: invalid file size %zu", file_size);
    struct redo *r = calloc(1, sizeof(*r));
    if (!r)
        return errmsg_set(err, -ENOMEM, "out of memory");
    r->f[0].fd = r->f[1].fd = r->ckpt_fd = -1;
    r->size = file_size;
    pthread_mutex_init(&r->ckpt_lock, NULL);
    for (int i = 0; i < 2; i++) {
        int rc = open_file(dir, i, file_size, &r->f[i], err);
        if (rc < 0) {
            redo_close(r);
            return rc;
        }
    }
    int rc = open_ckpt(dir, r, err);
    if (rc < 0) {
        redo_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void redo_close(struct redo *r)
{
    if (!r)
        return;
    for (int i = 0; i < 2; i++)
        if (r->f[i].fd >= 0)
            close(r->f[i].fd);
    if (r->ckpt_fd >= 0)
        close(r->ckpt_fd);
    pthread_mutex_destroy(&r->ckpt_lock);
    free(r);
}

int redo_ckpt_load(struct redo *r, uint64_t *txnid, void *state, size_t *len)
{
    uint64_t t[2] = { 0, 0 }, seq[2];
    pthread_mutex_lock(&r->ckpt_lock);
    for (int i = 0; i < 2; i++)
        seq[i] = ckpt_slot(r, i, &t[i], NULL, NULL);
    int newest = seq[1] > seq[0];
    int rc = -ENOENT;
    if (seq[newest]) {
        ckpt_slot(r, newest, txnid, state, len);
        rc = 0;
    }
    pthread_mutex_unlock(&r->ckpt_lock);
    return rc;
}

int redo_ckpt_save(struct redo *r, uint64_t txnid, const void *state, size_t len)
{
    if (len > REDO_CKPT_MAX)
        return -E2BIG;
    unsigned char s[CKPT_SLOT] = { 0 };
    int rc = 0;
    pthread_mutex_lock(&r->ckpt_lock);
    /* never back: a checkpoint saved on the loop (a synchronous one) may
     * be newer than the background one that finishes after it */
    if (len && txnid <= r->ckpt_txnid)
        goto out;
    uint64_t seq = r->ckpt_seq + 1;
    put_be(s, REDO_MAGIC_CKPT, 4);
    put_be(s + 8, seq, 8);
    put_be(s + 16, txnid, 8);
    put_be(s + 24, len, 4);
    if (len)
        memcpy(s + CKPT_HDR, state, len);   /* an empty one may have no buffer */
    put_be(s + 4, crc32c(0, s + 8, CKPT_HDR - 8 + len), 4);
    if ((rc = write_all(r->ckpt_fd, s, sizeof(s), (off_t)(seq % 2) * CKPT_SLOT)) == 0
        && (rc = fdatasync(r->ckpt_fd) < 0 ? -errno : 0) == 0) {
        r->ckpt_seq = seq;
        r->ckpt_txnid = len ? txnid : 0;
    }
out:
    pthread_mutex_unlock(&r->ckpt_lock);
    return rc;
}

uint64_t redo_ckpt_newest(struct redo *r)
{
    pthread_mutex_lock(&r->ckpt_lock);
    uint64_t t = r->ckpt_txnid;
    pthread_mutex_unlock(&r->ckpt_lock);
    return t;
}

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* One file's records, in order, until one is not valid. */
static int replay_file(struct redo *r, struct redo_file *f, redo_replay_f fn, void *arg)
{
    size_t pos = REDO_HDR;
    char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    if (f->seq == 0)
        return 0;
    while (pos + REDO_REC <= r->size) {
        unsigned char h[REDO_REC];
        if (pread(f->fd, h, sizeof(h), (off_t)pos) != (ssize_t)sizeof(h))
            break;
        size_t len = get_be(h + 24, 4);
        if (get_be(h, 4) != REDO_MAGIC_REC || get_be(h + 8, 8) != f->seq
            || len > r->size - pos - REDO_REC)
            break;
        if (len > cap) {
            char *nb = realloc(buf, len);
            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            buf = nb;
            cap = len;
        }
        if (len && pread(f->fd, buf, len, (off_t)(pos + REDO_REC)) != (ssize_t)len)
            break;
        uint32_t crc = crc32c(crc32c(0, h + 8, REDO_REC - 8), buf, len);
        if (crc != get_be(h + 4, 4))
            break;   /* torn: the commit it held was never acknowledged */
        if ((rc = fn(arg, get_be(h + 16, 8), buf, len)) < 0)
            break;
        pos += align8(REDO_REC + len);
    }
    free(buf);
    return rc;
}

int redo_replay(struct redo *r, redo_replay_f fn, void *arg)
{
    int first = r->f[0].seq <= r->f[1].seq ? 0 : 1;
    int rc = replay_file(r, &r->f[first], fn, arg);
    return rc < 0 ? rc : replay_file(r, &r->f[!first], fn, arg);
}

int redo_reset(struct redo *r)
{
    uint64_t top = r->f[0].seq > r->f[1].seq ? r->f[0].seq : r->f[1].seq;
    for (int i = 0; i < 2; i++) {
        struct redo_file *f = &r->f[i];
        f->seq = top + 1 + (uint64_t)i;
        f->pos = REDO_HDR;
        f->state = i == 1 ? REDO_ACTIVE : REDO_FREE;
        int rc = write_header(f);
        if (rc < 0)
            return rc;
        if (fdatasync(f->fd) < 0)
            return -errno;
    }
    r->active = 1;
    r->ready = true;
    return 0;
}

/* The free file becomes the active one, after everything in the old. */
static int rotate(struct redo *r)
{
    struct redo_file *old = &r->f[r->active], *nw = &r->f[!r->active];
    nw->seq = (old->seq > nw->seq ? old->seq : nw->seq) + 1;
    nw->pos = REDO_HDR;
    int rc = write_header(nw);
    if (rc < 0)
        return rc;
    __atomic_store_n(&r->dirty[!r->active], 1, __ATOMIC_RELEASE);
    old->state = REDO_DRAINING;
    old->rotation = ++r->rotations;
    nw->state = REDO_ACTIVE;
    r->active = !r->active;
    return 0;
}

int redo_append(struct redo *r, uint64_t txnid, const void *ops, size_t len)
{
    size_t need = align8(REDO_REC + len);
    int rotated = 0, rc;
    if (!r->ready)
        return -EINVAL;
    if (len > UINT32_MAX || need > r->size - REDO_HDR)
        return -E2BIG;
    struct redo_file *f = &r->f[r->active];
    if (f->pos + need > r->size) {
        if (r->f[!r->active].state != REDO_FREE)
            return -ENOSPC;
        if ((rc = rotate(r)) < 0)
            return rc;
        rotated = 1;
        f = &r->f[r->active];
    }
    unsigned char h[REDO_REC] = { 0 }, pad[8] = { 0 };
    put_be(h, REDO_MAGIC_REC, 4);
    put_be(h + 8, f->seq, 8);
    put_be(h + 16, txnid, 8);
    put_be(h + 24, len, 4);
    put_be(h + 4, crc32c(crc32c(0, h + 8, REDO_REC - 8), ops, len), 4);
    struct iovec iov[3] = { { h, sizeof(h) }, { (void *)ops, len },
                            { pad, need - REDO_REC - len } };
    size_t done = 0;
    while (done < need) {
        /* the iovecs past what a short write already wrote */
        struct iovec v[3];
        int n = 0;
        size_t skip = done;
        for (int i = 0; i < 3; i++) {
            if (skip >= iov[i].iov_len) {
                skip -= iov[i].iov_len;
                continue;
            }
            v[n].iov_base = (char *)iov[i].iov_base + skip;
            v[n++].iov_len = iov[i].iov_len - skip;
            skip = 0;
        }
        ssize_t w = pwritev(f->fd, v, n, (off_t)(f->pos + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        done += (size_t)w;
    }
    f->pos += need;
    __atomic_store_n(&r->dirty[r->active], 1, __ATOMIC_RELEASE);
    return rotated;
}

bool redo_rotate(struct redo *r)
{
    if (!r->ready || r->f[r->active].pos == REDO_HDR || r->f[!r->active].state != REDO_FREE)
        return false;
    return rotate(r) == 0;
}

uint64_t redo_rotations(const struct redo *r)
{
    return r->rotations;
}

void redo_checkpointed(struct redo *r, uint64_t upto)
{
    for (int i = 0; i < 2; i++)
        if (r->f[i].state == REDO_DRAINING && r->f[i].rotation <= upto) {
            r->f[i].state = REDO_FREE;
            /* what it holds LMDB now has on disk: no sync needed for it. A
             * lazy commit's record (a job's end) left unsynced there used
             * to cost the next submission a second fdatasync, 0.4-1.4 ms */
            __atomic_store_n(&r->dirty[i], 0, __ATOMIC_RELEASE);
        }
}

int redo_sync(struct redo *r)
{
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        if (!__atomic_exchange_n(&r->dirty[i], 0, __ATOMIC_ACQ_REL))
            continue;
        if (fdatasync(r->f[i].fd) < 0) {
            rc = -errno;
            __atomic_store_n(&r->dirty[i], 1, __ATOMIC_RELEASE);
        } else
            __atomic_add_fetch(&r->syncs, 1, __ATOMIC_RELAXED);
    }
    return rc;
}

uint64_t redo_syncs(const struct redo *r)
{
    return __atomic_load_n(&r->syncs, __ATOMIC_RELAXED);
}

size_t redo_used(const struct redo *r)
{
    return r->f[r->active].pos - REDO_HDR;
}
