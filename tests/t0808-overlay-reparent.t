#!/bin/bash
# Losing an interior broker (doc/overlay.md "Joining and losing"): only its
# own node is lost. Its parent adopts its children, whose nodes stay up and
# whose jobs run on untouched; jobs on the lost node fail with
# node-failure; restarted, it rejoins (as a leaf: its children stay with
# their new parent).
. "$(dirname "$0")/lib.sh"
plan 26

OVERLAY_HB='"heartbeat": {"period": 0.5, "timeout": 2.5},'
overlay_start 8 2 || bail_out "cannot start 8 brokers"
overlay_wait_up 30 || bail_out "the brokers did not join"
# ranks: 0 > 1, 2; 1 > 3, 4; 2 > 5, 6; 3 > 7
# A takes n0-n3 (n1 among them), B the rest: n4 and n7 are below rank 1
mkjob_nodes "sleep 300 # t0808a-$$" 4 2 600 > a.yaml
A=$(submit a.yaml)
wait_state "$A" RUN 20 || bail_out "A does not run"
mkjob_nodes "sleep 6; echo done-\$FLUX_TASK_RANK # t0808b-$$" 4 2 600 > b.yaml
B=$(submit b.yaml)
wait_state "$B" RUN 20 || bail_out "B does not run"
# RUN is the leader's word; each node starts its part when the launch
# reaches it, through rank 1 for n4 and n7: wait for all four tasks, or a
# loaded machine kills rank 1 first and n4's part never starts (137)
wait_until 20 sh -c "[ \$(pgrep -fc 't080[8]b-$$') -ge 4 ]" || bail_out "B's 4 tasks do not all run"
like "$(cat "$MNT/jobs/$B/R")" '"nodelist":\["n\[4-7\]"\]' "B runs on n4-n7 (n4 and n7 below rank 1)"

t0=$(date +%s.%N)
kill -9 "${OVERLAY_PIDS[1]}"
ok "rank 1's node goes down" wait_until 10 grep -qx "node down" "$MNT/resources/cluster0/n1/state"
t1=$(date +%s.%N)
ok "within the bound (took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s)" \
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 5) }'
like "$(timeout 20 "$(dirname "$FLUXFSD")/../tools/fluxfs" -m "$MNT" wait "$A" 2>&1)" \
	"ended by an exception: node-failure: node n1 was lost" "the job on it fails with node-failure"
ok "its children join rank 0" wait_until 10 sh -c "grep -q 'joined parent rank 0' '$T/log3' && grep -q 'joined parent rank 0' '$T/log4'"
is "$(overlay_state 3) $(overlay_state 4) $(overlay_state 7)" "up up up" "they and rank 7 below them stay up"
like "$(grep '^overlay\.[034]:' "$MNT/status" | tr '\n' ' ')" \
	"overlay.0: .*children=1,2,3,4 .*overlay.3: .*parent=0 .*overlay.4: .*parent=0 " \
	"status shows the tree as it is now"
nok "the leader never took them for lost" grep -Eq "rank [347] \(n[347]\) lost" "$T/log0"
# a job that needs every node waits for n1, and its eventlog says so
mkjob_nodes 'echo ok' 8 > all.yaml
W=$(submit all.yaml)
ok "a job needing the lost node stays pending, saying why" \
	wait_until 10 sh -c "grep -q '\"name\":\"memo\",\"context\":{\"pending\":\"only resources that are down' '$MNT/jobs/$W/eventlog'"
is "$(timeout 30 cat "$MNT/jobs/$B/wait")" "COMPLETED 0" "the job on nodes below rank 1 runs to its end"
is "$(sort "$MNT/jobs/$B/stdout" | tr '\n' ' ')" "done-0 done-1 done-2 done-3 " "with all its output"

fusermount3 -uz "$T/m1" 2>/dev/null
overlay_start_rank 1 || bail_out "cannot restart rank 1"
ok "restarted, rank 1 rejoins and its node is up" wait_until 20 grep -qx "node up" "$MNT/resources/cluster0/n1/state"
overlay_wait_up 20
like "$(cat "$T/log3")" "joined parent rank 0" "its former children stay with rank 0"
is "$(wait_job "$W" 30)" "COMPLETED 0" "the waiting 8-node job runs across the re-parented tree"
like "$(jobfile "$W" eventlog)" '"name":"memo","context":\{"pending":null\}' "(its memo cleared when n1 came back)"
ok "A's tasks are gone from every node" wait_until 15 sh -c "! pgrep -f 'sleep 30[0] # t0808a-$$' >/dev/null"

# the leader dies (kill -9) with 10 jobs running on followers and 100
# queued behind them; restarted on the same state, it has lost none of
# them: the running ones end LOST (an exception says why) and their tasks
# are killed on the followers, the queued ones run
mkjob_nodes "sleep 300 # t0808c-$$" 1 1 600 > one.yaml
for i in $(seq 10); do submit one.yaml >> running.ids || bail_out "cannot submit"; done
mkjob_nodes 'true' 8 2 > big.yaml
for i in $(seq 100); do submit big.yaml >> queued.ids || bail_out "cannot submit"; done
ok "10 run" wait_until 20 sh -c "[ \$(pgrep -fc 'sleep 30[0] # t0808c-$$') = 10 ]"
kill -9 "${OVERLAY_PIDS[0]}"
_wait_gone "${OVERLAY_PIDS[0]}" 10
fusermount3 -uz "$T/m0" 2>/dev/null
# while the leader is away, a follower's tree answers reads from its
# replica and refuses writes with EAGAIN, never hanging
r1=$(head -1 running.ids)
ok "a follower still lists the jobs" timeout 5 test -d "$T/m5/jobs/$r1"
like "$(timeout 5 cat "$T/m5/jobs/$r1/state")" '^(RUN|CLEANUP|INACTIVE)$' "and reads their state"
sleep 1   # a beat or two: the leader's loss reaches rank 5 through rank 2
out=$(timeout 10 cp one.yaml "$T/m5/queue/" 2>&1)
like "$out" "Resource temporarily unavailable" "a submission there fails with EAGAIN"
out=$(timeout 10 python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.write(fd, b"cancel\n")
except OSError as e:
    print("write:", e.strerror)
os.close(fd)' "$T/m5/jobs/$r1/ctl" 2>&1)
like "$out" "Resource temporarily unavailable" "and so does a ctl write"
overlay_start_rank 0 || bail_out "cannot restart the leader"
overlay_wait_up 30
n=0; for id in $(cat running.ids queued.ids); do [ -d "$MNT/jobs/$id" ] && n=$((n + 1)); done
is "$n" 110 "every accepted job is still there"
is "$(for id in $(cat running.ids); do timeout 20 cat "$MNT/jobs/$id/wait" | cut -d' ' -f1; done | sort -u)" LOST \
	"the running ones ended LOST"
like "$(jobfile "$(head -1 running.ids)" eventlog)" '"type":"lost".*broker restarted while the job was running' \
	"with an exception that says why"
ok "their tasks are killed on the followers" wait_until 20 sh -c "! pgrep -f 'sleep 30[0] # t0808c-$$' >/dev/null"
is "$(for id in $(cat queued.ids); do timeout 60 cat "$MNT/jobs/$id/wait"; done | sort | uniq -c | awk '{print $1, $2, $3}')" \
	"100 COMPLETED 0" "the 100 queued ones all run"
