#!/usr/bin/env bash
# syscalls.sh — system calls per connection (TLS 1.3 handshake + GET of a small file in -WWW
# mode, then close), sserve vs openssl s_server, counted by `strace -f -c`. Like instruction
# counts, these do not depend on machine load. Start-up is removed by running each server twice
# (-naccept N1 and N2) and taking the difference; every thread is counted.
#
# Usage: benches/syscalls.sh [SSERVE_BIN]  (env: N1=20 N2=220, RESUME=0|1, SSERVE_ARGS)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(readlink -f "${1:-target/release/sserve}")
N1=${N1:-20}; N2=${N2:-220}; RESUME=${RESUME:-0}
command -v strace >/dev/null || { echo "needs strace (apt-get install -y strace)" >&2; exit 2; }
source "$(dirname "$0")/scratch.sh"

count() { # name n cmd...: leaves "$WORK/st.name.n", strace's table for a run of n connections
  local name=$1 n=$2; shift 2
  local port; port=$(free_port)
  (cd "$WORK/www" && exec strace -f -c -o "$WORK/st.$name.$n" \
     "$@" -accept "$port" -cert "$WORK/cert.pem" -key "$WORK/key.pem" -WWW -quiet -naccept "$n" \
     >/dev/null 2>&1 </dev/null) &
  local pid=$!
  python3 benches/seq_client.py "$port" "$n" "$RESUME"
  wait "$pid" || true
}

for side in sserve s_server; do
  if [[ $side == sserve ]]; then cmd=("$BIN" ${SSERVE_ARGS:-}); else cmd=(openssl s_server); fi
  count "$side" "$N1" "${cmd[@]}"; count "$side" "$N2" "${cmd[@]}"
done
# strace -c rows: % time, seconds, usecs/call, calls, [errors,] syscall; the last row is "total".
awk -v n="$((N2 - N1))" -v n1="$N1" -v n2="$N2" -v r="$RESUME" '
  FNR == 1 { k = split(FILENAME, q, "/"); split(q[k], p, "."); side = p[2]; sign = (p[3] == n2) ? 1 : -1 }
  $1 ~ /^[0-9.]+$/ && NF >= 5 { calls[side, $NF] += sign * $4; names[$NF] = 1 }
  END {
    printf "system calls per connection (%s handshake + GET; runs of %d and %d connections)\n",
      r == "1" ? "resumed" : "full", n1, n2
    printf "%-16s %8s %8s\n", "call", "sserve", "s_server"
    sort = "sort -k2,2nr -k3,3nr"
    for (c in names) if (c != "total") {
      a = calls["sserve", c] / n; b = calls["s_server", c] / n
      if (a >= 0.05 || b >= 0.05) printf "%-16s %8.2f %8.2f\n", c, a, b | sort
    }
    close(sort)
    a = calls["sserve", "total"] / n; b = calls["s_server", "total"] / n
    printf "%-16s %8.2f %8.2f   ratio %.3f\n", "total", a, b, a / b
  }' "$WORK"/st.sserve.* "$WORK"/st.s_server.*
