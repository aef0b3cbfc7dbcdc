#!/usr/bin/env bash
# Builds KubeVirt's virt-api and virt-controller, and our e2e/kubevirt-manifests helper, for each release
# listed in e2e/kubevirt-versions.json, from the Go module proxy into a cache directory OUTSIDE git:
#   ${KVP_E2E_CACHE:-$HOME/.cache/kubevirt-velero-plugin-e2e}/kubevirt/<version>-<hash>/bin/
# <hash> covers only that release's entry, so adding a release rebuilds nothing else, and the cache of
# e2e/build-components.sh (keyed by e2e/versions.json) is untouched. Each release has its own lock, so a
# KubeVirt build does not wait for, nor block, a build of the other components.
# Idempotent: a second run takes seconds. A cold release costs ~520 CPU-seconds of Go compilation.
#
# Usage: e2e/build-kubevirt.sh [version...]   (default: every release in kubevirt-versions.json)
# Prints the bin directory of each release, one per line, last.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
versions="$here/kubevirt-versions.json"
command -v go >/dev/null || { echo "build-kubevirt: go is not installed" >&2; exit 1; }
command -v node >/dev/null || { echo "build-kubevirt: node is not installed" >&2; exit 1; }

# The same Go settings as e2e/build-components.sh: identical GOFLAGS keep one shared build cache.
export CGO_ENABLED=0
export GOTOOLCHAIN=local
export GOFLAGS="-buildvcs=false -trimpath -p=${KVP_E2E_BUILD_JOBS:-2}"

# entry VERSION : that release's JSON entry ('' when not listed)
entry() { node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const e=j.versions[process.argv[2]];if(e===undefined)process.exit(3);console.log(JSON.stringify(e))' "$versions" "$1"; }

build_release() {
  local ver="$1" e dir bin src start end kvmod helper_hash helper
  e=$(entry "$ver") || { echo "build-kubevirt: $ver is not in $versions" >&2; return 1; }
  dir="${KVP_E2E_CACHE:-$HOME/.cache/kubevirt-velero-plugin-e2e}/kubevirt/$ver-$(echo "$ver $e" | sha256sum | cut -c1-12)"
  bin="$dir/bin"; src="$dir/src"
  mkdir -p "$bin" "$src"
  exec 8>"$dir/.lock"
  flock 8
  # The release's extra environment (e.g. GONOSUMDB) for downloads and builds.
  while IFS= read -r kv; do [[ -n "$kv" ]] && export "${kv?}"; done < <(echo "$e" | node -e 'for (const [k,x] of Object.entries(JSON.parse(require("fs").readFileSync(0,"utf8")).env ?? {})) console.log(k+"="+x)')

  helper_hash=$(cat "$here/kubevirt-manifests/main.go" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)
  helper="kubevirt-manifests-$helper_hash"
  if [[ -x "$bin/virt-api" && -x "$bin/virt-controller" && -x "$bin/$helper" ]]; then
    echo "build-kubevirt: $ver present" >&2
    ln -sfn "$helper" "$bin/kubevirt-manifests"
    echo "$bin"; return 0
  fi
  start=$(date +%s)
  if [[ ! -f "$src/.ready" ]]; then
    go mod download -json "kubevirt.io/kubevirt@$ver" >/dev/null
    kvmod="$(go env GOMODCACHE)/cache/download/kubevirt.io/kubevirt/@v/$ver.mod"
    # The wrapper module re-states KubeVirt's replace directives (a dependency's replaces are ignored);
    # its ./staging/src paths become the published kubevirt.io/api and client-go of the same release.
    {
      echo "module kvp-e2e/kubevirt"
      echo
      echo "go 1.24.0"
      echo
      echo "require kubevirt.io/kubevirt $ver"
      go mod edit -json "$kvmod" | node -e '
        const [ver, extraJson] = process.argv.slice(1);
        const extra = JSON.parse(extraJson).replace ?? {};
        const mod = JSON.parse(require("fs").readFileSync(0, "utf8"));
        for (const r of mod.Replace ?? []) {
          if (r.Old.Path in extra) continue;
          const old = r.Old.Path + (r.Old.Version ? " " + r.Old.Version : "");
          const neu = r.New.Path.startsWith("./staging/src/") ? r.New.Path.slice("./staging/src/".length) + " " + ver : r.New.Path + " " + r.New.Version;
          console.log("replace " + old + " => " + neu);
        }
        for (const [k, x] of Object.entries(extra)) console.log("replace " + k + " => " + x);
      ' "$ver" "$e"
    } >"$src/go.mod"
    cp "$here/kubevirt-manifests/main.go" "$src/main.go"
    crd_functions "$ver" >"$src/crd_functions.go"
    (cd "$src" && go mod tidy && go get "kubevirt.io/kubevirt/cmd/virt-api@$ver" "kubevirt.io/kubevirt/cmd/virt-controller@$ver")
    touch "$src/.ready"
  else
    cp "$here/kubevirt-manifests/main.go" "$src/main.go"
    crd_functions "$ver" >"$src/crd_functions.go"
  fi
  local version_flags="-X kubevirt.io/client-go/version.gitVersion=$ver -X kubevirt.io/client-go/version.gitTreeState=clean"
  if [[ ! -x "$bin/virt-api" || ! -x "$bin/virt-controller" ]]; then
    rm -rf "$dir/.out"; mkdir -p "$dir/.out"
    (cd "$src" && go build -ldflags "-s -w $version_flags" -o "$dir/.out/" kubevirt.io/kubevirt/cmd/virt-api kubevirt.io/kubevirt/cmd/virt-controller)
    mv -f "$dir/.out/virt-api" "$dir/.out/virt-controller" "$bin/"
  fi
  (cd "$src" && go build -ldflags "-s -w" -o "$bin/.$helper.tmp" .)
  mv -f "$bin/.$helper.tmp" "$bin/$helper"
  ln -sfn "$helper" "$bin/kubevirt-manifests"
  # Helpers built from earlier sources are not used any more.
  find "$bin" -maxdepth 1 -name 'kubevirt-manifests-*' ! -name "$helper" -delete
  end=$(date +%s)
  echo "kubevirt $ver built in $((end - start))s (downloads included) at $(date -u +%FT%TZ)" >>"$dir/build-times.txt"
  echo "build-kubevirt: built $ver in $((end - start))s" >&2
  echo "$bin"
}

# crd_functions VERSION : a Go file listing that release's components.New*Crd functions, read from the
# module source (releases add CRDs, e.g. v1.8's VirtualMachineBackup).
crd_functions() {
  local dir fns
  dir="$(go env GOMODCACHE)/kubevirt.io/kubevirt@$1/pkg/virt-operator/resource/generate/components"
  fns=$(grep -ho '^func New[A-Za-z]*Crd()' "$dir"/*.go | sed -E 's/^func (New[A-Za-z]*Crd)\(\)/\1/' | sort -u)
  [[ -n "$fns" ]] || { echo "build-kubevirt: no New*Crd functions in $dir" >&2; return 1; }
  echo "// Generated by e2e/build-kubevirt.sh for KubeVirt $1."
  echo "package main"
  echo
  echo 'import ('
  echo '	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"'
  echo
  echo '	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/components"'
  echo ')'
  echo
  echo "var crdFunctions = []func() (*extv1.CustomResourceDefinition, error){"
  for f in $fns; do echo "	components.$f,"; done
  echo "}"
}

todo=("$@")
if [[ ${#todo[@]} -eq 0 ]]; then
  while IFS= read -r v; do todo+=("$v"); done < <(node -e 'console.log(Object.keys(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).versions).join("\n"))' "$versions")
fi
failed=()
for ver in "${todo[@]}"; do
  # A subshell per release: its env and lock do not leak into the next one.
  if ! (build_release "$ver"); then failed+=("$ver"); echo "build-kubevirt: FAILED $ver" >&2; fi
done
if [[ ${#failed[@]} -gt 0 ]]; then echo "build-kubevirt: failed: ${failed[*]}" >&2; exit 1; fi
