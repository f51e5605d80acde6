import { describe, expect, it } from 'vitest';
import {
  decodePresence,
  encodePresence,
  foldPresence,
  hostsOf,
  liveWorkers,
  PRESENCE_LIVE_MS,
  type PresenceTable,
  type WorkerPresence,
} from '../../src/domain/presence.js';
import { PRESENCE_INTERVAL_MS } from '../../src/domain/settings.js';

// The presence fold of issue 17: records of `<ns>.workers` in offset order, a tombstone for a
// clean stop, and liveness decided at the reader's clock, passed in.

const T0 = 1_700_000_000_000;

function presence(
  workerId: string,
  seenAt: number,
  pipelines: Record<string, string> = { p: 'a1b2c3d4e5f6' },
) {
  return { v: 1, workerId, pipelines, startedAt: T0, seenAt } satisfies WorkerPresence;
}

function table(...records: [string, WorkerPresence | string | null][]): PresenceTable {
  const t: PresenceTable = new Map();
  for (const [key, value] of records)
    foldPresence(
      t,
      key,
      value === null || typeof value === 'string' ? value : encodePresence(value),
    );
  return t;
}

describe('presence records', () => {
  it('round-trip as JSON, and anything else reads as no presence', () => {
    const p = presence('w1', T0);
    expect(decodePresence(encodePresence(p))).toEqual(p);
    expect(JSON.parse(encodePresence(p))).toEqual({
      v: 1,
      workerId: 'w1',
      pipelines: { p: 'a1b2c3d4e5f6' },
      startedAt: T0,
      seenAt: T0,
    });
    for (const bad of [
      'not json',
      '{}',
      JSON.stringify({ ...p, v: 2 }),
      JSON.stringify({ ...p, seenAt: 'x' }),
    ])
      expect(decodePresence(bad), bad).toBeUndefined();
  });
});

describe('foldPresence', () => {
  it('keeps the latest record of each worker, and forgets one that stopped (a tombstone)', () => {
    const t = table(
      ['w1', presence('w1', T0)],
      ['w2', presence('w2', T0)],
      ['w1', presence('w1', T0 + 10_000, { p: 'b' })],
      ['w2', null],
    );
    expect([...t.keys()]).toEqual(['w1']);
    expect(t.get('w1')).toMatchObject({ seenAt: T0 + 10_000, pipelines: { p: 'b' } });
  });

  it('forgets a worker whose latest record it cannot read, or whose key names another worker', () => {
    const t = table(
      ['w1', presence('w1', T0)],
      ['w1', JSON.stringify({ ...presence('w1', T0), v: 2 })],
      ['w2', presence('w2', T0)],
      ['w2', presence('w3', T0)],
    );
    expect(t.size).toBe(0);
  });

  it('takes a worker that restarted after a tombstone back', () => {
    const t = table(['w1', presence('w1', T0)], ['w1', null], ['w1', presence('w1', T0 + 5)]);
    expect(t.get('w1')?.seenAt).toBe(T0 + 5);
  });
});

describe('liveWorkers', () => {
  it('counts a worker live for three refresh intervals after its last record, by the reader’s clock', () => {
    expect(PRESENCE_LIVE_MS).toBe(3 * PRESENCE_INTERVAL_MS);
    const t = table(['w2', presence('w2', T0)], ['w1', presence('w1', T0 - 1)]);
    expect(liveWorkers(t, T0 + PRESENCE_LIVE_MS - 1).map((p) => p.workerId)).toEqual(['w1', 'w2']);
    expect(liveWorkers(t, T0 + PRESENCE_LIVE_MS).map((p) => p.workerId)).toEqual(['w2']);
    expect(liveWorkers(t, T0 + PRESENCE_LIVE_MS + 1)).toEqual([]);
  });

  it('counts a record from the reader’s future (clocks apart) as live', () => {
    expect(liveWorkers(table(['w1', presence('w1', T0 + 5_000)]), T0)).toHaveLength(1);
  });
});

describe('hostsOf', () => {
  it('names the live workers hosting a pipeline, with the fingerprint each runs', () => {
    const live = liveWorkers(
      table(
        ['w1', presence('w1', T0, { p: 'old', q: 'q1' })],
        ['w2', presence('w2', T0, { q: 'q1' })],
        ['w3', presence('w3', T0, { p: 'new' })],
      ),
      T0,
    );
    expect(hostsOf(live, 'p')).toEqual([
      { workerId: 'w1', fingerprint: 'old', seenAt: T0 },
      { workerId: 'w3', fingerprint: 'new', seenAt: T0 },
    ]);
    expect(hostsOf(live, 'r')).toEqual([]);
  });
});
