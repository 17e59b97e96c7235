#!/usr/bin/env python3
"""submit.py [N] - submit N jobs, wait for each (a blocking read of `wait`),
and gather their outputs, with nothing but the standard library."""
import json
import os
import sys

mnt = os.environ.get("FLUXFS_MOUNT", "/flux")
n = int(sys.argv[1]) if len(sys.argv) > 1 else 4


def submit(command):
    spec = {
        "version": 1,
        "resources": [{"type": "slot", "count": 1, "label": "t",
                       "with": [{"type": "core", "count": 1}]}],
        "tasks": [{"command": command, "slot": "t", "count": {"per_slot": 1}}],
        "attributes": {"system": {"duration": 60}},
    }
    # queue/new: write the jobspec, read back this job's id on the same file
    with open(os.path.join(mnt, "queue", "new"), "r+") as f:
        f.write(json.dumps(spec))
        f.flush()
        return f.read().strip()


ids = [submit(["echo", f"task {i}"]) for i in range(n)]
for jobid in ids:
    job = os.path.join(mnt, "jobs", jobid)
    with open(os.path.join(job, "wait")) as f:
        result = f.read().strip()
    with open(os.path.join(job, "stdout")) as f:
        print(jobid, result, f.read().strip())
