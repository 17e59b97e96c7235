/* main.c - fluxfsd: command line, daemonizing, then broker_run().
 *
 *   fluxfsd [options] MOUNTPOINT
 *   fluxfsd STATEDIR MOUNTPOINT -o OPTIONS      (mount.fuse3 convention)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "fsd/broker.h"
#include "fsd/priority.h"


static void usage(FILE *f)
{
    fprintf(f,
        "Usage: fluxfsd [OPTIONS] MOUNTPOINT\n"
        "       fluxfsd STATEDIR MOUNTPOINT [-o OPTIONS]\n"
        "Mount a fluxfs workload manager instance at MOUNTPOINT.\n"
        "\n"
        "  -f, --foreground        stay in the foreground (log to stderr)\n"
        "  -d, --debug             foreground, and trace FUSE requests\n"
        "  -o OPTS                 mount options (comma-separated); fluxfs options:\n"
        "                          state=DIR, resources=FILE, kill_grace=SECS,\n"
        "                          match_policy=P, queue_policy=Q, queue_depth=N,\n"
        "                          max_tasks=N, contain, queue_bytes_per_user=N,\n"
        "                          queue_files_per_user=N, max_pending_per_user=N,\n"
        "                          submit_rate=R, user=NAME\n"
        "  -s, --state DIR         state directory (LMDB store; default\n"
        "                          /var/lib/fluxfs as root, else\n"
        "                          $XDG_STATE_HOME/fluxfs or ~/.local/state/fluxfs)\n"
        "  -r, --resources FILE    the resources: RFC 20 R JSON, hwloc XML, a Fluxion\n"
        "                          GRUG recipe (.graphml) or a JGF graph (default:\n"
        "                          discover this machine with hwloc)\n"
        "      --match-policy P    where jobs go: first, low, high, lonode, hinode,\n"
        "                          lonodex, hinodex, locality (low)\n"
        "      --queue-policy Q    fcfs, easy or conservative backfill (easy)\n"
        "      --queue-depth N     reservations per scheduling pass (easy 1,\n"
        "                          conservative unlimited)\n"
        "      --max-tasks N       most tasks one job may ask for (64 per core of the\n"
        "                          instance, at least 1024)\n"
        "      --nice N            the broker's and its helper's nice (default: 5 below\n"
        "                          the one it was started with, which the jobs' tasks\n"
        "                          keep, where allowed: root)\n"
        "      --contain           put each job in a cgroup of its own, so that nothing\n"
        "                          it starts (setsid, nohup) outlives it (root; costs\n"
        "                          the kernel's ~7 ms to move a task into a cgroup)\n"
        "      --user NAME         started as root: mount, then run as NAME for good\n"
        "                          (default fluxfs, made if missing); root's work is\n"
        "                          done by the helper fluxfs-imp. 'root' stays root\n"
        "      --queue-bytes-per-user N  bytes one user (not root) may hold in queue/:\n"
        "                          open submissions and scratch files (268435456;\n"
        "                          0: no limit)\n"
        "      --queue-files-per-user N  files one user may have open in queue/ (1024)\n"
        "      --max-pending-per-user N  jobs one user (not root) may have pending\n"
        "                          (default: no limit)\n"
        "      --submit-rate R     submissions one user (not root) may make a second,\n"
        "                          a burst of as many (default: no limit)\n"
        "      --kill-grace SECS   SIGTERM to SIGKILL delay for cancel/timeout (5)\n"
        "      --output-limit N    bytes kept per job output stream (16777216)\n"
        "      --purge-age SECS    forget inactive jobs older than SECS (default: keep)\n"
        "      --purge-keep N      keep at most N inactive jobs (default: all)\n"
        "      --acct-keep DAYS    keep accounting records DAYS after their job ended\n"
        "                          (default 365; 0 = for ever); purging keeps them\n"
        "      --priority K=V,...  priority weights and fair share (doc/scheduler.md):\n"
        "                          fairshare=100000,queue=10000,urgency=1000,age=1000,\n"
        "                          age-max=604800,halflife=604800,interval=10\n"
        "      --no-publish        do not raise inotify events\n"
        "      --parent URL        run as a nested instance linked to its parent\n"
        "                          (set by the parent broker on mkdir)\n"
        "      --generator G[:N]   mint job ids with generator G; G+1..G+N-1 are\n"
        "                          for nested instances (set by the parent broker;\n"
        "                          default: the one recorded in the state\n"
        "                          directory, else 0:16384, a root instance)\n"
        "      --read-only         serve an ended instance's history only\n"
        "      --bootstrap FILE    one broker of a multi-node instance: FILE lists the\n"
        "                          brokers (doc/overlay.md); rank 0 is the leader\n"
        "      --rank R            this broker's rank in FILE (default: the one whose\n"
        "                          host is this machine's hostname)\n"
        "      --nest-rank R, --nest-size N, --nest-bind URL\n"
        "                          one broker of a nested instance across nodes (set\n"
        "                          by the parent broker; the brokers come from it)\n"
        "  -h, --help              this text\n"
        "  -V, --version           print the version\n"
        "\n"
        "Stop with: fusermount3 -u MOUNTPOINT\n");
}

/* The default state directory, written into buf. */
static const char *default_statedir(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (geteuid() == 0)
        snprintf(buf, size, "/var/lib/fluxfs");
    else if (xdg && *xdg)
        snprintf(buf, size, "%s/fluxfs", xdg);
    else
        snprintf(buf, size, "%s/.local/state/fluxfs", home ? home : "/tmp");
    return buf;
}

/* mkdir -p for the state directory's parents. */
static void make_parents(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    }
}

/* A limit: a count from 0 to INT64_MAX; anything else is a usage error. */
static int64_t parse_count(const char *s)
{
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || end == s || *end || n < 0) {
        fprintf(stderr, "fluxfsd: '%s': expected a count >= 0\n", s);
        exit(2);
    }
    return n;
}

/* --max-tasks: a count from 1 to INT_MAX (tasks are counted in ints). */
static int64_t parse_max_tasks(const char *s)
{
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || end == s || *end || n < 1 || n > INT_MAX) {
        fprintf(stderr, "fluxfsd: invalid max tasks '%s' (expected 1 to %d)\n", s, INT_MAX);
        exit(2);
    }
    return n;
}

/* --nice, -o nice=: -20 to 19, as nice(1) takes. */
static void parse_nice(const char *s, struct broker_config *cfg)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || end == s || *end || n < -20 || n > 19) {
        fprintf(stderr, "fluxfsd: invalid nice '%s' (expected -20 to 19)\n", s);
        exit(2);
    }
    cfg->nice = (int)n;
    cfg->nice_set = true;
}

/* Pull fluxfs's own options out of a -o list; the rest go to FUSE. */
static void split_opts(char *opts, struct broker_config *cfg, char **rest)
{
    static char fuse_opts[1024];
    char *save = NULL;
    fuse_opts[0] = '\0';
    for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
        if (!strncmp(o, "state=", 6))
            cfg->statedir = o + 6;
        else if (!strncmp(o, "resources=", 10))
            cfg->resources = o + 10;
        else if (!strncmp(o, "kill_grace=", 11))
            cfg->kill_grace = atof(o + 11);
        else if (!strncmp(o, "match_policy=", 13))
            cfg->match_policy = o + 13;
        else if (!strncmp(o, "queue_policy=", 13))
            cfg->queue_policy = o + 13;
        else if (!strncmp(o, "queue_depth=", 12))
            cfg->queue_depth = atoi(o + 12);
        else if (!strncmp(o, "max_tasks=", 10))
            cfg->max_tasks = parse_max_tasks(o + 10);
        else if (!strcmp(o, "contain"))
            cfg->contain = true;
        else if (!strncmp(o, "nice=", 5))
            parse_nice(o + 5, cfg);
        else if (!strncmp(o, "user=", 5))
            cfg->user = o + 5;
        else if (!strncmp(o, "queue_bytes_per_user=", 21))
            cfg->queue_bytes = parse_count(o + 21);
        else if (!strncmp(o, "queue_files_per_user=", 21))
            cfg->queue_files = parse_count(o + 21);
        else if (!strncmp(o, "max_pending_per_user=", 21))
            cfg->max_pending = parse_count(o + 21);
        else if (!strncmp(o, "submit_rate=", 12))
            cfg->submit_rate = atof(o + 12);
        else if (!strcmp(o, "rw") || !strcmp(o, "dev") || !strcmp(o, "suid") ||
                 !strcmp(o, "exec") || !strcmp(o, "auto") || !strcmp(o, "defaults"))
            continue;   /* mount(8) adds these; FUSE takes no notice */
        else {
            size_t n = strlen(fuse_opts);
            snprintf(fuse_opts + n, sizeof(fuse_opts) - n, "%s%s", n ? "," : "", o);
        }
    }
    *rest = fuse_opts[0] ? fuse_opts : NULL;
}

/* Fork; the parent waits until the child has mounted (or failed) and exits
 * with its status, as sshfs does, so `fluxfsd /flux && cp job /flux/queue`
 * works. Returns the fd the child reports on. */
static int daemonize(void)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        perror("fluxfsd: pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fluxfsd: fork");
        exit(1);
    }
    if (pid > 0) {
        char status = 1;
        close(pfd[1]);
        if (read(pfd[0], &status, 1) != 1)
            status = 1;
        exit(status);
    }
    close(pfd[0]);
    setsid();
    if (chdir("/") < 0)
        exit(1);
    return pfd[1];
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "foreground", no_argument, 0, 'f' },
        { "debug", no_argument, 0, 'd' },
        { "state", required_argument, 0, 's' },
        { "resources", required_argument, 0, 'r' },
        { "kill-grace", required_argument, 0, 'K' },
        { "output-limit", required_argument, 0, 'L' },
        { "no-publish", no_argument, 0, 'P' },
        { "purge-age", required_argument, 0, 'A' },
        { "purge-keep", required_argument, 0, 'k' },
        { "acct-keep", required_argument, 0, 'a' },
        { "priority", required_argument, 0, '1' },
        { "match-policy", required_argument, 0, 'M' },
        { "queue-policy", required_argument, 0, 'Q' },
        { "queue-depth", required_argument, 0, 'D' },
        { "max-tasks", required_argument, 0, 'T' },
        { "contain", no_argument, 0, 'C' },
        { "nice", required_argument, 0, 'i' },
        { "queue-bytes-per-user", required_argument, 0, 'B' },
        { "queue-files-per-user", required_argument, 0, 'F' },
        { "max-pending-per-user", required_argument, 0, 'N' },
        { "submit-rate", required_argument, 0, 'R' },
        { "parent", required_argument, 0, 'U' },
        { "generator", required_argument, 0, 'G' },
        { "read-only", no_argument, 0, 'O' },
        { "user", required_argument, 0, 'u' },
        { "bootstrap", required_argument, 0, 'b' },
        { "rank", required_argument, 0, 'n' },
        { "nest-rank", required_argument, 0, 'x' },
        { "nest-size", required_argument, 0, 'z' },
        { "nest-bind", required_argument, 0, 'y' },
        { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, 'V' },
        { 0, 0, 0, 0 },
    };
    struct broker_config cfg = { .publish = true, .ready_fd = -1, .queue_bytes = -1,
                                 .queue_files = -1, .rank = -1, .acct_keep_days = -1 };
    bool foreground = false;
    char *opts = NULL, *pos[2] = { NULL, NULL };
    int npos = 0, c;

    /* One malloc arena for the broker's few threads. With one per thread
     * (the loop, the launcher, the syncer, the publisher's feeder) RssAnon
     * grew 18 bytes per job without end (1M jobs: 56 -> 78 MB) while the
     * live heap stayed flat (heaptrack: +4 KB between 10,000 and 40,000
     * jobs); with one, 3 bytes per job, and no slower. */
    mallopt(M_ARENA_MAX, 1);

    while ((c = getopt_long(argc, argv, "-fdo:s:r:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 1:
            if (npos == 2) {
                fprintf(stderr, "fluxfsd: unexpected argument '%s'\n", optarg);
                return 2;
            }
            pos[npos++] = optarg;
            break;
        case 'f':
            foreground = true;
            break;
        case 'd':
            foreground = cfg.debug = true;
            break;
        case 'o':
            split_opts(optarg, &cfg, &opts);
            break;
        case 's':
            cfg.statedir = optarg;
            break;
        case 'r':
            cfg.resources = optarg;
            break;
        case 'K':
            cfg.kill_grace = atof(optarg);
            break;
        case 'L':
            cfg.output_cap = strtoull(optarg, NULL, 10);
            break;
        case 'P':
            cfg.publish = false;
            break;
        case 'A':
            cfg.purge_age = atof(optarg);
            break;
        case 'k':
            cfg.purge_keep = strtoull(optarg, NULL, 10);
            break;
        case '1': {
            struct priority_config pc;
            struct errmsg perr = { "" };
            if (priority_config_parse(optarg, &pc, &perr) < 0) {
                fprintf(stderr, "fluxfsd: --%s\n", perr.text);
                return 2;
            }
            cfg.priority = optarg;
            break;
        }
        case 'a': {
            char *end;
            cfg.acct_keep_days = strtod(optarg, &end);
            if (*end || !(cfg.acct_keep_days >= 0)) {
                fprintf(stderr, "fluxfsd: --acct-keep: '%s' is not a number of days\n", optarg);
                return 2;
            }
            break;
        }
        case 'M':
            cfg.match_policy = optarg;
            break;
        case 'Q':
            cfg.queue_policy = optarg;
            break;
        case 'D':
            cfg.queue_depth = atoi(optarg);
            break;
        case 'N':
            cfg.max_pending = parse_count(optarg);
            break;
        case 'R':
            cfg.submit_rate = atof(optarg);
            break;
        case 'B':
            cfg.queue_bytes = parse_count(optarg);
            break;
        case 'F':
            cfg.queue_files = parse_count(optarg);
            break;
        case 'C':
            cfg.contain = true;
            break;
        case 'u':
            cfg.user = optarg;
            break;
        case 'T':
            cfg.max_tasks = parse_max_tasks(optarg);
            break;
        case 'i':
            parse_nice(optarg, &cfg);
            break;
        case 'U':
            cfg.parent_url = optarg;
            break;
        case 'O':
            cfg.read_only = true;
            break;
        case 'b':
            cfg.bootstrap = optarg;
            break;
        case 'n': {
            char *end;
            long r = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || r < 0 || r >= 65536) {
                fprintf(stderr, "fluxfsd: invalid rank '%s'\n", optarg);
                return 2;
            }
            cfg.rank = (int)r;
            break;
        }
        case 'x':
        case 'z': {
            char *end;
            long r = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || r < 0 || r >= 65536) {
                fprintf(stderr, "fluxfsd: invalid nested rank or size '%s'\n", optarg);
                return 2;
            }
            *(c == 'x' ? &cfg.nest_rank : &cfg.nest_size) = (int)r;
            break;
        }
        case 'y':
            cfg.nest_bind = optarg;
            break;
        case 'G':
            if (genblock_parse(optarg, &cfg.generator) < 0) {
                fprintf(stderr, "fluxfsd: invalid generator '%s' (expected G or G:N, "
                        "0 <= G < G+N <= 16384)\n", optarg);
                return 2;
            }
            cfg.generator_set = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("fluxfsd %s (tree version 2)\n", FLUXFS_PROJECT_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    cfg.fuse_opts = opts;
    if (npos == 2)
        cfg.statedir = pos[0];   /* mount.fuse3: SOURCE is the state directory */
    const char *mnt = npos ? pos[npos - 1] : NULL;
    if (!mnt) {
        usage(stderr);
        return 2;
    }
    char mntbuf[PATH_MAX];
    broker_detach_dead_mount(mnt);
    if (!realpath(mnt, mntbuf)) {
        fprintf(stderr, "fluxfsd: mount point %s: %s\n", mnt, strerror(errno));
        return 1;
    }
    cfg.mountpoint = mntbuf;
    char defbuf[PATH_MAX];
    const char *statedir = cfg.statedir ? cfg.statedir : default_statedir(defbuf, sizeof(defbuf));
    make_parents(statedir);
    if (mkdir(statedir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "fluxfsd: state directory %s: %s\n", statedir, strerror(errno));
        return 1;
    }
    char statebuf[PATH_MAX];
    cfg.statedir = realpath(statedir, statebuf) ? statebuf : statedir;
    /* the daemon runs in /, so relative paths must be resolved now */
    char resbuf[PATH_MAX];
    if (cfg.resources && !realpath(cfg.resources, resbuf)) {
        fprintf(stderr, "fluxfsd: resources %s: %s\n", cfg.resources, strerror(errno));
        return 1;
    }
    if (cfg.resources)
        cfg.resources = resbuf;
    char bootbuf[PATH_MAX];
    if (cfg.bootstrap && !realpath(cfg.bootstrap, bootbuf)) {
        fprintf(stderr, "fluxfsd: bootstrap %s: %s\n", cfg.bootstrap, strerror(errno));
        return 1;
    }
    if (cfg.bootstrap)
        cfg.bootstrap = bootbuf;
    if (cfg.nest_size > 1 && (!cfg.parent_url || !cfg.nest_bind || cfg.bootstrap
                              || cfg.nest_rank >= cfg.nest_size)) {
        fprintf(stderr, "fluxfsd: --nest-size needs --parent, --nest-bind and a --nest-rank "
                "below it (set by the parent broker)\n");
        return 2;
    }
    if (cfg.rank >= 0 && !cfg.bootstrap) {
        fprintf(stderr, "fluxfsd: --rank needs --bootstrap\n");
        return 2;
    }

    openlog("fluxfsd", LOG_PID | LOG_PERROR, LOG_DAEMON);
    if (!foreground)
        cfg.ready_fd = daemonize();
    int rc = broker_run(&cfg);
    return rc;
}
