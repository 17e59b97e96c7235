#!/bin/bash
# inotifywait -m -r on jobs/ sees new jobs, state transitions and output.
. "$(dirname "$0")/lib.sh"
plan 25
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
ok "several state transitions seen ($n)" test "$n" -ge 2 ||
	diag "(once seen 1 under the full suite) the job's events:" "$(grep -F "$id" ev.log)" \
		"its eventlog:" "$(cut -c1-120 "$MNT/jobs/$id/eventlog")" "daemon:" "$(tail -5 "$DAEMON_LOG")"
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

# close() returns at commit, before the job is announced: its directory can
# be read at once, and the announcement still reaches watchers even when the
# submitter's own lookup put the directory in the kernel's cache first
timeout 60 inotifywait -m --format '%e|%f' -e create "$J" > ev2.log 2> iw2.err &
iw=$!
ok "second watcher established" wait_until 10 grep -q "Watches established" iw2.err
mkjob true > t.yaml
python3 - "$MNT" t.yaml > ids.txt 2> race.err <<'PY'
import os, sys
mnt, spec = sys.argv[1], open(sys.argv[2]).read()
for i in range(50):
    with open(mnt + "/queue/new", "r+") as f:
        f.write(spec); f.flush(); f.seek(0)
        jid = f.read().strip()
    # read straight after close(): must exist now, not after the announcement
    st = open("%s/jobs/%s/state" % (mnt, jid)).read().strip()
    os.stat("%s/jobs/%s" % (mnt, jid))
    print(jid)
PY
is "$(wc -l < ids.txt)" 50 "50 submissions, each readable the moment close() returned"
missing=0
for i in $(cat ids.txt); do
	wait_until 5 grep -qx "CREATE,ISDIR|$i" ev2.log || missing=$((missing + 1))
done
is "$missing" 0 "every one of them announced with CREATE,ISDIR"

# the same, made certain: the publisher (the daemon's child process) is
# paused, so the submitter reads its job before the announcement exists
pub=$(pgrep -P "$FLUXFS_PID" -x fluxfs-publish | head -1)
ok "the publisher process exists" test -n "$pub"
kill -STOP "$pub"
id3=$(submit t.yaml)
st=$(cat "$J/$id3/state")
ls -d "$J/$id3" >/dev/null
ok "readable while unannounced (state $st)" test -n "$st"
kill -CONT "$pub"
ok "announced with CREATE,ISDIR after the reader cached it" wait_until 5 grep -qx "CREATE,ISDIR|$id3" ev2.log
kill "$iw" 2>/dev/null; wait "$iw" 2>/dev/null

# Changes are poked only where a watch can be: on jobs with an inode the
# kernel holds. A watched file keeps its inode when the kernel drops every
# dentry and unused inode it can (drop_caches), so its job goes on being
# poked; the jobs no one looked at are not poked at all.
blk=$(submit blocker.yaml)
id4=$(submit slow.yaml)
ok "a job waits for the blocker again" wait_state "$id4" SCHED
timeout 60 inotifywait -m -e modify --format '%e|%f' "$J/$id4/state" > ev4.log 2> iw4.err &
iw=$!
ok "its state file is watched" wait_until 10 grep -q "Watches established" iw4.err
sync; echo 2 > /proc/sys/vm/drop_caches
sleep 0.3   # the kernel's FORGETs reach the broker
# nothing looks the job up from here until its first event has come
echo cancel > "$J/$blk/ctl"
ok "its state changes reached the watch after the caches were dropped" \
	wait_until 10 grep -q "^MODIFY|" ev4.log
is "$(wait_job "$id4")" "COMPLETED 0" "it ran once the blocker was canceled"
kill "$iw" 2>/dev/null; wait "$iw" 2>/dev/null
if command -v strace >/dev/null; then
	pub=$(pgrep -P "$FLUXFS_PID" -x fluxfs-publish | head -1)
	mkjob 'sleep 0.3' > unwatched.yaml
	timeout 30 strace -qq -f -e trace=openat,mkdir,mkdirat -p "$pub" -o pub.trace &
	st=$!
	sleep 0.5
	: > unwatched.ids
	for i in 1 2 3 4 5 6 7 8; do submit unwatched.yaml >> unwatched.ids; done
	ok "8 unwatched jobs ended" wait_until 20 all_inactive
	sleep 0.3
	kill "$st"; wait "$st" 2>/dev/null
	ann=0 pokes=0
	for i in $(cat unwatched.ids); do
		# by path, or through a system instance's clone of its mount
		grep -Eq "mkdir(at)?\(([0-9]+, )?\"([^\"]*/)?jobs/$i\"" pub.trace && ann=$((ann + 1))
		pokes=$((pokes + $(grep -c "jobs/$i/" pub.trace)))
	done
	is "$ann/$pokes" "8/0" "each announced with a mkdir, none poked (state changed 0.3 s later)"
else
	skip "strace is not installed"
fi
ok "unmount" fluxfs_stop
