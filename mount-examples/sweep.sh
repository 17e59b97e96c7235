#!/bin/bash
# sweep.sh [N] - a parameter sweep: N jobs from a shell loop, results gathered.
set -euo pipefail
mnt=${FLUXFS_MOUNT:-/flux}
n=${1:-100}
ids=()
for i in $(seq "$n"); do
	exec 3<>"$mnt/queue/new"
	cat >&3 <<SPEC
{"version": 1,
 "resources": [{"type": "slot", "count": 1, "label": "t",
                "with": [{"type": "core", "count": 1}]}],
 "tasks": [{"command": ["sh", "-c", "echo \$(( $i * $i ))"], "slot": "t",
            "count": {"per_slot": 1}}],
 "attributes": {"system": {"duration": 60}}}
SPEC
	read -r id <&3
	exec 3>&-
	ids+=("$id")
done
sum=0
for id in "${ids[@]}"; do
	[ "$(cat "$mnt/jobs/$id/wait")" = "COMPLETED 0" ] || { echo "job $id failed" >&2; exit 1; }
	sum=$((sum + $(cat "$mnt/jobs/$id/stdout")))
done
echo "sum of squares 1..$n = $sum"
