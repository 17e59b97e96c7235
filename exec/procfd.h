/* procfd.h - whether a process has a descriptor open on a file, read from
 * /proc/PID/fd (only root may read another user's: a system instance asks
 * its privileged helper, exec/imp.c). */
#ifndef FLUXFS_PROCFD_H
#define FLUXFS_PROCFD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Descriptors of one process looked at: past this, the answer is no (a
 * caller that asks on every close pays no more than this). */
#define PROCFD_SCAN_MAX 256

/* Whether pid has a descriptor open on inode ino whose path ends in
 * "/name" (or "/name (deleted)"). Nothing but /proc is touched. */
bool procfd_holds(pid_t pid, uint64_t ino, const char *name);

/* The parent of pid, or 0 (from /proc/PID/stat, which anyone may read). */
pid_t procfd_parent(pid_t pid);

/* procfd_holds() of pid, or else, if parent, of its parent: a shell that
 * lent its descriptor to a command (`>&3`) still holds it when the command
 * exits. A caller that knows pid opened the file itself and nobody else
 * opened it passes false: no parent can hold it then (a descriptor goes to
 * children, not parents), and the parent's scan was most of the cost. */
bool procfd_held(pid_t pid, uint64_t ino, const char *name, bool parent);

/* Ancestors procfd_cwd() looks at past the process itself. */
#define PROCFD_CWD_UP 4

/* The working directory of pid into buf (as readlink(2) of /proc/PID/cwd),
 * or, when that is inside avoid (a mount point; NULL: anywhere goes), the
 * nearest ancestor's that is not, among PROCFD_CWD_UP of the same user,
 * passing over those that run the same program (rsync writes from the
 * destination directory, and its sender stands in the source's: the user
 * stood in neither). If none is found (the user's shell exec'd rsync, and
 * the next ancestor is root's: sudo, sshd, setpriv), the nearest of those
 * same-program ones outside avoid (the sender's: the source's directory).
 * 0, or -errno (-ENOENT for a removed directory, "PATH (deleted)";
 * -EXDEV when no directory outside avoid was found). */
int procfd_cwd(pid_t pid, const char *avoid, char *buf, size_t size);

#endif
