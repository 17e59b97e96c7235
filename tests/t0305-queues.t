#!/bin/bash
# Named queues (issue 18, doc/tree.md "queue/NAME/"): root makes one with
# mkdir, configures it through queue/NAME/config, starts, stops, enables
# and disables it through ctl; jobs reach it by cp into queue/NAME/, by
# attributes.system.queue (fluxfs submit -q) or as the default queue; its
# nodes, limits and priority hold, and all of it survives a restart.
. "$(dirname "$0")/lib.sh"
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
plan 74
fx() { timeout 60 "$FLUXFS" -m "$MNT" "$@"; }
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
fxn() { nobody timeout 60 "$FLUXFS" -m "$MNT" "$@"; }
lasterr() { tail -1 "$MNT/queue/errors"; }
nodes_of() { python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["execution"]["nodelist"]))' "$MNT/jobs/$1/R"; }
Q=$MNT/queue

ok "daemon mounts a 4-node x 2-core cluster" fluxfs_start --resources "$FIXTURES/R-4n2c.json"
chmod 755 "$T"
mkjob 'true' > job.yaml
chmod 644 job.yaml

ok "root makes queue/debug with mkdir" mkdir "$Q/debug"
ok "... and the log warns that jobs naming no queue are refused from now on" \
	grep -q "queue 'debug' made, and no queue is the default" "$STATE/fluxfsd.log" "$DAEMON_LOG"
is "$(ls "$Q/debug" | tr '\n' ' ')" "config ctl status " "it holds config, ctl and status"
like "$(tr -d ' \n' < "$Q/debug/status")" '"config":\{\},"enabled":true,"name":"debug","pending":0,"running":0,"started":true' \
	"a new queue: all nodes, no limits, enabled and started"
nok "a user cannot make a queue" nobody mkdir "$Q/mine" 2>/dev/null
nok "nor name one after queue/'s own files" mkdir "$Q/new" 2>/dev/null
nok "nor one with a bad name" mkdir "$Q/bad name" 2>/dev/null

echo '{"nodes": "node[2-3]", "max-duration": 60, "max-nodes": 1, "max-pending-per-user": 2, "priority": 3}' > debug.json
ok "root writes its config" cp debug.json "$Q/debug/config"
like "$(tr -d ' \n' < "$Q/debug/config")" '"max-duration":60,"max-nodes":1,"max-pending-per-user":2,"nodes":"node\[2-3\]","priority":3' \
	"it reads back"
echo '{"max-nodez": 3}' > bad.json
nok "a config with an unknown key fails cp's close" cp bad.json "$Q/debug/config" 2>/dev/null
like "$(lasterr)" "config: EINVAL: .*max-nodez" "... naming the key in queue/errors"
nok "a user cannot write the config" nobody cp debug.json "$Q/debug/config" 2>/dev/null

ok "cp job.yaml queue/debug/ submits" cp job.yaml "$Q/debug/"
id=$(ls -t "$MNT/jobs" | head -1)
like "$(head -1 "$MNT/jobs/$id/eventlog")" '"name":"submit","context":\{.*"queue":"debug"' "its submit event names the queue"
is "$(timeout 20 cat "$MNT/jobs/$id/wait")" "COMPLETED 0" "it runs"
like "$(nodes_of "$id")" "^node[23]$" "on one of the queue's nodes"
is "$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["execution"]; print(round(e["expiration"] - e["starttime"]))' "$MNT/jobs/$id/R")" 60 \
	"a job without a time limit gets the queue's max-duration"
qid=$(fx submit -q debug -N 1 true)
is "$(timeout 20 cat "$MNT/jobs/$qid/wait") $(nodes_of "$qid")" "COMPLETED 0 $(nodes_of "$qid")" "fluxfs submit -q debug runs there too"
like "$(nodes_of "$qid")" "^node[23]$" "... on its nodes"

nok "an unknown queue is refused" fx submit -q nosuch true 2>/dev/null
like "$(lasterr)" "EINVAL: no queue 'nosuch' \(queues: debug\)" "... naming the queues there are"
nok "a job over max-duration is refused" fx submit -q debug -t 5m true 2>/dev/null
like "$(lasterr)" "duration 300s is over queue 'debug''s max-duration 60s" "... naming the limit"
nok "a job over max-nodes is refused" fx submit -q debug -N 2 true 2>/dev/null
like "$(lasterr)" "2 nodes is over queue 'debug''s max-nodes 1" "... naming the limit"
fx submit -q other --dry-run true > other.json
nok "a jobspec naming another queue than the directory it is copied into is refused" \
	cp other.json "$Q/debug/" 2>/dev/null
like "$(lasterr)" "asks for queue 'other' but was copied into queue/debug/" "... saying so"

# stop: its jobs wait in SCHED; max-pending-per-user counts them
echo stop > "$Q/debug/ctl"
a=$(fxn submit -q debug sleep 0) b=$(fxn submit -q debug sleep 0)
sleep 1
is "$(cat "$MNT/jobs/$a/state") $(cat "$MNT/jobs/$b/state")" "SCHED SCHED" "a stopped queue's jobs stay in SCHED"
nok "a third pending job of the user is refused (max-pending-per-user 2)" fxn submit -q debug true 2>/dev/null
like "$(nobody cat "$Q/errors" | tail -1)" "EDQUOT: queue 'debug''s max-pending-per-user is 2" "... naming the limit"
like "$(cat "$MNT/jobs/$a/priority")" '"waiting":"queue .debug. is stopped"' \
	"jobs/<id>/priority says what it waits for"
nok "with queues and none the default, a job naming none is refused" fx submit true 2>/dev/null
like "$(lasterr)" "EINVAL: no queue named and no default queue: name one .*queues: debug" "... saying what to do"
echo '{"nodes": "node[2-3]", "max-pending-per-user": 2}' > shrink.json
cp shrink.json "$Q/debug/config"
echo '{"nodes": "node9"}' > none.json
nok "a config whose nodes match none of ours is refused" cp none.json "$Q/debug/config" 2>/dev/null
like "$(lasterr)" "queue/debug/config: EINVAL: queue 'debug': its nodes and requires match no node" "... saying so"
c=$(fx submit -q debug -N 2 true)
echo '{"nodes": "node2"}' > strand.json
nok "a config under which a pending job could never run is refused" cp strand.json "$Q/debug/config" 2>/dev/null
like "$(lasterr)" "EBUSY: queue 'debug': pending job $c could never run on its new nodes" "... naming the job"
is "$(cat "$MNT/jobs/$c/state")" SCHED "and the job still waits, untouched"
fx cancel "$c" >/dev/null
echo ' ' >> "$Q/debug/config"
like "$(tr -d ' \n' < "$Q/debug/config")" '^\{"max-pending-per-user":2,"nodes":"node\[2-3\]"\}$' \
	">> appends to what is in force (stat gives its true size)"
echo "disable maintenance until 17:00" > "$Q/debug/ctl"
nok "a queue disabled with a reason takes no job" cp job.yaml "$Q/debug/x.yaml" 2>/dev/null
like "$(lasterr)" "EPERM: queue 'debug' is disabled: maintenance until 17:00" "... giving the reason"
like "$(tr -d '\n' < "$Q/debug/status")" '"reason": "maintenance until 17:00"' "status shows the reason"
nok "only disable takes a reason" sh -c "echo 'stop now' > '$Q/debug/ctl'" 2>/dev/null
echo disable > "$Q/debug/ctl"
nok "a disabled queue takes no job" cp job.yaml "$Q/debug/x.yaml" 2>/dev/null
like "$(lasterr)" "EPERM: queue 'debug' is disabled: it takes no new jobs" "... saying so"

# the queue and its state survive a restart; so does the jobs' queue
fluxfs_stop
ok "restart" fluxfs_start --resources "$FIXTURES/R-4n2c.json"
like "$(tr -d ' \n' < "$Q/debug/status")" '"enabled":false,"name":"debug","pending":2,"running":0,"started":false' \
	"queue/debug is still there, disabled and stopped, with its 2 jobs"
echo enable > "$Q/debug/ctl"; echo start > "$Q/debug/ctl"
is "$(timeout 20 cat "$MNT/jobs/$a/wait") $(timeout 20 cat "$MNT/jobs/$b/wait")" "COMPLETED 0 COMPLETED 0" \
	"started again, its jobs run"
like "$(nodes_of "$a") $(nodes_of "$b")" "^node[23] node[23]$" "... on its nodes still"

# max-running-per-user and the queue's priority factor; the default queue
echo '{"max-running-per-user": 1, "priority": 2, "default": true}' > two.json
cp two.json "$Q/debug/config"
s1=$(fxn submit sleep 2) s2=$(fxn submit sleep 2)
wait_state "$s1" RUN 10 >/dev/null
like "$(head -1 "$MNT/jobs/$s2/eventlog")" '"queue":"debug"' "a job naming no queue goes to the default one"
is "$(cat "$MNT/jobs/$s2/state")" SCHED "a user's second job waits (max-running-per-user 1) with cores free"
like "$(cat "$MNT/jobs/$s2/priority")" "\"waiting\":\"its user's max-running-per-user \(1\) in queue 'debug'\"" \
	"... and its priority file says why"
like "$(cat "$MNT/jobs/$s2/priority")" '^\{"priority":36[0-9]{3},.*"queue":2[.0]*,.*"queue":"debug"' \
	"its priority has the queue factor (2 x 10,000 + 16 x 1,000)"
nok "rmdir of a queue with active jobs fails" rmdir "$Q/debug" 2>/dev/null
is "$(timeout 20 cat "$MNT/jobs/$s2/wait")" "COMPLETED 0" "it runs once the first ends"
ok "rmdir removes a queue whose jobs have all ended" rmdir "$Q/debug"
is "$(ls "$Q" | tr '\n' ' ')" "drafts errors new run " "it is gone from queue/"

# fluxfs queue and fluxfs jobs --queue
ok "fluxfs queue create makes queues" fx queue create batch short
ok "fluxfs queue set changes some keys" fx queue set short max-nodes=1 nodes='node[0-1]' default=true
like "$(fx queue list)" "short +\* +y +y +0 +0 +- +1 .*node\[0-1\]" "fluxfs queue list: enabled, started, limits, nodes, default"
nok "fluxfs queue set with a bad value fails" fx queue set short max-nodes=0 2>/dev/null
like "$(fx queue set short max-nodes=0 2>&1)" "cannot configure queue short: .*max-nodes: must be an integer >= 1" \
	"... with the daemon's reason"
ok "fluxfs queue unset removes a key" fx queue unset short max-nodes
ok "fluxfs queue stop" fx queue stop batch
like "$(fx queue status batch | tr -d ' \n')" '"started":false' "... shows in its status"
qj=$(fx submit true)
is "$(timeout 20 cat "$MNT/jobs/$qj/wait")" "COMPLETED 0" "a job into the default queue runs"
is "$(fx jobs -a -q short -n -o '{id} {queue}' | grep -c " short$")" 1 "fluxfs jobs -q short lists it with {queue}"

# review fixes: each queue's max-pending counts its own jobs of a stream;
# a config written through a duplicated descriptor is applied whole; a
# second copy of one file into a queue goes there too; a removed queue's
# directory takes nothing
fx queue set batch max-pending-per-user=2
python3 -c '
import json
print(json.dumps({"version": 1, "resources": [{"type": "slot", "count": 1, "label": "t", "with": [{"type": "core", "count": 1}]}],
      "tasks": [{"command": ["true"], "slot": "t", "count": {"per_slot": 1}}], "attributes": {"system": {"duration": 60, "queue": "short"}}}))
for i in range(3):
    print(json.dumps({"version": 1, "resources": [{"type": "slot", "count": 1, "label": "t", "with": [{"type": "core", "count": 1}]}],
          "tasks": [{"command": ["true"], "slot": "t", "count": {"per_slot": 1}}], "attributes": {"system": {"duration": 60, "queue": "batch"}}}))' > stream.jsonl
chmod 644 stream.jsonl
nok "a stream with 3 jobs for a stopped queue of max-pending 2 is refused" nobody cp stream.jsonl "$Q/" 2>/dev/null
like "$(nobody cat "$Q/errors" | tail -1)" "queue 'batch''s max-pending-per-user is 2: you have 0 pending there and submit 3 more" \
	"... counting the 3 jobs of that queue, not the first job's"
bash -c 'exec 3> "$1"; echo "{\"max-nodes\": 1," >&3; echo "\"priority\": 7}" >&3; exec 3>&-' _ "$Q/batch/config"
like "$(tr -d ' \n' < "$Q/batch/config")" '^\{"max-nodes":1,"priority":7\}$' "a config written in pieces through exec 3> is applied whole"
fx queue start batch
cp job.yaml dup.yaml
python3 -c '
import shutil, sys
shutil.copy("dup.yaml", sys.argv[1]); shutil.copy("dup.yaml", sys.argv[1])' "$Q/batch/"
is "$(fx jobs -a -q batch -n -o '{id}' | wc -l)" 2 "two copies of one file from one process both go to queue/batch/"
mkdir "$Q/gone" && cd "$Q/gone" && rmdir "$Q/gone"
nok "a removed queue's directory takes no job (cwd inside it)" cp "$T/job.yaml" . 2>/dev/null
cd "$T"
ok "a queue made after it gets its own, empty, directory" sh -c "mkdir '$Q/again' && [ -z \"\$(ls -A '$Q/again' | grep -v -e config -e ctl -e status)\" ]"
