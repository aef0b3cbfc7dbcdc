// V8 heap settings for a small, long-lived plugin process. Imported FIRST by every plugin entry point
// (src/main.ts, test/plugin/main.ts) so that it runs before the bundle's modules start allocating.
//
// Why at run time: Velero starts the executable directly with its own environment. (SEA `execArgv`
// exists from Node 24.6, but setting the flags here keeps them in the code the unit tests run on the
// build host's Node too.) These two flags are read by V8 each time it sizes a space, so setting them
// now takes effect:
//   - semi-space-growth-factor=1: the young generation stays at its initial size (1 MiB semi-spaces)
//     instead of growing to 16 MiB semi-spaces under load. Each call's garbage (the item's JSON text,
//     its parsed object, the answer) dies young, so small semi-spaces cost little time.
//   - heap-growing-percent=10: after each full collection the old generation may grow 10 % above
//     what survived instead of up to 4x; a plugin keeps little alive between calls.
//   - optimize-for-size and no-maglev (Node 24, V8 13.6): V8's memory-saving mode, and no Maglev
//     tier (Ignition, Sparkplug and TurboFan remain). Each takes 11-15 MB off the peak; together
//     the peak of 30k 16-way calls went from 102.6 to 85.5 MB, over 100k calls 104.5 -> 91.3 MB
//     (BENCHMARKS.md, "Runtime"; Node 20 with the same flags: 73.3 MB).
// Tried on Node 24 and not kept (`npm run bench:rss`, BENCHMARKS.md): --single-threaded-gc and
// --lite-mode change the peak by less than its noise; --max-lazy set here crashes V8 at start (a parser
// check fails; not investigated further). The rest of Node 24's peak is the executable's own pages.
// Measured with `npm run bench` (BENCHMARKS.md): peak RSS over 100k calls 131 MB -> under 80 MB (Node 20).
// Neither flag limits the heap's maximum, so a 64 MB item still fits.
import { setFlagsFromString } from 'node:v8';

export const HEAP_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=10', '--optimize-for-size', '--no-maglev'] as const;

for (const flag of HEAP_FLAGS) setFlagsFromString(flag);
