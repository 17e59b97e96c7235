#!/bin/bash
# Issue 11 through the tree: task counts on exclusive nodes, resource status
# across restarts (also when it is large), task slots that name no slot,
# task-count caps, the wording of limits, and resources/ctl's size.
. "$(dirname "$0")/lib.sh"
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}

fx() { timeout 30 "$FLUXFS" -m "$MNT" "$@"; }
# last_error: the reason of the caller's latest failure in queue/errors
last_error() { timeout 5 cat "$MNT/queue/errors" | tail -1; }
# refused FILE: cp of FILE into queue/ fails
refused() { ! timeout 30 cp "$1" "$MNT/queue/" 2>/dev/null; }

ok "daemon mounts a 4-node x 2-core cluster" fluxfs_start --resources "$FIXTURES/R-4n2c.json"

# ---- resources/ctl: stat says what a read returns
is "$(stat -c %s "$MNT/resources/ctl")" "$(cat "$MNT/resources/ctl" | wc -c)" \
	"resources/ctl: st_size is the length of its content"

# ---- -N 2 on exclusive 2-core nodes: one task per node, not one per core
out=$(fx run -N 2 sh -c 'echo "rank=$FLUX_TASK_RANK size=$FLUX_JOB_SIZE"' | sort | tr '\n' ' ')
is "$out" "rank=0 size=2 rank=1 size=2 " "run -N 2 on whole 2-core nodes starts 2 tasks"
# whole nodes, 2 tasks per slot
mkjob_nodes 'echo size=$FLUX_JOB_SIZE' 2 |
	sed -e 's/^    count: 2$/    count: 2\n    exclusive: true/' -e 's/per_slot: 1/per_slot: 2/' > excl.yaml
id=$(submit excl.yaml)
is "$(wait_job "$id")" "COMPLETED 0" "per_slot 2 on 2 exclusive nodes completes"
is "$(jobfile "$id" stdout | wc -l)" 4 "... with 2 slots x 2 tasks = 4 tasks"
is "$(jobfile "$id" stdout | sort -u)" "size=4" "... FLUX_JOB_SIZE=4 in each"
sed 's/per_slot: 2/total: 3/' excl.yaml > total.yaml
id=$(submit total.yaml)
is "$(wait_job "$id")" "COMPLETED 0" "total 3 on 2 exclusive nodes completes"
is "$(jobfile "$id" stdout | sort -u)" "size=3" "... with 3 tasks"
is "$(jobfile "$id" stdout | wc -l)" 3 "... 3 lines of output"

# ---- submissions refused with a reason that names what is wrong
# general NAME SLOT: a version 9999 jobspec whose task runs on slot SLOT
general() {
	mkjob true | sed -e 's/^version: 1$/version: 9999/' -e "s/^    slot: task$/    slot: $2/" > "$1"
}
general badslot.yaml nope
ok "a general jobspec whose task names no slot is refused" refused badslot.yaml
like "$(last_error)" "badslot.yaml: EINVAL: tasks\[0\]\.slot: no slot labeled 'nope' in resources" \
	"... with the element named in queue/errors"
general goodslot.yaml task
id=$(submit goodslot.yaml)
is "$(wait_job "$id")" "COMPLETED 0" "... and one that names its slot runs"

# ---- task counts: capped at submission (4 nodes x 2 cores: the floor, 1024)
mkjob true 1 60 2000000000 > huge.yaml
ok "per_slot 2,000,000,000 is refused at submission" refused huge.yaml
like "$(last_error)" "huge\.yaml: EINVAL: tasks\[0\]\.count\.per_slot: asks for 2000000000 tasks, more than the limit of 1024 \(fluxfsd --max-tasks\)" \
	"... naming the element and the limit"
sed 's/per_slot: 2/per_slot: 2000000000/' excl.yaml > hugex2.yaml
ok "per_slot 2,000,000,000 on 2 slots is refused" refused hugex2.yaml
like "$(last_error)" "hugex2\.yaml: EINVAL: tasks\[0\]\.count\.per_slot: too many tasks: 2000000000 per slot x 2 slots is more than 2147483647" \
	"... saying how many"
sed 's/per_slot: 2/total: 2000000000/' excl.yaml > hugetotal.yaml
ok "total 2,000,000,000 is refused at submission" refused hugetotal.yaml
like "$(last_error)" "tasks\[0\]\.count\.total: asks for 2000000000 tasks, more than the limit of 1024" \
	"... naming total"
# the limit itself is accepted (held, so nothing runs)
sed 's/per_slot: 2/total: 1024/; s/duration: 60/duration: 60\n    urgency: 0/' excl.yaml > limit.yaml
id=$(submit limit.yaml)
ok "total 1024 is accepted" test -n "$id"
ok "... and canceled" sh -c "echo cancel > '$MNT/jobs/$id/ctl'"
sed 's/per_slot: 2/total: 1025/' excl.yaml > over.yaml
ok "total 1025 is refused" refused over.yaml

# ---- limits say which limit was hit
sed 's/per_slot: 2/per_slot: 9223372036854775808/' excl.yaml > pow63.yaml
ok "a count of 2^63 is refused" refused pow63.yaml
like "$(last_error)" "pow63\.yaml: EINVAL: tasks\[0\]\.count\.per_slot: too large \(at most 2147483647\)" \
	"... as too large, with the maximum"
python3 - > longargv.yaml <<'PY'
print("version: 1\nresources:\n  - type: slot\n    count: 1\n    label: task\n"
      "    with:\n      - type: core\n        count: 1\n"
      "tasks:\n  - command: [" + ",".join(["a"] * 200000) + "]\n"
      "    slot: task\n    count:\n      per_slot: 1\n"
      "attributes:\n  system:\n    duration: 60")
PY
ok "a command of 200,000 elements is refused" refused longargv.yaml
like "$(last_error)" "longargv\.yaml: EINVAL: .*too many nodes: the document has more than 200000 values" \
	"... naming the element limit"
unlike "$(last_error)" "alias" "... not alias expansion"
yes -- --- | head -1000000 > dashes.yaml
ok "4 MB of empty YAML documents is refused" refused dashes.yaml
like "$(last_error)" "dashes\.yaml: EINVAL: no jobspec in the submission" "... as holding no jobspec, not E2BIG"

# ---- drain and down survive a restart
echo "drain node1" > "$MNT/resources/ctl"
echo "down /cluster0/node2/core1" > "$MNT/resources/ctl"
fluxfs_stop
ok "daemon mounts again" fluxfs_start --resources "$FIXTURES/R-4n2c.json"
is "$(cat "$MNT/resources/allocations")" "/cluster0/node1 node drained
/cluster0/node2/core1 core down" "drain and down survive a restart"
is "$(head -1 "$MNT/resources/cluster0/node1/state")" "node drained" "... node1's state says drained"
nok "a write with one bad line fails" sh -c "printf 'up node1\ndrain /nope\n' > '$MNT/resources/ctl'"
is "$(head -1 "$MNT/resources/cluster0/node1/state")" "node drained" "... and changes nothing"
ok "unmount" fluxfs_stop

# ---- the task cap is an option
ok "daemon mounts with --max-tasks 3" fluxfs_start --resources "$FIXTURES/R-4n2c.json" --max-tasks 3
sed 's/per_slot: 2/total: 4/' excl.yaml > four.yaml
ok "4 tasks are refused" refused four.yaml
like "$(last_error)" "four\.yaml: EINVAL: tasks\[0\]\.count\.total: asks for 4 tasks, more than the limit of 3" \
	"... with the configured limit"
sed 's/per_slot: 2/total: 3/' excl.yaml > three.yaml
id=$(submit three.yaml)
is "$(wait_job "$id")" "COMPLETED 0" "3 tasks run"
ok "unmount" fluxfs_stop
ok "daemon mounts with -o max_tasks=2" fluxfs_start --resources "$FIXTURES/R-4n2c.json" -o max_tasks=2
ok "3 tasks are refused" refused three.yaml
like "$(last_error)" "limit of 2 " "... with the configured limit"
ok "unmount" fluxfs_stop

# ---- a large resource status (over 256 KiB as JSON) survives a restart
python3 - > big-R.json <<'PY'
import json
print(json.dumps({"version": 1, "execution": {
    "R_lite": [{"rank": "0-99", "children": {"core": "0-127"}}],
    "nodelist": ["n[0-99]"]}}))
PY
rm -rf "$STATE"
ok "daemon mounts 100 nodes x 128 cores" fluxfs_start --resources big-R.json
for n in $(seq 0 99); do
	for c in $(seq 0 127); do echo "drain /cluster0/n$n/core$c"; done > lines
	cat lines > "$MNT/resources/ctl" || break
done
is "$(grep -c ' core drained$' "$MNT/resources/allocations")" 12800 "12800 cores drained"
fluxfs_stop
ok "daemon mounts again" fluxfs_start --resources big-R.json
is "$(grep -c ' core drained$' "$MNT/resources/allocations")" 12800 "... and still drained after a restart"
is "$(head -1 "$MNT/resources/cluster0/n99/core127")" "core drained" "... the last one too"
unlike "$(cat "$DAEMON_LOG")" "unreadable|cannot re" "... and nothing was logged as lost"

ok "unmount" fluxfs_stop
done_testing
