import { describe, expect, it } from 'vitest';
import kafkajs from '../../src/kafka/kafkajs/loader.js';
import { retriable } from '../../src/kafka/kafkajs/restart.js';

type Judged = Error & { retriable?: boolean; cause?: unknown; originalError?: unknown };

describe('retriable: an error kafkajs restarts a consumer after', () => {
  it('keeps an error kafkajs already retries', () => {
    const err = new kafkajs.KafkaJSConnectionError('Connection error');
    expect(retriable(err)).toBe(err);
  });

  it('keeps the errors kafkajs answers by rejoining the group, which it recognises by their type', () => {
    for (const type of [
      'REBALANCE_IN_PROGRESS',
      'NOT_COORDINATOR_FOR_GROUP',
      'ILLEGAL_GENERATION',
      'UNKNOWN_MEMBER_ID',
    ]) {
      const err = new kafkajs.KafkaJSProtocolError(
        Object.assign(new Error(type), { type, retriable: false }),
      );
      expect(retriable(err)).toBe(err);
    }
  });

  it('wraps a non-retriable one without a cause (kafkajs judges by the root cause), keeping the original', () => {
    const err = new kafkajs.KafkaJSNonRetriableError('Failed to find group coordinator');
    const out = retriable(err) as Judged;
    expect(out).not.toBe(err);
    expect(out.retriable).toBe(true);
    expect(out.cause).toBeUndefined();
    expect(out.originalError).toBe(err);
    expect(out.message).toBe('Failed to find group coordinator');
  });

  it('wraps a retriable error whose root cause is not, and errors from outside kafkajs', () => {
    const root = new kafkajs.KafkaJSNonRetriableError('fenced');
    const outer = new kafkajs.KafkaJSError('send failed', {
      retriable: true,
      cause: root,
    } as never);
    expect((retriable(outer) as Judged).originalError).toBe(outer);
    const bug = new TypeError('x is undefined');
    expect((retriable(bug) as Judged).retriable).toBe(true);
    expect((retriable('a string') as Judged).message).toBe('a string');
  });
});
