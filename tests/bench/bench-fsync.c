/* bench-fsync FILE N - the redo log's ceiling (fsd/redo.h): N appends of
 * one 4 KiB page to a file written with zeros beforehand, each followed by
 * fdatasync, as a durable commit through the redo log is. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FILE_SIZE (4 << 20)

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int n = atoi(argv[2]);
    static char page[4096], zeros[65536];
    memset(page, 'x', sizeof(page));
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return 1;
    for (off_t off = 0; off < FILE_SIZE; off += sizeof(zeros))
        if (pwrite(fd, zeros, sizeof(zeros), off) != (ssize_t)sizeof(zeros))
            return 1;
    if (fdatasync(fd) < 0)
        return 1;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        off_t off = (off_t)(i % (FILE_SIZE / sizeof(page))) * (off_t)sizeof(page);
        if (pwrite(fd, page, sizeof(page), off) != (ssize_t)sizeof(page) || fdatasync(fd) < 0)
            return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%d page appends, each synced, in %.3f s = %.0f syncs/s\n", n, s, n / s);
    close(fd);
    unlink(argv[1]);
    return 0;
}
