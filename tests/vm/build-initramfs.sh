#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the test guest's initramfs (gzip'd newc cpio): busybox, the kernel
# modules the tests need (plus kernel/dm-envcrypt.ko if built), dmsetup,
# cryptsetup, fio, keyctl, e2fsprogs, kmod and SoftHSM2 with their libraries,
# and the guest scripts from tests/vm/guest/ (as /init and /tests).
#
#   tests/vm/build-initramfs.sh OUT.cpio.gz
#
# Environment:
#   KVER                    guest kernel (default: newest in /lib/modules)
#   ENVCRYPT_MODULE         the module (default: kernel/dm-envcrypt.ko)
#   ENVCRYPT_EXTRA_MODULES  more kernel modules to include
#   ENVCRYPT_EXTRA_BINS     more programs (names on PATH, or paths)

set -euo pipefail

usage() {
	echo "usage: $0 OUT.cpio.gz" >&2
	exit 2
}

[ $# -eq 1 ] || usage
out=$1
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
KVER=${KVER:-$(ls -1 /lib/modules | sort -V | tail -n 1)}
module=${ENVCRYPT_MODULE:-$top/kernel/dm-envcrypt.ko}
export PATH="$PATH:/usr/sbin:/sbin"

MODULES="dm-mod dm-crypt dm-flakey dm-delay dm-zero brd loop null_blk virtio_pci virtio_blk
	xts ecb cryptd crypto_simd aesni-intel
	ext4 jbd2 mbcache crc16 crc32c-intel crc32c_generic
	${ENVCRYPT_EXTRA_MODULES:-}"
# programs (names on PATH, or paths): the guest gets /bin/NAME
BINS="dmsetup keyctl fio cryptsetup mke2fs e2fsck kmod bash
	${ENVCRYPT_EXTRA_BINS:-}"
# the project's own test programs, built by "make check-vm" into build/bin
for b in "$top"/build/bin/*; do
	[ -x "$b" ] && BINS="$BINS $b"
done
# name=target: symlinks in /bin (programs that look at argv[0])
LINKS="mkfs.ext4=mke2fs mkfs.ext2=mke2fs fsck.ext4=e2fsck
	modprobe=kmod insmod=kmod rmmod=kmod lsmod=kmod depmod=kmod
	modinfo=kmod"

die() {
	echo "build-initramfs: $*" >&2
	exit 1
}

[ -d "/lib/modules/$KVER/kernel" ] ||
	die "no modules for '$KVER' in /lib/modules"
command -v busybox >/dev/null || die "busybox not installed (busybox-static)"

root=$(mktemp -d "${TMPDIR:-/tmp}/envcrypt-initramfs.XXXXXX")
trap 'rm -rf "$root" "$out.tmp"' EXIT

# Layout: everything executable in /bin (sbin, usr/bin, usr/sbin link to it).
mkdir -p "$root"/{bin,dev,etc,lib,lib64,mnt,proc,run,sys,tmp,tests,usr/lib}
ln -s bin "$root/sbin"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"

# busybox and its applets
cp "$(command -v busybox)" "$root/bin/busybox"
for applet in $(busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done

# copy_lib FILE: copy a library (following links) to the same path in root
copy_lib() {
	local dst=$root$1

	[ -e "$dst" ] && return 0
	mkdir -p "$(dirname "$dst")"
	cp -L "$1" "$dst"
}

# install_bin NAME|PATH: copy a program and its libraries into /bin
install_bin() {
	local src dst lib

	src=$(command -v "$1") || die "program '$1' not found"
	dst=$root/bin/$(basename "$1")
	rm -f "$dst"	# maybe a busybox applet link: don't write through it
	cp -L "$src" "$dst"
	for lib in $(ldd "$src" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
					$1 ~ /^\// { print $1 }'); do
		copy_lib "$lib"
	done
}

for bin in $BINS; do
	install_bin "$bin"
done

# SoftHSM2, a PKCS#11 token for t_pkcs11.sh: the module is dlopen()ed by
# envcryptctl (no ldd finds it), softhsm2-util makes the token
p11_module=/usr/lib/softhsm/libsofthsm2.so
if [ -f "$p11_module" ] && command -v softhsm2-util >/dev/null; then
	install_bin softhsm2-util
	# the module and the link to it, as on the host (softhsm2-util
	# loads it by its real path)
	p11_real=$(readlink -f "$p11_module")
	copy_lib "$p11_real"
	if [ "$p11_real" != "$p11_module" ]; then
		mkdir -p "$root$(dirname "$p11_module")"
		ln -sf "$p11_real" "$root$p11_module"
	fi
	for lib in $(ldd "$p11_module" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
		copy_lib "$lib"
	done
	mkdir -p "$root/etc/softhsm" "$root/var/lib/softhsm/tokens"
	printf 'directories.tokendir = /var/lib/softhsm/tokens/\nobjectstore.backend = file\nlog.level = ERROR\n' \
		>"$root/etc/softhsm/softhsm2.conf"
else
	echo "build-initramfs: warning: no SoftHSM2; the PKCS#11 tests" \
	     "will be skipped" >&2
fi

for link in $LINKS; do
	name=${link%%=*}
	target=${link#*=}
	rm -f "$root/bin/$name"
	ln -s "$target" "$root/bin/$name"
done

[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/"
cat >"$root/etc/ld.so.conf" <<EOF
/lib/x86_64-linux-gnu
/usr/lib/x86_64-linux-gnu
EOF
ldconfig -r "$root"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"

# Kernel modules with their dependencies, then depmod for the guest's modprobe.
mods=/lib/modules/$KVER
for m in $MODULES; do
	modprobe --show-depends -S "$KVER" "$m" ||
		die "kernel module '$m' not found for $KVER"
done | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r ko; do
	mkdir -p "$root$(dirname "$ko")"
	cp "$ko" "$root$ko"
done
cp "$mods"/modules.order "$mods"/modules.builtin* "$root$mods/"

if [ -f "$module" ]; then
	mkdir -p "$root$mods/extra"
	cp "$module" "$root$mods/extra/dm-envcrypt.ko"
	# its own dependencies, if it has any we don't have yet
	deps=$(modinfo -F depends "$module" | tr ',' ' ')
	for m in $deps; do
		modprobe --show-depends -S "$KVER" "$m"
	done | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r ko; do
		[ -e "$root$ko" ] && continue
		mkdir -p "$root$(dirname "$ko")"
		cp "$ko" "$root$ko"
	done
else
	echo "build-initramfs: warning: $module not found; the image has" \
	     "no dm-envcrypt (its tests will be skipped)" >&2
fi
depmod -b "$root" "$KVER"

# guest scripts
cp -R "$here/guest/." "$root/tests/"
mv "$root/tests/init" "$root/init"
chmod 755 "$root/init" "$root"/tests/*.sh

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
