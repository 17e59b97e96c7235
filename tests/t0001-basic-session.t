#!/bin/bash
# The example session: cp a jobspec into queue/, then look at it with ls/cat.
. "$(dirname "$0")/lib.sh"
plan 34

ok "daemon mounts" fluxfs_start
like "$(cat "$MNT/README")" "workload manager" "README explains the tree"
like "$(cat "$MNT/README")" "queue/" "README mentions queue/"
is "$(ls "$MNT" | tr '\n' ' ')" "README accounting events joblist jobs queue resources status status.json " "root lists README accounting events joblist jobs queue resources status status.json"
is "$(status_field tree-version)" 2 "status: tree-version 2"
is "$(status_field jobs)" 0 "status: no jobs yet"
is "$(status_field cores)" "$(status_field cores-free)" "status: all cores free"
is "$(status_field containment)" process-groups "status: jobs held by process groups (no --contain)"
is "$(ps -o comm= --ppid "$FLUXFS_PID" | sort -u | tr '\n' ' ')" "fluxfs-imp fluxfs-publish " \
	"its privileged helper and inotify publisher are not more fluxfsd in ps"
ok "status has every key" bash -c 'for k in tree-version uptime nodes cores cores-free gpus jobs new depend priority sched run cleanup inactive; do grep -q "^$k: " "$1" || { echo "# missing $k"; exit 1; }; done' _ "$MNT/status"

mkjob 'echo hello from $FLUX_JOB_ID; echo oops >&2' > hello.yaml
ok "cp job.yaml queue/ succeeds" timeout 10 cp hello.yaml "$MNT/queue/"
ids=$(ls "$MNT/jobs")
is "$(echo "$ids" | wc -l)" 1 "one job appears in jobs/"
id=$ids
like "$id" '^f[1-9A-HJ-NP-Za-km-z]+$' "job id is F58"
is "$(ls "$MNT/jobs/$id" | tr '\n' ' ')" "R ctl eventlog jobspec priority result state stderr stdout wait " "job dir has all files"
is "$(wait_job "$id")" "COMPLETED 0" "cat wait blocks until done and prints result"
is "$(jobfile "$id" state)" INACTIVE "state is INACTIVE"
is "$(jobfile "$id" result)" "COMPLETED 0" "result is COMPLETED 0"
is "$(jobfile "$id" stdout)" "hello from $id" "stdout has the task's output and FLUX_JOB_ID"
is "$(jobfile "$id" stderr)" "oops" "stderr has the task's errors"
ok "jobspec reads back what was submitted" cmp hello.yaml "$MNT/jobs/$id/jobspec"
is "$(event_names "$id")" "submit validate depend priority alloc start finish release free clean" "eventlog has the full life cycle"
ok "every eventlog line is JSON with timestamp/name/context" python3 -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    assert set(e) == {"timestamp", "name", "context"}, e
    assert isinstance(e["timestamp"], float)
' "$MNT/jobs/$id/eventlog"
ok "R is RFC 20 with one core on rank 0" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["version"] == 1
rl = r["execution"]["R_lite"]
assert len(rl) == 1 and "-" not in rl[0]["children"]["core"] and "," not in rl[0]["children"]["core"], rl
' "$MNT/jobs/$id/R"
is "$(jobfile "$id" state | od -An -c | tr -s ' ')" " I N A C T I V E \n" "state is one word plus newline"

is "$(status_field jobs)" 1 "status: jobs 1"
is "$(status_field inactive)" 1 "status: inactive 1"
is "$(status_field run)" 0 "status: run 0"
ok "resources show no holds again" bash -c '! grep -rqE " (exclusive|shared|pool:[0-9]+|exclusive-ancestor) [0-9]+ " "$1"/resources/*/' _ "$MNT"
ok "status.json is a JSON object with every key" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
keys = {"tree_version", "version", "uptime", "started", "nodes", "cores",
        "cores_free", "gpus", "jobs", "states", "parsing", "containment"}
assert set(s) == keys, sorted(s)
assert s["tree_version"] == 2 and s["jobs"] == sum(s["states"].values()), s
assert s["parsing"] == 0, s
' "$MNT/status.json"
is "$(timeout 5 cat "$MNT/status.json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["jobs"])')" \
   "$(status_field jobs)" "status.json jobs equals status jobs"
like "$(status_field started)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "status: started is ISO 8601 UTC"
# a running job's start is written with the next commit, or 5 ms later on
# an idle instance: it is in the eventlog soon, not only once the job ends
mkjob 'sleep 30' > long.yaml
lid=$(submit long.yaml)
ok "a long job runs" wait_state "$lid" RUN
ok "... and its eventlog says start while it runs" wait_until 2 grep -q '"name":"start"' "$MNT/jobs/$lid/eventlog"
echo cancel > "$MNT/jobs/$lid/ctl"
wait_job "$lid" >/dev/null
ok "unmount" fluxfs_stop
