#!/bin/bash
# Per-user submission limits (doc/tree.md "Per-user limits"), root exempt:
# pending jobs (--max-pending-per-user) and submissions a second
# (--submit-rate); a refusal is an errno at the cp and a line naming the
# limit in that user's queue/errors; other users are unaffected.
. "$(dirname "$0")/lib.sh"
plan 9

fluxfs_start --max-pending-per-user 3 --submit-rate 1 || bail_out "cannot mount"
chmod 755 "$T"
Q=$MNT/queue
mkjob 'true' 1 60 > held.yaml
sed -i 's/duration: 60/duration: 60\n    urgency: 0/' held.yaml   # held: stays pending
chmod 644 held.yaml
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }
pending_of() { grep -l "\"submit\",\"context\":{\"userid\":$1," "$MNT"/jobs/*/eventlog 2>/dev/null | wc -l; }

# the rate: one a second with a burst of one; 20 submissions in a row
# cannot all pass unless they take 19 s (they take well under one)
ok=0; again=0
for i in $(seq 20); do
	if out=$(as 65533 cp held.yaml "$Q/r$i.yaml" 2>&1); then ok=$((ok + 1));
	elif [[ $out == *"Resource temporarily unavailable"* ]]; then again=$((again + 1)); fi
done
ok "some submissions pass ($ok)" test "$ok" -ge 1
ok "and the rest are refused EAGAIN ($again)" test "$again" -ge 1 -a $((ok + again)) = 20
like "$(as 65533 cat "$Q/errors")" 'EAGAIN: too many submissions: one user may make 1 a second' \
	"queue/errors names the rate"

# pending: nobody has at most 3 pending jobs
n=0
for i in 1 2 3 4 5 6 7 8; do
	as 65534 cp held.yaml "$Q/p$i.yaml" 2>/dev/null && n=$((n + 1))
	[ "$(pending_of 65534)" -ge 3 ] && break
	sleep 1.1   # (the rate: one a second)
done
is "$(pending_of 65534)" 3 "nobody reaches 3 pending jobs"
sleep 1.1
out=$(as 65534 cp held.yaml "$Q/p9.yaml" 2>&1)
like "$out" 'Disk quota exceeded' "a fourth is refused EDQUOT"
like "$(as 65534 cat "$Q/errors")" 'EDQUOT: user 65534 has 3 jobs pending; one user may have 3' \
	"queue/errors names the limit"
# canceling one frees its place
first=$(grep -l '"userid":65534' "$MNT"/jobs/*/eventlog | head -1)
echo cancel > "$(dirname "$first")/ctl"
sleep 1.1
ok "once one is canceled, nobody may submit again" as 65534 cp held.yaml "$Q/p10.yaml"
# root is exempt
for i in 1 2 3 4 5; do cp held.yaml "$Q/root$i.yaml" || break; done
is "$(pending_of 0)" 5 "root submits 5 held jobs in a row"
ok "the daemon is alive" test -r "$MNT/status"
