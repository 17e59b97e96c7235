#!/bin/bash
# Clean unmount and restart on the same state: inactive jobs keep their
# output and results, running jobs end CANCELED (shutdown), pending jobs are
# pending again and then run.
. "$(dirname "$0")/lib.sh"
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
plan 29

fluxfs_start || bail_out "cannot mount"
cores=$(status_field cores)
mark="restart-marker-$$"

mkjob 'echo done-before; echo err-before >&2; exit 3' > a.yaml
mkjob "sleep 60; : $mark" "$cores" > big.yaml
mkjob 'echo pending-ran' > p.yaml

A=$(submit a.yaml)
is "$(wait_job "$A")" "FAILED 3" "job A finished before the restart"
evA=$(jobfile "$A" eventlog)
B=$(submit big.yaml)
ok "job B (all cores) runs" wait_state "$B" RUN
C=$(submit p.yaml)
H=$(submit p.yaml)
ok "hold H with urgency 0" bash -c 'echo "urgency 0" > "$1"' _ "$MNT/jobs/$H/ctl"
ok "job C is waiting for cores" wait_state "$C" SCHED
# JSON jobspecs with an environment (what `fluxfs submit` writes): one that
# waits keeps it in memory, one held across the restart reads it back
K=$(FLUXFS_T_VAR=kept-env "$FLUXFS" -m "$MNT" submit sh -c 'echo $FLUXFS_T_VAR')
S=$(FLUXFS_T_VAR=stored-env "$FLUXFS" -m "$MNT" submit --urgency=hold sh -c 'echo $FLUXFS_T_VAR')
ok "job B's task is running" wait_until 5 has_procs "$mark"

ok "unmount with a running job" fluxfs_stop
ok "the running job's processes are gone" wait_until 10 no_procs "$mark"

ok "restart on the same state dir" fluxfs_start
is "$(ls "$MNT/jobs" | sort | tr '\n' ' ')" "$(printf '%s\n' "$A" "$B" "$C" "$H" "$K" "$S" | sort | tr '\n' ' ')" "all six jobs are listed"
is "$(jobfile "$A" state)" INACTIVE "A is INACTIVE"
is "$(jobfile "$A" result)" "FAILED 3" "A's result survived"
is "$(jobfile "$A" stdout)" "done-before" "A's stdout survived"
is "$(jobfile "$A" stderr)" "err-before" "A's stderr survived"
is "$(jobfile "$A" eventlog)" "$evA" "A's eventlog is unchanged"
ok "A's jobspec survived" cmp a.yaml "$MNT/jobs/$A/jobspec"
is "$(jobfile "$B" result)" "CANCELED" "B, running at shutdown, is CANCELED"
like "$(jobfile "$B" eventlog)" '"name":"exception","context":\{"type":"shutdown"' "B has a shutdown exception"
is "$(wait_job "$C")" "COMPLETED 0" "C, pending at shutdown, runs after restart"
is "$(jobfile "$C" stdout)" "pending-ran" "C's output is there"
ok "H is still held" test "$(job_state "$H")" != INACTIVE -a "$(job_state "$H")" != RUN
ok "release H with urgency 16" bash -c 'echo "urgency 16" > "$1"' _ "$MNT/jobs/$H/ctl"
is "$(wait_job "$H")" "COMPLETED 0" "H runs once released"
is "$(wait_job "$K")" "COMPLETED 0" "K, a JSON job pending at shutdown, runs"
is "$(jobfile "$K" stdout)" kept-env "... with its environment"
ok "release S" bash -c 'echo "urgency 16" > "$1"' _ "$MNT/jobs/$S/ctl"
is "$(wait_job "$S")$(jobfile "$S" stdout)" "COMPLETED 0stored-env" "S, held across the restart, runs with its environment read back"

N=$(submit p.yaml)
ok "new submission gets a fresh id" bash -c 'case " $2 " in *" $1 "*) exit 1;; esac' _ "$N" "$A $B $C $H $K $S"
is "$(wait_job "$N")" "COMPLETED 0" "and runs"
is "$(status_field inactive)" 7 "status: 7 inactive after restart"
