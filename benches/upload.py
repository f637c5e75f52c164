"""upload.py PORT CIPHER [FILE [REPS]] — one TLS 1.3 connection to a console-mode server
(sserve or openssl s_server) that sends FILE REPS times (nothing without FILE: a readiness
probe), then close_notify, and waits for the server's answer to it, so the server has read
everything. Used by bulk_cpu.sh (DIRECTION=up) and upload_ir.sh."""
import socket, ssl, sys
port, cipher = int(sys.argv[1]), sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
with socket.create_connection(("127.0.0.1", port), timeout=120) as raw:
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with ctx.wrap_socket(raw) as s:
        if len(sys.argv) > 3:
            assert s.cipher()[0] == cipher, s.cipher()
            for _ in range(int(sys.argv[4]) if len(sys.argv) > 4 else 1):
                with open(sys.argv[3], "rb") as f:
                    while chunk := f.read(1 << 20):
                        s.sendall(chunk)
        s.unwrap()
