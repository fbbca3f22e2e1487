#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run a command with the sanitizer settings of 'make asan' and fail when
# AddressSanitizer, LeakSanitizer or UBSan reported anything, in the
# command or in any process under it.  The reports go to files, so one in
# a child, or in an envcryptctl whose failure a test expected, still fails
# the run.
#
#   scripts/asan-run.sh LOGDIR COMMAND [ARG...]
#
# Exits with the command's status, or 1 when there was a report (printed
# on stderr).
set -u

logs=$1
shift
mkdir -p "$logs" || exit 1
logs=$(cd "$logs" && pwd) || exit 1
rm -f "$logs"/report.*

# The first report ends the process; leaks are errors.  Every report goes
# to LOGDIR/report.PID (UBSan's options are read last, so both say so).
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:log_path=$logs/report"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/report"

"$@"
rc=$?

reports=$(find "$logs" -maxdepth 1 -type f -name 'report.*' | sort)
if [ -n "$reports" ]; then
	for r in $reports; do
		echo "==== $r"
		cat "$r"
	done >&2
	echo "asan-run: $(echo "$reports" | wc -l) sanitizer report(s) from: $*" >&2
	exit 1
fi
exit $rc
