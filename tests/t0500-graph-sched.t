#!/bin/bash
# The graph scheduler: Fluxion's own resource-query cases through
# fluxfs-query, and general (RFC 14) jobspecs, backfill and dynamic resources
# through the tree on Fluxion's "tiny" graph (2 nodes x 2 sockets x 18 cores).
. "$(dirname "$0")/lib.sh"

QUERY=${FLUXFS_QUERY:-$(dirname "$FLUXFSD")/../tools/fluxfs-query}
FLUXION=$CONFORMANCE/fluxion
TINY=$FLUXION/grugs/tiny.graphml

# outcomes DIR LABEL TAP: every case of DIR/OUTCOMES.md, one assertion per
# (case, policy), named LABEL: ...
outcomes() {
	python3 "$SRCDIR/lib/fluxion-outcomes.py" "$QUERY" "$1" > "$3" 2>&1
	while IFS= read -r line; do
		case $line in
		"ok "*) _tap_result 0 "$2: ${line#ok * - }" ;;
		"not ok "*) _tap_result 1 "$2: ${line#not ok * - }" ;;
		"#"*) echo "$line" ;;
		esac
	done < "$3"
}
outcomes "$FLUXION" fluxion outcomes.tap
ok "the outcome runner reported a summary" grep -q "Fluxion outcome sequences match" outcomes.tap
# ... and our own cases of Fluxion's rules (tests/fixtures/fluxion-extra)
outcomes "$FIXTURES/fluxion-extra" "fluxfs rule" extra.tap
ok "the extra cases ran" grep -q "35 of 35" extra.tap

# --- resource-query's other commands
X=$FIXTURES/fluxion-extra
rq() { "$QUERY" -L "$X/grugs/ssd.graphml" -P low "$@"; }
out=$(printf 'match allocate %s\nmatch allocate %s\ninfo 1\nlist\nstat\nquit\n' \
	"$X/jobspecs/node1.yaml" "$X/jobspecs/node1.yaml" | rq)
like "$out" "INFO: 1, ALLOCATED, 0, $X/jobspecs/node1.yaml, " "info JOBID: id, state, time, jobspec, overhead"
is "$(grep -c '^INFO: [12], ALLOCATED' <<<"$out")" 3 "list: both jobs (and info's line)"
like "$out" "INFO: Num. of Jobs Matched: 2" "stat counts the jobs matched"
out=$(printf 'set-status /cluster0/node1 down\nget-status /cluster0/node1\nget-status /cluster0/node0\nget-status /nope\nquit\n' | rq)
is "$out" "/cluster0/node1 is down
/cluster0/node0 is up
Could not find path /nope in resource graph." "get-status PATH after set-status"
out=$(printf 'match allocate %s\nfind sched-now=allocated and names=node[0-1]\nfind status=down or property=nope\nquit\n' \
	"$X/jobspecs/node1.yaml" | rq)
like "$out" "node0\[1:up\].*EXPRESSION=\"sched-now=allocated and names=node\[0-1\]\"" "find: the allocated node, by an and expression"
like "$out" "INFO: =============================
INFO: EXPRESSION=\"status=down or property=nope\"" "find with nothing found prints only the expression"
out=$(printf 'match allocate %s\nfind sched-now=allocated\nquit\n' "$X/jobspecs/node1.yaml" | rq -F jgf)
is "$(head -1 <<<"$out" | python3 -c 'import json,sys; g=json.load(sys.stdin)["graph"]; print(sorted(n["metadata"]["name"] for n in g["nodes"]), len(g["edges"]), [n["metadata"]["exclusive"] for n in g["nodes"] if n["metadata"]["name"]=="core0"])')" \
	"['cluster0', 'core0', 'core1', 'core2', 'core3', 'node0'] 5 [True]" "-F jgf: the match as JSON Graph Format, edges among its vertices"
out=$(printf 'match allocate %s\nfind sched-now=allocated\nquit\n' "$X/jobspecs/node1.yaml" | rq -F rv1_nosched)
like "$(tail -4 <<<"$out" | head -1)" '"R_lite":\[\{"rank":"0","children":\{"core":"0-3"\}\}\]' "find -F rv1_nosched: the nodes found as R"
printf '{"graph": {"nodes": [{"id": "1", "metadata": {"type": "node", "rank": 1}}], "edges": []}}\n' > shrink.jgf
out=$(printf 'match allocate %s\npartial-cancel 1 jgf shrink.jgf\nmatch allocate %s\npartial-cancel 1 rv1exec %s\ninfo 1\nquit\n' \
	"$X/jobspecs/nodes2.yaml" "$X/jobspecs/node1.yaml" "$X/R-rank1.json" | rq 2>&1)
like "$out" "JOBID=2.*RESOURCES=ALLOCATED" "partial-cancel JOBID jgf: the node it names is free for the next job"
like "$out" "INFO: 1, ALLOCATED" "... and the job keeps the rest"
is "$(printf 'quit\n' | "$QUERY" -f rv1exec -L "$X/R-rank1.json" --prune-filters=ALL:core,ALL:gpu; echo $?)" 0 \
	"-f rv1exec loads an R with no scheduling key; --prune-filters is accepted"
out=$(printf 'match allocate %s\nquit\n' "$X/jobspecs/node1.yaml" | "$QUERY" -f rv1exec -L "$X/R-rank1.json" -F rv1)
like "$out" '"R_lite":\[\{"rank":"1","children":\{"core":"0-3"\}\}\]' "... and matches on it, by its ranks"

# --- the offline tool itself
for g in "$FLUXION"/grugs/*.graphml "$FLUXION"/grugs/mt-storage/*.graphml "$FLUXION"/jgfs/*.json; do
	ok "fluxfs-query loads ${g#"$FLUXION"/}" sh -c "echo quit | '$QUERY' -L '$g' >/dev/null"
done
JS=$FLUXION/jobspecs
out=$(printf 'match allocate %s\nmatch allocate %s\nmatch allocate %s\nquit\n' \
	"$JS/basics/bad.yaml" "$JS/basics/bad_res_type.yaml" "$JS/basics/test001.yaml" |
	"$QUERY" -L "$TINY" 2>err.txt)
like "$(cat err.txt)" "bad\.yaml: line" "a broken jobspec is reported on stderr"
like "$(cat err.txt)" "invalid_res_type" "an unknown resource type is reported"
like "$out" "JOBID=1" "and neither used a job id"
out=$(printf 'match allocate %s\nquit\n' "$JS/basics/test001.yaml" | "$QUERY" -L "$TINY" -F rv1)
like "$out" '"R_lite":\[\{"rank":"[0-9]","children":\{"core":"[0-9]+"\}\}\]' "-F rv1 prints R"
out=$(printf 'set-status /tiny0/rack0/node0 down\nset-status /tiny0/rack0/node1 down\nmatch allocate %s\nset-status /tiny0/rack0/node1 up\nmatch allocate %s\nquit\n' \
	"$JS/basics/test001.yaml" "$JS/basics/test001.yaml" | "$QUERY" -L "$TINY" -P low)
like "$out" "No matching resources found.*JOBID=1" "nothing matches while both nodes are down"
like "$out" "node1\[1:s\].*JOBID=2" "node1 is used once it is up again"
out=$(printf 'match allocate %s\nquit\n' "$JS/basics/test008.yaml" | "$QUERY" -L "2 nodes x 2 sockets x 4 cores" -f desc -P locality)
like "$out" "RESOURCES=ALLOCATED" "a described graph and the locality policy"

# --- through the tree
fluxfs_start --resources "$TINY" || bail_out "cannot mount"
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
general 2 "echo general" 60 > g.yaml
id=$(submit g.yaml)
is "$(wait_job "$id")" "COMPLETED 0" "a version 9999 jobspec runs"
is "$(jobfile "$id" stdout)" "general" "its output"
like "$(jobfile "$id" R)" '"nodelist":\["node0"\]' "R names the graph's node"
like "$(jobfile "$id" R)" '"core":"0-1"' "low policy: cores 0-1"
general 19 "true" 60 > big.yaml
nok "19 cores in one socket can never fit: cp fails" timeout 10 cp big.yaml "$MNT/queue/"
like "$(tail -1 "$MNT/queue/errors")" "big\.yaml: EINVAL: .*can ever satisfy" "with the reason in queue/errors"

# EASY backfill: A holds node0's sockets, B needs whole nodes (reserved),
# C is short and fits beside A before B's reservation
general 18 "sleep 60" 600 > a.yaml
A1=$(submit a.yaml); A2=$(submit a.yaml)
ok "A1 runs" wait_state "$A1" RUN
ok "A2 runs" wait_state "$A2" RUN
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
general 4 "sleep 30" 100 > c.yaml
C=$(submit c.yaml)
ok "C backfills now" wait_state "$C" RUN
is "$(job_state "$B")" "SCHED" "B waits for whole nodes"
like "$(cat "$MNT/resources/allocations")" ":reserved" "B's reservation is listed in resources/allocations"
like "$(cat "$MNT/resources/allocations")" "/tiny0/rack0/node0/socket0 socket up $A1:x" "A1's socket is listed as held"

# dynamic resources: drain keeps new work off, down fails running jobs
node_of() { jobfile "$1" R | python3 -c 'import json,sys; print(json.load(sys.stdin)["execution"]["nodelist"][0])'; }
n=$(node_of "$C")
echo "down /tiny0/rack0/$n" > "$MNT/resources/ctl"
like "$(wait_job "$C")" "^FAILED" "a job on a node that went down fails"
like "$(jobfile "$C" eventlog)" '"type":"resource"' "with a resource exception"
like "$(cat "$MNT/resources/allocations")" "/tiny0/rack0/$n node down" "the node is listed as down"
nok "non-owner cannot write resources/ctl" setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo 'up $n' > '$MNT/resources/ctl'"
echo "up /tiny0/rack0/$n" > "$MNT/resources/ctl"
unlike "$(cat "$MNT/resources/allocations")" "node down" "up again"
nok "an unknown vertex is refused" sh -c "echo 'drain /nope' > '$MNT/resources/ctl'"
like "$(tail -1 "$MNT/queue/errors")" "resources/ctl: ENOENT: no resource '/nope'" "with a reason"
for j in "$A1" "$A2" "$B"; do echo cancel 2>/dev/null > "$MNT/jobs/$j/ctl" || true; done
ok "all jobs end" wait_until 20 all_inactive

# a drain survives a restart
echo "drain /tiny0/rack0/node1" > "$MNT/resources/ctl"
fluxfs_stop
fluxfs_start --resources "$TINY" || bail_out "cannot mount again"
like "$(cat "$MNT/resources/allocations")" "/tiny0/rack0/node1 node drained" "node1 is still drained after a restart"
general 18 "true" 60 > n.yaml
D1=$(submit n.yaml); D2=$(submit n.yaml); D3=$(submit n.yaml)
ok "two fit on node0" wait_until 20 sh -c "test \"\$(cat $MNT/jobs/$D2/state)\" != SCHED"
is "$(wait_job "$D3" 30)" "COMPLETED 0" "the third ran after them"
unlike "$(cat "$MNT/jobs/$D1/R" "$MNT/jobs/$D2/R" "$MNT/jobs/$D3/R")" "node1" "nothing ran on the drained node"
echo "up node1" > "$MNT/resources/ctl"
unlike "$(cat "$MNT/resources/allocations")" "drained" "up by name"
fluxfs_stop
done_testing
