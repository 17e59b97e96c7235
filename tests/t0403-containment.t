#!/bin/bash
# Containment (fluxfsd --contain): what a job starts ends with it, even when it detaches from
# the job's process group (setsid, nohup, double fork): each job's tasks
# join a cgroup of their own, emptied and removed when the job ends.
. "$(dirname "$0")/lib.sh"
plan 22

if [ "$(id -u)" != 0 ] || [ ! -w /sys/fs/cgroup/freezer ]; then
	for i in $(seq 22); do skip "needs root and the cgroup v1 freezer"; done
	exit 0
fi
fluxfs_start --contain || bail_out "cannot mount"
mark=$((RANDOM + 40000))
mkjob 'echo $FLUXFS_INSTANCE' > token.yaml
tok=$(submit token.yaml); wait_job "$tok" >/dev/null
G=/sys/fs/cgroup/freezer/fluxfs/$(jobfile "$tok" stdout)   # this instance's groups
ok "jobs know their instance, whose groups are in $G" test -d "$G" -a "$G" != /sys/fs/cgroup/freezer/fluxfs/
mkjob "setsid sleep $mark < /dev/null > /dev/null 2>&1 & nohup sleep $((mark + 1)) > /dev/null 2>&1 & (sleep $((mark + 2)) &) ; echo started" > escape.yaml
id=$(submit escape.yaml)
is "$(wait_job "$id")" "COMPLETED 0" "the job's shell ends"
is "$(jobfile "$id" stdout)" "started" "after starting three detached sleeps"
gone() { ! pgrep -f "^sleep ($mark|$((mark + 1))|$((mark + 2)))\$" >/dev/null; }
ok "setsid, nohup and a double fork do not outlive the job" wait_until 20 gone
no_group() { [ ! -e "$G/$1" ]; }
ok "the job's cgroup is removed" wait_until 20 no_group "$id"

# while it runs, every process of the job is in its group
mkjob "setsid sleep $((mark + 3)) < /dev/null > /dev/null 2>&1 & sleep 300" > run.yaml
id2=$(submit run.yaml)
ok "a running job" wait_state "$id2" RUN
in_group() {
	local p
	p=$(pgrep -f "^sleep $((mark + 3))\$") || return 1
	grep -q "freezer:/fluxfs/${G##*/}/$id2\$" "/proc/$p/cgroup"
}
ok "its detached process is in the job's cgroup" wait_until 10 in_group
echo cancel > "$MNT/jobs/$id2/ctl"
is "$(wait_job "$id2")" "CANCELED" "canceled"
det_gone() { ! pgrep -f "^sleep $((mark + 3))\$" >/dev/null; }
ok "its detached process is killed with it" wait_until 20 det_gone
ok "and its group removed" wait_until 20 no_group "$id2"

# its tasks are held to their cpus: a task cannot widen its own affinity
mkjob 'taskset -p -c 0-$(($(nproc --all) - 1)) $$ >/dev/null 2>&1; grep Cpus_allowed_list /proc/self/status; grep cpuset /proc/self/cgroup' > widen.yaml
id3=$(submit widen.yaml)
is "$(wait_job "$id3")" "COMPLETED 0" "a job that tries to widen its affinity"
out=$(jobfile "$id3" stdout)
like "$(grep Cpus_allowed_list <<<"$out")" "Cpus_allowed_list:[[:space:]]*[0-9]+$" "... still runs on the one cpu it was given"
like "$out" "cpuset:/fluxfs/${G##*/}/$id3" "... in its cpuset group"
no_cpuset() { [ ! -e "/sys/fs/cgroup/cpuset/fluxfs/${G##*/}/$id3" ]; }
ok "which is removed at its end" wait_until 20 no_cpuset
is "$(status_field containment)" cgroup "status says jobs are held by cgroups"
fluxfs_stop
ok "a clean stop removes the instance's groups" sh -c "[ ! -e '$G' ] && [ ! -e '/sys/fs/cgroup/cpuset/fluxfs/${G##*/}' ]"

# memory: a job is limited to the memory it holds (Fluxion's tiny graph: 2 GB
# pools; its tasks run here, unbound). Asked for 1 GB inside its slot, it
# holds the whole 2 GB pool, as Fluxion holds a pool claimed exclusively
fluxfs_start --contain --resources "$CONFORMANCE/fluxion/grugs/tiny.graphml" || bail_out "cannot mount tiny"
tok2=$(submit token.yaml); wait_job "$tok2" >/dev/null
G=/sys/fs/cgroup/freezer/fluxfs/$(jobfile "$tok2" stdout)
memjob() {
	cat <<EOF2
version: 9999
resources:
  - type: slot
    count: 1
    label: default
    with:
      - type: core
        count: 1
      - type: memory
        count: 1
attributes:
  system:
    duration: 60
tasks:
  - command: [ "sh", "-c", "$1" ]
    slot: default
    count:
      per_slot: 1
EOF2
}
if [ -d /sys/fs/cgroup/memory ]; then
	memjob 'grep memory: /proc/self/cgroup; cat /sys/fs/cgroup/memory/fluxfs/$FLUXFS_INSTANCE/$FLUX_JOB_ID/memory.limit_in_bytes' > mem.yaml
	id4=$(submit mem.yaml)
	is "$(wait_job "$id4")" "COMPLETED 0" "a job that asks for 1 GB of memory"
	like "$(jobfile "$id4" stdout)" "memory:/fluxfs/${G##*/}/$id4" "... runs in its memory group"
	is "$(jobfile "$id4" stdout | tail -1)" 2147483648 "... limited to the 2 GiB pool it holds whole"
	printf 'b = bytearray(2560 << 20)\nfor i in range(0, len(b), 4096):\n    b[i] = 1\nprint("survived")\n' > hog.py
	memjob "python3 $T/hog.py" > hog.yaml
	id5=$(submit hog.yaml)
	like "$(wait_job "$id5")" '^FAILED' "a task that touches 2.5 GiB in it is killed (OOM)"
	no_mem() { [ ! -e "/sys/fs/cgroup/memory/fluxfs/${G##*/}/$1" ]; }
	ok "the memory group is removed at its end" wait_until 20 no_mem "$id5"
else
	for i in 1 2 3 4 5; do skip "no cgroup v1 memory hierarchy"; done
fi
fluxfs_stop
ok "... and the memory groups too" sh -c "[ ! -e '$G' ] && [ ! -e '/sys/fs/cgroup/memory/fluxfs/${G##*/}' ]"
