# SPDX-License-Identifier: GPL-2.0
#
# The "kms" commands of the KMIP provider against pykmip-server
# (python3-pykmip 0.10) on 127.0.0.1: create-key, list-keys, describe-key
# by id and alias, the service key, disable-key, the emulated deletion
# grace period (schedule-deletion, cancel-deletion, Destroy once the date
# has passed), and the commands KMIP cannot do (enable-key of a revoked
# key, rotate-key, SM4 keys).
#
# The deletion records go to a directory of this run
# (ENVCRYPT_KMIP_STATE_DIR); a date in the past is made by editing the
# record, as an operator could.

. "$PEERS/kmip.sh"

setup_file() {
	kmip_setup || return 0
	export ENVCRYPT_KMIP_STATE_DIR=$PEER_TMP/kmip-state
	export KMIP_RECORDS=$ENVCRYPT_KMIP_STATE_DIR/127.0.0.1_$KMIP_PORT.pending
}


# kms ARGS...: envcryptctl kms ARGS --kms $KMIP_URI, must exit RC ($1)
kms() {
	local rc=$1

	shift
	ctl_rc "$rc" kms "$@" --kms "$KMIP_URI"
}

# the id in the last key output ("id:   ID")
key_id() {
	awk '$1 == "id:" { print $2; exit }' ctl.out
}

# new_key NAME: a new key alias/NAME; its id in $id
new_key() {
	kms 0 create-key --spec AES_256 --alias "$1"
	id=$(key_id)
	[ -n "$id" ] || fail "create-key printed no id: $(cat ctl.out)"
}

# the value of "FIELD:" in the last key output
field() {
	sed -n "s/^$1: *//p" ctl.out | head -n 1
}

test_create_key_with_alias() {
	kmip_need
	new_key created
	out_has "alias:         alias/created"
	out_has "spec:          AES_256"
	out_has "state:         Enabled"
	out_has "versions:      1"
	out_has "KMS:           KMIP KMS 127.0.0.1:$KMIP_PORT"
	# the alias names one key
	kms 6 create-key --spec AES_256 --alias created
	out_has "alias/created is already taken by CMK $id in KMIP KMS 127.0.0.1:$KMIP_PORT"
	# "alias/NAME" is the same alias
	kms 6 create-key --spec AES_256 --alias alias/created
	kms 1 create-key --spec AES_256 --alias envcrypt/mine
	out_has "alias/envcrypt/mine is reserved"
	kms 1 create-key --spec AES_256 --alias 'bad name'
	out_has "is not valid"
	kms 2 create-key --spec SM4 --alias sm4
	out_has "KMIP KMS 127.0.0.1:$KMIP_PORT: KMIP has no SM4 keys"
	# a key without alias
	kms 0 create-key --spec AES_256
	out_has "alias:         -"
}

test_list_keys() {
	kmip_need
	local a b

	new_key listed-a
	a=$id
	new_key listed-b
	b=$id
	kms 0 list-keys
	out_has "ID "
	grep -qE "^$a +alias/listed-a +AES_256 +Enabled +1 +-\$" ctl.out ||
		fail "list-keys lacks $a alias/listed-a: $(cat ctl.out)"
	grep -qE "^$b +alias/listed-b +AES_256 +Enabled +1 +-\$" ctl.out ||
		fail "list-keys lacks $b alias/listed-b: $(cat ctl.out)"
	kms 0 list-keys --json
	/usr/bin/python3 -c 'import json, sys
keys = json.load(open("ctl.out"))
ids = [k["id"] for k in keys]
assert sys.argv[1] in ids and sys.argv[2] in ids, ids
k = [k for k in keys if k["id"] == sys.argv[1]][0]
assert k["alias"] == "alias/listed-a" and k["state"] == "Enabled", k
assert k["spec"] == "AES_256" and k["versions"] == 1, k
# oldest first
assert ids.index(sys.argv[1]) < ids.index(sys.argv[2]), ids' "$a" "$b" ||
		fail "list-keys --json: $(cat ctl.out)"
}

test_describe_by_id_and_alias() {
	kmip_need
	local created

	new_key described
	created=$(field created)
	kms 0 describe-key "$id"
	assert_eq "$id" "$(key_id)" "describe-key by id"
	assert_eq "alias/described" "$(field alias)" "alias by id"
	assert_eq "$created" "$(field created)" "creation date"
	kms 0 describe-key alias/described
	assert_eq "$id" "$(key_id)" "describe-key by alias"
	kms 0 describe-key alias/described --json
	out_has "\"id\":"
	out_has "\"state\":"
	kms 3 describe-key alias/no-such-key
	out_has "CMK alias/no-such-key not found in KMIP KMS 127.0.0.1:$KMIP_PORT"
	kms 3 describe-key 999999
	out_has "CMK 999999 not found in KMIP KMS 127.0.0.1:$KMIP_PORT"
}

test_service_key_created_on_demand() {
	kmip_need
	local first

	image img
	ctl_rc 0 format img --kms "$KMIP_URI" --yes
	out_has "(alias/envcrypt/service)"
	ctl_rc 0 open --verify-only img
	kms 0 describe-key alias/envcrypt/service
	first=$(key_id)
	out_has "service key:   yes"
	# the next use finds the same key
	image img2
	ctl_rc 0 format img2 --kms "$KMIP_URI" --yes
	out_has "CMK $first (alias/envcrypt/service)"
	kms 0 list-keys
	assert_eq 1 "$(grep -c 'alias/envcrypt/service' ctl.out)" \
		"service keys listed"
	kms 2 disable-key alias/envcrypt/service
	out_has "is the service key of KMIP KMS 127.0.0.1:$KMIP_PORT: it can never be disabled or deleted"
	kms 2 schedule-deletion alias/envcrypt/service --days 7
	out_has "refused to delete it"
	kms 0 describe-key "$first"
	out_has "state:         Enabled"
}

test_disable_key() {
	kmip_need
	new_key disabled
	image img
	ctl_rc 0 format img --kms "$KMIP_URI" --key alias/disabled --yes
	kms 0 disable-key alias/disabled --force
	out_has "state:         Disabled"
	kms 0 describe-key "$id"
	out_has "state:         Disabled"
	ctl_rc 3 open --verify-only img
	out_has "img: CMK $id (alias/disabled) is Disabled in KMIP KMS 127.0.0.1:$KMIP_PORT (KMIP state Deactivated)"
	# nothing to do twice
	kms 0 disable-key alias/disabled
	out_has "state:         Disabled"
	# a disabled key wraps nothing either
	image img2
	ctl_rc 3 format img2 --kms "$KMIP_URI" --key alias/disabled --yes
	out_has "is Disabled in KMIP KMS 127.0.0.1:$KMIP_PORT"
}

test_enable_key_unsupported() {
	kmip_need
	new_key enabled
	# an Active key: nothing to do
	kms 0 enable-key alias/enabled
	out_has "state:         Enabled"
	kms 0 disable-key alias/enabled
	kms 2 enable-key alias/enabled
	out_has "CMK $id (alias/enabled) is Disabled in KMIP KMS 127.0.0.1:$KMIP_PORT (KMIP state Deactivated): KMIP has no way back from a Revoke"
	out_has "create a new key"
	kms 0 describe-key "$id"
	out_has "state:         Disabled"
}

test_rotate_key_unsupported() {
	kmip_need
	new_key rotated
	kms 2 rotate-key alias/rotated
	out_has "KMIP KMS 127.0.0.1:$KMIP_PORT cannot rotate alias/rotated: a KMIP key has one version"
}

test_schedule_and_cancel_deletion() {
	kmip_need
	local when want got

	new_key doomed
	image img
	ctl_rc 0 format img --kms "$KMIP_URI" --key alias/doomed --yes
	kms 1 schedule-deletion alias/doomed --days 6 --force
	out_has "the waiting period before deletion must be 7 to 30 days, not 6"
	want=$(($(date +%s) + 7 * 86400))
	kms 0 schedule-deletion alias/doomed --days 7 --force
	out_has "state:         PendingDeletion"
	when=$(field "deletion date")
	got=$(date -u -d "${when% UTC} UTC" +%s)
	[ $((got - want)) -ge -5 ] && [ $((got - want)) -le 5 ] ||
		fail "deletion date $when, expected about $(date -u -d "@$want")"
	# with the key's Initial Date, so that it names this key only
	grep -qxE "key $id $got [0-9]+" "$KMIP_RECORDS" ||
		fail "no record of $id in $KMIP_RECORDS: $(cat "$KMIP_RECORDS")"
	# unusable at once, and the listing says when it goes
	ctl_rc 3 open --verify-only img
	out_has "CMK $id (alias/doomed) is PendingDeletion in KMIP KMS 127.0.0.1:$KMIP_PORT, deleted on $when"
	kms 0 list-keys
	grep -qE "^$id +alias/doomed +AES_256 +PendingDeletion +1 +$when\$" ctl.out ||
		fail "list-keys: $(cat ctl.out)"
	kms 3 schedule-deletion alias/doomed --days 7
	out_has "cancel the deletion before you schedule it"
	kms 3 disable-key alias/doomed
	kms 0 cancel-deletion alias/doomed
	# KMIP cannot make a revoked key Active: it stays Disabled
	out_has "state:         Disabled"
	! grep -q "^key $id " "$KMIP_RECORDS" ||
		fail "the record of $id is still there: $(cat "$KMIP_RECORDS")"
	kms 0 describe-key "$id"
	out_has "state:         Disabled"
	ctl_rc 3 open --verify-only img
	out_has "is Disabled in KMIP KMS"
	kms 1 cancel-deletion alias/doomed
	out_has "not PendingDeletion: there is no deletion to cancel"
	# a Disabled key can be scheduled too
	kms 0 schedule-deletion "$id" --days 30 --force
	out_has "state:         PendingDeletion"
}

test_destroy_after_deletion_date() {
	kmip_need
	new_key gone
	image img
	ctl_rc 0 format img --kms "$KMIP_URI" --key alias/gone --yes
	kms 0 schedule-deletion alias/gone --days 7 --force
	# the date has passed (2001-09-09 01:46:40 UTC)
	sed -i "s/^key $id [0-9]*/key $id 1000000000/" "$KMIP_RECORDS"
	kms 3 describe-key alias/gone
	out_has "CMK $id (alias/gone) was deleted from KMIP KMS 127.0.0.1:$KMIP_PORT on its deletion date 2001-09-09 01:46:40 UTC"
	# destroyed on the server, the record gone
	kms 3 describe-key "$id"
	out_has "CMK $id not found in KMIP KMS 127.0.0.1:$KMIP_PORT"
	! grep -q "^key $id " "$KMIP_RECORDS" ||
		fail "the record of $id is still there: $(cat "$KMIP_RECORDS")"
	ctl_rc 3 open --verify-only img
	out_has "not found in KMIP KMS 127.0.0.1:$KMIP_PORT"
	kms 0 list-keys
	! grep -q "^$id " ctl.out || fail "list-keys still shows $id: $(cat ctl.out)"
	# the alias is free again
	kms 0 create-key --spec AES_256 --alias gone
	[ "$(key_id)" != "$id" ] || fail "a new key with the old id $id"
}

# A key past its date is destroyed by whatever touches it first: here
# list-keys (and open of a volume it wraps).
test_destroy_by_list_and_open() {
	kmip_need
	local other

	new_key gone-list
	other=$id
	new_key gone-open
	image img
	ctl_rc 0 format img --kms "$KMIP_URI" --key alias/gone-open --yes
	kms 0 schedule-deletion alias/gone-list --days 7
	kms 0 schedule-deletion alias/gone-open --days 7 --force
	sed -i -e "s/^key $other [0-9]*/key $other 1000000000/" \
		-e "s/^key $id [0-9]*/key $id 1000000000/" "$KMIP_RECORDS"
	kms 0 list-keys
	! grep -q "^$other " ctl.out || fail "list-keys shows $other: $(cat ctl.out)"
	! grep -q "^$id " ctl.out || fail "list-keys shows $id: $(cat ctl.out)"
	kms 3 describe-key "$other"
	out_has "not found"
	ctl_rc 3 open --verify-only img
	out_has "not found in KMIP KMS"
}

# A record past its date that does not fit the key under its id (an
# Active key, or one made at another time: a server reinstalled, its ids
# numbered again) destroys nothing.
test_stale_record_destroys_nothing() {
	kmip_need
	local created

	new_key live
	kms 0 describe-key "$id"
	created=$(date -u -d "$(field created)" +%s) ||
		fail "no creation date: $(cat ctl.out)"
	mkdir -p "$ENVCRYPT_KMIP_STATE_DIR"
	[ -f "$KMIP_RECORDS" ] ||
		printf 'envcrypt-kmip-pending 1\nend\n' >"$KMIP_RECORDS"
	sed -i "/^key $id /d; s/^end\$/key $id 1000000000\nend/" "$KMIP_RECORDS"
	kms 0 describe-key "$id"
	out_has "state:         Enabled"
	kms 0 disable-key "$id"
	sed -i "s/^key $id .*/key $id 1000000000 $((created - 86400))/" \
		"$KMIP_RECORDS"
	kms 0 describe-key "$id"
	out_has "state:         Disabled"
	kms 0 list-keys
	grep -qE "^$id +alias/live +AES_256 +Disabled " ctl.out ||
		fail "list-keys: $(cat ctl.out)"
}

test_canonical_uri() {
	kmip_need
	local uri

	new_key canon
	mkdir p
	cp "$KMIP_PKI/ca.pem" "$KMIP_PKI/client.pem" "$KMIP_PKI/client.key" p/
	# relative paths, the host by name, timeout
	uri="kmip://localhost:$KMIP_PORT/?ca=p/ca.pem&cert=p/client.pem&key=p/client.key&timeout=7"
	image img
	ctl_rc 0 format img --kms "$uri" --key alias/canon --yes
	ctl_rc 0 dump img
	out_has "KMS:         kmip://localhost:$KMIP_PORT?ca=$T/p/ca.pem&cert=$T/p/client.pem&key=$T/p/client.key&timeout=7"
	# the wrap slot opens from any directory
	(cd / && "$ENVCRYPTCTL" open --verify-only "$T/img") >ctl.out 2>&1 ||
		fail "open from /: $(cat ctl.out)"
	# the default timeout is not written
	image img2
	ctl_rc 0 format img2 --kms "$KMIP_URI&timeout=5" --key alias/canon --yes
	ctl_rc 0 dump img2
	out_has "KMS:         $KMIP_URI"
	out_lacks "timeout"
}

test_bad_uris() {
	kmip_need
	local q="ca=$KMIP_PKI/ca.pem&cert=$KMIP_PKI/client.pem&key=$KMIP_PKI/client.key"

	ctl_rc 1 kms list-keys --kms "kmip://127.0.0.1:$KMIP_PORT?$q&pin=1"
	out_has "unknown parameter 'pin'; known: ca, cert, key, timeout"
	ctl_rc 1 kms list-keys --kms "kmip://127.0.0.1:$KMIP_PORT?ca=$KMIP_PKI/ca.pem"
	out_has "has no cert=FILE (this host's client certificate)"
	ctl_rc 1 kms list-keys --kms "kmip://127.0.0.1:99999?$q"
	out_has "port '99999' is not a number from 1 to 65535"
	ctl_rc 1 kms list-keys --kms "kmip://::1:$KMIP_PORT?$q"
	out_has "write an IPv6 address in brackets"
	ctl_rc 1 kms list-keys --kms "kmip://127.0.0.1:$KMIP_PORT?$q&timeout=0"
	out_has "timeout '0' is not a number of seconds from 1 to 300"
	ctl_rc 1 kms list-keys --kms "kmip:127.0.0.1?$q"
	out_has "a KMIP URI is kmip://HOST:PORT?ca=FILE&cert=FILE&key=FILE"
}
