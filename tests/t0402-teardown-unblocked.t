#!/bin/bash
# The loop never blocks: a daemon asked to stop keeps answering its tree
# while its jobs and nested instances stop, and exits once they are gone.
# 1. SIGTERM with a task holding a descriptor open on the mount: the task's
#    last close (a FLUSH) is answered, the daemon exits, nothing is left.
# 2. A nested instance stopping (shutdown NAME force) while its job ignores
#    SIGTERM: the parent answers meanwhile.
# 3. SIGTERM to a parent whose nested instance takes its kill grace to stop,
#    and whose nested task holds the parent's mount open: the parent answers
#    while its own job (ignoring SIGTERM, long kill grace) keeps it waiting;
#    a second SIGTERM ends the wait.
# Timeouts here are hang guards only.
. "$(dirname "$0")/lib.sh"

# pids of processes whose command line has PATTERN (one per line)
pids_of() { pgrep -f -- "$1"; }
# does every process matching PATTERN hold a descriptor on FILE?
holds() {
	local p n=0
	for p in $(pids_of "$1"); do
		[ "$(readlink "/proc/$p/fd/3" 2>/dev/null)" = "$2" ] || return 1
		n=$((n + 1))
	done
	[ "$n" -gt 0 ]
}
daemon_gone() { ! kill -0 "$FLUXFS_PID" 2>/dev/null; }

# ---- 1. SIGTERM while a task holds the mount open
fluxfs_start || bail_out "cannot mount"
mkjob "exec 3<$MNT/status; sleep 30402" 1 600 > hold.yaml
H=$(submit hold.yaml)
ok "the holding job runs" wait_state "$H" RUN
ok "its task has the mount's status open" wait_until 20 holds "sleep 30402" "$MNT/status"
pid=$FLUXFS_PID
kill -TERM "$pid"
ok "the daemon exits after SIGTERM (hang guard 30 s)" _wait_gone "$pid" 30 ||
	diag "still running; its threads:" \
		"$(cat /proc/"$pid"/task/*/stack 2>/dev/null | sort | uniq -c | sort -rn | head -8)"
nok "without the watchdog aborting its connection" watchdog_fired
nok "the mount is gone" is_mounted "$MNT"
ok "the task is gone" wait_until 10 no_procs "sleep 30402"
unlike "$(cat "$DAEMON_LOG")" "did not stop|ERROR" "the log has no forced stop or error"
FLUXFS_PID=
fluxfs_start || bail_out "cannot restart"
like "$(jobfile "$H" eventlog)" '"type":"shutdown"' "the job got a shutdown exception"
is "$(jobfile "$H" result)" "CANCELED" "and was recorded CANCELED"
fluxfs_stop

# ---- 2. a nested instance stops while its job ignores SIGTERM
J=$MNT/jobs
# submit_in DIR FILE: submit through DIR/queue/new, print the id
submit_in() {
	timeout 10 bash -c 'exec 3<>"$1/queue/new" && cat "$2" >&3 && read -r id <&3 && echo "$id"' _ "$1" "$2"
}
state_in() { timeout 5 cat "$1/jobs/$2/state" 2>/dev/null; }
state_in_is() { [ "$(state_in "$1" "$2")" = "$3" ]; }
result_in_is() { [ "$(timeout 5 cat "$1/jobs/$2/result" 2>/dev/null)" = "$3" ]; }
# live (not --read-only) brokers of the nested instance JOB/NAME
live_nested() { pgrep -af "fluxfsd -f --state $STATE/nested/$1/state " | grep -v -- --read-only; }
no_live_nested() { ! live_nested "$1" >/dev/null; }

fluxfs_start || bail_out "cannot restart"
mkjob 'sleep 300' 1 600 > parent.yaml
P=$(submit parent.yaml)
ok "the parent job runs" wait_state "$P" RUN
E=$J/$P/ens
ok "mkdir starts a nested instance" timeout 30 mkdir "$E" || bail_out "no nested instance"
# its task holds the parent's mount open and ignores SIGTERM: it stops only
# at the nested instance's kill grace, then its last close is a FLUSH the
# parent answers
mkjob "exec 3<$MNT/status; trap 'touch $T/term2' TERM; while :; do sleep 30403; done" > stubborn.yaml
I=$(submit_in "$E" stubborn.yaml)
ok "the nested job runs" wait_until 20 state_in_is "$E" "$I" RUN
ok "its task has the parent's status open" wait_until 20 holds "sleep 30403" "$MNT/status"
ok "shutdown NAME force" sh -c "echo 'shutdown ens force' > '$J/$P/ctl'"
ok "the nested task got SIGTERM (and ignored it)" wait_until 20 test -e "$T/term2"
ok "the parent answers while the nested instance stops" quiet timeout 5 cat "$MNT/status"
ok "the parent lists its jobs meanwhile" quiet timeout 5 ls "$J"
ok "the nested instance stops (hang guard 30 s)" wait_until 30 no_live_nested "$P/ens"
ok "its task is gone" wait_until 10 no_procs "sleep 30403"
ok "its job was canceled, as its history shows" wait_until 30 result_in_is "$E" "$I" CANCELED
is "$(job_state "$P")" "RUN" "the parent job keeps running"
fluxfs_stop

# ---- 3. SIGTERM to a parent while a nested instance takes its grace
# The parent's own job ignores SIGTERM and has a long kill grace, so the
# parent cannot finish stopping before the test's second SIGTERM.
fluxfs_start --kill-grace 300 || bail_out "cannot restart"
mkjob "trap '' TERM; sleep 30404" 1 600 > hold3.yaml
P3=$(submit hold3.yaml)
ok "the parent job (ignoring SIGTERM) runs" wait_state "$P3" RUN
ok "mkdir starts a nested instance" timeout 30 mkdir "$J/$P3/sub" || bail_out "no nested instance"
mkjob "exec 3<$MNT/status; trap 'touch $T/term3' TERM; while :; do sleep 30405; done" > stubborn3.yaml
I3=$(submit_in "$J/$P3/sub" stubborn3.yaml)
ok "the nested job runs" wait_until 20 state_in_is "$J/$P3/sub" "$I3" RUN
ok "its task has the parent's status open" wait_until 20 holds "sleep 30405" "$MNT/status"
pid=$FLUXFS_PID
kill -TERM "$pid"
ok "the nested task got SIGTERM (and ignored it)" wait_until 20 test -e "$T/term3"
ok "the stopping parent answers" quiet timeout 5 cat "$MNT/status"
ok "the nested instance stops (hang guard 30 s)" wait_until 30 no_live_nested "$P3/sub"
ok "its task is gone" wait_until 10 no_procs "sleep 30405"
unlike "$(cat "$DAEMON_LOG")" "did not stop" "the parent did not have to kill it"
ok "the parent still answers" quiet timeout 5 cat "$MNT/status"
ok "it refuses new work" sh -c "! timeout 10 cp hold3.yaml '$MNT/queue/' 2>/dev/null"
ok "the parent job still runs" has_procs "sleep 30404"
kill -TERM "$pid"
ok "a second SIGTERM: the parent stops waiting and exits (hang guard 30 s)" _wait_gone "$pid" 30
like "$(cat "$DAEMON_LOG")" "signal 15 again" "and says so"
ok "the parent job's task was killed" wait_until 10 no_procs "sleep 30404"
nok "without the watchdog aborting its connection" watchdog_fired
nok "the mount is gone" is_mounted "$MNT"
is "$(grep -c "$STATE/nested" /proc/mounts)" 0 "no nested mount is left"
FLUXFS_PID=

done_testing
