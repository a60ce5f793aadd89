#!/usr/bin/env bash
# A GitOps sandbox in one command, with no cluster and no Git account:
# starts flux-testenv (a Kubernetes API server whose simulated Flux
# controllers really clone Git and apply what they find) serving a bare Git
# repository over HTTP on loopback, bootstraps Flux into them, then commits
# an app and lets Flux deploy it. Everything is removed on exit.
#
#   scripts/sandbox.sh                          # run the demo and exit
#   scripts/sandbox.sh --keep                   # leave it running; prints how to use it
#   scripts/sandbox.sh --backend kube-apiserver # on a real kube-apiserver + etcd
#                                               # (scripts/controlplane.sh build first)
set -euo pipefail
cd "$(dirname "$0")/.."

keep=false
backend=builtin
while (($#)); do
  case "$1" in
    --keep) keep=true ;;
    --backend)
      backend="${2:?--backend needs builtin or kube-apiserver}"
      shift
      ;;
    *)
      echo "usage: $0 [--keep] [--backend builtin|kube-apiserver]" >&2
      exit 2
      ;;
  esac
  shift
done

echo "# building flux and flux-testenv (release)"
# Two builds: built together, testenv's git2 features would end up in flux.
cargo build --release --quiet -p flux-rs --bin flux
cargo build --release --quiet -p testenv --bin flux-testenv
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

mkdir "$work/git"
git init --quiet --bare --initial-branch=main "$work/git/fleet.git"
# The Git server's push password: made up here, handed to bootstrap as the
# token, never printed.
password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

"$bin/flux-testenv" --kubeconfig "$work/kubeconfig" --backend "$backend" \
  --serve-git "$work/git" --git-password "$password" >"$work/testenv.log" 2>&1 &
testenv_pid=$!
# The real control plane takes a few seconds to start; the builtin one less.
for _ in $(seq 1 600); do
  grep -q "^flux-testenv serving https" "$work/testenv.log" 2>/dev/null && break
  kill -0 "$testenv_pid" 2>/dev/null || { cat "$work/testenv.log"; exit 1; }
  sleep 0.1
done
grep -q "^flux-testenv serving https" "$work/testenv.log" || { cat "$work/testenv.log"; exit 1; }
export KUBECONFIG="$work/kubeconfig"
export FLUX_SYSTEM_NAMESPACE=flux-system

git_base="$(sed -n 's|^flux-testenv serving Git at \(http://[^ ]*\) .*|\1|p' "$work/testenv.log")"
repo="${git_base}fleet.git"

run() {
  echo
  echo "\$ $*"
  "$@"
}

GIT_PASSWORD="$password" run "$flux" bootstrap git --url="$repo" --allow-insecure-http \
  --token-auth --username=flux --path=clusters/sandbox --author-email=flux@sandbox.local
run "$flux" get all

# A user's change: an app given as a kustomize overlay (a base, a generated
# ConfigMap and a patch), and a Flux Kustomization that deploys it.
checkout="$work/checkout"
git clone --quiet "$repo" "$checkout"
# Pushes go to the sandbox's Git server as user flux.
git -C "$checkout" config credential.helper "!f() { echo username=flux; echo password=$password; }; f"
mkdir -p "$checkout/apps/hello/base"
cat >"$checkout/apps/hello/base/app.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
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
          envFrom:
            - configMapRef:
                name: hello-settings
EOF
cat >"$checkout/apps/hello/base/kustomization.yaml" <<'EOF'
resources:
  - app.yaml
EOF
cat >"$checkout/apps/hello/kustomization.yaml" <<'EOF'
namespace: hello
resources:
  - base
configMapGenerator:
  - name: hello-settings
    literals:
      - PODINFO_UI_MESSAGE=hello from the sandbox
patches:
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: hello
      spec:
        replicas: 2
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
echo "# committed the apps/hello overlay and clusters/sandbox/apps.yaml"

run "$flux" reconcile kustomization flux-system --with-source
# The new "apps" Kustomization is reconciled right after flux-system applies it.
for _ in $(seq 1 50); do
  "$flux" get kustomizations apps --status-selector ready=true 2>/dev/null | grep -q '^apps' && break
  sleep 0.2
done
run "$flux" get kustomizations
# What the overlay built, as the apps Kustomization's inventory records
# it: the generated ConfigMap (name with its hash suffix) and the Deployment.
echo
echo "# objects applied from the overlay"
"$flux" get kustomizations apps -o yaml | grep -E "id: hello_(hello-settings-[a-z0-9]+__ConfigMap|hello_apps_Deployment)$" || {
  echo "the overlay's generated ConfigMap or its Deployment was not applied" >&2
  exit 1
}

if $keep; then
  echo
  echo "# The sandbox keeps running until Ctrl-C. In another shell:"
  echo "export KUBECONFIG=$KUBECONFIG"
  echo "cd $checkout   # a checkout that pushes to the sandbox's Git server"
  echo "# commit, git push, then: $flux reconcile ks flux-system --with-source"
  wait "$testenv_pid"
fi
