#!/usr/bin/env bash
# ab.sh — loopback A/B of the sserve binary against openssl s_server with the same certificate
# and flags: a thin wrapper around ../shared/tools/compare.sh (interleaved rounds, fresh server
# per round, medians with min–max, guards against a busy machine).
#
# Usage: benches/ab.sh [extra compare.sh env, e.g. ROUNDS=5 BULK_MB=256]
# Measures full and resumed TLS 1.3 handshakes/s, 8-client concurrent handshakes/s, bulk MB/s of a
# -WWW download (AES-128-GCM and ChaCha20), time to first byte, server CPU µs per handshake, RSS
# idle and peak. Prints compare.sh's table and SUMMARY line (ratios sserve/s_server).
set -euo pipefail
cd "$(dirname "$0")/.."
COMPARE=${COMPARE:-../shared/tools/compare.sh}
[[ -x $COMPARE || -f $COMPARE ]] || { echo "compare.sh not found at $COMPARE" >&2; exit 2; }
cargo build --release -p sserve >&2
exec bash "$COMPARE" \
  'target/release/sserve -accept {port} -cert {cert} -key {key} -WWW -quiet' \
  'openssl s_server -accept {port} -cert {cert} -key {key} -WWW -quiet'
