#!/usr/bin/env bash
# Server CPU per DTLS 1.2 handshake: sserve -dtls1_2 vs openssl s_server -dtls1_2, same run,
# same ECDSA P-256 certificate, N sequential `openssl s_client -dtls1_2` handshakes each.
# CPU = utime+stime of the server process (from /proc) over the N handshakes.
# Usage: benches/dtls_cpu.sh [N] [sserve binary]
set -euo pipefail
N=${1:-200}
SSERVE=${2:-target/release/sserve}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"; kill $(jobs -p) 2>/dev/null || true' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 2>/dev/null
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
run() { # name, command...
  local name=$1; shift
  local port=$((20000 + RANDOM % 20000))
  "$@" -accept "127.0.0.1:$port" -cert "$tmp/cert.pem" -key "$tmp/key.pem" -quiet < <(sleep 100000) >/dev/null 2>&1 &
  local pid=$!
  sleep 0.5
  local before; before=$(cpu $pid)
  local start; start=$(date +%s.%N)
  local ok=0
  for _ in $(seq "$N"); do
    if timeout 5 openssl s_client -dtls1_2 -connect "127.0.0.1:$port" </dev/null 2>/dev/null | grep -q "Cipher is"; then ok=$((ok+1)); fi
  done
  local after; after=$(cpu $pid)
  local end; end=$(date +%s.%N)
  kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  awk -v n="$name" -v ok="$ok" -v N="$N" -v t="$((after-before))" -v tck="$tck" -v s="$start" -v e="$end" \
    'BEGIN { printf "%-22s %d/%d handshakes, server CPU %.3f s = %.3f ms/handshake (wall %.1f s)\n", n, ok, N, t/tck, 1000*t/tck/ok, e-s }'
}
run "openssl s_server" openssl s_server -dtls1_2
run "sserve" "$SSERVE" -dtls1_2
