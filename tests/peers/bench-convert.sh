#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The bulk data path, natively on this host: `envcryptctl convert` and
# `copy --reencrypt` of a BENCH_MIB (1024) MiB image file, AES-XTS and
# SM4-XTS, beside `qemu-img convert -O luks` of the same file (PBKDF
# iter-time 10 ms, so that only the data path is compared) and OpenSSL's
# own single-core `openssl speed -evp aes-256-xts`, all in this run:
#
#   convert aes-xts-plain64:  <MB/s>  qemu-img luks <MB/s>  ratio <x>  (<fraction> of OpenSSL single-core <MB/s>)
#
# Every envcryptctl run also reads each chunk back and compares it, which
# qemu-img does not.  The files live in BENCH_DIR (default: a new
# directory under /var/tmp, on disk: tmpfs would hide the I/O).
# Never fails on timings; exits 1 when a tool is missing or a run fails.
#
#   tests/peers/bench-convert.sh

set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
ENVCRYPTCTL=$TOP/build/bin/envcryptctl
MIB=${BENCH_MIB:-1024}

[ -x "$ENVCRYPTCTL" ] || make -C "$TOP" tools >/dev/null ||
	{ echo "bench-convert: cannot build envcryptctl" >&2; exit 1; }
command -v qemu-img >/dev/null || "$TOP/scripts/deps.sh" ||
	{ echo "bench-convert: qemu-img is missing (make deps)" >&2; exit 1; }

DIR=$(mktemp -d "${BENCH_DIR:-/var/tmp}/envcrypt-bench-convert.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
trap 'exit 130' INT TERM
export ENVCRYPT_KMS_DIR=$DIR/kms ENVCRYPT_AUDIT_LOG=off ENVCRYPT_REGISTRY=off
cd "$DIR" || exit 1

die() {
	echo "bench-convert: $*" >&2
	exit 1
}

# seconds CMD...: wall time of CMD, in seconds (3 decimals)
seconds() {
	local t0 t1

	t0=$(date +%s.%N)
	"$@" >"$DIR/out" 2>&1 || die "$* failed: $(cat "$DIR/out")"
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

mbs() {
	echo "scale=0; $MIB * 1.048576 / $1" | bc -l
}

ratio() {
	printf "%.2f" "$(echo "scale=4; $1 / $2" | bc -l)"
}

# openssl_mbs CIPHER: OpenSSL's single-core speed on 16 KiB blocks, MB/s
openssl_mbs() {
	openssl speed -evp "$1" -seconds 2 -bytes 16384 2>/dev/null |
		awk 'END { sub(/k$/, "", $NF); printf "%d\n", $NF / 1000 }'
}

head -c $((MIB * 1048576)) /dev/urandom >src || die "cannot write $DIR/src"
sync
"$ENVCRYPTCTL" kms create-key --spec AES_256 --alias a >/dev/null &&
	"$ENVCRYPTCTL" kms create-key --spec AES_256 --alias b >/dev/null &&
	"$ENVCRYPTCTL" kms create-key --spec SM4 --alias s >/dev/null &&
	"$ENVCRYPTCTL" kms create-key --spec SM4 --alias t >/dev/null ||
	die "cannot create CMKs"

ossl_aes=$(openssl_mbs aes-256-xts)
echo "bench-convert: $MIB MiB in $DIR; OpenSSL aes-256-xts single-core: $ossl_aes MB/s; $(nproc) CPUs"

# qemu_luks ALG: MB/s of qemu-img convert -O luks, or "" when unsupported
qemu_luks() {
	local t

	rm -f out.luks
	t=$(seconds qemu-img convert -f raw -O luks \
		--object secret,id=sec0,data=benchmark \
		-o "key-secret=sec0,iter-time=10,cipher-alg=$1" src out.luks) ||
		return 0
	rm -f out.luks
	mbs "$t"
}

for cipher in aes-xts-plain64 sm4-xts-plain64; do
	case $cipher in
	aes*) k1=alias/a k2=alias/b alg=aes-256 ;;
	*) k1=alias/s k2=alias/t alg=sm4 ;;
	esac
	rm -f vol copy
	t=$(seconds "$ENVCRYPTCTL" convert src vol --key $k1) || exit 1
	conv=$(mbs "$t")
	t=$(seconds "$ENVCRYPTCTL" copy vol copy --key $k2 --reencrypt) || exit 1
	reenc=$(mbs "$t")
	rm -f vol copy
	qemu=$(qemu_luks $alg 2>/dev/null)
	for what in convert "copy --reencrypt"; do
		[ "$what" = convert ] && v=$conv || v=$reenc
		line=$(printf '%-17s %s: %6s MB/s' "$what" "$cipher" "$v")
		if [ -n "$qemu" ]; then
			line="$line  qemu-img luks $qemu MB/s  ratio $(ratio "$v" "$qemu")"
		else
			line="$line  qemu-img luks: no $alg"
		fi
		[ "$alg" = aes-256 ] &&
			line="$line  ($(ratio "$v" "$ossl_aes") of OpenSSL single-core $ossl_aes MB/s)"
		echo "$line"
	done
done
