#!/usr/bin/env python3
"""Open N half-open DTLS 1.2 associations against a server and report its RSS per association.

Usage: dtls_halfopen.py PORT SERVER_PID [N] [--live L] [--release-wait SECONDS] [--host ADDR]

Each association uses its own UDP socket (its own peer address) and does the stateless cookie
exchange by hand: ClientHello, read the HelloVerifyRequest, ClientHello again with the cookie,
wait for the server's first flight; then it goes silent (the server waits for our answer until
its handshake timeout). The server's VmRSS is sampled after a warm-up of 50 such peers, after
the first L associations (default 900: all of them alive, below sserve's cap of 1024 half-open
associations, so growth / L is the cost of one), and after all N (with N above the cap the
oldest are evicted: the growth shows the bound). With --release-wait S the probe then waits
S seconds (longer than the handshake timeout) and samples once more. Prints one line:
  halfopen=N cookies=K rss_idle_kb=... rss_before_kb=... rss_live_kb=... per_assoc_kib=...
  rss_after_kb=... [rss_released_kb=...]
Loopback only; every receive has a timeout, so the probe always ends.
"""
import os
import resource
import socket
import struct
import sys
import time

SUITES = [0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0x009E, 0x009F, 0x00FF]
SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]


def u24(n):
    return struct.pack("!I", n)[1:]


def ext(kind, data):
    return struct.pack("!HH", kind, len(data)) + data


def client_hello(random, cookie, seq):
    """One DTLS 1.2 ClientHello record (unfragmented), message and record sequence `seq`."""
    body = b"\xfe\xfd" + random + b"\x00" + bytes([len(cookie)]) + cookie
    body += struct.pack("!H", 2 * len(SUITES)) + b"".join(struct.pack("!H", s) for s in SUITES)
    body += b"\x01\x00"
    exts = ext(0x000A, struct.pack("!HHH", 4, 0x001D, 0x0017))  # groups: x25519, P-256
    exts += ext(0x000B, b"\x01\x00")  # ec_point_formats: uncompressed
    exts += ext(0x000D, struct.pack("!H", 2 * len(SIGALGS)) + b"".join(struct.pack("!H", s) for s in SIGALGS))
    exts += ext(0x0017, b"")  # extended_master_secret
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + u24(len(body)) + struct.pack("!H", seq) + u24(0) + u24(len(body)) + body
    return b"\x16\xfe\xfd\x00\x00" + struct.pack("!Q", seq)[2:] + struct.pack("!H", len(hs)) + hs


def cookie_of(hvr):
    """The cookie of a HelloVerifyRequest record, or None."""
    if len(hvr) < 28 or hvr[0] != 22 or hvr[13] != 3:
        return None
    n = hvr[27]
    return hvr[28 : 28 + n]


def half_open(host, port, timeout=5.0):
    """Does the cookie round trip and returns the (still open, silent) socket, or None."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.connect((host, port))
    random = os.urandom(32)
    for _ in range(3):
        s.send(client_hello(random, b"", 0))
        try:
            cookie = cookie_of(s.recv(2048))
        except socket.timeout:
            continue
        if cookie:
            s.send(client_hello(random, cookie, 1))
            # Wait for the server's first flight: the association exists once it answers.
            try:
                s.recv(65536)
            except socket.timeout:
                break
            return s
    s.close()
    return None


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    args = sys.argv[1:]
    release_wait = None
    host = "127.0.0.1"
    if "--release-wait" in args:
        i = args.index("--release-wait")
        release_wait = float(args[i + 1])
        del args[i : i + 2]
    if "--host" in args:
        i = args.index("--host")
        host = args[i + 1]
        del args[i : i + 2]
    live = 900
    if "--live" in args:
        i = args.index("--live")
        live = int(args[i + 1])
        del args[i : i + 2]
    port, pid = int(args[0]), int(args[1])
    n = int(args[2]) if len(args) > 2 else 3000
    live = min(live, n)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    idle = rss_kb(pid)
    warm = [half_open(host, port) for _ in range(50)]
    time.sleep(0.5)
    before = rss_kb(pid)
    socks = []
    t0 = time.time()
    live_rss = None
    for i in range(n):
        if i == live:
            time.sleep(0.5)
            live_rss = rss_kb(pid)
        s = half_open(host, port)
        if s is not None:
            socks.append(s)
    elapsed = time.time() - t0
    time.sleep(0.5)
    after = rss_kb(pid)
    if live_rss is None:
        live_rss = after
    per = (live_rss - before) / max(1, live)
    line = (
        f"halfopen={n} cookies={len(socks)} open_s={elapsed:.1f} rss_idle_kb={idle} "
        f"rss_before_kb={before} rss_live_kb={live_rss} per_assoc_kib={per:.2f} rss_after_kb={after}"
    )
    if release_wait is not None:
        time.sleep(release_wait)
        line += f" rss_released_kb={rss_kb(pid)}"
    print(line, flush=True)
    for s in socks + [w for w in warm if w is not None]:
        s.close()


if __name__ == "__main__":
    main()
