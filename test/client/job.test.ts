import { describe, expect, it } from 'vitest';
import type { SluiceClient } from '../../src/client/client.js';
import { CommandCodec } from '../../src/codec/log-codec.js';
import { SourceDataLostError } from '../../src/domain/data-loss.js';
import { isSluiceError } from '../../src/domain/errors.js';
import type { JobEvent } from '../../src/domain/events.js';
import {
  CommandRejectedError,
  DeadLetterTopicMissingError,
  JobNotSuspendedError,
} from '../../src/domain/job-errors.js';
import { jobGroup, stageGroup, topicNames } from '../../src/domain/resources.js';
import { ResumeSameCodeError } from '../../src/domain/same-code.js';
import { PRESENCE_LIVE_MS } from '../../src/domain/presence.js';
import { PresenceBeacon } from '../../src/log/presence.js';
import {
  eventsOf,
  jobConfig,
  memoryClient,
  startCoordinator,
  submit,
  untilActive,
  type Participant,
} from '../support/memory-sluice.js';
import { drive, memoryWorld, produce, type MemoryWorld } from '../support/memory-world.js';

// Job.resume's own check (issue 14, item 6): before it sends a ResumeJob, the client reads the
// job's committed offsets and the log starts of their partitions, and refuses at once a resume
// that would skip records deleted while the job was stopped, or dead-letter to a topic that does
// not exist. On the in-memory Kafka with a real coordinator; no worker is needed, since the
// client refuses before anything is sent. And suspensionCause(), which only a suspended job has.

const NS = 'sl';
const JOB = 'j1';

interface Setting {
  w: MemoryWorld;
  client: SluiceClient;
  user: Participant;
}

/** A coordinator, alice's client, topic `in` (2 partitions, 10 records each) and job j1 submitted. */
async function setUp(): Promise<Setting> {
  const w = memoryWorld();
  w.cluster.createTopic('in', 2);
  await untilActive(w, startCoordinator(w, NS, 'coord'));
  const { client, participant: user } = await memoryClient(w, NS, 'alice');
  await submit(w, user, JOB, jobConfig('copies'));
  const records = Array.from({ length: 20 }, (_, n) => ({ value: `${n}`, partition: n % 2 }));
  await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
  return { w, client, user };
}

/** Commits offsets for a group, as a job's tasks would have before the job stopped. */
async function commit(w: MemoryWorld, groupId: string, offsets: [string, number, number][]) {
  const producer = w.cluster
    .client('worker')
    .transactionalProducer({ transactionalId: 'test-offsets', transactionTimeoutMs: 60_000 });
  await drive(w.clock, producer.init());
  const tx = await drive(w.clock, producer.begin());
  await drive(
    w.clock,
    tx.sendOffsets(
      { groupId },
      offsets.map(([topic, partition, offset]) => ({ topic, partition, offset: String(offset) })),
    ),
  );
  await drive(w.clock, tx.commit());
}

/** How many ResumeJob commands are on the control topic: what reached the coordinator. */
async function resumesSent(w: MemoryWorld): Promise<number> {
  const codec = new CommandCodec(w.registry, topicNames(NS).control);
  await codec.ready();
  let n = 0;
  for (const r of w.cluster.read(topicNames(NS).control)) {
    const c = await codec.decode(r.value, { commandId: 'x', issuedBy: 'x', at: 0 });
    if (!('malformed' in c) && c.type === 'ResumeJob') n++;
  }
  return n;
}

function resumed(events: JobEvent[]): Extract<JobEvent, { type: 'JobResumed' }>[] {
  return events.filter(
    (e): e is Extract<JobEvent, { type: 'JobResumed' }> => e.type === 'JobResumed',
  );
}

describe('Job.resume, when records past the committed offsets were deleted while it was stopped', () => {
  it('refuses at once with SLUICE_SOURCE_DATA_LOST naming each partition and range, sending nothing', async () => {
    const { w, client } = await setUp();
    await commit(w, jobGroup(NS, JOB), [
      ['in', 0, 4],
      ['in', 1, 9],
    ]);
    const job = client.getJob(JOB);
    await drive(w.clock, job.suspend());
    w.cluster.deleteRecords('in', 0, 7); // 4..6 unread
    w.cluster.deleteRecords('in', 1, 9); // only what the job had read: not a loss

    const err = await drive(w.clock, job.resume()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceDataLostError);
    expect(isSluiceError(err, 'SLUICE_SOURCE_DATA_LOST')).toBe(true);
    expect((err as Error).message).toBe(
      'Records of in-0 at offsets 4..6 were deleted (retention or deleteRecords) while job "copies" was stopped; resuming would skip them. ' +
        'Resume with --accept-data-loss to go on from offset 7, or restore the data.',
    );
    expect((err as SourceDataLostError).details).toEqual({
      job: 'copies',
      when: 'stopped',
      partitions: [{ topic: 'in', partition: 0, committed: '4', earliest: '7' }],
    });
    expect(await resumesSent(w)).toBe(0);
    expect(job.status()).toBe('SUSPENDED');
  });

  it("checks the stateful stages' groups too, and a job whose id extends this one's is another job", async () => {
    const { w, client, user } = await setUp();
    w.cluster.createTopic('sl.repartition.j1.totals', 1);
    await drive(
      w.clock,
      produce(w.cluster.client('source'), 'sl.repartition.j1.totals', [
        { value: 'a' },
        { value: 'b' },
      ]),
    );
    await commit(w, stageGroup(NS, JOB, 'totals'), [['sl.repartition.j1.totals', 0, 0]]);
    // Job "j1.x"'s group is named like a stage group of j1: its loss is not j1's.
    await submit(w, user, 'j1.x', jobConfig('other'));
    await commit(w, jobGroup(NS, 'j1.x'), [['in', 1, 0]]);
    const job = client.getJob(JOB);
    await drive(w.clock, job.suspend());
    w.cluster.deleteRecords('sl.repartition.j1.totals', 0, 1);
    w.cluster.deleteRecords('in', 1, 5);

    const err = await drive(w.clock, job.resume()).catch((e: unknown) => e);
    expect((err as SourceDataLostError).lost).toEqual([
      { topic: 'sl.repartition.j1.totals', partition: 0, committed: '0', earliest: '1' },
    ]);
  });

  it('sends the resume with acceptDataLoss, which the job log records with who sent it', async () => {
    const { w, client } = await setUp();
    await commit(w, jobGroup(NS, JOB), [['in', 0, 4]]);
    const job = client.getJob(JOB);
    await drive(w.clock, job.suspend());
    w.cluster.deleteRecords('in', 0, 7);

    await drive(w.clock, job.resume({ acceptDataLoss: true }));
    expect(await resumesSent(w)).toBe(1);
    expect(job.status()).toBe('STARTING');
    const events = resumed(await eventsOf(w, NS, JOB));
    expect(events.map((e) => [e.acceptDataLoss, e.issuedBy])).toEqual([[true, 'alice']]);
  });

  it('resumes as before when nothing past the committed offsets was deleted', async () => {
    const { w, client } = await setUp();
    await commit(w, jobGroup(NS, JOB), [['in', 0, 4]]);
    const job = client.getJob(JOB);
    await drive(w.clock, job.suspend());
    w.cluster.deleteRecords('in', 0, 4);
    w.cluster.deleteRecords('in', 1, 10); // never committed on: the job starts there anyway
    await drive(w.clock, job.resume());
    expect(resumed(await eventsOf(w, NS, JOB)).map((e) => e.acceptDataLoss)).toEqual([false]);
  });

  it("leaves a job that cannot be resumed to the coordinator's refusal", async () => {
    const { w, client } = await setUp();
    await commit(w, jobGroup(NS, JOB), [['in', 0, 4]]);
    w.cluster.deleteRecords('in', 0, 7);
    const err = await drive(w.clock, client.getJob(JOB).resume()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandRejectedError);
    expect(err).toMatchObject({ rejectionCode: 'ILLEGAL_TRANSITION' });
  });
});

describe('Job.resume with a dead-letter topic', () => {
  it('refuses at once with SLUICE_DEAD_LETTER_TOPIC_MISSING when the topic does not exist, sending nothing', async () => {
    const { w, client } = await setUp();
    const job = client.getJob(JOB);
    await drive(w.clock, job.suspend());
    const resume = () =>
      drive(w.clock, job.resume({ failingRecord: 'DEAD_LETTER', deadLetterTopic: 'nowhere' }));

    const err = await resume().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadLetterTopicMissingError);
    expect(isSluiceError(err, 'SLUICE_DEAD_LETTER_TOPIC_MISSING')).toBe(true);
    expect((err as DeadLetterTopicMissingError).details).toEqual({
      job: 'copies',
      topic: 'nowhere',
      by: 'resume',
    });
    expect(await resumesSent(w)).toBe(0);

    // Once it exists the resume is sent: here the coordinator refuses it, as a user's
    // suspension has no failing record to dead-letter.
    w.cluster.createTopic('nowhere', 1);
    const sent = await resume().catch((e: unknown) => e);
    expect(sent).toMatchObject({ rejectionCode: 'INVALID_ARGUMENT' });
    expect(await resumesSent(w)).toBe(1);
  });
});

describe('Job.suspensionCause', () => {
  it('throws JobNotSuspendedError unless the job is suspended, and returns the cause while it is', async () => {
    const { w, client } = await setUp();
    const job = client.getJob(JOB);
    const thrown = () => {
      try {
        job.suspensionCause();
      } catch (err) {
        return err;
      }
      return undefined;
    };
    const before = thrown();
    expect(before).toBeInstanceOf(JobNotSuspendedError);
    expect(isSluiceError(before, 'SLUICE_JOB_NOT_SUSPENDED')).toBe(true);
    expect(before).toMatchObject({ status: job.status(), jobId: JOB });

    await drive(w.clock, job.suspend());
    expect(job.suspensionCause()).toMatchObject({
      requestedByUser: true,
      dueToError: false,
      description: 'Suspended by alice.',
    });

    await drive(w.clock, job.resume());
    expect(job.status()).toBe('STARTING');
    expect(thrown()).toBeInstanceOf(JobNotSuspendedError);
  });
});

describe('Job.resume, when the code that failed is still what every live worker runs (issue 17)', () => {
  const FAILED = 'a1b2c3d4e5f6';
  const FIXED = 'f1f2f3f4f5f6';

  /** Job j1 suspended by a failure on a record in code FAILED, reported by worker old-1. */
  async function failedInCode(fingerprint: string | null = FAILED): Promise<Setting> {
    const s = await setUp();
    const worker = s.user.sender;
    await drive(s.w.clock, worker.send(JOB, 'ReportStarted', { worker: 'old-1', run: 1 }));
    const failure = {
      description: 'User code threw in stage "price"',
      error: { name: 'TypeError', message: 'no amount', stack: null },
      stage: 'price',
      worker: 'old-1',
      record: { topic: 'in', partition: 0, offset: '3', key: null, valuePreview: '3' },
      fingerprint,
    };
    await drive(s.w.clock, worker.send(JOB, 'ReportFailure', { failure, run: 1 }));
    expect(s.client.getJob(JOB).status()).toBe('SUSPENDED_DUE_TO_ERROR');
    return s;
  }

  /** A worker's presence record, hosting the job's pipeline `p` in code `fingerprint`. */
  async function live(w: MemoryWorld, workerId: string, fingerprint: string) {
    const beacon = new PresenceBeacon({
      kafka: w.cluster.client(workerId),
      topic: topicNames(NS).workers,
      workerId,
      pipelines: { p: fingerprint, other: 'b0b0b0b0b0b0' },
      clock: w.clock,
      logger: w.logger,
    });
    await drive(w.clock, beacon.start());
    return beacon;
  }

  it('refuses at once with SLUICE_RESUME_SAME_CODE naming the workers, the pipeline and the fingerprint, sending nothing', async () => {
    const { w, client } = await failedInCode();
    await live(w, 'old-1', FAILED);
    await live(w, 'old-2', FAILED);
    const job = client.getJob(JOB);

    const err = await drive(w.clock, job.resume()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResumeSameCodeError);
    expect(isSluiceError(err, 'SLUICE_RESUME_SAME_CODE')).toBe(true);
    expect((err as Error).message).toContain(
      `Job "copies" failed in pipeline "p" running code ${FAILED}, and every live worker hosting that pipeline still runs it: old-1, old-2.`,
    );
    expect((err as ResumeSameCodeError).details).toMatchObject({
      job: 'copies',
      pipeline: 'p',
      fingerprint: FAILED,
      workers: [
        { workerId: 'old-1', fingerprint: FAILED },
        { workerId: 'old-2', fingerprint: FAILED },
      ],
    });
    expect(await resumesSent(w)).toBe(0);
    expect(job.status()).toBe('SUSPENDED_DUE_TO_ERROR');
  });

  it('sends the resume with force, which the job log records with who sent it', async () => {
    const { w, client } = await failedInCode();
    await live(w, 'old-1', FAILED);
    await drive(w.clock, client.getJob(JOB).resume({ force: true }));
    expect(await resumesSent(w)).toBe(1);
    const events = resumed(await eventsOf(w, NS, JOB));
    expect(events.map((e) => [e.force, e.issuedBy])).toEqual([[true, 'alice']]);
  });

  it('resumes, not forced, once the old worker stopped and one with fixed code runs', async () => {
    const { w, client } = await failedInCode();
    const old = await live(w, 'old-1', FAILED);
    const job = client.getJob(JOB);
    // The fixed worker starts; the old one stops cleanly, with a tombstone.
    await live(w, 'new-1', FIXED);
    await drive(w.clock, old.stop());
    await drive(w.clock, job.resume());
    expect(resumed(await eventsOf(w, NS, JOB)).map((e) => e.force)).toEqual([false]);
  });

  it('resumes once a crashed old worker has been silent for three refresh intervals', async () => {
    const { w, client } = await failedInCode();
    await live(w, 'old-1', FAILED);
    w.cluster.crash('old-1');
    const job = client.getJob(JOB);
    const refused = await drive(w.clock, job.resume()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ResumeSameCodeError);
    await w.clock.advance(PRESENCE_LIVE_MS + 1);
    await drive(w.clock, job.resume());
    expect(await resumesSent(w)).toBe(1);
  });

  it('lets through a resume that skips the record, a job no live worker hosts, and a cause without a fingerprint', async () => {
    const skip = await failedInCode();
    await live(skip.w, 'old-1', FAILED);
    await drive(skip.w.clock, skip.client.getJob(JOB).resume({ failingRecord: 'SKIP' }));
    expect(await resumesSent(skip.w)).toBe(1);

    const nobody = await failedInCode();
    await drive(nobody.w.clock, nobody.client.getJob(JOB).resume());
    expect(await resumesSent(nobody.w)).toBe(1);

    const unknown = await failedInCode(null);
    await live(unknown.w, 'old-1', FAILED);
    await drive(unknown.w.clock, unknown.client.getJob(JOB).resume());
    expect(await resumesSent(unknown.w)).toBe(1);
  });
});
