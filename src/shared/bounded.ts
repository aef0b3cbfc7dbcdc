// Per-backup / per-restore memory in a plugin process that normally serves one: bounded anyway.

/** Drops the oldest entries (insertion order) until `map` holds at most `max`. */
export function dropOldest<K, V>(map: Map<K, V>, max: number): void {
  for (const oldest of map.keys()) {
    if (map.size <= max) return;
    map.delete(oldest);
  }
}
