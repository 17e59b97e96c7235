#!/bin/bash
# tests/run-tests.sh: run the C unit tests and every tests/t*.t, count TAP
# assertions, print per-file summaries and a final "N passed, N failed".
# Usage: tests/run-tests.sh [-v] [TEST.t ...]
# env: BUILD, TEST_TIMEOUT, UNIT_TIMEOUT, EXTRA_UNIT_BUILDS
# -v shows every TAP line. Exit status is non-zero if anything failed.
set -u
SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SRCDIR/.." && pwd)
BUILD=${BUILD:-$REPO/build}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "no build dir ${BUILD}" >&2; exit 2; }
export TEST_TIMEOUT=${TEST_TIMEOUT:-300}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-120}
export FLUXFSD=${FLUXFSD:-$BUILD/fsd/fluxfsd}
export FLUXFS_SHARED=${FLUXFS_SHARED:-$REPO/../shared}
verbose=
[ "${1:-}" = -v ] && { verbose=1; shift; }

total_pass=0
total_fail=0
failed_files=()
LOG=$(mktemp /tmp/fluxfs-run.XXXXXX)
export FLUXFS_TEST_DIRS=$LOG.dirs
trap 'rm -f "$LOG" "$LOG.err" "$FLUXFS_TEST_DIRS" "$FLUXFS_TEST_DIRS.all"' EXIT
: > "$LOG.err"

# tap_count NAME RC: parse $LOG (TAP output of one test program, exit RC)
tap_count() {
	local name=$1 rc=$2 plan= pass=0 fail=0 skip=0 todo=0 n=0 line extra=0 why=
	while IFS= read -r line; do
		case $line in
		"ok "*)	n=$((n + 1)); pass=$((pass + 1))
			[[ $line == *"# skip"* || $line == *"# SKIP"* ]] && skip=$((skip + 1)) ;;
		"not ok "*)
			n=$((n + 1))
			if [[ $line == *"# TODO"* ]]; then pass=$((pass + 1)); todo=$((todo + 1)); else fail=$((fail + 1)); fi ;;
		1..*)	plan=${line#1..}
			[[ $plan == *"# "[Ss][Kk][Ii][Pp]* ]] && why="skipped: ${plan#*# }"
			plan=${plan%% *} ;;
		"Bail out!"*) why="bailed out"; extra=1 ;;
		esac
		if [ -n "$verbose" ] || [[ $line == "not ok "* || $line == "Bail out!"* || $line == *"# TODO"* ]]; then
			echo "    $line"
		fi
	done <"$LOG"
	if [ -z "$verbose" ] && [ "$fail" -gt 0 ]; then
		# show the diagnostics of failures
		grep -A8 '^not ok ' "$LOG" | grep '^#' | head -40 | sed 's/^/    /'
	fi
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		why="timed out"; extra=1
	elif [ -z "$plan" ]; then
		why="no plan"; extra=1
	elif [ "$plan" != "$n" ]; then
		why="planned $plan, ran $n"; extra=1
	elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		why="exit status $rc"; extra=1
	fi
	if [ "$extra" -gt 0 ] && [ -z "$verbose" ]; then
		echo "    --- last lines of output:"; tail -15 "$LOG" | sed 's/^/    | /'
		[ -s "$LOG.err" ] && { echo "    --- stderr:"; tail -10 "$LOG.err" | sed 's/^/    ! /'; }
	fi
	# a crash, timeout or plan mismatch counts as at least one failure
	[ "$extra" -gt 0 ] && [ "$fail" -eq 0 ] && fail=1
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	local s="pass $pass"
	[ "$skip" -gt 0 ] && s="$s (skip $skip)"
	[ "$todo" -gt 0 ] && s="$s (known bugs, TODO: $todo)"
	s="$s, fail $fail"
	[ -n "$why" ] && s="$s ($why)"
	if [ "$fail" -gt 0 ]; then
		failed_files+=("$name")
		printf '%-36s FAIL  %s\n' "$name" "$s"
	else
		printf '%-36s ok    %s\n' "$name" "$s"
	fi
}

# run_units BUILDDIR PREFIX: the meson 'unit' suite of BUILDDIR, each
# binary run directly so that its TAP can be counted
run_units() {
	local build=$1 prefix=$2 units name tmo wd envs cmd
	ninja -C "$build" >/dev/null || { echo "ninja -C $build failed" >&2; exit 2; }
	units=$(meson introspect "$build" --tests | python3 -c '
import json, sys, shlex
for t in json.load(sys.stdin):
    if "unit" not in t.get("suite", []) and not any(s.endswith(":unit") for s in t.get("suite", [])):
        continue
    env = " ".join(shlex.quote(k + "=" + v) for k, v in (t.get("env") or {}).items())
    # fields separated by US (0x1f), so that empty ones (no workdir, no
    # env) keep their place when read back
    print("\x1f".join([t["name"], str(t.get("timeout") or 30), t.get("workdir") or "", env,
                       " ".join(shlex.quote(c) for c in t["cmd"])]))
')
	while IFS=$'\x1f' read -r name tmo wd envs cmd; do
		[ -n "$name" ] || continue
		( if [ -n "$wd" ]; then cd "$wd" || exit 1; fi
		  eval "exec env $envs timeout -k 5 $UNIT_TIMEOUT $cmd" ) >"$LOG" 2>"$LOG.err" </dev/null
		tap_count "$prefix$name" $?
	done <<<"$units"
}

start=$SECONDS
if [ $# -eq 0 ]; then
	run_units "$BUILD" unit/
	# EXTRA_UNIT_BUILDS: more build dirs (another compiler) whose unit
	# tests run too, named DIR/unit/...
	for b in ${EXTRA_UNIT_BUILDS:-}; do
		run_units "$b" "$(basename "$b")/unit/"
	done
	set -- "$SRCDIR"/t[0-9]*.t
	# meson test runs the e2e tests tests/meson.build lists: all of them
	e2e=$(meson introspect "$BUILD" --tests | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if any(s == "e2e" or s.endswith(":e2e") for s in t.get("suite", [])):
        print(t["name"])
')
	for t in "$@"; do
		name=$(basename "$t" .t)
		grep -qxF "$name" <<<"$e2e" && continue
		printf '%-36s FAIL  not in tests/meson.build: meson test skips it\n' "$name.t"
		failed_files+=("$name.t")
		total_fail=$((total_fail + 1))
	done
fi

for t in "$@"; do
	name=$(basename "$t")
	t0=$SECONDS
	: > "$FLUXFS_TEST_DIRS"
	# TAP from stdout only: stray stderr text must not split TAP lines.
	# run-one.sh applies TEST_TIMEOUT and reaps what the test left behind.
	"$SRCDIR/run-one.sh" "$t" >"$LOG" 2>"$LOG.err" </dev/null
	rc=$?
	cat "$FLUXFS_TEST_DIRS" >> "$FLUXFS_TEST_DIRS.all"
	tap_count "$name" "$rc"
	[ $((SECONDS - t0)) -gt 30 ] && echo "    (took $((SECONDS - t0))s)"
done

# every temp dir of this run must be gone, with no mount left behind
left=0
for d in $(cat "$FLUXFS_TEST_DIRS.all" 2>/dev/null); do
	if grep -q " $d/" /proc/mounts || [ -e "$d" ]; then
		echo "# WARNING: $d (mount or directory) left behind"; left=$((left + 1))
	fi
done
[ "$left" -gt 0 ] && total_fail=$((total_fail + 1))
echo "# runtime $((SECONDS - start))s"
[ ${#failed_files[@]} -gt 0 ] && echo "# failed: ${failed_files[*]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
