# SPDX-License-Identifier: GPL-2.0
#
# envcryptctl revoke, open --refresh and watch against the real target:
# with on_key_wipe:queue I/O waits while the key is revoked and completes
# after refresh; with on_key_wipe:error it fails with EIO until refresh;
# watch revokes the volumes whose CMK was disabled and leaves the others.
# Volumes are small image files on loop devices; the local KMS is $T/kms.

. /tests/envcrypt-lib.sh

# the audit log in $T
# shellcheck disable=SC2034 # read by ctl_env (envcrypt-lib.sh)
CTL_AUDIT_LOG=$T/audit.log

# new_volume NAME [OPEN_OPTIONS...]: CMK alias/NAME, a 4 MiB image
# NAME.img formatted under it, open as /dev/mapper/NAME; 256 KiB of random
# data written to NAME.data and the volume
new_volume() {
	local name=$1

	shift
	truncate -s 4M "$name.img"
	ctl kms create-key --spec AES_256 --alias "$name" ||
		fail "create-key: $(cat ctl.out)"
	ctl format "$PWD/$name.img" --key "alias/$name" --yes ||
		fail "format: $(cat ctl.out)"
	ctl open "$PWD/$name.img" "$name" "$@" || fail "open: $(cat ctl.out)"
	[ -b "/dev/mapper/$name" ] || fail "no /dev/mapper/$name"
	randfile "$name.data" 256
	write_file_to "/dev/mapper/$name" "$name.data"
}

# key_state NAME: "key:loaded kcv:..." or "key:none kcv:-"
key_state() {
	dmsetup status "$1" | grep -o 'key:.*'
}

# volume_uuid NAME
volume_uuid() {
	dmsetup info -c --noheadings -o uuid "$1" | sed 's/^ENVCRYPT-//'
}

test_revoke_queue_io_waits_until_refresh() {
	local reader kcv

	need_envcrypt
	new_volume q
	kcv=$(key_state q)
	ctl revoke q || fail "revoke: $(cat ctl.out)"
	out_has "q: revoked: the kernel holds no data key of volume $(volume_uuid q); the device stays suspended and I/O waits (on_key_wipe:queue) until 'envcryptctl open --refresh q'"
	assert_eq "key:none kcv:-" "$(key_state q)" "status after revoke"
	dmsetup info q | grep -q SUSPENDED || fail "revoked queue device is not suspended"
	ctl status q || fail "status: $(cat ctl.out)"
	out_has "on revoke:    queue (I/O waits)"
	out_has "key:          none (revoked: 'envcryptctl open --refresh q' loads it again)"
	grep -q '"op":"revoke","volume":"'"$(volume_uuid q)"'"' audit.log ||
		fail "no revoke in the audit log: $(cat audit.log)"

	# I/O issued now waits
	dd if=/dev/mapper/q of=read.out bs=4k count=64 iflag=direct 2>/dev/null &
	reader=$!
	sleep 1
	kill -0 $reader 2>/dev/null || fail "read completed without a data key"

	ctl revoke q || fail "second revoke: $(cat ctl.out)"
	out_has "q: already revoked: the kernel holds no data key"

	# not while the CMK is disabled
	ctl kms disable-key alias/q --force || fail "disable-key: $(cat ctl.out)"
	ctl_rc 3 open --refresh q
	out_has "(alias/q) is Disabled in local KMS"
	out_has "enable it to open this volume"
	assert_eq "key:none kcv:-" "$(key_state q)" "status after refused refresh"
	kill -0 $reader 2>/dev/null || fail "read completed while the CMK was disabled"

	ctl kms enable-key alias/q || fail "enable-key: $(cat ctl.out)"
	ctl open --refresh q || fail "refresh: $(cat ctl.out)"
	out_has "q: refreshed: the data key of volume $(volume_uuid q) unwrapped through wrap slot 0"
	wait $reader || fail "the waiting read failed after refresh"
	assert_eq "$(file_sha q.data)" "$(file_sha read.out)" "data read across revoke and refresh"
	assert_eq "$kcv" "$(key_state q)" "kernel key after refresh"
	dmsetup info q | grep -q ACTIVE || fail "not resumed after refresh"
	# the same device: nothing was recreated
	assert_eq "q" "$(dm_names)" "devices after refresh"
	ctl status q || fail "status: $(cat ctl.out)"
	out_has "matches the header"
	grep -q '"op":"refresh","volume":"'"$(volume_uuid q)"'".*"result":"ok"' audit.log ||
		fail "no refresh in the audit log: $(cat audit.log)"

	ctl_rc 1 open --refresh q
	out_has "'q' is not revoked: the kernel holds the data key of volume $(volume_uuid q); nothing to refresh"
	ctl close q || fail "close: $(cat ctl.out)"
}

test_revoke_error_mode_fails_io_until_refresh() {
	need_envcrypt
	new_volume e --on-revoke error
	dmsetup table e | grep -q " 1 on_key_wipe:error$" ||
		fail "table lacks on_key_wipe:error: $(dmsetup table e)"
	ctl revoke e || fail "revoke: $(cat ctl.out)"
	out_has "e: revoked: the kernel holds no data key of volume $(volume_uuid e); every I/O fails with EIO (on_key_wipe:error) until 'envcryptctl open --refresh e'"
	dmsetup info e | grep -q SUSPENDED && fail "revoked error device is suspended"
	assert_eq "key:none kcv:-" "$(key_state e)" "status after revoke"
	ctl status e || fail "status: $(cat ctl.out)"
	out_has "on revoke:    error (I/O fails with EIO)"

	dd if=/dev/mapper/e of=/dev/null bs=4k count=1 iflag=direct 2>err &&
		fail "read without a data key succeeded"
	grep -q "Input/output error" err || fail "read error was not EIO: $(cat err)"
	dd if=/dev/zero of=/dev/mapper/e bs=4k count=1 oflag=direct 2>err &&
		fail "write without a data key succeeded"
	grep -q "Input/output error" err || fail "write error was not EIO: $(cat err)"

	ctl open --refresh e || fail "refresh: $(cat ctl.out)"
	assert_eq "$(file_sha e.data)" "$(dev_sha /dev/mapper/e 256)" "data after refresh"
	dmsetup table e | grep -q " 1 on_key_wipe:error$" ||
		fail "refresh changed the table: $(dmsetup table e)"
}

test_watch_once_revokes_only_disabled_cmks() {
	need_envcrypt
	new_volume keep
	new_volume gone --on-revoke error
	ctl kms disable-key alias/gone --force || fail "disable-key: $(cat ctl.out)"
	ctl watch --once || fail "watch: $(cat ctl.out)"
	out_has "envcryptctl: watch: gone: volume $(volume_uuid gone): CMK "
	out_has "is Disabled in local:"
	out_has ": revoked; every I/O fails with EIO (on_key_wipe:error) until 'envcryptctl open --refresh gone'"
	out_has "keep: volume $(volume_uuid keep): CMK "
	out_has "is Enabled: kept open"
	assert_eq "key:none kcv:-" "$(key_state gone)" "revoked volume"
	key_state keep | grep -q "key:loaded" || fail "watch revoked a volume whose CMK is enabled"
	assert_eq "$(file_sha keep.data)" "$(dev_sha /dev/mapper/keep 256)" "data of the kept volume"
	grep -q '"op":"watch-revoke","volume":"'"$(volume_uuid gone)"'".*"detail":"CMK .* is Disabled in local:' audit.log ||
		fail "no watch-revoke in the audit log: $(cat audit.log)"

	ctl_rc 3 open --refresh gone
	out_has "(alias/gone) is Disabled"
	ctl kms enable-key alias/gone || fail "enable-key: $(cat ctl.out)"
	ctl open --refresh gone || fail "refresh: $(cat ctl.out)"
	assert_eq "$(file_sha gone.data)" "$(dev_sha /dev/mapper/gone 256)" "data after refresh"
}

test_watch_runs_until_sigterm() {
	local pid i

	need_envcrypt
	new_volume w
	(ctl_env; exec envcryptctl watch --interval 1) >watch.out 2>&1 &
	pid=$!
	sleep 1
	kill -0 $pid 2>/dev/null || fail "watch exited: $(cat watch.out)"
	key_state w | grep -q "key:loaded" || fail "watch revoked an enabled CMK's volume"
	ctl kms disable-key alias/w --force || fail "disable-key: $(cat ctl.out)"
	for i in 1 2 3 4 5 6 7 8 9 10; do
		[ "$(key_state w)" = "key:none kcv:-" ] && break
		sleep 1
	done
	assert_eq "key:none kcv:-" "$(key_state w)" "volume after its CMK was disabled under watch"
	kill -TERM $pid
	wait $pid || fail "watch exited with $? on SIGTERM: $(cat watch.out)"
	grep -q "watch: stopped by SIGTERM" watch.out || fail "no stop message: $(cat watch.out)"
	grep -q "watch: w: volume .*is Disabled in local:.*: revoked;" watch.out ||
		fail "revoke not logged: $(cat watch.out)"
	ctl kms enable-key alias/w || fail "enable-key: $(cat ctl.out)"
	ctl open --refresh w || fail "refresh: $(cat ctl.out)"
	assert_eq "$(file_sha w.data)" "$(dev_sha /dev/mapper/w 256)" "data after refresh"
}

test_revoke_refusals() {
	need_envcrypt
	ctl_rc 7 revoke nope
	out_has "envcryptctl: no open envcrypt volume 'nope'; see 'envcryptctl list'"
	dmsetup create plain --table "0 8 zero" || fail "dmsetup create plain"
	ctl_rc 7 revoke plain
	out_has "envcryptctl: no open envcrypt volume 'plain'; see 'envcryptctl list'"
	ctl_rc 7 open --refresh plain
	out_has "no open envcrypt volume 'plain'"
	ctl_rc 1 open x.img x --on-revoke hang
	out_has "envcryptctl: open: --on-revoke takes queue or error, not 'hang'"
	ctl_rc 1 watch --interval 0
	out_has "envcryptctl: watch: --interval 0 is out of range; use 1 to 86400 seconds"
	dmsetup remove plain
}

test_close_a_revoked_volume() {
	need_envcrypt
	new_volume c
	ctl revoke c || fail "revoke: $(cat ctl.out)"
	ctl close c || fail "close of a revoked, suspended volume: $(cat ctl.out)"
	assert_eq "" "$(dm_names)" "devices after close"
	# and it opens again, with its data
	ctl open "$PWD/c.img" c || fail "reopen: $(cat ctl.out)"
	assert_eq "$(file_sha c.data)" "$(dev_sha /dev/mapper/c 256)" "data after reopen"
}
