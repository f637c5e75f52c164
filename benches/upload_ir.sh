#!/usr/bin/env bash
# upload_ir.sh — server instructions per MiB received in console mode (TLS 1.3, Python's ssl
# sending, stdout /dev/null), sserve vs openssl s_server, counted by callgrind. Unlike the CPU
# seconds of `DIRECTION=up bulk_cpu.sh`, instruction counts do not depend on machine load.
# Start-up and the handshake are removed by a second run that uploads nothing.
#
# Usage: benches/upload_ir.sh [SSERVE_BIN]  (env: MB=32, CIPHER=TLS_AES_128_GCM_SHA256)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(readlink -f "${1:-target/release/sserve}")
MB=${MB:-32}; CIPHER=${CIPHER:-TLS_AES_128_GCM_SHA256}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 2; }
source "$(dirname "$0")/scratch.sh"
head -c $((MB * 1024 * 1024)) /dev/urandom > "$WORK/up.bin"
mkfifo "$WORK/stdin"; sleep 100000 >"$WORK/stdin" &

ir() { # name file|- cmd...: instructions of a console server that serves one upload
  local name=$1 file=$2; shift 2
  local port; port=$(free_port)
  valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$name" "$@" -accept "$port" \
    -cert "$WORK/cert.pem" -key "$WORK/key.pem" -quiet -naccept 1 -ciphersuites "$CIPHER" \
    >/dev/null 2>"$WORK/vg.$name" <"$WORK/stdin" &
  local pid=$!
  # Wait for the listening socket without connecting (the one connection is the upload).
  local hex; hex=$(printf ':%04X ' "$port")
  for _ in $(seq 200); do grep -q "$hex.* 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null && break; sleep 0.1; done
  if [[ $file == - ]]; then python3 benches/upload.py "$port" "$CIPHER" /dev/null
  else python3 benches/upload.py "$port" "$CIPHER" "$file"; fi
  wait "$pid" || true
  awk '/Collected/ {print $4}' "$WORK/vg.$name"
}

declare -A per_mib
for side in sserve s_server; do
  if [[ $side == sserve ]]; then cmd=("$BIN"); else cmd=(openssl s_server); fi
  a=$(ir "$side.0" - "${cmd[@]}"); b=$(ir "$side.$MB" "$WORK/up.bin" "${cmd[@]}")
  per_mib[$side]=$(( (b - a) / MB ))
  echo "$side: ${per_mib[$side]} instructions per MiB (runs of 0 and $MB MiB: $a, $b)"
done
awk -v a="${per_mib[sserve]}" -v b="${per_mib[s_server]}" \
  'BEGIN { printf "ratio sserve / s_server (console upload): %.3f\n", a / b }'
