#!/bin/bash
# bench-timeline.sh [N] - where a core's turn between two `true` jobs goes:
# N one-core `true` jobs (default 2000) through a fresh instance, traced
# with perf (sched tracepoints, and uprobes on the broker), and for each
# job's exit the median time to each step of the next job's start on the
# core it freed: the broker's pidfd callback, the job's finish, the
# scheduling pass, the commit, the start, the spawn request to the helper,
# the helper waking, its fork, the new task's exec. The same tracepoints
# on posix_spawn+wait of /bin/true, 2 in flight (bench-spawn), give the
# ceiling's fork->exec, exec->exit and exit->next fork, side by side.
# Tracing slows both; compare steps, not rates. Needs perf with uprobes
# (root) and a build with symbols (the default). Not a test.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build}
N=${1:-2000}
. "$top/tests/bench/bench-lib.sh"
bench_work tl
probes="pidfd_cb jm_job_finish qmgr_schedule jobmgr_after_commit jm_job_start imp_queue_spawn"
cleanup() {
	perf probe -q -d 'probe_fluxfsd:*' 2>/dev/null || true
	bench_work_done
}
trap cleanup EXIT
events=(-e sched:sched_process_exec -e sched:sched_process_exit -e sched:sched_process_fork
	-e sched:sched_wakeup -e sched:sched_switch)
"$BUILD/fsd/fluxfsd" --state "$work/state" "$work/mnt" 2>/dev/null
sleep 0.3
"$BUILD/tools/fluxfs" -m "$work/mnt" submit --cc=1-300 true >/dev/null
sleep 1
perf probe -q -d 'probe_fluxfsd:*' 2>/dev/null || true
for f in $probes; do perf probe -q -x "$BUILD/fsd/fluxfsd" "$f"; done
perf record -q -o "$work/fx.data" -e 'probe_fluxfsd:*' "${events[@]}" -a -- sleep $((N / 1000 + 2)) &
rec=$!
sleep 0.5
"$BUILD/tools/fluxfs" -m "$work/mnt" submit --cc="1-$N" true >/dev/null
wait "$rec"
perf record -q -o "$work/sp.data" "${events[@]}" -a -- "$BUILD/tests/bench/bench-spawn" "$N" 2 >/dev/null
perf script -i "$work/fx.data" -F comm,pid,tid,cpu,time,event,trace > "$work/fx.txt" 2>/dev/null
perf script -i "$work/sp.data" -F comm,pid,tid,cpu,time,event,trace > "$work/sp.txt" 2>/dev/null
echo "$(uname -r), $(nproc) cores, $N true jobs; load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/fx.txt" "$work/sp.txt" <<'PY'
import re, sys, statistics as st, bisect
def load(path):
    ev = []
    for line in open(path):
        m = re.match(r'\s*(\S.*?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)', line)
        if m:
            comm, pid, tid, cpu, t, e, rest = m.groups()
            ev.append((float(t) * 1e6, comm, int(pid), e, rest))
    ev.sort()
    return ev
def spawner(c):
    return c in ('fluxfs-imp', 'imp-spawner', 'bench-spawn')
def execs_exits(ev):
    ex, xt = {}, {}
    for t, c, p, e, r in ev:
        if e == 'sched:sched_process_exec' and r.startswith('filename=') and r.split()[0].endswith('/true'):
            ex[p] = t
        elif e == 'sched:sched_process_exit' and 'comm=true ' in r:
            xt[p] = t
    return ex, xt
fx = load(sys.argv[1])
ex, xt = execs_exits(fx)
def nxt(i, pred):
    for j in range(i + 1, len(fx)):
        if pred(fx[j]):
            return j
    return None
steps = ['pidfd_cb', 'jm_job_finish', 'qmgr_schedule', 'jobmgr_after_commit', 'jm_job_start',
         'imp_queue_spawn', 'helper wakes', 'helper forks', 'next task execs']
rows = {s: [] for s in steps}
for i, (t0, c, p, e, r) in enumerate(fx):
    if not (e == 'sched:sched_process_exit' and 'comm=true ' in r):
        continue
    k, at = i, {}
    for s in steps[:6]:
        k = nxt(k, lambda x, s=s: x[3] == 'probe_fluxfsd:' + s)
        if k is None:
            break
        at[s] = fx[k][0]
    if k is None:
        continue
    w = nxt(k, lambda x: x[3] == 'sched:sched_wakeup' and re.search(r'comm=(fluxfs-imp|imp-spawner) ', x[4]))
    f = nxt(k, lambda x: x[3] == 'sched:sched_process_fork' and spawner(x[1]))
    if w is None or f is None:
        continue
    child = int(re.search(r'child_pid=(\d+)', fx[f][4]).group(1))
    if child not in ex:
        continue
    at['helper wakes'], at['helper forks'], at['next task execs'] = fx[w][0], fx[f][0], ex[child]
    for s in steps:
        rows[s].append(at[s] - t0)
print('| from a task\'s exit to (us, median of %d)  | fluxfs |' % len(rows[steps[0]]))
print('|--------------------------------------------|--------|')
for s in steps:
    print('| %-42s | %6.0f |' % (s, st.median(rows[s])))
life = [xt[p] - ex[p] for p in ex if p in xt]
print('| a task, exec -> exit                       | %6.0f |' % st.median(life))
sp = load(sys.argv[2])
fork, sex, sxt = {}, *execs_exits(sp)
for t, c, p, e, r in sp:
    if e == 'sched:sched_process_fork' and c == 'bench-spawn':
        fork[int(re.search(r'child_pid=(\d+)', r).group(1))] = t
forks = sorted(fork.values())
nf = []
for t in sxt.values():
    i = bisect.bisect(forks, t)
    if i < len(forks):
        nf.append(forks[i] - t)
print('| ceiling (posix_spawn+wait, 2 in flight): exit -> next fork %.0f, fork -> exec %.0f, exec -> exit %.0f |'
      % (st.median(nf), st.median([sex[p] - fork[p] for p in fork if p in sex]),
         st.median([sxt[p] - sex[p] for p in sex if p in sxt])))
PY
