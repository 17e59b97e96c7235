#!/bin/bash
# bench-reparent.sh - losing an interior broker (doc/overlay.md "Joining
# and losing"): N brokers of one core each on this machine, fanout 2 (rank
# 1 heads about half of them), a one-core `sleep` job on every node; then
# `kill -9` of rank 1. Prints how long until its node is down on the
# leader's tree, until its two children have joined their new parent (the
# leader), and how many jobs failed (only the one on rank 1 should) and
# still run. The bound beside it: the heartbeat timeout (5 s), which is what
# a broker stopped with its connection up takes. Not a test: the machine is
# shared and noisy; the load is printed before and after.
#
#   BUILD=build tests/bench/bench-reparent.sh [N...]     (default 64)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
FLUXFSD=$REPO/$BUILD/fsd/fluxfsd
FLUXFS=$REPO/$BUILD/tools/fluxfs
PORT=${PORT:-21500}
T=$(mktemp -d /tmp/fluxfs-bench-reparent.XXXXXX)
chmod 755 "$T"   # a root fluxfsd runs as the fluxfs user: it must reach its state here
. "$REPO/tests/bench/overlay-lib.sh"
trap 'stop_all; pkill -f "sleep 600 # bench-reparent" 2>/dev/null; rm -rf "$T" 2>/dev/null || true' EXIT
now() { echo "$EPOCHREALTIME"; }   # a subshell, not an exec of date (~0.7 ms here)
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
below() { local r=$1; while [ "$r" -gt "$2" ]; do r=$(((r - 1) / 2)); done; [ "$r" = "$2" ]; }

echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-7s %-12s %-10s %-12s %-12s %-12s %-10s\n' brokers fanout below_lost down_ms \
	adopted_ms jobs_failed jobs_running bound_ms
[ $# -eq 0 ] && set -- 64
for N in "$@"; do
	rm -rf "${T:?}"/*
	boot_file "$N" 2 > "$T/boot.json"
	start_brokers "$N" "$FLUXFSD"
	for ((w = 0; w < 12000; w++)); do
		[ "$(grep -c '^overlay\.[0-9]*: .* state=up ' "$T/m0/status")" = "$N" ] && break
		sleep 0.01
	done
	"$FLUXFS" -m "$T/m0" submit --cc="1-$N" sh -c 'exec sleep 600 # bench-reparent' > "$T/ids"
	for ((w = 0; w < 6000; w++)); do
		[ "$(awk -F': ' '$1 == "run" { print $2 }' "$T/m0/status")" = "$N" ] && break
		sleep 0.01
	done
	n1=0
	for ((r = 1; r < N; r++)); do below "$r" 1 && n1=$((n1 + 1)); done
	pid1=$(pgrep -f "fluxfsd --bootstrap $T/boot.json --rank 1 " | head -1)
	t0=$(now)
	kill -9 "$pid1"
	until grep -qx "node down" "$T/m0/resources/cluster0/n1/state" 2>/dev/null; do sleep 0.005; done
	t1=$(now)
	until grep -q "joined parent rank 0" "$T/s3/fluxfsd.log" 2>/dev/null &&
		grep -q "joined parent rank 0" "$T/s4/fluxfsd.log" 2>/dev/null; do sleep 0.005; done
	t2=$(now)
	sleep 6   # past the heartbeat timeout: anything wrongly lost shows by now
	running=$(awk -F': ' '$1 == "run" { print $2 }' "$T/m0/status")
	failed=$(for id in $(cat "$T/ids"); do cat "$T/m0/jobs/$id/state"; done | grep -vc '^RUN$' || true)
	printf '%-8s %-7s %-12s %-10s %-12s %-12s %-12s %-10s\n' "$N" 2 "$n1" "$(ms "$t0" "$t1")" \
		"$(ms "$t0" "$t2")" "$failed" "$running" 5000
	stop_all
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# below_lost: brokers below rank 1, which re-parenting keeps; down_ms: kill -9 to its"
echo "# node down on the leader's tree; adopted_ms: to both its children joining the leader;"
echo "# jobs_failed / jobs_running: of the N one-node jobs, 6 s later (1 should fail: rank 1's)."
echo "# bound_ms: the heartbeat timeout, the loss bound for a broker whose connection stays up."
