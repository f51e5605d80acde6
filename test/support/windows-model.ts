// Windowed counts computed from the input alone, written apart from Sluice's code (it imports
// none of it), to check the runtime's results against: a brute-force replay of one partition's
// records in order, with the watermark rule the docs state (largest event time seen minus the
// allowed out-of-orderness; a window is closed once the watermark reaches its end plus grace).

/** One input record as a partition holds it, in order. */
export interface TimedRecord {
  key: string;
  ts: number;
}

/** A window's count, as the stage emits it. */
export interface WindowCount {
  key: string;
  start: number;
  end: number;
  value: number;
}

export type ModelWindow =
  | { kind: 'tumbling'; size: number }
  | { kind: 'hopping'; size: number; advance: number }
  | { kind: 'session'; gap: number };

/** What the model says one partition's records make. */
export interface ModelResult {
  /** Every window closed by the end, with its count. */
  closed: WindowCount[];
  /** The records that fell in no open window. */
  late: TimedRecord[];
}

/** Replays one partition's records; `grace` and `lag` (out-of-orderness) in ms. */
export function windowCounts(
  records: readonly TimedRecord[],
  w: ModelWindow,
  grace: number,
  lag: number,
): ModelResult {
  let max = -Infinity;
  const open = new Map<string, WindowCount>(); // by key/start/end
  const closed: WindowCount[] = [];
  const late: TimedRecord[] = [];
  const isClosed = (c: WindowCount, wm: number): boolean => wm >= c.end + grace;
  for (const r of records) {
    max = Math.max(max, r.ts);
    const wm = max - lag;
    if (w.kind === 'session') {
      const mine = [...open.values()].filter((c) => c.key === r.key);
      let start = r.ts;
      let end = r.ts + w.gap;
      let value = 1;
      let grew = true;
      const taken = new Set<WindowCount>();
      while (grew) {
        grew = false;
        for (const c of mine)
          if (!taken.has(c) && c.start <= end && c.end >= start) {
            taken.add(c);
            start = Math.min(start, c.start);
            end = Math.max(end, c.end);
            value += c.value;
            grew = true;
          }
      }
      if (wm >= end + grace) late.push(r);
      else {
        for (const c of taken) open.delete(`${c.key}/${c.start}/${c.end}`);
        open.set(`${r.key}/${start}/${end}`, { key: r.key, start, end, value });
      }
    } else {
      const size = w.size;
      const step = w.kind === 'hopping' ? w.advance : w.size;
      let counted = 0;
      // Every window start (a multiple of the step) whose window holds ts.
      for (let k = Math.ceil((r.ts - size + 1) / step); k * step <= r.ts; k++) {
        const start = k * step + 0; // + 0: never -0
        const c = { key: r.key, start, end: start + size, value: 0 };
        if (isClosed(c, wm)) continue;
        const id = `${c.key}/${c.start}/${c.end}`;
        const have = open.get(id) ?? c;
        have.value++;
        open.set(id, have);
        counted++;
      }
      if (counted === 0) late.push(r);
    }
    for (const [id, c] of open)
      if (isClosed(c, wm)) {
        closed.push(c);
        open.delete(id);
      }
  }
  return { closed, late };
}

/** Windows in one order, to compare sets of results. */
export function byWindow(a: WindowCount, b: WindowCount): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : a.start - b.start || a.end - b.end;
}
