# The plugin image for `velero plugin add`: Velero runs it as an init container with its plugin volume
# at /target, and the entrypoint (the plugin binary's install mode) copies the binary and its two
# libraries there. No shell in the image, non-root.
# Unbuilt so far: the project's machines have no Docker engine. scripts/build.mjs and the install mode
# are tested without it (test/packaging/).

# Debian bullseye, not bookworm: `ldd` there resolves the gcc-10 C++ runtime (needs glibc >= 2.18), which
# the build ships beside the binary. Bookworm's libstdc++ needs glibc 2.36 and Velero's image (Ubuntu
# jammy) has 2.35; the build refuses such libraries (and on other hosts fetches bullseye's itself).
FROM node:20.20-bullseye AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY proto ./proto
COPY scripts ./scripts
COPY src ./src
RUN npm run build

# glibc and CA certificates, no shell; the :nonroot variant runs as uid 65532.
FROM gcr.io/distroless/base-debian12:nonroot
# dist/ holds exactly the executable (0755) and libstdc++.so.6, libgcc_s.so.1 (0644); COPY keeps the modes.
COPY --from=build /src/dist/ /opt/kubevirt-velero-plugin/
# The executable needs its own libraries to run install mode (glibc ignores LD_LIBRARY_PATH=/, hence a
# directory of their own).
ENV LD_LIBRARY_PATH=/opt/kubevirt-velero-plugin
USER 65532:65532
ENTRYPOINT ["/opt/kubevirt-velero-plugin/kubevirt-velero-plugin", "install", "/target"]
