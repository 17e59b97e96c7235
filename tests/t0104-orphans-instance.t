#!/bin/bash
# After kill -9 of the daemon, the restart kills a running job's leftover
# processes, matched by FLUX_JOB_ID and FLUXFS_INSTANCE: a process of
# another instance with the same job id (a nested instance's task, another
# root's) is left alone.
. "$(dirname "$0")/lib.sh"

fluxfs_start || bail_out "cannot mount"
orphan="orphan-marker-$$"
decoy="decoy-marker-$$"
# the task starts a process in a session of its own: it outlives the task
mkjob "setsid sh -c 'sleep 300; : $orphan' </dev/null >/dev/null 2>&1 & echo \$FLUXFS_INSTANCE; sleep 300" 1 600 > leak.yaml
R=$(submit leak.yaml)
ok "the job runs" wait_state "$R" RUN
ok "its detached process runs" wait_until 10 has_procs "$orphan"
wait_until 10 test -s "$MNT/jobs/$R/stdout"   # output shows once committed
inst=$(jobfile "$R" stdout)
like "$inst" '^[0-9a-f]{16}$' "the task was told its instance"

# another instance's process with the same job id (cwd in $T: cleaned up)
env -i PATH=/usr/bin:/bin FLUX_JOB_ID="$R" FLUXFS_INSTANCE=0123456789abcdef \
	sh -c "sleep 300; : $decoy" </dev/null >/dev/null 2>&1 &
ok "the other instance's process runs" wait_until 10 has_procs "$decoy"

ok "kill -9 the daemon" fluxfs_kill9
ok "the detached process outlived the daemon" has_procs "$orphan"
ok "restart" fluxfs_start
is "$(jobfile "$R" result)" LOST "the job is LOST"
ok "its leftover process was killed" wait_until 10 no_procs "$orphan"
ok "the other instance's process with the same job id survives" has_procs "$decoy"
R2=$(submit leak.yaml)
ok "a job after the restart runs" wait_state "$R2" RUN
ok "... and prints its instance" wait_until 10 test -s "$MNT/jobs/$R2/stdout"
is "$(jobfile "$R2" stdout)" "$inst" "the instance token is kept across the restart"
echo cancel > "$MNT/jobs/$R2/ctl"

done_testing
