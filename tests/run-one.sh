#!/bin/bash
# tests/run-one.sh TEST.t: run one end-to-end test for `meson test` (suite
# e2e) and for run-tests.sh. The test's TAP goes to stdout unchanged; then
# whatever it left behind is cleaned up here: a test that timed out or was
# killed cannot run its own EXIT trap to the end, and meson gives a test
# half a second between SIGTERM and SIGKILL.
# Exit status: the test's; 124 or 137 if it timed out; 99 if it passed but
# left FUSE mounts or processes behind.
# env: FLUXFSD, FLUXFS_SHARED (defaults as in lib.sh), TEST_TIMEOUT
# (seconds, default 300: keep it below meson's timeout for the test), and
# FLUXFS_TEST_DIRS (the file where lib.sh lists the test's temp dirs;
# run-tests.sh passes its own, emptied before each test).
set -u
[ $# -eq 1 ] || { echo "usage: $0 TEST.t" >&2; exit 2; }
t=$1
SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SRCDIR/.." && pwd)
export FLUXFSD=${FLUXFSD:-$REPO/build/fsd/fluxfsd}
export FLUXFS_SHARED=${FLUXFS_SHARED:-$REPO/../shared}
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
dirs_file=
if [ -z "${FLUXFS_TEST_DIRS:-}" ]; then
	dirs_file=$(mktemp /tmp/fluxfs-dirs.XXXXXX) || exit 2
	export FLUXFS_TEST_DIRS=$dirs_file
fi

# reap DIR: abort and unmount the FUSE mounts under DIR, kill the processes
# that name it, remove it. Returns 1 if anything was left.
reap() {
	local d=$1 left=0 m c p
	for m in $(awk -v t="$d" 'index($2, t "/") == 1 { print $2 }' /proc/mounts); do
		left=1
		echo "# leftover mount $m"
		c=$(awk -v m="$m" '$5 == m { split($3, x, ":"); print x[2] }' /proc/self/mountinfo | tail -1)
		if [ -n "$c" ] && [ -w "/sys/fs/fuse/connections/$c/abort" ]; then
			echo 1 > "/sys/fs/fuse/connections/$c/abort"
		else
			umount -f "$m" 2>/dev/null
		fi
		timeout 5 fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null
	done
	for p in $(pgrep -f -- "$d/"); do
		left=1; echo "# leftover process $p: $(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null)"
		kill -9 "$p" 2>/dev/null
	done
	[ -d "$d" ] && rm -rf --one-file-system "$d" 2>/dev/null
	return $left
}

# timeout(1) puts the test in a process group of its own, so a SIGKILL to
# ours (meson's, half a second after its SIGTERM) does not cut the test's
# cleanup short; a SIGTERM to us is passed on, and the test's EXIT trap
# unmounts what it mounted.
timeout -k 10 "$TEST_TIMEOUT" bash "$t" </dev/null &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT HUP
while :; do
	wait "$pid"
	rc=$?
	kill -0 "$pid" 2>/dev/null || break	# else a trapped signal woke us
done
trap - TERM INT HUP

for d in $(cat "$FLUXFS_TEST_DIRS"); do
	if ! reap "$d"; then
		echo "# $(basename "$t") left mounts or processes behind"
		[ "$rc" -eq 0 ] && rc=99
	fi
done
[ -n "$dirs_file" ] && rm -f "$dirs_file"
exit "$rc"
