import { failpoint } from '../observability/failpoint.js';
import type { CommandCodec, EventCodec } from '../codec/log-codec.js';
import { fold, type Cluster } from '../domain/cluster.js';
import type { Channel } from '../domain/channels.js';
import type { Command } from '../domain/commands.js';
import { decideRecord, recordCommandId } from '../domain/control.js';
import type { JobEvent } from '../domain/events.js';
import { jobPartition, type Topics } from '../domain/resources.js';
import type {
  ConsumedRecord,
  PartitionOffset,
  Producer,
  TopicRecords,
  TransactionalProducer,
  Written,
} from '../kafka/port.js';
import type { Logger } from '../observability/logger.js';

/** A status change an event made: from (null for a new job) and to. */
export type Change = [string | null, string];

/** A batch of commands decided: the events to append, and the status changes they make. */
export interface Decided {
  events: JobEvent[];
  changes: Map<JobEvent, Change>;
}

/**
 * Decides a batch of control records against the cluster (see domain/control.ts) and folds
 * each one's events at once, so the next command in the batch sees its effect. If the batch's
 * transaction then fails, the caller drops the whole in-memory state and rebuilds it from the log.
 * `channel` is the topic the batch was read from; control records below `cutover` predate the
 * reports topic (control/cutover.ts).
 */
export async function decideBatch(o: {
  cluster: Cluster;
  codec: CommandCodec;
  channel: Channel;
  cutover: bigint;
  partition: number;
  records: ConsumedRecord[];
  now: number;
  log: Logger;
}): Promise<Decided> {
  const { cluster, partition, channel } = o;
  const events: JobEvent[] = [];
  const changes = new Map<JobEvent, Change>();
  for (const message of o.records) {
    const record = {
      channel,
      legacy: channel === 'control' && BigInt(message.offset) < o.cutover,
      partition,
      offset: message.offset,
      timestamp: Number(message.timestamp),
      preview: message.value ? message.value.subarray(0, 64).toString('base64') : null,
    };
    const command = await o.codec.decode(message.value, {
      commandId: recordCommandId(record),
      issuedBy: headerValue(message, 'sluice-issued-by') ?? 'unknown',
      at: record.timestamp,
    });
    const result = decideRecord(cluster, command, record, o.now);
    if (result.decision?.kind === 'duplicate') {
      const first = result.decision.outcome;
      // A repeat names the job its first sending named. One that names another job is a
      // different command under a used id (a client that reuses ids): it is ignored all the
      // same, since the id is all a repeat has, but said loudly.
      if ('jobId' in command && command.jobId !== first.jobId)
        o.log.warn(
          {
            offset: message.offset,
            commandId: first.commandId,
            jobId: command.jobId,
            firstJobId: first.jobId,
          },
          'a command reuses the id of an earlier command for another job; ignored as a repeat of it',
        );
      else o.log.debug({ offset: message.offset }, 'repeated command ignored');
    }
    for (const e of result.events) {
      const before = cluster.jobs.get(e.jobId)?.status;
      fold(cluster, e);
      const after = cluster.jobs.get(e.jobId)?.status;
      if (after !== undefined && after !== before) changes.set(e, [before ?? null, after]);
    }
    events.push(...result.events);
  }
  return { events, changes };
}

/**
 * Appends a batch's events to the job log and commits the records' `offsets`, in one
 * transaction: a command is applied exactly when its events are appended. `also` are sent in
 * the same transaction after the events (a purge's tombstones and checkpoint record, see
 * purge.ts). Aborts and rethrows on failure; the consumer then hands the records over again
 * from the last committed offset. Resolves to each job-log partition written, with the offset
 * after its last record.
 */
export async function appendBatch(o: {
  producer: TransactionalProducer;
  codec: EventCodec;
  topics: Topics;
  groupId: string;
  jobsPartitions: number;
  offsets: PartitionOffset[];
  events: JobEvent[];
  also?: TopicRecords[];
}): Promise<Map<number, bigint>> {
  const ends = new Map<number, bigint>();
  const sends: TopicRecords[] = [];
  if (o.events.length > 0)
    sends.push({
      topic: o.topics.jobs,
      messages: o.events.map((e) => ({
        key: e.eventId,
        value: o.codec.encode(e),
        partition: jobPartition(e.jobId, o.jobsPartitions),
      })),
    });
  sends.push(...(o.also ?? []).filter((s) => s.messages.length > 0));
  const tx = await o.producer.begin();
  try {
    for (const send of sends) {
      const written = await tx.send([send]);
      if (send.topic === o.topics.jobs) noteEnds(ends, send, written);
    }
    failpoint('coordinator.after-events-sent', o.events.length > 0);
    await tx.sendOffsets({ groupId: o.groupId }, o.offsets);
    await tx.commit();
  } catch (err) {
    await tx.abort().catch(() => undefined);
    throw err;
  }
  return ends;
}

/**
 * Notes where one send to the job log ended in each partition. One producer writes the log, so
 * a partition's records of one send are contiguous from the first offset the broker reports,
 * and a later send of the transaction ends past an earlier one.
 */
function noteEnds(ends: Map<number, bigint>, send: TopicRecords, written: Written[]): void {
  const counts = new Map<number, number>();
  for (const m of send.messages) {
    const p = m.partition ?? 0;
    counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  const firsts = new Map<number, bigint>();
  for (const w of written) {
    const at = BigInt(w.baseOffset);
    const first = firsts.get(w.partition);
    if (first === undefined || at < first) firsts.set(w.partition, at);
  }
  for (const [p, first] of firsts) ends.set(p, first + BigInt(counts.get(p) ?? 0));
}

/**
 * Writes a report of the coordinator's own (a snapshot) to the reports topic, like a worker: the
 * coordinator's principal may write there (docs/security.md).
 */
export async function sendReport(
  producer: Producer,
  codec: CommandCodec,
  topics: Topics,
  command: Command,
): Promise<void> {
  await producer.send([
    {
      topic: topics.reports,
      messages: [
        {
          key: command.jobId,
          value: codec.encode(command),
          headers: { 'sluice-issued-by': command.issuedBy },
        },
      ],
    },
  ]);
}

/** Only the active coordinator appends, so each status change is logged once, here. */
export function logEvent(log: Logger, e: JobEvent, change?: Change): void {
  if (change) {
    log.info(
      { jobId: e.jobId, event: e.type, from: change[0], status: change[1] },
      `job ${e.jobId} is ${change[1]}`,
    );
  } else if (e.type === 'CommandRejected') {
    log.info(
      { jobId: e.jobId, commandId: e.commandId, code: e.code, reason: e.reason },
      'command rejected',
    );
  } else {
    log.info(
      { jobId: e.jobId, commandId: e.commandId, event: e.type, seq: e.seq },
      'event appended',
    );
  }
}

function headerValue(message: ConsumedRecord, name: string): string | undefined {
  const v = message.headers?.[name];
  if (v === undefined) return undefined;
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}
