import { NO_ERROR_POLICY } from '../../src/domain/error-policy.js';
import { SluiceClient } from '../../src/client/client.js';
import { Coordinator } from '../../src/control/coordinator.js';
import type { CommandPayloads } from '../../src/domain/commands.js';
import type { JobConfig } from '../../src/domain/config.js';
import type { JobEvent } from '../../src/domain/events.js';
import type { JobState } from '../../src/domain/state.js';
import type { MemoryKafka } from '../../src/kafka/memory/index.js';
import type { Kafka } from '../../src/kafka/port.js';
import type { CommandSender } from '../../src/log/commands.js';
import type { JobLog } from '../../src/log/job-log.js';
import { openClientParts, startWorkerParts, type WorkerParts } from '../../src/node/parts.js';
import type { PipelineDef } from '../../src/pipeline/pipeline.js';
import type { RunnerDeps } from '../../src/runtime/job-runner.js';
import {
  background,
  drive,
  jobEvents,
  TEST_RETRY,
  type Background,
  type MemoryWorld,
} from './memory-world.js';

// Sluice's control plane on the in-memory Kafka: coordinators, and a worker's job log and
// command sender, all on the world's virtual clock.

/** The coordinators' session timeout in these tests: Kafka's floor, and the failover time. */
export const COORDINATOR_SESSION_MS = 6_000;

/** How long a command waits for the coordinator's answer. */
export const COMMAND_TIMEOUT_MS = 30_000;

/** A coordinator on a client of its own, joining the election in the background. */
export interface RunningCoordinator {
  coordinator: Coordinator;
  kafka: MemoryKafka;
  started: Background<void>;
}

/**
 * Starts a coordinator of `namespace` on a client named `name` (its member name too); `wrap`
 * lets a test watch the calls it makes through that client.
 */
export function startCoordinator(
  world: MemoryWorld,
  namespace: string,
  name: string,
  wrap: (kafka: MemoryKafka) => Kafka = (k) => k,
): RunningCoordinator {
  const kafka = world.cluster.client(name);
  const coordinator = new Coordinator({
    kafka: wrap(kafka),
    registry: world.registry,
    namespace,
    logger: world.logger,
    memberName: name,
    sessionTimeoutMs: COORDINATOR_SESSION_MS,
    clock: world.clock,
  });
  return { coordinator, kafka, started: background(coordinator.start()) };
}

/** Drives the clock until the coordinator is active; fails the test if it never is. */
export async function untilActive(world: MemoryWorld, c: RunningCoordinator): Promise<void> {
  const active = await world.clock.runUntil(() => c.coordinator.isActive(), 60_000);
  if (!active) throw new Error('the coordinator never became active');
}

/** A worker's (or client's) view of a namespace: its client, its job log and its sender. */
export interface Participant {
  kafka: MemoryKafka;
  log: JobLog;
  sender: CommandSender;
}

/** Opens a job log and a command sender of `namespace` on a client named `name`. */
export async function participant(
  world: MemoryWorld,
  namespace: string,
  name: string,
): Promise<Participant> {
  const kafka = world.cluster.client(name);
  const { clock, registry, logger } = world;
  const parts = openClientParts({
    kafka,
    registry,
    namespace,
    logger,
    clock,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    issuedBy: name,
    reader: name,
  });
  const { log, sender } = await drive(clock, parts);
  return { kafka, log, sender };
}

/** A user's client, as `SluiceClient.connect` assembles one, on a participant named `name`. */
export async function memoryClient(
  world: MemoryWorld,
  namespace: string,
  name: string,
): Promise<{ client: SluiceClient; participant: Participant }> {
  const p = await participant(world, namespace, name);
  const client = new SluiceClient({
    log: p.log,
    sender: p.sender,
    kafka: p.kafka,
    logger: world.logger,
    clock: world.clock,
  });
  return { client, participant: p };
}

/**
 * A worker's real parts on a client named `name`, hosting `pipeline` as `p` (what `submit`
 * names); given a fingerprint of its code, it announces itself on `<ns>.workers`.
 */
export function startWorker(
  world: MemoryWorld,
  namespace: string,
  name: string,
  pipeline: () => PipelineDef,
  fingerprint?: string,
): Promise<WorkerParts> {
  return drive(
    world.clock,
    startWorkerParts({
      kafka: world.cluster.client(name),
      registry: world.registry,
      namespace,
      logger: world.logger,
      clock: world.clock,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      workerId: name,
      retry: TEST_RETRY,
      factories: new Map([['p', pipeline]]),
      fingerprints: fingerprint === undefined ? undefined : new Map([['p', fingerprint]]),
    }),
  );
}

/** What a {@link JobRunner} needs of a worker, on a participant. */
export function runnerDeps(world: MemoryWorld, namespace: string, worker: Participant): RunnerDeps {
  return {
    kafka: worker.kafka,
    registry: world.registry,
    log: worker.log,
    reports: worker.sender,
    namespace,
    worker: worker.kafka.name,
    logger: world.logger,
    retry: TEST_RETRY,
    clock: world.clock,
  };
}

/** A job's config: exactly-once, suspending on failure, unless told otherwise. */
export function jobConfig(name: string, config: Partial<JobConfig> = {}): JobConfig {
  return {
    name,
    suspendOnFailure: true,
    processingGuarantee: 'EXACTLY_ONCE',
    snapshotIntervalMs: 10_000,
    args: {},
    initialSnapshotName: null,
    errorPolicy: NO_ERROR_POLICY,
    ...config,
  };
}

/** Submits a job through the participant's sender and returns its state once its log holds it. */
export async function submit(
  world: MemoryWorld,
  by: Participant,
  jobId: string,
  config: JobConfig,
): Promise<JobState> {
  await drive(world.clock, by.sender.send(jobId, 'SubmitJob', { pipeline: 'p', config }));
  const state = by.log.state(jobId);
  if (state === undefined) throw new Error(`job ${jobId} is not in the log`);
  return state;
}

/** The events of one job in the namespace's log, as a fresh read_committed reader sees them. */
export async function eventsOf(
  world: MemoryWorld,
  namespace: string,
  jobId: string,
): Promise<JobEvent[]> {
  return (await jobEvents(world, namespace)).filter((e) => e.jobId === jobId);
}

/**
 * Drives the clock until the job is `status` in the participant's log (on `run`, when given);
 * false after 60 s of virtual time.
 */
export function untilStatus(
  world: MemoryWorld,
  by: Participant,
  jobId: string,
  status: string,
  run?: number,
): Promise<boolean> {
  return world.clock.runUntil(() => {
    const s = by.log.state(jobId);
    return s?.status === status && (run === undefined || s.run === run);
  }, 60_000);
}

/**
 * Sends a ResumeJob as any Kafka tool could (no check by the client first): RETRY, no dead
 * letter, no accepted loss, not forced, unless `resume` says otherwise.
 */
export async function sendResume(
  world: MemoryWorld,
  by: Participant,
  jobId: string,
  resume: Partial<CommandPayloads['ResumeJob']> = {},
): Promise<void> {
  await drive(
    world.clock,
    by.sender.send(jobId, 'ResumeJob', {
      failingRecord: 'RETRY',
      deadLetterTopic: null,
      acceptDataLoss: false,
      force: false,
      ...resume,
    }),
  );
}
