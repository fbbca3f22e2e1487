# SPDX-License-Identifier: GPL-2.0
#
# The volume registry and "kms usage": format records volumes, usage
# lists them by key id or alias (registry and --scan), entries whose
# device changed are stale; and the guard: disable-key and
# schedule-deletion refuse while the key is in use (exit 6, the volumes
# listed, "and N more" past ten) unless --force, which is audited.

setup_kms() {
	export ENVCRYPT_KMS_DIR=$T/kms ENVCRYPT_REGISTRY=$T/registry \
		ENVCRYPT_AUDIT_LOG=$T/audit.log
	ctl_rc 0 kms create-key --spec AES_256 --alias db
	ctl_rc 0 kms create-key --spec AES_256 --alias other
}

# key_id ALIAS: the CMK id behind alias/ALIAS
key_id() {
	"$ENVCRYPTCTL" kms describe-key "alias/$1" --json |
		/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}

# fmt IMAGE ALIAS: a new 4 MiB image formatted under alias/ALIAS
fmt() {
	image "$1" 4
	ctl_rc 0 format "$1" --key "alias/$2" --yes
}

test_format_records_and_usage_lists() {
	local id

	setup_kms
	fmt a.img db
	fmt b.img db
	fmt c.img other
	id=$(key_id db)
	[ "$(wc -l <registry)" = 3 ] || fail "registry: $(cat registry)"
	grep -q "\"device\":\"$T/a.img\"" registry || fail "registry: $(cat registry)"
	ctl_rc 0 kms usage alias/db
	out_has "CMK $id (alias/db) in local:$T/kms: 2 volumes"
	out_has "registry      current $T/a.img"
	out_has "registry      current $T/b.img"
	out_lacks "c.img"
	# by key id, the same
	ctl_rc 0 kms usage "$id"
	out_has "CMK $id (alias/db) in local:$T/kms: 2 volumes"
	# another KMS: another key, though the id is the same
	ctl_rc 0 kms usage "$id" --kms "local:$T/kms2"
	out_has "matching $id as the wrap slots recorded it"
	out_has "in local:$T/kms2: 0 volumes"
}

test_stale_entries() {
	setup_kms
	fmt a.img db
	fmt b.img db
	fmt c.img db
	rm b.img
	# formatted again under another key: the registry follows it
	ctl_rc 0 format c.img --key alias/other --yes
	ctl_rc 0 kms usage alias/db
	out_has "1 volume"
	out_lacks "c.img"
	out_has ", 1 stale registry entry"
	out_has "registry      stale   $T/b.img ($T/b.img is gone)"
	# a header overwritten by hand, which the registry cannot know
	dd if=/dev/zero of=a.img bs=64k count=1 conv=notrunc 2>/dev/null
	ctl_rc 0 kms usage alias/db --json
	/usr/bin/python3 - <<-'EOF' || fail "JSON: $(cat ctl.out)"
	import json
	d = json.load(open("ctl.out"))
	assert d["resolved"] and d["cmk_alias"] == "alias/db", d
	v = {x["device"].rsplit("/", 1)[1]: x for x in d["volumes"]}
	assert set(v) == {"a.img", "b.img"}, v
	assert v["a.img"]["state"] == "stale", v
	assert v["a.img"]["why"].endswith("has no envcrypt header now"), v
	assert v["b.img"]["state"] == "stale" and v["b.img"]["source"] == "registry", v
	assert v["b.img"]["slots"] == [0], v
	EOF
	# stale entries do not hold the key
	ctl_rc 0 kms disable-key alias/db
}

test_scan_finds_volumes_the_registry_lacks() {
	setup_kms
	mkdir -p images/deep
	fmt images/x.img db
	fmt images/deep/y.img db
	fmt images/z.img other
	: >images/empty
	rm registry
	ctl_rc 0 kms usage alias/db --scan images
	out_has "2 volumes"
	out_has "scan          current $T/images/x.img"
	out_has "scan          current $T/images/deep/y.img"
	out_lacks "z.img"
	# a file given by name, and registry + scan of the same volume
	fmt w.img db
	ctl_rc 0 kms usage alias/db --scan w.img --scan images/x.img
	out_has "registry+scan current $T/w.img"
	out_has "scan          current $T/images/x.img"
	ctl_rc 7 kms usage alias/db --scan nowhere
	out_has "envcryptctl: --scan nowhere: No such file or directory"
}

test_guard_refuses_while_in_use() {
	local id

	setup_kms
	fmt a.img db
	id=$(key_id db)
	ctl_rc 6 kms disable-key alias/db
	out_has "envcryptctl: CMK $id (alias/db) in local:$T/kms wraps the data key of 1 volume:"
	out_has "  volume $(sed -n 's/.*"volume":"\([^"]*\)".*/\1/p' registry) on $T/a.img"
	out_has "envcryptctl: kms disable-key: refused: CMK $id (alias/db) is in use by 1 volume; rewrap it under another CMK first ('envcryptctl rewrap DEVICE --key CMK'), or give --force"
	ctl_rc 6 kms schedule-deletion "$id" --days 7
	out_has "envcryptctl: kms schedule-deletion: refused: CMK $id (alias/db) is in use by 1 volume;"
	ctl_rc 0 kms describe-key alias/db
	out_has "state:         Enabled"
	# other keys are not held by it
	ctl_rc 0 kms disable-key alias/other
	ctl_rc 0 kms enable-key alias/other
	# --force: done, and in the audit log
	ctl_rc 0 kms disable-key alias/db --force
	out_has "envcryptctl: --force: going on with disable-key"
	out_has "state:         Disabled"
	grep -q "\"op\":\"force-key-change\",\"cmk\":\"$id\",\"kms\":\"local:$T/kms\",\"detail\":\"disable-key while in use by 1 volume: .* on $T/a.img\",\"result\":\"ok\"" audit.log ||
		fail "audit log: $(cat audit.log)"
	# disabling it again changes nothing: not refused
	ctl_rc 0 kms disable-key alias/db
	out_lacks "wraps the data key"
	ctl_rc 6 kms schedule-deletion alias/db --days 7
	ctl_rc 0 kms schedule-deletion alias/db --days 7 --force
	out_has "state:         PendingDeletion"
	# a key PendingDeletion: the KMS's own refusal, not the guard's
	ctl_rc 3 kms disable-key alias/db
	out_lacks "wraps the data key"
}

test_guard_lists_ten_and_more() {
	local i

	setup_kms
	for i in $(seq 12); do
		fmt "v$i.img" db
	done
	ctl_rc 6 kms disable-key alias/db
	out_has "wraps the data key of 12 volumes:"
	[ "$(grep -c '^  volume ' ctl.out)" = 10 ] || fail "listed: $(cat ctl.out)"
	out_has "  and 2 more (see 'envcryptctl kms usage alias/db')"
	out_has "is in use by 12 volumes; rewrap them under another CMK first"
}

test_guard_without_registry() {
	setup_kms
	export ENVCRYPT_REGISTRY=off
	fmt a.img db
	# nothing recorded: nothing to hold the key
	ctl_rc 0 kms usage alias/db
	out_has ": 0 volumes"
	ctl_rc 0 kms disable-key alias/db
	# an unreadable registry does not stop it either
	export ENVCRYPT_REGISTRY=$T/registry-dir
	mkdir registry-dir
	ctl_rc 0 kms enable-key alias/db
	ctl_rc 0 kms disable-key alias/db
	out_has "envcryptctl: warning: cannot read the volume registry"
}
