import { PositionOutOfRangeError } from '../errors.js';

/**
 * Set on a consumer's `retry` options (which kafkajs hands to its ConsumerGroup as they are) by
 * a consumer that stops rather than skip deleted records (`deletedRecords: 'stop'`).
 */
export const STOP_OUT_OF_RANGE = Symbol.for('sluice.stopOutOfRange');

interface OutOfRange {
  topic: string;
  partition: number;
}

type ConsumerGroupClass = new (options: Record<string, unknown>) => {
  recoverFromOffsetOutOfRange(e: OutOfRange): Promise<void>;
  offsetManager: { nextOffset(topic: string, partition: number): { toString(): string } };
};

/**
 * kafkajs 2.2.4's ConsumerGroup, which can stop instead of skipping. Answered
 * OFFSET_OUT_OF_RANGE (the records at its position were deleted by retention or
 * `deleteRecords` before it read them), kafkajs moves the partition to its log start and goes
 * on, logging one line: the records in between are skipped. A stream job must not skip input
 * without a word (it is suspended instead, naming the range), so a consumer marked with
 * {@link STOP_OUT_OF_RANGE} throws {@link PositionOutOfRangeError}, which is not retriable:
 * the fetch fails, the consumer crashes without restarting, and its CRASH event carries it.
 * (Sluice sets no rack, so it never fetches from a follower, whose answer kafkajs would check
 * with the leader first.)
 */
export function withOutOfRangeStop(ConsumerGroup: ConsumerGroupClass): ConsumerGroupClass {
  return class StoppingOutOfRange extends ConsumerGroup {
    private readonly stopOutOfRange: boolean;

    constructor(options: Record<string, unknown>) {
      super(options);
      const retry = options.retry as Record<symbol, unknown> | undefined;
      this.stopOutOfRange = retry?.[STOP_OUT_OF_RANGE] === true;
    }

    override async recoverFromOffsetOutOfRange(e: OutOfRange): Promise<void> {
      if (!this.stopOutOfRange) return super.recoverFromOffsetOutOfRange(e);
      const position = this.offsetManager.nextOffset(e.topic, e.partition).toString();
      throw new PositionOutOfRangeError(e.topic, e.partition, position);
    }
  };
}
