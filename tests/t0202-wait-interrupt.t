#!/bin/bash
# Blocking reads of jobs/<id>/wait can be interrupted, and many of them at
# once don't stop the daemon from serving other requests.
. "$(dirname "$0")/lib.sh"
plan 13

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
ok "unmount" fluxfs_stop
