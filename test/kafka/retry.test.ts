import type { KafkaJSError } from 'kafkajs';
import kafkajs from '../../src/kafka/kafkajs/loader.js';
import { describe, expect, it } from 'vitest';
import { isSluiceError, SluiceError } from '../../src/domain/errors.js';
import { isTransient } from '../../src/kafka/errors.js';
import {
  backoffMs,
  RetryBudget,
  retryPolicy,
  withRetry,
  type RetryPolicy,
} from '../../src/kafka/retry.js';

const policy: RetryPolicy = { initialMs: 100, maxMs: 1000, budgetMs: 5000 };

function kafkaError(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(name), { name, ...extra });
}

describe('isTransient', () => {
  it('accepts connection errors, timeouts and retriable protocol errors', () => {
    expect(isTransient(kafkaError('KafkaJSConnectionError'))).toBe(true);
    expect(isTransient(kafkaError('KafkaJSRequestTimeoutError'))).toBe(true);
    expect(isTransient(kafkaError('KafkaJSProtocolError', { retriable: true }))).toBe(true);
  });

  it('looks through kafkajs retry wrappers to the last error', () => {
    const inner = kafkaError('KafkaJSProtocolError', { retriable: true });
    expect(
      isTransient(kafkaError('KafkaJSNumberOfRetriesExceeded', { originalError: inner })),
    ).toBe(true);
    const fatal = kafkaError('KafkaJSProtocolError', { retriable: false });
    expect(
      isTransient(kafkaError('KafkaJSNumberOfRetriesExceeded', { originalError: fatal })),
    ).toBe(false);
  });

  it('accepts "Failed to find group coordinator", which kafkajs throws as non-retriable when no broker answers', () => {
    // A transaction's sendOffsets during a broker outage fails this way.
    // Built as kafkajs builds them (its typings omit these constructors' arguments).
    const err = Reflect.construct(kafkajs.KafkaJSGroupCoordinatorNotFound, [
      'Failed to find group coordinator',
    ]) as KafkaJSError;
    expect(err.retriable).toBe(false);
    expect(isTransient(err)).toBe(true);
    const wrapped = Reflect.construct(kafkajs.KafkaJSNonRetriableError, [
      err,
      { cause: err },
    ]) as KafkaJSError;
    expect(isTransient(wrapped)).toBe(true);
  });

  it('accepts a Sluice error marked retryable, such as no coordinator answering yet', () => {
    const timeout = new SluiceError('SLUICE_COMMAND_TIMEOUT', 'no answer', { retryable: true });
    expect(isTransient(timeout)).toBe(true);
    expect(isTransient(new SluiceError('SLUICE_COMMAND_REJECTED', 'refused'))).toBe(false);
  });

  it('rejects user errors and non-retriable protocol errors', () => {
    expect(isTransient(new TypeError('x is undefined'))).toBe(false);
    expect(isTransient(kafkaError('KafkaJSProtocolError', { retriable: false }))).toBe(false);
    expect(isTransient('a string')).toBe(false);
  });
});

describe('backoff', () => {
  it('doubles from the initial delay up to the cap, jittered into its upper half', () => {
    expect(backoffMs(policy, 1, () => 0)).toBe(50);
    expect(backoffMs(policy, 1, () => 1)).toBe(100);
    expect(backoffMs(policy, 3, () => 1)).toBe(400);
    expect(backoffMs(policy, 10, () => 1)).toBe(1000);
    expect(backoffMs(policy, 10, () => 0)).toBe(500);
  });

  it('stops once the budget has passed since the first failure, and restarts after a success', () => {
    let now = 0;
    const budget = new RetryBudget(policy, () => now);
    expect(budget.failed()).toBeGreaterThan(0);
    now = 4999;
    expect(budget.failed()).toBeGreaterThan(0);
    now = 5000;
    expect(budget.failed()).toBeUndefined();
    expect(budget.spent).toEqual({ attempts: 3, elapsedMs: 5000 });
    budget.succeeded();
    now = 9000;
    expect(budget.failed()).toBeGreaterThan(0);
    expect(budget.spent).toEqual({ attempts: 1, elapsedMs: 0 });
  });
});

describe('withRetry', () => {
  it('retries transient errors until the call succeeds', async () => {
    let calls = 0;
    const retried: number[] = [];
    const result = await withRetry(
      () => {
        calls++;
        if (calls < 3) return Promise.reject(kafkaError('KafkaJSConnectionError'));
        return Promise.resolve('ok');
      },
      { initialMs: 1, maxMs: 2, budgetMs: 10_000 },
      (_err, attempt) => retried.push(attempt),
    );
    expect(result).toBe('ok');
    expect(retried).toEqual([1, 2]);
  });

  it('rethrows a non-transient error at once', async () => {
    let calls = 0;
    await expect(
      withRetry(() => {
        calls++;
        return Promise.reject(new RangeError('bad input'));
      }, policy),
    ).rejects.toThrow('bad input');
    expect(calls).toBe(1);
  });

  it('gives up with the last error when the budget is spent', async () => {
    await expect(
      withRetry(() => Promise.reject(kafkaError('KafkaJSConnectionError')), {
        initialMs: 1,
        maxMs: 1,
        budgetMs: 20,
      }),
    ).rejects.toThrow('KafkaJSConnectionError');
  });
});

describe('retryPolicy', () => {
  it('fills what is not given from the defaults', () => {
    expect(retryPolicy({ budgetMs: 1000 })).toEqual({
      initialMs: 250,
      maxMs: 5000,
      budgetMs: 1000,
    });
  });

  it('refuses a policy that cannot work, with SLUICE_CONFIG_INVALID naming the setting', () => {
    for (const [given, text] of [
      [
        { budgetMs: -1 },
        'retry.budgetMs must be a whole number of milliseconds, 0 or more, not -1.',
      ],
      [
        { initialMs: 1.5 },
        'retry.initialMs must be a whole number of milliseconds, 0 or more, not 1.5.',
      ],
      [{ initialMs: 0 }, 'retry.initialMs must be at least 1 ms, not 0.'],
      [
        { maxMs: 100 },
        'retry.maxMs must be at least the first delay (retry.initialMs = 250 ms), not 100.',
      ],
    ] as const) {
      let caught: unknown;
      try {
        retryPolicy(given);
      } catch (err) {
        caught = err;
      }
      expect(isSluiceError(caught, 'SLUICE_CONFIG_INVALID')).toBe(true);
      expect((caught as Error).message).toBe(text);
    }
  });
});
