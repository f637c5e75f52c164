#!/usr/bin/env python3
"""Soak test of the sserve binary: many sequential connections, then many concurrent ones, with
the server's RSS sampled throughout. Loopback only; every loop is bounded.

Usage: benches/soak.py [SSERVE_BIN] [SEQUENTIAL] [CONCURRENT]
       (defaults: target/release/sserve 100000 1000)

Starts `sserve -accept 0 -WWW -quiet` in a scratch directory holding small.txt (the port comes
from a `-json` listening line), then
  1. SEQUENTIAL connections one after another: full TLS 1.3 handshake + GET /small.txt + check
     the body;
  2. CONCURRENT connections at once (threads), each handshake + GET, all held until every one
     has its answer.
Prints failures, RSS after warm-up (first 5 %), at the end of phase 1, the peak, and the
growth from warm-up to the end: a leak shows as steady growth over phase 1.
"""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

BODY = b"soak small file\n"


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def get(ctx, port):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
    try:
        s.sendall(b"GET /small.txt HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.endswith(BODY)
    finally:
        s.close()


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/sserve")
    sequential = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    concurrent = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    work = tempfile.mkdtemp(prefix="soak.")
    with open(os.path.join(work, "small.txt"), "wb") as f:
        f.write(BODY)
    server = subprocess.Popen(
        [binary, "-accept", "127.0.0.1:0", "-WWW", "-json", "-max_conns", str(concurrent + 100)],
        cwd=work, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    try:
        port = int(json.loads(server.stdout.readline())["address"].rsplit(":", 1)[1])
        # The JSON events are not needed: drain them so the server never blocks on stdout.
        threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        samples = []
        failures = 0
        t0 = time.time()
        warm_rss = None
        for i in range(sequential):
            try:
                if not get(ctx, port):
                    failures += 1
            except Exception:
                failures += 1
            if i % 1000 == 0:
                samples.append((i, rss_kb(server.pid)))
            if warm_rss is None and i >= sequential // 20:
                warm_rss = rss_kb(server.pid)
        seq_s = time.time() - t0
        end_seq_rss = rss_kb(server.pid)
        results = []
        barrier = threading.Barrier(concurrent + 1, timeout=120)

        def worker():
            try:
                s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60))
                barrier.wait()
                s.sendall(b"GET /small.txt HTTP/1.0\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                results.append(data.endswith(BODY))
                s.close()
            except Exception:
                results.append(False)
                try:
                    barrier.abort()
                except Exception:
                    pass

        threads = [threading.Thread(target=worker) for _ in range(concurrent)]
        for t in threads:
            t.start()
        try:
            barrier.wait()
            conc_rss = rss_kb(server.pid)
        except threading.BrokenBarrierError:
            conc_rss = rss_kb(server.pid)
        for t in threads:
            t.join(120)
        conc_failures = results.count(False) + (concurrent - len(results))
        peak = max([r for _, r in samples] + [end_seq_rss, conc_rss])
        growth = end_seq_rss - (warm_rss or end_seq_rss)
        print(f"sequential={sequential} failures={failures} seconds={seq_s:.0f} rate={sequential / seq_s:.0f}/s")
        print(f"concurrent={concurrent} failures={conc_failures} rss_with_all_open_kb={conc_rss}")
        print(f"rss_warm_kb={warm_rss} rss_end_sequential_kb={end_seq_rss} growth_kb={growth} peak_kb={peak}")
        print("rss_samples_kb=" + " ".join(f"{i}:{r}" for i, r in samples[:: max(1, len(samples) // 20)]))
        sys.exit(0 if failures == 0 and conc_failures == 0 else 1)
    finally:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
