#!/bin/bash
# bench-idle.sh [N] - where a 2-core machine's time goes in a bulk run:
# N one-core `true` jobs (default 4000) through a fresh instance, traced
# with sched tracepoints for 0.6 s in the middle, then
#   - the share of CPU time idle,
#   - per core, the time from a task's exit to the next task's exec there
#     (mean and percentiles: the tail is where throughput goes),
#   - the idle stretches, by what ran before and after them,
#   - the share of the time with 0, 1, 2... `true`s between exec and exit
#     (how often every core has a job: the ceiling keeps both busy about
#     twice as often as fluxfs did in stop 38),
#   - context switches per job.
# The same for posix_spawn+wait of /bin/true, 2 in flight, beside it.
# Tracing costs a little; compare shapes, not rates. Needs perf (root).
# Not a test.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build}
N=${1:-4000}
. "$top/tests/bench/bench-lib.sh"
bench_work idle
trap bench_work_done EXIT
idle_init "$work"
events=(-e sched:sched_switch -e sched:sched_process_exit -e sched:sched_process_exec)
"$BUILD/fsd/fluxfsd" --state "$work/state" "$work/mnt" 2>/dev/null
"$BUILD/tools/fluxfs" -m "$work/mnt" submit --cc=1-300 true >/dev/null
idle "$work/mnt"
"$BUILD/tools/fluxfs" -m "$work/mnt" submit --cc="1-$N" true >/dev/null
sleep 0.3
perf record -q -o "$work/fx.data" "${events[@]}" -a -- sleep 0.6
idle "$work/mnt"
perf record -q -o "$work/sp.data" "${events[@]}" -a -- "$BUILD/tests/bench/bench-spawn" "$N" 2 >/dev/null
perf script -i "$work/fx.data" -F comm,pid,cpu,time,event,trace > "$work/fx.txt" 2>/dev/null
perf script -i "$work/sp.data" -F comm,pid,cpu,time,event,trace > "$work/sp.txt" 2>/dev/null
echo "$(uname -r), $(nproc) cores, $N true jobs; load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/fx.txt" "$work/sp.txt" <<'PY'
import re, sys
from collections import defaultdict
def analyse(path, name):
    idle_at, gaps = {}, defaultdict(list)
    exit_at, exec_at, turn, run = {}, {}, [], []
    marks, switches = [], 0   # (time, +1 exec / -1 exit) of `true`s
    first = last = None
    for line in open(path):
        m = re.match(r'\s*(\S.*?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)', line)
        if not m:
            continue
        comm, pid, cpu, t, ev, rest = m.groups()
        t, cpu = float(t) * 1e6, int(cpu)
        first = first if first is not None else t
        last = t
        if ev.endswith('sched_switch'):
            switches += 1
            nxt = re.search(r'next_comm=(.*?) next_pid=(\d+)', rest)
            prv = re.search(r'prev_comm=(.*?) prev_pid=', rest)
            if nxt.group(2) == '0':
                idle_at[cpu] = (t, prv.group(1))
            elif cpu in idle_at:
                t0, before = idle_at.pop(cpu)
                gaps[(before, nxt.group(1))].append(t - t0)
        elif ev.endswith('sched_process_exit') and comm == 'true':
            marks.append((t, -1))
            exit_at[cpu] = t
            if cpu in exec_at:
                run.append(t - exec_at.pop(cpu))
        elif ev.endswith('sched_process_exec') and rest.split()[0].endswith('/true'):
            marks.append((t, +1))
            exec_at[cpu] = t
            if cpu in exit_at:
                turn.append(t - exit_at.pop(cpu))
    span = (last - first) * 2
    idle = sum(sum(v) for v in gaps.values())
    print(f"\n{name}: idle {100 * idle / span:.0f}% of 2 cores over {span / 2000:.0f} ms")
    for label, v in (("exit -> next exec, same core", turn), ("exec -> exit", run)):
        v.sort()
        if v:
            q = lambda f: v[min(len(v) - 1, int(len(v) * f))]
            print(f"  {label:30s} n={len(v):5d} mean {sum(v) / len(v):5.0f}  p50 {q(.5):5.0f}"
                  f"  p90 {q(.9):5.0f}  p99 {q(.99):5.0f} us")
    # in flight: from the first mark on, a count never below 0 (a task
    # that exec'd before the trace began exits inside it)
    held, n, prev = defaultdict(float), 0, None
    for t, d in marks:
        if prev is not None:
            held[n] += t - prev
        n, prev = max(0, n + d), t
    total = sum(held.values())
    if total > 0:
        print("  time with N in flight: " + ", ".join(
            f"{k}: {100 * held[k] / total:.0f}%" for k in sorted(held)))
    if run:
        print(f"  context switches per job: {switches / len(run):.1f}")
    print("  idle stretches (before -> after: count, total ms, median us):")
    for (b, a), v in sorted(gaps.items(), key=lambda kv: -sum(kv[1]))[:8]:
        v.sort()
        print(f"    {b:>15s} -> {a:15s} {len(v):5d} {sum(v) / 1000:7.1f} {v[len(v) // 2]:6.0f}")
analyse(sys.argv[1], "fluxfs, submit --cc")
analyse(sys.argv[2], "ceiling, posix_spawn+wait, 2 in flight")
PY
