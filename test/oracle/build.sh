#!/usr/bin/env bash
# Builds a differential oracle against KubeVirt's own Go module, in a cache directory outside git,
# and prints the binary's path on the last line of stdout.
#   bash test/oracle/build.sh            # the expansion oracle (test/oracle/main.go), KubeVirt v1.9.0
#   bash test/oracle/build.sh revisions  # the revision decoder (test/oracle/revisions/main.go), KubeVirt v1.6.0,
#                                        # the last release that reads v1alpha1/v1alpha2 revisions
#   KUBEVIRT_VERSION=v1.8.4 bash test/oracle/build.sh   # another release
# The wrapper go.mod is generated here: it requires kubevirt.io/kubevirt at KUBEVIRT_VERSION and copies
# that module's own replace directives (its ./staging paths become the published kubevirt.io/api and
# kubevirt.io/client-go modules of the same version), as a module depending on kubevirt must.
set -euo pipefail
program="${1:-expand}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "$program" in
  expand) src="$here/main.go"; KUBEVIRT_VERSION="${KUBEVIRT_VERSION:-v1.9.0}" ;;
  revisions) src="$here/revisions/main.go"; KUBEVIRT_VERSION="${KUBEVIRT_VERSION:-v1.6.0}" ;;
  *) echo "build.sh: unknown program '$program' (expand or revisions)" >&2; exit 2 ;;
esac
hash="$( (echo "$program $KUBEVIRT_VERSION"; cat "$src" "$here/build.sh") | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kubevirt-velero-plugin-oracle/$hash"
bin="$cache/$program-oracle"
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi
mkdir -p "$cache/src"
# Test files run in parallel workers; only one of them builds, the others wait for its binary.
exec 9>"$cache/.lock"
flock 9
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi
command -v go >/dev/null || { echo "build.sh: Go toolchain not found (need go >= 1.24)" >&2; exit 1; }
cd "$cache/src"
cp "$src" main.go
export GOFLAGS=-mod=mod
go mod download -json "kubevirt.io/kubevirt@$KUBEVIRT_VERSION" >/dev/null
kvmod="$(go env GOMODCACHE)/cache/download/kubevirt.io/kubevirt/@v/$KUBEVIRT_VERSION.mod"
rm -f go.mod go.sum
go mod init "$program-oracle" >/dev/null 2>&1
go mod edit -go=1.24 -require="kubevirt.io/kubevirt@$KUBEVIRT_VERSION"
# Re-state kubevirt's replace directives (replace only applies in the main module).
go mod edit -json "$kvmod" | python3 -c '
import json, sys
v = sys.argv[1]
for r in json.load(sys.stdin).get("Replace") or []:
    old = r["Old"]["Path"] + ("@" + r["Old"]["Version"] if r["Old"].get("Version") else "")
    new = r["New"]
    if new["Path"].startswith("./staging/src/"):
        print(old + "=" + new["Path"][len("./staging/src/"):] + "@" + v)
    else:
        print(old + "=" + new["Path"] + "@" + new["Version"])
' "$KUBEVIRT_VERSION" | while read -r rep; do go mod edit -replace="$rep"; done
go mod tidy >&2
nice -n 10 go build -trimpath -o "$bin.tmp" . >&2
mv "$bin.tmp" "$bin"
echo "$bin"
