# SPDX-License-Identifier: GPL-2.0
#
# A short run of the stress driver (stress.sh, which "make stress" runs for
# minutes): fio verify at queue depth 32 on two envcrypt devices, with
# suspend/resume cycles, key wipe/key set cycles in queue and error mode,
# devices created and removed, and lower-device fault windows, all at once.

. /tests/envcrypt-lib.sh

# field NAME: a number from the summary line in stress.out
field() {
	sed -n "s/^envcrypt-stress-summary: .* $1=\([0-9]*\).*/\1/p" stress.out
}

# 30 s of everything at once: no error, no data mismatch, no kernel
# warning, every loop did work (a loop that stopped early fails the test),
# and nothing is left behind
test_stress_30s() {
	local f rc=0

	need_envcrypt
	STRESS_ROUND_MIB=4 bash /tests/stress.sh "${ENVCRYPT_STRESS_TIME:-30}" "$T/work" >stress.out 2>&1 ||
		rc=$?
	cat stress.out
	grep -q '^envcrypt-stress-summary: ' stress.out || fail "no summary line"
	# the figures on the console, also when the test passes
	grep '^envcrypt-stress-summary: ' stress.out >/dev/console 2>/dev/null || true
	assert_eq 0 "$(field errors)" "errors: $(grep '^stress-error: ' stress.out | head -n 5)"
	assert_eq 0 "$(field mismatches)" "mismatches: $(grep '^stress-mismatch: ' stress.out | head -n 5)"
	assert_eq 0 "$(field splats)" "kernel warnings"
	for f in ios fio_rounds suspends key_cycles errkey_cycles devices fault_windows; do
		[ "$(field $f)" -gt 0 ] || fail "counter $f is $(field $f): a loop did nothing"
	done
	assert_eq 0 "$rc" "stress.sh exit status"
	assert_eq "" "$(dmsetup ls | grep '^stress-')" "devices left behind"
}
