#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""kms-fault-proxy: a TCP relay between envcryptctl and a KMS that fails
on command, for tests/peers/t_kms_faults.sh (Python 3 standard library).

    kms-fault-proxy.py --port PORT --to PORT --control FILE --stats FILE

It listens on 127.0.0.1:PORT and relays each connection to 127.0.0.1:TO.
TLS passes through as it is (the proxy holds no key): it only reads the
5-byte TLS record headers, to count the KMS requests, the client's TLS
application-data records (KMIP: one record a request, over TLS 1.2, which
is all pykmip-server's TLS1.2 auth suite speaks), and the replies, the
server's.

FILE holds the mode on its first line, and may have a second one, a
token that only makes the file differ from the one before; it is read
again whenever it changes (write a new file and rename it over FILE):

    forward             relay everything
    down                the KMS is stopped: the port is closed (connection
                        refused) and every open connection is cut
    down-for MS         down, and forward again after MS milliseconds
    hang                accept, relay nothing, never answer
    cut-conn K [THEN]   the K-th new connection is closed as soon as it
                        is accepted (before the TLS handshake)
    cut-req K [THEN]    the K-th request is not relayed: the connection is
                        closed instead (the KMS died before it got it)
    cut-reply K [THEN]  the K-th request is relayed, its reply is not: the
                        connection is closed instead (the KMS died before
                        it answered, or the answer was lost)

THEN is the mode after the cut: down (the default: the KMS stays down) or
forward (it is back at once).  K counts from 1 since the mode was set.

--stats FILE is rewritten after every event (since the mode was set):

    connections N requests N replies N cuts N mode MODE
    set TOKEN

where connections are the connections accepted (refused ones are not
seen), requests those relayed to the server and replies those relayed to
the client.
"""

import argparse
import os
import select
import socket
import sys
import threading
import time

TLS_APPLICATION_DATA = 23
RECORD_HEADER = 5


class State:
    """The mode and the counters, shared by the threads under a lock."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.mode = ["forward"]
        self.text = None
        self.token = ""
        self.generation = 0     # raised when open connections must go
        self.connections = 0
        self.requests = 0
        self.replies = 0
        self.cuts = 0
        self.down_until = 0.0

    def set_mode(self, words):
        """A new mode: counters start again (under the lock)."""
        self.mode = words
        self.connections = self.requests = self.replies = self.cuts = 0
        self.down_until = 0.0
        if words[0] == "down-for":
            self.down_until = time.monotonic() + int(words[1]) / 1000.0
        if words[0] in ("down", "down-for", "hang"):
            self.generation += 1

    def after_cut(self):
        """The mode after a cut: THEN, down by default (under the lock)."""
        self.cuts += 1
        then = self.mode[2] if len(self.mode) > 2 else "down"
        self.mode = [then]
        if then == "down":
            self.generation += 1
        self.write_stats()

    def write_stats(self):
        tmp = self.args.stats + ".new"
        with open(tmp, "w") as f:
            f.write("connections %d requests %d replies %d cuts %d mode %s\n"
                    "set %s\n"
                    % (self.connections, self.requests, self.replies,
                       self.cuts, " ".join(self.mode), self.token))
        os.replace(tmp, self.args.stats)

    def poll_control(self):
        """Read the control file; True when the mode changed (the caller
        writes the stats once the port is open or closed accordingly)."""
        try:
            with open(self.args.control) as f:
                text = f.read().strip()
        except OSError:
            return False
        with self.lock:
            if text == self.text:
                if (self.mode[0] == "down-for" and
                        time.monotonic() >= self.down_until):
                    self.mode = ["forward"]
                    return True
                return False
            self.text = text
            lines = text.split("\n")
            self.token = lines[1].strip() if len(lines) > 1 else ""
            self.set_mode(lines[0].split() or ["forward"])
            return True

    def listening(self):
        with self.lock:
            return self.mode[0] not in ("down", "down-for")


class Stream:
    """One direction: record headers parsed, bodies skipped."""

    def __init__(self):
        self.head = b""
        self.skip = 0

    def feed(self, data):
        """Offsets in @data where an application-data record starts."""
        starts = []
        i = 0
        while i < len(data):
            if self.skip:
                n = min(self.skip, len(data) - i)
                self.skip -= n
                i += n
                continue
            need = RECORD_HEADER - len(self.head)
            start = i - len(self.head)
            self.head += data[i:i + need]
            i += min(need, len(data) - i)
            if len(self.head) < RECORD_HEADER:
                break
            if self.head[0] == TLS_APPLICATION_DATA:
                starts.append(max(start, 0))
            self.skip = (self.head[3] << 8) | self.head[4]
            self.head = b""
        return starts


def relay(state, client, generation):
    """Relay one connection until either side closes, a cut or a stop."""
    try:
        server = socket.create_connection(("127.0.0.1", state.args.to),
                                          timeout=5)
    except OSError:
        client.close()
        return
    up, down = Stream(), Stream()
    cut_reply_pending = False
    socks = [client, server]
    try:
        while True:
            with state.lock:
                if state.generation != generation:
                    return
            ready, _, _ = select.select(socks, [], [], 0.05)
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                if s is client:
                    starts = up.feed(data)
                    with state.lock:
                        for off in starts:
                            mode = state.mode
                            if (mode[0] == "cut-req" and
                                    state.requests + 1 == int(mode[1])):
                                # the KMS dies before the request
                                server.sendall(data[:off])
                                state.after_cut()
                                return
                            state.requests += 1
                            if (mode[0] == "cut-reply" and
                                    state.requests == int(mode[1])):
                                cut_reply_pending = True
                        if starts:
                            state.write_stats()
                    server.sendall(data)
                else:
                    starts = down.feed(data)
                    with state.lock:
                        if starts and cut_reply_pending:
                            # the answer is lost: nothing of it goes out
                            client.sendall(data[:starts[0]])
                            state.after_cut()
                            return
                        state.replies += len(starts)
                        if starts:
                            state.write_stats()
                    client.sendall(data)
    except OSError:
        pass
    finally:
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def hold(state, client, generation):
    """Accepted and never answered, until the mode is down."""
    try:
        while True:
            with state.lock:
                if state.generation != generation:
                    return
            ready, _, _ = select.select([client], [], [], 0.05)
            if ready and not client.recv(65536):
                return
    except OSError:
        pass
    finally:
        client.close()


def listen(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    return s


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--to", type=int, required=True)
    p.add_argument("--control", required=True)
    p.add_argument("--stats", required=True)
    args = p.parse_args()
    state = State(args)
    lsock = None
    while True:
        changed = state.poll_control()
        if state.listening() and lsock is None:
            lsock = listen(args.port)
        elif not state.listening() and lsock is not None:
            lsock.close()
            lsock = None
        if changed:
            with state.lock:
                state.write_stats()
        if lsock is None:
            time.sleep(0.01)
            continue
        ready, _, _ = select.select([lsock], [], [], 0.02)
        if not ready:
            continue
        try:
            client, _ = lsock.accept()
        except OSError:
            continue
        with state.lock:
            state.connections += 1
            mode = state.mode
            generation = state.generation
            cut = (mode[0] == "cut-conn" and
                   state.connections == int(mode[1]))
            if cut:
                state.after_cut()
            else:
                state.write_stats()
        if cut:
            client.close()
            continue
        target = hold if mode[0] == "hang" else relay
        threading.Thread(target=target, args=(state, client, generation),
                         daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
