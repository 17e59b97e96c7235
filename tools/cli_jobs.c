/* cli_jobs.c - fluxfs jobs, cancel, wait and attach, and reading a job's
 * metadata from jobs/<id>/ (shared with top).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/fluid.h"
#include "common/idset.h"
#include "common/hostlist.h"
#include "common/batch.h"
#include "common/jobspec.h"
#include "tools/cli.h"
#include "tools/cli_pw.h"

/* ---------------------------------------------------------------- job info */

bool cli_state_active(const char *state)
{
    return strcmp(state, "INACTIVE") != 0;
}

bool cli_state_pending(const char *state)
{
    return !strcmp(state, "NEW") || !strcmp(state, "DEPEND") || !strcmp(state, "PRIORITY")
           || !strcmp(state, "SCHED");
}

static char *chomp(char *s)
{
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    return s;
}

/* What cli_job_load(full) adds to its state and result. */
static void load_rest(const char *id, struct jobinfo *job)
{
    size_t len;
    char *text = cli_job_file(id, "eventlog", &len);
    if (text)
        jobinfo_eventlog(job, text, len);
    free(text);
    text = cli_job_file(id, "jobspec", &len);
    if (text)
        jobinfo_jobspec(job, text, len);
    else {
        job->spec_hidden = true;   /* "?": not ours to read */
        free(job->name);
        job->name = strdup("?");
    }
    free(text);
    text = cli_job_file(id, "R", &len);
    if (text)
        jobinfo_R(job, text, len);
    free(text);
}

int cli_job_load(const char *id, struct jobinfo *job, bool full)
{
    jobinfo_init(job, id);
    char *text = cli_job_file(id, "state", NULL);
    if (!text)
        return -errno;
    snprintf(job->state, sizeof(job->state), "%s", chomp(text));
    free(text);
    if (!cli_state_active(job->state) && (text = cli_job_file(id, "result", NULL))) {
        snprintf(job->result, sizeof(job->result), "%s", chomp(text));
        free(text);
    }
    if (full)
        load_rest(id, job);
    return 0;
}

void cli_job_list_free(struct jobinfo *jobs, size_t n)
{
    for (size_t i = 0; jobs && i < n; i++)
        jobinfo_release(&jobs[i]);
    free(jobs);
}

static int state_group(const char *state)
{
    return cli_state_pending(state) ? 0 : cli_state_active(state) ? 1 : 2;
}

static int job_cmp(const void *a, const void *b)
{
    const struct jobinfo *x = a, *y = b;
    int gx = state_group(x->state), gy = state_group(y->state);
    if (gx != gy)
        return gx - gy;
    /* F58 ids of equal length compare like the numbers they encode */
    size_t lx = strlen(x->id), ly = strlen(y->id);
    if (lx != ly)
        return lx > ly ? -1 : 1;
    return -strcmp(x->id, y->id);
}

/* Ids seen INACTIVE: a job never leaves that state, so listings of active
 * jobs (top redraws) need not read their state again. A hash set of ids. */
static struct {
    char (*ids)[32];
    size_t size, count;          /* size: a power of two, or 0 */
} inactive_seen;

static size_t id_hash(const char *id)
{
    size_t h = 5381;
    while (*id)
        h = h * 33 + (unsigned char)*id++;
    return h;
}

static bool inactive_known(const char *id)
{
    for (size_t i = id_hash(id); inactive_seen.size; i++) {
        const char *slot = inactive_seen.ids[i & (inactive_seen.size - 1)];
        if (!slot[0])
            return false;
        if (!strcmp(slot, id))
            return true;
    }
    return false;
}

static void inactive_add(const char *id)
{
    if (strlen(id) >= sizeof(inactive_seen.ids[0]) || inactive_known(id))
        return;
    if (2 * (inactive_seen.count + 1) > inactive_seen.size) {
        size_t size = inactive_seen.size ? inactive_seen.size * 2 : 1024;
        char (*ids)[32] = calloc(size, sizeof(*ids));
        if (!ids)
            return;
        for (size_t k = 0; k < inactive_seen.size; k++) {
            const char *old = inactive_seen.ids[k];
            if (!old[0])
                continue;
            size_t i = id_hash(old);
            while (ids[i & (size - 1)][0])
                i++;
            strcpy(ids[i & (size - 1)], old);
        }
        free(inactive_seen.ids);
        inactive_seen.ids = ids;
        inactive_seen.size = size;
    }
    size_t i = id_hash(id);
    while (inactive_seen.ids[i & (inactive_seen.size - 1)][0])
        i++;
    strcpy(inactive_seen.ids[i & (inactive_seen.size - 1)], id);
    inactive_seen.count++;
}

/* Room in *jobs (n of them, *alloc allocated) for one more; on ENOMEM
 * they are freed. */
static int room(struct jobinfo **jobs, size_t n, size_t *alloc)
{
    if (n < *alloc)
        return 0;
    size_t more = *alloc ? *alloc * 2 : 64;
    struct jobinfo *p = realloc(*jobs, more * sizeof(*p));
    if (!p) {
        cli_job_list_free(*jobs, n);
        *jobs = NULL;
        return -ENOMEM;
    }
    *jobs = p;
    *alloc = more;
    return 0;
}

/* Every job from joblist, a line each: one file read for the lot, where
 * jobs/<id>/ takes five a job. -ENOENT from a broker older than joblist
 * (the CLI updated under a running instance). */
static int list_joblist(bool all, struct jobinfo **jobsp, size_t *np)
{
    char path[PATH_MAX];
    size_t len;
    char *text = cli_read_file(cli_path(path, sizeof(path), "joblist"), &len);
    if (!text)
        return -errno;
    struct jobinfo *jobs = NULL;
    size_t n = 0, alloc = 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl ? nl + 1 : end;
        if (room(&jobs, n, &alloc) < 0) {
            free(text);
            return -ENOMEM;
        }
        if (jobinfo_read(&jobs[n], p, (size_t)(next - p)) == 0) {
            if (all || cli_state_active(jobs[n].state))
                n++;
            else
                jobinfo_release(&jobs[n]);
        }
        p = next;
    }
    free(text);
    *jobsp = jobs;
    *np = n;
    return 0;
}

int cli_job_list(bool all, struct jobinfo **jobsp, size_t *np)
{
    int rc = list_joblist(all, jobsp, np);
    if (rc == 0)
        qsort(*jobsp, *np, sizeof(**jobsp), job_cmp);
    if (rc != -ENOENT)
        return rc;
    char path[PATH_MAX];
    DIR *d = opendir(cli_path(path, sizeof(path), "jobs"));
    if (!d)
        return -errno;
    struct jobinfo *jobs = NULL;
    size_t n = 0, alloc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (room(&jobs, n, &alloc) < 0) {
            closedir(d);
            return -ENOMEM;
        }
        if (!all && inactive_known(de->d_name))
            continue;
        if (cli_job_load(de->d_name, &jobs[n], false) < 0)
            continue;
        if (!cli_state_active(jobs[n].state))
            inactive_add(de->d_name);
        if (!all && !cli_state_active(jobs[n].state))
            continue;
        /* state and result are read already: the rest (they were read
         * twice, 7 files of an ended job where 5 do) */
        load_rest(de->d_name, &jobs[n]);
        n++;
    }
    closedir(d);
    qsort(jobs, n, sizeof(*jobs), job_cmp);
    *jobsp = jobs;
    *np = n;
    return 0;
}

const char *cli_job_status_abbrev(const struct jobinfo *job)
{
    static const struct { const char *state, *abbrev; } states[] = {
        { "NEW", "N" }, { "DEPEND", "D" }, { "PRIORITY", "P" }, { "SCHED", "S" },
        { "RUN", "R" }, { "CLEANUP", "C" },
    };
    static const struct { const char *result, *abbrev; } results[] = {
        { "COMPLETED", "CD" }, { "FAILED", "F" }, { "CANCELED", "CA" },
        { "TIMEOUT", "TO" }, { "LOST", "LO" },
    };
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        if (!strcmp(job->state, states[i].state))
            return states[i].abbrev;
    for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++)
        if (!strncmp(job->result, results[i].result, strlen(results[i].result)))
            return results[i].abbrev;
    return cli_state_active(job->state) ? "?" : "I";
}

double cli_job_runtime(const struct jobinfo *job, double now)
{
    if (!job->t_run)
        return 0;
    double end = job->t_cleanup ? job->t_cleanup : job->t_inactive ? job->t_inactive : now;
    return end > job->t_run ? end - job->t_run : 0;
}

/* flux jobs' "{name:<10.10+}": truncate with a '+' marking the cut */
/* A user's text (a job's name, an exception's note) in a table row: a
 * control character (a newline, an escape sequence) becomes '?', so that
 * each job stays one line and the terminal is not driven by it. */
static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

static void trunc_plus(char *buf, size_t size, const char *s, size_t width)
{
    if (strlen(s) <= width)
        snprintf(buf, size, "%s", s);
    else
        snprintf(buf, size, "%.*s+", (int)width - 1, s);
}

static void job_time(const struct jobinfo *job, double now, char *buf, size_t size)
{
    if (job->t_run)
        cli_fsd(cli_job_runtime(job, now), buf, size);
    else if (job->duration > 0)
        cli_fsd(job->duration, buf, size);
    else
        snprintf(buf, size, "%s", "");
}

static void job_info(const struct jobinfo *job, char *buf, size_t size)
{
    if (!strcmp(job->state, "PRIORITY"))
        snprintf(buf, size, "priority-wait");
    else if (!strcmp(job->state, "DEPEND"))
        snprintf(buf, size, "depend-wait");
    else if (!strcmp(job->state, "SCHED") && job->urgency == 0)
        snprintf(buf, size, "held");
    else
        snprintf(buf, size, "%s", job->nodelist ? job->nodelist : "");
}

void cli_job_print_header(FILE *f)
{
    fprintf(f, "%12s %-8s %-10s %2s %6s %6s %8s %s\n", "JOBID", "USER", "NAME", "ST",
            "NTASKS", "NNODES", "TIME", "INFO");
}

void cli_job_print_row(FILE *f, const struct jobinfo *job, double now)
{
    char user[64], name[16], ntasks[16] = "", nnodes[16] = "", tm[32], info[256];
    if (job->userid >= 0)
        cli_username(job->userid, user, sizeof(user));
    else
        snprintf(user, sizeof(user), "?");
    user[8] = '\0';
    trunc_plus(name, sizeof(name), job->name ? job->name : "-", 10);
    printable(name);
    if (job->ntasks >= 0)
        snprintf(ntasks, sizeof(ntasks), "%d", job->ntasks);
    if (job->nnodes >= 0)
        snprintf(nnodes, sizeof(nnodes), "%d", job->nnodes);
    job_time(job, now, tm, sizeof(tm));
    job_info(job, info, sizeof(info));
    printable(info);
    fprintf(f, "%12s %-8s %-10s %2s %6s %6s %8s %s\n", job->id, user, name,
            cli_job_status_abbrev(job), ntasks, nnodes, tm, info);
}

/* ---------------------------------------------------------------- jobs */

/* Flux's returncode: the largest exit code (a signal's 128 + N, as a
 * job shell reports it), or -128 for a job that ended without running. */
static bool job_returncode(const struct jobinfo *j, int *rc)
{
    if (cli_state_active(j->state) || !j->state[0])
        return false;
    *rc = j->status >= 0 ? j->status : -128;
    return true;
}

/* flux jobs' {status}: the state while active (RUN), then how it ended
 * (COMPLETED, FAILED, CANCELED, TIMEOUT, LOST); {status_abbrev} is its
 * two letters. In buf (at least 16 bytes). */
static const char *job_status(const struct jobinfo *j, char *buf, size_t size)
{
    if (cli_state_active(j->state) || !j->result[0])
        snprintf(buf, size, "%s", j->state);
    else
        snprintf(buf, size, "%.*s", (int)strcspn(j->result, " "), j->result);
    return buf;
}

/* Field names for --format and the keys of -o json. */
static json_t *job_to_json(const struct jobinfo *j, double now)
{
    char user[64], status[32];
    json_t *o = json_pack("{s:s s:s s:s s:s}", "id", j->id, "state", j->state, "status",
                          job_status(j, status, sizeof(status)), "status_abbrev",
                          cli_job_status_abbrev(j));
    if (!o)
        return NULL;
    /* another user's job: its name is unknown to us, not "?" */
    json_object_set_new(o, "name", j->spec_hidden ? json_null() : json_string(j->name ? j->name : "-"));
    if (j->queue)
        json_object_set_new(o, "queue", json_string(j->queue));
    if (j->bank)
        json_object_set_new(o, "bank", json_string(j->bank));
    if (j->userid >= 0) {
        json_object_set_new(o, "userid", json_integer(j->userid));
        json_object_set_new(o, "user", json_string(cli_username(j->userid, user, sizeof(user))));
    }
    json_object_set_new(o, "result", j->result[0] ? json_string(j->result) : json_null());
    int rc;
    if (job_returncode(j, &rc)) {
        json_object_set_new(o, "returncode", json_integer(rc));
        json_object_set_new(o, "success", json_boolean(!strcmp(j->result, "COMPLETED 0")));
        if (j->status >= 0)
            json_object_set_new(o, "waitstatus", json_integer(j->status << 8));
    }
    if (j->ntasks >= 0)
        json_object_set_new(o, "ntasks", json_integer(j->ntasks));
    if (j->nnodes >= 0)
        json_object_set_new(o, "nnodes", json_integer(j->nnodes));
    if (j->ncores >= 0)
        json_object_set_new(o, "ncores", json_integer(j->ncores));
    if (j->nodelist)
        json_object_set_new(o, "nodelist", json_string(j->nodelist));
    if (j->urgency >= 0)
        json_object_set_new(o, "urgency", json_integer(j->urgency));
    if (j->priority >= 0)
        json_object_set_new(o, "priority", json_integer(j->priority));
    if (j->duration >= 0)
        json_object_set_new(o, "duration", json_real(j->duration));
    if (j->t_submit)
        json_object_set_new(o, "t_submit", json_real(j->t_submit));
    if (j->t_run)
        json_object_set_new(o, "t_run", json_real(j->t_run));
    if (j->t_cleanup)
        json_object_set_new(o, "t_cleanup", json_real(j->t_cleanup));
    if (j->t_inactive)
        json_object_set_new(o, "t_inactive", json_real(j->t_inactive));
    json_object_set_new(o, "runtime", json_real(cli_job_runtime(j, now)));
    if (j->exception)
        json_object_set_new(o, "exception", json_string(j->exception));
    return o;
}

/* flux jobs' field names (and ours before them: user, status) */
static const char *format_fields[] = {
    "id", "id.f58", "id.dec", "id.hex", "state", "state_single", "status", "status_abbrev",
    "name", "user", "username", "userid", "result", "result_abbrev", "runtime", "ntasks",
    "nnodes", "ncores", "nodelist", "urgency", "priority", "duration", "t_submit", "t_run",
    "t_inactive", "exception", "exception.type", "exception.note", "queue", "bank",
    "returncode", "success", "waitstatus", NULL,
};
#define FORMAT_FIELD_LIST "id id.f58 id.dec id.hex state state_single status status_abbrev " \
    "name username userid result result_abbrev runtime ntasks nnodes ncores nodelist urgency " \
    "priority duration t_submit t_run t_inactive exception exception.type exception.note " \
    "queue bank returncode success waitstatus"

static bool format_field_known(const char *name, size_t len)
{
    for (const char **f = format_fields; *f; f++)
        if (strlen(*f) == len && !strncmp(*f, name, len))
            return true;
    return false;
}

/* A duration in seconds as flux jobs' !H: H:MM:SS. */
static void hms(double secs, char *buf, size_t size)
{
    long s = (long)(secs + 0.5);
    snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

/* A timestamp as flux jobs' !d (date and time) or !D (date), local time. */
static void when(double t, bool date_only, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    buf[0] = '\0';
    if (t > 0 && localtime_r(&tt, &tm))
        strftime(buf, size, date_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%S", &tm);
}

/* Value of one --format field as text; conv is flux jobs' conversion flag
 * ('F' duration FSD, 'H' H:MM:SS, 'd' date and time, 'D' date) or 0. */
static void format_value(const struct jobinfo *j, const char *name, size_t len, char conv,
                         double now, char *buf, size_t size)
{
    char f[32];
    snprintf(f, sizeof(f), "%.*s", (int)len, name);
    buf[0] = '\0';
    double secs = -1, ts = -1;
    uint64_t num;
    if (!strcmp(f, "runtime"))
        secs = cli_job_runtime(j, now);
    else if (!strcmp(f, "duration"))
        secs = j->duration >= 0 ? j->duration : -1;
    else if (!strcmp(f, "t_submit"))
        ts = j->t_submit;
    else if (!strcmp(f, "t_run"))
        ts = j->t_run;
    else if (!strcmp(f, "t_inactive"))
        ts = j->t_inactive;
    if (secs >= 0 && conv == 'H') {
        hms(secs, buf, size);
        return;
    }
    if (ts >= 0 && (conv == 'd' || conv == 'D')) {
        when(ts, conv == 'D', buf, size);
        return;
    }
    if (!strcmp(f, "id.f58"))
        snprintf(f, sizeof(f), "id");
    if ((!strcmp(f, "id.dec") || !strcmp(f, "id.hex")) && fluid_parse(j->id, &num) == 0) {
        snprintf(buf, size, f[3] == 'd' ? "%llu" : "0x%llx", (unsigned long long)num);
        return;
    }
    if (!strcmp(f, "username"))
        snprintf(f, sizeof(f), "user");
    if (!strcmp(f, "state_single")) {
        snprintf(buf, size, "%c", j->state[0]);
        return;
    }
    if (!strcmp(f, "status_abbrev")) {
        snprintf(buf, size, "%s", cli_job_status_abbrev(j));
        return;
    }
    if (!strcmp(f, "result_abbrev")) {
        if (!cli_state_active(j->state))
            snprintf(buf, size, "%s", cli_job_status_abbrev(j));
        return;
    }
    if (!strncmp(f, "exception.", 10)) {
        const char *e = j->exception ? j->exception : "", *colon = strstr(e, ": ");
        if (!strcmp(f + 10, "type"))
            snprintf(buf, size, "%.*s", (int)(colon ? colon - e : (long)strlen(e)), e);
        else
            snprintf(buf, size, "%s", colon ? colon + 2 : "");
        return;
    }
#define NUM(v) do { if ((v) >= 0) snprintf(buf, size, "%lld", (long long)(v)); } while (0)
#define TS(v) do { if (v) snprintf(buf, size, "%.6f", (v)); } while (0)
    if (!strcmp(f, "id")) snprintf(buf, size, "%s", j->id);
    else if (!strcmp(f, "state")) snprintf(buf, size, "%s", j->state);
    else if (!strcmp(f, "status")) job_status(j, buf, size);
    else if (!strcmp(f, "name")) {
        snprintf(buf, size, "%s", j->name ? j->name : "-");
        printable(buf);
    }
    else if (!strcmp(f, "queue")) snprintf(buf, size, "%s", j->queue ? j->queue : "");
    else if (!strcmp(f, "bank")) snprintf(buf, size, "%s", j->bank ? j->bank : "");
    else if (!strcmp(f, "user")) {
        if (j->userid >= 0)
            cli_username(j->userid, buf, size);
    } else if (!strcmp(f, "userid")) NUM(j->userid);
    else if (!strcmp(f, "result")) snprintf(buf, size, "%s", j->result);
    else if (!strcmp(f, "runtime")) cli_fsd(cli_job_runtime(j, now), buf, size);
    else if (!strcmp(f, "ntasks")) NUM(j->ntasks);
    else if (!strcmp(f, "nnodes")) NUM(j->nnodes);
    else if (!strcmp(f, "ncores")) NUM(j->ncores);
    else if (!strcmp(f, "nodelist")) snprintf(buf, size, "%s", j->nodelist ? j->nodelist : "");
    else if (!strcmp(f, "urgency")) NUM(j->urgency);
    else if (!strcmp(f, "priority")) NUM(j->priority);
    else if (!strcmp(f, "duration")) {
        if (j->duration >= 0)
            cli_fsd(j->duration, buf, size);
    } else if (!strcmp(f, "t_submit")) TS(j->t_submit);
    else if (!strcmp(f, "t_run")) TS(j->t_run);
    else if (!strcmp(f, "t_inactive")) TS(j->t_inactive);
    else if (!strcmp(f, "exception")) snprintf(buf, size, "%s", j->exception ? j->exception : "");
    else if (!strcmp(f, "returncode") || !strcmp(f, "success") || !strcmp(f, "waitstatus")) {
        int rc;
        if (!job_returncode(j, &rc))
            return;   /* active: empty, as Flux's */
        if (f[0] == 'r')
            snprintf(buf, size, "%d", rc);
        else if (f[0] == 's')
            snprintf(buf, size, "%s", !strcmp(j->result, "COMPLETED 0") ? "True" : "False");
        else if (j->status >= 0)
            snprintf(buf, size, "%d", j->status << 8);
    }
#undef NUM
#undef TS
}

/* Walk fmt: "{field}" or "{field:[<>]WIDTH[.PREC]}"; literal text otherwise
 * ("{{" and "}}" are literal braces). With job NULL, check only (returns -1
 * and prints on error) or, with header set, print the uppercased names. */
static int format_print(FILE *out, const char *fmt, const struct jobinfo *job, double now,
                        bool header)
{
    for (const char *p = fmt; *p;) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            if (out)
                fputc(*p, out);
            p += 2;
            continue;
        }
        if (*p != '{') {
            if (out)
                fputc(*p, out);
            p++;
            continue;
        }
        const char *end = strchr(p, '}');
        if (!end) {
            cli_err("--format: unterminated '{' in '%s'", fmt);
            return -1;
        }
        const char *name = p + 1, *colon = memchr(name, ':', end - name);
        const char *bang = memchr(name, '!', (colon ? colon : end) - name);
        size_t nlen = (bang ? bang : colon ? colon : end) - name;
        char conv = 0;
        if (bang) {
            conv = bang[1];
            if (bang + 2 != (colon ? colon : end) || !strchr("FHdD", conv)) {
                cli_err("--format: bad conversion '%.*s' (known: !F !H !d !D)",
                        (int)((colon ? colon : end) - bang), bang);
                return -1;
            }
        }
        char align = '<';
        int width = 0, prec = -1;
        if (colon) {
            const char *s = colon + 1;
            if (*s == '<' || *s == '>')
                align = *s++;
            while (isdigit((unsigned char)*s))
                width = width * 10 + (*s++ - '0');
            if (*s == '.') {
                prec = 0;
                for (s++; isdigit((unsigned char)*s); s++)
                    prec = prec * 10 + (*s - '0');
            }
            if (s != end) {
                cli_err("--format: bad spec '%.*s'", (int)(end - p + 1), p);
                return -1;
            }
        }
        if (!format_field_known(name, nlen)) {
            cli_err("--format: unknown field '%.*s' (known: %s)", (int)nlen, name,
                    FORMAT_FIELD_LIST);
            return -1;
        }
        char val[512];
        if (header) {
            snprintf(val, sizeof(val), "%.*s", (int)nlen, name);
            for (char *c = val; *c; c++)
                *c = toupper((unsigned char)*c);
        } else if (job)
            format_value(job, name, nlen, conv, now, val, sizeof(val));
        else
            val[0] = '\0';
        if (out)
            fprintf(out, align == '<' ? "%-*.*s" : "%*.*s", width, prec < 0 ? INT_MAX : prec, val);
        p = end + 1;
    }
    if (out)
        fputc('\n', out);
    return 0;
}

/* --state filter: a state name, a result word, or pending/running/active/inactive. */
static bool state_matches(const struct jobinfo *j, const char *filter)
{
    char *copy = strdup(filter), *save = NULL;
    bool match = false;
    for (char *w = copy ? strtok_r(copy, ",", &save) : NULL; w && !match;
         w = strtok_r(NULL, ",", &save)) {
        size_t wl = strlen(w);
        if (!strcasecmp(w, j->state))
            match = true;
        else if (j->result[0] && !strncasecmp(w, j->result, wl)
                 && (j->result[wl] == '\0' || j->result[wl] == ' '))
            match = true;
        else if (!strcasecmp(w, "pending"))
            match = cli_state_pending(j->state);
        else if (!strcasecmp(w, "running"))
            match = !strcmp(j->state, "RUN") || !strcmp(j->state, "CLEANUP");
        else if (!strcasecmp(w, "active"))
            match = cli_state_active(j->state);
        else if (!strcasecmp(w, "inactive"))
            match = !cli_state_active(j->state);
    }
    free(copy);
    return match;
}

static bool state_filter_valid(const char *filter)
{
    static const char *words[] = {
        "NEW", "DEPEND", "PRIORITY", "SCHED", "RUN", "CLEANUP", "INACTIVE", "COMPLETED",
        "FAILED", "CANCELED", "TIMEOUT", "LOST", "PENDING", "RUNNING", "ACTIVE", NULL,
    };
    char *copy = strdup(filter), *save = NULL;
    bool ok = copy != NULL;
    for (char *w = copy ? strtok_r(copy, ",", &save) : NULL; w; w = strtok_r(NULL, ",", &save)) {
        bool known = false;
        for (const char **k = words; *k; k++)
            known |= !strcasecmp(w, *k);
        if (!known) {
            cli_err("--filter: unknown state '%s'", w);
            ok = false;
        }
    }
    free(copy);
    return ok;
}

static void jobs_usage(FILE *f)
{
    fprintf(f,
            "Usage: fluxfs jobs [OPTIONS] [ID...]\n"
            "List jobs like flux jobs: JOBID USER NAME ST NTASKS NNODES TIME INFO.\n"
            "By default: your active jobs, pending first, newest first.\n\n"
            "  -a, --all            include inactive jobs\n"
            "  -A                   jobs of every user (same as --user=all)\n"
            "  -f, --filter=LIST    only these states or results, comma-separated\n"
            "                       (also --state): NEW DEPEND PRIORITY SCHED RUN\n"
            "                       CLEANUP INACTIVE, COMPLETED FAILED CANCELED TIMEOUT\n"
            "                       LOST, pending running active inactive\n"
            "  -u, --user=UID|NAME  only this user's jobs (all: every user)\n"
            "      --name=NAME      only jobs of this name\n"
            "  -q, --queue=NAME     only jobs of this named queue\n"
            "      --since=WHEN     also inactive jobs, those that ended since WHEN:\n"
            "                       a time ago (FSD: 30m, 2h, 1d; or -30m) or seconds\n"
            "                       since the epoch\n"
            "  -c, --count=N        at most N jobs\n"
            "  -n, --no-header      no header line\n"
            "  -o, --format=FMT     one line per job, as flux jobs: {field},\n"
            "                       {field:<WIDTH.PREC}, {field:>WIDTH}, {field!CONV}\n"
            "                       (!F duration, !H H:MM:SS, !d date-time, !D date);\n"
            "                       fields: " FORMAT_FIELD_LIST "\n"
            "      --json           a JSON array of objects instead (also -o json)\n"
            "      --stats          a first line counting the jobs shown by state\n"
            "      --sort=[-]KEY,...  order by these fields (- reverses), as flux jobs:\n"
            "                       numbers as numbers, ids and times in time order\n"
            "      --watch          then print each of them again as its state changes,\n"
            "                       until every one is inactive (from the event journal)\n"
            "  -m, --mount=DIR      the instance's mount point\n"
            "  -h, --help           this help\n");
}

int cli_parse_user(const char *s, long *uid)
{
    char *end;
    if (!strcmp(s, "all")) {
        *uid = -1;
        return 0;
    }
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end != s && !*end && !errno && v >= 0) {
        *uid = v;
        return 0;
    }
    uid_t found;
    if (cli_pw_uid(s, &found) < 0) {
        cli_err("--user: unknown user '%s'", s);
        return -EINVAL;
    }
    *uid = found;
    return 0;
}

/* --watch: follow the event journal from where it stood when we listed,
 * and print a job's row again after each event that changes its state,
 * until every listed job is inactive. */
static int watch_jobs(struct jobinfo *jobs, size_t n, const char *format, off_t at)
{
    static const char *const changes[] = { "depend", "priority", "alloc", "finish",
                                           "release", "clean", "exception", NULL };
    char path[PATH_MAX], buf[65536];
    size_t active = 0, have = 0;
    for (size_t i = 0; i < n; i++)
        active += cli_state_active(jobs[i].state);
    if (active == 0)
        return 0;
    int fd = open(cli_path(path, sizeof(path), "events"), O_RDONLY | O_CLOEXEC);
    int ifd = inotify_init1(IN_CLOEXEC);
    if (fd < 0 || ifd < 0 || inotify_add_watch(ifd, path, IN_MODIFY) < 0) {
        cli_err("%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        if (ifd >= 0)
            close(ifd);
        return CLI_EXIT_ERROR;
    }
    fflush(stdout);
    while (active > 0) {
        ssize_t r = pread(fd, buf + have, sizeof(buf) - 1 - have, at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        if (r == 0) {
            char ev[4096];
            if (read(ifd, ev, sizeof(ev)) < 0 && errno != EINTR)
                break;
            continue;
        }
        at += r;
        have += (size_t)r;
        buf[have] = '\0';
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = '\0';
            json_t *e = json_loads(line, 0, NULL);
            const char *id = json_string_value(json_object_get(e, "id"));
            const char *name = json_string_value(json_object_get(e, "name"));
            bool change = false;
            for (int c = 0; name && changes[c]; c++)
                change |= !strcmp(name, changes[c]);
            for (size_t i = 0; id && change && i < n; i++) {
                if (strcmp(jobs[i].id, id) || !cli_state_active(jobs[i].state))
                    continue;
                struct jobinfo now;
                memset(&now, 0, sizeof(now));
                /* once per state it is seen in (its events may come after
                 * it has moved on) */
                if (cli_job_load(id, &now, true) == 0 && strcmp(now.state, jobs[i].state)) {
                    if (format)
                        format_print(stdout, format, &now, cli_now(), false);
                    else
                        cli_job_print_row(stdout, &now, cli_now());
                    fflush(stdout);
                    if (!cli_state_active(now.state))
                        active--;
                    snprintf(jobs[i].state, sizeof(jobs[i].state), "%s", now.state);
                }
                jobinfo_release(&now);
            }
            json_decref(e);
            line = nl + 1;
        }
        have = strlen(line);
        memmove(buf, line, have);
        if (have == sizeof(buf) - 1)
            have = 0;   /* a line longer than the buffer: skipped */
    }
    close(fd);
    close(ifd);
    return 0;
}

/* --sort=[-]KEY,...: each KEY a format field. */
struct sort_ctx {
    const char *keys;
    double now;
};

static int sort_check(const char *keys)
{
    for (const char *k = keys; *k;) {
        k += *k == '-';
        size_t len = strcspn(k, ",");
        if (!format_field_known(k, len)) {
            cli_err("--sort: unknown field '%.*s' (known: %s)", (int)len, k, FORMAT_FIELD_LIST);
            return -1;
        }
        k += len + (k[len] == ',');
    }
    return 0;
}

/* One key of two jobs: numbers (ids, times, counts) as numbers, else text. */
static int sort_key(const struct jobinfo *x, const struct jobinfo *y, const char *k, size_t len,
                    double now)
{
    char a[256], b[256];
    bool id = len == 2 && !strncmp(k, "id", 2);
    bool runtime = len == 7 && !strncmp(k, "runtime", 7);
    format_value(x, id ? "id.dec" : k, id ? 6 : len, 0, now, a, sizeof(a));
    format_value(y, id ? "id.dec" : k, id ? 6 : len, 0, now, b, sizeof(b));
    if (runtime) {
        double ra = cli_job_runtime(x, now), rb = cli_job_runtime(y, now);
        return (ra > rb) - (ra < rb);
    }
    char *ea, *eb;
    double na = strtod(a, &ea), nb = strtod(b, &eb);
    if (!*ea && !*eb)
        return (na > nb) - (na < nb);
    return strcmp(a, b);
}

static int sort_cmp(const void *pa, const void *pb, void *arg)
{
    const struct sort_ctx *ctx = arg;
    for (const char *k = ctx->keys; *k;) {
        bool rev = *k == '-';
        k += rev;
        size_t len = strcspn(k, ",");
        /* a value not known yet sorts last, either way */
        char a[8], b[8];
        format_value(pa, k, len, 0, ctx->now, a, sizeof(a));
        format_value(pb, k, len, 0, ctx->now, b, sizeof(b));
        if (!a[0] != !b[0])
            return !a[0] - !b[0];
        int c = sort_key(pa, pb, k, len, ctx->now);
        if (c)
            return rev ? -c : c;
        k += len + (k[len] == ',');
    }
    return 0;
}

int cmd_jobs(int argc, char **argv)
{
    enum { OPT_JSON = 256, OPT_NAME, OPT_SINCE, OPT_STATS, OPT_WATCH, OPT_SORT };
    static const struct option longopts[] = {
        { "all", no_argument, NULL, 'a' },
        { "state", required_argument, NULL, 'f' },
        { "filter", required_argument, NULL, 'f' },
        { "user", required_argument, NULL, 'u' },
        { "name", required_argument, NULL, OPT_NAME },
        { "queue", required_argument, NULL, 'q' },
        { "since", required_argument, NULL, OPT_SINCE },
        { "count", required_argument, NULL, 'c' },
        { "format", required_argument, NULL, 'o' },
        { "json", no_argument, NULL, OPT_JSON },
        { "no-header", no_argument, NULL, 'n' },
        { "stats", no_argument, NULL, OPT_STATS },
        { "watch", no_argument, NULL, OPT_WATCH },
        { "sort", required_argument, NULL, OPT_SORT },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    bool all = false, json = false, header = true, stats = false, watch = false;
    const char *states = NULL, *format = NULL, *name = NULL, *sort = NULL, *queue = NULL;
    long uid = getuid(), count = -1;
    double since = 0;
    int c;
    while ((c = getopt_long(argc, argv, "aAu:c:nf:o:q:m:h", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'a': all = true; break;
        case 'A': uid = -1; break;
        case 'f':
            if (!state_filter_valid(optarg))
                return CLI_EXIT_USAGE;
            states = optarg;
            break;
        case 'u':
            if (cli_parse_user(optarg, &uid) < 0)
                return CLI_EXIT_USAGE;
            break;
        case OPT_NAME: name = optarg; break;
        case 'q': queue = optarg; break;
        case OPT_SINCE: {
            double ago;
            const char *w = optarg[0] == '-' ? optarg + 1 : optarg;
            double t = strtod(optarg, &end);
            if (end != optarg && !*end && t > 1e9)
                since = t;   /* an absolute time */
            else if (cli_parse_duration(w, &ago) == 0 && ago > 0)
                since = cli_now() - ago;
            else {
                cli_err("--since: invalid time '%s' (a time ago: 30m, 2h, 1d; or epoch "
                        "seconds)", optarg);
                return CLI_EXIT_USAGE;
            }
            all = true;
            break;
        }
        case 'c':
            count = strtol(optarg, &end, 10);
            if (end == optarg || *end || count < 0) {
                cli_err("--count: invalid value '%s'", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'o':
            if (!strcmp(optarg, "json"))   /* fluxfs's before --json */
                json = true;
            else
                format = optarg;
            break;
        case OPT_JSON: json = true; break;
        case 'n': header = false; break;
        case OPT_STATS: stats = true; break;
        case OPT_WATCH: watch = true; break;
        case OPT_SORT: sort = optarg; break;
        case 'm': cli_set_mount(optarg); break;
        case 'h': jobs_usage(stdout); return CLI_EXIT_OK;
        default: jobs_usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    if (format && format_print(NULL, format, NULL, 0, false) < 0)
        return CLI_EXIT_USAGE;
    if (sort && sort_check(sort) < 0)
        return CLI_EXIT_USAGE;
    if (format && json) {
        cli_err("--json and --format are exclusive");
        return CLI_EXIT_USAGE;
    }
    if (watch && json) {
        cli_err("--watch and --json are exclusive");
        return CLI_EXIT_USAGE;
    }
    /* where the journal stands before we look: nothing after it is missed */
    off_t journal_at = 0;
    struct stat jst;
    char jpath[PATH_MAX];
    if (watch && stat(cli_path(jpath, sizeof(jpath), "events"), &jst) == 0)
        journal_at = jst.st_size;
    struct jobinfo *jobs = NULL;
    size_t n = 0;
    int rc = 0;
    if (optind < argc) {           /* explicit ids: exactly those, in order */
        jobs = calloc(argc - optind, sizeof(*jobs));
        for (int i = optind; jobs && i < argc; i++) {
            if (!cli_job_exists(argv[i]) || cli_job_load(argv[i], &jobs[n], true) < 0) {
                rc = CLI_EXIT_ERROR;
                continue;
            }
            n++;
        }
        uid = -1;
    } else if (cli_job_list(all || states, &jobs, &n) < 0) {
        cli_err("cannot list jobs: %s", strerror(errno));
        return CLI_EXIT_ERROR;
    }
    double now = cli_now();
    json_t *array = json ? json_array() : NULL;
    /* what is shown: by user, state, name and end time; sorted; then at
     * most count */
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        const struct jobinfo *j = &jobs[i];
        bool show = !(uid >= 0 && j->userid != uid) && !(states && !state_matches(j, states))
                    && !(name && strcmp(j->name ? j->name : "", name))
                    && !(queue && strcmp(j->queue ? j->queue : "", queue))
                    && !(since > 0 && !cli_state_active(j->state) && j->t_inactive < since);
        if (show) {
            if (keep != i) {
                struct jobinfo t = jobs[keep];
                jobs[keep] = *j;
                jobs[i] = t;
            }
            keep++;
        }
    }
    if (sort) {
        struct sort_ctx ctx = { .keys = sort, .now = now };
        qsort_r(jobs, keep, sizeof(*jobs), sort_cmp, &ctx);
    }
    if (count >= 0 && (size_t)count < keep)
        keep = (size_t)count;   /* the rest are freed with the list */
    if (stats && !json) {
        static const char *const ab[] = { "PD", "R", "CD", "F", "CA", "TO", "LO" };
        int counts[7] = { 0 };
        for (size_t i = 0; i < keep; i++) {
            const char *a = cli_job_status_abbrev(&jobs[i]);
            int k = cli_state_pending(jobs[i].state) ? 0 : -1;
            for (int t = 1; k < 0 && t < 7; t++)
                if (!strcmp(a, ab[t]))
                    k = t;
            if (k >= 0)
                counts[k]++;
        }
        printf("%d pending, %d running, %d completed, %d failed, %d canceled, %d timeout, "
               "%d lost\n", counts[0], counts[1], counts[2], counts[3], counts[4], counts[5],
               counts[6]);
    }
    /* every owner's name at once (a directory service's users cost a
     * getent process, not one each) */
    uid_t *owners = malloc((keep ? keep : 1) * sizeof(*owners));
    size_t nowners = 0;
    for (size_t i = 0; owners && i < keep; i++)
        if (jobs[i].userid >= 0)
            owners[nowners++] = (uid_t)jobs[i].userid;
    if (owners)
        cli_pw_prefetch(owners, nowners);
    free(owners);
    if (!json && header) {
        if (format)
            format_print(stdout, format, NULL, now, true);
        else
            cli_job_print_header(stdout);
    }
    for (size_t i = 0; i < keep; i++) {
        const struct jobinfo *j = &jobs[i];
        if (json)
            json_array_append_new(array, job_to_json(j, now));
        else if (format)
            format_print(stdout, format, j, now, false);
        else
            cli_job_print_row(stdout, j, now);
    }
    if (json) {
        json_dumpf(array, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(array);
    }
    if (watch && rc == 0)
        rc = watch_jobs(jobs, keep, format, journal_at);
    cli_job_list_free(jobs, n);
    return rc;
}

/* ---------------------------------------------------------------- cancel, wait */

/* The caller's active job ids (for --all). */
static int my_active_ids(char ***idsp, int *np)
{
    struct jobinfo *jobs;
    size_t n;
    if (cli_job_list(false, &jobs, &n) < 0) {
        cli_err("cannot list jobs: %s", strerror(errno));
        return -1;
    }
    char **ids = calloc(n + 1, sizeof(*ids));
    int k = 0;
    for (size_t i = 0; ids && i < n; i++)
        if (jobs[i].userid == (long)getuid())
            ids[k++] = strdup(jobs[i].id);
    cli_job_list_free(jobs, n);
    *idsp = ids;
    *np = k;
    return ids ? 0 : -1;
}

static void free_ids(char **ids, int n)
{
    for (int i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
}

/* What cancel, kill and wait do to one job (arg: the command's own, a
 * signal's name for kill): 0, or -1 (after printing why) to make the
 * command exit 1. */
typedef int (*ids_cmd_f)(const char *id, const char *arg);

/* The frame of cancel and wait: parse ID... or --all (the caller's active
 * jobs), then call fn on each id in turn. Returns the exit code: 0 if fn
 * succeeded for every id, 1 otherwise, 2 on bad usage. */
static int ids_cmd_run(int argc, char **argv, const char *usage, ids_cmd_f fn,
                       const char *arg)
{
    bool all;
    int first = cli_parse_opts(argc, argv, usage, &all);
    if (first < 0)
        return CLI_PARSE_CODE(first);
    if ((first < argc) == all) {
        cli_err("%s: give job ids or --all", argv[0]);
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    char **ids = argv + first;
    int n = argc - first, rc = CLI_EXIT_OK;
    if (all && my_active_ids(&ids, &n) < 0)
        return CLI_EXIT_ERROR;
    for (int i = 0; i < n; i++)
        if (fn(ids[i], arg) < 0)
            rc = CLI_EXIT_ERROR;
    if (all)
        free_ids(ids, n);
    return rc;
}

static int cancel_one(const char *id, const char *arg)
{
    (void)arg;
    return cli_job_ctl(id, "cancel") < 0 ? -1 : 0;
}

int cmd_cancel(int argc, char **argv)
{
    static const char usage[] =
        "Usage: fluxfs cancel [-m DIR] ID... | --all\n"
        "Cancel jobs (writes 'cancel' to jobs/ID/ctl): pending jobs are removed,\n"
        "running ones get SIGTERM, then SIGKILL after the kill grace.\n\n"
        "  -a, --all        cancel all your active jobs\n"
        "  -m, --mount=DIR  the instance's mount point\n"
        "  -h, --help       this help\n"
        "Exit status: 0 if every job was canceled, 1 otherwise.\n";
    return ids_cmd_run(argc, argv, usage, cancel_one, NULL);
}

static int kill_one(const char *id, const char *sig)
{
    char verb[64];
    snprintf(verb, sizeof(verb), "signal %s", sig);
    return cli_job_ctl(id, verb) < 0 ? -1 : 0;
}

int cmd_kill(int argc, char **argv)
{
    static const char usage[] =
        "Usage: fluxfs kill [-m DIR] [-s SIGNAL] ID... | --all\n"
        "Send a signal to every task of running jobs (writes 'signal SIGNAL' to\n"
        "jobs/ID/ctl), as flux job kill and scancel --signal do; the job is not\n"
        "canceled by it.\n\n"
        "  -s, --signal=SIG  a name (USR1, SIGUSR1) or number (default TERM)\n"
        "  -a, --all         signal all your active jobs\n"
        "  -m, --mount=DIR   the instance's mount point\n"
        "  -h, --help        this help\n"
        "Exit status: 0 if every job was signalled, 1 otherwise (one not running).\n";
    const char *sig = "TERM";
    /* -s SIG, -sSIG, --signal SIG, --signal=SIG are taken out before the
     * common options are parsed (up to a "--") */
    int n = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--")) {
            while (i < argc)
                argv[n++] = argv[i++];
            break;
        }
        if (!strcmp(a, "-s") || !strcmp(a, "--signal")) {
            if (i + 1 >= argc) {
                cli_err("kill: %s needs a signal", a);
                fputs(usage, stderr);
                return CLI_EXIT_USAGE;
            }
            v = argv[++i];
        } else if (!strncmp(a, "--signal=", 9))
            v = a + 9;
        else if (!strncmp(a, "-s", 2))
            v = a + 2;
        if (v) {
            if (!*v || strlen(v) > 32 || strpbrk(v, " \t\n")) {
                cli_err("kill: invalid signal '%s'", v);
                return CLI_EXIT_USAGE;
            }
            sig = v;
        } else
            argv[n++] = argv[i];
    }
    argv[n] = NULL;
    return ids_cmd_run(n, argv, usage, kill_one, sig);
}

/* Print "ID: RESULT" once the job has ended; -1 unless it is COMPLETED 0. */
static int wait_one(const char *id, const char *arg)
{
    (void)arg;
    if (!cli_job_exists(id))
        return -1;
    char *res = cli_job_file(id, "wait", NULL);
    if (!res) {
        cli_err("%s: wait: %s", id, strerror(errno));
        return -1;
    }
    chomp(res);
    printf("%s: %s\n", id, res);
    fflush(stdout);
    int rc = strcmp(res, "COMPLETED 0") == 0 ? 0 : -1;
    struct jobinfo job;
    /* and why, when an exception ended it (a node lost, a timeout...) */
    if (rc < 0 && cli_job_load(id, &job, true) == 0) {
        if (job.exception)
            cli_err("%s: ended by an exception: %s", id, job.exception);
        jobinfo_release(&job);
    }
    free(res);
    return rc;
}

int cmd_wait(int argc, char **argv)
{
    static const char usage[] =
        "Usage: fluxfs wait [-m DIR] ID... | --all\n"
        "Wait for each job to end (reads jobs/ID/wait) and print 'ID: RESULT'.\n\n"
        "  -a, --all        wait for all your active jobs\n"
        "  -m, --mount=DIR  the instance's mount point\n"
        "  -h, --help       this help\n"
        "Exit status: 0 if every job ended COMPLETED 0, 1 otherwise.\n";
    return ids_cmd_run(argc, argv, usage, wait_one, NULL);
}

/* ---------------------------------------------------------------- attach */

int cli_result_exit_code(const char *id, const char *result)
{
    int n;
    if (!strcmp(result, "COMPLETED 0"))
        return CLI_EXIT_OK;
    struct jobinfo job;
    const char *why = NULL;
    bool loaded = cli_job_load(id, &job, true) == 0;
    if (loaded)
        why = job.exception;
    if (sscanf(result, "FAILED %d", &n) == 1) {
        /* a task's own exit code says it all; an exception (a node lost,
         * a resource down) is news to whoever waited */
        if (why)
            cli_err("%s: job failed: %s", id, why);
        if (loaded)
            jobinfo_release(&job);
        return n <= 0 ? 1 : n > 255 ? 255 : n;
    }
    if (!strcmp(result, "TIMEOUT")) {
        cli_err("%s: job timed out%s%s", id, why ? ": " : "", why ? why : "");
        jobinfo_release(&job);
        return CLI_EXIT_TIMEOUT;
    }
    cli_err("%s: job %s%s%s", id, !strcmp(result, "CANCELED") ? "canceled"
                                  : !strcmp(result, "LOST") ? "lost" : result,
            why ? ": " : "", why ? why : "");
    jobinfo_release(&job);
    return CLI_EXIT_CANCELED;
}

/* Copy what is new in fd to out. Returns false if fd is unusable. */
static bool drain(int fd, int out)
{
    char buf[65536];
    ssize_t n;
    if (fd < 0)
        return false;
    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return true;           /* our output is gone: keep following */
            off += w;
        }
    }
    return true;
}

/* Copy a finished job's stream (stdout or stderr) to out: its file is
 * opened only when it holds something (most short jobs print nothing). */
static void copy_ended(const char *id, const char *name, int out)
{
    char path[PATH_MAX];
    struct statx stx;
    cli_path(path, sizeof(path), "jobs/%s/%s", id, name);
    /* a fresh size: the kernel takes a FUSE file's size as valid until the
     * clock ticks, even with attributes cached for 0 s */
    if (statx(AT_FDCWD, path, AT_STATX_FORCE_SYNC, STATX_SIZE, &stx) == 0 && stx.stx_size == 0)
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_err("%s: cannot read its %s: %s", id, name, strerror(errno));
        return;
    }
    drain(fd, out);
    close(fd);
}

/* Copy a finished job's stream, which holds something, to out. */
static void copy_stream(const char *id, const char *name, int out)
{
    char path[PATH_MAX];
    int fd = open(cli_path(path, sizeof(path), "jobs/%s/%s", id, name), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_err("%s: cannot read its %s: %s", id, name, strerror(errno));
        return;
    }
    drain(fd, out);
    close(fd);
}

/* Follow job id to its end through wfd: its `wait` (tail < 0), or the
 * queue/run that submitted it, whose content from tail on is the job's
 * result line and then "output OUT ERR" (the sizes of its stdout and
 * stderr: nothing to look up for a job that printed nothing). */
static int attach(const char *id, int wfd, off_t tail)
{
    char path[PATH_MAX], result[128];
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigprocmask(SIG_BLOCK, &sigs, &old);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
    /* For its first QUICK_MS only the job's end is waited for; output is
     * then copied once. A job still running after that has its output
     * streamed as it grows, woken by an inotify watch on its directory
     * (made only then: closing an inotify descriptor waits for the
     * kernel's SRCU grace period, 5-12 ms here, most of a `fluxfs run
     * true`). Each wake drains the output, then looks at `wait`. */
    enum { QUICK_MS = 100 };
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int out = -1, err = -1, ifd = -1;
    bool streaming = false, ended = false;
    int interrupts = 0, rc = -1;
    for (;;) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long left = QUICK_MS - ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (!streaming && left <= 0) {
            streaming = true;
            out = open(cli_path(path, sizeof(path), "jobs/%s/stdout", id), O_RDONLY | O_CLOEXEC);
            err = open(cli_path(path, sizeof(path), "jobs/%s/stderr", id), O_RDONLY | O_CLOEXEC);
            if (out < 0 || err < 0)
                cli_err("%s: cannot read its output: %s", id, strerror(errno));
            ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
            if (ifd >= 0 && inotify_add_watch(ifd, cli_path(path, sizeof(path), "jobs/%s", id),
                                              IN_MODIFY | IN_CLOSE_WRITE) < 0) {
                close(ifd);
                ifd = -1;
            }
        }
        if (streaming) {
            fflush(stdout);
            drain(out, STDOUT_FILENO);
            drain(err, STDERR_FILENO);
        }
        /* the end wakes us through `wait`; inotify, output; the timeout
         * only covers a file system that cannot tell (--no-publish) */
        struct pollfd pfd[3] = { { .fd = wfd, .events = POLLIN }, { .fd = sfd, .events = POLLIN },
                                 { .fd = ifd, .events = POLLIN } };
        int n = poll(pfd, 3, !streaming ? (int)left : ifd >= 0 ? 1000 : 100);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && (pfd[0].revents & (POLLIN | POLLERR | POLLHUP))) {
            ended = true;
            break;
        }
        if (n > 0 && (pfd[2].revents & POLLIN)) {
            char ev[4096];
            while (read(ifd, ev, sizeof(ev)) > 0)
                ;
        }
        struct signalfd_siginfo si;
        if (n > 0 && (pfd[1].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si)) {
            if (++interrupts == 1) {
                cli_err("%s: canceling the job (interrupt again to detach)", id);
                cli_job_ctl(id, "cancel");
            } else {
                cli_err("%s: detached; the job goes on ending in the background", id);
                rc = CLI_EXIT_DETACHED;
                break;
            }
        }
    }
    /* the result first: once it is there, so is all of the output (a job
     * ends after its output is stored). A read blocks until the end, so a
     * file system without poll support only loses the streaming. */
    ssize_t rn = ended ? pread(wfd, result, sizeof(result) - 1, tail < 0 ? 0 : tail) : -1;
    int werr = errno;
    unsigned long long sizes[2] = { 1, 1 };   /* unknown: look */
    if (ended && rn > 0) {
        result[rn] = '\0';
        char *nl = strchr(result, '\n');
        if (tail >= 0 && nl && sscanf(nl + 1, "output %llu %llu", &sizes[0], &sizes[1]) != 2)
            sizes[0] = sizes[1] = 1;
        if (nl)
            nl[1] = '\0';
        fflush(stdout);
        if (streaming) {
            struct statx stx;
            statx(out, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC, STATX_SIZE, &stx);
            statx(err, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC, STATX_SIZE, &stx);
            drain(out, STDOUT_FILENO);
            drain(err, STDERR_FILENO);
        } else if (tail >= 0) {
            if (sizes[0])
                copy_stream(id, "stdout", STDOUT_FILENO);
            if (sizes[1])
                copy_stream(id, "stderr", STDERR_FILENO);
        } else {
            copy_ended(id, "stdout", STDOUT_FILENO);
            copy_ended(id, "stderr", STDERR_FILENO);
        }
    }
    if (out >= 0)
        close(out);
    if (err >= 0)
        close(err);
    if (ifd >= 0)
        close(ifd);
    if (tail < 0)
        close(wfd);
    if (sfd >= 0)
        close(sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (rc >= 0)
        return rc;
    if (!ended || rn <= 0) {
        cli_err("%s: cannot read how it ended: %s", id,
                ended && rn == 0 ? "no result" : strerror(ended ? werr : errno));
        return CLI_EXIT_ERROR;
    }
    return cli_result_exit_code(id, chomp(result));
}

int cli_attach(const char *id)
{
    char path[PATH_MAX];
    if (strchr(id, '/') || id[0] == '.' || id[0] == '\0') {
        cli_err("%s: no such job", id);
        return CLI_EXIT_ERROR;
    }
    /* poll(2) on `wait` turns readable when the job has ended, and its
     * read then gives the result line: no state or result file to read */
    int wfd = open(cli_path(path, sizeof(path), "jobs/%s/wait", id), O_RDONLY | O_CLOEXEC);
    if (wfd < 0) {
        if (errno == ENOENT)
            cli_err("%s: no such job", id);
        else
            cli_err("%s: cannot wait for it: %s", id, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    /* another user's job: its end may be waited for, but attach is for
     * its output, which is its owner's (flux job attach refuses too) */
    int ofd = open(cli_path(path, sizeof(path), "jobs/%s/stdout", id), O_RDONLY | O_CLOEXEC);
    if (ofd < 0 && errno == EACCES) {
        cli_err("%s: cannot read its output: %s (wait for it with fluxfs wait)", id,
                strerror(errno));
        close(wfd);
        return CLI_EXIT_ERROR;
    }
    if (ofd >= 0)
        close(ofd);   /* (access(2) would not do: the tree decides at open) */
    return attach(id, wfd, -1);
}

int cli_attach_run(const char *id, int fd, off_t tail)
{
    return attach(id, fd, tail);
}

int cmd_attach(int argc, char **argv)
{
    static const char usage[] =
        "Usage: fluxfs attach [-m DIR] ID\n"
        "Copy a job's stdout and stderr to ours (from the start) until it ends,\n"
        "then exit with its status: COMPLETED 0 -> 0, FAILED n -> n, CANCELED or\n"
        "LOST -> 1, TIMEOUT -> 124. Ctrl-C cancels the job; a second one detaches\n"
        "(exit 130).\n\n"
        "  -m, --mount=DIR  the instance's mount point\n"
        "  -h, --help       this help\n";
    int first = cli_parse_opts(argc, argv, usage, NULL);
    if (first < 0)
        return CLI_PARSE_CODE(first);
    if (first != argc - 1) {
        cli_err("attach: expected exactly one job id");
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    return cli_attach(argv[first]);
}
