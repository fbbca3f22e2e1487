#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The peer tests: envcryptctl on this host against real KMS peers.
#
#   tests/peers/run.sh [GLOB...]
#
# runs every test_* function of every tests/peers/t_*.sh (or those whose
# file name, test name or "file:test" matches a GLOB) and prints one line
# per test, PASS: / FAIL: ...: reason / SKIP: ...: why, then a summary.
# Exits 1 when a test failed.
#
# A test file is sourced, with lib.sh, once for the file and again for
# each test, so it does no work at file level.  It may define
#   setup_file     run once before its tests (start servers with start_bg,
#                  export what the tests need)
#                  (skip there skips them all)
#   teardown_file  run once after them, whatever happened; every process
#                  start_bg started is killed afterwards anyway
# Each test_* function runs in a fresh bash with "set -e", in a fresh
# scratch directory $T, within PEER_TEST_TIMEOUT seconds (default 120).
# $PEER_TMP is the file's scratch directory, kept for its tests; the audit
# log of envcryptctl is $T/audit.log, its volume registry $T/registry.

set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PEERS=$TOP/tests/peers
# the envcryptctl under test; 'make asan' passes its instrumented one
ENVCRYPTCTL=${ENVCRYPTCTL:-$TOP/build/bin/envcryptctl}
export TOP PEERS ENVCRYPTCTL

# the single-test mode: run.sh --one FILE TEST
if [ "${1:-}" = --one ]; then
	. "$PEERS/lib.sh"
	. "$PEERS/$2"
	cd "$T" || exit 1
	# the test's own audit log, never the host's
	export ENVCRYPT_AUDIT_LOG=$T/audit.log ENVCRYPT_REGISTRY=$T/registry
	# and its own volume registry
	export ENVCRYPT_REGISTRY=$T/registry
	set -e
	"$3"
	exit 0
fi

timeout=${PEER_TEST_TIMEOUT:-120}
passed=0 failed=0 skipped=0

# tests_in FILE: its test functions, in order of definition
tests_in() {
	sed -n 's/^\(test_[A-Za-z0-9_]*\)[[:space:]]*().*/\1/p' "$1"
}

# selected FILE TEST: whether the command line's globs pick this test
selected() {
	local g

	[ ${#globs[@]} -eq 0 ] && return 0
	for g in "${globs[@]}"; do
		# shellcheck disable=SC2053
		[[ $1 == $g || $2 == $g || "$1:$2" == $g ]] && return 0
	done
	return 1
}

# run_file FILE TESTS...: setup, each test, teardown; prints verdict lines
run_file() (
	local f=$1 t rc reason
	shift

	PEER_TMP=$(mktemp -d /tmp/envcrypt-peers.XXXXXX)
	export PEER_TMP ENVCRYPT_AUDIT_LOG=$PEER_TMP/audit.log
	export ENVCRYPT_REGISTRY=$PEER_TMP/registry
	. "$PEERS/lib.sh"
	. "$PEERS/$f"
	file_tests=("$@")
	setup_ok=
	# the verdicts, even when setup_file exits inside its redirection
	exec 3>&1
	trap 'if [ -z "$setup_ok" ]; then
		why=$(sed -n "s/^skip: //p" "$PEER_TMP/setup.verdict")
		for t in "${file_tests[@]}"; do
			if [ -n "$why" ]; then
				echo "SKIP: $f:$t: $why" >&3
			else
				echo "FAIL: $f:$t: setup_file failed: $(tail -n 5 "$PEER_TMP/setup.log" | tr "\n" " ")" >&3
			fi
		done
	      fi
	      declare -F teardown_file >/dev/null &&
		teardown_file >>"$PEER_TMP/setup.log" 2>&1
	      stop_all_bg; rm -rf "$PEER_TMP"' EXIT
	PEER_VERDICT=$PEER_TMP/setup.verdict
	export PEER_VERDICT
	: >"$PEER_VERDICT"
	# setup_file in this shell, so that its exports reach the tests; a
	# failing command in it ends the file (the trap reports)
	cd "$PEER_TMP" || return
	set -e
	if declare -F setup_file >/dev/null; then
		setup_file >"$PEER_TMP/setup.log" 2>&1
	fi
	set +e
	[ -s "$PEER_VERDICT" ] && exit 1
	setup_ok=1
	for t in "$@"; do
		T=$(mktemp -d "$PEER_TMP/test.XXXXXX")
		PEER_VERDICT=$T.verdict
		export T PEER_VERDICT
		: >"$PEER_VERDICT"
		rc=0
		timeout -k 5 "$timeout" bash "$PEERS/run.sh" --one "$f" "$t" \
			>"$T.log" 2>&1 </dev/null || rc=$?
		reason=$(sed -n 's/^fail: //p' "$PEER_VERDICT" | head -n 1)
		if [ -z "$reason" ] && [ "$rc" = 124 -o "$rc" = 137 ]; then
			reason="no result within $timeout s"
		elif [ -z "$reason" ] && [ "$rc" != 0 ]; then
			reason="exit $rc: $(tail -n 3 "$T.log" | tr '\n' ' ')"
		fi
		if [ -n "$reason" ]; then
			echo "FAIL: $f:$t: $reason"
			sed 's/^/    /' "$T.log" | tail -n 20
		elif grep -q '^skip: ' "$PEER_VERDICT"; then
			echo "SKIP: $f:$t: $(sed -n 's/^skip: //p' "$PEER_VERDICT" | head -n 1)"
		else
			echo "PASS: $f:$t"
		fi
	done
)

globs=("$@")
cd "$PEERS" || exit 1
[ -x "$ENVCRYPTCTL" ] || { echo "run.sh: build envcryptctl first (make tools)" >&2; exit 1; }
for f in t_*.sh; do
	tests=()
	for t in $(tests_in "$f"); do
		selected "$f" "$t" && tests+=("$t")
	done
	[ ${#tests[@]} -eq 0 ] && continue
	while IFS= read -r line; do
		echo "$line"
		case $line in
		PASS:*) passed=$((passed + 1)) ;;
		FAIL:*) failed=$((failed + 1)) ;;
		SKIP:*) skipped=$((skipped + 1)) ;;
		esac
	done < <(run_file "$f" "${tests[@]}")
done
echo "peers: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ $((passed + skipped)) -gt 0 ]
