#!/usr/bin/env bash
# stream_ir.sh — server instructions per record through the embeddable tokio TlsStream over
# loopback (benches/examples/stream_profile.rs), record buffers kept while data moves against
# freed after every record (buffer_linger: None), counted by callgrind (`--toggle-collect` on
# the server's transfer loop only; the client is a blocking OpenSSL thread).
#
# Usage: benches/stream_ir.sh   (env: N=2000 records per run, SIZES="1024 16384")
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000}; SIZES=${SIZES:-"1024 16384"}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 2; }
cargo build --release -p sserve-benches --example stream_profile >&2
BIN=target/release/examples/stream_profile
OUT=$(mktemp -d -t streamir.XXXXXX); trap 'rm -rf "$OUT"' EXIT
ir() { # side dir size -> instructions per record
  valgrind --tool=callgrind --callgrind-out-file="$OUT/cg" --toggle-collect='*measured*' \
    "$BIN" "$1" "$2" "$3" "$N" 2>&1 | awk -v n="$N" '/Collected/ {printf "%.0f", $4 / n}'
}
printf '%-5s %6s %10s %12s %7s\n' dir size kept_ir per_record_ir ratio
for dir in up down; do
  for size in $SIZES; do
    k=$(ir kept "$dir" "$size"); p=$(ir per-record "$dir" "$size")
    printf '%-5s %6s %10s %12s %7s\n' "$dir" "$size" "$k" "$p" "$(awk -v k="$k" -v p="$p" 'BEGIN{printf "%.3f", k/p}')"
  done
done
