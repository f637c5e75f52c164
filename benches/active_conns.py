#!/usr/bin/env python3
"""Memory per active download: N concurrent -WWW downloads in flight, each blocked on a client
that stopped reading, and the server's RSS growth per connection.

Usage: active_conns.py SERVER_BIN [N] [FILE_MIB]

Starts `SERVER_BIN -accept <free port> -WWW -quiet` (ephemeral certificate) in a scratch
directory holding a FILE_MIB MiB file (default 8), opens N TLS 1.3 connections (default 2000)
one after another, each sends `GET /big.bin HTTP/1.0`, reads the first 16 KiB and then stops
reading, so every download stays in flight with the server's writes blocked. It samples VmRSS
before the first and two seconds after the last connection, checks that each connection got its
16 KiB, counts the server's connections still established (`in_flight`: a download the kernel
buffered whole, or that the server dropped at its send timeout, is not in flight and frees its
memory), and prints one line:
  conns=N ok=K in_flight=F rss_before_kb=… rss_after_kb=… per_conn_kib=…

The clients announce an Ethernet-sized MSS (1448). Over loopback's 64 KiB MSS the kernel sizes
each server socket's send buffer at ~4 MB, 2,000 of them exhaust the system's TCP memory
(`tcp_mem`), connecting slows to a crawl, the run outlasts the server's 60 s send timeout, and
most downloads have ended (buffered whole, or dropped) before RSS is sampled.
Loopback only; every socket call has a timeout and the server is killed at the end.
"""
import os
import resource
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

from idle_conns import rss_kb


def established(port):
    """The server's established TCP connections on `port`, from /proc/net/tcp{,6} (a listener
    on `::` sees IPv4 peers as mapped addresses)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1].endswith(f":{port:04X}") and fields[3] == "01":
                    count += 1
    return count


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    binary = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    mib = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp(prefix="active-conns.")
    with open(os.path.join(work, "big.bin"), "wb") as f:
        f.write(os.urandom(1 << 20) * mib)
    port = free_port()
    srv = subprocess.Popen([binary, "-accept", str(port), "-WWW", "-quiet"], cwd=work,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)

        def download():
            raw = socket.socket()
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1448)
            raw.settimeout(10)
            raw.connect(("127.0.0.1", port))
            s = ctx.wrap_socket(raw)
            s.sendall(b"GET /big.bin HTTP/1.0\r\n\r\n")
            got = 0
            while got < 16 * 1024:
                d = s.recv(16 * 1024 - got)
                if not d:
                    break
                got += len(d)
            return s, got

        warm = [download()[0] for _ in range(20)]  # lazily built tables are not per connection
        time.sleep(1.0)
        before = rss_kb(srv.pid)
        conns = [download() for _ in range(n)]
        time.sleep(2.0)
        after = rss_kb(srv.pid)
        in_flight = established(port) - len(warm)
        ok = sum(1 for _, got in conns if got >= 16 * 1024)
        print(f"conns={n} ok={ok} in_flight={in_flight} rss_before_kb={before} rss_after_kb={after} "
              f"per_conn_kib={(after - before) / n:.1f}", flush=True)
        for s, _ in conns:
            s.close()
        for s in warm:
            s.close()
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(timeout=5)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
        for name in os.listdir(work):
            os.unlink(os.path.join(work, name))
        os.rmdir(work)


if __name__ == "__main__":
    main()
