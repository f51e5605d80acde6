import { randomBytes, randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { Kafka, Producer } from 'kafkajs';
import { CommandCodec, EventCodec } from '../codec/log-codec.js';
import { RegistryClient, type RegistryOptions } from '../codec/registry.js';
import { LogReader } from '../control/log-reader.js';
import { ensureTopics, resolveNamespace, topicNames, type Topics } from '../control/topics.js';
import {
  alreadyFolded,
  emptyCluster,
  fold,
  liveJobNamed,
  type Cluster,
  type Outcome,
} from '../domain/cluster.js';
import type { Command, CommandPayloads, CommandType } from '../domain/commands.js';
import { compileJobConfig, type JobConfigInput } from '../domain/config.js';
import { SluiceError } from '../domain/errors.js';
import type { JobEvent } from '../domain/events.js';
import type { ConnectionSecurity } from '../domain/security.js';
import { CommandRejectedError } from '../domain/job-errors.js';
import type { JobState } from '../domain/state.js';
import { createKafka, producerConfig } from '../kafka/connect.js';
import { defaultLogger, type Logger } from '../observability/logger.js';
import { Job } from './job.js';
import { statusChange, type StatusChange } from './status-events.js';

/** How to reach a Sluice namespace. */
export interface ClientOptions {
  brokers: string[];
  registryUrl: string;
  /** TLS, SASL and registry basic auth; see `loadSecurity` for reading them from flags, env or a file. */
  security?: ConnectionSecurity | undefined;
  /** Registry basic auth; overrides `security.registryAuth` (kept for callers that set only this). */
  registryAuth?: RegistryOptions['auth'];
  /** Default: SLUICE_NAMESPACE or "sluice". */
  namespace?: string;
  /** Recorded with every command; default `<os user>@<host>`. */
  issuedBy?: string;
  logger?: Logger;
  /** How long a command may wait for the coordinator's answer. Default 30 s. */
  commandTimeoutMs?: number;
}

interface Waiter {
  resolve: (outcome: Outcome) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The client: submits and controls jobs through the control topic, and knows every job's state
 * by folding the job log, like any other reader of it.
 */
export class SluiceClient {
  readonly namespace: string;
  readonly issuedBy: string;
  private readonly topics: Topics;
  private readonly cluster: Cluster = emptyCluster();
  private readonly histories = new Map<string, JobEvent[]>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly listeners = new Map<string, Set<(c: StatusChange) => void>>();
  private readonly eventListeners = new Set<(e: JobEvent, state: JobState | undefined) => void>();
  private readonly commandTimeoutMs: number;
  private producer: Producer | undefined;
  private reader: LogReader | undefined;

  private constructor(
    private readonly kafka: Kafka,
    private readonly events: EventCodec,
    private readonly commands: CommandCodec,
    opts: ClientOptions,
    readonly logger: Logger,
  ) {
    this.namespace = resolveNamespace(opts.namespace);
    this.topics = topicNames(this.namespace);
    this.issuedBy = opts.issuedBy ?? `${safeUser()}@${hostname()}`;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 30_000;
  }

  /** Connects, makes sure the namespace's topics exist, and reads the job log up to now. */
  static async connect(opts: ClientOptions): Promise<SluiceClient> {
    const logger = (opts.logger ?? defaultLogger()).child({ component: 'client' });
    const namespace = resolveNamespace(opts.namespace);
    const topics = topicNames(namespace);
    // What it connects to and how, never the secrets: where an authentication problem starts.
    const { ssl, sasl, registryAuth } = opts.security ?? {};
    logger.debug(
      {
        brokers: opts.brokers,
        registryUrl: opts.registryUrl,
        namespace,
        tls: ssl !== undefined && ssl !== false,
        sasl: sasl && { mechanism: sasl.mechanism, username: sasl.username },
        registryUser: (opts.registryAuth ?? registryAuth)?.username,
      },
      'client connecting',
    );
    const kafka = createKafka({
      brokers: opts.brokers,
      clientId: `sluice-client`,
      logger,
      security: opts.security,
    });
    const registry = new RegistryClient({
      url: opts.registryUrl,
      auth: opts.registryAuth ?? opts.security?.registryAuth,
    });
    const client = new SluiceClient(
      kafka,
      new EventCodec(registry, topics.jobs),
      new CommandCodec(registry, topics.control),
      { ...opts, namespace },
      logger,
    );
    await client.open();
    return client;
  }

  private async open(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, this.topics);
    } finally {
      await admin.disconnect();
    }
    await Promise.all([this.events.ready(), this.commands.ready()]);
    this.producer = this.kafka.producer(producerConfig());
    await this.producer.connect();
    this.reader = new LogReader({
      kafka: this.kafka,
      codec: this.events,
      topic: this.topics.jobs,
      logger: this.logger,
      groupPrefix: `${this.namespace}.client`,
      onProgress: () => this.settleWaiters(),
    });
    await this.reader.start((e) => this.applyEvent(e));
  }

  /** Submits a job; resolves once the coordinator has accepted it. */
  async submit(pipeline: string, config: JobConfigInput): Promise<Job> {
    const jobId = randomBytes(8).toString('hex');
    await this.send(jobId, 'SubmitJob', { pipeline, config: compileJobConfig(config) });
    return new Job(this, jobId);
  }

  /** A job by id, or by name (the live job of that name, else the latest ended one). */
  getJob(idOrName: string): Job {
    const byId = this.cluster.jobs.get(idOrName);
    if (byId) return new Job(this, byId.jobId);
    const live = liveJobNamed(this.cluster, idOrName);
    if (live) return new Job(this, live.jobId);
    const ended = [...this.cluster.jobs.values()]
      .filter((j) => j.name === idOrName)
      .sort((a, b) => b.submittedAt - a.submittedAt)[0];
    if (ended) return new Job(this, ended.jobId);
    throw new SluiceError(
      'SLUICE_JOB_NOT_FOUND',
      `No job has the id or name "${idOrName}" in namespace "${this.namespace}". List jobs with \`sluice jobs\`.`,
      {
        details: { job: idOrName, namespace: this.namespace },
      },
    );
  }

  /** Every job, newest first. */
  listJobs(): Job[] {
    return [...this.cluster.jobs.values()]
      .sort((a, b) => b.submittedAt - a.submittedAt)
      .map((j) => new Job(this, j.jobId));
  }

  /** Stops following the log and disconnects. Pending commands reject. */
  async close(): Promise<void> {
    for (const [id, w] of this.waiters) {
      clearTimeout(w.timer);
      w.reject(
        new SluiceError(
          'SLUICE_COMMAND_TIMEOUT',
          `Client closed before command ${id} was answered.`,
        ),
      );
    }
    this.waiters.clear();
    await this.reader?.stop();
    await this.producer?.disconnect();
  }

  /** @internal The current state of a job. */
  state(jobId: string): JobState {
    const s = this.cluster.jobs.get(jobId);
    if (!s)
      throw new SluiceError('SLUICE_JOB_NOT_FOUND', `No job has the id "${jobId}".`, {
        details: { jobId },
      });
    return s;
  }

  /** @internal Every event of a job, in order, rejections included. */
  history(jobId: string): JobEvent[] {
    return [...(this.histories.get(jobId) ?? [])];
  }

  /**
   * Calls `listener` with every event read from the log from now on, and the job's state after
   * it; returns the unsubscribe function. Workers follow jobs this way.
   */
  onEvent(listener: (event: JobEvent, state: JobState | undefined) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** @internal Subscribes to a job's status changes. */
  subscribe(jobId: string, listener: (c: StatusChange) => void): () => void {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * @internal Publishes a command and waits for the coordinator's outcome; rejects with
   * {@link CommandRejectedError} carrying the coordinator's reason.
   */
  async send<K extends CommandType>(
    jobId: string,
    type: K,
    payload: CommandPayloads[K],
    commandId: string = randomUUID(),
  ): Promise<Outcome> {
    const producer = this.producer;
    if (!producer) throw new Error('client not connected');
    const command = {
      type,
      commandId,
      jobId,
      issuedBy: this.issuedBy,
      at: Date.now(),
      ...payload,
    } as Command;
    const outcome = this.waitFor(commandId);
    // Nothing awaits the outcome until the send is done, and a send that fails (a broker
    // outage past kafkajs's retries) never does: its timeout, or a close() meanwhile, must not
    // become an unhandled rejection, which ends a Node process (a worker, with all its jobs).
    outcome.catch(() => undefined);
    try {
      await producer.send({
        topic: this.topics.control,
        messages: [
          {
            key: jobId,
            value: this.commands.encode(command),
            headers: { 'sluice-issued-by': this.issuedBy },
          },
        ],
      });
    } catch (err) {
      this.stopWaiting(commandId);
      throw err;
    }
    const result = await outcome;
    if (!result.accepted && result.rejection) {
      throw new CommandRejectedError(type, result.rejection.code, result.rejection.reason, jobId);
    }
    return result;
  }

  private waitFor(commandId: string): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(commandId);
        reject(
          new SluiceError(
            'SLUICE_COMMAND_TIMEOUT',
            `No coordinator answered command ${commandId} within ${Math.round(this.commandTimeoutMs / 1000)} s. Is a coordinator running for namespace "${this.namespace}"? Start one with \`sluice coordinator\`.`,
            { retryable: true, details: { commandId, namespace: this.namespace } },
          ),
        );
      }, this.commandTimeoutMs);
      this.waiters.set(commandId, { resolve, reject, timer });
      this.settleWaiters();
    });
  }

  private applyEvent(e: JobEvent): void {
    // A reader whose consumer restarted reads the log again: an event it had already must not
    // be listed twice in the history, nor reach listeners again (a worker would act on an old
    // JobResumed a second time, restarting the job's tasks).
    if (alreadyFolded(this.cluster, e)) return;
    const before = this.cluster.jobs.get(e.jobId);
    fold(this.cluster, e);
    let h = this.histories.get(e.jobId);
    if (!h) this.histories.set(e.jobId, (h = []));
    h.push(e);
    const after = this.cluster.jobs.get(e.jobId);
    for (const l of this.eventListeners) {
      try {
        l(e, after);
      } catch (err) {
        this.logger.error({ err, jobId: e.jobId }, 'onEvent listener threw');
      }
    }
    const change = statusChange(before, after, e);
    if (change) {
      for (const l of this.listeners.get(e.jobId) ?? []) {
        try {
          l(change);
        } catch (err) {
          this.logger.error({ err, jobId: e.jobId }, 'onStatusChange listener threw');
        }
      }
    }
  }

  /** Drops the waiter of a command that was never published. */
  private stopWaiting(commandId: string): void {
    const w = this.waiters.get(commandId);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiters.delete(commandId);
  }

  /** Resolves waiters whose command has an outcome; called after each batch of the log. */
  private settleWaiters(): void {
    for (const [id, w] of this.waiters) {
      const outcome = this.cluster.outcomes.get(id);
      if (!outcome) continue;
      clearTimeout(w.timer);
      this.waiters.delete(id);
      w.resolve(outcome);
    }
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
