#!/bin/bash
# Execution: cancel, signals, timeouts, exit codes, env, cwd, affinity,
# multi-task jobs.
. "$(dirname "$0")/lib.sh"
plan 39

fluxfs_start --kill-grace 1 || bail_out "cannot mount"
J=$MNT/jobs
cores=$(status_field cores)
ctl() { bash -c 'echo "$2" > "$1"' _ "$J/$1/ctl" "$2" 2>/dev/null; }

# cancel pending and running
mkjob 'sleep 60' "$cores" > big.yaml
mkjob 'echo never' > p.yaml
run=$(submit big.yaml)
ok "running job" wait_state "$run" RUN
pend=$(submit p.yaml)
ok "pending job" wait_state "$pend" SCHED
ok "cancel the pending job" ctl "$pend" cancel
is "$(wait_job "$pend")" CANCELED "pending job is CANCELED"
is "$(jobfile "$pend" stdout)" "" "and never ran"
like "$(jobfile "$pend" eventlog)" '"name":"exception","context":\{"type":"cancel"' "cancel exception in its eventlog"
ok "cancel the running job" ctl "$run" cancel
is "$(wait_job "$run" 10)" CANCELED "running job is CANCELED"
like "$(event_names "$run")" 'exception finish release free clean$' "running job: exception then finish..clean"
nok "cancel of an inactive job fails" ctl "$run" cancel
like "$(tail -1 "$MNT/queue/errors")" "ctl: EINVAL: .*inactive" "reason logged"
nok "unknown ctl command fails" ctl "$pend" frobnicate

# signal delivery
# (the loop's list is made before "ready": USR1 goes to the whole process
# group, and would kill a seq still running, ending the loop early)
mkjob 'trap "echo got-usr1" USR1; l=$(seq 100); echo ready; for i in $l; do sleep 0.1; done' > trap.yaml
id=$(submit trap.yaml)
ok "trapping job is ready" wait_until 10 grep -q ready "$J/$id/stdout"
ok "signal USR1" ctl "$id" "signal USR1"
ok "the job saw USR1" wait_until 10 grep -q got-usr1 "$J/$id/stdout"
ok "signal by number (15)" ctl "$id" "signal 15"
like "$(wait_job "$id")" '^(FAILED|CANCELED)' "SIGTERM ends it"
nok "signal with a bad name fails" ctl "$id" "signal NOPE"

# timeout
mkjob 'trap "" TERM; sleep 30' 1 1 > to.yaml
id=$(submit to.yaml)
is "$(wait_job "$id" 60)" TIMEOUT "duration 1 s: TIMEOUT"
# SIGKILL after the kill grace, not the end of the sleep (exit 0)
like "$(jobfile "$id" eventlog)" '"name":"finish","context":\{"status":137\}' "killed by SIGKILL after the grace"
like "$(jobfile "$id" eventlog)" '"type":"timeout"' "timeout exception in the eventlog"

# exit codes
mkjob 'echo out; exit 3' > e3.yaml
is "$(wait_job "$(submit e3.yaml)")" "FAILED 3" "exit 3: FAILED 3"
cat > nx.yaml <<'Y'
version: 1
resources:
  - type: slot
    count: 1
    label: task
    with:
      - type: core
        count: 1
tasks:
  - command: ["/no/such/command-xyz"]
    slot: task
    count:
      per_slot: 1
attributes:
  system:
    duration: 10
Y
id=$(submit nx.yaml)
is "$(wait_job "$id")" "FAILED 127" "nonexistent command: FAILED 127"
like "$(jobfile "$id" stderr)" "command-xyz" "stderr names the missing command"

# env, cwd, affinity
mkjob 'echo "$FLUX_JOB_ID $FLUX_TASK_RANK $FLUX_JOB_SIZE $FLUX_JOB_NNODES $FLUX_TASK_LOCAL_ID"; pwd; grep Cpus_allowed_list /proc/self/status | cut -f2' > env.yaml
id=$(submit env.yaml); wait_job "$id" >/dev/null
out=$(jobfile "$id" stdout)
is "$(sed -n 1p <<<"$out")" "$id 0 1 1 0" "FLUX_JOB_ID TASK_RANK JOB_SIZE JOB_NNODES TASK_LOCAL_ID"
is "$(sed -n 2p <<<"$out")" "$T" "task runs in the submitter's cwd"
like "$(sed -n 3p <<<"$out")" '^[0-9]+$' "1-core task is bound to a single cpu"
mkdir -p "$T/elsewhere"
mkjob 'pwd' | sed "s|    duration: 60|    duration: 60\n    cwd: $T/elsewhere|" > cwd.yaml
id=$(submit cwd.yaml); wait_job "$id" >/dev/null
is "$(jobfile "$id" stdout)" "$T/elsewhere" "attributes.system.cwd is honoured"

# multi-task: per_slot N on one slot of N cores
n=$cores
mkjob 'echo "rank=$FLUX_TASK_RANK size=$FLUX_JOB_SIZE cpus=$(grep Cpus_allowed_list /proc/self/status | cut -f2)"' "$n" 60 "$n" > multi.yaml
id=$(submit multi.yaml)
is "$(wait_job "$id")" "COMPLETED 0" "multi-task job completes"
is "$(jobfile "$id" stdout | sed 's/ cpus=.*//' | sort | tr '\n' ' ')" "$(for i in $(seq 0 $((n - 1))); do echo "rank=$i size=$n"; done | sort | tr '\n' ' ')" "ranks 0..N-1 all present with FLUX_JOB_SIZE=N"

# the job's processes are gone after it ends
mkjob "sleep 29.$$ & echo bg; wait" > bg.yaml
id=$(submit bg.yaml)
ok "background-child job runs" wait_until 10 grep -q bg "$J/$id/stdout"
ctl "$id" cancel
is "$(wait_job "$id" 10)" CANCELED "cancelled"
ok "no task process survives the job" wait_until 5 no_procs "sleep 29.$$"
# the program is looked up on the job's own PATH, not the daemon's
mkdir -p "$T/mybin"
printf '#!/bin/sh\necho found-on-job-path-$MYVAR\n' > "$T/mybin/only-here"
chmod +x "$T/mybin/only-here"
cat > path.json <<EOF
{"version": 1, "resources": [{"type": "slot", "count": 1, "label": "t",
  "with": [{"type": "core", "count": 1}]}],
 "tasks": [{"command": ["only-here"], "slot": "t", "count": {"per_slot": 1}}],
 "attributes": {"system": {"duration": 60, "urgency": 0,
   "environment": {"PATH": "/nonexistent:$T/mybin:/usr/bin:/bin", "MYVAR": "kept"}}}}
EOF
# (held first: a queued job keeps no copy of its environment in memory, it
# is read back from the stored jobspec when the job starts)
id=$(submit path.json)
ok "released from hold" ctl "$id" "urgency 16"
is "$(wait_job "$id")" "COMPLETED 0" "a program found only on the job's PATH runs"
is "$(jobfile "$id" stdout)" "found-on-job-path-kept" "that program, with the job's environment"
# read back exactly, escapes and all: from JSON by the broker's scanner,
# from YAML by the jobspec parser
cat > env.json <<'EOF'
{"version": 1, "resources": [{"type": "slot", "count": 1, "label": "t",
  "with": [{"type": "core", "count": 1}]}],
 "tasks": [{"command": ["sh", "-c", "printf '%s|%s|%s|%s' \"$Q\" \"$U\" \"$E\" \"$FLUX_JOB_ID\""],
   "slot": "t", "count": {"per_slot": 1}}],
 "attributes": {"user": {"environment": {"Q": "not this one"}},
   "system": {"duration": 60, "urgency": 0, "cwd": "/",
   "environment": {"PATH": "/usr/bin:/bin", "Q": "a\"b\\c\tt\/", "U": "caf\u00e9 \ud83d\ude00",
                   "E": "", "FLUX_JOB_ID": "forged"}}}}
EOF
cat > env.yaml <<'EOF'
version: 1
resources: [{type: slot, count: 1, label: t, with: [{type: core, count: 1}]}]
tasks:
  - command: ["sh", "-c", "printf '%s|%s|%s|%s' \"$Q\" \"$U\" \"$E\" \"$FLUX_JOB_ID\""]
    slot: t
    count: {per_slot: 1}
attributes:
  system:
    duration: 60
    urgency: 0
    cwd: /
    environment: {PATH: "/usr/bin:/bin", Q: "a\"b\\c\tt/", U: "café 😀", E: "", FLUX_JOB_ID: forged}
EOF
for f in env.json env.yaml; do
	id=$(submit $f)
	ctl "$id" "urgency 16"
	is "$(wait_job "$id"):$(jobfile "$id" stdout)" "COMPLETED 0:$(printf 'a"b\\c\tt/|café 😀||%s' "$id")" \
		"a held job's environment from its stored $f: escapes, UTF-8, empty, FLUX_JOB_ID the broker's"
done
ok "unmount" fluxfs_stop
