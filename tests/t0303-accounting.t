#!/bin/bash
# Accounting records (issue 18): every ended job leaves a record that purging
# does not remove (accounting/jobs), usage by user and bank (accounting/usage,
# usage.csv, fluxfs account), each user seeing their own, records durable
# across a restart and bounded by their own retention (--acct-keep).
. "$(dirname "$0")/lib.sh"
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
plan 29
fx() { timeout 60 "$FLUXFS" -m "$MNT" "$@"; }
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
njobs() { ls "$MNT/jobs" | wc -l; }
nrecords() { timeout 10 cat "$MNT/accounting/jobs" | wc -l; }

ok "daemon mounts with --purge-keep 100" fluxfs_start --purge-keep 100
ok "accounting/ lists banks, fairshare, jobs, usage, usage.csv" test "$(ls "$MNT/accounting" | tr "\\n" " ")" = "banks fairshare jobs usage usage.csv "
fx submit --wait --cc=1-1000 true > ids.txt
is "$(wc -l < ids.txt)" 1000 "1000 jobs ran"
ok "purging keeps jobs/ at 100" wait_until 30 sh -c "[ \$(ls '$MNT/jobs' | wc -l) -le 100 ]"
is "$(nrecords)" 1000 "accounting/jobs still has a record of each of the 1000"
is "$(timeout 10 cat "$MNT/accounting/jobs" | python3 -c '
import json, sys
ids = set(l.strip() for l in open("ids.txt"))
recs = [json.loads(l) for l in sys.stdin]
print(len({r["id"] for r in recs} & ids), all(r["result"] == "COMPLETED" and r["status"] == 0
      and r["ncores"] == 1 and r["nnodes"] == 1 and r["t_run"] >= r["t_submit"] > 0
      and r["t_inactive"] >= r["t_run"] for r in recs))')" "1000 True" \
	"... their ids, result, cores and nodes, submit <= run <= end"
is "$(fx account -o json | python3 -c 'import json,sys; u=[json.loads(l) for l in sys.stdin]; print(sum(x["jobs"] for x in u), sum(x["completed"] for x in u))')" \
	"1000 1000" "fluxfs account: the totals over 1,000 jobs are exact"
fid=$(fx submit --wait --setattr=bank=physics sh -c 'exit 3' | head -1)
like "$(grep "$fid" "$MNT/accounting/jobs")" '"bank":"physics".*"result":"FAILED","status":3' \
	"a failing job's record: its bank and exit status"
like "$(timeout 5 cat "$MNT/accounting/usage.csv")" "^userid,user,bank,jobs,completed,failed,core_hours,node_hours,gpu_hours
0,root,,1000,1000,0,.*
0,root,physics,1,0,1," "usage.csv: a row per user and bank"
like "$(fx account)" "root +physics +1 +0 +1" "fluxfs account prints the table"
printf '#!/bin/sh\n#SBATCH -A chemistry -p debug\ntrue\n' > acct.sh
aid=$(submit acct.sh)
wait_job "$aid" >/dev/null
like "$(grep "$aid" "$MNT/accounting/jobs")" '"bank":"chemistry","queue":"debug"' \
	"#SBATCH -A and -p are the record's bank and queue"
is "$(fx account --until=$(( $(date +%s) - 3600 )) | wc -l)" 1 "--until an hour ago: the header only"
is "$(stat -c %s "$MNT/accounting/jobs")" 0 "the files have size 0, as /proc's (made when opened)"
# built a slice at a time as it is read: the same bytes however it is read
timeout 10 cat "$MNT/accounting/jobs" > acct.all
is "$(timeout 10 dd if="$MNT/accounting/jobs" bs=61 2>/dev/null | cmp - acct.all && echo same)" same \
	"accounting/jobs read 61 bytes at a time: the bytes one cat gets"
is "$(python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.read(fd, 5000); os.lseek(fd, 0, 0)
data = b""
while True:
    b = os.read(fd, 4096)
    if not b: break
    data += b
print(data == open(sys.argv[2], "rb").read())' "$MNT/accounting/jobs" acct.all)" True \
	"... and read again from 0 after a seek back"
fx submit --wait --setattr=bank='a,"b"' true >/dev/null
like "$(timeout 5 cat "$MNT/accounting/usage.csv")" '
0,root,"a,""b""",1,1,0,' "usage.csv quotes a bank with a comma and a quote"

uid_=$(fx submit --wait --setattr=bank=named /usr/bin/true >/dev/null; fx jobs -a -n -c 1 -o '{id}')
like "$(grep "\"$uid_\"" "$MNT/accounting/jobs")" '"name":"true"' "a job with no name is recorded by its command's base name, as joblist names it"

like "$(fx account -j | head -1)" '"t_inactive":[0-9]+\.[0-9]{1,6}[,}]' "account --jobs prints the records' times as the file has them (microseconds)"

# a user sees only their own records
nobody sh -c "cd /tmp && '$FLUXFS' -m '$MNT' submit --wait true" >/dev/null
is "$(nobody cat "$MNT/accounting/jobs" | wc -l)" 1 "another user sees only their record"
is "$(nobody cat "$MNT/accounting/jobs" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["userid"])')" \
	65534 "... which is theirs"
is "$(nobody cat "$MNT/accounting/usage" | python3 -c 'import json,sys; print([json.loads(l)["userid"] for l in sys.stdin])')" \
	"[65534]" "... and only their usage"
like "$(nobody "$FLUXFS" -m "$MNT" account --user root 2>&1 >/dev/null)" "your own records only" \
	"fluxfs account --user root as a user says why the table is empty"
is "$(nobody cat "$MNT/accounting/usage" | python3 -c 'import json,sys; print([json.loads(l)["user"] for l in sys.stdin])')" \
	"['$(id -nu 65534)']" "... each row with the user's name"

# durable: a restart keeps them all
before=$(nrecords)
fluxfs_stop
ok "restart" fluxfs_start --purge-keep 100
is "$(nrecords)" "$before" "every record ($before) is there after a restart"
# a job lost to a kill -9: recorded from its R, jobspec and eventlog
lid=$(fx submit --job-name=lost sleep 60)
wait_state "$lid" RUN >/dev/null
# its start event is written with the next write, or 5 ms later: a kill
# before that leaves it without (doc/tree.md, Durability)
wait_until 10 sh -c "timeout 5 cat '$MNT/jobs/$lid/eventlog' | grep -q '\"name\":\"start\"'"
kill -9 "$FLUXFS_PID"
_wait_gone "$FLUXFS_PID"
fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
ok "restart after kill -9" fluxfs_start --purge-keep 100
wait_job "$lid" >/dev/null
like "$(grep "$lid" "$MNT/accounting/jobs")" '"name":"lost",.*"t_run":1[0-9.]+,.*"ncores":1,.*"result":"LOST"' \
	"the lost job's record has its name, run and cores"
# their own retention: a short --acct-keep expires them, nothing else does
fluxfs_stop
ok "restart with --acct-keep of about a second" fluxfs_start --purge-keep 100 --acct-keep 0.00001
ok "records older than that expire" wait_until 30 sh -c "[ \$(timeout 10 cat '$MNT/accounting/jobs' | wc -l) -eq 0 ]"
