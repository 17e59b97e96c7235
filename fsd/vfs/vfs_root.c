/* vfs_root.c - the instance root: queue/ jobs/ resources/ status README. */
#include <errno.h>
#include <string.h>

#include "fsd/vfs/vfs_private.h"

#define TREE_VERSION 1

static const char readme_text[] =
    "This is a fluxfs instance: a workload manager you use with files.\n"
    "\n"
    "  queue/      submit: cp job.yaml queue/   (a Flux jobspec, YAML or JSON)\n"
    "              or open queue/new read-write, write the jobspec, read the job id\n"
    "              queue/errors: why your last submissions were rejected\n"
    "  jobs/<id>/  one directory per job: state, eventlog, jobspec, R, stdout,\n"
    "              stderr, result, wait (blocks until the job ends), ctl\n"
    "              echo cancel > jobs/<id>/ctl   (also: signal N, urgency N)\n"
    "  resources/  nodes, cores and gpus, free or held by which job\n"
    "  status      instance summary: jobs by state, cores in use, uptime\n"
    "\n"
    "Full reference: doc/tree.md in the fluxfs sources (tree version 1).\n";

struct fixed_entry {
    const char *name;
    fuse_ino_t ino;
};

static const struct fixed_entry root_entries[] = {
    { "README", VFS_I_README },
    { "jobs", VFS_I_JOBS },
    { "queue", VFS_I_QUEUE },
    { "resources", VFS_I_RESOURCES },
    { "status", VFS_I_STATUS },
};

#define NROOT (sizeof(root_entries) / sizeof(root_entries[0]))

static void render_status(struct vfs *v, struct strbuf *sb)
{
    struct jobmgr *m = v->m;
    const struct rgraph *g = jobmgr_rgraph(m);
    const struct sched *s = jobmgr_sched(m);
    size_t total = 0;
    for (int i = 0; i < JOB_NSTATES; i++)
        total += jobmgr_count(m, i);
    strbuf_addf(sb, "tree-version: %d\n", TREE_VERSION);
    strbuf_addf(sb, "uptime: %.1f\n", ev_now(v->loop) - jobmgr_start_time(m));
    strbuf_addf(sb, "nodes: %d\n", rgraph_nnodes(g));
    strbuf_addf(sb, "cores: %d\n", rgraph_total_cores(g));
    strbuf_addf(sb, "cores-free: %d\n", sched_free_cores(s));
    strbuf_addf(sb, "gpus: %d\n", rgraph_total_gpus(g));
    strbuf_addf(sb, "jobs: %zu\n", total);
    for (int i = 0; i < JOB_NSTATES; i++) {
        char key[16];
        const char *name = job_state_name(i);
        size_t k;
        for (k = 0; name[k] && k < sizeof(key) - 1; k++)
            key[k] = (char)(name[k] | 0x20);   /* lowercase keys */
        key[k] = '\0';
        strbuf_addf(sb, "%s: %zu\n", key, jobmgr_count(m, i));
    }
}

int vfs_fixed_render(struct vfs *v, fuse_ino_t ino, uid_t uid, struct strbuf *sb)
{
    switch (ino) {
    case VFS_I_README:
        return strbuf_addstr(sb, readme_text);
    case VFS_I_STATUS:
        render_status(v, sb);
        return 0;
    case VFS_I_QERRORS:
        return vfs_errlog_render(v, uid, sb);
    case VFS_I_RES_R:
    case VFS_I_RES_SUMMARY:
        return vfs_res_render(v, ino, sb);
    }
    return -EISDIR;
}

int vfs_fixed_stat(struct vfs *v, fuse_ino_t ino, struct stat *st)
{
    struct strbuf sb = STRBUF_INIT;
    double now = ev_now(v->loop);

    switch (ino) {
    case VFS_I_ROOT:
    case VFS_I_JOBS:
    case VFS_I_RESOURCES:
        vfs_stat_dir(v, st, ino, v->owner, 0755, v->t_mount);
        return 0;
    case VFS_I_QUEUE:
        /* anyone may submit; sticky like /tmp so scratch files stay private */
        vfs_stat_dir(v, st, ino, v->owner, 01777, v->t_mount);
        return 0;
    case VFS_I_QNEW:
        vfs_stat_file(v, st, ino, v->owner, 0666, 0, v->t_mount);
        return 0;
    case VFS_I_README:
    case VFS_I_STATUS:
    case VFS_I_QERRORS:
    case VFS_I_RES_R:
    case VFS_I_RES_SUMMARY:
        /* size must match what a read returns, so render it */
        vfs_fixed_render(v, ino, v->owner, &sb);
        vfs_stat_file(v, st, ino, v->owner, 0444, sb.len,
                      ino == VFS_I_STATUS ? now : v->t_mount);
        strbuf_release(&sb);
        return 0;
    }
    return -ENOENT;
}

void vfs_root_lookup(struct vfs *v, fuse_req_t req, const char *name)
{
    for (size_t i = 0; i < NROOT; i++) {
        if (strcmp(name, root_entries[i].name) == 0) {
            struct stat st;
            vfs_fixed_stat(v, root_entries[i].ino, &st);
            vfs_reply_entry(req, &st, VFS_TTL_FIXED);
            return;
        }
    }
    fuse_reply_err(req, ENOENT);
}

void vfs_root_readdir(struct vfs *v, struct vfs_dirbuf *db, off_t off)
{
    if (off < 1 && !vfs_dirbuf_add(db, ".", VFS_I_ROOT, S_IFDIR, 1))
        return;
    if (off < 2 && !vfs_dirbuf_add(db, "..", VFS_I_ROOT, S_IFDIR, 2))
        return;
    for (size_t i = off > 2 ? off - 2 : 0; i < NROOT; i++) {
        struct stat st;
        vfs_fixed_stat(v, root_entries[i].ino, &st);
        if (!vfs_dirbuf_add(db, root_entries[i].name, st.st_ino, st.st_mode, i + 3))
            return;
    }
}
