/* orphans.h - find and kill what a crashed broker's job left running on
 * this machine, by the names in the processes' environments. */
#ifndef FLUXFS_ORPHANS_H
#define FLUXFS_ORPHANS_H

/* SIGKILL every process (but this one) whose environment holds
 * FLUX_JOB_ID=idstr and, when token is not empty, FLUXFS_INSTANCE=token.
 * The number signalled, or -errno if /proc cannot be read. */
int orphans_kill(const char *token, const char *idstr);

#endif
