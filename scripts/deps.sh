#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Install every Debian package that building, testing, the demo and the
# benchmarks need.  Idempotent: prints nothing when all are present.
# libclang-rt-14-dev (only recommended by clang) holds the libFuzzer,
# AddressSanitizer and UBSan runtimes of 'make fuzz' and 'make asan'.
set -eu

PACKAGES="
make gcc libc6-dev pkg-config cpio gzip kmod python3
libcmocka-dev libssl-dev libdevmapper-dev libkeyutils-dev libkmod-dev
linux-image-amd64 linux-headers-amd64
qemu-system-x86 qemu-utils busybox-static
dmsetup keyutils fio cryptsetup-bin e2fsprogs
sparse linux-source-6.1
python3-pykmip softhsm2 libp11-kit-dev openssl clang valgrind
libclang-rt-14-dev
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	     grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
