#!/bin/bash
# Scheduling: exclusive cores, many submissions, urgency order and holds,
# multi-node jobs on a simulated cluster.
. "$(dirname "$0")/lib.sh"
plan 28

fluxfs_start || bail_out "cannot mount"
cores=$(status_field cores)
J=$MNT/jobs
ts_le() { python3 -S -c "import sys; sys.exit(not float(sys.argv[1]) <= float(sys.argv[2]))" "$1" "$2"; }

# two jobs wanting every core never overlap
mkjob 'sleep 0.5' "$cores" > all.yaml
a=$(submit all.yaml); b=$(submit all.yaml)
ok "second all-cores job waits" wait_state "$b" SCHED 2
is "$(status_field cores-free)" 0 "status: no core free while the first runs"
wait_job "$a" >/dev/null; wait_job "$b" >/dev/null
ok "b starts after a released its cores" ts_le "$(event_ts "$a" release)" "$(event_ts "$b" alloc)"
is "$(jobfile "$a" R | python3 -c 'import json,sys; print(json.load(sys.stdin)["execution"]["R_lite"][0]["children"]["core"])')" \
   "$(jobfile "$b" R | python3 -c 'import json,sys; print(json.load(sys.stdin)["execution"]["R_lite"][0]["children"]["core"])')" "both got the same (full) core set"
is "$(status_field cores-free)" "$cores" "all cores free afterwards"

# 200 submissions in a loop
mkjob 'true' > t.yaml
n0=$(status_field jobs)
fails=0
for i in $(seq 200); do timeout 10 cp t.yaml "$MNT/queue/" || fails=$((fails + 1)); done
is "$fails" 0 "200 cp submissions all accepted"
is "$(status_field jobs)" $((n0 + 200)) "200 new jobs"
all_done() { [ "$(status_field inactive)" = $((n0 + 200)) ]; }
ok "all 200 complete" wait_until 90 all_done
is "$(cat "$J"/*/result | sort | uniq -c | sed 's/^ *//')" "$((n0 + 200)) COMPLETED 0" "every result is COMPLETED 0"

# urgency order and holds
mkjob 'sleep 1.5' "$cores" > blocker.yaml
mkjob 'echo ran' "$cores" > u.yaml
blk=$(submit blocker.yaml)
ok "blocker runs" wait_state "$blk" RUN
ids=()
for u in 5 20 10 0; do
	id=$(submit u.yaml)
	ok "set urgency $u" bash -c 'echo "urgency $2" > "$1"' _ "$J/$id/ctl" "$u"
	ids+=("$id")
done
A=${ids[0]} B=${ids[1]} C=${ids[2]} H=${ids[3]}
is "$(jobfile "$B" eventlog | grep -c '"name":"urgency"')" 1 "urgency change is in the eventlog"
for id in "$A" "$B" "$C"; do wait_job "$id" 20 >/dev/null; done
ok "urgency 20 ran before urgency 10" ts_le "$(event_ts "$B" start)" "$(event_ts "$C" start)"
ok "urgency 10 ran before urgency 5" ts_le "$(event_ts "$C" start)" "$(event_ts "$A" start)"
sleep 0.3
ok "held job (urgency 0) does not run with cores free" test "$(job_state "$H")" != RUN -a "$(job_state "$H")" != INACTIVE
nok "urgency 99 is refused" bash -c 'echo "urgency 99" > "$1"' _ "$J/$H/ctl" 2>/dev/null
ok "cancel the held job" bash -c 'echo cancel > "$1"' _ "$J/$H/ctl"
is "$(wait_job "$H")" CANCELED "held job is CANCELED"
ok "unmount" fluxfs_stop

# simulated cluster: 4 nodes x 2 cores
rm -rf "$STATE"
fluxfs_start --resources "$FIXTURES/R-4n2c.json" || bail_out "cannot mount cluster"
is "$(status_field nodes)/$(status_field cores)" "4/8" "status: 4 nodes, 8 cores"
mkjob_nodes 'echo "rank=$FLUX_TASK_RANK nnodes=$FLUX_JOB_NNODES size=$FLUX_JOB_SIZE"; sleep 0.5' 2 > two.yaml
id=$(submit two.yaml)
ok "2-node job runs" wait_state "$id" RUN
is "$(grep -l "^$id exclusive " "$MNT"/resources/cluster0/node*/core* | sed 's,.*/cluster0/,,; s,/.*,,' | sort -u | wc -l)" 2 "resources/: cores held on 2 nodes"
is "$(wait_job "$id")" "COMPLETED 0" "2-node job completes"
is "$(jobfile "$id" R | python3 -c '
import json, sys
r = json.load(sys.stdin)["execution"]
ranks = set()
for e in r["R_lite"]:
    a, _, b = e["rank"].partition("-")
    ranks.update(range(int(a), int(b or a) + 1))
print(len(ranks), len(r["nodelist"][0].split(",")) if "[" not in r["nodelist"][0] else r["nodelist"][0])')" "$(jobfile "$id" R | python3 -c '
import json, sys
r = json.load(sys.stdin)["execution"]
print(2, r["nodelist"][0])')" "R lists 2 ranks"
is "$(jobfile "$id" stdout | sort | tr '\n' ' ')" "rank=0 nnodes=2 size=2 rank=1 nnodes=2 size=2 " "one task per node, FLUX_JOB_NNODES=2"
