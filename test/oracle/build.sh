#!/usr/bin/env bash
# Builds the differential oracle (test/oracle/main.go) against KubeVirt's own Go module, in a cache
# directory outside git, and prints the binary's path on the last line of stdout.
#   bash test/oracle/build.sh            # build (or reuse) and print the path
# The wrapper go.mod is generated here: it requires kubevirt.io/kubevirt at KUBEVIRT_VERSION and copies
# that module's own replace directives (its ./staging paths become the published kubevirt.io/api and
# kubevirt.io/client-go modules of the same version), as a module depending on kubevirt must.
set -euo pipefail
KUBEVIRT_VERSION="${KUBEVIRT_VERSION:-v1.9.0}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v go >/dev/null || { echo "build.sh: Go toolchain not found (need go >= 1.24)" >&2; exit 1; }
hash="$( (echo "$KUBEVIRT_VERSION"; cat "$here/main.go" "$here/build.sh") | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kubevirt-velero-plugin-oracle/$hash"
bin="$cache/expand-oracle"
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi
mkdir -p "$cache/src"
cd "$cache/src"
cp "$here/main.go" main.go
export GOFLAGS=-mod=mod
go mod download -json "kubevirt.io/kubevirt@$KUBEVIRT_VERSION" >/dev/null
kvmod="$(go env GOMODCACHE)/cache/download/kubevirt.io/kubevirt/@v/$KUBEVIRT_VERSION.mod"
rm -f go.mod go.sum
go mod init expand-oracle >/dev/null 2>&1
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
