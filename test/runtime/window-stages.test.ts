import { describe, expect, it } from 'vitest';
import { changelogTopic, parseChangelogKey } from '../../src/domain/resources.js';
import { NO_PLAN } from '../../src/domain/resume-plan.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Windows } from '../../src/pipeline/windowed.js';
import { JobRunner } from '../../src/runtime/job-runner.js';
import {
  jobConfig,
  participant,
  runnerDeps,
  startCoordinator,
  submit,
  untilActive,
} from '../support/memory-sluice.js';
import {
  background,
  committedValues,
  drive,
  memoryWorld,
  produce,
} from '../support/memory-world.js';
import {
  byWindow,
  windowCounts,
  type TimedRecord,
  type WindowCount,
} from '../support/windows-model.js';
import { lateCounter } from '../support/late-metric.js';

// A window stage run by a job runner on the in-memory Kafka under EXACTLY_ONCE, behind a
// repartition topic: exact counts against the model, late values in the late topic (in the
// same transactions as the outputs) and counted, and closed windows gone from the changelog.

const NS = 'sl';
const JOB = 'j1';

describe('a tumbling count behind a repartition topic', () => {
  it('counts exactly, sends late values to the late topic, and deletes closed windows', async () => {
    const w = memoryWorld();
    w.cluster.createTopic('in', 1);
    w.cluster.createTopic('out', 3);
    w.cluster.createTopic('late', 1);
    const coordinator = startCoordinator(w, NS, 'coord');
    await untilActive(w, coordinator);
    const worker = await participant(w, NS, 'w1');
    const job = await submit(w, worker, JOB, jobConfig('windows'));
    const { sink, late } = lateCounter();
    const pipeline = Pipeline.create()
      .readFrom<{ k: string; ts: number; i: number }>(Sources.kafka({ topic: 'in' }))
      .groupingKey((r) => r.k)
      .window(Windows.tumbling({ sizeMs: 100, graceMs: 20 }), {
        timestamp: (r) => r.ts,
        outOfOrderMs: 10,
        lateTopic: 'late',
      })
      .count({ name: 'counts' })
      .writeTo(Sinks.kafka({ topic: 'out' }));
    const runner = new JobRunner({
      ...runnerDeps(w, NS, worker),
      metrics: sink,
      job,
      pipeline,
      plan: NO_PLAN,
    });
    background(runner.start());

    // Keys 7, event times 5 ms apart; every 11th record 60 ms out of order, every 37th 400 ms.
    const input: (TimedRecord & { i: number })[] = Array.from({ length: 400 }, (_, i) => ({
      key: `k${i % 7}`,
      ts: 1_000 + i * 5 - (i % 11 === 4 ? 60 : 0) - (i % 37 === 9 ? 400 : 0),
      i,
    }));
    // Far ahead: closes every window of the input. (The repartition topic has as many
    // partitions as the source, one: one task, which sees the records in this order.)
    const flush = [{ key: 'flush', ts: 100_000, i: -1 }];
    const records = [...input, ...flush];
    await drive(
      w.clock,
      produce(
        w.cluster.client('source'),
        'in',
        records.map((r) => ({
          key: r.key,
          value: JSON.stringify({ k: r.key, ts: r.ts, i: r.i }),
          partition: 0,
        })),
      ),
    );

    const model = windowCounts(records, { kind: 'tumbling', size: 100 }, 20, 10);
    const want = model.closed;
    const wantLate = model.late.map((r) => (r as TimedRecord & { i: number }).i);
    expect(wantLate.length).toBeGreaterThan(5);
    const got = () => committedValues<WindowCount>(w.cluster, 'out');
    const through = await w.clock.runUntil(
      () => got().length >= want.length && late() === wantLate.length,
      60_000,
    );
    expect({
      through,
      got: got().length,
      late: late(),
      lateTopic: committedValues(w.cluster, 'late').length,
      status: worker.log.state(JOB)?.status,
    }).toEqual({
      lateTopic: wantLate.length,
      through: true,
      got: want.length,
      late: wantLate.length,
      status: 'RUNNING',
    });
    expect(got().sort(byWindow)).toEqual(want.sort(byWindow));
    expect(
      committedValues<{ i: number }>(w.cluster, 'late')
        .map((l) => l.i)
        .sort((a, b) => a - b),
    ).toEqual(wantLate.sort((a, b) => a - b));

    // The changelog, compacted: each partition's progress and the flush keys' open windows only.
    const kept = new Map<string, boolean>();
    for (const r of w.cluster.read(changelogTopic(NS, JOB, 'counts')))
      kept.set(parseChangelogKey(String(r.key))?.key ?? '?', r.value !== null);
    expect(
      [...kept]
        .filter(([, live]) => live)
        .map(([k]) => k)
        .sort(),
    ).toEqual(['m', ...flush.map((f) => `k${f.key}`)].sort());
    expect(kept.get('kk0')).toBe(false); // a tombstone
    await drive(w.clock, runner.stop());
  });
});
