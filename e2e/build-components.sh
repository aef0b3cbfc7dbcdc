#!/usr/bin/env bash
# Builds every real component the e2e suite runs (etcd, kube-apiserver, kube-controller-manager, velero,
# velero-plugin-for-aws, the S3 store and our Go conformance program) from the Go module proxy, at the
# versions pinned in e2e/versions.json, into a cache directory OUTSIDE git:
#   ${KVP_E2E_CACHE:-$HOME/.cache/kubevirt-velero-plugin-e2e}/<hash of versions.json>/bin/
# Idempotent: a component whose binary is already there is not rebuilt, so a second run takes seconds.
# Wrapper go.mod files are generated inside the cache directory (never in git) because the upstream
# modules' own `replace` directives are ignored when they are required from another module.
#
# Usage: e2e/build-components.sh [component...]   (default: all)
#   components: etcd kube-apiserver kube-controller-manager velero velero-plugin-for-aws s3 conformance
#               velero-old
# Prints the bin directory as its last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
versions="$here/versions.json"
command -v go >/dev/null || { echo "build-components: go is not installed" >&2; exit 1; }
command -v node >/dev/null || { echo "build-components: node is not installed" >&2; exit 1; }

hash="$(sha256sum "$versions" | cut -c1-16)"
root="${KVP_E2E_CACHE:-$HOME/.cache/kubevirt-velero-plugin-e2e}/$hash"
bin="$root/bin"
src="$root/src"
mkdir -p "$bin" "$src"

# One build at a time per cache directory (two test runs starting together must not race). The
# per-component child processes (--one) run under their parent's lock.
if [[ -z "${KVP_E2E_LOCKED:-}" ]]; then
  exec 9>"$root/.lock"
  flock 9
  export KVP_E2E_LOCKED=1
fi

# Read a value out of versions.json: v '.velero.version'
v() { node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const p=process.argv[2].split(".").filter(Boolean);let x=j;for(const k of p)x=x[k];if(x===undefined)process.exit(3);console.log(typeof x==="object"?JSON.stringify(x):String(x))' "$versions" "$1"; }

export CGO_ENABLED=0
# Never download another toolchain: fail loudly if the pinned modules need a newer Go than installed.
export GOTOOLCHAIN=local
export GOFLAGS="-buildvcs=false -trimpath -p=${KVP_E2E_BUILD_JOBS:-2}"

times="$root/build-times.txt"

# build NAME MODULE_DIR PACKAGE LDFLAGS : go build into a temp file, then rename (a killed build leaves
# nothing half-written under bin/).
build() {
  local name="$1" dir="$2" pkg="$3" ldflags="$4" start end
  start=$(date +%s)
  (cd "$dir" && go build -ldflags "-s -w $ldflags" -o "$bin/.$name.tmp" "$pkg")
  mv -f "$bin/.$name.tmp" "$bin/$name"
  end=$(date +%s)
  # go build time, and the time since this component's step began (module downloads + build)
  echo "$name build $((end - start))s, with downloads $((end - ${KVP_E2E_T0:-$start}))s, at $(date -u +%FT%TZ)" >>"$times"
  echo "build-components: built $name in $((end - start))s ($((end - ${KVP_E2E_T0:-$start}))s with downloads)"
}

# wrapper DIR KEY [replace lines...] : a go.mod that requires the module of versions.json's KEY at its
# version, plus KEY.require (extra minimum versions of dependencies) and the given replaces.
wrapper() {
  local dir="$1" key="$2"; shift 2
  mkdir -p "$dir"
  {
    echo "module kvp-e2e/wrapper"
    echo
    echo "go 1.24.0"
    echo
    echo "require $(v ".$key.module") $(v ".$key.version")"
    v ".$key" | node -e 'for (const [m, x] of Object.entries(JSON.parse(require("fs").readFileSync(0, "utf8")).require ?? {})) console.log(`require ${m} ${x}`)'
    for r in "$@"; do echo "replace $r"; done
  } >"$dir/go.mod"
}

have() { [[ -x "$bin/$1" ]] && { echo "build-components: $1 present"; return 0; }; return 1; }

b_etcd() {
  have etcd && return
  local d="$src/etcd" mod ver
  mod=$(v .etcd.module); ver=$(v .etcd.version)
  wrapper "$d" etcd
  (cd "$d" && go get "$(v .etcd.package)@$ver")
  build etcd "$d" "$(v .etcd.package)" ""
}

k8s_wrapper() {
  local d="$src/kubernetes" ver sver reps=() s
  ver=$(v .kubernetes.version); sver=$(v .kubernetes.stagingVersion)
  [[ -f "$d/.ready" ]] && return
  for s in $(v .kubernetes.staging | node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).join(" "))'); do
    reps+=("k8s.io/$s => k8s.io/$s $sver")
  done
  wrapper "$d" kubernetes "${reps[@]}"
  (cd "$d" && go get "k8s.io/kubernetes/cmd/kube-apiserver@$ver" "k8s.io/kubernetes/cmd/kube-controller-manager@$ver")
  touch "$d/.ready"
}

k8s_ldflags() {
  local ver maj min
  ver=$(v .kubernetes.version); maj=$(echo "$ver" | sed -E 's/^v([0-9]+)\..*/\1/'); min=$(echo "$ver" | sed -E 's/^v[0-9]+\.([0-9]+)\..*/\1/')
  echo "-X k8s.io/component-base/version.gitVersion=$ver -X k8s.io/component-base/version.gitMajor=$maj -X k8s.io/component-base/version.gitMinor=$min -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
}

b_kube_apiserver() {
  have kube-apiserver && return
  k8s_wrapper
  build kube-apiserver "$src/kubernetes" "$(v .kubernetes.binaries.kube-apiserver)" "$(k8s_ldflags)"
}

b_kube_controller_manager() {
  have kube-controller-manager && return
  k8s_wrapper
  build kube-controller-manager "$src/kubernetes" "$(v .kubernetes.binaries.kube-controller-manager)" "$(k8s_ldflags)"
}

velero_wrapper() {
  local d="$src/velero" ver reps=() line
  ver=$(v .velero.version)
  [[ -f "$d/.ready" ]] && return
  while IFS= read -r line; do reps+=("$line"); done < <(v .velero.replace | node -e 'for (const [k,x] of Object.entries(JSON.parse(require("fs").readFileSync(0,"utf8")))) console.log(k+" => "+x)')
  wrapper "$d" velero "${reps[@]}"
  (cd "$d" && go get "$(v .velero.package)@$ver")
  touch "$d/.ready"
}

b_velero() {
  have velero && return
  velero_wrapper
  build velero "$src/velero" "$(v .velero.package)" "-X github.com/vmware-tanzu/velero/pkg/buildinfo.Version=$(v .velero.version) -X github.com/vmware-tanzu/velero/pkg/buildinfo.GitTreeState=clean"
}

b_velero_old() {
  have velero-old && return
  local d="$src/velero-old" reps=() line
  while IFS= read -r line; do reps+=("$line"); done < <(v .veleroOld.replace | node -e 'for (const [k,x] of Object.entries(JSON.parse(require("fs").readFileSync(0,"utf8")))) console.log(k+" => "+x)')
  wrapper "$d" veleroOld "${reps[@]}"
  (cd "$d" && go get "$(v .veleroOld.package)@$(v .veleroOld.version)")
  build velero-old "$d" "$(v .veleroOld.package)" "-X github.com/vmware-tanzu/velero/pkg/buildinfo.Version=$(v .veleroOld.version) -X github.com/vmware-tanzu/velero/pkg/buildinfo.GitTreeState=clean"
}

b_aws() {
  have velero-plugin-for-aws && return
  local d="$src/aws" ver
  ver=$(v .veleroPluginForAws.version)
  wrapper "$d" veleroPluginForAws
  (cd "$d" && go get "$(v .veleroPluginForAws.package)@$ver")
  build velero-plugin-for-aws "$d" "$(v .veleroPluginForAws.package)" ""
}

b_s3() {
  local name; name=$(v .s3.binary)
  have "$name" && return
  local d="$src/s3" ver
  ver=$(v .s3.version)
  wrapper "$d" s3
  (cd "$d" && go get "$(v .s3.package)@$ver")
  build "$name" "$d" "$(v .s3.package)" ""
}

# Our conformance program (e2e/conformance/*.go) gets its own wrapper module requiring the pinned Velero
# (with Velero's replace), so it runs exactly the plugin client code of that Velero. Its binary name
# carries a hash of its sources, so editing it rebuilds it; bin/conformance links to the current one.
b_conformance() {
  local h name d="$src/conformance" ver reps=() line
  h=$(cat "$here"/conformance/*.go | sha256sum | cut -c1-12)
  name="conformance-$h"
  have "$name" && { ln -sfn "$name" "$bin/conformance"; return; }
  ver=$(v .velero.version)
  while IFS= read -r line; do reps+=("$line"); done < <(v .velero.replace | node -e 'for (const [k,x] of Object.entries(JSON.parse(require("fs").readFileSync(0,"utf8")))) console.log(k+" => "+x)')
  rm -rf "$d"
  wrapper "$d" velero "${reps[@]}"
  cp "$here"/conformance/*.go "$d/"
  (cd "$d" && go mod tidy)
  build "$name" "$d" . ""
  ln -sfn "$name" "$bin/conformance"
}

one() {
  case "$1" in
    etcd) b_etcd ;;
    kube-apiserver) b_kube_apiserver ;;
    kube-controller-manager) b_kube_controller_manager ;;
    velero) b_velero ;;
    velero-old) b_velero_old ;;
    velero-plugin-for-aws) b_aws ;;
    s3) b_s3 ;;
    conformance) if ls "$here"/conformance/*.go >/dev/null 2>&1; then b_conformance; else echo "build-components: no e2e/conformance sources" >&2; exit 1; fi ;;
    *) echo "build-components: unknown component $1" >&2; exit 2 ;;
  esac
}

# Child mode: build one component with `set -e` in force (it is not, inside an `if` condition).
if [[ "${1:-}" == "--one" ]]; then
  one "$2"
  exit 0
fi

all=(etcd kube-apiserver velero velero-plugin-for-aws s3 kube-controller-manager conformance velero-old)
todo=("$@"); [[ ${#todo[@]} -eq 0 ]] && todo=("${all[@]}")
# Every requested component is attempted even when one fails; the run fails at the end.
failed=()
for c in "${todo[@]}"; do
  if ! KVP_E2E_T0=$(date +%s) bash "${BASH_SOURCE[0]}" --one "$c"; then
    failed+=("$c")
    echo "build-components: FAILED $c" >&2
  fi
done
cp -f "$versions" "$root/versions.json"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "build-components: failed: ${failed[*]} (log above)" >&2
  exit 1
fi
echo "$bin"
