#!/bin/bash
# resources/ mirrors the resource graph's containment tree: a directory per
# vertex with children (plus its `state`), a file per leaf, each showing the
# vertex's type, status and holds (who, how, until when, reservations).
# On Fluxion's "tiny" graph: tiny0 > rack0 > node[2] > socket[2] >
# core[18] + gpu[1] + memory[4] (2 GB pools).
. "$(dirname "$0")/lib.sh"

TINY=$CONFORMANCE/fluxion/grugs/tiny.graphml
RES=$MNT/resources
N0=$RES/tiny0/rack0/node0
N1=$RES/tiny0/rack0/node1
holds_re=' (exclusive|shared|pool:[0-9]+|exclusive-ancestor) [0-9]+ ([0-9]+|inf)( reserved)?$'

fluxfs_start --resources "$TINY" || bail_out "cannot mount"

# --- layout
is "$(ls "$RES" | tr '\n' ' ')" "R allocations ctl summary tiny0 " "resources/ holds the graph's root beside R, summary, ctl, allocations"
is "$(ls "$RES/tiny0" | tr '\n' ' ')" "rack0 state " "a vertex directory: its children and state"
is "$(ls "$N0" | tr '\n' ' ')" "socket0 socket1 state " "node0 has two sockets"
# resources/R is the graph's, not this machine's: tiny's 2 nodes of 36 cores, 2 gpus
is "$(python3 -c '
import json, sys
R = json.load(open(sys.argv[1]))["execution"]
def count(s):
    return sum(int(b) - int(a) + 1 for a, b in ((r.split("-") + [r])[:2] for r in s.split(",")))
ranks = sum(count(e["rank"]) for e in R["R_lite"])
cores = sum(count(e["rank"]) * count(e["children"]["core"]) for e in R["R_lite"])
gpus = sum(count(e["rank"]) * count(e["children"].get("gpu", "0-0")) for e in R["R_lite"] if "gpu" in e["children"])
print(ranks, cores, gpus, " ".join(R["nodelist"]))' "$RES/R")" "2 72 4 node[0-1]" "resources/R describes the scheduler's graph (tiny: 2 nodes, 72 cores, 4 gpus)"
is "$(status_field cores) $(status_field gpus)" "72 4" "... as status counts it"
want="core0 core1 core2 core3 core4 core5 core6 core7 core8 core9 core10 core11 core12 core13 core14 core15 core16 core17 gpu0 memory0 memory1 memory2 memory3 state "
is "$(ls -v "$N0/socket0" | tr '\n' ' ')" "$want" "socket0: core0..core17, gpu0, memory0..memory3, state"
ok "a leaf vertex is a regular file" test -f "$N0/socket0/core17" -a ! -d "$N0/socket0/core17"
like "$(ls -l "$N0/socket0/core17")" '^-r--r--r-- ' "read-only"
ok "a vertex with children is a directory" test -d "$N0/socket0"
is "$(find "$RES" -type f | wc -l)" 104 "find: 100 vertices (92 leaves, 8 state files) and 4 files"
is "$(find "$RES" -type d | wc -l)" 9 "find: resources/ and 8 vertex directories"
is "$(cat "$RES/tiny0/state")" "cluster up" "an idle vertex: TYPE STATUS"
is "$(cat "$N0/socket0/core17")" "core up" "a leaf reads like a directory's state"
is "$(cat "$N0/socket0/memory2")" "memory up" "memory pools too"
nok "nothing beneath a leaf" ls "$N0/socket0/core17/x"
nok "no such vertex" cat "$N0/socket0/core99"
nok "vertex files are not writable" sh -c "echo x > '$N0/socket0/core0'"
inodes=$(stat -c %i "$RES/tiny0" "$RES/tiny0/state" "$N0/socket0/core0" "$N1/socket1/core35" | sort -u | wc -l)
is "$inodes" 4 "every vertex and state file has its own inode"
is "$(stat -c %i "$N0/socket0/core0")" "$(ls -i "$N0/socket0" | awk '$2 == "core0" { print $1 }')" "readdir and lookup agree on inodes"

# --- summary, computed from the graph
sum() { awk -F': ' -v k="$1" '$1 == k { print $2 }' "$RES/summary"; }
is "$(sum nodes) $(sum cores) $(sum cores-free) $(sum gpus) $(sum gpus-free)" "2 72 72 4 4" "summary: nodes, cores, gpus, all free"
is "$(sum memory)" $((2 * 2 * 4 * 2 * 1024 * 1024 * 1024)) "summary: memory is the pools' 32 GiB in bytes"
is "$(status_field nodes)/$(status_field cores)/$(status_field gpus)" "2/72/4" "status counts the same graph"

# --- allocations and reservations (the EASY backfill case of t0500)
general() {     # general NCORES COMMAND DURATION: node>slot>socket>core[N]
	cat <<-EOF2
	version: 9999
	resources:
	  - type: node
	    count: 1
	    with:
	      - type: slot
	        count: 1
	        label: default
	        with:
	          - type: socket
	            count: 1
	            with:
	              - type: core
	                count: $1
	attributes:
	  system:
	    duration: $3
	tasks:
	  - command: [ "sh", "-c", "$2" ]
	    slot: default
	    count:
	      per_slot: 1
	EOF2
}
general 18 "sleep 60" 600 > a.yaml
A1=$(submit a.yaml); A2=$(submit a.yaml)
ok "A1 runs" wait_state "$A1" RUN
ok "A2 runs" wait_state "$A2" RUN
sock=$(grep -l "^$A1 exclusive " "$RES"/tiny0/rack0/node*/socket*/state)
is "$(echo "$sock" | wc -w)" 1 "A1 holds one socket exclusively"
s=$(sed -n 2p "$sock")
like "$s" "^$A1 exclusive [0-9]+ [0-9]+\$" "its state: JOBID exclusive START END"
read -r _ _ start end <<<"$s"
is "$((end - start))" 600 "the hold lasts the job's duration"
d=$(dirname "$sock")
like "$(cat "$d/core17")" "^core up
$A1 exclusive $start $end
$A1 exclusive-ancestor $start $end\$" "a core of the socket: held, and blocked by its socket"
is "$(cat "$d/gpu0")" "gpu up
$A1 exclusive-ancestor $start $end" "the socket's gpu is blocked by the exclusive socket"
like "$(cat "$RES/tiny0/rack0/state")" "$A1 shared $start $end" "ancestors: the job uses something beneath"
is "$(sum cores-free) $(sum gpus-free)" "36 2" "summary: 36 cores and 2 gpus free"
is "$(status_field cores-free)" 36 "status agrees"

cat > b.yaml <<'EOF2'
version: 9999
resources:
  - type: node
    count: 2
    exclusive: true
    with:
      - type: slot
        count: 1
        label: default
        with:
          - type: core
            count: 1
attributes:
  system:
    duration: 600
tasks:
  - command: [ "true" ]
    slot: default
    count:
      per_slot: 1
EOF2
B=$(submit b.yaml)
ok "B is reserved" wait_until 10 grep -q "^$B .* reserved\$" "$RES/tiny0/state"
is "$(job_state "$B")" SCHED "B waits"
# A1 and A2 hold node0's sockets; B gets both nodes from when the later ends
end2=$(grep -h "^$A2 exclusive " "$RES"/tiny0/rack0/node*/socket*/state | awk '{ print $4 }')
last=$((end > end2 ? end : end2))
fsock=$(dirname "$(grep -L "^$A1 \|^$A2 " "$RES"/tiny0/rack0/node*/socket*/state | head -1)")
fnode=$(dirname "$fsock")
is "$(cat "$fnode/state")" "node up
$B exclusive $last $((last + 600)) reserved" "the free node: B's whole-node reservation, from when A ends"
like "$(cat "$fsock/state")" "
$B exclusive-ancestor $last $((last + 600)) reserved" "its sockets show it as an exclusive ancestor's"
like "$(cat "$fsock/$(ls -v "$fsock" | grep '^core' | tail -1)")" "
$B exclusive-ancestor $last $((last + 600)) reserved\$" "and so do its cores"
is "$(sum cores-free)" 36 "a reservation takes no core now"
rl=$("$(dirname "$FLUXFSD")/../tools/fluxfs" -m "$MNT" resource list)
like "$rl" "node[01] +36 +0 +2 +0  $A1 $A2|node[01] +36 +0 +2 +0  $A2 $A1" "fluxfs resource list: the busy node and its jobs"
like "$rl" "node[01] +36 +36 +2 +2 " "and the reserved node as free"
like "$rl" "total +72 +36 +4 +2" "totals"

# every hold line is well formed; stat size equals content everywhere
ok "hold lines: JOBID KIND START END [reserved]" bash -c '
l=$(grep -rh "^f" "$1") && ! grep -Evq "^f[^ ]+$2" <<<"$l"' _ "$RES/tiny0" "$holds_re"
bad=$(python3 -c '
import os, sys
for d, dirs, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(d, f)
        if os.stat(p).st_size != len(open(p, "rb").read()):
            print(os.path.relpath(p, sys.argv[1]))' "$RES/tiny0")
is "$bad" "" "stat size equals content length for every vertex file"

# status changes show in the state's first line
echo "drain /tiny0/rack0/node1" > "$RES/ctl"
like "$(head -1 "$N1/state")" "^node drained$" "a drained node"
echo "up /tiny0/rack0/node1" > "$RES/ctl"
is "$(head -1 "$N1/state")" "node up" "up again"

for j in "$A1" "$A2" "$B"; do echo cancel 2>/dev/null > "$MNT/jobs/$j/ctl" || true; done
ok "all jobs end" wait_until 20 all_inactive
ok "no holds left anywhere" bash -c '! grep -rqE "$2" "$1"' _ "$RES/tiny0" "$holds_re"
is "$(sum cores-free) $(sum gpus-free)" "72 4" "everything free again"
fluxfs_stop

# --- a wide directory: 5000 nodes under one cluster vertex
python3 -c '
import json
print(json.dumps({"version": 1, "execution": {
    "R_lite": [{"rank": "0-4999", "children": {"core": "0-1"}}],
    "nodelist": ["n[0-4999]"]}}))' > wide.json
rm -rf "$STATE"
fluxfs_start --resources wide.json || bail_out "cannot mount the wide graph"
is "$(timeout 20 ls -f "$RES/cluster0" | wc -l)" 5003 "ls -f: 5000 nodes, state, . and .. over many readdir calls"
is "$(timeout 20 ls -f "$RES/cluster0" | sort | uniq -d | wc -l)" 0 "no entry twice"
is "$(timeout 20 ls "$RES/cluster0" | tail -1)" "state" "sorted, the last is state"
ok "ls -l stats every node" quiet timeout 60 ls -l "$RES/cluster0"
is "$(cat "$RES/cluster0/n4999/core1")" "core up" "the last node's core"
is "$(timeout 30 find "$RES/cluster0" -type f | wc -l)" 15001 "find: 10000 cores and 5001 state files"
fluxfs_stop
done_testing
