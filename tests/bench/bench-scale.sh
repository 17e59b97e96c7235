#!/bin/bash
# bench-scale.sh [NJOBS] - many `true` jobs through one instance: does the
# rate hold and does memory stay flat? Not part of the test suite.
#
#   BUILD=dir        fluxfs build directory (default <repo>/build)
#   NJOBS=100000     jobs in all (argument or environment)
#   CHUNK=1000       jobs per bulk submission (`fluxfs submit --cc`)
#   PURGE_KEEP=10000 PURGE_AGE=0   the instance's retention (--purge-keep/-age)
#   ACCT_KEEP=0.0005 days of accounting records kept (--acct-keep: 43 s,
#                    some 45,000 records here; the instance's default is a
#                    year, which a store cannot hold flat at 1,000 jobs/s)
#   EVERY=10000      print a row every EVERY jobs
#
# Jobs go in CHUNK at a time, two chunks in flight: chunk k+1 is submitted
# when chunk k-1 has completed, so the instance never idles and the queue
# stays short (what is measured is throughput at scale, not a deep queue).
# A chunk is complete when its last job's `wait` returns. Each row: jobs
# completed, the rate over the last EVERY jobs and over the last CHUNK,
# fluxfsd's CPU time per job over the row (all its threads, user and
# system: unlike the rates, barely moved by other work on the machine),
# its RssAnon (its anonymous memory: LMDB's file-backed map is not
# counted), the job records it holds, the store's file size and the pages
# on LMDB's free list (mdb_stat -f; a long free list makes every commit
# search it). The last lines compare the first and the last EVERY jobs.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
NJOBS=${1:-${NJOBS:-100000}}
CHUNK=${CHUNK:-1000}; EVERY=${EVERY:-10000}
PURGE_KEEP=${PURGE_KEEP:-10000}; PURGE_AGE=${PURGE_AGE:-0}; ACCT_KEEP=${ACCT_KEEP:-0.0005}
FLUXFS=$BUILD/tools/fluxfs

work=$(mktemp -d /tmp/fluxfs-scale.XXXXXX)
chmod 755 "$work"   # a root fluxfsd runs as the fluxfs user: it must reach its state here
mkdir -p "$work/mnt" "$work/state"
cleanup() {
	fusermount3 -u "$work/mnt" 2>/dev/null || fusermount3 -uz "$work/mnt" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

args=(--state "$work/state" --purge-keep "$PURGE_KEEP" --acct-keep "$ACCT_KEEP")
[ "$PURGE_AGE" != 0 ] && args+=(--purge-age "$PURGE_AGE")
"$BUILD/fsd/fluxfsd" "${args[@]}" "$work/mnt"
pid=$(pgrep -f -- "--state $work/state" | head -1)
now() { echo "$EPOCHREALTIME"; }   # a subshell, not an exec of date (~0.7 ms here)
rss() { awk '/RssAnon/ { print $2 }' "/proc/$pid/status"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }   # utime + stime, all threads
hz=$(getconf CLK_TCK)
freepages() { { mdb_stat -f "$work/state" 2>/dev/null || true; } | awk '/Free pages:/ { print $3 }'; }
held() { awk '/^jobs:/ { print $2 }' "$work/mnt/status"; }
submit() { "$FLUXFS" -m "$work/mnt" submit --cc=1-"$CHUNK" true | tail -1; }
waitjob() { cat "$work/mnt/jobs/$1/wait" >/dev/null; }

printf '# %s, %s cores, load %s; %d jobs, chunks of %d, --purge-keep %s%s --acct-keep %s\n' \
	"$(uname -r)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$NJOBS" "$CHUNK" \
	"$PURGE_KEEP" "$([ "$PURGE_AGE" != 0 ] && echo " --purge-age $PURGE_AGE")" "$ACCT_KEEP"
printf '| %9s | %12s | %12s | %10s | %12s | %10s | %12s | %10s |\n' jobs "jobs/s (row)" \
	"jobs/s (last)" "cpu us/job" "RssAnon kB" records "data.mdb kB" "free pages"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' ----------- -------------- -------------- ------------ \
	-------------- ------------ -------------- ------------
printf '| %9d | %12s | %12s | %10s | %12s | %10s | %12s | %10s |\n' 0 - - - "$(rss)" "$(held)" \
	"$(du -k "$work/state/data.mdb" | cut -f1)" "$(freepages)"

nchunks=$(( (NJOBS + CHUNK - 1) / CHUNK ))
t0=$(now); trow=$t0; tprev=$t0; crow=$(ticks)
last_prev=$(submit)
first_rate= last_rate= first_row= last_row= first_cpu= last_cpu=
for ((k = 1; k <= nchunks; k++)); do
	[ $k -lt $nchunks ] && last_next=$(submit)
	waitjob "$last_prev"
	t=$(now)
	rate=$(awk -v n="$CHUNK" -v a="$tprev" -v b="$t" 'BEGIN { printf "%.0f", n / (b - a) }')
	tprev=$t
	[ -z "$first_rate" ] && first_rate=$rate
	last_rate=$rate
	done_jobs=$((k * CHUNK))
	if [ $((done_jobs % EVERY)) -eq 0 ] || [ $k -eq $nchunks ]; then
		rowrate=$(awk -v n="$EVERY" -v a="$trow" -v b="$t" 'BEGIN { printf "%.0f", n / (b - a) }')
		c=$(ticks)
		cpu=$(awk -v n="$EVERY" -v d="$((c - crow))" -v hz="$hz" 'BEGIN { printf "%.0f", d * 1e6 / hz / n }')
		trow=$t; crow=$c
		[ -z "$first_row" ] && first_row=$rowrate && first_cpu=$cpu
		last_row=$rowrate; last_cpu=$cpu
		printf '| %9d | %12s | %12s | %10s | %12s | %10s | %12s | %10s |\n' "$done_jobs" "$rowrate" \
			"$rate" "$cpu" "$(rss)" "$(held)" "$(du -k "$work/state/data.mdb" | cut -f1)" "$(freepages)"
	fi
	[ $k -lt $nchunks ] && last_prev=$last_next
done
t=$(now)
awk -v n="$((nchunks * CHUNK))" -v a="$t0" -v b="$t" -v f="$first_row" -v l="$last_row" \
	-v e="$EVERY" 'BEGIN { printf "# %d jobs in %.0f s = %.0f jobs/s; first %d jobs at %d jobs/s, last %d at %d jobs/s (%+.0f%%)\n",
		n, b - a, n / (b - a), e, f, e, l, 100 * (l - f) / f }'
printf '# fluxfsd CPU per job: first %d jobs %s us, last %s us\n' "$EVERY" "$first_cpu" "$last_cpu"
printf '# load at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
