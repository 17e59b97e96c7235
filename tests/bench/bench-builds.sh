#!/bin/bash
# bench-builds.sh OLD_BUILD NEW_BUILD - the same four figures for two
# builds of fluxfs, interleaved in one run (old, new, old, new...), beside
# the ceilings measured in the same run: whether a change (a refactoring)
# made fluxfs slower. Not part of the test suite: figures depend on the
# machine and its load; run it on a quiet machine.
#   REPS=3   rounds (median reported, [min-max])
#   N=1000   jobs for the end-to-end bulk figure
#   SUB=2000 submissions from 4 C clients
#   LAT=30   `fluxfs run true` in a loop
#   CLOSE=300 cp-style submissions one at a time, their jobs running: the
#            close()'s median and p90 (NEW_BUILD's bench-submit for both)
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OLD_BUILD NEW_BUILD" >&2; exit 2; }
OLD=$(cd "$1" && pwd); NEW=$(cd "$2" && pwd)
REPS=${REPS:-3}; N=${N:-1000}; SUB=${SUB:-2000}; LAT=${LAT:-30}; CLOSE=${CLOSE:-300}
work=$(mktemp -d /tmp/fluxfs-bench-builds.XXXXXX)
chmod 755 "$work"   # a root fluxfsd runs as the fluxfs user: it must reach its state here
MNT=$work/mnt
cleanup() {
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null || true
	fusermount3 -u "$work/null" 2>/dev/null || true
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
before=$(uptime)   # a figure and its ceiling count only from a quiet run

now() { echo "$EPOCHREALTIME"; }   # a subshell, not an exec of date (~0.7 ms here)
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) * 1000 }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
spread() {   # "median [min-max]" of the words on stdin
	local v; v=$(tr ' ' '\n' | grep -v '^$' | sort -g | tr '\n' ' ')
	echo "$v" | awk '{ printf "%s [%s-%s]", $(int((NF + 1) / 2)), $1, $NF }'
}
. "$(dirname "$0")/bench-lib.sh"
idle_init "$work"

start() {   # start BUILD: a fresh instance of that build at $MNT
	rm -rf --one-file-system "$work/state"; mkdir -p "$work/state" "$MNT"
	"$1/fsd/fluxfsd" --state "$work/state" --purge-age 60 "$MNT"
}
stop() { fusermount3 -u "$MNT" || { sleep 0.5; fuser -vm "$MNT" >&2; fusermount3 -u "$MNT"; }; while pgrep -f -- "--state $work/state" >/dev/null; do sleep 0.05; done; }

measure() {   # measure BUILD -> "e2e_rate sub4_rate lat_ms close_p50 close_p90"
	local b=$1 t0 t1 e2e sub4 lat i v= cl
	start "$b"
	t0=$EPOCHREALTIME; "$b/tools/fluxfs" -m "$MNT" submit --cc="1-$N" true >/dev/null; idle "$MNT"; t1=$EPOCHREALTIME
	e2e=$(rate "$N" "$t0" "$t1")
	sub4=$("$b/tests/bench/bench-submit" "$MNT" "$SUB" 4 | grep -o "= [0-9.]*" | head -1 | awk '{ printf "%.0f", $2 }')
	idle "$MNT"
	for ((i = 0; i < LAT; i++)); do
		t0=$EPOCHREALTIME; "$b/tools/fluxfs" -m "$MNT" run true; t1=$EPOCHREALTIME
		v+=" $(ms "$t0" "$t1")"
	done
	lat=$(echo "$v" | median)
	idle "$MNT"
	cl=$("$NEW/tests/bench/bench-submit" "$MNT/queue" "$CLOSE" 1 --close-latency | awk '{ print $4, $6 }')
	idle "$MNT"
	stop
	echo "$e2e $sub4 $lat $cl"
}

B=$NEW/tests/bench
echo "# ceilings" >&2
spawn2=$("$B/bench-spawn" 2000 2 | grep -o "= [0-9.]*" | head -1 | awk '{ printf "%.0f", $2 }')
mkdir -p "$work/null"; "$B/bench-nullfs" "$work/null" & sleep 0.5
null4=$("$B/bench-submit" "$work/null" "$SUB" 4 --create | grep -o "= [0-9.]*" | head -1 | awk '{ printf "%.0f", $2 }')
fusermount3 -u "$work/null"
declare -A r
for ((k = 1; k <= REPS; k++)); do
	for which in old new; do
		b=$OLD; [ "$which" = new ] && b=$NEW
		echo "# round $k: $which" >&2
		read -r e s l c50 c90 < <(measure "$b")
		r[$which.e2e]+=" $e"; r[$which.sub]+=" $s"; r[$which.lat]+=" $l"
		r[$which.c50]+=" $c50"; r[$which.c90]+=" $c90"
	done
done
printf '\n%s, %s cores; REPS=%s\nuptime before: %s\nuptime after:  %s\n' "$(uname -r)" "$(nproc)" "$REPS" "$before" "$(uptime)"
printf '| %-42s | %-22s | %-22s | %-30s |\n' measurement "old (median [min-max])" "new (median [min-max])" "ceiling, same run"
printf '|%s|%s|%s|%s|\n' "--------------------------------------------" "------------------------" "------------------------" "--------------------------------"
printf '| %-42s | %-22s | %-22s | %-30s |\n' "end to end, --cc=1-$N true (jobs/s)" "$(echo "${r[old.e2e]}" | spread)" "$(echo "${r[new.e2e]}" | spread)" "spawn+wait, 2 in flight: $spawn2"
printf '| %-42s | %-22s | %-22s | %-30s |\n' "queue/new submissions, 4 C clients (/s)" "$(echo "${r[old.sub]}" | spread)" "$(echo "${r[new.sub]}" | spread)" "raw FUSE creates, 4: $null4"
printf '| %-42s | %-22s | %-22s | %-30s |\n' "fluxfs run true, median of $LAT (ms)" "$(echo "${r[old.lat]}" | spread)" "$(echo "${r[new.lat]}" | spread)" ""
printf '| %-42s | %-22s | %-22s | %-30s |\n' "cp-style close(), jobs running: p50 (ms)" "$(echo "${r[old.c50]}" | spread)" "$(echo "${r[new.c50]}" | spread)" "one sync from idle: bench.sh"
printf '| %-42s | %-22s | %-22s | %-30s |\n' "... p90 (ms)" "$(echo "${r[old.c90]}" | spread)" "$(echo "${r[new.c90]}" | spread)" ""
