#!/usr/bin/env bash
# pgo-build.sh — a profile-guided release build of the sserve binary: target/pgo/release/sserve.
#
# Builds an instrumented binary (target/pgo-gen), trains it on loopback with what a test server
# mostly does (full and resumed TLS 1.3 handshakes with a GET of a small file in -WWW mode, a
# few downloads, the -www status page, TLS 1.2), merges the profile with rustc's own
# llvm-profdata (rustup's llvm-tools, else one on PATH of the same LLVM), and rebuilds with it.
# The code a connection runs is then laid out hot-first: fewer instruction-cache misses per
# connection (benches/RESULTS.md). The plain `cargo build --release` stays the default build.
#
# Usage: scripts/pgo-build.sh   (env: CONNS=300 connections per kind of training)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CONNS=${CONNS:-300}
for tool in openssl curl python3; do
  command -v "$tool" >/dev/null || { echo "pgo-build.sh: $tool is needed" >&2; exit 2; }
done
sysroot=$(rustc --print sysroot)
profdata=$(ls "$sysroot"/lib/rustlib/*/bin/llvm-profdata 2>/dev/null | head -1 || true)
[[ -n $profdata ]] || profdata=$(command -v llvm-profdata || true)
[[ -n $profdata ]] || {
  echo "pgo-build.sh: llvm-profdata not found (rustup component add llvm-tools)" >&2
  exit 2
}
# The profile format follows rustc's LLVM: another major version cannot read it.
llvm_major() { sed -n 's/.*LLVM version:\{0,1\} \([0-9]*\).*/\1/p' | head -1; }
want=$(rustc -vV | llvm_major)
have=$("$profdata" merge --version 2>/dev/null | llvm_major || true)
[[ $have == "$want" ]] || {
  echo "pgo-build.sh: $profdata is LLVM ${have:-?}, rustc uses LLVM $want (rustup component add llvm-tools)" >&2
  exit 2
}

# WORK with a certificate and www/small.txt, removed on exit with any server still running.
source benches/scratch.sh

echo "pgo-build.sh: instrumented build" >&2
RUSTFLAGS="-Cprofile-generate=$WORK/raw" CARGO_TARGET_DIR=target/pgo-gen cargo build --release -p sserve >&2

mkdir -p "$WORK/prof"
head -c $((8 << 20)) /dev/zero > "$WORK/www/big.bin"
port=$(free_port)

# Trains one server (arguments after the binary); stopped with SIGTERM, which exits cleanly and
# so writes its profile (to prof/: the build scripts' own profiles went to raw/).
train() {
  (cd "$WORK/www" && LLVM_PROFILE_FILE="$WORK/prof/%p-%m.profraw" \
    exec "$ROOT/target/pgo-gen/release/sserve" -accept "$port" -cert "$WORK/cert.pem" \
    -key "$WORK/key.pem" -quiet "$@" </dev/null >/dev/null 2>&1) &
  PID=$!
  for _ in $(seq 100); do
    curl -sk -o /dev/null "https://127.0.0.1:$port/" && return
    sleep 0.1
  done
  echo "pgo-build.sh: the instrumented server did not start" >&2
  exit 1
}
echo "pgo-build.sh: training" >&2
train -WWW
python3 benches/seq_client.py "$port" "$CONNS" 0
python3 benches/seq_client.py "$port" "$CONNS" 1
for _ in 1 2 3; do
  curl -sk -o /dev/null "https://127.0.0.1:$port/big.bin"
  curl -sk --tlsv1.2 --tls-max 1.2 -o /dev/null "https://127.0.0.1:$port/small.txt"
done
kill -TERM "$PID"; wait "$PID"
train -www
for _ in $(seq 20); do curl -sk -o /dev/null "https://127.0.0.1:$port/"; done
kill -TERM "$PID"; wait "$PID"
ls "$WORK"/prof/*.profraw >/dev/null 2>&1 || { echo "pgo-build.sh: no profile was written" >&2; exit 1; }
"$profdata" merge -o "$WORK/sserve.profdata" "$WORK"/prof/*.profraw

echo "pgo-build.sh: optimised build" >&2
RUSTFLAGS="-Cprofile-use=$WORK/sserve.profdata" CARGO_TARGET_DIR=target/pgo cargo build --release -p sserve >&2
echo "target/pgo/release/sserve"
