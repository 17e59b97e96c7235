#!/bin/bash
# submit-and-wait.sh [JOBSPEC] - submit through the queue/new clone file,
# learn the job id without racing other submitters, wait, show the output.
set -euo pipefail
mnt=${FLUXFS_MOUNT:-/flux}
spec=${1:-$(dirname "$0")/hello.yaml}

exec 3<>"$mnt/queue/new"       # one handle: write the jobspec, read the id
cat "$spec" >&3
read -r id <&3
exec 3>&-

echo "job $id submitted"
echo "result: $(cat "$mnt/jobs/$id/wait")"     # blocks until the job ends
cat "$mnt/jobs/$id/stdout"
