import type { ErrorInfo, RecordRef, SuspensionCause } from '../domain/cause.js';
import type { ConsumedRecord, ProducedRecord } from '../kafka/port.js';
import type { Origin } from './origin.js';
import type { HandledError } from './policy.js';

/**
 * The headers Kafka Streams (KIP-1034) puts on a dead-letter record, under the same names where
 * they mean the same: a consumer written for Streams' dead-letter queues reads Sluice's too.
 */
export const KIP_1034 = {
  exception: '__streams.errors.exception',
  message: '__streams.errors.message',
  stacktrace: '__streams.errors.stacktrace',
  topic: '__streams.errors.topic',
  partition: '__streams.errors.partition',
  offset: '__streams.errors.offset',
} as const;

/** Header values are text; a stack is cut so a dead letter stays well under a record's limit. */
const MAX_STACK_CHARS = 8_192;

function errorHeaders(error: ErrorInfo | null, at: Origin): Record<string, string> {
  return {
    [KIP_1034.exception]: error?.name ?? '',
    [KIP_1034.message]: error?.message ?? '',
    [KIP_1034.stacktrace]: (error?.stack ?? '').slice(0, MAX_STACK_CHARS),
    [KIP_1034.topic]: at.topic,
    [KIP_1034.partition]: String(at.partition),
    [KIP_1034.offset]: at.offset,
  };
}

/**
 * The dead letter of the record a resume named: the original key and value, the cause and
 * origin in headers (Sluice's own, and KIP-1034's).
 */
export function deadLetterMessage(
  jobId: string,
  message: ConsumedRecord,
  record: RecordRef,
  cause: SuspensionCause | null,
): ProducedRecord {
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...errorHeaders(cause?.error ?? null, record),
      'sluice-job-id': jobId,
      'sluice-stage': cause?.stage ?? '',
      'sluice-source': `${record.topic}/${record.partition}@${record.offset}`,
      'sluice-cause': JSON.stringify(cause),
    },
  };
}

/** The dead letter of a record the job's error policy sent to a dead-letter topic. */
export function policyDeadLetter(
  jobId: string,
  message: ConsumedRecord,
  at: Origin,
  handled: HandledError,
): ProducedRecord {
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...errorHeaders(handled.error, at),
      'sluice-job-id': jobId,
      'sluice-stage': handled.stage,
      'sluice-source': `${at.topic}/${at.partition}@${at.offset}`,
    },
  };
}
