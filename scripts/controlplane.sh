#!/usr/bin/env bash
# Builds the real control plane used by the kube-apiserver test lane —
# kube-apiserver, kube-controller-manager and etcd — from the Go module in
# controlplane/, into a cache outside the clone. Idempotent: a second run
# with the same go.mod/go.sum builds nothing.
#
#   scripts/controlplane.sh build   build if needed, print the directory
#   scripts/controlplane.sh dir     print the directory (built or not)
#
# Needs Go (>= the go.mod's version) and the Go module proxy. The first
# build takes a few minutes on two cores; see docs/testing.md.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
module="$root/controlplane"
export GOTOOLCHAIN=local

version_of() {
  awk -v m="$1" '{ if ($1 == "require") { $1 = $2; $2 = $3 } }
    $1 == m && $2 ~ /^v/ { print $2; exit }' "$module/go.mod"
}
k8s_version="$(version_of k8s.io/kubernetes)"
etcd_version="$(version_of go.etcd.io/etcd/server/v3)"
if [[ -z "$k8s_version" || -z "$etcd_version" ]]; then
  echo "controlplane.sh: cannot read the pinned versions from $module/go.mod" >&2
  exit 1
fi
stamp="$(cat "$module/go.mod" "$module/go.sum" "$0" | sha256sum | cut -c1-12)"
dir="${FLUX_CONTROLPLANE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flux-rs/controlplane/k8s-$k8s_version-etcd-$etcd_version-$stamp}"

case "${1:-}" in
  dir)
    echo "$dir"
    exit 0
    ;;
  build) ;;
  *)
    echo "usage: $0 build|dir" >&2
    exit 2
    ;;
esac

binaries=(kube-apiserver kube-controller-manager etcd)
complete=true
for b in "${binaries[@]}"; do
  [[ -x "$dir/$b" ]] || complete=false
done
if $complete; then
  echo "control plane up to date in $dir" >&2
  echo "$dir"
  exit 0
fi

command -v go >/dev/null || {
  echo "controlplane.sh: go not found on the PATH; install Go to build the control plane" >&2
  exit 1
}

# Without these the server reports itself as v0.0.0-master.
minor="${k8s_version#v1.}"
minor="${minor%%.*}"
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"

# Build next to the final directory, then move each binary into place, so
# an interrupted build leaves nothing that looks complete.
mkdir -p "$dir"
staging="$(mktemp -d "$dir.tmp.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
cd "$module"
build() {
  local out="$1" pkg="$2" start=$SECONDS
  echo "building $out ($pkg)" >&2
  go build -trimpath -ldflags "$ldflags" -o "$staging/$out" "$pkg"
  echo "built $out in $((SECONDS - start)) s" >&2
}
build etcd ./etcd
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
for b in "${binaries[@]}"; do
  mv -f "$staging/$b" "$dir/$b"
done
echo "control plane built in $dir" >&2
echo "$dir"
