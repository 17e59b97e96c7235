#!/bin/bash
# The store's redo log (fsd/redo.h): a submission is durable once it is in
# the log, and what LMDB had not synced when the machine went down is
# applied again when the daemon starts. A crash of the machine is played
# by putting back a copy of the store taken before the submissions, after
# a kill -9 (the daemon stopped meanwhile, so that no checkpoint reuses the
# log's files in between).
. "$(dirname "$0")/lib.sh"
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
plan 14

fluxfs_start || bail_out "cannot mount"
# its files are made in the background, after the tree is mounted
made() { test "$(stat -c '%s %a %U' "$STATE/$1" 2>/dev/null)" = "4194304 600 $(stat -c %U "$STATE/data.mdb")"; }
for f in redo.0 redo.1; do
	ok "$f is made, 4 MiB, 0600, the store's owner's" wait_until 10 made "$f"
done
mkjob 'echo warm' > w.yaml
W=$(submit w.yaml)
is "$(wait_job "$W")" "COMPLETED 0" "a job runs (the log is in use from the iteration after)"

# a copy of the store as it is now, taken with the daemon stopped (idle:
# every commit is whole in the page cache)
ok "idle" wait_until 10 test "$(status_field run)$(status_field cleanup)" = 00
kill -STOP "$FLUXFS_PID"
cp "$STATE/data.mdb" data.copy
kill -CONT "$FLUXFS_PID"

# acknowledged submissions: 20 held jobs in one bulk, then 5 single ones
ids=$("$FLUXFS" -m "$MNT" submit --urgency=0 --cc=1-20 true | tr "\n" " ") || true
is "$(echo "$ids" | wc -w)" 20 "20 held jobs submitted in one bulk"
for i in 1 2 3 4 5; do
	mkjob "echo single-$i" > "s$i.yaml"
	echo '    urgency: 0' >> "s$i.yaml"
	ids="$ids $(submit "s$i.yaml")"
done
is "$(echo "$ids" | wc -w)" 25 "and 5 single ones"

kill -STOP "$FLUXFS_PID"   # no checkpoint from here on
ok "kill -9 the daemon" fluxfs_kill9
# the machine loses what LMDB had not synced
cat data.copy > "$STATE/data.mdb"
ok "restart on the store as it was before the submissions" fluxfs_start
like "$(cat "$DAEMON_LOG")" "commits the store had lost were applied again from its redo log" \
	"the daemon says it applied the redo log"
missing=0
for id in $ids; do
	s=$(job_state "$id")
	[ "$s" = SCHED ] || [ "$s" = PRIORITY ] || { missing=$((missing + 1)); diag "$id: '$s'"; }
done
is "$missing" 0 "every acknowledged job is back, held"
is "$(jobfile "$(echo "$ids" | awk '{print $NF}')" jobspec | grep -c 'single-5')" 1 \
	"the last one's jobspec is whole"

# and they run
for id in $ids; do echo "urgency 16" > "$MNT/jobs/$id/ctl"; done
last=$(echo "$ids" | awk '{print $NF}')
is "$(wait_job "$last")" "COMPLETED 0" "released, the last one runs"

# a clean stop leaves nothing to apply
n=$(grep -c "applied again" "$DAEMON_LOG")
fluxfs_stop
ok "a clean restart" fluxfs_start
is "$(grep -c "applied again" "$DAEMON_LOG")" "$n" "applies nothing"
