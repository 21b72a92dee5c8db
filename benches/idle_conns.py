#!/usr/bin/env python3
"""Opens N idle HTTP/2 connections to a server and reports how much the
server's resident memory grew per connection.

    idle_conns.py PORT N PID [--tls]

Cleartext (h2c, prior knowledge) by default; with --tls each connection
first completes a TLS handshake that selects `h2` by ALPN (certificate not
verified).

Each connection sends the client preface, an empty SETTINGS and a SETTINGS
ACK (the server's SETTINGS is in flight from the start), then idles. After
the server has settled, prints one line:

    conns=N alive=A rss_before_kib=B rss_after_kib=C per_conn_kib=D

`alive` counts connections the server has not closed; a figure is only
meaningful when alive == N. Needs `ulimit -n` above N.
"""
import os
import select
import socket
import ssl
import sys
import time

PREFACE = (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
           + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])   # SETTINGS
           + bytes([0, 0, 0, 4, 1, 0, 0, 0, 0]))  # SETTINGS ACK


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit(f"idle_conns.py: no VmRSS for pid {pid}")


def settle(pid, quiet_rounds=3, step=0.5, limit=20.0):
    """Waits until the server's RSS stops moving."""
    last, same, waited = rss_kib(pid), 0, 0.0
    while same < quiet_rounds and waited < limit:
        time.sleep(step)
        waited += step
        now = rss_kib(pid)
        same = same + 1 if now == last else 0
        last = now
    return last


def drain(socks):
    """Reads what the server sent; returns how many sockets saw EOF."""
    closed = 0
    poller = select.poll()
    by_fd = {s.fileno(): s for s in socks}
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    for fd, _ in poller.poll(0):
        s = by_fd[fd]
        try:
            while True:
                # Every socket is non-blocking once connected.
                data = s.recv(65536)
                if not data:
                    closed += 1
                    break
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            pass
        except OSError:
            closed += 1
    return closed


def main():
    args = [a for a in sys.argv[1:] if a != "--tls"]
    if len(args) != 3:
        raise SystemExit(__doc__)
    port, n, pid = int(args[0]), int(args[1]), int(args[2])
    tls = None
    if "--tls" in sys.argv[1:]:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
        tls.set_alpn_protocols(["h2"])
    before = settle(pid)
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        if tls is not None:
            s = tls.wrap_socket(s, server_hostname="localhost")
            if s.selected_alpn_protocol() != "h2":
                raise SystemExit(f"idle_conns.py: ALPN chose {s.selected_alpn_protocol()!r}, not h2")
        s.sendall(PREFACE)
        s.setblocking(False)
        socks.append(s)
        if i % 500 == 499:
            drain(socks)
    time.sleep(1.0)
    after = settle(pid)
    closed = drain(socks)
    alive = n - closed
    print(f"conns={n} alive={alive} rss_before_kib={before} rss_after_kib={after} "
          f"per_conn_kib={(after - before) / n:.1f}")
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
