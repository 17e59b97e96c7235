#!/bin/bash
# Partial release on a multi-node instance (issue 16): "release HOSTLIST"
# gives back nodes whose brokers said their part of the job has ended; the
# leader's scheduler uses them at once and every follower's graph (its
# mirror of the leader's holds) and resources/ show the job on the nodes
# it kept.
. "$(dirname "$0")/lib.sh"
plan 13

overlay_start 4 2 || bail_out "cannot start 4 brokers"
overlay_wait_up 30 || bail_out "the brokers did not join"
ctl() { timeout 10 sh -c 'echo "$2" > "$1"' _ "$MNT/jobs/$1/ctl" "$2"; }
same() { [ "$(timeout 5 cat "$T/m0/resources/$1")" = "$(timeout 5 cat "$T/m$2/resources/$1")" ]; }
expand() {
	python3 -c '
import json, re, sys
for nl in json.load(open(sys.argv[1]))["execution"]["nodelist"]:
    m = re.match(r"(\D+)\[(.*)\]$", nl)
    if not m:
        print(nl); continue
    for part in m[2].split(","):
        a, _, b = part.partition("-")
        for i in range(int(a), int(b or a) + 1):
            print(f"{m[1]}{i}")' "$MNT/jobs/$1/R" | tr '\n' ' '
}

# 3 whole nodes; only node 0's task runs on, the other two end at once
mkjob_nodes '[ "$FLUX_TASK_NODEID" = 0 ] && exec sleep 300; exit 0' 3 2 600 > three.yaml
a=$(submit three.yaml) || bail_out "cannot submit"
wait_state "$a" RUN 20 >/dev/null
mkjob_nodes 'echo "$FLUXFS_MOUNT"' 2 2 > two.yaml
b=$(submit two.yaml)
is "$(job_state "$b")" SCHED "a 2-node job waits: 3 of 4 nodes are taken"
set -- $(expand "$a")
first=$1 second=$2 third=$3
ok "the job holds three nodes ($first $second $third)" test -n "$third"
ok "the brokers of nodes 1 and 2 report their part done" \
	wait_until 20 sh -c "[ \$(grep -c '\"name\":\"node-finish\"' '$MNT/jobs/$a/eventlog') -ge 2 ]"
nok "release $first (its task still runs under its broker) fails" ctl "$a" "release $first" 2>/dev/null
like "$(tail -1 "$MNT/queue/errors")" "still run on $first" "... saying the tasks still run there"

ok "release $second,$third succeeds" ctl "$a" "release $second,$third"
is "$(job_state "$a")" RUN "the job runs on"
is "$(timeout 30 cat "$MNT/jobs/$b/wait")" "COMPLETED 0" "the waiting 2-node job got the released nodes at once"
like "$(jobfile "$a" R)" "\"nodelist\":\\[\"$first\"\\]" "R now names only $first"
like "$(jobfile "$a" eventlog)" '"name":"release","context":\{"ranks":"[0-9,-]+","final":false\}' \
	"the eventlog says release, with the ranks"
ok "a follower's allocations agree with the leader's (its mirror shrank)" wait_until 10 same allocations 3
ok "... and so does its free core count" wait_until 10 same summary 2

echo cancel > "$MNT/jobs/$a/ctl"
wait_job "$a" 30 >/dev/null
ok "the ended job's allocation is gone from the follower" wait_until 10 sh -c "! grep -q '$a' '$T/m3/resources/allocations'"
