import { describe, expect, it } from 'vitest';
import { coordinatorGroup, jobPartition, topicNames } from '../../src/domain/resources.js';
import type { JobEvent } from '../../src/domain/events.js';
import { KafkaProtocolError } from '../../src/kafka/errors.js';
import { Coordinator } from '../../src/control/coordinator.js';
import type { MemoryKafka } from '../../src/kafka/memory/index.js';
import type { MemoryTransactionalProducer } from '../../src/kafka/memory/producer.js';
import type {
  ConsumeOptions,
  ConsumerOptions,
  GroupConsumer,
  TransactionalOptions,
  TransactionalProducer,
} from '../../src/kafka/port.js';
import {
  COORDINATOR_SESSION_MS,
  jobConfig,
  participant,
  startCoordinator,
  untilActive,
  type RunningCoordinator,
} from '../support/memory-sluice.js';
import {
  background,
  committedOffset,
  drive,
  jobEvents,
  memoryWorld,
  publishCommands,
  type MemoryWorld,
} from '../support/memory-world.js';

// Unit tests of the coordinator (src/control/coordinator.ts) on the in-memory Kafka: commands
// published raw as JSON to <ns>.control, answers read from <ns>.jobs, elections, crashes and
// stalls on one virtual clock.

const NS = 'ctl';
const CONTROL = topicNames(NS).control;
const REPORTS = topicNames(NS).reports;
/** The coordinators' group, and their one transactional id. */
const ELECTION = coordinatorGroup(NS);

/** A JSON command with its own command id. */
type JsonCommand = Record<string, unknown> & { type: string; jobId: string; commandId: string };

/**
 * Ten legal commands for one job, in order: each is accepted and answered with exactly one
 * event (as the broker failover test's script).
 */
function script(jobId: string): JsonCommand[] {
  const c = (i: number, type: string, fields: Record<string, unknown> = {}): JsonCommand => ({
    type,
    jobId,
    commandId: `${jobId}-${i}`,
    ...fields,
  });
  return [
    c(0, 'SubmitJob', { pipeline: 'p', config: jobConfig(`job-${jobId}`) }),
    c(1, 'ReportStarted', { worker: 'w1' }),
    c(2, 'ReportSnapshot', {
      worker: 'w1',
      snapshotId: `${jobId}-s1`,
      sourceOffsets: [{ topic: 'in', partition: 0, offset: '1' }],
      stateOffsets: [],
    }),
    c(3, 'SuspendJob'),
    c(4, 'UpdateConfig', { delta: { snapshotIntervalMs: 2_000 } }),
    c(5, 'ResumeJob', { failingRecord: 'RETRY' }),
    c(6, 'ReportStarted', { worker: 'w2' }),
    // Not an export: a running job's export is refused, and a suspended one's answers with two events.
    c(7, 'ReportSnapshot', {
      worker: 'w2',
      snapshotId: `${jobId}-s2`,
      sourceOffsets: [{ topic: 'in', partition: 0, offset: '2' }],
      stateOffsets: [],
    }),
    c(8, 'RestartJob'),
    c(9, 'CancelJob'),
  ];
}

/** The scripts of `jobs` jobs `f0`, `f1`, …: round r is every job's r-th command. */
function scripts(jobs: number): JsonCommand[][] {
  return Array.from({ length: jobs }, (_, i) => script(`f${i}`));
}

/**
 * Publishes the scripts in ten rounds, `gapMs` of virtual time apart, in the background: the
 * coordinator handles them as they come, in several transactions.
 */
function publishRounds(
  w: MemoryWorld,
  jobs: JsonCommand[][],
  gapMs: number,
): { done: () => boolean } {
  const kafka = w.cluster.client('ops');
  const run = background(
    (async () => {
      for (let round = 0; round < 10; round++) {
        const values = jobs.map((cmds) => JSON.stringify(cmds[round]));
        await publishCommands(kafka, NS, values, 'ops');
        await w.clock.sleep(gapMs);
        // A worker reports on a run only once it has read the event that started it, and the
        // users here wait for their answers: each round follows the last one's outcomes. The
        // coordinator reads commands and reports from two topics, so only such causal order is
        // guaranteed between them (docs/security.md).
        while (!allHandled(w)) await w.clock.sleep(10);
      }
    })(),
  );
  return { done: () => run.settled };
}

/** Every command of the scripts is answered: the control and reports topics are committed to their ends. */
function allHandled(w: MemoryWorld): boolean {
  const end = w.cluster.watermarks(CONTROL)[0]?.high ?? 0;
  const reports = w.cluster.watermarks(REPORTS)[0]?.high ?? 0;
  return (
    end > 0 &&
    committedOffset(w.cluster, ELECTION, CONTROL, 0) === end &&
    (reports === 0 || committedOffset(w.cluster, ELECTION, REPORTS, 0) === reports)
  );
}

/**
 * Exactly one outcome per command: one event each, none rejected, none lost, no event twice,
 * and each job's history complete and in order.
 */
function expectEachOnce(events: JobEvent[], jobs: JsonCommand[][]): void {
  const all = jobs.flat();
  const byCommand = new Map<string, JobEvent[]>();
  for (const e of events) byCommand.set(e.commandId, [...(byCommand.get(e.commandId) ?? []), e]);
  expect(all.filter((c) => !byCommand.has(c.commandId)).map((c) => c.commandId)).toEqual([]);
  expect([...byCommand.values()].filter((es) => es.length !== 1)).toEqual([]);
  expect(events.filter((e) => e.type === 'CommandRejected')).toEqual([]);
  expect(events).toHaveLength(all.length);
  expect(new Set(events.map((e) => e.eventId)).size).toBe(all.length);
  for (const cmds of jobs) {
    const history = events.filter((e) => e.jobId === cmds[0]?.jobId);
    expect(history.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(history.map((e) => e.commandId)).toEqual(cmds.map((c) => c.commandId));
    expect(history.at(-1)?.type).toBe('JobCancelled');
  }
}

/** True while a transaction that has written events to the job log is open. */
function eventsInFlight(w: MemoryWorld): boolean {
  const jobs = topicNames(NS).jobs;
  return w.cluster
    .openTransactions()
    .some((t) => t.partitions.some((p) => p.startsWith(`${jobs}/`)));
}

/** Trace lines that show `name` writing in a transaction (sends, offsets), from `from` on. */
function writesBy(w: MemoryWorld, name: string, from: number): string[] {
  return w.cluster.trace.slice(from).filter((l) => l.includes(` ${name} txn `));
}

/** Two coordinators: `a` active, `b` joined and standing by. */
async function electionOfTwo(w: MemoryWorld): Promise<[RunningCoordinator, RunningCoordinator]> {
  const a = startCoordinator(w, NS, 'a');
  await untilActive(w, a);
  const b = startCoordinator(w, NS, 'b');
  await w.clock.runUntil(() => b.started.settled && a.coordinator.isActive(), 30_000);
  expect(b.coordinator.isActive()).toBe(false);
  expect(w.cluster.group(ELECTION)?.members.map((m) => m.client)).toEqual(['a', 'b']);
  return [a, b];
}

describe('a coordinator', () => {
  it('answers each command once, in order, and commits the control topic with its events', async () => {
    const w = memoryWorld({ maxBatchRecords: 10 });
    const c = startCoordinator(w, NS, 'a');
    await untilActive(w, c);
    const jobs = scripts(5);
    const publishing = publishRounds(w, jobs, 100);
    expect(await w.clock.runUntil(() => publishing.done() && allHandled(w), 30_000)).toBe(true);

    expectEachOnce(await jobEvents(w, NS), jobs);
    expect(c.coordinator.commandsApplied).toBe(50);
  });

  it('answers a command sent with a CommandSender, which resolves with the outcome', async () => {
    const w = memoryWorld();
    const c = startCoordinator(w, NS, 'a');
    await untilActive(w, c);
    const client = await participant(w, NS, 'client');
    const outcome = await drive(
      w.clock,
      client.sender.send('s1', 'SubmitJob', { pipeline: 'p', config: jobConfig('sent') }),
    );
    expect(outcome).toMatchObject({ jobId: 's1', accepted: true });
    expect(client.log.state('s1')?.status).toBe('NOT_RUNNING');
    const rejected = await drive(
      w.clock,
      client.sender.send('s1', 'SubmitJob', { pipeline: 'p', config: jobConfig('sent') }).then(
        () => undefined,
        (err: unknown) => err,
      ),
    );
    expect(rejected).toMatchObject({ rejectionCode: 'JOB_EXISTS', jobId: 's1' });
  });

  it('applies a batch whose commit answer was lost only once', async () => {
    const w = memoryWorld({ maxBatchRecords: 10 });
    const c = startCoordinator(w, NS, 'a');
    await untilActive(w, c);
    // The first batch's transaction commits, but the coordinator hears it failed: it drops its
    // state, rebuilds from the log, and finds the commands already answered.
    w.cluster.failNext({
      op: 'commit',
      client: 'a',
      error: new KafkaProtocolError('REQUEST_TIMED_OUT', 'no answer (injected)', true),
      when: 'after',
    });
    const jobs = scripts(3);
    const publishing = publishRounds(w, jobs, 100);
    expect(await w.clock.runUntil(() => publishing.done() && allHandled(w), 30_000)).toBe(true);

    expect(w.cluster.pendingFaults).toBe(0);
    expectEachOnce(await jobEvents(w, NS), jobs);
    expect(c.coordinator.isActive()).toBe(true);
  });
});

describe('a coordinator starting on a cluster still settling', () => {
  // test/faults/cluster.fault.test.ts: on a fresh 3-broker cluster, a broker that had not yet
  // heard of the topics just created answered UNKNOWN_TOPIC_OR_PARTITION, and the coordinator
  // exited with it.
  it('retries the checks of its topics on a transient error, and starts', async () => {
    const w = memoryWorld();
    const unknown = (): KafkaProtocolError =>
      new KafkaProtocolError('UNKNOWN_TOPIC_OR_PARTITION', 'not yet known here (injected)', true);
    w.cluster.failNext({ op: 'admin.partitions', error: unknown(), times: 2 });
    w.cluster.failNext({ op: 'admin.topicConfig', error: unknown() });
    const a = startCoordinator(w, NS, 'a');
    await untilActive(w, a);
    expect(a.started.error).toBeUndefined();
    expect(w.cluster.pendingFaults).toBe(0);
  });
});

describe('a coordinator failover', () => {
  it('gives every command exactly one outcome when the active coordinator crashes mid-transaction', async () => {
    // Each request takes 2 ms, so a transaction stays open a few ms: long enough to crash in.
    const w = memoryWorld({ maxBatchRecords: 10, requestLatencyMs: 2 });
    const [a, b] = await electionOfTwo(w);
    const jobs = scripts(20);
    const publishing = publishRounds(w, jobs, 200);
    await w.clock.runUntil(() => a.coordinator.commandsApplied >= 50 && eventsInFlight(w), 30_000);
    expect(eventsInFlight(w)).toBe(true);
    const appliedByA = a.coordinator.commandsApplied;
    expect(appliedByA).toBeLessThan(200);
    w.cluster.crash('a');
    const crashedAt = w.clock.now();
    // The standby takes over once a's session has timed out (counted from a's last heartbeat,
    // at most a heartbeat interval, 1 s, before the crash), and rebuilds from the log.
    expect(await w.clock.runUntil(() => b.coordinator.isActive(), 30_000)).toBe(true);
    const tookOver = w.clock.now() - crashedAt;
    expect(tookOver).toBeGreaterThanOrEqual(COORDINATOR_SESSION_MS - 1_000);
    expect(w.cluster.trace.some((l) => l.includes(`session timeout expels a-`))).toBe(true);
    // Promptly: its init() aborted a's open transaction at once, which held back the log.
    expect(tookOver).toBeLessThan(COORDINATOR_SESSION_MS + 1_000);
    expect(
      w.cluster.trace.some((l) => l.includes(`txn ${ELECTION} aborted (fenced by init)`)),
    ).toBe(true);
    expect(await w.clock.runUntil(() => publishing.done() && allHandled(w), 60_000)).toBe(true);
    expect(b.coordinator.isActive()).toBe(true);
    expectEachOnce(await jobEvents(w, NS), jobs);
    // a's open transaction was aborted by b's takeover, and b applied the rest.
    const aborted = w.cluster
      .read(topicNames(NS).jobs, { isolation: 'read_uncommitted' })
      .filter((r) => r.status === 'aborted');
    expect(aborted.length).toBeGreaterThan(0);
    expect(b.coordinator.commandsApplied).toBe(200 - appliedByA);
  });

  it('rebuilds from the last checkpoint and the log after it, to the same outcomes (issue 18)', async () => {
    const w = memoryWorld({ maxBatchRecords: 50 });
    const [, b] = await electionOfTwo(w);
    const first = scripts(30);
    const publishing = publishRounds(w, first, 100);
    expect(await w.clock.runUntil(() => publishing.done() && allHandled(w), 60_000)).toBe(true);
    // A checkpoint is due every 5 s; then a few more commands, which only the log holds.
    await w.clock.runUntil(() => false, 6_000);
    const later = [script('late0'), script('late1')];
    const more = publishRounds(w, later, 10);
    expect(await w.clock.runUntil(() => more.done() && allHandled(w), 30_000)).toBe(true);
    w.cluster.crash('a');
    expect(await w.clock.runUntil(() => b.coordinator.isActive(), 30_000)).toBe(true);
    // b folded the 30 checkpointed jobs and read only what came after the checkpoint.
    const rebuilt = b.coordinator.lastRebuild;
    expect(rebuilt?.checkpointed).toBe(30);
    expect(rebuilt?.events).toBe(20);
    // And decides as a's state would: a repeat is a no-op, a new command gets the next seq.
    const ops = w.cluster.client('ops2');
    await publishCommands(
      ops,
      NS,
      [JSON.stringify(later[0]?.[9]), JSON.stringify(first[3]?.[9])],
      'ops2',
    );
    await publishCommands(
      ops,
      NS,
      [
        JSON.stringify({
          type: 'SubmitJob',
          jobId: 'f7',
          commandId: 'again',
          pipeline: 'p',
          config: jobConfig('job-f7'),
        }),
      ],
      'ops2',
    );
    expect(await w.clock.runUntil(() => allHandled(w), 30_000)).toBe(true);
    const events = await jobEvents(w, NS);
    expectEachOnce(
      events.filter((e) => e.commandId !== 'again'),
      [...first, ...later],
    );
    // f7 was cancelled: the submit of the same id is refused, as the seq after its ten events.
    expect(events.filter((e) => e.commandId === 'again')).toMatchObject([
      { type: 'CommandRejected', jobId: 'f7', seq: 10 },
    ]);
  });

  it('checkpoints the jobs a rebuild read from the log before any position past them (two failovers)', async () => {
    const w = memoryWorld({ maxBatchRecords: 50 });
    const [, b] = await electionOfTwo(w);
    const first = scripts(5);
    const publishing = publishRounds(w, first, 100);
    expect(await w.clock.runUntil(() => publishing.done() && allHandled(w), 60_000)).toBe(true);
    await w.clock.runUntil(() => false, 6_000); // a checkpoint of the five jobs
    // Job t0 gets its first five events after the checkpoint: only the log holds them.
    const partitions = 3;
    const t0 = script('t0');
    const partition = jobPartition('t0', partitions);
    const sibling = Array.from({ length: 50 }, (_, i) => `t${i + 1}`).find(
      (id) => jobPartition(id, partitions) === partition,
    );
    const t1 = script(sibling ?? 't1');
    const ops = w.cluster.client('ops2');
    await publishCommands(
      ops,
      NS,
      t0.slice(0, 5).map((c) => JSON.stringify(c)),
      'ops2',
    );
    expect(await w.clock.runUntil(() => allHandled(w), 30_000)).toBe(true);
    // Failover 1: b reads t0's events from the tail. Then another job of the same partition
    // moves on, and b checkpoints: its position for that partition is past t0's events.
    w.cluster.crash('a');
    expect(await w.clock.runUntil(() => b.coordinator.isActive(), 30_000)).toBe(true);
    expect(b.coordinator.lastRebuild?.events).toBe(5);
    await publishCommands(
      ops,
      NS,
      t1.map((c) => JSON.stringify(c)),
      'ops2',
    );
    expect(await w.clock.runUntil(() => allHandled(w), 30_000)).toBe(true);
    await w.clock.runUntil(() => false, 6_000);
    // Failover 2: c must know t0 as b did, or its next commands are decided against the past.
    const c = startCoordinator(w, NS, 'c');
    await w.clock.runUntil(() => c.started.settled, 30_000);
    w.cluster.crash('b');
    expect(await w.clock.runUntil(() => c.coordinator.isActive(), 30_000)).toBe(true);
    // b checkpointed what it did: c reads nothing from the log.
    expect(c.coordinator.lastRebuild).toEqual({ checkpointed: 7, events: 0 });
    await publishCommands(
      ops,
      NS,
      t0.slice(5).map((x) => JSON.stringify(x)),
      'ops2',
    );
    expect(await w.clock.runUntil(() => allHandled(w), 30_000)).toBe(true);
    expectEachOnce(await jobEvents(w, NS), [...first, t0, t1]);
  });

  it('reads the whole log past a checkpoint written by another version, then writes a whole one of its own', async () => {
    const w = memoryWorld({ maxBatchRecords: 50 });
    const [, b] = await electionOfTwo(w);
    const jobs = scripts(5);
    const publishing = publishRounds(w, jobs, 100);
    expect(await w.clock.runUntil(() => publishing.done() && allHandled(w), 60_000)).toBe(true);
    await w.clock.runUntil(() => false, 6_000); // a checkpoint of the five jobs
    // An older release's record for one job: this version cannot read it, so none of the
    // checkpoint can be trusted (its positions would skip that job's events).
    const old = w.cluster.client('old-release').producer();
    await old.connect();
    await old.send([
      {
        topic: topicNames(NS).checkpoint,
        messages: [
          {
            key: 'job/f0',
            value: JSON.stringify({ v: 1, jobId: 'f0', state: null }),
            // Where every release writes a job's record: beside the job's events.
            partition: jobPartition('f0', 3),
          },
        ],
      },
    ]);
    w.cluster.crash('a');
    expect(await w.clock.runUntil(() => b.coordinator.isActive(), 30_000)).toBe(true);
    expect(b.coordinator.lastRebuild).toEqual({ checkpointed: 0, events: 50 });
    // b rewrote the checkpoint whole: the next coordinator reads nothing from the log.
    await w.clock.runUntil(() => false, 6_000);
    const c = startCoordinator(w, NS, 'c');
    await w.clock.runUntil(() => c.started.settled, 30_000);
    w.cluster.crash('b');
    expect(await w.clock.runUntil(() => c.coordinator.isActive(), 30_000)).toBe(true);
    expect(c.coordinator.lastRebuild).toEqual({ checkpointed: 5, events: 0 });
  });

  it('fences a zombie: stalled past its session timeout, then resumed, it writes nothing more', async () => {
    const w = memoryWorld({ maxBatchRecords: 10, requestLatencyMs: 2 });
    // b is elected alone; a joins once b has stalled (b's id sorts after a's, so a, not the
    // resumed b, keeps the control partition from then on).
    const b = startCoordinator(w, NS, 'b');
    await untilActive(w, b);
    const jobs = scripts(20);
    const publishing = publishRounds(w, jobs, 200);
    await w.clock.runUntil(() => b.coordinator.commandsApplied >= 50 && eventsInFlight(w), 30_000);
    expect(eventsInFlight(w)).toBe(true);
    w.cluster.stall('b');
    const appliedByB = b.coordinator.commandsApplied;
    const stalledAt = w.clock.now();
    const a = startCoordinator(w, NS, 'a');
    // a takes over once b's session has timed out; its init() aborts b's open transaction.
    expect(await w.clock.runUntil(() => a.coordinator.isActive(), 30_000)).toBe(true);
    expect(w.clock.now() - stalledAt).toBeLessThan(COORDINATOR_SESSION_MS + 1_000);
    expect(w.cluster.trace.some((l) => l.includes(`session timeout expels b-`))).toBe(true);
    expect(
      w.cluster.trace.some((l) => l.includes(`txn ${ELECTION} aborted (fenced by init)`)),
    ).toBe(true);

    // b wakes up with its transaction's next call in flight: fenced, it writes nothing more.
    const resumedAt = w.cluster.trace.length;
    w.cluster.resume('b');
    expect(await w.clock.runUntil(() => publishing.done() && allHandled(w), 60_000)).toBe(true);
    await w.clock.advance(20_000);
    expect(writesBy(w, 'b', resumedAt)).toEqual([]);
    expect(b.coordinator.commandsApplied).toBe(appliedByB);
    expect(b.coordinator.isActive()).toBe(false);
    expect(a.coordinator.isActive()).toBe(true);
    expect(
      w.cluster.trace
        .slice(resumedAt)
        .some((l) => l.includes(`b consumer ${ELECTION} error PRODUCER_FENCED`)),
    ).toBe(true);
    expectEachOnce(await jobEvents(w, NS), jobs);
  });
});

/**
 * A coordinator on a client whose transactional producers are recorded, and whose `init()`
 * waits for `release()`; its consumer's `stop()` can first replay the last assignment, as
 * kafkajs does when it rejoins while it stops (a peer's leave).
 */
function gatedCoordinator(w: MemoryWorld, rejoinOnStop: boolean) {
  const base = w.cluster.client('a');
  const producers: { producer: MemoryTransactionalProducer; madeAt: number }[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let stopping = false;
  let producersAtStop = -1;
  const kafka = Object.assign(Object.create(base) as MemoryKafka, {
    transactionalProducer(o: TransactionalOptions): TransactionalProducer {
      const producer = base.transactionalProducer(o) as MemoryTransactionalProducer;
      const init = producer.init.bind(producer);
      producer.init = async () => {
        await gate;
        await init();
      };
      producers.push({ producer, madeAt: producers.length });
      return producer;
    },
    consumer(o: ConsumerOptions): GroupConsumer {
      const consumer = base.consumer(o);
      let options: ConsumeOptions | undefined;
      const start = consumer.start.bind(consumer);
      const stop = consumer.stop.bind(consumer);
      consumer.start = (s: ConsumeOptions) => ((options = s), start(s));
      consumer.stop = async () => {
        stopping = true;
        producersAtStop = producers.length;
        if (rejoinOnStop) options?.onAssignment?.({ [CONTROL]: [0] });
        await stop();
      };
      return consumer;
    },
  });
  const coordinator = new Coordinator({
    kafka,
    registry: w.registry,
    namespace: NS,
    logger: w.logger,
    memberName: 'a',
    sessionTimeoutMs: COORDINATOR_SESSION_MS,
    clock: w.clock,
  });
  return {
    coordinator,
    producers,
    release,
    started: background(coordinator.start()),
    stopping: () => stopping,
    madeAfterStop: () => producers.slice(Math.max(0, producersAtStop)),
  };
}

describe('a coordinator that stops', () => {
  // A coordinator that did not exit on SIGINT (test/faults/first-start.fault.test.ts): a
  // producer an activation opened, still in init() when stop() ran, stayed connected.
  it('leaves no producer connected when it stops while an activation is in init()', async () => {
    const w = memoryWorld();
    const a = gatedCoordinator(w, false);
    expect(await w.clock.runUntil(() => a.producers.length > 0, 30_000)).toBe(true);
    const stopped = background(a.coordinator.stop());
    await w.clock.advance(1_000);
    a.release();
    expect(await w.clock.runUntil(() => stopped.settled, 30_000)).toBe(true);
    await w.clock.advance(30_000);
    expect(stopped.error).toBeUndefined();
    expect(a.producers.map((p) => p.producer.connected)).toEqual(a.producers.map(() => false));
    expect(a.coordinator.isActive()).toBe(false);
  });

  it('starts no activation for an assignment that arrives while it stops', async () => {
    const w = memoryWorld();
    const a = gatedCoordinator(w, true);
    a.release();
    expect(await w.clock.runUntil(() => a.coordinator.isActive(), 30_000)).toBe(true);
    await drive(w.clock, a.coordinator.stop());
    await w.clock.advance(30_000);
    expect(a.stopping()).toBe(true);
    expect(a.madeAfterStop()).toEqual([]);
    expect(a.producers.map((p) => p.producer.connected)).toEqual(a.producers.map(() => false));
    expect(a.coordinator.isActive()).toBe(false);
  });
});
