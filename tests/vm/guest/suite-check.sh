#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The check suite: run every test_* function of every /tests/t_*.sh, each
# in its own subshell, and tidy up after each.  Prints one line per test,
#   PASS: <file>:<test>   FAIL: <file>:<test>: <reason>   SKIP: ...: <why>
# and ends with "<n> passed, <n> failed[, <n> skipped]".
#
# A test file holds test_* functions (defined as "test_name() {" at the
# start of a line, run in order of definition) and nothing that does work
# at file level: it is sourced again for every test.  Each test runs with
# "set -ex" in a fresh scratch directory $T; see lib.sh for the helpers.
#
# ENVCRYPT_TESTS=GLOB[,GLOB...] (envcrypt.tests= on the kernel command line)
# selects tests; a glob matches "<file>:<test>", the test name or the file
# name, e.g. "test_plain*", "t_harness*", "t_harness.sh:test_dmsetup*".
# ENVCRYPT_TEST_TIMEOUT (envcrypt.timeout=) limits each test (seconds).

. /tests/lib.sh

timeout=${ENVCRYPT_TEST_TIMEOUT:-600}
BAD='BUG:|WARNING:|Oops|general protection|blocked for more than|hung_task'
BAD="$BAD|possible circular locking|INFO: possible|inconsistent lock state"
BAD="$BAD|Kernel panic|Call Trace"

passed=0
failed=0
skipped=0

# tests_in FILE: its test functions, in order of definition
tests_in() {
	sed -n 's/^\(test_[A-Za-z0-9_]*\)[[:space:]]*().*/\1/p' "$1"
}

# kill_tree PID: SIGKILL a process and all its descendants
kill_tree() {
	local s pid ppid kids=

	for s in /proc/[0-9]*/stat; do
		read -r pid _ _ ppid _ 2>/dev/null <"$s" || continue
		[ "$ppid" = "$1" ] && kids="$kids $pid"
	done
	kill -9 "$1" 2>/dev/null
	for pid in $kids; do
		kill_tree "$pid"
	done
}

# kill_strays: SIGKILL every process but init, us and kernel threads
kill_strays() {
	local s pid ppid

	for s in /proc/[0-9]*/stat; do
		read -r pid _ _ ppid _ 2>/dev/null <"$s" || continue
		case $pid in 1 | 2 | "$$" | "$PPID") continue ;; esac
		[ "$ppid" = 2 ] && continue
		kill -9 "$pid" 2>/dev/null
	done
}

# report VERDICT FILE TEST [REASON]
report() {
	if [ -n "$4" ]; then
		echo "$1: $2:$3: $4"
	else
		echo "$1: $2:$3"
	fi
}

# run_test FILE TEST
run_test() {
	local f=$1 t=$2 pid wd rc reason

	T=$(mktemp -d /tmp/test.XXXXXX)
	ENVCRYPT_VERDICT=$T.verdict
	ENVCRYPT_DMESG=$T.dmesg
	export T ENVCRYPT_VERDICT ENVCRYPT_DMESG
	: >"$ENVCRYPT_VERDICT"
	dmesg -c >/dev/null

	(
		cd "$T" || exit 1
		# shellcheck disable=SC1090
		. "/tests/$f"
		set -ex
		"$t"
	) >"$T.out" 2>&1 &
	pid=$!
	(
		sleep "$timeout"
		echo "fail: timed out after ${timeout}s" >>"$ENVCRYPT_VERDICT"
		kill_tree "$pid"
	) &
	wd=$!
	wait "$pid"
	rc=$?
	kill_tree "$wd"

	kill_strays
	tidy >>"$T.out" 2>&1 ||
		echo "fail: could not tidy up after the test" >>"$ENVCRYPT_VERDICT"
	dmesg_drain
	reason=$(grep -E -m1 "$BAD" "$ENVCRYPT_DMESG")
	[ -n "$reason" ] && echo "fail: kernel: $reason" >>"$ENVCRYPT_VERDICT"

	reason=$(grep -m1 '^fail: ' "$ENVCRYPT_VERDICT")
	if [ -z "$reason" ] && [ "$rc" -ne 0 ]; then
		reason="fail: exit status $rc after '$(grep '^+ ' "$T.out" |
			tail -n 1 | cut -c3-)'"
	fi
	if [ -n "$reason" ]; then
		report FAIL "$f" "$t" "${reason#fail: }"
		failed=$((failed + 1))
		tail -n 40 "$T.out" | sed 's/^/    | /'
	elif grep -q '^skip: ' "$ENVCRYPT_VERDICT"; then
		reason=$(grep -m1 '^skip: ' "$ENVCRYPT_VERDICT")
		report SKIP "$f" "$t" "${reason#skip: }"
		skipped=$((skipped + 1))
	else
		report PASS "$f" "$t"
		passed=$((passed + 1))
	fi
	rm -rf "$T" "$T.out" "$ENVCRYPT_VERDICT" "$ENVCRYPT_DMESG"
}

start=$(date +%s)
for path in /tests/t_*.sh; do
	[ -f "$path" ] || continue
	f=${path##*/}
	tests=$(tests_in "$path")
	if [ -z "$tests" ]; then
		report FAIL "$f" "-" "no test_* functions"
		failed=$((failed + 1))
		continue
	fi
	for t in $tests; do
		selected "$f" "$t" && run_test "$f" "$t"
	done
done
echo "check: $(($(date +%s) - start)) s"

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
