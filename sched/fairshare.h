/* fairshare.h - fair share: a tree of banks, users in banks, decayed usage,
 * and a factor per (user, bank) by Slurm's Fair Tree algorithm.
 *
 * Banks (accounts) form a tree; each bank has shares among its siblings.
 * Users (uids) are associated with banks, with shares among the bank's
 * other users and child banks; a user may be in several banks, one of them
 * the user's default. Jobs charge core-seconds to a (user, bank) pair; usage
 * decays with a half-life, so a usage u recorded at t0 is worth
 * u * 2^(-(t - t0) / halflife) at t.
 *
 * Fair Tree (https://slurm.schedmd.com/fair_tree.html), as fairshare_update
 * computes it at a time `now`:
 *   - a bank's usage is the sum of its users' and child banks' decayed usage;
 *   - among siblings (a bank's child banks AND its users together)
 *       S = shares / sum of the siblings' shares
 *       U = usage / sum of the siblings' usage (0 if that sum is 0)
 *       Level FS = S / U, infinite when U = 0;
 *   - depth first from the root, siblings are visited in descending Level FS
 *     (on equal Level FS: users before banks, as Slurm sorts them; users by
 *     uid, banks by name, so the order is deterministic). Each user met gets
 *     the next rank, counting down from N, the number of associations;
 *   - ties: a sibling whose Level FS equals the previous sibling's is tied
 *     with it. A tied user takes the rank last given; a tied bank passes the
 *     tie to its first child, so its first user takes that rank too (where
 *     Slurm merges tied banks' children, banks here are visited by name; with
 *     no usage at all every user still ties at N). The next user not tied
 *     continues at N minus the number ranked so far (4, 4, 2, 1). Level FS
 *     values within 1e-12 of each other (relative) count as equal, so decay
 *     rounding cannot split what is mathematically a tie;
 *   - factor = rank / N, in (0, 1], 1 the most deserving.
 * So every user of a bank whose Level FS is above its sibling bank's ranks
 * above every user of that sibling bank, at every level of the tree.
 *
 * Pure: no I/O, no clock (times are double seconds, passed in), not thread
 * safe (the caller serializes). Costs: set_tree O(A log A + B log B),
 * update O(A log A), resolve/charge/factor O(log A + log B), for A
 * associations and B banks.
 */
#ifndef FLUXFS_FAIRSHARE_H
#define FLUXFS_FAIRSHARE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include "common/errmsg.h"

#define FAIRSHARE_BANKS_MAX 4096       /* banks in a tree */
#define FAIRSHARE_USERS_MAX 65536      /* (user, bank) associations */
#define FAIRSHARE_NAME_MAX 64          /* bytes of a bank name, with its NUL */

struct fairshare;

/* halflife: seconds, finite and > 0; else NULL with errno EINVAL (or ENOMEM).
 * Starts with no banks (fair share off). */
struct fairshare *fairshare_create(double halflife);
void fairshare_destroy(struct fairshare *fs);          /* NULL-safe */
/* Usage decays at the old half-life up to the last fairshare_update and at
 * the new one after it (O(associations)); a value that is not finite and
 * > 0 is ignored. */
void fairshare_set_halflife(struct fairshare *fs, double halflife);

/* Replace the bank tree with `tree`, a JSON array of banks:
 *   [{"name": "root", "shares": 1},
 *    {"name": "physics", "parent": "root", "shares": 50,
 *     "users": {"1001": 10, "1002": {"shares": 5, "default": true}}},
 *    ...]
 * Exactly one bank has no "parent" (the root; any name). Every parent names a
 * bank of the array (order in the array does not matter; no cycles).
 * "shares" is an integer 1..1000000000 (1 when absent). Bank names: 1 to
 * FAIRSHARE_NAME_MAX-1 bytes of [A-Za-z0-9_.-], unique. "users" maps a uid
 * written in decimal (no sign, no leading zero, below 4294967295) to its
 * shares (integer 1..1e9), or to {"shares": n (default 1), "default": bool}.
 * A user may be in several banks and be the default of at most one; without
 * one marked, a user's default bank is the first bank (in array order) that
 * lists them. Unknown keys are refused (typo safety). At most
 * FAIRSHARE_BANKS_MAX banks and FAIRSHARE_USERS_MAX associations. An empty
 * array removes every bank (fair share off).
 * The tree is copied. Usage recorded for (uid, bank name) pairs that still
 * exist is kept; usage of pairs that no longer exist is dropped. Factors are
 * recomputed at once, as of the time of the last fairshare_update (0 before
 * any), so fairshare_factor never answers from a tree that is gone.
 * Returns 0, or -EINVAL (err says which bank or key and why, e.g.
 * "bank 'x': parent 'y' is not a bank") or -ENOMEM; on error nothing
 * changes. */
int fairshare_set_tree(struct fairshare *fs, json_t *tree, struct errmsg *err);
/* The tree as last set (borrowed reference, valid until the next set), or an
 * empty array. */
json_t *fairshare_tree(struct fairshare *fs);
/* Any bank at all (fair share on)? */
bool fairshare_active(const struct fairshare *fs);

/* Which bank a job of uid charges. bank NULL or "": the user's default bank.
 * Returns 0 and sets *resolved (the bank's name, a pointer into the tree
 * valid until the next set_tree) or
 *   -ENOENT "user 1001 belongs to no bank" (default asked for),
 *   -EINVAL "no bank 'x'",
 *   -EPERM  "user 1001 is not in bank 'x'".
 * When !fairshare_active(), returns 0 with *resolved = NULL. */
int fairshare_resolve(struct fairshare *fs, uid_t uid, const char *bank, const char **resolved,
                      struct errmsg *err);

/* Charge amount (core-seconds, 0..1e18) to (uid, bank) at time t (bank NULL
 * or "": the user's default bank). Charges with t earlier than the pair's
 * last update are decayed as of their own time, so replaying old records in
 * any order gives the same total as charging them live. Returns 0, -ENOENT
 * when the pair is not in the tree (the charge is ignored), or -EINVAL for
 * an amount or time out of range. Factors change at the next update. */
int fairshare_charge(struct fairshare *fs, uid_t uid, const char *bank, double amount, double t);

/* Recompute every usage, Level FS and factor as of time now (Fair Tree).
 * Usage charged after now counts undecayed. A now that is not finite is
 * ignored. */
void fairshare_update(struct fairshare *fs, double now);
/* The factor of (uid, bank) from the last update (bank NULL or "": the
 * user's default bank): in (0, 1], 1 the most deserving; 0 when the pair is
 * unknown or fair share is off. */
double fairshare_factor(const struct fairshare *fs, uid_t uid, const char *bank);

/* As of the last update, like Slurm's `sshare -l`, in visiting order (so the
 * user rows are in rank order, most deserving first):
 *   one row per bank, before the banks and users under it:
 *     {"bank", "parent" (null for the root), "shares", "norm_shares",
 *      "usage", "norm_usage", "level_fs"}
 *   one row per (user, bank):
 *     {"bank", "userid", "shares", "norm_shares" (fraction of the whole
 *      machine: the product of share fractions down the tree), "usage"
 *      (decayed core-seconds), "norm_usage" (fraction of all decayed usage),
 *      "level_fs" (S/U among its siblings; null when infinite, i.e. no
 *      usage), "factor"}.
 * uid_filter >= 0 keeps only that user's rows (no bank rows). An empty array
 * when fair share is off. Returns a new array (caller decrefs), or NULL
 * when out of memory. */
json_t *fairshare_report(const struct fairshare *fs, long uid_filter);

#endif
