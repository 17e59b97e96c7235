/* cli.h - private interface between the files of the `fluxfs` command.
 *
 * fluxfs.c owns dispatch, the mount point and small file helpers; each
 * cli_*.c implements a group of subcommands. Everything goes through the
 * mounted tree (doc/tree.md): no private channel to the daemon.
 */
#ifndef FLUXFS_TOOLS_CLI_H
#define FLUXFS_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/jobinfo.h"

/* Exit codes shared by every subcommand (also documented in `fluxfs --help`). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,        /* an operation failed; the reason is on stderr */
    CLI_EXIT_USAGE = 2,        /* bad options or arguments */
    CLI_EXIT_CANCELED = 1,     /* run/attach: job CANCELED (or LOST) */
    CLI_EXIT_TIMEOUT = 124,    /* run/attach: job TIMEOUT (as timeout(1)) */
    CLI_EXIT_DETACHED = 130,   /* run/attach: detached by a second Ctrl-C */
};

/* Option parsers return the index of the first operand (>= 0), or
 * CLI_PARSE_DONE(code) to stop and exit with code (after --help: 0). */
#define CLI_PARSE_DONE(code) (-1 - (code))
#define CLI_PARSE_CODE(r) (-1 - (r))

/* Long options every subcommand accepts; append to a subcommand's table. */
#define CLI_COMMON_LONGOPTS \
    { "mount", required_argument, NULL, 'm' }, \
    { "help", no_argument, NULL, 'h' }

/* Parse the options of a subcommand that takes only -m and -h, plus -a/--all
 * when all is not NULL (*all says whether it was given). Prints the usage on
 * --help (to stdout) and on a bad option (to stderr). Returns the index of
 * the first operand, or CLI_PARSE_DONE(CLI_EXIT_OK or CLI_EXIT_USAGE). */
int cli_parse_opts(int argc, char **argv, const char *usage, bool *all);

/* Print "fluxfs: " + message + newline to stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Remember -m DIR (NULL leaves the default search). */
void cli_set_mount(const char *dir);

/* The mount point: -m, else $FLUXFS_MOUNT, else the only mounted instance.
 * Prints an error and exits 1 if none is found. */
const char *cli_mount(void);

/* The mount point's name (as cli_mount finds it), not looked at yet. */
const char *cli_mount_name(void);

/* For a command whose first access to the mount tells whether it is a
 * fluxfs mount (a submission's open of queue/new): MOUNT/rel without the
 * stat of MOUNT/status that cli_mount() makes first, one request to the
 * daemon fewer. After that access, cli_mount_trust() if it worked, else
 * cli_mount(), which says what is wrong with the mount if anything. */
char *cli_path_unchecked(char *buf, size_t size, const char *rel);
void cli_mount_trust(void);

/* Format MOUNT/<fmt...> into buf (PATH_MAX bytes is enough). Returns buf. */
char *cli_path(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Read a whole file (path absolute) into a NUL-terminated malloc'd buffer.
 * Returns NULL with errno set on failure. *lenp (optional) gets the length. */
char *cli_read_file(const char *path, size_t *lenp);

/* Read MOUNT/jobs/<id>/<name>; NULL with errno on failure. */
char *cli_job_file(const char *id, const char *name, size_t *lenp);

/* Write text to an existing file with one write() (truncating it first, as
 * the shell's >), checking close. Returns 0 or -errno. */
int cli_write_file(const char *path, const char *text);

/* Copy the newest line of queue/errors (our latest failure), without the
 * timestamp, into buf; "" if there is none. Returns buf. */
char *cli_last_error(char *buf, size_t size);

/* Write verb to jobs/<id>/ctl. On failure print the reason (from
 * queue/errors) and return -errno. */
int cli_job_ctl(const char *id, const char *verb);

/* Check that id names a job in jobs/ (prints an error if not). */
bool cli_job_exists(const char *id);

/* Parse a duration: FSD ("30s", "5m", "1.5h", "1d") or a bare number,
 * which is minutes (as flux's -t). Returns 0 or -EINVAL. */
int cli_parse_duration(const char *s, double *secs);

/* Format seconds as Flux Standard Duration ("1.234s", "5.5m", "2h"). */
char *cli_fsd(double secs, char *buf, size_t size);

/* "root" or the uid as text if it has no name. */
const char *cli_username(uid_t uid, char *buf, size_t size);
/* A user name or uid ("all": -1) into *uid; 0, or -EINVAL after saying why. */
int cli_parse_user(const char *s, long *uid);

/* Wall-clock time now, in seconds since the Unix epoch. */
double cli_now(void);

/* ---- cli_jobs.c: a job's metadata (common/jobinfo.h), read from the
 * tree ---- */

/* One job, from jobs/<id>/: what is cheap first, state (and result); with
 * full, the rest (its eventlog, jobspec and R). */
int cli_job_load(const char *id, struct jobinfo *job, bool full);

/* All jobs (only active ones unless all), from joblist (jobs/<id>/ of each
 * on a tree without it), sorted as flux jobs does: pending, then running,
 * then inactive; newest first. */
int cli_job_list(bool all, struct jobinfo **jobsp, size_t *np);
void cli_job_list_free(struct jobinfo *jobs, size_t n);

bool cli_state_active(const char *state);
bool cli_state_pending(const char *state);

/* Two-letter status like flux jobs ("R", "CD", "F", "CA", "TO", ...). */
const char *cli_job_status_abbrev(const struct jobinfo *job);

/* runtime in seconds: run..cleanup, or run..now while running; 0 if never ran */
double cli_job_runtime(const struct jobinfo *job, double now);

/* The default flux-jobs-like header, and one row of it. */
void cli_job_print_header(FILE *f);
void cli_job_print_row(FILE *f, const struct jobinfo *job, double now);

/* Map a result line to an exit code (see enum above); prints a message for
 * results that have no exit status. */
int cli_result_exit_code(const char *id, const char *result);

/* Stream jobs/<id>/stdout and stderr to ours until the job is INACTIVE and
 * return its exit code. Blocks on inotify; polls if inotify is unavailable.
 * Ctrl-C (or SIGTERM) cancels the job; a second one detaches (exit 130). */
int cli_attach(const char *id);
/* The same for the job just submitted through queue/run on fd (left
 * open), whose content from tail on is the job's end. */
int cli_attach_run(const char *id, int fd, off_t tail);

/* ---- subcommands: (argc, argv) with argv[0] the subcommand name ---- */
/* Submit one file's text (a jobspec, or a batch script) through queue/new;
 * the job's id in id. 0, or -errno after printing why. */
int cli_submit_text(const char *text, size_t len, char *id, size_t size);
/* ... every job's id, a line each (an sbatch --array script makes many):
 * *ids for the caller to free. */
int cli_submit_ids(const char *text, size_t len, char **ids);
int cmd_submit(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_alloc(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_resource(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_account(int argc, char **argv);
int cmd_queue(int argc, char **argv);

#endif
