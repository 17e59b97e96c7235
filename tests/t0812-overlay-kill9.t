#!/bin/bash
# kill -9 of a multi-node instance's leader, and of a follower, loses no
# acknowledged submission (doc/tree.md "Durability"): the leader's durable
# commits go through its redo log as a single broker's do, its journal log
# (what followers catch up from) with them. 3 brokers, fanout 2.
. "$(dirname "$0")/lib.sh"
plan 20

FX=$(dirname "$FLUXFSD")/../tools/fluxfs
overlay_start 3 2 || bail_out "cannot start 3 brokers"
overlay_wait_up 30 || bail_out "the brokers did not join"
ok "the follower's replica is synced" wait_until 10 grep -q '^replica-state: synced' "$T/m2/status"
ok "the leader keeps a redo log" test -s "$T/s0/redo.1"
jobs_of() { ls "$T/m$1/jobs" | sort; }

# held submissions through the leader and a follower, until the leader dies
submit_loop() {   # submit_loop RANK FILE: held jobs through rank's tree, acked ids to FILE
	local i id
	for i in $(seq 400); do
		id=$(timeout 10 "$FX" -m "$T/m$1" submit --urgency=0 true 2>/dev/null) || break
		echo "$id" >> "$2"
	done
}
submit_loop 0 acked0 & l0=$!
submit_loop 2 acked2 & l2=$!
ok "submissions are acknowledged on the leader and on rank 2" \
	wait_until 20 sh -c '[ "$(cat acked0 2>/dev/null | wc -l)" -ge 30 ] && [ "$(cat acked2 2>/dev/null | wc -l)" -ge 10 ]'
kill -9 "${OVERLAY_PIDS[0]}"
ok "kill -9 the leader in the middle of them: it dies" wait_until 5 sh -c "! kill -0 ${OVERLAY_PIDS[0]} 2>/dev/null"
wait "$l0"; wait "$l2"
n0=$(wc -l < acked0); n2=$(wc -l < acked2)
diag "acknowledged before the kill: $n0 on the leader, $n2 on rank 2"
fusermount3 -uz "$T/m0" 2>/dev/null
overlay_start_rank 0 || bail_out "cannot restart the leader"
ok "the followers join the restarted leader" overlay_wait_up 30
# what its redo log held past the last checkpoint was applied again: most
# runs; a slow one (the sanitizers) may have checkpointed every commit
# before the kill, or taken them before its log's files were made
diag "$(grep -o "[0-9]* commits the store had lost were applied again" "$T/log0" || echo "no commit to apply again")"
missing=0
for id in $(cat acked0 acked2); do
	test -d "$T/m0/jobs/$id" || { missing=$((missing + 1)); diag "job $id is missing"; }
done
is "$missing" 0 "every submission acknowledged on the leader or a follower is on the leader"
ok "rank 2's replica is synced again" wait_until 20 grep -q '^replica-state: synced' "$T/m2/status"
missing=0
for id in $(cat acked0 acked2); do
	test -d "$T/m1/jobs/$id" || missing=$((missing + 1))
done
is "$missing" 0 "... and on rank 1, which caught up with the restarted leader"
ok "rank 1 lists what the leader lists" sh -c "[ \"\$(ls '$T/m1/jobs' | sort)\" = \"\$(ls '$T/m0/jobs' | sort)\" ]"

# a follower killed: its own store comes back from its redo log, and
# catches up with what the leader committed meanwhile
before=$(jobs_of 2 | wc -l)
kill -9 "${OVERLAY_PIDS[2]}"
ok "kill -9 rank 2: it dies" wait_until 5 sh -c "! kill -0 ${OVERLAY_PIDS[2]} 2>/dev/null"
late=$("$FX" -m "$T/m0" submit --urgency=0 true)
like "$late" "^f" "the leader takes a submission meanwhile"
fusermount3 -uz "$T/m2" 2>/dev/null
overlay_start_rank 2 || bail_out "cannot restart rank 2"
ok "rank 2 rejoins and its replica is synced" wait_until 30 grep -q '^replica-state: synced' "$T/m2/status"
ok "it shows the jobs it had, and the one submitted while it was down" \
	sh -c "[ \"\$(ls '$T/m2/jobs' | wc -l)\" -ge $((before + 1)) ] && test -d '$T/m2/jobs/$late'"
like "$(timeout 20 "$FX" -m "$T/m2" run echo after-the-kills 2>&1)" "^after-the-kills$" \
	"fluxfs run on rank 2 runs a job"

# the leader's machine goes down (another boot id when it comes back): its
# store goes back to its last checkpoint and applies its redo log again;
# its history may have lost commits its followers applied, so they get a
# new copy of it, with every acknowledged job
for i in $(seq 20); do "$FX" -m "$T/m2" submit --urgency=0 true >> acked2 2>/dev/null; done
kill -9 "${OVERLAY_PIDS[0]}"
ok "kill -9 the leader again" wait_until 5 sh -c "! kill -0 ${OVERLAY_PIDS[0]} 2>/dev/null"
fusermount3 -uz "$T/m0" 2>/dev/null
echo "00000000-0000-0000-0000-00000000b007" > boot_id
FLUXFS_TEST_BOOT_ID=$PWD/boot_id overlay_start_rank 0 || bail_out "cannot restart the leader"
ok "the followers join the leader after its reboot" overlay_wait_up 30
like "$(cat "$T/log0")" "this machine rebooted since the last run: followers get a new copy" \
	"the leader takes it for a reboot"
ok "rank 1's new copy is synced" wait_until 30 grep -q '^replica-state: synced' "$T/m1/status"
missing=0
for id in $(cat acked0 acked2) "$late"; do
	test -d "$T/m0/jobs/$id" && test -d "$T/m1/jobs/$id" || { missing=$((missing + 1)); diag "job $id is missing"; }
done
is "$missing" 0 "every acknowledged job is on the leader and on rank 1"
like "$(timeout 20 "$FX" -m "$T/m1" run echo after-the-reboot 2>&1)" "^after-the-reboot$" \
	"fluxfs run on rank 1 runs a job"
for id in $(cat acked0 acked2) "$late"; do echo cancel > "$T/m0/jobs/$id/ctl"; done 2>/dev/null
done_testing
