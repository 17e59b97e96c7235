#!/usr/bin/env python3
"""Run every case of Fluxion's OUTCOMES.md through fluxfs-query and compare.

usage: fluxion-outcomes.py FLUXFS_QUERY FLUXION_DIR

Prints TAP: one line per (case, policy). An outcome is what Fluxion's own
resource-query decided for each match (allocated now, reserved at t, no
match, unsatisfiable) with the count of exclusively held units per type;
the vertices chosen may differ, as OUTCOMES.md says. Types are read from
vertex names with the trailing digits removed, as OUTCOMES.md counts them.
"""
import re
import subprocess
import sys

VERTEX = re.compile(r"^\s+-+(\D.*?)(\d+)\[(\d+):([xs])\]$")


def outcomes(text):
    """Outcome tokens from resource-query style output."""
    toks, held, block = [], {}, None
    for line in text.splitlines():
        m = VERTEX.match(line)
        if m:
            if m.group(4) == "x":
                held[m.group(1)] = held.get(m.group(1), 0) + int(m.group(3))
            continue
        if not line.startswith("INFO:"):
            continue
        body = line[5:].strip()
        if body.startswith("====="):
            if block is None:
                block = {}
                continue
            counts = ",".join(f"{k}={held[k]}" for k in sorted(held))
            if "jobid" not in block:
                toks.append("SAT?yes" if block.get("sat") else "SAT?no")
            elif block.get("nomatch"):
                toks.append(f"J{block['jobid']}:" + ("UNSAT" if block.get("unsat") else "NOMATCH"))
            elif block.get("at") == "Now":
                toks.append(f"J{block['jobid']}:A@Now[{counts}]")
            else:
                toks.append(f"J{block['jobid']}:R@{block.get('at')}[{counts}]")
            block, held = None, {}
            continue
        if block is None:
            continue
        if body.startswith("JOBID="):
            block["jobid"] = body[6:]
        elif body.startswith("SCHEDULED AT="):
            block["at"] = body[13:]
        elif body.startswith("No matching resources"):
            block["nomatch"] = True
        elif body.startswith("Unsatisfiable request"):
            block["unsat"] = True
        elif body.startswith("Satisfiable request"):
            block["sat"] = True
    return toks


def main():
    query, fdir = sys.argv[1], sys.argv[2]
    rows = []
    with open(f"{fdir}/OUTCOMES.md") as f:
        for line in f:
            if not line.startswith("| t"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.append(cells)
    n = passed = 0
    print("1..%d" % sum(len(r[5].split(",")) for r in rows))
    for script, graph, cmds, extra, family, policies, _agree, want in rows:
        with open(f"{fdir}/commands/{cmds}") as f:
            commands = f.read().replace("@TEST_SRCDIR@/data/resource/", fdir + "/")
        for policy in policies.split(","):
            n += 1
            args = [query, "-L", f"{fdir}/{graph}", "-P", policy] + extra.split()
            p = subprocess.run(args, input=commands, capture_output=True, text=True,
                               timeout=300)
            got = " ".join(outcomes(p.stdout))
            what = f"{script} {graph} {cmds} -P {policy}"
            if p.returncode == 0 and got == want:
                passed += 1
                print(f"ok {n} - {what}")
            else:
                print(f"not ok {n} - {what}")
                g, w = got.split(), want.split()
                for i in range(max(len(g), len(w))):
                    gi = g[i] if i < len(g) else "-"
                    wi = w[i] if i < len(w) else "-"
                    if gi != wi:
                        print(f"#   first difference at match {i + 1}: got {gi}, Fluxion {wi}")
                        break
                if p.returncode != 0:
                    print(f"#   exit {p.returncode}: {p.stderr.strip()[:200]}")
    print(f"# {passed} of {n} Fluxion outcome sequences match")


main()
