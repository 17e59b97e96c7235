/* cli_pw.c - user names and uids for a CLI linked without the dynamic loader.
 *
 * fluxfs is linked statically: `fluxfs run` starts once per job, and
 * mapping and relocating shared libraries was 0.45 ms of its 1.2 ms start
 * here. A static glibc's getpwnam() would dlopen the system's NSS modules,
 * which is only safe with the exact glibc it was built with, and breaks
 * after the next libc6 update. So /etc/passwd is read directly, and a
 * user it does not hold (LDAP, sssd) is asked of getent(1), which uses the
 * system's own NSS. Answers, found or not, are kept for the process's life:
 * `fluxfs jobs` asks once per job.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/cli_pw.h"

extern char **environ;

struct pw_entry {
    uid_t uid;
    char name[CLI_PW_NAME_MAX];   /* "" when no user has this uid */
};

/* The CLI is one short-lived process: one small cache, grown as needed. */
static struct pw_entry *cache;
static size_t cache_len, cache_cap;

static void cache_add(uid_t uid, const char *name)
{
    if (cache_len == cache_cap) {
        size_t cap = cache_cap ? cache_cap * 2 : 16;
        struct pw_entry *c = realloc(cache, cap * sizeof(*c));
        if (!c)
            return;   /* not remembered: asked again next time */
        cache = c;
        cache_cap = cap;
    }
    cache[cache_len].uid = uid;
    snprintf(cache[cache_len].name, sizeof(cache[cache_len].name), "%s", name);
    cache_len++;
}

/* One passwd(5) line: name and uid, 0; -1 for comments, NIS compat lines
 * (+/-) and anything malformed. line is modified. */
static int parse_line(char *line, char **name, uid_t *uid)
{
    char *f[3], *p = line;
    for (int i = 0; i < 3; i++) {
        f[i] = strsep(&p, ":");
        if (!f[i] || !p)
            return -1;
    }
    if (!*f[0] || f[0][0] == '+' || f[0][0] == '-' || f[0][0] == '#')
        return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(f[2], &end, 10);
    if (end == f[2] || *end || errno || v > (uid_t)-2)
        return -1;
    *name = f[0];
    *uid = (uid_t)v;
    return 0;
}

/* `getent passwd KEY...` (nkeys of them) into buf, NUL-terminated: 0 when
 * it printed anything, else -ENOENT (no such user, or no getent). What
 * does not fit in buf is left out. */
static int getent(char *const *keys, size_t nkeys, char *buf, size_t size)
{
    int fds[2];
    char a0[] = "getent", a1[] = "passwd";
    char **argv = calloc(nkeys + 3, sizeof(*argv));
    if (!argv)
        return -ENOMEM;
    argv[0] = a0;
    argv[1] = a1;
    memcpy(argv + 2, keys, nkeys * sizeof(*argv));
    if (pipe2(fds, O_CLOEXEC) < 0) {
        free(argv);
        return -errno;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "getent", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    free(argv);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -ENOENT;
    }
    size_t len = 0;
    for (;;) {
        char sink[4096];
        bool full = len == size - 1;
        ssize_t n = full ? read(fds[0], sink, sizeof(sink))   /* past buf: drained */
                         : read(fds[0], buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (!full)
            len += (size_t)n;
    }
    close(fds[0]);
    buf[len] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return len ? 0 : -ENOENT;
}

/* name's entry: /etc/passwd, then getent. 0 with *found (static until the
 * next call) and *uid; or -ENOENT. */
static int lookup_name(const char *name_key, char **found, uid_t *uid)
{
    static char line[1024];
    FILE *f = fopen("/etc/passwd", "re");
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (parse_line(line, found, uid) == 0 && !strcmp(*found, name_key)) {
            fclose(f);
            return 0;
        }
    }
    if (f)
        fclose(f);
    char *keys[1] = { (char *)name_key };
    if (getent(keys, 1, line, sizeof(line)) < 0)
        return -ENOENT;
    line[strcspn(line, "\n")] = '\0';
    /* NSS decides what matches (sssd may fold case: ALICE@EXAMPLE.COM is
     * alice@example.com) */
    return parse_line(line, found, uid) < 0 ? -ENOENT : 0;
}

/* A name that could be looked up: not empty, not an option to getent (a
 * leading '-'), and without what cannot be in a passwd(5) name field (':',
 * a newline). Anything else goes: directory services allow more than
 * useradd(8) does ("alice@example.com" from sssd, "DOM\alice" from
 * winbind), and getent is run without a shell. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < CLI_PW_NAME_MAX && s[0] != '-' && !strpbrk(s, ":\n");
}

static const struct pw_entry *cache_find(uid_t uid)
{
    for (size_t i = 0; i < cache_len; i++)
        if (cache[i].uid == uid)
            return &cache[i];
    return NULL;
}

int cli_pw_name(uid_t uid, char *buf, size_t size)
{
    const struct pw_entry *e = cache_find(uid);
    if (!e) {
        cli_pw_prefetch(&uid, 1);   /* a listing of one */
        e = cache_find(uid);
    }
    if (!e || !e->name[0])
        return -ENOENT;
    snprintf(buf, size, "%s", e->name);
    return 0;
}

int cli_pw_uid(const char *name, uid_t *uid)
{
    if (!name_ok(name))
        return -EINVAL;
    for (size_t i = 0; i < cache_len; i++)
        if (!strcmp(cache[i].name, name)) {
            *uid = cache[i].uid;
            return 0;
        }
    char *found;
    if (lookup_name(name, &found, uid) < 0)
        return -ENOENT;
    cache_add(*uid, found);
    return 0;
}

/* Keys asked of getent at once: its command line stays far below
 * ARG_MAX, and its answer within the buffer. */
#define PREFETCH_KEYS 128

void cli_pw_prefetch(const uid_t *uids, size_t n)
{
    /* the uids not known yet, once each */
    uid_t *want = malloc((n ? n : 1) * sizeof(*want));
    size_t nwant = 0;
    if (!want)
        return;
    for (size_t i = 0; i < n; i++) {
        bool dup = cache_find(uids[i]);
        for (size_t k = 0; !dup && k < nwant; k++)
            dup = want[k] == uids[i];
        if (!dup)
            want[nwant++] = uids[i];
    }
    /* /etc/passwd, read once for all of them */
    char line[1024], *name;
    uid_t uid;
    FILE *f = nwant ? fopen("/etc/passwd", "re") : NULL;
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (parse_line(line, &name, &uid) < 0)
            continue;
        for (size_t k = 0; k < nwant; k++)
            if (want[k] == uid) {
                cache_add(uid, name);
                want[k] = want[--nwant];
                break;
            }
    }
    if (f)
        fclose(f);
    /* the rest from the directory service: one getent for many (each
     * lookup would be a process of its own) */
    static char out[PREFETCH_KEYS * 512];
    for (size_t at = 0; at < nwant; at += PREFETCH_KEYS) {
        size_t m = nwant - at < PREFETCH_KEYS ? nwant - at : PREFETCH_KEYS;
        char keybuf[PREFETCH_KEYS][16], *keys[PREFETCH_KEYS];
        for (size_t k = 0; k < m; k++) {
            snprintf(keybuf[k], sizeof(keybuf[k]), "%u", (unsigned)want[at + k]);
            keys[k] = keybuf[k];
        }
        if (getent(keys, m, out, sizeof(out)) == 0)
            for (char *p = out, *nl; p && *p; p = nl) {
                if ((nl = strchr(p, '\n')))
                    *nl++ = '\0';
                if (parse_line(p, &name, &uid) < 0)
                    continue;
                for (size_t k = 0; k < m; k++)
                    if (want[at + k] == uid && !cache_find(uid))
                        cache_add(uid, name);
            }
        /* those it did not know have no name: not asked again */
        for (size_t k = 0; k < m; k++)
            if (!cache_find(want[at + k]))
                cache_add(want[at + k], "");
    }
    free(want);
}
