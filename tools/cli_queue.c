/* cli_queue.c - fluxfs queue: named queues through queue/NAME/ (doc/tree.md
 * "Named queues"), as `flux queue` and `scontrol show/update partition`.
 *
 *   fluxfs queue [list]                    a table of every queue
 *   fluxfs queue status NAME               its status file (JSON)
 *   fluxfs queue start|stop|enable|disable NAME...
 *   fluxfs queue create NAME...            (mkdir)
 *   fluxfs queue remove NAME...            (rmdir)
 *   fluxfs queue set NAME KEY=VALUE...     change some keys of its config
 *   fluxfs queue unset NAME KEY...         remove some keys
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "tools/cli.h"

static const char queue_usage[] =
    "Usage: fluxfs queue [list]\n"
    "       fluxfs queue status NAME\n"
    "       fluxfs queue start|stop|enable|disable NAME...\n"
    "       fluxfs queue create|remove NAME...\n"
    "       fluxfs queue set NAME KEY=VALUE...   (VALUE: JSON, else a string)\n"
    "       fluxfs queue unset NAME KEY...\n"
    "Named queues (queue/NAME/); changes are root's or the instance owner's.\n"
    "Config keys: nodes, requires, max-duration, max-nodes, max-running-per-user,\n"
    "max-pending-per-user, priority, default (doc/tree.md \"Named queues\").\n";

/* The failure's reason from queue/errors, else errno's. */
static int failed(const char *what, const char *name, int err)
{
    char why[512];
    cli_last_error(why, sizeof(why));
    cli_err("%s %s: %s", what, name, why[0] ? why : strerror(err));
    return CLI_EXIT_ERROR;
}

static json_t *queue_status(const char *name)
{
    char path[PATH_MAX];
    char *text = cli_read_file(cli_path(path, sizeof(path), "queue/%s/status", name), NULL);
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return o;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The named queues: the directories of queue/ but drafts/. */
static int queue_names(char ***out)
{
    char path[PATH_MAX];
    DIR *d = opendir(cli_path(path, sizeof(path), "queue"));
    struct dirent *e;
    char **names = NULL;
    int n = 0;
    if (!d)
        return -errno;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.' || !strcmp(e->d_name, "drafts"))
            continue;
        char **more = realloc(names, (size_t)(n + 1) * sizeof(*names));
        if (!more || !(more[n] = strdup(e->d_name))) {
            names = more ? more : names;
            break;
        }
        names = more;
        n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(*names), cmp_str);
    *out = names;
    return n;
}

static void limit(char *buf, size_t size, json_t *config, const char *key)
{
    json_t *v = json_object_get(config, key);
    if (json_is_integer(v))
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_number(v))
        snprintf(buf, size, "%g", json_number_value(v));
    else
        snprintf(buf, size, "-");
}

static int queue_list(void)
{
    char **names = NULL;
    int n = queue_names(&names);
    if (n < 0) {
        cli_err("cannot read queue/: %s", strerror(-n));
        return CLI_EXIT_ERROR;
    }
    printf("%-12s %2s %2s %7s %7s %9s %6s %6s %6s %5s %s\n", "QUEUE", "EN", "ST", "PENDING",
           "RUNNING", "MAXTIME", "MAXNOD", "MAXRUN", "MAXPEN", "PRIO", "NODES");
    for (int i = 0; i < n; i++) {
        json_t *s = queue_status(names[i]), *c = json_object_get(s, "config");
        char t[32], mn[16], mr[16], mp[16], pr[16];
        limit(t, sizeof(t), c, "max-duration");
        limit(mn, sizeof(mn), c, "max-nodes");
        limit(mr, sizeof(mr), c, "max-running-per-user");
        limit(mp, sizeof(mp), c, "max-pending-per-user");
        limit(pr, sizeof(pr), c, "priority");
        const char *nodes = json_string_value(json_object_get(c, "nodes"));
        printf("%-11s%s %2s %2s %7lld %7lld %9s %6s %6s %6s %5s %s\n", names[i],
               json_is_true(json_object_get(c, "default")) ? "*" : " ",
               json_is_true(json_object_get(s, "enabled")) ? "y" : "n",
               json_is_true(json_object_get(s, "started")) ? "y" : "n",
               (long long)json_integer_value(json_object_get(s, "pending")),
               (long long)json_integer_value(json_object_get(s, "running")), t, mn, mr, mp, pr,
               nodes ? nodes : "all");
        json_decref(s);
        free(names[i]);
    }
    free(names);
    return CLI_EXIT_OK;
}

/* Read the config, change keys, write it back whole (one write: applied
 * at close, all or nothing). */
static int queue_set(const char *name, char **args, int nargs, bool unset)
{
    char path[PATH_MAX];
    cli_path(path, sizeof(path), "queue/%s/config", name);
    char *text = cli_read_file(path, NULL);
    json_t *config = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (!json_is_object(config)) {
        json_decref(config);
        return failed("cannot read the config of", name, errno ? errno : EINVAL);
    }
    for (int i = 0; i < nargs; i++) {
        char *eq = strchr(args[i], '=');
        if (unset) {
            json_object_del(config, args[i]);
            continue;
        }
        if (!eq || eq == args[i]) {
            cli_err("queue set: expected KEY=VALUE, got '%s'", args[i]);
            json_decref(config);
            return CLI_EXIT_USAGE;
        }
        *eq = '\0';
        json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
        json_object_set_new(config, args[i], v ? v : json_string(eq + 1));
    }
    char *out = json_dumps(config, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(config);
    int rc = out ? cli_write_file(path, out) : -ENOMEM;
    free(out);
    return rc < 0 ? failed("cannot configure queue", name, -rc) : CLI_EXIT_OK;
}

int cmd_queue(int argc, char **argv)
{
    int first = cli_parse_opts(argc, argv, queue_usage, NULL);
    if (first < 0)
        return CLI_PARSE_CODE(first);
    const char *verb = first < argc ? argv[first] : "list";
    char **args = argv + first + 1;
    int nargs = first < argc ? argc - first - 1 : 0;
    cli_mount();
    if (!strcmp(verb, "list") && nargs == 0)
        return queue_list();
    if (nargs == 0) {
        fputs(queue_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(verb, "status") && nargs == 1) {
        char path[PATH_MAX];
        char *text = cli_read_file(cli_path(path, sizeof(path), "queue/%s/status", args[0]),
                                   NULL);
        if (!text)
            return failed("no queue", args[0], errno);
        fputs(text, stdout);
        free(text);
        return CLI_EXIT_OK;
    }
    if (!strcmp(verb, "set") || !strcmp(verb, "unset"))
        return nargs < 2 ? (fputs(queue_usage, stderr), CLI_EXIT_USAGE)
                         : queue_set(args[0], args + 1, nargs - 1, verb[0] == 'u');
    int rc = CLI_EXIT_OK;
    for (int i = 0; i < nargs; i++) {
        char path[PATH_MAX];
        if (!strcmp(verb, "create")) {
            if (mkdir(cli_path(path, sizeof(path), "queue/%s", args[i]), 0777) < 0)
                rc = failed("cannot create queue", args[i], errno);
        } else if (!strcmp(verb, "remove")) {
            if (rmdir(cli_path(path, sizeof(path), "queue/%s", args[i])) < 0)
                rc = failed("cannot remove queue", args[i], errno);
        } else if (!strcmp(verb, "start") || !strcmp(verb, "stop") || !strcmp(verb, "enable")
                   || !strcmp(verb, "disable")) {
            int w = cli_write_file(cli_path(path, sizeof(path), "queue/%s/ctl", args[i]), verb);
            if (w < 0)
                rc = failed(verb, args[i], -w);
        } else {
            cli_err("queue: unknown command '%s'", verb);
            fputs(queue_usage, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    return rc;
}
