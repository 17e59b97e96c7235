#!/bin/bash
# Files as people write them: every common way of writing a file submits
# exactly one job with the whole content and exits 0 (shell redirection,
# here-documents, exec, dd at any block size, tee, cp -p/-a, install, rsync,
# mv across file systems, Python, 1-byte writes from C); in-place editing
# works in queue/drafts/; metadata shown in queue/ is true; refused
# operations give the documented errno.
. "$(dirname "$0")/lib.sh"
plan 189

fluxfs_start || bail_out "cannot mount"
chmod 755 "$T"   # so that another user can reach the mount
Q=$MNT/queue
mkjob 'echo typed' > job.yaml
njobs() { ls "$MNT/jobs" | wc -l; }
newest() { ls -t "$MNT/jobs" | head -1; }
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# errno NAME of a Python statement's OSError, or "ok"
pyerr() {
	timeout 10 python3 -c "import errno, os, sys
def f():
$(sed 's/^/    /' <<<"$1")
try:
    f()
    print('ok')
except OSError as e:
    print(errno.errorcode[e.errno])" "${@:2}"
}

# typed IDIOM CMD...: CMD (a bash -c script, $Q and $J set) submits exactly
# one job, exits 0, and the job's jobspec is job.yaml byte for byte
typed() {
	local what=$1 before rc id
	shift
	before=$(njobs)
	Q=$Q J=$T/job.yaml timeout 20 bash -c "$1"
	rc=$?
	is "$rc" 0 "$what: exits 0"
	is "$(njobs)" $((before + 1)) "$what: exactly one job"
	id=$(newest)
	ok "$what: the jobspec is what was written" cmp -s job.yaml "$MNT/jobs/$id/jobspec"
}

# ---- 1. every idiom submits one job and exits 0
typed 'cat >' 'cat "$J" > "$Q/r1.yaml"'
typed 'cat >> onto a new name' 'cat "$J" >> "$Q/r2.yaml"'
typed 'here-document' 'cat > "$Q/r3.yaml" <<EOF
$(cat "$J")
EOF'
typed 'builtin printf >' 'printf "%s\n" "$(cat "$J")" > "$Q/r4.yaml"'
typed 'exec >file' 'exec > "$Q/r5.yaml"; cat "$J"'
typed 'exec 3> and a builtin line by line' \
	'exec 3> "$Q/r6.yaml"; while IFS= read -r l; do printf "%s\n" "$l" >&3; done < "$J"; exec 3>&-'
typed 'exec 3> while someone stats the name (a lookup that misses)' \
	'exec 3> "$Q/st.yaml"; while IFS= read -r l; do printf "%s\n" "$l" >&3; stat "$Q/st.yaml" >/dev/null 2>&1; done < "$J"; exec 3>&-'
typed 'exec 3> and two commands' \
	'exec 3> "$Q/r7.yaml"; head -n 5 "$J" >&3; tail -n +6 "$J" >&3; exec 3>&-'
typed 'a { group; } > file' '{ head -n 3 "$J"; sleep 0.2; tail -n +4 "$J"; } > "$Q/r8.yaml"'
for bs in 1 7 512 1M; do
	typed "dd bs=$bs" "dd if=\"\$J\" of=\"\$Q/dd$bs.yaml\" bs=$bs status=none"
done
typed 'dd conv=fsync' 'dd if="$J" of="$Q/ddf.yaml" conv=fsync status=none'
typed 'tee' 'tee "$Q/t.yaml" < "$J" > /dev/null'
typed 'cp' 'cp "$J" "$Q/c.yaml"'
typed 'cp -p' 'cp -p "$J" "$Q/cp.yaml"'
typed 'cp -a' 'cp -a "$J" "$Q/ca.yaml"'
typed 'install -m644' 'install -m644 "$J" "$Q/i.yaml"'
typed 'install -p -m600' 'install -p -m600 "$J" "$Q/ip.yaml"'
typed 'rsync' 'rsync "$J" "$Q/rs.yaml"'
typed 'rsync -a' 'rsync -a "$J" "$Q/rsa.yaml"'
typed 'mv from another file system' 'cp "$J" "$J.mv" && mv "$J.mv" "$Q/mv.yaml" && test ! -e "$J.mv"'
typed 'python open("w")' 'python3 -c "import sys; open(sys.argv[1], \"w\").write(open(sys.argv[2]).read())" "$Q/p1.yaml" "$J"'
typed 'python shutil.copy' 'python3 -c "import shutil, sys; shutil.copy(sys.argv[2], sys.argv[1])" "$Q/p2.yaml" "$J"'
cat > onebyte.c <<'EOF'
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    int in = open(argv[1], O_RDONLY), out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char c;
    if (in < 0 || out < 0)
        return 2;
    while (read(in, &c, 1) == 1)
        if (write(out, &c, 1) != 1)
            return 3;
    if (close(out) != 0) {
        perror("close");
        return 4;
    }
    return 0;
}
EOF
if cc -o onebyte onebyte.c; then
	typed 'C, 1-byte writes' '"$PWD/onebyte" "$J" "$Q/c1.yaml"'
else
	skip "no C compiler"; skip "no C compiler"; skip "no C compiler"
fi

# the same process writing the same name twice submits twice
n0=$(njobs)
ok "one process copying to one name twice" timeout 10 python3 -c '
import shutil, sys
shutil.copy(sys.argv[2], sys.argv[1]); shutil.copy(sys.argv[2], sys.argv[1])' "$Q/twice.yaml" job.yaml
is "$(njobs)" $((n0 + 2)) "... submits two jobs"

# dup'ed descriptors: the close that ends the writing submits, whichever it is
n0=$(njobs)
out=$(pyerr '
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
fd2 = os.dup(fd)
spec = open("job.yaml", "rb").read()
os.write(fd, spec[:40]); os.close(fd)
os.write(fd2, spec[40:]); os.close(fd2)' "$Q/dup.yaml")
is "$out" ok "write, close one dup, write through the other"
is "$(njobs)" $((n0 + 1)) "... one job"
ok "... with the whole content" cmp -s job.yaml "$MNT/jobs/$(newest)/jobspec"
# once submitted, a straggler writing through a duplicate gets EBUSY
out=$(timeout 10 python3 -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, open("job.yaml", "rb").read())
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    os.read(r, 1)   # EOF once the parent has closed fd (and w)
    try:
        os.write(fd, b"# late\n"); os._exit(1)
    except OSError as e:
        os._exit(0 if e.errno == errno.EBUSY else 2)
os.close(fd)
os.close(w)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))' "$Q/late.yaml")
is "$out" 0 "a write after the submission gets EBUSY"

# many writers at once, each by a different idiom: one job per file
n0=$(njobs)
for w in 1 2 3 4; do
	( for i in $(seq 10); do
		case $w in
		1) cat job.yaml > "$Q/w$w-$i.yaml" ;;
		2) dd if=job.yaml of="$Q/w$w-$i.yaml" bs=16 status=none ;;
		3) exec 3> "$Q/w$w-$i.yaml"; while IFS= read -r l; do printf '%s\n' "$l" >&3; done < job.yaml; exec 3>&- ;;
		4) tee "$Q/w$w-$i.yaml" < job.yaml > /dev/null ;;
		esac || echo "writer $w failed" >> writers.err
	done ) &
done
wait
nok "40 writers at once: every one exits 0" test -s writers.err
is "$(njobs)" $((n0 + 40)) "... 40 jobs"
is "$(for j in $(ls -t "$MNT/jobs" | head -40); do cmp -s job.yaml "$MNT/jobs/$j/jobspec" || echo "$j"; done)" "" "... each exactly what was written"

# nothing written, nothing submitted
n0=$(njobs)
ok ": > file succeeds" bash -c ': > "$1"' _ "$Q/empty.yaml"
ok "touch succeeds" touch "$Q/touched.yaml"
is "$(njobs)" "$n0" "no job from files closed empty"
like "$(tail -1 "$Q/errors")" 'touched\.yaml: ENODATA: nothing was written' "queue/errors says so"

# bad input through a redirection: the error reaches the writer's close
n0=$(njobs)
printf 'version: 1\n' > bad.yaml
nok "cat bad > queue/x fails" bash -c 'cat bad.yaml > "$1" 2>/dev/null' _ "$Q/bad.yaml"
nok "dd of a bad jobspec fails" bash -c 'dd if=bad.yaml of="$1" status=none 2>/dev/null' _ "$Q/bad2.yaml"
is "$(njobs)" "$n0" "no job from bad input"
like "$(tail -1 "$Q/errors")" 'bad2\.yaml: EINVAL: ' "the reason is in queue/errors"

# ---- 2. queue/drafts/: in-place editing submits nothing until mv
D=$Q/drafts
n0=$(njobs)
ok "cp into drafts/" cp job.yaml "$D/x.yaml"
ok "sed -i on a draft" sed -i 's/echo typed/echo sed/' "$D/x.yaml"
ok "perl -pi on a draft" perl -pi -e 's/echo sed/echo perl/' "$D/x.yaml"
ok "vi -es on a draft" timeout 20 vi -es -c '%s/echo perl/echo vim/' -c 'wq' "$D/x.yaml"
ok "python tempfile + os.replace on a draft" timeout 10 python3 -c '
import os, sys, tempfile
d = os.path.dirname(sys.argv[1])
fd, tmp = tempfile.mkstemp(dir=d)
with os.fdopen(fd, "w") as f:
    f.write(open(sys.argv[1]).read().replace("echo vim", "echo python"))
os.replace(tmp, sys.argv[1])' "$D/x.yaml"
is "$(njobs)" "$n0" "editing drafts submits nothing"
is "$(ls -A "$D" | tr '\n' ' ')" "x.yaml " "only the draft is left in drafts/"
like "$(cat "$D/x.yaml")" 'echo python' "the draft has every edit"
ok "mv drafts/x.yaml queue/ submits it" mv "$D/x.yaml" "$Q/"
is "$(njobs)" $((n0 + 1)) "... one job"
id=$(newest)
is "$(wait_job "$id")" "COMPLETED 0" "... which runs"
is "$(cat "$MNT/jobs/$id/stdout")" "python" "... the edited command"
nok "... and the draft is gone" test -e "$D/x.yaml"
# the dot-file rule in queue/ itself
# (sed -i needs drafts/: its temporary file has a visible name)
sed 's/echo typed/echo dot/' job.yaml > "$Q/.y.yaml"
ok "... a dot-file in queue/ is a scratch file" test -s "$Q/.y.yaml"
ok "mv queue/.y.yaml queue/drafts/y.yaml" mv "$Q/.y.yaml" "$D/y.yaml"
ok "mv drafts/y.yaml drafts/z.yaml" mv "$D/y.yaml" "$D/z.yaml"
is "$(njobs)" $((n0 + 1)) "... still nothing submitted"
like "$(cat "$D/z.yaml")" 'echo dot' "... the content moved along"
# reserved names
nok "mkdir queue/drafts fails" mkdir "$Q/drafts" 2>/dev/null
is "$(pyerr 'os.mkdir(sys.argv[1])' "$Q/drafts")" EEXIST "... with EEXIST"
is "$(pyerr 'os.rename(sys.argv[1], sys.argv[2])' "$D/z.yaml" "$Q/errors")" EPERM "renaming onto queue/errors: EPERM"
is "$(pyerr 'os.unlink(sys.argv[1])' "$Q/new")" EPERM "unlink queue/new: EPERM"
is "$(pyerr 'os.rmdir(sys.argv[1])' "$Q/drafts")" EPERM "rmdir queue/drafts: EPERM"
is "$(pyerr 'os.mkdir(sys.argv[1])' "$D/sub")" EPERM "mkdir in drafts/: EPERM"

# ---- 3. chmod, chown, times on one's own files; others get EPERM
ok "chmod a draft" chmod 640 "$D/z.yaml"
is "$(stat -c %a "$D/z.yaml")" 640 "... the mode applies"
ok "chown a draft to oneself" chown "$(id -u):$(id -g)" "$D/z.yaml"
ok "touch -d on a draft" touch -d '2001-02-03 04:05:06 UTC' "$D/z.yaml"
is "$(stat -c %Y "$D/z.yaml")" 981173106 "... the mtime applies"
ok "chown a draft to nobody (root)" chown 65534 "$D/z.yaml"
nok "... it leaves root's names (scratch names are per user)" test -e "$D/z.yaml"
is "$(nobody stat -c %u "$D/z.yaml")" 65534 "... and is nobody's, under the same name"
ok "nobody may chmod its draft" nobody chmod 600 "$D/z.yaml"
nok "nobody may not give it away" nobody chown 0 "$D/z.yaml" 2>/dev/null
ok "nobody removes it" nobody rm "$D/z.yaml"
ok "root writes a z.yaml of its own again" sh -c "echo mine > '$D/z.yaml'"
nok "nobody does not see root's draft" nobody test -e "$D/z.yaml"
ok "nobody's touch makes a z.yaml of nobody's own" nobody touch "$D/z.yaml"
is "$(cat "$D/z.yaml") $(nobody stat -c %s "$D/z.yaml") $(ls "$D" | grep -c z.yaml)" "mine 0 1" \
	"root's is untouched, nobody's is empty, and root lists only its own"
nobody rm -f "$D/z.yaml"
# two users, one scratch name: two files
echo "root's" > "$Q/.same"
nobody sh -c "echo nobody\'s > '$Q/.same'"
is "$(cat "$Q/.same") / $(nobody cat "$Q/.same")" "root's / nobody's" "two users' .same are two files"
is "$(ls -a "$Q" | grep -c '^\.same$') $(nobody ls -a "$Q" | grep -c '^\.same$')" "1 1" "each lists one: their own"
ok "each removes their own" sh -c "rm '$Q/.same' && ! test -e '$Q/.same'"
is "$(nobody cat "$Q/.same")" "nobody's" "... the other's stays"
nobody rm -f "$Q/.same"
cp -p job.yaml "$D/p.yaml"
is "$(stat -c %Y "$D/p.yaml")" "$(stat -c %Y job.yaml)" "cp -p into drafts/ keeps the mtime"
rm -f "$D/z.yaml" "$D/p.yaml"

# ---- 5. metadata that the tree shows is true
out=$(timeout 10 python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o640)
os.write(fd, open("job.yaml", "rb").read())
st = os.fstat(fd)
print(st.st_size, st.st_uid, oct(st.st_mode & 0o777))
os.close(fd)' "$Q/fs.yaml")
is "$out" "$(stat -c %s job.yaml) 0 0o640" "fstat of an open submission: its size, owner and mode"
out=$(timeout 10 python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
os.write(fd, b"x")
os.unlink(sys.argv[1])
st = os.fstat(fd)
print(st.st_nlink, st.st_size)
os.close(fd)' "$D/gone")
is "$out" "0 1" "an open draft after unlink: nlink 0, its size still"
m0=$(stat -c %Y.%y "$Q")
sleep 1.1
timeout 10 cp job.yaml "$Q/mt.yaml"
isnt "$(stat -c %Y.%y "$Q")" "$m0" "queue/'s mtime moves when a job is submitted"
id=$(newest)
is "$(pyerr 'os.utime(sys.argv[1], (1, 1))' "$MNT/jobs/$id/jobspec")" EPERM "utimes on a job's file: EPERM"
is "$(pyerr 'os.chmod(sys.argv[1], 0o644)' "$MNT/jobs/$id/jobspec")" EPERM "chmod on a job's file: EPERM"
is "$(pyerr 'os.symlink("x", sys.argv[1])' "$Q/link")" EPERM "symlink in queue/: EPERM"
is "$(pyerr 'os.link(sys.argv[1], sys.argv[2])' "$MNT/jobs/$id/jobspec" "$Q/hard")" EPERM "link: EPERM"
is "$(pyerr 'os.mkfifo(sys.argv[1])' "$Q/fifo")" EPERM "mkfifo in queue/: EPERM"
long=$(printf 'a%.0s' $(seq 300))
is "$(pyerr 'open(sys.argv[1], "w")' "$Q/$long")" ENAMETOOLONG "a 300-byte name in queue/: ENAMETOOLONG"
is "$(pyerr 'open(sys.argv[1], "w")' "$D/$long")" ENAMETOOLONG "... and in drafts/"
wait_job "$id" >/dev/null
is "$(timeout 10 python3 -c '
import mmap, sys
with open(sys.argv[1], "rb") as f:
    m = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ)
    sys.stdout.write(m[:].decode())' "$MNT/jobs/$id/stdout")" "typed" "shared read-only mmap of stdout"
# every row of doc/tree.md's "Operations that are not supported"
J1=$MNT/jobs/$id
while IFS='|' read -r want stmt args; do
	# shellcheck disable=SC2086
	is "$(pyerr "$stmt" $args)" "$want" "refused: $stmt ${args//$MNT\//}"
done <<EOF
EACCES|open(sys.argv[1], "w")|$J1/jobspec
EACCES|os.truncate(sys.argv[1], 0)|$J1/state
EROFS|os.mkdir(sys.argv[1])|$MNT/newdir
EROFS|os.mkdir(sys.argv[1])|$MNT/resources/newdir
EPERM|os.mkdir(sys.argv[1])|$Q/drafts/newdir
EPERM|os.unlink(sys.argv[1])|$J1/stdout
EPERM|os.unlink(sys.argv[1])|$MNT/status
EPERM|os.rename(sys.argv[1], sys.argv[2])|$J1/stdout $J1/out2
EPERM|os.chmod(sys.argv[1], 0o777)|$MNT/jobs
EPERM|os.chown(sys.argv[1], 1, 1)|$MNT/status
EPERM|os.utime(sys.argv[1], (5, 5))|$MNT/resources/R
EXDEV|open(sys.argv[1], "w").write("x"); os.rename(sys.argv[1], sys.argv[2])|$D/xdev $J1/xdev
EPERM|open(sys.argv[1], "w").write("x"); os.rename(sys.argv[1], sys.argv[2])|$Q/.inv $Q/new
ENODEV|import mmap; f = open(sys.argv[1], "w+b"); f.write(b"x"); f.flush(); mmap.mmap(f.fileno(), 1)|$D/map
EOF
rm -f "$D/xdev" "$D/map" "$Q/.inv"

# ---- what a hostile new user found
# a submission that outgrows 32 MiB is refused whole, never cut short
n0=$(njobs)
out=$(timeout 60 python3 -c '
import errno, os, sys
spec = open("job.yaml", "rb").read()
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, spec)
pad = b"# " + b"p" * (1 << 20) + b"\n"
try:
    for i in range(40):
        os.write(fd, b"---\n" + spec + pad)
    print("no EFBIG")
except OSError as e:
    print(errno.errorcode[e.errno], end=" ")
try:
    os.close(fd); print("closed")
except OSError as e:
    print(errno.errorcode[e.errno])' "$Q/big.yaml")
is "$out" "EFBIG EFBIG" "past 32 MiB: the write and the close fail with EFBIG"
is "$(njobs)" "$n0" "... and none of its jobs is submitted"
like "$(tail -1 "$Q/errors")" 'big\.yaml: EFBIG: a write went past the 32 MiB' "... queue/errors says why"
# a bulk submission's ids, read line by line from queue/new by bash
{ cat job.yaml; echo ---; cat job.yaml; echo ---; cat job.yaml; } > three.yaml
ids=$(bash -c 'exec 3<>"$1"; cat three.yaml >&3; while read -r id <&3; do echo "$id"; done' _ "$Q/new" | wc -l)
is "$ids" 3 "bash reads every id of a bulk submission from queue/new, line by line"
# /dev/stdout and /dev/fd/N name the file being written
n0=$(njobs)
ok "dd of=/dev/stdout > queue/x" bash -c 'dd if=job.yaml of=/dev/stdout status=none > "$1"' _ "$Q/devout.yaml"
ok "python open(/dev/stdout) > queue/y" bash -c 'python3 -c "import sys; open(\"/dev/stdout\", \"w\").write(open(\"job.yaml\").read())" > "$1"' _ "$Q/pyout.yaml"
is "$(njobs)" $((n0 + 2)) "... one job each"
ok "... with the whole content" cmp -s job.yaml "$MNT/jobs/$(newest)/jobspec"
# mv of a rejected draft: one reason, and not "a subdirectory of itself"
cp bad.yaml "$D/b.yaml"
out=$(mv "$D/b.yaml" "$Q/" 2>&1)
like "$out" 'Bad message' "mv of a rejected draft fails with 'Bad message'"
is "$(grep -c 'b\.yaml: EINVAL' "$Q/errors")" 1 "... and one line in queue/errors"
rm -f "$D/b.yaml"
# queue/errors: one failure per line, whatever the file name
cp bad.yaml "$Q/$(printf 'two\nlines\e[31m.yaml')" 2>/dev/null
like "$(tail -1 "$Q/errors")" 'two\\x0alines\\x1b\[31m\.yaml: EINVAL' "control characters in names are escaped in queue/errors"
# a Latin-1 name (not UTF-8) beside a UTF-8 one: queue/errors stays UTF-8 text
cp bad.yaml "$Q/$(printf 'caf\xe9-\xc3\xa9t\xc3\xa9.yaml')" 2>/dev/null
like "$(tail -1 "$Q/errors")" 'caf\\xe9-été\.yaml: EINVAL' "a name's bytes that are not UTF-8 are escaped, its UTF-8 kept"
ok "... so queue/errors reads as UTF-8" python3 -c 'import sys; open(sys.argv[1], encoding="utf-8", errors="strict").read()' "$Q/errors"
# a removed working directory is not where a job runs
mkdir gone && n0=$(njobs)
out=$(cd gone && rmdir ../gone && cp ../job.yaml "$Q/gone.yaml" 2>&1)
like "$out" 'No such file or directory' "submitting from a removed directory fails ENOENT"
like "$(tail -1 "$Q/errors")" "gone\.yaml: ENOENT: the submitter's working directory is gone" "... and says why"
is "$(njobs)" "$n0" "... no job"
# times that move: jobs/ gains a job, queue/errors gains a line
m0=$(stat -c %Y.%y "$MNT/jobs")
e0=$(stat -c %s "$Q/errors")
sleep 1.1
timeout 10 cp job.yaml "$Q/t1.yaml"
cp bad.yaml "$Q/t2.yaml" 2>/dev/null
isnt "$(stat -c %Y.%y "$MNT/jobs")" "$m0" "jobs/'s mtime moves when a job appears"
is "$(stat -c %s "$Q/errors")" "$(cat "$Q/errors" | wc -c)" "queue/errors: its size is its reader's"
isnt "$(stat -c %s "$Q/errors")" "$e0" "... and grows with a line"
is "$(nobody stat -c %s "$Q/errors")" "$(nobody cat "$Q/errors" | wc -c)" "... for another user too"
# copying a directory into queue/ sets queue/'s own times last
mkdir -p tree && cp job.yaml tree/a.yaml && cp job.yaml tree/b.yaml
n0=$(njobs)
ok "rsync -a dir/ queue/ exits 0" rsync -a tree/ "$Q/"
is "$(njobs)" $((n0 + 2)) "... two jobs"
# even a 0666 draft is out of another user's reach: the name is theirs too
cp job.yaml "$D/open.yaml" && chmod 666 "$D/open.yaml" && touch -d 2002-02-02 "$D/open.yaml"
ok "another user's touch -d of the same name" nobody touch -d 2001-01-01 "$D/open.yaml"
is "$(stat -c %Y "$D/open.yaml")" "$(date -d 2002-02-02 +%s)" "... makes their own: root's keeps its times"
rm -f "$D/open.yaml"
nobody rm -f "$D/open.yaml"
ok "df shows the state directory's space" bash -c 'df -P "$1" | awk "NR == 2 { exit !(\$2 > 0) }"' _ "$MNT"
done_testing
