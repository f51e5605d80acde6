import { describe, expect, it } from 'vitest';
import {
  applyConfigDelta,
  compileConfigDelta,
  compileJobConfig,
  isValidName,
} from '../../src/domain/config.js';
import { isSluiceError, type SluiceError } from '../../src/domain/errors.js';

/** Runs `fn`, expects a SLUICE_CONFIG_INVALID error and returns it. */
function configError(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (err) {
    if (isSluiceError(err, 'SLUICE_CONFIG_INVALID')) return err;
    throw err;
  }
  throw new Error('expected SLUICE_CONFIG_INVALID, but nothing was thrown');
}

function problems(err: SluiceError): string[] {
  const list = err.details.problems;
  expect(Array.isArray(list)).toBe(true);
  return list as string[];
}

describe('compileJobConfig', () => {
  it('fills every default when only the name is given', () => {
    expect(compileJobConfig({ name: 'orders-enricher' })).toEqual({
      name: 'orders-enricher',
      suspendOnFailure: false,
      processingGuarantee: 'NONE',
      snapshotIntervalMs: 10_000,
      args: {},
      initialSnapshotName: null,
      errorPolicy: { retry: null, actions: [], budget: null, stages: {} },
    });
  });

  it('keeps the values that are given', () => {
    const input = {
      name: 'a.b_c-1',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      snapshotIntervalMs: 100,
      args: { region: 'eu' },
      initialSnapshotName: 'before-migration',
      errorPolicy: {
        retry: {
          on: ['TimeoutError'],
          maxRetries: 5,
          backoffMs: 50,
          maxBackoffMs: 1000,
          multiplier: 3,
          jitter: 0,
        },
        actions: [{ on: ['SyntaxError'], action: 'DEAD_LETTER', deadLetterTopic: 'orders.dlt' }],
        budget: { maxRecords: 10, windowMs: 60_000 },
        stages: {
          parse: { retry: null, actions: [{ on: ['*'], action: 'SKIP', deadLetterTopic: null }] },
        },
      },
    };
    expect(compileJobConfig(input)).toEqual(input);
  });

  it('gives each compiled config its own args object', () => {
    const a = compileJobConfig({ name: 'a' });
    const b = compileJobConfig({ name: 'b' });
    a.args.x = '1';
    expect(b.args).toEqual({});
  });

  it('lists every bad path in one error', () => {
    const err = configError(() =>
      compileJobConfig({
        name: '-starts-with-dash',
        suspendOnFailure: 'yes',
        processingGuarantee: 'ONCE',
        snapshotIntervalMs: 99,
        args: { n: 1 },
        initialSnapshotName: '',
      }),
    );
    const list = problems(err);
    const paths = list.map((p) => p.slice(0, p.indexOf(':')));
    expect(paths.sort()).toEqual(
      [
        'args.n',
        'initialSnapshotName',
        'name',
        'processingGuarantee',
        'snapshotIntervalMs',
        'suspendOnFailure',
      ].sort(),
    );
    // The message names every problem too, so the CLI can print it as is.
    for (const p of list) expect(err.message).toContain(p);
    expect(err.message).toMatch(/^Invalid job config:/);
  });

  it('rejects a missing name, a non-integer or too large interval, and a non-object', () => {
    expect(problems(configError(() => compileJobConfig({})))).toEqual([
      expect.stringMatching(/^name: /),
    ]);
    expect(
      problems(configError(() => compileJobConfig({ name: 'a', snapshotIntervalMs: 1000.5 }))),
    ).toEqual([expect.stringMatching(/^snapshotIntervalMs: /)]);
    expect(
      problems(configError(() => compileJobConfig({ name: 'a', snapshotIntervalMs: 86_400_001 }))),
    ).toEqual([expect.stringMatching(/^snapshotIntervalMs: /)]);
    expect(problems(configError(() => compileJobConfig(null)))).toEqual([
      expect.stringMatching(/^\(root\): /),
    ]);
  });

  it('accepts the interval bounds', () => {
    expect(compileJobConfig({ name: 'a', snapshotIntervalMs: 100 }).snapshotIntervalMs).toBe(100);
    expect(compileJobConfig({ name: 'a', snapshotIntervalMs: 86_400_000 }).snapshotIntervalMs).toBe(
      86_400_000,
    );
  });

  it('rejects unknown keys, naming them', () => {
    const err = configError(() =>
      compileJobConfig({ name: 'a', suspendOnFailur: true, retries: 3 }),
    );
    const list = problems(err);
    expect(list).toHaveLength(1);
    expect(list[0]).toContain('suspendOnFailur');
    expect(list[0]).toContain('retries');
  });

  it('reports unknown keys together with bad values', () => {
    const err = configError(() => compileJobConfig({ name: 'a', snapshotIntervalMs: 1, extra: 1 }));
    const list = problems(err);
    expect(list).toHaveLength(2);
    expect(list.some((p) => p.startsWith('snapshotIntervalMs:'))).toBe(true);
    expect(list.some((p) => p.includes('extra'))).toBe(true);
  });
});

describe('isValidName', () => {
  it.each([
    ['a', true],
    ['A9._-', true],
    ['x'.repeat(200), true],
    ['x'.repeat(201), false],
    ['', false],
    ['-a', false],
    ['.a', false],
    ['a b', false],
    ['a/b', false],
  ])('%j → %s', (name, valid) => {
    expect(isValidName(name)).toBe(valid);
  });
});

describe('compileConfigDelta', () => {
  it('accepts any non-empty subset of the changeable fields', () => {
    expect(compileConfigDelta({ suspendOnFailure: true })).toEqual({ suspendOnFailure: true });
    expect(compileConfigDelta({ snapshotIntervalMs: 500, args: { a: 'b' } })).toEqual({
      snapshotIntervalMs: 500,
      args: { a: 'b' },
    });
  });

  it('rejects an empty delta', () => {
    const err = configError(() => compileConfigDelta({}));
    expect(err.message).toContain('empty');
  });

  it('treats fields set to undefined as absent', () => {
    expect(compileConfigDelta({ suspendOnFailure: undefined, snapshotIntervalMs: 500 })).toEqual({
      snapshotIntervalMs: 500,
    });
    expect(
      Object.keys(compileConfigDelta({ suspendOnFailure: undefined, snapshotIntervalMs: 500 })),
    ).toEqual(['snapshotIntervalMs']);
    expect(() => compileConfigDelta({ suspendOnFailure: undefined })).toThrow(/empty/);
  });

  it('rejects a name change (and every other field that is not changeable)', () => {
    for (const key of ['name', 'processingGuarantee', 'initialSnapshotName']) {
      const list = problems(configError(() => compileConfigDelta({ [key]: 'x' })));
      expect(list).toHaveLength(1);
      expect(list[0]).toContain(key);
    }
  });

  it('lists every bad value at once', () => {
    const list = problems(
      configError(() =>
        compileConfigDelta({ suspendOnFailure: 1, snapshotIntervalMs: 50, args: { a: 2 } }),
      ),
    );
    expect(list.map((p) => p.slice(0, p.indexOf(':'))).sort()).toEqual([
      'args.a',
      'snapshotIntervalMs',
      'suspendOnFailure',
    ]);
  });
});

describe('applyConfigDelta', () => {
  it('changes only the fields in the delta and replaces args as a whole', () => {
    const base = compileJobConfig({ name: 'a', args: { keep: 'no', x: '1' } });
    const next = applyConfigDelta(base, { args: { x: '2' } });
    expect(next).toEqual({ ...base, args: { x: '2' } });
    expect(base.args).toEqual({ keep: 'no', x: '1' });
  });
});
