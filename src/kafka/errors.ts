/**
 * How Sluice tells Kafka errors apart, whichever implementation of the port threw them. An
 * error carries Kafka's protocol error name as `type` (`PRODUCER_FENCED`) and says whether the
 * request may succeed later as `retriable`, as kafkajs's errors do; the in-memory Kafka throws
 * {@link KafkaProtocolError}, which has the same shape. Nothing here branches on message text.
 */

/** A Kafka protocol error, by its protocol name. */
export class KafkaProtocolError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly retriable = false,
  ) {
    super(message);
    this.name = 'KafkaProtocolError';
  }
}

/** The protocol error name an error carries (`type`), if any. */
export function errorType(err: unknown): string | undefined {
  const type = (err as { type?: unknown } | null | undefined)?.type;
  return typeof type === 'string' ? type : undefined;
}

/** Client error names that say the request may succeed later (kafkajs's, by name). */
const TRANSIENT_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  // Thrown (as non-retriable) when no broker answered FindCoordinator: during an outage, say.
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSStaleTopicMetadataAssignment',
]);

/** Wrappers a client puts around the error that ended its own retries. */
const WRAPPER_NAMES = new Set(['KafkaJSNumberOfRetriesExceeded', 'KafkaJSNonRetriableError']);

/**
 * True for errors worth retrying: protocol errors marked `retriable`, connection and timeout
 * errors, and the wrapper of a client's exhausted retries when the error it wraps is one. A
 * fenced producer is not transient for its producer, but a task reopens with a fresh one, so
 * callers that reopen treat fencing as transient themselves.
 */
export function isTransient(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    const x = e as Error & {
      retriable?: boolean;
      retryable?: boolean;
      originalError?: unknown;
      cause?: unknown;
    };
    // Kafka says `retriable`; a SluiceError says `retryable` (no coordinator answered yet).
    if (x.retriable === true || x.retryable === true || TRANSIENT_NAMES.has(x.name)) return true;
    if (WRAPPER_NAMES.has(x.name)) e = x.originalError ?? x.cause;
    else return false;
  }
  return false;
}

/** A zombie: fenced by a new owner of its transactional id, or left behind by its group (see FENCED_TYPES). */
export function isFenced(err: unknown): boolean {
  const type = errorType(err);
  return type !== undefined && FENCED_TYPES.has(type);
}

/**
 * A zombie's errors: fenced by its transactional id (a newer producer took the id over), or by
 * its consumer group (KIP-447: the group moved to a generation without this member, whose
 * transaction's offsets are then refused).
 */
const FENCED_TYPES = new Set([
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'FENCED_INSTANCE_ID',
]);

/** A topic or partition the cluster does not know (yet: a topic created a moment ago). */
export function isUnknownTopic(err: unknown): boolean {
  const type = errorType(err);
  return (
    type === 'UNKNOWN_TOPIC_OR_PARTITION' ||
    type === 'LEADER_NOT_AVAILABLE' ||
    type === 'NOT_LEADER_FOR_PARTITION'
  );
}

/** The broker refused the SASL login. */
export function isAuthenticationFailure(err: unknown): err is Error {
  return err instanceof Error && err.name === 'KafkaJSSASLAuthenticationError';
}

/** The broker closed the connection, as one that wants TLS or SASL does to a plain client. */
export function isConnectionClosed(err: unknown): err is Error {
  return err instanceof Error && err.name === 'KafkaJSConnectionClosedError';
}

/**
 * A group member's fetch position lies outside its partition's offsets, and the member was told
 * not to skip (`ConsumerOptions.deletedRecords: 'stop'`): records it had not read were deleted
 * (retention, `deleteRecords`) past it, or the partition now ends before it. Kafka's consumers
 * move to the log start then, saying nothing; a member that stops reports this instead, and
 * does not restart.
 */
export class PositionOutOfRangeError extends Error {
  readonly type = 'OFFSET_OUT_OF_RANGE';
  readonly retriable = false;
  constructor(
    readonly topic: string,
    readonly partition: number,
    /** The offset the member was about to read. */
    readonly position: string,
  ) {
    super(
      `The next offset to read on ${topic}-${partition}, ${position}, lies outside the partition's offsets: records were deleted there (retention or deleteRecords) before they were read, or the partition was cut short`,
    );
    this.name = 'PositionOutOfRangeError';
  }
}

/** The {@link PositionOutOfRangeError} an error is or wraps (a client's retry wrappers), if any. */
export function positionOutOfRange(err: unknown): PositionOutOfRangeError | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    if (e instanceof PositionOutOfRangeError) return e;
    const x = e as Error & { originalError?: unknown; cause?: unknown };
    e = x.originalError ?? x.cause;
  }
  return undefined;
}
