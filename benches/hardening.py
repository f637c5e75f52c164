#!/usr/bin/env python3
"""Hostile-peer probes against a server binary: memory, exit times, special files, stalls.

Usage: hardening.py [BINARY] [PROBE...]   (BINARY defaults to target/release/sserve)

Each probe starts fresh servers on free loopback ports (no certificate arguments: sserve makes
an ephemeral one), prints one line `probe=... <figures> bar=... PASS|FAIL`, and cleans up.
Probes: backpressure, blocked_sigterm, idle_sigterm, fifo, stall, burst (all by default).
Every wait is bounded; nothing leaves loopback.
"""
import asyncio
import os
import re
import resource
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].isidentifier() else "target/release/sserve")
ONLY = [a for a in sys.argv[1:] if a.isidentifier()]


def ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Server:
    """A server process; `port` from its ACCEPT line (or -json listening event)."""

    def __init__(self, args, cwd=None, stdout=subprocess.PIPE, read_stdout=True):
        self.p = subprocess.Popen([BIN, "-accept", "0"] + args, cwd=cwd, stdin=subprocess.PIPE,
                                  stdout=stdout, stderr=subprocess.DEVNULL)
        self.port = None
        self.lines = []
        deadline = time.time() + 10
        while self.port is None and time.time() < deadline:
            line = self.p.stdout.readline().decode(errors="replace")
            if not line:
                break
            self.lines.append(line)
            m = re.search(r'ACCEPT .*:(\d+)$|"address":"[^"]*:(\d+)"', line.strip())
            if m:
                self.port = int(m.group(1) or m.group(2))
        if self.port is None:
            self.stop()
            raise RuntimeError(f"no port from {BIN} {args}: {self.lines}")
        if read_stdout:
            threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.p.stdout:
            self.lines.append(line.decode(errors="replace"))

    @property
    def pid(self):
        return self.p.pid

    def sigterm_exit_time(self, timeout=10):
        t0 = time.time()
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return None
        return time.time() - t0

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def report(name, figures, ok, bar):
    print(f"probe={name} {figures} bar={bar!r} {'PASS' if ok else 'FAIL'}", flush=True)


def flood(port, limit, secs):
    """Sends up to `limit` bytes until a send blocks for `secs`; returns the bytes sent."""
    sent = 0
    chunk = b"x" * 65535 + b"\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx().wrap_socket(raw, server_hostname="localhost") as s:
            s.settimeout(secs)
            try:
                while sent < limit:
                    s.sendall(chunk)
                    sent += len(chunk)
            except (socket.timeout, OSError):
                pass
    return sent


def probe_backpressure():
    # stdout is a pipe nobody reads once the ACCEPT line is in.
    srv = Server([], read_stdout=False)
    try:
        idle = rss_kib(srv.pid)
        peak = [idle]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(srv.pid))
                time.sleep(0.02)

        t = threading.Thread(target=sample)
        t.start()
        sent = flood(srv.port, 100 << 20, 3)
        done.set()
        t.join()
        peak_mb = max(peak[0], rss_kib(srv.pid, "VmHWM")) / 1024
        report("backpressure", f"sent_mb={sent / 2**20:.1f} idle_mb={idle / 1024:.1f} peak_mb={peak_mb:.1f}",
               peak_mb <= 48, "peak RSS <= 48 MB while a peer sends 100 MB into a blocked stdout")
        took = srv.sigterm_exit_time()
        report("blocked_sigterm", f"exit_s={took if took is None else round(took, 3)}",
               took is not None and took <= 3, "exit within 3 s of SIGTERM with stdout blocked")
    finally:
        srv.stop()


def probe_idle_sigterm():
    for args in ([], ["-json"], ["-www"], ["-www", "-runtime", "smol"], ["-www", "-runtime", "blocking"],
                 ["-dtls1_2"], ["-dtls1_2", "-rev", "-runtime", "tokio"]):
        srv = Server(args)
        try:
            time.sleep(0.2)
            took = srv.sigterm_exit_time()
            time.sleep(0.1)
            last = srv.lines[-1] if srv.lines else ""
            ended = ('"event":"exit"' in last) if "-json" in args else any(
                "server accepts" in l for l in srv.lines)
            report("idle_sigterm", f"args={' '.join(args) or '(console)'} exit_s={took if took is None else round(took, 3)} "
                   f"final_output={ended}", took is not None and took <= 0.5 and ended,
                   "idle SIGTERM exits within 0.5 s with statistics / -json exit event")
        finally:
            srv.stop()


def get(port, path, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx().wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(f"GET /{path} HTTP/1.0\r\n\r\n".encode())
            out = b""
            while True:
                try:
                    d = s.recv(65536)
                except (ssl.SSLError, OSError):
                    break
                if not d:
                    break
                out += d
            return out


def probe_fifo():
    with tempfile.TemporaryDirectory() as d:
        os.mkfifo(os.path.join(d, "fifo"))
        with open(os.path.join(d, "ok.txt"), "w") as f:
            f.write("served\n")
        for runtime in ("tokio", "smol", "blocking"):
            srv = Server(["-WWW", "-runtime", runtime], cwd=d)
            try:
                pending = [threading.Thread(target=lambda: get(srv.port, "fifo", 5)) for _ in range(3)]
                for t in pending:
                    t.start()
                t0 = time.time()
                body = get(srv.port, "ok.txt", 5)
                took = time.time() - t0
                for t in pending:
                    t.join(6)
                ok = b"served" in body
                report("fifo", f"runtime={runtime} fourth_client_s={took:.3f} served={ok}", ok,
                       "three pending FIFO requests do not stop a fourth client")
            finally:
                srv.stop()


def probe_stall():
    with tempfile.TemporaryDirectory() as d:
        size = 64 << 20
        with open(os.path.join(d, "big.bin"), "wb") as f:
            f.truncate(size)
        for runtime in ("tokio", "smol", "blocking"):
            srv = Server(["-WWW", "-idle_timeout", "3", "-runtime", runtime], cwd=d)
            try:
                got = 0
                with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as raw:
                    with ctx().wrap_socket(raw, server_hostname="localhost") as s:
                        s.sendall(b"GET /big.bin HTTP/1.0\r\n\r\n")
                        paused = False
                        while True:
                            try:
                                b = s.recv(65536)
                            except (ssl.SSLError, OSError):
                                break
                            if not b:
                                break
                            got += len(b)
                            if not paused and got >= 1 << 20:
                                paused = True
                                time.sleep(12)
                report("stall", f"runtime={runtime} received_mib={got / 2**20:.1f} of {size >> 20}",
                       got < 60 << 20, "-idle_timeout 3, 12 s stall on 64 MiB: receives < 60 MiB")
            finally:
                srv.stop()


async def one(port, c, go, n_ready, total):
    """One client of a burst: returns how long its TCP connect took (seconds)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setblocking(False)
    t0 = time.monotonic()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    took = time.monotonic() - t0
    r, w = await asyncio.open_connection(sock=sock, ssl=c, server_hostname="localhost")
    n_ready[0] += 1
    if n_ready[0] == total:
        go.set()
    await go.wait()
    w.write(b"GET / HTTP/1.0\r\n\r\n")
    await w.drain()
    await r.read()
    w.close()
    return took


async def burst_async(port, n):
    """Served connections, and how many of them waited for a retransmitted SYN (the kernel
    drops a SYN when the listen backlog is full, and the client sends it again after 1 s)."""
    c = ctx()
    go = asyncio.Event()
    ready = [0]
    res = await asyncio.gather(*(one(port, c, go, ready, n) for _ in range(n)), return_exceptions=True)
    took = [x for x in res if not isinstance(x, BaseException)]
    return len(took), sum(1 for t in took if t > 0.9)


def probe_burst(n=2000):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    for runtime in ("tokio", "smol"):
        srv = Server(["-www", "-runtime", runtime])
        try:
            for _ in range(3):  # warm-up: lazily built tables are not part of the burst
                get(srv.port, "")
            time.sleep(0.5)
            idle = rss_kib(srv.pid)
            ok, resent = asyncio.run(burst_async(srv.port, n))
            peak = rss_kib(srv.pid, "VmHWM")
            time.sleep(3)
            after = rss_kib(srv.pid)
            report("burst", f"runtime={runtime} conns={n} ok={ok} syn_resent={resent} idle_mb={idle / 1024:.1f} "
                   f"peak_mb={peak / 1024:.1f} after_mb={after / 1024:.1f}",
                   ok == n and resent == 0 and after <= idle + 16 * 1024,
                   "every connection served, none waiting for a resent SYN; RSS within idle + 16 MB "
                   "3 s after 2,000 connections close")
        finally:
            srv.stop()


PROBES = {
    "backpressure": probe_backpressure,  # also blocked_sigterm
    "idle_sigterm": probe_idle_sigterm,
    "fifo": probe_fifo,
    "stall": probe_stall,
    "burst": probe_burst,
}

if __name__ == "__main__":
    print(f"binary={BIN} date={time.strftime('%Y-%m-%d')}", flush=True)
    for name, fn in PROBES.items():
        if not ONLY or name in ONLY:
            fn()
