import type { KafkaMessage, Message } from 'kafkajs';
import type { FailingRecordAction, RecordRef, SuspensionCause } from '../domain/cause.js';

/** How a run began: what to do with the record an earlier run failed on. */
export interface ResumePlan {
  action: FailingRecordAction;
  record: RecordRef | null;
  deadLetterTopic: string | null;
  /** Why the earlier run stopped: written into each dead letter's headers. */
  cause: SuspensionCause | null;
}

/** A fresh start, or a plain resume: every record is processed. */
export const NO_PLAN: ResumePlan = {
  action: 'RETRY',
  record: null,
  deadLetterTopic: null,
  cause: null,
};

/** SKIP or DEAD_LETTER when this record is the one the plan names; undefined otherwise. */
export function plannedAction(
  plan: ResumePlan,
  topic: string,
  partition: number,
  offset: string,
): 'SKIP' | 'DEAD_LETTER' | undefined {
  const r = plan.record;
  if (!r || plan.action === 'RETRY') return undefined;
  return r.topic === topic && r.partition === partition && r.offset === offset
    ? plan.action
    : undefined;
}

/** The dead-letter record: the original key and value, with the cause and origin in headers. */
export function deadLetterMessage(
  jobId: string,
  message: KafkaMessage,
  record: RecordRef,
  cause: SuspensionCause | null,
): Message {
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
