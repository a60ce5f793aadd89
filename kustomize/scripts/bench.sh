#!/usr/bin/env bash
# Times kustomize-rs against `kubectl kustomize` on generated trees of
# N objects (default: 1000 5000 20000) and checks both print the same bytes.
#   kustomize/scripts/bench.sh [N...]
# kubectl kustomize grows faster than linearly (minutes at 5,000 objects), so it
# is only run up to $BENCH_ORACLE_MAX objects (default 5000).
# Uses $KUSTOMIZE_ORACLE, else kubectl.1.33 on PATH, else the google-cloud-sdk copy.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
oracle=${KUSTOMIZE_ORACLE:-$(command -v kubectl.1.33 || echo /usr/lib/google-cloud-sdk/bin/kubectl.1.33)}
target=${CARGO_TARGET_DIR:-$here/target}
(cd "$here" && cargo build -q --release -p kustomize --bin kustomize-rs)
bin=$target/release/kustomize-rs
sizes=("$@"); [ ${#sizes[@]} -eq 0 ] && sizes=(1000 5000 20000)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

gen() { # $1 = number of objects; a base of Deployments/Services/ConfigMaps in 20 files, an overlay
  local n=$1 dir=$work/t$1 per=$(( ($1 + 19) / 20 ))
  mkdir -p "$dir/base" "$dir/overlay"
  { echo "resources:"; for f in $(seq 1 20); do echo "- r$f.yaml"; done; } > "$dir/base/kustomization.yaml"
  python3 - "$dir/base" "$n" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
per = (n + 19) // 20
i = 0
for f in range(1, 21):
    with open(f"{d}/r{f}.yaml", "w") as out:
        for _ in range(per):
            if i >= n: break
            k = i % 3
            if k == 0:
                out.write(f"""---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app{i}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: app{i}}}
  template:
    metadata:
      labels: {{app: app{i}}}
    spec:
      containers:
      - name: main
        image: nginx:1.25
        envFrom:
        - configMapRef: {{name: cfg{i + 2}}}
""")
            elif k == 1:
                out.write(f"""---
apiVersion: v1
kind: Service
metadata:
  name: app{i - 1}
spec:
  selector: {{app: app{i - 1}}}
  ports:
  - port: 80
""")
            else:
                out.write(f"""---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg{i}
data:
  key: "value {i}"
""")
            i += 1
PY
  cat > "$dir/overlay/kustomization.yaml" <<'K'
resources:
- ../base
namespace: bench
namePrefix: prod-
commonLabels:
  team: bench
images:
- name: nginx
  newTag: "1.27"
configMapGenerator:
- name: extra
  literals: [a=1]
patches:
- target:
    kind: Deployment
  patch: |-
    - op: replace
      path: /spec/replicas
      value: 2
K
  echo "$dir/overlay"
}

now() { date +%s.%N; }
printf '%8s %12s %12s %8s %12s %12s %s\n' objects kubectl_s kustomize-rs_s speedup kubectl_MiB rs_MiB identical
for n in "${sizes[@]}"; do
  dir=$(gen "$n")
  if [ "$n" -gt "${BENCH_ORACLE_MAX:-5000}" ]; then
    t0=$(now); /usr/bin/time -f %M -o "$work/rss" "$bin" build "$dir" > "$work/r.yaml"; t1=$(now)
    rs_mib=$(awk '{ printf "%.0f", $1 / 1024 }' "$work/rss")
    awk -v n="$n" -v a="$t0" -v b="$t1" -v m="$rs_mib" 'BEGIN { printf "%8d %12s %12.3f %8s %12s %12s %s\n", n, "skipped", b-a, "-", "-", m, "-" }'
    continue
  fi
  # Timed without /usr/bin/time, then run again for the peak memory.
  t0=$(now); "$oracle" kustomize "$dir" > "$work/o.yaml" 2>/dev/null; t1=$(now)
  "$bin" build "$dir" > "$work/r.yaml"; t2=$(now)
  /usr/bin/time -f %M -o "$work/rss" "$oracle" kustomize "$dir" > /dev/null 2>&1
  kubectl_mib=$(awk '{ printf "%.0f", $1 / 1024 }' "$work/rss")
  /usr/bin/time -f %M -o "$work/rss" "$bin" build "$dir" > /dev/null
  rs_mib=$(awk '{ printf "%.0f", $1 / 1024 }' "$work/rss")
  same=no; cmp -s "$work/o.yaml" "$work/r.yaml" && same=yes
  awk -v n="$n" -v a="$t0" -v b="$t1" -v c="$t2" -v s="$same" -v km="$kubectl_mib" -v rm="$rs_mib" \
    'BEGIN { k=b-a; r=c-b; printf "%8d %12.3f %12.3f %7.1fx %12s %12s %s\n", n, k, r, k/r, km, rm, s }'
done
