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

/* The first line of `getent passwd key` into buf (NUL-terminated, without
 * its newline): 0, or -ENOENT (no such user, or getent missing). */
static int getent(const char *key, char *buf, size_t size)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char a0[] = "getent", a1[] = "passwd";
    char *argv[] = {a0, a1, (char *)key, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "getent", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -ENOENT;
    }
    size_t len = 0;
    while (len < size - 1) {
        ssize_t n = read(fds[0], buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fds[0]);
    buf[len] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    buf[strcspn(buf, "\n")] = '\0';
    return len ? 0 : -ENOENT;
}

/* Looks in /etc/passwd, then asks getent; by name when name_key is set,
 * else by uid. 0 with *name (static until the next call) and *uid; or
 * -ENOENT. */
static int lookup(const char *name_key, uid_t uid_key, char **name, uid_t *uid)
{
    static char line[1024];
    FILE *f = fopen("/etc/passwd", "re");
    if (f) {
        while (fgets(line, sizeof(line), f)) {
            line[strcspn(line, "\n")] = '\0';
            if (parse_line(line, name, uid) < 0)
                continue;
            if (name_key ? !strcmp(*name, name_key) : *uid == uid_key) {
                fclose(f);
                return 0;
            }
        }
        fclose(f);
    }
    char key[32];
    if (!name_key)
        snprintf(key, sizeof(key), "%u", (unsigned)uid_key);
    if (getent(name_key ? name_key : key, line, sizeof(line)) < 0 ||
        parse_line(line, name, uid) < 0)
        return -ENOENT;
    /* by uid, the entry must be that uid's; by name, NSS decides what
     * matches (sssd may fold case: ALICE@EXAMPLE.COM is alice@example.com) */
    if (!name_key && *uid != uid_key)
        return -ENOENT;
    return 0;
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

int cli_pw_name(uid_t uid, char *buf, size_t size)
{
    for (size_t i = 0; i < cache_len; i++)
        if (cache[i].uid == uid) {
            if (!cache[i].name[0])
                return -ENOENT;
            snprintf(buf, size, "%s", cache[i].name);
            return 0;
        }
    char *name;
    uid_t found;
    if (lookup(NULL, uid, &name, &found) < 0) {
        cache_add(uid, "");
        return -ENOENT;
    }
    cache_add(uid, name);
    snprintf(buf, size, "%s", name);
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
    if (lookup(name, 0, &found, uid) < 0)
        return -ENOENT;
    cache_add(*uid, found);
    return 0;
}
