#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unwrap latency per KMS provider, on this host against peers on 127.0.0.1:
# for each provider available (local, kmip via pykmip-server, pkcs11 via a
# SoftHSM2 token in a temporary directory, exec via the example plugin),
# format an 8 MiB image file, then time BENCH_OPENS (100) runs of
# `envcryptctl open --verify-only` one by one, and print one line each:
#
#   unwrap kmip: median 41.2 ms, p99 55.0 ms (100 opens, one TLS connection each)
#
# A run is a whole envcryptctl process: header read, KMS connection, unwrap
# and key check.  Then build/bin/envcrypt-unwrap-bench unwraps BENCH_OPENS
# times through one open KMS (a reused TLS connection or PKCS#11 session):
#
#   unwrap kmip reused: median 3.1 ms, p99 4.0 ms (100 unwraps)
#
# A provider that cannot run here is reported as skipped.
# Never fails on timings; exits 1 only when no provider could be measured.
#
#   tests/peers/bench-unwrap.sh [PROVIDER...]     (default: all)

set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PEERS=$TOP/tests/peers
ENVCRYPTCTL=$TOP/build/bin/envcryptctl
ELAPSED=$TOP/build/bin/elapsed-us
REUSED=$TOP/build/bin/envcrypt-unwrap-bench
OPENS=${BENCH_OPENS:-100}
export TOP PEERS ENVCRYPTCTL
export ENVCRYPT_AUDIT_LOG=off

PEER_TMP=$(mktemp -d /tmp/envcrypt-bench.XXXXXX)
export PEER_TMP
PEER_VERDICT=$PEER_TMP/verdict
export PEER_VERDICT
. "$PEERS/lib.sh"
. "$PEERS/kmip.sh"
trap 'stop_all_bg; rm -rf "$PEER_TMP"' EXIT
trap 'exit 130' INT TERM

[ -x "$ENVCRYPTCTL" ] || make -C "$TOP" tools >/dev/null ||
	{ echo "bench-unwrap: cannot build envcryptctl" >&2; exit 1; }
[ -x "$ELAPSED" ] || make -C "$TOP" build/bin/elapsed-us >/dev/null ||
	{ echo "bench-unwrap: cannot build elapsed-us" >&2; exit 1; }
[ -x "$REUSED" ] || make -C "$TOP" build/bin/envcrypt-unwrap-bench >/dev/null ||
	{ echo "bench-unwrap: cannot build envcrypt-unwrap-bench" >&2; exit 1; }

measured=0

# skipped PROVIDER WHY
skipped() {
	echo "unwrap $1: skipped ($2)"
}

# bench PROVIDER NOTE URI: format img with a new CMK in URI, then time the
# opens; prints the provider's line
bench() {
	local name=$1 note=$2 uri=$3 dir=$PEER_TMP/$1 i us

	mkdir -p "$dir"
	cd "$dir" || return
	if ! "$ENVCRYPTCTL" kms create-key --spec AES_256 --kms "$uri" --alias "bench-$name" \
			>create.out 2>&1; then
		skipped "$name" "create-key: $(tail -n 1 create.out)"
		return
	fi
	image img
	if ! "$ENVCRYPTCTL" format img --kms "$uri" --key "alias/bench-$name" \
			--yes >format.out 2>&1; then
		skipped "$name" "format: $(tail -n 1 format.out)"
		return
	fi
	: >times
	for i in $(seq "$OPENS"); do
		if ! "$ELAPSED" "$ENVCRYPTCTL" open --verify-only img \
				>open.out 2>elapsed.out; then
			skipped "$name" "open failed on run $i: $(grep -v '^elapsed-us:' elapsed.out | tail -n 1)"
			return
		fi
		us=$(sed -n 's/^elapsed-us: //p' elapsed.out)
		echo "$us" >>times
	done
	sort -n times | awk -v name="$name" -v note="$note" '
		{ t[NR] = $1 }
		END {
			n = NR
			# median: mean of the middle two for an even count;
			# p99: nearest rank, ceil(0.99 n)
			if (n % 2) med = t[(n + 1) / 2]
			else med = (t[n / 2] + t[n / 2 + 1]) / 2
			r = int(0.99 * n); if (r < 0.99 * n) r++
			if (r < 1) r = 1
			printf "unwrap %s: median %.1f ms, p99 %.1f ms (%d opens%s)\n",
				name, med / 1000, t[r] / 1000, n, note
		}'
	if "$REUSED" img "$OPENS" >reused.out 2>&1; then
		echo "unwrap $name $(cat reused.out)"
	else
		echo "unwrap $name reused: failed: $(tail -n 1 reused.out)"
	fi
	measured=$((measured + 1))
}

bench_local() {
	bench local "" "local:$PEER_TMP/local-kms"
}

bench_kmip() {
	local why

	why=$(kmip_available) || { skipped kmip "$why"; return; }
	kmip_server_start "$PEER_TMP/kmip" >"$PEER_TMP/kmip-start.log" 2>&1 || {
		skipped kmip "pykmip-server did not start: $(tail -n 1 "$PEER_TMP/kmip-start.log")"
		return
	}
	bench kmip ", one TLS connection each" "$KMIP_URI"
	kmip_server_stop
}

SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so

bench_pkcs11() {
	local dir=$PEER_TMP/softhsm

	[ -r "$SOFTHSM_MODULE" ] && command -v softhsm2-util >/dev/null || {
		skipped pkcs11 "SoftHSM2 is not installed (apt install softhsm2)"
		return
	}
	mkdir -p "$dir/tokens"
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$dir" >"$dir/softhsm2.conf"
	export SOFTHSM2_CONF=$dir/softhsm2.conf
	printf '1234' >"$dir/pin"
	chmod 600 "$dir/pin"
	softhsm2-util --init-token --free --label bench --pin 1234 \
		--so-pin 5678 >"$dir/init.out" 2>&1 || {
		skipped pkcs11 "softhsm2-util --init-token: $(tail -n 1 "$dir/init.out")"
		return
	}
	bench pkcs11 ", one PKCS#11 session each" \
		"pkcs11:token=bench?module-path=$SOFTHSM_MODULE&pin-source=$dir/pin"
}

bench_exec() {
	local plugin=$TOP/examples/kms-plugin/envcrypt-kms-keyfile

	[ -x "$plugin" ] || {
		skipped exec "no example plugin $plugin"
		return
	}
	# the example plugin keeps its keys in the directory
	# $ENVCRYPT_KEYFILE_DIR (mode 0700)
	export ENVCRYPT_KEYFILE_DIR=$PEER_TMP/exec-keys
	mkdir -m 700 -p "$ENVCRYPT_KEYFILE_DIR"
	bench exec ", one plugin run each" "exec:$plugin"
}

providers=("$@")
[ ${#providers[@]} -gt 0 ] || providers=(local kmip pkcs11 exec)
for p in "${providers[@]}"; do
	case $p in
	local | kmip | pkcs11 | exec) "bench_$p" ;;
	*) echo "bench-unwrap: no provider '$p' (local, kmip, pkcs11, exec)" >&2 ;;
	esac
done
[ "$measured" -gt 0 ]
