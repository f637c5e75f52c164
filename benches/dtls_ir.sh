#!/usr/bin/env bash
# dtls_ir.sh — server instructions per DTLS 1.2 handshake, sserve vs openssl s_server, counted by
# callgrind (load-independent, unlike dtls_cpu.sh's 10 ms CPU ticks). Each server runs twice
# under valgrind, for N1 and N2 sequential `openssl s_client -dtls1_2` handshakes, and is then
# stopped with SIGTERM; the difference of the two runs divided by N2 - N1 removes start-up and
# exit. Both use the same ECDSA P-256 certificate and `-dtls1_2 -quiet`.
#
# Usage: benches/dtls_ir.sh [SSERVE_BIN]  (env: N1=5 N2=45, KEEP=1 keeps the callgrind files)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(readlink -f "${1:-target/release/sserve}")
N1=${N1:-5}; N2=${N2:-45}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 2; }
WORK=$(mktemp -d -t dtlsir.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; [[ -n ${KEEP:-} ]] || rm -rf "$WORK"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/key.pem" \
  -out "$WORK/cert.pem" -subj /CN=localhost -days 2 2>/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
handshake() { # port: one DTLS 1.2 handshake; true if it completed
  timeout 20 openssl s_client -dtls1_2 -connect "127.0.0.1:$1" </dev/null 2>/dev/null | grep -q "Cipher is"
}

ir() { # name n cmd...: total instructions of a server run that completes n handshakes
  local name=$1 n=$2; shift 2
  local port; port=$(free_port)
  valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$name.$n" "$@" -dtls1_2 -quiet \
    -accept "127.0.0.1:$port" -cert "$WORK/cert.pem" -key "$WORK/key.pem" \
    </dev/null >/dev/null 2>"$WORK/vg.$name.$n" &
  local pid=$!
  local ok=0 i
  for i in $(seq 60); do # the server starts slowly under valgrind; the first success counts
    if handshake "$port"; then ok=1; break; fi
    sleep 0.5
  done
  for i in $(seq $((n - 1))); do handshake "$port" && ok=$((ok + 1)); done
  kill -TERM "$pid"; wait "$pid" || true
  [[ $ok == "$n" ]] || { echo "$name: only $ok of $n handshakes completed" >&2; exit 1; }
  awk '/Collected/ {print $4}' "$WORK/vg.$name.$n"
}

declare -A per
for side in sserve s_server; do
  if [[ $side == sserve ]]; then cmd=("$BIN"); else cmd=(openssl s_server); fi
  a=$(ir "$side" "$N1" "${cmd[@]}"); b=$(ir "$side" "$N2" "${cmd[@]}")
  per[$side]=$(( (b - a) / (N2 - N1) ))
  echo "$side: ${per[$side]} instructions per DTLS 1.2 handshake (runs of $N1 and $N2: $a, $b)"
done
awk -v a="${per[sserve]}" -v b="${per[s_server]}" 'BEGIN { printf "ratio sserve / s_server: %.3f\n", a / b }'
