import { describe, expect, it } from 'vitest';
import type { DryRunResult } from '../../src/client/dry-run.js';
import { renderDryRun } from '../../src/cli/render-dry-run.js';

const record = { topic: 'in', partition: 0, offset: '39', key: 'c1', valuePreview: '{"n":40}' };

describe('renderDryRun', () => {
  it('shows each worker with its code and what it would write or how it fails, and the verdict', () => {
    const result: DryRunResult = {
      requestId: 'r',
      record,
      answers: [
        {
          worker: 'new-1',
          fingerprint: '3f9a0c2b7d1e',
          outputs: [
            { key: 'c1', valuePreview: '{"n":40}' },
            { key: null, valuePreview: '{"n":41}' },
          ],
          outputCount: 3,
          error: null,
          stage: null,
        },
        {
          worker: 'old-1',
          fingerprint: null,
          outputs: [],
          outputCount: 0,
          error: { name: 'RangeError', message: 'n=40 has no price', stack: null },
          stage: 'price',
        },
      ],
      missing: ['ghost'],
      wouldSucceed: false,
    };
    expect(renderDryRun('prices', result)).toBe(
      [
        'Dry run of resuming prices on record in/0@39 (nothing was changed):',
        '  worker new-1 (code 3f9a0c2b7d1e): would write 3 record(s):',
        '    c1 → {"n":40}',
        '    (no key) → {"n":41}',
        '    … and 1 more',
        '  worker old-1 (code unknown): fails again: RangeError: n=40 has no price (stage "price")',
        '  no answer in time from: ghost (their code was not tried)',
        'The record still fails in the code of old-1: do not resume yet.',
      ].join('\n'),
    );
  });

  it('says the record goes through when every answer is free of errors', () => {
    const result: DryRunResult = {
      requestId: 'r',
      record,
      answers: [
        { worker: 'w', fingerprint: 'f', outputs: [], outputCount: 0, error: null, stage: null },
      ],
      missing: [],
      wouldSucceed: true,
    };
    expect(renderDryRun('prices', result)).toBe(
      [
        'Dry run of resuming prices on record in/0@39 (nothing was changed):',
        '  worker w (code f): would write 0 record(s)',
        'The record goes through: `sluice resume prices` would get past it.',
      ].join('\n'),
    );
  });
});
