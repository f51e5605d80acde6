import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/domain/events.js';
import { DRAIN_TIMEOUT_MS } from '../../src/domain/settings.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import {
  eventsOf,
  jobConfig,
  participant,
  startCoordinator,
  startWorker,
  submit,
  untilActive,
} from '../support/memory-sluice.js';
import {
  committedValues,
  drive,
  memoryWorld,
  produce,
  type MemoryWorld,
} from '../support/memory-world.js';

// What a failure in the first hop does to a later one (job-runner.ts, `fail`), on the in-memory
// Kafka with a worker's real parts: the later hop may finish the records already handed to it,
// but for DRAIN_TIMEOUT_MS at most, on the virtual clock. test/runtime/drain.int.test.ts checks
// the wait with two workers on a real broker.

const NS = 'sl';
const JOB = 'j1';
const RECORDS = 100;
const POISON = 80;

/**
 * in → check (throws on POISON, noting when) → grouped → sums → slow (`msPerRecord` of virtual
 * time per record) → out.
 */
function slowLaterHop(w: MemoryWorld, msPerRecord: number, failedAt: number[]): PipelineDef {
  return Pipeline.create()
    .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
    .map(
      (r) => {
        if (r.n !== POISON) return r;
        failedAt.push(w.clock.now());
        throw new RangeError(`record ${r.n} is poison`);
      },
      { name: 'check' },
    )
    .groupingKey((r) => `k${r.n % 3}`)
    .aggregate({ name: 'sums', init: () => 0, add: (s: number, r: { n: number }) => s + r.n })
    .map((o) => w.clock.sleep(msPerRecord).then(() => o), { name: 'slow' })
    .writeTo(Sinks.kafka({ topic: 'out' }));
}

/**
 * Runs the job until it is suspended on POISON: how long after the failing record the
 * coordinator decided, how many outputs were committed then, and the worker's log lines.
 */
async function failInFirstHop(msPerRecord: number) {
  const lines: Record<string, unknown>[] = [];
  const w = memoryWorld();
  w.logger = pino(
    { level: 'warn' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  w.cluster.createTopic('in', 1);
  w.cluster.createTopic('out', 1);
  await untilActive(w, startCoordinator(w, NS, 'coord'));
  const user = await participant(w, NS, 'alice');
  const failedAt: number[] = [];
  await startWorker(w, NS, 'w1', () => slowLaterHop(w, msPerRecord, failedAt));
  await submit(w, user, JOB, jobConfig('sums'));
  const status = () => user.log.state(JOB)?.status;
  expect(await w.clock.runUntil(() => status() === 'RUNNING', 30_000)).toBe(true);
  const records = Array.from({ length: RECORDS }, (_, n) => ({ value: JSON.stringify({ n }) }));
  await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
  expect(await w.clock.runUntil(() => status() === 'SUSPENDED_DUE_TO_ERROR', 120_000)).toBe(true);
  const outputs = committedValues(w.cluster, 'out').length;
  const suspended = (await eventsOf(w, NS, JOB)).find(
    (e): e is Extract<JobEvent, { type: 'JobSuspendedDueToError' }> =>
      e.type === 'JobSuspendedDueToError',
  );
  expect(failedAt).toHaveLength(1);
  expect(suspended?.cause.record?.offset).toBe(String(POISON));
  return { waited: (suspended?.cause.at ?? 0) - (failedAt[0] ?? 0), outputs, lines };
}

const DRAIN_WARNING = 'a later hop did not finish its input in time; a resume reprocesses the rest';

describe('a failure in the first hop, with a later hop behind', () => {
  it('lets the later hop finish the records already handed to it before the job is suspended', async () => {
    // 80 records at 50 ms: 4 s of work left in the later hop when the first fails.
    const { waited, outputs, lines } = await failInFirstHop(50);
    expect(outputs).toBe(POISON); // one sum per record before the failing one
    expect(waited).toBeGreaterThan(3_000);
    expect(waited).toBeLessThan(DRAIN_TIMEOUT_MS);
    expect(lines.map((l) => l.msg)).not.toContain(DRAIN_WARNING);
  });

  it(`waits ${DRAIN_TIMEOUT_MS / 1000} s at most, then suspends the job anyway and says so`, async () => {
    // Ten minutes a record: the later hop cannot finish in any reasonable time.
    const { waited, outputs, lines } = await failInFirstHop(600_000);
    expect(DRAIN_TIMEOUT_MS).toBe(30_000); // the figure docs/failure-handling.md gives
    expect(waited).toBeGreaterThanOrEqual(DRAIN_TIMEOUT_MS);
    expect(waited).toBeLessThan(DRAIN_TIMEOUT_MS + 1_000);
    expect(outputs).toBeLessThan(POISON);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 40, jobId: JOB, hop: 1, msg: DRAIN_WARNING }),
    );
  });
});
