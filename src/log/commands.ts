import { randomUUID } from 'node:crypto';
import { CommandCodec } from '../codec/log-codec.js';
import type { SchemaRegistry } from '../codec/registry.js';
import { systemClock, type Clock } from '../domain/clock.js';
import type { Outcome } from '../domain/cluster.js';
import type { Command, CommandPayloads, CommandType } from '../domain/commands.js';
import { NotAuthorizedError, SluiceError } from '../domain/errors.js';
import { CommandRejectedError } from '../domain/job-errors.js';
import { channelOf, type Channel } from '../domain/channels.js';
import { topicNames } from '../domain/resources.js';
import type { Kafka, Producer } from '../kafka/port.js';
import type { JobLog } from './job-log.js';

/** What sending commands needs. */
export interface CommandSenderOptions {
  kafka: Kafka;
  registry: SchemaRegistry;
  /** The job log the coordinator's answers are read from. */
  log: JobLog;
  /** Recorded with every command. */
  issuedBy: string;
  /** How long a command may wait for the coordinator's answer. */
  timeoutMs: number;
  /** Default: the wall clock. */
  clock?: Clock;
}

interface Waiter {
  resolve: (outcome: Outcome) => void;
  reject: (err: Error) => void;
  cancel: () => void;
}

/**
 * Sends commands to a namespace's control topic, and reports to its reports topic (see
 * domain/channels.ts), and waits for the coordinator's answer in the job log: the events it
 * appended, or the reason it refused. Clients send users' commands this way, workers their
 * reports.
 */
export class CommandSender {
  private readonly waiters = new Map<string, Waiter>();
  private readonly stopListening: () => void;

  private readonly clock: Clock;
  /** The reports topic's codec, registered on the first report (clients send none). */
  private reportCodec: Promise<CommandCodec> | undefined;
  private connected: Promise<void> | undefined;

  private constructor(
    private readonly opts: CommandSenderOptions,
    private readonly codec: CommandCodec,
    private readonly producer: Producer,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.stopListening = opts.log.onProgress(() => this.settle());
  }

  /**
   * Registers the command schema. The producer connects at the first send: a client that only
   * reads (an auditor's `sluice status`) never asks Kafka for a producer id, which needs a
   * write ACL.
   */
  static async open(opts: CommandSenderOptions): Promise<CommandSender> {
    const codec = new CommandCodec(opts.registry, topicNames(opts.log.namespace).control);
    await codec.ready();
    return new CommandSender(opts, codec, opts.kafka.producer());
  }

  /** Connects the producer once; a failed connect is tried again by the next send. */
  private connect(): Promise<void> {
    if (!this.connected) {
      const connecting = this.producer.connect();
      connecting.catch(() => {
        this.connected = undefined;
        // A producer whose connect failed keeps sockets open; the process must be able to end.
        this.producer.disconnect().catch(() => undefined);
      });
      this.connected = connecting;
    }
    return this.connected;
  }

  /** The codec of a channel: each topic's records are registered under its own subject. */
  private codecFor(channel: Channel): Promise<CommandCodec> {
    if (channel === 'control') return Promise.resolve(this.codec);
    if (!this.reportCodec) {
      const codec = new CommandCodec(
        this.opts.registry,
        topicNames(this.opts.log.namespace).reports,
      );
      const ready = codec.ready().then(() => codec);
      // A failed registration is tried again by the next report, not remembered.
      ready.catch(() => (this.reportCodec = undefined));
      this.reportCodec = ready;
    }
    return this.reportCodec;
  }

  get issuedBy(): string {
    return this.opts.issuedBy;
  }

  /**
   * Publishes a command and waits for the coordinator's outcome; rejects with
   * {@link CommandRejectedError} carrying the coordinator's reason. A command id given again
   * is applied once: the coordinator answers a repeat with the first outcome.
   */
  async send<K extends CommandType>(
    jobId: string,
    type: K,
    payload: CommandPayloads[K],
    commandId: string = randomUUID(),
  ): Promise<Outcome> {
    const command = {
      type,
      commandId,
      jobId,
      issuedBy: this.opts.issuedBy,
      at: this.clock.now(),
      ...payload,
    } as Command;
    // The answer is read from the log: it must be followed before the command can be answered.
    await this.opts.log.follow();
    const outcome = this.waitFor(commandId);
    // Nothing awaits the outcome until the send is done, and a send that fails (a broker
    // outage past the client's retries) never does: its timeout, or a close() meanwhile, must
    // not become an unhandled rejection, which ends a Node process (a worker, with all its jobs).
    outcome.catch(() => undefined);
    const channel = channelOf(type);
    const topics = topicNames(this.opts.log.namespace);
    try {
      const codec = await this.codecFor(channel);
      await this.connect().catch((err: unknown) => {
        throw producerRefused(err, channel === 'reports' ? topics.reports : topics.control);
      });
      await this.producer.send([
        {
          topic: channel === 'reports' ? topics.reports : topics.control,
          messages: [
            {
              key: jobId,
              value: codec.encode(command),
              headers: { 'sluice-issued-by': this.opts.issuedBy },
            },
          ],
        },
      ]);
    } catch (err) {
      this.waiters.get(commandId)?.cancel();
      this.waiters.delete(commandId);
      throw err;
    }
    const result = await outcome;
    if (!result.accepted && result.rejection) {
      throw new CommandRejectedError(type, result.rejection.code, result.rejection.reason, jobId);
    }
    return result;
  }

  /** Stops waiting (pending commands reject) and disconnects. */
  async close(): Promise<void> {
    this.stopListening();
    for (const [id, w] of this.waiters) {
      w.cancel();
      w.reject(
        new SluiceError(
          'SLUICE_COMMAND_TIMEOUT',
          `Client closed before command ${id} was answered.`,
        ),
      );
    }
    this.waiters.clear();
    if (this.connected) await this.producer.disconnect();
  }

  private waitFor(commandId: string): Promise<Outcome> {
    const namespace = this.opts.log.namespace;
    return new Promise((resolve, reject) => {
      const cancel = this.clock.after(this.opts.timeoutMs, () => {
        this.waiters.delete(commandId);
        reject(
          new SluiceError(
            'SLUICE_COMMAND_TIMEOUT',
            `No coordinator answered command ${commandId} within ${Math.round(this.opts.timeoutMs / 1000)} s. Is a coordinator running for namespace "${namespace}"? Start one with \`sluice coordinator\`.`,
            { retryable: true, details: { commandId, namespace } },
          ),
        );
      });
      this.waiters.set(commandId, { resolve, reject, cancel });
      this.settle();
    });
  }

  /** Resolves the waiters whose command has an outcome in the log. */
  private settle(): void {
    for (const [id, w] of this.waiters) {
      const outcome = this.opts.log.outcome(id);
      if (!outcome) continue;
      w.cancel();
      this.waiters.delete(id);
      w.resolve(outcome);
    }
  }
}

/**
 * Kafka gives a producer an id only if its principal may write some topic (or holds
 * IDEMPOTENT_WRITE on the cluster): refused one, a principal may write no topic at all, so
 * the binding missing is WRITE on the topic this command was for.
 */
function producerRefused(err: unknown, topic: string): unknown {
  if (!(err instanceof NotAuthorizedError) || err.resourceType !== 'CLUSTER') return err;
  return new NotAuthorizedError('WRITE', 'TOPIC', topic, { cause: err });
}
