#!/bin/bash
#SBATCH -n 2 -t 00:05:00
# flux: --job-name=batch-example
#
# batch.sh - a batch script, as for `flux batch` or `sbatch`: the directives
# above (read from the leading comment block) ask for 2 tasks' worth of cores
# (one core each) for at most 5 minutes, under the name "batch-example".
# The script runs once, bound to every core of its allocation. Submit with:
#   cp mount-examples/batch.sh $FLUXFS_MOUNT/queue/
# then read jobs/<id>/stdout (and jobs/<id>/R for the cores it was given).

echo "batch job $FLUX_JOB_ID: $FLUX_JOB_SIZE task(s) on $FLUX_JOB_NNODES node(s)"
echo "cpu affinity: $(awk '$1 == "Cpus_allowed_list:" { print $2 }' /proc/self/status)"
if command -v taskset >/dev/null; then
	taskset -cp $$
fi
