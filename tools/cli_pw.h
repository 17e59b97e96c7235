/* cli_pw.h - user names and uids for the CLI, without NSS in the process
 * (cli_pw.c says why): /etc/passwd, then getent(1). */
#ifndef FLUXFS_CLI_PW_H
#define FLUXFS_CLI_PW_H

#include <stddef.h>
#include <sys/types.h>

#define CLI_PW_NAME_MAX 256   /* LOGIN_NAME_MAX */

/* uid's user name into buf: 0, or -ENOENT when no user has it. */
int cli_pw_name(uid_t uid, char *buf, size_t size);

/* name's uid: 0; -ENOENT when no user has that name; -EINVAL when it could
 * not be one (empty, a leading '-', ':' or a newline in it). */
int cli_pw_uid(const char *name, uid_t *uid);

/* Learn the names of n uids (repeats allowed) at once, before naming them
 * one by one: /etc/passwd read once, one getent(1) for all it lacks (a
 * listing of a thousand jobs of a hundred directory users is one process,
 * not a hundred). */
void cli_pw_prefetch(const uid_t *uids, size_t n);

#endif
