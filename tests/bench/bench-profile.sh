#!/bin/bash
# bench-profile.sh [N] - where the broker's loop thread spends its time:
# perf with DWARF stacks on the loop thread while N one-core `true` jobs
# (default 3000, after 200 to warm up) go through a fresh instance, then
# the top functions by self time and by inclusive time (a function counted
# once per sample however deep it recurses). Needs perf and a build with
# debug info (the default). OUT=dir keeps perf.data there. Not a test.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build}
N=${1:-3000}
TOP=${TOP:-40}
work=$(mktemp -d /tmp/fluxfs-bench-profile.XXXXXX)
out=${OUT:-$work}
chmod 755 "$work"
mkdir "$work/mnt" "$work/state"
cleanup() {
	fusermount3 -u "$work/mnt" 2>/dev/null || { sleep 0.5; fusermount3 -uz "$work/mnt" 2>/dev/null; } || true
	rm -rf --one-file-system "$work/mnt" "$work/state"
	if [ "$out" = "$work" ]; then rm -rf "$work"; else rmdir "$work" 2>/dev/null; fi
	return 0
}
trap cleanup EXIT
# shellcheck disable=SC2086
"$BUILD/fsd/fluxfsd" ${FLUXFSD_OPTS:-} --state "$work/state" "$work/mnt" 2>/dev/null
pid=$(pgrep -f -- "--state $work/state" | head -1)
sleep 0.3
inactive() { awk '/^inactive:/ { print $2 }' "$work/mnt/status"; }
"$BUILD/tools/fluxfs" -m "$work/mnt" submit --cc=1-200 true >/dev/null
while [ "$(inactive)" != 200 ]; do sleep 0.05; done
perf record -q -F 2000 --call-graph dwarf,16384 -t "$pid" -o "$out/perf.data" 2>/dev/null &
perf_pid=$!
sleep 0.5
"$BUILD/tools/fluxfs" -m "$work/mnt" submit --cc=1-"$N" true >/dev/null
while [ "$(inactive)" != $((N + 200)) ]; do sleep 0.05; done
kill -INT "$perf_pid"; wait "$perf_pid" || true
perf script -F ip,sym -i "$out/perf.data" 2>/dev/null | python3 -c '
import sys, collections
top = int(sys.argv[1])
self_, incl, n, stack = collections.Counter(), collections.Counter(), 0, []
def flush():
    global n
    if not stack: return
    n += 1
    self_[stack[0]] += 1
    for s in set(stack): incl[s] += 1
for line in sys.stdin:
    line = line.strip()
    if not line:
        flush(); stack = []; continue
    parts = line.split(None, 1)
    stack.append(parts[1] if len(parts) > 1 else parts[0])
flush()
print("%d samples of the loop thread" % n)
for title, c in (("self", self_), ("inclusive", incl)):
    print("\n| %-50s | %6s |" % (title, "%"))
    print("|%s|%s|" % ("-" * 52, "-" * 8))
    for s, k in c.most_common(top):
        print("| %-50s | %6.1f |" % (s[:50], 100.0 * k / n))
' "$TOP"
