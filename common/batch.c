/* batch.c - batch scripts to V1 jobspecs (flux batch / sbatch directives); see batch.h */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <jansson.h>

#include "common/batch.h"
#include "common/jobopt.h"
#include "common/jobspec.h"
#include "common/strbuf.h"
#include "common/vec.h"

#define SLOT_LABEL "task"
#define DEFAULT_NAME "batch"

/* Run by /bin/sh -c with $1 = script, $2 = number of NAME=VALUE words that
 * follow, then the interpreter's argv.  The temporary file is unlinked before
 * the exec, so a killed job leaves nothing behind; /dev/fd/9 reopens it. */
static const char launcher[] =
    "fluxfs_batch_f=$(mktemp \"${TMPDIR:-/tmp}/fluxfs-batch.XXXXXX\") || exit 126\n"
    "printf %s \"$1\" >\"$fluxfs_batch_f\" || { rm -f \"$fluxfs_batch_f\"; exit 126; }\n"
    "exec 9<\"$fluxfs_batch_f\"\n"
    "rm -f \"$fluxfs_batch_f\"\n"
    "fluxfs_batch_n=$2\n"
    "shift 2\n"
    "while [ \"$fluxfs_batch_n\" -gt 0 ]; do\n"
    "  export \"$1\" || exit 126\n"
    "  shift\n"
    "  fluxfs_batch_n=$((fluxfs_batch_n - 1))\n"
    "done\n"
    "unset fluxfs_batch_f fluxfs_batch_n\n"
    /* an sbatch script finds what Slurm would have set */
    "if [ -n \"${SLURM_JOB_NAME+x}\" ]; then\n"
    "  export SLURM_JOB_ID=\"$FLUX_JOB_ID\" SLURM_JOBID=\"$FLUX_JOB_ID\" SLURM_PROCID=0\n"
    "  export SLURM_NNODES=\"$FLUX_JOB_NNODES\" SLURM_JOB_NUM_NODES=\"$FLUX_JOB_NNODES\"\n"
    "  export SLURM_SUBMIT_DIR=\"$PWD\"\n"
    "  SLURM_JOB_NODELIST=$(sed -n 's/.*\"nodelist\":\\[\"\\([^\"]*\\)\".*/\\1/p' "
    "\"$FLUXFS_MOUNT/jobs/$FLUX_JOB_ID/R\" 2>/dev/null) && export SLURM_JOB_NODELIST\n"
    "fi\n"
    "exec \"$@\" /dev/fd/9\n";

enum opt_id {
    O_NODES, O_NTASKS, O_CORES, O_GPUS, O_GRES, O_TPN, O_TIME_FSD, O_TIME_SLURM,
    O_NAME, O_CWD, O_ENV, O_EXCLUSIVE, O_IGNORE, O_OUTPUT, O_ERROR, O_OUTPUT_SLURM,
    O_ERROR_SLURM, O_DEPEND, O_BEGIN_FLUX, O_BEGIN_SLURM, O_EXPORT, O_ARRAY,
    O_URGENCY, O_SETATTR, O_SETOPT, O_REQUIRES, O_SIGNAL, O_CORES_TOTAL, O_GPN,
    O_BANK, O_QUEUE, O_MAIL, O_MEM,
};

struct opt {
    char shortopt;          /* 0 = long only */
    const char *longopt;
    enum opt_id id;         /* every option but O_EXCLUSIVE takes a value */
};

static const struct opt flux_opts[] = {
    { 'N', "nodes", O_NODES },
    { 'n', "ntasks", O_NTASKS },
    { 0, "nslots", O_NTASKS },
    { 'c', "cores-per-task", O_CORES },
    { 0, "cores-per-slot", O_CORES },
    { 'g', "gpus-per-task", O_GPUS },
    { 0, "gpus-per-slot", O_GPUS },
    { 0, "tasks-per-node", O_TPN },
    { 't', "time-limit", O_TIME_FSD },
    { 0, "job-name", O_NAME },
    { 0, "cwd", O_CWD },
    { 0, "env", O_ENV },
    { 0, "exclusive", O_EXCLUSIVE },
    { 0, "output", O_OUTPUT },
    { 0, "error", O_ERROR },
    { 0, "dependency", O_DEPEND },
    { 0, "begin-time", O_BEGIN_FLUX },
    { 0, "urgency", O_URGENCY },
    { 'S', "setattr", O_SETATTR },
    { 'o', "setopt", O_SETOPT },
    { 0, "requires", O_REQUIRES },
    { 0, "signal", O_SIGNAL },
    { 0, "cores", O_CORES_TOTAL },
    { 0, "gpus-per-node", O_GPN },
    { 'q', "queue", O_QUEUE },
    { 0, NULL, 0 },
};

static const struct opt slurm_opts[] = {
    { 'N', "nodes", O_NODES },
    { 'n', "ntasks", O_NTASKS },
    { 'c', "cpus-per-task", O_CORES },
    { 0, "gpus-per-task", O_GPUS },
    { 0, "gres", O_GRES },
    { 0, "ntasks-per-node", O_TPN },
    { 't', "time", O_TIME_SLURM },
    { 'J', "job-name", O_NAME },
    { 'D', "chdir", O_CWD },
    { 0, "exclusive", O_EXCLUSIVE },
    { 'o', "output", O_OUTPUT_SLURM },
    { 'e', "error", O_ERROR_SLURM },
    { 'd', "dependency", O_DEPEND },
    { 'b', "begin", O_BEGIN_SLURM },
    { 0, "export", O_EXPORT },
    { 'a', "array", O_ARRAY },
    { 'p', "partition", O_QUEUE },
    { 'A', "account", O_BANK },
    { 0, "mail-type", O_MAIL },
    { 0, "mail-user", O_MAIL },
    { 0, "mem", O_MEM },
    { 0, "mem-per-cpu", O_MEM },
    { 0, "mem-per-gpu", O_MEM },
    { 0, NULL, 0 },
};

/* What the directives asked for; 0 = not given. */
struct request {
    int nodes, ntasks, cores, gpus, tasks_per_node;
    bool gpus_per_node;     /* gpus came from --gres */
    bool exclusive;
    int nodes_line, ntasks_line, exclusive_line;
    double duration;
    char *name, *cwd;
    char *output, *error;   /* file templates ({{id}}, {{name}}, {{user}}) */
    json_t *deps;           /* attributes.system.dependencies, or NULL */
    bool slurm;             /* it had #SBATCH lines: Slurm's variables for it */
    double begin;           /* begin-time, seconds since the epoch, or 0 */
    json_t *env;            /* list of "NAME=VALUE" */
    struct batch_array array;   /* --array, count 0 when none */
    int array_line;
    const struct batch_elem *elem;  /* the element being made, or NULL */
    int urgency;            /* --urgency, or -1 */
    json_t *attrs;          /* -S and -o, in order: [[SPEC, is_opt], ...] */
    json_t *constraints;    /* --requires, as RFC 31 */
    int signum;             /* --signal, 0 = none */
    double timeleft;
    int cores_total;        /* --cores (per-resource), or 0 */
    int node_gpus;          /* --gpus-per-node (per-resource), or -1 */
    int perres_line, pertask_line;
    char *bank, *queue;     /* -A/--account, -p/--partition (--queue) */
};

struct words {
    char **v;
    size_t n, alloc;
};

static void words_release(struct words *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i]);
    free(w->v);
    memset(w, 0, sizeof(*w));
}

static int words_push(struct words *w, char *s)
{
    if (!s)
        return -ENOMEM;
    if (w->n == w->alloc) {
        size_t alloc = w->alloc ? 2 * w->alloc : 8;
        char **v = realloc(w->v, alloc * sizeof(*v));
        if (!v) {
            free(s);
            return -ENOMEM;
        }
        w->v = v;
        w->alloc = alloc;
    }
    w->v[w->n++] = s;
    return 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Split p[0..e) into words with sh-like quoting; an unquoted '#' at the start
 * of a word starts a comment (as shlex does for RFC 36 directives). */
static int split_words(const char *p, const char *e, int line, struct words *w,
                       struct errmsg *err)
{
    struct strbuf sb = STRBUF_INIT;
    int rc = 0;

    for (;;) {
        while (p < e && is_blank(*p))
            p++;
        if (p == e || *p == '#')
            break;
        while (p < e && !is_blank(*p) && rc == 0) {
            char c = *p++;
            if (c == '\\') {
                if (p < e)
                    rc = strbuf_add(&sb, p++, 1);
            } else if (c == '\'') {
                const char *q = memchr(p, '\'', e - p);
                if (!q)
                    goto unterminated;
                rc = strbuf_add(&sb, p, q - p);
                p = q + 1;
            } else if (c == '"') {
                while (p < e && *p != '"' && rc == 0) {
                    if (*p == '\\' && p + 1 < e && strchr("\"\\$`", p[1]))
                        p++;
                    rc = strbuf_add(&sb, p++, 1);
                }
                if (p == e)
                    goto unterminated;
                p++;
            } else
                rc = strbuf_add(&sb, &c, 1);
        }
        if (rc < 0 || (rc = words_push(w, strbuf_detach(&sb, NULL))) < 0)
            break;
    }
    strbuf_release(&sb);
    return rc < 0 ? errmsg_set(err, rc, "out of memory") : 0;
unterminated:
    strbuf_release(&sb);
    return errmsg_set(err, -EINVAL, "line %d: unterminated quote", line);
}

static int ceil_div(int a, int b)
{
    return a / b + (a % b != 0);
}

/* A decimal integer in [min, INT_MAX]. */
static bool parse_int(const char *s, int min, int *out)
{
    char *end;
    long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > INT_MAX)
        return false;
    *out = (int)v;
    return true;
}

/* flux --time-limit: bare number = minutes, else an RFC 23 duration. */
static bool parse_fsd(const char *s, double *out)
{
    return jobopt_fsd(s, true, out) == 0;
}

/* Up to max ':'-separated decimal fields of s, stored in f[0..*n). */
static bool parse_fields(const char *s, int max, long *f, int *n)
{
    *n = 0;
    for (;;) {
        char *end;
        if (*s < '0' || *s > '9' || *n == max)
            return false;
        errno = 0;
        f[(*n)++] = strtol(s, &end, 10);
        if (errno || f[*n - 1] > 99999999)
            return false;
        if (*end == '\0')
            return true;
        if (*end != ':')
            return false;
        s = end + 1;
    }
}

/* Slurm --time: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, UNLIMITED. */
static bool parse_slurm_time(const char *s, double *out)
{
    const char *dash = strchr(s, '-');
    long f[3], days = 0;
    int n;

    if (!strcasecmp(s, "UNLIMITED") || !strcasecmp(s, "INFINITE")) {
        *out = 0;
        return true;
    }
    if (dash) {
        char *end;
        if (*s < '0' || *s > '9')
            return false;
        errno = 0;
        days = strtol(s, &end, 10);
        if (errno || end != dash || days > 99999999 || !parse_fields(dash + 1, 3, f, &n))
            return false;
        /* D-HH, D-HH:MM, D-HH:MM:SS */
        *out = days * 86400. + f[0] * 3600. + (n > 1 ? f[1] * 60. : 0) + (n > 2 ? f[2] : 0);
        return true;
    }
    if (!parse_fields(s, 3, f, &n))
        return false;
    if (n == 1)
        *out = f[0] * 60.;
    else if (n == 2)
        *out = f[0] * 60. + f[1];
    else
        *out = f[0] * 3600. + f[1] * 60. + f[2];
    return true;
}

/* Slurm --gres: a comma list of gpu, gpu:N, gpu:TYPE or gpu:TYPE:N; returns the
 * gpu count or -1 if an entry is not a gpu. */
static int parse_gres(const char *s)
{
    long total = 0;

    if (!*s)
        return -1;
    while (*s) {
        size_t len = strcspn(s, ",");
        char item[128];
        int count = 1;

        if (len == 0 || len >= sizeof(item))
            return -1;
        memcpy(item, s, len);
        item[len] = '\0';
        s += len + (s[len] == ',');
        if (strncmp(item, "gpu", 3) != 0 || (item[3] != '\0' && item[3] != ':'))
            return -1;
        if (item[3] == ':') {
            const char *last = strrchr(item, ':') + 1;
            bool typed = last != item + 4;          /* gpu:TYPE:N */
            /* gpu:N, gpu:TYPE:N, or gpu:TYPE meaning one */
            if (!*last || strchr(item + 4, ':') != (typed ? last - 1 : NULL))
                return -1;
            if (!parse_int(last, 0, &count) && typed)
                return -1;
        }
        if ((total += count) > INT_MAX)
            return -1;
    }
    return (int)total;
}

static bool valid_env_name(const char *s, size_t len)
{
    if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

static int replace_str(char **dst, const char *s, struct errmsg *err)
{
    char *copy = strdup(s);
    if (!copy)
        return errmsg_set(err, -ENOMEM, "out of memory");
    free(*dst);
    *dst = copy;
    return 0;
}

static int invalid_value(struct errmsg *err, int line, const char *opt, const char *val)
{
    return errmsg_set(err, -EINVAL, "line %d: invalid %s value '%s'", line, opt, val);
}

/* A Slurm file name pattern as fluxfs's template: %j (job id) -> {{id}},
 * %x (job name) -> {{name}}, %u (user) -> {{user}}, %N (the first node's
 * name) -> {{node}}, %% -> %; in an array element (e) %A and %a are its
 * array's id and its index, and outside an array %A is the job's id and %a
 * Slurm's NO_VAL (4294967294), as sbatch writes them. Any other %-letter
 * (%t %s ...) is refused: nothing here would replace it. */
static char *slurm_pattern(const char *val, const struct batch_elem *e, int line,
                           const char *opt, struct errmsg *err)
{
    struct strbuf sb = STRBUF_INIT;
    char index[16];
    if (!*val) {
        errmsg_set(err, -EINVAL, "line %d: invalid %s value '%s'", line, opt, val);
        return NULL;
    }
    snprintf(index, sizeof(index), "%u", e ? e->index : 4294967294u);
    for (const char *p = val; *p; p++) {
        const char *with = NULL;
        if (*p != '%') {
            strbuf_add(&sb, p, 1);
            continue;
        }
        switch (p[1]) {
        case 'j': with = "{{id}}"; break;
        case 'x': with = "{{name}}"; break;
        case 'u': with = "{{user}}"; break;
        case 'N': with = "{{node}}"; break;
        case 'A': with = e ? e->array_id : "{{id}}"; break;
        case 'a': with = index; break;
        case '%': with = "%"; break;
        default:
            errmsg_set(err, -EINVAL, "line %d: %s '%s': '%%%c' is not supported (only %%j, "
                       "%%x, %%u, %%N, %%A, %%a and %%%%)", line, opt, val, p[1] ? p[1] : ' ');
            strbuf_release(&sb);
            return NULL;
        }
        strbuf_addstr(&sb, with);
        p++;
    }
    char *t = strbuf_detach(&sb, NULL);
    if (!t)
        errmsg_set(err, -ENOMEM, "out of memory");
    return t;
}

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

/* Slurm's --array=SPEC[%LIMIT]: SPEC is a comma list of N, N-M and N-M:STEP;
 * the indices are kept ascending, each once. */
static int parse_array(struct batch_array *a, const char *opt, const char *val, int line,
                       struct errmsg *err)
{
    struct batch_array n = { 0 };
    const char *pct = strchr(val, '%');
    char *spec = strndup(val, pct ? (size_t)(pct - val) : strlen(val)), *save = NULL;
    size_t alloc = 0;
    int rc = 0;

    if (!spec)
        return errmsg_set(err, -ENOMEM, "out of memory");
    if (pct && !parse_int(pct + 1, 1, &n.limit)) {
        rc = errmsg_set(err, -EINVAL, "line %d: %s '%s': the limit after '%%' must be a number "
                        ">= 1", line, opt, val);
        goto out;
    }
    if (!*spec)
        goto bad;
    for (char *one = strtok_r(spec, ",", &save); one; one = strtok_r(NULL, ",", &save)) {
        long lo, hi, step = 1;
        char *end;
        if (*one < '0' || *one > '9')
            goto bad;
        errno = 0;
        lo = hi = strtol(one, &end, 10);
        if (*end == '-') {
            if (end[1] < '0' || end[1] > '9')
                goto bad;
            hi = strtol(end + 1, &end, 10);
            if (*end == ':') {
                if (end[1] < '0' || end[1] > '9')
                    goto bad;
                step = strtol(end + 1, &end, 10);
            }
        }
        if (*end || errno || lo > hi || step < 1)
            goto bad;
        if (hi > BATCH_ARRAY_INDEX_MAX) {
            rc = errmsg_set(err, -EINVAL, "line %d: %s '%s': an index may be at most %d", line,
                            opt, val, BATCH_ARRAY_INDEX_MAX);
            goto out;
        }
        for (long i = lo; i <= hi; i = hi - i < step ? hi + 1 : i + step) {
            /* repeats are dropped below; bound what they may cost first */
            if (n.count == 2 * BATCH_ARRAY_MAX)
                goto too_many;
            if (vec_grow(&n.index, &alloc, n.count + 1, sizeof(*n.index)) < 0) {
                rc = errmsg_set(err, -ENOMEM, "out of memory");
                goto out;
            }
            n.index[n.count++] = (unsigned)i;
        }
    }
    qsort(n.index, n.count, sizeof(*n.index), cmp_unsigned);
    size_t k = 0;
    for (size_t i = 0; i < n.count; i++)
        if (k == 0 || n.index[k - 1] != n.index[i])
            n.index[k++] = n.index[i];
    n.count = k;
    if (n.count > BATCH_ARRAY_MAX)
        goto too_many;
    batch_array_release(a);
    *a = n;
    n.index = NULL;
    goto out;
too_many:
    rc = errmsg_set(err, -E2BIG, "line %d: %s '%s': more than %d elements", line, opt, val,
                    BATCH_ARRAY_MAX);
    goto out;
bad:
    rc = errmsg_set(err, -EINVAL, "line %d: %s '%s': expected N, N-M or N-M:STEP, comma "
                    "separated, then optionally %%LIMIT (e.g. 1-10%%2)", line, opt, val);
out:
    free(n.index);
    free(spec);
    return rc;
}

/* Slurm's --export=ALL|NONE|[ALL,]NAME=VALUE,...: the NAME=VALUE pairs are
 * set for the script (as --env). ALL and NONE choose what else comes from
 * the submitter's environment, which a script copied into queue/ does not
 * carry: both mean the job's own (doc/tree.md "Execution"). A bare NAME
 * would be the submitter's value: refused, with the line. */
static int add_exports(struct request *r, const char *opt, const char *val, int line,
                       struct errmsg *err)
{
    char *copy = strdup(val), *save = NULL;
    int rc = 0;
    if (!copy)
        return errmsg_set(err, -ENOMEM, "out of memory");
    for (char *one = strtok_r(copy, ",", &save); one && rc == 0;
         one = strtok_r(NULL, ",", &save)) {
        const char *eq = strchr(one, '=');
        if (!strcmp(one, "ALL") || !strcmp(one, "NONE"))
            continue;
        if (!eq || !valid_env_name(one, (size_t)(eq - one)))
            rc = errmsg_set(err, -EINVAL, "line %d: %s '%s': only NAME=VALUE, ALL and NONE "
                            "(a script in queue/ carries no environment to take '%s' from)",
                            line, opt, val, one);
        else if (json_array_append_new(r->env, json_string(one)) < 0)
            rc = errmsg_set(err, -EINVAL, "line %d: %s value is not valid UTF-8", line, opt);
    }
    free(copy);
    return rc;
}

/* --dependency: Flux's SCHEME:ID, or Slurm's SCHEME:ID[:ID...][,SCHEME:...]
 * with the schemes both know (after, afterany, afterok, afternotok). */
static int add_depends(struct request *r, const char *opt, const char *val, int line,
                       struct errmsg *err)
{
    char *copy = strdup(val), *save = NULL;
    int rc = 0;
    if (!copy || (!r->deps && !(r->deps = json_array()))) {
        free(copy);
        return errmsg_set(err, -ENOMEM, "out of memory");
    }
    for (char *one = strtok_r(copy, ",", &save); one && rc == 0;
         one = strtok_r(NULL, ",", &save)) {
        if (!strcmp(one, "singleton")) {
            json_array_append_new(r->deps, json_pack("{s:s s:s}", "scheme", "singleton",
                                                     "value", ""));
            continue;
        }
        char *colon = strchr(one, ':');
        if (colon)
            *colon = '\0';
        if (!colon || !colon[1]
            || (strcmp(one, "after") && strcmp(one, "afterany") && strcmp(one, "afterok")
                && strcmp(one, "afternotok"))) {
            rc = errmsg_set(err, -EINVAL, "line %d: %s '%s': expected after, afterany, afterok "
                            "or afternotok, a ':' and job ids, or singleton", line, opt, val);
            break;
        }
        char *save2 = NULL;
        for (char *id = strtok_r(colon + 1, ":", &save2); id; id = strtok_r(NULL, ":", &save2))
            json_array_append_new(r->deps, json_pack("{s:s s:s}", "scheme", one, "value", id));
    }
    free(copy);
    return rc;
}

/* Slurm's --begin: now+N[seconds|minutes|hours|days|weeks] (s m h d w),
 * or a date and time, YYYY-MM-DD[THH:MM[:SS]] (local). 0 when not one. */
static double slurm_begin(const char *val)
{
    if (!strncmp(val, "now+", 4)) {
        char *end;
        double n = strtod(val + 4, &end);
        static const struct { const char *unit; double secs; } units[] = {
            { "", 1 }, { "s", 1 }, { "seconds", 1 }, { "m", 60 }, { "minutes", 60 },
            { "h", 3600 }, { "hours", 3600 }, { "d", 86400 }, { "days", 86400 },
            { "w", 604800 }, { "weeks", 604800 },
        };
        if (end == val + 4 || n < 0)
            return 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (!strcmp(end, units[i].unit))
                return (double)time(NULL) + n * units[i].secs;
        return 0;
    }
    struct tm tm = { .tm_isdst = -1 };
    const char *end = strptime(val, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end || *end) {
        memset(&tm, 0, sizeof(tm));
        tm.tm_isdst = -1;
        end = strptime(val, "%Y-%m-%dT%H:%M", &tm);
    }
    if (!end || *end) {
        memset(&tm, 0, sizeof(tm));
        tm.tm_isdst = -1;
        end = strptime(val, "%Y-%m-%d", &tm);
    }
    if (!end || *end)
        return 0;
    time_t t = mktime(&tm);
    return t > 0 ? (double)t : 0;
}

/* err (a jobopt reason) prefixed with the directive's line. */
static int line_error(struct errmsg *err, int line)
{
    char why[sizeof(err->text)];
    snprintf(why, sizeof(why), "%s", err->text);
    return errmsg_set(err, -EINVAL, "line %d: %s", line, why);
}

/* Apply one option; opt is the name as written ("-n", "--ntasks"). */
static int apply(struct request *r, enum opt_id id, const char *opt, const char *val,
                 int line, struct errmsg *err)
{
    const char *eq;
    int gpus;

    switch (id) {
    case O_NODES:
        if (!parse_int(val, 1, &r->nodes))
            return invalid_value(err, line, opt, val);
        r->nodes_line = line;
        return 0;
    case O_NTASKS:
        if (!parse_int(val, 1, &r->ntasks))
            return invalid_value(err, line, opt, val);
        r->ntasks_line = r->pertask_line = line;
        return 0;
    case O_CORES:
        r->pertask_line = line;
        return parse_int(val, 1, &r->cores) ? 0 : invalid_value(err, line, opt, val);
    case O_TPN:
        return parse_int(val, 1, &r->tasks_per_node) ? 0 : invalid_value(err, line, opt, val);
    case O_GPUS:
        r->pertask_line = line;
        if (!parse_int(val, 0, &r->gpus))
            return invalid_value(err, line, opt, val);
        r->gpus_per_node = false;
        return 0;
    case O_GRES:
        if ((gpus = parse_gres(val)) < 0)
            return errmsg_set(err, -EINVAL, "line %d: unsupported %s '%s' (only gpu[:TYPE][:N])",
                              line, opt, val);
        r->gpus = gpus;
        r->gpus_per_node = true;
        return 0;
    case O_TIME_FSD:
        return parse_fsd(val, &r->duration) ? 0 : invalid_value(err, line, opt, val);
    case O_TIME_SLURM:
        return parse_slurm_time(val, &r->duration) ? 0 : invalid_value(err, line, opt, val);
    case O_NAME:
        if (!*val)
            return invalid_value(err, line, opt, val);
        return replace_str(&r->name, val, err);
    case O_CWD:
        if (val[0] != '/')
            return errmsg_set(err, -EINVAL, "line %d: %s '%s' is not an absolute path",
                              line, opt, val);
        return replace_str(&r->cwd, val, err);
    case O_ENV:
        if (!(eq = strchr(val, '=')) || !valid_env_name(val, eq - val))
            return errmsg_set(err, -EINVAL, "line %d: invalid %s value '%s' (expected NAME=VALUE)",
                              line, opt, val);
        if (json_array_append_new(r->env, json_string(val)) < 0)
            return errmsg_set(err, -EINVAL, "line %d: %s value is not valid UTF-8", line, opt);
        return 0;
    case O_EXCLUSIVE:
        r->exclusive = true;
        r->exclusive_line = line;
        return 0;
    case O_IGNORE:
        return 0;
    case O_BANK:
    case O_QUEUE:
        if (!*val)
            return invalid_value(err, line, opt, val);
        return replace_str(id == O_BANK ? &r->bank : &r->queue, val, err);
    case O_MAIL:
        return errmsg_set(err, -EINVAL, "line %d: %s: fluxfs sends no mail (follow jobs with "
                          "fluxfs jobs --watch, or tail -f events)", line, opt);
    case O_MEM:
        return errmsg_set(err, -EINVAL, "line %d: %s: memory is not requested by #SBATCH "
                          "directives here (a jobspec may ask for memory vertices)", line, opt);
    case O_DEPEND:
        return add_depends(r, opt, val, line, err);
    case O_EXPORT:
        return add_exports(r, opt, val, line, err);
    case O_BEGIN_FLUX: {
        char *end;
        double t = strtod(val, &end), d;
        if (val[0] == '+' && parse_fsd(val + 1, &d))
            r->begin = (double)time(NULL) + d;
        else if (end != val && !*end && t > 0)
            r->begin = t;
        else
            return errmsg_set(err, -EINVAL, "line %d: %s '%s': expected +FSD (+30m) or "
                              "seconds since the epoch", line, opt, val);
        return 0;
    }
    case O_URGENCY:
        if (!strcmp(val, "hold"))
            r->urgency = 0;
        else if (!strcmp(val, "default"))
            r->urgency = 16;
        else if (!strcmp(val, "expedite"))
            r->urgency = 31;
        else if (!parse_int(val, 0, &r->urgency) || r->urgency > 31)
            return invalid_value(err, line, opt, val);
        return 0;
    case O_SETATTR:
    case O_SETOPT: {
        json_t *scratch = json_object();
        int rc = jobopt_set_attr(scratch, val, id == O_SETOPT, err);
        json_decref(scratch);
        if (rc < 0)
            return line_error(err, line);
        if ((!r->attrs && !(r->attrs = json_array()))
            || json_array_append_new(r->attrs, json_pack("[s b]", val, id == O_SETOPT)) < 0)
            return errmsg_set(err, -ENOMEM, "out of memory");
        return 0;
    }
    case O_REQUIRES: {
        /* given again, both hold (as flux joins them) */
        json_t *c = NULL;
        if (jobopt_requires(val, &c, err) < 0)
            return line_error(err, line);
        if (r->constraints)
            c = json_pack("{s:[o o]}", "and", r->constraints, c);
        r->constraints = c;
        return c ? 0 : errmsg_set(err, -ENOMEM, "out of memory");
    }
    case O_SIGNAL:
        return jobopt_signal(val, &r->signum, &r->timeleft, err) < 0 ? line_error(err, line)
                                                                     : 0;
    case O_CORES_TOTAL:
        r->perres_line = line;
        return parse_int(val, 1, &r->cores_total) ? 0 : invalid_value(err, line, opt, val);
    case O_GPN:
        r->perres_line = line;
        return parse_int(val, 0, &r->node_gpus) ? 0 : invalid_value(err, line, opt, val);
    case O_ARRAY:
        r->array_line = line;
        return parse_array(&r->array, opt, val, line, err);
    case O_BEGIN_SLURM:
        if (!(r->begin = slurm_begin(val)))
            return errmsg_set(err, -EINVAL, "line %d: %s '%s': expected now+N[units] or "
                              "YYYY-MM-DD[THH:MM[:SS]]", line, opt, val);
        return 0;
    case O_OUTPUT:
    case O_ERROR:
        if (!*val)
            return invalid_value(err, line, opt, val);
        return replace_str(id == O_OUTPUT ? &r->output : &r->error, val, err);
    case O_OUTPUT_SLURM:
    case O_ERROR_SLURM: {
        char *t = slurm_pattern(val, r->elem, line, opt, err);
        if (!t)
            return -EINVAL;
        char **dst = id == O_OUTPUT_SLURM ? &r->output : &r->error;
        free(*dst);
        *dst = t;
        return 0;
    }
    }
    return 0;
}

static const struct opt *find_opt(const struct opt *table, char shortopt,
                                  const char *longopt, size_t len)
{
    for (const struct opt *o = table; o->longopt; o++) {
        if (shortopt ? o->shortopt == shortopt
                     : strlen(o->longopt) == len && !strncmp(o->longopt, longopt, len))
            return o;
    }
    return NULL;
}

static int apply_words(struct request *r, const struct opt *table, char **argv, size_t argc,
                       int line, struct errmsg *err)
{
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        const struct opt *o = NULL;
        char name[64];
        size_t len;
        int rc;

        if (a[0] == '-' && a[1] == '-' && a[2]) {
            const char *eq = strchr(a, '=');
            len = eq ? (size_t)(eq - a) : strlen(a);
            o = find_opt(table, 0, a + 2, len - 2);
            val = eq ? eq + 1 : NULL;
        } else if (a[0] == '-' && a[1] && a[1] != '-') {
            len = 2;
            o = find_opt(table, a[1], NULL, 0);
            if (a[2])
                val = a + 2 + (a[2] == '=');
        } else
            len = strlen(a);
        if (!o)
            return errmsg_set(err, -EINVAL, "line %d: unknown directive '%.*s'", line, (int)len, a);
        snprintf(name, sizeof(name), "%.*s", (int)len, a);
        if (o->id == O_EXCLUSIVE && val)
            return errmsg_set(err, -EINVAL, "line %d: option '%s' takes no value", line, name);
        if (o->id != O_EXCLUSIVE && !val) {
            if (i + 1 == argc)
                return errmsg_set(err, -EINVAL, "line %d: option '%s' needs a value", line, name);
            val = argv[++i];
        }
        if ((rc = apply(r, o->id, name, val, line, err)) < 0)
            return rc;
    }
    return 0;
}

/* Which directive, if any, does line p[0..e) hold?  Sets *rest past the sentinel. */
static const struct opt *directive_kind(const char *p, const char *e, const char **rest)
{
    if (e - p >= 7 && !memcmp(p, "#SBATCH", 7) && (e - p == 7 || is_blank(p[7]))) {
        *rest = p + 7;
        return slurm_opts;
    }
    while (p < e && is_blank(*p))
        p++;
    if (p == e || *p++ != '#')
        return NULL;
    while (p < e && is_blank(*p))
        p++;
    if (e - p >= 5 && (!memcmp(p, "flux:", 5) || !memcmp(p, "FLUX:", 5))) {
        *rest = p + 5;
        return flux_opts;
    }
    return NULL;
}

/* Split "#!INTERP ARG" as Linux does: INTERP ends at the first blank, ARG is
 * the rest of the line with surrounding blanks removed. */
static int parse_shebang(const char *p, const char *e, char **interp, char **arg,
                         struct errmsg *err)
{
    const char *s;

    p += 2;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    for (s = p; p < e && *p != ' ' && *p != '\t'; p++)
        ;
    if (p == s)
        return errmsg_set(err, -EINVAL, "line 1: no interpreter after '#!'");
    if (*s != '/')
        return errmsg_set(err, -EINVAL, "line 1: interpreter '%.*s' is not an absolute path",
                          (int)(p - s), s);
    if (!(*interp = strndup(s, p - s)))
        return errmsg_set(err, -ENOMEM, "out of memory");
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (e > p && !(*arg = strndup(p, e - p)))
        return errmsg_set(err, -ENOMEM, "out of memory");
    return 0;
}

/* Reject what cannot travel in an argv string or a jobspec, naming the line. */
static int check_text(const char *text, size_t len, struct errmsg *err)
{
    int line = 1;
    json_t *s;

    if (len > BATCH_SCRIPT_MAX)
        return errmsg_set(err, -E2BIG, "script is %zu bytes, more than the %d allowed",
                          len, BATCH_SCRIPT_MAX);
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n')
            line++;
        else if (text[i] == '\0' || text[i] == '\x7f')
            return errmsg_set(err, -EINVAL, "line %d: script contains a %s byte", line,
                              text[i] ? "DEL" : "NUL");
        /* as sbatch: a script saved on Windows would run as "/bin/bash\r"
         * (not found) or with "\r" ending every command and argument */
        else if (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
            return errmsg_set(err, -EINVAL, "line %d: script has DOS line breaks (\\r\\n), "
                              "not UNIX ones (\\n): convert it (dos2unix, or "
                              "sed -i 's/\\r$//')", line);
    }
    if ((s = json_stringn(text, len))) {
        json_decref(s);
        return 0;
    }
    /* find the line: a line cut at '\n' never splits a UTF-8 sequence */
    line = 1;
    for (const char *p = text, *end = text + len; p < end; line++) {
        const char *nl = memchr(p, '\n', end - p);
        const char *e = nl ? nl : end;
        if (!(s = json_stringn(p, e - p)))
            break;
        json_decref(s);
        p = e + 1;
    }
    return errmsg_set(err, -EINVAL, "line %d: script is not valid UTF-8", line);
}

static int read_directives(struct request *r, const char *text, size_t len,
                           char **interp, char **arg, struct errmsg *err)
{
    const char *p = text, *end = text + len;
    int line = 0, rc = 0;

    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', end - p);
        const char *e = nl ? nl : end, *q = p, *rest;
        const struct opt *table;

        line++;
        if (line == 1)
            rc = parse_shebang(p, e, interp, arg, err);
        else {
            while (q < e && is_blank(*q))
                q++;
            if (q < e && *q != '#')
                break;   /* the first command ends the directive block */
            if ((table = directive_kind(p, e, &rest))) {
                r->slurm |= table == slurm_opts;
                struct words w = { 0 };
                if ((rc = split_words(rest, e, line, &w, err)) == 0)
                    rc = apply_words(r, table, w.v, w.n, line, err);
                words_release(&w);
            }
        }
        p = nl ? nl + 1 : end;
    }
    return rc;
}

/* Slots per node (or in all, without a node count), checking the combination. */
static int shape(struct request *r, int *slots, struct errmsg *err)
{
    /* Flux's per-resource options: a slot a node of cores/nodes cores (and
     * the node's gpus), or a one-core slot a core */
    if (r->cores_total || r->node_gpus >= 0) {
        if (r->pertask_line)
            return errmsg_set(err, -EINVAL, "line %d: per-resource options (--cores, "
                              "--gpus-per-node) can't be used with per-task options (-n, -c, "
                              "-g, line %d)", r->perres_line, r->pertask_line);
        if (r->node_gpus >= 0 && !r->nodes)
            return errmsg_set(err, -EINVAL, "line %d: --gpus-per-node needs --nodes",
                              r->perres_line);
        if (r->nodes && r->cores_total && r->cores_total % r->nodes)
            return errmsg_set(err, -EINVAL, "line %d: --cores=%d must be a multiple of "
                              "--nodes=%d", r->perres_line, r->cores_total, r->nodes);
        if (r->tasks_per_node && !r->nodes)
            return errmsg_set(err, -EINVAL, "line %d: --tasks-per-node needs --nodes",
                              r->perres_line);
        if (r->exclusive && !r->nodes)
            return errmsg_set(err, -EINVAL, "line %d: '--exclusive' needs a node count "
                              "(--nodes)", r->exclusive_line);
        /* as fluxfs submit: one slot a node (tasks-per-node tasks share it) */
        if (r->nodes) {
            r->exclusive |= !r->cores_total;
            r->cores = r->cores_total ? r->cores_total / r->nodes : 1;
            *slots = 1;
        } else {
            r->cores = 1;
            *slots = r->cores_total;
        }
        r->gpus = r->node_gpus > 0 ? r->node_gpus : 0;
        r->gpus_per_node = false;
        return 0;
    }
    if (r->tasks_per_node) {
        if (!r->nodes)
            r->nodes = r->ntasks ? ceil_div(r->ntasks, r->tasks_per_node) : 1;
        *slots = r->tasks_per_node;
        if (r->ntasks > (long)r->nodes * *slots)
            *slots = ceil_div(r->ntasks, r->nodes);
    } else if (r->nodes) {
        if (r->ntasks && r->ntasks < r->nodes)
            return errmsg_set(err, -EINVAL, "line %d: more nodes (%d) than tasks (%d)",
                              r->nodes_line > r->ntasks_line ? r->nodes_line : r->ntasks_line,
                              r->nodes, r->ntasks);
        *slots = r->ntasks ? ceil_div(r->ntasks, r->nodes) : 1;
    } else
        *slots = r->ntasks ? r->ntasks : 1;
    if (r->exclusive && !r->nodes)
        return errmsg_set(err, -EINVAL, "line %d: '--exclusive' needs a node count (--nodes)",
                          r->exclusive_line);
    if (r->gpus_per_node && r->gpus > 0)
        r->gpus = ceil_div(r->gpus, *slots);
    return 0;
}

static json_t *make_resources(const struct request *r, int slots)
{
    json_t *slot, *top, *with;

    slot = json_pack("{s:s, s:i, s:s, s:[{s:s, s:i}]}", "type", "slot", "count", slots,
                     "label", SLOT_LABEL, "with", "type", "core", "count",
                     r->cores ? r->cores : 1);
    if (!slot)
        return NULL;
    with = json_object_get(slot, "with");
    if (r->gpus > 0
        && json_array_append_new(with, json_pack("{s:s, s:i}", "type", "gpu", "count", r->gpus)) < 0)
        goto error;
    if (!r->nodes)
        return json_pack("[o]", slot);
    if (!(top = json_pack("{s:s, s:i}", "type", "node", "count", r->nodes)))
        goto error;
    if ((r->exclusive && json_object_set_new(top, "exclusive", json_true()) < 0)
        || json_object_set_new(top, "with", json_pack("[o]", slot)) < 0) {
        json_decref(top);
        return NULL;
    }
    return json_pack("[o]", top);
error:
    json_decref(slot);
    return NULL;
}

static json_t *make_command(const struct request *r, const char *script, size_t len,
                            const char *interp, const char *arg)
{
    json_t *cmd;
    char nenv[32];

    snprintf(nenv, sizeof(nenv), "%zu", json_array_size(r->env));
    cmd = json_pack("[s, s, s, s, s%, s]", "/bin/sh", "-c", launcher, "fluxfs-batch",
                    script, len, nenv);
    if (!cmd || json_array_extend(cmd, r->env) < 0
        || json_array_append_new(cmd, json_string(interp)) < 0
        || (arg && json_array_append_new(cmd, json_string(arg)) < 0)) {
        json_decref(cmd);
        return NULL;
    }
    return cmd;
}

static json_t *make_jobspec(const struct request *r, int slots, const char *script, size_t len,
                            const char *interp, const char *arg)
{
    json_t *system, *o;

    system = json_pack("{s:f, s:{s:s}}", "duration", r->duration,
                       "job", "name", r->name ? r->name : DEFAULT_NAME);
    if (!system || (r->cwd && json_object_set_new(system, "cwd", json_string(r->cwd)) < 0)) {
        json_decref(system);
        return NULL;
    }
    /* an array element names its array, for the broker's %LIMIT */
    if (r->elem)
        json_object_set_new(system, "array", json_pack("{s:s s:i s:i}", "id", r->elem->array_id,
                                                       "index", (int)r->elem->index, "limit",
                                                       r->array.limit));
    if (r->deps && json_array_size(r->deps) > 0)
        json_object_set(system, "dependencies", r->deps);
    if (r->urgency >= 0)
        json_object_set_new(system, "urgency", json_integer(r->urgency));
    if (r->bank)
        json_object_set_new(system, "bank", json_string(r->bank));
    if (r->queue)
        json_object_set_new(system, "queue", json_string(r->queue));
    if (r->constraints)
        json_object_set(system, "constraints", r->constraints);
    /* Flux's shell options for --output/--error: files, written by the tasks */
    if (r->output || r->error) {
        json_t *out = json_object();
        if (r->output)
            json_object_set_new(out, "stdout", json_pack("{s:s s:s}", "type", "file", "path",
                                                         r->output));
        if (r->error)
            json_object_set_new(out, "stderr", json_pack("{s:s s:s}", "type", "file", "path",
                                                         r->error));
        json_object_set_new(system, "shell", json_pack("{s:{s:o}}", "options", "output", out));
    }
    o = json_pack("{s:i, s:o, s:[{s:o, s:s, s:{s:i}}], s:{s:o}}",
                  "version", 1,
                  "resources", make_resources(r, slots),
                  "tasks", "command", make_command(r, script, len, interp, arg),
                  "slot", SLOT_LABEL, "count", "total", 1,
                  "attributes", "system", system);
    /* --signal, then -S and -o in their order (checked when read) */
    json_t *attrs = json_object_get(o, "attributes");
    if (o && r->signum > 0) {
        json_t *sh = json_object_get(system, "shell");
        if (!sh)
            json_object_set_new(system, "shell", sh = json_pack("{s:{}}", "options"));
        json_object_set_new(json_object_get(sh, "options"), "signal",
                            json_pack("{s:i s:f}", "signum", r->signum, "timeleft",
                                      r->timeleft));
    }
    size_t i;
    json_t *a;
    json_array_foreach(r->attrs, i, a)
        if (o && jobopt_set_attr(attrs, json_string_value(json_array_get(a, 0)),
                                 json_is_true(json_array_get(a, 1)), NULL) < 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

bool batch_is_script(const char *text, size_t len)
{
    return text && len >= 2 && text[0] == '#' && text[1] == '!';
}

bool batch_has_directives(const char *text, size_t len)
{
    const char *rest;
    for (const char *p = text, *end = text + len; p && p < end;) {
        const char *nl = memchr(p, '\n', end - p);
        if (directive_kind(p, nl ? nl : end, &rest))
            return true;
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

void batch_array_release(struct batch_array *a)
{
    free(a->index);
    memset(a, 0, sizeof(*a));
}

/* An array element's variables, as sbatch sets them. */
static int add_array_env(struct request *r, const struct batch_elem *e)
{
    const struct batch_array *a = &r->array;
    char v[5][64];
    snprintf(v[0], sizeof(v[0]), "SLURM_ARRAY_TASK_ID=%u", e->index);
    snprintf(v[1], sizeof(v[1]), "SLURM_ARRAY_TASK_COUNT=%zu", a->count);
    snprintf(v[2], sizeof(v[2]), "SLURM_ARRAY_TASK_MIN=%u", a->index[0]);
    snprintf(v[3], sizeof(v[3]), "SLURM_ARRAY_TASK_MAX=%u", a->index[a->count - 1]);
    snprintf(v[4], sizeof(v[4]), "SLURM_ARRAY_JOB_ID=%.40s", e->array_id);
    for (size_t i = 0; i < 5; i++)
        if (json_array_append_new(r->env, json_string(v[i])) < 0)
            return -ENOMEM;
    return 0;
}

static int convert(const char *text, size_t len, const struct batch_elem *elem,
                   struct batch_array *array, char **jobspec, size_t *jlen, struct errmsg *err)
{
    struct request r = { .elem = elem, .urgency = -1, .node_gpus = -1 };
    char *interp = NULL, *arg = NULL, *out = NULL;
    struct jobspec *js = NULL;
    json_t *o = NULL;
    int slots = 1, rc;

    if (!batch_is_script(text, len))
        return errmsg_set(err, -EINVAL, "not a script: does not start with '#!'");
    if ((rc = check_text(text, len, err)) < 0)
        return rc;
    if (!(r.env = json_array())) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = read_directives(&r, text, len, &interp, &arg, err)) < 0
        || (rc = shape(&r, &slots, err)) < 0)
        goto out;
    if (array) {
        *array = r.array;
        memset(&r.array, 0, sizeof(r.array));
        rc = 0;
        goto out;
    }
    if (r.array.count > 0 && !elem) {
        rc = errmsg_set(err, -EINVAL, "line %d: --array: an array is made when the script is "
                        "submitted (cp to queue/, fluxfs batch), one job per index",
                        r.array_line);
        goto out;
    }
    if (elem && (r.array.count == 0 || add_array_env(&r, elem) < 0)) {
        rc = errmsg_set(err, r.array.count ? -ENOMEM : -EINVAL,
                        r.array.count ? "out of memory" : "not an array script");
        goto out;
    }
    /* an sbatch script's SLURM_JOB_NAME and SLURM_NTASKS (the launcher sets
     * the rest when it sees them) */
    if (r.slurm) {
        char v[64];
        long long ntasks = r.ntasks ? r.ntasks
                           : r.tasks_per_node ? (long long)r.tasks_per_node * (r.nodes ? r.nodes : 1)
                           : r.nodes ? r.nodes : 1;
        snprintf(v, sizeof(v), "SLURM_NTASKS=%lld", ntasks);
        char *name = NULL;
        if (asprintf(&name, "SLURM_JOB_NAME=%s", r.name ? r.name : DEFAULT_NAME) < 0
            || json_array_append_new(r.env, json_string(v)) < 0
            || json_array_append_new(r.env, json_string(name)) < 0) {
            free(name);
            rc = errmsg_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        free(name);
    }
    /* a begin time is one more dependency, as Flux's --begin-time */
    if (r.begin > 0 && ((!r.deps && !(r.deps = json_array()))
                        || json_array_append_new(r.deps, json_pack("{s:s s:f}", "scheme",
                                                                   "begin-time", "value",
                                                                   r.begin)) < 0)) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (!(o = make_jobspec(&r, slots, text, len, interp, arg))
        || !(out = json_dumps(o, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER))) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    /* The script travels in the jobspec, escaped for JSON (a control byte
     * becomes six), and an --env value is in it twice (its directive and
     * the command): at most 12 times BATCH_SCRIPT_MAX, so bounded, but it
     * may still not fit in a jobspec. Say why in the script's terms. */
    if (strlen(out) > JOBSPEC_MAX_SIZE) {
        rc = errmsg_set(err, -E2BIG, "script makes a jobspec of %zu bytes (the script and "
                        "its --env values escaped as JSON), more than the %d a jobspec may be",
                        strlen(out), JOBSPEC_MAX_SIZE);
        goto out;
    }
    /* a shape no V1 jobspec allows (too many slots) is reported as the daemon would */
    if ((rc = jobspec_parse(out, strlen(out), &js, err)) < 0)
        goto out;
    jobspec_destroy(js);
    if (jlen)
        *jlen = strlen(out);
    *jobspec = out;
    out = NULL;
out:
    free(out);
    json_decref(o);
    json_decref(r.env);
    free(r.name);
    free(r.cwd);
    free(r.output);
    free(r.error);
    json_decref(r.deps);
    json_decref(r.attrs);
    json_decref(r.constraints);
    free(r.bank);
    free(r.queue);
    batch_array_release(&r.array);
    free(interp);
    free(arg);
    return rc;
}

int batch_to_jobspec(const char *text, size_t len, char **jobspec, size_t *jlen,
                     struct errmsg *err)
{
    if (!jobspec)
        return errmsg_set(err, -EINVAL, "no place for the jobspec");
    return convert(text, len, NULL, NULL, jobspec, jlen, err);
}

int batch_array_read(const char *text, size_t len, struct batch_array *a, struct errmsg *err)
{
    memset(a, 0, sizeof(*a));
    if (!batch_is_script(text, len))
        return 0;
    return convert(text, len, NULL, a, NULL, NULL, err);
}

int batch_element_to_jobspec(const char *text, size_t len, const struct batch_elem *elem,
                             char **jobspec, size_t *jlen, struct errmsg *err)
{
    if (!jobspec || !elem || !elem->array_id)
        return errmsg_set(err, -EINVAL, "no array element");
    return convert(text, len, elem, NULL, jobspec, jlen, err);
}
