#!/usr/bin/env bash
# Times `flux push artifact` and `flux pull artifact` against Debian's
# docker-registry on loopback, side by side with skopeo moving the same
# artifact, and reports each command's peak memory (GNU time %M).
#   scripts/bench-oci.sh                 # release binary (builds it)
#   PROFILE=debug scripts/bench-oci.sh   # without a release build
#   RUNS=20 FILES=1000 MB=50 scripts/bench-oci.sh
#   FLUX=/path/to/flux scripts/bench-oci.sh   # that binary, nothing built
# Needs docker-registry, skopeo, hyperfine, GNU time, python3.
#
# The tree: FILES files of random bytes (incompressible, so the layer is as
# big as the tree and both tools move the same number of bytes), MB MiB in
# all, in 10 directories.
#
# What each side does:
#   push  flux push artifact: tar + gzip the tree into a temporary file while
#         hashing it, upload config and layer, PUT the manifest.
#         flux build artifact: the tar + gzip part alone (no network).
#         skopeo copy oci:<layout> docker://…: uploads the very artifact flux
#         pushed (layer, config, manifest copied into an OCI layout
#         beforehand), so it neither archives nor compresses: upload only.
#   pull  flux pull artifact: download the layer into a temporary file while
#         checking its digest, check the archive, extract the files.
#         skopeo copy docker://… oci:<dir>: download and check the digests
#         into an OCI layout, nothing extracted; "+ tar -xzf" adds the
#         extraction of the layer with GNU tar so both end with the files.
# Before each push run the registry's storage is emptied (hyperfine
# --prepare), so every run uploads the layer instead of finding it there.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
profile=${PROFILE:-release}
runs=${RUNS:-10}
files=${FILES:-1000}
mb=${MB:-50}
target=${CARGO_TARGET_DIR:-$here/target}
flag=$([ "$profile" = release ] && echo --release || true)
if [ -n "${FLUX:-}" ]; then
  flux=$FLUX
else
  (cd "$here" && cargo build -q $flag -p flux-rs --bin flux)
  flux=$target/$profile/flux
fi
for tool in docker-registry skopeo hyperfine /usr/bin/time python3; do
  command -v "$tool" > /dev/null || { echo "bench-oci.sh needs $tool" >&2; exit 1; }
done

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/storage"
cat > "$work/registry.yml" << EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: 127.0.0.1:$port
EOF
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
pid=$!
python3 - "$port" << 'PY'
import sys, time, urllib.request
for _ in range(200):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v2/")
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("docker-registry did not answer")
PY
host=127.0.0.1:$port

python3 - "$work/tree" "$files" "$mb" << 'PY'
import os, sys
root, files, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
size = mb * 1024 * 1024 // files
for i in range(files):
    d = os.path.join(root, f"dir{i % 10}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"file{i:04}.bin"), "wb") as f:
        f.write(os.urandom(size))
PY
echo "tree: $files files, $(du -sb "$work/tree" | cut -f1) bytes; registry $host; flux $profile"

export HOME=$work/home TZ=UTC
mkdir -p "$HOME"
push=("$flux" push artifact "oci://$host/bench/app:v1" --path "$work/tree" --source bench --revision r1)
"${push[@]}" 2> /dev/null

# The pushed artifact as an OCI layout for skopeo: the same three blobs.
python3 - "$host" "$work/layout" << 'PY'
import hashlib, json, os, sys, urllib.request
host, layout = sys.argv[1], sys.argv[2]
accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
get = lambda path, h={}: urllib.request.urlopen(urllib.request.Request(f"http://{host}/v2/bench/app/{path}", headers=h)).read()
manifest = get("manifests/v1", accept)
os.makedirs(f"{layout}/blobs/sha256")
def put(data):
    digest = hashlib.sha256(data).hexdigest()
    open(f"{layout}/blobs/sha256/{digest}", "wb").write(data)
    return digest
m = json.loads(manifest)
for blob in [m["config"]] + m["layers"]:
    put(get(f"blobs/{blob['digest']}"))
digest = put(manifest)
open(f"{layout}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": m["mediaType"], "digest": f"sha256:{digest}",
    "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "v1"}}]},
    open(f"{layout}/index.json", "w"))
open(f"{layout}/../layer-digest", "w").write(m["layers"][0]["digest"][7:])
print(f"layer: {m['layers'][0]['size']} bytes")
PY
layer=$(cat "$work/layer-digest")

skopeo_push=(skopeo --insecure-policy copy --dest-tls-verify=false -q "oci:$work/layout:v1" "docker://$host/skopeo/app:v1")
skopeo_pull=(skopeo --insecure-policy copy --src-tls-verify=false -q "docker://$host/bench/app:v1" "oci:$work/pulled:v1")
pull=("$flux" pull artifact "oci://$host/bench/app:v1" --output "$work/out")
build=("$flux" build artifact --path "$work/tree" --output "$work/built.tgz")
empty="rm -rf $work/storage/docker/registry/v2/repositories/bench $work/storage/docker/registry/v2/repositories/skopeo $work/storage/docker/registry/v2/blobs"
fresh_out="rm -rf $work/out && mkdir $work/out"
fresh_pulled="rm -rf $work/pulled $work/extracted && mkdir $work/extracted"
q() { printf '%q ' "$@"; }

hyperfine --runs "$runs" --warmup 1 --export-markdown "$work/push.md" \
  --prepare "$empty" -n "flux push artifact" "$(q "${push[@]}")" \
  --prepare "$empty" -n "skopeo copy oci: → docker:// (upload only)" "$(q "${skopeo_push[@]}")" \
  --prepare "true" -n "flux build artifact (tar + gzip only)" "$(q "${build[@]}")"
"${push[@]}" 2> /dev/null
hyperfine --runs "$runs" --warmup 1 --export-markdown "$work/pull.md" \
  --prepare "$fresh_out" -n "flux pull artifact" "$(q "${pull[@]}")" \
  --prepare "$fresh_pulled" -n "skopeo copy docker:// → oci: (no extraction)" "$(q "${skopeo_pull[@]}")" \
  --prepare "$fresh_pulled" -n "skopeo copy + tar -xzf" \
  "$(q "${skopeo_pull[@]}") && tar -xzf $work/pulled/blobs/sha256/$layer -C $work/extracted"
cat "$work/push.md" "$work/pull.md"

echo
echo "peak memory (GNU time, one run each):"
measure() { # label, command...
  local label=$1
  shift
  /usr/bin/time -f "%e s %M KB" -o "$work/time" "$@" > /dev/null 2>&1
  printf '%-45s %s\n' "$label" "$(cat "$work/time")"
}
eval "$empty"
measure "flux push artifact" "${push[@]}"
eval "$empty"
measure "skopeo copy oci: → docker://" "${skopeo_push[@]}"
measure "flux build artifact" "${build[@]}"
"${push[@]}" 2> /dev/null
eval "$fresh_out"
measure "flux pull artifact" "${pull[@]}"
eval "$fresh_pulled"
measure "skopeo copy docker:// → oci:" "${skopeo_pull[@]}"
cmp <(cd "$work/tree" && find . -type f -exec sha256sum {} + | sort) \
  <(cd "$work/out" && find . -type f -exec sha256sum {} + | sort) > /dev/null &&
  echo "pulled files identical to the tree"
