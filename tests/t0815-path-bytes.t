#!/bin/bash
# A directory's name is bytes, not text: a job submitted from one whose
# name is not UTF-8 (Latin-1, as old file systems have them) runs there,
# keeps it across a kill -9 of its broker (the record was unreadable before:
# the job was skipped at the restart, lost), and runs there on every node of
# a multi-node instance, submitted on the leader's tree or a follower's.
# An environment variable's value is bytes too: `fluxfs submit` cannot put
# one that is not UTF-8 in a jobspec (JSON), and says so instead of
# silently running the job without it.
. "$(dirname "$0")/lib.sh"
plan 18

FLUXFS=$(dirname "$FLUXFSD")/../tools/fluxfs
D="$T/caf$(printf '\351')"      # "café" in Latin-1: not UTF-8
mkdir -p "$D"
chmod 755 "$T" "$D"
printf '%s\n' "$D" > "$T/want"
mkjob 'pwd' > "$T/pwd.yaml"
chmod 644 "$T/pwd.yaml"
newest() { ls "$MNT/jobs" | sort > "$T/after"; comm -13 "$T/before" "$T/after" | head -1; }
same_out() { cmp -s "$T/want" "$MNT/jobs/$1/stdout"; }

fluxfs_start || bail_out "cannot mount"
ls "$MNT/jobs" | sort > "$T/before"
(cd "$D" && cp "$T/pwd.yaml" "$MNT/queue/") 2>"$T/cp.err"
ok "cp from a directory whose name is not UTF-8 succeeds" test ! -s "$T/cp.err"
id1=$(newest)
is "$(wait_job "$id1")" "COMPLETED 0" "its job completes"
ok "... in that directory, byte for byte" same_out "$id1"
id2=$(cd "$D" && submit "$T/pwd.yaml")
is "$(wait_job "$id2")" "COMPLETED 0" "queue/new from there too"
ok "... in that directory" same_out "$id2"
id3=$(cd "$D" && "$FLUXFS" -m "$MNT" submit --urgency=0 pwd)
wait_state "$id3" SCHED 10
like "$(cd "$D" && "$FLUXFS" -m "$MNT" submit --cwd="$D" pwd 2>&1)" "is not UTF-8" \
	"fluxfs submit --cwd with such a name says why it cannot"

# the environment: an inherited variable that is not UTF-8 is left out,
# saying which; one asked for with --env fails the submission
id6=$(LATIN="$(printf 'caf\351')" PLAIN=yes "$FLUXFS" -m "$MNT" submit \
	sh -c 'echo "${LATIN-unset} $PLAIN"' 2>"$T/env.err")
is "$(wait_job "$id6") $(jobfile "$id6" stdout)" "COMPLETED 0 unset yes" \
	"a variable whose value is not UTF-8 is left out of the job's environment, the rest kept"
like "$(cat "$T/env.err")" "warning: the job runs without LATIN: its value is not UTF-8" \
	"... and fluxfs submit says so, naming it"
id7=$(LATIN="$(printf 'caf\351')" "$FLUXFS" -m "$MNT" submit --env=LATIN=ok \
	sh -c 'echo "$LATIN"' 2>"$T/env2.err")
LATIN="$(printf 'caf\351')" "$FLUXFS" -m "$MNT" submit --env=-LATIN --env=-NOPE true >/dev/null 2>>"$T/env2.err"
is "$(wait_job "$id7") $(jobfile "$id7" stdout) $(wc -c < "$T/env2.err")" "COMPLETED 0 ok 0" \
	"an --env rule that sets it, or takes it away, leaves nothing to warn about"
ls "$MNT/jobs" | sort > "$T/before"
out=$("$FLUXFS" -m "$MNT" submit --env="ASKED=$(printf '\351')" true 2>&1; echo "rc=$?")
like "$out" "--env ASKED: the value is not UTF-8.*rc=1" \
	"--env with such a value fails, saying why"
is "$(newest)" "" "... and submits nothing"

# kill -9: every record reads back at the restart
fluxfs_kill9 || diag "kill -9 needed help"
fluxfs_start || bail_out "cannot restart"
ok "after kill -9 and a restart, the completed jobs are still there" \
	bash -c "same_out() { cmp -s '$T/want' \"$MNT/jobs/\$1/stdout\"; }; same_out $id1 && same_out $id2"
is "$(job_state "$id3")" SCHED "the held job is still there"
echo "urgency 16" > "$MNT/jobs/$id3/ctl"
is "$(wait_job "$id3")" "COMPLETED 0" "released, it completes (fluxfs submit leaves such a cwd out)"
ok "... in that directory" same_out "$id3"
unlike "$(cat "$DAEMON_LOG")" "unreadable record" "no record was unreadable"
fluxfs_stop

# two brokers: the directory travels to the other node in exec.start, and
# with a submission forwarded from a follower's tree
overlay_start 2 2 || bail_out "cannot start 2 brokers"
overlay_wait_up 30 || diag "$(grep overlay "$MNT/status")"
mkjob_nodes 'pwd' 2 > "$T/two.yaml"
chmod 644 "$T/two.yaml"
printf '%s\n%s\n' "$D" "$D" > "$T/want2"
id4=$(cd "$D" && submit "$T/two.yaml")
is "$(wait_job "$id4" 30) $(jobfile "$id4" stdout | cmp -s - "$T/want2" && echo same)" \
	"COMPLETED 0 same" "a 2-node job runs in that directory on both nodes"
ls "$MNT/jobs" | sort > "$T/before"
(cd "$D" && cp "$T/two.yaml" "$T/m1/queue/")
sleep 0.5
id5=$(newest)
is "$(wait_job "$id5" 30) $(jobfile "$id5" stdout | cmp -s - "$T/want2" && echo same)" \
	"COMPLETED 0 same" "... and so does one copied into a follower's queue/"
