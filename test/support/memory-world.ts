import { pino, type Logger } from 'pino';
import { EventCodec } from '../../src/codec/log-codec.js';
import { MemoryRegistry } from '../../src/codec/memory-registry.js';
import type { JobEvent } from '../../src/domain/events.js';
import { channelOf } from '../../src/domain/channels.js';
import { topicNames } from '../../src/domain/resources.js';
import {
  MemoryCluster,
  VirtualClock,
  type MemoryClusterOptions,
  type MemoryKafka,
} from '../../src/kafka/memory/index.js';
import { isFenced } from '../../src/kafka/errors.js';
import type {
  Kafka,
  ProducedRecord,
  Transaction,
  TransactionalOptions,
  TransactionalProducer,
} from '../../src/kafka/port.js';
import type { RetryPolicy } from '../../src/kafka/retry.js';
import type { StageDef } from '../../src/pipeline/stages.js';
import type { HopSpec } from '../../src/runtime/hop.js';
import { Deserializer } from '../../src/runtime/serde.js';

// Shared set-up for unit tests of the runtime and the control plane on the in-memory Kafka:
// one virtual clock drives everything, so no test sleeps and every schedule replays exactly.

/** A silent logger: the tests assert on Kafka's contents, not on log lines. */
export const silent: Logger = pino({ level: 'silent' });

/** A short retry policy, so a test that spends a budget needs little virtual time. */
export const TEST_RETRY: RetryPolicy = { initialMs: 100, maxMs: 1_000, budgetMs: 10_000 };

/** The clock, the cluster on it and a schema registry: what every memory test starts from. */
export interface MemoryWorld {
  clock: VirtualClock;
  cluster: MemoryCluster;
  registry: MemoryRegistry;
  logger: Logger;
}

/** A fresh world: a virtual clock, a traced single-broker cluster on it and a memory registry. */
export function memoryWorld(options: Partial<MemoryClusterOptions> = {}): MemoryWorld {
  const clock = new VirtualClock();
  const cluster = new MemoryCluster({ clock, trace: true, ...options });
  return { clock, cluster, registry: new MemoryRegistry(), logger: silent };
}

/** Work started in the background: how it ended, once it has (read it after driving the clock). */
export interface Background<T> {
  readonly promise: Promise<T>;
  readonly settled: boolean;
  readonly value: T | undefined;
  readonly error: unknown;
}

/**
 * Starts `work` without awaiting it: the virtual clock only moves while a test drives it, so
 * anything that waits on the clock must run in the background while `clock.runUntil` or
 * `clock.advance` fires its timers. The result (or error) is kept for the test to check.
 */
export function background<T>(work: Promise<T>): Background<T> {
  const state: { settled: boolean; value: T | undefined; error: unknown } = {
    settled: false,
    value: undefined,
    error: undefined,
  };
  const promise = work.then(
    (value) => {
      state.settled = true;
      state.value = value;
      return value;
    },
    (err: unknown) => {
      state.settled = true;
      state.error = err;
      throw err;
    },
  );
  promise.catch(() => undefined); // checked by the test through `error`
  return {
    promise,
    get settled() {
      return state.settled;
    },
    get value() {
      return state.value;
    },
    get error() {
      return state.error;
    },
  };
}

/**
 * Drives the clock until `work` settles (at most `maxMs` of virtual time) and returns its value;
 * throws its error, or says that it did not finish in time.
 */
export async function drive<T>(clock: VirtualClock, work: Promise<T>, maxMs = 60_000): Promise<T> {
  const bg = background(work);
  const done = await clock.runUntil(() => bg.settled, maxMs);
  if (!done) throw new Error(`did not finish within ${maxMs} ms of virtual time`);
  return bg.promise; // settled: its value, or its error
}

/** Writes records with a fresh plain producer of `kafka` (readable at once). */
export async function produce(
  kafka: MemoryKafka,
  topic: string,
  messages: ProducedRecord[],
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send([{ topic, messages }]);
  await producer.disconnect();
}

/** The values of a topic a read_committed consumer can read now, parsed as JSON, by partition then offset. */
export function committedValues<T = unknown>(cluster: MemoryCluster, topic: string): T[] {
  return cluster.read(topic).map((r) => JSON.parse(r.value?.toString() ?? 'null') as T);
}

/** The offset a group committed on one partition, or undefined when it committed none there. */
export function committedOffset(
  cluster: MemoryCluster,
  groupId: string,
  topic: string,
  partition: number,
): number | undefined {
  const o = cluster.committed(groupId).find((c) => c.topic === topic && c.partition === partition);
  return o === undefined ? undefined : Number(o.offset);
}

/** Values seen more than once in `values` (by their JSON form). */
export function duplicates(values: unknown[]): unknown[] {
  const seen = new Set<string>();
  const twice: unknown[] = [];
  for (const v of values) {
    const text = JSON.stringify(v);
    if (seen.has(text)) twice.push(v);
    seen.add(text);
  }
  return twice;
}

/** What {@link hopSpec} needs; the rest gets a default fit for one stateless hop. */
export interface HopSpecInput {
  registry: MemoryRegistry;
  inputs: string[];
  output: string;
  groupId: string;
  stages: StageDef[];
  index?: number;
  /** The output is a repartition topic: records carry their origin in headers. */
  internal?: boolean;
  /** The output key of each value (default: the key the stages give, none for a map). */
  key?: (value: unknown) => string | null;
  changelogs?: { topic: string; stage: string }[];
  retry?: RetryPolicy;
}

/**
 * A hop's spec built the way `JobRunner.start` builds one: JSON in, the stages, JSON out to one
 * topic.
 */
export function hopSpec(o: HopSpecInput): HopSpec {
  const key = o.key;
  return {
    index: o.index ?? 0,
    inputs: o.inputs,
    deserializer: new Deserializer({ format: 'json', registry: o.registry }),
    stages: o.stages,
    outputs: [
      {
        topic: o.output,
        key: key ? (out) => key(out.value) : (out) => out.key,
        write: (v) => Buffer.from(JSON.stringify(v) ?? 'null'),
        internal: o.internal ?? false,
      },
    ],
    changelogs: o.changelogs ?? [],
    groupId: o.groupId,
    retry: o.retry ?? TEST_RETRY,
  };
}

/** Every event of a namespace's job log a read_committed reader sees now, decoded, in log order per partition. */
export async function jobEvents(world: MemoryWorld, namespace: string): Promise<JobEvent[]> {
  const topic = topicNames(namespace).jobs;
  const codec = new EventCodec(world.registry, topic);
  await codec.ready();
  const events: JobEvent[] = [];
  for (const r of world.cluster.read(topic)) if (r.value) events.push(await codec.decode(r.value));
  return events;
}

/** Publishes raw values (JSON commands, say) to a namespace's control topic, in order. */
export async function publishCommands(
  kafka: MemoryKafka,
  namespace: string,
  values: (string | Buffer)[],
  issuedBy = 'test',
): Promise<void> {
  const topics = topicNames(namespace);
  // Each to its topic, as the CommandSender sends them: a report to <ns>.reports, the rest
  // (and anything unreadable) to <ns>.control.
  for (const value of values) {
    const channel = typeof value === 'string' ? channelOfJson(value) : 'control';
    await produce(kafka, channel === 'reports' ? topics.reports : topics.control, [
      { value, headers: { 'sluice-issued-by': issuedBy } },
    ]);
  }
}

function channelOfJson(value: string): 'control' | 'reports' {
  try {
    const parsed = JSON.parse(value) as { type?: unknown };
    return typeof parsed.type === 'string' ? channelOf(parsed.type) : 'control';
  } catch {
    return 'control';
  }
}

/** What {@link watchProducers} saw of the transactional producers opened through a client. */
export interface ProducerWatch {
  /** The client to hand to the code under test. */
  kafka: Kafka;
  /** How many times each transactional id was taken over (`init()`) through it. */
  inits: Map<string, number>;
  /** Transactional ids whose calls failed fenced, once per failure, in order. */
  fenced: string[];
  /** Transactions committed, per transactional id. */
  commits: Map<string, number>;
}

/**
 * Wraps a client to watch its transactional producers: each `init()`, each commit, and each
 * call that failed because the producer was fenced. Calls go through unchanged.
 */
export function watchProducers(inner: Kafka): ProducerWatch {
  const watch: ProducerWatch = {
    kafka: inner,
    inits: new Map(),
    fenced: [],
    commits: new Map(),
  };
  const bump = (m: Map<string, number>, id: string): void => void m.set(id, (m.get(id) ?? 0) + 1);
  const noted = async <T>(id: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      if (isFenced(err)) watch.fenced.push(id);
      throw err;
    }
  };
  const transaction = (id: string, tx: Transaction): Transaction => ({
    send: (records) => noted(id, () => tx.send(records)),
    sendOffsets: (group, offsets) => noted(id, () => tx.sendOffsets(group, offsets)),
    commit: async () => {
      await noted(id, () => tx.commit());
      bump(watch.commits, id);
    },
    abort: () => noted(id, () => tx.abort()),
  });
  watch.kafka = {
    admin: () => inner.admin(),
    producer: () => inner.producer(),
    consumer: (options) => inner.consumer(options),
    readRanges: (ranges, onRecords) => inner.readRanges(ranges, onRecords),
    transactionalProducer: (options: TransactionalOptions): TransactionalProducer => {
      const id = options.transactionalId;
      const producer = inner.transactionalProducer(options);
      return {
        init: async () => {
          await producer.init();
          bump(watch.inits, id);
        },
        begin: async () => transaction(id, await noted(id, () => producer.begin())),
        disconnect: () => producer.disconnect(),
      };
    },
  };
  return watch;
}
