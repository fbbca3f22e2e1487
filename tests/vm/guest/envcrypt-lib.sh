# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the envcrypt guest tests: build table lines for the
# envcrypt target and for dm-crypt (the ciphertext oracle) from the same
# parameters, so every comparison uses identical settings.

# opts_for SECTOR_SIZE LARGE EXTRA...: the optional-argument group
opts_for() {
	local ss=$1 large=$2 n=0 list=""

	shift 2
	if [ "$ss" != 512 ]; then n=$((n + 1)); list="$list sector_size:$ss"; fi
	if [ "$large" = 1 ]; then n=$((n + 1)); list="$list iv_large_sectors"; fi
	for o in "$@"; do n=$((n + 1)); list="$list $o"; done
	[ "$n" = 0 ] || echo "$n$list"
}

# envcrypt_table LEN CIPHER KEY IVOFF DEV OFF SS LARGE [EXTRA...]
envcrypt_table() {
	local len=$1 cipher=$2 key=$3 ivoff=$4 dev=$5 off=$6 ss=$7 large=$8

	shift 8
	echo "0 $len envcrypt $cipher $key $ivoff $dev $off $(opts_for "$ss" "$large" "$@")"
}

# crypt_table LEN CIPHER KEY IVOFF DEV OFF SS LARGE: the same for dm-crypt
crypt_table() {
	echo "0 $1 crypt $2 $3 $4 $5 $6 $(opts_for "$7" "$8")"
}

# raw_sha DEV START_SECTOR COUNT: sha256 of raw sectors (ciphertext)
raw_sha() {
	sha256_range "$1" "$2" "$3"
}

# write_file_to DEV FILE [BS]: write FILE to the start of DEV, direct I/O
write_file_to() {
	dd if="$2" of="$1" bs="${3:-64k}" oflag=direct conv=fsync 2>/dev/null ||
		fail "write $2 to $1"
}

# file_sha FILE
file_sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# dev_sha DEV SIZE_KIB: sha256 of the first SIZE_KIB KiB of DEV, direct I/O
dev_sha() {
	dd if="$1" bs=1k count="$2" iflag=direct 2>/dev/null | sha256sum |
		cut -d' ' -f1
}

# kcv_of KEYFILE: the key check value the target must show for this key
kcv_of() {
	{ printf '%s' 'dm-envcrypt key check value v1'; cat "$1"; } |
		sha256sum | cut -c1-6
}

# loopdev FILE: attach FILE to a free loop device and print its name
loopdev() {
	local dev

	modprobe loop 2>/dev/null
	dev=$(losetup -f) || fail "no free loop device"
	losetup "$dev" "$1" || fail "losetup $dev $1"
	echo "$dev"
}
