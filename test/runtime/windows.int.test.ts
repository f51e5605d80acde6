import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../src/kafka/port.js';
import { jobHops, outputsWhenThrough } from '../support/job-groups.js';
import { kafkaClient, sluiceEnv, testNamespace, useTopics } from '../support/kafka.js';
import { readAll, readUntil } from '../support/records.js';
import { connectClient, startCoordinator } from '../support/sluice.js';
import { spawnCliWorker } from '../support/spawn.js';
import {
  flushRecords,
  ofPartition,
  produceTimed,
  windowedInput,
  type InputRecord,
} from '../support/windowed-input.js';
import {
  byWindow,
  windowCounts,
  type ModelWindow,
  type WindowCount,
} from '../support/windows-model.js';

// Issue 19, windows on a real broker, with workers that are the real CLI: 8,000 records over 40
// keys and 4 partitions, out of order and late, counted per key in tumbling, hopping and session
// windows (three jobs) under EXACTLY_ONCE, one of two workers SIGKILLed midway. Every window's
// count, and the tumbling job's late records, are exactly what a model computed from the input
// alone says (test/support/windows-model.ts), once each: read once each job's groups committed
// through their inputs' ends.

const PARTITIONS = 4;
const ns = testNamespace('windows');
await useTopics(ns, [
  { topic: `${ns}.in`, numPartitions: PARTITIONS },
  { topic: `${ns}.tumbling`, numPartitions: 3 },
  { topic: `${ns}.hopping`, numPartitions: 3 },
  { topic: `${ns}.session`, numPartitions: 3 },
  { topic: `${ns}.late`, numPartitions: 1 },
]);
await startCoordinator(ns);
const client = await connectClient(ns, 'alice');

const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGKILL')));
function startWorker(id: string): ChildProcess {
  const child = spawnCliWorker('test/fixtures/pipelines/windowed-counts.mjs', id, sluiceEnv(ns));
  children.push(child);
  return child;
}

const input = windowedInput(8_000, 40, PARTITIONS);
const flush = flushRecords(PARTITIONS);
const GRACE = 2_000;
const LAG = 1_000;

/** What the model says: every partition replayed alone, as its task sees it. */
function expected(w: ModelWindow): { closed: WindowCount[]; late: InputRecord[] } {
  const closed: WindowCount[] = [];
  const late: InputRecord[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const records = [...ofPartition(input, p), ...ofPartition(flush, p)];
    const r = windowCounts(records, w, GRACE, LAG);
    closed.push(...r.closed);
    late.push(...(r.late as InputRecord[]));
  }
  return { closed: closed.sort(byWindow), late };
}

const values = <T>(all: ConsumedRecord[]): T[] => all.map((r) => JSON.parse(String(r.value)) as T);

const workers = [startWorker('windows-1'), startWorker('windows-2')];

describe('windowed counts under EXACTLY_ONCE, with a worker killed midway', () => {
  it('counts every key in every tumbling, hopping and session window exactly', async () => {
    const kinds = [
      { name: 'tumbling', model: { kind: 'tumbling', size: 10_000 } },
      { name: 'hopping', model: { kind: 'hopping', size: 10_000, advance: 5_000 } },
      { name: 'session', model: { kind: 'session', gap: 5_000 } },
    ] as const;
    const want = Object.fromEntries(kinds.map((k) => [k.name, expected(k.model)]));
    // The input has what the test is about: late records, and results to count.
    expect(want.tumbling?.late.length).toBeGreaterThan(50);
    expect(want.session?.closed.length).toBeGreaterThan(150);

    // Half the input first: the kill below must fall midway however fast the jobs run, and a
    // third of the results cannot wait for the second half (the first half holds a 30 s jump in
    // event time, which closes every window before it).
    const half = input.length / 2;
    await produceTimed(`${ns}.in`, input.slice(0, half));
    const jobs = await Promise.all(
      kinds.map((k) =>
        client.submit(`${k.name}-counts`, {
          name: k.name,
          processingGuarantee: 'EXACTLY_ONCE',
          suspendOnFailure: true,
          snapshotIntervalMs: 500,
          args: { input: `${ns}.in`, output: `${ns}.${k.name}`, late: `${ns}.late` },
        }),
      ),
    );
    // Killed once a third of the hopping results are out: its open transactions abort, and its
    // partitions (of every job) move to the other worker, which redoes them from the snapshot.
    const third = (want.hopping?.closed.length ?? 0) / 3;
    const atKill = await readUntil(`${ns}.hopping`, (got) => got.length >= third, 120_000);
    workers[0]?.kill('SIGKILL');
    expect(atKill.length).toBeLessThan(want.hopping?.closed.length ?? 0);
    await produceTimed(`${ns}.in`, input.slice(half));
    // The flush comes last: until it, windows close only as each partition's records move on.
    await produceTimed(`${ns}.in`, flush);

    const admin = kafkaClient().admin();
    await admin.connect();
    try {
      for (const [i, k] of kinds.entries()) {
        const job = jobs[i];
        const got = await outputsWhenThrough(
          admin,
          jobHops(ns, job?.id ?? '', `${ns}.in`, ['counts']),
          `${ns}.${k.name}`,
          180_000,
        );
        expect(job?.status()).toBe('RUNNING');
        const wanted = want[k.name]?.closed ?? [];
        // Exactly: as many as the model, and the same windows and counts, so none twice.
        expect(got, k.name).toHaveLength(wanted.length);
        expect(values<WindowCount>(got).sort(byWindow), k.name).toEqual(wanted);
        // Keyed by the window's key.
        expect(got.every((r) => String(r.key) === values<WindowCount>([r])[0]?.key)).toBe(true);
      }
      // The tumbling job's late records, each once, in its late topic.
      const late = values<{ k: string; ts: number; i: number }>(await readAll(`${ns}.late`));
      expect(late.map((l) => l.i).sort((a, b) => a - b)).toEqual(
        (want.tumbling?.late ?? []).map((l) => l.i).sort((a, b) => a - b),
      );
    } finally {
      await admin.disconnect();
    }
    expect(workers[0]?.killed).toBe(true);
  }, 300_000);
});
