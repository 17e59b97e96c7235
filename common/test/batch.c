/* test/batch.c - unit tests for common/batch.c: directives to jobspec, and
 * running the produced command for real to prove the script materializes */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/batch.h"
#include "common/jobspec.h"
#include "common/tap.h"

/* Convert and parse; returns batch_to_jobspec's rc. */
static int convert(const char *script, struct jobspec **js, struct errmsg *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    *js = NULL;
    err->text[0] = '\0';
    if ((rc = batch_to_jobspec(script, strlen(script), &text, &len, err)) < 0) {
        if (text)
            diag("output set on failure");
        return rc;
    }
    if (len != strlen(text))
        diag("jlen %zu != strlen %zu", len, strlen(text));
    if (jobspec_parse(text, len, js, err) < 0) {
        diag("jobspec_parse: %s", err->text);
        rc = -999;
    }
    free(text);
    return rc;
}

/* Expect failure with exactly this reason. */
static void fails(const char *script, int want_rc, const char *want, const char *what)
{
    struct jobspec *js;
    struct errmsg err;
    int rc = convert(script, &js, &err);

    is(rc, want_rc, "%s: rc", what);
    is_str(err.text, want, "%s: reason", what);
    jobspec_destroy(js);
}

static void test_is_script(void)
{
    ok(batch_is_script("#!/bin/sh\n", 10), "'#!/bin/sh' is a script");
    ok(batch_is_script("#!", 2), "'#!' alone is a script (rejected later)");
    ok(!batch_is_script("#!", 1), "length is honoured");
    ok(!batch_is_script("version: 1\n", 11), "YAML jobspec is not a script");
    ok(!batch_is_script("{\"version\": 1}", 14), "JSON jobspec is not a script");
    ok(!batch_is_script("# comment\n#!/bin/sh\n", 20), "'#!' must come first");
    ok(!batch_is_script(NULL, 0), "NULL is not a script");
}

static void test_flux(void)
{
    struct jobspec *js;
    struct errmsg err;
    const char *s =
        "#!/bin/bash\n"
        "# flux: -N 2 -n 4 -c2 -g 1\n"
        "#flux: --time-limit=90s --job-name=\"my job\"  # a comment -n 99\n"
        "# FLUX: --cwd /tmp --exclusive\n"
        "echo hi\n";

    is(convert(s, &js, &err), 0, "flux directives: converted (%s)", err.text);
    if (!js)
        return;
    is(js->nnodes, 2, "-N 2: two nodes");
    is(js->nslots, 2, "-n 4 over 2 nodes: two slots per node");
    is(js->slot_cores, 2, "-c2: two cores per slot");
    is(js->slot_gpus, 1, "-g 1: one gpu per slot");
    ok(js->node_exclusive, "--exclusive: nodes exclusive");
    ok(js->duration == 90., "--time-limit=90s: 90 seconds");
    is_str(js->name, "my job", "quoted --job-name");
    is_str(js->cwd, "/tmp", "--cwd");
    is(js->total, 1, "the script is one task");
    is(jobspec_ntasks(js), 1, "one task in all");
    ok(js->environment == NULL, "no environment attribute (the daemon's is inherited)");
    ok(js->argc >= 6 && !strcmp(js->argv[0], "/bin/sh") && !strcmp(js->argv[4], s),
       "the command carries the script verbatim");
    is_str(js->argv[js->argc - 1], "/bin/bash", "the interpreter ends the command");
    jobspec_destroy(js);
}

static void test_slurm(void)
{
    struct jobspec *js;
    struct errmsg err;

    is(convert("#!/bin/bash\n#SBATCH -n 2 -t 00:05:00\nsrun hostname\n", &js, &err), 0,
       "#SBATCH -n 2 -t 00:05:00: converted (%s)", err.text);
    if (js) {
        is(js->nnodes, 0, "no node level");
        is(js->nslots, 2, "two slots");
        is(js->slot_cores, 1, "one core each");
        is(js->slot_gpus, 0, "no gpus");
        ok(js->duration == 300., "five minutes");
        is_str(js->name, "batch", "default name");
        ok(js->cwd == NULL, "no cwd");
        is(jobspec_total_slots(js), 2, "allocation of 2 slots");
        is(jobspec_ntasks(js), 1, "script runs once");
    }
    jobspec_destroy(js);

    is(convert("#!/bin/sh\n#SBATCH --nodes=2 --ntasks-per-node=4 -c 3 --gres=gpu:a100:4\n"
               "#SBATCH -J name -D /var/tmp --exclusive\n", &js, &err), 0,
       "long Slurm options: converted (%s)", err.text);
    if (js) {
        is(js->nnodes, 2, "--nodes=2");
        is(js->nslots, 4, "--ntasks-per-node=4");
        is(js->slot_cores, 3, "-c 3");
        is(js->slot_gpus, 1, "--gres=gpu:a100:4 per node over 4 slots: 1 per slot");
        ok(js->node_exclusive, "--exclusive");
        is_str(js->name, "name", "-J");
        is_str(js->cwd, "/var/tmp", "-D");
    }
    jobspec_destroy(js);

    is(convert("#!/bin/sh\n#SBATCH -o out.%j -e err.%j -p debug -A acct\n"
               "#SBATCH --partition=x --account y --output=o --error e\n", &js, &err), 0,
       "-p and -A (%s)", err.text);
    if (js) {
        json_t *sys = json_object_get(json_object_get(js->json, "attributes"), "system");
        is_str(json_string_value(json_object_get(sys, "bank")), "y",
               "-A/--account is attributes.system.bank (the last one)");
        is_str(json_string_value(json_object_get(sys, "queue")), "x",
               "-p/--partition is attributes.system.queue");
    }
    jobspec_destroy(js);
    fails("#!/bin/sh\n#SBATCH --mail-type=END\n", -EINVAL,
          "line 2: --mail-type: fluxfs sends no mail (follow jobs with fluxfs jobs --watch, or "
          "tail -f events)", "--mail-type is refused, never silently ignored");
    fails("#!/bin/sh\n#SBATCH -n 2\n#SBATCH --mem=4G\n", -EINVAL,
          "line 3: --mem: memory is not requested by #SBATCH directives here (a jobspec may "
          "ask for memory vertices)", "--mem is refused, never silently ignored");
}

static void test_defaults_and_shapes(void)
{
    static const struct {
        const char *directives;
        int nnodes, nslots, gpus;
    } cases[] = {
        { "", 0, 1, 0 },
        { "#SBATCH -N 3\n", 3, 1, 0 },
        { "#SBATCH -N 2 -n 3\n", 2, 2, 0 },
        { "# flux: --tasks-per-node=2 -n 5\n", 3, 2, 0 },
        { "#SBATCH --ntasks-per-node=2\n", 1, 2, 0 },
        { "#SBATCH -N 2 --ntasks-per-node=1 -n 6\n", 2, 3, 0 },
        { "#SBATCH -n 4 --gres=gpu:2\n", 0, 4, 1 },
        { "#SBATCH -n 4 --gres=gpu\n", 0, 4, 1 },
        { "#SBATCH -N 1 --gres=gpu:8,gpu:v100:2\n", 1, 1, 10 },
        { "#SBATCH --gres=gpu:a100\n", 0, 1, 1 },
        { "#SBATCH --gres=gpu:4 --gpus-per-task=3\n", 0, 1, 3 },
        { "# flux: --nslots=3 --cores-per-slot=1 --gpus-per-slot=0\n", 0, 3, 0 },
        /* later wins, across kinds */
        { "#SBATCH -n 2\n# flux: -n 5\n", 0, 5, 0 },
        { "#SBATCH -N 2\n# flux: -n 6\n#SBATCH --gres=gpu:4\n", 2, 3, 2 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char script[512];
        struct jobspec *js;
        struct errmsg err;

        snprintf(script, sizeof(script), "#!/bin/sh\n%secho\n", cases[i].directives);
        if (convert(script, &js, &err) < 0) {
            ok(0, "shape %zu: converted (%s)", i, err.text);
            continue;
        }
        ok(js->nnodes == cases[i].nnodes && js->nslots == cases[i].nslots
           && js->slot_gpus == cases[i].gpus,
           "shape %zu: nodes %d slots %d gpus %d (got %d %d %d)", i, cases[i].nnodes,
           cases[i].nslots, cases[i].gpus, js->nnodes, js->nslots, js->slot_gpus);
        jobspec_destroy(js);
    }
}

static void test_time(void)
{
    static const struct {
        const char *directive;
        double want;     /* < 0: invalid */
    } cases[] = {
        { "# flux: -t 30", 1800 },
        { "# flux: -t 1.5", 90 },
        { "# flux: -t 90s", 90 },
        { "# flux: -t 10m", 600 },
        { "# flux: -t 1.5h", 5400 },
        { "# flux: -t 2d", 172800 },
        { "# flux: -t 500ms", 0.5 },
        { "# flux: -t 0", 0 },
        { "# flux: -t=.5m", 30 },
        { "# flux: -t abc", -1 },
        { "# flux: -t -5", -1 },
        { "# flux: -t 5x", -1 },
        { "# flux: -t inf", -1 },
        { "# flux: -t ''", -1 },
        { "# flux: -t 5:00", -1 },
        { "#SBATCH -t 5", 300 },
        { "#SBATCH -t 5:30", 330 },
        { "#SBATCH -t 01:00:00", 3600 },
        { "#SBATCH --time=2-12", 2 * 86400 + 12 * 3600 },
        { "#SBATCH --time 1-0:30", 86400 + 1800 },
        { "#SBATCH -t1-00:00:01", 86401 },
        { "#SBATCH -t UNLIMITED", 0 },
        { "#SBATCH -t infinite", 0 },
        { "#SBATCH -t 0", 0 },
        { "#SBATCH -t 1:2:3:4", -1 },
        { "#SBATCH -t 1-2:3:4:5", -1 },
        { "#SBATCH -t 1-", -1 },
        { "#SBATCH -t -1", -1 },
        { "#SBATCH -t 1h", -1 },
        { "#SBATCH -t 1::2", -1 },
        { "#SBATCH -t 1.5", -1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char script[256];
        struct jobspec *js;
        struct errmsg err;
        int rc;

        snprintf(script, sizeof(script), "#!/bin/sh\n%s\n", cases[i].directive);
        rc = convert(script, &js, &err);
        if (cases[i].want < 0)
            ok(rc == -EINVAL && !strncmp(err.text, "line 2: invalid -", 17),
               "'%s' rejected: %s", cases[i].directive, err.text);
        else
            ok(rc == 0 && js->duration == cases[i].want, "'%s' is %gs (got %g, %s)",
               cases[i].directive, cases[i].want, js ? js->duration : -1, err.text);
        jobspec_destroy(js);
    }
}

static void test_errors(void)
{
    fails("#!/bin/sh\n# comment\n#SBATCH --foo=bar\n", -EINVAL,
          "line 3: unknown directive '--foo'", "unknown Slurm long option");
    fails("#!/bin/sh\n# flux: -x 3\n", -EINVAL,
          "line 2: unknown directive '-x'", "unknown flux short option");
    fails("#!/bin/sh\n# flux: nodes=2\n", -EINVAL,
          "line 2: unknown directive 'nodes=2'", "a word that is not an option");
    fails("#!/bin/sh\n# flux: -J x\n", -EINVAL,
          "line 2: unknown directive '-J'", "Slurm-only option in a flux directive");
    fails("#!/bin/sh\n#SBATCH --cwd=/tmp\n", -EINVAL,
          "line 2: unknown directive '--cwd'", "flux-only option in a Slurm directive");
    fails("#!/bin/sh\n#SBATCH --mpi=pmix\n", -EINVAL,
          "line 2: unknown directive '--mpi'", "unsupported Slurm option");
    fails("#!/bin/sh\n\n#SBATCH -N 0\n", -EINVAL,
          "line 3: invalid -N value '0'", "zero nodes");
    fails("#!/bin/sh\n#SBATCH --nodes=2-4\n", -EINVAL,
          "line 2: invalid --nodes value '2-4'", "node range");
    fails("#!/bin/sh\n# flux: -c x\n", -EINVAL,
          "line 2: invalid -c value 'x'", "bad core count");
    fails("#!/bin/sh\n#SBATCH --nodes\n", -EINVAL,
          "line 2: option '--nodes' needs a value", "missing value");
    fails("#!/bin/sh\n#SBATCH --exclusive=user -N 1\n", -EINVAL,
          "line 2: option '--exclusive' takes no value", "value for a flag");
    fails("#!/bin/sh\n# flux: --job-name='abc\n", -EINVAL,
          "line 2: unterminated quote", "unterminated quote");
    fails("#!/bin/sh\n# flux: -n 4\n# flux: --exclusive\n", -EINVAL,
          "line 3: '--exclusive' needs a node count (--nodes)", "exclusive without nodes");
    fails("#!/bin/sh\n#SBATCH -N 4\n#SBATCH -n 2\n", -EINVAL,
          "line 3: more nodes (4) than tasks (2)", "more nodes than tasks");
    fails("#!/bin/sh\n#SBATCH --gres=mps:100\n", -EINVAL,
          "line 2: unsupported --gres 'mps:100' (only gpu[:TYPE][:N])", "non-gpu gres");
    fails("#!/bin/sh\n#SBATCH --gres=gpu:a:b:1\n", -EINVAL,
          "line 2: unsupported --gres 'gpu:a:b:1' (only gpu[:TYPE][:N])", "bad gres");
    fails("#!/bin/sh\n#SBATCH -D work\n", -EINVAL,
          "line 2: -D 'work' is not an absolute path", "relative cwd");
    fails("#!/bin/sh\n# flux: --env PATH\n", -EINVAL,
          "line 2: invalid --env value 'PATH' (expected NAME=VALUE)", "env without value");
    fails("#!/bin/sh\n# flux: --env 1X=y\n", -EINVAL,
          "line 2: invalid --env value '1X=y' (expected NAME=VALUE)", "bad env name");
    fails("#!/bin/sh\n# flux: --job-name=\n", -EINVAL,
          "line 2: invalid --job-name value ''", "empty name");
    fails("#!\necho\n", -EINVAL, "line 1: no interpreter after '#!'", "no interpreter");
    fails("#!bash\necho\n", -EINVAL,
          "line 1: interpreter 'bash' is not an absolute path", "relative interpreter");
    fails("version: 1\n", -EINVAL, "not a script: does not start with '#!'", "not a script");
    fails("#!/bin/sh\necho \xff\n", -EINVAL, "line 2: script is not valid UTF-8", "bad UTF-8");
    fails("#!/bin/sh\n\necho \x7f\n", -EINVAL, "line 3: script contains a DEL byte", "DEL");
    fails("#!/bin/bash\r\n#SBATCH -n 1\r\necho x\r\n", -EINVAL,
          "line 1: script has DOS line breaks (\\r\\n), not UNIX ones (\\n): convert it "
          "(dos2unix, or sed -i 's/\\r$//')", "DOS line breaks, as sbatch refuses them");
    fails("#!/bin/sh\necho a\r\n", -EINVAL,
          "line 2: script has DOS line breaks (\\r\\n), not UNIX ones (\\n): convert it "
          "(dos2unix, or sed -i 's/\\r$//')", "... on a later line too");
    fails("#!/bin/sh\n#SBATCH -N 65536 --ntasks-per-node=65536\n", -EINVAL,
          "resources: too many slots", "overflowing shape reported as jobspec_parse does");

    struct errmsg err;
    char *out = NULL;
    size_t len = 0;
    is(batch_to_jobspec("#!/bin/sh\necho\0x\n", 15, &out, &len, &err), -EINVAL, "NUL: rc");
    is_str(err.text, "line 2: script contains a NUL byte", "NUL: reason");
    ok(out == NULL && len == 0, "nothing returned on failure");

    size_t big = BATCH_SCRIPT_MAX + 1;
    char *s = malloc(big);
    memset(s, 'x', big);
    memcpy(s, "#!/bin/sh\n", 10);
    is(batch_to_jobspec(s, big, &out, &len, &err), -E2BIG, "script over BATCH_SCRIPT_MAX: E2BIG");
    is(batch_to_jobspec(s, big - 1, &out, &len, &err), 0, "script of BATCH_SCRIPT_MAX: ok (%s)",
       err.text);
    free(out);

    /* control bytes are escaped six times their size: the jobspec grows,
     * by a bounded factor, and one that would not fit is refused as such */
    memset(s + 10, '\x01', big - 11);
    out = NULL;
    err.text[0] = '\0';
    is(batch_to_jobspec(s, big - 1, &out, &len, &err), 0, "script of control bytes: ok (%s)",
       err.text);
    ok(out && len <= 6 * BATCH_SCRIPT_MAX + 4096, "its jobspec is %zu bytes", len);
    free(out);
    memcpy(s + 10, "# flux: --env=A=", 16);
    s[big / 2] = '\n';
    out = NULL;
    is(batch_to_jobspec(s, big - 1, &out, &len, &err), -E2BIG,
       "with half of them in an --env value too: E2BIG");
    ok(strstr(err.text, "script makes a jobspec of ") &&
       strstr(err.text, "more than the 1048576 a jobspec may be"), "reason: %s", err.text);
    ok(out == NULL, "nothing returned");
    free(s);
}

static void test_block_end(void)
{
    struct jobspec *js;
    struct errmsg err;

    is(convert("#!/bin/sh\n\n   # indented comment\n\t\n#SBATCH -n 3\n"
               "echo first command\n#SBATCH -n 8\n#SBATCH --bogus\n# flux: -x\n",
               &js, &err), 0, "directives after the first command are ignored (%s)", err.text);
    if (js)
        is(js->nslots, 3, "only the leading block counts; CRLF tolerated");
    jobspec_destroy(js);

    is(convert("#!/bin/sh\n# SBATCH -n 3\n##flux: -n 4\n  #SBATCH -n 5\n#SBATCHX -n 6\n"
               "# fluxx: -n 7\n", &js, &err), 0, "near-miss sentinels are plain comments (%s)",
       err.text);
    if (js)
        is(js->nslots, 1, "none of them applied");
    jobspec_destroy(js);

    is(convert("#!/bin/sh\n#SBATCH\n# flux:\n#flux:   # only a comment\n", &js, &err), 0,
       "empty directives are fine (%s)", err.text);
    jobspec_destroy(js);
}

static void test_shebang_split(void)
{
    struct jobspec *js;
    struct errmsg err;

    is(convert("#!  /bin/sh   -e -x  \necho\n", &js, &err), 0, "interpreter with argument");
    if (js) {
        is_str(js->argv[js->argc - 2], "/bin/sh", "interpreter");
        is_str(js->argv[js->argc - 1], "-e -x", "the rest is one argument, trimmed (as Linux)");
    }
    jobspec_destroy(js);
    is(convert("#!/usr/bin/env python3", &js, &err), 0, "script of one line, no newline");
    if (js) {
        is_str(js->argv[js->argc - 2], "/usr/bin/env", "env");
        is_str(js->argv[js->argc - 1], "python3", "python3");
    }
    jobspec_destroy(js);
}

/* Run the job's command as the exec backend would; returns the wait status
 * and the first outsz-1 bytes of stdout in out. */
static int run(const char *script, char *out, size_t outsz)
{
    struct jobspec *js;
    struct errmsg err;
    int fds[2], status = -1;
    size_t n = 0;
    ssize_t r;
    pid_t pid;

    out[0] = '\0';
    if (convert(script, &js, &err) < 0) {
        diag("convert: %s", err.text);
        return -1;
    }
    if (pipe(fds) < 0 || (pid = fork()) < 0) {
        jobspec_destroy(js);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (js->cwd && chdir(js->cwd) < 0)
            _exit(125);
        execv(js->argv[0], js->argv);
        _exit(127);
    }
    close(fds[1]);
    while (n < outsz - 1 && (r = read(fds[0], out + n, outsz - 1 - n)) > 0)
        n += r;
    out[n] = '\0';
    close(fds[0]);
    waitpid(pid, &status, 0);
    jobspec_destroy(js);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    bool empty = true;

    if (!d)
        return false;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            empty = false;
    closedir(d);
    return empty;
}

static void test_run(void)
{
    char tmpdir[] = "/tmp/test-batch.XXXXXX", out[4096];
    const char *bash =
        "#!/bin/bash\n"
        "# flux: --env GREETING='hello world' --env EMPTY= --env 'Q=a\"b $HOME'\n"
        "#SBATCH -n 2 -D /\n"
        "set -u\n"
        "[[ -n \"$GREETING\" ]] && echo \"bash: $GREETING [$EMPTY] $Q\"\n"
        "echo \"args: $# $0 $(pwd) $FLUXFS_TEST_INHERIT\"\n"
        "printf '%s\\n' '100% \\n $HOME `x`' 'é'\n"
        "exit 3";
    const char *python =
        "#!/usr/bin/env python3\n"
        "# flux: -n 1 --env X=1\n"
        "import os, sys\n"
        "print('python', sys.version_info[0], os.environ['X'], os.environ['FLUXFS_TEST_INHERIT'])\n"
        "sys.exit(0)\n";

    if (!mkdtemp(tmpdir)) {
        ok(0, "mkdtemp");
        return;
    }
    setenv("TMPDIR", tmpdir, 1);
    setenv("FLUXFS_TEST_INHERIT", "inherited", 1);

    is(run(bash, out, sizeof(out)), 3, "bash script runs, exit status passes through");
    is_str(out, "bash: hello world [] a\"b $HOME\n"
                "args: 0 /dev/fd/9 / inherited\n"
                "100% \\n $HOME `x`\n"
                "é\n", "bash script output: --env, cwd, inherited environment, no expansion");

    is(run(python, out, sizeof(out)), 0, "python3 script via /usr/bin/env runs");
    is_str(out, "python 3 1 inherited\n", "python script output");

    is(run("#!/bin/sh -e\nfalse\necho unreachable\n", out, sizeof(out)), 1,
       "'#!/bin/sh -e' honours its argument");
    is_str(out, "", "stopped at the first failure");

    ok(dir_is_empty(tmpdir), "no temporary file left in $TMPDIR");
    rmdir(tmpdir);
    unsetenv("TMPDIR");
}

/* # flux: directives with fluxfs submit's meaning (common/jobopt.h). */
static void test_submit_options(void)
{
    struct jobspec *js;
    struct errmsg err;
    const char *s = "#!/bin/sh\n# flux: --urgency=hold -S foo=3 -o cpu-affinity=off\n"
                    "# flux: --requires='bigmem or host:n1' --signal=USR2@30\necho\n";
    is(convert(s, &js, &err), 0, "urgency, setattr, setopt, requires, signal: ok (%s)", err.text);
    if (js) {
        json_t *sys = json_object_get(json_object_get(js->json, "attributes"), "system");
        is((int)json_integer_value(json_object_get(sys, "urgency")), 0, "--urgency=hold: 0");
        is((int)json_integer_value(json_object_get(sys, "foo")), 3, "-S foo=3: system.foo");
        is_str(json_string_value(json_object_get(json_object_get(json_object_get(sys, "shell"),
                                 "options"), "cpu-affinity")), "off", "-o: a shell option");
        ok(json_is_array(json_object_get(json_object_get(sys, "constraints"), "or")),
           "--requires: RFC 31 constraints");
        is(js->signal_num, 12, "--signal=USR2@30: signal 12");
        ok(js->signal_timeleft == 30, "... 30 s before the limit");
    }
    jobspec_destroy(js);
    is(convert("#!/bin/sh\n# flux: -N 2 --cores=8\n", &js, &err), 0, "-N 2 --cores=8: ok");
    if (js) {
        is(js->nnodes * js->nslots, 2, "... a slot a node");
        is(js->slot_cores, 4, "... of 4 cores");
    }
    jobspec_destroy(js);
    is(convert("#!/bin/sh\n# flux: -N 2 --gpus-per-node=1\n", &js, &err), 0,
       "-N 2 --gpus-per-node=1: ok");
    if (js) {
        ok(js->node_exclusive && js->slot_gpus == 1, "... whole nodes, a gpu in each slot");
    }
    jobspec_destroy(js);
    is(convert("#!/bin/sh\n# flux: -N 2 --cores=6 --tasks-per-node=2 --gpus-per-node=1\n", &js,
               &err), 0, "-N 2 --cores=6 --tasks-per-node=2 --gpus-per-node=1: ok (%s)", err.text);
    if (js)
        ok(js->nslots == 1 && js->slot_cores == 3 && js->slot_gpus == 1,
           "... one slot a node, of 3 cores and the node's gpu (as fluxfs submit)");
    jobspec_destroy(js);
    struct batch_array a;
    const char *big = "#!/bin/sh\n#SBATCH --array=1-2:9223372036854775807\n";
    is(batch_array_read(big, strlen(big), &a, &err), 0, "a step near LONG_MAX: ok");
    ok(a.count == 1 && a.index[0] == 1, "... index 1 only, no overflow");
    batch_array_release(&a);
    fails("#!/bin/sh\n# flux: -n 2\n# flux: --cores=4\n", -EINVAL,
          "line 3: per-resource options (--cores, --gpus-per-node) can't be used with per-task "
          "options (-n, -c, -g, line 2)", "per-resource with per-task");
    fails("#!/bin/sh\n# flux: --requires=(a)\n", -EINVAL,
          "line 2: --requires: cannot read '(a)' (terms: PROPERTY, host:HOSTLIST, rank:IDSET, "
          "-TERM or not TERM, joined by blanks (and) or 'or'; no parentheses)", "a bad --requires");
    fails("#!/bin/sh\n# flux: --signal=BOGUS\n", -EINVAL,
          "line 2: --signal: invalid 'BOGUS' (SIG@TIME: e.g. USR1@60, SIGTERM@5m, @2m, 10)",
          "a bad --signal");
}

/* Slurm's --array: the indices read, and what each element's jobspec holds. */
static void test_array(void)
{
    struct batch_array a;
    struct errmsg err = { "" };
    const char *s1 = "#!/bin/sh\n#SBATCH --array=7,1-3,2 -o o-%A_%a-%j.%N\necho\n";
    const char *s2 = "#!/bin/sh\n#SBATCH -a 0-15:4%3\necho\n";

    is(batch_array_read(s1, strlen(s1), &a, &err), 0, "array read: ok (%s)", err.text);
    is((int)a.count, 4, "7,1-3,2: four indices, a repeat once");
    ok(a.count == 4 && a.index[0] == 1 && a.index[1] == 2 && a.index[2] == 3 && a.index[3] == 7,
       "... ascending");
    is(a.limit, 0, "... no limit");
    batch_array_release(&a);
    is(batch_array_read(s2, strlen(s2), &a, &err), 0, "-a 0-15:4%%3: ok");
    ok(a.count == 4 && a.index[0] == 0 && a.index[3] == 12 && a.limit == 3,
       "... 0 4 8 12, limit 3");
    batch_array_release(&a);
    is(batch_array_read("version: 1\n", 11, &a, &err), 0, "a jobspec is no array");
    is((int)a.count, 0, "... count 0");

    char *text = NULL;
    size_t len;
    is(batch_to_jobspec(s1, strlen(s1), &text, &len, &err), -EINVAL,
       "batch_to_jobspec refuses an array script");
    ok(!strncmp(err.text, "line 2: --array", 15), "... naming the line (%s)", err.text);
    struct batch_elem e = { .array_id = "fA1", .index = 3 };
    is(batch_element_to_jobspec(s1, strlen(s1), &e, &text, &len, &err), 0, "element 3: ok");
    struct jobspec *js = NULL;
    is(jobspec_parse(text, len, &js, &err), 0, "... a valid jobspec");
    if (js) {
        is_str(js->array_id, "fA1", "... attributes.system.array.id");
        is(js->array_index, 3, "... .index");
        is_str(js->out_path, "o-fA1_3-{{id}}.{{node}}", "... -o with %%A %%a %%j %%N");
        ok(strstr(text, "SLURM_ARRAY_TASK_ID=3") && strstr(text, "SLURM_ARRAY_JOB_ID=fA1")
           && strstr(text, "SLURM_ARRAY_TASK_COUNT=4") && strstr(text, "SLURM_ARRAY_TASK_MAX=7"),
           "... the SLURM_ARRAY_* variables");
    }
    jobspec_destroy(js);
    free(text);

    const char *s3 = "#!/bin/sh\n#SBATCH -o o-%A-%a\necho\n";
    is(batch_to_jobspec(s3, strlen(s3), &text, &len, &err), 0, "not an array: %%A %%a allowed");
    if (jobspec_parse(text, len, &js, &err) == 0) {
        is_str(js->out_path, "o-{{id}}-4294967294", "... as sbatch writes them (%%a NO_VAL)");
        jobspec_destroy(js);
    }
    free(text);
    fails("#!/bin/sh\n#SBATCH --array=1-20000\n", -E2BIG,
          "line 2: --array '1-20000': more than 10000 elements", "an array too large");
    fails("#!/bin/sh\n#SBATCH --array=1-4000001\n", -EINVAL,
          "line 2: --array '1-4000001': an index may be at most 4000000", "an index too large");
    fails("#!/bin/sh\n#SBATCH --array=1-0:1\n", -EINVAL,
          "line 2: --array '1-0:1': expected N, N-M or N-M:STEP, comma separated, then "
          "optionally %LIMIT (e.g. 1-10%2)", "a range backwards");
    fails("#!/bin/sh\n#SBATCH --array=1-3%x\n", -EINVAL,
          "line 2: --array '1-3%x': the limit after '%' must be a number >= 1", "a bad limit");
}

int main(void)
{
    plan(NO_PLAN);
    test_is_script();
    test_flux();
    test_slurm();
    test_defaults_and_shapes();
    test_time();
    test_errors();
    test_block_end();
    test_shebang_split();
    test_array();
    test_submit_options();
    test_run();
    return done_testing();
}
