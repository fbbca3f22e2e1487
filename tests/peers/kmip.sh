# SPDX-License-Identifier: GPL-2.0
#
# A KMIP server for the peer tests: Debian's pykmip-server (python3-pykmip
# 0.10) on 127.0.0.1, with the certificates of make_pki (lib.sh).  Sourced
# by test files after lib.sh.
#
#   kmip_server_start DIR   make DIR/pki, DIR/server.conf, start the server
#                           and wait until it accepts; exports KMIP_DIR,
#                           KMIP_PORT, KMIP_PKI and KMIP_URI
#                           (kmip://127.0.0.1:PORT?ca=...&cert=...&key=...)
#   kmip_server_stop        stop it (SIGKILL of its process group)
#   kmip_server_restart     start it again on the same port, same database
#   kmip_uri [PARAMS]       KMIP_URI with other parameters: kmip_uri
#                           "ca=$KMIP_PKI/rogue-ca.pem&cert=...&key=..."
#
# pykmip-server ignores SIGTERM and forks a policy monitor, so it runs in
# its own session (start_bg) and is killed as a group.  It runs with
# /usr/bin/python3: the python3 first on PATH may be another build without
# Debian's packages.  The client certificate's CN (envcrypt-client) is the
# owner of the keys it creates, and pykmip's built-in "default" operation
# policy lets the owner do everything the KMIP provider does (Create,
# Activate, Get/Encrypt/Decrypt, GetAttributes, Locate, Revoke, Destroy);
# the policy directory is empty.

KMIP_PYTHON=/usr/bin/python3
KMIP_SERVER_BIN=/usr/bin/pykmip-server
KMIP_START_TIMEOUT=${KMIP_START_TIMEOUT:-20}

# kmip_available: pykmip-server can run here (else a reason on stdout)
kmip_available() {
	if [ ! -x "$KMIP_SERVER_BIN" ] || ! "$KMIP_PYTHON" -c 'import kmip' \
			2>/dev/null; then
		echo "pykmip-server is not installed (apt install python3-pykmip)"
		return 1
	fi
	return 0
}

# kmip_setup: for a file's setup_file: start pykmip-server for the file,
# or, where it cannot run, say why in KMIP_SKIP (kmip_need skips then)
# and return 1
kmip_setup() {
	local why

	if ! why=$(kmip_available); then
		export KMIP_SKIP=$why
		return 1
	fi
	kmip_server_start "$PEER_TMP/kmip"
}

# kmip_need [VAR]: skip unless pykmip-server runs for this file; VAR (the
# URI the tests use, KMIP_URI by default) must be set
kmip_need() {
	local var=${1:-KMIP_URI}

	[ -z "${KMIP_SKIP:-}" ] || skip "$KMIP_SKIP"
	[ -n "${!var:-}" ] || fail "pykmip-server was not started ($var unset)"
}

# kmip_write_conf DIR PORT
kmip_write_conf() {
	local dir=$1 port=$2

	mkdir -p "$dir/policies"
	cat >"$dir/server.conf" <<EOF
[server]
hostname=127.0.0.1
port=$port
certificate_path=$dir/pki/server.pem
key_path=$dir/pki/server.key
ca_path=$dir/pki/ca.pem
auth_suite=TLS1.2
policy_path=$dir/policies
enable_tls_client_auth=True
logging_level=INFO
database_path=$dir/pykmip.db
EOF
}

# kmip_uri [QUERY]: the URI of the running server with QUERY (default: the
# run's CA and client certificate)
# shellcheck disable=SC2120
kmip_uri() {
	local q=${1:-ca=$KMIP_PKI/ca.pem&cert=$KMIP_PKI/client.pem&key=$KMIP_PKI/client.key}

	echo "kmip://127.0.0.1:$KMIP_PORT?$q"
}

# kmip_server_launch: start the configured server and wait for its port
kmip_server_launch() {
	start_bg pykmip "$KMIP_PYTHON" "$KMIP_SERVER_BIN" \
		-f "$KMIP_DIR/server.conf" -l "$KMIP_DIR/server.log"
	if ! wait_port "$KMIP_PORT" "$KMIP_START_TIMEOUT"; then
		echo "pykmip-server did not listen on 127.0.0.1:$KMIP_PORT" \
			"within $KMIP_START_TIMEOUT s:" >&2
		tail -n 20 "$PEER_TMP/pykmip.log" "$KMIP_DIR/server.log" \
			>&2 2>/dev/null || true
		stop_bg pykmip
		return 1
	fi
}

# kmip_server_start DIR
kmip_server_start() {
	local why

	why=$(kmip_available) || { echo "$why" >&2; return 1; }
	KMIP_DIR=$1
	mkdir -p "$KMIP_DIR"
	KMIP_DIR=$(cd "$KMIP_DIR" && pwd)
	KMIP_PKI=$KMIP_DIR/pki
	make_pki "$KMIP_PKI"
	KMIP_PORT=$(free_port)
	kmip_write_conf "$KMIP_DIR" "$KMIP_PORT"
	export KMIP_DIR KMIP_PKI KMIP_PORT
	# deletion dates of this server's keys stay in the scratch directory
	export ENVCRYPT_KMIP_STATE_DIR=$KMIP_DIR/state
	kmip_server_launch || return 1
	KMIP_URI=$(kmip_uri)
	export KMIP_URI
}

kmip_server_stop() {
	stop_bg pykmip
}

# kmip_server_restart: the same port, certificates and database
kmip_server_restart() {
	stop_bg pykmip
	kmip_server_launch
}

# kmip_server_running: it still accepts connections
kmip_server_running() {
	(exec 3<>"/dev/tcp/127.0.0.1/$KMIP_PORT") 2>/dev/null
}

# kmip_pki_copy DIR: the run's CA, client certificate and key copied to
# DIR, for a test that swaps them after formatting (the wrap slot keeps
# the paths, not the files)
kmip_pki_copy() {
	mkdir -p "$1"
	cp "$KMIP_PKI/ca.pem" "$KMIP_PKI/client.pem" "$KMIP_PKI/client.key" "$1/"
}

# kmip_uri_at PORT DIR [EXTRA]: a URI for 127.0.0.1:PORT with DIR's ca.pem,
# client.pem and client.key, and EXTRA parameters ("timeout=1")
kmip_uri_at() {
	echo "kmip://127.0.0.1:$1?ca=$2/ca.pem&cert=$2/client.pem&key=$2/client.key${3:+&$3}"
}

# fake_kmip_start [MODE [CERT [PORT]]]: tests/peers/fake-kmip.py on PORT
# (default: a free one), in MODE (default, or "": forward to
# pykmip-server), with the run's server certificate (or
# $KMIP_PKI/CERT.pem/.key); the mode can be changed later with
# fake_kmip_mode.  Exports FAKE_PORT.  One fake peer at a time: it replaces
# the one before.
fake_kmip_start() {
	local mode=${1:-forward:$KMIP_PORT} cert=${2:-server} port=${3:-}

	stop_bg fake-kmip
	FAKE_MODE_FILE=$PEER_TMP/fake-kmip.mode
	FAKE_PORT=${port:-$(free_port)}
	export FAKE_PORT FAKE_MODE_FILE
	echo "$mode" >"$FAKE_MODE_FILE"
	start_bg fake-kmip "$KMIP_PYTHON" "$PEERS/fake-kmip.py" \
		--port "$FAKE_PORT" --mode-file "$FAKE_MODE_FILE" \
		--cert "$KMIP_PKI/$cert.pem" --key "$KMIP_PKI/$cert.key" \
		--ca "$KMIP_PKI/ca.pem"
	wait_port "$FAKE_PORT" 10 || {
		cat "$PEER_TMP/fake-kmip.log" >&2
		return 1
	}
}

# fake_kmip_mode MODE: what the fake peer does from its next connection on
fake_kmip_mode() {
	echo "$1" >"$FAKE_MODE_FILE"
}

fake_kmip_stop() {
	stop_bg fake-kmip
}
