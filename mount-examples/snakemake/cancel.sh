#!/bin/sh
# Snakemake --cluster-cancel for fluxfs: Snakemake runs this one program
# (not a shell command line) with the job ids to cancel.
exec fluxfs cancel "$@"
