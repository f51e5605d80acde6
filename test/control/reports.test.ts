import { describe, expect, it } from 'vitest';
import { coordinatorGroup, topicNames } from '../../src/domain/resources.js';
import type { JobEvent } from '../../src/domain/events.js';
import { parseCutover } from '../../src/control/cutover.js';
import { jobConfig, startCoordinator, untilActive } from '../support/memory-sluice.js';
import {
  drive,
  jobEvents,
  memoryWorld,
  produce,
  type MemoryWorld,
} from '../support/memory-world.js';

// The coordinator reads operators' commands from <ns>.control and workers' reports from
// <ns>.reports (issue 15), on the in-memory Kafka: what arrives on the wrong topic is refused,
// and reports an older version left on the control topic are still applied.

const NS = 'rep';
const T = topicNames(NS);
const ELECTION = coordinatorGroup(NS);

/** Writes raw JSON commands to a topic, as a hand-made producer would. */
async function write(w: MemoryWorld, topic: string, ...commands: object[]): Promise<void> {
  await drive(
    w.clock,
    produce(
      w.cluster.client('hand'),
      topic,
      commands.map((c) => ({ value: JSON.stringify(c), headers: { 'sluice-issued-by': 'hand' } })),
    ),
  );
}

/** True once the election group has committed both topics to their ends. */
function handled(w: MemoryWorld): boolean {
  return [T.control, T.reports].every((topic) => {
    const high = w.cluster.watermarks(topic)[0]?.high ?? 0;
    const at = w.cluster.committed(ELECTION).find((c) => c.topic === topic);
    return high === 0 || Number(at?.offset ?? -1) === high;
  });
}

async function untilHandled(w: MemoryWorld): Promise<JobEvent[]> {
  expect(await w.clock.runUntil(() => handled(w), 30_000)).toBe(true);
  return jobEvents(w, NS);
}

const submit = (jobId: string, commandId: string) => ({
  type: 'SubmitJob',
  jobId,
  commandId,
  pipeline: 'p',
  config: jobConfig(`job-${jobId}`),
});
const started = (jobId: string, commandId: string) => ({
  type: 'ReportStarted',
  jobId,
  commandId,
  worker: 'w1',
});

describe('commands and reports on two topics', () => {
  it('refuses a report on the control topic and a command on the reports topic as WRONG_TOPIC, applying neither', async () => {
    const w = memoryWorld();
    await untilActive(w, startCoordinator(w, NS, 'a'));
    await write(w, T.control, submit('j', 'c1'));
    await untilHandled(w);
    await write(w, T.control, started('j', 'forged'));
    await write(w, T.reports, { type: 'CancelJob', jobId: 'j', commandId: 'c2' });
    await write(w, T.reports, started('j', 'genuine'));
    const events = await untilHandled(w);
    expect(events.map((e) => [e.type, e.type === 'CommandRejected' ? e.code : null])).toEqual([
      ['JobSubmitted', null],
      ['CommandRejected', 'WRONG_TOPIC'],
      ['CommandRejected', 'WRONG_TOPIC'],
      ['JobStarted', null],
    ]);
    // The refusals are recorded under the records' ids: a forgery cannot take a command id.
    const refused = events.filter((e) => e.type === 'CommandRejected').map((e) => e.commandId);
    expect(refused).toEqual([
      expect.stringMatching(/^ctl-0-1-/),
      expect.stringMatching(/^rpt-0-0-/),
    ]);
  });

  it('applies reports an older version left on the control topic, and refuses those written after the cut-over, across failovers', async () => {
    const w = memoryWorld();
    const a = startCoordinator(w, NS, 'a');
    await untilActive(w, a);
    await write(w, T.control, submit('j', 'c1'));
    await untilHandled(w);
    await drive(w.clock, a.coordinator.stop());
    // An older coordinator committed the control topic without a cut-over, and an older
    // worker then reported on the control topic.
    const old = w.cluster.client('old').transactionalProducer({
      transactionalId: 'old-coordinator',
      transactionTimeoutMs: 60_000,
    });
    await drive(w.clock, old.init());
    const tx = await drive(w.clock, old.begin());
    await drive(
      w.clock,
      tx.sendOffsets({ groupId: ELECTION }, [{ topic: T.control, partition: 0, offset: '1' }]),
    );
    await drive(w.clock, tx.commit());
    await write(w, T.control, started('j', 'legacy'));

    await untilActive(w, startCoordinator(w, NS, 'b'));
    expect((await untilHandled(w)).map((e) => e.type)).toEqual(['JobSubmitted', 'JobStarted']);
    const committed = w.cluster.committed(ELECTION).find((c) => c.topic === T.control);
    expect(parseCutover(committed?.metadata)).toBe(2n);

    await write(w, T.control, {
      type: 'ReportCompleting',
      jobId: 'j',
      commandId: 'late',
      worker: 'w1',
    });
    const after = await untilHandled(w);
    expect(after.at(-1)).toMatchObject({ type: 'CommandRejected', code: 'WRONG_TOPIC' });
    expect(w.cluster.committed(ELECTION).find((c) => c.topic === T.control)?.metadata).toBe(
      committed?.metadata,
    );
  });
});
