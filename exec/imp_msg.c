/* imp_msg.c - frames between a broker and fluxfs-imp (see imp_msg.h). */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "exec/imp_msg.h"

void impmsg_init(struct impmsg *m)
{
    *m = (struct impmsg){ 0 };
}

void impmsg_free(struct impmsg *m)
{
    free(m->buf);
    impmsg_init(m);
}

/* Room for n more bytes: false (and bad) when it cannot be had. */
static bool room(struct impmsg *m, size_t n, bool exact)
{
    if (m->bad)
        return false;
    if (m->len + n > IMP_BODY_MAX) {
        m->bad = true;
        return false;
    }
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 256;
        if (exact)
            cap = m->len + n;
        while (cap < m->len + n)
            cap *= 2;
        char *b = realloc(m->buf, cap);
        if (!b) {
            m->bad = true;
            return false;
        }
        m->buf = b;
        m->cap = cap;
    }
    return true;
}

static void put(struct impmsg *m, const void *p, size_t n)
{
    if (!room(m, n, false))
        return;
    memcpy(m->buf + m->len, p, n);
    m->len += n;
}

void impmsg_reserve(struct impmsg *m, size_t n)
{
    room(m, n, true);
}

size_t impmsg_str_size(const char *s)
{
    return sizeof(uint32_t) + (s ? strlen(s) : 0) + 1;
}

size_t impmsg_strv_size(char *const *v)
{
    size_t n = sizeof(uint32_t);
    for (size_t i = 0; v && v[i]; i++)
        n += impmsg_str_size(v[i]);
    return n;
}

void impmsg_put_u32(struct impmsg *m, uint32_t v)
{
    put(m, &v, sizeof(v));
}

void impmsg_put_u64(struct impmsg *m, uint64_t v)
{
    put(m, &v, sizeof(v));
}

void impmsg_put_str(struct impmsg *m, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    if (n > IMP_BODY_MAX) {
        m->bad = true;
        return;
    }
    impmsg_put_u32(m, (uint32_t)n);
    put(m, s, n);
}

void impmsg_put_strv(struct impmsg *m, char *const *v)
{
    uint32_t n = 0;
    while (v && v[n])
        n++;
    impmsg_put_u32(m, n);
    for (uint32_t i = 0; i < n; i++)
        impmsg_put_str(m, v[i]);
}

static int get(struct impmsg *m, void *p, size_t n)
{
    if (m->bad || m->len - m->pos < n) {
        m->bad = true;
        return -EBADMSG;
    }
    memcpy(p, m->buf + m->pos, n);
    m->pos += n;
    return 0;
}

int impmsg_get_u32(struct impmsg *m, uint32_t *v)
{
    return get(m, v, sizeof(*v));
}

int impmsg_get_u64(struct impmsg *m, uint64_t *v)
{
    return get(m, v, sizeof(*v));
}

int impmsg_get_str(struct impmsg *m, const char **s)
{
    uint32_t n;
    if (impmsg_get_u32(m, &n) < 0)
        return -EBADMSG;
    /* at least the NUL, within the body, and the NUL where it says */
    if (n == 0 || m->len - m->pos < n || m->buf[m->pos + n - 1] != '\0') {
        m->bad = true;
        return -EBADMSG;
    }
    *s = m->buf + m->pos;
    m->pos += n;
    return 0;
}

int impmsg_get_strv(struct impmsg *m, const char ***v, uint32_t max)
{
    uint32_t n;
    *v = NULL;
    if (impmsg_get_u32(m, &n) < 0)
        return -EBADMSG;
    /* each string takes at least 5 bytes: a count past that is a lie */
    if (n > max || n > (m->len - m->pos) / 5) {
        m->bad = true;
        return -EBADMSG;
    }
    const char **a = calloc((size_t)n + 1, sizeof(*a));
    if (!a) {
        m->bad = true;
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (impmsg_get_str(m, &a[i]) < 0) {
            free(a);
            return -EBADMSG;
        }
    }
    *v = a;
    return 0;
}

void impmsg_spawn_free(struct imp_spawn_req *r)
{
    free(r->argv);
    free(r->env);
    free(r->cpus);
    memset(r, 0, sizeof(*r));
}

int impmsg_decode_spawn(struct impmsg *m, struct imp_spawn_req *r)
{
    uint32_t sig, ncpus;
    memset(r, 0, sizeof(*r));
    if (impmsg_get_u32(m, &r->uid) < 0 || impmsg_get_u64(m, &r->job) < 0
        || impmsg_get_u32(m, &r->flags) < 0 || impmsg_get_u32(m, &sig) < 0
        || impmsg_get_str(m, &r->cwd) < 0 || impmsg_get_str(m, &r->path) < 0
        || impmsg_get_str(m, &r->out) < 0 || impmsg_get_str(m, &r->err) < 0
        || impmsg_get_str(m, &r->in) < 0
        || impmsg_get_strv(m, &r->argv, IMP_ARGS_MAX) < 0
        || impmsg_get_strv(m, &r->env, IMP_ARGS_MAX) < 0 || impmsg_get_u32(m, &ncpus) < 0
        || ncpus > CPU_SETSIZE || ncpus > (m->len - m->pos) / 4 || sig >= NSIG
        || !r->argv[0] || !r->argv[0][0])
        goto bad;
    r->deathsig = (int)sig;
    if (ncpus && !(r->cpus = calloc(ncpus, sizeof(*r->cpus))))
        goto bad;
    for (uint32_t i = 0; i < ncpus; i++)
        if (impmsg_get_u32(m, (uint32_t *)&r->cpus[i]) < 0)
            goto bad;
    r->ncpus = (int)ncpus;
    return 0;
bad:
    impmsg_spawn_free(r);
    return -EBADMSG;
}

int impmsg_send(int sock, uint32_t op, const struct impmsg *m, const int *fds, int nfds)
{
    if (m && m->bad)
        return -ENOMEM;
    if (nfds < 0 || nfds > IMP_FDS_MAX)
        return -EINVAL;
    uint32_t hdr[2] = { op, m ? (uint32_t)m->len : 0 };
    struct iovec iov[2] = { { hdr, sizeof(hdr) }, { m ? m->buf : NULL, m ? m->len : 0 } };
    union {
        char buf[CMSG_SPACE(IMP_FDS_MAX * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = m && m->len ? 2 : 1 };
    if (nfds > 0) {
        memset(&u, 0, sizeof(u));
        msg.msg_control = u.buf;
        msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    size_t total = sizeof(hdr) + (m ? m->len : 0), sent = 0;
    while (sent < total) {
        ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        sent += (size_t)n;
        /* the rest without the descriptors, which went with the first byte */
        msg.msg_control = NULL;
        msg.msg_controllen = 0;
        while (msg.msg_iovlen > 0 && (size_t)n >= msg.msg_iov->iov_len) {
            n -= (ssize_t)msg.msg_iov->iov_len;
            msg.msg_iov++;
            msg.msg_iovlen--;
        }
        if (msg.msg_iovlen > 0) {
            msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + n;
            msg.msg_iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

static int read_full(int sock, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(sock, (char *)p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EPIPE;
        got += (size_t)r;
    }
    return 0;
}

int impmsg_recv(int sock, uint32_t *op, struct impmsg *m, int *fds, int *nfds)
{
    uint32_t hdr[2];
    union {
        char buf[CMSG_SPACE(IMP_FDS_MAX * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = { hdr, sizeof(hdr) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                          .msg_controllen = sizeof(u.buf) };
    m->len = m->pos = 0;
    m->bad = false;
    *nfds = 0;
    ssize_t n;
    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -EPIPE;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (*nfds < IMP_FDS_MAX)
                fds[(*nfds)++] = fd;
            else
                close(fd);
        }
    }
    int rc = 0;
    if ((size_t)n < sizeof(hdr))
        rc = read_full(sock, (char *)hdr + n, sizeof(hdr) - (size_t)n);
    if (rc == 0 && hdr[1] > IMP_BODY_MAX)
        rc = -EMSGSIZE;
    if (rc == 0 && hdr[1] > m->cap) {
        char *b = realloc(m->buf, hdr[1]);
        if (!b)
            rc = -ENOMEM;
        else {
            m->buf = b;
            m->cap = hdr[1];
        }
    }
    if (rc == 0 && (rc = read_full(sock, m->buf, hdr[1])) == 0) {
        m->len = hdr[1];
        *op = hdr[0];
        return 0;
    }
    for (int i = 0; i < *nfds; i++)
        close(fds[i]);
    *nfds = 0;
    return rc;
}
