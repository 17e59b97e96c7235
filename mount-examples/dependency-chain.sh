#!/bin/bash
# dependency-chain.sh - a three-step pipeline with job dependencies (RFC 26):
# 'compute' starts only if 'prepare' completed; 'cleanup' runs however
# 'compute' ended. The chain is submitted at once; the instance orders it.
set -euo pipefail
mnt=${FLUXFS_MOUNT:-/flux}
work=$(mktemp -d)

submit() {   # submit CMD [SCHEME JOBID]: print the new job's id
	local deps=""
	[ $# -gt 1 ] && deps=",\"dependencies\":[{\"scheme\":\"$2\",\"value\":\"$3\"}]"
	exec 3<>"$mnt/queue/new"
	printf '{"version":1,"resources":[{"type":"slot","count":1,"label":"t","with":[{"type":"core","count":1}]}],"tasks":[{"command":["sh","-c","%s"],"slot":"t","count":{"per_slot":1}}],"attributes":{"system":{"duration":60,"cwd":"%s"%s}}}' \
		"$1" "$work" "$deps" >&3
	read -r id <&3
	exec 3>&-
	echo "$id"
}

prepare=$(submit 'seq 1 10 > input')
compute=$(submit 's=0; for i in $(cat input); do s=$((s + i)); done; echo $s > sum' afterok "$prepare")
cleanup=$(submit 'cat sum; rm -f input sum' afterany "$compute")

for id in "$prepare" "$compute" "$cleanup"; do
	echo "$id $(cat "$mnt/jobs/$id/wait")"
done
echo "sum: $(cat "$mnt/jobs/$cleanup/stdout")"
rmdir "$work"
