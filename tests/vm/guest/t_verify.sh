# SPDX-License-Identifier: GPL-2.0
#
# verify-at-rest against the real kernel target: a known plaintext (a
# text, repeated) written through /dev/mapper is nowhere on the raw
# device, and every sector it wrote is random; the same text in a plain,
# unencrypted image is found, with its offset (exit 2).  The local KMS
# lives in $T/kms, the volume registry in $T/registry.

. /tests/envcrypt-lib.sh

# the volume registry and the audit log in $T
# shellcheck disable=SC2034 # read by ctl_env (envcrypt-lib.sh)
CTL_REGISTRY=$T/registry CTL_AUDIT_LOG=$T/audit.log

# text BYTES: a known plaintext in text.txt
text() {
	yes "Call me Ishmael. Some years ago - never mind how long precisely -" |
		head -c "$1" >text.txt
}

# through DEVICE SPEC SECTOR_SIZE DATA_SECTORS: format DEVICE, write
# text.txt over the whole volume through /dev/mapper, close; then the
# raw device must hold no plaintext and only random written sectors
through() {
	local dev=$1 spec=$2 ss=$3 all=$4 n

	ctl_rc 0 kms create-key --spec "$spec" --alias "k-$spec"
	ctl_rc 0 format "$dev" --key "alias/k-$spec" --sector-size "$ss" --yes
	ctl_rc 0 open "$dev" v
	# fill the volume: the text, repeated (dd stops at its end)
	n=$((all * ss / $(stat -c %s text.txt) + 1))
	for _ in $(seq "$n"); do cat text.txt; done 2>/dev/null |
		dd of=/dev/mapper/v bs=64k iflag=fullblock oflag=direct \
			conv=fsync 2>/dev/null || true
	cmp -n "$(stat -c %s text.txt)" text.txt /dev/mapper/v ||
		fail "the text did not go through /dev/mapper/v"
	# open, and closed: the same answer
	ctl_rc 0 verify-at-rest "$dev" --plaintext text.txt
	out_has "not found (runs of 64 bytes or more, at any alignment, whole device)"
	ctl_rc 0 close v
	# every sector of the data area
	ctl_rc 0 verify-at-rest "$dev" --plaintext text.txt --samples "$all"
	out_has "sampled:      $all sectors ($all evenly spaced, 0 random)"
	out_has "unwritten:    0 (0.0%)"
	out_has "written:      $all"
	out_has "non-random:   0 sectors"
	out_has "plaintext:    text.txt ($(stat -c %s text.txt) bytes): not found"
	out_has "(alias/k-$spec) in local:$T/kms: Enabled"
	out_has "verdict:      encrypted"
	# the registry knows it
	ctl_rc 0 kms usage "alias/k-$spec"
	out_has ": 1 volume"
}

test_image_aes_512() {
	need_envcrypt
	text 300000
	truncate -s 6M disk.img
	through "$PWD/disk.img" AES_256 512 $((5 * 2048))
}

test_virtio_sm4_4096() {
	need_envcrypt
	scratch_disk >/dev/null
	text 100000
	through /dev/vda SM4 4096 $((63 * 256))
}

test_plain_image_names_the_offset() {
	text 8192
	truncate -s 4M plain.img
	dd if=text.txt of=plain.img bs=1 seek=1000000 conv=notrunc 2>/dev/null
	ctl_rc 2 verify-at-rest plain.img --plaintext text.txt
	out_has "plaintext:    text.txt (8192 bytes): FOUND 1 time: byte 1000000 (8192 bytes, file offset 0)"
	out_has "envcryptctl: plain.img: not encrypted at rest: text.txt is on the raw device at byte offset 1000000;"
	# and without the file, by the statistics of every sector
	ctl_rc 2 verify-at-rest plain.img --samples 8192
	out_has "non-random:   17 sectors at bytes 999936, 1000448,"
}

test_written_around_the_volume_is_found() {
	need_envcrypt
	text 4096
	truncate -s 4M disk.img
	ctl_rc 0 format "$PWD/disk.img" --yes
	ctl_rc 0 open "$PWD/disk.img" v
	head -c 1048576 /dev/urandom |
		dd of=/dev/mapper/v bs=64k oflag=direct conv=fsync 2>/dev/null
	# plaintext written to the raw device, not through the target
	dd if=text.txt of=disk.img bs=512 seek=$((2048 + 4096)) conv=notrunc,fsync \
		2>/dev/null
	ctl_rc 2 verify-at-rest "$PWD/disk.img" --plaintext text.txt --samples 100000
	out_has "is on the raw device at byte offset $(((2048 + 4096) * 512));"
	out_has "8 of 2056 written sectors sampled are not random"
	ctl_rc 0 close v
}
