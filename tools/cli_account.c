/* cli_account.c - fluxfs account: usage by user and bank from the
 * instance's accounting records (accounting/jobs), as sacct / flux account
 * view-job-records would show it; or the records themselves. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/usage.h"
#include "tools/cli.h"
#include "tools/cli_pw.h"

static const char account_usage[] =
    "Usage: fluxfs account [OPTIONS]\n"
    "Usage by user and bank over the instance's accounting records (every ended\n"
    "job, kept after it is purged: accounting/jobs). You see your own records;\n"
    "root and the instance owner see everyone's.\n\n"
    "  -S, --since=WHEN     jobs that ended since WHEN: a time ago with its unit\n"
    "                       (30m, 2h, 7d) or epoch seconds (a bare number)\n"
    "  -E, --until=WHEN     ... and before WHEN\n"
    "  -u, --user=USER      only USER's (a name or uid)\n"
    "  -j, --jobs           the records themselves, one JSON line each, not totals\n"
    "  -o, --format=FMT     table (default), csv or json (JSON lines)\n"
    "  -m, --mount=DIR      the instance's mount point\n"
    "  -h, --help           this help\n";

static int parse_when(const char *opt, const char *s, double *t)
{
    char *end;
    double v = strtod(s, &end), ago;
    const char *w = s[0] == '-' ? s + 1 : s;
    if (end != s && !*end && v >= 0)
        *t = v;   /* a bare number is a time (epoch seconds), never an age */
    else if (cli_parse_duration(w, &ago) == 0 && ago > 0)
        *t = cli_now() - ago;
    else {
        cli_err("--%s: invalid time '%s' (a time ago: 30m, 2h, 7d; or epoch seconds)", opt, s);
        return -1;
    }
    return 0;
}

/* A CSV field, quoted when it holds a comma, a quote or a line break. */
static void csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void print_row(const char *format, json_t *u)
{
    char name[64];
    int id = (int)json_integer_value(json_object_get(u, "userid"));
    const char *bank = json_string_value(json_object_get(u, "bank"));
    cli_username((uid_t)id, name, sizeof(name));
    long long jobs = (long long)json_integer_value(json_object_get(u, "jobs"));
    long long done = (long long)json_integer_value(json_object_get(u, "completed"));
    long long failed = (long long)json_integer_value(json_object_get(u, "failed"));
    double core_h = json_number_value(json_object_get(u, "core_seconds")) / 3600;
    double node_h = json_number_value(json_object_get(u, "node_seconds")) / 3600;
    double gpu_h = json_number_value(json_object_get(u, "gpu_seconds")) / 3600;
    if (!strcmp(format, "csv")) {
        printf("%d,", id);
        csv_field(name);
        putchar(',');
        csv_field(bank ? bank : "");
        printf(",%lld,%lld,%lld,%.4f,%.4f,%.4f\n", jobs, done, failed, core_h, node_h, gpu_h);
    }
    else
        printf("%-10.10s %-10.10s %8lld %9lld %7lld %12.2f %12.2f %10.2f\n", name,
               bank ? bank : "-", jobs, done, failed, core_h, node_h, gpu_h);
}

int cmd_account(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "since", required_argument, NULL, 'S' },
        { "until", required_argument, NULL, 'E' },
        { "user", required_argument, NULL, 'u' },
        { "jobs", no_argument, NULL, 'j' },
        { "format", required_argument, NULL, 'o' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    double since = 0, until = 0;
    const char *format = "table", *user = NULL;
    bool records = false, format_set = false;
    int c;
    while ((c = getopt_long(argc, argv, "S:E:u:jo:m:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'S': if (parse_when("since", optarg, &since) < 0) return CLI_EXIT_USAGE; break;
        case 'E': if (parse_when("until", optarg, &until) < 0) return CLI_EXIT_USAGE; break;
        case 'u': user = optarg; break;
        case 'j': records = true; break;
        case 'o': format = optarg; format_set = true; break;
        case 'm': cli_set_mount(optarg); break;
        case 'h': fputs(account_usage, stdout); return CLI_EXIT_OK;
        default: fputs(account_usage, stderr); return CLI_EXIT_USAGE;
        }
    }
    if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json")) {
        cli_err("--format: expected table, csv or json, not '%s'", format);
        return CLI_EXIT_USAGE;
    }
    /* the records are JSON lines, whole: no table or csv of them */
    if (records && format_set && strcmp(format, "json")) {
        cli_err("--jobs prints each record as a JSON line: --format %s does not apply", format);
        return CLI_EXIT_USAGE;
    }
    if (optind < argc) {
        fputs(account_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    long uid = -1;
    if (user && cli_parse_user(user, &uid) < 0)
        return CLI_EXIT_USAGE;
    /* the file gives a user their own records only: say so, not just an
     * empty table, when another's are asked for */
    if (uid >= 0 && (uid_t)uid != getuid() && getuid() != 0)
        cli_err("note: accounting/ shows you your own records only; root and the instance "
                "owner see everyone's");
    char path[4096];
    size_t len;
    char *text = cli_read_file(cli_path(path, sizeof(path), "accounting/jobs"), &len);
    if (!text) {
        cli_err("cannot read %s (is an instance mounted there?)", path);
        return CLI_EXIT_ERROR;
    }
    json_t *all = json_array();
    for (char *line = text, *nl; all && line && *line; line = nl) {
        if ((nl = strchr(line, '\n')))
            *nl++ = '\0';
        json_t *r = json_loads(line, 0, NULL);
        double end = json_number_value(json_object_get(r, "t_inactive"));
        if (r && (uid < 0 || json_integer_value(json_object_get(r, "userid")) == uid)
            && !(since > 0 && end < since) && !(until > 0 && end >= until))
            json_array_append(all, r);
        json_decref(r);
    }
    free(text);
    size_t i;
    json_t *u;
    if (records) {
        json_array_foreach(all, i, u) {
            /* 16 digits: the file's microseconds, not binary noise past them */
            char *s = json_dumps(u, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(16));
            printf("%s\n", s ? s : "");
            free(s);
        }
        json_decref(all);
        return CLI_EXIT_OK;
    }
    json_t *totals = usage_totals(all, 0, 0);
    /* every user's name at once (cli_pw.h) */
    uid_t *owners = malloc((json_array_size(totals) + 1) * sizeof(*owners));
    size_t nowners = 0;
    json_array_foreach(totals, i, u)
        if (owners)
            owners[nowners++] = (uid_t)json_integer_value(json_object_get(u, "userid"));
    if (owners)
        cli_pw_prefetch(owners, nowners);
    free(owners);
    if (!strcmp(format, "csv"))
        printf("userid,user,bank,jobs,completed,failed,core_hours,node_hours,gpu_hours\n");
    else if (!strcmp(format, "table"))
        printf("%-10s %-10s %8s %9s %7s %12s %12s %10s\n", "USER", "BANK", "JOBS",
               "COMPLETED", "FAILED", "CORE-HOURS", "NODE-HOURS", "GPU-HOURS");
    json_array_foreach(totals, i, u) {
        if (!strcmp(format, "json")) {
            char *s = json_dumps(u, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(16));
            printf("%s\n", s ? s : "");
            free(s);
        } else
            print_row(format, u);
    }
    json_decref(totals);
    json_decref(all);
    return CLI_EXIT_OK;
}
