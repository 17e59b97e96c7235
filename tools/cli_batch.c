/* cli_batch.c - `fluxfs batch SCRIPT`, as `flux batch`: the script runs in
 * an allocation of its own with an instance of its own in it.
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
#include <sys/random.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "tools/cli.h"

#define BATCH_SCRIPT_MAX (120u << 10)   /* the tree takes 128 KiB with the wrapper */

static const char usage[] =
    "Usage: fluxfs batch [OPTIONS] SCRIPT [ARGS...]\n"
    "Submit SCRIPT (it starts with #!) to run once in an allocation with an\n"
    "instance of its own, as flux batch: in the script, FLUXFS_MOUNT is that\n"
    "instance, so fluxfs run/submit and cp schedule within the allocation.\n"
    "The script's '# flux:' and '#SBATCH' directives apply; these options add\n"
    "to them. Prints the job's id.\n\n"
    "  -N, --nodes=N           nodes of the allocation\n"
    "  -n, --ntasks=N          slots (tasks of one core) of the allocation\n"
    "  -c, --cores-per-task=N  cores per slot\n"
    "  -g, --gpus-per-task=N   gpus per slot\n"
    "  -t, --time-limit=T      30s, 5m, 1h, 2d, or minutes\n"
    "      --job-name=NAME     the job's name\n"
    "      --env=NAME=VALUE    set a variable for the script\n"
    "      --exclusive         whole nodes (with -N)\n"
    "  -m, --mount=DIR         the instance's mount point\n"
    "  -h, --help              this help\n";

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

int cmd_batch(int argc, char **argv)
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
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    struct strbuf opts = STRBUF_INIT, wrap = STRBUF_INIT;
    int c, rc = CLI_EXIT_ERROR;
    while ((c = getopt_long(argc, argv, "+N:n:c:g:t:m:h", longopts, NULL)) != -1) {
        const char *name = NULL;
        switch (c) {
        case 'N': name = "--nodes"; break;
        case 'n': name = "--ntasks"; break;
        case 'c': name = "--cores-per-task"; break;
        case 'g': name = "--gpus-per-task"; break;
        case 't': name = "--time-limit"; break;
        case 'J': name = "--job-name"; break;
        case 'E': name = "--env"; break;
        case 'x': strbuf_addstr(&opts, " --exclusive"); continue;
        case 'm': cli_set_mount(optarg); continue;
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        default: fputs(usage, stderr); return CLI_EXIT_USAGE;
        }
        if (strchr(optarg, '\n')) {
            cli_err("batch: %s: a value cannot hold a newline", name);
            return CLI_EXIT_USAGE;
        }
        /* a directive line is split as sh words (RFC 36) */
        strbuf_addf(&opts, " %s=", name);
        sh_quote(&opts, optarg);
    }
    if (optind >= argc) {
        fputs(usage, stderr);
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
    /* #!/bin/sh, then the script's directives (its own #! line dropped) */
    strbuf_addstr(&wrap, "#!/bin/sh\n");
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
    char id[64];
    if (cli_submit_text(wrap.buf, wrap.len, id, sizeof(id)) == 0) {
        printf("%s\n", id);
        rc = CLI_EXIT_OK;
    }
    free(script);
out:
    strbuf_release(&opts);
    strbuf_release(&wrap);
    return rc;
}
