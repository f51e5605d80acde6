import { describe, expect, it } from 'vitest';
import { resumeOptions } from '../../../src/cli/commands/job-verbs.js';
import { EXIT_CODES, exitCodeFor } from '../../../src/cli/exit-codes.js';
import { jsonError } from '../../../src/cli/output.js';
import { isSluiceError } from '../../../src/domain/errors.js';
import { jobGroup, topicNames } from '../../../src/domain/resources.js';
import { PresenceBeacon } from '../../../src/log/presence.js';
import {
  jobConfig,
  memoryClient,
  startCoordinator,
  submit,
  untilActive,
} from '../../support/memory-sluice.js';
import { drive, memoryWorld, produce } from '../../support/memory-world.js';

describe('resumeOptions: the flags of `sluice resume`', () => {
  it('asks for a retry by default, and accepts no data loss unless told', () => {
    expect(resumeOptions({})).toEqual({
      failingRecord: 'RETRY',
      acceptDataLoss: false,
      force: false,
    });
    expect(resumeOptions({ acceptDataLoss: true })).toEqual({
      failingRecord: 'RETRY',
      acceptDataLoss: true,
      force: false,
    });
    expect(resumeOptions({ deadLetter: 'dlq', acceptDataLoss: true })).toEqual({
      failingRecord: 'DEAD_LETTER',
      deadLetterTopic: 'dlq',
      acceptDataLoss: true,
      force: false,
    });
    expect(resumeOptions({ force: true })).toMatchObject({ failingRecord: 'RETRY', force: true });
    expect(resumeOptions({ skipFailingRecord: true })).toMatchObject({ failingRecord: 'SKIP' });
  });

  it('refuses both ways past the failing record as a usage error, before connecting', () => {
    let caught: unknown;
    try {
      resumeOptions({ skipFailingRecord: true, deadLetter: 'dlq' });
    } catch (err) {
      caught = err;
    }
    expect(isSluiceError(caught, 'SLUICE_USAGE')).toBe(true);
    expect(exitCodeFor(caught)).toBe(EXIT_CODES.USAGE);
  });
});

describe('resumeOptions with --dry-run', () => {
  it('takes --timeout-ms only with --dry-run, and --dry-run with no flag that moves past the record or forces', () => {
    expect(resumeOptions({ dryRun: true, timeoutMs: '5000' })).toMatchObject({
      failingRecord: 'RETRY',
    });
    const refused = [
      { timeoutMs: '5000' },
      { dryRun: true, skipFailingRecord: true },
      { dryRun: true, deadLetter: 'dlq' },
      { dryRun: true, acceptDataLoss: true },
      { dryRun: true, force: true },
    ];
    for (const flags of refused) {
      let caught: unknown;
      try {
        resumeOptions(flags);
      } catch (err) {
        caught = err;
      }
      expect(isSluiceError(caught, 'SLUICE_USAGE'), JSON.stringify(flags)).toBe(true);
    }
  });
});

describe('`sluice resume` of a job whose unread records were deleted while it was suspended', () => {
  it('fails at once with SLUICE_SOURCE_DATA_LOST, exit code 4, and the --json error naming each partition', async () => {
    const w = memoryWorld();
    w.cluster.createTopic('orders', 3);
    await untilActive(w, startCoordinator(w, 'sl', 'coord'));
    const { client, participant } = await memoryClient(w, 'sl', 'alice');
    await submit(w, participant, 'j1', jobConfig('orders'));
    const records = Array.from({ length: 600 }, (_, n) => ({ value: `${n}`, partition: 2 }));
    await drive(w.clock, produce(w.cluster.client('source'), 'orders', records));
    // The job read orders-2 up to 120 before it was suspended...
    const producer = w.cluster
      .client('worker')
      .transactionalProducer({ transactionalId: 't', transactionTimeoutMs: 60_000 });
    await drive(w.clock, producer.init());
    const tx = await drive(w.clock, producer.begin());
    await drive(
      w.clock,
      tx.sendOffsets({ groupId: jobGroup('sl', 'j1') }, [
        { topic: 'orders', partition: 2, offset: '120' },
      ]),
    );
    await drive(w.clock, tx.commit());
    await drive(w.clock, client.getJob('orders').suspend());
    // ...and an operator's deleteRecords removed everything below 500 meanwhile.
    w.cluster.deleteRecords('orders', 2, 500);

    // What the command's action does with the flags and the client it connected.
    const err = await drive(w.clock, client.getJob('orders').resume(resumeOptions({}))).catch(
      (e: unknown) => e,
    );
    expect(exitCodeFor(err)).toBe(EXIT_CODES.DATA_LOST);
    expect(jsonError(err)).toEqual({
      error: {
        code: 'SLUICE_SOURCE_DATA_LOST',
        message:
          'Records of orders-2 at offsets 120..499 were deleted (retention or deleteRecords) while job "orders" was stopped; resuming would skip them. ' +
          'Resume with --accept-data-loss to go on from offset 500, or restore the data.',
        details: {
          job: 'orders',
          when: 'stopped',
          partitions: [{ topic: 'orders', partition: 2, committed: '120', earliest: '500' }],
        },
      },
    });
    expect(client.getJob('orders').status()).toBe('SUSPENDED');

    await drive(w.clock, client.getJob('orders').resume(resumeOptions({ acceptDataLoss: true })));
    expect(client.getJob('orders').status()).toBe('STARTING');
  });
});

describe('`sluice resume --dead-letter` to a topic that does not exist', () => {
  it('fails at once with SLUICE_DEAD_LETTER_TOPIC_MISSING, exit code 1, naming the topic and what to do', async () => {
    const w = memoryWorld();
    w.cluster.createTopic('orders', 1);
    await untilActive(w, startCoordinator(w, 'sl', 'coord'));
    const { client, participant } = await memoryClient(w, 'sl', 'alice');
    await submit(w, participant, 'j1', jobConfig('orders'));
    await drive(w.clock, client.getJob('orders').suspend());

    const flags = { deadLetter: 'orders-dead' };
    const err = await drive(w.clock, client.getJob('orders').resume(resumeOptions(flags))).catch(
      (e: unknown) => e,
    );
    expect(exitCodeFor(err)).toBe(EXIT_CODES.FAILURE);
    expect(jsonError(err)).toEqual({
      error: {
        code: 'SLUICE_DEAD_LETTER_TOPIC_MISSING',
        message:
          'Dead-letter topic "orders-dead" does not exist, so job "orders" cannot write its failing record there; Sluice does not create it. ' +
          'Create the topic, then resume with --dead-letter orders-dead again, or give another topic.',
        details: { job: 'orders', topic: 'orders-dead', by: 'resume' },
      },
    });
    expect(client.getJob('orders').status()).toBe('SUSPENDED');
  });
});

describe('`sluice resume` while every live worker still runs the code the job failed in', () => {
  it('fails at once with SLUICE_RESUME_SAME_CODE, exit code 5, and the --json error naming the workers; --force sends it', async () => {
    const w = memoryWorld();
    w.cluster.createTopic('orders', 1);
    await untilActive(w, startCoordinator(w, 'sl', 'coord'));
    const { client, participant } = await memoryClient(w, 'sl', 'alice');
    await submit(w, participant, 'j1', jobConfig('orders'));
    const failure = {
      description: 'User code threw in stage "price"',
      error: { name: 'TypeError', message: 'no amount', stack: null },
      stage: 'price',
      worker: 'w1',
      record: { topic: 'orders', partition: 0, offset: '7', key: null, valuePreview: null },
      fingerprint: 'a1b2c3d4e5f6',
    };
    await drive(w.clock, participant.sender.send('j1', 'ReportFailure', { failure, run: 1 }));
    const beacon = new PresenceBeacon({
      kafka: w.cluster.client('w1'),
      topic: topicNames('sl').workers,
      workerId: 'w1',
      pipelines: { p: 'a1b2c3d4e5f6' },
      clock: w.clock,
      logger: w.logger,
    });
    await drive(w.clock, beacon.start());
    const seenAt = w.clock.now();

    const err = await drive(w.clock, client.getJob('orders').resume(resumeOptions({}))).catch(
      (e: unknown) => e,
    );
    expect(exitCodeFor(err)).toBe(EXIT_CODES.SAME_CODE);
    expect(jsonError(err)).toEqual({
      error: {
        code: 'SLUICE_RESUME_SAME_CODE',
        message:
          'Job "orders" failed in pipeline "p" running code a1b2c3d4e5f6, and every live worker hosting that pipeline still runs it: w1. ' +
          'Resuming would retry the failing record in the same code. Deploy the fix and stop that worker ' +
          '(a stopped worker stops counting at once, one that crashed 30 s after it was last seen), ' +
          'move past the record with --skip-failing-record or --dead-letter, or resume with --force if the cause was outside the code.',
        details: {
          job: 'orders',
          pipeline: 'p',
          fingerprint: 'a1b2c3d4e5f6',
          workers: [{ workerId: 'w1', fingerprint: 'a1b2c3d4e5f6', seenAt }],
        },
      },
    });
    expect(client.getJob('orders').status()).toBe('SUSPENDED_DUE_TO_ERROR');

    await drive(w.clock, client.getJob('orders').resume(resumeOptions({ force: true })));
    expect(client.getJob('orders').status()).toBe('STARTING');
  });
});
