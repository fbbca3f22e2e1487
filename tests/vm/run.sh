#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host side of the kernel tests: build the initramfs, boot the installed
# Debian kernel in QEMU (TCG, no network), run one guest suite, then judge
# the console log: kernel splats, a missing or failing summary fail the run.
#
#   tests/vm/run.sh check|demo|bench    run a suite; log in build/vm/SUITE.log
#   tests/vm/run.sh stress              the stress driver for STRESS_TIME s
#   tests/vm/run.sh shell               interactive guest shell (no timeout)
#   tests/vm/run.sh --check-log LOG [SUITE]   only judge an existing log
#
# Environment:
#   ENVCRYPT_TESTS         check: only tests matching GLOB[,GLOB...]
#   ENVCRYPT_TIMEOUT       seconds before the guest is killed
#                          (check, demo: 1200; bench: 3600;
#                          stress: STRESS_TIME + 900)
#   STRESS_TIME            stress: seconds of load in the guest (600)
#   ENVCRYPT_TEST_TIMEOUT  check: per-test limit in the guest (600)
#   ENVCRYPT_APPEND        more kernel command line
#   ENVCRYPT_MEM           guest memory in MiB (1024)
#   ENVCRYPT_BUILD         output directory (build/vm)
#   KVER                   guest kernel (newest in /lib/modules)

set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

# Kernel console lines (they carry a printk timestamp, printk.time=1) that
# fail a run.  Userspace output (cryptsetup's "WARNING: ...") is not judged.
BAD='BUG:|WARNING:|Oops|general protection|blocked for more than|hung_task'
BAD="$BAD|possible circular locking|INFO: possible|inconsistent lock state"
BAD="$BAD|Kernel panic|Call Trace"
SUMMARY='^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$'

usage() {
	echo "usage: $0 check|demo|bench|stress|shell" >&2
	echo "       $0 --check-log LOG [SUITE]" >&2
	exit 2
}

# check_log LOG SUITE: judge a console log; 0 when all is fine
check_log() {
	local log=$1 suite=$2 text hits exit_line summary bad=0
	local passed failed

	text=$(tr -d '\r' <"$log")
	hits=$(grep -E '\[ *[0-9]+\.[0-9]+\].*('"$BAD"')' <<<"$text")
	if [ -n "$hits" ]; then
		echo "run.sh: $suite: kernel problems in the console ($log):"
		head -n 20 <<<"$hits" | sed 's/^/    /'
		bad=1
	fi

	exit_line=$(grep -Eo "envcrypt-suite-exit: $suite -?[0-9]+" <<<"$text" |
		    tail -n 1)
	if [ -z "$exit_line" ]; then
		echo "run.sh: $suite: the guest did not finish the suite ($log)"
		bad=1
	elif [ "${exit_line##* }" != 0 ] && [ "$suite" != check ]; then
		echo "run.sh: $suite: suite exited with status ${exit_line##* } ($log)"
		bad=1
	fi

	[ "$suite" = check ] || return $bad

	summary=$(grep -E "$SUMMARY" <<<"$text" | tail -n 1)
	if [ -n "$summary" ]; then
		passed=${summary%% passed*}
		failed=${summary#*passed, }
		failed=${failed%% failed*}
	else
		echo "run.sh: check: no summary line from the guest ($log)"
		passed=$(grep -c '^PASS: ' <<<"$text")
		failed=$(grep -c '^FAIL: ' <<<"$text")
		bad=1
	fi
	if [ "$failed" -gt 0 ]; then
		echo "run.sh: check: failed tests ($log):"
		grep '^FAIL: ' <<<"$text" | sed 's/^/    /'
		bad=1
	fi
	if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
		echo "run.sh: check: no test passed or failed (ENVCRYPT_TESTS?)"
		bad=1
	fi
	if [ "$bad" -ne 0 ] && [ "$failed" -eq 0 ]; then
		echo "run.sh: check: counting the run's problem above as a failure"
		failed=1
	fi
	echo "$passed passed, $failed failed"
	return $bad
}

[ $# -ge 1 ] || usage
if [ "$1" = --check-log ]; then
	if [ $# -lt 2 ] || [ ! -f "$2" ]; then
		usage
	fi
	check_log "$2" "${3:-check}"
	exit
fi

suite=$1
KVER=${KVER:-$(ls -1 /lib/modules | sort -V | tail -n 1)}
out=${ENVCRYPT_BUILD:-$top/build/vm}
kernel=/boot/vmlinuz-$KVER
initrd=$out/initramfs-$suite.cpio.gz
log=$out/$suite.log
interactive=

case $suite in
check | demo)
	cpu=(-smp 2)
	limit=${ENVCRYPT_TIMEOUT:-1200}
	;;
stress)
	cpu=(-smp 2)
	stress_time=${STRESS_TIME:-600}
	limit=${ENVCRYPT_TIMEOUT:-$((stress_time + 900))}
	ENVCRYPT_APPEND="envcrypt.stress_time=$stress_time ${ENVCRYPT_APPEND:-}"
	;;
bench)
	# guest time counts instructions: exact, repeatable numbers
	cpu=(-smp 1 -icount shift=0)
	limit=${ENVCRYPT_TIMEOUT:-3600}
	;;
shell)
	cpu=(-smp 2)
	interactive=1
	;;
*)
	usage
	;;
esac

[ -r "$kernel" ] || { echo "run.sh: no guest kernel $kernel" >&2; exit 1; }
mkdir -p "$out"
KVER=$KVER "$here/build-initramfs.sh" "$initrd" || exit 1

append="console=ttyS0 panic=-1 oops=panic printk.time=1 envcrypt.suite=$suite"
[ -n "${ENVCRYPT_TESTS:-}" ] && append="$append envcrypt.tests=$ENVCRYPT_TESTS"
[ -n "${ENVCRYPT_TEST_TIMEOUT:-}" ] &&
	append="$append envcrypt.timeout=$ENVCRYPT_TEST_TIMEOUT"
append="$append ${ENVCRYPT_APPEND:-}"

# A scratch virtio disk (/dev/vda in the guest): a lower device that
# completes I/O from interrupts, unlike brd and loop.
rm -f "$out/scratch.img"
truncate -s 64M "$out/scratch.img"

# ENVCRYPT_CPU: another QEMU CPU model, e.g. Westmere (AES-NI, no AVX), to
# run the kernel code's fallbacks
qemu=(qemu-system-x86_64 -accel tcg -cpu "${ENVCRYPT_CPU:-max}" -m "${ENVCRYPT_MEM:-1024}"
      "${cpu[@]}" -nographic -no-reboot -nic none
      -drive "file=$out/scratch.img,if=virtio,format=raw,cache=unsafe"
      -kernel "$kernel" -initrd "$initrd" -append "$append")

if [ -n "$interactive" ]; then
	exec "${qemu[@]}"
fi

echo "run.sh: ${qemu[*]}"
start=$SECONDS
timeout --kill-after=10 "$limit" "${qemu[@]}" </dev/null 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
echo "run.sh: $suite: guest ran $((SECONDS - start)) s"

if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	echo "run.sh: $suite: guest killed after ${limit} s (hung?), log $log"
	check_log "$log" "$suite"
	exit 1
elif [ "$rc" -ne 0 ]; then
	echo "run.sh: $suite: qemu exited with status $rc, log $log"
	check_log "$log" "$suite"
	exit 1
fi
check_log "$log" "$suite"
rc=$?
if [ "$suite" = bench ]; then
	# the numbers, as a table here and as markdown in $out/bench.md; a
	# number below target is information, only a broken run fails
	/usr/bin/python3 "$top/bench/report" "$log" --markdown "$out/bench.md" ||
		rc=1
fi
if [ "$suite" = stress ]; then
	# the guest's summary line; no line, errors or mismatches fail the run
	summary=$(tr -d '\r' <"$log" | grep -E '^envcrypt-stress-summary: ' | tail -n 1)
	echo "run.sh: stress: ${summary:-no summary line from the guest}"
	case $summary in
	*" errors=0 mismatches=0 "*) ;;
	*) rc=1 ;;
	esac
fi
exit "$rc"
