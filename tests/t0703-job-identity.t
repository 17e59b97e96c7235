#!/bin/bash
# A job of another user, run by a root instance, gets its identity from the
# user database (doc/tree.md "Execution"): its supplementary groups, and
# HOME, USER, LOGNAME, SHELL as login(1) sets them; never the root broker's
# environment.
. "$(dirname "$0")/lib.sh"
plan 10

[ "$(id -u)" = 0 ] || { for i in $(seq 10); do skip "needs root"; done; exit 0; }
u=fluxfs-t0703; g=fluxfs-t0703g
test_user "$u" "$g"
uid=$(id -u "$u"); gid=$(getent group "$g" | cut -d: -f3)

export FLUXFS_T0703_SECRET=root-only   # in the broker's environment
fluxfs_start || bail_out "cannot mount"
chmod 755 "$T"
mkjob 'id -G; echo "HOME=$HOME USER=$USER LOGNAME=$LOGNAME SHELL=$SHELL"; echo "SECRET=${FLUXFS_T0703_SECRET-unset} PATH=$PATH"' > id.yaml
chmod 644 id.yaml
ok "the user submits a job" setpriv --reuid="$uid" --regid="$(id -g "$u")" --init-groups \
	cp id.yaml "$MNT/queue/"
id=$(ls "$MNT/jobs" | head -1)
is "$(wait_job "$id")" "COMPLETED 0" "it runs"
out=$(cat "$MNT/jobs/$id/stdout")
like "$(sed -n 1p <<<"$out")" "(^| )$gid( |\$)" "its supplementary group is there (id -G: $(sed -n 1p <<<"$out"))"
is "$(sed -n 2p <<<"$out")" "HOME=/var/empty/t0703 USER=$u LOGNAME=$u SHELL=/bin/sh" \
	"HOME, USER, LOGNAME, SHELL from the user database"
like "$(sed -n 3p <<<"$out")" '^SECRET=unset ' "nothing of the root broker's environment"
like "$(sed -n 3p <<<"$out")" 'PATH=/usr/local/bin:/usr/bin:/bin$' "a minimal PATH"
# the broker keeps users' entries a few seconds (exec/pwcache.h), but an
# edit of /etc/passwd counts for the very next job
asuser() { setpriv --reuid="$uid" --regid="$(id -g "$u")" --init-groups "$@"; }
mkjob 'echo "HOME=$HOME"' > home.yaml
chmod 644 home.yaml
ok "usermod gives the user another home" usermod -d /var/empty/t0703-moved "$u"
before=$(ls "$MNT/jobs" | sort)
asuser cp home.yaml "$MNT/queue/"
id3=$(comm -13 <(echo "$before") <(ls "$MNT/jobs" | sort))
is "$(wait_job "$id3")" "COMPLETED 0" "the next job runs"
is "$(cat "$MNT/jobs/$id3/stdout")" "HOME=/var/empty/t0703-moved" "with the new home at once"
# a job of root itself (the instance owner) keeps the broker's environment
mkjob 'echo "SECRET=${FLUXFS_T0703_SECRET-unset}"' > mine.yaml
id2=$(submit mine.yaml); wait_job "$id2" >/dev/null
is "$(cat "$MNT/jobs/$id2/stdout")" "SECRET=root-only" "root's own jobs keep the broker's environment"
