import type { RecordRef, SuspensionCause } from '../domain/cause.js';
import type { ConsumedRecord, ProducedRecord } from '../kafka/port.js';

/** The dead-letter record: the original key and value, with the cause and origin in headers. */
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
      'sluice-job-id': jobId,
      'sluice-source': `${record.topic}/${record.partition}@${record.offset}`,
      'sluice-cause': JSON.stringify(cause),
    },
  };
}
