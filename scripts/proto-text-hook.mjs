// Node module hook: a `.proto` import is the file's text, as esbuild's text loader makes it in the
// build. Lets bench/ and e2e/ scripts run the TypeScript sources directly with tsx.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.proto')) return nextLoad(url, context);
  const text = await readFile(fileURLToPath(url), 'utf8');
  return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
}
