/* batch.h - turn a batch script ("#!...") into a V1 jobspec, like flux batch/sbatch.
 *
 * A script copied into the queue runs ONCE, as the single task of a job whose
 * allocation has the shape its directives ask for (as with `flux batch` and
 * `sbatch`: `-n 4` reserves 4 task slots, it does not run the script 4 times).
 *
 * Directives are read from the leading comment block only: line 1 (the "#!"
 * line) and every following line that is blank or whose first non-blank
 * character is '#'; the first other line ends the block and any directive
 * after it is an ordinary comment (sbatch and RFC 36 behave the same way).
 *
 *   # flux: OPTIONS    '#', optional blanks, "flux:" or "FLUX:" (RFC 36)
 *   #SBATCH OPTIONS    exactly "#SBATCH" at column 0, then a blank (Slurm)
 *
 * OPTIONS are split like a shell would ('single', "double" and \ quoting); an
 * unquoted word starting with '#' comments out the rest of the line.  Both
 * "--opt=val" and "--opt val", "-n4" and "-n 4" are accepted; when an option
 * is given twice the later one wins.  Both kinds may be mixed in one script.
 *
 * Flux options:
 *   -N, --nodes=N                 node count (adds a node level)
 *   -n, --ntasks=N, --nslots=N    task slots (default 1, or 1 per node)
 *   -c, --cores-per-task=N, --cores-per-slot=N       (default 1)
 *   -g, --gpus-per-task=N, --gpus-per-slot=N         (default 0)
 *   --tasks-per-node=N            slots per node
 *   -t, --time-limit=MIN|FSD      bare number = minutes; or RFC 23 duration
 *                                 "90s", "1.5h", "2d", "500ms"; 0 = unlimited
 *   --job-name=NAME  --cwd=DIR  --exclusive (needs a node count)
 *   --env=NAME=VALUE              set a variable in the script's environment
 *   --output, --error             accepted and ignored (output is in the tree)
 * Slurm options:
 *   -N/--nodes, -n/--ntasks, -c/--cpus-per-task, --gpus-per-task,
 *   --ntasks-per-node, -J/--job-name, -D/--chdir, --exclusive
 *   --gres=gpu:N or gpu:TYPE:N    N gpus per node, spread over the node's
 *                                 slots: each slot gets ceil(N / slots per
 *                                 node) gpus (all slots count as one node
 *                                 when there is no node count)
 *   -t, --time=T                  MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM,
 *                                 D-HH:MM:SS, UNLIMITED/INFINITE; 0 = unlimited
 *   accepted and ignored, since fluxfs has nothing to map them to:
 *   -o/--output, -e/--error (output is in the tree), -p/--partition,
 *   -A/--account, --mail-type, --mail-user, --mem, --mem-per-cpu, --mem-per-gpu
 * Anything else is an error naming the line: "line 3: unknown directive '--foo'".
 *
 * The jobspec produced:
 *   resources   node[N] > slot[ceil(n/N) or tasks-per-node] > {core[c], gpu[g]}
 *               or, without a node count, slot[n] > {core[c], gpu[g]};
 *               the slot label is "task"
 *   tasks       one task, count {total: 1}, running the launcher below
 *   attributes  system.duration (0 = unlimited), system.job.name ("batch"
 *               unless named), system.cwd when given; never
 *               system.environment, so the script inherits the daemon's
 *               environment (an environment attribute would replace it)
 *
 * Execution: the script travels inside the command itself, as an argument:
 *   ["/bin/sh", "-c", LAUNCHER, "fluxfs-batch", SCRIPT, NENV, NAME=VALUE...,
 *    INTERPRETER, [INTERPRETER-ARG]]
 * The launcher writes SCRIPT to a mktemp file in $TMPDIR (default /tmp),
 * opens it on fd 9, unlinks it, exports the --env variables, and execs
 * `INTERPRETER [ARG] /dev/fd/9`.  INTERPRETER and ARG come from the "#!" line,
 * split as the Linux kernel does (the interpreter ends at the first blank;
 * the rest of the line, trimmed, is one argument), so "#!/bin/bash -l" and
 * "#!/usr/bin/env python3" behave as when the file is run directly, and a
 * noexec $TMPDIR does not matter.  The file is unlinked before the script
 * starts, so a job killed while running leaves nothing behind; the script
 * sees $0 (or sys.argv[0]) as "/dev/fd/9" and fd 9 stays open in it.  The interpreter must be an absolute path.  Because every
 * argument is limited by the kernel to 128 KiB, so is the script
 * (BATCH_SCRIPT_MAX); it may not contain NUL or DEL bytes and must be UTF-8.
 */
#ifndef FLUXFS_BATCH_H
#define FLUXFS_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include "common/errmsg.h"

/* Largest script accepted, in bytes: the kernel's MAX_ARG_STRLEN less the NUL. */
#define BATCH_SCRIPT_MAX (128 * 1024 - 1)

/* Is text[0..len) a batch script, i.e. does it start with "#!"? */
bool batch_is_script(const char *text, size_t len);

/* Build a V1 jobspec (JSON text) that runs the script text[0..len).
 * On success returns 0, sets *jobspec to a NUL-terminated string the caller
 * frees, and *jlen (if not NULL) to its length; the result is accepted by
 * jobspec_parse().  On failure sets nothing but err and returns
 *   -EINVAL  not a script, bad directive or value, e.g.
 *            "line 3: unknown directive '--foo'"
 *            "line 2: invalid --nodes value '0'"
 *   -E2BIG   script longer than BATCH_SCRIPT_MAX
 *   -ENOMEM
 */
int batch_to_jobspec(const char *text, size_t len, char **jobspec, size_t *jlen,
                     struct errmsg *err);

#endif
