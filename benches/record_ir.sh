#!/usr/bin/env bash
# record_ir.sh — instructions per record, engine vs raw OpenSSL, counted by callgrind.
# Instruction counts do not depend on machine load, so this ratio is stable where criterion's
# wall-clock ratios swing by ±30 % on a shared 2-vCPU VM. Only the server's side is counted
# (`--toggle-collect` on the measured loop of benches/examples/record_profile.rs).
#
# Usage: benches/record_ir.sh   (env: N=2000 records per run, SIZES="1024 16384")
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000}; SIZES=${SIZES:-"1024 16384"}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 2; }
cargo build --release -p sserve-benches --example record_profile >&2
BIN=target/release/examples/record_profile
OUT=$(mktemp -d -t recordir.XXXXXX); trap 'rm -rf "$OUT"' EXIT
ir() { # side op size -> instructions per record
  valgrind --tool=callgrind --callgrind-out-file="$OUT/cg" --toggle-collect='*measured*' \
    "$BIN" "$1" "$2" "$3" "$N" 2>&1 | awk -v n="$N" '/Collected/ {printf "%.0f", $4 / n}'
}
# raw: an SSL of the engine's own server context, which frees its record buffers after every
# record (SSL_MODE_RELEASE_BUFFERS); raw_kept: one of a plain context, which keeps them, as
# s_server's do. The engine keeps them while the connection is busy, so ratio_kept is what the
# engine itself adds to a record.
printf '%-5s %6s %10s %10s %10s %7s %10s\n' op size engine_ir raw_ir raw_kept ratio ratio_kept
for op in open seal; do
  for size in $SIZES; do
    e=$(ir engine "$op" "$size"); r=$(ir raw "$op" "$size"); k=$(ir raw-kept "$op" "$size")
    printf '%-5s %6s %10s %10s %10s %7s %10s\n' "$op" "$size" "$e" "$r" "$k" \
      "$(awk -v e="$e" -v r="$r" 'BEGIN{printf "%.3f", e/r}')" "$(awk -v e="$e" -v k="$k" 'BEGIN{printf "%.3f", e/k}')"
  done
done
