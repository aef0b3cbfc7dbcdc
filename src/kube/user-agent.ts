// The User-Agent of every request to the Kubernetes API, shaped like client-go's
// ("<program>/<version> (<os>/<arch>) ..."): the API server's audit log and its metrics then tell the
// plugin's requests apart from Velero's and everyone else's.
//
// The version is package.json's, written into the bundle by scripts/build.mjs (esbuild `define`);
// vitest.config.ts defines it the same way for the unit tests.
declare const __KVP_VERSION__: string | undefined;

export const PLUGIN_PROGRAM = 'kubevirt-velero-plugin';

/** Go's names for Node's architectures, as client-go prints them. */
const GO_ARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

export function pluginVersion(): string {
  // Run from source without the build (tsx): say so rather than claim a release.
  return typeof __KVP_VERSION__ === 'string' ? __KVP_VERSION__ : 'dev';
}

export function userAgent(version = pluginVersion(), platform: string = process.platform, arch: string = process.arch): string {
  return `${PLUGIN_PROGRAM}/${version} (${platform}/${GO_ARCH[arch] ?? arch}) node/${process.version}`;
}
