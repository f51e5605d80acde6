import { pino } from 'pino';
import { SluiceClient } from '../../src/client/client.js';
import { CommandCodec, EventCodec } from '../../src/codec/log-codec.js';
import { MemoryRegistry } from '../../src/codec/memory-registry.js';
import { topicNames } from '../../src/domain/resources.js';
import { Coordinator } from '../../src/control/coordinator.js';
import { KafkaProtocolError } from '../../src/kafka/errors.js';
import { MemoryCluster, VirtualClock, type FaultSpec } from '../../src/kafka/memory/index.js';
import type { MemoryKafka } from '../../src/kafka/memory/index.js';
import type { RetryPolicy } from '../../src/kafka/retry.js';
import { openClientParts, startWorkerParts, type PartsOptions } from '../../src/node/parts.js';
import type { Logger } from '../../src/observability/logger.js';
import { PIPELINE, SINK, SOURCE, sums } from './pipeline.js';

export { PIPELINE, SINK, SOURCE, type Input } from './pipeline.js';
import { slotName, type CommitFault, type Schedule, type Slot } from './schedule.js';

/** The namespace, topics and pipeline every simulated world uses. */
export const NAMESPACE = 'sim';
/**
 * Generous, so injected transient errors never spend it: a budget that ran out would suspend
 * the job, which is a different story (the invariants would report it).
 */
export const SIM_RETRY: RetryPolicy = { initialMs: 100, maxMs: 2_000, budgetMs: 120_000 };

/** The commands' answer timeout, as a client's default. */
const COMMAND_TIMEOUT_MS = 30_000;

/**
 * One registry for every seed: a registry holds nothing a seed could change but its schemas, so
 * sharing it spares compiling them per seed. The schemas are registered up front, in a fixed
 * order, so their ids do not depend on which seeds ran before.
 */
const SHARED_REGISTRY = new MemoryRegistry();
/** Decodes the job log for the invariants; shared like the registry. */
export const EVENTS = new EventCodec(SHARED_REGISTRY, topicNames(NAMESPACE).jobs);
await EVENTS.ready();
await new CommandCodec(SHARED_REGISTRY, topicNames(NAMESPACE).control).ready();
await new CommandCodec(SHARED_REGISTRY, topicNames(NAMESPACE).reports).ready();

/** One simulated process: a client name on the cluster, and what stops it cleanly (unused on a crash). */
interface Incarnation {
  name: string;
  kafka: MemoryKafka;
}

/**
 * A world: the in-memory cluster and registry on one virtual clock, and the real Sluice parts
 * on it, one `MemoryKafka` client per simulated process, wired as src/node/ wires them.
 */
export class World {
  readonly clock = new VirtualClock();
  readonly cluster: MemoryCluster;
  /** Shared by every world: schemas compile once, and ids are the same in every run. */
  readonly registry: MemoryRegistry = SHARED_REGISTRY;
  readonly logger: Logger = pino({ level: 'silent' });
  /** Whether the fix for the poisoned record is deployed, on every worker. */
  fixed = false;
  /** What the schedule did, and what the world noticed, with virtual times. */
  readonly notes: string[] = [];
  private readonly start: number;
  private readonly live = new Map<string, Incarnation>();
  private readonly incarnations = new Map<string, number>();

  constructor(
    readonly schedule: Schedule,
    trace = false,
  ) {
    this.cluster = new MemoryCluster({
      clock: this.clock,
      trace,
      maxBatchRecords: 100,
      fetchMaxWaitMs: 2_500,
      requestLatencyMs: schedule.latencyMs,
    });
    this.start = this.clock.now();
    this.cluster.createTopic(SOURCE, schedule.partitions);
    this.cluster.createTopic(SINK, schedule.partitions);
  }

  /** Virtual milliseconds since the world began. */
  get elapsed(): number {
    return this.clock.now() - this.start;
  }

  note(line: string): void {
    this.notes.push(`${this.elapsed} ${line}`);
  }

  /** Whether a slot has a live process. */
  isUp(slot: Slot): boolean {
    return this.live.has(slotName(slot));
  }

  /** The client name of a slot's live process. */
  nameOf(slot: Slot): string | undefined {
    return this.live.get(slotName(slot))?.name;
  }

  /** Starts a new process in the slot (in the background: its calls wait on the clock). */
  boot(slot: Slot): void {
    const base = slotName(slot);
    const n = this.incarnations.get(base) ?? 0;
    this.incarnations.set(base, n + 1);
    const name = n === 0 ? base : `${base}.${n}`;
    const kafka = this.cluster.client(name);
    this.live.set(base, { name, kafka });
    this.note(`start ${name}`);
    const started =
      slot.role === 'worker' ? this.startWorker(kafka, name) : this.startCoordinator(kafka, name);
    started.catch((err: unknown) => {
      if (!kafka.crashed) this.note(`${name} failed to start: ${String(err)}`);
    });
  }

  /** Kills the slot's process: nothing of it runs again. */
  crash(slot: Slot): void {
    const name = this.nameOf(slot);
    if (name === undefined) return;
    this.cluster.crash(name);
    this.live.delete(slotName(slot));
    this.note(`crash ${name}`);
  }

  stall(slot: Slot, forMs: number): void {
    const name = this.nameOf(slot);
    if (name === undefined) return;
    this.cluster.stall(name);
    this.note(`stall ${name} for ${forMs} ms`);
    this.clock.after(forMs, () => {
      this.cluster.resume(name);
      this.note(`resume ${name}`);
    });
  }

  /** Arms an error for the next matching transactional calls of the slot's live process. */
  failNext(fault: CommitFault): void {
    const client = this.nameOf(fault.target);
    if (client === undefined) return;
    const error =
      fault.error === 'fenced'
        ? new KafkaProtocolError('PRODUCER_FENCED', 'injected: a newer producer exists', false)
        : new KafkaProtocolError('REQUEST_TIMED_OUT', 'injected: the request timed out', true);
    const spec: FaultSpec = { op: fault.op, client, error, when: fault.when, times: fault.times };
    this.cluster.failNext(spec);
    this.note(`arm ${fault.times} ${fault.op} fault(s) on ${client}: ${fault.error} ${fault.when}`);
  }

  /** A client process (never faulted): the user who submits and controls the job. */
  async connectClient(): Promise<SluiceClient> {
    const kafka = this.cluster.client('client');
    const parts = await openClientParts({
      ...this.parts(kafka),
      issuedBy: 'sim-client',
      reader: 'client',
    });
    return new SluiceClient({ ...parts, kafka, logger: this.logger, clock: this.clock });
  }

  /** A worker as src/node/worker.ts assembles one, without a coordinator of its own. */
  private async startWorker(kafka: MemoryKafka, name: string): Promise<void> {
    await startWorkerParts({
      ...this.parts(kafka),
      workerId: name,
      retry: SIM_RETRY,
      factories: new Map([[PIPELINE, sums(() => this.fixed)]]),
    });
  }

  /** What a process's parts are built on: its own client of the cluster, the shared rest. */
  private parts(kafka: MemoryKafka): PartsOptions {
    const { registry, logger, clock } = this;
    return {
      kafka,
      registry,
      namespace: NAMESPACE,
      logger,
      clock,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    };
  }

  private async startCoordinator(kafka: MemoryKafka, name: string): Promise<void> {
    const coordinator = new Coordinator({
      kafka,
      registry: this.registry,
      namespace: NAMESPACE,
      logger: this.logger,
      memberName: name,
      sessionTimeoutMs: this.schedule.coordinatorSessionMs,
      clock: this.clock,
    });
    await coordinator.start();
  }
}
