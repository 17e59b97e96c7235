#!/bin/bash
# bench-cpu.sh [N] - where the CPU of a `true` job goes: N one-core `true`
# jobs (default 3000, after 200 to warm up) through a fresh instance, and
# the CPU time each part of fluxfs took per job, from /proc (utime+stime):
# the broker's threads by name, the privileged helper, the publisher's
# process, and the whole machine (which includes `true` itself, whose
# fork/exec/exit is the spawn ceiling of bench.sh). Run as root it is a
# system instance; FLUXFSD_OPTS="--user root" measures one without the
# helper. Not a test: run it on a quiet machine.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build}
N=${1:-3000}
. "$top/tests/bench/bench-lib.sh"
bench_work cpu
trap bench_work_done EXIT
# shellcheck disable=SC2086
"$BUILD/fsd/fluxfsd" ${FLUXFSD_OPTS:-} --state "$work/state" "$work/mnt" 2>/dev/null
pid=$(pgrep -f -- "--state $work/state" | head -1)
sleep 0.3
imp=$(pgrep -P "$pid" -x fluxfs-imp || true)
pub=$(pgrep -P "$pid" -x fluxfs-publish || true)
ticks() { [ -n "$1" ] && awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
threads() { for t in /proc/"$pid"/task/*; do echo "$(basename "$t") $(tr ' ' _ < "$t/comm") $(awk '{ print $14 + $15 }' "$t/stat")"; done; }
machine() { awk '/^cpu / { print $2 + $3 + $4 + $6 + $7 + $8 }' /proc/stat; }
inactive() { awk '/^inactive:/ { print $2 }' "$work/mnt/status"; }

"$BUILD/tools/fluxfs" -m "$work/mnt" submit --cc=1-200 true >/dev/null
while [ "$(inactive)" != 200 ]; do sleep 0.05; done
before=$(uptime)
threads > "$work/t0"; i0=$(ticks "$imp"); p0=$(ticks "$pub"); m0=$(machine); t0=$EPOCHREALTIME
"$BUILD/tools/fluxfs" -m "$work/mnt" submit --cc=1-"$N" true >/dev/null
while [ "$(inactive)" != $((N + 200)) ]; do sleep 0.05; done
t1=$EPOCHREALTIME
threads > "$work/t1"; i1=$(ticks "$imp"); p1=$(ticks "$pub"); m1=$(machine)
hz=$(getconf CLK_TCK)
us() { awk -v t="$1" -v n="$N" -v hz="$hz" 'BEGIN { printf "%8.0f", t * 1e6 / hz / n }'; }

printf '\n%s, %s cores, %s true jobs\nuptime before: %s\nuptime after:  %s\n' "$(uname -r)" "$(nproc)" "$N" "$before" "$(uptime)"
awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "rate: %.0f jobs/s\n", n / (b - a) }'
printf '| %-28s | %8s |\n' "part" "us/job"
printf '|%s|%s|\n' "------------------------------" "----------"
join <(sort "$work/t0") <(sort "$work/t1") | while read -r _ name a _ b; do
	if [ "$b" -gt "$a" ]; then printf '| broker thread %-14s | %s |\n' "$name" "$(us $((b - a)))"; fi
done
[ -n "$imp" ] && printf '| %-28s | %s |\n' "fluxfs-imp (all threads)" "$(us $((i1 - i0)))"
[ -n "$pub" ] && printf '| %-28s | %s |\n' "fluxfs-publish" "$(us $((p1 - p0)))"
printf '| %-28s | %s |\n' "the whole machine" "$(us $((m1 - m0)))"
