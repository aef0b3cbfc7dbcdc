// Types of scripts/node-runtime.mjs for the TypeScript tests that use it.
export declare const ARCHES: readonly ['x64', 'arm64'];
export declare function cacheDir(): string;
export declare function pinnedRuntime(): { version: string; integrity: Record<'x64' | 'arm64', string> };
export declare function runtimeBinary(options?: { arch?: 'x64' | 'arm64'; version?: string }): string;
