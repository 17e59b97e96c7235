#!/bin/bash
# One tree on every node (doc/overlay.md "Replication"): every follower
# keeps a copy of the leader's jobs, so jobs/, wait, tail, ctl and inotify
# behave on a follower's mount as on the leader's. 8 brokers, fanout 2.
. "$(dirname "$0")/lib.sh"
plan 51

NNG_SEND=$(dirname "$FLUXFSD")/../tests/nng-send
FX=$(dirname "$FLUXFSD")/../tools/fluxfs
overlay_start 8 2 || bail_out "cannot start 8 brokers"
overlay_wait_up 30 || bail_out "the brokers did not join"
replica_field() { awk -F': ' -v k="replica-$2" '$1 == k { print $2 }' "$T/m$1/status"; }
jobs_of() { ls "$T/m$1/jobs" | sort | tr '\n' ' '; }
ok "every follower's replica is synced" wait_until 10 sh -c \
	"for i in 1 2 3 4 5 6 7; do grep -q '^replica-state: synced' $T/m\$i/status || exit 1; done"

# cp on rank 5; at once visible, by id, on rank 0 and rank 7
mkjob_nodes 'echo "out of $FLUX_TASK_RANK"' 2 > two.yaml
id=$(timeout 10 bash -c 'exec 3<>"$1/queue/new"; cat "$2" >&3; read -r id <&3; echo "$id"' _ "$T/m5" two.yaml)
like "$id" "^f" "queue/new on rank 5 gives the job's id"
is "$(cat "$T/m5/jobs/$id/jobspec" | head -1)" "version: 1" "the submitting follower shows the job when the read of its id returns"
ok "rank 7 finds it at once by its id (read barrier)" test -d "$T/m7/jobs/$id"
is "$(timeout 20 cat "$T/m7/jobs/$id/wait")" "COMPLETED 0" "wait on rank 7 returns its result"
is "$(timeout 20 cat "$T/m0/jobs/$id/wait")" "COMPLETED 0" "so does wait on the leader"
is "$(sort "$T/m7/jobs/$id/stdout" | tr '\n' ' ')" "out of 0 out of 1 " "rank 7 shows its stdout"
ok "its eventlog on rank 3 is the leader's, byte for byte" cmp "$T/m0/jobs/$id/eventlog" "$T/m3/jobs/$id/eventlog"
ok "so is its R on rank 6" cmp "$T/m0/jobs/$id/R" "$T/m6/jobs/$id/R"
ok "cp on rank 2 returns 0" timeout 10 cp two.yaml "$T/m2/queue/c.yaml"
is "$(jobs_of 6)" "$(jobs_of 0)" "ls on rank 6 right after lists what the leader lists (a barrier at opendir)"
ok "cp on rank 4 returns 0" timeout 10 cp two.yaml "$T/m4/queue/d.yaml"
is "$(jobs_of 1)" "$(jobs_of 0)" "so does ls on rank 1, a child of the leader"
is "$(jobs_of 2)" "$(jobs_of 0)" "and rank 2 lists what the leader lists when it returns"
nok "a job id nobody has is not found on a follower" test -e "$T/m4/jobs/f2222222222"

# inotify on a follower: a job submitted anywhere appears in its jobs/
inotifywait -q -m -e create -e moved_to --format '%f' "$T/m6/jobs" > inot.out 2>/dev/null &
IPID=$!
_all_pids+=("$IPID")
sleep 0.5
nid=$(timeout 10 bash -c 'exec 3<>"$1/queue/new"; cat "$2" >&3; read -r id <&3; echo "$id"' _ "$T/m1" two.yaml)
ok "inotifywait on rank 6 sees a job submitted on rank 1" wait_until 10 grep -qx "$nid" inot.out
kill "$IPID" 2>/dev/null

# a reader on a follower sees states in order, never going back
mkjob_nodes 'sleep 1' 1 > one.yaml
sid=$(timeout 10 bash -c 'exec 3<>"$1/queue/new"; cat "$2" >&3; read -r id <&3; echo "$id"' _ "$T/m4" one.yaml)
python3 - "$T/m7/jobs/$sid" > states.out <<'EOF'
import sys, time
order = ["NEW", "DEPEND", "PRIORITY", "SCHED", "RUN", "CLEANUP", "INACTIVE"]
seen, t0 = [], time.time()
while time.time() - t0 < 20:
    s = open(sys.argv[1] + "/state").read().strip()
    if not seen or seen[-1] != s:
        seen.append(s)
    if s == "INACTIVE":
        break
    time.sleep(0.005)
idx = [order.index(s) for s in seen]
print("ordered" if idx == sorted(idx) and seen[-1] == "INACTIVE" else "not: " + " ".join(seen))
EOF
is "$(cat states.out)" "ordered" "states read on rank 7 go forward only, up to INACTIVE"

# ctl on a follower: the leader applies it with the opener's authority
mkjob_nodes 'exec sleep 301' 4 > four.yaml
lid=$(timeout 10 bash -c 'exec 3<>"$1/queue/new"; cat "$2" >&3; read -r id <&3; echo "$id"' _ "$T/m6" four.yaml)
wait_until 10 grep -qx RUN "$T/m6/jobs/$lid/state"
four_run() { [ "$(pgrep -fc '^sleep 301$')" = 4 ]; }
ok "a 4-node job runs 4 tasks" wait_until 10 four_run
nok "a bad ctl verb on a follower fails the write" sh -c "echo bogus > '$T/m6/jobs/$lid/ctl'" 2>/dev/null
like "$(tail -1 "$T/m6/queue/errors")" "jobs/$lid/ctl: EINVAL: unknown control 'bogus'" "with the leader's reason in the follower's queue/errors"
nok "another user may not cancel it from a follower" \
	setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo cancel > '$T/m6/jobs/$lid/ctl'" 2>/dev/null
is "$(cat "$T/m6/jobs/$lid/state")" RUN "it still runs"
ok "cancel written on rank 6 succeeds" sh -c "echo cancel > '$T/m6/jobs/$lid/ctl'"
like "$(timeout 20 cat "$T/m2/jobs/$lid/wait")" "^CANCELED" "wait on rank 2 says it was canceled"
ok "its tasks are gone on all 4 brokers" wait_until 10 sh -c "! pgrep -f '^sleep 301\$' >/dev/null"
like "$("$FX" -m "$T/m5" run echo hello 2>&1)" "^hello$" "fluxfs run on a follower's tree runs and prints"
# resources/ctl on a follower: the leader applies it
ok "drain written to rank 4's resources/ctl succeeds" sh -c "echo 'drain n3' > '$T/m4/resources/ctl'"
is "$(cat "$T/m0/resources/cluster0/n3/state")" "node drained" "the leader drained the node"
nok "another user may not drain from a follower" \
	setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo 'drain n2' > '$T/m4/resources/ctl'" 2>/dev/null
echo 'up n3' > "$T/m4/resources/ctl"
is "$(cat "$T/m0/resources/cluster0/n3/state")" "node up" "up written on a follower undrains it"
# nested instances are made from a tree of the job's own nodes (t0805), and
# another node says so
mkjob_nodes 'exec sleep 302' 1 > nest.yaml
nid2=$(timeout 10 bash -c 'exec 3<>"$1/queue/new"; cat "$2" >&3; read -r id <&3; echo "$id"' _ "$T/m3" nest.yaml)
wait_until 10 grep -qx RUN "$T/m3/jobs/$nid2/state"
nok "mkdir of a nested instance on a follower fails" mkdir "$T/m3/jobs/$nid2/sub" 2>/dev/null
like "$(tail -1 "$T/m3/queue/errors")" "ENXIO: job $nid2 runs on n0: its nested instances are made from the tree of one of its nodes" \
	"with a reason naming the job's node"
echo cancel > "$T/m3/jobs/$nid2/ctl"
like "$("$FX" -m "$T/m5" jobs -a 2>&1 | wc -l)" "^[6-9]$" "fluxfs jobs on a follower's tree lists the jobs"
like "$("$FX" -m "$T/m5" status)" "replica: +synced at commit [0-9]+" "fluxfs status on a follower shows its replica"
is "$("$FX" -m "$T/m5" resource list)" "$("$FX" -m "$T/m0" resource list)" \
	"fluxfs resource list on a follower lists the instance, as on the leader"

# a follower restarted on its state: what it had is there at once, and
# what it missed comes from its parent's recent commits, not a new copy
kill "${OVERLAY_PIDS[7]}"
wait_until 10 sh -c "! kill -0 ${OVERLAY_PIDS[7]} 2>/dev/null"
fusermount3 -uz "$T/m7" 2>/dev/null
cp two.yaml "$T/m0/queue/while-away.yaml"
copies=$(grep -c 'copying our replica to rank 7' "$T/log3")
overlay_start_rank 7 || bail_out "cannot restart rank 7"
ok "a restarted follower shows its jobs before it has joined" test -d "$T/m7/jobs/$id"
ok "it joins and its replica is synced again" wait_until 20 sh -c "grep -q '^replica-state: synced' '$T/m7/status'"
is "$(jobs_of 7)" "$(jobs_of 0)" "it lists what the leader lists, the job submitted while it was away too"
is "$(grep -c 'copying our replica to rank 7' "$T/log3")" "$copies" "it caught up from rank 3's recent commits (no copy)"

# the leader restarts on its state: followers keep their replicas and
# catch up with what its recovery changed
lid2=$(timeout 10 bash -c 'exec 3<>"$1/queue/new"; cat "$2" >&3; read -r id <&3; echo "$id"' _ "$T/m0" four.yaml)
wait_until 10 grep -qx RUN "$T/m0/jobs/$lid2/state"
# at once: its last commits may not have gone down yet (they go in batches
# of 2 ms), but they are kept with them in its store
kill -9 "${OVERLAY_PIDS[0]}"
wait_until 10 sh -c "! kill -0 ${OVERLAY_PIDS[0]} 2>/dev/null"
fusermount3 -uz "$T/m0" 2>/dev/null
is "$(cat "$T/m4/jobs/$lid2/state")" RUN "with the leader down, a follower still answers from its replica"
overlay_start_rank 0 || bail_out "cannot restart the leader"
overlay_wait_up 30
like "$(timeout 20 cat "$T/m5/jobs/$lid2/wait")" "^LOST" "the job the restart lost ends LOST on a follower's tree too"
wait_until 10 sh -c "[ \"\$(ls $T/m6/jobs | wc -l)\" = \"\$(ls $T/m0/jobs | wc -l)\" ]"
is "$(jobs_of 6)" "$(jobs_of 0)" "after a leader restart every job is still listed on a follower"
is "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["overlay"]["replica"]["copies_served"])' "$T/m0/status.json")" 0 \
	"the restarted leader sent no copies: its children caught up from its recent commits"
pkill -f '^sleep 301$'

nok "no broker dropped a replica message it should have taken" grep -h "replica: dropped 'repl" "$T"/log[0-7]

# hostile input: a fake parent's malformed replica messages crash nobody
# (rank 1, which would adopt rank 3's child at once, is held meanwhile)
kill -STOP "${OVERLAY_PIDS[1]}"
kill -9 "${OVERLAY_PIDS[3]}"
wait_until 10 grep -q "lost the link to parent rank 3" "$T/log7"
port7=$((OVERLAY_PORT + 7))
"$NNG_SEND" "tcp://127.0.0.1:$port7" '{"type":"hello","v":1,"name":"fluxfs","you":7,"from":3,"to":7}' \
	'{"type":"repl.data","kind":"c","gen":1,"seq":1,"data":"!!notbase64","from":3,"to":7}' \
	'{"type":"repl.reset","gen":5,"seq":0,"from":3,"to":7}' \
	'{"type":"repl.data","kind":"d","gen":5,"seq":0,"data":"UAD/////","from":3,"to":7}' \
	'{"type":"repl.data","kind":"c","gen":5,"seq":1,"data":"WAEAAA==","more":false,"from":3,"to":7}' \
	'{"type":"repl.data","kind":"x","from":3,"to":7}' '{"type":"repl.synced","gen":9,"seq":9,"from":3,"to":7}' \
	>/dev/null 2>&1
sleep 0.5
kill -CONT "${OVERLAY_PIDS[1]}"
ok "rank 7 survives malformed replica messages" kill -0 "${OVERLAY_PIDS[7]}"
like "$(cat "$T/log7")" "replica: (malformed journal ops|a repl.data that is not base64)" "and says what it dropped"
fusermount3 -uz "$T/m3" 2>/dev/null
overlay_start_rank 3 || bail_out "cannot restart rank 3"
ok "with a real parent back (rank 1 adopts it), rank 7 is synced again" wait_until 20 sh -c "grep -q '^replica-state: synced' '$T/m7/status'"
wait_until 10 sh -c "[ \"\$(ls $T/m7/jobs | wc -l)\" = \"\$(ls $T/m0/jobs | wc -l)\" ]"
is "$(jobs_of 7)" "$(jobs_of 0)" "and lists the leader's jobs again (a new copy)"

# a follower too far behind to know says "not yet" (EAGAIN), not "no such
# job": rank 1 (rank 7's way up, through rank 3) stops for about 2 s, under the
# heartbeat timeout, while a job is submitted on the leader
kill -STOP "${OVERLAY_PIDS[1]}"
at_cleanup kill -CONT "${OVERLAY_PIDS[1]}"
mkjob 'true' > one.yaml
late=$(submit one.yaml)
out=$(python3 -c 'import os, sys
try:
    os.stat(sys.argv[1]); print("found")
except OSError as e:
    print(e.strerror)' "$T/m7/jobs/$late" 2>&1)
kill -CONT "${OVERLAY_PIDS[1]}"
is "$out" "Resource temporarily unavailable" "a lookup on a follower that cannot catch up in 2 s fails with EAGAIN"
ok "once it has, the job is there" wait_until 10 test -d "$T/m7/jobs/$late"
nok "an id the leader never made is still ENOENT" test -e "$T/m7/jobs/f111111111"
