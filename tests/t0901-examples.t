#!/bin/bash
# Every file in mount-examples/ against a real instance: the jobspecs and
# scripts as a user runs them (FLUXFS_MOUNT=$MNT), the batch script, the
# systemd unit (systemd-analyze verify) and the fstab convention (fluxfsd
# called by mount.fuse3 as "fluxfsd STATEDIR MOUNTPOINT -o OPTS", stopped by
# umount).
. "$(dirname "$0")/lib.sh"
EX=$REPO/mount-examples
export FLUXFS_MOUNT=$MNT
export TMPDIR=$T	# dependency-chain.sh's work directory
plan 64

ok "every example is listed in mount-examples/README.md" bash -c '
rc=0
for f in "$1"/*; do
	n=${f##*/}; [ "$n" = README.md ] && continue
	grep -q "^| \`$n/\?\` |" "$1/README.md" || { echo "# $n is not in README.md"; rc=1; }
done
exit $rc' _ "$EX"

# The examples want 2 cores on one node (all-cores.yaml, batch.sh -n 2):
# use this machine if it has them, else a simulated cluster of 2-core nodes.
res=()
real_cores=1
if [ "$(nproc)" -lt 2 ]; then
	res=(--resources "$FIXTURES/R-4n2c.json")
	real_cores=
fi
ok "daemon mounts" fluxfs_start "${res[@]}"

# jobs of the examples are done (watch.sh then sees only its own)
idle() { [ "$(status_field jobs)" = "$(status_field inactive)" ]; }

# ---- hello.yaml
id=$(submit_cp "$EX/hello.yaml")
like "$id" '^f[1-9A-HJ-NP-Za-km-z]+$' "hello.yaml: cp to queue/ submits a job"
is "$(wait_job "$id")" "COMPLETED 0" "hello.yaml: COMPLETED 0"
like "$(jobfile "$id" stdout)" "^hello from job $id on " "hello.yaml: stdout says hello with the job id"

# ---- all-cores.yaml
id=$(submit_cp "$EX/all-cores.yaml")
like "$id" '^f[1-9A-HJ-NP-Za-km-z]+$' "all-cores.yaml: accepted"
ok "all-cores.yaml: runs" wait_state "$id" RUN
ok "all-cores.yaml: R has 2 cores on one node" python3 -c '
import json, sys
from itertools import chain
def ids(s):
    n = []
    for p in s.split(","):
        a, _, b = p.partition("-")
        n += range(int(a), int(b or a) + 1)
    return n
rl = json.load(open(sys.argv[1]))["execution"]["R_lite"]
assert sum(len(ids(e["rank"])) for e in rl) == 1, rl
assert sum(len(ids(e["children"]["core"])) for e in rl) == 2, rl
' "$MNT/jobs/$id/R"
ok "all-cores.yaml: cancel" bash -c 'echo cancel > "$1"' _ "$MNT/jobs/$id/ctl"
is "$(wait_job "$id")" "CANCELED" "all-cores.yaml: CANCELED"

# ---- run.sh
out=$(timeout 20 "$EX/run.sh" 2>&1)
ok "run.sh exits 0" test $? -eq 0
like "$out" $'^job f[1-9A-HJ-NP-Za-km-z]+: COMPLETED 0\n' "run.sh: prints the id and the result"
like "$out" $'\nhello from job f[1-9A-HJ-NP-Za-km-z]+ on ' "run.sh: prints the job's hello"

# ---- submit-and-wait.sh
out=$(timeout 20 "$EX/submit-and-wait.sh" 2>&1)
ok "submit-and-wait.sh exits 0" test $? -eq 0
like "$out" $'^job f[1-9A-HJ-NP-Za-km-z]+ submitted\n' "submit-and-wait.sh: prints the job id"
like "$out" $'\nresult: COMPLETED 0\n' "submit-and-wait.sh: prints COMPLETED 0"
like "$out" $'\nhello from job f[1-9A-HJ-NP-Za-km-z]+ on ' "submit-and-wait.sh: prints the job's hello"

# ---- sweep.sh
out=$(timeout 60 "$EX/sweep.sh" 100 2>&1)
ok "sweep.sh 100 exits 0" test $? -eq 0
is "$out" "sum of squares 1..100 = 338350" "sweep.sh 100: sum of squares 1..100 = 338350"

# ---- ensemble.sh (a nested instance)
out=$(timeout 120 "$EX/ensemble.sh" 10 2>&1)
ok "ensemble.sh 10 exits 0" test $? -eq 0
like "$out" "^10 tasks done in .*; first said: task 1\$" "ensemble.sh: tasks ran in the nested instance"
ok "ensemble.sh: the holder job ends" wait_until 30 sh -c "! grep -l RUN '$MNT'/jobs/*/state >/dev/null 2>&1"

# ---- submit.py
out=$(timeout 30 "$EX/submit.py" 4 2>&1)
ok "submit.py 4 exits 0" test $? -eq 0
is "$(echo "$out" | wc -l)" 4 "submit.py 4: 4 lines"
is "$(echo "$out" | grep -cE '^f[1-9A-HJ-NP-Za-km-z]+ COMPLETED 0 task [0-3]$')" 4 \
	"submit.py 4: every line is 'ID COMPLETED 0 task N'" || diag "$out"

# ---- squeue.py: a running job from joblist, ended ones with -a
sq_id=$(submit <(mkjob 'sleep 30'))
wait_state "$sq_id" RUN >/dev/null
like "$(timeout 10 "$EX/squeue.py")" "$sq_id +$(id -un) +RUN +sh +1 " "squeue.py: the running job, its user, state, name and nodes"
ok "squeue.py -a: the ended jobs too (submit.py's 4 at least)" \
	test "$(timeout 10 "$EX/squeue.py" -a | grep -c ' COMPLETED ')" -ge 4
echo cancel > "$MNT/jobs/$sq_id/ctl"
wait_job "$sq_id" >/dev/null

# ---- dependency-chain.sh
out=$(timeout 30 "$EX/dependency-chain.sh" 2>&1)
ok "dependency-chain.sh exits 0" test $? -eq 0
is "$(echo "$out" | grep -cE '^f[1-9A-HJ-NP-Za-km-z]+ COMPLETED 0$')" 3 \
	"dependency-chain.sh: the 3 steps COMPLETED 0" || diag "$out"
is "$(echo "$out" | tail -1)" "sum: 55" "dependency-chain.sh: sum: 55"

# ---- batch.sh
id=$(submit_cp "$EX/batch.sh")
like "$id" '^f[1-9A-HJ-NP-Za-km-z]+$' "batch.sh: cp to queue/ submits the script"
is "$(wait_job "$id")" "COMPLETED 0" "batch.sh: COMPLETED 0"
ok "batch.sh: jobspec is the script as submitted" cmp "$EX/batch.sh" "$MNT/jobs/$id/jobspec"
cores=$(python3 -c '
import json, sys
rl = json.load(open(sys.argv[1]))["execution"]["R_lite"]
c = []
for e in rl:
    for p in e["children"]["core"].split(","):
        a, _, b = p.partition("-")
        c += range(int(a), int(b or a) + 1)
print(",".join(map(str, sorted(c))))
' "$MNT/jobs/$id/R")
is "$(echo "$cores" | tr ',' '\n' | grep -c .)" 2 "batch.sh: its R has 2 cores (-n 2)"
stdout=$(jobfile "$id" stdout)
like "$stdout" "^batch job $id: 1 task\(s\) on 1 node\(s\)" "batch.sh: stdout has FLUX_JOB_ID" || diag "$stdout"
like "$stdout" $'\ncpu affinity: [0-9]' "batch.sh: stdout shows its CPU affinity"
if [ -n "$real_cores" ] && [ "$(echo "$cores" | tr ',' '\n' | sort -u | wc -l)" -eq 2 ]; then
	aff=$(echo "$stdout" | sed -n 's/^cpu affinity: //p')
	want=$(python3 -c '
import sys
c = sorted(set(int(x) for x in sys.argv[1].split(",")))
print(f"{c[0]}-{c[1]}" if c[1] == c[0] + 1 else f"{c[0]},{c[1]}")' "$cores")
	is "$aff" "$want" "batch.sh: bound to the cores of its allocation"
else
	skip "batch.sh: affinity = allocation (simulated cores)"
fi
is "$(jobfile "$id" eventlog | grep -c '"name":"submit"')" 1 "batch.sh: one submission"
# the name of '# flux: --job-name' is not visible in the tree; the time limit
# of '#SBATCH -t 00:05:00' is, in R
ok "batch.sh: -t 00:05:00 gives an R expiring 300 s after its start" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["execution"]
assert abs(r["expiration"] - r["starttime"] - 300) < 1, (r["starttime"], r["expiration"])
' "$MNT/jobs/$id/R"

# ---- watch.sh: in its own session, so that it and its tail go at once
ok "examples' jobs are done before watch.sh" wait_until 20 idle
setsid timeout 60 "$EX/watch.sh" > "$T/watch.out" 2>"$T/watch.err" &
watch_pid=$!
_all_pids+=("$watch_pid")
ok "watch.sh: tail follows events" wait_until 20 sh -c "pgrep -s $watch_pid -x tail >/dev/null"
sleep 0.5   # tail -n 0 has read to the end
mkjob 'sleep 0.3; echo watched' 1 60 > watched.yaml
wids=()
for i in 1 2 3; do wids+=("$(submit watched.yaml)"); done
# and 20 that end before any watch on their directory could be set
wids+=($("$(dirname "$FLUXFSD")/../tools/fluxfs" -m "$MNT" submit --cc=1-20 true))
is "${#wids[@]}" 23 "watch.sh: 23 jobs submitted (20 of them at once)"
for w in "${wids[@]}"; do wait_job "$w" >/dev/null; done
want=$(for w in "${wids[@]}"; do echo "$w COMPLETED 0"; done | sort)
wait_until 10 bash -c '[ "$(wc -l < "$1")" -ge 23 ]' _ "$T/watch.out"
sleep 0.5	# would a duplicate line follow?
is "$(sort "$T/watch.out")" "$want" "watch.sh: one line 'ID COMPLETED 0' per job, the fast ones too" ||
	diag "stderr: $(cat "$T/watch.err")"
kill -TERM -- -"$watch_pid" 2>/dev/null
ok "watch.sh: gone after kill" _wait_gone "$watch_pid" 5
ok "watch.sh: no tail left" wait_until 5 no_procs "tail -n 0 -F $MNT/events"

# ---- fluxfsd.service
if command -v systemd-analyze >/dev/null; then
	# the unit as installed, with the build's daemon, so that verify does not
	# stop at a missing /usr/local/sbin/fluxfsd; only diagnostics about the
	# unit's own lines (unknown keys, bad values) and a failure count
	mkdir -p "$T/unit"
	sed "s|/usr/local/sbin/fluxfsd|$FLUXFSD|" "$EX/fluxfsd.service" > "$T/unit/fluxfsd.service"
	verr=$(cd "$T/unit" && timeout 30 systemd-analyze verify --man=no ./fluxfsd.service 2>&1)
	vrc=$?
	ok "fluxfsd.service: systemd-analyze verify passes" test "$vrc" -eq 0 || diag "$verr"
	is "$(echo "$verr" | grep 'fluxfsd\.service')" "" "fluxfsd.service: no warnings about the unit"
else
	skip "fluxfsd.service: systemd-analyze is not installed"
	skip "fluxfsd.service: no warnings (systemd-analyze is not installed)"
fi
grep_unit() { grep -qx "$1" "$EX/fluxfsd.service"; }
ok "fluxfsd.service: ExecStart as documented" grep_unit 'ExecStart=/usr/local/sbin/fluxfsd -f --state /var/lib/fluxfs /flux'
ok "fluxfsd.service: ExecStop unmounts, Restart=on-failure" \
	bash -c 'grep -qx "ExecStop=/bin/fusermount3 -u /flux" "$1" && grep -qx "Restart=on-failure" "$1"' _ "$EX/fluxfsd.service"

# ---- fstab.example: mount(8) runs mount.fuse3 SOURCE MOUNTPOINT -o OPTS
# -t fuse.fluxfsd, which runs "fluxfsd SOURCE MOUNTPOINT -o OPTS". mount(8)
# drops PATH from its helper's environment, so it only finds an installed
# fluxfsd; mount.fuse3 is called here as mount(8) calls it, with PATH.
is "$(findmnt -F "$EX/fstab.example" -n -o SOURCE,TARGET,FSTYPE,OPTIONS --raw)" \
	"/var/lib/fluxfs /flux fuse.fluxfsd defaults,_netdev" "fstab.example: the fstab line parses"
STATE2=$T/state2
MNT2=$T/mnt2
mkdir -p "$STATE2" "$MNT2"
if command -v fluxfsd >/dev/null && [ "$(command -v fluxfsd)" -ef "$FLUXFSD" ] &&
   [ "$(env -u PATH sh -c 'command -v fluxfsd')" -ef "$FLUXFSD" ]; then
	mcmd=(mount -t fuse.fluxfsd "$STATE2" "$MNT2")	# installed: the real thing
else
	mcmd=(mount.fuse3 "$STATE2" "$MNT2" -o rw -t fuse.fluxfsd)
fi
PATH=$(dirname "$FLUXFSD"):$PATH timeout 20 "${mcmd[@]}" 2>"$T/mount.err"
ok "fstab: ${mcmd[0]} -t fuse.fluxfsd STATEDIR MNT mounts an instance" test $? -eq 0 ||
	diag "$(cat "$T/mount.err" "$STATE2/fluxfsd.log" 2>/dev/null | tail -5)"
pid2=$(pgrep -f "fluxfsd $STATE2 $MNT2( |\$)" | head -1)
[ -n "$pid2" ] && _all_pids+=("$pid2")
ok "fstab: the daemon runs in the background" test -n "$pid2"
ok "fstab: mounted as fuse.fluxfsd" bash -c 'awk -v m="$1" "\$2 == m && \$3 == \"fuse.fluxfsd\" { f = 1 } END { exit !f }" /proc/mounts' _ "$MNT2"
is "$(timeout 5 awk -F': ' '$1 == "tree-version" { print $2 }' "$MNT2/status")" 2 "fstab: status is readable"
id2=$(MNT=$MNT2 submit "$EX/hello.yaml")
is "$(timeout 20 cat "$MNT2/jobs/$id2/wait" 2>/dev/null)" "COMPLETED 0" "fstab: a job runs"
ok "fstab: the store is in SOURCE (the state dir)" test -n "$(ls "$STATE2")"
timeout 10 umount "$MNT2"
ok "fstab: umount MNT succeeds" test $? -eq 0
ok "fstab: the daemon exits after umount" _wait_gone "${pid2:-0}" 10
nok "fstab: nothing mounted on MNT" is_mounted "$MNT2"

ok "unmount the first instance" fluxfs_stop

# overlay-localhost.sh: a 3-broker instance on this machine, over TLS
export OVERLAY_DIR=$T/ovl OVERLAY_PORT=$((20050 + ($$ % 127) * 100))
export FLUXFS=$(dirname "$FLUXFSD")/../tools/fluxfs
omnt=$("$EX/overlay-localhost.sh" start 3 2>"$T/ovl.err")
is "$omnt" "$T/ovl/mnt0" "overlay-localhost.sh start 3 prints the leader's tree" || diag "$(cat "$T/ovl.err")"
is "$(timeout 20 "$FLUXFS" -m "$omnt" run -N 3 sh -c 'echo $FLUX_TASK_RANK' 2>&1 | sort | tr '\n' ' ')" \
	"0 1 2 " "a 3-node job runs across its brokers"
like "$(timeout 20 "$FLUXFS" -m "$T/ovl/mnt2" run sh -c 'echo $FLUXFS_MOUNT' 2>&1)" "^$T/ovl/mnt[0-2]\$" \
	"fluxfs run on a follower's tree (over TLS) shows the output of a job the leader placed"
"$EX/overlay-localhost.sh" stop
ok "overlay-localhost.sh stop unmounts every broker" wait_until 10 sh -c "! grep -q ' $T/ovl/' /proc/mounts"
