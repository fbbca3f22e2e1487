# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the peer tests (bash): envcryptctl on the host against real
# KMS peers (pykmip-server, a SoftHSM2 token, plugins).  run.sh sources
# this, then a t_*.sh file; see run.sh for how tests are run.

# fail MESSAGE: the current test failed, because MESSAGE
fail() {
	echo "fail: $*" >>"$PEER_VERDICT"
	echo "FAIL: $*" >&2
	exit 1
}

# skip MESSAGE: the current test cannot run here, because MESSAGE
skip() {
	echo "skip: $*" >>"$PEER_VERDICT"
	exit 0
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

# ctl ARGS...: envcryptctl; its output (stdout and stderr) in ctl.out
ctl() {
	"$ENVCRYPTCTL" "$@" >ctl.out 2>&1
}

# ctl_rc EXPECTED_RC ARGS...: envcryptctl must exit with EXPECTED_RC
ctl_rc() {
	local want=$1 rc=0

	shift
	ctl "$@" || rc=$?
	[ "$rc" = "$want" ] ||
		fail "envcryptctl $*: exit $rc, expected $want: $(cat ctl.out)"
}

# out_has TEXT: the last envcryptctl output contains TEXT
out_has() {
	grep -qF -- "$1" ctl.out || fail "output lacks '$1': $(cat ctl.out)"
}

# out_lacks TEXT: the last envcryptctl output does not contain TEXT
out_lacks() {
	! grep -qF -- "$1" ctl.out || fail "output has '$1': $(cat ctl.out)"
}

# start_bg NAME CMD...: run CMD in a new session (its own process group);
# teardown kills the whole group with SIGKILL, whatever happens
start_bg() {
	local name=$1

	shift
	setsid "$@" >"$PEER_TMP/$name.log" 2>&1 </dev/null &
	echo $! >"$PEER_TMP/$name.pid"
	disown $!
}

# stop_bg NAME: SIGKILL NAME's process group and wait until it is gone
stop_bg() {
	local pid i

	[ -f "$PEER_TMP/$1.pid" ] || return 0
	pid=$(cat "$PEER_TMP/$1.pid")
	rm -f "$PEER_TMP/$1.pid"
	kill -9 -- "-$pid" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 -- "-$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "stop_bg: process group $pid of $1 survived SIGKILL" >&2
}

# stop_all_bg: stop every process start_bg started for this file
stop_all_bg() {
	local f

	for f in "$PEER_TMP"/*.pid; do
		[ -e "$f" ] || continue
		f=${f##*/}
		stop_bg "${f%.pid}"
	done
}

# free_port: a TCP port on 127.0.0.1 nobody listens on now
free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# wait_port PORT SECONDS: until 127.0.0.1:PORT accepts connections
wait_port() {
	local i

	for i in $(seq $(($2 * 10))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# make_cert DIR NAME CA SUBJECT [SAN]: DIR/NAME.key and DIR/NAME.pem signed
# by DIR/CA.pem (a server certificate when SAN is given)
make_cert() {
	local dir=$1 name=$2 ca=$3 subj=$4 san=${5:-}
	local ext=$dir/$name.ext

	openssl req -new -newkey rsa:2048 -nodes -subj "$subj" \
		-keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
	if [ -n "$san" ]; then
		printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' \
			"$san" >"$ext"
	else
		printf 'extendedKeyUsage=clientAuth\n' >"$ext"
	fi
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" \
		-CAkey "$dir/$ca.key" -CAcreateserial -days 2 -sha256 \
		-extfile "$ext" -out "$dir/$name.pem" 2>/dev/null
	rm -f "$dir/$name.csr" "$ext"
	chmod 600 "$dir/$name.key"
}

# make_pki DIR: a CA for this run (ca.pem) with a server certificate for
# 127.0.0.1 and localhost (server.pem/.key) and a client certificate
# (client.pem/.key); and a second, untrusted CA (rogue-ca.pem) with its own
# rogue-client and rogue-server certificates
make_pki() {
	local dir=$1 ca

	mkdir -p "$dir"
	for ca in ca rogue-ca; do
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 \
			-subj "/CN=envcrypt test $ca" -keyout "$dir/$ca.key" \
			-out "$dir/$ca.pem" 2>/dev/null
	done
	make_cert "$dir" server ca "/CN=127.0.0.1" \
		"IP:127.0.0.1,DNS:localhost"
	make_cert "$dir" client ca "/CN=envcrypt-client"
	make_cert "$dir" rogue-server rogue-ca "/CN=127.0.0.1" \
		"IP:127.0.0.1,DNS:localhost"
	make_cert "$dir" rogue-client rogue-ca "/CN=envcrypt-client"
}

# image FILE [MiB]: a new zero-filled image file (8 MiB by default)
image() {
	rm -f "$1"
	truncate -s "${2:-8}M" "$1"
}
