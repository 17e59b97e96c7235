#!/bin/bash
# A submission's close() returns once its job is durable: after the sync
# that covers it, however slow the disk. FLUXFS_TEST_SYNC_DELAY_MS plays a
# slow disk (each sync takes that much longer), so that a close answered
# too early shows. Covers the closes the syncer answers itself, and a
# second descriptor of the same file (a forked child's) closed while the
# first close waits: it waits for that sync too (it was answered at the
# next commit, before the job was durable). A sync that fails
# (FLUXFS_TEST_SYNC_FAIL plays a failing disk) fails the close with EIO,
# queue/errors says so by the time the close has returned, and the job
# (started meanwhile) does not run on as if accepted: it is canceled with
# an exception of type `submit`; also one submitted on a follower's mount
# of a 2-broker instance whose leader's sync fails.
. "$(dirname "$0")/lib.sh"
plan 19

export FLUXFS_TEST_SYNC_DELAY_MS=400 FLUXFS_TEST_SYNC_FAIL=$PWD/syncfail
fluxfs_start || bail_out "cannot mount"
mkjob 'true' > j.yaml
mkjob 'sleep 30' > long.yaml

out=$(timeout 30 python3 - "$MNT" <<'PY'
import os, sys, time
mnt = sys.argv[1]
spec = open("j.yaml", "rb").read()
q = os.path.join(mnt, "queue")

# one writer: its close waits for the slow sync
fd = os.open(os.path.join(q, "one.yaml"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
os.write(fd, spec)
t = time.monotonic(); os.close(fd); print("one %.3f" % (time.monotonic() - t))

# queue/new: the id comes at once, the close waits for the sync
fd = os.open(os.path.join(mnt, "queue/new"), os.O_RDWR)
os.write(fd, spec)
t = time.monotonic(); jid = os.read(fd, 100).decode().strip()
print("read %.3f" % (time.monotonic() - t))
t = time.monotonic(); os.close(fd); print("newclose %.3f" % (time.monotonic() - t))

# two descriptors of one file: the parent's close submits and waits; the
# child's, once that job is there (its commit made), must wait for the same
# sync: it ends no sooner than 0.4 s after the parent's close began
jobs = os.path.join(mnt, "jobs")
before = set(os.listdir(jobs))
fd = os.open(os.path.join(q, "two.yaml"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
os.write(fd, spec)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    start = float(os.read(r, 64))
    until = time.monotonic() + 5
    while not set(os.listdir(jobs)) - before and time.monotonic() < until:
        time.sleep(0.005)
    os.close(fd)
    print("child %.3f" % (time.monotonic() - start), flush=True)
    os._exit(0)
os.close(r)
t = time.monotonic()
os.write(w, b"%.6f" % t)
os.close(fd); parent = time.monotonic() - t
os.waitpid(pid, 0)
print("parent %.3f" % parent)
PY
)
diag "$(echo "$out" | tr '\n' ' ')"
val() { echo "$out" | awk -v k="$1" '$1 == k { print $2 }'; }
ok "a cp-style close returns only after its sync (the slow one: 400 ms)" \
	awk -v t="$(val one)" 'BEGIN { exit !(t >= 0.35) }'
ok "a read of queue/new gets its id without waiting for the sync" \
	awk -v t="$(val read)" 'BEGIN { exit !(t < 0.3) }'
ok "... and its close waits for it" awk -v t="$(val newclose)" 'BEGIN { exit !(t >= 0.1) }'
ok "of two descriptors of one file, the close that submits waits for the sync" \
	awk -v t="$(val parent)" 'BEGIN { exit !(t >= 0.35) }'
ok "... and so does the other's, closed while that sync runs" \
	awk -v t="$(val child)" 'BEGIN { exit !(t >= 0.35) }'
is "$(ls "$MNT/jobs" | wc -l)" 3 "three jobs were submitted"
for id in $(ls "$MNT/jobs"); do wait_job "$id" >/dev/null; done
unlike "$(cat "$MNT/queue/errors" 2>/dev/null)" "not stored" "none of them failed to be stored"

ls "$MNT/jobs" | sort > before
touch syncfail
out=$(timeout 30 python3 - "$MNT" <<'PY'
import os, sys
mnt = sys.argv[1]
fd = os.open(os.path.join(mnt, "queue", "doomed.yaml"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
os.write(fd, open("long.yaml", "rb").read())
try:
    os.close(fd)
    print("close ok")
except OSError as e:
    print("close errno", e.errno)
# at once, no pause: the syncer answered; the loop must have caught up
print(open(os.path.join(mnt, "queue", "errors")).read())
PY
)
rm -f syncfail
like "$out" "close errno 5" "a failed sync fails the close with EIO"
like "$out" "doomed.yaml: EIO: the job could not be stored" \
	"... and queue/errors, read right after, says so"
ls "$MNT/jobs" | sort > after
doomed=$(comm -13 before after | head -1)
is "$(wait_job "$doomed" 15)" CANCELED "its job, started meanwhile, is canceled (not left to run 30 s)"
like "$(cat "$MNT/jobs/$doomed/eventlog")" '"type":"submit".*could not be made durable' \
	"... by an exception of type submit that says why"

# queue/new read at once, closed after its sync failed: the close fails
# all the same, queue/errors says so, and the job is canceled
touch syncfail
out=$(timeout 30 python3 - "$MNT" <<'PY'
import os, sys, time
mnt = sys.argv[1]
fd = os.open(os.path.join(mnt, "queue/new"), os.O_RDWR)
os.write(fd, open("long.yaml", "rb").read())
print("id", os.read(fd, 100).decode().strip())
time.sleep(1.2)   # the failing sync (0.4 s) has ended
try:
    os.close(fd)
    print("close ok")
except OSError as e:
    print("close errno", e.errno)
PY
)
rm -f syncfail
late=$(echo "$out" | awk '$1 == "id" { print $2 }')
is "$(echo "$out" | tail -1) $(wait_job "$late" 15)" "close errno 5 CANCELED" \
	"a close of queue/new after its sync failed fails too, and its job is canceled"
like "$(cat "$MNT/queue/errors")" "new: EIO: the job could not be stored" "... queue/errors says so"
cp j.yaml "$MNT/queue/after.yaml"
ok "the next sync succeeds: so does the next close" test $? -eq 0
# fluxfs-submit (README's id=$(fluxfs-submit job.yaml)): the id is printed
# and exit 0 only once the job is stored
touch syncfail
sid=$(timeout 30 "$(dirname "$FLUXFSD")/../tools/fluxfs-submit" -m "$MNT" j.yaml 2>submit.err)
rc=$?
rm -f syncfail
is "$rc:$sid" "1:" "fluxfs-submit: a failed sync exits 1 and prints no id"
like "$(cat submit.err)" "was not stored: Input/output error" "... and says why"
fluxfs_stop

# a follower's mount: the submission goes to the leader, whose sync fails
overlay_start 2 2 || bail_out "cannot start 2 brokers"
overlay_wait_up 30 || diag "$(grep overlay "$MNT/status")"
ls "$MNT/jobs" | sort > before
touch syncfail
out=$(timeout 30 cp long.yaml "$T/m1/queue/f.yaml" 2>&1; echo "rc=$?")
rm -f syncfail
ls "$MNT/jobs" | sort > after
fid=$(comm -13 before after | head -1)
like "$out" "Input/output error.*rc=1" "on a follower's mount, the close fails with EIO when the leader's sync fails"
is "$(wait_job "$fid" 15)" CANCELED "... and its job is canceled"
like "$(cat "$MNT/jobs/$fid/eventlog")" '"type":"submit"' "... by an exception of type submit"
