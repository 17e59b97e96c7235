/* cli_batch.c - `fluxfs batch SCRIPT`, as `flux batch`: the script runs in
 * an allocation of its own with an instance of its own in it; and `fluxfs
 * alloc`, as `flux alloc`: the same allocation and instance for a shell.
 *
 * What is submitted is a batch script (doc/tree.md "Batch scripts") that
 * wraps SCRIPT: its directive block is SCRIPT's (`# flux:` and `#SBATCH`
 * lines) followed by one `# flux:` line with the options given here, so
 * both combine; its body makes a nested instance in the job's directory
 * (on every node of the allocation, doc/overlay.md "Nested instances
 * across nodes"), points FLUXFS_MOUNT at it and runs SCRIPT there, so that
 * `fluxfs run`, `fluxfs submit` and `cp` in the script schedule within the
 * allocation. The nested instance ends with the job.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "tools/cli.h"

extern char **environ;

#define BATCH_SCRIPT_MAX (120u << 10)   /* the tree takes 128 KiB with the wrapper */

/* The allocation options batch and alloc share (alloc_options()). */
#define ALLOC_OPTIONS_HELP \
    "  -N, --nodes=N           nodes of the allocation\n" \
    "  -n, --ntasks=N          slots (tasks of one core) of the allocation\n" \
    "  -c, --cores-per-task=N  cores per slot\n" \
    "  -g, --gpus-per-task=N   gpus per slot\n" \
    "  -t, --time-limit=T      30s, 5m, 1h, 2d, or minutes\n" \
    "      --job-name=NAME     the job's name\n" \
    "      --env=NAME=VALUE    set a variable in the job's environment\n" \
    "      --exclusive         whole nodes (with -N)\n" \
    "      --cores=N           N cores in all (per-resource, as fluxfs submit)\n" \
    "      --gpus-per-node=N   with -N: gpus on each node\n" \
    "      --tasks-per-node=N  with -N: slots on each node\n" \
    "      --cwd=DIR           the job's working directory\n" \
    "      --urgency=N         0-16 (0/hold holds), default, expedite (root)\n" \
    "      --dependency=SCHEME:ID   after, afterany, afterok, afternotok\n" \
    "      --begin-time=+FSD   not before then (or seconds since the epoch)\n" \
    "      --output=TEMPLATE   the job's stdout file ({{id}}, {{name}}, {{user}})\n" \
    "      --error=TEMPLATE    the job's stderr file\n" \
    "      --requires=QUERY    only nodes matching it (fluxfs submit --requires)\n" \
    "      --signal=SIG@TIME   SIG (USR1) TIME (60s) before the time limit\n" \
    "  -S, --setattr=KEY=VAL   a jobspec attribute (as fluxfs submit)\n" \
    "  -o, --setopt=OPT[=VAL]  a shell option\n" \
    "  -m, --mount=DIR         the instance's mount point\n" \
    "  -h, --help              this help\n"

static const char usage[] =
    "Usage: fluxfs batch [OPTIONS] SCRIPT [ARGS...]\n"
    "Submit SCRIPT (it starts with #!) to run once in an allocation with an\n"
    "instance of its own, as flux batch: in the script, FLUXFS_MOUNT is that\n"
    "instance, so fluxfs run/submit and cp schedule within the allocation.\n"
    "The script's '# flux:' and '#SBATCH' directives apply; these options add\n"
    "to them. Prints the job's id.\n\n"
    ALLOC_OPTIONS_HELP;

/* s in single quotes for sh: 'it'\''s' */
static void sh_quote(struct strbuf *sb, const char *s)
{
    strbuf_addstr(sb, "'");
    for (; *s; s++) {
        if (*s == '\'')
            strbuf_addstr(sb, "'\\''");
        else
            strbuf_add(sb, s, 1);
    }
    strbuf_addstr(sb, "'");
}

/* The end of SCRIPT's directive block: its first line that is not a
 * comment (after the #! line). */
static size_t directives_end(const char *text, size_t len)
{
    size_t p = 0;
    bool first = true;
    while (p < len) {
        const char *nl = memchr(text + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - text) : len, q = p;
        while (!first && q < e && (text[q] == ' ' || text[q] == '\t'))
            q++;
        if (!first && q < e && text[q] != '#')
            return p;
        first = false;
        p = nl ? e + 1 : len;
    }
    return p;
}

static char *read_script(const char *path, size_t *lenp)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_err("batch: %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(BATCH_SCRIPT_MAX + 1);
    size_t len = 0;
    ssize_t n = 0;
    while (buf && len <= BATCH_SCRIPT_MAX
           && (n = read(fd, buf + len, BATCH_SCRIPT_MAX + 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    if (!buf || n < 0 || len > BATCH_SCRIPT_MAX) {
        cli_err("batch: %s: %s", path, !buf ? "out of memory" : n < 0 ? strerror(errno)
                : "larger than 120 KiB");
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    if (len < 2 || memcmp(buf, "#!", 2)) {
        cli_err("batch: %s: a batch script starts with #! (its interpreter)", path);
        free(buf);
        return NULL;
    }
    *lenp = len;
    return buf;
}

/* The allocation options both take, as one "# flux:" line's words in
 * opts. The index of the first operand, or CLI_PARSE_DONE(exit code). */
static int alloc_options(int argc, char **argv, const char *use, struct strbuf *opts)
{
    static const struct option longopts[] = {
        { "nodes", required_argument, NULL, 'N' },
        { "ntasks", required_argument, NULL, 'n' },
        { "cores-per-task", required_argument, NULL, 'c' },
        { "gpus-per-task", required_argument, NULL, 'g' },
        { "time-limit", required_argument, NULL, 't' },
        { "job-name", required_argument, NULL, 'J' },
        { "env", required_argument, NULL, 'E' },
        { "exclusive", no_argument, NULL, 'x' },
        /* passed on as '# flux:' directives, which batch scripts share
         * with fluxfs submit (common/jobopt.h) */
        { "cores", required_argument, NULL, 256 },
        { "gpus-per-node", required_argument, NULL, 257 },
        { "tasks-per-node", required_argument, NULL, 258 },
        { "cwd", required_argument, NULL, 259 },
        { "urgency", required_argument, NULL, 260 },
        { "dependency", required_argument, NULL, 261 },
        { "begin-time", required_argument, NULL, 262 },
        { "output", required_argument, NULL, 263 },
        { "error", required_argument, NULL, 264 },
        { "requires", required_argument, NULL, 265 },
        { "signal", required_argument, NULL, 266 },
        { "setattr", required_argument, NULL, 'S' },
        { "setopt", required_argument, NULL, 'o' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int c;
    static const char *const passed[] = { "--cores", "--gpus-per-node", "--tasks-per-node",
                                          "--cwd", "--urgency", "--dependency", "--begin-time",
                                          "--output", "--error", "--requires", "--signal" };
    while ((c = getopt_long(argc, argv, "+N:n:c:g:t:m:hS:o:", longopts, NULL)) != -1) {
        const char *name = c >= 256 && c < 256 + (int)(sizeof(passed) / sizeof(passed[0]))
                               ? passed[c - 256] : NULL;
        switch (c) {
        case 'S': name = "--setattr"; break;
        case 'o': name = "--setopt"; break;
        case 'N': name = "--nodes"; break;
        case 'n': name = "--ntasks"; break;
        case 'c': name = "--cores-per-task"; break;
        case 'g': name = "--gpus-per-task"; break;
        case 't': name = "--time-limit"; break;
        case 'J': name = "--job-name"; break;
        case 'E': name = "--env"; break;
        case 'x': strbuf_addstr(opts, " --exclusive"); continue;
        case 'm': cli_set_mount(optarg); continue;
        case 'h': fputs(use, stdout); return CLI_PARSE_DONE(CLI_EXIT_OK);
        default:
            if (name)
                break;
            fputs(use, stderr);
            return CLI_PARSE_DONE(CLI_EXIT_USAGE);
        }
        if (strchr(optarg, '\n')) {
            cli_err("%s: a value cannot hold a newline", name);
            return CLI_PARSE_DONE(CLI_EXIT_USAGE);
        }
        /* a directive line is split as sh words (RFC 36) */
        strbuf_addf(opts, " %s=", name);
        sh_quote(opts, optarg);
    }
    return optind;
}

/* Our environment as '# flux: --env' lines, less what the job's own launch
 * sets (FLUX_*, FLUXFS_*, SLURM_*, PMI_*), names that are not variable
 * names, and values no directive line can carry (a line break). */
static void add_environment(struct strbuf *wrap)
{
    static const char *const own[] = { "FLUX_", "FLUXFS_", "SLURM_", "PMI_" };
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        bool skip = !eq || eq == *e || strchr(*e, '\n') || (**e >= '0' && **e <= '9');
        for (const char *c = *e; !skip && c < eq; c++)   /* BASH_FUNC_f%% and the like */
            skip = !(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
                     || (*c >= '0' && *c <= '9'));
        for (size_t i = 0; !skip && i < sizeof(own) / sizeof(own[0]); i++)
            skip = !strncmp(*e, own[i], strlen(own[i]));
        if (skip)
            continue;
        strbuf_addstr(wrap, "# flux: --env=");
        sh_quote(wrap, *e);
        strbuf_addstr(wrap, "\n");
    }
}

int cmd_batch(int argc, char **argv)
{
    struct strbuf opts = STRBUF_INIT, wrap = STRBUF_INIT;
    int rc = CLI_EXIT_ERROR;
    int first = alloc_options(argc, argv, usage, &opts);
    if (first < 0) {
        strbuf_release(&opts);
        return CLI_PARSE_CODE(first);
    }
    optind = first;
    if (optind >= argc) {
        fputs(usage, stderr);
        strbuf_release(&opts);
        return CLI_EXIT_USAGE;
    }
    size_t len, dend;
    char *script = read_script(argv[optind], &len);
    if (!script)
        goto out;
    /* a heredoc delimiter the script does not hold */
    char delim[48];
    unsigned long long r = 0;
    do {
        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
            r ^= (unsigned long long)getpid() << 20 ^ (unsigned long long)len;
        snprintf(delim, sizeof(delim), "FLUXFS_BATCH_%016llx", r);
    } while (strstr(script, delim));
    dend = directives_end(script, len);
    /* #!/bin/sh, then what the script's own directives may override: the
     * job is named after the script and gets our environment, as with flux
     * batch; then the script's directives (its own #! line dropped) */
    strbuf_addstr(&wrap, "#!/bin/sh\n# flux: --job-name=");
    const char *base = strrchr(argv[optind], '/');
    sh_quote(&wrap, base ? base + 1 : argv[optind]);
    strbuf_addstr(&wrap, "\n");
    add_environment(&wrap);
    const char *nl = memchr(script, '\n', dend);
    if (nl)
        strbuf_add(&wrap, nl + 1, dend - (size_t)(nl + 1 - script));
    if (wrap.len && wrap.buf[wrap.len - 1] != '\n')
        strbuf_addstr(&wrap, "\n");
    if (opts.len)
        strbuf_addf(&wrap, "# flux:%s\n", opts.buf);
    strbuf_addstr(&wrap,
        "# fluxfs batch: an instance of the allocation's own, then the script in it\n"
        "fluxfs_batch=\"$FLUXFS_MOUNT/jobs/$FLUX_JOB_ID/batch\"\n"
        "mkdir \"$fluxfs_batch\" || exit 1\n"
        "export FLUXFS_MOUNT=\"$fluxfs_batch\"\n"
        "fluxfs_script=$(mktemp \"${TMPDIR:-/tmp}/fluxfs-batch.XXXXXX\") || exit 126\n"
        "cat >\"$fluxfs_script\" <<'");
    strbuf_addf(&wrap, "%s'\n", delim);
    strbuf_add(&wrap, script, len);
    if (len && script[len - 1] != '\n')
        strbuf_addstr(&wrap, "\n");
    strbuf_addf(&wrap, "%s\n", delim);
    strbuf_addstr(&wrap, "chmod 700 \"$fluxfs_script\"\nset --");
    for (int i = optind + 1; i < argc; i++) {
        strbuf_addstr(&wrap, " ");
        sh_quote(&wrap, argv[i]);
    }
    strbuf_addstr(&wrap, "\n\"$fluxfs_script\" \"$@\"\nfluxfs_rc=$?\nrm -f \"$fluxfs_script\"\n"
                         "exit $fluxfs_rc\n");
    char *ids;
    if (cli_submit_ids(wrap.buf, wrap.len, &ids) == 0) {
        fputs(ids, stdout);   /* an --array script's jobs, a line each */
        free(ids);
        rc = CLI_EXIT_OK;
    }
    free(script);
out:
    strbuf_release(&opts);
    strbuf_release(&wrap);
    return rc;
}

static const char alloc_usage[] =
    "Usage: fluxfs alloc [OPTIONS] [COMMAND [ARGS...]]\n"
    "Get an allocation with an instance of its own and run COMMAND (default: your\n"
    "shell) here in it, as flux alloc: FLUXFS_MOUNT is that instance, so fluxfs\n"
    "run/submit and cp schedule within the allocation. When COMMAND exits, the\n"
    "allocation is released; alloc exits with COMMAND's status.\n\n"
    ALLOC_OPTIONS_HELP;

/* What the allocation's job runs: the nested instance, then it holds the
 * allocation until released (or canceled, or its time limit). Released is
 * SIGUSR1 when the command succeeded, SIGUSR2 when it failed: the job then
 * ends COMPLETED or FAILED 1, as flux alloc's job ends with its command,
 * not CANCELED (which `fluxfs account` counts as a failure). */
static const char alloc_body[] =
    "# fluxfs alloc: an instance of the allocation's own, held until released\n"
    "trap 'exit 0' USR1\n"
    "trap 'exit 1' USR2\n"
    "mkdir \"$FLUXFS_MOUNT/jobs/$FLUX_JOB_ID/alloc\" || exit 1\n"
    "sleep 2147483647 &\n"
    "wait $!\n";

/* A signal that came (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD) within
 * ms, or 0:
 * signals are read from sfd, not handled, so no state is shared with a
 * handler. */
static int next_signal(int sfd, int ms)
{
    struct pollfd p = { .fd = sfd, .events = POLLIN };
    struct signalfd_siginfo si;
    if (poll(&p, 1, ms) <= 0 || read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return 0;
    return (int)si.ssi_signo;
}

/* Ask the allocation's job to end (a ctl verb), then wait up to 30 s for it
 * to be INACTIVE, as salloc waits for its allocation to be relinquished. */
static void alloc_end(const char *id, const char *verb, const char *what)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/jobs/%s/ctl", cli_mount(), id);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, verb, strlen(verb)) != (ssize_t)strlen(verb))
        cli_err("alloc: could not release job %s: %s", id, strerror(errno));
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof(path), "%s/jobs/%s/wait", cli_mount(), id);
    struct pollfd p = { .fd = open(path, O_RDONLY | O_CLOEXEC), .events = POLLIN };
    if (p.fd >= 0) {
        poll(&p, 1, 30 * 1000);
        close(p.fd);
    }
    fprintf(stderr, "fluxfs alloc: job %s %s\n", id, what);
}

int cmd_alloc(int argc, char **argv)
{
    struct strbuf opts = STRBUF_INIT, spec = STRBUF_INIT;
    int first = alloc_options(argc, argv, alloc_usage, &opts), rc = CLI_EXIT_ERROR, sig;
    char id[64], inner[4096], path[4200];
    if (first < 0) {
        strbuf_release(&opts);
        return CLI_PARSE_CODE(first);
    }
    strbuf_addstr(&spec, "#!/bin/sh\n# flux: --job-name=alloc\n");
    if (opts.len)
        strbuf_addf(&spec, "# flux:%s\n", opts.buf);
    strbuf_addstr(&spec, alloc_body);
    /* from the submission on, an interrupt, a TERM or a hangup (a closed
     * ssh session) must not leave the allocation held with nobody in it */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGQUIT);
    sigaddset(&sigs, SIGCHLD);
    sigprocmask(SIG_BLOCK, &sigs, &old);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    if (cli_submit_text(spec.buf, spec.len, id, sizeof(id)) < 0)
        goto out;
    fprintf(stderr, "fluxfs alloc: job %s: waiting for its resources...\n", id);
    snprintf(inner, sizeof(inner), "%s/jobs/%s/alloc", cli_mount(), id);
    snprintf(path, sizeof(path), "%s/status", inner);
    /* ready once the nested tree answers; a job that ends first failed */
    for (;;) {
        if (access(path, R_OK) == 0)
            break;
        char *state = cli_job_file(id, "state", NULL);
        bool over = state && !strncmp(state, "INACTIVE", 8);
        free(state);
        if (over) {
            char *result = cli_job_file(id, "result", NULL), *err = cli_job_file(id, "stderr", NULL);
            cli_err("alloc: job %s ended before its instance was up: %s%s%s", id,
                    result ? result : "?", err && *err ? "\n" : "", err ? err : "");
            free(result);
            free(err);
            goto out;
        }
        if ((sig = next_signal(sfd, 50)) && sig != SIGCHLD) {
            alloc_end(id, "cancel\n", "canceled while it waited");
            rc = 128 + sig;
            goto out;
        }
    }
    fprintf(stderr, "fluxfs alloc: job %s: an instance of your own at %s\n", id, inner);
    const char *shell = getenv("SHELL");
    char *argv_shell[] = { (char *)(shell && *shell ? shell : "/bin/sh"), NULL };
    char **cmd = first < argc ? argv + first : argv_shell;
    pid_t pid = fork();
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        setenv("FLUXFS_MOUNT", inner, 1);
        setenv("FLUX_JOB_ID", id, 1);
        execvp(cmd[0], cmd);
        fprintf(stderr, "fluxfs alloc: %s: %s\n", cmd[0], strerror(errno));
        _exit(127);
    }
    /* the command has the terminal: its ^C and ^\ are its own (the
     * terminal sends them to both of us); a TERM or a hangup sent to us
     * is passed on to it, and the allocation released once it is gone */
    int status = 0;
    while (pid > 0) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            break;
        if ((sig = next_signal(sfd, 1000)) == SIGTERM || sig == SIGHUP)
            kill(pid, sig);
    }
    rc = pid < 0 ? CLI_EXIT_ERROR : WIFEXITED(status) ? WEXITSTATUS(status)
                                                      : 128 + WTERMSIG(status);
    /* released: the allocation's job and its instance end (alloc_body) */
    alloc_end(id, rc == 0 ? "signal USR1\n" : "signal USR2\n", "released");
out:
    /* the signals stay blocked: one still pending (a ^C the terminal sent
     * to us with the command) would kill us before we return its status,
     * and we exit next */
    if (sfd >= 0)
        close(sfd);
    strbuf_release(&opts);
    strbuf_release(&spec);
    return rc;
}
