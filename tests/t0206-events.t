#!/bin/bash
# events (doc/tree.md "events"): every event of every job, in commit order,
# each line its eventlog entry plus the job's id. A reader that starts at
# the beginning gets the backlog and then what comes; tail -f follows it
# with no gap and no duplicate, however fast the jobs; inotify says MODIFY.
. "$(dirname "$0")/lib.sh"
plan 12

fluxfs_start || bail_out "cannot mount"
FX=$(dirname "$FLUXFSD")/../tools/fluxfs
like "$(ls "$MNT")" "events" "the root lists events"
is "$(stat -c %a "$MNT/events")" 444 "read-only for everyone"
nok "nobody writes it" sh -c "echo x > '$MNT/events'" 2>/dev/null

# a follower started first sees every job, however fast
timeout 60 tail -n 0 -f "$MNT/events" > tail.out &
tailpid=$!
sleep 0.5
ids=$("$FX" -m "$MNT" submit --cc=1-40 true)
for id in $ids; do wait_job "$id" >/dev/null; done
ok "tail -f sees every job's clean" wait_until 10 sh -c "[ \$(grep -c '\"name\":\"clean\"' tail.out) -ge 40 ]"
kill "$tailpid" 2>/dev/null
is "$(grep -c '"name":"clean"' tail.out)" 40 "once each (no duplicate)"
bad=0
for id in $ids; do
	seq=$(grep "\"id\":\"$id\"" tail.out | sed 's/.*"name":"\([^"]*\)".*/\1/' | tr '\n' ' ')
	[ "$seq" = "submit validate depend priority alloc start finish release free clean " ] || bad=$((bad + 1))
done
is "$bad" 0 "each job's events complete and in order"
first=$(echo "$ids" | head -1)
is "$(grep "\"id\":\"$first\"" tail.out | cut -d, -f2- | sed 's/^/{/')" "$(cat "$MNT/jobs/$first/eventlog")" \
	"its lines are the job's eventlog lines, with the id"

# a reader from the start: the backlog, then everything new
python3 - "$MNT/events" > py.out <<'PY' &
import sys, time
f = open(sys.argv[1])
got = f.read()
print("backlog", got.count("\n"), flush=True)
new = ""
deadline = time.time() + 20
while time.time() < deadline and '"name":"clean"' not in new:
    new += f.read()
    time.sleep(0.05)
print("later", '"name":"clean"' in new)
PY
pypid=$!
sleep 1
mkjob true 1 > one.yaml
id=$(submit one.yaml)
wait_job "$id" >/dev/null
wait "$pypid"
like "$(cat py.out)" "backlog 400" "a reader from offset 0 gets the backlog first (here all 400 events)"
like "$(cat py.out)" "later True" "then what comes after, as it comes"

# more than the backlog: a new reader gets the last 1000
"$FX" -m "$MNT" submit --cc=1-100 true > more.ids
for id in $(cat more.ids); do wait_job "$id" >/dev/null; done
is "$(cat "$MNT/events" | wc -l)" 1000 "a new reader gets the last 1000 events"
is "$(cat "$MNT/events" | tail -1 | sed 's/.*"name":"\([^"]*\)".*/\1/')" clean "ending with the newest"

timeout 10 inotifywait -q -e modify "$MNT/events" > inotify.out &
ipid=$!
sleep 0.5
"$FX" -m "$MNT" run true
wait "$ipid"
like "$(cat inotify.out)" "events MODIFY" "inotify reports MODIFY when it grows"
