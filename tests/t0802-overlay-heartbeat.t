#!/bin/bash
# Heartbeats (doc/overlay.md): a broker that stops answering is lost within
# the timeout even though its connection stays up; one slow for less than
# half the timeout is not; one that runs again rejoins by itself.
. "$(dirname "$0")/lib.sh"
plan 13

OVERLAY_HB='"heartbeat": {"period": 0.2, "timeout": 1.5},'
overlay_start 4 2 || bail_out "cannot start 4 brokers"
ok "4 brokers join" overlay_wait_up 30
ok "a follower knows its round trip to the leader" \
	wait_until 5 sh -c "grep -Eq '^overlay-rtt-ms: [0-9.]+$' '$T/m3/status'"
# rank 3 is a leaf below rank 1
kill -STOP "${OVERLAY_PIDS[3]}"
sleep 0.6
kill -CONT "${OVERLAY_PIDS[3]}"
sleep 1.5
is "$(overlay_state 3)" up "stopped for 0.6 s (under half the 1.5 s timeout): still up"
unlike "$(cat "$T/log1")" "rank 3: no answer" "... and rank 1 did not call it lost"

mkjob_nodes "sleep 300 # t0802-$$" 4 > all.yaml
id=$(submit all.yaml)
wait_state "$id" RUN 20
kill -STOP "${OVERLAY_PIDS[3]}"
t0=$(date +%s.%N)
ok "stopped for good: lost, with its connection up" \
	wait_until 10 sh -c "grep -q '^overlay.3: .* state=lost' '$MNT/status'"
t1=$(date +%s.%N)
ok "within the timeout and a beat or two (took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s)" \
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 3.5) }'
like "$(wait_job "$id" 20)" "^(FAILED|CANCELED)" "the job on it fails"
kill -CONT "${OVERLAY_PIDS[3]}"
ok "running again, it rejoins by itself" overlay_wait_up 20
ok "and kills what the failed job left there" \
	wait_until 15 sh -c "! pgrep -f 'sleep 30[0] # t0802-$$' >/dev/null"

# an interior broker stopped for longer than the timeout: its children give
# up on it, let go of its connection and are adopted by its parent (the
# leader); running again, it rejoins as a leaf (doc/overlay.md)
kill -STOP "${OVERLAY_PIDS[1]}"
sleep 2.5
kill -CONT "${OVERLAY_PIDS[1]}"
ok "a stopped interior broker rejoins once it runs again, its child too" overlay_wait_up 20
like "$(cat "$T/log3")" "no heartbeat from parent rank 1" "(its child had given up on it)"
ok "its child was adopted by the leader" wait_until 20 grep -q "joined parent rank 0" "$T/log3"
mkjob_nodes 'echo ok' 4 > four.yaml
id=$(submit four.yaml)
is "$(wait_job "$id" 30)" "COMPLETED 0" "and a 4-node job runs on all of them again"
