#!/bin/bash
# Nesting has no depth limit from job ids (doc/tree.md "Job IDs"): an
# instance whose block of generators is used up asks its parent, which
# lends from its own block or asks its own parent, up to the root. With a
# root of 3 generators (--generator 0:3), a chain of single children gets
# deeper than its static blocks allow, every level minting with its own
# generator, and the next level is refused, saying why.
. "$(dirname "$0")/lib.sh"
plan 16

fluxfs_start --generator 0:3 || bail_out "cannot mount"
J=$MNT/jobs
submit_in() {
	timeout 10 bash -c 'exec 3<>"$1/queue/new" && cat "$2" >&3 && read -r id <&3 && echo "$id"' _ "$1" "$2"
}
gen() {   # the generator bits of an F58 id (RFC 19: 40 ts, 14 gen, 10 seq)
	python3 -c '
import sys
a = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
n = 0
for c in sys.argv[1][1:]:
    n = n * 58 + a.index(c)
print((n >> 10) & 0x3fff)' "$1"
}
state_in() { timeout 5 cat "$1/jobs/$2/state" 2>/dev/null; }
run_in() {   # run_in DIR: submit a holding job there, wait until it runs, print its id
	local id i
	id=$(submit_in "$1" hold.yaml) || return 1
	for i in $(seq 300); do [ "$(state_in "$1" "$id")" = RUN ] && break; sleep 0.1; done
	echo "$id"
}

mkjob 'sleep 300' 1 600 > hold.yaml
mkjob 'true' > true.yaml
P=$(run_in "$MNT")
is "$(state_in "$MNT" "$P")" RUN "a root job holds a core"
is "$(gen "$P")" 0 "the root mints with generator 0"

ok "mkdir a (the root's static block: generator 1)" timeout 30 mkdir "$J/$P/a"
A=$(run_in "$J/$P/a")
is "$(state_in "$J/$P/a" "$A")" RUN "a job in a holds its core"
ga=$(gen "$A")

# a's block is its own generator only: b's comes from the root, on loan
ok "mkdir b below a (a has no generator to give)" timeout 40 mkdir "$J/$P/a/jobs/$A/b"
B=$(run_in "$J/$P/a/jobs/$A/b")
is "$(state_in "$J/$P/a/jobs/$A/b" "$B")" RUN "a job in b holds its core"
gb=$(gen "$B")
diag "generators: root 0, a $ga, b $gb"
ok "b mints with a generator of its own" test "$gb" != 0 -a "$gb" != "$ga"
like "$(cat "$DAEMON_LOG")" "generators $gb:1 lent to nested instance $P/a" \
	"the root lent it, through a"

# every generator of the tree is in use now: a fourth level is refused
out=$(timeout 40 mkdir "$J/$P/a/jobs/$A/b/jobs/$B/c" 2>&1)
isnt "$?" 0 "mkdir c fails: no generator left in the tree"
like "$(cat "$J/$P/a/jobs/$A/b/queue/errors")" "no job id generator left" "b's queue/errors says why"

# generators come back when a subtree ends: b's history keeps its own ids
echo cancel > "$J/$P/a/jobs/$A/b/jobs/$B/ctl"
T2=$(submit_in "$J/$P/a/jobs/$A/b" true.yaml)
is "$(timeout 30 cat "$J/$P/a/jobs/$A/b/jobs/$T2/wait")" "COMPLETED 0" "b runs jobs"
is "$(gen "$T2")" "$gb" "with its generator"
echo cancel > "$J/$P/a/jobs/$A/ctl"
a_done() { [ "$(state_in "$J/$P/a" "$A")" = INACTIVE ]; }
ok "a's job ends, and b with it" wait_until 60 a_done
ok "the root has its generator back: mkdir a2 gets it" timeout 30 mkdir "$J/$P/a2"
A3=$(submit_in "$J/$P/a2" true.yaml)
is "$(timeout 30 cat "$J/$P/a2/jobs/$A3/wait")" "COMPLETED 0" "a2 runs a job"
is "$(gen "$A3")" "$gb" "with the generator b gave back"
