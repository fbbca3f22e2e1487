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

# envcryptctl as the tests run it.  Its local KMS is $CTL_KMS_DIR: $T/kms
# unless a test file sets it; set empty, ENVCRYPT_KMS_DIR is left as it is
# (a test with only another KMS).  A test file may set CTL_REGISTRY and
# CTL_AUDIT_LOG (a path, or "off") for ENVCRYPT_REGISTRY and
# ENVCRYPT_AUDIT_LOG; unset, those are left as they are.

# ctl_env: export that environment; for a command ctl cannot run, e.g.
#   (ctl_env; exec envcryptctl watch) >watch.out 2>&1 &
ctl_env() {
	local kms=${CTL_KMS_DIR-$T/kms}

	if [ -n "$kms" ]; then export ENVCRYPT_KMS_DIR="$kms"; fi
	if [ -n "${CTL_REGISTRY-}" ]; then
		export ENVCRYPT_REGISTRY="$CTL_REGISTRY"
	fi
	if [ -n "${CTL_AUDIT_LOG-}" ]; then
		export ENVCRYPT_AUDIT_LOG="$CTL_AUDIT_LOG"
	fi
}

# ctl ARGS...: envcryptctl in that environment; its output in ctl.out
ctl() {
	(ctl_env; exec envcryptctl "$@") >ctl.out 2>&1
}

# ctl_rc EXPECTED_RC ARGS...: envcryptctl must exit with EXPECTED_RC
ctl_rc() {
	local want=$1 rc=0

	shift
	ctl "$@" || rc=$?
	[ "$rc" = "$want" ] ||
		fail "envcryptctl $*: exit $rc, expected $want: $(cat ctl.out)"
}

# out_has TEXT: the last envcryptctl output (ctl.out) contains TEXT
out_has() {
	grep -qF -- "$1" ctl.out || fail "output lacks '$1': $(cat ctl.out)"
}

# scratch_disk: the virtio disk, its first 4 MiB zeroed; prints its name
scratch_disk() {
	[ -b /dev/vda ] || fail "no virtio disk /dev/vda in the guest"
	dd if=/dev/zero of=/dev/vda bs=1M count=4 conv=fsync 2>/dev/null
	echo /dev/vda
}

# fill_and_sum DEV KiB: random data (in the file data) onto DEV, direct
# I/O; prints its sha256
fill_and_sum() {
	randfile data "$2"
	write_file_to "$1" data
	file_sha data
}
