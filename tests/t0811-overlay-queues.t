#!/bin/bash
# Named queues and banks on a multi-node instance: a follower's tree shows
# the leader's queues (queue/NAME/ and its status) and bank tree, takes
# submissions into queue/NAME/ (forwarded with their queue), and refuses to
# manage queues itself (EROFS: that is the leader's).
. "$(dirname "$0")/lib.sh"
plan 9

overlay_start 2 2 || bail_out "cannot start 2 brokers"
overlay_wait_up 30 || bail_out "the brokers did not join"
F=$T/m1
mkdir "$MNT/queue/batch" || bail_out "cannot make a queue"
echo '{"nodes": "n1"}' > b.json
cp b.json "$MNT/queue/batch/config"
ok "the follower lists the leader's queue" wait_until 10 test -d "$F/queue/batch"
ok "... with its config, once replicated" wait_until 10 grep -q '"nodes": "n1"' "$F/queue/batch/config"
mkjob 'echo "$FLUXFS_MOUNT"' > job.yaml
ok "cp into the follower's queue/batch/ submits" timeout 20 cp job.yaml "$F/queue/batch/"
id=$(ls -t "$MNT/jobs" | head -1)
like "$(head -1 "$MNT/jobs/$id/eventlog")" '"queue":"batch"' "the leader's job is in that queue"
is "$(timeout 20 cat "$MNT/jobs/$id/wait") $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["execution"]["nodelist"][0])' "$MNT/jobs/$id/R")" \
	"COMPLETED 0 n1" "it ran on the queue's node"
nok "mkdir in a follower's queue/ fails" mkdir "$F/queue/other" 2>/dev/null
like "$(tail -1 "$F/queue/errors")" "EROFS: manage queues on the leader's tree" "... saying where"
printf '[{"name":"root"},{"name":"b","parent":"root","users":{"0":1}}]' > banks.json
cp banks.json "$MNT/accounting/banks"
ok "the follower shows the leader's bank tree" wait_until 10 grep -q '"name": "b"' "$F/accounting/banks"
ok "... and its fair share rows" wait_until 10 grep -q '"bank":"b","userid":0' "$F/accounting/fairshare"
