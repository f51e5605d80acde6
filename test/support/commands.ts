import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { CommandCodec, EventCodec } from '../../src/codec/log-codec.js';
import { RegistryClient } from '../../src/codec/registry.js';
import { LogReader } from '../../src/log/log-reader.js';
import { topicNames } from '../../src/domain/resources.js';
import type { Command, CommandPayloads, CommandType } from '../../src/domain/commands.js';
import type { JobEvent } from '../../src/domain/events.js';
import { kafkaPort, endpoints } from './kafka.js';
import { testLogger } from './sluice.js';

/** Builds commands the way the client does, for tests that drive the control topic directly. */
export function command<K extends CommandType>(
  type: K,
  jobId: string,
  payload: CommandPayloads[K],
  commandId: string = randomUUID(),
): Command {
  return { type, jobId, commandId, issuedBy: 'test', at: Date.now(), ...payload } as Command;
}

/** Codecs for a namespace, registered. */
export async function codecs(
  namespace: string,
): Promise<{ commands: CommandCodec; events: EventCodec }> {
  const registry = new RegistryClient({ url: endpoints().registryUrl });
  const t = topicNames(namespace);
  const commands = new CommandCodec(registry, t.control);
  const events = new EventCodec(registry, t.jobs);
  await Promise.all([commands.ready(), events.ready()]);
  return { commands, events };
}

/**
 * Publishes raw records in order, to the control topic, or to the reports topic with
 * `to: 'reports'` (where workers' reports go: domain/channels.ts).
 */
export async function publish(
  producer: Producer,
  namespace: string,
  values: (Buffer | string)[],
  to: 'control' | 'reports' = 'control',
): Promise<void> {
  const topic = topicNames(namespace)[to];
  for (let i = 0; i < values.length; i += 200) {
    await producer.send({ topic, messages: values.slice(i, i + 200).map((value) => ({ value })) });
  }
}

/** Reads the whole job log as it is now, with a fresh reader. */
export async function readLog(namespace: string, events: EventCodec): Promise<JobEvent[]> {
  const out: JobEvent[] = [];
  const reader = new LogReader({
    kafka: kafkaPort(),
    codec: events,
    topic: topicNames(namespace).jobs,
    logger: testLogger,
    groupPrefix: `${namespace}.test-reader`,
  });
  await reader.start((e) => void out.push(e));
  await reader.stop();
  return out;
}

/** Polls the log until `done(events)` holds or the time runs out; returns the last read. */
export async function readLogUntil(
  namespace: string,
  events: EventCodec,
  done: (e: JobEvent[]) => boolean,
  timeoutMs: number,
): Promise<JobEvent[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = await readLog(namespace, events);
    if (done(log) || Date.now() > deadline) return log;
    await new Promise((r) => setTimeout(r, 1000));
  }
}
