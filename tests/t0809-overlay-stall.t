#!/bin/bash
# A stalled interior broker (SIGSTOP past the heartbeat timeout: its
# process is gone for its peers, its connections stay up) is lost as a
# dead one is: only its own node. Its children let go of it and are
# adopted by its parent (doc/overlay.md "Joining and losing"); their jobs
# run on. Resumed, it rejoins and its former children stay where they are.
# A leaf stopped for less than half the timeout loses nothing.
. "$(dirname "$0")/lib.sh"
plan 12

OVERLAY_HB='"heartbeat": {"period": 0.5, "timeout": 2.5},'
overlay_start 8 2 || bail_out "cannot start 8 brokers"
overlay_wait_up 30 || bail_out "the brokers did not join"
# ranks: 0 > 1, 2; 1 > 3, 4; 2 > 5, 6; 3 > 7

# a leaf stopped briefly: nothing happens
mkjob_nodes "sleep 4; echo leaf-ok # t0809l-$$" 1 1 600 > leaf.yaml
L=$(submit leaf.yaml)
wait_state "$L" RUN 20 || bail_out "the leaf job does not run"
kill -STOP "${OVERLAY_PIDS[6]}"; sleep 1; kill -CONT "${OVERLAY_PIDS[6]}"
is "$(timeout 20 cat "$MNT/jobs/$L/wait")" "COMPLETED 0" "a leaf stopped for 1 s (< half the 2.5 s timeout): its jobs are not failed"
nok "... and it was never taken for lost" grep -q "rank 6 (n6) lost" "$T/log0"

# B runs on n4-n7: n4 and n7 are below rank 1
mkjob_nodes "sleep 300 # t0809a-$$" 4 2 600 > a.yaml
A=$(submit a.yaml)
wait_state "$A" RUN 20 || bail_out "A does not run"
mkjob_nodes "sleep 8; echo done-\$FLUX_TASK_RANK # t0809b-$$" 4 2 600 > b.yaml
B=$(submit b.yaml)
wait_state "$B" RUN 20 || bail_out "B does not run"
# RUN is the leader's word; each node starts its part when the launch
# reaches it, through rank 1 for n4 and n7: wait for all four tasks, or a
# loaded machine kills rank 1 first and n4's part never starts (137)
wait_until 20 sh -c "[ \$(pgrep -fc 't080[9]b-$$') -ge 4 ]" || bail_out "B's 4 tasks do not all run"

kill -STOP "${OVERLAY_PIDS[1]}"
at_cleanup sh -c "kill -CONT ${OVERLAY_PIDS[1]} 2>/dev/null; true"
ok "rank 1's node goes down while it is stopped" wait_until 10 grep -qx "node down" "$MNT/resources/cluster0/n1/state"
like "$(timeout 20 "$(dirname "$FLUXFSD")/../tools/fluxfs" -m "$MNT" wait "$A" 2>&1)" \
	"node-failure" "the job on its node fails with node-failure"
ok "its children let go of it and join rank 0" \
	wait_until 15 sh -c "grep -q 'joined parent rank 0' '$T/log3' && grep -q 'joined parent rank 0' '$T/log4'"
is "$(overlay_state 3) $(overlay_state 4) $(overlay_state 7)" "up up up" "they and rank 7 below them stay up"
nok "the leader never took them for lost" grep -Eq "rank [347] \(n[347]\) lost" "$T/log0"
is "$(timeout 30 cat "$MNT/jobs/$B/wait")" "COMPLETED 0" "the job on nodes below rank 1 runs to its end"
is "$(sort "$MNT/jobs/$B/stdout" | tr '\n' ' ')" "done-0 done-1 done-2 done-3 " "with all its output"

kill -CONT "${OVERLAY_PIDS[1]}"
ok "resumed, rank 1 rejoins and its node is up" wait_until 20 grep -qx "node up" "$MNT/resources/cluster0/n1/state"
like "$(grep '^overlay\.[034]:' "$MNT/status" | tr '\n' ' ')" \
	"overlay.0: .*children=1,2,3,4 .*overlay.3: .*parent=0 .*overlay.4: .*parent=0 " \
	"its former children stay with rank 0"
mkjob_nodes 'echo ok' 8 > all.yaml
W=$(submit all.yaml)
is "$(wait_job "$W" 30)" "COMPLETED 0" "an 8-node job runs across the re-parented tree"
