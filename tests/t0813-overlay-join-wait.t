#!/bin/bash
# A follower that has just started, and not yet joined its parent, holds a
# submission made on its tree until it has (cluster.h CLUSTER_JOIN_WAIT),
# as Flux makes a client wait for its broker: the first `fluxfs submit`
# after starting the brokers does not fail with EAGAIN. After that first
# join, a follower that cannot reach the leader still refuses at once
# (t0808). 2 brokers, the follower started first.
. "$(dirname "$0")/lib.sh"
plan 8

FX=$(dirname "$FLUXFSD")/../tools/fluxfs
OVERLAY_PORT=$((20000 + ($$ % 127) * 100))
OVERLAY_N=2
overlay_write_boot 2 2 "" > "$T/boot.json"
for i in 0 1; do
	printf '{"version": 1, "execution": {"R_lite": [{"rank": "0", "children": {"core": "0-1"}}], "nodelist": ["n%d"]}}\n' \
		"$i" > "$T/r$i.json"
done
overlay_start_rank 1 || bail_out "cannot start rank 1"
MNT=$T/m1
is "$(status_field overlay-state)" joining "the follower alone is joining"

# a submission and a run on its tree wait for the leader
( "$FX" -m "$T/m1" submit --urgency=0 true > sub.out 2> sub.err; echo $? > sub.rc ) &
( "$FX" -m "$T/m1" run echo joined-first > run.out 2> run.err; echo $? > run.rc ) &
sleep 1.5
nok "a second later neither has returned (held, not refused)" test -e sub.rc -o -e run.rc
overlay_start_rank 0 || bail_out "cannot start the leader"
MNT=$T/m0
ok "the follower joins the leader" overlay_wait_up 30
ok "then the submission returns" wait_until 20 test -s sub.rc
is "$(cat sub.rc):$(cat sub.err)" "0:" "with success"
id=$(cat sub.out)
ok "its job is on the leader" test -d "$T/m0/jobs/$id"
ok "fluxfs run returns too" wait_until 20 test -s run.rc
is "$(cat run.rc):$(cat run.out)" "0:joined-first" "having run its job"
echo cancel > "$T/m0/jobs/$id/ctl" 2>/dev/null
done_testing
