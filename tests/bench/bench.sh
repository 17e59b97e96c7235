#!/bin/bash
# bench.sh - fluxfs throughput and latency, each figure beside the physical
# ceiling of this machine measured in the same run, and the load before
# and after. Not part of the test suite: figures depend on the machine and
# its load (a figure and its ceiling count only from a quiet run). Prints
# one table.
#   BUILD=dir       (default <repo>/build)
#   QUICK=1         smaller counts (a look, not a measurement)
#   SCALE=N         jobs of the flatness run (bench-scale.sh: the first and
#                   the last tenth's rates, memory and store once the
#                   retention window is full); default 100000, QUICK 20000,
#                   SCALE=1000000 for issue 19's figure; SCALE=0 skips it
#   DEEP=N          jobs queued at once for the deep-queue figure (default
#                   20000, QUICK 5000): end to end as --cc=1-E2E, with every
#                   scheduling pass looking at a long queue
#   OVERLAY=0       skip the 2-broker instance (fluxfs run and durable
#                   submissions on the leader and on a follower)
#   FLUXFSD_OPTS="--user root" to measure a root broker without its
#   privileged helper (started as root it is otherwise a system instance).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
B=$BUILD/tests/bench
FLUXFSD=$BUILD/fsd/fluxfsd
FLUXFS=$BUILD/tools/fluxfs
if [ "${QUICK:-0}" = 1 ]; then
	N=${N:-1000}; E2E=${E2E:-300}; LAT=${LAT:-20}; CP=${CP:-100}; SCALE=${SCALE:-20000}; DEEP=${DEEP:-5000}
else
	N=${N:-4000}; E2E=${E2E:-1000}; LAT=${LAT:-50}; CP=${CP:-300}; SCALE=${SCALE:-100000}; DEEP=${DEEP:-20000}
fi

work=$(mktemp -d /tmp/fluxfs-bench.XXXXXX)
chmod 755 "$work"   # a root fluxfsd runs as the fluxfs user: it must reach its state here
mkdir -p "$work/mnt" "$work/state" "$work/null" "$work/lmdb"
cleanup() {
	fusermount3 -u "$work/mnt" 2>/dev/null || fusermount3 -uz "$work/mnt" 2>/dev/null || true
	fusermount3 -u "$work/null" 2>/dev/null || fusermount3 -uz "$work/null" 2>/dev/null || true
	[ -n "${T:-}" ] && { stop_all; rm -rf --one-file-system "$T"; }
	kill %1 2>/dev/null || true
	rm -rf --one-file-system "$work" /dev/shm/fluxfs-bench-cp.$$
}
trap cleanup EXIT
before=$(uptime)

rate() { grep -o "= [0-9.]*" | head -1 | awk '{print $2}'; }   # first "= N"
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] }'; }
cploop() {   # cploop DIR N: jobs/s of a bash cp loop into DIR
	local src=$work/true.json t0 t1
	t0=$EPOCHREALTIME
	for ((i = 0; i < $2; i++)); do cp "$src" "$1/"; done
	t1=$EPOCHREALTIME
	awk -v n="$2" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}
runlat() {   # runlat MOUNT N: median ms of `fluxfs run true` (- if one failed)
	local i t0 t1
	for ((i = 0; i < 5; i++)); do "$FLUXFS" -m "$1" run true || { echo -; return; }; done
	for ((i = 0; i < $2; i++)); do
		t0=$EPOCHREALTIME
		"$FLUXFS" -m "$1" run true || { echo "fluxfs run true on $1 failed" >&2; echo 1e9; }
		t1=$EPOCHREALTIME
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'
	done | median
}
rss() { awk '/RssAnon/ { print $2 }' "/proc/$1/status"; }
. "$top/tests/bench/bench-lib.sh"
idle_init "$work"

cat > "$work/true.json" <<'SPEC'
{"version":1,"resources":[{"type":"slot","count":1,"label":"t","with":[{"type":"core","count":1}]}],"tasks":[{"command":["true"],"slot":"t","count":{"per_slot":1}}],"attributes":{"system":{"duration":0}}}
SPEC

echo "# ceilings" >&2
spawn1=$("$B/bench-spawn" 2000 1 | rate)
spawn2=$("$B/bench-spawn" 4000 2 | rate)
# what a process's start costs here: a program without libc, and the CPUID
# instruction that glibc's start asks some 70 times (trapped in some VMs)
spawnnl=- cpuid=- libcstart=-
if [ -x "$B/bench-nolibc" ]; then
	spawnnl=$("$B/bench-spawn" 4000 1 "$B/bench-nolibc" | rate || true)
	libcstart=$(awk -v a="$spawn1" -v b="$spawnnl" \
		'BEGIN { if (a > 0 && b > 0) printf "%.0f", 1e6 / a - 1e6 / b; else print "-" }')
fi
if [ -x "$B/bench-cpuid" ]; then
	cpuid=$("$B/bench-cpuid" | awk '{ print $2 }' || true)
fi
lmdb1=$("$B/bench-lmdb" "$work/lmdb" 2000 1 | grep -o "[0-9]* commits/s" | awk '{print $1}')
rm -f "$work/lmdb"/*
page1=$("$B/bench-fsync" "$work/page" 2000 | grep -o "= [0-9]* syncs/s" | awk '{print $2}')
# one sync after the machine idled 1.5 ms, as a lone command's is (ms)
pageidle=$("$B/bench-fsync" "$work/page" 300 1500 | grep -o "median [0-9.]*" | awk '{print $2}')
lmdb100=$("$B/bench-lmdb" "$work/lmdb" 100000 100 | grep -o "[0-9]* puts/s" | awk '{print $1}')
"$B/bench-nullfs" "$work/null" & sleep 0.5
null1=$("$B/bench-submit" "$work/null" "$N" 1 --create | rate)
null4=$("$B/bench-submit" "$work/null" "$N" 4 --create | rate)
cpnull=$(cploop "$work/null" "$CP")
fusermount3 -u "$work/null"
# the floor of `fluxfs run true`: two processes (the command's and the
# job's) and one durable commit (a page appended to the redo log and
# synced, from idle), one after the other
floor=$(awk -v s="$spawn1" -v c="$pageidle" 'BEGIN { printf "%.2f", 2000 / s + c }')
# ... and with one create+write+close into the do-nothing FUSE fs: no
# submission through a tree can take less
floorfs=$(awk -v f="$floor" -v n="$null1" 'BEGIN { printf "%.2f", f + 1000 / n }')
# the command's own start: the CLI is linked statically (tools/meson.build)
# and should start no slower than /bin/true does
cli1=$("$B/bench-spawn" 2000 1 "$FLUXFS" 2>/dev/null | rate)

echo "# fluxfs" >&2
# shellcheck disable=SC2086
"$FLUXFSD" ${FLUXFSD_OPTS:-} --state "$work/state" "$work/mnt"
pid=$(pgrep -f -- "--state $work/state" | head -1)
M=$work/mnt
rss0=$(rss "$pid")
# durable submissions (urgency 0: stored and announced, nothing runs)
new1=$("$B/bench-submit" "$M" "$N" 1 --held | rate)
new4=$("$B/bench-submit" "$M" "$N" 4 --held | rate)
create4=$("$B/bench-submit" "$M/queue" "$N" 4 --create --held | rate)
# the held jobs go, so that what follows runs on an idle instance
"$FLUXFS" -m "$M" cancel --all >/dev/null
idle "$M"
cpflux=$(cploop "$M/queue" "$CP")   # the jobs it submits run meanwhile
idle "$M"
# one close() of a cp-style submission (durable when it returns), while the
# jobs submitted before run: median and p90 (ms)
closelat=$("$B/bench-submit" "$M/queue" "$CP" 1 --close-latency 2>/dev/null \
	| awk '/^close ms/ { print $4 " / " $6 }') || closelat=-   # (a build before it: -)
idle "$M"
t0=$EPOCHREALTIME; "$FLUXFS" -m "$M" submit --cc="1-$E2E" true >/dev/null; idle "$M"; t1=$EPOCHREALTIME
cc=$(awk -v n="$E2E" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
e2e4=$("$B/bench-submit" "$M" "$E2E" 4 --wait | grep -o "= [0-9]* jobs/s end to end" | awk '{print $2}')
idle "$M"
run=$(runlat "$M" "$LAT")
lat=$("$B/bench-submit" "$M" "$LAT" 1 --latency | grep -o "median [0-9.]*" | awk '{print $2}')
done_jobs=$(awk '/^jobs:/ {print $2}' "$M/status")
rss1=$(rss "$pid")
# the same as --cc=1-$E2E with a deep queue: every scheduling pass has
# $DEEP jobs behind it (last: the memory above is not its high-water mark)
# ... and the CPU fluxfs spends per job meanwhile (the broker's threads, the
# helper's, the publisher's; not the tasks'): at 80% of the spawn ceiling
# a job may cost the machine's cores 1/0.8 of what the ceiling's does,
# which leaves 0.5 s / ceiling for all of fluxfs
ticks() { [ -n "$1" ] && awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
imp=$(pgrep -P "$pid" -x fluxfs-imp || true); pub=$(pgrep -P "$pid" -x fluxfs-publish || true)
c0=$(( $(ticks "$pid") + $(ticks "$imp") + $(ticks "$pub") ))
t0=$EPOCHREALTIME; "$FLUXFS" -m "$M" submit --cc="1-$DEEP" true >/dev/null; idle "$M"; t1=$EPOCHREALTIME
c1=$(( $(ticks "$pid") + $(ticks "$imp") + $(ticks "$pub") ))
deep=$(awk -v n="$DEEP" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
cpujob=$(awk -v t="$((c1 - c0))" -v n="$DEEP" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", t * 1e6 / hz / n }')
budget=$(awk -v s="$spawn2" 'BEGIN { printf "%.0f", 0.5e6 / s }')
rss2=$(rss "$pid")
fusermount3 -u "$M" || { sleep 0.5; fuser -vm "$M" >&2; fusermount3 -u "$M"; }   # see bench-builds.sh

runl=- runf=- ovl4=- ovl4f=-
if [ "${OVERLAY:-1}" = 1 ]; then
	echo "# a 2-broker instance" >&2
	T=$work/ovl PORT=${PORT:-$((21000 + $$ % 4000 * 2))}
	mkdir -p "$T"
	. "$top/tests/bench/overlay-lib.sh"
	boot_file 2 2 > "$T/boot.json"
	start_brokers 2 "$FLUXFSD"
	# both sides: the leader counts the follower a moment before the
	# follower has joined (until then it refuses submissions, EAGAIN)
	for _ in $(seq 100); do
		[ "$(awk '/^nodes:/ {print $2}' "$T/m0/status" 2>/dev/null)" = 2 ] \
			&& grep -qx "overlay-state: up" "$T/m1/status" 2>/dev/null && break
		sleep 0.1
	done
	runl=$(runlat "$T/m0" "$LAT"); runf=$(runlat "$T/m1" "$LAT")
	ovl4=$("$B/bench-submit" "$T/m0" "$N" 4 --held | rate)
	ovl4f=$("$B/bench-submit" "$T/m1" "$N" 4 --held | rate)
	stop_all
fi

flat=- cpuflat=- flat2=- cpuflat2=- rssw=- rsse=- mdbw=- mdbe=-
if [ "$SCALE" -gt 0 ]; then
	echo "# $SCALE jobs (bench-scale.sh)" >&2
	chunk=$((SCALE / 10 < 1000 ? SCALE / 10 : 1000))
	BUILD=$BUILD NJOBS=$SCALE EVERY=$((SCALE / 10)) CHUNK=$chunk "$top/tests/bench/bench-scale.sh" > "$work/scale.out"
	cp "$work/scale.out" "${SCALE_OUT:-/dev/null}"
	# rows: | jobs | rate (row) | rate (last) | cpu us/job | RssAnon | records | data.mdb | free pages |
	rows=$(grep '^| *[0-9]' "$work/scale.out" | awk -F'|' '$2 + 0 > 0')
	first=$(echo "$rows" | head -1); last=$(echo "$rows" | tail -1)
	col() { awk -F'|' -v c="$1" '{ print $c + 0 }'; }
	flat=$(awk -v f="$(echo "$first" | col 3)" -v l="$(echo "$last" | col 3)" \
		'BEGIN { printf "%d -> %d (%.0f%%)", f, l, 100 * l / f }')
	cpuflat="$(echo "$first" | col 5) -> $(echo "$last" | col 5)"
	# the first tenth purges nothing (--purge-keep is a tenth): the second
	# is the first with the retention window full, as every later one is
	second=$(echo "$rows" | sed -n 2p)
	flat2=$(awk -v f="$(echo "$second" | col 3)" -v l="$(echo "$last" | col 3)" \
		'BEGIN { if (f > 0) printf "%d -> %d (%.0f%%)", f, l, 100 * l / f; else print "-" }')
	cpuflat2="$(echo "$second" | col 5) -> $(echo "$last" | col 5)"
	rssw=$(echo "$first" | col 6); rsse=$(echo "$last" | col 6)
	mdbw=$(echo "$first" | col 8); mdbe=$(echo "$last" | col 8)
fi

mode=${FLUXFSD_OPTS:-}
[ -z "$mode" ] && mode=$([ "$(id -u)" = 0 ] && echo "a system instance (root: fluxfs-imp starts the jobs)" || echo "a user instance")
printf '\n%s, %s cores, fluxfsd %s\nuptime before: %s\nuptime after:  %s\n' "$(uname -r)" "$(nproc)" \
	"$mode" "$before" "$(uptime)"
printf '| %-52s | %14s | %-44s | %9s |\n' measurement fluxfs "ceiling (same machine, same run)" fraction
printf '|%s|%s|%s|%s|\n' "------------------------------------------------------" "----------------" \
	"----------------------------------------------" "-----------"
row() { printf '| %-52s | %14s | %-44s | %9s |\n' "$1" "$2" "$3" "$4"; }
row "end to end, submit --cc=1-$E2E true (jobs/s)" "$cc" "posix_spawn+wait, 2 in flight: $spawn2" "$(pct "$cc" "$spawn2")"
row "end to end, submit --cc=1-$DEEP true (jobs/s)" "$deep" "the same, $E2E queued: $cc" "$(pct "$deep" "$cc")"
row "fluxfs CPU per job, --cc=1-$DEEP (us)" "$cpujob" "budget at 80% of the spawn ceiling: $budget" "$(pct "$budget" "$cpujob")"
row "end to end, $E2E true, 4 C clients (jobs/s)" "$e2e4" "posix_spawn+wait, 2 in flight: $spawn2" "$(pct "$e2e4" "$spawn2")"
row "durable submissions, queue/new, 4 C clients (/s)" "$new4" "raw FUSE create+write+close, 4: $null4" "$(pct "$new4" "$null4")"
row "durable submissions, create+write+close, 4 (/s)" "$create4" "raw FUSE create+write+close, 4: $null4" "$(pct "$create4" "$null4")"
row "durable submissions, queue/new, 1 C client (/s)" "$new1" "raw FUSE, 1: $null1; page+fdatasync: $page1" "$(pct "$new1" "$page1")"
row "bash cp loop into queue/, its jobs running (/s)" "$cpflux" "the same loop into a do-nothing FUSE: $cpnull" "$(pct "$cpflux" "$cpnull")"
row "close() of a cp, its jobs running (ms p50 / p90)" "$closelat" "one page+fdatasync from idle: $pageidle" "-"
row "fluxfs run true, median of $LAT (ms)" "$run" "2 spawns + 1 sync from idle ($pageidle): $floor" "$(pct "$floor" "$run")"
row "... beside that floor + 1 raw FUSE create (ms)" "$run" "$floor + 1 create+write+close ($null1/s): $floorfs" "$(pct "$floorfs" "$run")"
row "... the fluxfs command's own start (spawns/s)" "$cli1" "posix_spawn+wait of /bin/true: $spawn1" "$(pct "$cli1" "$spawn1")"
row "fluxfs run true, 2 brokers: leader / follower (ms)" "$runl / $runf" "follower within 1 ms of the leader" "-"
row "durable queue/new x4, 2 brokers: leader / follower" "$ovl4 / $ovl4f" "1 broker: $new4" "$(pct "$ovl4" "$new4")"
row "latency submit->INACTIVE, true, C client (ms)" "$lat" "" "-"
row "flat at scale: first / last tenth of $SCALE (jobs/s)" "$flat" "" "-"
row "fluxfsd CPU per job: first / last tenth (us)" "$cpuflat" "" "-"
row "... retention full: second / last tenth (jobs/s)" "$flat2" "the first tenth purges nothing" "-"
row "... fluxfsd CPU per job: second / last tenth (us)" "$cpuflat2" "" "-"
row "RssAnon kB: retention full / end of $SCALE" "$rssw / $rsse" "fresh: $rss0; after $done_jobs jobs: $rss1" "-"
row "store data.mdb kB: retention full / end" "$mdbw / $mdbe" "" "-"
row "RssAnon kB after $DEEP were queued at once" "$rss2" "before: $rss1" "-"
row "durable puts, batched 100/commit (puts/s)" "-" "LMDB: $lmdb100" "-"
row "durable commits, 1 put each (commits/s)" "-" "LMDB: $lmdb1" "-"
row "spawn one at a time (spawns/s)" "-" "posix_spawn+wait: $spawn1" "-"
row "... of a program without libc (spawns/s)" "-" "$spawnnl: libc's start is $libcstart us of each" "-"
row "one CPUID instruction (us; glibc's start asks ~70)" "-" "$cpuid" "-"
