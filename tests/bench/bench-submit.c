/* bench-submit - measure submission (and optionally completion) throughput.
 *
 *   bench-submit MOUNT NJOBS NCLIENTS [--wait] [--create] [--held]
 *   bench-submit MOUNT NJOBS 1 --latency
 *   bench-submit DIR NJOBS 1 --close-latency [--held]
 *
 * NCLIENTS processes each submit NJOBS/NCLIENTS copies of a one-core `true`
 * jobspec through MOUNT/queue/new (or by creating files in queue/ with
 * --create, where MOUNT is then the directory to create them in). With --wait, it then reads every job's `wait` file, so the time
 * covers first submission to last completion. Prints one line:
 *   submitted N in S s = R jobs/s [; completed in S s = R jobs/s]
 * --latency submits one job at a time and reads its `wait` before the next:
 *   latency ms: median M min A max B (N jobs)
 * --close-latency creates files in DIR (queue/) one at a time, as a cp
 * loop does, and times each close(), which returns once the job is
 * durable; without --held the jobs run meanwhile, as they do for users:
 *   close ms: median M p90 P max B (N jobs)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char spec_run[] =
    "{\"version\":1,\"resources\":[{\"type\":\"slot\",\"count\":1,\"label\":\"t\","
    "\"with\":[{\"type\":\"core\",\"count\":1}]}],\"tasks\":[{\"command\":[\"true\"],"
    "\"slot\":\"t\",\"count\":{\"per_slot\":1}}],\"attributes\":{\"system\":{\"duration\":0}}}";
/* --held: urgency 0, so the instance stores and announces but runs nothing:
 * submission alone, not competing with the jobs it starts */
static const char spec_held[] =
    "{\"version\":1,\"resources\":[{\"type\":\"slot\",\"count\":1,\"label\":\"t\","
    "\"with\":[{\"type\":\"core\",\"count\":1}]}],\"tasks\":[{\"command\":[\"true\"],"
    "\"slot\":\"t\",\"count\":{\"per_slot\":1}}],\"attributes\":{\"system\":{\"duration\":0,"
    "\"urgency\":0}}}";
static const char *spec = spec_run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int submit_clone(const char *mnt, char *id, size_t size)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/queue/new", mnt);
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return -1;
    if (write(fd, spec, strlen(spec)) != (ssize_t)strlen(spec)) {
        close(fd);
        return -1;
    }
    ssize_t n = read(fd, id, size - 1);
    close(fd);
    if (n <= 0)
        return -1;
    id[n - 1] = '\0';   /* strip the newline */
    return 0;
}

/* Client c's i-th file: every writer its own names, as cp loops in
 * different directories or of different files would have (one name for
 * all made each create look up another writer's file first) */
static int submit_create(const char *mnt, int c, int i)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/c%d-job%d.json", mnt, c, i);   /* mnt = a directory */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, spec, strlen(spec));
    return (close(fd) == 0 && n == (ssize_t)strlen(spec)) ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int latency(const char *mnt, int njobs)
{
    double *ms = calloc(njobs, sizeof(double));
    char id[64], path[4096], res[64];
    for (int i = 0; i < njobs; i++) {
        double t0 = now();
        if (submit_clone(mnt, id, sizeof(id)) < 0)
            return 1;
        snprintf(path, sizeof(path), "%s/jobs/%s/wait", mnt, id);
        int fd = open(path, O_RDONLY);
        if (fd < 0 || read(fd, res, sizeof(res)) <= 0)
            return 1;
        close(fd);
        ms[i] = (now() - t0) * 1000;
    }
    qsort(ms, njobs, sizeof(double), cmp_double);
    printf("latency ms: median %.2f min %.2f max %.2f (%d jobs)\n", ms[njobs / 2], ms[0],
           ms[njobs - 1], njobs);
    free(ms);
    return 0;
}

/* What a cp's close() costs: durable, with the instance busy running the
 * jobs submitted before (unless --held). */
static int close_latency(const char *dir, int njobs)
{
    double *ms = calloc(njobs, sizeof(double));
    char path[4096];
    if (!ms)
        return 1;
    for (int i = 0; i < njobs; i++) {
        snprintf(path, sizeof(path), "%s/close-job%d.json", dir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, spec, strlen(spec)) != (ssize_t)strlen(spec)) {
            free(ms);
            return 1;
        }
        double t0 = now();
        int rc = close(fd);
        ms[i] = (now() - t0) * 1000;
        if (rc < 0) {
            free(ms);
            return 1;
        }
    }
    qsort(ms, njobs, sizeof(double), cmp_double);
    printf("close ms: median %.3f p90 %.3f max %.3f (%d jobs)\n", ms[njobs / 2],
           ms[njobs * 9 / 10], ms[njobs - 1], njobs);
    free(ms);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench-submit MOUNT NJOBS NCLIENTS [--wait] [--create]\n");
        return 2;
    }
    const char *mnt = argv[1];
    int njobs = atoi(argv[2]), nclients = atoi(argv[3]);
    int wait_all = 0, create = 0;
    for (int i = 4; i < argc; i++) {
        wait_all |= !strcmp(argv[i], "--wait");
        create |= !strcmp(argv[i], "--create");
        if (!strcmp(argv[i], "--held"))
            spec = spec_held;
        if (!strcmp(argv[i], "--latency"))
            return latency(mnt, njobs);
    }
    for (int i = 4; i < argc; i++)
        if (!strcmp(argv[i], "--close-latency"))
            return close_latency(mnt, njobs);
    char idfile[] = "/tmp/bench-submit-XXXXXX";
    int idfd = mkstemp(idfile);
    unlink(idfile);

    double t0 = now();
    for (int c = 0; c < nclients; c++) {
        if (fork() == 0) {
            int per = njobs / nclients + (c < njobs % nclients);
            char id[64], line[80];
            for (int i = 0; i < per; i++) {
                if (create) {
                    if (submit_create(mnt, c, i) < 0)
                        _exit(1);
                    continue;
                }
                if (submit_clone(mnt, id, sizeof(id)) < 0)
                    _exit(1);
                int n = snprintf(line, sizeof(line), "%s\n", id);
                if (write(idfd, line, n) != n)   /* O_APPEND-free: lines < PIPE_BUF */
                    _exit(1);
            }
            _exit(0);
        }
    }
    int failed = 0, status;
    while (wait(&status) > 0)
        failed |= !WIFEXITED(status) || WEXITSTATUS(status);
    double t1 = now();
    printf("submitted %d in %.3f s = %.0f jobs/s", njobs, t1 - t0, njobs / (t1 - t0));
    if (failed) {
        printf(" (some submissions FAILED)\n");
        return 1;
    }
    if (wait_all && !create) {
        FILE *f = fdopen(idfd, "r");
        char id[80], path[4096], res[64];
        rewind(f);
        while (fgets(id, sizeof(id), f)) {
            id[strcspn(id, "\n")] = '\0';
            snprintf(path, sizeof(path), "%s/jobs/%s/wait", mnt, id);
            int fd = open(path, O_RDONLY);
            if (fd < 0 || read(fd, res, sizeof(res)) <= 0)
                failed = 1;
            if (fd >= 0)
                close(fd);
        }
        double t2 = now();
        printf("; all complete after %.3f s = %.0f jobs/s end to end", t2 - t0,
               njobs / (t2 - t0));
    }
    printf("\n");
    return failed;
}
