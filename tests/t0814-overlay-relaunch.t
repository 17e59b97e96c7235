#!/bin/bash
# A launch lost with an interior broker is sent again (doc/overlay.md
# "Running jobs across nodes"): the leader sends a job's launch down the
# tree; if the broker it passes through dies before passing it on, the
# nodes below rejoin through a new parent without it. The leader, which
# never heard from them about the job, sends it again at their rejoin,
# and the job runs whole instead of failing (137). A node that did get the
# first launch, but whose confirmation was lost, answers the second as a
# duplicate: nothing starts twice.
. "$(dirname "$0")/lib.sh"
plan 12

# (a stopped broker is taken for lost after 5 s: part 1 submits and sees
# its job run well within that; a killed one at once)
OVERLAY_HB='"heartbeat": {"period": 0.5, "timeout": 5},'
# ranks: 0 > 1, 2; 1 > 3, 4; 2 > 5, 6. The leader drops every
# exec.started (fault injection): only a job's output or end tells it
# that a node got its launch, so a node whose link is lost while its
# tasks run is one it has not heard from
overlay_start 7 2 || bail_out "cannot start 7 brokers"
kill "${OVERLAY_PIDS[0]}"
wait_until 10 sh -c "! kill -0 ${OVERLAY_PIDS[0]} 2>/dev/null"
fusermount3 -uz "$T/m0" 2>/dev/null
FLUXFS_FAULT_DROP=exec.started overlay_start_rank 0 || bail_out "cannot restart rank 0"
overlay_wait_up 30 || bail_out "the brokers did not join"

# job on two nodes, whose tasks are tagged; NODES a hostlist
mkjob_on() {    # mkjob_on CMD NODES
	mkjob_nodes "$1" 2 1 120
	printf '    constraints: {hostlist: ["%s"]}\n' "$2"
}

# 1. rank 1 is stopped: the launch for n3 and n4 waits in its socket,
# and dies with it
kill -STOP "${OVERLAY_PIDS[1]}"
mkjob_on "sleep 1; echo done-\$FLUX_TASK_RANK # t0814a-$$" "n[3-4]" > a.yaml
A=$(submit a.yaml) || bail_out "cannot submit A"
wait_state "$A" RUN 10 || bail_out "A does not run"
like "$(cat "$MNT/jobs/$A/R")" '"nodelist":\["n\[3-4\]"\]' "A runs on n3 and n4, below rank 1"
sleep 0.3   # the launch is on its way to rank 1, which does not read it
kill -9 "${OVERLAY_PIDS[1]}"
ok "n3 and n4 rejoin through rank 0" wait_until 15 sh -c "grep -q 'joined parent rank 0' '$T/log3' && grep -q 'joined parent rank 0' '$T/log4'"
is "$(wait_job "$A" 30)" "COMPLETED 0" "A runs to its end"
is "$(sort "$MNT/jobs/$A/stdout" | tr '\n' ' ')" "done-0 done-1 " "on both nodes, once each"
like "$(cat "$T/log0")" "rank 3 rejoined without confirming the start of job" "the leader sent n3's launch again"
like "$(cat "$T/log0")" "rank 4 rejoined without confirming the start of job" "and n4's"
nok "no exec exception" grep -q '"type":"exec"' "$MNT/jobs/$A/eventlog"

# 2. the launch arrives and the tasks run, but the node's word never
# reaches the leader before rank 2 dies: the launch sent again at the
# rejoin is a duplicate, and the tasks are not started twice. They wait
# for a file made once n5 and n6 have rejoined: what they print then has
# a route to the leader (and is the first word it hears from them)
mkjob_on "while [ ! -e '$T/go' ]; do sleep 0.1; done; echo done-\$FLUX_TASK_RANK # t0814b-$$" "n[5-6]" > b.yaml
B=$(submit b.yaml) || bail_out "cannot submit B"
wait_until 15 sh -c "[ \$(pgrep -fc 't081[4]b-$$') -ge 2 ]" || bail_out "B's tasks do not both run"
kill -9 "${OVERLAY_PIDS[2]}"
ok "n5 and n6 rejoin through rank 0" wait_until 15 sh -c "grep -q 'joined parent rank 0' '$T/log5' && grep -q 'joined parent rank 0' '$T/log6'"
ok "n5 answered the second launch as a duplicate" wait_until 10 grep -q "its launch came again; it started here already" "$T/log5"
touch "$T/go"
is "$(wait_job "$B" 30)" "COMPLETED 0" "B runs to its end"
is "$(sort "$MNT/jobs/$B/stdout" | tr '\n' ' ')" "done-0 done-1 " "its tasks ran once each"
is "$(pgrep -fc "t081[4]b-$$")" 0 "nothing of B is left running"
