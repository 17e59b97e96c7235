#!/bin/bash
# Issue 11 through the tree: task counts on exclusive nodes, resource status
# across restarts (also when it is large), task slots that name no slot,
# task-count caps, the wording of limits, and resources/ctl's size.
. "$(dirname "$0")/lib.sh"
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
plan 10

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
cat > excl.yaml <<'EOF'
version: 1
resources:
  - type: node
    count: 2
    exclusive: true
    with:
      - type: slot
        count: 1
        label: task
        with:
          - type: core
            count: 1
tasks:
  - command: ["sh", "-c", "echo size=$FLUX_JOB_SIZE"]
    slot: task
    count:
      per_slot: 2
attributes:
  system:
    duration: 60
EOF
id=$(submit excl.yaml)
is "$(wait_job "$id")" "COMPLETED 0" "per_slot 2 on 2 exclusive nodes completes"
is "$(jobfile "$id" stdout | wc -l)" 4 "... with 2 slots x 2 tasks = 4 tasks"
is "$(jobfile "$id" stdout | sort -u)" "size=4" "... FLUX_JOB_SIZE=4 in each"
sed 's/per_slot: 2/total: 3/' excl.yaml > total.yaml
id=$(submit total.yaml)
is "$(wait_job "$id")" "COMPLETED 0" "total 3 on 2 exclusive nodes completes"
is "$(jobfile "$id" stdout | sort -u)" "size=3" "... with 3 tasks"
is "$(jobfile "$id" stdout | wc -l)" 3 "... 3 lines of output"

ok "unmount" fluxfs_stop
done_testing
