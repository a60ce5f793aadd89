#!/usr/bin/env bash
# Benchmarks the cluster commands against testenv, side by side with the
# real kubectl on the same server in the same run, and prints Markdown for
# docs/performance.md.
#
#   bash scripts/bench-get.sh [OBJECTS]      # default 10000 Kustomizations
#
# Needs: hyperfine, GNU time (/usr/bin/time), kubectl, python3.
# Everything runs on 127.0.0.1; the servers are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
objects="${1:-10000}"
for tool in hyperfine kubectl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install hyperfine time)" >&2; exit 1; }
done

cargo build --release --quiet --bin flux
cargo build --release --quiet -p testenv --bin flux-testenv
target="${CARGO_TARGET_DIR:-target}/release"
flux="$target/flux"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

start_server() { # kubeconfig, extra flags…
  local kc=$1; shift
  "$target/flux-testenv" --kubeconfig "$kc" "$@" >"$kc.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$kc" ] && return; sleep 0.1; done
  echo "testenv did not start" >&2; exit 1
}

# 1. Listing: no controllers, so nothing changes while we measure.
kc="$work/list.kubeconfig"
start_server "$kc" --no-controllers
export KUBECONFIG="$kc"
"$flux" install --export | kubectl apply --server-side -f - >/dev/null
python3 scripts/seed_kustomizations.py "$kc" "$objects"

echo "### get: $objects Kustomizations in 10 namespaces"
echo
hyperfine --shell=none --warmup 2 --runs 10 --style basic --export-markdown "$work/get.md" \
  -n "flux get kustomizations -A" "$flux get kustomizations -A" \
  -n "kubectl get kustomizations.kustomize.toolkit.fluxcd.io -A" "kubectl get kustomizations.kustomize.toolkit.fluxcd.io -A" \
  -n "flux get all -A" "$flux get all -A" >/dev/null
cat "$work/get.md"
echo
peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
echo "| Command | Peak RSS (KiB) |"
echo "|:---|---:|"
echo "| flux get kustomizations -A | $(peak "$flux" get kustomizations -A) |"
echo "| kubectl get kustomizations.kustomize.toolkit.fluxcd.io -A | $(peak kubectl get kustomizations.kustomize.toolkit.fluxcd.io -A) |"
echo

# 1b. Inspection: `flux stats -A` over the same objects (13 kinds listed at
# once), and `flux tree` of a Kustomization whose inventory has 5,000
# entries; each beside the kubectl read that fetches the same data.
kubectl apply -f - >/dev/null <<'EOF'
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: root, namespace: flux-system}
spec: {interval: 1h, path: ./, prune: true, sourceRef: {kind: GitRepository, name: root}}
EOF
python3 - "$work/inventory.json" <<'PY'
import json, sys
entries = [{"id": f"apps_cm{i}__ConfigMap", "v": "v1"} for i in range(5000)]
json.dump({"status": {"inventory": {"entries": entries}}}, open(sys.argv[1], "w"))
PY
kubectl patch kustomizations.kustomize.toolkit.fluxcd.io root -n flux-system \
  --subresource=status --type=merge --patch-file "$work/inventory.json" >/dev/null
echo "### stats and tree: $objects Kustomizations; an inventory of 5,000 entries"
echo
hyperfine --shell=none --warmup 2 --runs 10 --style basic --export-markdown "$work/inspect.md" \
  -n "flux stats -A" "$flux stats -A" \
  -n "kubectl get kustomizations.kustomize.toolkit.fluxcd.io -A" "kubectl get kustomizations.kustomize.toolkit.fluxcd.io -A" \
  -n "flux tree kustomization root" "$flux tree kustomization root" \
  -n "kubectl get kustomizations.kustomize.toolkit.fluxcd.io root -n flux-system -o json" \
  "kubectl get kustomizations.kustomize.toolkit.fluxcd.io root -n flux-system -o json" >/dev/null
cat "$work/inspect.md"
echo
echo "| Command | Peak RSS (KiB) |"
echo "|:---|---:|"
echo "| flux stats -A | $(peak "$flux" stats -A) |"
echo "| flux tree kustomization root | $(peak "$flux" tree kustomization root) |"
echo

# 2. Reconcile latency: the simulated controller answers after a fixed delay;
# what flux adds beyond it is the time from the status update to exit (plus
# process start, one GET and one PATCH before the wait begins).
kc="$work/reconcile.kubeconfig"
delay_ms=500
start_server "$kc" --reconcile-delay-ms "$delay_ms"
export KUBECONFIG="$kc"
"$flux" install --export | kubectl apply --server-side -f - >/dev/null
# The GitRepository CRD admits only http(s) and ssh URLs; testenv's
# simulated source-controller gives a remote URL a revision without cloning.
kubectl apply -f - >/dev/null <<EOF
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: bench, namespace: flux-system}
spec: {interval: 1h, url: "https://git.example.com/bench.git", ref: {branch: main}}
EOF
kubectl wait -n flux-system gitrepository/bench --for=condition=Ready --timeout=60s >/dev/null
echo "### reconcile: controller delay ${delay_ms} ms"
echo
hyperfine --shell=none --warmup 1 --runs 10 --style basic --export-markdown "$work/reconcile.md" \
  -n "flux reconcile source git bench" "$flux reconcile source git bench" >/dev/null
cat "$work/reconcile.md"
echo
echo "machine: $(nproc) cores, $(uname -srm); $(kubectl version --client 2>/dev/null | head -1)"
