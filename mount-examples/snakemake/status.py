#!/usr/bin/env python3
"""Snakemake --cluster-status for fluxfs: the job's state from the tree.

usage: status.py JOBID      prints running, success or failed

A job is "running" until it is INACTIVE; then its result file says how it
ended: "COMPLETED 0" is success, anything else (a non-zero exit, FAILED,
CANCELED, TIMEOUT, LOST) is failed. A job that is gone from jobs/ (purged
long after it ended) cannot be judged: failed, so Snakemake runs it again.
A mount that does not answer now is "running": Snakemake asks again.
"""
import errno
import os
import sys

mount = os.environ.get("FLUXFS_MOUNT", "/flux")
job = os.path.join(mount, "jobs", sys.argv[1])
try:
    with open(os.path.join(job, "state")) as f:
        state = f.read().strip()
    if state != "INACTIVE":
        print("running")
        sys.exit(0)
    with open(os.path.join(job, "result")) as f:
        result = f.read().split()
    print("success" if result == ["COMPLETED", "0"] else "failed")
except OSError as e:
    print("failed" if e.errno == errno.ENOENT else "running")
