#!/bin/bash
# bench-loaded.sh [BUILD] - how promptly the tree answers while a job keeps
# every core busy (a compute node's normal state), with the broker at the
# jobs' nice (--nice 0) and at its default, 5 steps above (fluxfsd --nice),
# interleaved. A system instance (run as root). Per round and setting: the
# close() of a cp-style submission, median and p90 (held: every core is
# taken, so what is measured is the submission's path through the broker,
# its helper and the syncer). Not part of the test suite.
#   REPS=3    rounds
#   CLOSE=200 submissions per round
#   SPIN=4    busy processes per core in the job
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$top/build}" && pwd)
REPS=${REPS:-3}; CLOSE=${CLOSE:-200}; SPIN=${SPIN:-4}
. "$top/tests/bench/bench-lib.sh"
bench_work loaded
trap bench_work_done EXIT
M=$work/mnt
ncores=$(nproc)
before=$(uptime)

one() {   # one NICE_OPTS...: "p50 p90" of the closes, busy cores
	rm -rf --one-file-system "$work/state"; mkdir -p "$work/state"
	"$BUILD/fsd/fluxfsd" "$@" --state "$work/state" "$M" 2>/dev/null
	"$BUILD/tools/fluxfs" -m "$M" submit -n "$ncores" sh -c \
		"for i in \$(seq $((SPIN - 1))); do (while :; do :; done) & done; while :; do :; done" >/dev/null
	sleep 1   # the spinners start
	"$BUILD/tests/bench/bench-submit" "$M/queue" "$CLOSE" 1 --close-latency --held 2>/dev/null \
		| awk '{ print $4, $6 }'
	"$BUILD/tools/fluxfs" -m "$M" cancel --all >/dev/null 2>&1 || true
	fusermount3 -u "$M" || { sleep 1; fusermount3 -u "$M"; }
	while pgrep -f -- "--state $work/state" >/dev/null; do sleep 0.05; done
}
same=() dflt=()
for ((r = 0; r < REPS; r++)); do
	same+=("$(one --nice 0)")
	dflt+=("$(one)")
done
after=$(uptime)
spread() { sort -g | awk '{ v[NR] = $1 } END { printf "%s [%s-%s]", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
col() { printf '%s\n' "${@:2}" | awk -v c="$1" '{ print $c }' | spread; }
echo "$(uname -r), $(nproc) cores; REPS=$REPS, $CLOSE closes, a job of $ncores tasks x $SPIN spinners"
echo "uptime before: $before"
echo "uptime after:  $after"
printf '| %-44s | %-22s | %-22s |\n' "close() of a cp into queue/, every core busy" "--nice 0 (the jobs')" "default (5 above)"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..24})" "$(printf -- '-%.0s' {1..24})"
printf '| %-44s | %-22s | %-22s |\n' "p50 (ms), median [min-max] of rounds" "$(col 1 "${same[@]}")" "$(col 1 "${dflt[@]}")"
printf '| %-44s | %-22s | %-22s |\n' "p90 (ms)" "$(col 2 "${same[@]}")" "$(col 2 "${dflt[@]}")"
