#!/usr/bin/env python3
"""Hold N idle TLS 1.3 connections open against a server and report its RSS growth per connection.

Usage: idle_conns.py PORT SERVER_PID [N]

Opens N connections one after another (each completes a full TLS 1.3 handshake, then stays
idle), samples the server's VmRSS before and after, verifies every connection is still open
(a zero-byte non-blocking read must say "would block", not EOF), and prints one line:
  conns=N ok=K rss_before_kb=… rss_after_kb=… per_conn_kib=…
Loopback only. Bounded: every connect has a 10 s timeout.
"""
import resource
import socket
import ssl
import sys
import time


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    # Warm-up: the first connections pay for lazily built tables; measure from here.
    warm = [ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10)) for _ in range(50)]
    time.sleep(0.5)
    before = rss_kb(pid)
    conns = []
    t0 = time.time()
    for i in range(n):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
        conns.append(s)
    elapsed = time.time() - t0
    time.sleep(2.0)  # let the server settle (buffers released after the last records)
    after = rss_kb(pid)
    ok = 0
    for s in conns:
        s.setblocking(False)
        try:
            s.recv(1)
        except ssl.SSLWantReadError:
            ok += 1
        except (BlockingIOError, ssl.SSLError):
            ok += 1
        except Exception:
            pass
    per_conn = (after - before) / n
    print(f"conns={n} ok={ok} handshake_s={elapsed:.1f} rss_before_kb={before} rss_after_kb={after} per_conn_kib={per_conn:.2f}")
    for s in conns + warm:
        s.close()


if __name__ == "__main__":
    main()
