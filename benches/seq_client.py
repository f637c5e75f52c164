"""Sequential TLS 1.3 clients for the per-connection benches (handshake_ir.sh, syscalls.sh).

Usage: seq_client.py PORT N RESUME
Waits for the server (slow to start under valgrind or strace), counting that probe as the first
of N accepted connections, then makes N - 1 connections one after another, each a GET of
/small.txt read to the end; with RESUME=1 each resumes the previous one's session.
"""
import socket
import ssl
import sys
import time

port, n, resume = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
for _ in range(600):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("server did not start")
session = None
for _ in range(n - 1):
    with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session if resume else None) as s:
            s.sendall(b"GET /small.txt HTTP/1.0\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            assert b"small file" in data, data
            session = s.session
