/* fluxfs - Flux-like command-line front end to a mounted fluxfs tree.
 *
 *   fluxfs [-m DIR] SUBCOMMAND [OPTIONS] [ARGS]
 *
 * Every subcommand uses only the tree (doc/tree.md): it reads and writes
 * files under the mount point. This file dispatches to the subcommands and
 * holds the helpers they share (cli.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "common/fluid.h"
#include "tools/cli.h"
#include "tools/cli_pw.h"
#include "tools/mountpoint.h"

static const char *mount_opt;
static char mount_buf[PATH_MAX];
static const char *mount_dir;   /* looked at: a fluxfs mount */
static bool mount_found;        /* mount_buf holds its name */

void cli_err(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("fluxfs: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_parse_opts(int argc, char **argv, const char *usage, bool *all)
{
    static const struct option longopts[] = {
        { "all", no_argument, NULL, 'a' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    /* without --all, skip its entry so that it is an unknown option */
    const struct option *opts = all ? longopts : longopts + 1;
    int c;
    if (all)
        *all = false;
    while ((c = getopt_long(argc, argv, all ? "am:h" : "m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': *all = true; break;
        case 'm': cli_set_mount(optarg); break;
        case 'h': fputs(usage, stdout); return CLI_PARSE_DONE(CLI_EXIT_OK);
        default: fputs(usage, stderr); return CLI_PARSE_DONE(CLI_EXIT_USAGE);
        }
    }
    /* job ids in any RFC 19 spelling (decimal, hex, dothex) become the
     * name of their directory; F58 is never longer, so in place */
    for (int i = optind; i < argc; i++) {
        uint64_t id;
        char f58[FLUID_STR_MAX];
        if (fluid_parse(argv[i], &id) == 0 && fluid_encode(id, f58, sizeof(f58)) == 0
            && strlen(f58) <= strlen(argv[i]))
            strcpy(argv[i], f58);
    }
    return optind;
}

void cli_set_mount(const char *dir)
{
    mount_opt = dir;
    mount_dir = NULL;
    mount_found = false;
}

const char *cli_mount_name(void)
{
    if (mount_found)
        return mount_buf;
    if (mount_opt)
        snprintf(mount_buf, sizeof(mount_buf), "%s", mount_opt);
    else if (!fluxfs_find_mount(mount_buf, sizeof(mount_buf))) {
        if (errno == EEXIST)
            cli_err("several fluxfs instances are mounted (%s): say which with -m DIR or "
                    "FLUXFS_MOUNT", mount_buf);
        else
            cli_err("no fluxfs instance found (use -m DIR or set FLUXFS_MOUNT)");
        exit(CLI_EXIT_ERROR);
    }
    size_t len = strlen(mount_buf);
    while (len > 1 && mount_buf[len - 1] == '/')
        mount_buf[--len] = '\0';
    mount_found = true;
    return mount_buf;
}

const char *cli_mount(void)
{
    if (mount_dir)
        return mount_dir;
    cli_mount_name();
    char path[PATH_MAX + 16];
    struct stat st;
    snprintf(path, sizeof(path), "%s/status", mount_buf);
    if (stat(path, &st) < 0) {
        if (errno == ENOTCONN)
            cli_err("'%s': its fluxfs daemon is gone, the mount is left over (fusermount3 -u "
                    "it, then start fluxfsd again: no accepted job is lost)", mount_buf);
        else if (errno == EACCES)
            /* FUSE refuses everyone but the mounter, root included, unless
             * mounted with allow_other: a user's private instance */
            cli_err("'%s': permission denied: an instance another user started is that "
                    "user's alone (its mount lets nobody else in, root included)", mount_buf);
        else
            cli_err("'%s' is not a fluxfs mount: %s", mount_buf, strerror(errno));
        exit(CLI_EXIT_ERROR);
    }
    mount_dir = mount_buf;
    return mount_dir;
}

char *cli_path_unchecked(char *buf, size_t size, const char *rel)
{
    snprintf(buf, size, "%s/%s", mount_dir ? mount_dir : cli_mount_name(), rel);
    return buf;
}

void cli_mount_trust(void)
{
    if (!mount_dir)
        mount_dir = cli_mount_name();
}

char *cli_path(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(buf, size, "%s/", cli_mount());
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < size)
        vsnprintf(buf + n, size - n, fmt, ap);
    va_end(ap);
    return buf;
}

/* path's content; with short_is_end, a read that returns less than it
 * asked for is the end (no read for the 0 that says so). */
static char *read_file(const char *path, size_t *lenp, bool short_is_end)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t len = 0, alloc = 4096;
    char *buf = malloc(alloc);
    ssize_t n;
    while (buf) {
        if (len + 1 >= alloc) {
            char *p = realloc(buf, alloc *= 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
        }
        n = read(fd, buf + len, alloc - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            buf = NULL;
            errno = e;
            break;
        }
        if (n == 0)
            break;
        len += n;
        if (short_is_end && (size_t)n < alloc - (len - n) - 1)
            break;
    }
    int e = errno;
    close(fd);
    errno = e;
    if (!buf)
        return NULL;
    buf[len] = '\0';
    if (lenp)
        *lenp = len;
    return buf;
}

char *cli_read_file(const char *path, size_t *lenp)
{
    return read_file(path, lenp, false);
}

char *cli_job_file(const char *id, const char *name, size_t *lenp)
{
    char path[PATH_MAX];
    /* a job's files answer a read with all they hold up to its size (its
     * metadata is rendered at open, its output is what is stored; each
     * read is one FUSE request): a short read is the end, and the read
     * that would return 0 is a round trip saved, a fifth of `fluxfs jobs` */
    return read_file(cli_path(path, sizeof(path), "jobs/%s/%s", id, name), lenp, true);
}

int cli_write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    int rc = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

char *cli_last_error(char *buf, size_t size)
{
    char path[PATH_MAX];
    char *text = cli_read_file(cli_path(path, sizeof(path), "queue/errors"), NULL);
    buf[0] = '\0';
    if (!text)
        return buf;
    size_t len = strlen(text);
    while (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
    char *line = strrchr(text, '\n');
    line = line ? line + 1 : text;
    char *sp = strchr(line, ' ');        /* skip the timestamp */
    snprintf(buf, size, "%s", sp ? sp + 1 : line);
    free(text);
    return buf;
}

bool cli_job_exists(const char *id)
{
    char path[PATH_MAX];
    struct stat st;
    if (strchr(id, '/') || id[0] == '.' || id[0] == '\0'
        || stat(cli_path(path, sizeof(path), "jobs/%s", id), &st) < 0) {
        cli_err("%s: no such job", id);
        return false;
    }
    return true;
}

int cli_job_ctl(const char *id, const char *verb)
{
    char path[PATH_MAX], reason[1024], line[256];
    if (!cli_job_exists(id))
        return -ENOENT;
    snprintf(line, sizeof(line), "%s\n", verb);
    int rc = cli_write_file(cli_path(path, sizeof(path), "jobs/%s/ctl", id), line);
    if (rc < 0) {
        cli_last_error(reason, sizeof(reason));
        if (strstr(reason, id))
            cli_err("%s", reason);
        else
            cli_err("%s: %s: %s", id, verb, strerror(-rc));
    }
    return rc;
}

int cli_parse_duration(const char *s, double *secs)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return -EINVAL;
    double mult = 60;                 /* bare number: minutes, as flux -t */
    if (*end) {
        switch (*end++) {
        case 's': mult = 1; break;
        case 'm': mult = 60; break;
        case 'h': mult = 3600; break;
        case 'd': mult = 86400; break;
        default: return -EINVAL;
        }
        if (*end)
            return -EINVAL;
    }
    *secs = v * mult;
    return 0;
}

char *cli_fsd(double secs, char *buf, size_t size)
{
    if (secs < 0)
        secs = 0;
    if (secs < 60)
        snprintf(buf, size, "%.*fs", secs < 10 ? 3 : 2, secs);
    else if (secs < 3600)
        snprintf(buf, size, "%.4gm", secs / 60);
    else if (secs < 86400)
        snprintf(buf, size, "%.4gh", secs / 3600);
    else
        snprintf(buf, size, "%.4gd", secs / 86400);
    return buf;
}

const char *cli_username(uid_t uid, char *buf, size_t size)
{
    if (cli_pw_name(uid, buf, size) < 0)
        snprintf(buf, size, "%u", (unsigned)uid);
    return buf;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- dispatch */

struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand subcommands[] = {
    { "submit", cmd_submit, "submit a job and print its id" },
    { "run", cmd_run, "submit a job, stream its output, exit with its status" },
    { "batch", cmd_batch, "submit a script to run with an instance of its own (flux batch)" },
    { "alloc", cmd_alloc, "run a shell (or COMMAND) with an allocation and instance of its own (flux alloc)" },
    { "jobs", cmd_jobs, "list jobs" },
    { "cancel", cmd_cancel, "cancel jobs" },
    { "kill", cmd_kill, "send a signal to running jobs (flux job kill, scancel -s)" },
    { "wait", cmd_wait, "wait for jobs to end and print how they ended" },
    { "attach", cmd_attach, "stream a job's output until it ends" },
    { "status", cmd_status, "show the instance's status" },
    { "resource", cmd_resource, "list resources (fluxfs resource list)" },
    { "top", cmd_top, "full-screen view of nodes and running jobs" },
    { "keygen", cmd_keygen, "make the TLS credentials of a multi-node instance" },
    { "account", cmd_account, "usage by user and bank from the accounting records" },
    { "queue", cmd_queue, "list, configure, start, stop, enable, disable named queues" },
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: fluxfs [-m DIR] SUBCOMMAND [OPTIONS] [ARGS]\n"
               "Flux-like commands for a mounted fluxfs tree (doc/tree.md).\n\n"
               "Subcommands:\n");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(f, "  %-9s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(f, "\nOptions (also accepted by every subcommand):\n"
               "  -m, --mount=DIR  the instance's mount point (default: $FLUXFS_MOUNT,\n"
               "                   else the only fluxfs mounted on this machine)\n"
               "  -h, --help       this help; `fluxfs SUBCOMMAND --help` for each\n\n"
               "Exit status: 0 success, 1 failure (reason on stderr), 2 bad usage.\n"
               "run/attach exit with the job's: COMPLETED 0 -> 0, FAILED n -> n,\n"
               "CANCELED or LOST -> 1, TIMEOUT -> 124, detached by a second Ctrl-C -> 130.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int c;
    /* jansson's hash seed, which it would read from /dev/urandom (three
     * syscalls at every start): this process hashes only its own user's
     * input, so a seed that is merely varied will do */
    json_object_seed((size_t)getpid() * 2654435761u ^ (size_t)time(NULL));
    while ((c = getopt_long(argc, argv, "+m:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            cli_set_mount(optarg);
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
        if (strcmp(name, subcommands[i].name) == 0) {
            int sub_argc = argc - optind;
            char **sub_argv = argv + optind;
            optind = 0;               /* glibc: fully reinitialise getopt */
            int rc = subcommands[i].fn(sub_argc, sub_argv);
            if (fflush(stdout) != 0 && rc == 0) {
                cli_err("writing output: %s", strerror(errno));
                rc = CLI_EXIT_ERROR;
            }
            return rc;
        }
    }
    cli_err("unknown subcommand '%s' (see fluxfs --help)", name);
    return CLI_EXIT_USAGE;
}
