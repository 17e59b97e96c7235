#!/bin/bash
# Invalid jobspecs are refused at close() with EINVAL and a reason in
# queue/errors; the conformance corpus goes through the tree.
. "$(dirname "$0")/lib.sh"
INVALID=$CONFORMANCE/jobspec/invalid_v1
VALID=$CONFORMANCE/jobspec/valid_v1
ninvalid=$(grep -lE '^version: *1 *$' "$INVALID"/* | wc -l)   # other versions: general rules
nvalid=$(ls "$VALID" | wc -l)
plan $((23 + 3 * ninvalid + 2 * nvalid + 2 * nvalid))

fluxfs_start || bail_out "cannot mount"
errors() { timeout 5 cat "$MNT/queue/errors"; }
lasterr() { errors | tail -1; }
njobs() { ls "$MNT/jobs" | wc -l; }

# --- hand-written invalid jobspecs
printf 'version: 1\n' > noresources.yaml
printf 'this is: [not yaml\n' > notyaml.yaml
mkjob 'true' | sed 's/duration: 60/cwd: \/tmp/' > noduration.yaml
mkjob 'true' | sed 's/count: 1$/count: 0/' > zerocores.yaml
: > empty.yaml

nok "cp of a jobspec without resources fails" timeout 10 cp noresources.yaml "$MNT/queue/" 2>cp.err
like "$(cat cp.err)" "Invalid argument" "cp reports Invalid argument"
like "$(lasterr)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z noresources\.yaml: EINVAL: .*resources' "queue/errors: TIME NAME: EINVAL: reason"

nok "cp of non-YAML fails" timeout 10 cp notyaml.yaml "$MNT/queue/"
like "$(lasterr)" '^[^ ]+ notyaml\.yaml: EINVAL: ' "reason logged for non-YAML"
nok "cp of jobspec without duration fails" timeout 10 cp noduration.yaml "$MNT/queue/"
like "$(lasterr)" 'noduration\.yaml: EINVAL: .*duration' "reason names attributes.system.duration"
nok "cp of jobspec with 0 cores fails" timeout 10 cp zerocores.yaml "$MNT/queue/"
like "$(lasterr)" 'zerocores\.yaml: EINVAL: .*count' "reason names the count"
n0=$(ls "$MNT/jobs" | wc -l)
ok "cp of an empty file submits nothing and succeeds" timeout 10 cp empty.yaml "$MNT/queue/"
is "$(ls "$MNT/jobs" | wc -l)" "$n0" "no job from an empty file"
like "$(lasterr)" 'empty\.yaml: ENODATA: nothing was written' "queue/errors says nothing was submitted"
mkjob true 1 | sed 's/command:/comand:/' > misspelled.yaml
nok "cp of a jobspec with a misspelled key fails" timeout 10 cp misspelled.yaml "$MNT/queue/"
like "$(lasterr)" "misspelled\.yaml: EINVAL: tasks\[0\]\.command: required \('comand' is there: did you mean 'command'\?\)" \
	"the reason names the misspelled key"

out=$(timeout 10 python3 - "$MNT/queue/py.yaml" <<'PY'
import sys, errno
f = open(sys.argv[1], "w")
f.write("version: 1\nresources: []\n")
try:
    f.close()
    print("closed fine")
except OSError as e:
    print(errno.errorcode[e.errno])
PY
)
is "$out" EINVAL "python: close() raises OSError EINVAL"
like "$(lasterr)" 'py\.yaml: EINVAL' "python rejection logged"
is "$(njobs)" 0 "no job was created by any invalid submission"
is "$(status_field jobs)" 0 "status: jobs 0"

# an unsatisfiable but well-formed request: more cores than exist
cores=$(status_field cores)
mkjob 'true' $((cores + 1)) > toobig.yaml
nok "cp of a jobspec wanting more cores than exist fails" timeout 10 cp toobig.yaml "$MNT/queue/"
like "$(lasterr)" 'toobig\.yaml: EINVAL: .*(requested|unsatisfiable)' "reason says what was requested"
# a valid one still works after all that
mkjob 'echo fine' > good.yaml
ok "a valid jobspec is accepted" timeout 10 cp good.yaml "$MNT/queue/"
is "$(njobs)" 1 "exactly one job"
ok "errors keeps at most 16 lines" test "$(errors | wc -l)" -le 16

# --- conformance: every invalid_v1 file that says version 1 is rejected
# through the tree (other versions follow the general RFC 14 rules: t0500)
for f in "$INVALID"/*; do
	b=$(basename "$f")
	grep -Eq '^version: *1 *$' "$f" || continue
	n0=$(njobs)
	nok "invalid_v1/$b: cp fails" timeout 10 cp "$f" "$MNT/queue/$b" 2>/dev/null
	is "$(njobs)" "$n0" "invalid_v1/$b: no job created"
	like "$(lasterr)" "^[^ ]+ ${b//./\\.}: EINVAL: ." "invalid_v1/$b: reason in queue/errors"
done

# --- conformance: valid_v1 files on this 1-node instance: accepted, or
# refused only because the machine is too small
for f in "$VALID"/*; do
	b=$(basename "$f")
	n0=$(njobs)
	if timeout 10 cp "$f" "$MNT/queue/$b" 2>/dev/null; then
		is "$(njobs)" $((n0 + 1)) "valid_v1/$b: accepted, one job created"
		unlike "$(lasterr)" " ${b//./\\.}: " "valid_v1/$b: no error logged for it"
	else
		e=$(lasterr)
		like "$e" "${b//./\\.}: EINVAL: .*(requested|unsatisfiable|has none|holds)" "valid_v1/$b: refused as unsatisfiable here"
		is "$(njobs)" "$n0" "valid_v1/$b: no job created"
	fi
done

# --- and on a simulated 4-node cluster with 8 cores and 4 gpus per node,
# every valid_v1 file is accepted
fluxfs_stop || bail_out "cannot unmount"
rm -rf "$STATE"
fluxfs_start --resources "$FIXTURES/R-4n8c4g.json" || bail_out "cannot mount cluster"
ids=()
for f in "$VALID"/*; do
	b=$(basename "$f")
	id=$(submit_cp "$f" 2>/dev/null)
	ok "cluster: valid_v1/$b accepted" test -n "$id" || diag "$(lasterr)"
	ids+=("${id:-none}")
done
for id in "${ids[@]}"; do
	like "$(wait_job "$id" 30)" '^(COMPLETED|FAILED)' "cluster: job $id ran to an end"
done
