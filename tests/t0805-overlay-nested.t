#!/bin/bash
# Nested instances across nodes (doc/overlay.md "Nested instances across
# nodes"): mkdir under a job that spans nodes starts one child broker under
# each of the job's nodes' brokers, its leader on the job's first node,
# linked into a tree of their own; the child's tasks run on all of them;
# every node of the job shows the child at jobs/<id>/<name>/; rmdir, the
# job's end and a node outside the job behave as documented.
. "$(dirname "$0")/lib.sh"
plan 34

overlay_start 4 2 || bail_out "cannot start 4 brokers"
overlay_wait_up 30 || bail_out "the brokers did not join"
# submit_in DIR FILE: submit through DIR/queue/new, print the id
submit_in() {
	timeout 30 bash -c 'exec 3<>"$1/queue/new" && cat "$2" >&3 && read -r id <&3 && echo "$id"' _ "$1" "$2"
}
state_in() { timeout 5 cat "$1/jobs/$2/state" 2>/dev/null; }
# child brokers (live, not history) under broker I's state dir
parts() { pgrep -af "fluxfsd -f --state $T/s$1/nested/" | grep -v -- --read-only | grep -c -- --nest-rank; }

# rank 0's node is taken, so the 3-node job runs on n1, n2 and n3
mkjob_nodes "exec sleep 300" 1 2 600 > hold.yaml
H=$(submit hold.yaml) || bail_out "cannot submit"
wait_state "$H" RUN 20 || bail_out "the holding job does not run"
mkjob_nodes "exec sleep 301" 3 2 600 > three.yaml
P=$(submit three.yaml) || bail_out "cannot submit"
wait_state "$P" RUN 20 || bail_out "the 3-node job does not run"
is "$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["execution"]["nodelist"]))' "$MNT/jobs/$P/R")" \
	"n[1-3]" "the job runs on n1, n2 and n3"

# the leader's node is not one of the job's
err=$(mkdir "$T/m0/jobs/$P/sub" 2>&1)
is "$?" 1 "mkdir on a node outside the job fails"
like "$err" "No such device or address" "... with ENXIO"
like "$(cat "$T/m0/queue/errors")" "runs on n1 and others: its nested instances are made from the tree of one of its nodes" \
	"queue/errors says where it can be made"

# made from n2's tree (a follower; the child's leader goes on n1)
ok "mkdir on a node of the job starts the nested instance" timeout 60 mkdir "$T/m2/jobs/$P/sub"
C2=$T/m2/jobs/$P/sub
is "$(ls "$C2" | tr '\n' ' ')" "README accounting events joblist jobs queue resources status status.json " "it has the root's layout"
for i in 1 2 3; do
	is "$(parts "$i")" 2 "a child broker (and its publisher) runs under n$i's broker"
done
is "$(parts 0)" 0 "none under the leader's"
C1=$T/m1/jobs/$P/sub
is "$(grep -c '^overlay\.[0-9]*: .* state=up ' "$C1/status")" 3 "the child's three brokers have all joined its leader"
like "$(cat "$C1/status")" "overlay.0: host=n1 " "its leader is on the job's first node"
is "$(grep '^cores:' "$C1/status")" "cores: 6" "it has the job's 6 cores"
like "$(cat "$C2/status")" "overlay-rank: 1" "n2 shows its own broker of it, rank 1"
nok "the leader's tree does not show it (it is not mounted there)" test -e "$T/m0/jobs/$P/sub"

# a 3-node job inside it: one task under each child broker
mkjob_nodes 'echo "$FLUX_TASK_RANK $FLUXFS_MOUNT"; exit $FLUX_TASK_RANK' 3 1 > inner.yaml
c=$(submit_in "$T/m3/jobs/$P/sub" inner.yaml)
like "$c" "^f" "a job submitted through n3's view of it gets an id"
is "$(timeout 30 cat "$T/m1/jobs/$P/sub/jobs/$c/wait")" "FAILED 2" "n1's view waits for it; its status is the largest exit code"
timeout 30 cat "$T/m2/jobs/$P/sub/jobs/$c/wait" >/dev/null   # n2's view has it all too
out=$(timeout 5 cat "$T/m2/jobs/$P/sub/jobs/$c/stdout")
is "$(echo "$out" | wc -l)" 3 "its output has every task's line"
is "$(echo "$out" | awk '{print $2}' | sort -u | wc -l)" 3 "each task ran under another broker (FLUXFS_MOUNT)"
like "$(echo "$out" | grep '^0 ')" "$T/s1/nested/$P/sub/mnt" "task 0 ran under the child's leader on n1"

# rmdir from n3's tree: every part stops, every node serves the history
ok "rmdir stops it" timeout 60 rmdir "$T/m3/jobs/$P/sub"
ok "its brokers are gone" wait_until 20 sh -c "[ \$(pgrep -af 'fluxfsd -f --state $T/s[0-9]/nested/' | grep -v -- --read-only | grep -c -- --nest-rank) = 0 ]"
is "$(timeout 10 cat "$T/m2/jobs/$P/sub/jobs/$c/state")" "INACTIVE" "n2 serves its history"

# a job on one node: on the leader's, a child broker there (the
# single-broker way); on a follower's, one there, started by the leader
ok "mkdir under a 1-node job on the leader's node" timeout 60 mkdir "$T/m0/jobs/$H/solo"
is "$(grep '^cores:' "$T/m0/jobs/$H/solo/status")" "cores: 2" "it has that job's node"
mkjob 'echo inner-solo' 1 > one.yaml
c=$(submit_in "$T/m0/jobs/$H/solo" one.yaml)
is "$(timeout 30 cat "$T/m0/jobs/$H/solo/jobs/$c/wait")" "COMPLETED 0" "a job runs in it"

# the job's end stops a live one
ok "another one starts from n1's tree" timeout 60 mkdir "$T/m1/jobs/$P/again"
echo cancel > "$T/m1/jobs/$P/ctl"
is "$(timeout 60 cat "$MNT/jobs/$P/wait" | cut -d' ' -f1)" "CANCELED" "the job ends once its nested instance has stopped"
ok "its brokers are gone" wait_until 20 sh -c "[ \$(pgrep -af 'fluxfsd -f --state $T/s[0-9]/nested/$P/' | grep -vc -- --read-only) = 0 ]"

# n1 is free again: a 1-node job there, a child of one broker under n1's
mkjob_nodes "exec sleep 304" 1 2 600 > one-node.yaml
J=$(submit_in "$T/m1" one-node.yaml)
wait_until 20 grep -qx RUN "$T/m1/jobs/$J/state"
ok "mkdir under a 1-node job on a follower's node" timeout 60 mkdir "$T/m1/jobs/$J/solo"
c=$(submit_in "$T/m1/jobs/$J/solo" one.yaml)
timeout 30 cat "$T/m1/jobs/$J/solo/jobs/$c/wait" >/dev/null
is "$(timeout 5 cat "$T/m1/jobs/$J/solo/jobs/$c/stdout")" "inner-solo" "a job runs in it"
echo cancel > "$T/m1/jobs/$J/ctl"
is "$(timeout 60 cat "$MNT/jobs/$J/wait" | cut -d' ' -f1)" "CANCELED" "that job ends too"

# fluxfs batch across nodes: the script's instance spans its allocation
FX=$(dirname "$FLUXFSD")/../tools/fluxfs
cat > batch.sh <<'EOS'
#!/bin/sh
"$FX" run -N 3 sh -c 'echo "$FLUXFS_MOUNT"'
EOS
bid=$("$FX" -m "$T/m2" batch -N 3 --env FX="$FX" batch.sh)
is "$(timeout 60 cat "$MNT/jobs/$bid/wait")" "COMPLETED 0" "fluxfs batch -N 3 runs"
is "$(sort -u "$MNT/jobs/$bid/stdout" | grep -c "/nested/$bid/batch/mnt$")" 3 \
	"fluxfs run -N 3 in it ran under the batch instance's broker on each of its 3 nodes"
