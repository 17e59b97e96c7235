#!/bin/bash
# ensemble.sh [N] - bundle N small tasks into one allocation: a holder job
# takes one core, a nested instance is made inside it with mkdir, the tasks
# go to the nested queue (same layout as the root), and rmdir ends it. The
# tasks' history stays readable under the holder job afterwards.
set -euo pipefail
mnt=${FLUXFS_MOUNT:-/flux}
n=${1:-20}
submit() {	# submit DIR: jobspec on stdin to DIR/queue/new, print the id
	exec 3<>"$1/queue/new"
	cat >&3
	read -r id <&3
	exec 3>&-
	echo "$id"
}
spec() {	# spec CMD: one core running sh -c CMD
	printf '{"version": 1, "resources": [{"type": "slot", "count": 1, "label": "t",
	  "with": [{"type": "core", "count": 1}]}],
	 "tasks": [{"command": ["sh", "-c", "%s"], "slot": "t", "count": {"per_slot": 1}}],
	 "attributes": {"system": {"duration": 600}}}\n' "$1"
}
holder=$(spec 'sleep 600' | submit "$mnt")
until [ "$(cat "$mnt/jobs/$holder/state")" = RUN ]; do sleep 0.1; done
ens=$mnt/jobs/$holder/ensemble
mkdir "$ens"
ids=()
for i in $(seq "$n"); do ids+=("$(spec "echo task $i" | submit "$ens")"); done
for id in "${ids[@]}"; do
	[ "$(cat "$ens/jobs/$id/wait")" = "COMPLETED 0" ] || { echo "task $id failed" >&2; exit 1; }
done
rmdir "$ens"                           # the nested instance shuts down
echo "$n tasks done in $(cat "$ens/jobs/${ids[0]}/R" | python3 -c 'import json,sys; print(json.load(sys.stdin)["execution"]["nodelist"][0])'):$(cat "$mnt/jobs/$holder/R" | python3 -c 'import json,sys; print(json.load(sys.stdin)["execution"]["R_lite"][0]["children"]["core"])'); first said: $(cat "$ens/jobs/${ids[0]}/stdout")"
echo cancel > "$mnt/jobs/$holder/ctl"
