/* test/exec.c - unit tests for launching and supervising job tasks. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "exec/exec.h"
#include "exec/procfd.h"
#include "common/tap.h"

struct result {
    char out[8192];
    size_t outlen;
    char err[8192];
    size_t errlen;
    size_t outtotal;
    int status;
    int finished;
    uint64_t id;
    int terminate_on_output; /* call exec_terminate from the output callback */
    struct exec *x;
};

static void output_cb(void *arg, uint64_t id, int stream, const char *data, size_t len)
{
    struct result *r = arg;
    char *buf = stream == 1 ? r->out : r->err;
    size_t *blen = stream == 1 ? &r->outlen : &r->errlen;
    if (stream == 1)
        r->outtotal += len;
    size_t room = sizeof(r->out) - 1 - *blen;
    if (len > room)
        len = room;
    memcpy(buf + *blen, data, len);
    *blen += len;
    buf[*blen] = '\0';
    if (r->terminate_on_output)
        exec_terminate(r->x, id, 0.2);
}

static void finished_cb(void *arg, uint64_t id, int status)
{
    struct result *r = arg;
    r->finished++;
    r->status = status;
    r->id = id;
}

static const struct exec_ops ops = { .output = output_cb, .finished = finished_cb };

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Run the loop until the job finished or timeout; returns seconds taken. */
static double wait_done(struct ev_loop *loop, struct result *r, double timeout)
{
    double start = mono();
    while (!r->finished && mono() - start < timeout)
        ev_run_once(loop, 100);
    return mono() - start;
}

struct fixture {
    struct ev_loop *loop;
    struct exec *x;
    struct result r;
};

static void fx_init(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->loop = ev_create();
    f->x = exec_create(f->loop, &ops, &f->r);
    f->r.x = f->x;
}

/* Reap every child of the test (blocking): exec_destroy() kills but does
 * not wait. Returns how many had not died of SIGKILL. */
static int reap_all(void)
{
    int st, other = 0;
    for (;;) {
        pid_t r = waitpid(-1, &st, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return other;
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
            other++;
    }
}

static void fx_release(struct fixture *f)
{
    exec_destroy(f->x);
    reap_all();
    ev_destroy(f->loop);
}

static const struct exec_task one_task[] = { { .rank = 0 } };

/* The header's argv is execvp's char *const *; literals here are const. */
static struct exec_job simple_job(uint64_t id, const char *const *argv)
{
    return (struct exec_job){
        .id = id, .idstr = "fTest", .argv = (char *const *)argv, .nnodes = 1, .ntasks = 1,
        .tasks = one_task, .uid = geteuid(), .gid = getegid(),
    };
}

/* Start a one-task job and wait for it; returns elapsed seconds. */
static double run_simple(struct fixture *f, const char *const *argv, const char *what)
{
    struct exec_job job = simple_job(1, argv);
    struct errmsg err = { "" };
    int rc = exec_start(f->x, &job, &err);
    is(rc, 0, "%s: exec_start works", what);
    if (rc < 0) {
        diag("%s", err.text);
        return 0;
    }
    return wait_done(f->loop, &f->r, 10);
}

static void test_echo(void)
{
    struct fixture f;
    fx_init(&f);
    const char *argv[] = { "echo", "hello", NULL };
    run_simple(&f, argv, "echo");
    is(f.r.finished, 1, "echo: finished once");
    is(f.r.id, 1, "echo: finished reports the job id");
    is(f.r.status, 0, "echo: status 0");
    is_str(f.r.out, "hello\n", "echo: stdout delivered");
    is(exec_active(f.x), 0, "no active jobs afterwards");
    is(exec_signal(f.x, 1, SIGTERM), -ENOENT, "signal to a finished job is -ENOENT");
    fx_release(&f);
}

static void test_exit_code(void)
{
    struct fixture f;
    fx_init(&f);
    const char *argv[] = { "sh", "-c", "echo oops >&2; exit 3", NULL };
    run_simple(&f, argv, "exit 3");
    is(f.r.status, 3, "exit 3: status 3");
    is_str(f.r.err, "oops\n", "exit 3: stderr delivered separately");
    fx_release(&f);
}

static void test_signaled(void)
{
    struct fixture f;
    fx_init(&f);
    const char *argv[] = { "sh", "-c", "kill -USR1 $$", NULL };
    run_simple(&f, argv, "killed");
    is(f.r.status, 128 + SIGUSR1, "task killed by a signal: 128+sig");
    fx_release(&f);
}

static void test_four_tasks(void)
{
    struct fixture f;
    fx_init(&f);
    struct exec_task tasks[4];
    for (int i = 0; i < 4; i++)
        tasks[i] = (struct exec_task){ .rank = i, .localid = i };
    const char *argv[] = { "sh", "-c", "echo rank$FLUX_TASK_RANK size$FLUX_JOB_SIZE; exit $FLUX_TASK_RANK", NULL };
    struct exec_job job = simple_job(7, argv);
    job.ntasks = 4;
    job.tasks = tasks;
    is(exec_start(f.x, &job, NULL), 0, "4 tasks: exec_start works");
    is(exec_active(f.x), 1, "one active job");
    wait_done(f.loop, &f.r, 10);
    is(f.r.finished, 1, "4 tasks: one finished callback");
    is(f.r.status, 3, "4 tasks: status is the largest task status");
    int all = 1;
    for (int i = 0; i < 4; i++) {
        char want[32];
        snprintf(want, sizeof(want), "rank%d size4\n", i);
        all &= strstr(f.r.out, want) != NULL;
    }
    ok(all, "4 tasks: FLUX_TASK_RANK 0..3 all present");
    fx_release(&f);
}

static void test_enoent(void)
{
    struct fixture f;
    fx_init(&f);
    const char *argv[] = { "/nonexistent/fluxfs-no-such-cmd", NULL };
    run_simple(&f, argv, "enoent");
    is(f.r.status, 127, "missing command: 127");
    is_str(f.r.err, "fluxfs: /nonexistent/fluxfs-no-such-cmd: No such file or directory\n",
           "missing command: says why on stderr");
    fx_release(&f);

    fx_init(&f);
    const char *argv2[] = { "/dev/null", NULL };
    run_simple(&f, argv2, "eacces");
    is(f.r.status, 126, "non-executable command: 126");
    fx_release(&f);
}

static void test_cwd(void)
{
    struct fixture f;
    fx_init(&f);
    const char *argv[] = { "pwd", NULL };
    struct exec_job job = simple_job(1, argv);
    job.cwd = "/tmp";
    is(exec_start(f.x, &job, NULL), 0, "cwd: exec_start works");
    wait_done(f.loop, &f.r, 10);
    is_str(f.r.out, "/tmp\n", "cwd applied");
    fx_release(&f);

    fx_init(&f);
    job.cwd = "/nonexistent-dir";
    is(exec_start(f.x, &job, NULL), 0, "bad cwd: exec_start still works");
    wait_done(f.loop, &f.r, 10);
    is(f.r.status, 1, "bad cwd: status 1");
    is_str(f.r.err, "fluxfs: cwd '/nonexistent-dir': No such file or directory\n",
           "bad cwd: says why");
    fx_release(&f);
}

static void test_environment(void)
{
    struct fixture f;
    fx_init(&f);
    setenv("FLUXFS_TEST_INHERITED", "yes", 1);
    const char *argv[] = { "sh", "-c",
        "echo $FOO,$FLUXFS_TEST_INHERITED,$FLUX_JOB_ID,$FLUX_JOB_NNODES,"
        "$FLUX_TASK_LOCAL_ID,$FLUX_TASK_NODEID", NULL };
    struct exec_job job = simple_job(1, argv);
    job.environment = json_pack("{s:s s:s s:s}", "FOO", "bar",
                                "PATH", "/usr/bin:/bin", "FLUX_JOB_ID", "stale");
    job.nnodes = 2;
    struct exec_task t = { .rank = 0, .nodeid = 1, .localid = 0 };
    job.tasks = &t;
    is(exec_start(f.x, &job, NULL), 0, "env: exec_start works");
    wait_done(f.loop, &f.r, 10);
    is_str(f.r.out, "bar,,fTest,2,0,1\n", "environment replaced, FLUX_* set");
    fx_release(&f);

    fx_init(&f);
    json_decref(job.environment);
    job.environment = NULL;
    is(exec_start(f.x, &job, NULL), 0, "inherited env: exec_start works");
    wait_done(f.loop, &f.r, 10);
    is_str(f.r.out, ",yes,fTest,2,0,1\n", "environment inherited when not given");
    fx_release(&f);

    fx_init(&f);
    job.environment = json_pack("{s:i}", "N", 1);
    struct errmsg err = { "" };
    is(exec_start(f.x, &job, &err), -EINVAL, "non-string environment value is -EINVAL");
    is_str(err.text, "environment 'N' is not a string", "and says which");
    is(exec_active(f.x), 0, "nothing started");
    json_decref(job.environment);
    fx_release(&f);
}

static void test_errors(void)
{
    struct fixture f;
    fx_init(&f);
    struct errmsg err = { "" };
    const char *empty[] = { NULL };
    struct exec_job job = simple_job(1, empty);
    is(exec_start(f.x, &job, &err), -EINVAL, "empty argv is -EINVAL");
    const char *argv[] = { "sleep", "5", NULL };
    job = simple_job(1, argv);
    is(exec_start(f.x, &job, &err), 0, "start sleep");
    is(exec_start(f.x, &job, &err), -EEXIST, "same id twice is -EEXIST");
    is(exec_terminate(f.x, 99, 1), -ENOENT, "terminate of unknown job is -ENOENT");
    /* destroy with a job running: kills and reaps, no callback */
    exec_destroy(f.x);
    f.x = NULL;
    is(f.r.finished, 0, "exec_destroy makes no callbacks");
    fx_release(&f);
}

static void test_terminate(void)
{
    struct fixture f;
    fx_init(&f);
    const char *argv[] = { "sleep", "100", NULL };
    struct exec_job job = simple_job(1, argv);
    is(exec_start(f.x, &job, NULL), 0, "sleep 100 started");
    ev_run_once(f.loop, 20);
    is(exec_terminate(f.x, 1, 5.0), 0, "exec_terminate works");
    wait_done(f.loop, &f.r, 10);
    is(f.r.finished, 1, "terminated: finished (sleep 100, a 10 s wait)");
    is(f.r.status, 143, "terminated: status 143, by SIGTERM before the 5 s grace");
    fx_release(&f);

    fx_init(&f);
    const char *argv2[] = { "sh", "-c", "trap '' TERM; echo ready; sleep 100", NULL };
    job = simple_job(1, argv2);
    is(exec_start(f.x, &job, NULL), 0, "TERM-ignoring task started");
    /* terminate from inside the output callback, once the trap is set */
    f.r.terminate_on_output = 1;
    /* t starts before the terminate, so t >= grace whatever the load */
    double t = wait_done(f.loop, &f.r, 10);
    is(f.r.status, 137, "ignored SIGTERM: SIGKILL after grace gives 137");
    ok(t >= 0.2, "killed no sooner than the 0.2 s grace (%.2fs)", t);
    fx_release(&f);
}

static void test_binding(void)
{
    struct fixture f;
    fx_init(&f);
    const char *argv[] = { "grep", "Cpus_allowed_list", "/proc/self/status", NULL };
    int cpus[] = { 0 };
    struct exec_task t = { .rank = 0, .ncpus = 1, .cpus = cpus };
    struct exec_job job = simple_job(1, argv);
    job.tasks = &t;
    is(exec_start(f.x, &job, NULL), 0, "bound task started");
    wait_done(f.loop, &f.r, 10);
    is_str(f.r.out, "Cpus_allowed_list:\t0\n", "task bound to cpu 0");
    fx_release(&f);
}

static void test_grandchild(void)
{
    struct fixture f;
    fx_init(&f);
    /* it holds stdout open for longer than run_simple waits */
    const char *argv[] = { "sh", "-c", "sleep 100 & echo done", NULL };
    run_simple(&f, argv, "grandchild");
    is(f.r.finished, 1, "background grandchild does not stall completion");
    is_str(f.r.out, "done\n", "background grandchild: output delivered");
    fx_release(&f);
}

static void test_big_output(void)
{
    struct fixture f;
    fx_init(&f);
    /* Several pipe buffers and read chunks' worth. */
    const char *argv[] = { "head", "-c", "300000", "/dev/zero", NULL };
    run_simple(&f, argv, "big output");
    is(f.r.outtotal, 300000, "all output delivered before finished");
    fx_release(&f);

    fx_init(&f);
    const char *argv2[] = { "grep", "-E", "^(SigIgn|SigBlk)", "/proc/self/status", NULL };
    run_simple(&f, argv2, "signals");
    is_str(f.r.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n",
           "no signal blocked or ignored in the task");
    fx_release(&f);
}

static void test_user(void)
{
    if (geteuid() != 0) {
        diag("not root: skipping user switch");
        return;
    }
    struct fixture f;
    fx_init(&f);
    const char *argv[] = { "sh", "-c", "echo $(id -u) $(id -g) $(id -G)", NULL };
    struct exec_job job = simple_job(1, argv);
    job.uid = 65534;
    job.gid = 65534;
    job.cwd = "/";
    is(exec_start(f.x, &job, NULL), 0, "user switch: started");
    wait_done(f.loop, &f.r, 10);
    is_str(f.r.out, "65534 65534 65534\n", "runs as the job's user and group only");
    fx_release(&f);
}

/* Tasks are forked by the launcher thread, after exec_start returned. */
static void test_launcher(void)
{
    struct fixture f;
    fx_init(&f);
    const char *argv[] = { "sleep", "100", NULL };
    struct exec_job job = simple_job(1, argv);
    is(exec_start(f.x, &job, NULL), 0, "launch: sleep 100 queued");
    /* before the loop has heard back from the launcher: kept, then sent */
    is(exec_signal(f.x, 1, SIGKILL), 0, "launch: signal while launching is accepted");
    wait_done(f.loop, &f.r, 10);
    is(f.r.status, 128 + SIGKILL, "launch: the early signal reached the task");
    fx_release(&f);

    /* the launcher works on copies: the caller's job may change at once */
    fx_init(&f);
    char script[] = "exit 7";
    const char *mut[] = { "sh", "-c", script, NULL };
    int cpus[] = { 0 };
    struct exec_task task = { .rank = 0, .ncpus = 1, .cpus = cpus };
    job = simple_job(2, mut);
    job.tasks = &task;
    json_t *env = json_pack("{s:s}", "PATH", "/usr/bin:/bin");
    job.environment = env;
    is(exec_start(f.x, &job, NULL), 0, "launch: started from mutable buffers");
    memcpy(script, "exit 9", sizeof(script));
    json_object_set_new(env, "PATH", json_string("/nonexistent"));
    cpus[0] = -1;
    json_decref(env);
    wait_done(f.loop, &f.r, 10);
    is(f.r.status, 7, "launch: the job ran what was given at exec_start");
    fx_release(&f);

    /* destroyed while launching: nothing is left behind */
    fx_init(&f);
    const char *argv3[] = { "sleep", "100", NULL };
    job = simple_job(3, argv3);
    is(exec_start(f.x, &job, NULL), 0, "launch: started, then destroyed at once");
    exec_destroy(f.x);
    f.x = NULL;
    is(reap_all(), 0, "launch: every child it left was killed");
    is(f.r.finished, 0, "launch: and no callback");
    fx_release(&f);
}

static void write_script(const char *path, const char *body)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "#!/bin/sh\n%s\n", body);
        fclose(f);
    }
    chmod(path, 0755);
}

/* The launcher finds the program on the job's PATH, as execvpe would. */
static void test_path(void)
{
    char dir[] = "/tmp/fluxfs-exec-path-XXXXXX", d1[64], d2[64], p1[96], p2[96], path[256];
    if (!mkdtemp(dir))
        return;
    snprintf(d1, sizeof(d1), "%s/a", dir);
    snprintf(d2, sizeof(d2), "%s/b", dir);
    mkdir(d1, 0755);
    mkdir(d2, 0755);
    snprintf(p1, sizeof(p1), "%s/fx-prog", d1);
    snprintf(p2, sizeof(p2), "%s/fx-prog", d2);
    write_script(p1, "echo one");
    write_script(p2, "echo two");
    const char *argv[] = { "fx-prog", NULL };
    const char *order[][2] = { { d2, d1 }, { d1, d2 }, { d2, d1 } };
    const char *want[] = { "two\n", "one\n", "two\n" };
    for (int i = 0; i < 3; i++) {
        struct fixture f;
        fx_init(&f);
        struct exec_job job = simple_job(1, argv);
        snprintf(path, sizeof(path), "%s:%s:/usr/bin:/bin", order[i][0], order[i][1]);
        job.environment = json_pack("{s:s}", "PATH", path);
        is(exec_start(f.x, &job, NULL), 0, "path %d: started", i);
        json_decref(job.environment);
        wait_done(f.loop, &f.r, 10);
        is_str(f.r.out, want[i], "path %d: the first directory on the job's PATH wins", i);
        fx_release(&f);
    }
    /* a relative entry first: the program is found under the task's cwd */
    struct fixture f;
    fx_init(&f);
    struct exec_job job = simple_job(1, argv);
    job.environment = json_pack("{s:s}", "PATH", "a:/usr/bin:/bin");
    job.cwd = dir;
    is(exec_start(f.x, &job, NULL), 0, "relative PATH entry: started");
    json_decref(job.environment);
    wait_done(f.loop, &f.r, 10);
    is_str(f.r.out, "one\n", "relative PATH entry: resolved from the task's cwd");
    fx_release(&f);
    unlink(p1);
    unlink(p2);
    rmdir(d1);
    rmdir(d2);
    rmdir(dir);
}

/* A sleeper with exactly this environment; returns once it has exec'd
 * (so /proc/<pid>/environ is its own, not ours). */
static pid_t spawn_with_env(const char *const *envp)
{
    int pfd[2];
    char c;
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[] = { "sleep", "30", NULL };
        execve("/bin/sleep", (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    close(pfd[1]);
    while (read(pfd[0], &c, 1) > 0)
        ;
    close(pfd[0]);
    return pid;
}

static bool killed_by_sigkill(pid_t pid)
{
    int status;
    return waitpid(pid, &status, 0) == pid && WIFSIGNALED(status)
           && WTERMSIG(status) == SIGKILL;
}

static bool running(pid_t pid)
{
    return waitpid(pid, NULL, WNOHANG) == 0;
}

/* Another instance's task with the same FLUX_JOB_ID survives. */
static void test_kill_orphans(void)
{
    char id[64], idvar[80];
    snprintf(id, sizeof(id), "fOrphanTest%d", (int)getpid());
    snprintf(idvar, sizeof(idvar), "FLUX_JOB_ID=%s", id);
    const char *mine[] = { idvar, "FLUXFS_INSTANCE=tok-a", NULL };
    const char *other[] = { idvar, "FLUXFS_INSTANCE=tok-b", NULL };
    const char *none[] = { idvar, NULL };
    const char *prefix[] = { idvar, "FLUXFS_INSTANCE=tok-ab", NULL };

    is(exec_set_instance(""), -EINVAL, "empty instance token rejected");
    is(exec_set_instance("a b"), -EINVAL, "token with a space rejected");
    is(exec_set_instance("tok-a"), 0, "instance token set");
    pid_t a = spawn_with_env(mine), b = spawn_with_env(other), c = spawn_with_env(none),
          d = spawn_with_env(prefix);
    ok(a > 0 && b > 0 && c > 0 && d > 0, "four processes with job id %s", id);
    is(exec_kill_orphans(id), 1, "exec_kill_orphans kills one");
    ok(killed_by_sigkill(a), "ours (same id, same instance) got SIGKILL");
    ok(running(b), "another instance's process with the same id survives");
    ok(running(c), "a process naming no instance survives");
    ok(running(d), "an instance whose name merely starts with ours survives");
    is(exec_kill_orphans(id), 0, "a second pass finds none");
    for (int i = 0; i < 3; i++) {
        pid_t p = i == 0 ? b : i == 1 ? c : d;
        kill(p, SIGKILL);
        waitpid(p, NULL, 0);
    }

    /* tasks are told their instance, whatever their environment said */
    struct fixture f;
    fx_init(&f);
    const char *argv[] = { "sh", "-c", "echo $FLUXFS_INSTANCE", NULL };
    struct exec_job job = simple_job(1, argv);
    job.environment = json_pack("{s:s s:s}", "PATH", "/usr/bin:/bin",
                                "FLUXFS_INSTANCE", "stale");
    is(exec_start(f.x, &job, NULL), 0, "instance env: exec_start works");
    wait_done(f.loop, &f.r, 10);
    is_str(f.r.out, "tok-a\n", "tasks get FLUXFS_INSTANCE, replacing the job's");
    json_decref(job.environment);
    fx_release(&f);
}

/* procfd_cwd(): a process standing inside the directory to avoid is
 * answered with its parent's directory (us), one outside with its own. */
static void test_procfd_cwd(void)
{
    char tmpl[] = "/tmp/fluxfs-procfd.XXXXXX", inner[64], here[PATH_MAX], got[PATH_MAX];
    int p[2];
    ok(mkdtemp(tmpl) && getcwd(here, sizeof(here)) && pipe(p) == 0, "a directory to avoid");
    snprintf(inner, sizeof(inner), "%s/in", tmpl);
    mkdir(inner, 0755);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        if (chdir(inner) < 0)
            _exit(1);
        close(p[1]);
        (void)!read(p[0], &c, 1);   /* until the parent has looked */
        _exit(0);
    }
    close(p[0]);
    usleep(100000);
    is(procfd_cwd(pid, NULL, got, sizeof(got)), 0, "its own directory");
    is_str(got, inner, "... is where it stands");
    is(procfd_cwd(pid, tmpl, got, sizeof(got)), 0, "inside the directory to avoid");
    is_str(got, here, "... its parent's directory instead");
    is(procfd_cwd(pid, "/", got, sizeof(got)), -EXDEV, "everything avoided: -EXDEV");
    close(p[1]);
    waitpid(pid, NULL, 0);
    rmdir(inner);
    rmdir(tmpl);
}

int main(void)
{
    plan(NO_PLAN);
    test_procfd_cwd();
    /* A broker typically ignores SIGPIPE; tasks must not inherit that. */
    signal(SIGPIPE, SIG_IGN);
    test_echo();
    test_exit_code();
    test_signaled();
    test_four_tasks();
    test_enoent();
    test_cwd();
    test_environment();
    test_errors();
    test_terminate();
    test_binding();
    test_grandchild();
    test_big_output();
    test_user();
    test_launcher();
    test_path();
    test_kill_orphans();    /* last: sets the process-wide instance token */
    return done_testing();
}
