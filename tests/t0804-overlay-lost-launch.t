#!/bin/bash
# A launch that never arrives (doc/overlay.md "Running jobs across nodes"):
# a node's broker whose exec.start is lost on the way (fault injection,
# FLUXFS_FAULT_DROP, honored on insecure instances only) never confirms
# the start, and the leader fails the job with an "exec" exception instead
# of leaving it running short of a node for ever.
. "$(dirname "$0")/lib.sh"
plan 6

FX=$(dirname "$FLUXFSD")/../tools/fluxfs
overlay_start 3 2 || bail_out "cannot start 3 brokers"
overlay_wait_up 30 || bail_out "the brokers did not join"
kill "${OVERLAY_PIDS[2]}"
wait_until 10 sh -c "! kill -0 ${OVERLAY_PIDS[2]} 2>/dev/null"
fusermount3 -uz "$T/m2" 2>/dev/null
FLUXFS_FAULT_DROP=exec.start overlay_start_rank 2 || bail_out "cannot restart rank 2"
overlay_wait_up 30 || bail_out "rank 2 did not join again"
like "$(cat "$T/log2")" "FLUXFS_FAULT_DROP: messages of types 'exec.start'" "rank 2 says it drops launches"

mkjob_nodes "exec sleep 303" 3 > three.yaml
id=$(submit three.yaml) || bail_out "cannot submit"
wait_state "$id" RUN 20
like "$(wait_job "$id" 40)" "^FAILED" "the job fails once rank 2 has not confirmed its start"
like "$(cat "$T/log2")" "dropped a 'exec.start'" "(its launch was dropped there)"
like "$(jobfile "$id" eventlog | grep exception)" '"type":"exec".*"note":"the broker of rank 2 did not confirm the start' \
	"an exec exception names the node"
like "$("$FX" -m "$MNT" wait "$id" 2>&1)" "ended by an exception: exec: the broker of rank 2" "fluxfs wait says why"
ok "its tasks on the other nodes are gone" wait_until 10 sh -c "! pgrep -f '^sleep 303\$' >/dev/null"
