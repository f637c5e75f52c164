#!/usr/bin/env python3
"""phases.py — where a connection's time goes, read from the packets: server time (a
ClientHello's arrival to the server's flight, the client's Finished to the server's last data)
against client time (the server's flight to the client's Finished) for every connection of an
`openssl s_time` run, from `tcpdump -tt -n -i lo` text.

The client's phase is the ruler: a machine whose speed drifts by ±20 % between runs (as these
shared VMs do) stretches the client's phase and the server's alike, so server / client is
steady where connections per second are not, and two servers compare by that quotient.

Usage: phases.py CAPTURE PORT   (prints one line: connections, phase medians in µs, quotients;
"-" for the reply phase when the client closes right after its Finished, as `s_time -new` does)
"""
import re
import statistics
import sys

PACKET = re.compile(r"(\d+\.\d+) IP6? \S+?\.(\d+) > \S+?\.(\d+): Flags \[([^\]]*)\].*length (\d+)")


def connections(path, port):
    """Packets per connection, in capture order: (time, 'c' or 's' for who sent it, TCP flags,
    payload length)."""
    conns = {}
    with open(path) as f:
        for line in f:
            m = PACKET.match(line)
            if not m:
                continue
            t, src, dst, flags, length = float(m[1]), m[2], m[3], m[4], int(m[5])
            if dst == port:
                conns.setdefault(src, []).append((t, "c", flags, length))
            elif src == port:
                conns.setdefault(dst, []).append((t, "s", flags, length))
    return conns.values()


def phases(packets):
    """(server hello-to-flight, client flight-to-Finished, server Finished-to-last-data or None
    when the server sent nothing after the client's Finished) in µs, or None for a connection
    the capture cut."""
    data = [(t, who) for t, who, _, length in packets if length > 0]
    try:
        hello = next(t for t, who in data if who == "c")
        flight = next(t for t, who in data if who == "s" and t >= hello)
        finished = next(t for t, who in data if who == "c" and t > flight)
    except StopIteration:
        return None
    last = max(t for t, who in data if who == "s")
    reply = (last - finished) * 1e6 if last > finished else None
    return (flight - hello) * 1e6, (finished - flight) * 1e6, reply


def main():
    path, port = sys.argv[1], sys.argv[2]
    rows = [p for p in map(phases, connections(path, port)) if p]
    if len(rows) < 10:
        sys.exit(f"phases.py: only {len(rows)} whole connections in {path}")
    hello = statistics.median(r[0] for r in rows)
    client = statistics.median(r[1] for r in rows)
    replies = [r[2] for r in rows if r[2] is not None]
    # `s_time -new` resets the connection right after its Finished, so only the connections
    # whose tickets beat the reset have a reply phase: a biased few, not a phase to time.
    if len(replies) >= 0.9 * len(rows):
        reply = statistics.median(replies)
        tail = f"{reply:.1f} {hello / client:.4f} {reply / client:.4f}"
    else:
        tail = f"- {hello / client:.4f} -"
    print(f"{len(rows)} {hello:.1f} {client:.1f} {tail}")


if __name__ == "__main__":
    main()
