import { afterAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { jobGroup, repartitionTopic, stageGroup } from '../../src/domain/resources.js';
import { TASK_SESSION_TIMEOUT_MS } from '../../src/domain/settings.js';
import type { LineReader } from '../support/cli.js';
import {
  createTopics,
  endpoints,
  kafkaClient,
  sluiceEnv,
  testNamespace,
} from '../support/kafka.js';
import { produceNumbers, readAll } from '../support/records.js';
import { committedByMarkers } from '../support/transactions.js';
import { connectClient } from '../support/sluice.js';
import { recordFault } from './record.js';
import {
  committedThroughEnd,
  countsPerKey,
  sluiceProcess,
  stopAll,
  until,
  upTo,
} from './support.js';

// Issue 14, scenario 1: a worker process frozen with SIGSTOP (a GC pause, a VM stall) for
// longer than its session timeout, in the middle of an exactly-once job whose tasks are always
// inside a transaction. Its partitions move to the other worker, whose takeover of each task's
// transactional id aborts what the frozen one had open. Then it is woken with SIGCONT and
// carries on from where it stopped: nothing it writes from then on may become visible. Then the
// same during a suspension: the job stays frozen, and the resume after it ends exact.

const KEYS = 10;
const FIRST = 40_000;
const SECOND = 6_000;
const POISON = FIRST + 5_001; // key k0
const PAUSE_MS = TASK_SESSION_TIMEOUT_MS + 5_000;

const ns = testNamespace('zom');
const input = `${ns}.in`;
const output = `${ns}.out`;
const kafka = kafkaClient('zombie-worker-test');
await createTopics(kafka, [
  { topic: input, numPartitions: 6 },
  { topic: output, numPartitions: 3 },
]);
const admin = kafka.admin();
await admin.connect();
afterAll(() => admin.disconnect());
const children: LineReader[] = [];
afterAll(() => stopAll(children));

describe('a worker paused past its session timeout (a zombie)', () => {
  it('writes nothing visible after it wakes, running or suspended; outputs exact', async (ctx) => {
    const env = sluiceEnv(ns);
    await sluiceProcess(['coordinator'], env, children);
    const worker = async (id: string) =>
      (
        await sluiceProcess(
          ['worker', 'test/fixtures/pipelines/metered.mjs', '--no-coordinator', '--worker-id', id],
          env,
          children,
        )
      ).proc;
    const w1 = await worker('w1');
    const w2 = await worker('w2');
    const client = await connectClient(ns);
    await produceNumbers(input, FIRST, KEYS);
    const job = await client.submit('metered', {
      name: 'zombie',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input, output, poison: String(POISON) },
    });
    await until(async () => (await readAll(output)).length > 0, 'the first outputs');

    // Running: freeze w1 mid-stream, past its session timeout, then wake it.
    const outputsAtPause = (await readAll(output)).length;
    expect(outputsAtPause).toBeLessThan(FIRST); // mid-stream: w1's tasks are in transactions
    const pausedAt = Date.now();
    w1.child.kill('SIGSTOP');
    await sleep(PAUSE_MS);
    const outputsWhilePaused = (await readAll(output)).length;
    w1.child.kill('SIGCONT');
    const throughInputs = async () =>
      (await committedThroughEnd(admin, jobGroup(ns, job.id), input)) &&
      (await committedThroughEnd(
        admin,
        stageGroup(ns, job.id, 'count'),
        repartitionTopic(ns, job.id, 'count'),
      ));
    await until(throughInputs, 'both hops through their inputs', 180_000);
    const catchUpMs = Date.now() - pausedAt;
    expect(job.status()).toBe('RUNNING');
    let perKey = await countsPerKey(output);
    for (let k = 0; k < KEYS; k++) expect(perKey.get(`k${k}`), `k${k}`).toEqual(upTo(FIRST / KEYS));

    // Suspended: the poison record freezes the job; pause a worker past its session timeout
    // while it is frozen, wake it, and resume without the record.
    await produceNumbers(input, SECOND, KEYS, FIRST + 1);
    await until(() => job.status() === 'SUSPENDED_DUE_TO_ERROR', 'the suspension', 120_000);
    w2.child.kill('SIGSTOP');
    await sleep(PAUSE_MS);
    w2.child.kill('SIGCONT');
    expect(job.status()).toBe('SUSPENDED_DUE_TO_ERROR');
    await job.resume({ failingRecord: 'SKIP' });
    const total = FIRST + SECOND - 1;
    await until(throughInputs, 'both hops through their inputs', 180_000);
    perKey = await countsPerKey(output);
    const perKeyTotal = (FIRST + SECOND) / KEYS;
    for (let k = 0; k < KEYS; k++)
      expect(perKey.get(`k${k}`), `k${k}`).toEqual(upTo(k === 0 ? perKeyTotal - 1 : perKeyTotal));

    // What a read_committed reader sees is what the markers say was committed: no zombie write
    // slipped into a transaction that committed.
    const view = (all: { offset: string; key: Buffer | null; value: Buffer | null }[]) =>
      all.map((m) => `${m.offset}|${m.key?.toString()}|${m.value?.toString()}`).sort();
    expect(view(await readAll(output))).toEqual(
      view(await committedByMarkers(output, endpoints().brokers)),
    );
    recordFault(ctx, {
      scenario: `worker SIGSTOPped ${PAUSE_MS / 1000} s mid-transaction, then during a suspension`,
      invariant: 'nothing visible from the zombie; counts exact; frozen job stays frozen',
      figures: { outputsAtPause, outputsWhilePaused, pauseToCaughtUpMs: catchUpMs, outputs: total },
    });
  });
});
