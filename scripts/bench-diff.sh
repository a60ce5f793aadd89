#!/usr/bin/env bash
# Times `flux diff kustomization` on N objects (default 1000) against a real
# kube-apiserver (flux-testenv --backend kube-apiserver; build the control
# plane first with scripts/controlplane.sh build), and counts the API
# requests it makes (kube-apiserver's apiserver_request_total, before/after).
#   scripts/bench-diff.sh [N]
# Two runs: every object new (N dry-runs that create), then every object
# applied as kustomize-controller applies it (N GETs and N unchanged dry-runs).
# Services are headless: the control plane's service IP range is small.
# Needs kubectl (KUBECTL, else kubectl on PATH, else kubectl.1.33).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1000}
profile=${PROFILE:-release}
target=${CARGO_TARGET_DIR:-$here/target}
kubectl=${KUBECTL:-$(command -v kubectl || command -v kubectl.1.33 || echo /usr/lib/google-cloud-sdk/bin/kubectl.1.33)}
flag=$([ "$profile" = release ] && echo --release || true)
(cd "$here" && cargo build -q $flag -p flux-rs --bin flux && cargo build -q $flag -p testenv --bin flux-testenv)
bin=$target/$profile
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$bin/flux-testenv" --kubeconfig "$work/kubeconfig" --backend kube-apiserver > "$work/testenv.log" 2>&1 &
pid=$!
for _ in $(seq 120); do [ -s "$work/kubeconfig" ] && grep -q serving "$work/testenv.log" && break; sleep 0.5; done
export KUBECONFIG=$work/kubeconfig
"$bin/flux" install --export | "$kubectl" apply --server-side -f - > /dev/null
"$kubectl" create namespace bench > /dev/null
mkdir -p "$work/app"
python3 - "$work/app" "$n" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
with open(f"{d}/objects.yaml", "w") as out:
    for i in range(n):
        k = i % 3
        if k == 0:
            out.write(f"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: app{i}}}\n  template:\n    metadata:\n      labels: {{app: app{i}}}\n    spec:\n      containers:\n      - name: main\n        image: nginx:1.25\n        ports:\n        - containerPort: 80\n")
        elif k == 1:
            out.write(f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app{i}\nspec:\n  clusterIP: None\n  selector: {{app: app{i}}}\n  ports:\n  - port: 80\n")
        else:
            out.write(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg{i}\ndata:\n  key: \"value {i}\"\n")
PY
cat > "$work/ks.yaml" <<'K'
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: bench
  namespace: flux-system
spec:
  path: ./app
  targetNamespace: bench
K
requests() { "$kubectl" get --raw /metrics | awk '/^apiserver_request_total\{/ { s += $NF } END { printf "%d", s }'; }
run() { # $1 = label
  local before after s e code
  before=$(requests)
  s=$(date +%s%N)
  set +e
  "$bin/flux" diff kustomization bench --path "$work/app" --kustomization-file "$work/ks.yaml" \
    --ignore-not-found --progress-bar=false -n flux-system > "$work/out" 2> "$work/err"
  code=$?
  set -e
  e=$(date +%s%N)
  after=$(requests)
  # The metrics GETs themselves count one request each.
  printf '%s: %d objects, exit %d, %d ms, %d API requests, %d lines\n' "$1" "$n" "$code" \
    $(( (e - s) / 1000000 )) $(( after - before - 1 )) "$(wc -l < "$work/out")"
}
run "all new"
"$bin/flux" build kustomization bench --path "$work/app" --kustomization-file "$work/ks.yaml" \
  --dry-run -n flux-system | "$kubectl" apply --server-side --force-conflicts \
  --field-manager=kustomize-controller -f - > /dev/null
run "all applied"
