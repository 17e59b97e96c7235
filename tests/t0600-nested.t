#!/bin/bash
# Nested instances: mkdir beneath a running job starts a child broker on
# exactly that job's resources, shown at jobs/<id>/<name>/ with the same
# layout; depth 3; rmdir; the parent job's end stops its children; history
# stays readable; permission and state errors.
. "$(dirname "$0")/lib.sh"

links() { find /tmp -maxdepth 1 -name 'fluxfs-link-*' | sort; }
links > links.before
fluxfs_start || bail_out "cannot mount"
J=$MNT/jobs
# submit_in DIR FILE: submit through DIR/queue/new, print the id
submit_in() {
	timeout 10 bash -c 'exec 3<>"$1/queue/new" && cat "$2" >&3 && read -r id <&3 && echo "$id"' _ "$1" "$2"
}
core_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["execution"]["R_lite"][0]["children"]["core"])' "$1"; }
state_in() { timeout 5 cat "$1/jobs/$2/state" 2>/dev/null; }
wait_state_in() {	# DIR ID STATE [SECS]
	local i
	for i in $(seq $((${4:-20} * 10))); do
		[ "$(state_in "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
# live (not --read-only) broker processes on a nested state dir; each
# broker is two processes, itself and its inotify publisher
live() { pgrep -af "fluxfsd -f --state $STATE/nested/$1/state " | grep -vc -- --read-only; }
history() { pgrep -af "fluxfsd -f --state $STATE/nested/$1/state " | grep -c -- --read-only; }
mounted() { grep -c " $STATE/nested/$1/mnt " /proc/mounts; }

# a one-core parent job holding the allocation
mkjob 'sleep 300' 1 600 > hold.yaml
P=$(submit hold.yaml)
ok "parent job runs" wait_state "$P" RUN
E=$J/$P/ens
ok "mkdir starts a nested instance" timeout 30 mkdir "$E" || bail_out "no nested instance"
is "$(ls "$E" | tr '\n' ' ')" "README accounting events joblist jobs queue resources status status.json " "it has the root's layout"
like "$(ls "$J/$P")" "ens" "it is listed in the job's directory"
like "$(cat "$E/status")" "cores: 1" "it owns exactly the job's one core"
is "$(core_of "$E/resources/R")" "$(core_of "$J/$P/R")" "its R is the job's R"
is "$(live "$P/ens")" 2 "one child broker (and its publisher)"
is "$(mounted "$P/ens")" 1 "mounted under the parent's state directory"

# submission by cp inside it, bound to the parent's core only
mkjob 'grep Cpus_allowed_list /proc/self/status' > aff.yaml
ok "cp into the nested queue" timeout 10 cp aff.yaml "$E/queue/"
C=$(ls "$E/jobs" | head -1)
ok "the child job appears in the nested jobs/" test -n "$C"
is "$(timeout 30 cat "$E/jobs/$C/wait")" "COMPLETED 0" "wait works in the nested instance"
cpu=$(core_of "$J/$P/R")
like "$(cat "$E/jobs/$C/stdout")" "Cpus_allowed_list:[[:space:]]*$cpu\$" "the nested task ran only on the parent's core ($cpu)"
mkjob 'true' 2 > two.yaml
nok "a request beyond the parent's allocation is refused" timeout 10 cp two.yaml "$E/queue/"
like "$(timeout 5 tail -1 "$E/queue/errors")" "requested 2 core" "with the reason in the nested queue/errors"

# inotify works below the parent: a new job directory in the nested jobs/
inotifywait -e create --format '%f' -t 60 "$E/jobs/" > created.txt 2> iw.err &
w=$!
wait_until 20 grep -q "Watches established" iw.err || diag "no watch on the nested jobs/"
mkjob 'sleep 300' 1 600 > inner.yaml
I=$(submit_in "$E" inner.yaml)
wait "$w"
is "$(cat created.txt)" "$I" "inotifywait on the nested jobs/ sees the new job"
ok "the inner job runs" wait_state_in "$E" "$I" RUN

# depth 3: a nested instance inside the nested job, and one inside that
ok "mkdir at depth 2" timeout 30 mkdir "$E/jobs/$I/deeper"
D=$E/jobs/$I/deeper
I2=$(submit_in "$D" inner.yaml)
ok "a job runs at depth 2" wait_state_in "$D" "$I2" RUN
ok "mkdir at depth 3" timeout 30 mkdir "$D/jobs/$I2/deepest"
mkjob 'echo depth three' > echo.yaml
I3=$(submit_in "$D/jobs/$I2/deepest" echo.yaml)
is "$(timeout 30 cat "$D/jobs/$I2/deepest/jobs/$I3/wait")" "COMPLETED 0" "a job completes at depth 3"
is "$(cat "$D/jobs/$I2/deepest/jobs/$I3/stdout")" "depth three" "its output"

# rmdir is refused while the instance has active jobs
nok "rmdir of a busy nested instance fails" rmdir "$E"
like "$(timeout 5 tail -1 "$MNT/queue/errors")" "ens: EBUSY: .*active jobs" "with the reason in queue/errors"

# errors: another user, a job that is not running, a bad name, a duplicate
nok "another user cannot mkdir under the job" setpriv --reuid=65534 --regid=65534 --clear-groups mkdir "$J/$P/theirs"
mkjob 'true' > t.yaml
T=$(submit t.yaml)
wait_job "$T" >/dev/null
nok "mkdir under a job that is not running fails" mkdir "$J/$T/late"
like "$(timeout 5 tail -1 "$MNT/queue/errors")" "late: EINVAL: .*not running" "the reason says it is not running"
nok "a name with a slash-free but odd character is refused" mkdir "$J/$P/bad:name"
nok "mkdir of an existing name fails" mkdir "$E"

# the parent job ends: every level is shut down, its jobs canceled
echo cancel > "$J/$P/ctl"
like "$(wait_job "$P" 60)" "CANCELED" "the parent job ends"
is "$(live "$P/ens")" 0 "the live child broker is gone"
has_history() { [ "$(history "$P/ens")" -ge 1 ]; }
ok "a history broker serves it" wait_until 20 has_history
# its process is there before its tree is (slow under the sanitizers)
served() { timeout 5 cat "$E/jobs/$C/result" >/dev/null 2>&1; }
wait_until 20 served || diag "the history's tree does not answer yet"
is "$(pgrep -af "state $STATE/nested/$P/ens/state/nested" | grep -vc -- --read-only)" 0 "no live broker below it is left (histories are read-only)"

# history: the nested jobs stay readable at the same paths
is "$(cat "$E/jobs/$C/result")" "COMPLETED 0" "a finished nested job's result is still there"
like "$(cat "$E/jobs/$C/stdout")" "Cpus_allowed_list" "and its output"
like "$(cat "$E/jobs/$I/result")" "CANCELED" "the running inner job was canceled"
like "$(cat "$E/jobs/$I/eventlog")" '"type":"shutdown"' "with a shutdown exception"
nok "the history is read-only" timeout 10 cp echo.yaml "$E/queue/"

# rmdir of an idle nested instance
mkjob 'sleep 300' 1 600 > hold2.yaml
P2=$(submit hold2.yaml)
ok "second parent runs" wait_state "$P2" RUN
ok "mkdir" timeout 30 mkdir "$J/$P2/idle"
ok "rmdir of an idle nested instance succeeds" timeout 30 rmdir "$J/$P2/idle"
ok "its directory is its history now" test -d "$J/$P2/idle/jobs"
nok "a history cannot be removed" rmdir "$J/$P2/idle"
echo cancel > "$J/$P2/ctl"
wait_job "$P2" >/dev/null

# shutdown NAME force through the job's ctl cancels the nested jobs
mkjob 'sleep 300' 1 600 > hold3.yaml
P3=$(submit hold3.yaml)
ok "third parent runs" wait_state "$P3" RUN
ok "mkdir" timeout 30 mkdir "$J/$P3/busy"
B1=$(submit_in "$J/$P3/busy" inner.yaml)
ok "a nested job runs" wait_state_in "$J/$P3/busy" "$B1" RUN
ok "shutdown NAME force on the job's ctl" sh -c "echo 'shutdown busy force' > '$J/$P3/ctl'"
ok "the nested job ends canceled" wait_until 30 sh -c "grep -q CANCELED '$J/$P3/busy/jobs/$B1/result' 2>/dev/null"
is "$(state_in "$J/$P3" "$P3" 2>/dev/null; job_state "$P3")" "RUN" "the parent job keeps running"

# history survives a restart of the parent instance
fluxfs_stop
is "$(pgrep -fc "fluxfsd -f --state $STATE/nested")" 0 "stopping the instance stops every nested broker" || { pgrep -af fluxfsd | sed "s/^/# /"; grep "$STATE" /proc/mounts | sed "s/^/# /"; }
fluxfs_start || bail_out "cannot restart"
ok "after a restart the history is served again" wait_until 30 test -e "$E/jobs/$C/result"
is "$(cat "$E/jobs/$C/result")" "COMPLETED 0" "with the same result"
fluxfs_stop
is "$(pgrep -fc "fluxfsd -f --state $STATE/nested")" 0 "no nested broker outlives the instance"
is "$(grep -c "$STATE/nested" /proc/mounts)" 0 "and no nested mount"

# a crash (kill -9) leaves the nested instances' link sockets in /tmp; the
# restart removes them
fluxfs_start || bail_out "cannot restart"
mkjob 'sleep 300' 1 600 > crash.yaml
P4=$(submit crash.yaml)
wait_state "$P4" RUN
ok "mkdir before the crash" timeout 30 mkdir "$J/$P4/c"
sock=$(cat "$STATE/nested/$P4/c/link")
ok "its link socket is recorded" test -S "$sock"
kill -9 "$(daemon_pid "--state $STATE $MNT")"
wait_until 10 sh -c "! pgrep -f 'fluxfsd -f --state $STATE/nested/$P4/c/state' >/dev/null"
ok "the crash left it" test -e "$(dirname "$sock")"
fusermount3 -uz "$MNT" 2>/dev/null
fluxfs_start || bail_out "cannot restart after the crash"
ok "the restart removes it" wait_until 10 sh -c "! test -e '$(dirname "$sock")'"
fluxfs_stop
# the nested instances a restart starts again (histories, the one the crash
# left) are started while the broker is still root: their link directories
# must not be left in /tmp when the instance stops
is "$(links | comm -13 links.before - | wc -l)" 0 "no link directory made since the test started is left in /tmp"
done_testing
