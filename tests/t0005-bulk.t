#!/bin/bash
# Bulk submission: one write carrying many jobspecs (YAML documents or JSON
# objects) makes many jobs, all or none, and reads back one id a line.
. "$(dirname "$0")/lib.sh"
plan 46

fluxfs_start || bail_out "cannot mount"
njobs() { ls "$MNT/jobs" | wc -l; }
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
fx() { timeout 60 "$FLUXFS" -m "$MNT" "$@"; }

# three YAML documents through cp
{ mkjob 'echo first'; echo '---'; mkjob 'echo second'; echo '---'; mkjob 'echo third'; } > three.yaml
n0=$(njobs)
ok "cp of a 3-document YAML stream succeeds" cp three.yaml "$MNT/queue/"
is "$(njobs)" $((n0 + 3)) "three jobs appeared at once"
outs=""
for id in $(ls -tr "$MNT/jobs"); do
	wait_job "$id" >/dev/null
	outs="$outs $(jobfile "$id" stdout)"
done
is "$(echo $outs | tr ' ' '\n' | sort | tr '\n' ' ')" "first second third " "each document ran as its own job"
second=$(grep -l 'echo second' "$MNT"/jobs/*/jobspec | head -1)
like "$(head -1 "$second")" '^---$' "a job's jobspec file is its own document, as written"
ok "and holds nothing of the others" bash -c "! grep -q 'first\|third' '$second'"

# JSON Lines through queue/new, from python: ids come back a line each, in order
out=$(timeout 30 python3 - "$MNT" <<'PY'
import json, os, sys
mnt = sys.argv[1]
def spec(i):
    return {"version": 1,
            "resources": [{"type": "slot", "count": 1, "label": "t",
                           "with": [{"type": "core", "count": 1}]}],
            "tasks": [{"command": ["sh", "-c", "echo %d" % i], "slot": "t",
                       "count": {"per_slot": 1}}],
            "attributes": {"system": {"duration": 0, "job": {"name": "bulk%d" % i}}}}
text = "".join(json.dumps(spec(i)) + "\n" for i in range(500))
fd = os.open(os.path.join(mnt, "queue/new"), os.O_RDWR)
os.write(fd, text.encode())
ids = b""
while True:
    b = os.read(fd, 4096)
    if not b:
        break
    ids += b
os.close(fd)
ids = ids.decode().split()
print(len(ids), len(set(ids)))
for i in (0, 250, 499):
    print(i, ids[i])
PY
)
is "$(echo "$out" | head -1)" "500 500" "500 JSON Lines: 500 distinct ids read back"
id0=$(echo "$out" | awk '$1 == 0 {print $2}')
id499=$(echo "$out" | awk '$1 == 499 {print $2}')
is "$(wait_job "$id499" 60)" "COMPLETED 0" "the last one runs"
is "$(jobfile "$id499" stdout)" 499 "ids are in document order (last)"
is "$(jobfile "$id0" stdout)" 0 "ids are in document order (first)"

# all or none: one bad document rejects the whole submission
{ mkjob true; echo '---'; mkjob true | sed 's/per_slot: 1/per_slot: 0/'; echo '---'; mkjob true; } > bad.yaml
n0=$(njobs)
ok "cp of a stream with one invalid job fails" bash -c "! cp bad.yaml '$MNT/queue/' 2>cp.err"
like "$(cat cp.err)" "Invalid argument" "close() says EINVAL"
is "$(njobs)" "$n0" "no job of it was created"
like "$(tail -1 "$MNT/queue/errors")" 'bad.yaml: EINVAL: job 2 of 3 \(line 1[0-9]\): tasks\[0\]\.count\.per_slot' \
	"queue/errors names the job, its line and the reason"
{ mkjob true; echo '---'; printf 'version: 1\nresources: [\n'; } > syntax.yaml
ok "a syntax error in the second document fails too" bash -c "! cp syntax.yaml '$MNT/queue/' 2>/dev/null"
first_len=$(mkjob true | wc -l)
like "$(tail -1 "$MNT/queue/errors")" "job 2 of 2: line $((first_len + 4)) column" \
	"its line counts from the start of the file"
printf '{"version": 1}\n{"version": 1\n' > trunc.json
ok "a truncated JSON stream is refused" bash -c "! cp trunc.json '$MNT/queue/' 2>/dev/null"
is "$(njobs)" "$n0" "still no job from any of them"

# a single document with a leading '---' is one job, unchanged
{ echo '---'; mkjob 'echo solo'; } > solo.yaml
id=$(submit solo.yaml)
is "$(wait_job "$id")" "COMPLETED 0" "one document with a leading marker is one job"
is "$(head -1 "$MNT/jobs/$id/jobspec")" "---" "its jobspec keeps the marker"

# batch scripts are never split, even with '---' inside
printf '#!/bin/sh\necho a\n---\necho b\n' > script.sh
n0=$(njobs)
id=$(submit script.sh 2>/dev/null) || id=
is "$(njobs)" $((n0 + 1)) "a batch script containing '---' is one job"
[ -n "$id" ] && wait_job "$id" >/dev/null

# the CLI's --cc goes in one bulk submission: held, so nothing runs
n0=$(njobs)
ids=$(fx submit --cc=1-2000 --urgency=0 true)
is "$(echo "$ids" | wc -l)" 2000 "fluxfs submit --cc=1-2000 prints 2000 ids"
is "$(njobs)" $((n0 + 2000)) "2000 jobs exist when it returns"
is "$(cat "$MNT/jobs/$(echo "$ids" | tail -1)/state")" SCHED "held, waiting in SCHED"
first=$(echo "$ids" | head -1)
is "$(awk -F'"' '/"submit"/ {print $0}' "$MNT/jobs/$first/eventlog" | grep -c urgency)" 1 \
	"each has its own eventlog"
# identical copies share one parsed jobspec: each still lives its own life
last=$(echo "$ids" | tail -1); mid=$(echo "$ids" | sed -n 1000p)
ok "release one copy" bash -c "echo 'urgency 16' > '$MNT/jobs/$last/ctl'"
is "$(wait_job "$last")" "COMPLETED 0" "it runs and completes"
ok "cancel another" bash -c "echo cancel > '$MNT/jobs/$first/ctl'"
is "$(wait_job "$first")" "CANCELED" "that one is canceled"
is "$(cat "$MNT/jobs/$mid/state")" SCHED "a third is still held"
like "$(cat "$MNT/jobs/$mid/jobspec")" '"command":\["true"\]' "and its jobspec file is whole"
fx cancel $(echo "$ids" | sed -n '2,1999p') >/dev/null 2>&1

# copies that differ only in their environment (--cc sets FLUX_JOB_CC) share
# the rest of one parsed jobspec: each runs with its own environment, and
# a document that differs elsewhere is parsed for itself
ids=$(FLUXFS_T_SAME=same fx submit --cc=1-12 sh -c 'echo $FLUX_JOB_CC $FLUXFS_T_SAME')
is "$(echo "$ids" | wc -l)" 12 "--cc=1-12 of one command: 12 ids"
outs=$(for id in $ids; do wait_job "$id" >/dev/null; jobfile "$id" stdout; done | tr '\n' ' ')
is "$outs" "1 same 2 same 3 same 4 same 5 same 6 same 7 same 8 same 9 same 10 same 11 same 12 same " \
	"each copy ran with its own FLUX_JOB_CC, in order"
python3 - "$MNT" > envdocs.out <<'PY'
import json, os, sys
def spec(cmd, env):
    return {"version": 1, "resources": [{"type": "slot", "count": 1, "label": "t",
            "with": [{"type": "core", "count": 1}]}],
            "tasks": [{"command": ["sh", "-c", cmd], "slot": "t", "count": {"per_slot": 1}}],
            "attributes": {"system": {"duration": 60, "cwd": "/tmp", "environment": env}}}
docs = [spec("echo $V", {"V": "a"}), spec("echo $V", {"V": "bb", "W": "x"}),
        spec("echo $V", {"V": "c"}), spec("echo other $V", {"V": "d"}),
        spec("echo $V", {"V": "e"})]
fd = os.open(os.path.join(sys.argv[1], "queue/new"), os.O_RDWR)
os.write(fd, "".join(json.dumps(d) + "\n" for d in docs).encode())
print(os.read(fd, 4096).decode(), end="")
os.close(fd)
PY
is "$(wc -l < envdocs.out)" 5 "five JSON documents, three alike but for the environment"
outs=$(for id in $(cat envdocs.out); do wait_job "$id" >/dev/null; jobfile "$id" stdout; done | tr '\n' ' ')
is "$outs" "a bb c other d e " "each with its own environment and its own command"
like "$(cat "$MNT/jobs/$(sed -n 2p envdocs.out)/jobspec")" '"W": "x"' "a copy's jobspec file is its own text"
# 64 KiB or more is parsed off the daemon's main thread (doc/tree.md
# "Bulk submission"): the same refusal, named the same way
for i in $(seq 1000); do mkjob "echo $i"; echo '---'; done | sed '$d' > big-bad.yaml
sed -i '/echo 700/,/per_slot/ s/per_slot: 1/per_slot: 0/' big-bad.yaml
n0=$(njobs)
ok "a stream of 1,000 (64 KiB or more) with job 700 invalid fails at close" \
	bash -c "[ \$(stat -c %s big-bad.yaml) -ge 65536 ] && ! cp big-bad.yaml '$MNT/queue/' 2>cp.err"
like "$(cat cp.err)" "Invalid argument" "... with EINVAL"
like "$(tail -1 "$MNT/queue/errors")" 'big-bad\.yaml: EINVAL: job 700 of 1000 \(line [0-9]+\): tasks\[0\]\.count\.per_slot' \
	"... queue/errors names job 700 of 1000"
is "$(njobs)" "$n0" "... and no job of it was created"

# While a 20 MB submission is parsed, a small one goes through: submitted,
# run and waited for before the big one's close returns. (An order, not a
# time: parsing 20 MB takes a second or more, a `true` job milliseconds.)
timeout 120 python3 - "$MNT" > parsing.out <<'PY'
import os, sys, threading, time
mnt = sys.argv[1]
head = ("version: 1\nresources:\n  - type: slot\n    count: 1\n    label: task\n"
        "    with:\n      - type: core\n        count: 1\ntasks:\n"
        "  - command: [\"true\", \"%d\"]\n    slot: task\n    count:\n      per_slot: 1\n"
        "attributes:\n  system:\n    duration: 0\n    urgency: 0\n    environment:\n")
big = "---\n".join(head % i + "".join("      V%05d: value-of-variable-number-%05d\n" % (k, k)
                                      for k in range(22000)) for i in range(20))
order, out = [], {}
def submit_big():
    with open(mnt + "/queue/new", "r+") as f:
        f.write(big)
        f.flush()
        out["big"] = f.read().split()
    order.append("big")
t = threading.Thread(target=submit_big)
t.start()
seen, end = False, time.time() + 60
while time.time() < end and t.is_alive():
    if "parsing: 1\n" in open(mnt + "/status").read():
        seen = True
        break
    time.sleep(0.005)
small = ('{"version":1,"resources":[{"type":"slot","count":1,"label":"t","with":'
         '[{"type":"core","count":1}]}],"tasks":[{"command":["true"],"slot":"t",'
         '"count":{"per_slot":1}}],"attributes":{"system":{"duration":0,"cwd":"/"}}}')
with open(mnt + "/queue/new", "r+") as f:
    f.write(small)
    f.flush()
    sid = f.read().strip()
result = open(mnt + "/jobs/%s/wait" % sid).read().strip()
order.append("small")
t.join()
def submit_time(i):
    return float(open(mnt + "/jobs/%s/eventlog" % i).readline().split('"timestamp":')[1].split(",")[0])
print("seen-parsing" if seen else "never-saw-parsing")
print(result)
print(" ".join(order))
print(len(out.get("big", [])))
print("before" if out.get("big") and submit_time(sid) < submit_time(out["big"][0]) else "after")
print(open(mnt + "/status").read().count("parsing: 0\n"))
PY
is "$(sed -n 1p parsing.out)" seen-parsing "a 20 MB submission shows in status as parsing: 1"
is "$(sed -n 2p parsing.out)" "COMPLETED 0" "a small job submitted meanwhile runs to its end"
is "$(sed -n 3p parsing.out)" "small big" "... before the big submission's read of its ids returns"
is "$(sed -n 4p parsing.out)" 20 "the big one then gets its 20 ids"
is "$(sed -n 5p parsing.out)" before "... its jobs accepted after the small one"
is "$(sed -n 6p parsing.out)" 1 "status: parsing 0 once it is done"
ok "unmount" fluxfs_stop
