#!/bin/bash
# tests/fuzz/run.sh [SECONDS] [TARGET...] - build the libFuzzer targets
# (clang, ASan + UBSan, build-fuzz/) and run each for SECONDS (default 60),
# starting from the seed corpus here (and, for fuzz-jobspec, Flux's jobspecs
# in ../shared/conformance when present). Not part of the test suite.
# Prints one line per target: executions, corpus size, and findings; a
# finding's input is kept in build-fuzz/findings/ (reproduce it with
# build-fuzz/tests/fuzz/TARGET FILE).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ $# -eq 0 ] && targets=(fuzz-jobspec fuzz-overlay fuzz-ctl fuzz-imp)
build=$top/build-fuzz
"$top/scripts/deps.sh"
CC=clang "$top/scripts/build.sh" "$build" -Dfuzz=true -Db_sanitize=address,undefined \
	-Db_lundef=false
mkdir -p "$build/findings"
export ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0
export LSAN_OPTIONS=suppressions=$top/tests/lsan.supp
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
printf '%-14s %8s %12s %10s %8s %s\n' target seconds executions exec/s corpus findings
rc=0
for t in "${targets[@]}"; do
	seeds=$top/tests/fuzz/corpus/${t#fuzz-}
	work=$build/corpus/$t
	mkdir -p "$work"
	extra=()
	if [ "$t" = fuzz-jobspec ] && [ -d "$top/../shared/conformance/jobspec" ]; then
		for d in "$top"/../shared/conformance/jobspec/*/; do extra+=("$d"); done
	fi
	log=$build/$t.log
	set +e
	"$build/tests/fuzz/$t" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$build/findings/$t-" \
		"$work" "$seeds" "${extra[@]}" > "$log" 2>&1
	status=$?
	set -e
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	persec=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	corpus=$(ls "$work" | wc -l)
	found=$(ls "$build/findings" | grep -c "^$t-" || true)
	printf '%-14s %8s %12s %10s %8s %s\n' "$t" "$secs" "${execs:-?}" "${persec:-?}" "$corpus" \
		"$found$([ "$status" -ne 0 ] && echo " (exit $status: see $log)")"
	[ "$status" -ne 0 ] && rc=1
done
exit $rc
