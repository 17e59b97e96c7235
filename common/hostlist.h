/* hostlist.h - RFC 29 hostlists: "node[0-3,7],login1" <-> list of names.
 */
#ifndef FLUXFS_HOSTLIST_H
#define FLUXFS_HOSTLIST_H

#include <stddef.h>

struct hostlist;

struct hostlist *hostlist_create(void);
void hostlist_destroy(struct hostlist *hl);

/* Append the hosts named by text (which may itself be a compressed list).
 * Returns 0 or -EINVAL. */
int hostlist_append(struct hostlist *hl, const char *text);

size_t hostlist_count(const struct hostlist *hl);
const char *hostlist_nth(const struct hostlist *hl, size_t n);  /* NULL if out of range */

/* Is name one of the hosts text names? 1 yes, 0 no, -EINVAL if text is
 * not a hostlist. Nothing is expanded: "n[0-99999999]" costs what "n0"
 * does, so text may come from anyone (a job's constraints). */
int hostlist_text_contains(const char *text, const char *name);

/* Compressed form, e.g. "node[0-3],login1". Caller frees. */
char *hostlist_encode(const struct hostlist *hl);

#endif
