#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# A fake KMIP server for the peer tests: TLS with a server certificate,
# client certificates required (like pykmip-server), and answers that a
# real server never gives.
#
#   fake-kmip.py --port PORT (--mode MODE | --mode-file FILE)
#                --cert PEM --key PEM --ca PEM
#
# With --mode-file, the mode is read from FILE at each connection, so a
# test can format a volume through the fake peer in forward mode and then
# make the same address misbehave.
#
# Modes (each connection: TLS handshake, read one request, then):
#   garbage      64 pseudo-random bytes (fixed seed), then close
#   truncated    a Response Message header claiming 200 bytes, 10 of them,
#                then close
#   huge         a Response Message header claiming 1 GiB, then zeros
#                until the client goes away
#   silent       nothing; keep the connection open (60 s)
#   close        close right after the handshake, without reading
#   wrong-type   a well-formed TTLV Response Message tag of type Integer
#   wrong-tag    a well-formed TTLV structure: a Request Message
#   no-batch     a well-formed Response Message with a Response Header
#                (Batch Count 1) and no Batch Item
#   no-tls       (no TLS at all) "HTTP/1.0 400 Bad Request" in plain text
#   forward:PORT relay the connection as it is (TLS end to end) to
#                127.0.0.1:PORT, e.g. pykmip-server
#
# One thread per connection, forever; the test harness kills it.  Only
# Python's standard library, run with /usr/bin/python3.
import argparse
import random
import select
import socket
import ssl
import struct
import sys
import threading
import time

# TTLV types
STRUCTURE, INTEGER, ENUMERATION, DATETIME = 0x01, 0x02, 0x05, 0x09
# TTLV tags
REQUEST_MESSAGE = 0x420078
RESPONSE_MESSAGE = 0x42007B
RESPONSE_HEADER = 0x42007A
PROTOCOL_VERSION = 0x420069
PROTOCOL_VERSION_MAJOR = 0x42006A
PROTOCOL_VERSION_MINOR = 0x42006B
TIME_STAMP = 0x420092
BATCH_COUNT = 0x42000D


def ttlv(tag, typ, value):
    """One TTLV item; value is bytes (padded here to 8)."""
    head = struct.pack(">I", tag)[1:] + bytes([typ]) + \
        struct.pack(">I", len(value))
    pad = (8 - len(value) % 8) % 8
    return head + value + b"\0" * pad


def integer(tag, v):
    return ttlv(tag, INTEGER, struct.pack(">i", v))


def structure(tag, *items):
    return ttlv(tag, STRUCTURE, b"".join(items))


def datetime(tag, t):
    return ttlv(tag, DATETIME, struct.pack(">q", t))


def protocol_version():
    return structure(PROTOCOL_VERSION,
                     integer(PROTOCOL_VERSION_MAJOR, 1),
                     integer(PROTOCOL_VERSION_MINOR, 4))


def header(tag, typ, length):
    return struct.pack(">I", tag)[1:] + bytes([typ]) + \
        struct.pack(">I", length)


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_request(conn):
    """One TTLV item: the client's request (None if it went away)."""
    head = read_exact(conn, 8)
    if head is None:
        return None
    (length,) = struct.unpack(">I", head[4:])
    if length > 1 << 20:
        return None
    return read_exact(conn, length + (8 - length % 8) % 8)


def answer(conn, mode):
    if mode == "close":
        return
    if read_request(conn) is None:
        return
    if mode == "garbage":
        conn.sendall(random.Random(5).randbytes(64))
    elif mode == "truncated":
        conn.sendall(header(RESPONSE_MESSAGE, STRUCTURE, 200) + b"\x42" * 10)
    elif mode == "huge":
        conn.sendall(header(RESPONSE_MESSAGE, STRUCTURE, 1 << 30))
        zeros = b"\0" * 16384
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            conn.sendall(zeros)
    elif mode == "silent":
        time.sleep(60)
    elif mode == "wrong-type":
        conn.sendall(integer(RESPONSE_MESSAGE, 1))
    elif mode == "wrong-tag":
        conn.sendall(structure(REQUEST_MESSAGE,
                               structure(RESPONSE_HEADER, protocol_version(),
                                         integer(BATCH_COUNT, 1))))
    elif mode == "no-batch":
        conn.sendall(structure(RESPONSE_MESSAGE,
                               structure(RESPONSE_HEADER,
                                         protocol_version(),
                                         datetime(TIME_STAMP,
                                                  int(time.time())),
                                         integer(BATCH_COUNT, 1))))
    else:
        raise ValueError(mode)


def forward(raw, port):
    """Relay bytes both ways until either side closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as up:
        up.settimeout(None)
        raw.settimeout(None)
        peers = {raw: up, up: raw}
        while True:
            ready, _, _ = select.select(list(peers), [], [], 120)
            if not ready:
                return
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                peers[s].sendall(data)


MODES = ["garbage", "truncated", "huge", "silent", "close", "wrong-type",
         "wrong-tag", "no-batch", "no-tls"]


def current_mode(args):
    if args.mode_file:
        with open(args.mode_file) as f:
            mode = f.read().strip()
    else:
        mode = args.mode
    if mode not in MODES and not (mode.startswith("forward:") and
                                  mode[8:].isdigit()):
        raise ValueError("unknown mode '%s'" % mode)
    return mode


def serve_one(raw, ctx, args):
    raw.settimeout(90)
    try:
        mode = current_mode(args)
        if mode.startswith("forward:"):
            forward(raw, int(mode[8:]))
            return
        if mode == "no-tls":
            raw.recv(512)
            raw.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
            return
        with ctx.wrap_socket(raw, server_side=True) as conn:
            answer(conn, mode)
    except (OSError, ssl.SSLError, ValueError) as e:
        print("fake-kmip: connection:", e, file=sys.stderr, flush=True)
    finally:
        try:
            raw.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode")
    ap.add_argument("--mode-file")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    args = ap.parse_args()
    if bool(args.mode) == bool(args.mode_file):
        ap.error("give one of --mode and --mode-file")
    current_mode(args)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(args.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(16)
    print("fake-kmip: %s on 127.0.0.1:%d" %
          (args.mode or "mode from " + args.mode_file, args.port), flush=True)
    while True:
        raw, _ = srv.accept()
        threading.Thread(target=serve_one, args=(raw, ctx, args),
                         daemon=True).start()


if __name__ == "__main__":
    main()
