# SPDX-License-Identifier: GPL-2.0
#
# convert, copy and snapshot on image files with a local KMS: the results
# open (--verify-only), their plaintext (decrypted by image-digest, which
# prints only a digest) is the source's, their raw bytes are not; and
# every refusal with its message and exit code.  The kernel's view of the
# same images is checked in tests/vm/guest/t_image.sh.

setup_file() {
	cc -O2 -D_GNU_SOURCE -I"$TOP/tools/lib" -I"$TOP/include" \
		-o "$PEER_TMP/image-digest" "$PEERS/tools/image-digest.c" \
		"$TOP/build/tools/libenvcrypt.a" \
		-lssl -lcrypto -ldevmapper -lkeyutils -lkmod
}

setup_keys() {
	export ENVCRYPT_KMS_DIR=$T/kms ENVCRYPT_REGISTRY=off
	ctl_rc 0 kms create-key --spec AES_256 --alias a
	ctl_rc 0 kms create-key --spec SM4 --alias s
	ctl_rc 0 kms create-key --spec AES_256 --alias b
}

# digest VOLUME BYTES: sha256 of the first BYTES of its plaintext
digest() {
	"$PEER_TMP/image-digest" "$1" "$2" || fail "image-digest $1"
}

# vol_uuid VOLUME: its volume UUID, from dump
vol_uuid() {
	ctl_rc 0 dump "$1"
	sed -n 's/^volume: *//p' ctl.out
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# plain FILE KiB: random content
plain() {
	head -c "$(($2 * 1024))" /dev/urandom >"$1"
}

# not_raw VOLUME FILE: no 4 KiB of FILE appears raw in VOLUME
not_raw() {
	head -c 4096 "$2" >"$T/needle"
	! grep -qaF -f <(xxd -p "$T/needle" | tr -d '\n'; echo) \
		<(xxd -p "$1" | tr -d '\n') || fail "plaintext of $2 raw in $1"
}

# convert_check CMK EXTRA_ARGS CIPHER SS
convert_check() {
	local key=$1 args=$2 cipher=$3 ss=$4 size

	plain src 3000
	printf 'tail' >>src	# not a whole number of sectors
	size=$(stat -c %s src)
	ctl_rc 0 convert src dst --key "$key" $args
	out_has "src -> dst: converted: volume "
	out_has "$cipher, sector size $ss"
	# 1 MiB of header area, the data rounded up to whole sectors
	assert_eq $((1048576 + (size + ss - 1) / ss * ss)) \
		"$(stat -c %s dst)" "size of dst"
	ctl_rc 0 open --verify-only dst
	assert_eq "$(sha src)" "$(digest dst "$size")" "plaintext of dst"
	not_raw dst src
	grep -q '"op":"convert"' "$ENVCRYPT_AUDIT_LOG" ||
		fail "no convert in the audit log"
}

test_convert_aes_512() {
	setup_keys
	convert_check alias/a "" aes-xts-plain64 512
}

test_convert_sm4_4096() {
	setup_keys
	convert_check alias/s "--sector-size 4096" sm4-xts-plain64 4096
}

test_convert_refusals() {
	setup_keys
	plain src 1024
	ctl_rc 1 convert src
	out_has "envcryptctl: convert: give SOURCE DEST, or --to-dir DIR SOURCE..."
	ctl_rc 7 convert nosuch dst --key alias/a
	out_has "envcryptctl: nosuch: No such file or directory"
	[ ! -e dst ] || fail "dst made for a missing source"
	: >taken
	ctl_rc 6 convert src taken --key alias/a
	out_has "envcryptctl: taken: the file exists; give a new file name (an existing file is never overwritten) or a block device"
	ctl_rc 0 convert src vol --key alias/a
	ctl_rc 1 convert vol vol2 --key alias/a
	out_has "envcryptctl: vol: already an envcrypt volume ("
	out_has "use 'envcryptctl copy' to copy it under another CMK"
	ctl_rc 1 convert src src --key alias/a
	out_has "envcryptctl: src: the source and the destination are the same"
	ctl_rc 0 kms disable-key alias/b --force
	ctl_rc 3 convert src dst --key alias/b
	out_has "is Disabled"
	[ ! -e dst ] || fail "dst left behind after a refused CMK"
	: >empty
	ctl_rc 1 convert empty dst --key alias/a
	out_has "envcryptctl: empty: empty; there is nothing to convert"
}

# several sources: one missing, one whose destination exists; the
# others are converted, each outcome reported, the first failure's code
test_convert_to_dir() {
	setup_keys
	mkdir out
	plain one 512
	plain two 700
	plain three 300
	: >out/three
	ctl_rc 7 convert --to-dir out one missing two three --key alias/a
	out_has "one -> out/one: converted: volume "
	out_has "envcryptctl: missing -> out/missing: failed: missing: No such file or directory"
	out_has "two -> out/two: converted: volume "
	out_has "envcryptctl: three -> out/three: failed: out/three: the file exists"
	out_has "converted 2 of 4"
	assert_eq "$(sha one)" "$(digest out/one 524288)" "plaintext of one"
	assert_eq "$(sha two)" "$(digest out/two 716800)" "plaintext of two"
	[ ! -e out/missing ] || fail "out/missing made"
	assert_eq 0 "$(stat -c %s out/three)" "out/three untouched"
}

copy_check() {
	local args=$1 what=$2

	plain src 2048
	ctl_rc 0 convert src vol --key alias/a --sector-size 4096
	ctl_rc 0 copy vol cp --key alias/b $args
	out_has "vol -> cp: copied$what: volume "
	out_has "sector size 4096, CMK "
	ctl_rc 0 dump cp
	out_has "alias/b"
	ctl_rc 0 open --verify-only cp
	assert_eq "$(sha src)" "$(digest cp 2097152)" "plaintext of the copy"
	# the copy has a UUID of its own
	[ -n "$(vol_uuid cp)" ] && [ "$(vol_uuid vol)" != "$(vol_uuid cp)" ] ||
		fail "same volume UUID"
	grep -q '"op":"copy"' "$ENVCRYPT_AUDIT_LOG" ||
		fail "no copy in the audit log"
}

test_copy_same_data_key() {
	setup_keys
	copy_check "" ""
	# the ciphertext is the same: same data key
	cmp -s <(tail -c +1048577 vol) <(tail -c +1048577 cp) ||
		fail "copy without --reencrypt changed the ciphertext"
	# the source's CMK disabled: the copy still opens through its own
	ctl_rc 0 kms disable-key alias/a --force
	ctl_rc 3 open --verify-only vol
	ctl_rc 0 open --verify-only cp
}

test_copy_reencrypt() {
	setup_keys
	copy_check --reencrypt " with a new data key"
	cmp -s <(tail -c +1048577 vol) <(tail -c +1048577 cp) &&
		fail "copy --reencrypt kept the ciphertext"
	# and into another cipher
	ctl_rc 0 copy vol cp2 --key alias/s --reencrypt --cipher sm4-xts-plain64
	out_has "sm4-xts-plain64, sector size 4096"
	assert_eq "$(sha src)" "$(digest cp2 2097152)" "plaintext of the SM4 copy"
}

test_copy_refusals() {
	setup_keys
	plain src 1024
	ctl_rc 0 convert src vol --key alias/a
	ctl_rc 1 copy vol cp
	out_has "envcryptctl: copy: give the CMK of the copy with --key CMK"
	ctl_rc 1 copy vol cp --key alias/b --cipher sm4-xts-plain64
	out_has "envcryptctl: copy: --cipher needs --reencrypt (without it the data is copied as ciphertext)"
	ctl_rc 5 copy src cp --key alias/b
	out_has "envcryptctl: src: not an envcrypt volume (no header); use 'envcryptctl convert' for an unencrypted image"
	ctl_rc 3 copy vol cp --key alias/nosuch
	[ ! -e cp ] || fail "cp left behind"
	ctl_rc 0 kms disable-key alias/a --force
	ctl_rc 3 copy vol cp --key alias/b
	[ ! -e cp ] || fail "cp left behind"
}

test_snapshot_closed() {
	setup_keys
	plain src 1500
	ctl_rc 0 convert src vol --key alias/s
	ctl_rc 0 snapshot vol snap
	out_has "vol -> snap: snapshot: volume "
	out_has "sm4-xts-plain64, sector size 512"
	ctl_rc 0 open --verify-only snap
	assert_eq "$(sha src)" "$(digest snap 1536000)" "plaintext of the snapshot"
	cmp -s <(tail -c +1048577 vol) <(tail -c +1048577 snap) ||
		fail "the snapshot's ciphertext differs"
	# a new volume UUID, and the wrap re-bound to it: the source's wrapped
	# key does not open the snapshot's header (open checks the context)
	[ -n "$(vol_uuid snap)" ] && [ "$(vol_uuid vol)" != "$(vol_uuid snap)" ] ||
		fail "the snapshot has the source's UUID"
	grep -q '"op":"snapshot"' "$ENVCRYPT_AUDIT_LOG" ||
		fail "no snapshot in the audit log"
	ctl_rc 5 snapshot src snap2
	out_has "not an envcrypt volume (no header)"
	ctl_rc 6 snapshot vol snap
	out_has "envcryptctl: snap: the file exists"
}

# a 512-byte-sector volume whose data is not whole 4096-byte sectors, into
# 4096-byte sectors: the last sector grows, nothing is cut off
test_copy_reencrypt_to_bigger_sectors_keeps_the_tail() {
	local size

	setup_keys
	plain src 3000
	printf 'tail' >>src
	size=$(stat -c %s src)
	ctl_rc 0 convert src vol --key alias/a --sector-size 512
	ctl_rc 0 copy vol cp --key alias/b --reencrypt --sector-size 4096
	out_has "aes-xts-plain64, sector size 4096"
	assert_eq $((1048576 + (size + 4095) / 4096 * 4096)) \
		"$(stat -c %s cp)" "size of cp"
	ctl_rc 0 open --verify-only cp
	assert_eq "$(sha src)" "$(digest cp "$size")" "plaintext of cp"
	ctl_rc 1 copy vol cp2 --key alias/b --sector-size 4096
	out_has "envcryptctl: copy: --sector-size needs --reencrypt (without it the data is copied as ciphertext)"
}

# on a terminal (a pty from script(1)) convert draws a progress bar with
# rate and ETA that ends at 100%; without one it prints no bar
test_convert_progress_on_a_terminal() {
	setup_keys
	plain src 16384
	script -qec "$ENVCRYPTCTL convert src dst --key alias/a" /dev/null \
		>tty.out 2>&1 || fail "convert on a pty: $(cat tty.out)"
	tr '\r' '\n' <tty.out >bar.out
	grep -qE '^\[#+\] 100%  16\.0 MiB / 16\.0 MiB  [0-9.]+ MB/s  ETA 0:00' \
		bar.out || fail "no final progress line: $(cat -v tty.out)"
	ctl_rc 0 convert src dst2 --key alias/a
	! grep -q 'ETA' ctl.out || fail "a bar without a terminal: $(cat ctl.out)"
}
