/* cli_submit.c - fluxfs submit and fluxfs run.
 *
 * Builds a Flux V1 jobspec from a command line the way flux-core's
 * JobspecV1.from_command does, and submits it through the queue/new clone
 * file: write the jobspec, read back the id.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/idset.h"
#include "common/jobopt.h"
#include "common/fluid.h"
#include "common/strbuf.h"
#include "common/jsonw.h"
#include "tools/cli.h"

extern char **environ;

struct submit_opts {
    int ntasks;              /* 0 = not given */
    int nnodes;              /* 0 = not given */
    int cores;
    int gpus;
    bool exclusive;
    double duration;
    int urgency;             /* -1 = not given */
    const char *cwd;
    const char *name;
    const char *cc;
    const char *deps[16];    /* --dependency=SCHEME:JOBID, in order */
    int ndeps;
    bool verbose;
    bool label;              /* -l: each output line after "RANK: " */
    int wait;                /* submit: 1 --wait for the jobs, 2 --watch them */
    bool bcc;                /* --bcc: copies without FLUX_JOB_CC */
    bool quiet;              /* --quiet: no ids printed */
    bool dry_run;            /* --dry-run: print the jobspecs, submit nothing */
    int tasks_per_node;      /* --tasks-per-node (with -N), or 0 */
    int cores_total;         /* --cores: in all (Flux's per-resource form), or 0 */
    int gpus_per_node;       /* --gpus-per-node (with -N), or -1 */
    bool per_task;           /* -n, -c or -g was given */
    int slots_per_node;      /* per-resource: 1 slot a node, per_slot tasks in it */
    int per_slot;
    const char *requires[8]; /* --requires: RFC 35 queries, all to hold */
    int nrequires;
    const char *signal;      /* --signal=SIG@TIME */
    double begin;            /* --begin-time: seconds since the epoch, or 0 */
    const char *output;      /* --output, --error: file templates ({{id}}...) */
    const char *error;
    const char *input;       /* --input: the tasks' stdin */
    char **env_rules;        /* --env / --env-remove, in order; "-PATTERN" removes (owned) */
    int nenv_rules, env_cap;
    const char *queue;       /* -q/--queue: attributes.system.queue */
    const char *bank;        /* -B/--bank: attributes.system.bank */
    const char *attrs[32];   /* --setattr KEY=VAL, --setopt OPT[=VAL] (as "shell.options.") */
    bool attr_is_opt[32];
    int nattrs;
};

/* system.shell.options, made if need be. */
static json_t *shell_options(json_t *system)
{
    json_t *shell = json_object_get(system, "shell");
    if (!shell)
        json_object_set_new(system, "shell", shell = json_pack("{s:{}}", "options"));
    return json_object_get(shell, "options");
}

/* Flux's per-resource options (--cores, --tasks-per-node, --gpus-per-node)
 * as the per-task shape that asks for the same: a slot a node holding
 * N/nodes cores (and the node's gpus), tasks-per-node tasks in it; or,
 * without -N, a one-core slot a core. -N without --cores: whole nodes. */
static int per_resource_shape(struct submit_opts *o)
{
    if (!o->cores_total && !o->tasks_per_node && o->gpus_per_node < 0)
        return 0;
    if (o->per_task) {
        cli_err("per-resource options (--cores, --tasks-per-node, --gpus-per-node) can't "
                "be used with per-task options (-n, -c, -g)");
        return -1;
    }
    if ((o->gpus_per_node >= 0 || o->tasks_per_node) && !o->nnodes) {
        cli_err("%s needs --nodes", o->tasks_per_node ? "--tasks-per-node" : "--gpus-per-node");
        return -1;
    }
    if (o->nnodes && o->cores_total) {
        if (o->cores_total < o->nnodes || o->cores_total % o->nnodes) {
            cli_err("--cores=%d must be a multiple of --nodes=%d", o->cores_total, o->nnodes);
            return -1;
        }
        o->cores = o->cores_total / o->nnodes;
    } else if (o->nnodes)
        o->exclusive = true;
    o->gpus = o->gpus_per_node > 0 ? o->gpus_per_node : 0;
    o->ntasks = o->nnodes ? o->nnodes : o->cores_total;
    o->slots_per_node = 1;
    o->per_slot = o->tasks_per_node ? o->tasks_per_node : 1;
    return 0;
}

static void submit_usage(FILE *f, bool run)
{
    const char *cmd = run ? "run" : "submit";
    fprintf(f,
            "Usage: fluxfs %s [OPTIONS] COMMAND [ARGS...]\n"
            "%s\n\n"
            "  -n, --ntasks=N          number of tasks (default 1, or NODES with -N)\n"
            "  -N, --nodes=N           number of nodes to spread the tasks over; without\n"
            "                          -n: one task per node on whole (exclusive) nodes\n"
            "  -c, --cores-per-task=N  cores per task (default 1)\n"
            "  -g, --gpus-per-task=N   gpus per task (default 0)\n"
            "  -x, --exclusive         with -N: allocate whole nodes\n"
            "  -t, --time-limit=T      minutes, or FSD: 30s, 5m, 1.5h, 1d (default 0: none)\n"
            "      --urgency=N         urgency 0-16 (0 holds the job), or hold (0),\n"
            "                          default (16), expedite (31: root only)\n"
            "      --cores=N           N cores in all, a task on each (with -N: a task a\n"
            "                          node, N/nodes cores each)\n"
            "      --tasks-per-node=N  with -N: N tasks on each node (sharing --cores)\n"
            "      --gpus-per-node=N   with -N: N gpus on each node\n"
            "                          (--cores, --tasks-per-node and --gpus-per-node are\n"
            "                          Flux's per-resource options: not with -n, -c, -g)\n"
            "      --requires=QUERY    only nodes matching QUERY: properties, host:LIST,\n"
            "                          rank:IDSET, -TERM (not), 'or' (Flux RFC 35)\n"
            "      --signal=SIG@TIME   send SIG (default USR1) TIME (FSD, default 60s)\n"
            "                          before the time limit\n"
            "      --env=RULE          NAME=VALUE sets, -PATTERN removes (glob), NAME keeps;\n"
            "                          applied in order to a copy of our environment\n"
            "      --env-remove=PAT    remove variables matching the glob PAT\n"
            "      --env-file=FILE     more --env rules, one a line (# comments)\n"
            "  -q, --queue=NAME        submit to the named queue (queue/NAME/)\n"
            "  -B, --bank=NAME         charge the bank NAME (fair share)\n"
            "  -S, --setattr=KEY=VAL   set attributes.KEY (system. unless it says user.)\n"
            "                          to VAL, JSON or else a string\n"
            "  -o, --setopt=OPT[=VAL]  set the shell option OPT (VAL as --setattr; 1)\n"
            "      --cwd=DIR           working directory of the tasks (default: ours)\n"
            "      --job-name=NAME     name shown by fluxfs jobs (default: the command)\n"
            "      --dependency=S:ID   wait for job ID: S = after, afterany, afterok,\n"
            "                          afternotok (repeatable); or singleton: one job\n"
            "                          of your name at a time\n"
            "      --begin-time=WHEN   not before WHEN: +FSD from now (+30m, +2h) or\n"
            "                          seconds since the epoch\n"
            "  -l, --label-io          each line of output after its task's rank, \"3: \"\n"
            "      --output=TEMPLATE   the tasks' stdout (and stderr, without --error) to\n"
            "                          this file, opened by them as you: {{id}}, {{name}},\n"
            "                          {{user}} are replaced (default: jobs/ID/stdout)\n"
            "      --error=TEMPLATE    the tasks' stderr to this file\n"
            "      --input=FILE        the tasks' stdin from this file (default /dev/null)\n",
            cmd,
            run ? "Submit a job, copy its stdout/stderr to ours while it runs, and exit\n"
                  "with its status: COMPLETED 0 -> 0, FAILED n -> n, CANCELED or LOST -> 1,\n"
                  "TIMEOUT -> 124. Ctrl-C cancels the job and waits for it to end; a\n"
                  "second Ctrl-C detaches (exit 130)."
                : "Submit a job and print its id (the name of its directory in jobs/).");
    if (run)
        fprintf(f, "  -v, --verbose           print the job id on stderr\n");
    else
        fprintf(f, "      --cc=IDSET          submit one copy per id in IDSET (1-10,15),\n"
                   "                          replacing {cc} in COMMAND and ARGS, with\n"
                   "                          FLUX_JOB_CC=id in its environment; one id a line\n"
                   "      --bcc=IDSET         as --cc, without FLUX_JOB_CC\n"
                   "      --quiet             print no job ids\n"
                   "      --dry-run           print the jobspecs (one JSON a line), submit nothing\n"
                   "      --wait              then wait for the jobs to end; exit as fluxfs run\n"
                   "                          would (the worst of them)\n"
                   "      --watch             then show their output as they run, and wait\n");
    fprintf(f, "  -m, --mount=DIR         the instance's mount point\n"
               "  -h, --help              this help\n");
}

static int parse_int(const char *opt, const char *s, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < min || v > max) {
        cli_err("%s: invalid value '%s' (expected an integer %d-%d)", opt, s, min, max);
        return -EINVAL;
    }
    *out = (int)v;
    return 0;
}

static void submit_opts_release(struct submit_opts *o)
{
    for (int i = 0; o->env_rules && i < o->nenv_rules; i++)
        free(o->env_rules[i]);
    free(o->env_rules);
    o->env_rules = NULL;
}

/* --env-file: one --env rule a line; blank lines and '#' comments skipped. */
static int read_env_file(struct submit_opts *o, const char *path)
{
    FILE *f = fopen(path, "re");
    char line[8192];
    if (!f) {
        cli_err("--env-file: %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *r = line + strspn(line, " \t");
        if (!*r || *r == '#')
            continue;
        if (o->nenv_rules + 1 >= o->env_cap) {
            char **g = realloc(o->env_rules, (size_t)o->env_cap * 2 * sizeof(*g));
            if (!g) {
                fclose(f);
                cli_err("out of memory");
                return -1;
            }
            o->env_rules = g;
            o->env_cap *= 2;
        }
        if (!(o->env_rules[o->nenv_rules] = strdup(r))) {
            fclose(f);
            cli_err("out of memory");
            return -1;
        }
        o->nenv_rules++;
    }
    fclose(f);
    return 0;
}

/* Parse options (release o after); returns the index of COMMAND in argv, or -exit code. */
static int submit_parse(int argc, char **argv, bool run, struct submit_opts *o)
{
    enum { OPT_URGENCY = 256, OPT_ENV, OPT_ENV_REMOVE, OPT_CWD, OPT_NAME, OPT_CC, OPT_DEP,
           OPT_WAIT, OPT_WATCH, OPT_BCC, OPT_QUIET, OPT_DRY_RUN, OPT_TPN, OPT_OUTPUT,
           OPT_ERROR, OPT_BEGIN, OPT_ENV_FILE, OPT_INPUT, OPT_CORES, OPT_GPN, OPT_REQUIRES,
           OPT_SIGNAL };
    static const struct option longopts[] = {
        { "ntasks", required_argument, NULL, 'n' },
        { "nodes", required_argument, NULL, 'N' },
        { "cores-per-task", required_argument, NULL, 'c' },
        { "gpus-per-task", required_argument, NULL, 'g' },
        { "exclusive", no_argument, NULL, 'x' },
        { "time-limit", required_argument, NULL, 't' },
        { "urgency", required_argument, NULL, OPT_URGENCY },
        { "env", required_argument, NULL, OPT_ENV },
        { "env-remove", required_argument, NULL, OPT_ENV_REMOVE },
        { "env-file", required_argument, NULL, OPT_ENV_FILE },
        { "setattr", required_argument, NULL, 'S' },
        { "setopt", required_argument, NULL, 'o' },
        { "cwd", required_argument, NULL, OPT_CWD },
        { "job-name", required_argument, NULL, OPT_NAME },
        { "dependency", required_argument, NULL, OPT_DEP },
        { "cc", required_argument, NULL, OPT_CC },
        { "bcc", required_argument, NULL, OPT_BCC },
        { "quiet", no_argument, NULL, OPT_QUIET },
        { "dry-run", no_argument, NULL, OPT_DRY_RUN },
        { "tasks-per-node", required_argument, NULL, OPT_TPN },
        { "cores", required_argument, NULL, OPT_CORES },
        { "gpus-per-node", required_argument, NULL, OPT_GPN },
        { "requires", required_argument, NULL, OPT_REQUIRES },
        { "signal", required_argument, NULL, OPT_SIGNAL },
        { "queue", required_argument, NULL, 'q' },
        { "bank", required_argument, NULL, 'B' },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "begin-time", required_argument, NULL, OPT_BEGIN },
        { "input", required_argument, NULL, OPT_INPUT },
        { "error", required_argument, NULL, OPT_ERROR },
        { "wait", no_argument, NULL, OPT_WAIT },
        { "watch", no_argument, NULL, OPT_WATCH },
        { "verbose", no_argument, NULL, 'v' },
        { "label-io", no_argument, NULL, 'l' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    memset(o, 0, sizeof(*o));
    o->cores = 1;
    o->urgency = -1;
    o->gpus_per_node = -1;
    o->env_cap = argc + 1;
    o->env_rules = calloc(o->env_cap, sizeof(*o->env_rules));
    if (!o->env_rules) {
        cli_err("out of memory");
        return CLI_PARSE_DONE(CLI_EXIT_ERROR);
    }
    int c;
    while ((c = getopt_long(argc, argv, "+n:N:c:g:xt:vlm:hS:o:q:B:", longopts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'n':
        case 'c':
        case 'g':
            o->per_task = true;
            if (c == 'n')
                rc = parse_int("--ntasks", optarg, 1, 1 << 24, &o->ntasks);
            else if (c == 'c')
                rc = parse_int("--cores-per-task", optarg, 1, 1 << 24, &o->cores);
            else
                rc = parse_int("--gpus-per-task", optarg, 0, 1 << 24, &o->gpus);
            break;
        case OPT_CORES: rc = parse_int("--cores", optarg, 1, 1 << 24, &o->cores_total); break;
        case OPT_GPN: rc = parse_int("--gpus-per-node", optarg, 0, 1 << 24, &o->gpus_per_node); break;
        case OPT_REQUIRES:
            if (o->nrequires == 8) {
                cli_err("--requires: at most 8 (join the queries with blanks)");
                rc = -1;
            } else
                o->requires[o->nrequires++] = optarg;
            break;
        case OPT_SIGNAL: o->signal = optarg; break;
        case 'q': o->queue = optarg; break;
        case 'B': o->bank = optarg; break;
        case 'N': rc = parse_int("--nodes", optarg, 1, 1 << 24, &o->nnodes); break;
        case 'x': o->exclusive = true; break;
        case 't':
            if ((rc = cli_parse_duration(optarg, &o->duration)) < 0)
                cli_err("--time-limit: invalid duration '%s'", optarg);
            break;
        case OPT_URGENCY:
            /* Flux's names for the ends */
            if (!strcmp(optarg, "hold"))
                o->urgency = 0;
            else if (!strcmp(optarg, "default"))
                o->urgency = 16;
            else if (!strcmp(optarg, "expedite"))
                o->urgency = 31;
            else
                rc = parse_int("--urgency", optarg, 0, 31, &o->urgency);
            break;
        case OPT_TPN:
            rc = parse_int("--tasks-per-node", optarg, 1, 1 << 20, &o->tasks_per_node);
            break;
        case OPT_QUIET:
        case OPT_DRY_RUN:
            if (run) {
                cli_err("run: --quiet and --dry-run are only for submit");
                return CLI_PARSE_DONE(CLI_EXIT_USAGE);
            }
            *(c == OPT_QUIET ? &o->quiet : &o->dry_run) = true;
            break;
        case OPT_ENV:
        case OPT_ENV_REMOVE: {
            char *r;
            if (asprintf(&r, "%s%s", c == OPT_ENV ? "" : "-", optarg) < 0) {
                cli_err("out of memory");
                return CLI_PARSE_DONE(CLI_EXIT_ERROR);
            }
            o->env_rules[o->nenv_rules++] = r;
            break;
        }
        case OPT_ENV_FILE:
            rc = read_env_file(o, optarg);
            break;
        case 'S':
        case 'o':
            if (o->nattrs == 32 || (c == 'S' && !strchr(optarg, '='))) {
                cli_err("--%s: expected %s (at most 32), got '%s'",
                        c == 'S' ? "setattr" : "setopt", c == 'S' ? "KEY=VAL" : "OPT[=VAL]",
                        optarg);
                rc = -1;
                break;
            }
            o->attr_is_opt[o->nattrs] = c == 'o';
            o->attrs[o->nattrs++] = optarg;
            break;
        case OPT_CWD: o->cwd = optarg; break;
        case OPT_OUTPUT: o->output = optarg; break;
        case OPT_INPUT: o->input = optarg; break;
        case OPT_BEGIN: {
            char *end;
            double t = strtod(optarg, &end), d;
            if (optarg[0] == '+' && cli_parse_duration(optarg + 1, &d) == 0)
                o->begin = cli_now() + d;
            else if (end != optarg && !*end && t > 0)
                o->begin = t;
            else {
                cli_err("--begin-time: invalid time '%s' (+FSD from now, as +30m, or "
                        "seconds since the epoch)", optarg);
                rc = -1;
            }
            break;
        }
        case OPT_ERROR: o->error = optarg; break;
        case OPT_NAME: o->name = optarg; break;
        case OPT_DEP:
            if (o->ndeps < 16 && !strcmp(optarg, "singleton")) {
                o->deps[o->ndeps++] = "singleton:";   /* a value naming nothing */
                break;
            }
            if (o->ndeps == 16 || !strchr(optarg, ':')) {
                cli_err("--dependency: expected SCHEME:JOBID or singleton (at most 16), got "
                        "'%s'", optarg);
                rc = -1;
            } else {
                /* the job id in any RFC 19 spelling: F58 is never longer */
                char *idp = strchr(optarg, ':') + 1, f58[FLUID_STR_MAX];
                uint64_t id;
                if (fluid_parse(idp, &id) == 0 && fluid_encode(id, f58, sizeof(f58)) == 0
                    && strlen(f58) <= strlen(idp))
                    strcpy(idp, f58);
                o->deps[o->ndeps++] = optarg;
            }
            break;
        case OPT_CC:
        case OPT_BCC:
            if (run) {
                cli_err("run: --cc and --bcc are only for submit");
                return CLI_PARSE_DONE(CLI_EXIT_USAGE);
            }
            o->cc = optarg;
            o->bcc = c == OPT_BCC;
            break;
        case OPT_WAIT:
        case OPT_WATCH:
            if (run) {
                cli_err("run: --wait and --watch are only for submit (run waits and watches)");
                return CLI_PARSE_DONE(CLI_EXIT_USAGE);
            }
            o->wait = c == OPT_WAIT ? 1 : 2;
            break;
        case 'v': o->verbose = true; break;
        case 'l': o->label = true; break;
        case 'm': cli_set_mount(optarg); break;
        case 'h':
            submit_usage(stdout, run);
            return CLI_PARSE_DONE(CLI_EXIT_OK);
        default:
            submit_usage(stderr, run);
            return CLI_PARSE_DONE(CLI_EXIT_USAGE);
        }
        if (rc < 0)
            return CLI_PARSE_DONE(CLI_EXIT_USAGE);
    }
    if (optind >= argc) {
        cli_err("%s: missing COMMAND", run ? "run" : "submit");
        submit_usage(stderr, run);
        return CLI_PARSE_DONE(CLI_EXIT_USAGE);
    }
    if (o->exclusive && !o->nnodes) {
        cli_err("--exclusive can only be used with --nodes");
        return CLI_PARSE_DONE(CLI_EXIT_USAGE);
    }
    if (per_resource_shape(o) < 0)
        return CLI_PARSE_DONE(CLI_EXIT_USAGE);
    if (o->nnodes && o->ntasks && o->nnodes > o->ntasks) {
        cli_err("node count %d must not be greater than task count %d", o->nnodes, o->ntasks);
        return CLI_PARSE_DONE(CLI_EXIT_USAGE);
    }
    return optind;
}

/* A jobspec is JSON, whose strings are UTF-8: a variable whose name or
 * value is not cannot go in it. One we inherit is left out, saying so (a
 * job must not silently run without it); one asked for by --env fails. */
static bool env_text(const char *name, const char *value)
{
    return jsonw_utf8(name, strlen(name)) && jsonw_utf8(value, strlen(value));
}

/* The environment: ours, then the rules in order; NULL (said why) when a
 * rule asks for what a jobspec cannot hold, or out of memory. What was
 * left out is named once the rules are applied, unless a rule set it or
 * took it away; not PWD naming a directory that is not UTF-8: the job runs
 * there all the same (the broker reads it from the kernel), and its shell
 * sets PWD again. */
static json_t *build_env(const struct submit_opts *o, const char *cwd)
{
    json_t *env = json_object(), *left = json_array();
    if (!env || !left) {
        cli_err("out of memory");
        goto error;
    }
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || eq == *e)
            continue;
        char *name = strndup(*e, eq - *e);
        if (name && env_text(name, eq + 1))
            json_object_set_new(env, name, json_string(eq + 1));
        else if (name && !(!strcmp(name, "PWD") && !strcmp(eq + 1, cwd)))
            json_array_append_new(left, json_stringn_nocheck(name, strlen(name)));
        free(name);
    }
    for (int i = 0; i < o->nenv_rules; i++) {
        const char *r = o->env_rules[i];
        const char *eq = strchr(r, '=');
        if (r[0] == '-') {
            const char *key;
            void *tmp;
            json_t *val;
            size_t k;
            json_object_foreach_safe(env, tmp, key, val) {
                (void)val;
                if (fnmatch(r + 1, key, 0) == 0)
                    json_object_del(env, key);
            }
            json_array_foreach(left, k, val)
                if (json_is_string(val) && fnmatch(r + 1, json_string_value(val), 0) == 0)
                    json_array_set_new(left, k, json_null());   /* taken away: fine */
            continue;
        }
        char *name = eq ? strndup(r, eq - r) : strdup(r);
        const char *value = eq ? eq + 1 : getenv(r);
        if (name && value && !env_text(name, value)) {
            bool name_ok = jsonw_utf8(name, strlen(name));
            cli_err("--env %s: %s is not UTF-8, which a jobspec's strings must be",
                    name_ok ? name : "(a name)",
                    !name_ok ? "the name" : eq ? "the value" : "its value here");
            free(name);
            goto error;
        }
        if (name && value)
            json_object_set_new(env, name, json_string(value));
        free(name);
    }
    size_t k;
    json_t *val;
    json_array_foreach(left, k, val) {
        const char *name = json_string_value(val);
        if (!name || json_object_get(env, name))
            continue;
        bool text = jsonw_utf8(name, strlen(name));
        cli_err("warning: the job runs without %s: its %s is not UTF-8, which a jobspec's "
                "strings must be", text ? name : "a variable", text ? "value" : "name");
    }
    json_decref(left);
    return env;
error:
    json_decref(left);
    json_decref(env);
    return NULL;
}

#define CMD_PLACEHOLDER "@fluxfs-command-placeholder@"
#define CC_PLACEHOLDER "@fluxfs-cc-placeholder@"   /* FLUX_JOB_CC's value, per copy */

/* The jobspec text with the command left out: prefix + command JSON + suffix. */
struct spec_template {
    char *text;              /* whole dump; prefix ends at split */
    size_t split;            /* offset of the placeholder string (with quotes) */
    size_t rest;             /* offset just after it */
};

static json_t *build_resources(const struct submit_opts *o, int ntasks, json_t **countp)
{
    json_t *with = json_pack("[{s:s s:i}]", "type", "core", "count", o->cores);
    if (with && o->gpus > 0)
        json_array_append_new(with, json_pack("{s:s s:i}", "type", "gpu", "count", o->gpus));
    int nslots = ntasks;
    if (o->slots_per_node) {
        nslots = o->nnodes ? o->slots_per_node : ntasks;
        *countp = json_pack("{s:i}", "per_slot", o->per_slot);
    } else if (o->nnodes) {
        nslots = (ntasks + o->nnodes - 1) / o->nnodes;
        *countp = ntasks % o->nnodes ? json_pack("{s:i}", "total", ntasks)
                                     : json_pack("{s:i}", "per_slot", 1);
    } else
        *countp = json_pack("{s:i}", "per_slot", 1);
    json_t *slot = json_pack("{s:s s:i s:s s:o}", "type", "slot", "count", nslots,
                             "label", "task", "with", with);
    if (!o->nnodes)
        return json_pack("[o]", slot);
    json_t *node = json_pack("{s:s s:i s:[o]}", "type", "node", "count", o->nnodes,
                             "with", slot);
    if (node && o->exclusive)
        json_object_set_new(node, "exclusive", json_true());
    return json_pack("[o]", node);
}

static int spec_template_build(const struct submit_opts *o, struct spec_template *t)
{
    struct submit_opts opts = *o;
    int ntasks = o->ntasks;
    if (!ntasks) {
        ntasks = o->nnodes ? o->nnodes : 1;
        if (o->nnodes)
            opts.exclusive = true;     /* -N alone: whole nodes, as flux does */
    }
    char cwdbuf[PATH_MAX];
    const char *cwd = o->cwd;
    if (!cwd && !(cwd = getcwd(cwdbuf, sizeof(cwdbuf)))) {
        cli_err("getcwd: %s", strerror(errno));
        return -1;
    }
    /* a jobspec is JSON, whose strings are UTF-8: a directory named
     * otherwise (Latin-1) is left out, and the broker reads it from the
     * kernel, as it does for cp */
    bool cwd_text = jsonw_utf8(cwd, strlen(cwd));
    if (!cwd_text && o->cwd) {
        cli_err("--cwd: '%s' is not UTF-8, which a jobspec's strings must be; change to "
                "that directory and submit without --cwd", cwd);
        return -1;
    }
    json_t *env = build_env(o, cwd);
    if (!env)
        return -1;
    json_t *count = NULL;
    json_t *resources = build_resources(&opts, ntasks, &count);
    /* an integral duration as an integer, as flux writes it */
    json_t *duration = o->duration == (double)(long long)o->duration
                           ? json_integer((long long)o->duration) : json_real(o->duration);
    if (o->cc && !o->bcc)
        json_object_set_new(env, "FLUX_JOB_CC", json_string(CC_PLACEHOLDER));
    json_t *system = json_pack("{s:o s:s* s:o*}", "duration", duration, "cwd",
                               cwd_text ? cwd : NULL, "environment", env);
    if (system && o->name)
        json_object_set_new(system, "job", json_pack("{s:s}", "name", o->name));
    if (o->urgency >= 0)
        json_object_set_new(system, "urgency", json_integer(o->urgency));
    if (system && o->queue)
        json_object_set_new(system, "queue", json_string(o->queue));
    if (system && o->bank)
        json_object_set_new(system, "bank", json_string(o->bank));
    if (system && (o->label || o->output || o->error)) {
        /* Flux's shell options: flux run -l, --output, --error */
        json_t *out = json_pack("{s:{} s:{}}", "stdout", "stderr");
        json_t *so = json_object_get(out, "stdout"), *se = json_object_get(out, "stderr");
        if (o->label) {
            json_object_set_new(so, "label", json_true());
            json_object_set_new(se, "label", json_true());
        }
        if (o->output) {
            json_object_set_new(so, "type", json_string("file"));
            json_object_set_new(so, "path", json_string(o->output));
        }
        if (o->error) {
            json_object_set_new(se, "type", json_string("file"));
            json_object_set_new(se, "path", json_string(o->error));
        }
        json_object_set_new(system, "shell", json_pack("{s:{s:o}}", "options", "output", out));
    }
    if (system && o->input)
        json_object_set_new(shell_options(system), "input",
                            json_pack("{s:{s:s s:s}}", "stdin", "type", "file", "path",
                                      o->input));
    if (system && o->signal) {
        int sig;
        double left;
        struct errmsg err;
        if (jobopt_signal(o->signal, &sig, &left, &err) < 0) {
            cli_err("%s", err.text);
            json_decref(system);
            json_decref(resources);
            json_decref(count);
            return -1;
        }
        json_object_set_new(shell_options(system), "signal",
                            json_pack("{s:i s:f}", "signum", sig, "timeleft", left));
    }
    for (int i = 0; system && i < o->nrequires; i++) {
        json_t *c = NULL, *prev = json_object_get(system, "constraints");
        struct errmsg err;
        if (jobopt_requires(o->requires[i], &c, &err) < 0) {
            cli_err("%s", err.text);
            json_decref(system);
            json_decref(resources);
            json_decref(count);
            return -1;
        }
        /* given again, both hold (as flux joins them) */
        json_object_set_new(system, "constraints",
                            prev ? json_pack("{s:[O o]}", "and", prev, c) : c);
    }
    if (system && (o->ndeps > 0 || o->begin > 0)) {
        json_t *deps = json_array();
        if (o->begin > 0)
            json_array_append_new(deps, json_pack("{s:s s:f}", "scheme", "begin-time", "value",
                                                  o->begin));
        for (int i = 0; i < o->ndeps; i++) {
            const char *colon = strchr(o->deps[i], ':');
            json_array_append_new(deps, json_pack("{s:s% s:s}", "scheme", o->deps[i],
                                                  (size_t)(colon - o->deps[i]),
                                                  "value", colon + 1));
        }
        json_object_set_new(system, "dependencies", deps);
    }
    json_t *spec = json_pack("{s:i s:o* s:[{s:s s:s s:o*}] s:{s:o*}}",
                             "version", 1, "resources", resources,
                             "tasks", "command", CMD_PLACEHOLDER, "slot", "task",
                             "count", count, "attributes", "system", system);
    if (!spec) {
        cli_err("cannot build the jobspec (is every argument valid UTF-8?)");
        return -1;
    }
    for (int i = 0; i < o->nattrs; i++) {
        struct errmsg err;
        if (jobopt_set_attr(json_object_get(spec, "attributes"), o->attrs[i], o->attr_is_opt[i],
                            &err) < 0) {
            cli_err("%s", err.text);
            json_decref(spec);
            return -1;
        }
    }
    t->text = json_dumps(spec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(spec);
    char *p = t->text ? strstr(t->text, "\"" CMD_PLACEHOLDER "\"") : NULL;
    if (!p) {
        cli_err("cannot build the jobspec");
        free(t->text);
        return -1;
    }
    t->split = p - t->text;
    t->rest = t->split + strlen(CMD_PLACEHOLDER) + 2;
    return 0;
}

/* Replace every pat in s by with. Caller frees. */
static char *subst(const char *s, const char *pat, const char *with)
{
    size_t n = 0, plen = strlen(pat);
    for (const char *p = s; (p = strstr(p, pat)); p += plen)
        n++;
    char *out = malloc(strlen(s) + n * strlen(with) + 1), *o = out;
    if (!out)
        return NULL;
    const char *p;
    while ((p = strstr(s, pat))) {
        memcpy(o, s, p - s);
        o += p - s;
        o = stpcpy(o, with);
        s = p + plen;
    }
    strcpy(o, s);
    return out;
}

/* The JSON array of the command, with {cc} replaced if cc is not NULL. */
static char *command_json(char **cmd, int ncmd, const char *cc)
{
    json_t *a = json_array();
    for (int i = 0; a && i < ncmd; i++) {
        char *arg = cc ? subst(cmd[i], "{cc}", cc) : NULL;
        json_t *s = json_string(arg ? arg : cmd[i]);
        free(arg);
        if (!s || json_array_append_new(a, s) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    if (!text)
        cli_err("cannot encode the command (is every argument valid UTF-8?)");
    return text;
}

/* Submit text (one jobspec, or a stream of them) through file (queue/new,
 * or queue/run for one job). The ids, a line per job, go to *ids (caller
 * frees). expect: the number of jobs the text holds if known (reading
 * stops at that many lines: one round trip to the daemon fewer, which may
 * be busy starting the job), else 0 (read to the end). keep: NULL, or
 * where the descriptor goes, still open: the ids can be read once the jobs
 * are committed, and the close is what returns once they are durable
 * (keep_close). Returns 0 or -errno (with the reason printed). */
static int submit_stream(const char *file, const char *text, size_t len, size_t expect,
                         char **ids, int *keep)
{
    char path[PATH_MAX], reason[1024];
    int fd = open(cli_path_unchecked(path, sizeof(path), file), O_RDWR | O_CLOEXEC);
    /* queue/run is newer than queue/new: an older tree has only the
     * latter (-ENOSYS, nothing printed: the caller falls back) */
    if (fd < 0 && errno == ENOENT && !strcmp(file, "queue/run"))
        return -ENOSYS;
    if (fd < 0) {
        int e = errno;
        cli_mount();   /* exits if it is no fluxfs mount, saying so */
        cli_err("%s: %s", path, strerror(e));
        return -e;
    }
    cli_mount_trust();
    size_t off = 0, got = 0, size = 64;
    ssize_t n = 0;
    char *buf = NULL;
    while (off < len) {
        n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += n;
    }
    /* the first read waits for the commit; the rest of the ids follow */
    while (off == len) {
        if (got + 1 >= size || !buf) {
            char *p = realloc(buf, size *= 2);
            if (!p) {
                n = -1;
                errno = ENOMEM;
                break;
            }
            buf = p;
        }
        n = read(fd, buf + got, size - got - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t lines = 0;
        for (size_t i = got; i < got + (size_t)n; i++)
            lines += buf[i] == '\n';
        got += n;
        if (expect && (expect -= lines < expect ? lines : expect) == 0)
            break;   /* every id is here */
    }
    int e = n < 0 ? errno : EIO;
    bool ok = off == len && n >= 0 && got > 0;
    if (ok && keep)
        *keep = fd;
    else if (close(fd) < 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        free(buf);
        cli_last_error(reason, sizeof(reason));
        if (reason[0] && (!strncmp(reason, "new: ", 5) || !strncmp(reason, "run: ", 5)))
            cli_err("job rejected: %s", reason + 5);
        else
            cli_err("job rejected: %s", strerror(e));
        return -e;
    }
    buf[got] = '\0';
    *ids = buf;
    return 0;
}

int cli_submit_ids(const char *text, size_t len, char **ids)
{
    return submit_stream("queue/new", text, len, 0, ids, NULL);
}

static int submit_one(const char *file, const char *text, size_t len, char *id, size_t size,
                      int *keep)
{
    char *ids;
    int rc = submit_stream(file, text, len, 1, &ids, keep);
    if (rc == 0) {
        snprintf(id, size, "%.*s", (int)strcspn(ids, "\n"), ids);
        free(ids);
    }
    return rc;
}

/* Submit one jobspec; its id goes into id. */
int cli_submit_text(const char *text, size_t len, char *id, size_t size)
{
    return submit_one("queue/new", text, len, id, size, NULL);
}

/* The whole jobspec text for one copy. Caller frees. */
static char *spec_text(const struct spec_template *t, char **cmd, int ncmd, const char *cc,
                       size_t *lenp)
{
    char *cmdtext = command_json(cmd, ncmd, cc);
    if (!cmdtext)
        return NULL;
    /* the rest, with FLUX_JOB_CC's value for this copy */
    const char *rest = t->text + t->rest;
    char *own = NULL;
    if (cc && strstr(rest, CC_PLACEHOLDER) && !(own = subst(rest, CC_PLACEHOLDER, cc))) {
        free(cmdtext);
        cli_err("out of memory");
        return NULL;
    }
    if (own)
        rest = own;
    size_t clen = strlen(cmdtext), rlen = strlen(rest);
    size_t len = t->split + clen + rlen;
    char *buf = malloc(len + 1);
    if (buf) {
        memcpy(buf, t->text, t->split);
        memcpy(buf + t->split, cmdtext, clen);
        memcpy(buf + t->split + clen, rest, rlen);
        buf[len] = '\0';
        *lenp = len;
    } else
        cli_err("out of memory");
    free(own);
    free(cmdtext);
    return buf;
}


/* --cc: the copies go in a few bulk submissions (a stream of jobspecs,
 * each all-or-nothing), so N jobs cost one write and one durable commit per
 * CC_CHUNK of them rather than N. */
#define CC_CHUNK 10000

static int submit_cc(const struct spec_template *t, char **cmd, int ncmd, const char *shared,
                     size_t shared_len, const struct idset *cc, bool quiet, struct strbuf *all)
{
    int i = idset_first(cc), rc = 0;
    while (i >= 0 && rc == 0) {
        char *stream = NULL, *ids = NULL;
        size_t slen = 0, alloc = 0;
        for (int k = 0; i >= 0 && k < CC_CHUNK; k++, i = idset_next(cc, i)) {
            char num[16];
            size_t len = shared_len;
            char *one = NULL;
            if (!shared) {
                snprintf(num, sizeof(num), "%d", i);
                if (!(one = spec_text(t, cmd, ncmd, num, &len))) {
                    rc = -EINVAL;
                    break;
                }
            }
            if (slen + len + 2 > alloc) {
                size_t a = alloc ? alloc : 4096;
                while (a < slen + len + 2)
                    a *= 2;
                char *p = realloc(stream, a);
                if (!p) {
                    free(one);
                    cli_err("out of memory");
                    rc = -ENOMEM;
                    break;
                }
                stream = p;
                alloc = a;
            }
            memcpy(stream + slen, shared ? shared : one, len);
            slen += len;
            stream[slen++] = '\n';
            free(one);
        }
        if (rc == 0 && (rc = submit_stream("queue/new", stream, slen, 0, &ids, NULL)) == 0) {
            if (!quiet)
                fputs(ids, stdout);
            strbuf_addstr(all, ids);
            free(ids);
        }
        free(stream);
    }
    fflush(stdout);
    return rc;
}

static bool has_cc(char **cmd, int ncmd)
{
    for (int i = 0; i < ncmd; i++)
        if (strstr(cmd[i], "{cc}"))
            return true;
    return false;
}

int cmd_submit(int argc, char **argv)
{
    struct submit_opts o;
    struct spec_template t;
    int first = submit_parse(argc, argv, false, &o);
    if (first < 0) {
        submit_opts_release(&o);
        return CLI_PARSE_CODE(first);
    }
    struct idset *cc = NULL;
    if (o.cc && (!(cc = idset_decode(o.cc)) || idset_count(cc) == 0)) {
        cli_err("--cc: invalid idset '%s' (e.g. 1-10 or 1,3,5-7)", o.cc);
        idset_destroy(cc);
        submit_opts_release(&o);
        return CLI_EXIT_USAGE;
    }
    if (!o.dry_run)   /* a dry run needs no instance, as Flux's; submitting looks at it */
        cli_mount_name();
    int brc = spec_template_build(&o, &t);
    submit_opts_release(&o);
    if (brc < 0) {
        idset_destroy(cc);
        return CLI_EXIT_ERROR;
    }
    char **cmd = argv + first;
    int ncmd = argc - first, rc = -ENOMEM;
    size_t len;
    char *text = NULL;
    struct strbuf ids = STRBUF_INIT;
    /* copies share one text unless {cc} or FLUX_JOB_CC tells them apart */
    if (!cc || (o.bcc && !has_cc(cmd, ncmd)))
        text = spec_text(&t, cmd, ncmd, NULL, &len);
    if (o.dry_run) {
        rc = 0;
        for (int i = cc ? idset_first(cc) : 0; i >= 0 && rc == 0;
             i = cc ? idset_next(cc, i) : -1) {
            char num[16];
            snprintf(num, sizeof(num), "%d", i);
            char *one = text ? NULL : spec_text(&t, cmd, ncmd, num, &len);
            if (!text && !one)
                rc = -ENOMEM;
            else
                printf("%s\n", text ? text : one);
            free(one);
        }
        free(text);
        idset_destroy(cc);
        free(t.text);
        strbuf_release(&ids);
        return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    }
    if (!cc && text) {
        char id[64];
        if ((rc = cli_submit_text(text, len, id, sizeof(id))) == 0) {
            if (!o.quiet)
                printf("%s\n", id);
            strbuf_addf(&ids, "%s\n", id);
        }
    } else if (cc)
        rc = submit_cc(&t, cmd, ncmd, text, text ? len : 0, cc, o.quiet, &ids);
    free(text);
    idset_destroy(cc);
    free(t.text);
    int code = rc == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    fflush(stdout);
    /* --wait, --watch: each job in turn; the exit code is the worst one's */
    for (char *id = rc == 0 && o.wait ? strtok(ids.buf, "\n") : NULL; id;
         id = strtok(NULL, "\n")) {
        int one = CLI_EXIT_ERROR;
        if (o.wait == 2)
            one = cli_attach(id);
        else {
            char *res = cli_job_file(id, "wait", NULL);
            if (res) {
                res[strcspn(res, "\n")] = '\0';
                one = cli_result_exit_code(id, res);
                free(res);
            }
        }
        if (one > code)
            code = one;
    }
    strbuf_release(&ids);
    return code;
}

int cmd_run(int argc, char **argv)
{
    struct submit_opts o;
    struct spec_template t;
    int first = submit_parse(argc, argv, true, &o);
    if (first < 0) {
        submit_opts_release(&o);
        return CLI_PARSE_CODE(first);
    }
    int brc = spec_template_build(&o, &t);
    submit_opts_release(&o);
    if (brc < 0)
        return CLI_EXIT_ERROR;
    /* an interrupt during submission is acted on (cancel) once we attach */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    char id[64];
    size_t len;
    int fd = -1;
    char *text = spec_text(&t, argv + first, argc - first, NULL, &len);
    /* the id as soon as the job is committed; the submission's close,
     * which returns once it is durable, after the job has run: the sync
     * is then off the way from submitting to the job's end. Through
     * queue/run, whose next read is the job's end: no path of jobs/ID to
     * look up for it (an older tree: queue/new, then jobs/ID/wait) */
    bool run = true;
    int rc = text ? submit_one("queue/run", text, len, id, sizeof(id), &fd) : -EINVAL;
    if (rc == -ENOSYS) {
        run = false;
        rc = submit_one("queue/new", text, len, id, sizeof(id), &fd);
    }
    free(text);
    free(t.text);
    if (rc < 0)
        return CLI_EXIT_ERROR;
    if (o.verbose)
        cli_err("jobid: %s", id);
    /* on queue/run the job's end follows the id line, wherever the first
     * read was (the offset the jobspec's write left): where we are now */
    off_t tail = run ? lseek(fd, 0, SEEK_CUR) : -1;
    int code = tail >= 0 ? cli_attach_run(id, fd, tail) : cli_attach(id);
    if (close(fd) < 0) {
        cli_err("%s: the job was not stored durably: %s", id, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    return code;
}
