#!/usr/bin/env bash
# Times the offline commands of the release binary with hyperfine and prints
# a Markdown table (paste it into docs/performance.md).
#   bash scripts/bench-cli.sh            # builds the release binary first
# Needs: hyperfine (apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is required: apt-get install hyperfine" >&2; exit 1; }
cargo build --release --quiet -p flux-rs --bin flux
bin="${CARGO_TARGET_DIR:-target}/release/flux"
out=$(mktemp)
hyperfine --shell=none --warmup 20 --runs 200 --export-markdown "$out" \
  -n 'flux --version' "$bin --version" \
  -n 'flux version --client' "$bin version --client" \
  -n 'flux install --export' "$bin install --export" \
  -n 'flux install --export (all components)' \
     "$bin install --export --components-extra=image-reflector-controller,image-automation-controller,source-watcher" \
  >/dev/null
cat "$out"
echo
echo "machine: $(nproc) cores, $(uname -srm); binary: $(du -h "$bin" | cut -f1)"
