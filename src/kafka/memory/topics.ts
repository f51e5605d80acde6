import { KafkaProtocolError } from '../errors.js';
import { PartitionLog } from './log.js';
import { unknownTopic } from './protocol.js';

/** Topic configs every topic answers with unless created with another value. */
const DEFAULT_CONFIG: Readonly<Record<string, string>> = {
  'cleanup.policy': 'delete',
  'retention.ms': '604800000',
  'min.insync.replicas': '1',
  'max.message.bytes': '1048588',
  'message.timestamp.type': 'CreateTime',
};

/** One topic: its partitions and configs. */
export class Topic {
  readonly logs: readonly PartitionLog[];
  /** Called when a partition's last stable offset moves: readers may have something new. */
  private readonly watchers = new Set<() => void>();

  constructor(
    readonly name: string,
    partitions: number,
    readonly config: Readonly<Record<string, string>>,
  ) {
    const notify = (): void => {
      for (const w of this.watchers) w();
    };
    this.logs = Array.from({ length: partitions }, (_, p) => new PartitionLog(name, p, notify));
  }

  /** Whether the topic is compacted (`cleanup.policy` lists `compact`). */
  get compacted(): boolean {
    return (this.config['cleanup.policy'] ?? '').split(',').some((p) => p.trim() === 'compact');
  }

  /** A config's value, the default when the topic was created without it. */
  configValue(name: string): string | undefined {
    return this.config[name] ?? DEFAULT_CONFIG[name];
  }

  /** The log of a partition; an unknown partition fails as Kafka's would. */
  log(partition: number): PartitionLog {
    const log = this.logs[partition];
    if (log === undefined) throw unknownTopic(this.name, partition);
    return log;
  }

  /** Calls `fn` whenever a partition of this topic gets readable data. Returns the unwatch. */
  watch(fn: () => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }
}

/** The cluster's topics, by name. Topics are never created implicitly. */
export class Topics {
  private readonly byName = new Map<string, Topic>();

  /** Creates a topic; false (and nothing changes) if it exists. */
  create(name: string, partitions: number, config: Record<string, string> = {}): boolean {
    if (this.byName.has(name)) return false;
    if (!Number.isInteger(partitions) || partitions < 1)
      throw new KafkaProtocolError(
        'INVALID_PARTITIONS',
        `Number of partitions must be at least 1, got ${partitions} for ${name}`,
        false,
      );
    this.byName.set(name, new Topic(name, partitions, { ...config }));
    return true;
  }

  /** Deletes a topic; an unknown one fails. */
  delete(name: string): void {
    if (!this.byName.delete(name)) throw unknownTopic(name);
  }

  get(name: string): Topic | undefined {
    return this.byName.get(name);
  }

  /** The topic, or UNKNOWN_TOPIC_OR_PARTITION. */
  require(name: string): Topic {
    const topic = this.byName.get(name);
    if (topic === undefined) throw unknownTopic(name);
    return topic;
  }

  /** Topic names, sorted. */
  names(): string[] {
    return [...this.byName.keys()].sort();
  }
}
