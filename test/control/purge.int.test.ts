import { spawn } from 'node:child_process';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import { consumerConfig } from '../../src/kafka/kafkajs/consumer.js';
import { kafkaClient, sluiceEnv } from '../support/kafka.js';
import { ROOT } from '../support/spawn.js';
import { connectClient, freshNamespace, startCoordinator } from '../support/sluice.js';

// `sluice purge` on a real broker (issue 18): the built CLI purges a cancelled job, the job log
// then holds a tombstone for each of its earlier events beside the JobPurged event, a running
// job's purge is refused with the coordinator's reason, and `sluice status` says the job was
// purged, by whom and when.

const ns = await freshNamespace('purge');
await startCoordinator(ns);
const client = await connectClient(ns, 'worker-sim');

interface Run {
  code: number | null;
  json: { error?: { code: string; message: string; details: Record<string, unknown> } } & Record<
    string,
    unknown
  >;
}

/** Runs the built CLI with --json as user "ops", as test/support/cli.ts does. */
function sluice(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/cli/main.js', ...args, '--json'], {
      cwd: ROOT,
      env: sluiceEnv(ns, { SLUICE_ISSUED_BY: 'ops' }),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve({ code, json: JSON.parse(out) as Run['json'] });
      } catch {
        reject(
          new Error(`sluice ${args.join(' ')} printed no JSON (exit ${code}): ${out}\n${err}`),
        );
      }
    });
  });
}

/**
 * Reads `<ns>.jobs` raw with a plain kafkajs consumer (read_committed), from the beginning,
 * until `done` says it has what it waits for: key and value of every record, tombstones too.
 */
async function readRaw(
  done: (records: { key: string; value: Buffer | null }[]) => boolean,
): Promise<{ key: string; value: Buffer | null }[]> {
  const consumer = kafkaClient().consumer(consumerConfig({ groupId: `${ns}.raw-${Date.now()}` }));
  const records: { key: string; value: Buffer | null }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: `${ns}.jobs`, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the log never held them')), 30_000);
      void consumer.run({
        eachMessage: ({ message }: { message: KafkaMessage }) => {
          records.push({ key: message.key?.toString() ?? '', value: message.value });
          if (done(records)) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

describe('sluice purge on a real broker', () => {
  it('tombstones an ended job, refuses a running one, and leaves status saying it was purged', async () => {
    const ended = await client.submit('order-totals', { name: 'purge-me' });
    await client.send(ended.id, 'ReportStarted', { worker: 'w1' });
    await client.send(ended.id, 'ReportSnapshot', {
      worker: 'w1',
      snapshotId: 's1',
      sourceOffsets: [{ topic: 'in', partition: 0, offset: '7' }],
      stateOffsets: [],
    });
    const running = await client.submit('order-totals', { name: 'keep-me' });
    await client.send(running.id, 'ReportStarted', { worker: 'w1' });

    expect((await sluice('cancel', ended.id)).json).toMatchObject({ status: 'CANCELLED' });
    const earlier = ended.history().map((e) => e.eventId);
    expect(earlier).toEqual([0, 1, 2, 3].map((seq) => `${ended.id}/${seq}`));

    const purged = await sluice('purge', ended.id);
    expect(purged.code).toBe(0);
    expect(purged.json).toMatchObject({
      jobId: ended.id,
      name: 'purge-me',
      purged: true,
      purgedBy: 'ops',
    });

    // The log: the JobPurged event under the next key, and a tombstone for every earlier key.
    const ownKey = `${ended.id}/${earlier.length}`;
    const tombstoned = (records: { key: string; value: Buffer | null }[]): string[] =>
      records.filter((r) => r.value === null).map((r) => r.key);
    const raw = await readRaw((records) => tombstoned(records).length >= earlier.length);
    expect(tombstoned(raw).sort()).toEqual([...earlier].sort());
    expect(raw.find((r) => r.key === ownKey)?.value).not.toBeNull();
    // Each tombstone comes after the event it deletes, as compaction needs.
    for (const key of earlier)
      expect(raw.findIndex((r) => r.key === key && r.value === null)).toBeGreaterThan(
        raw.findIndex((r) => r.key === key && r.value !== null),
      );
    // Nothing of the running job was touched.
    expect(raw.some((r) => r.key.startsWith(`${running.id}/`) && r.value === null)).toBe(false);

    // A running job's purge is refused with the coordinator's reason, exit code 1.
    const refused = await sluice('purge', running.id);
    expect(refused.code).toBe(1);
    expect(refused.json.error).toMatchObject({
      code: 'SLUICE_COMMAND_REJECTED',
      details: { rejectionCode: 'ILLEGAL_TRANSITION' },
    });
    expect(refused.json.error?.message).toContain('"keep-me" is RUNNING');
    expect(running.status()).toBe('RUNNING');

    // Afterwards `sluice status` says it was purged, by whom and when (exit code 3).
    const status = await sluice('status', ended.id);
    expect(status.code).toBe(3);
    expect(status.json.error).toMatchObject({
      code: 'SLUICE_JOB_NOT_FOUND',
      details: { jobId: ended.id, purged: true, purgedBy: 'ops' },
    });
    expect(status.json.error?.message).toMatch(/Job "purge-me" .* was purged on .* by ops/);
    // And so does this client, which read the purge as it happened.
    let thrown: unknown;
    try {
      ended.history();
    } catch (err) {
      thrown = err;
    }
    expect(isSluiceError(thrown, 'SLUICE_JOB_NOT_FOUND')).toBe(true);
  });
});
