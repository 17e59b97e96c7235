#!/bin/bash
# The fluxfs command among several users of a system instance: names known
# only to a directory service (here systemd's userdb, which NSS asks after
# /etc/passwd), and in the spellings sssd and winbind use; another user's
# job; another user's private mount; options that do not combine. The
# command is linked statically and asks no NSS module itself
# (tools/cli_pw.c): /etc/passwd, then getent(1).
. "$(dirname "$0")/lib.sh"
FLUXFS=${FLUXFS_CLI:-$(dirname "$FLUXFSD")/../tools/fluxfs}
[ -x "$FLUXFS" ] || { echo "1..0 # SKIP no fluxfs binary at $FLUXFS"; exit 0; }
plan 18

[ "$(id -u)" = 0 ] || { for i in $(seq 17); do skip "needs root"; done; exit 0; }
fx() { timeout 30 "$FLUXFS" -m "$MNT" "$@"; }
fxq() { fx "$@" >/dev/null 2>&1; }   # for ok/nok: only the exit status
u=fluxfs-t0905
test_user "$u"
as_user() { setpriv --reuid="$u" --regid=nogroup --init-groups env HOME="$T/uhome" "$@"; }
mkdir -p "$T/uhome"; chown "$u" "$T/uhome"
# ---- a user the user database has only through NSS, with an '@' in its name
dsuid=4242905 dsname=t0905@corp
userdb_ok=
if grep -qE '^passwd:.*systemd' /etc/nsswitch.conf && [ -d /etc/userdb -o ! -e /etc/userdb ]; then
	if [ -e /etc/userdb ]; then
		at_cleanup rm -f "/etc/userdb/$dsname.user"
	else
		mkdir /etc/userdb && at_cleanup rm -rf /etc/userdb
	fi
	printf '{"userName":"%s","uid":%d,"gid":%d,"homeDirectory":"/","shell":"/bin/sh","disposition":"regular"}\n' \
		"$dsname" "$dsuid" "$dsuid" > "/etc/userdb/$dsname.user"
	# (by uid through a link, as userdb(5) wants: the helper asks by uid)
	ln -sf "$dsname.user" "/etc/userdb/$dsuid.user"
	at_cleanup rm -f "/etc/userdb/$dsuid.user"
	# nss-systemd reads it at once; give it a moment all the same
	wait_until 5 getent passwd "$dsname" >/dev/null && getent passwd "$dsuid" >/dev/null &&
		userdb_ok=1
fi
fluxfs_start || bail_out "cannot mount"
chmod 755 "$T"

if [ -n "$userdb_ok" ]; then
	nok "'$dsname' is not in /etc/passwd" grep -q "^$dsname:" /etc/passwd
	ok "its job is accepted" setpriv --reuid="$dsuid" --regid="$dsuid" --clear-groups \
		timeout 30 "$FLUXFS" -m "$MNT" run true
	row=$(fx jobs -a --user "$dsname" -o '{username}' 2>&1)
	is "$(tail -1 <<<"$row")" "$dsname" "jobs --user NAME with an '@' finds it, named"
	like "$(fx jobs -a --user "$dsuid" --json 2>&1)" "\"user\": *\"$dsname\"" "... by uid, named in full in --json"
	ok "account -u NAME with an '@'" fxq account -u "$dsname"
else
	for i in 1 2 3 4 5; do skip "no systemd userdb behind NSS here"; done
fi
out=$(fx jobs --user 'DOM\nosuch' 2>&1); rc=$?
is "$rc:$out" "2:fluxfs: --user: unknown user 'DOM\\nosuch'" "a DOMAIN\\name (winbind) is looked up, and an unknown one said so"
out=$(fx jobs --user -x 2>&1); rc=$?
is "$rc" 2 "a name that would be an option to getent is refused"

# ---- another user's job: its end may be waited for, its output not attached to
mkjob 'sleep 30' > long.yaml; chmod 644 long.yaml
before=$(ls "$MNT/jobs" | sort)
ok "the user submits a job" as_user cp long.yaml "$MNT/queue/"
bid=$(comm -13 <(echo "$before") <(ls "$MNT/jobs" | sort))
wait_until 10 eval '[ "$(cat "$MNT/jobs/$bid/state")" = RUN ]' >/dev/null
# root reads everything: another user attaches
other=fluxfs-t0905b
test_user "$other"
out=$(setpriv --reuid="$other" --regid=nogroup --init-groups timeout 10 "$FLUXFS" -m "$MNT" attach "$bid" 2>&1); rc=$?
is "$rc" 1 "attach to another user's job fails at once"
like "$out" "cannot read its output: Permission denied" "... saying why"
out=$(setpriv --reuid="$other" --regid=nogroup --init-groups timeout 10 "$FLUXFS" -m "$MNT" jobs -A --json 2>&1)
like "$(tr -d ' \n' <<<"$out")" "\"id\":\"$bid\",[^}]*\"name\":\"sh\"" "jobs -A --json: another user's job has its name (joblist), as flux jobs -A shows it"
nok "... while its jobspec stays the owner's to read" setpriv --reuid="$other" --regid=nogroup --init-groups cat "$MNT/jobs/$bid/jobspec"
fx cancel "$bid" >/dev/null

# ---- options that do not combine, and their words
out=$(fx account -j -o csv 2>&1); rc=$?
is "$rc" 2 "account --jobs --format csv is a usage error (the records are JSON lines)"
like "$out" "does not apply" "... saying so"
ok "account --jobs --format json is fine" fxq account -j -o json
out=$(fx jobs -f bogus 2>&1)
like "$out" "^fluxfs: --filter: unknown state 'bogus'" "jobs -f names the option it was given"

# ---- another user's private instance: root is told whose it is
fuse_mode=$(stat -c %a /dev/fuse)
at_cleanup chmod "$fuse_mode" /dev/fuse
chmod 666 /dev/fuse   # fusermount3 needs it, as Debian ships it
mkdir -p "$T/ustate" "$T/umnt"; chown "$u" "$T/ustate" "$T/umnt"
uclean() { pkill -KILL -f -- "--state $T/ustate " 2>/dev/null; fusermount3 -uz "$T/umnt" 2>/dev/null; true; }
at_cleanup uclean
if as_user "$FLUXFSD" --state "$T/ustate" "$T/umnt" 2>/dev/null; then
	out=$(timeout 10 "$FLUXFS" -m "$T/umnt" jobs 2>&1); rc=$?
	is "$rc" 1 "root on a user's private instance: fails"
	like "$out" "another user started is that user's alone" "... saying it is that user's, not 'not a fluxfs mount'"
	as_user fusermount3 -u "$T/umnt"
else
	for i in 1 2; do skip "the user cannot start an instance here"; done
fi
fluxfs_stop
