import { NO_ERROR_POLICY } from '../../src/domain/error-policy.js';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { frame } from '../../src/codec/wire.js';
import { codecs, command, publish, readLogUntil } from '../support/commands.js';
import { kafkaClient } from '../support/kafka.js';
import { freshNamespace, startCoordinator } from '../support/sluice.js';

// 1,000 malformed control records of many kinds, with valid commands interleaved: the
// coordinator must record every bad record, apply every good command, and keep running.

const ns = await freshNamespace('garbage');
const coordinator = await startCoordinator(ns);
const { commands, events } = await codecs(ns);

function garbage(i: number, schemaId: number): Buffer | string {
  switch (i % 8) {
    case 0:
      return randomBytes(1 + (i % 50)); // random bytes (may even start with 0 or '{')
    case 1:
      return frame(999_000 + i, randomBytes(10)); // wire format, unknown schema id
    case 2:
      return frame(schemaId, randomBytes(20)); // right schema id, body of random bytes
    case 3:
      return `{"type":"SuspendJob","jobId":${i}}`; // JSON with a wrong field type
    case 4:
      return `{"type":"LaunchMissiles","jobId":"j"}`; // JSON naming an unknown command
    case 5:
      return '{"type":"SuspendJob",'; // truncated JSON
    case 6:
      return JSON.stringify({ type: 'SuspendJob', jobId: `no-such-job-${i}`, commandId: `g-${i}` }); // unknown job
    default:
      return Buffer.alloc(0); // empty value
  }
}

describe('garbage on the control topic', () => {
  it('records every malformed record, applies every valid command, and stays up', async () => {
    const schemaId = await commands.ready();
    const producer = kafkaClient().producer();
    await producer.connect();
    const values: (Buffer | string)[] = [];
    const valid: string[] = [];
    for (let i = 0; i < 1000; i++) {
      values.push(garbage(i, schemaId));
      if (i % 10 === 0) {
        const jobId = `job-${i}`;
        const submit = command('SubmitJob', jobId, {
          pipeline: 'p',
          config: {
            name: `g-${i}`,
            suspendOnFailure: false,
            processingGuarantee: 'NONE',
            snapshotIntervalMs: 10_000,
            args: {},
            initialSnapshotName: null,
            errorPolicy: NO_ERROR_POLICY,
          },
        });
        values.push(commands.encode(submit));
        // The same kind of command as plain JSON, as an operator would publish it.
        const cancel = JSON.stringify({
          type: 'CancelJob',
          jobId,
          commandId: `cancel-${i}`,
          issuedBy: 'ops',
        });
        values.push(cancel);
        valid.push(submit.commandId, `cancel-${i}`);
      }
    }
    await publish(producer, ns, values);
    await producer.disconnect();

    const log = await readLogUntil(ns, events, (l) => l.length >= 1000 + valid.length, 120_000);
    const rejections = log.filter((e) => e.type === 'CommandRejected');
    const malformed = rejections.filter(
      (e) => e.type === 'CommandRejected' && (e.code === 'MALFORMED' || e.code === 'UNKNOWN_JOB'),
    );
    expect(malformed).toHaveLength(1000);
    // Each bad record is findable: its position on the control topic is in the audit event.
    const positions = new Set(
      malformed.map((e) => (e.type === 'CommandRejected' ? e.source?.offset : undefined)),
    );
    expect(positions.size).toBe(1000);
    expect(
      malformed.filter((e) => e.type === 'CommandRejected' && e.code === 'UNKNOWN_JOB'),
    ).toHaveLength(125);

    const applied = new Set(
      log.filter((e) => e.type !== 'CommandRejected').map((e) => e.commandId),
    );
    for (const id of valid) expect(applied.has(id), `command ${id} applied`).toBe(true);
    expect(log.filter((e) => e.type === 'JobCancelled')).toHaveLength(100);
    expect(log.find((e) => e.type === 'JobCancelled')?.issuedBy).toBe('ops');
    expect(coordinator.isActive()).toBe(true);
  });
});
