#!/bin/bash
# A multi-node instance on this machine (doc/overlay.md): 8 brokers in a
# tree of fanout 2 (3 levels), each with a one-node R. Nodes join with their
# resources; a job's tasks run under the brokers of its nodes; cancel and a
# lost broker reach them; hostile messages crash nobody.
. "$(dirname "$0")/lib.sh"
plan 54

NNG_SEND=$(dirname "$FLUXFSD")/../tests/nng-send
overlay_start 8 2 || bail_out "cannot start 8 brokers"
ok "all 8 brokers join (status shows them up)" overlay_wait_up 30 ||
	diag "$(grep overlay "$MNT/status")"
is "$(sed -n 's/^overlay\.7: .* parent=\([0-9]*\) .*/\1/p' "$MNT/status")" 3 "rank 7's parent is 3 (k-ary tree, k=2)"
is "$(sed -n 's/^overlay\.1: .* children=\(.*\)/\1/p' "$MNT/status")" "3,4" "rank 1's children are 3 and 4"
is "$(python3 -c 'import json,sys; o=json.load(open(sys.argv[1]))["overlay"]; print(o["size"], o["fanout"], len(o["ranks"]))' "$MNT/status.json")" \
	"8 2 8" "status.json has the overlay"
is "$(status_field nodes) $(status_field cores)" "8 16" "the leader's graph is the union: 8 nodes, 16 cores"
is "$(cat "$MNT/resources/cluster0/n5/state")" "node up" "a joined node is up in resources/"
is "$(grep -c '^overlay-rank: 5$' "$T/m5/status")" 1 "a follower's tree says its rank"

# a 4-node job: one task per node, each under its node's broker
mkjob_nodes 'echo "task $FLUX_TASK_RANK of $FLUX_JOB_SIZE on node $FLUX_TASK_NODEID/$FLUX_JOB_NNODES under $FLUXFS_MOUNT"; exit $((FLUX_TASK_RANK + 3))' 4 > four.yaml
id=$(submit four.yaml) || bail_out "cannot submit"
is "$(wait_job "$id" 30)" "FAILED 6" "its exit status is the largest of its tasks' (3+3)"
out=$(jobfile "$id" stdout)
is "$(grep -c '^task [0-3] of 4 on node [0-3]/4 under ' <<<"$out")" 4 "every task's line is in stdout"
is "$(sed 's/.* under //' <<<"$out" | sort -u | wc -l)" 4 "the 4 tasks ran under 4 different brokers (FLUXFS_MOUNT)"
like "$(sed 's/.* under //' <<<"$out" | sort | tr '\n' ' ')" "^$T/m0 " "one of them the leader's"
is "$(event_names "$id" | grep -o 'start.*finish' | tr ' ' '\n' | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }')" \
	"finish=1 node-finish=4 node-start=4 start=1 " "its eventlog has each node's start and finish, between start and finish"

# -l, --label-io: every line after its task's rank, from every node
FLUXFS=$(dirname "$FLUXFSD")/../tools/fluxfs
lid=$("$FLUXFS" -m "$MNT" submit -l -N 4 sh -c 'echo one; printf two')
is "$(wait_job "$lid" 30) $(jobfile "$lid" stdout | sort | tr '\n' ' ')" \
	"COMPLETED 0 0: one 0: two 1: one 1: two 2: one 2: two 3: one 3: two " \
	"submit -l -N 4: each line stored after its rank, a last line ended"
# a follower's task output is bytes, not text: every byte value, more than
# one 256 KiB chunk, arrives as written (binary frames, doc/overlay.md)
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 1200 + b"\0\n#bye\n")' > "$T/blob"
bid=$("$FLUXFS" -m "$MNT" submit -N 2 sh -c "[ \$FLUX_TASK_RANK = 1 ] && cat '$T/blob'; true")
is "$(wait_job "$bid" 30)" "COMPLETED 0" "a task on a follower writes 300 KiB of every byte value"
ok "its stdout is those bytes exactly" cmp -s "$T/blob" "$MNT/jobs/$bid/stdout"

# all 8 nodes, output through every level of the tree
mkjob_nodes 'echo "$FLUX_TASK_RANK $FLUXFS_MOUNT"' 8 > eight.yaml
exec_sent() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["overlay"]["exec_sent"])' "$T/m$1/status.json"; }
sent0=$(exec_sent 0) sent1=$(exec_sent 1) sent3=$(exec_sent 3)
id=$(submit eight.yaml)
is "$(wait_job "$id" 30)" "COMPLETED 0" "an 8-node job completes"
is "$(jobfile "$id" stdout | sort -n | awk '{ sub(".*/m", "", $2); printf "%s=%s ", $1, $2 }')" \
	"0=0 1=1 2=2 3=3 4=4 5=5 6=6 7=7 " "task r ran on node r, down to depth 3"
is "$(($(exec_sent 0) - sent0)) $(($(exec_sent 1) - sent1)) $(($(exec_sent 3) - sent3))" "2 2 1" \
	"its launch went down the tree: the leader sent 2 messages, rank 1 two, rank 3 one"

# cancel reaches every node
mkjob_nodes "sleep 300 # t0800-$$" 4 > long.yaml
id=$(submit long.yaml)
wait_state "$id" RUN 20
# [0]: the pattern must not match the shell that runs pgrep
ok "the 4-node job's tasks run" wait_until 10 sh -c "[ \$(pgrep -fc 'sleep 30[0] # t0800-$$') -ge 4 ]"
echo cancel > "$MNT/jobs/$id/ctl"
is "$(wait_job "$id" 30)" "CANCELED" "cancel ends it"
ok "and kills its tasks under all 4 brokers" wait_until 10 sh -c "! pgrep -f 'sleep 30[0] # t0800-$$' >/dev/null"

# submitting on a follower's tree: the leader takes it, durable before cp returns
ok "cp into rank 5's queue/ succeeds" timeout 10 cp eight.yaml "$T/m5/queue/f.yaml"
fid=$(ls -t "$MNT/jobs" | head -1)
is "$(timeout 30 cat "$MNT/jobs/$fid/wait")" "COMPLETED 0" "the job is on the leader's tree and runs"
nid=$(timeout 10 bash -c 'exec 3<>"$1/queue/new"; cat "$2" >&3; read -r id <&3; echo "$id"' _ "$T/m7" eight.yaml)
is "$(timeout 30 cat "$MNT/jobs/$nid/wait" 2>&1)" "COMPLETED 0" "queue/new on rank 7 gives the id of a job the leader runs"
echo 'not: [a jobspec' > bad.yaml
nok "an invalid jobspec fails cp on a follower" cp bad.yaml "$T/m5/queue/bad.yaml" 2>/dev/null
like "$(tail -1 "$T/m5/queue/errors")" "bad\.yaml: EINVAL: " "with the leader's reason in the follower's queue/errors"
# 64 KiB or more: the leader parses it off its loop, and answers the same
python3 - <<'PY'
import json
def spec(i, n=1):
    return json.dumps({"version": 1, "resources": [{"type": "slot", "count": 1, "label": "t",
        "with": [{"type": "core", "count": 1}]}], "tasks": [{"command": ["true", str(i)],
        "slot": "t", "count": {"per_slot": n}}], "attributes": {"system": {"duration": 0,
        "cwd": "/", "environment": {"PAD": "x" * 200}}}}) + "\n"
open("bulk300.json", "w").write("".join(spec(i) for i in range(300)))
open("bulk300-bad.json", "w").write("".join(spec(i, 0 if i == 149 else 1) for i in range(300)))
PY
bids=$(timeout 60 bash -c 'exec 3<>"$1/queue/new"; cat "$2" >&3; cat <&3' _ "$T/m7" bulk300.json)
is "$(sort -u <<<"$bids" | wc -l)" 300 "a bulk of 300 ($(stat -c %s bulk300.json) bytes) through rank 7's queue/new: 300 ids"
is "$(timeout 30 cat "$MNT/jobs/$(tail -1 <<<"$bids")/wait" 2>&1)" "COMPLETED 0" "... the last one runs on the leader's instance"
nok "... and with job 150 invalid, cp on rank 5 fails" cp bulk300-bad.json "$T/m5/queue/b.json" 2>/dev/null
like "$(tail -1 "$T/m5/queue/errors")" "b\.json: EINVAL: job 150 of 300 \(line 150\): " "... the leader's reason names it"

# a lost broker: its node goes down, the job on it fails, the rest keep going
mkjob_nodes "sleep 300 # t0800-$$" 8 > all.yaml
id=$(submit all.yaml)
wait_state "$id" RUN 20
kill -9 "${OVERLAY_PIDS[7]}"
ok "killing rank 7 makes it lost" wait_until 10 sh -c "grep -q '^overlay.7: .* state=lost' '$MNT/status'"
like "$(wait_job "$id" 30)" "^(FAILED|CANCELED)" "a job on it ends" 
is "$(cat "$MNT/resources/cluster0/n7/state")" "node down" "its node is down"
is "$(status_field cores-free)" 14 "status counts no free cores on it (16 less its 2)"
FX=$(dirname "$FLUXFSD")/../tools/fluxfs
like "$("$FX" -m "$MNT" wait "$id" 2>&1)" "$id: ended by an exception: node-failure: node n7 was lost" \
	"fluxfs wait says why it ended (the exception)"
like "$("$FX" -m "$MNT" resource list)" "n7 +2 +[0-9]+ +0 +0  \[down\]" "fluxfs resource list marks it [down]"
like "$("$FX" -m "$MNT" status)" "brokers: +7 up, 0 joining, 1 lost, 0 refused" "fluxfs status counts the brokers by state"
like "$("$FX" -m "$T/m5" status)" "rank 5 of 8 brokers \(fanout 2\), up" "a follower's fluxfs status says where it is"
like "$("$FX" -m "$T/m5" run echo hi 2>&1)" "^hi$" "fluxfs run on a follower's tree runs the job and prints its output"
like "$("$FX" -m "$T/m5" submit true 2>&1)" "^f" "fluxfs submit on a follower's tree works"

# rank 3 dies: its child, rank 7, is adopted by rank 3's parent (rank 1)
# and stays up (doc/overlay.md "Joining and losing")
fusermount3 -uz "$T/m7" 2>/dev/null
overlay_start_rank 7 || bail_out "cannot restart rank 7"
overlay_wait_up 30 || bail_out "rank 7 did not rejoin"
kill -9 "${OVERLAY_PIDS[3]}"
wait_until 10 sh -c "grep -q '^overlay.3: .* state=lost' '$MNT/status'"
ok "rank 3's child is adopted by its parent" wait_until 10 grep -q "joined parent rank 1" "$T/log7"
is "$(overlay_state 7)" up "and stays up"

# hostile input: a broker whose listener nobody dials (rank 7 of a copy of
# the bootstrap file on other ports); anyone may dial it (insecure), but
# nothing it sends before a hello counts, and garbage crashes nobody
OVERLAY_PORT=$((OVERLAY_PORT + 50)) overlay_write_boot 8 2 "" > "$T/lone.json"
mkdir -p "$T/s-lone" "$T/m-lone"
"$FLUXFSD" -f --bootstrap "$T/lone.json" --rank 7 -s "$T/s-lone" -r "$T/r7.json" "$T/m-lone" \
	>>"$T/log-lone" 2>&1 &
_all_pids+=($!)
lone=$!
wait_until 10 is_mounted "$T/m-lone" || bail_out "the lone broker did not mount"
port7=$((OVERLAY_PORT + 57))
"$NNG_SEND" "tcp://127.0.0.1:$port7" 'not json' '{"type":"exec.start","from":0,"to":7,"id":1}' \
	'{"type":"hello","v":99,"name":"fluxfs","you":7,"from":3,"to":7}' '{"x":' \
	"$(head -c 100000 /dev/zero | tr '\0' 'x')" >/dev/null 2>&1
ok "a broker survives malformed and unexpected messages" kill -0 "$lone"
like "$(cat "$T/log-lone")" "refusing parent \(rank 3\): protocol version 99" "a hello of another version is refused and logged"
"$NNG_SEND" "tcp://127.0.0.1:$port7" '{"type":"hello","v":1,"name":"other","you":7,"from":3,"to":7}' >/dev/null 2>&1
like "$(cat "$T/log-lone")" "refusing parent \(rank 3\): instance 'other', not 'fluxfs'" "so is one of another instance"
kill "$lone"
wait_until 10 sh -c "! kill -0 $lone 2>/dev/null"
fusermount3 -uz "$T/m3" 2>/dev/null
overlay_start_rank 3 || bail_out "cannot restart rank 3"
ok "ranks 3 and 7 rejoin" overlay_wait_up 30
id=$(submit eight.yaml)
is "$(wait_job "$id" 30)" "COMPLETED 0" "an 8-node job runs again"

# rank 3 dies under a job on all 8 nodes: the job fails (node-failure),
# rank 7 (rank 1's now) stays up, and its task ends with the job
mkjob_nodes "sleep 300 # t0800b-$$" 8 > cut.yaml
id=$(submit cut.yaml)
wait_state "$id" RUN 20
ok "the 8 tasks run" wait_until 10 sh -c "[ \$(pgrep -fc 'sleep 30[0] # t0800b-$$') -ge 8 ]"
kill -9 "${OVERLAY_PIDS[3]}"
like "$(wait_job "$id" 30)" "^(FAILED|CANCELED)" "losing rank 3 fails the job"
is "$(overlay_state 7)" up "rank 7 is still up"
ok "the job's tasks are gone from every node left" \
	wait_until 15 sh -c "! pgrep -f 'sleep 30[0] # t0800b-$$' >/dev/null"
fusermount3 -uz "$T/m3" 2>/dev/null
overlay_start_rank 3 || bail_out "cannot restart rank 3"
ok "rank 3 rejoins" overlay_wait_up 30

# the leader restarts: the followers join it again, and the nodes it knew
# keep their resources meanwhile, so a job that needs all 8 waits, not fails
fusermount3 -u "$T/m0"
_wait_gone "${OVERLAY_PIDS[0]}" 10
overlay_start_rank 0 || bail_out "cannot restart the leader"
is "$(status_field cores)" 16 "a restarted leader knows every node's cores before they rejoin"
id=$(submit eight.yaml)
is "$(wait_job "$id" 40)" "COMPLETED 0" "an 8-node job submitted meanwhile runs once they have"
