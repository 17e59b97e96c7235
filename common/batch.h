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
 *   --output, --error=TEMPLATE    files for the script's stdout/stderr
 *                                 ({{id}}, {{name}}, {{user}}, {{node}})
 *   --dependency=SCHEME:ID        as fluxfs submit; --begin-time=+FSD|EPOCH
 *   --urgency=N|hold|default|expedite, -S/--setattr, -o/--setopt,
 *   --requires=QUERY, --signal=SIG@TIME   as fluxfs submit (common/jobopt.h)
 *   --cores=N, --gpus-per-node=N  Flux's per-resource form: with -N a slot a
 *                                 node of N/nodes cores (whole nodes without
 *                                 --cores), else N one-core slots; not with
 *                                 -n, -c or -g
 * Slurm options:
 *   -N/--nodes, -n/--ntasks, -c/--cpus-per-task, --gpus-per-task,
 *   --ntasks-per-node, -J/--job-name, -D/--chdir, --exclusive
 *   --gres=gpu:N or gpu:TYPE:N    N gpus per node, spread over the node's
 *                                 slots: each slot gets ceil(N / slots per
 *                                 node) gpus (all slots count as one node
 *                                 when there is no node count)
 *   -t, --time=T                  MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM,
 *                                 D-HH:MM:SS, UNLIMITED/INFINITE; 0 = unlimited
 *   -o, -e, --output, --error=PATTERN  %j %x %u %N %A %a %% (see slurm_pattern)
 *   -d, --dependency=TYPE:ID[:ID][,...]  after, afterany, afterok, afternotok;
 *                                 singleton
 *   -b, --begin=now+N[unit]|YYYY-MM-DD[THH:MM[:SS]]   --export=[ALL,]NAME=VALUE,...
 *   -a, --array=SPEC[%LIMIT]      one job per index (batch_array_read)
 *   -A, --account=BANK            attributes.system.bank (accounting/)
 *   -p, --partition=QUEUE         attributes.system.queue (recorded; named
 *                                 queues are not scheduled yet)
 *   refused with their line, never ignored: --mail-type, --mail-user, --mem,
 *   --mem-per-cpu, --mem-per-gpu
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

/* Slurm's --array: at most this many elements, indices 0..BATCH_ARRAY_INDEX_MAX
 * (Slurm's largest MaxArraySize less one). */
#define BATCH_ARRAY_MAX 10000
#define BATCH_ARRAY_INDEX_MAX 4000000

/* Largest script accepted, in bytes: the kernel's MAX_ARG_STRLEN less the NUL. */
#define BATCH_SCRIPT_MAX (128 * 1024 - 1)

/* Is text[0..len) a batch script, i.e. does it start with "#!"? */
bool batch_is_script(const char *text, size_t len);
/* Has it a directive line (#SBATCH, # flux:) anyway? What a script that
 * lost its "#!" line looks like: a reason to say so when it does not
 * parse as a jobspec either. */
bool batch_has_directives(const char *text, size_t len);

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

/* An sbatch script's --array=SPEC[%LIMIT]. */
struct batch_array {
    unsigned *index;       /* the indices, ascending, each once */
    size_t count;          /* 0: the script is not an array */
    int limit;             /* %LIMIT: at most this many running at once; 0 = no limit */
};

/* Read and check all of a script's directives, and return its --array in
 * *a (count 0 when it has none, or text is not a script). 0, or as
 * batch_to_jobspec() with err filled. Release *a after success. */
int batch_array_read(const char *text, size_t len, struct batch_array *a, struct errmsg *err);
void batch_array_release(struct batch_array *a);

/* One job of an array: the script runs with SLURM_ARRAY_JOB_ID=array_id,
 * SLURM_ARRAY_TASK_ID=index, SLURM_ARRAY_TASK_COUNT/_MIN/_MAX; %A and %a in
 * its -o/-e are array_id and index; its jobspec has
 * attributes.system.array = {"id": array_id, "index": index, "limit": LIMIT}
 * (the broker keeps at most LIMIT of one array's jobs past DEPEND at once;
 * 0 = no limit). batch_to_jobspec() refuses an array script: only these
 * elements are jobs. */
struct batch_elem {
    const char *array_id;  /* the first element's job id, as SLURM_JOB_ID shows it */
    unsigned index;
};
int batch_element_to_jobspec(const char *text, size_t len, const struct batch_elem *elem,
                             char **jobspec, size_t *jlen, struct errmsg *err);

#endif
