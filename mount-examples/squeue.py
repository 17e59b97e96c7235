#!/usr/bin/env python3
"""squeue.py [-a] - squeue from the tree: every job of the instance from one
read of `joblist` (a JSON object a line), with nothing but the standard
library. Pending and running jobs; -a adds those that ended."""
import json
import os
import pwd
import sys
import time

mnt = os.environ.get("FLUXFS_MOUNT", "/flux")
show_all = "-a" in sys.argv[1:]


def user(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, TypeError):
        return str(uid)


def runtime(job):
    if not job["t_run"]:
        return ""
    end = job["t_cleanup"] or job["t_inactive"] or time.time()
    s = int(end - job["t_run"])
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


with open(os.path.join(mnt, "joblist")) as f:
    jobs = [json.loads(line) for line in f]
print(f"{'JOBID':>12} {'USER':<10} {'ST':<10} {'NAME':<14} {'NODES':>5} {'TIME':>9}  NODELIST")
for job in reversed(jobs):   # newest first, as squeue and flux jobs
    if job["state"] == "INACTIVE" and not show_all:
        continue
    state = job["result"].split()[0] if job["result"] else job["state"]
    print(f"{job['id']:>12} {user(job['userid']):<10.10} {state:<10.10} {job['name'] or '-':<14.14} "
          f"{job['nnodes'] if job['nnodes'] is not None else '':>5} {runtime(job):>9}  "
          f"{job['nodelist'] or ''}")
