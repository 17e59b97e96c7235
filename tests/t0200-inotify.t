#!/bin/bash
# inotifywait -m -r on jobs/ sees new jobs, state transitions and output.
. "$(dirname "$0")/lib.sh"
plan 13
command -v inotifywait >/dev/null || bail_out "inotifywait not installed"

fluxfs_start || bail_out "cannot mount"
J=$MNT/jobs
timeout 60 inotifywait -m -r --format '%w|%e|%f' "$J" > ev.log 2> iw.err &
iw=$!
ok "inotifywait watches established" wait_until 10 grep -q "Watches established" iw.err

# a blocker holds every core, so the watched job's transitions
# SCHED -> RUN -> ... -> INACTIVE happen after its directory is watched
mkjob 'sleep 1' "$(status_field cores)" > blocker.yaml
mkjob 'echo line1; sleep 0.5; echo line2; sleep 0.5; echo line3; echo e1 >&2' > slow.yaml
blk=$(submit blocker.yaml)
id=$(submit slow.yaml)
ok "job waits for the blocker" wait_state "$id" SCHED
is "$(wait_job "$id")" "COMPLETED 0" "the job ran"
events() { grep -c "$1" ev.log; }
ok "CREATE,ISDIR for the new job" wait_until 5 grep -qx "$J/|CREATE,ISDIR|$id" ev.log
ok "MODIFY on jobs/<id>/state" wait_until 5 grep -qx "$J/$id/|MODIFY|state" ev.log
ok "CLOSE_WRITE on jobs/<id>/state" grep -qx "$J/$id/|CLOSE_WRITE,CLOSE|state" ev.log
n=$(grep -cx "$J/$id/|MODIFY|state" ev.log)
ok "several state transitions seen ($n)" test "$n" -ge 2
n=$(grep -cx "$J/$id/|MODIFY|stdout" ev.log)
ok "stdout MODIFY seen as it grows ($n)" test "$n" -ge 2
ok "stderr MODIFY seen" grep -qx "$J/$id/|MODIFY|stderr" ev.log
# after the last state event, a reader sees the final state
ok "the job's last event is on a watched file" grep -q "^$J/$id/|" ev.log

# a watcher woken by an event can read the new content
id2=$( (mkjob 'sleep 0.3; echo x' > j2.yaml); submit j2.yaml)
seen=$(timeout 10 bash -c '
	while inotifywait -qq -e modify "$1/state"; do
		s=$(cat "$1/state"); echo "$s"
		[ "$s" = INACTIVE ] && break
	done' _ "$J/$id2" | tail -1)
is "$seen" INACTIVE "inotifywait on state wakes up to read INACTIVE"

# no events for a plain read
: > ev.log
cat "$J/$id/stdout" "$J/$id/state" >/dev/null
sleep 0.3
is "$(grep -c 'MODIFY' ev.log)" 0 "reading files raises no MODIFY"
kill "$iw" 2>/dev/null; wait "$iw" 2>/dev/null
ok "unmount" fluxfs_stop
