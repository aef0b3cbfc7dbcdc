// For vitest: a .proto import is the file's text, as esbuild's `text` loader makes it in the build.
import { readFileSync } from 'node:fs';
import type { Plugin } from 'vite';

export const protoAsText: Plugin = {
  name: 'proto-as-text',
  load(id) {
    if (!id.endsWith('.proto')) return null;
    return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
  },
};
