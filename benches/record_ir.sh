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
printf '%-5s %6s %12s %12s %8s\n' op size engine_ir raw_ir ratio
for op in open seal; do
  for size in $SIZES; do
    e=$(ir engine "$op" "$size"); r=$(ir raw "$op" "$size")
    printf '%-5s %6s %12s %12s %8s\n' "$op" "$size" "$e" "$r" "$(awk -v e="$e" -v r="$r" 'BEGIN{printf "%.3f", e/r}')"
  done
done
