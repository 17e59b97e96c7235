#!/bin/bash
# bench.sh [QUICK] - fluxfs throughput and latency, beside the physical
# ceilings of this machine measured in the same run. Not part of the test
# suite: figures depend on the machine and its load. Prints one table.
#   BUILD=dir (default <repo>/build); QUICK=1 for smaller counts;
#   FLUXFSD_OPTS="--user root" to measure a root broker without its
#   privileged helper (started as root it is otherwise a system instance).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build}
B=$BUILD/tests/bench
FLUXFSD=$BUILD/fsd/fluxfsd
N=${N:-2000}; E2E=${E2E:-1000}; BIG=${BIG:-10000}; LAT=${LAT:-50}; CP=${CP:-300}
if [ "${QUICK:-0}" = 1 ]; then N=500; E2E=300; BIG=2000; LAT=20; CP=100; fi

work=$(mktemp -d /tmp/fluxfs-bench.XXXXXX)
chmod 755 "$work"   # a root fluxfsd runs as the fluxfs user: it must reach its state here
mkdir -p "$work/mnt" "$work/state" "$work/null" "$work/lmdb"
cleanup() {
	fusermount3 -u "$work/mnt" 2>/dev/null || fusermount3 -uz "$work/mnt" 2>/dev/null || true
	fusermount3 -u "$work/null" 2>/dev/null || true
	kill %1 2>/dev/null || true
	rm -rf "$work" /dev/shm/fluxfs-bench-cp.$$
}
trap cleanup EXIT
before=$(uptime)   # a figure and its ceiling count only from a quiet run

num() { grep -o "$1 [0-9.]*" | awk '{print $NF}'; }   # "= 123 jobs/s" -> 123
rate() { grep -o "= [0-9.]*" | head -1 | awk '{print $2}'; }   # first "= N"
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }'; }
cploop() {   # cploop DIR N: jobs/s of a bash cp loop into DIR
	local src=$work/true.json t0 t1
	t0=$(date +%s.%N)
	for ((i = 0; i < $2; i++)); do cp "$src" "$1/"; done
	t1=$(date +%s.%N)
	awk -v n="$2" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}
rss() { awk '/RssAnon/ { print $2 }' "/proc/$1/status"; }
# drain: wait until the instance has run everything submitted so far, so
# each measurement starts from an idle instance
drain() {
	local i
	for i in $(seq 1200); do
		awk '/^(new|depend|priority|sched|run|cleanup):/ { n += $2 } END { exit n > 0 }' \
			"$work/mnt/status" && return 0
		sleep 0.1
	done
}

cat > "$work/true.json" <<'SPEC'
{"version":1,"resources":[{"type":"slot","count":1,"label":"t","with":[{"type":"core","count":1}]}],"tasks":[{"command":["true"],"slot":"t","count":{"per_slot":1}}],"attributes":{"system":{"duration":0}}}
SPEC

echo "# ceilings" >&2
spawn1=$("$B/bench-spawn" "$N" 1 | rate "/s")
spawn2=$("$B/bench-spawn" "$N" 2 | rate "/s")
lmdb1=$("$B/bench-lmdb" "$work/lmdb" 2000 1 | rate "commits/s")
rm -f "$work/lmdb"/*
lmdb100=$("$B/bench-lmdb" "$work/lmdb" 100000 100 | grep -o "[0-9]* puts/s" | awk '{print $1}')
"$B/bench-nullfs" "$work/null" & sleep 0.5
null1=$("$B/bench-submit" "$work/null" "$N" 1 --create | rate "jobs/s")
null4=$("$B/bench-submit" "$work/null" "$N" 4 --create | rate "jobs/s")
cpnull=$(cploop "$work/null" "$CP")
fusermount3 -u "$work/null"
mkdir -p /dev/shm/fluxfs-bench-cp.$$
cptmpfs=$(cploop /dev/shm/fluxfs-bench-cp.$$ "$CP")

echo "# fluxfs" >&2
# shellcheck disable=SC2086
"$FLUXFSD" ${FLUXFSD_OPTS:-} --state "$work/state" "$work/mnt"
pid=$(pgrep -f -- "--state $work/state" | head -1)
rss0=$(rss "$pid")
sub1=$("$B/bench-submit" "$work/mnt" "$N" 1 | rate "jobs/s")
drain
sub4=$("$B/bench-submit" "$work/mnt" "$N" 4 | rate "jobs/s")
drain
cpflux=$(cploop "$work/mnt/queue" "$CP")
drain
e2e=$("$B/bench-submit" "$work/mnt" "$E2E" 4 --wait | grep -o "= [0-9]* jobs/s end to end" | awk '{print $2}')
drain
lat=$("$B/bench-submit" "$work/mnt" "$LAT" 1 --latency)
latmed=$(echo "$lat" | num median); latmin=$(echo "$lat" | num min); latmax=$(echo "$lat" | num max)
done_jobs=$(awk '/^jobs:/ {print $2}' "$work/mnt/status")
rss1=$(rss "$pid")
"$B/bench-submit" "$work/mnt" "$BIG" 4 --wait >/dev/null
total=$(awk '/^jobs:/ {print $2}' "$work/mnt/status")
rss2=$(rss "$pid")
dbsize=$(du -k "$work/state/data.mdb" | awk '{print $1}')

printf '\n%s, %s cores, fluxfsd %s\nuptime before: %s\nuptime after:  %s\n' "$(uname -r)" "$(nproc)" \
	"${FLUXFSD_OPTS:-(a system instance when root)}" "$before" "$(uptime)"
printf '| %-44s | %12s | %-38s | %9s |\n' measurement fluxfs "ceiling (same machine, same run)" fraction
printf '|%s|%s|%s|%s|\n' "----------------------------------------------" "--------------" "----------------------------------------" "-----------"
row() { printf '| %-44s | %12s | %-38s | %9s |\n' "$1" "$2" "$3" "$4"; }
row "submit via queue/new, 1 C client (jobs/s)" "$sub1" "raw FUSE create+write+close: $null1" "$(pct "$sub1" "$null1")"
row "submit via queue/new, 4 C clients (jobs/s)" "$sub4" "raw FUSE, 4 clients: $null4" "$(pct "$sub4" "$null4")"
row "submit by cp loop in bash (jobs/s)" "$cpflux" "cp loop to nullfs: $cpnull, tmpfs: $cptmpfs" "$(pct "$cpflux" "$cptmpfs")"
row "end to end, $E2E true jobs (jobs/s)" "$e2e" "posix_spawn+wait, 2 in flight: $spawn2" "$(pct "$e2e" "$spawn2")"
row "latency submit->INACTIVE, true (ms)" "$latmed" "min $latmin, max $latmax" "-"
row "durable commit rate (commits/s)" "-" "LMDB 1 put/commit: $lmdb1" "-"
row "durable puts, batched 100/commit (puts/s)" "-" "LMDB: $lmdb100" "-"
row "spawn one at a time (spawns/s)" "-" "posix_spawn+wait: $spawn1" "-"
row "daemon RssAnon, fresh (kB)" "$rss0" "" ""
row "daemon RssAnon after $done_jobs jobs (kB)" "$rss1" "" ""
row "daemon RssAnon after $total jobs (kB)" "$rss2" "store data.mdb: ${dbsize} kB" ""
