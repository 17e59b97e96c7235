/* bootstrap.c - the brokers of a multi-node instance (bootstrap.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "fsd/bootstrap.h"
#include "fsd/link.h"

void bootstrap_destroy(struct bootstrap *bs)
{
    if (!bs)
        return;
    for (int i = 0; bs->brokers && i < bs->size; i++) {
        free(bs->brokers[i].host);
        free(bs->brokers[i].bind);
        free(bs->brokers[i].connect);
    }
    free(bs->brokers);
    free(bs->name);
    free(bs->ca);
    free(bs->cert);
    free(bs->ca_pem);
    free(bs->cert_pem);
    if (bs->key_pem)
        explicit_bzero(bs->key_pem, strlen(bs->key_pem));
    free(bs->key_pem);
    free(bs->key);
    free(bs);
}

static bool url_secure(const char *url)
{
    return !strncmp(url, "tls+tcp://", 10);
}

static bool url_known(const char *url)
{
    return url_secure(url) || !strncmp(url, "tcp://", 6) || !strncmp(url, "ipc://", 6);
}

/* A string member: copied, or NULL when absent; -EINVAL when not a string. */
static int get_str(json_t *o, const char *key, char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 4095)
        return -EINVAL;
    return (*out = strdup(json_string_value(v))) ? 0 : -ENOMEM;
}

static int parse_broker(json_t *o, int rank, struct bootstrap_broker *b, struct errmsg *err)
{
    static const char *keys[] = {"host", "bind", "connect"};
    char **dst[] = {&b->host, &b->bind, &b->connect};
    const char *k;
    json_t *v;
    if (!json_is_object(o))
        return errmsg_set(err, -EINVAL, "brokers[%d]: not an object", rank);
    json_object_foreach(o, k, v) {
        if (strcmp(k, "host") && strcmp(k, "bind") && strcmp(k, "connect"))
            return errmsg_set(err, -EINVAL, "brokers[%d]: unknown key '%.40s'", rank, k);
    }
    for (int i = 0; i < 3; i++) {
        int rc = get_str(o, keys[i], dst[i]);
        if (rc == -ENOMEM)
            return errmsg_set(err, rc, "out of memory");
        if (rc < 0)
            return errmsg_set(err, rc, "brokers[%d].%s: not a string", rank, keys[i]);
    }
    if (!b->host)
        return errmsg_set(err, -EINVAL, "brokers[%d].host: required", rank);
    /* the leader is dialed by nobody; everyone else needs both */
    for (int i = 1; i < 3 && rank > 0; i++)
        if (!*dst[i])
            return errmsg_set(err, -EINVAL, "brokers[%d].%s: required", rank, keys[i]);
    for (int i = 1; i < 3; i++)
        if (*dst[i] && !url_known(*dst[i]))
            return errmsg_set(err, -EINVAL, "brokers[%d].%s: '%.60s' is not tls+tcp://, "
                              "tcp:// or ipc://", rank, keys[i], *dst[i]);
    return 0;
}

static int by_connect(const void *a, const void *b, void *arg)
{
    const struct bootstrap *bs = arg;
    const char *x = bs->brokers[*(const int *)a].connect;
    const char *y = bs->brokers[*(const int *)b].connect;
    return strcmp(x ? x : "", y ? y : "");
}

/* Two ranks reached at one address cannot both be: refuse it by name
 * (n log n: a file may list tens of thousands of brokers). */
static int check_connect_unique(const struct bootstrap *bs, struct errmsg *err)
{
    int *order = malloc((size_t)bs->size * sizeof(int));
    int rc = 0;
    if (!order)
        return errmsg_set(err, -ENOMEM, "out of memory");
    for (int i = 0; i < bs->size; i++)
        order[i] = i;
    qsort_r(order, (size_t)bs->size, sizeof(int), by_connect, (void *)bs);
    for (int i = 1; i < bs->size && rc == 0; i++) {
        const char *a = bs->brokers[order[i - 1]].connect, *b = bs->brokers[order[i]].connect;
        if (a && b && !strcmp(a, b)) {
            int lo = order[i - 1] < order[i] ? order[i - 1] : order[i];
            int hi = order[i - 1] < order[i] ? order[i] : order[i - 1];
            rc = errmsg_set(err, -EINVAL, "brokers[%d].connect: '%.60s' is brokers[%d]'s too",
                            hi, b, lo);
        }
    }
    free(order);
    return rc;
}

struct bootstrap *bootstrap_parse(const char *text, size_t len, struct errmsg *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    struct bootstrap *bs = calloc(1, sizeof(*bs));
    const char *k;
    json_t *v, *arr, *tls;
    int rc;
    if (!bs) {
        errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    if (!root) {
        errmsg_set(err, -EINVAL, "line %d: %s", jerr.line, jerr.text);
        goto error;
    }
    if (!json_is_object(root)) {
        errmsg_set(err, -EINVAL, "not a JSON object");
        goto error;
    }
    json_object_foreach(root, k, v) {
        static const char *known[] = {"version", "fanout", "name", "insecure", "tls", "brokers",
                                      "heartbeat"};
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok |= !strcmp(k, known[i]);
        if (!ok) {
            errmsg_set(err, -EINVAL, "unknown key '%.40s'", k);
            goto error;
        }
    }
    v = json_object_get(root, "version");
    if (v && (!json_is_integer(v) || json_integer_value(v) != 1)) {
        errmsg_set(err, -EINVAL, "version: only 1 is known");
        goto error;
    }
    v = json_object_get(root, "fanout");
    bs->fanout = BOOTSTRAP_FANOUT_DEFAULT;
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1024) {
            errmsg_set(err, -EINVAL, "fanout: an integer from 1 to 1024");
            goto error;
        }
        bs->fanout = (int)json_integer_value(v);
    }
    if ((rc = get_str(root, "name", &bs->name)) < 0) {
        errmsg_set(err, rc, "name: not a string");
        goto error;
    }
    if (!bs->name && !(bs->name = strdup("fluxfs"))) {
        errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    bs->hb_period = BOOTSTRAP_HB_PERIOD;
    bs->hb_timeout = BOOTSTRAP_HB_TIMEOUT;
    if ((v = json_object_get(root, "heartbeat"))) {
        json_t *p = json_object_get(v, "period"), *t = json_object_get(v, "timeout");
        size_t nkeys = json_is_object(v) ? json_object_size(v) : 0;
        if (!json_is_object(v) || nkeys != (size_t)(!!p + !!t)
            || (p && (!json_is_number(p) || json_number_value(p) < 0.05
                      || json_number_value(p) > 60))
            || (t && !json_is_number(t))) {
            errmsg_set(err, -EINVAL, "heartbeat: {\"period\": 0.05 to 60, \"timeout\": "
                       "seconds} (defaults 1 and 5)");
            goto error;
        }
        if (p)
            bs->hb_period = json_number_value(p);
        bs->hb_timeout = t ? json_number_value(t) : 5 * bs->hb_period;
        if (bs->hb_timeout < 2 * bs->hb_period) {
            errmsg_set(err, -EINVAL, "heartbeat: timeout must be at least twice the period");
            goto error;
        }
    }
    v = json_object_get(root, "insecure");
    if (v && !json_is_boolean(v)) {
        errmsg_set(err, -EINVAL, "insecure: true or false");
        goto error;
    }
    bs->insecure = json_is_true(v);
    tls = json_object_get(root, "tls");
    if (tls) {
        if (!json_is_object(tls)) {
            errmsg_set(err, -EINVAL, "tls: not an object");
            goto error;
        }
        json_object_foreach(tls, k, v) {
            if (strcmp(k, "ca") && strcmp(k, "cert") && strcmp(k, "key")) {
                errmsg_set(err, -EINVAL, "tls: unknown key '%.40s'", k);
                goto error;
            }
        }
        if (get_str(tls, "ca", &bs->ca) < 0 || get_str(tls, "cert", &bs->cert) < 0
            || get_str(tls, "key", &bs->key) < 0) {
            errmsg_set(err, -EINVAL, "tls: ca, cert and key are file names");
            goto error;
        }
    }
    if (!bs->insecure && (!bs->ca || !bs->cert || !bs->key)) {
        errmsg_set(err, -EINVAL, "tls: ca, cert and key are required (or \"insecure\": true, "
                   "for tests)");
        goto error;
    }
    arr = json_object_get(root, "brokers");
    if (!json_is_array(arr) || json_array_size(arr) == 0
        || json_array_size(arr) > BOOTSTRAP_MAX_BROKERS) {
        errmsg_set(err, -EINVAL, "brokers: an array of 1 to %d brokers", BOOTSTRAP_MAX_BROKERS);
        goto error;
    }
    bs->size = (int)json_array_size(arr);
    if (!(bs->brokers = calloc((size_t)bs->size, sizeof(*bs->brokers)))) {
        errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    for (int i = 0; i < bs->size; i++) {
        if (parse_broker(json_array_get(arr, (size_t)i), i, &bs->brokers[i], err) < 0)
            goto error;
        const char *urls[] = {bs->brokers[i].bind, bs->brokers[i].connect};
        for (int u = 0; u < 2; u++) {
            if (urls[u] && !url_secure(urls[u]) && !bs->insecure) {
                errmsg_set(err, -EINVAL, "brokers[%d]: '%.60s' is not tls+tcp:// (set "
                           "\"insecure\": true to allow it, for tests)", i, urls[u]);
                goto error;
            }
        }
        for (int j = 0; j < i; j++) {
            if (!strcmp(bs->brokers[j].host, bs->brokers[i].host)) {
                errmsg_set(err, -EINVAL, "brokers[%d].host: '%.60s' is brokers[%d]'s too", i,
                           bs->brokers[i].host, j);
                goto error;
            }
        }
    }
    if (check_connect_unique(bs, err) < 0)
        goto error;
    json_decref(root);
    return bs;
error:
    json_decref(root);
    bootstrap_destroy(bs);
    return NULL;
}

struct bootstrap *bootstrap_load(const char *path, struct errmsg *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errmsg_set(err, -errno, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    ssize_t n = 0;
    while (buf && (n = read(fd, buf + len, cap - len)) > 0) {
        len += (size_t)n;
        if (len == cap) {
            char *nb = cap < BOOTSTRAP_FILE_MAX ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    close(fd);
    if (!buf || n < 0) {
        errmsg_set(err, buf ? -EIO : -EFBIG, "%s: %s", path,
                   buf ? "read error" : "too large (or out of memory)");
        free(buf);
        return NULL;
    }
    struct bootstrap *bs = bootstrap_parse(buf, len, err);
    free(buf);
    return bs;
}

int bootstrap_rank_of(const struct bootstrap *bs, const char *hostname)
{
    int found = -ENOENT;
    size_t short_len = strcspn(hostname, ".");
    for (int pass = 0; pass < 2 && found == -ENOENT; pass++) {
        for (int i = 0; i < bs->size; i++) {
            const char *h = bs->brokers[i].host;
            bool match = pass == 0 ? !strcmp(h, hostname)
                                   : strlen(h) == short_len && !strncmp(h, hostname, short_len);
            if (!match)
                continue;
            if (found >= 0)
                return -EEXIST;
            found = i;
        }
    }
    return found;
}

int bootstrap_parent(const struct bootstrap *bs, int rank)
{
    return rank <= 0 || rank >= bs->size ? -1 : (rank - 1) / bs->fanout;
}

int bootstrap_first_child(const struct bootstrap *bs, int rank, int *count)
{
    long first = (long)bs->fanout * rank + 1;
    *count = 0;
    if (rank < 0 || first >= bs->size)
        return -1;
    long n = bs->size - first;
    *count = n < bs->fanout ? (int)n : bs->fanout;
    return (int)first;
}

int bootstrap_depth(const struct bootstrap *bs, int rank)
{
    int d = 0;
    while (rank > 0) {
        rank = bootstrap_parent(bs, rank);
        d++;
    }
    return d;
}

int bootstrap_next_hop(const struct bootstrap *bs, int from, int to)
{
    if (from < 0 || to < 0 || from >= bs->size || to >= bs->size || from == to)
        return -1;
    /* walk up from `to`: the rank just below `from` on the way is the hop */
    int prev = to;
    for (int r = to; r > from; r = bootstrap_parent(bs, r)) {
        prev = r;
        if (bootstrap_parent(bs, r) == from)
            return prev;
    }
    return bootstrap_parent(bs, from);
}

int bootstrap_read_tls(struct bootstrap *bs, struct errmsg *err)
{
    if (!bs->ca || !bs->cert || !bs->key)
        return 0;
    if (!(bs->ca_pem = link_read_pem(bs->ca, err)) || !(bs->cert_pem = link_read_pem(bs->cert, err))
        || !(bs->key_pem = link_read_pem(bs->key, err)))
        return -EINVAL;
    return 0;
}
