# SPDX-License-Identifier: GPL-2.0
#
# The wrap slot commands on image files: rewrap (to another CMK, to the
# newest version with --rotate, to another local keystore, to a KMIP
# server), share and unshare; their refusals with exact messages and exit
# codes; what dump shows and what the audit log records.  The volume is
# checked with open --verify-only (unwrap and key check value).

# id_NAME variables are set through eval by the key helpers
# shellcheck disable=SC2154
. "$PEERS/kmip.sh"

setup_file() {
	if kmip_available >/dev/null; then
		kmip_server_start "$PEER_TMP/kmip"
	fi
}

# keys NAME...: AES_256 CMKs alias/NAME in the test's keystore; each id
# in id_NAME
keys() {
	local k

	for k in "$@"; do
		ctl_rc 0 kms create-key --spec AES_256 --alias "$k"
		eval "id_$k=\$(sed -n 's/^id: *//p' ctl.out)"
		[ -n "$(eval echo "\$id_$k")" ] ||
			fail "create-key printed no id: $(cat ctl.out)"
	done
}

# vol CMK: img formatted with CMK (or the service key with "")
vol() {
	image img 4
	if [ -n "$1" ]; then
		ctl_rc 0 format img --key "$1" --yes
	else
		ctl_rc 0 format img --yes
	fi
}

# slot_cmks: "slot:cmk_id:version" of each wrap slot from dump --json
slot_cmks() {
	ctl_rc 0 dump img --json
	/usr/bin/python3 -c '
import json, sys
d = json.load(open("ctl.out"))
print(" ".join("%d:%s:%d" % (s["slot"], s["cmk_id"], s["cmk_version"])
               for s in d["wrap_slots"]))'
}

# hdr_seq: the header's sequence number
hdr_seq() {
	ctl_rc 0 dump img
	sed -n 's/^sequence: *//p' ctl.out
}

# refused RC MESSAGE ARGS...: envcryptctl ARGS exits RC with exactly
# "envcryptctl: MESSAGE" and writes nothing
refused() {
	local rc=$1 msg=$2 before

	shift 2
	before=$(hdr_seq)
	ctl_rc "$rc" "$@"
	assert_eq "envcryptctl: $msg" "$(cat ctl.out)" "envcryptctl $*"
	assert_eq "$before" "$(hdr_seq)" "header sequence after a refusal"
}

test_rewrap_to_another_cmk() {
	export ENVCRYPT_KMS_DIR=$T/kms ENVCRYPT_REGISTRY=$T/registry
	keys a b
	vol alias/a
	ctl_rc 0 rewrap img --key alias/b
	assert_eq "img: wrap slot 0 rewrapped: CMK $id_a (alias/a) version 1 in local:$T/kms -> CMK $id_b (alias/b) version 1 in local:$T/kms; data key unwrapped through wrap slot 0, the data is unchanged" \
		"$(cat ctl.out)" "rewrap output"
	assert_eq "0:$id_b:1" "$(slot_cmks)" "slots after rewrap"
	# the host registry follows: b is in use now, a is not
	ctl_rc 6 kms disable-key alias/b
	ctl_rc 0 kms disable-key alias/a
	ctl_rc 0 open --verify-only img
	out_has "unwrapped through wrap slot 0 (CMK $id_b in local:$T/kms)"
	grep -q "\"op\":\"rewrap\".*\"cmk\":\"$id_b\".*\"detail\":\"slot 0: CMK $id_a version 1 in local:$T/kms -> CMK $id_b version 1 in local:$T/kms\",\"result\":\"ok\"" \
		"$ENVCRYPT_AUDIT_LOG" || fail "no rewrap record: $(cat "$ENVCRYPT_AUDIT_LOG")"
}

test_rewrap_rotate() {
	export ENVCRYPT_KMS_DIR=$T/kms ENVCRYPT_REGISTRY=$T/registry
	keys a
	vol alias/a
	refused 1 "img: wrap slot 0 is already wrapped by the newest version (1) of CMK $id_a (alias/a); rotate the CMK first with 'envcryptctl kms rotate-key'" \
		rewrap img --rotate
	ctl_rc 0 kms rotate-key alias/a
	ctl_rc 0 rewrap img --rotate
	out_has "version 1 in local:$T/kms -> CMK $id_a (alias/a) version 2 in"
	assert_eq "0:$id_a:2" "$(slot_cmks)" "slots after rotate"
	ctl_rc 0 dump img
	out_has "  CMK version: 2"
	ctl_rc 0 open --verify-only img
}

test_rewrap_refusals() {
	export ENVCRYPT_KMS_DIR=$T/kms ENVCRYPT_REGISTRY=$T/registry
	keys a b c
	vol alias/a
	refused 1 "img: wrap slot 0 is already wrapped by CMK $id_a (alias/a) in local:$T/kms; choose another CMK, or give --rotate to wrap under its newest version" \
		rewrap img --key "$id_a"
	refused 7 "img: wrap slot 5 is empty; see 'envcryptctl dump img'" \
		rewrap img --key alias/b --slot 5
	refused 1 "wrap slot 8 does not exist: slots are 0 to 7" \
		rewrap img --key alias/b --slot 8
	refused 1 "rewrap: --rotate keeps the slot's CMK; give either --key or --rotate" \
		rewrap img --key alias/b --rotate
	refused 1 "rewrap: give --key CMK (wrap under another CMK) or --rotate (under the newest version of the slot's CMK)" \
		rewrap img
	ctl_rc 1 rewrap img --key alias/b --slot one
	out_has "'one' is not a number"
	ctl_rc 0 kms disable-key alias/b
	refused 3 "img: CMK $id_b (alias/b) is Disabled in local KMS $T/kms; enable it, or choose another CMK" \
		rewrap img --key alias/b
	ctl_rc 0 kms enable-key alias/b
	ctl_rc 0 share img --key alias/b
	refused 1 "img: the volume has 2 wrap slots (0, 1); choose one with --slot" \
		rewrap img --key alias/c
	refused 6 "img: CMK $id_b (alias/b) in local:$T/kms already wraps this volume in wrap slot 1; to drop wrap slot 0 instead, use 'envcryptctl unshare img --slot 0'" \
		rewrap img --key alias/b --slot 0
	ctl_rc 7 rewrap nosuch.img --key alias/b
	out_has "nosuch.img: No such file or directory"
	grep -q '"op":"rewrap".*"result":"error","error":"EKEYREVOKED"' \
		"$ENVCRYPT_AUDIT_LOG" || fail "no record of the refused rewrap"
}

# From one local keystore to another: the first can go entirely.
test_rewrap_to_another_local_kms() {
	export ENVCRYPT_KMS_DIR=$T/kms ENVCRYPT_REGISTRY=$T/registry
	keys a
	ctl_rc 0 kms create-key --spec SM4 --alias far --kms "local:$T/kms2"
	vol alias/a
	ctl_rc 0 rewrap img --kms "local:$T/kms2" --key alias/far
	out_has "-> CMK "
	out_has "(alias/far) version 1 in local:$T/kms2;"
	mv "$T/kms" "$T/kms.gone"
	ctl_rc 0 open --verify-only img
	out_has "in local:$T/kms2); key check value matches"
}

# From the local keystore to a KMIP server, and shared back.
test_rewrap_to_kmip() {
	local kid

	kmip_available >/dev/null || skip "$(kmip_available)"
	[ -n "${KMIP_URI:-}" ] || fail "pykmip-server was not started"
	export ENVCRYPT_KMS_DIR=$T/kms ENVCRYPT_REGISTRY=$T/registry
	keys a
	ctl_rc 0 kms create-key --spec AES_256 --kms "$KMIP_URI" --alias slots-kmip
	kid=$(sed -n 's/^id: *//p' ctl.out)
	vol alias/a
	ctl_rc 0 rewrap img --kms "$KMIP_URI" --key alias/slots-kmip
	out_has "-> CMK $kid (alias/slots-kmip) version 1 in kmip://"
	ctl_rc 0 kms disable-key alias/a
	ctl_rc 0 open --verify-only img
	out_has "(CMK $kid in kmip://"
	ctl_rc 0 kms enable-key alias/a
	ctl_rc 0 share img --kms "local:$T/kms" --key alias/a
	out_has "img: shared in wrap slot 1: CMK $id_a (alias/a) version 1 in local:$T/kms"
	kmip_server_stop
	ctl_rc 0 open --verify-only img
	out_has "through wrap slot 1"
	kmip_server_restart
}

test_share_and_unshare() {
	export ENVCRYPT_KMS_DIR=$T/kms ENVCRYPT_REGISTRY=$T/registry
	keys a b c
	vol alias/a
	ctl_rc 0 share img --key alias/b
	assert_eq "img: shared in wrap slot 1: CMK $id_b (alias/b) version 1 in local:$T/kms" \
		"$(cat ctl.out)" "share output"
	ctl_rc 0 share img --key "$id_c"
	assert_eq "0:$id_a:1 1:$id_b:1 2:$id_c:1" "$(slot_cmks)" "slots"
	ctl_rc 0 dump img
	out_has "wrap slot 2:"
	out_has "  CMK:         $id_c (alias/c)"
	refused 6 "img: CMK $id_b (alias/b) in local:$T/kms already wraps this volume in wrap slot 1" \
		share img --key alias/b
	# each CMK opens it alone
	ctl_rc 0 kms disable-key alias/a --force
	ctl_rc 0 kms disable-key alias/b --force
	ctl_rc 0 open --verify-only img
	out_has "through wrap slot 2"
	ctl_rc 0 kms enable-key alias/b

	ctl_rc 0 unshare img --key alias/c
	assert_eq "img: wrap slot 2 removed: CMK $id_c (alias/c) version 1 in local:$T/kms" \
		"$(cat ctl.out)" "unshare output"
	ctl_rc 0 unshare img --slot 0
	assert_eq "1:$id_b:1" "$(slot_cmks)" "slots after unshare"
	refused 1 "img: wrap slot 1 is the volume's only wrap slot; removing it would lose the data" \
		unshare img --slot 1
	refused 7 "img: no wrap slot of this volume uses CMK alias/a; see 'envcryptctl dump img'" \
		unshare img --key alias/a
	refused 1 "unshare: give the wrap slot to remove with --slot N or --key CMK" \
		unshare img
	refused 1 "unshare: give --slot N or --key CMK, not both" \
		unshare img --slot 1 --key alias/b
	for op in share unshare; do
		grep -q "\"op\":\"$op\".*\"result\":\"ok\"" "$ENVCRYPT_AUDIT_LOG" ||
			fail "no $op record"
	done
}

test_unshare_keeps_a_usable_slot() {
	export ENVCRYPT_KMS_DIR=$T/kms ENVCRYPT_REGISTRY=$T/registry
	keys a b
	vol alias/a
	ctl_rc 0 share img --key alias/b
	ctl_rc 0 kms disable-key alias/b --force
	refused 1 "img: wrap slot 0 is the last usable wrap slot: no other slot unwraps the data key (img: CMK $id_b (alias/b) is Disabled in local KMS $T/kms; enable it to open this volume); removing it would lose the data" \
		unshare img --slot 0
	ctl_rc 0 unshare img --key alias/b
	ctl_rc 0 open --verify-only img
}

test_share_refusals() {
	local i

	export ENVCRYPT_KMS_DIR=$T/kms ENVCRYPT_REGISTRY=$T/registry
	keys a b
	vol ""
	refused 2 "img: the volume is wrapped only by the service key alias/envcrypt/service of local:$T/kms, which cannot be shared with another account; copy it under a CMK first: envcryptctl copy img DEST --key CMK" \
		share img --key alias/b
	ctl_rc 1 share img
	out_has "share: give the recipient's CMK with --key"
	vol alias/a
	ctl_rc 0 kms disable-key alias/b
	refused 3 "img: CMK $id_b (alias/b) is Disabled in local KMS $T/kms; enable it, or choose another CMK" \
		share img --key alias/b
	refused 2 "img: CMK $(ENVCRYPT_AUDIT_LOG=off "$ENVCRYPTCTL" kms describe-key alias/envcrypt/service | sed -n 's/^id: *//p') (alias/envcrypt/service) is the service key of local KMS $T/kms and cannot be a share's recipient; give a CMK the recipient created" \
		share img --key alias/envcrypt/service
	for i in 1 2 3 4 5 6 7; do
		keys "r$i"
		ctl_rc 0 share img --key "alias/r$i"
		out_has "shared in wrap slot $i:"
	done
	ctl_rc 0 kms enable-key alias/b
	refused 2 "img: all 8 wrap slots are in use; remove one with 'envcryptctl unshare img --slot N' first" \
		share img --key alias/b
	ctl_rc 0 open --verify-only img
}
