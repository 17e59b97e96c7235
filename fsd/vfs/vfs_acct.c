/* vfs_acct.c - accounting/: the records the job manager keeps of ended jobs
 * (fsd/acct.h), usage totals by user and bank, the bank tree and its fair
 * share; doc/tree.md "accounting/". Each reader gets their own records
 * (root and the instance owner every one): jobs a slice at a time as it is
 * read (vfs_stream_read: a year of records is never held at once), the
 * others made when opened from totals summed over the walk. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsd/vfs/vfs_private.h"

static const struct {
    const char *name;
    fuse_ino_t ino;
} acct_entries[] = {
    { "jobs", VFS_I_ACCT_JOBS },
    { "usage", VFS_I_ACCT_USAGE },
    { "usage.csv", VFS_I_ACCT_CSV },
    { "banks", VFS_I_ACCT_BANKS },
    { "fairshare", VFS_I_ACCT_FS },
};
#define NACCT (sizeof(acct_entries) / sizeof(acct_entries[0]))

void vfs_acct_lookup(struct vfs *v, fuse_req_t req, const char *name)
{
    for (size_t i = 0; i < NACCT; i++) {
        if (!strcmp(name, acct_entries[i].name)) {
            struct stat st;
            vfs_fixed_stat_as(v, acct_entries[i].ino, fuse_req_ctx(req)->uid, &st);
            vfs_reply_entry(req, &st, 0);   /* sizes are per reader */
            return;
        }
    }
    fuse_reply_err(req, ENOENT);
}

void vfs_acct_readdir(struct vfs *v, struct vfs_dirbuf *db, off_t off)
{
    if (off < 1 && !vfs_dirbuf_add(db, ".", VFS_I_ACCT, S_IFDIR, 1))
        return;
    if (off < 2 && !vfs_dirbuf_add(db, "..", VFS_I_ROOT, S_IFDIR, 2))
        return;
    for (size_t i = off > 2 ? off - 2 : 0; i < NACCT; i++)
        if (!vfs_dirbuf_add(db, acct_entries[i].name, acct_entries[i].ino, S_IFREG, i + 3))
            return;
}

struct acct_fill {
    struct vfs_fh *fh;
    size_t want;
};

static int acct_line(void *arg, uint64_t end_ms, uint64_t id, const void *data, size_t len)
{
    struct acct_fill *f = arg;
    struct vfs_fh *fh = f->fh;
    /* the next walk goes on after this record */
    fh->list_next = id == UINT64_MAX ? end_ms + 1 : end_ms;
    fh->list_next_id = id == UINT64_MAX ? 0 : id + 1;
    if (strbuf_add(&fh->data, data, len) < 0 || strbuf_addstr(&fh->data, "\n") < 0)
        return -ENOMEM;
    return fh->data.len >= f->want;   /* 1: enough for this read */
}

int vfs_acct_jobs_fill(struct vfs *v, struct vfs_fh *fh, size_t want)
{
    struct acct_fill f = { .fh = fh, .want = want };
    long uid = fh->uid == 0 || fh->uid == v->owner ? -1 : (long)fh->uid;
    int rc = jobmgr_acct_foreach_from(v->m, fh->list_next, fh->list_next_id, uid, acct_line, &f);
    if (rc == 0)
        fh->list_end = true;   /* walked to the last record */
    return rc < 0 ? rc : 0;
}

/* A CSV field, quoted when it holds a comma, a quote or a line break (a
 * bank is a user's text). */
static void csv_field(struct strbuf *sb, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        strbuf_addstr(sb, s);
        return;
    }
    strbuf_addstr(sb, "\"");
    for (; *s; s++) {
        if (*s == '"')
            strbuf_addstr(sb, "\"");   /* a quote is written twice */
        strbuf_add(sb, s, 1);
    }
    strbuf_addstr(sb, "\"");
}

/* One JSON value a line. */
static int json_lines(struct strbuf *sb, json_t *array)
{
    json_t *e;
    size_t i;
    json_array_foreach(array, i, e) {
        char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        if (!s || strbuf_addstr(sb, s) < 0 || strbuf_addstr(sb, "\n") < 0) {
            free(s);
            return -ENOMEM;
        }
        free(s);
    }
    return 0;
}

int vfs_acct_render(struct vfs *v, fuse_ino_t ino, uid_t uid, struct strbuf *sb)
{
    bool all = uid == 0 || uid == v->owner;
    if (ino == VFS_I_ACCT_BANKS) {
        /* shares are no secret (sshare shows them all), as Slurm's default */
        return strbuf_addf(sb, "%s\n", jobmgr_banks_text(v->m));
    }
    if (ino == VFS_I_ACCT_FS) {
        /* a user sees the banks and their own rows; root and the owner all */
        json_t *rows = jobmgr_fairshare_report(v->m, -1), *row;
        json_t *mine = all ? json_incref(rows) : json_array();
        size_t i;
        json_array_foreach(all ? NULL : rows, i, row) {
            json_t *who = json_object_get(row, "userid");
            if (!who || json_integer_value(who) == (json_int_t)uid)
                json_array_append(mine, row);
        }
        json_decref(rows);
        rows = mine;
        int rc = rows ? json_lines(sb, rows) : -ENOMEM;
        json_decref(rows);
        return rc;
    }
    return -EISDIR;
}

/* usage (JSON lines) or usage.csv of totals (common/usage.h) */
static void render_usage(fuse_ino_t ino, json_t *usage, struct strbuf *sb)
{
    json_t *u;
    size_t i;
    if (ino == VFS_I_ACCT_CSV)
        strbuf_addstr(sb, "userid,user,bank,jobs,completed,failed,core_hours,node_hours,"
                          "gpu_hours\n");
    json_array_foreach(usage, i, u) {
        if (ino == VFS_I_ACCT_USAGE) {
            char *s = json_dumps(u, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (s) {
                strbuf_addstr(sb, s);
                strbuf_addstr(sb, "\n");
            }
            free(s);
            continue;
        }
        int id = (int)json_integer_value(json_object_get(u, "userid"));
        const char *name = json_string_value(json_object_get(u, "user"));
        const char *bank = json_string_value(json_object_get(u, "bank"));
        strbuf_addf(sb, "%d,", id);
        csv_field(sb, name ? name : "");
        strbuf_addstr(sb, ",");
        csv_field(sb, bank ? bank : "");
        strbuf_addf(sb, ",%lld,%lld,%lld,%.4f,%.4f,%.4f\n",
                    (long long)json_integer_value(json_object_get(u, "jobs")),
                    (long long)json_integer_value(json_object_get(u, "completed")),
                    (long long)json_integer_value(json_object_get(u, "failed")),
                    json_number_value(json_object_get(u, "core_seconds")) / 3600,
                    json_number_value(json_object_get(u, "node_seconds")) / 3600,
                    json_number_value(json_object_get(u, "gpu_seconds")) / 3600);
    }
}

struct usage_open {
    fuse_req_t req;
    struct fuse_file_info fi;
    struct vfs_fh *fh;
};

static void usage_ready(void *arg, int rc, json_t *totals)
{
    struct usage_open *o = arg;
    if (rc == 0)
        render_usage(o->fh->ino, totals, &o->fh->data);
    if (rc < 0) {
        fuse_reply_err(o->req, -rc);
        vfs_fh_destroy(o->fh);
    } else
        vfs_reply_open(o->req, &o->fi, o->fh, true);
    free(o);
}

void vfs_acct_usage_open(struct vfs *v, fuse_req_t req, fuse_ino_t ino,
                         struct fuse_file_info *fi)
{
    if ((fi->flags & O_ACCMODE) != O_RDONLY) {
        fuse_reply_err(req, EACCES);
        return;
    }
    struct usage_open *o = calloc(1, sizeof(*o));
    struct vfs_fh *fh = o ? vfs_fh_create(req, FH_SNAPSHOT, ino) : NULL;
    if (!fh) {
        free(o);
        fuse_reply_err(req, ENOMEM);
        return;
    }
    o->req = req;
    o->fi = *fi;   /* the kernel's request lives on; its fi is ours to keep */
    o->fh = fh;
    uid_t uid = fh->uid;
    int rc = jobmgr_acct_usage(v->m, uid == 0 || uid == v->owner ? -1 : (long)uid, usage_ready, o);
    if (rc < 0) {
        vfs_fh_destroy(fh);
        free(o);
        fuse_reply_err(req, -rc);
    }
}
