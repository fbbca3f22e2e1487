# SPDX-License-Identifier: GPL-2.0
#
# envcryptctl end to end in the kernel with the pkcs11: KMS: a SoftHSM2
# token made in $T (the module and softhsm2-util are in the initramfs)
# holds the CMK, wraps the data key at format and unwraps it at open.
# Format, open, write, close, reopen, read back on the virtio disk and on
# an image file; the plaintext is not on the raw device; a disabled CMK
# refuses open.

. /tests/envcrypt-lib.sh

P11_MODULE=/usr/lib/softhsm/libsofthsm2.so
P11_PIN=guest-pin-4711
# no local KMS: the CMKs are on the token
# shellcheck disable=SC2034 # read by ctl_env (envcrypt-lib.sh)
CTL_KMS_DIR=

# token: a fresh SoftHSM2 token "envcrypt" in $T; its KMS URI in $URI
token() {
	[ -f "$P11_MODULE" ] && command -v softhsm2-util >/dev/null ||
		skip "no SoftHSM2 in the initramfs"
	mkdir -p "$T/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$T/tokens" >"$T/softhsm2.conf"
	export SOFTHSM2_CONF=$T/softhsm2.conf
	softhsm2-util --init-token --free --label envcrypt --pin "$P11_PIN" \
		--so-pin so-pin-1234 >/dev/null || fail "softhsm2-util --init-token"
	(umask 077; echo "$P11_PIN" >"$T/pin")
	URI="pkcs11:token=envcrypt?module-path=$P11_MODULE&pin-source=file:$T/pin"
}

# lifecycle DEVICE SECTOR_SIZE [URI]: a CMK on the token; format, open,
# write, close, reopen, read back; no plaintext on the raw device
lifecycle() {
	local dev=$1 ss=$2 uri=${3:-$URI} sum id

	ctl_rc 0 kms create-key --kms "$uri" --spec AES_256 --alias vol
	id=$(sed -n 's/^id: *//p' ctl.out)
	ctl_rc 0 format "$dev" --kms "$uri" --key alias/vol --sector-size "$ss" --yes
	out_has "aes-xts-plain64, sector size $ss, CMK $id (alias/vol) in $uri"
	ctl_rc 0 open "$dev" vol
	[ -b /dev/mapper/vol ] || fail "no /dev/mapper/vol"
	# 64 MiB - 1 MiB of header
	assert_eq $((63 * 2048)) "$(sectors /dev/mapper/vol)" "volume size"
	sum=$(fill_and_sum /dev/mapper/vol 2048)
	ctl_rc 0 status vol
	out_has "sector size:  $ss"
	out_has "matches the header"
	ctl_rc 0 close vol
	[ -z "$(dm_names)" ] || fail "devices left after close: $(dm_names)"

	# the plaintext is not on the raw device
	dd if="$dev" bs=1M skip=1 count=2 2>/dev/null | cmp -s - data &&
		fail "plaintext on the raw device"
	grep -qaF "$P11_PIN" "$dev" && fail "the PIN is on the device"

	ctl_rc 0 open "$dev" vol2
	assert_eq "$sum" "$(dev_sha /dev/mapper/vol2 2048)" "data after reopen"
	ctl_rc 0 close vol2
}

test_virtio_pkcs11_gcm_512() {
	need_envcrypt
	token
	lifecycle "$(scratch_disk)" 512
}

test_image_file_pkcs11_kwp_4096() {
	need_envcrypt
	token
	truncate -s 64M disk.img
	lifecycle "$PWD/disk.img" 4096 "$URI&mechanism=aes-key-wrap-pad"
	assert_eq "" "$(ls /sys/block/loop*/loop/backing_file 2>/dev/null)" \
		"loop devices"
}

test_pkcs11_disabled_cmk_refuses_open() {
	local id

	need_envcrypt
	token
	truncate -s 8M disk.img
	ctl_rc 0 kms create-key --kms "$URI" --spec AES_256 --alias db
	id=$(sed -n 's/^id: *//p' ctl.out)
	ctl_rc 0 format disk.img --kms "$URI" --key alias/db --yes
	ctl_rc 0 kms disable-key --kms "$URI" alias/db --force
	ctl_rc 3 open disk.img v
	out_has "disk.img: CMK $id (alias/db) is Disabled on PKCS#11 token 'envcrypt'; enable it to open this volume"
	[ -z "$(dm_names)" ] || fail "a device was created"
	ctl_rc 0 kms enable-key --kms "$URI" alias/db
	ctl_rc 0 open disk.img v
	ctl_rc 0 close v
}
