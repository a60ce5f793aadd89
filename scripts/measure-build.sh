#!/usr/bin/env bash
# Measures what issue #17 asks about the shipped binary: a cold release
# build of `flux` alone (fresh target dir, wall time and peak memory), the
# binary's size, what it links dynamically, whether any OpenSSL is in it,
# `flux --version` start-up time, and the duplicate crate versions in its
# dependency tree.
#
#   bash scripts/measure-build.sh                     # release profile
#   PROFILE=dev bash scripts/measure-build.sh         # another profile
#   KEEP=/tmp/flux bash scripts/measure-build.sh      # also keep the binary
#   CARGO_PROFILE_RELEASE_LTO=thin bash scripts/...   # profile settings, as cargo reads them
#
# Needs: GNU time (/usr/bin/time), hyperfine, ldd. Run it on an idle
# machine: the build time is the number that matters, and other builds
# running beside it inflate it.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${PROFILE:-release}
command -v hyperfine >/dev/null || { echo "hyperfine is required: apt-get install hyperfine" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time is required: apt-get install time" >&2; exit 1; }

target=$(mktemp -d)
trap 'rm -rf "$target"' EXIT

echo "cold build: cargo build --profile $profile --locked -p flux-rs --bin flux" >&2
CARGO_TARGET_DIR=$target /usr/bin/time -f '%e %M' -o "$target/time" \
  cargo build --profile "$profile" --locked -p flux-rs --bin flux >&2
read -r seconds peak_kb <"$target/time"
# Printed at once: the build is the long part, and nothing below may lose it.
echo "cold build took $seconds s, peak rustc $((peak_kb / 1024)) MB" >&2

bin=$target/$profile/flux
[ -z "${KEEP:-}" ] || cp "$bin" "$KEEP"
size=$(stat -c %s "$bin")
openssl=$(grep -c -a 'OpenSSL' "$bin" || true)
startup=$(hyperfine --shell=none --warmup 10 --runs 100 --export-json "$target/hf.json" "$bin --version" >/dev/null &&
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f ± %.1f ms" % (r["mean"]*1000, r["stddev"]*1000))' "$target/hf.json")
duplicates=$(cargo tree --locked -p flux-rs -e normal -d --depth 0 2>/dev/null | grep -c '^[a-z]' || true)

printf 'profile            %s\n' "$profile"
printf 'cold build         %.0f s (%d min %02d s), peak rustc %d MB\n' "$seconds" "$((${seconds%.*} / 60))" "$((${seconds%.*} % 60))" "$((peak_kb / 1024))"
printf 'binary size        %d bytes (%s MB)\n' "$size" "$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }')"
printf 'flux --version     %s\n' "$startup"
printf 'OpenSSL strings    %s\n' "$openssl"
printf 'duplicate crates   %s lines of cargo tree -d (depth 0)\n' "$duplicates"
echo 'ldd:'
ldd "$bin" | sed 's/^/  /'
