import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandRejectedError } from '../../src/domain/job-errors.js';
import type { JobEvent } from '../../src/domain/events.js';
import { topicNames } from '../../src/domain/resources.js';
import type { ConsumedRecord } from '../../src/kafka/port.js';
import { Worker } from '../../src/node/worker.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { codecs, publish } from '../support/commands.js';
import { endpoints, kafkaClient, testNamespace, useTopics } from '../support/kafka.js';
import { produceNumbers, readAll, readUntil } from '../support/records.js';
import { connectClient } from '../support/sluice.js';

// A failure report of the run a resume replaced, arriving late through the real reports topic
// (as Avro from a client, and as JSON from a plain producer): the coordinator refuses it as
// STALE_REPORT, the resumed job stays RUNNING and goes on processing, on a real broker and
// registry with an in-process worker (which is also the coordinator).

const ns = testNamespace('stale');
const topic = (t: string): string => `${ns}.${t}`;
await useTopics(
  ns,
  ['in', 'out'].map((t) => ({ topic: topic(t), numPartitions: 2 })),
);
const client = await connectClient(ns);

/** Every line the worker (and its coordinator) logged, parsed. */
const lines: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'info' },
  { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
);

const { brokers, registryUrl } = endpoints();
const worker = new Worker({ brokers, registryUrl, namespace: ns, logger, workerId: 'w1' }).register(
  'double',
  (args) =>
    Pipeline.create()
      .readFrom<{ n: number; k: string }>(Sources.kafka({ topic: args.input ?? '' }))
      .map((r) => ({ n: r.n * 2, k: r.k }), { name: 'double' })
      .writeTo(Sinks.kafka({ topic: args.output ?? '' })),
);
await worker.start();
afterAll(() => worker.stop());

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function rejections(events: JobEvent[]): Extract<JobEvent, { type: 'CommandRejected' }>[] {
  return events.filter(
    (e): e is Extract<JobEvent, { type: 'CommandRejected' }> => e.type === 'CommandRejected',
  );
}

const failure = {
  description: 'Stage "double" threw on a record.',
  error: { name: 'RangeError', message: 'late news from run 1', stack: null },
  stage: 'double',
  worker: 'w1',
  record: null,
  fingerprint: null,
};

describe('a failure report of the run before a resume, arriving late', () => {
  it('is refused as STALE_REPORT, and the resumed job stays RUNNING and goes on processing', async () => {
    const job = await client.submit('double', {
      name: 'doubles',
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input: topic('in'), output: topic('out') },
    });
    await until(() => job.status() === 'RUNNING', 'RUNNING on run 1');
    expect(job.snapshot().run).toBe(1);
    await produceNumbers(topic('in'), 100);
    await readUntil(topic('out'), (all) => all.length >= 100);

    await job.suspend();
    await job.resume();
    await until(
      () => job.status() === 'RUNNING' && job.snapshot().run === 2,
      'RUNNING on run 2 after the resume',
    );

    // Run 1's failure report as Avro, through the client's sender.
    const reason = `ReportFailure from run 1 of job "doubles" ignored: the job is on run 2 (resumed or restarted since).`;
    const late = await client
      .send(job.id, 'ReportFailure', { failure, run: 1 }, `${ns}-late-avro`)
      .then(
        () => 'accepted',
        (err: unknown) => err,
      );
    expect(late).toBeInstanceOf(CommandRejectedError);
    expect(late).toMatchObject({ rejectionCode: 'STALE_REPORT', reason });

    // And as JSON from a plain producer, as any Kafka tool would send it.
    const producer = kafkaClient().producer();
    await producer.connect();
    const json = { type: 'ReportFailure', jobId: job.id, commandId: `${ns}-late-json`, failure };
    await publish(producer, ns, [JSON.stringify({ ...json, run: 1 })], 'reports');
    await producer.disconnect();
    await until(() => rejections(job.history()).length === 2, 'the JSON report refused');

    expect(rejections(job.history())).toEqual([
      expect.objectContaining({
        commandId: `${ns}-late-avro`,
        commandType: 'ReportFailure',
        code: 'STALE_REPORT',
        reason,
      }),
      expect.objectContaining({
        commandId: `${ns}-late-json`,
        commandType: 'ReportFailure',
        code: 'STALE_REPORT',
        reason,
      }),
    ]);
    // The coordinator logged each refusal with its code and reason.
    expect(
      lines.filter(
        (l) => l.msg === 'command rejected' && l.code === 'STALE_REPORT' && l.reason === reason,
      ),
    ).toHaveLength(2);

    // Still RUNNING on run 2, never suspended, and processing what arrives. Nothing to wait for:
    // a refusal is the coordinator's whole answer to a command (decide returns a rejection or
    // events, never both), and both refusals are in the history, so neither report can still
    // suspend the job.
    expect(job.snapshot()).toMatchObject({ status: 'RUNNING', run: 2 });
    expect(job.history().some((e) => e.type === 'JobSuspendedDueToError')).toBe(false);
    await produceNumbers(topic('in'), 100, 5, 101);
    const doubled = (all: ConsumedRecord[]): Set<number> =>
      new Set(all.map((r) => (JSON.parse(r.value?.toString() ?? '{}') as { n: number }).n));
    const out = await readUntil(topic('out'), (all) => doubled(all).size >= 200);
    expect(doubled(out)).toEqual(new Set(Array.from({ length: 200 }, (_, i) => 2 * (i + 1))));

    // The worker's own reports named their runs: it reported started on run 1, then on run 2.
    const { commands } = await codecs(ns);
    const started: (number | undefined)[] = [];
    for (const r of await readAll(topicNames(ns).reports)) {
      const c = await commands.decode(r.value, { commandId: 'x', issuedBy: 'x', at: 0 });
      if (!('malformed' in c) && c.type === 'ReportStarted') started.push(c.run);
    }
    expect(new Set(started)).toEqual(new Set([1, 2]));
    expect(started).toEqual([...started].sort());
    await job.cancel();
  }, 120_000);
});
