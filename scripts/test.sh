#!/bin/sh
# test.sh [--sanitize] - install what is missing, build, and run the whole
# test suite (C unit tests and end-to-end tests on a real mount). Prints
# "N passed, N failed" last; exits non-zero if anything failed.
# --sanitize builds with AddressSanitizer + UBSan in build-asan/ and runs there.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
if [ "${1:-}" = "--sanitize" ]; then
	build=$top/build-asan
	"$top/scripts/build.sh" "$build" -Db_sanitize=address,undefined -Db_lundef=false
	export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	# hwloc's PCI plugin (libpciaccess) leaks once per load, in frames LSan
	# cannot unwind to suppress; PCI discovery matters only for GPUs
	export HWLOC_COMPONENTS=-pci
else
	build=$top/build
	"$top/scripts/build.sh" "$build"
fi
BUILD=$build exec "$top/tests/run-tests.sh"
