#!/usr/bin/env bash
# A GitOps sandbox in one command, with no cluster and no Git account:
# starts flux-testenv (a local Kubernetes API server whose simulated Flux
# controllers really clone Git and apply what they find) and a bare Git
# repository in a temporary directory, bootstraps Flux into them, then
# commits an app and lets Flux deploy it. Everything is removed on exit.
#
#   scripts/sandbox.sh           # run the demo and exit
#   scripts/sandbox.sh --keep    # leave it running; prints how to use it
set -euo pipefail
cd "$(dirname "$0")/.."

keep=false
[[ "${1:-}" == "--keep" ]] && keep=true

echo "# building flux and flux-testenv (release)"
cargo build --release --quiet -p flux-rs --bin flux -p testenv --bin flux-testenv
bin="${CARGO_TARGET_DIR:-$PWD/target}/release"
flux="$bin/flux"

work="$(mktemp -d -t flux-sandbox-XXXXXX)"
testenv_pid=""
cleanup() {
  if [[ -n "$testenv_pid" ]]; then
    kill "$testenv_pid" 2>/dev/null || true
    wait "$testenv_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$bin/flux-testenv" --kubeconfig "$work/kubeconfig" >"$work/testenv.log" 2>&1 &
testenv_pid=$!
for _ in $(seq 1 100); do
  grep -q "serving" "$work/testenv.log" 2>/dev/null && break
  kill -0 "$testenv_pid" 2>/dev/null || { cat "$work/testenv.log"; exit 1; }
  sleep 0.1
done
export KUBECONFIG="$work/kubeconfig"
export FLUX_SYSTEM_NAMESPACE=flux-system

repo="$work/fleet.git"
git init --quiet --bare --initial-branch=main "$repo"

run() {
  echo
  echo "\$ $*"
  "$@"
}

run "$flux" bootstrap git --url="file://$repo" --path=clusters/sandbox --author-email=flux@sandbox.local
run "$flux" get all

# A user's change: an app, and a Flux Kustomization that deploys it.
checkout="$work/checkout"
git clone --quiet "$repo" "$checkout"
mkdir -p "$checkout/apps/hello"
cat >"$checkout/apps/hello/app.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  namespace: hello
spec:
  replicas: 1
  selector:
    matchLabels:
      app: hello
  template:
    metadata:
      labels:
        app: hello
    spec:
      containers:
        - name: hello
          image: ghcr.io/stefanprodan/podinfo:6.7.0
EOF
cat >"$checkout/clusters/sandbox/apps.yaml" <<'EOF'
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./apps/hello
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
EOF
git -C "$checkout" add -A
git -C "$checkout" -c user.name=sandbox -c user.email=sandbox@local commit --quiet -m "Add the hello app"
git -C "$checkout" push --quiet origin main
echo
echo "# committed apps/hello and clusters/sandbox/apps.yaml"

run "$flux" reconcile kustomization flux-system --with-source
# The new "apps" Kustomization is reconciled right after flux-system applies it.
for _ in $(seq 1 50); do
  "$flux" get kustomizations apps --status-selector ready=true 2>/dev/null | grep -q '^apps' && break
  sleep 0.2
done
run "$flux" get kustomizations

if $keep; then
  echo
  echo "# The sandbox keeps running until Ctrl-C. In another shell:"
  echo "export KUBECONFIG=$KUBECONFIG"
  echo "git clone $repo fleet   # commit, push, then: $flux reconcile ks flux-system --with-source"
  wait "$testenv_pid"
fi
