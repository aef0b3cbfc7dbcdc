# The plugin image for `velero plugin add`: Velero runs it as an init container with its plugin volume
# at /target; the entrypoint (the binary's install mode) copies the binary and its two C++ runtime
# libraries there. Final stage: distroless (glibc, CA bundle, no shell), non-root (65532).
#
# Multi-arch: build with --platform linux/amd64 and/or linux/arm64. The build stage always runs on the
# build machine's own platform and builds the binary for TARGETARCH: the Node runtime inside is the
# official binary of the version pinned in scripts/node-runtime.json (npm registry package
# node-linux-<arch>), never this stage's own node; the C++ runtime beside it is Debian bullseye's gcc-10
# one for that arch, checked with objdump against Velero's glibc 2.35 (scripts/build.mjs).
#
#   npm run image    (daemonless, podman/buildah; makes stand-in bases where no registry is reachable)
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/kubevirt-velero-plugin:TAG --push .
#
# Where npm's registry is reached through a TLS-inspecting proxy, pass its CA as a build secret
# (`--secret id=extra-ca,src=FILE`): it is mounted only while npm runs and is in no layer.

# Any Node >= 20.19 with npm runs the build; the runtime that ships is the pinned one.
ARG BUILD_IMAGE=docker.io/library/node:24-bookworm
FROM --platform=$BUILDPLATFORM ${BUILD_IMAGE} AS build
# The cross binutils strip (and read) the arm64 executable; the amd64 host tools cannot write it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils binutils-aarch64-linux-gnu debian-archive-keyring \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=extra-ca \
    if [ -f /run/secrets/extra-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra-ca; fi; \
    npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY proto ./proto
COPY scripts ./scripts
COPY src ./src
ARG TARGETARCH
# The cache mount keeps the downloaded Node runtime and Debian libraries between builds.
RUN --mount=type=secret,id=extra-ca --mount=type=cache,target=/root/.cache/kubevirt-velero-plugin \
    if [ -f /run/secrets/extra-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra-ca; fi; \
    case "$TARGETARCH" in amd64) arch=x64 ;; arm64) arch=arm64 ;; *) echo "no build for $TARGETARCH" >&2; exit 1 ;; esac; \
    node scripts/build.mjs --arch "$arch" --outdir /out

FROM --platform=$TARGETPLATFORM gcr.io/distroless/base-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.title="kubevirt-velero-plugin" \
      org.opencontainers.image.description="Velero plugin for KubeVirt VirtualMachines (instance types, preferences, their ControllerRevisions); run by velero plugin add as an init container" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="gcr.io/distroless/base-debian12:nonroot"
# /out holds exactly the executable (0755) and libstdc++.so.6, libgcc_s.so.1 (0644); COPY keeps the modes.
COPY --from=build /out/ /opt/kubevirt-velero-plugin/
# The executable needs its own libraries to run install mode (glibc ignores LD_LIBRARY_PATH=/, hence a
# directory of their own).
ENV LD_LIBRARY_PATH=/opt/kubevirt-velero-plugin
USER 65532:65532
ENTRYPOINT ["/opt/kubevirt-velero-plugin/kubevirt-velero-plugin", "install", "/target"]
