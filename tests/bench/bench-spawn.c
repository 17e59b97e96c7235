/* bench-spawn N [INFLIGHT [PROGRAM]] - the process-spawn ceiling:
 * posix_spawn of PROGRAM (default /bin/true) N times with up to INFLIGHT
 * running at once, reaped with wait. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000, inflight = argc > 2 ? atoi(argv[2]) : 1;
    const char *prog = argc > 3 ? argv[3] : "/bin/true";
    char *args[] = { (char *)"true", NULL };
    struct timespec a, b;
    int running = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        pid_t pid;
        if (running == inflight) {
            wait(NULL);
            running--;
        }
        if (posix_spawn(&pid, prog, NULL, NULL, args, environ) != 0)
            return 1;
        running++;
    }
    while (wait(NULL) > 0)
        ;
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("spawned %d in %.3f s = %.0f/s\n", n, s, n / s);
    return 0;
}
