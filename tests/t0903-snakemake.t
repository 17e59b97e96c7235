#!/bin/bash
# Snakemake through fluxfs (issue 17): the profile in mount-examples/snakemake
# submits every rule with fluxfs submit, follows it with status.py (the
# job's result in the tree) and cancels with fluxfs cancel.
. "$(dirname "$0")/lib.sh"
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
PROFILE=$REPO/mount-examples/snakemake
command -v snakemake >/dev/null || { echo "1..0 # SKIP snakemake is not installed (scripts/deps.sh --test)"; exit 0; }
plan 11

ok "daemon mounts" fluxfs_start
export FLUXFS_MOUNT=$MNT PATH=$(dirname "$FLUXFS"):$PATH
# snakemake keeps its state and locks under the working directory
mkdir wf && cd wf || bail_out "no workflow directory"
cat > Snakefile <<'SMK'
rule all:
    input: "sum.txt"

rule square:
    output: "sq{n}.txt"
    threads: 1
    shell: "echo $(( {wildcards.n} * {wildcards.n} )) > {output}; echo on $FLUX_JOB_ID"

rule sum:
    input: expand("sq{n}.txt", n=[1, 2, 3])
    output: "sum.txt"
    threads: 2
    shell: "cat {input} | paste -sd+ | bc > {output} 2>/dev/null || awk '{{s += $1}} END {{print s}}' {input} > {output}"
SMK
timeout 300 snakemake --profile "$PROFILE" > smk.log 2>&1
rc=$?
is "$rc" 0 "snakemake --profile mount-examples/snakemake runs the workflow" || diag "$(tail -20 smk.log)"
is "$(cat sum.txt 2>&1)" 14 "its result: 1 + 4 + 9"
names=$(timeout 10 "$FLUXFS" -m "$MNT" jobs -a -n -o '{name} {result}' | sort | uniq -c | awk '{print $1, $2, $3}')
is "$names" "3 smk-square COMPLETED
1 smk-sum COMPLETED" "each rule ran as a fluxfs job, named after it"
sumid=$(timeout 10 "$FLUXFS" -m "$MNT" jobs -a -n --name=smk-sum -o '{id}')
is "$(timeout 10 "$FLUXFS" -m "$MNT" jobs -n -o '{ncores}' "$sumid")" 2 "threads: 2 asked for two cores"
like "$(cat smk.log)" "Submitted job .* with external jobid '$sumid'" "snakemake knows the fluxfs job id"

# a rule that fails: status.py says failed, snakemake stops non-zero
cat > Snakefile <<'SMK'
rule bad:
    output: "never.txt"
    shell: "exit 3"
SMK
timeout 300 snakemake --profile "$PROFILE" > bad.log 2>&1
isnt "$?" 0 "a failing rule fails the workflow"
like "$(cat bad.log)" "Error in rule bad" "... and snakemake names the rule"

# Ctrl-C: snakemake cancels its running jobs through fluxfs cancel
cat > Snakefile <<'SMK'
rule slow:
    output: "slow.txt"
    shell: "sleep 120; touch {output}"
SMK
# (a background job of a script starts with SIGINT ignored: restore it, as
# an interactive shell would have it); $! is snakemake itself after the
# exec, so only it gets the Ctrl-C (a second one, from a wrapper such as
# timeout(1) forwarding it, would interrupt snakemake's own cancelling)
python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' snakemake --profile "$PROFILE" > slow.log 2>&1 &
smk=$!
stop_smk() { pkill -f "[s]nakemake --profile $PROFILE"; true; }
at_cleanup stop_smk
slowid=
for i in $(seq 300); do
	slowid=$(timeout 10 "$FLUXFS" -m "$MNT" jobs -n --name=smk-slow -o '{id}' 2>/dev/null)
	[ -n "$slowid" ] && [ "$(job_state "$slowid")" = RUN ] && break
	sleep 0.1
done
is "$(job_state "$slowid")" RUN "the slow rule's job runs"
kill -INT "$smk"
wait "$smk"
is "$(timeout 30 cat "$MNT/jobs/$slowid/wait")" "CANCELED" "Ctrl-C to snakemake cancels it (cluster-cancel: fluxfs cancel)" ||
	diag "$(tail -3 slow.log; jobfile "$slowid" eventlog | tail -3 | cut -c1-150)"
ok "no snakemake left" no_procs "snakemake --profile $PROFILE"
