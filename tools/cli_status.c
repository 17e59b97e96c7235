/* cli_status.c - fluxfs status, fluxfs resource list and fluxfs top. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tools/cli.h"
#include "tools/mountpoint.h"

/* ---------------------------------------------------------------- key: value files */

struct kv {
    char key[32];
    char value[64];
};

struct kvfile {
    struct kv kv[32];
    int n;
};

static int kv_load(const char *rel, struct kvfile *f)
{
    char path[PATH_MAX];
    char *text = cli_read_file(cli_path(path, sizeof(path), "%s", rel), NULL), *save = NULL;
    f->n = 0;
    if (!text)
        return -errno;
    for (char *line = strtok_r(text, "\n", &save); line && f->n < 32;
         line = strtok_r(NULL, "\n", &save)) {
        char *sep = strstr(line, ": ");
        if (!sep)
            continue;
        *sep = '\0';
        snprintf(f->kv[f->n].key, sizeof(f->kv[f->n].key), "%s", line);
        snprintf(f->kv[f->n].value, sizeof(f->kv[f->n].value), "%s", sep + 2);
        f->n++;
    }
    free(text);
    return 0;
}

static const char *kv_get(const struct kvfile *f, const char *key)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->kv[i].key, key))
            return f->kv[i].value;
    return "?";
}

static long kv_num(const struct kvfile *f, const char *key)
{
    return strtol(kv_get(f, key), NULL, 10);
}

static int simple_parse(int argc, char **argv, const char *usage, int nargs)
{
    int first = cli_parse_opts(argc, argv, usage, NULL);
    if (first >= 0 && argc - first != nargs) {
        cli_err("%s: unexpected argument '%s'", argv[0], first < argc ? argv[first] : "");
        fputs(usage, stderr);
        return CLI_PARSE_DONE(CLI_EXIT_USAGE);
    }
    return first;
}

/* ---------------------------------------------------------------- status */

/* A multi-node instance (doc/overlay.md): this broker's place, and on the
 * leader how many brokers are in each state, naming those not up. */
static void print_overlay(void)
{
    char path[PATH_MAX];
    char *text = cli_read_file(cli_path(path, sizeof(path), "status.json"), NULL);
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    json_t *ov = json_object_get(o, "overlay");
    free(text);
    if (!ov) {
        json_decref(o);
        return;
    }
    int rank = (int)json_integer_value(json_object_get(ov, "rank"));
    printf("overlay:   rank %d of %d brokers (fanout %d), %s", rank,
           (int)json_integer_value(json_object_get(ov, "size")),
           (int)json_integer_value(json_object_get(ov, "fanout")),
           rank == 0 ? "the leader" : json_string_value(json_object_get(ov, "state")));
    if (json_object_get(ov, "rtt_ms"))
        printf(", %.2f ms to the leader", json_number_value(json_object_get(ov, "rtt_ms")));
    printf("\n");
    json_t *rp = json_object_get(ov, "replica");
    if (rank > 0 && rp) {
        /* what this tree shows of the leader's jobs, and how fresh */
        printf("replica:   %s at commit %lld", json_string_value(json_object_get(rp, "state")),
               (long long)json_integer_value(json_object_get(rp, "seq")));
        if (json_object_get(rp, "lag_ms"))
            printf(", %.1f ms behind the leader (at most %.1f)",
                   json_number_value(json_object_get(rp, "lag_ms")),
                   json_number_value(json_object_get(rp, "lag_max_ms")));
        printf("\n           jobs and resources: the leader's, from this replica "
               "(submissions and ctl go there)\n");
    }
    json_t *ranks = json_object_get(ov, "ranks");
    if (json_is_array(ranks)) {
        static const char *const states[] = {"up", "joining", "lost", "refused"};
        size_t i;
        json_t *r;
        printf("brokers:  ");
        for (int s = 0; s < 4; s++) {
            int n = 0;
            json_array_foreach(ranks, i, r)
                n += !strcmp(json_string_value(json_object_get(r, "state")) ?: "", states[s]);
            printf(" %d %s%s", n, states[s], s < 3 ? "," : "\n");
        }
        int shown = 0;
        json_array_foreach(ranks, i, r) {
            const char *state = json_string_value(json_object_get(r, "state"));
            if (!state || !strcmp(state, "up") || shown++ >= 10)
                continue;
            const char *why = json_string_value(json_object_get(r, "why"));
            printf("  rank %-5d %-16s %s%s%s\n", (int)json_integer_value(json_object_get(r, "rank")),
                   json_string_value(json_object_get(r, "host")), state, why ? ": " : "",
                   why ? why : "");
        }
    }
    json_decref(o);
}

int cmd_status(int argc, char **argv)
{
    static const char usage[] =
        "Usage: fluxfs status [-m DIR]\n"
        "Summarise the instance: uptime, resources and jobs by state (from status\n"
        "and resources/summary).\n\n"
        "  -m, --mount=DIR  the instance's mount point\n"
        "  -h, --help       this help\n";
    int rc = simple_parse(argc, argv, usage, 0);
    if (rc < 0)
        return CLI_PARSE_CODE(rc);
    struct kvfile st, sum;
    if (kv_load("status", &st) < 0) {
        cli_err("cannot read status: %s", strerror(errno));
        return CLI_EXIT_ERROR;
    }
    bool have_sum = kv_load("resources/summary", &sum) == 0;
    char up[32];
    long pending = kv_num(&st, "new") + kv_num(&st, "depend") + kv_num(&st, "priority")
                   + kv_num(&st, "sched");
    long running = kv_num(&st, "run") + kv_num(&st, "cleanup");
    printf("instance:  %s (tree version %s), up %s\n", cli_mount(), kv_get(&st, "tree-version"),
           cli_fsd(strtod(kv_get(&st, "uptime"), NULL), up, sizeof(up)));
    printf("nodes:     %s\n", kv_get(&st, "nodes"));
    printf("cores:     %s free of %s\n", kv_get(&st, "cores-free"), kv_get(&st, "cores"));
    if (have_sum)
        printf("gpus:      %s free of %s\n", kv_get(&sum, "gpus-free"), kv_get(&sum, "gpus"));
    else
        printf("gpus:      %s\n", kv_get(&st, "gpus"));
    if (have_sum && kv_num(&sum, "memory") > 0)
        printf("memory:    %.1f GiB\n", kv_num(&sum, "memory") / 1073741824.0);
    printf("jobs:      %s in all: %ld pending, %ld running, %s inactive\n", kv_get(&st, "jobs"),
           pending, running, kv_get(&st, "inactive"));
    printf("by state:  new %s, depend %s, priority %s, sched %s, run %s, cleanup %s, "
           "inactive %s\n", kv_get(&st, "new"), kv_get(&st, "depend"), kv_get(&st, "priority"),
           kv_get(&st, "sched"), kv_get(&st, "run"), kv_get(&st, "cleanup"),
           kv_get(&st, "inactive"));
    print_overlay();
    return CLI_EXIT_OK;
}

/* ---------------------------------------------------------------- nodes */

/* resources/ mirrors the resource graph: a vertex with children is a
 * directory with a `state` file, a leaf is a file, and both read
 * "TYPE STATUS" then one line per hold: "JOBID KIND START END[ reserved]". */

struct node {
    char name[256];
    char rel[PATH_MAX];      /* path beneath the mount: resources/tiny0/rack0/node1 */
    int cores, cores_free, gpus, gpus_free;
    char jobs[256];          /* ids of the jobs with something here, space-separated */
    char state[16];          /* "up", "down" (its broker away, or an operator), "drained" */
};

static int node_cmp(const void *a, const void *b)
{
    return strverscmp(((const struct node *)a)->name, ((const struct node *)b)->name);
}

struct node_list {
    struct node *v;
    int n, alloc;
};

/* The state text of the vertex at rel (a directory's state, a leaf itself). */
static char *vertex_text(const char *rel, bool dir)
{
    char path[PATH_MAX];
    return cli_read_file(cli_path(path, sizeof(path), "%s%s", rel, dir ? "/state" : ""), NULL);
}

static bool entry_is_dir(const char *rel, const struct dirent *de)
{
    char path[PATH_MAX];
    struct stat st;
    if (de->d_type != DT_UNKNOWN)
        return de->d_type == DT_DIR;
    return stat(cli_path(path, sizeof(path), "%s/%s", rel, de->d_name), &st) == 0
           && S_ISDIR(st.st_mode);
}

/* Visit each vertex beneath the directory rel: fn(arg, rel of the child,
 * is it a directory). */
static void for_each_child(const char *rel, void (*fn)(void *, const char *, bool), void *arg)
{
    char path[PATH_MAX];
    DIR *d = opendir(cli_path(path, sizeof(path), "%s", rel));
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "state"))
            continue;
        char child[PATH_MAX];
        if (snprintf(child, sizeof(child), "%s/%s", rel, de->d_name) >= (int)sizeof(child))
            continue;
        fn(arg, child, entry_is_dir(rel, de));
    }
    if (d)
        closedir(d);
}

/* Collect the node vertices, not looking beneath them. */
static void find_nodes(void *arg, const char *rel, bool dir)
{
    struct node_list *l = arg;
    char *text = vertex_text(rel, dir), state[16] = "";
    bool node = text && !strncmp(text, "node ", 5);
    if (node)
        sscanf(text + 5, "%15s", state);
    free(text);
    if (!node) {
        if (dir)
            for_each_child(rel, find_nodes, l);
        return;
    }
    if (l->n == l->alloc) {
        struct node *p = realloc(l->v, (l->alloc = l->alloc ? l->alloc * 2 : 16) * sizeof(*p));
        if (!p)
            return;
        l->v = p;
    }
    struct node *nd = &l->v[l->n++];
    memset(nd, 0, sizeof(*nd));
    snprintf(nd->rel, sizeof(nd->rel), "%s", rel);
    snprintf(nd->name, sizeof(nd->name), "%s", strrchr(rel, '/') + 1);
    snprintf(nd->state, sizeof(nd->state), "%s", state);
}

/* The node vertices of resources/, sorted by name; usage is not read yet. */
static int nodes_list(struct node **nodesp, int *np)
{
    char path[PATH_MAX];
    struct node_list l = { NULL, 0, 0 };
    DIR *d = opendir(cli_path(path, sizeof(path), "resources"));
    if (!d)
        return -errno;
    struct dirent *de;
    while ((de = readdir(d))) {
        /* R, summary, ctl and allocations are files; the graph's root is
         * the one directory (or, for a one-vertex graph, a file) left */
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "R") || !strcmp(de->d_name, "summary")
            || !strcmp(de->d_name, "ctl") || !strcmp(de->d_name, "allocations"))
            continue;
        char rel[PATH_MAX];
        snprintf(rel, sizeof(rel), "resources/%s", de->d_name);
        find_nodes(&l, rel, entry_is_dir("resources", de));
    }
    closedir(d);
    qsort(l.v, l.n, sizeof(*l.v), node_cmp);
    *nodesp = l.v;
    *np = l.n;
    return 0;
}

static void add_job(struct node *nd, const char *id)
{
    char word[40];
    snprintf(word, sizeof(word), " %s ", id);
    char padded[sizeof(nd->jobs) + 2];
    snprintf(padded, sizeof(padded), " %s ", nd->jobs);
    if (strstr(padded, word))
        return;
    size_t len = strlen(nd->jobs);
    if (len + strlen(id) + 2 < sizeof(nd->jobs))
        snprintf(nd->jobs + len, sizeof(nd->jobs) - len, "%s%s", len ? " " : "", id);
}

/* Count one vertex of a node's subtree: a core or gpu is busy when a hold
 * line is in force (not a reservation); every such job uses the node. */
static void node_vertex(void *arg, const char *rel, bool dir)
{
    struct node *nd = arg;
    char *text = vertex_text(rel, dir), *save = NULL;
    bool busy = false, core = false, gpu = false;
    for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line == text) {
            core = !strncmp(line, "core ", 5);
            gpu = !strncmp(line, "gpu ", 4);
            continue;
        }
        size_t len = strlen(line);
        if (len >= 9 && !strcmp(line + len - 9, " reserved"))
            continue;
        busy = true;
        line[strcspn(line, " ")] = '\0';
        add_job(nd, line);
    }
    free(text);
    nd->cores += core;
    nd->cores_free += core && !busy;
    nd->gpus += gpu;
    nd->gpus_free += gpu && !busy;
    if (dir)
        for_each_child(rel, node_vertex, nd);
}

static void node_load(struct node *nd)
{
    node_vertex(nd, nd->rel, true);
}

int cmd_resource(int argc, char **argv)
{
    static const char usage[] =
        "Usage: fluxfs resource list [-m DIR]\n"
        "One line per node: cores and gpus in all and free, and the jobs using it\n"
        "(from the state of each vertex beneath the node in resources/).\n\n"
        "  -m, --mount=DIR  the instance's mount point\n"
        "  -h, --help       this help\n";
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "list") != 0) {
        cli_err("resource: expected 'list'%s%s", argc >= 2 ? ", not " : "",
                argc >= 2 ? argv[1] : "");
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    int rc = simple_parse(argc - 1, argv + 1, usage, 0);
    if (rc < 0)
        return CLI_PARSE_CODE(rc);
    struct node *nodes;
    int n;
    cli_mount();
    if (nodes_list(&nodes, &n) < 0) {
        cli_err("cannot list resources: %s", strerror(errno));
        return CLI_EXIT_ERROR;
    }
    int tc = 0, tcf = 0, tg = 0, tgf = 0;
    printf("%-16s %5s %5s %5s %5s  %s\n", "NODE", "CORES", "FREE", "GPUS", "FREE", "JOBS");
    for (int i = 0; i < n; i++) {
        struct node *nd = &nodes[i];
        node_load(nd);
        /* a node out of service says so where its jobs would be, and
         * offers nothing (as resources/summary counts it) */
        bool up = !nd->state[0] || !strcmp(nd->state, "up");
        if (!up)
            nd->cores_free = nd->gpus_free = 0;
        printf("%-16s %5d %5d %5d %5d  %s%s%s%s\n", nd->name, nd->cores, nd->cores_free, nd->gpus,
               nd->gpus_free, up ? "" : "[", up ? "" : nd->state, up ? "" : "] ", nd->jobs);
        tc += nd->cores;
        tcf += nd->cores_free;
        tg += nd->gpus;
        tgf += nd->gpus_free;
    }
    printf("%-16s %5d %5d %5d %5d\n", "total", tc, tcf, tg, tgf);
    free(nodes);
    return CLI_EXIT_OK;
}

/* ---------------------------------------------------------------- top */

static struct termios saved_tio;
static bool tio_saved, screen_set;

static void terminal_restore(void)
{
    if (screen_set) {
        /* show the cursor, leave the alternate screen */
        fputs("\033[?25h\033[?1049l", stdout);
        fflush(stdout);
        screen_set = false;
    }
    if (tio_saved) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
        tio_saved = false;
    }
}

static void terminal_setup(void)
{
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
        struct termios raw = saved_tio;
        raw.c_lflag &= ~(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        tio_saved = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    if (isatty(STDOUT_FILENO)) {
        fputs("\033[?1049h\033[?25l", stdout);   /* alternate screen, hide cursor */
        screen_set = true;
    }
    atexit(terminal_restore);
}

static void term_size(int *rows, int *cols)
{
    struct winsize ws;
    *rows = 24;
    *cols = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    }
}

/* Emit one line of the frame, cut to cols, clearing the rest of the row;
 * inverse video if asked. Newlines in the text end it. */
static void frame_line(FILE *f, int cols, bool inverse, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void frame_line(FILE *f, int cols, bool inverse, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    buf[strcspn(buf, "\n")] = '\0';
    if (cols > 0 && cols < (int)sizeof(buf))
        buf[cols] = '\0';
    /* the tty's output processing turns \n into \r\n */
    fprintf(f, "%s%s\033[K%s\n", inverse ? "\033[7m" : "", buf, inverse ? "\033[0m" : "");
}

struct top_watch {
    int *wds;
    int n;
};

/* <0 when a goes before b: running (and cleaning up) before pending. */
static int running_first(const struct jobinfo *a, const struct jobinfo *b)
{
    bool ra = !strcmp(a->state, "RUN") || !strcmp(a->state, "CLEANUP");
    bool rb = !strcmp(b->state, "RUN") || !strcmp(b->state, "CLEANUP");
    return rb - ra;
}

static void render(int ifd, struct top_watch *w, double delay)
{
    int rows, cols, used = 0;
    term_size(&rows, &cols);
    char *frame = NULL;
    size_t flen = 0;
    FILE *f = open_memstream(&frame, &flen);
    if (!f)
        return;
    fputs("\033[H", f);
    struct kvfile st, sum;
    bool ok = kv_load("status", &st) == 0;
    bool have_sum = kv_load("resources/summary", &sum) == 0;
    char up[32], clock[16];
    time_t now = time(NULL);
    strftime(clock, sizeof(clock), "%H:%M:%S", localtime(&now));
    frame_line(f, cols, false, "fluxfs top - %s - up %s - %s", cli_mount(),
               ok ? cli_fsd(strtod(kv_get(&st, "uptime"), NULL), up, sizeof(up)) : "?", clock);
    if (ok) {
        long pending = kv_num(&st, "new") + kv_num(&st, "depend") + kv_num(&st, "priority")
                       + kv_num(&st, "sched");
        frame_line(f, cols, false, "jobs: %ld pending, %ld running, %s inactive   cores: %ld/%s used"
                   "   gpus: %ld/%s used", pending, kv_num(&st, "run") + kv_num(&st, "cleanup"),
                   kv_get(&st, "inactive"), kv_num(&st, "cores") - kv_num(&st, "cores-free"),
                   kv_get(&st, "cores"),
                   have_sum ? kv_num(&sum, "gpus") - kv_num(&sum, "gpus-free") : 0,
                   have_sum ? kv_get(&sum, "gpus") : "0");
    } else
        frame_line(f, cols, false, "status: %s", strerror(errno));
    frame_line(f, cols, false, "%s", "");
    used = 3;

    /* nodes: at most a third of the screen, so jobs stay visible */
    struct node *nodes = NULL;
    int nn = 0;
    if (nodes_list(&nodes, &nn) == 0) {
        int maxn = rows / 3 > 1 ? rows / 3 : 1, shown = nn < maxn ? nn : maxn - (nn > maxn);
        int barw = cols > 60 ? 20 : 10;
        for (int i = 0; i < shown; i++) {
            struct node *nd = &nodes[i];
            node_load(nd);
            char bar[64];
            int usedc = nd->cores - nd->cores_free;
            int fill = nd->cores ? (usedc * barw + nd->cores - 1) / nd->cores : 0;
            for (int k = 0; k < barw; k++)
                bar[k] = k < fill ? '#' : '.';
            bar[barw] = '\0';
            frame_line(f, cols, false, "%-12.12s [%s] %3d/%-3d cores %2d/%-2d gpus  %s", nd->name, bar,
                       usedc, nd->cores, nd->gpus - nd->gpus_free, nd->gpus, nd->jobs);
        }
        if (shown < nn)
            frame_line(f, cols, false, "... and %d more nodes", nn - shown);
        used += shown + (shown < nn);
        free(nodes);
    }
    frame_line(f, cols, false, "%s", "");
    used++;

    /* active jobs; watch each one's directory for state changes */
    struct jobinfo *jobs = NULL;
    size_t nj = 0;
    int *wds = calloc(1, sizeof(int));
    int nw = 0;
    if (cli_job_list(false, &jobs, &nj) == 0) {
        /* running jobs first, as flux top: pending ones must not push
         * them off the screen (stable: each group keeps its order) */
        for (size_t i = 1; i < nj; i++) {
            struct jobinfo x = jobs[i];
            size_t k = i;
            while (k > 0 && running_first(&x, &jobs[k - 1]) < 0) {
                jobs[k] = jobs[k - 1];
                k--;
            }
            jobs[k] = x;
        }
        int *p = realloc(wds, (nj + 1) * sizeof(int));
        if (p)
            wds = p;
        char hdr[256];
        FILE *hf = fmemopen(hdr, sizeof(hdr), "w");
        if (hf) {
            cli_job_print_header(hf);
            fputc('\0', hf);
            fclose(hf);
            frame_line(f, cols, true, "%s", hdr);
            used++;
        }
        double t = cli_now();
        for (size_t i = 0; i < nj; i++) {
            char path[PATH_MAX], row[512];
            if (ifd >= 0 && p) {
                int wd = inotify_add_watch(ifd, cli_path(path, sizeof(path), "jobs/%s", jobs[i].id),
                                           IN_MODIFY | IN_CLOSE_WRITE);
                if (wd >= 0)
                    wds[nw++] = wd;
            }
            if (used >= rows - 1)
                continue;
            FILE *rf = fmemopen(row, sizeof(row), "w");
            if (!rf)
                continue;
            cli_job_print_row(rf, &jobs[i], t);
            fputc('\0', rf);
            fclose(rf);
            frame_line(f, cols, false, "%s", row);
            used++;
        }
        if (nj == 0) {
            frame_line(f, cols, false, "(no active jobs)");
            used++;
        }
        cli_job_list_free(jobs, nj);
    }
    /* drop the watches of jobs that are no longer active */
    for (int i = 0; ifd >= 0 && i < w->n; i++) {
        bool keep = false;
        for (int k = 0; k < nw && !keep; k++)
            keep = wds[k] == w->wds[i];
        if (!keep && w->wds[i] >= 0)
            inotify_rm_watch(ifd, w->wds[i]);
    }
    free(w->wds);
    w->wds = wds;
    w->n = nw;
    while (used < rows - 1) {
        frame_line(f, cols, false, "%s", "");
        used++;
    }
    fprintf(f, "\033[7mq: quit  refresh on change or every %gs\033[0m\033[K\033[J", delay);
    fclose(f);
    fwrite(frame, 1, flen, stdout);
    fflush(stdout);
    free(frame);
}

int cmd_top(int argc, char **argv)
{
    static const char usage[] =
        "Usage: fluxfs top [-m DIR] [-d SECS] [--iterations N]\n"
        "Full-screen view of job counts, node usage and active jobs, redrawn when\n"
        "a job is submitted or changes state (inotify) and every SECS seconds.\n"
        "Keys: q quits (also Ctrl-C).\n\n"
        "  -d, --delay=SECS     redraw at least this often (default 2)\n"
        "      --iterations=N   quit after N frames (for tests and scripts)\n"
        "  -m, --mount=DIR      the instance's mount point\n"
        "  -h, --help           this help\n";
    enum { OPT_ITER = 256 };
    static const struct option longopts[] = {
        { "delay", required_argument, NULL, 'd' },
        { "iterations", required_argument, NULL, OPT_ITER },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    double delay = 2;
    long iterations = -1;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "d:m:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            delay = strtod(optarg, &end);
            if (end == optarg || *end || delay < 0.05 || delay > 86400) {
                cli_err("--delay: invalid value '%s' (seconds, at least 0.05)", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_ITER:
            iterations = strtol(optarg, &end, 10);
            if (end == optarg || *end || iterations < 1) {
                cli_err("--iterations: invalid value '%s'", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'm': cli_set_mount(optarg); break;
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        default: fputs(usage, stderr); return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_err("top: unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    char path[PATH_MAX];
    cli_mount();
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGWINCH);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
    int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (ifd >= 0)
        inotify_add_watch(ifd, cli_path(path, sizeof(path), "jobs"), IN_CREATE);
    terminal_setup();
    struct top_watch w = { NULL, 0 };
    bool quit = false;
    for (long frames = 0; !quit;) {
        render(ifd, &w, delay);
        if (iterations > 0 && ++frames >= iterations)
            break;
        struct pollfd pfd[3] = {
            { .fd = ifd, .events = POLLIN },
            { .fd = sfd, .events = POLLIN },
            { .fd = tio_saved ? STDIN_FILENO : -1, .events = POLLIN },
        };
        int n = poll(pfd, 3, (int)(delay * 1000));
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (pfd[0].revents & POLLIN) {
            char ev[8192];
            /* coalesce a burst of changes into one frame */
            usleep(20000);
            while (read(ifd, ev, sizeof(ev)) > 0)
                ;
        }
        struct signalfd_siginfo si;
        while ((pfd[1].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si))
            if (si.ssi_signo != SIGWINCH)
                quit = true;
        if (pfd[2].revents & (POLLIN | POLLHUP)) {
            char key[64];
            ssize_t k = read(STDIN_FILENO, key, sizeof(key));
            if (k == 0 && (pfd[2].revents & POLLHUP))
                quit = true;
            for (ssize_t i = 0; i < k; i++)
                if (key[i] == 'q' || key[i] == 'Q' || key[i] == 3)
                    quit = true;
        }
    }
    terminal_restore();
    free(w.wds);
    if (ifd >= 0)
        close(ifd);
    if (sfd >= 0)
        close(sfd);
    return CLI_EXIT_OK;
}
