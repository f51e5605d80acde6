import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import { checkStagesMatch } from '../../src/runtime/snapshot-state.js';

function refusal(fn: () => void): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isSluiceError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('checkStagesMatch', () => {
  it('accepts a pipeline that has every saved stage, and new stages that start empty', () => {
    expect(() =>
      checkStagesMatch(new Map([['totals', 3]]), ['totals', 'counts'], 3, 'Job "j"'),
    ).not.toThrow();
    expect(() => checkStagesMatch(new Map(), [], 1, 'Job "j"')).not.toThrow();
  });

  it('refuses a pipeline that lost or renamed a stateful stage, naming both sides', () => {
    const r = refusal(() => checkStagesMatch(new Map([['totals', 3]]), ['sums'], 3, 'Job "j"'));
    expect(r.code).toBe('SLUICE_STATE_INCOMPATIBLE');
    expect(r.message).toContain('Job "j" holds state for stage "totals"');
    expect(r.message).toContain('its stateful stages: "sums"');
  });

  it('refuses a source partition count the saved state was not partitioned for', () => {
    const r = refusal(() => checkStagesMatch(new Map([['totals', 3]]), ['totals'], 6, 'Job "j"'));
    expect(r.code).toBe('SLUICE_STATE_INCOMPATIBLE');
    expect(r.message).toContain('in 3 partitions');
    expect(r.message).toContain('now have 6');
  });
});
