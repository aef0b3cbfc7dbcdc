// `node --import tsx --import ./scripts/register-proto-text.mjs file.ts`
import { register } from 'node:module';

register('./proto-text-hook.mjs', import.meta.url);
