import { describe, expect, it } from 'vitest';
import { compileJobConfig } from '../../src/domain/config.js';
import { countsFromMetadata, countsMetadata, sumCounts } from '../../src/domain/error-counts.js';
import {
  DEFAULT_RETRY,
  deadLetterTopics,
  retryDelayMs,
  verdict,
  type ErrorPolicy,
} from '../../src/domain/error-policy.js';
import { SluiceError } from '../../src/domain/errors.js';

const policy = (p: unknown): ErrorPolicy =>
  compileJobConfig({ name: 'j', errorPolicy: p }).errorPolicy;

describe('error policy: compiling', () => {
  it('fills each rule’s defaults', () => {
    expect(policy({ retry: { on: ['TimeoutError'] } }).retry).toEqual({
      ...DEFAULT_RETRY,
      on: ['TimeoutError'],
    });
  });

  it('refuses a dead-letter rule without a topic, and a topic on another action, naming the path', () => {
    const bad = (p: unknown): string => {
      try {
        policy(p);
        return 'accepted';
      } catch (err) {
        expect(err).toBeInstanceOf(SluiceError);
        return (err as Error).message;
      }
    };
    expect(bad({ actions: [{ on: ['*'], action: 'DEAD_LETTER' }] })).toMatch(
      /errorPolicy\.actions\.0: DEAD_LETTER needs a deadLetterTopic/,
    );
    expect(bad({ actions: [{ on: ['*'], action: 'SKIP', deadLetterTopic: 't' }] })).toMatch(
      /only with DEAD_LETTER, not SKIP/,
    );
    expect(bad({ actions: [{ on: [], action: 'SKIP' }] })).toMatch(/name at least one error/);
    expect(bad({ actions: [{ on: ['*'], action: 'IGNORE' }] })).toMatch(
      /errorPolicy\.actions\.0\.action/,
    );
    expect(bad({ retries: 3 })).toMatch(/retries/);
  });
});

describe('error policy: the verdict for one failure', () => {
  const p = policy({
    retry: { on: ['TimeoutError'], maxRetries: 2 },
    actions: [
      { on: ['SyntaxError'], action: 'DEAD_LETTER', deadLetterTopic: 'dlt' },
      { on: ['*'], action: 'FAIL' },
    ],
    stages: { enrich: { actions: [{ on: ['TypeError'], action: 'SKIP' }] } },
  });

  it('retries only the errors the rule names, or those the stage’s predicate says', () => {
    expect(verdict(p, 'parse', ['TimeoutError', 'Error'], false).retry?.maxRetries).toBe(2);
    expect(verdict(p, 'parse', ['TypeError', 'Error'], false).retry).toBeNull();
    // The predicate gets the job's backoff when there is one.
    expect(verdict(p, 'parse', ['TypeError'], true).retry).toMatchObject({
      maxRetries: 2,
      on: ['*'],
    });
    expect(verdict(policy({}), 'parse', ['TypeError'], true).retry).toMatchObject({
      maxRetries: 3,
    });
  });

  it('takes the first matching rule, a stage’s own rules first', () => {
    expect(verdict(p, 'parse', ['SyntaxError', 'Error'], false).action?.action).toBe('DEAD_LETTER');
    expect(verdict(p, 'enrich', ['TypeError', 'Error'], false).action?.action).toBe('SKIP');
    expect(verdict(p, 'parse', ['TypeError', 'Error'], false).action?.action).toBe('FAIL');
    expect(verdict(policy({}), 'parse', ['TypeError'], false).action).toBeNull();
  });

  it('lists every dead-letter topic once', () => {
    const q = policy({
      actions: [{ on: ['A'], action: 'DEAD_LETTER', deadLetterTopic: 'b' }],
      stages: {
        s: {
          actions: [
            { on: ['B'], action: 'DEAD_LETTER', deadLetterTopic: 'a' },
            { on: ['C'], action: 'DEAD_LETTER', deadLetterTopic: 'b' },
          ],
        },
      },
    });
    expect(deadLetterTopics(q)).toEqual(['a', 'b']);
  });
});

describe('error policy: backoff', () => {
  const rule = {
    ...DEFAULT_RETRY,
    on: ['*'],
    backoffMs: 100,
    multiplier: 2,
    maxBackoffMs: 1_000,
    jitter: 0.5,
  };

  it('grows exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(rule, n, 0.5))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
  });

  it('varies by the jitter either way', () => {
    expect(retryDelayMs(rule, 1, 0)).toBe(50);
    expect(retryDelayMs(rule, 1, 0.999999)).toBe(150);
  });
});

describe('error counts in offset metadata', () => {
  it('round-trips, summed per stage and sorted', () => {
    const counts = sumCounts([
      [{ stage: 'b', skipped: 1, deadLettered: 0 }],
      [
        { stage: 'a', skipped: 0, deadLettered: 2 },
        { stage: 'b', skipped: 3, deadLettered: 1 },
      ],
    ]);
    expect(counts).toEqual([
      { stage: 'a', skipped: 0, deadLettered: 2 },
      { stage: 'b', skipped: 4, deadLettered: 1 },
    ]);
    expect(countsFromMetadata(countsMetadata(counts))).toEqual(counts);
    expect(countsMetadata([])).toBeNull();
  });

  it('reads anything else as no counts', () => {
    for (const m of [
      null,
      undefined,
      '',
      'kafka-streams',
      'sluice1:{',
      'sluice1:{"a":1}',
      'sluice1:[["a","x",1]]',
    ])
      expect(countsFromMetadata(m)).toEqual([]);
  });

  it('keeps one total when the stages would not fit the broker’s metadata limit', () => {
    const many = Array.from({ length: 100 }, (_, i) => ({
      stage: `stage-${'x'.repeat(40)}-${i}`,
      skipped: 1,
      deadLettered: 2,
    }));
    const text = countsMetadata(many) as string;
    expect(text.length).toBeLessThan(4096);
    expect(countsFromMetadata(text)).toEqual([{ stage: '*', skipped: 100, deadLettered: 200 }]);
  });
});
