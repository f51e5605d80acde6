import { afterAll, describe, expect, it } from 'vitest';
import { frame } from '../../src/codec/wire.js';
import { MAX_COMMAND_BYTES } from '../../src/domain/control.js';
import { topicNames } from '../../src/domain/resources.js';
import type { LineReader } from '../support/cli.js';
import { codecs, readLogUntil } from '../support/commands.js';
import { createTopics, kafkaClient, sluiceEnv, testNamespace } from '../support/kafka.js';
import { readAll } from '../support/records.js';
import { recordFault } from './record.js';
import { sluiceProcess, stopAll, until } from './support.js';

// Issue 14, scenario 7: hostile records on the control topic, which anyone with write access
// can produce: 5 MB, 100,000 fields, JSON nested 10,000 deep, invalid UTF-8, an unknown schema
// id. The coordinator must stay up, answer every record (a rejection names it by its offset),
// and write no event larger than a command may be: the job log's topic takes 1 MB records, and
// an event it refused would stop the coordinator's transactions for good.

const ns = testNamespace('hos');
const control = topicNames(ns).control;
const kafka = kafkaClient('hostile-control-test');
const children: LineReader[] = [];
afterAll(() => stopAll(children));
/** The coordinator, started by the first test and kept for the second. */
let coordinatorProc: LineReader | undefined;

describe('hostile control records', () => {
  it('are each rejected with a bounded event, and the coordinator stays up and keeps deciding', async (ctx) => {
    const { proc: coordinator } = await sluiceProcess(['coordinator'], sluiceEnv(ns), children);
    coordinatorProc = coordinator;
    const { events } = await codecs(ns);
    // The topic must take what an attacker would send; by default the broker refuses over 1 MB.
    const admin = kafka.admin();
    await admin.connect();
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: 2, // ConfigResourceTypes.TOPIC
          name: control,
          configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }],
        },
      ],
    });
    await admin.disconnect();

    const envelope = '"type":"SuspendJob","jobId":"victim","commandId":"c1"';
    const hostile: [string, Buffer][] = [
      ['5 MB', Buffer.from(`{${envelope},"pad":"${'a'.repeat(5 * 1024 * 1024)}"}`)],
      [
        '100,000 fields',
        Buffer.from(
          `{${envelope},${Array.from({ length: 100_000 }, (_, i) => `"f${i}":0`).join(',')}}`,
        ),
      ],
      [
        '20,000 fields',
        Buffer.from(
          `{${envelope},${Array.from({ length: 20_000 }, (_, i) => `"f${i}":0`).join(',')}}`,
        ),
      ],
      [
        'nested 10,000 deep',
        Buffer.from(`{${envelope},"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`),
      ],
      [
        'invalid UTF-8',
        Buffer.concat([
          Buffer.from(`{${envelope},"x":"`),
          Buffer.from([0xff, 0xfe, 0xc3]),
          Buffer.from('"}'),
        ]),
      ],
      ['unknown schema id', frame(2_000_000_000, Buffer.from([2, 4, 6]))],
    ];
    const valid = {
      type: 'SubmitJob',
      jobId: 'after',
      commandId: 'after-1',
      pipeline: 'p',
      config: { name: 'after' },
    };
    const producer = kafka.producer({ maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    for (const [, value] of hostile) await producer.send({ topic: control, messages: [{ value }] });
    await producer.send({ topic: control, messages: [{ value: JSON.stringify(valid) }] });
    await producer.disconnect();

    const sent = hostile.length + 1;
    const log = await readLogUntil(
      ns,
      events,
      (l) => l.some((e) => e.commandId === 'after-1'),
      120_000,
    );
    // Every hostile record is answered, by its offset, with a MALFORMED rejection.
    for (let offset = 0; offset < hostile.length; offset++) {
      const answer = log.filter((e) => e.commandId.startsWith(`ctl-0-${offset}-`));
      expect(
        answer.map((e) => e.type),
        hostile[offset]?.[0],
      ).toEqual(['CommandRejected']);
      const rejected = answer[0];
      if (rejected?.type === 'CommandRejected')
        expect(rejected.code, hostile[offset]?.[0]).toBe('MALFORMED');
    }
    // Then a valid command is still decided: the coordinator is up and past them.
    expect(log.filter((e) => e.commandId === 'after-1').map((e) => e.type)).toEqual([
      'JobSubmitted',
    ]);
    expect(coordinator.child.exitCode).toBeNull();
    // No event is larger than a command may be (plus its envelope).
    const sizes = (await readAll(topicNames(ns).jobs)).map((m) => m.value?.length ?? 0);
    const largest = Math.max(...sizes);
    expect(largest).toBeLessThan(MAX_COMMAND_BYTES);
    recordFault(ctx, {
      scenario:
        'hostile control records: 5 MB, 100k fields, 10k-deep JSON, bad UTF-8, unknown schema id',
      invariant: 'each rejected MALFORMED by offset; coordinator up; events bounded',
      figures: { records: sent, largestEventBytes: largest },
    });
  });

  // The rest of item 7: a control topic deleted and created again (an operator's clean-up)
  // starts at offset 0, where the old topic's first records sat. A command that gives no id is
  // known by its record's place: by place alone, each new command was the repeat of an old one,
  // and ignored without a word.
  it('after the control topic is deleted and created again, commands are decided, and a reused id is ignored loudly', async (ctx) => {
    const coordinator = coordinatorProc;
    if (!coordinator) throw new Error('the first test starts the coordinator');
    const { events } = await codecs(ns);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [control] });
    await until(async () => !(await admin.listTopics()).includes(control), 'the topic gone');
    await admin.disconnect();
    await createTopics(kafka, [{ topic: control, numPartitions: 1 }]);
    const producer = kafka.producer({ maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const submit = (jobId: string, commandId?: string) =>
      JSON.stringify({
        type: 'SubmitJob',
        jobId,
        ...(commandId !== undefined && { commandId }),
        pipeline: 'p',
        config: { name: jobId },
      });
    // Offset 0 again: without an id, as a script would send it. Then an id used before (by
    // 'after', in the first test) for another job, and a last command to read up to.
    await producer.send({ topic: control, messages: [{ value: submit('reborn') }] });
    await producer.send({ topic: control, messages: [{ value: submit('reused', 'after-1') }] });
    await producer.send({ topic: control, messages: [{ value: submit('last', 'last-1') }] });
    await producer.disconnect();

    const log = await readLogUntil(
      ns,
      events,
      (l) => l.some((e) => e.commandId === 'last-1'),
      120_000,
    );
    const reborn = log.filter((e) => e.jobId === 'reborn');
    expect(reborn.map((e) => e.type)).toEqual(['JobSubmitted']);
    // Its id names offset 0 and a time: unlike every id the old topic's records got.
    expect(reborn[0]?.commandId).toMatch(/^ctl-0-0-\d+$/);
    expect(log.filter((e) => e.commandId === reborn[0]?.commandId)).toHaveLength(1);
    // The reused id: nothing for its job, read up to the command after it; said in the log.
    expect(log.filter((e) => e.jobId === 'reused')).toEqual([]);
    expect(log.filter((e) => e.jobId === 'last').map((e) => e.type)).toEqual(['JobSubmitted']);
    await until(
      () => coordinator.stderr.includes('reuses the id of an earlier command'),
      'the warning about the reused id',
    );
    expect(coordinator.child.exitCode).toBeNull();
    recordFault(ctx, {
      scenario: 'control topic deleted and created again; an id reused for another job',
      invariant: 'id-less commands decided (ids by place and time); the reuse ignored and logged',
      figures: { commands: 3 },
    });
  });
});
