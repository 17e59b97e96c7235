#!/bin/bash
# run.sh [JOBSPEC] - run one job and wait for it in one open file: queue/run
# gives the id, then (a read that blocks until the job ends) its result and
# the sizes of its output. Exits 0 if it COMPLETED 0, else 1.
set -euo pipefail
mnt=${FLUXFS_MOUNT:-/flux}
spec=${1:-$(dirname "$0")/hello.yaml}

exec 3<>"$mnt/queue/run"
cat "$spec" >&3
read -r id <&3                  # at once: the job is committed
read -r result <&3              # blocks until the job has ended
read -r _ out err <&3           # "output OUT ERR": bytes of stdout, stderr
exec 3>&-                       # returns once the job is on disk

echo "job $id: $result"
[ "$out" -gt 0 ] && cat "$mnt/jobs/$id/stdout"
[ "$err" -gt 0 ] && cat "$mnt/jobs/$id/stderr" >&2
[ "$result" = "COMPLETED 0" ]
