/* bench-fsync FILE N [GAP_US] - the redo log's ceiling (fsd/redo.h): N
 * appends of one 4 KiB page to a file written with zeros beforehand, each
 * followed by fdatasync, as a durable commit through the redo log is.
 *
 * Back to back it prints the rate. With GAP_US, the machine is left idle
 * that long before each append, as it is before a lone `fluxfs run` or a
 * cp in a loop, and it prints the median time of one append and its sync:
 * on a virtual machine an idle CPU is halted, and waking it for the disk's
 * answer is part of what a single durable commit costs (here 268 us after
 * 1.5 ms idle against 149 back to back). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FILE_SIZE (4 << 20)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int n = atoi(argv[2]), gap = argc > 3 ? atoi(argv[3]) : 0;
    static char page[4096], zeros[65536];
    memset(page, 'x', sizeof(page));
    double *each = calloc(n > 0 ? (size_t)n : 1, sizeof(double));
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !each || n <= 0)
        return 1;
    for (off_t off = 0; off < FILE_SIZE; off += sizeof(zeros))
        if (pwrite(fd, zeros, sizeof(zeros), off) != (ssize_t)sizeof(zeros))
            return 1;
    if (fdatasync(fd) < 0)
        return 1;
    double a = now();
    for (int i = 0; i < n; i++) {
        if (gap > 0)
            usleep((useconds_t)gap);
        off_t off = (off_t)(i % (FILE_SIZE / sizeof(page))) * (off_t)sizeof(page);
        double t = now();
        if (pwrite(fd, page, sizeof(page), off) != (ssize_t)sizeof(page) || fdatasync(fd) < 0)
            return 1;
        each[i] = now() - t;
    }
    double s = now() - a;
    if (gap > 0) {
        qsort(each, (size_t)n, sizeof(double), cmp_double);
        printf("%d page appends, each synced after %d us idle: median %.3f ms\n", n, gap,
               each[n / 2] * 1000);
    } else
        printf("%d page appends, each synced, in %.3f s = %.0f syncs/s\n", n, s, n / s);
    free(each);
    close(fd);
    unlink(argv[1]);
    return 0;
}
