#!/usr/bin/env python3
"""hello_trace.py — reads `perf script -F tid,time,event,trace` of benches/hello_trace.sh on stdin
and prints, per connection, the medians (µs) of: read→keygen (the ClientHello's read to the key
share's generation: parsing, the handshake's set-up), keygen→sign (key exchange, the first
messages), sign (EVP_DigestSign, both calls), signed→send (Finished, and whatever the server does
before its flight's write), and read→send in all."""
import re
import statistics
import sys

LINE = re.compile(r"^\s*(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)$")
spans = {k: [] for k in ("read>keygen", "keygen>sign", "sign", "signed>send", "read>send")}
cur = None
for line in sys.stdin:
    m = LINE.match(line)
    if not m:
        continue
    ts, event, args = float(m[2]), m[3].split(":")[-1], m[4].strip()
    if event in ("sys_exit_read", "sys_exit_recvfrom"):
        # A ClientHello record (or its body after a 5-byte header read) starts a connection.
        n = int(args, 16) if args.startswith("0x") else 0
        if n > 100:
            cur = {"read": ts, "dsr": []}
        continue
    if cur is None:
        continue
    if event == "kg" and "kg" not in cur:
        cur["kg"] = ts
    elif event == "ds" and "ds" not in cur:
        cur["ds"] = ts
    elif event == "dsr__return":
        cur["dsr"].append(ts)
    elif event.startswith("sys_enter_") and "kg" in cur and len(cur["dsr"]) == 2:
        signed = cur["dsr"][1]
        for key, value in (("read>keygen", cur["kg"] - cur["read"]), ("keygen>sign", cur["ds"] - cur["kg"]),
                           ("sign", signed - cur["ds"]), ("signed>send", ts - signed),
                           ("read>send", ts - cur["read"])):
            spans[key].append(value * 1e6)
        cur = None
if not spans["read>send"]:
    sys.exit("hello_trace.py: no connection found in the trace")
print(f"{len(spans['read>send'])} connections, medians in µs:")
print("  ".join(f"{k} {statistics.median(v):.0f}" for k, v in spans.items()))
