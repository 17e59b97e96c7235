#!/bin/bash
# Dot-names in queue/ are scratch files; renaming one to a visible name
# submits it exactly once. Visible names never exist, so they can be reused.
. "$(dirname "$0")/lib.sh"
plan 26

fluxfs_start || bail_out "cannot mount"
njobs() { ls "$MNT/jobs" | wc -l; }
Q=$MNT/queue
mkjob 'echo scratch' > j.yaml

ok "write a scratch file .x" timeout 10 cp j.yaml "$Q/.x"
is "$(njobs)" 0 "closing a scratch file submits nothing"
ok "scratch file is listed" bash -c 'ls -a "$1" | grep -qx .x' _ "$Q"
ok "scratch file reads back" cmp j.yaml "$Q/.x"
is "$(stat -c %s "$Q/.x")" "$(stat -c %s j.yaml)" "scratch file size is right"
ok "append to scratch file" bash -c 'echo "# comment" >> "$1"' _ "$Q/.x"
is "$(tail -1 "$Q/.x")" "# comment" "appended line is there"
is "$(njobs)" 0 "still no job"

ok "mv .x x.yaml succeeds" timeout 10 mv "$Q/.x" "$Q/x.yaml"
is "$(njobs)" 1 "rename submitted exactly one job"
nok ".x is gone" test -e "$Q/.x"
nok "x.yaml does not exist in queue/" test -e "$Q/x.yaml"
id=$(ls "$MNT/jobs")
is "$(wait_job "$id")" "COMPLETED 0" "the renamed job runs"
ok "its jobspec is what was written (with appended comment)" bash -c 'cmp <(cat j.yaml; echo "# comment") "$1"' _ "$MNT/jobs/$id/jobspec"

# same visible name, copied again and again
for i in 1 2 3; do timeout 10 cp j.yaml "$Q/same.yaml"; done
is "$(njobs)" 4 "cp to the same name three times submits three jobs"
is "$(ls "$Q" | tr '\n' ' ')" "drafts errors new run " "visible names never stay in queue/"

# invalid scratch file: rename fails with EINVAL
printf 'version: 1\n' > "$Q/.bad"
out=$(timeout 10 python3 -c '
import os, sys, errno
try:
    os.rename(sys.argv[1] + "/.bad", sys.argv[1] + "/bad.yaml"); print("ok")
except OSError as e: print(errno.errorcode[e.errno])' "$Q")
is "$out" EBADMSG "rename of an invalid scratch file fails EBADMSG (mv reads EINVAL as something else)"
like "$(tail -1 "$Q/errors")" 'EINVAL' "reason logged in queue/errors"
is "$(njobs)" 4 "no job from the invalid rename"
ok "rm of a scratch file works" rm "$Q/.bad"
nok "it is gone" test -e "$Q/.bad"

# editor-like save: write a temp dot-file, fsync, atomically replace
timeout 10 python3 - "$Q" <<'PY'
import os, sys
q = sys.argv[1]
tmp = os.path.join(q, ".job.yaml.swp")
with open(tmp, "w") as f:
    f.write(open("j.yaml").read())
    f.flush()
    os.fsync(f.fileno())
os.replace(tmp, os.path.join(q, "job.yaml"))
PY
is "$(njobs)" 5 "editor-style temp+rename submits exactly once"
nok "the temp file is gone" test -e "$Q/.job.yaml.swp"

# renames between dot-names stay scratch
timeout 10 cp j.yaml "$Q/.a"
timeout 10 cp j.yaml "$Q/.b"
ok "rename dot-file to dot-file" mv "$Q/.a" "$Q/.c"
is "$(njobs)" 5 "dot-to-dot rename submits nothing"
rm -f "$Q/.b" "$Q/.c"
is "$(ls -A "$Q" | tr '\n' ' ')" "drafts errors new run " "queue/ is clean again"
