#!/bin/bash
# queue/run: queue/new for one job that the reader then follows to its end
# (doc/tree.md "The run file queue/run"): the id line once committed, then
# a read that waits for the end and gives the result line and
# "output OUT ERR", then end of file; poll(2) turns readable at the end.
. "$(dirname "$0")/lib.sh"
plan 20

fluxfs_start || bail_out "cannot mount"
FX=$(dirname "$FLUXFSD")/../tools/fluxfs
like "$(ls "$MNT/queue" | tr '\n' ' ')" "new run" "ls queue/ lists run beside new"

# bash, line by line: the id at once, the end when it comes
mkjob 'echo out-line; echo err-line >&2; sleep 0.5; exit 3' > j.yaml
exec 3<>"$MNT/queue/run"
cat j.yaml >&3
t0=$EPOCHREALTIME
read -r -t 10 id <&3
t1=$EPOCHREALTIME
like "$id" '^f[1-9A-HJ-NP-Za-km-z]+$' "bash: the first line is the job's id"
ok "bash: it comes before the job ends (it sleeps 0.5 s)" \
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 0.45) }'
read -r -t 20 result <&3
is "$result" "FAILED 3" "bash: the next line waits for the end: the result, as wait gives it"
read -r -t 5 output <&3
is "$output" "output 9 9" "bash: then the sizes of its stdout and stderr"
nok "bash: then end of file" read -r -t 5 more <&3
exec 3>&-
is "$(jobfile "$id" stdout)" "out-line" "its output is in jobs/ID/stdout"
is "$(jobfile "$id" wait)" "FAILED 3" "and its result in wait"

# python: poll(2) on it, readable only once the job has ended
out=$(timeout 30 python3 - "$MNT" <<'PY'
import os, select, sys, time
mnt = sys.argv[1]
spec = open("j.yaml").read().replace("exit 3", "exit 0")
with open(os.path.join(mnt, "queue/run"), "r+") as f:
    f.write(spec)
    f.flush()
    jid = f.readline().strip()
    p = select.poll()
    p.register(f.fileno(), select.POLLIN)
    early = p.poll(100)
    t = time.time()
    late = p.poll(20000)
    print(jid, "early" if early else "not-early", "late" if late else "never",
          "%.1f" % (time.time() - t >= 0.2))
    print(f.readline().strip(), "|", f.readline().strip(), "|", repr(f.read()))
PY
)
first=$(echo "$out" | head -1)
like "$first" "^f[^ ]+ not-early late 1.0$" "python: poll is not readable while the job runs, and is at its end"
is "$(echo "$out" | tail -1)" "COMPLETED 0 | output 9 9 | ''" "python: readline gives the result, the sizes, then EOF"

# a job that printed nothing, ended before the read: no wait
mkjob 'true' > t.yaml
out=$(timeout 20 bash -c 'exec 3<>"$1"; cat "$2" >&3; read -r id <&3; sleep 1; timeout 2 cat <&3' _ "$MNT/queue/run" t.yaml)
is "$out" "$(printf 'COMPLETED 0\noutput 0 0')" "a job that has ended answers at once"

# a rejected jobspec: the first read fails, as on queue/new
out=$(timeout 10 python3 - "$MNT" <<'PY' 2>&1
import os, sys
fd = os.open(os.path.join(sys.argv[1], "queue/run"), os.O_RDWR)
os.write(fd, b"version: 1\nnonsense: [\n")
try:
    print("read", os.read(fd, 100))
except OSError as e:
    print("error", e.errno)
PY
)
is "$out" "error 22" "an invalid jobspec: the read fails with EINVAL"
like "$(cat "$MNT/queue/errors")" "Z run: EINVAL" "and queue/errors names queue/run"

# several jobs in one file: they run; the tail refuses to follow one of them
printf '%s\n---\n%s\n' "$(cat t.yaml)" "$(cat t.yaml)" > two.yaml
out=$(timeout 20 python3 - "$MNT" <<'PY' 2>&1
import os, sys
fd = os.open(os.path.join(sys.argv[1], "queue/run"), os.O_RDWR)
os.write(fd, open("two.yaml", "rb").read())
ids = os.read(fd, 200).decode().split()
print(len(ids))
try:
    print("read", os.read(fd, 100))
except OSError as e:
    print("error", e.errno)
os.close(fd)
for i in ids:
    print(open(os.path.join(sys.argv[1], "jobs", i, "wait")).read().strip())
PY
)
is "$(echo "$out" | tr '\n' ' ')" "2 error 22 COMPLETED 0 COMPLETED 0 " \
	"a file of two jobs: both ids, then EINVAL, and both run"
like "$(cat "$MNT/queue/errors")" "queue/run follows one job" "queue/errors says why"

# interrupted: a signal ends the waiting read (EINTR: Python raises from its
# handler, else it would read again); the job goes on
mkjob 'sleep 2' > s.yaml
out=$(timeout 20 python3 - "$MNT" <<'PY' 2>&1
import os, signal, sys
class Alarm(Exception):
    pass
def alarm(*a):
    raise Alarm()
signal.signal(signal.SIGALRM, alarm)
fd = os.open(os.path.join(sys.argv[1], "queue/run"), os.O_RDWR)
os.write(fd, open("s.yaml", "rb").read())
jid = os.read(fd, 100).decode().strip()
signal.setitimer(signal.ITIMER_REAL, 0.3)
try:
    os.read(fd, 100)
    print("read returned")
except Alarm:
    print("EINTR")
print(open(os.path.join(sys.argv[1], "jobs", jid, "state")).read().strip())
PY
)
is "$(echo "$out" | tr '\n' ' ')" "EINTR RUN " "a signal interrupts the waiting read; the job still runs"

# fluxfs run goes through it: the same exit codes and output
is "$("$FX" -m "$MNT" run sh -c 'echo to-out; echo to-err >&2; exit 5' 2>err.txt; echo "rc=$?")" \
	"$(printf 'to-out\nrc=5')" "fluxfs run: stdout and the exit code"
is "$(cat err.txt)" "to-err" "fluxfs run: stderr"
is "$("$FX" -m "$MNT" run true; echo "rc=$?")" "rc=0" "fluxfs run true"
like "$("$FX" -m "$MNT" run -t 1s sleep 10 2>&1; echo "rc=$?")" "timed out.*rc=124" \
	"fluxfs run of a job that times out"
done_testing
