/* imp_msg.h - the wire between a broker and its privileged helper
 * (fluxfs-imp, exec/imp.c): frames on a stream socket, each an 8-byte
 * header (op, body length) then the body; descriptors ride with the
 * header (SCM_RIGHTS). Bodies are built and read with bounds checked on
 * every field: the helper trusts nothing about their shape.
 *
 * Body fields: u32, u64, i32 little-endian as the machine's (both ends are
 * the same machine); a string is a u32 length (its NUL included) and the
 * bytes, NUL last; a string list is a u32 count and that many strings.
 */
#ifndef FLUXFS_IMP_MSG_H
#define FLUXFS_IMP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    IMP_INIT = 1,      /* str token                                      -> 0 */
    IMP_SPAWN,         /* u32 uid, u64 job, u32 flags, i32 deathsig, str cwd,
                          str path, str out, str err, str in, strv argv, strv env,
                          u32 n, i32 cpus[n];
                          fds stdin, stdout, stderr                     -> pid */
    IMP_SIGNAL,        /* i32 pid, i32 sig                               -> 0 */
    IMP_CONTAIN,       /* u64 job, str idstr                             -> 0 */
    IMP_CPUS,          /* u64 job, u32 n, i32 cpus[n]                    -> 0 */
    IMP_RELEASE,       /* u64 job, u32 forget      -> 1 removed, 0 still dying */
    IMP_KILL_GROUP,    /* str idstr                         -> groups killed */
    IMP_KILL_ORPHANS,  /* str idstr                      -> processes killed */
    IMP_GIVE,          /* u32 uid, u32 gid, str name; fd dir             -> 0 */
    IMP_DETACH,        /* str name; fd dir                               -> 0 */
    IMP_UNMOUNT,       /* (nothing): the instance's own mount point      -> 0 */
    IMP_CWD,           /* u32 pid                      -> 0, reason: the path */
    IMP_HOLDS,         /* u32 pid, u64 ino, str name, u32 flags       -> 1 or 0,
                          with IMP_HOLDS_CWD reason: the path, or "!errno" */
    IMP_MEMORY,        /* u64 job, u64 bytes                             -> 0 */
    IMP_REPLY = 100,   /* i32 rc (>= 0 or -errno), str reason (or an answer) */
};

#define IMP_SPAWN_SESSION 1u   /* setsid rather than a process group */
#define IMP_HOLDS_PARENT 1u    /* does its parent hold the file too? */
#define IMP_HOLDS_CWD 2u       /* and the pid's directory, in the same answer:
                                  one round trip per cp-style submission */

#define IMP_BODY_MAX (8u << 20)  /* execve takes less anyway (ARG_MAX) */
#define IMP_FDS_MAX 4

struct impmsg {
    char *buf;
    size_t len, cap, pos;
    bool bad;          /* a put failed (memory) or a get ran past the end */
};

void impmsg_init(struct impmsg *m);
void impmsg_free(struct impmsg *m);
void impmsg_put_u32(struct impmsg *m, uint32_t v);
void impmsg_put_u64(struct impmsg *m, uint64_t v);
void impmsg_put_str(struct impmsg *m, const char *s);   /* NULL as "" */
void impmsg_put_strv(struct impmsg *m, char *const *v);
/* Room for n more bytes at once (a message whose size is known: a spawn's
 * environment grew its buffer half a dozen times, each a realloc and copy);
 * a failure shows as bad, as a put's. */
void impmsg_reserve(struct impmsg *m, size_t n);
/* The bytes impmsg_put_str() / impmsg_put_strv() take for s / v. */
size_t impmsg_str_size(const char *s);
size_t impmsg_strv_size(char *const *v);

/* Readers: 0, or -EBADMSG once anything was short or malformed (and every
 * later get fails too). Strings point into m's buffer. */
int impmsg_get_u32(struct impmsg *m, uint32_t *v);
int impmsg_get_u64(struct impmsg *m, uint64_t *v);
int impmsg_get_str(struct impmsg *m, const char **s);
/* A NULL-terminated array of pointers into m (the array is malloc'd; at
 * most max entries). */
int impmsg_get_strv(struct impmsg *m, const char ***v, uint32_t max);

/* A SPAWN request's body, decoded: pointers into the message (the arrays
 * are malloc'd; impmsg_spawn_free). Checked here: at least one argument
 * and a non-empty command, a signal number below NSIG, at most CPU_SETSIZE
 * cpus, every count within the body. */
struct imp_spawn_req {
    uint32_t uid, flags;
    uint64_t job;
    int deathsig;
    const char *cwd, *path;      /* "" for none */
    const char *out, *err, *in;  /* "" for none */
    const char **argv, **env;    /* NULL-terminated */
    int *cpus;
    int ncpus;
};
#define IMP_ARGS_MAX 65536       /* argv or env entries in one request */
int impmsg_decode_spawn(struct impmsg *m, struct imp_spawn_req *r);
void impmsg_spawn_free(struct imp_spawn_req *r);

/* Send one frame (body m, or none when NULL) with nfds descriptors.
 * 0 or -errno. */
int impmsg_send(int sock, uint32_t op, const struct impmsg *m, const int *fds, int nfds);
/* Receive one frame into m (reset first), its descriptors into fds (at
 * most IMP_FDS_MAX; *nfds says how many, all close-on-exec). 0, -EPIPE at
 * end of file, -EMSGSIZE for a body past IMP_BODY_MAX (the stream is then
 * unusable), or -errno. */
int impmsg_recv(int sock, uint32_t *op, struct impmsg *m, int *fds, int *nfds);

#endif
