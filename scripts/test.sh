#!/bin/sh
# test.sh [--sanitize] - install what is missing, build, and run the whole
# test suite (C unit tests and end-to-end tests on a real mount). Prints
# "N passed, N failed" last; exits non-zero if anything failed.
# Builds with gcc in build/ and with clang in build-clang/ (both -Werror);
# the unit tests run in both, the end-to-end tests with the gcc build.
# --sanitize builds with AddressSanitizer + UBSan in build-asan/ and runs there.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh" --test
if [ "${1:-}" = "--sanitize" ]; then
	build=$top/build-asan
	"$top/scripts/build.sh" "$build" -Db_sanitize=address,undefined -Db_lundef=false
	# hwloc's PCI plugin (libpciaccess) leaks once per topology load; the
	# slow unwinder sees through its frames so the suppression can match
	export ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0
	export LSAN_OPTIONS=suppressions=$top/tests/lsan.supp
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
else
	build=$top/build
	"$top/scripts/build.sh" "$build"
	CC=clang "$top/scripts/build.sh" "$top/build-clang"
	export EXTRA_UNIT_BUILDS=$top/build-clang
fi
BUILD=$build exec "$top/tests/run-tests.sh"
