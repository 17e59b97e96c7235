/* fluxfs-submit - submit a jobspec file and print its job id.
 *
 *   fluxfs-submit [-m MOUNTPOINT] FILE|-
 *
 * Uses only the tree: writes the jobspec into MOUNTPOINT/queue/new and reads
 * the id back on the same descriptor (Plan 9 clone-file style), so concurrent
 * submitters never see each other's ids. The mount point is -m, else
 * $FLUXFS_MOUNT, else the only fluxfs mounted on this machine, else /flux.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/mountpoint.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: fluxfs-submit [-m MOUNTPOINT] FILE|-\n"
               "Submit a jobspec (YAML or JSON) and print the job id.\n");
}

static char *read_all(int fd, size_t *lenp)
{
    size_t len = 0, alloc = 8192;
    char *buf = malloc(alloc);
    ssize_t n;
    while (buf && (n = read(fd, buf + len, alloc - len)) > 0) {
        len += n;
        if (len == alloc) {
            char *p = realloc(buf, alloc *= 2);
            if (!p) {
                free(buf);
                return NULL;
            }
            buf = p;
        }
    }
    *lenp = len;
    return buf;
}

/* Print the newest line of queue/errors: the reason for our rejection. */
static void print_reason(const char *mnt)
{
    char path[PATH_MAX], line[1024], last[1024] = "";
    snprintf(path, sizeof(path), "%s/queue/errors", mnt);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f))
        snprintf(last, sizeof(last), "%s", line);
    fclose(f);
    if (last[0])
        fprintf(stderr, "fluxfs-submit: %s", last);
}

int main(int argc, char **argv)
{
    const char *mnt = NULL;
    int c;
    while ((c = getopt(argc, argv, "m:h")) != -1) {
        switch (c) {
        case 'm':
            mnt = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    char mntbuf[PATH_MAX];
    if (!mnt && !(mnt = fluxfs_find_mount(mntbuf, sizeof(mntbuf)))) {
        if (errno == EEXIST)
            fprintf(stderr, "fluxfs-submit: several fluxfs instances are mounted (%s): say "
                    "which with -m or $FLUXFS_MOUNT\n", mntbuf);
        else
            fprintf(stderr, "fluxfs-submit: no fluxfs instance found (use -m or "
                    "$FLUXFS_MOUNT)\n");
        return 1;
    }
    const char *file = argv[optind];
    int in = strcmp(file, "-") == 0 ? 0 : open(file, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        fprintf(stderr, "fluxfs-submit: %s: %s\n", file, strerror(errno));
        return 1;
    }
    size_t len;
    char *spec = read_all(in, &len);
    if (!spec) {
        fprintf(stderr, "fluxfs-submit: %s: %s\n", file, strerror(errno));
        return 1;
    }
    char path[PATH_MAX], id[64];
    snprintf(path, sizeof(path), "%s/queue/new", mnt);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "fluxfs-submit: %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, spec + off, len - off);
        if (n < 0) {
            fprintf(stderr, "fluxfs-submit: writing %s: %s\n", path, strerror(errno));
            return 1;
        }
        off += n;
    }
    ssize_t n = read(fd, id, sizeof(id) - 1);
    if (n <= 0) {
        fprintf(stderr, "fluxfs-submit: %s rejected: %s\n", file,
                n < 0 ? strerror(errno) : "no job id returned");
        print_reason(mnt);
        return 1;
    }
    id[n] = '\0';
    /* the id comes at once; the job is stored for good only when close()
     * returns (a failed sync fails it with EIO, and the job is canceled):
     * no id on stdout, and not exit 0, before that */
    if (close(fd) < 0) {
        fprintf(stderr, "fluxfs-submit: %s: job %.*s was not stored: %s\n", file,
                (int)strcspn(id, "\n"), id, strerror(errno));
        print_reason(mnt);
        return 1;
    }
    fputs(id, stdout);
    free(spec);
    return 0;
}
