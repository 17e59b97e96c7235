#!/bin/bash
# Nested instances of another user under a root instance (doc/tree.md
# "Nested instances", fsd/nestdir.h): they work out of the box, run as
# their owner, and no path the owner can write is ever followed by the
# root side: the broker, which runs as the fluxfs user, and its helper.
. "$(dirname "$0")/lib.sh"
plan 25

[ "$(id -u)" = 0 ] || { for i in $(seq 25); do skip "needs root"; done; exit 0; }
u=fluxfs-t0705
test_user "$u"
uid=$(id -u "$u")
as_user() { setpriv --reuid="$uid" --regid="$(id -g "$u")" --init-groups "$@"; }
# a user mounts FUSE through fusermount3, which needs /dev/fuse as Debian
# ships it (0666); some containers make it root's alone
fuse_mode=$(stat -c %a /dev/fuse)
at_cleanup chmod "$fuse_mode" /dev/fuse

# root's files a user would love to own or overwrite
echo secret > victim; chmod 600 victim
mkdir victimdir; echo keep > victimdir/file
victim_sum() { stat -c '%u:%g %a %s' "$T/victim" "$T/victimdir" "$T/victimdir/file"; cat "$T/victim"; }
before=$(victim_sum)

fluxfs_start || bail_out "cannot mount"
chmod 755 "$T"
fuid=$(id -u fluxfs)   # the broker's user (doc/tree.md "Privilege separation")
mkjob 'sleep 300' > long.yaml
chmod 644 long.yaml
as_user cp long.yaml "$MNT/queue/" || bail_out "the user cannot submit"
id=$(ls "$MNT/jobs" | head -1)
wait_state "$id" RUN 20 || bail_out "the job does not run"

# where /dev/fuse is root's alone, the owner's mkdir fails and says why
chmod 600 /dev/fuse
nok "with /dev/fuse 0600 the owner's mkdir fails" as_user timeout 30 mkdir "$MNT/jobs/$id/nofuse" 2>/dev/null
like "$(as_user cat "$MNT/queue/errors")" "/dev/fuse \(mode 0600\) is not read-writable by uid $uid" \
	"... and queue/errors names /dev/fuse"
chmod 666 /dev/fuse
ok "the owner's mkdir starts a nested instance" as_user timeout 30 mkdir "$MNT/jobs/$id/sub"
D=$STATE/nested/$id/sub
is "$(stat -c '%u %a' "$D")" "$fuid 711" "its directory is the broker's and only searchable"
is "$(stat -c '%u %a' "$D/state")" "$uid 700" "its state/ is the owner's"
like "$(awk -v m="$D/mnt" '$2 == m { print $4 }' /proc/mounts)" "user_id=$uid," \
	"the owner mounted the child's tree on mnt/"
is "$(stat -c '%u' "$D/R.json" "$D/log" | tr '\n' ' ')" "$fuid $fuid " "R.json and log are the broker's"
pid=$(pgrep -f "fluxfsd -f --state $D/state " | head -1)
is "$(awk '/^Uid:/ { print $2 }' /proc/"$pid"/status 2>/dev/null)" "$uid" "the child broker runs as the owner"
url=$(tr '\0' '\n' < /proc/"$pid"/cmdline | sed -n '/^--parent$/{n;p}')
sock=${url#ipc://}
like "$sock" '^/tmp/fluxfs-link-[A-Za-z0-9]{6}/link\.ipc$' "the link socket is in a directory of its own"
is "$(stat -c '%u %a' "$(dirname "$sock")") $(stat -c '%u %a' "$sock")" "$fuid 711 $uid 600" \
	"that directory is the broker's, search only; the socket is the owner's alone"
nok "the owner cannot make entries beside state/ and mnt/" as_user ln -s "$T/victim" "$D/evil" 2>/dev/null
nok "nor swap R.json for a symlink" as_user sh -c "rm -f '$D/R.json' && ln -s '$T/victim' '$D/R.json'" 2>/dev/null

# the nested tree works for its owner
mkjob 'id -u' > idu.yaml
chmod 644 idu.yaml
ok "the owner submits into the nested queue" as_user timeout 10 cp idu.yaml "$MNT/jobs/$id/sub/queue/"
c=$(as_user ls "$MNT/jobs/$id/sub/jobs" | head -1)
is "$(as_user timeout 30 cat "$MNT/jobs/$id/sub/jobs/$c/wait")" "COMPLETED 0" "the nested job runs"
is "$(as_user cat "$MNT/jobs/$id/sub/jobs/$c/stdout")" "$uid" "as the owner"
ok "the owner's rmdir stops it" as_user timeout 30 rmdir "$MNT/jobs/$id/sub"

# a job submitted with a group that is not its owner's primary one (sg,
# newgrp): the child runs with the owner's groups from the user database,
# and still reads its resources
as_grp() { setpriv --reuid="$uid" --regid=users --init-groups "$@"; }   # not its primary (nogroup)
ls "$MNT/jobs" | sort > before.ids
as_grp cp long.yaml "$MNT/queue/g.yaml"
gid_job=$(ls "$MNT/jobs" | sort | comm -13 before.ids - | head -1)
wait_state "$gid_job" RUN 20
ok "a job of another group: the owner's mkdir starts a nested instance" \
	as_grp timeout 30 mkdir "$MNT/jobs/$gid_job/grp"
as_grp timeout 30 rmdir "$MNT/jobs/$gid_job/grp"
echo cancel > "$MNT/jobs/$gid_job/ctl"

# A directory left by an older release was the owner's: whatever they put
# in it is taken back or removed, never followed.
O=$STATE/nested/$id/old
mkdir -p "$O"; chown "$uid" "$O"
as_user ln -s "$T/victim" "$O/R.json"
as_user ln -s "$T/victim" "$O/log"
as_user ln -s "$T/victimdir" "$O/state"
as_user ln -s "$T/victimdir" "$O/mnt"
as_user timeout 30 mkdir "$MNT/jobs/$id/old"
is "$(victim_sum)" "$before" "root's files are untouched after a mkdir over the owner's symlinks"
is "$(stat -c %u "$O")" "$fuid" "the old directory is the broker's again (the owner's was moved aside)"
is "$(stat -c %u "$T/victim" "$T/victimdir" | tr '\n' ' ')" "0 0 " "nothing was chowned to the owner"
ok "and the nested instance works anyway (symlinks replaced)" \
	as_user timeout 10 test -d "$MNT/jobs/$id/old/jobs"
as_user timeout 30 rmdir "$MNT/jobs/$id/old"

# after a restart the owner comes from the job, not from the disk
echo cancel > "$MNT/jobs/$id/ctl"
wait_state "$id" INACTIVE 20
fluxfs_stop
chown root "$STATE/nested/$id/sub/state"
fluxfs_start || bail_out "cannot restart"
wait_until 10 grep -q "state owned by uid 0, not the job's owner" "$DAEMON_LOG"
is $? 0 "a history whose state/ changed owner is not served (logged)"
ok "a nested instance that never started is no history after the restart" \
	test ! -e "$MNT/jobs/$id/nofuse"
ok "... while one that ran is (its history broker up)" wait_until 20 as_user test -d "$MNT/jobs/$id/old/jobs"

# the broker's file replaced on disk while it runs (a package upgrade, as
# dpkg does it: a new file renamed over the old): nested instances still
# start, from the file now at that path
fluxfs_stop
mkdir -p "$T/bin" && cp "$FLUXFSD" "$T/bin/fluxfsd"
FLUXFS_IMP=$(dirname "$FLUXFSD")/../exec/fluxfs-imp FLUXFSD=$T/bin/fluxfsd fluxfs_start ||
	bail_out "cannot start from a copy"
ls "$MNT/jobs" | sort > before.ids
as_user cp long.yaml "$MNT/queue/up.yaml"
up_job=$(ls "$MNT/jobs" | sort | comm -13 before.ids - | head -1)
wait_state "$up_job" RUN 20
cp "$T/bin/fluxfsd" "$T/bin/fluxfsd.new" && mv -f "$T/bin/fluxfsd.new" "$T/bin/fluxfsd"
ok "after the broker's file was replaced on disk, the owner's mkdir starts a nested instance" \
	as_user timeout 30 mkdir "$MNT/jobs/$up_job/up"
as_user timeout 30 rmdir "$MNT/jobs/$up_job/up"
echo cancel > "$MNT/jobs/$up_job/ctl"
