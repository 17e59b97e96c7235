/* journal.c - a store transaction's writes as bytes (journal.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/bigendian.h"
#include "fsd/journal.h"

/* ndb: JOURNAL_NDB for what goes between brokers, JOURNAL_NLOCAL for a
 * broker's own redo log */
static bool valid(int db, int ndb, size_t klen)
{
    return db >= 0 && db < ndb && klen > 0 && klen <= JOURNAL_KEY_MAX;
}

static int put_op(struct strbuf *j, int db, int ndb, const void *key, size_t klen,
                  const void *val, size_t vlen)
{
    unsigned char head[8] = { 'P', (unsigned char)db };
    if (!valid(db, ndb, klen) || vlen > JOURNAL_VAL_MAX || (vlen && !val))
        return -EINVAL;
    put_be(head + 2, klen, 2);
    put_be(head + 4, vlen, 4);
    if (strbuf_grow(j, sizeof(head) + klen + vlen) < 0)
        return -ENOMEM;
    strbuf_add(j, head, sizeof(head));
    strbuf_add(j, key, klen);
    if (vlen)
        strbuf_add(j, val, vlen);
    return 0;
}

int journal_put(struct strbuf *j, int db, const void *key, size_t klen, const void *val,
                size_t vlen)
{
    return put_op(j, db, JOURNAL_NDB, key, klen, val, vlen);
}

int journal_put_local(struct strbuf *j, int db, const void *key, size_t klen, const void *val,
                      size_t vlen)
{
    return put_op(j, db, JOURNAL_NLOCAL, key, klen, val, vlen);
}

static int delete_op(struct strbuf *j, int db, int ndb, const void *prefix, size_t plen)
{
    unsigned char head[4] = { 'X', (unsigned char)db };
    if (!valid(db, ndb, plen))
        return -EINVAL;
    put_be(head + 2, plen, 2);
    if (strbuf_grow(j, sizeof(head) + plen) < 0)
        return -ENOMEM;
    strbuf_add(j, head, sizeof(head));
    strbuf_add(j, prefix, plen);
    return 0;
}

int journal_delete_prefix(struct strbuf *j, int db, const void *prefix, size_t plen)
{
    return delete_op(j, db, JOURNAL_NDB, prefix, plen);
}

int journal_delete_local(struct strbuf *j, int db, const void *prefix, size_t plen)
{
    return delete_op(j, db, JOURNAL_NLOCAL, prefix, plen);
}

static int next_op(const void *buf, size_t len, int ndb, size_t *pos, struct journal_op *op)
{
    const unsigned char *p = (const unsigned char *)buf + *pos;
    size_t left = len - *pos;
    if (*pos >= len)
        return 0;
    if (left < 4 || (p[0] != 'P' && p[0] != 'X'))
        return -EINVAL;
    size_t head = p[0] == 'P' ? 8 : 4;
    if (left < head)
        return -EINVAL;
    size_t klen = get_be(p + 2, 2);
    size_t vlen = p[0] == 'P' ? get_be(p + 4, 4) : 0;
    if (!valid(p[1], ndb, klen) || vlen > JOURNAL_VAL_MAX || left - head < klen
        || left - head - klen < vlen)
        return -EINVAL;
    op->op = (char)p[0];
    op->db = p[1];
    op->key = p + head;
    op->klen = klen;
    op->val = vlen ? p + head + klen : NULL;
    op->vlen = vlen;
    *pos += head + klen + vlen;
    return 1;
}

int journal_next(const void *buf, size_t len, size_t *pos, struct journal_op *op)
{
    return next_op(buf, len, JOURNAL_NDB, pos, op);
}

int journal_next_local(const void *buf, size_t len, size_t *pos, struct journal_op *op)
{
    return next_op(buf, len, JOURNAL_NLOCAL, pos, op);
}

uint64_t journal_key_id(const void *key, size_t klen)
{
    return klen >= 8 ? get_be(key, 8) : 0;
}
