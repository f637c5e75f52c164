#!/usr/bin/env python3
"""phases.py — where a connection's time goes, read from the packets: server time (a
ClientHello's arrival to the server's flight, the client's Finished to the server's last data)
against client time (the server's flight to the client's Finished) for every connection of an
`openssl s_time` run, from `tcpdump -tt -n -i lo` text; and the whole cycle of one connection,
from its SYN to the next connection's SYN, whose inverse is the run's connection rate.

The client's phase is the ruler: a machine whose speed drifts by ±20 % between runs (as these
shared VMs do) stretches the client's phase and the server's alike, so server / client is
steady where connections per second are not, and two servers compare by that quotient.

Usage: phases.py CAPTURE PORT   (prints one line: connections, phase medians in µs, quotients;
"-" for the reply phase when the client closes right after its Finished, as `s_time -new` does;
then the cycle's medians in µs: SYN to ClientHello, ClientHello to flight, flight to Finished,
Finished to the next SYN, and SYN to the next SYN. Medians of parts need not add up to the
median of the whole.)
"""
import re
import statistics
import sys

PACKET = re.compile(r"(\d+\.\d+) IP6? \S+?\.(\d+) > \S+?\.(\d+): Flags \[([^\]]*)\].*length (\d+)")


def connections(path, port):
    """Packets per connection, connections in the order of their first packet: (time, 'c' or
    's' for who sent it, TCP flags, payload length)."""
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


def handshake_marks(packets):
    """When the ClientHello arrived, the server's flight left and the client's Finished
    arrived (the first data of each after the one before), or None for a connection the capture
    cut."""
    data = [(t, who) for t, who, _, length in packets if length > 0]
    try:
        hello = next(t for t, who in data if who == "c")
        flight = next(t for t, who in data if who == "s" and t >= hello)
        finished = next(t for t, who in data if who == "c" and t > flight)
    except StopIteration:
        return None
    return hello, flight, finished


def phases(packets):
    """(server hello-to-flight, client flight-to-Finished, server Finished-to-last-data or None
    when the server sent nothing after the client's Finished) in µs, or None for a connection
    the capture cut."""
    marks = handshake_marks(packets)
    if marks is None:
        return None
    hello, flight, finished = marks
    last = max(t for t, who, _, length in packets if length > 0 and who == "s")
    reply = (last - finished) * 1e6 if last > finished else None
    return (flight - hello) * 1e6, (finished - flight) * 1e6, reply


def cycle(packets, next_syn):
    """(SYN to ClientHello, ClientHello to flight, flight to Finished, Finished to the next
    connection's SYN, SYN to the next SYN) in µs, or None for a connection the capture cut."""
    marks = handshake_marks(packets)
    if marks is None:
        return None
    syn = packets[0][0]
    times = (syn, *marks, next_syn)
    return tuple((b - a) * 1e6 for a, b in zip(times, times[1:])) + ((next_syn - syn) * 1e6,)


def main():
    path, port = sys.argv[1], sys.argv[2]
    conns = list(connections(path, port))
    rows = [p for p in map(phases, conns) if p]
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
    # Connections follow one another (one client), so each one's cycle ends at the next SYN.
    cycles = [c for c in (cycle(p, n[0][0]) for p, n in zip(conns, conns[1:])) if c]
    parts = " ".join(f"{statistics.median(c[i] for c in cycles):.1f}" for i in range(5))
    print(f"{len(rows)} {hello:.1f} {client:.1f} {tail} {parts}")


if __name__ == "__main__":
    main()
