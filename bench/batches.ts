// Shared by the benchmarks that set up many objects at once.

/**
 * Runs `work(0)` … `work(count - 1)` on `concurrency` workers and returns the results by index. Every
 * worker stops at the first failure, and that failure is the one thrown.
 */
export async function inBatches<T>(count: number, concurrency: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  let failure: unknown;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && failure === undefined) {
        const i = next++;
        try {
          results[i] = await work(i);
        } catch (err) {
          failure ??= err;
        }
      }
    }),
  );
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
  return results;
}
