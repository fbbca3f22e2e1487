# SPDX-License-Identifier: GPL-2.0
#
# The audit log of real envcryptctl runs: one JSON object per line for
# every wrap, unwrap and key change, with the volume UUID, CMK, KMS and
# result.

# audit_ops: "op result volume" of each record, one per line
audit_ops() {
	/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    assert set(r) <= {"time", "host", "uid", "op", "volume", "device",
                      "cmk", "kms", "detail", "result", "error",
                      "message"}, r
    print(r["op"], r["result"], r.get("volume", "-"), r.get("error", "-"))
' "$ENVCRYPT_AUDIT_LOG"
}

test_format_open_disable_are_logged() {
	local uuid

	export ENVCRYPT_KMS_DIR=$T/kms
	image img
	ctl_rc 0 kms create-key --spec AES_256 --alias db
	ctl_rc 0 format img --key alias/db --yes
	uuid=$(sed -n 's/.*formatted: volume \([0-9a-f-]*\),.*/\1/p' ctl.out)
	[ -n "$uuid" ] || fail "no volume UUID in: $(cat ctl.out)"
	ctl_rc 0 open --verify-only img
	# the volume holds the key: --force, which is logged too
	ctl_rc 0 kms disable-key alias/db --force
	ctl_rc 3 open --verify-only img
	audit_ops >ops || fail "the audit log is not JSON lines"
	assert_eq "create-key ok - -
wrap ok $uuid -
unwrap ok $uuid -
force-key-change ok - -
disable-key ok - -
unwrap error $uuid EKEYREVOKED" "$(cat ops)" "audit records"
	grep -q "\"kms\":\"local:$T/kms\"" "$ENVCRYPT_AUDIT_LOG" ||
		fail "no KMS URI in the records"
	grep -q '"message":"CMK .* is Disabled in local KMS' \
		"$ENVCRYPT_AUDIT_LOG" || fail "no reason for the refusal"
}

test_audit_off_and_unwritable() {
	export ENVCRYPT_KMS_DIR=$T/kms
	ENVCRYPT_AUDIT_LOG=off ctl_rc 0 kms create-key --spec AES_256 --alias a
	[ ! -e "$T/audit.log" ] || fail "a log was written with off"
	: >notadir
	ENVCRYPT_AUDIT_LOG=$T/notadir/audit.log ctl_rc 0 kms create-key --spec AES_256 --alias b
	out_has "envcryptctl: warning: cannot write the audit log $T/notadir/audit.log: Not a directory; set ENVCRYPT_AUDIT_LOG to a writable file (or off)"
}
