#!/bin/bash
# Control files act with the authority of the opener, checked at open
# (jobs/<id>/ctl, resources/ctl): a descriptor opened by root and written
# by nobody acts as root; nobody cannot open another user's job ctl for
# writing; a descriptor nobody opened, written by root, acts (and is
# recorded) as nobody. A write of several lines is applied whole or not at
# all, with the bad line's number in queue/errors.
. "$(dirname "$0")/lib.sh"
plan 40

ok "daemon mounts a 4-node x 2-core cluster" fluxfs_start --resources "$FIXTURES/R-4n2c.json"
chmod 755 "$T"   # so that another user can reach the mount
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
last_error() { timeout 5 cat "$MNT/queue/errors" | tail -1; }
# held jobs stay in SCHED: nothing here depends on timing
{ mkjob 'echo held'; echo '    urgency: 0'; } > held.yaml
chmod 644 held.yaml
count_events() { jobfile "$1" eventlog | grep -c "\"name\":\"$2\""; }
# errno NAME of opening $1 for writing as nobody, or "ok"
open_err() {
	nobody timeout 10 python3 -c "import errno, os, sys
try:
    os.close(os.open(sys.argv[1], os.O_WRONLY))
    print('ok')
except OSError as e:
    print(errno.errorcode[e.errno])" "$1"
}
# as_opener UID FILE TEXT: open FILE with effective uid UID, then write TEXT
# to that descriptor as root; prints "ok" or the errno name of the write
as_opener() {
	timeout 10 python3 -c "import errno, os, sys
os.setegid(int(sys.argv[1])); os.seteuid(int(sys.argv[1]))
fd = os.open(sys.argv[2], os.O_WRONLY)
os.seteuid(0); os.setegid(0)
try:
    os.write(fd, sys.argv[3].encode())
    print('ok')
except OSError as e:
    print(errno.errorcode[e.errno])" "$@"
}

R=$(submit held.yaml)
ok "root submits a held job" test -n "$R"
ok "... it waits in SCHED" wait_state "$R" SCHED
H=$(submit held.yaml)
ok "root submits another held job, never released" wait_state "$H" SCHED
# nobody's job waits for H: it stays pending (DEPEND) whatever its urgency
{ mkjob 'echo waits'; printf '    dependencies:\n      - scheme: afterok\n        value: %s\n' "$H"; } \
	> waits.yaml
chmod 644 waits.yaml
N=$(nobody timeout 10 bash -c 'exec 3<>"$1" && cat "$2" >&3 && read -r id <&3 && echo "$id"' \
	_ "$MNT/queue/new" waits.yaml)
ok "nobody submits a job" test -n "$N"
ok "... it waits in DEPEND" wait_state "$N" DEPEND

# ---- opened by root, written by nobody: root's authority
is "$(open_err "$MNT/jobs/$R/ctl")" EPERM "nobody cannot open root's job ctl for writing"
nok "... so echo cancel > ctl fails" nobody timeout 10 sh -c "echo cancel > '$MNT/jobs/$R/ctl'" 2>/dev/null
is "$(job_state "$R")" SCHED "... and the job is untouched"
is "$(nobody cat "$MNT/jobs/$R/ctl" 2>&1 >/dev/null | grep -c 'Permission denied')" 1 \
	"nobody cannot read root's job ctl (0600), as before"
ok "a descriptor root opened, written by nobody, cancels" \
	nobody timeout 10 sh -c 'echo cancel >&3' 3>"$MNT/jobs/$R/ctl"
ok "... the job ends" wait_state "$R" INACTIVE
is "$(jobfile "$R" result)" CANCELED "... canceled"
like "$(jobfile "$R" eventlog)" '"name":"exception","context":\{"type":"cancel","severity":0,"userid":0,' \
	"... the exception records root (the opener)"

# ---- opened by nobody, written by root: nobody's authority
is "$(as_opener 65534 "$MNT/jobs/$N/ctl" 'urgency 3')" ok \
	"a descriptor nobody opened on its own job, written by root, sets urgency 3"
like "$(jobfile "$N" eventlog)" '"name":"urgency","context":\{"userid":65534,"urgency":3\}' \
	"... the urgency event records userid 65534 (the opener)"
is "$(as_opener 65534 "$MNT/jobs/$N/ctl" 'urgency 20')" EINVAL \
	"... urgency 20 (above a user's 16) through it fails, though root writes it"
like "$(last_error)" "jobs/$N/ctl: EINVAL: urgency '20' out of range 0-16" \
	"... root's queue/errors says why, with the user's limit"
is "$(as_opener 0 "$MNT/jobs/$N/ctl" 'urgency 20')" ok "root's own descriptor may set 20"
like "$(jobfile "$N" eventlog)" '"name":"urgency","context":\{"userid":0,"urgency":20\}' \
	"... recorded as root"
is "$(nobody cat "$MNT/jobs/$N/ctl")" "# write one per line: cancel | signal N|NAME | urgency N | release HOSTLIST | shutdown NAME [force]" \
	"nobody reads its own job's ctl"

# ---- all lines or none
before=$(count_events "$N" urgency)
nok "a 3-line write whose third line is bad fails" \
	timeout 10 sh -c "printf 'urgency 5\nurgency 6\nbogus\n' > '$MNT/jobs/$N/ctl'"
is "$(count_events "$N" urgency)" "$before" "... and changes nothing (no urgency event)"
like "$(last_error)" "jobs/$N/ctl: EINVAL: line 3: unknown control 'bogus'" \
	"... queue/errors names line 3"
nok "a line invalid after the lines before it fails the write (urgency after cancel)" \
	timeout 10 sh -c "printf 'urgency 5\ncancel\nurgency 6\n' > '$MNT/jobs/$N/ctl'"
is "$(job_state "$N")" DEPEND "... the job is not canceled"
is "$(count_events "$N" urgency)" "$before" "... nor its urgency changed"
like "$(last_error)" "line 3: job '$N' is not pending" "... queue/errors names line 3"
ok "a valid 2-line write applies both lines" \
	timeout 10 sh -c "printf 'urgency 2\n\nurgency 0\n' > '$MNT/jobs/$N/ctl'"
is "$(count_events "$N" urgency)" "$((before + 2))" "... two urgency events"
ok "nobody's echo cancel > ctl on its own job works" \
	nobody timeout 10 sh -c "echo cancel > '$MNT/jobs/$N/ctl'"
ok "... the job ends" wait_state "$N" INACTIVE
like "$(jobfile "$N" eventlog)" '"type":"cancel","severity":0,"userid":65534,' \
	"... the exception records nobody"

# ---- resources/ctl
is "$(open_err "$MNT/resources/ctl")" EACCES "nobody cannot open resources/ctl for writing"
ok "a descriptor root opened on resources/ctl, written by nobody, drains" \
	nobody timeout 10 sh -c 'echo "drain node1" >&3' 3>"$MNT/resources/ctl"
is "$(head -1 "$MNT/resources/cluster0/node1/state")" "node drained" "... node1 is drained"
nok "a 3-line resources/ctl write whose third line is bad fails" \
	timeout 10 sh -c "printf 'up node1\ndrain node2\nbogus node3\n' > '$MNT/resources/ctl'"
is "$(head -1 "$MNT/resources/cluster0/node1/state") $(head -1 "$MNT/resources/cluster0/node2/state")" \
	"node drained node up" "... and changes nothing"
like "$(last_error)" "resources/ctl: EINVAL: line 3: unknown verb 'bogus'" "... queue/errors names line 3"
ok "unmount" fluxfs_stop
