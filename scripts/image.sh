#!/usr/bin/env bash
# `npm run image`: builds the plugin image for linux/amd64 and linux/arm64 without a container engine
# daemon (buildah, chroot isolation), on the bases of scripts/image-bases.sh (real ones where a
# registry answers, stand-ins otherwise), and writes the multi-arch image (an OCI image index of both)
# to dist/image/kubevirt-velero-plugin-<version>.oci.tar, which `skopeo copy --all` pushes anywhere.
# Also leaves localhost/kubevirt-velero-plugin:<version>-<arch> in local storage.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

for tool in buildah podman skopeo; do
  command -v "$tool" >/dev/null || { echo "image: $tool is missing (apt-get install buildah podman skopeo)" >&2; exit 1; }
done

started=$SECONDS
bash scripts/image-bases.sh

name=localhost/kubevirt-velero-plugin
version=$(node -p "require('./package.json').version")
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# A build from uncommitted changes says so.
[[ $revision == unknown ]] || git diff --quiet HEAD -- . 2>/dev/null || revision=$revision-dirty
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
secret=()
# A TLS-inspecting proxy's CA (what Node on this machine trusts in addition): only npm in the build
# stage sees it, as a build secret, never a layer.
[[ -n ${NODE_EXTRA_CA_CERTS:-} && -f $NODE_EXTRA_CA_CERTS ]] && secret=(--secret "id=extra-ca,src=$NODE_EXTRA_CA_CERTS")

# buildah (1.28) does not set BUILDPLATFORM itself (BuildKit does): the build stage runs on this machine.
case $(uname -m) in x86_64) build_platform=linux/amd64 ;; aarch64) build_platform=linux/arm64 ;; *) build_platform=linux/$(uname -m) ;; esac

for arch in ${KVP_IMAGE_ARCHES:-amd64 arm64}; do
  t=$SECONDS
  # Stand-in bases are local only (never pull); a real base is pulled for the platform being built.
  [[ $(bash scripts/image-bases.sh select-final "$arch") == stand-in ]] && pull=--pull-never || pull=--pull-always
  buildah bud --isolation chroot --network host "$pull" --platform "linux/$arch" "${secret[@]}" \
    --build-arg "BUILDPLATFORM=$build_platform" \
    --build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "CREATED=$created" \
    --layers -t "$name:$version-$arch" . >&2
  echo "image: linux/$arch built in $((SECONDS - t)) s" >&2
done

buildah manifest rm "$name:$version" >/dev/null 2>&1 || true
buildah manifest create "$name:$version" >/dev/null
for arch in ${KVP_IMAGE_ARCHES:-amd64 arm64}; do
  buildah manifest add "$name:$version" "containers-storage:$name:$version-$arch" >/dev/null
done
mkdir -p dist/image
archive=dist/image/kubevirt-velero-plugin-$version.oci.tar
rm -f "$archive"
buildah manifest push -q --all "$name:$version" "oci-archive:$archive:kubevirt-velero-plugin:$version" >&2
echo "image: wrote $archive ($(du -m "$archive" | cut -f1) MB) in $((SECONDS - started)) s:" >&2
skopeo inspect --raw "oci-archive:$archive" | node -e '
  const index = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const m of index.manifests ?? []) console.error(`  ${m.platform?.os}/${m.platform?.architecture} ${m.digest}`);'
