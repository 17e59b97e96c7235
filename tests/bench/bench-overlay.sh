#!/bin/bash
# bench-overlay.sh - a multi-node instance of N brokers on this machine
# (doc/overlay.md), for each N given (default 16 64): how long they take to
# join, a `true` job with one task on every broker, 1,000 one-core `true`
# jobs through the leader and 1,000 through the last (deepest) follower's
# tree (submitted and waited for there, on its replica), how far that
# follower's replica lags the leader's commits, and memory per broker. Each broker is a node of
# one core (R) on 127.0.0.1 over plain tcp (insecure; TLS adds a handshake
# per link at join only). The physical ceiling beside it: forking and
# reaping N `true` processes from one shell. Not a test: the machine is
# shared and noisy; the load is printed before and after.
#
#   BUILD=build FANOUT=32 tests/bench/bench-overlay.sh [N...]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
B=$REPO/$BUILD
FLUXFSD=$B/fsd/fluxfsd
FLUXFS=$B/tools/fluxfs
K=${FANOUT:-32}
notes=
PORT=${PORT:-21000}
T=$(mktemp -d /tmp/fluxfs-bench-overlay.XXXXXX)
chmod 755 "$T"   # a root fluxfsd runs as the fluxfs user: it must reach its state here
. "$REPO/tests/bench/overlay-lib.sh"
trap 'stop_all; rm -rf "$T"' EXIT
now() { echo "$EPOCHREALTIME"; }   # a subshell, not an exec of date (~0.7 ms here)
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
rss_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
depth() { local d=0 r=$(($1 - 1)); while [ "$r" -gt 0 ]; do r=$(((r - 1) / K)); d=$((d + 1)); done; echo "$d"; }

echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
rdepth() { local d=0 r=$1; while [ "$r" -gt 0 ]; do r=$(((r - 1) / K)); d=$((d + 1)); done; echo "$d"; }
# median round trip to the leader of the followers at depth $1 (ms), or -
rtt_at() {
	local r v=()
	for ((r = 1; r < N; r++)); do
		[ "$(rdepth "$r")" = "$1" ] || continue
		v+=("$(awk -F': ' '$1 == "overlay-rtt-ms" { print $2 }' "$T/m$r/status")")
		[ ${#v[@]} -ge 16 ] && break
	done
	[ ${#v[@]} -eq 0 ] && { echo -; return; }
	printf '%s\n' "${v[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
printf '%-6s %-6s %10s %12s %12s %14s %12s %12s %12s %12s %12s %8s %8s %8s\n' brokers depth start_ms join_ms \
	run_N_ms ceiling_N_ms "1000_jobs/s" "follower_j/s" lag_max_ms leader_MB follower_MB rtt1_ms rtt2_ms rtt3_ms
[ $# -eq 0 ] && set -- 16 64
for N in "$@"; do
	rm -rf "${T:?}"/*
	boot_file "$N" "$K" > "$T/boot.json"
	t0=$(now)
	start_brokers "$N" "$FLUXFSD"
	t1=$(now)
	for ((w = 0; w < 12000; w++)); do
		up=$(grep -c '^overlay\.[0-9]*: .* state=up ' "$T/m0/status")
		[ "$up" = "$N" ] && break
		sleep 0.01
	done
	[ "$up" = "$N" ] || { echo "# only $up of $N joined in 120 s:" >&2; grep -v 'state=up' "$T/m0/status" | grep overlay | head -5 >&2; continue; }
	t2=$(now)
	# heartbeats (1 s) carry the round trips down, one level a beat
	sleep 4
	r1=$(rtt_at 1) r2=$(rtt_at 2) r3=$(rtt_at 3)
	# one task on every broker, end to end (submit, launch down the tree,
	# output and exit back up), best of 3
	best=
	for _ in 1 2 3; do
		a=$(now)
		"$FLUXFS" -m "$T/m0" run -N "$N" true
		b=$(now)
		x=$(ms "$a" "$b")
		[ -z "$best" ] || [ "$x" -lt "$best" ] && best=$x
	done
	a=$(now)
	for ((i = 0; i < N; i++)); do /bin/true & done
	wait
	b=$(now)
	ceil=$(ms "$a" "$b")
	# 1,000 one-core jobs through the leader, spread over every node
	a=$(now)
	"$FLUXFS" -m "$T/m0" submit --cc=1-1000 true > "$T/ids"
	"$FLUXFS" -m "$T/m0" wait --all > "$T/wait.out" 2>&1 ||
		notes+="# N=$N: not every job through the leader completed: $(grep -vc ' COMPLETED' "$T/wait.out") did not (overload: brokers lost?)"$'\n'
	b=$(now)
	rate=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", 1000 / (b - a) }')
	# the same through the deepest follower: forwarded to the leader, the
	# ids and the results read from that follower's replica
	last=$((N - 1))
	a=$(now)
	"$FLUXFS" -m "$T/m$last" submit --cc=1-1000 true > "$T/fids"
	"$FLUXFS" -m "$T/m$last" wait --all > "$T/wait.out" 2>&1 ||
		notes+="# N=$N: not every job through the follower completed: $(grep -vc ' COMPLETED' "$T/wait.out") did not (overload: brokers lost?)"$'\n'
	b=$(now)
	frate=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", 1000 / (b - a) }')
	lag=$(awk -F': ' '$1 == "replica-lag-max-ms" { printf "%.1f", $2 }' "$T/m$last/status")
	lpid=$(pgrep -f "fluxfsd --bootstrap $T/boot.json --rank 0 " | head -1)
	lmb=$(awk -v k="$(rss_kb "$lpid")" 'BEGIN { printf "%.1f", k / 1024 }')
	fmb=$(for p in $(pgrep -f "fluxfsd --bootstrap $T/boot.json --rank [1-9]"); do rss_kb "$p"; done |
		sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", NR ? v[int((NR + 1) / 2)] / 1024 : 0 }')
	printf '%-6s %-6s %10s %12s %12s %14s %12s %12s %12s %12s %12s %8s %8s %8s\n' "$N" "$(depth "$N")" \
		"$(ms "$t0" "$t1")" "$(ms "$t0" "$t2")" "$best" "$ceil" "$rate" "$frate" "$lag" "$lmb" "$fmb" \
		"$r1" "$r2" "$r3"
	stop_all
done
printf '%s' "${notes:-}"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# start_ms: starting every broker (each returns once mounted); join_ms: from the"
echo "# first start until the leader's status shows all up; run_N_ms: fluxfs run -N N true"
echo "# (best of 3); ceiling_N_ms: fork+exec+wait of N true from one shell; MB: RssAnon"
echo "# (followers: median). rttD_ms: median heartbeat round trip to the leader, summed hop"
echo "# by hop, of followers at depth D (up to 16 of them). follower_j/s: 1,000 jobs"
echo "# submitted and waited for on the deepest follower's tree; lag_max_ms: the largest"
echo "# time from a leader's commit to that follower applying it (same clock here)."
