// Types of scripts/debian-packages.mjs for the TypeScript tests that use it.
export declare function debianCacheBase(suite: string, arch?: 'amd64' | 'arm64'): string;
export declare function debianPackageFiles(options: { suite: string; arch?: 'amd64' | 'arm64'; packages: readonly string[] }): string[];
