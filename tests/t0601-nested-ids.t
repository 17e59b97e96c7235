#!/bin/bash
# Job ids across a tree of instances (doc/tree.md "Job IDs"): the root mints
# with generator 0, each nested instance with its own (two children of one
# job differ, and a grandchild differs from both); tasks are told their
# instance (FLUXFS_INSTANCE), which differs between parent and child.
. "$(dirname "$0")/lib.sh"

fluxfs_start || bail_out "cannot mount"
J=$MNT/jobs
submit_in() {
	timeout 10 bash -c 'exec 3<>"$1/queue/new" && cat "$2" >&3 && read -r id <&3 && echo "$id"' _ "$1" "$2"
}
# gen ID: the generator bits of an F58 id (RFC 19: 40 ts, 14 gen, 10 seq)
gen() {
	python3 -c '
import sys
a = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
s = sys.argv[1]
assert s[0] == "f", s
n = 0
for c in s[1:]:
    n = n * 58 + a.index(c)
print((n >> 10) & 0x3fff)' "$1"
}
state_in() { timeout 5 cat "$1/jobs/$2/state" 2>/dev/null; }

mkjob 'sleep 300' 1 600 > hold.yaml
mkjob 'echo $FLUXFS_INSTANCE' > inst.yaml
P=$(submit hold.yaml)
ok "parent job runs" wait_state "$P" RUN
is "$(gen "$P")" 0 "the root's ids have generator 0"
R=$(submit inst.yaml)
is "$(wait_job "$R")" "COMPLETED 0" "a root job completes"
root_inst=$(jobfile "$R" stdout)
like "$root_inst" '^[0-9a-f]{16}$' "root tasks get FLUXFS_INSTANCE ($root_inst)"

ok "mkdir a" timeout 30 mkdir "$J/$P/a" || bail_out "no nested instance"
ok "mkdir b" timeout 30 mkdir "$J/$P/b" || bail_out "no second nested instance"
A=$(submit_in "$J/$P/a" inst.yaml)
B=$(submit_in "$J/$P/b" inst.yaml)
ga=$(gen "$A")
gb=$(gen "$B")
diag "generators: a $ga, b $gb"
isnt "$ga" 0 "a nested instance's ids do not use the root's generator"
isnt "$gb" 0 "nor do its sibling's"
isnt "$ga" "$gb" "two nested instances of one job have different generators"
is "$(timeout 30 cat "$J/$P/a/jobs/$A/wait")" "COMPLETED 0" "a's job completes"
a_inst=$(cat "$J/$P/a/jobs/$A/stdout")
like "$a_inst" '^[0-9a-f]{16}$' "a's tasks get FLUXFS_INSTANCE"
isnt "$a_inst" "$root_inst" "... not the root's"
is "$(timeout 30 cat "$J/$P/b/jobs/$B/wait")" "COMPLETED 0" "b's job completes"
isnt "$(cat "$J/$P/b/jobs/$B/stdout")" "$a_inst" "b's instance token is not a's"

# a grandchild: below a, disjoint from a, b and the root
A2=$(submit_in "$J/$P/a" hold.yaml)
for i in $(seq 200); do [ "$(state_in "$J/$P/a" "$A2")" = RUN ] && break; sleep 0.1; done
is "$(state_in "$J/$P/a" "$A2")" RUN "a job holding a's core runs"
ok "mkdir below a" timeout 30 mkdir "$J/$P/a/jobs/$A2/g"
G=$(submit_in "$J/$P/a/jobs/$A2/g" inst.yaml)
gg=$(gen "$G")
diag "grandchild generator $gg"
ok "the grandchild's generator is none of the root's, a's or b's" \
	test "$gg" != 0 -a "$gg" != "$ga" -a "$gg" != "$gb"

# the generator is kept by the history broker's store: ids still resolve
echo cancel > "$J/$P/a/jobs/$A2/ctl"
echo cancel > "$J/$P/ctl"
ok "parent job ends" wait_state "$P" INACTIVE 60
for i in $(seq 100); do [ -e "$J/$P/a/jobs/$A/wait" ] && break; sleep 0.1; done
is "$(timeout 10 cat "$J/$P/a/jobs/$A/wait")" "COMPLETED 0" "a's history serves its job by id"

done_testing
