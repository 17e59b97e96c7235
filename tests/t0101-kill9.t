#!/bin/bash
# kill -9 of the daemon loses nothing: running jobs become LOST (exception
# "lost"), pending jobs run after restart, and every submission whose close()
# succeeded exists after restart.
. "$(dirname "$0")/lib.sh"
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
plan 35

fluxfs_start || bail_out "cannot mount"
cores=$(status_field cores)
mark="kill9-marker-$$"
mkjob "sleep 60; : $mark" "$cores" > big.yaml
mkjob 'echo pending-ran' > p.yaml

R=$(submit big.yaml)
ok "job R runs" wait_state "$R" RUN
P=$(submit p.yaml)
ok "job P is pending" wait_state "$P" SCHED
H=$(submit p.yaml)
ok "hold H" bash -c 'echo "urgency 0" > "$1"' _ "$MNT/jobs/$H/ctl"
ok "R's task is running" wait_until 5 has_procs "$mark"

# before the left-over mount is taken off: what a user typing sees
kill -9 "$FLUXFS_PID"
ok "kill -9 the daemon: it dies" wait_until 5 sh -c "! kill -0 $FLUXFS_PID 2>/dev/null"
like "$(timeout 10 "$FLUXFS" -m "$MNT" submit true 2>&1; echo "rc=$?")" \
	"its fluxfs daemon is gone, the mount is left over.*rc=1" "a submission to the dead mount says the daemon is gone"
ok "the left-over mount is taken off" fluxfs_kill9
ok "R's task processes are gone after the daemon died" wait_until 10 no_procs "$mark"
ok "restart after kill -9" fluxfs_start
is "$(jobfile "$R" state)" INACTIVE "R is INACTIVE"
is "$(jobfile "$R" result)" LOST "R's result is LOST"
like "$(jobfile "$R" eventlog | grep '"exception"')" '"type":"lost"' "R's eventlog has a lost exception"
like "$(event_names "$R")" 'exception.* clean$' "R's eventlog ends with clean"
is "$(wait_job "$P")" "COMPLETED 0" "P, pending at the crash, runs after restart"
is "$(jobfile "$P" stdout)" "pending-ran" "P's output"
ok "H is still held" test "$(job_state "$H")" = SCHED -o "$(job_state "$H")" = PRIORITY
ok "cores are free again" bash -c '! grep -rqE " (exclusive|shared|pool:[0-9]+|exclusive-ancestor) [0-9]+ " "$1"/resources/*/' _ "$MNT"
is "$(status_field cores-free)" "$cores" "status: all cores free"

# 50 submissions in a loop, then kill -9 at once
n0=$(ls "$MNT/jobs" | wc -l)
good=()
for i in $(seq 50); do
	mkjob "echo seq-$i" > "s$i.yaml"
	timeout 10 cp "s$i.yaml" "$MNT/queue/" 2>/dev/null && good+=("$i")
done
ok "kill -9 right after 50 submissions: daemon dies" fluxfs_kill9
is "${#good[@]}" 50 "all 50 cp submissions returned 0"
ok "restart after the burst" fluxfs_start
missing=0
for i in "${good[@]}"; do
	grep -qlx "  - command: \[\"sh\", \"-c\", \"echo seq-$i\"\]" "$MNT"/jobs/*/jobspec || { missing=$((missing + 1)); diag "job seq-$i is missing"; }
done
is "$missing" 0 "every acknowledged submission exists after kill -9"
is "$(ls "$MNT/jobs" | wc -l)" $((n0 + ${#good[@]})) "and no extra jobs appeared"

# kill -9 while a submission loop is still running
( for i in $(seq 100 199); do
	mkjob "echo seq-$i" > "s$i.yaml"
	timeout 10 cp "s$i.yaml" "$MNT/queue/" 2>/dev/null && echo "$i" >> acked
  done ) &
loop=$!
wait_until 10 test -s acked
sleep 0.2
ok "kill -9 during submissions: daemon dies" fluxfs_kill9
wait "$loop"
nacked=$(wc -l < acked)
ok "some submissions were acknowledged before the kill ($nacked)" test "$nacked" -gt 0
ok "restart after kill -9 during submissions" fluxfs_start
missing=0
for i in $(cat acked); do
	grep -qlx "  - command: \[\"sh\", \"-c\", \"echo seq-$i\"\]" "$MNT"/jobs/*/jobspec || { missing=$((missing + 1)); diag "job seq-$i is missing"; }
done
is "$missing" 0 "every acknowledged submission exists"
# wait for everything to finish so no job runs during cleanup
all_done() { [ "$(status_field inactive)" = $(($(status_field jobs) - 1)) ]; }
ok "every job but the held one ends" wait_until 60 all_done
is "$(wait_job "$(submit p.yaml)")" "COMPLETED 0" "a new job still runs"

# kill -9 and nobody unmounts: the dead tree answers ENOTCONN, and a restart
# on the same mount point detaches it instead of refusing
njobs=$(ls "$MNT/jobs" | wc -l)
kill -9 "$FLUXFS_PID"
ok "kill -9 leaving the mount: the daemon dies" _wait_gone "$FLUXFS_PID" 5
FLUXFS_PID=
like "$(ls "$MNT" 2>&1)" "not connected" "the dead tree answers ENOTCONN"
ok "a restart on the dead mount point mounts" fluxfs_start
like "$(cat "$DAEMON_LOG")" "$MNT: the fluxfsd that mounted it died; its dead mount was detached" \
	"... saying it detached the dead mount"
is "$(awk -v m="$MNT" '$2 == m' /proc/mounts | wc -l)" 1 "... leaving one mount, not two"
is "$(ls "$MNT/jobs" | wc -l)" "$njobs" "... with every job"
