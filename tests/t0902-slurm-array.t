#!/bin/bash
# sbatch --array (issue 17): one job per index, SLURM_ARRAY_* and %A/%a,
# the %LIMIT throttle (also across a kill -9), bad specs refused by line.
. "$(dirname "$0")/lib.sh"
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
plan 22

# submit_all FILE: submit through queue/new, print every id it answers
submit_all() {
	timeout 10 bash -c 'exec 3<>"$1" && cat "$2" >&3 && cat <&3' _ "$MNT/queue/new" "$1"
}
# peak IDS...: the most jobs running at once, from their eventlogs' start
# and finish events
peak() {
	for id in "$@"; do timeout 5 cat "$MNT/jobs/$id/eventlog"; echo; done | python3 -c '
import json, sys
ev = []
for line in sys.stdin:
    if not line.strip():
        continue
    e = json.loads(line)
    if e["name"] == "start":
        ev.append((e["timestamp"], 1))
    elif e["name"] == "finish":
        ev.append((e["timestamp"], -1))
run = top = 0
for t, d in sorted(ev, key=lambda x: (x[0], x[1])):
    run += d
    top = max(top, run)
print(top)'
}

ok "daemon mounts a 4-node x 2-core cluster" fluxfs_start --resources "$FIXTURES/R-4n2c.json"

cat > arr.sh <<'SCRIPT'
#!/bin/sh
#SBATCH --array=1-3,7
#SBATCH -o arr-%A_%a.out
#SBATCH -J arr
echo "$SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_COUNT $SLURM_ARRAY_TASK_MIN $SLURM_ARRAY_TASK_MAX $SLURM_JOB_ID"
SCRIPT
ids=$(submit_all arr.sh)
is "$(wc -l <<<"$ids")" 4 "--array=1-3,7: four jobs, an id each from queue/new"
first=$(head -1 <<<"$ids")
for id in $ids; do wait_job "$id" >/dev/null; done
n=0
for idx in 1 2 3 7; do
	n=$((n + 1))
	id=$(sed -n "${n}p" <<<"$ids")
	is "$(cat "arr-${first}_$idx.out" 2>&1)" "$first $idx 4 1 7 $id" \
		"index $idx: SLURM_ARRAY_JOB_ID/TASK_ID/COUNT/MIN/MAX, SLURM_JOB_ID, in -o %A_%a"
done
like "$(jobfile "$(sed -n 2p <<<"$ids")" jobspec)" '"array": *\{[^}]*"index": *2' \
	"an element's jobspec names its array and index"
is "$(for id in $ids; do jobfile "$id" result; done | sort -u)" "COMPLETED 0" "every element completed"

# %2: never more than two running, though the cluster has room for eight
cat > thr.sh <<'SCRIPT'
#!/bin/sh
#SBATCH --array=0-5%2
sleep 0.4
SCRIPT
ids=$(submit_all thr.sh)
is "$(wc -l <<<"$ids")" 6 "--array=0-5%2: six jobs"
like "$(jobfile "$(tail -1 <<<"$ids")" eventlog)" '"dependency-add".*array-limit=2' \
	"a throttled element says why it waits"
for id in $ids; do wait_job "$id" 30 >/dev/null; done
is "$(for id in $ids; do jobfile "$id" result; done | sort -u)" "COMPLETED 0" "all six completed"
is "$(peak $ids)" 2 "at most two ran at once, and two did"

# the throttle holds across a kill -9 of the broker
cat > thr1.sh <<'SCRIPT'
#!/bin/sh
#SBATCH --array=1-3%1
sleep 1
SCRIPT
ids=$(submit_all thr1.sh)
wait_state "$(head -1 <<<"$ids")" RUN >/dev/null
kill -9 "$FLUXFS_PID"
_wait_gone "$FLUXFS_PID"
fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
ok "restart after kill -9" fluxfs_start --resources "$FIXTURES/R-4n2c.json"
for id in $ids; do wait_job "$id" 30 >/dev/null; done
is "$(for id in $ids; do jobfile "$id" result; done | tr '\n' ' ')" "LOST COMPLETED 0 COMPLETED 0 " \
	"the running element is lost, the other two run"
is "$(peak $(sed 1d <<<"$ids"))" 1 "... one at a time"

# fluxfs batch: an array of allocations, each with an instance of its own
cat > barr.sh <<'SCRIPT'
#!/bin/sh
#SBATCH --array=4-5 -n 2
echo "$SLURM_ARRAY_TASK_ID $FLUXFS_MOUNT"
grep '^cores:' "$FLUXFS_MOUNT/status"
SCRIPT
ids=$(timeout 30 "$FLUXFS" -m "$MNT" batch barr.sh)
is "$(wc -l <<<"$ids")" 2 "fluxfs batch of an --array=4-5 script prints two ids"
for id in $ids; do timeout 60 cat "$MNT/jobs/$id/wait" >/dev/null; done
b=$(tail -1 <<<"$ids")
is "$(head -1 "$MNT/jobs/$b/stdout")" "5 $MNT/jobs/$b/batch" "the second runs index 5 in its own instance"
is "$(tail -1 "$MNT/jobs/$b/stdout")" "cores: 2" "... of its two cores"

# bad specs: refused at close, the line named
for spec in '5-1' '1-20000' '1-3%0' 'x'; do
	printf '#!/bin/sh\n#SBATCH -J bad\n#SBATCH --array=%s\ntrue\n' "$spec" > bad.sh
	cp bad.sh "$MNT/queue/" 2>/dev/null
	like "$(tail -1 "$MNT/queue/errors")" "line 3: --array '$spec'" "--array=$spec is refused, naming line 3"
done
