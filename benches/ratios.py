#!/usr/bin/env python3
"""Prints the ratios of benches/RESULTS.md from criterion's estimates of the last `cargo bench`
run (target/criterion) and, if given, the output of
`openssl speed -evp aes-128-gcm -bytes 16384 -seconds 3` (a file path as the first argument).

    cargo bench -p sserve-benches
    openssl speed -evp aes-128-gcm -bytes 16384 -seconds 3 > /tmp/speed.txt
    python3 benches/ratios.py /tmp/speed.txt
"""
import json
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "criterion")


def mean_ns(*path):
    with open(os.path.join(ROOT, *path, "new", "estimates.json")) as f:
        e = json.load(f)
    # criterion prints the slope (linear sampling) when it has one, the mean otherwise
    m = e.get("slope") or e["mean"]
    return m["point_estimate"], m["confidence_interval"]["lower_bound"], m["confidence_interval"]["upper_bound"]


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def main():
    print("| measurement | engine | raw OpenSSL | ratio | target | met |")
    print("| --- | --- | --- | --- | --- | --- |")
    rows = []
    for size in (1024, 16384):
        e_s, r_s = mean_ns("seal", "engine", str(size))[0], mean_ns("seal", "raw", str(size))[0]
        e_o, r_o = mean_ns("open", "engine", str(size))[0], mean_ns("open", "raw", str(size))[0]
        for name, e, r in (("seal", e_s, r_s), ("open", e_o, r_o), ("seal + open", e_s + e_o, r_s + r_o)):
            ratio = r / e  # throughput of the engine relative to raw
            rows.append((f"record {name} {size // 1024} KiB (throughput)", e, r, ratio, ">= 0.95", ratio >= 0.95))
    for kind in ("ecdsa-p256", "rsa-2048"):
        e, r = mean_ns("handshake", "engine", kind)[0], mean_ns("handshake", "raw", kind)[0]
        ratio = e / r  # cost of the engine relative to raw
        rows.append((f"TLS 1.3 full handshake {kind} (cost)", e, r, ratio, "<= 1.05", ratio <= 1.05))
    for name, e, r, ratio, target, met in rows:
        print(f"| {name} | {fmt(e)} | {fmt(r)} | {ratio:.3f}x | {target} | {'yes' if met else 'NO'} |")

    if len(sys.argv) > 1:
        text = open(sys.argv[1]).read()
        m = re.search(r"^AES-128-GCM\s+([\d.]+)k\s*$", text, re.M)
        if not m:
            sys.exit("no AES-128-GCM line in the openssl speed output")
        ceiling = float(m.group(1)) * 1000  # bytes per second
        seal16 = mean_ns("seal", "engine", "16384")[0]
        raw16 = mean_ns("seal", "raw", "16384")[0]
        eng = 16384 / (seal16 * 1e-9)
        raw = 16384 / (raw16 * 1e-9)
        print()
        print(f"libcrypto AES-128-GCM 16 KiB ceiling: {ceiling / 1e9:.3f} GB/s")
        print(f"engine 16 KiB seal: {eng / 1e9:.3f} GB/s = {eng / ceiling * 100:.1f}% of the ceiling (target >= 65%)")
        print(f"raw    16 KiB seal: {raw / 1e9:.3f} GB/s = {raw / ceiling * 100:.1f}% of the ceiling")

    print()
    for name in ("request-whole", "request-bytewise", "16-headers-then-request", "validate_path"):
        try:
            print(f"http {name}: {fmt(mean_ns('http', name)[0])}")
        except FileNotFoundError:
            pass


if __name__ == "__main__":
    main()
