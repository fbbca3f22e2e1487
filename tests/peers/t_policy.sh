# SPDX-License-Identifier: GPL-2.0
#
# The host policy (docs/POLICY.md) obeyed by the commands: each rule's
# refusal with its exit code and message naming the rule, file and line;
# a malformed policy refuses everything.

# policy TEXT: this test's policy file
policy() {
	printf '%s\n' "$1" >"$T/policy.conf"
	export ENVCRYPT_POLICY=$T/policy.conf
}

# a volume formatted before the policy applies
volume() {
	export ENVCRYPT_KMS_DIR=$T/kms
	image img
	ctl_rc 0 kms create-key --spec AES_256 --alias db
	ctl_rc 0 format img --key alias/db --yes
}

test_key_changes_denied() {
	volume
	ctl_rc 0 kms create-key --spec AES_256 --alias spare
	policy "key-changes = deny"
	ctl_rc 2 kms disable-key alias/spare
	out_has "envcryptctl: disable-key of CMK alias/spare is refused by the host policy ($T/policy.conf:1: key-changes = deny)"
	ctl_rc 2 kms create-key --spec AES_256 --alias other
	out_has "create-key of CMK other is refused by the host policy"
	ctl_rc 2 kms schedule-deletion alias/spare --days 7
	out_has "schedule-deletion of CMK alias/spare is refused by the host policy"
	# reading is still allowed, and the key is untouched
	ctl_rc 0 kms describe-key alias/spare
	out_has "Enabled"
	ctl_rc 0 open --verify-only img
	grep -q '"op":"disable-key","cmk":"alias/spare","kms":"[^"]*","result":"error","error":"EPERM"' \
		"$ENVCRYPT_AUDIT_LOG" || fail "the refusal is not in the audit log"
}

test_kms_not_allowed() {
	volume
	policy "allowed-kms = kmip://kms.example:5696 local:$T/other"
	ctl_rc 2 open --verify-only img
	out_has "KMS local:$T/kms is refused by the host policy ($T/policy.conf:1: allowed-kms = kmip://kms.example:5696 local:$T/other)"
	policy "allowed-kms = local:"
	ctl_rc 0 open --verify-only img
}

test_malformed_policy_refuses_everything() {
	volume
	policy "allowed-kms local:"
	ctl_rc 1 open --verify-only img
	out_has "envcryptctl: $T/policy.conf:1: 'allowed-kms local:' is not 'name = value'; fix the host policy"
	ctl_rc 1 kms list-keys
	out_has "$T/policy.conf:1: 'allowed-kms local:' is not 'name = value'"
	ctl_rc 0 help
}

test_cipher_not_allowed() {
	export ENVCRYPT_KMS_DIR=$T/kms
	ctl_rc 0 kms create-key --spec SM4 --alias sm
	policy "allowed-ciphers = aes-xts-plain64"
	image img
	ctl_rc 2 format img --key alias/sm --yes
	out_has "envcryptctl: img: cipher sm4-xts-plain64 is refused by the host policy ($T/policy.conf:1: allowed-ciphers = aes-xts-plain64)"
	# nothing was written
	ctl_rc 5 dump img
	out_has "img: not an envcrypt volume (no header)"
	ctl_rc 0 format img --key alias/sm --cipher aes-xts-plain64 --yes
}

test_service_key_needs_cmk() {
	export ENVCRYPT_KMS_DIR=$T/kms
	# the service key exists from an earlier volume
	image old
	ctl_rc 0 format old --yes
	policy "require-cmk = yes"
	image img
	ctl_rc 2 format img --yes
	out_has "envcryptctl: img: wrapping with the service key (give --key CMK) is refused by the host policy ($T/policy.conf:1: require-cmk = yes)"
	ctl_rc 2 format img --key alias/envcrypt/service --yes
	out_has "img: wrapping with the service key (give --key CMK) is refused"
	ctl_rc 0 kms create-key --spec AES_256 --alias db
	ctl_rc 0 format img --key alias/db --yes
	# volumes the service key wraps already still open
	ctl_rc 0 open --verify-only old
}

test_convert_refused() {
	export ENVCRYPT_KMS_DIR=$T/kms
	ctl_rc 0 kms create-key --spec AES_256 --alias db
	head -c 2097152 /dev/urandom >plain.img
	policy "convert = refuse"
	ctl_rc 2 convert plain.img enc.img --key alias/db
	out_has "plain.img: converting an unencrypted image is refused by the host policy ($T/policy.conf:1: convert = refuse)"
	[ ! -e enc.img ] || fail "a destination was left behind"
	policy "convert = allow"
	ctl_rc 0 convert plain.img enc.img --key alias/db
	ctl_rc 0 open --verify-only enc.img
}
