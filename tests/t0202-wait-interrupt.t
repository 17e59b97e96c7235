#!/bin/bash
# Blocking reads of jobs/<id>/wait can be interrupted, and many of them at
# once don't stop the daemon from serving other requests.
. "$(dirname "$0")/lib.sh"
plan 20

fluxfs_start || bail_out "cannot mount"
J=$MNT/jobs
mkjob 'sleep 60' 1 > long.yaml
id=$(submit long.yaml)
ok "long job runs" wait_state "$id" RUN

# run cat with default SIGINT handling (background jobs inherit SIG_IGN)
catwait() { exec python3 -S -c 'import signal, os, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp("cat", ["cat", sys.argv[1]])' "$1"; }

catwait "$J/$id/wait" > w.out &
cw=$!
wait_until 5 grep -qx cat /proc/$cw/comm
sleep 0.2
ok "cat wait blocks on a running job" kill -0 "$cw"
kill -INT "$cw"
# a hang guard well short of the job's 60 s: cat returns because of the
# signal, not because the job ended (it still runs below)
ok "cat wait exits after SIGINT" wait_until 30 bash -c "! kill -0 $cw 2>/dev/null"
wait "$cw"; rc=$?
is "$rc" 130 "cat was killed by SIGINT"
is "$(cat w.out)" "" "no result printed"
is "$(job_state "$id")" RUN "the job is unaffected, still running"

# poll(2) on wait: readable only once the job has ended
python3 - "$J/$id/wait" > poll.out <<'PY' &
import os, select, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
p = select.poll(); p.register(fd, select.POLLIN)
print("before", p.poll(300))
ep = select.epoll(); ep.register(fd, select.EPOLLIN)
sys.stdout.flush()
ev = ep.poll(30)   # woken by the job's end (the cancel below)
print("after", [(e & select.EPOLLIN) != 0 for _, e in ev], os.read(fd, 64).decode().strip())
PY
pp=$!
wait_until 10 grep -q before poll.out
is "$(cat poll.out)" "before []" "poll on wait of a running job: not readable"

# many concurrent blocked waits
pids=()
for i in $(seq 40); do
	timeout 30 cat "$J/$id/wait" > "w$i.out" 2>&1 &
	pids+=($!)
done
sleep 0.5
ok "status readable while 40 waits block" quiet timeout 5 cat "$MNT/status"
ok "ls jobs works meanwhile" quiet timeout 5 ls "$J"
mkjob 'echo side-job' > side.yaml
side=$(submit side.yaml)
is "$(wait_job "$side" 10)" "COMPLETED 0" "another job submits and completes meanwhile"
is "$(timeout 5 cat "$J/$side/stdout")" "side-job" "its output is readable"
ok "cancel the long job" bash -c 'echo cancel > "$1"' _ "$J/$id/ctl"
okcount=0
for i in $(seq 40); do
	wait "${pids[$((i - 1))]}" && [ "$(cat "w$i.out")" = CANCELED ] && okcount=$((okcount + 1))
done
is "$okcount" 40 "all 40 waits returned CANCELED"
wait "$pp"
is "$(tail -1 poll.out)" "after [True] CANCELED" "epoll on wait wakes when the job ends; read gives the result"
is "$(python3 -c 'import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
print(select.select([fd], [], [], 5)[0] == [fd])' "$J/$id/wait")" True "select on wait of an ended job: readable at once"
is "$(python3 -c 'import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY); p = select.poll(); p.register(fd, select.POLLIN)
print(p.poll(0) != [])' "$J/$id/stdout")" True "any other file polls readable"
out=$("$(dirname "$FLUXFSD")/../tools/fluxfs" -m "$MNT" run sh -c 'echo hi; exit 3'; echo "rc=$?")
is "$out" "hi
rc=3" "fluxfs run of a short job waits through poll: its output, its status"

# closing a job's file does not wait for the daemon (no FLUSH round trip):
# it returns while the daemon is stopped; a submission's close still waits
# for it (durable when close returns)
mkjob true > t.yaml
n0=$(status_field jobs)
out=$(timeout 20 python3 - "$FLUXFS_PID" "$J/$id" "$MNT/queue/held.yaml" t.yaml <<'PY'
import os, signal, sys, threading, time
pid, job, sub, spec = int(sys.argv[1]), sys.argv[2], sys.argv[3], open(sys.argv[4], "rb").read()
state, wait = os.open(job + "/state", os.O_RDONLY), os.open(job + "/wait", os.O_RDONLY)
os.read(state, 100)
fd = os.open(sub, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
os.write(fd, spec)
done = []
os.kill(pid, signal.SIGSTOP)
try:
    t0 = time.time()
    os.close(state)
    os.close(wait)
    quick = time.time() - t0 < 0.3
    th = threading.Thread(target=lambda: (os.close(fd), done.append(1)))
    th.start()
    time.sleep(0.5)
    waited = not done
finally:
    os.kill(pid, signal.SIGCONT)
th.join()
print("reads closed at once: %s; submission waited: %s; then closed: %s" % (quick, waited, bool(done)))
PY
)
kill -CONT "$FLUXFS_PID"   # whatever became of python
is "$out" "reads closed at once: True; submission waited: True; then closed: True" \
	"with the daemon stopped, closing state and wait returns; a submission's close waits"
is "$(status_field jobs)" "$((n0 + 1))" "and the submission went through"
ok "unmount" fluxfs_stop
