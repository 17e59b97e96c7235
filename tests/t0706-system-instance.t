#!/bin/bash
# A root-started fluxfsd is a system instance (doc/tree.md "Privilege
# separation"): it runs as the fluxfs user, its helper fluxfs-imp as root,
# and users' jobs as their owners, started, signalled and cleaned up through
# the helper.
. "$(dirname "$0")/lib.sh"
plan 46

[ "$(id -u)" = 0 ] || { for i in $(seq 46); do skip "needs root"; done; exit 0; }
u=fluxfs-t0706; g=fluxfs-t0706g
test_user "$u" "$g"
as_user() { setpriv --reuid="$u" --regid=nogroup --init-groups "$@"; }

fluxfs_start || bail_out "cannot mount"
fuid=$(id -u fluxfs); fgid=$(id -g fluxfs)
ok "the broker's user exists (made at start if missing)" test -n "$fuid"
is "$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$FLUXFS_PID/status)" "$fuid $fuid $fuid $fuid" \
	"the broker runs as fluxfs: real, effective, saved and fs uid"
is "$(awk '/^Gid:/ {print $2, $3, $4}' /proc/$FLUXFS_PID/status)" "$fgid $fgid $fgid" \
	"... and its group"
is "$(awk '/^Groups:/ {print $2}' /proc/$FLUXFS_PID/status)" "" "... with no supplementary groups"
imp=$(ps -o pid=,user=,comm= --ppid "$FLUXFS_PID" | awk '$3 == "fluxfs-imp" {print $1, $2}')
like "$imp" '^[0-9]+ root$' "its helper fluxfs-imp is root, the broker's child"
imp_pid=${imp%% *}
is "$(stat -c %U "$STATE" "$STATE/data.mdb" | sort -u)" fluxfs "the state directory and store are fluxfs's"

# a user's job: who it is comes from the user database
mkjob 'id -u; id -G; echo "HOME=$HOME"' > id.yaml
chmod 644 id.yaml
ok "the user submits" as_user cp id.yaml "$MNT/queue/"
id=$(ls "$MNT/jobs" | head -1)
is "$(wait_job "$id")" "COMPLETED 0" "the job runs"
is "$(sed -n 1p "$MNT/jobs/$id/stdout")" "$(id -u "$u")" "as the user"
is "$(sed -n 2p "$MNT/jobs/$id/stdout")" "$(id -G "$u")" "id -G inside equals id -G of the user"
is "$(sed -n 3p "$MNT/jobs/$id/stdout")" "HOME=/var/empty/t0706" "HOME from the user database"

# the helper keeps what it read of a user, but not past a change of the
# database: added to a group, the user's next job is in it
g2=fluxfs-t0706h
groupdel "$g2" 2>/dev/null; groupadd "$g2" && at_cleanup groupdel "$g2"
gpasswd -a "$u" "$g2" >/dev/null
ls "$MNT/jobs" | sort > "$T/before0"
as_user cp id.yaml "$MNT/queue/"
ls "$MNT/jobs" | sort > "$T/after0"
id2=$(comm -13 "$T/before0" "$T/after0" | head -1)
is "$(wait_job "$id2"):$(sed -n 2p "$MNT/jobs/$id2/stdout")" "COMPLETED 0:$(id -G "$u")" \
	"a group the user joined since the last job is the next job's"
like "$(id -Gn "$u")" "$g2" "... (the user is in $g2)"

# nothing the helper ignores is ignored in a job: SIGPIPE at its default
# (a job's pipeline whose reader ends quits quietly, as in a shell)
mkjob 'grep SigIgn /proc/self/status; yes | head -1 2>&1' > sig.yaml
chmod 644 sig.yaml
ls "$MNT/jobs" | sort > "$T/before0"
as_user cp sig.yaml "$MNT/queue/"
ls "$MNT/jobs" | sort > "$T/after0"
id3=$(comm -13 "$T/before0" "$T/after0" | head -1)
is "$(wait_job "$id3"):$(tr '\t\n' ' ;' < "$MNT/jobs/$id3/stdout"):$(cat "$MNT/jobs/$id3/stderr")" \
	"COMPLETED 0:SigIgn: 0000000000000000;y;:" "a user's job starts with no signal ignored"

# where it runs: the submitter's directory (the helper reads it, the broker
# may not), or the jobspec's cwd when it names one (then nobody asks)
mkdir -p "$T/home-u" "$T/there"; chown "$u" "$T/home-u"; chmod 755 "$T/home-u" "$T/there"
mkjob 'pwd' > "$T/home-u/pwd.yaml"; chmod 644 "$T/home-u/pwd.yaml"
newest() { ls "$MNT/jobs" | sort > "$T/after"; comm -13 "$T/before" "$T/after" | head -1; }
ls "$MNT/jobs" | sort > "$T/before"
as_user sh -c "cd '$T/home-u' && cp pwd.yaml '$MNT/queue/'"
pid1=$(newest)
is "$(wait_job "$pid1"):$(cat "$MNT/jobs/$pid1/stdout")" "COMPLETED 0:$T/home-u" \
	"a user's cp runs in the user's directory (found through the helper)"
# rsync writes from the destination (it changes into queue/): the job runs
# where the user stood, an ancestor's directory outside the tree
ls "$MNT/jobs" | sort > "$T/before"
as_user sh -c "cd '$T/home-u' && rsync pwd.yaml '$MNT/queue/rs.yaml'"
pid3=$(newest)
is "$(wait_job "$pid3"):$(cat "$MNT/jobs/$pid3/stdout")" "COMPLETED 0:$T/home-u" \
	"a user's rsync runs in the user's directory, not in queue/"
# ... also with a source elsewhere (rsync's sender changes into its directory)
mkdir -p "$T/src"; cp "$T/home-u/pwd.yaml" "$T/src/"; chmod 755 "$T/src"; chmod 644 "$T/src/pwd.yaml"
ls "$MNT/jobs" | sort > "$T/before"
as_user sh -c "cd '$T/home-u' && rsync '$T/src/pwd.yaml' '$MNT/queue/rs2.yaml'"
pid4=$(newest)
is "$(wait_job "$pid4"):$(cat "$MNT/jobs/$pid4/stdout")" "COMPLETED 0:$T/home-u" \
	"... and one of a file in another directory runs where the user stood, not in the source's"
# a shell that exec'd rsync, under root's process (sudo, sshd, setpriv):
# no ancestor of the user's is left but rsync's own; its sender's directory
# (the source's) is where the job runs (rsync failed: rc 23, "rename ...
# No such file or directory", the job refused)
ls "$MNT/jobs" | sort > "$T/before"
as_user sh -c "cd '$T/home-u' && exec rsync pwd.yaml '$MNT/queue/rs5.yaml'"
ok "an exec'd rsync with no ancestor of the user's succeeds" test $? -eq 0
pid5=$(newest)
is "$(wait_job "$pid5"):$(cat "$MNT/jobs/$pid5/stdout")" "COMPLETED 0:$T/home-u" \
	"... and its job runs in the sender's directory, the user's here"
# standing in queue/ itself, with no ancestor of the user's elsewhere: refused, saying why
ls "$MNT/jobs" | sort > "$T/before"
as_user sh -c "cd '$MNT/queue' && exec cp '$T/home-u/pwd.yaml' in.yaml" 2>/dev/null; r=$?
ok "cp from inside queue/ is refused" test "$r" != 0
like "$(as_user cat "$MNT/queue/errors")" "inside this instance's tree" "... queue/errors says why"
sed "s|    duration: 60|    duration: 60\n    cwd: $T/there|" "$T/home-u/pwd.yaml" > "$T/home-u/cwd.yaml"
chmod 644 "$T/home-u/cwd.yaml"
ls "$MNT/jobs" | sort > "$T/before"
as_user sh -c "cd '$T/home-u' && cp cwd.yaml '$MNT/queue/'"
pid2=$(newest)
is "$(wait_job "$pid2"):$(cat "$MNT/jobs/$pid2/stdout")" "COMPLETED 0:$T/there" \
	"attributes.system.cwd is where it runs"
# queue/new is asked for its writer's directory at the first write unless
# that write names a cwd: a shell's `cat > queue/new`, a jobspec that says
# "cwd" without setting one (asked at its submission), the CLI (sets it)
run_in_home() { as_user sh -c "cd '$T/home-u' && exec 3<>'$MNT/queue/new' && cat \"\$1\" >&3 && read -r id <&3 && echo \$id" _ "$1"; }
id4=$(run_in_home pwd.yaml)
is "$(wait_job "$id4"):$(cat "$MNT/jobs/$id4/stdout")" "COMPLETED 0:$T/home-u" \
	"a jobspec written to queue/new runs in its writer's directory"
mkjob 'echo cwd; pwd' > "$T/home-u/says.yaml"; chmod 644 "$T/home-u/says.yaml"
id5=$(run_in_home says.yaml)
is "$(wait_job "$id5"):$(tr '\n' ' ' < "$MNT/jobs/$id5/stdout")" "COMPLETED 0:cwd $T/home-u " \
	"... one that only mentions cwd too (asked at its submission)"
id6=$(as_user sh -c "cd '$T/home-u' && exec '$(dirname "$FLUXFSD")/../tools/fluxfs' -m '$MNT' submit pwd")
is "$(wait_job "$id6"):$(cat "$MNT/jobs/$id6/stdout")" "COMPLETED 0:$T/home-u" \
	"... and fluxfs submit's, which names it"
# a created file learns its directory with its close (the helper answers
# "still held?" and "where?" at once): where the closer stands then, as in
# a single-user instance; a directory removed meanwhile fails the close
mkdir -p "$T/home-u/later" "$T/home-u/gone"; chown "$u" "$T/home-u/later" "$T/home-u/gone"
ls "$MNT/jobs" | sort > "$T/before"
as_user /usr/bin/python3 - "$MNT/queue/moved.yaml" "$T/home-u" "$T/home-u/later" <<'PY'
import os, sys
os.chdir(sys.argv[2])
f = open(sys.argv[1], "w")
os.chdir(sys.argv[3])
f.write(open(os.path.join(sys.argv[2], "pwd.yaml")).read())
f.close()
PY
id7=$(newest)
is "$(wait_job "$id7"):$(cat "$MNT/jobs/$id7/stdout")" "COMPLETED 0:$T/home-u/later" \
	"a created file's job runs where its writer stood at the close"
out=$(as_user /usr/bin/python3 - "$MNT/queue/gone.yaml" "$T/home-u/gone" "$T/home-u/pwd.yaml" <<'PY' 2>&1
import os, sys
os.chdir(sys.argv[2])
f = open(sys.argv[1], "w")
f.write(open(sys.argv[3]).read())
os.rmdir(sys.argv[2])
try:
    f.close()
    print("closed")
except OSError as e:
    print(os.strerror(e.errno))
PY
)
is "$out" "No such file or directory" "... and its close fails ENOENT when that directory was removed"
like "$(as_user cat "$MNT/queue/errors" | tail -1)" "gone.yaml.*(directory|ENOENT|No such)" \
	"... queue/errors names the file and says why"
# a descriptor the user passes to another user's process (root's, standing
# elsewhere), which closes it last: the job still runs where the user stood
mkdir -p "$T/rootdir"
ls "$MNT/jobs" | sort > "$T/before"
/usr/bin/python3 - "$MNT/queue/passed.yaml" "$T/home-u" "$T/rootdir" "$(id -u "$u")" <<'PY'
import array, os, socket, sys
path, udir, rdir, uid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
a, b = socket.socketpair()
pid = os.fork()
if pid == 0:
    os.setgid(65534); os.setgroups([]); os.setuid(uid)
    os.chdir(udir)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, open(os.path.join(udir, "pwd.yaml"), "rb").read())
    a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
    a.recv(1)                       # the parent has it
    os.close(fd)
    os._exit(0)
os.chdir(rdir)
msg, anc, flags, addr = b.recvmsg(1, socket.CMSG_LEN(4))
fd = array.array("i", anc[0][2])[0]
b.send(b"y")
os.waitpid(pid, 0)
os.close(fd)
PY
id8=$(newest)
is "$(wait_job "$id8"):$(cat "$MNT/jobs/$id8/stdout")" "COMPLETED 0:$T/home-u" \
	"a file whose last close is another user's runs where its owner stood, not there"

# signals reach a user's job through the helper
mkjob 'echo started; exec sleep 300' > sleep.yaml
chmod 644 sleep.yaml
ls "$MNT/jobs" | sort > "$T/before"
as_user cp sleep.yaml "$MNT/queue/"
sid=$(newest)
wait_state "$sid" RUN 10
for i in $(seq 100); do pgrep -u "$u" -x sleep >/dev/null && break; sleep 0.05; done
ok "the user's sleep runs as the user" bash -c "pgrep -u '$u' -x sleep >/dev/null"
ok "the user cancels it" as_user sh -c "echo cancel > '$MNT/jobs/$sid/ctl'"
is "$(wait_job "$sid")" CANCELED "it ends (SIGTERM, sent by the helper)"
no_sleep() { ! pgrep -u "$u" -x sleep >/dev/null; }
ok "no process of the job is left" wait_until 5 no_sleep

# root's own job is another user's to the broker: the helper starts it too
mkjob 'id -u' > root.yaml
rid=$(submit root.yaml)
is "$(wait_job "$rid"):$(cat "$MNT/jobs/$rid/stdout")" "COMPLETED 0:0" "root's job runs as root, through the helper"

# the helper remembers for a second where PATH found a program (a shell's
# command hash): the same program again runs the same file, and one that
# went is searched for anew
FLUXFS=$(dirname "$FLUXFSD")/../tools/fluxfs
mkdir -p "$T/pa" "$T/pb" && chmod 755 "$T/pa" "$T/pb"
printf '#!/bin/sh\necho a\n' > "$T/pa/fxprog"; printf '#!/bin/sh\necho b\n' > "$T/pb/fxprog"
chmod 755 "$T/pa/fxprog" "$T/pb/fxprog"
fxrun() { PATH="$T/pa:$T/pb:/usr/bin:/bin" timeout 30 "$FLUXFS" -m "$MNT" run fxprog 2>&1; }
is "$(fxrun; fxrun; fxrun)" "$(printf 'a\na\na')" "a program on PATH runs the first one found, again and again"
rm "$T/pa/fxprog"
is "$(fxrun)" b "... and the next one once it is removed"
is "$(PATH="$T/pa:$T/pb:/usr/bin:/bin" timeout 30 "$FLUXFS" -m "$MNT" run nosuchprog-t0706 2>&1; echo "rc=$?")" \
	"$(printf 'fluxfs: nosuchprog-t0706: No such file or directory\nrc=127')" \
	"a program on no PATH entry: 127 and why"

# kill -9 of the broker: the helper kills what it started and goes
as_user cp sleep.yaml "$MNT/queue/"
kid=$(ls "$MNT/jobs" | while read -r j; do [ "$(cat "$MNT/jobs/$j/state")" != INACTIVE ] && echo "$j"; done | head -1)
wait_state "$kid" RUN 10
for i in $(seq 100); do pgrep -u "$u" -x sleep >/dev/null && break; sleep 0.05; done
ok "a user's job runs before the crash" bash -c "pgrep -u '$u' -x sleep >/dev/null"
fluxfs_kill9
for i in $(seq 100); do kill -0 "$imp_pid" 2>/dev/null || break; sleep 0.05; done
ok "the helper exits with its broker" bash -c "! kill -0 $imp_pid 2>/dev/null"
for i in $(seq 100); do pgrep -u "$u" -x sleep >/dev/null || break; sleep 0.05; done
ok "and the user's task with them" bash -c "! pgrep -u '$u' -x sleep"
ok "a restart on the same state directory mounts" fluxfs_start
is "$(cat "$MNT/jobs/$kid/state")" INACTIVE "the crashed job is over after the restart"
fluxfs_stop

# --user root keeps root; a user that does not exist is refused
ok "--user root mounts" fluxfs_start --user root
is "$(awk '/^Uid:/ {print $2}' /proc/$FLUXFS_PID/status)" 0 "and the broker stays root"
fluxfs_stop
mkdir -p "$T/shut" && chmod 700 "$T/shut"
out=$("$FLUXFSD" -f --state "$T/shut/state" "$MNT" 2>&1)
like "$out" "out of reach of uid $fuid" "a state directory fluxfs cannot reach is refused at start, saying why"
out=$("$FLUXFSD" -f --user no-such-user-t0706 --state "$T/state2" "$MNT" 2>&1)
like "$out" "user no-such-user-t0706: no such user" "a --user that does not exist is refused"
