#!/bin/bash
# queue/new clone file: open read-write, write the jobspec, read the id.
. "$(dirname "$0")/lib.sh"
plan 16

fluxfs_start || bail_out "cannot mount"
mkjob 'echo via-new' > j.yaml

exec 3<>"$MNT/queue/new"
cat j.yaml >&3
read -r -t 10 id <&3
exec 3>&-
like "$id" '^f[1-9A-HJ-NP-Za-km-z]+$' "bash: reading queue/new back gives a job id"
ok "bash: jobs/<id> exists" test -d "$MNT/jobs/$id"
is "$(wait_job "$id")" "COMPLETED 0" "bash: the job runs"
is "$(jobfile "$id" stdout)" "via-new" "bash: its output is there"

id2=$(submit j.yaml)
ok "submit helper returns a different id" test -n "$id2" -a "$id2" != "$id"

pyids=$(timeout 20 python3 - "$MNT" <<'PY'
import os, sys
mnt = sys.argv[1]
spec = open("j.yaml", "rb").read()
# text-mode file object
with open(os.path.join(mnt, "queue/new"), "r+b", buffering=0) as f:
    f.write(spec)
    print(f.read().decode().strip())
# raw os calls
fd = os.open(os.path.join(mnt, "queue/new"), os.O_RDWR)
os.write(fd, spec)
print(os.read(fd, 100).decode().strip())
os.close(fd)
PY
)
is "$(echo "$pyids" | wc -l)" 2 "python3: two ids read back"
for pid in $pyids; do
	ok "python3: job $pid exists" test -d "$MNT/jobs/$pid"
done
is "$(echo "$pyids" | sort -u | wc -l)" 2 "python3: ids are distinct"

# an invalid jobspec through queue/new: the read (or write) fails, no job
n0=$(ls "$MNT/jobs" | wc -l)
out=$(timeout 10 python3 - "$MNT" <<'PY' 2>&1
import os, sys, errno
fd = os.open(os.path.join(sys.argv[1], "queue/new"), os.O_RDWR)
try:
    os.write(fd, b"version: 1\nnonsense: [\n")
    r = os.read(fd, 100)
    print("read", r)
except OSError as e:
    print("errno", errno.errorcode[e.errno])
PY
)
is "$out" "errno EINVAL" "queue/new with an invalid jobspec fails with EINVAL"
is "$(ls "$MNT/jobs" | wc -l)" "$n0" "no job created for it"
like "$(tail -1 "$MNT/queue/errors")" 'EINVAL' "reason appended to queue/errors"

# opening new and closing without writing submits nothing
exec 3<>"$MNT/queue/new"; exec 3>&-
is "$(ls "$MNT/jobs" | wc -l)" "$n0" "open+close of queue/new submits nothing"

# the id is readable once the job is stored, the close returns once it is
# durable; a job followed with the descriptor still open (as fluxfs run
# does) is there, and then its close succeeds
out=$(timeout 20 python3 - "$MNT" <<'PY'
import os, sys, time
mnt = sys.argv[1]
fd = os.open(os.path.join(mnt, "queue/new"), os.O_RDWR)
os.write(fd, open("j.yaml", "rb").read())
jid = os.read(fd, 100).decode().strip()
print("listed" if os.path.isdir(os.path.join(mnt, "jobs", jid)) else "missing")
print(open(os.path.join(mnt, "jobs", jid, "wait")).read().strip())
os.close(fd)   # raises if the job could not be made durable
print("closed")
PY
)
is "$(sed -n 1p <<<"$out")" listed "the id read from queue/new names a listed job before the close"
is "$(sed -n 2p <<<"$out")" "COMPLETED 0" "... which can be waited for with the descriptor open"
is "$(sed -n 3p <<<"$out")" closed "... and the close then succeeds"
