#!/bin/bash
# Per-user limits in queue/ (doc/tree.md "Per-user limits"): what one user
# holds in the daemon's memory through open submissions, queue/new and
# scratch files (unlinked ones too), and how many files it keeps open
# there, are bounded; hitting a bound is a clear errno and a line in that
# user's queue/errors; root and other users are unaffected.
. "$(dirname "$0")/lib.sh"
plan 12

fluxfs_start --queue-bytes-per-user 4194304 --queue-files-per-user 4 || bail_out "cannot mount"
chmod 755 "$T"   # so that other users can reach the mount
Q=$MNT/queue
mkjob 'true' > job.yaml
chmod 644 job.yaml
PY=/usr/bin/python3   # Debian's: other users may not run a python of root's
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }
# pyq UID CODE: run CODE as UID with write_all(fd, data), errno names, Q
pyq() {
	as "$1" timeout 30 "$PY" -c "
import errno, os, sys, time
Q = sys.argv[1]; D = Q + '/drafts'
spec = open('job.yaml', 'rb').read()
def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]
def err(f):
    try:
        f(); return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
$2" "$Q"
}

# bytes: nobody holds 3 MiB in a draft; a submission growing 2 MiB more is refused
out=$(pyq 65534 '
held = os.open(D + "/held", os.O_RDWR | os.O_CREAT, 0o600)
write_all(held, b"x" * (3 << 20))
b = os.open(Q + "/b.yaml", os.O_WRONLY | os.O_CREAT, 0o644)
r1 = err(lambda: write_all(b, spec + b"# " + b"p" * (2 << 20)))
r2 = err(lambda: os.close(b))
os.close(held); os.unlink(D + "/held")   # 3 MiB free again
c = os.open(Q + "/c.yaml", os.O_WRONLY | os.O_CREAT, 0o644)
r3 = err(lambda: (write_all(c, spec), os.close(c)))
print(r1, r2, r3)')
is "$out" "ENOSPC ENOSPC ok" "past 4 MiB held: the write and its close fail ENOSPC; once freed, submission works"
like "$(as 65534 cat "$Q/errors")" 'b\.yaml: ENOSPC: your files in queue/ would hold more than the 4194304 bytes' \
	"nobody's queue/errors names the budget"
is "$(ls "$MNT/jobs" | wc -l)" 1 "c was submitted, b was not"

# an unlinked scratch file held open still counts
out=$(pyq 65534 '
s = os.open(D + "/gone", os.O_RDWR | os.O_CREAT, 0o600)
write_all(s, b"x" * (3 << 20))
os.unlink(D + "/gone")
t = os.open(D + "/more", os.O_RDWR | os.O_CREAT, 0o600)
print(err(lambda: write_all(t, b"x" * (2 << 20))))
os.close(t); os.unlink(D + "/more"); os.close(s)')
is "$out" ENOSPC "an unlinked scratch file held open still counts"

# root is not bound
out=$(pyq 0 '
s = os.open(D + "/big", os.O_RDWR | os.O_CREAT, 0o600)
print(err(lambda: write_all(s, b"x" * (6 << 20))))
os.close(s); os.unlink(D + "/big")')
is "$out" ok "root may hold 6 MiB"

# files: 4 open in queue/, a fifth is refused
out=$(pyq 65534 '
fds = [os.open("%s/f%d" % (D, i), os.O_RDWR | os.O_CREAT, 0o600) for i in range(4)]
r1 = err(lambda: os.open(D + "/f5", os.O_RDWR | os.O_CREAT, 0o600))
r2 = err(lambda: os.open(Q + "/new", os.O_RDWR))
for fd in fds:
    os.close(fd)
fd = os.open(D + "/f5", os.O_RDWR | os.O_CREAT, 0o600); os.close(fd)
print(r1, r2, "then-ok")')
is "$out" "EMFILE EMFILE then-ok" "a fifth open file in queue/ (a draft, queue/new) is refused EMFILE, allowed once one is closed"
like "$(as 65534 cat "$Q/errors")" 'EMFILE: you have 4 files open in queue/' "... said in queue/errors"
out=$(pyq 0 '
fds = [os.open("%s/r%d" % (D, i), os.O_RDWR | os.O_CREAT, 0o600) for i in range(8)]
for fd in fds:
    os.close(fd)
print("ok")')
is "$out" ok "root may open more"

# another user is not held back by nobody's use
other=65533
pyq 65534 '
s = os.open(D + "/hog", os.O_RDWR | os.O_CREAT, 0o600)
write_all(s, b"x" * ((4 << 20) - 4096))
time.sleep(4)
os.close(s)' > /dev/null &
hog=$!
sleep 1
out=$(pyq "$other" '
s = os.open(D + "/mine", os.O_RDWR | os.O_CREAT, 0o600)
print(err(lambda: write_all(s, b"x" * (3 << 20))))
os.close(s)')
is "$out" ok "another user writes 3 MiB while nobody holds nearly 4"
wait "$hog"
ok "the daemon is alive" test -r "$MNT/status"
is "$(status_field jobs)" 1 "and counts its job"
is "$(as 65534 ls -n "$Q/drafts" | awk '$3 == 65534 { print $NF }' | sort | tr '\n' ' ')" "f0 f1 f2 f3 f5 hog " "nobody's drafts are all there"
