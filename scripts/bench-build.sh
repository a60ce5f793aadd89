#!/usr/bin/env bash
# Times `flux build kustomization --dry-run` against `kustomize-rs build` on
# the 1,000-object overlay of kustomize/scripts/bench.sh (N objects: $1,
# default 1000), $RUNS runs (default 101) of each, alternating.
#   scripts/bench-build.sh [N]
# Binaries: $CARGO_TARGET_DIR/$PROFILE (PROFILE=release by default; the
# numbers in docs/performance.md name the profile they were taken with).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1000}
runs=${RUNS:-101}
profile=${PROFILE:-release}
target=${CARGO_TARGET_DIR:-$here/target}
flag=$([ "$profile" = release ] && echo --release || true)
(cd "$here" && cargo build -q $flag --bin flux && cargo build -q $flag -p kustomize --bin kustomize-rs)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/base" "$work/overlay"
python3 - "$work/base" "$n" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
per = (n + 19) // 20
with open(f"{d}/kustomization.yaml", "w") as k:
    k.write("resources:\n" + "".join(f"- r{f}.yaml\n" for f in range(1, 21)))
i = 0
for f in range(1, 21):
    with open(f"{d}/r{f}.yaml", "w") as out:
        for _ in range(per):
            if i >= n: break
            k = i % 3
            if k == 0:
                out.write(f"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: app{i}}}\n  template:\n    metadata:\n      labels: {{app: app{i}}}\n    spec:\n      containers:\n      - name: main\n        image: nginx:1.25\n        envFrom:\n        - configMapRef: {{name: cfg{i + 2}}}\n")
            elif k == 1:
                out.write(f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app{i - 1}\nspec:\n  selector: {{app: app{i - 1}}}\n  ports:\n  - port: 80\n")
            else:
                out.write(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg{i}\ndata:\n  key: \"value {i}\"\n")
            i += 1
PY
cat > "$work/overlay/kustomization.yaml" <<'K'
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
cat > "$work/ks.yaml" <<'K'
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: bench
  namespace: flux-system
spec:
  path: ./overlay
K
# The two commands run alternately, so that drift in this VM's speed hits
# both alike; medians and the fastest runs are reported.
python3 - "$runs" "$n" "$profile" "$target/$profile" "$work" <<'PY'
import statistics, subprocess, sys, time
runs, n, profile, bin_dir, work = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
commands = {
    "kustomize-rs build": [f"{bin_dir}/kustomize-rs", "build", f"{work}/overlay"],
    "flux build kustomization --dry-run": [
        f"{bin_dir}/flux", "build", "kustomization", "bench", "--path", f"{work}/overlay",
        "--kustomization-file", f"{work}/ks.yaml", "--dry-run", "-n", "flux-system"],
}
times = {name: [] for name in commands}
for _ in range(runs):
    for name, argv in commands.items():
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        times[name].append((time.perf_counter() - start) * 1000)
(rs, flux) = (times[name] for name in commands)
def pct(a, b):
    return (a - b) * 100 / b
print(f"{n} objects ({profile}), {runs} alternating runs each:"
      f" kustomize-rs build median {statistics.median(rs):.1f} ms (min {min(rs):.1f}),"
      f" flux build kustomization --dry-run median {statistics.median(flux):.1f} ms (min {min(flux):.1f}):"
      f" {pct(statistics.median(flux), statistics.median(rs)):+.0f} % median,"
      f" {pct(min(flux), min(rs)):+.0f} % min")
PY
