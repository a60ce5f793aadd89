#!/usr/bin/env bash
# Wall-clock time of a full `flux bootstrap git` over file:// against
# flux-testenv (release builds): a first run on a fresh server and a fresh
# bare repository, then an idempotent re-run, RUNS times each.
#
#   scripts/bench-bootstrap.sh [RUNS]     (default 5)
#
# flux-testenv runs with its default simulated delays (a controller takes
# 100 ms per reconcile, a Deployment 200 ms to become available), so the
# health waits dominate; the numbers are what a user sees against it.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"

# Two builds, so flux is measured with the features users get (a joint
# build would unify testenv's git2 features into it).
cargo build --release --quiet -p flux-rs --bin flux
cargo build --release --quiet -p testenv --bin flux-testenv
bin="${CARGO_TARGET_DIR:-$PWD/target}/release"

work="$(mktemp -d -t flux-bench-bootstrap-XXXXXX)"
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }

first=()
rerun=()
for i in $(seq 1 "$runs"); do
  dir="$work/run-$i"
  mkdir -p "$dir"
  "$bin/flux-testenv" --kubeconfig "$dir/kubeconfig" >"$dir/testenv.log" 2>&1 &
  pid=$!
  until grep -q serving "$dir/testenv.log" 2>/dev/null; do sleep 0.05; done
  git init --quiet --bare --initial-branch=main "$dir/fleet.git"
  export KUBECONFIG="$dir/kubeconfig"
  args=(bootstrap git "--url=file://$dir/fleet.git" --path=clusters/bench)
  t0=$(now); "$bin/flux" "${args[@]}" 2>"$dir/first.log"; t1=$(now)
  "$bin/flux" "${args[@]}" 2>"$dir/rerun.log"; t2=$(now)
  first+=("$(ms "$t0" "$t1")")
  rerun+=("$(ms "$t1" "$t2")")
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done

summary() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1; s += $1 } END {
    printf "min %d ms, median %d ms, max %d ms, mean %d ms (n=%d)\n", v[1], v[int((NR + 1) / 2)], v[NR], s / NR, NR }'
}
echo "first run (fresh cluster and repository): $(summary "${first[@]}")"
echo "re-run (nothing to change):                $(summary "${rerun[@]}")"
