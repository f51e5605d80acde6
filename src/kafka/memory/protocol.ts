import { KafkaProtocolError } from '../errors.js';

/**
 * The errors the in-memory Kafka throws, named and flagged as a broker (through kafkajs) would
 * report them, so `isFenced`, `isTransient`, `isUnknownTopic` and `errorType` read them alike.
 */

/** A topic or partition the cluster does not have (retriable: it may be created soon). */
export function unknownTopic(topic: string, partition?: number): KafkaProtocolError {
  const where = partition === undefined ? topic : `${topic}-${partition}`;
  return new KafkaProtocolError(
    'UNKNOWN_TOPIC_OR_PARTITION',
    `This server does not host this topic-partition: ${where}`,
    true,
  );
}

/** The group does not know this member: it left, or its session expired. */
export function unknownMember(groupId: string, memberId: string): KafkaProtocolError {
  // kafkajs flags this non-retriable; Sluice's port treats group errors as retriable (the
  // member rejoins and the request can succeed then).
  return new KafkaProtocolError(
    'UNKNOWN_MEMBER_ID',
    `The coordinator of group ${groupId} is not aware of member ${memberId}`,
    true,
  );
}

/** The group is rebalancing: the member must rejoin. */
export function rebalancing(groupId: string): KafkaProtocolError {
  return new KafkaProtocolError(
    'REBALANCE_IN_PROGRESS',
    `The group ${groupId} is rebalancing, so a rejoin is needed`,
    true,
  );
}

/** Protocol error types after which a consumer rejoins its group (as kafkajs's runner does). */
export const REJOIN_TYPES: ReadonlySet<string> = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
]);

/** Why a producer's epoch is no longer the transactional id's. */
export type FencedBy = 'init' | 'timeout';

/**
 * A producer whose epoch is stale: another producer took the id over (`PRODUCER_FENCED`), or
 * the broker aborted its timed-out transaction and bumped the epoch (`INVALID_PRODUCER_EPOCH`,
 * as Kafka 2.5+ answers the producer's next request). Both are `isFenced`.
 */
export function fenced(transactionalId: string, by: FencedBy): KafkaProtocolError {
  return by === 'init'
    ? new KafkaProtocolError(
        'PRODUCER_FENCED',
        `There is a newer producer with transactional id ${transactionalId}`,
        false,
      )
    : new KafkaProtocolError(
        'INVALID_PRODUCER_EPOCH',
        `The transaction of ${transactionalId} timed out and was aborted; the epoch is stale`,
        false,
      );
}

/** The error every call through a crashed client fails with. */
export function crashed(): Error {
  return new Error('client crashed');
}
