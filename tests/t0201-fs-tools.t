#!/bin/bash
# Ordinary tools work on the tree: tail -f, cp -r, grep -r, find, stat, ls -l,
# python; and wrong operations fail with the right errno.
. "$(dirname "$0")/lib.sh"
plan 31

fluxfs_start || bail_out "cannot mount"
J=$MNT/jobs

# tail -f follows a job printing lines slowly
# (the job waits for the test after its first line: no race with a clock)
mkjob "echo tick-1; while [ ! -e $T/go ]; do sleep 0.05; done; for i in 2 3 4 5; do echo tick-\$i; sleep 0.2; done" > slow.yaml
id=$(submit slow.yaml)
timeout 20 tail -f "$J/$id/stdout" > tail.out 2>/dev/null &
tp=$!
ok "tail -f sees the first line while the job runs" wait_until 10 grep -q tick-1 tail.out
is "$(job_state "$id")" RUN "the job is still running then"
touch go
ok "tail -f sees the last line" wait_until 15 grep -q tick-5 tail.out
kill "$tp" 2>/dev/null; wait "$tp" 2>/dev/null
is "$(cat tail.out | tr '\n' ' ')" "tick-1 tick-2 tick-3 tick-4 tick-5 " "tail -f output is complete and in order"
is "$(wait_job "$id")" "COMPLETED 0" "job completed"

# cp -r copies real content
# (every file is readable by the job's owner, ctl included)
timeout 10 cp -r "$J/$id" copy 2>cp.err
is "$(cat cp.err)" "" "cp -r copies every file without complaint"
for f in stdout stderr state result eventlog R jobspec; do
	ok "copied $f equals the original" cmp "copy/$f" "$J/$id/$f"
done
is "$(cat copy/stdout | wc -l)" 5 "copied stdout has the five lines"

# grep -r, find
mkjob 'echo needle-in-a-haystack' > n.yaml
id2=$(submit n.yaml); wait_job "$id2" >/dev/null
is "$(timeout 10 grep -rl --exclude=ctl --exclude=wait needle-in-a-haystack "$J" | sort | tr '\n' ' ')" "$J/$id2/jobspec $J/$id2/stdout " "grep -r finds the jobspec and the output"
is "$(timeout 10 find "$J" -name stdout | wc -l)" 2 "find lists every stdout"
is "$(timeout 10 find "$MNT" -type d | wc -l)" "$(( 6 + 2 + 1 + $(status_field nodes) ))" "find -type d counts root, queue, queue/drafts, jobs, resources, accounting, cluster0, nodes and jobs"

# stat sizes match content length
bad=
for f in "$J/$id"/{stdout,stderr,state,result,eventlog,R,jobspec} "$MNT/status" "$MNT/README" "$MNT/resources/summary" \
	"$MNT/resources/cluster0/state" "$(find "$MNT/resources/cluster0" -name 'core*' | head -1)"; do
	[ "$(stat -c %s "$f")" = "$(cat "$f" | wc -c)" ] || bad="$bad $(basename "$f")"
done
is "$bad" "" "stat size equals content length for every file"
like "$(ls -l "$J/$id/state")" '^-r--r--r-- .* 9 .*/state$' "ls -l shows a read-only 9-byte state"
like "$(ls -ld "$J/$id")" '^dr.x' "ls -ld shows a directory"

# python
is "$(timeout 10 python3 -c 'import sys; print(open(sys.argv[1]).read(), end="")' "$J/$id/result")" "COMPLETED 0" "python open().read()"
is "$(timeout 10 python3 -c '
import json, sys
print(json.load(open(sys.argv[1]))["execution"]["R_lite"][0]["rank"])' "$J/$id/R")" 0 "python json.load of R"

# errno of wrong operations
errno_of() {
	timeout 10 python3 - "$@" <<'PY'
import os, sys, errno
op, path = sys.argv[1], sys.argv[2]
try:
    if op == "write": fd = os.open(path, os.O_WRONLY); os.write(fd, b"x\n"); os.close(fd)
    elif op == "mkdir": os.mkdir(path)
    elif op == "unlink": os.unlink(path)
    elif op == "rmdir": os.rmdir(path)
    elif op == "create": os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
    elif op == "rename": os.rename(path, path + ".x")
    elif op == "read": open(path).read()
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
PY
}
like "$(errno_of write "$J/$id/state")" '^(EACCES|EPERM)$' "write to state fails EACCES/EPERM"
like "$(errno_of mkdir "$MNT/newdir")" '^(EROFS|EPERM|EACCES)$' "mkdir in the root fails"
like "$(errno_of unlink "$J/$id/stdout")" '^(EPERM|EACCES|EROFS)$' "rm of a job file fails"
like "$(errno_of rmdir "$J/$id")" '^(EPERM|EACCES|EROFS|ENOTEMPTY)$' "rmdir of a job fails"
like "$(errno_of create "$J/$id/newfile")" '^(EACCES|EPERM|EROFS)$' "creating a file in a job dir fails"
is "$(errno_of read "$J/fNOSUCHJOB/state")" ENOENT "a nonexistent job is ENOENT"
like "$(cat "$J/$id/ctl")" "cancel" "ctl reads as a reminder of its verbs"
ok "job still intact after all that" cmp copy/stdout "$J/$id/stdout"
ok "unmount" fluxfs_stop
