# scratch.sh — the scratch root the per-connection benches share, sourced after `set -euo
# pipefail` (handshake_ir.sh, syscalls.sh, latency.sh, bulk_cpu.sh, phases.sh, and
# scripts/pgo-build.sh): WORK with a fresh ECDSA P-256 certificate (cert.pem, key.pem) and a
# document root www/ holding small.txt, removed on exit with any server still running (kept
# with KEEP=1), and free_port.

WORK=$(mktemp -d -t "sserve-${0##*/}.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; [[ -n ${KEEP:-} ]] || rm -rf "$WORK"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/key.pem" \
  -out "$WORK/cert.pem" -subj /CN=localhost -days 2 2>/dev/null
mkdir -p "$WORK/www"; printf 'small file\n' > "$WORK/www/small.txt"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
