#!/usr/bin/env bash
# hello_trace.sh — where the server's hello phase goes, inside OpenSSL: uprobes on libssl's
# SSL_do_handshake and libcrypto's EVP_PKEY_keygen and EVP_DigestSign (entry and return), with
# the server's socket reads and writes, during `openssl s_time -new`; hello_trace.py splits each
# connection's ClientHello-to-flight time into read→keygen, keygen→sign, the signature, and
# signed→send (the flight's end: Finished, then the write). Run it for sserve and for a server to
# compare with (s_server itself calls no SSL_do_handshake: use plain_server -engine_context, the
# same OpenSSL on a blocking socket). Each probe hit costs microseconds on a VM, alike for both.
#
# Usage: benches/hello_trace.sh SERVER_CMD...   (run as root; needs perf with uprobes;
#        env SECS=2)  e.g. benches/hello_trace.sh target/release/sserve
#                        benches/hello_trace.sh target/release/examples/plain_server -engine_context
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 1 ]] || { sed -n 2,13p "$0" >&2; exit 2; }
command -v perf >/dev/null || { echo "needs perf (apt-get install -y linux-perf)" >&2; exit 2; }
SECS=${SECS:-2}
bin=$(readlink -f "$(command -v "$1")"); shift
source "$(dirname "$0")/scratch.sh"

lib() { ldd "$bin" | awk -v l="$1" '$1 ~ l {print $3}'; }
addr() { nm -D --defined-only "$1" | awk -v f="$2" '!a && ($3 == f || index($3, f "@@") == 1) {a = "0x" $1} END {print a}'; }
ssl=$(lib libssl); crypto=$(lib libcrypto)
[[ -n $ssl && -n $crypto ]] || { echo "hello_trace.sh: $bin is not linked to a shared libssl" >&2; exit 2; }
probes=(hs "$ssl" SSL_do_handshake "" hsr "$ssl" SSL_do_handshake %return
        kg "$crypto" EVP_PKEY_keygen "" ds "$crypto" EVP_DigestSign "" dsr "$crypto" EVP_DigestSign %return)
cleanup_probes() { perf probe -q -d 'sserve_hello:*' 2>/dev/null || true; }
trap 'cleanup_probes; kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
cleanup_probes
for ((i = 0; i < ${#probes[@]}; i += 4)); do
  a=$(addr "${probes[i+1]}" "${probes[i+2]}")
  perf probe -q -x "${probes[i+1]}" "sserve_hello:${probes[i]}=$a${probes[i+3]}"
done

port=$(free_port)
(cd "$WORK/www" && exec "$bin" "$@" -accept "$port" -cert "$WORK/cert.pem" -key "$WORK/key.pem" \
  -WWW -quiet >/dev/null 2>&1 </dev/null) &
pid=$!
for _ in $(seq 50); do openssl s_time -connect "127.0.0.1:$port" -new -time 1 >/dev/null 2>&1 && break; sleep 0.1; done
perf record -q -p "$pid" -o "$WORK/trace.data" -e 'sserve_hello:*' \
  -e syscalls:sys_exit_read -e syscalls:sys_exit_recvfrom -e syscalls:sys_enter_sendto \
  -e syscalls:sys_enter_sendmsg -e syscalls:sys_enter_write -e syscalls:sys_enter_writev 2>/dev/null &
rec=$!
sleep 0.3
openssl s_time -connect "127.0.0.1:$port" -new -time "$SECS" >/dev/null 2>&1
kill -INT "$rec"; wait "$rec" || true
perf script -i "$WORK/trace.data" -F tid,time,event,trace 2>/dev/null | python3 benches/hello_trace.py
