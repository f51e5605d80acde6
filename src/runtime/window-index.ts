/**
 * When each key's windows may close, for one window stage of one task: a min-heap of
 * (close time, state key) candidates, so that closing windows reads only the keys due, not every
 * key the task holds (a scan per close made a session count over 1,000 keys crawl: sessions
 * close at a different time per key).
 *
 * It is derived from the state, never saved. Entries may be stale (a window since merged,
 * extended or closed): whoever pops one reads the key's state and closes only what is due. What
 * must never happen is a window in the state with no entry; so the index is built from the
 * whole state when first used, and dropped (to be built again) whenever pending state writes
 * are undone, since an entry popped by an undone write would be lost (see StateStore.caches).
 */
export class CloseIndex {
  private readonly heap: [number, string][] = [];

  /** Notes that `key`'s windows may close at `at`. */
  push(at: number, key: string): void {
    const h = this.heap;
    h.push([at, key]);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as [number, string])[0] <= at) break;
      [h[i], h[parent]] = [h[parent] as [number, string], h[i] as [number, string]];
      i = parent;
    }
  }

  /** The keys whose candidates are due at `watermark`, each once, taken out of the index. */
  due(watermark: number): Set<string> {
    const keys = new Set<string>();
    while (this.heap.length > 0 && (this.heap[0] as [number, string])[0] <= watermark)
      keys.add(this.pop()[1]);
    return keys;
  }

  /** How many candidates it holds (stale ones included). */
  get size(): number {
    return this.heap.length;
  }

  private pop(): [number, string] {
    const h = this.heap;
    const top = h[0] as [number, string];
    const last = h.pop() as [number, string];
    if (h.length === 0) return top;
    h[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < h.length && (h[l] as [number, string])[0] < (h[min] as [number, string])[0]) min = l;
      if (r < h.length && (h[r] as [number, string])[0] < (h[min] as [number, string])[0]) min = r;
      if (min === i) break;
      [h[i], h[min]] = [h[min] as [number, string], h[i] as [number, string]];
      i = min;
    }
    return top;
  }
}
