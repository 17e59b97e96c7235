/* test/imp.c - the privileged helper (exec/imp.c) through its client:
 * who a spawned process is, what it refuses, and that nothing it started
 * outlives the broker. Needs root (skipped otherwise). */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/tap.h"
#include "exec/imp_client.h"
#include "exec/imp_msg.h"

extern char **environ;

#define NOBODY 65534
#define BROKER 4242   /* the broker's user, as the helper is told */

/* Run argv as uid through h, its stdout collected; the exit status. */
static int run_as(struct imp *h, uid_t uid, char *const *argv, char *out, size_t size,
                  pid_t *pidp, struct errmsg *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    char *envp[] = { (char *)"PATH=/usr/bin:/bin", NULL };
    struct imp_spawn s = { .argv = argv, .envp = envp, .cwd = "/", .fds = { null, p[1], null },
                           .uid = uid };
    pid_t pid = imp_spawn(h, &s, err);
    close(p[1]);
    close(null);
    if (pid < 0) {
        close(p[0]);
        return pid;
    }
    if (pidp) {
        *pidp = pid;
        close(p[0]);
        return 0;
    }
    size_t len = 0;
    ssize_t n;
    while (len < size - 1 && (n = read(p[0], out + len, size - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(p[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -ECHILD;
    return status;
}

static void test_msg(void)
{
    struct impmsg m;
    const char *s;
    const char **v;
    uint32_t u;
    impmsg_init(&m);
    impmsg_put_str(&m, "abc");
    impmsg_put_u32(&m, 7);
    ok(impmsg_get_str(&m, &s) == 0 && !strcmp(s, "abc"), "a string reads back");
    ok(impmsg_get_u32(&m, &u) == 0 && u == 7, "a u32 reads back");
    is(impmsg_get_u32(&m, &u), -EBADMSG, "reading past the end is refused");
    m.len = m.pos = 0;
    m.bad = false;
    impmsg_put_u32(&m, 4);
    impmsg_put_u32(&m, 0x41414141);   /* "AAAA", no NUL where the length says */
    is(impmsg_get_str(&m, &s), -EBADMSG, "a string without its NUL is refused");
    m.len = m.pos = 0;
    m.bad = false;
    impmsg_put_u32(&m, 1000000);      /* a count the body cannot hold */
    impmsg_put_str(&m, "x");
    is(impmsg_get_strv(&m, &v, 65536), -EBADMSG, "a string count past the body is refused");
    m.len = m.pos = 0;
    m.bad = false;
    impmsg_put_u32(&m, 0xffffffffu);  /* a string length past the body */
    is(impmsg_get_str(&m, &s), -EBADMSG, "a string length past the body is refused");
    impmsg_free(&m);

    /* a message of known size is built in one allocation of that size */
    char a[] = "A=1", path[] = "PATH=/usr/bin:/bin", empty[] = "";
    char *env[] = { a, path, empty, NULL };
    impmsg_init(&m);
    size_t want = impmsg_str_size("cwd") + impmsg_str_size(NULL) + impmsg_strv_size(env);
    impmsg_reserve(&m, want);
    char *buf = m.buf;
    impmsg_put_str(&m, "cwd");
    impmsg_put_str(&m, NULL);
    impmsg_put_strv(&m, env);
    ok(!m.bad && m.buf == buf && m.len == want && m.cap == want,
       "impmsg_reserve(%zu) holds the message exactly (len %zu, cap %zu)", want, m.len, m.cap);
    ok(impmsg_get_str(&m, &s) == 0 && !strcmp(s, "cwd") && impmsg_get_str(&m, &s) == 0 && !*s
       && impmsg_get_strv(&m, &v, 16) == 0 && v[0] && !strcmp(v[1], "PATH=/usr/bin:/bin")
       && !*v[2] && !v[3], "and reads back");
    free(v);
    impmsg_reserve(&m, (size_t)IMP_BODY_MAX);
    ok(m.bad, "room past the body's limit makes the message bad");
    impmsg_free(&m);
}

int main(void)
{
    plan(NO_PLAN);
    test_msg();
    if (geteuid() != 0) {
        diag("not root: the helper's own tests need root");
        return done_testing();
    }
    char helper[PATH_MAX];
    if (!imp_default_path(helper, sizeof(helper))) {
        /* the test binary is in exec/, beside the helper */
        snprintf(helper, sizeof(helper), "./exec/fluxfs-imp");
    }
    struct errmsg err = { "" };
    struct imp *h = imp_start(helper, BROKER, NULL, NULL, &err);
    ok(h != NULL, "the helper starts (%s)", h ? helper : err.text);
    if (!h)
        return done_testing();
    is(imp_init(h, "tok-imp-test", &err), 0, "the instance token is set");
    ok(imp_init(h, "again", &err) < 0, "a second token is refused (%s)", err.text);

    /* who a spawned process is: the user database's, not the request's */
    char out[4096], want[4096] = "";
    char *id_argv[] = { (char *)"sh", (char *)"-c", (char *)"id -u; id -g; id -G; echo $HOME",
                        NULL };
    int status = run_as(h, NOBODY, id_argv, out, sizeof(out), NULL, &err);
    ok(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "a process runs as nobody and is our child (status %d)", status);
    struct passwd *pw = getpwuid(NOBODY);
    gid_t groups[64];
    int ng = 64;
    if (pw && getgrouplist(pw->pw_name, pw->pw_gid, groups, &ng) >= 0) {
        size_t len = (size_t)snprintf(want, sizeof(want), "%d\n%d\n", NOBODY, (int)pw->pw_gid);
        for (int i = 0; i < ng; i++)
            len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%d", i ? " " : "",
                                    (int)groups[i]);
        snprintf(want + len, sizeof(want) - len, "\n\n");
    }
    /* id -G prints the primary group first, then the rest once each */
    ok(!strncmp(out, want, strcspn(want, "\n") + 1), "uid is nobody's: %.*s",
       (int)strcspn(out, "\n"), out);
    char *gidline = strchr(out, '\n');
    ok(gidline && atoi(gidline + 1) == (int)(pw ? pw->pw_gid : 0),
       "primary group from the user database");

    pid_t pid;
    is(run_as(h, 4000000, id_argv, out, sizeof(out), NULL, &err), -ESRCH,
       "a uid the user database does not know is refused");
    ok(strstr(err.text, "no user 4000000") != NULL, "... saying so: %s", err.text);

    char *missing[] = { (char *)"no-such-program-here", NULL };
    status = run_as(h, NOBODY, missing, out, sizeof(out), NULL, &err);
    ok(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127,
       "a command that is not found exits 127, as a shell's");

    /* signals reach only what it started, while it lives */
    char *sleep_argv[] = { (char *)"sleep", (char *)"30", NULL };
    is(run_as(h, NOBODY, sleep_argv, out, sizeof(out), &pid, &err), 0, "sleep started");
    is(imp_signal(h, pid, SIGTERM), 0, "SIGTERM through the helper");
    ok(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
       "the process got it");
    usleep(100000);   /* the helper sees its exit and forgets it */
    is(imp_signal(h, pid, SIGKILL), -ESRCH, "a process that is gone is not signalled");
    is(imp_signal(h, getpid(), SIGKILL), -ESRCH, "nor one it did not start");

    /* spawns queued without waiting (the loop's): answers in order, a
     * refused one among them, each process ours and writing where asked */
    {
        int p[2], null = open("/dev/null", O_RDWR | O_CLOEXEC);
        ok(pipe2(p, O_CLOEXEC) == 0 && null >= 0, "a pipe for three queued tasks");
        char *envp[] = { (char *)"PATH=/usr/bin:/bin", NULL };
        char *a1[] = { (char *)"echo", (char *)"one", NULL };
        char *a3[] = { (char *)"echo", (char *)"three", NULL };
        struct imp_spawn q1 = { .argv = a1, .envp = envp, .cwd = "/", .fds = { null, p[1], null },
                                .uid = NOBODY };
        struct imp_spawn q2 = q1, q3 = q1;
        q2.uid = 4000000;   /* nobody the database knows */
        q3.argv = a3;
        is(imp_queue_spawn(h, &q1, &err) | imp_queue_spawn(h, &q2, &err)
               | imp_queue_spawn(h, &q3, &err), 0, "three spawns queued");
        close(p[1]);
        close(null);
        ok(imp_queue_fd(h) >= 0 && !imp_queue_waiting(h), "... and sent (small ones go at once)");
        pid_t pids[3];
        int n = 0, rc = 0;
        struct errmsg e2 = { "" };
        for (int tries = 0; n < 3 && tries < 500; tries++) {
            struct pollfd pfd = { .fd = imp_queue_fd(h), .events = POLLIN };
            poll(&pfd, 1, 20);
            while (n < 3 && (rc = imp_queue_take(h, &pids[n], n == 1 ? &e2 : &err)) == 0)
                n++;
        }
        is(n, 3, "three answers");
        ok(pids[0] > 0 && pids[2] > 0, "the first and third started");
        is(pids[1], -ESRCH, "the second, a user nobody knows, did not");
        ok(strstr(e2.text, "no user 4000000") != NULL, "... saying why: %s", e2.text);
        int st0 = -1, st2 = -1;
        waitpid(pids[0], &st0, 0);
        waitpid(pids[2], &st2, 0);
        ok(WIFEXITED(st0) && WEXITSTATUS(st0) == 0 && WIFEXITED(st2) && WEXITSTATUS(st2) == 0,
           "both are our children and exit 0");
        char buf[64] = "";
        ssize_t got = read(p[0], buf, sizeof(buf) - 1);
        buf[got > 0 ? got : 0] = '\0';
        ok(strlen(buf) == 10 && strstr(buf, "one\n") && strstr(buf, "three\n"),
           "the output of both: %s", buf);
        close(p[0]);
        is(imp_queue_take(h, &pids[0], &err), -EAGAIN, "no answer is left");
    }

    /* the working directory of a process */
    char cwd[PATH_MAX], got[PATH_MAX];
    ok(getcwd(cwd, sizeof(cwd)) && imp_cwd(h, getpid(), got, sizeof(got)) == 0
       && !strcmp(cwd, got), "cwd of a process: %s", got);

    /* GIVE: only the broker's own entries, in its own directory, never to root */
    char dir[] = "/tmp/imp-test-XXXXXX";
    ok(mkdtemp(dir) != NULL && chown(dir, BROKER, BROKER) == 0, "a directory of the broker's");
    chmod(dir, 0755);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof(path), "%s/state", dir);
    mkdir(path, 0700);
    (void)!chown(path, BROKER, BROKER);
    is(imp_give(h, dfd, "state", NOBODY, NOBODY, &err), 0, "a directory is given");
    ok(stat(path, &st) == 0 && st.st_uid == NOBODY, "... and is nobody's");
    snprintf(path, sizeof(path), "%s/f", dir);
    close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    (void)!chown(path, BROKER, BROKER);
    is(imp_give(h, dfd, "f", 0, 0, &err), -EPERM, "nothing is given to root");
    snprintf(path, sizeof(path), "%s/link", dir);
    ok(symlink("/etc/passwd", path) == 0 && lchown(path, BROKER, BROKER) == 0,
       "a symlink to /etc/passwd");
    ok(imp_give(h, dfd, "link", NOBODY, NOBODY, &err) < 0, "a symlink is refused (%s)",
       err.text);
    ok(stat("/etc/passwd", &st) == 0 && st.st_uid == 0, "/etc/passwd is still root's");
    char hard[PATH_MAX];
    snprintf(hard, sizeof(hard), "%s/hard", dir);
    snprintf(path, sizeof(path), "%s/f", dir);
    ok(link(path, hard) == 0, "a file with two names");
    is(imp_give(h, dfd, "hard", NOBODY, NOBODY, &err), -EPERM, "a hard-linked file is refused");
    is(imp_give(h, dfd, "../etc", NOBODY, NOBODY, &err), -EINVAL, "a name with a slash");
    snprintf(path, sizeof(path), "%s/state", dir);
    is(imp_give(h, dfd, "state", 1000, 1000, &err), -EPERM,
       "an entry that is not the broker's any more is refused");
    fchmod(dfd, 0777);
    snprintf(path, sizeof(path), "%s/g", dir);
    mkdir(path, 0700);
    (void)!chown(path, BROKER, BROKER);
    is(imp_give(h, dfd, "g", NOBODY, NOBODY, &err), -EPERM,
       "nothing in a directory others can write");
    int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    is(imp_give(h, root, "tmp", NOBODY, NOBODY, &err), -EPERM, "nor in one of another user");
    ok(stat("/tmp", &st) == 0 && st.st_uid == 0, "/tmp is still root's");
    ok(imp_detach(h, dfd, "state") < 0, "detach refuses what is not a FUSE mount");
    close(root);
    close(dfd);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)!system(cmd);

    /* nothing it started outlives the broker's end of the socket */
    is(run_as(h, NOBODY, sleep_argv, out, sizeof(out), &pid, &err), 0, "another sleep");
    imp_destroy(h);
    ok(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
       "killed when the broker's end closes");
    (void)environ;
    return done_testing();
}
