#!/usr/bin/env python3
"""hs_pair.py — server CPU per connection and connection rate, sserve vs openssl s_server, in
short paired rounds: each round runs A then B (B then A in odd rounds) back to back on fresh
servers, and the ratio of the pair is taken before the median over rounds. A machine whose
speed drifts by ±10-25 % between runs a minute apart (as these shared VMs do) moves both sides
of a pair together, so the per-pair ratios spread far less than ab.sh's medians of each side.

CPU is read from /proc/<pid>/task/*/schedstat (nanoseconds on the CPU, every thread), not from
the 10 ms ticks of /proc/<pid>/stat.

Usage: benches/hs_pair.py   (env: MODE=new|reuse, ROUNDS=10, SECS=2, CLIENTS=1, A=, B= server
commands without -accept/-cert/-key; defaults: target/release/sserve and openssl s_server, both
-WWW -quiet). MODE=new is `s_time -new` (full TLS 1.3 handshakes, no request); MODE=reuse is
`s_time -reuse -www /small.txt` (resumed handshakes, each with a small GET). CLIENTS=n runs n
s_time clients at once (their connections summed, over the wall time until the last one ends).

Also reported: the ratio of the servers' peak resident memory (VmHWM at the end of the run), and
per round the clients' CPU per connection and how busy the machine was (`/proc/stat`): with
several clients the rate is bound by the clients' CPU and by the time the machine stays idle.
"""
import glob
import math
import os
import re
import resource
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def command(text):
    """A server command; a relative program path is taken from here (servers run elsewhere)."""
    words = shlex.split(text)
    if "/" in words[0]:
        words[0] = os.path.abspath(words[0])
    return words


A = command(os.environ.get("A", os.path.join(ROOT, "target/release/sserve")))
B = command(os.environ.get("B", "openssl s_server"))
MODE = os.environ.get("MODE", "new")
ROUNDS = int(os.environ.get("ROUNDS", "10"))
SECS = os.environ.get("SECS", "2")
CLIENTS = int(os.environ.get("CLIENTS", "1"))
CLIENT_ARGS = {"new": ["-new"], "reuse": ["-reuse", "-www", "/small.txt"]}[MODE]


def cpu_ns(pid):
    total = 0
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(f) as fh:
                total += int(fh.read().split()[0])
        except OSError:
            pass  # a thread that just ended
    return total


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc):
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit(f"hs_pair.py: server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit("hs_pair.py: server did not listen")


def s_time(port, secs, clients=1):
    """Connections made by `clients` s_time clients running at once for `secs` seconds."""
    cmd = ["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-tls1_3", "-time", secs] + CLIENT_ARGS
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for _ in range(clients)]
    total = 0
    try:
        for p in procs:
            out = p.communicate(timeout=int(secs) + 30)[0]
            counts = re.findall(r"(\d+) connections in", out)
            total += int(counts[-1]) if counts else 0
    finally:
        for p in procs:
            p.kill()
            p.wait()
    return total


def children_cpu_s():
    """CPU seconds of this script's ended and waited-for children (the s_time clients)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def machine_ticks():
    """(busy, all) clock ticks of every CPU since boot, from /proc/stat (steal counts as busy)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return sum(ticks) - idle, sum(ticks)


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def one(cmd, work):
    """Server CPU µs per connection, connections per second, peak RSS (kB), the clients' CPU µs
    per connection and the machine's busy share of one fresh server's run."""
    port = free_port()
    proc = subprocess.Popen(
        cmd + ["-accept", str(port), "-cert", "cert.pem", "-key", "key.pem", "-WWW", "-quiet"],
        cwd=work, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, proc)
        s_time(port, "1")  # warm-up: first-connection costs, caches, the session for -reuse
        c0, t0, k0, (b0, a0) = cpu_ns(proc.pid), time.monotonic(), children_cpu_s(), machine_ticks()
        n = s_time(port, SECS, CLIENTS)
        c1, t1, k1, (b1, a1) = cpu_ns(proc.pid), time.monotonic(), children_cpu_s(), machine_ticks()
        rss = peak_rss_kb(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    if n == 0:
        sys.exit(f"hs_pair.py: no connections to {' '.join(cmd)}")
    return (c1 - c0) / n / 1e3, n / (t1 - t0), rss, (k1 - k0) / n * 1e6, (b1 - b0) / max(a1 - a0, 1)


def median_interval(ratios, level=0.90):
    """The order-statistic confidence interval of the median: the k-th smallest and k-th largest
    ratio, k the largest with P(Binomial(n, 1/2) < k) <= (1 - level) / 2; None when there are
    too few pairs for the level (fewer than 5 at 90 %)."""
    xs, n = sorted(ratios), len(ratios)
    tail, k, below = (1 - level) / 2, 0, 0.0  # below = P(Binomial(n, 1/2) < k)
    while k < n and below + math.comb(n, k) / 2**n <= tail:
        below += math.comb(n, k) / 2**n
        k += 1
    return (xs[k - 1], xs[n - k]) if k else None


def summary(name, ratios):
    median = f"{name} A/B median {statistics.median(ratios):.3f}"
    interval = median_interval(ratios)
    if interval is None:
        return f"{median} (too few pairs for a 90 % interval)"
    lo, hi = interval
    verdict = "A lower" if hi < 1 else "A higher" if lo > 1 else "not resolved"
    return f"{median} (90 % interval {lo:.3f}-{hi:.3f}: {verdict})"


def main():
    with tempfile.TemporaryDirectory(prefix="sserve-hs_pair.") as work:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "key.pem", "-out", "cert.pem", "-subj", "/CN=localhost", "-days", "2"],
            cwd=work, check=True, capture_output=True,
        )
        with open(os.path.join(work, "small.txt"), "w") as f:
            f.write("hello\n")
        cpu, rate, rss = [], [], []
        for r in range(ROUNDS):
            if r % 2 == 0:
                a = one(A, work)
                b = one(B, work)
            else:
                b = one(B, work)
                a = one(A, work)
            cpu.append(a[0] / b[0])
            rate.append(a[1] / b[1])
            rss.append(a[2] / b[2])
            print(f"round {r + 1}: A {a[0]:.0f} µs/conn {a[1]:.0f}/s {a[2]} kB  B {b[0]:.0f} µs/conn "
                  f"{b[1]:.0f}/s {b[2]} kB  cpu {cpu[-1]:.3f} rate {rate[-1]:.3f} rss {rss[-1]:.3f}  "
                  f"clients A {a[3]:.0f} B {b[3]:.0f} µs/conn, machine busy A {a[4]:.0%} B {b[4]:.0%}",
                  file=sys.stderr, flush=True)
        clients = f", {CLIENTS} clients" if CLIENTS > 1 else ""
        print(f"{MODE}{clients}: {summary('CPU per connection', cpu)}; {summary('connections/s', rate)}; "
              f"{summary('peak RSS', rss)}; {ROUNDS} pairs")
        print(f"A: {' '.join(A)}\nB: {' '.join(B)}")


if __name__ == "__main__":
    main()
