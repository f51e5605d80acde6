import { describe, expect, it } from 'vitest';
import { issuedByOf } from '../../src/cli/connect.js';
import { isSluiceError } from '../../src/domain/errors.js';

describe('issuedByOf', () => {
  it('takes --issued-by, else SLUICE_ISSUED_BY, else leaves the default to the client', () => {
    expect(issuedByOf({ issuedBy: 'ops-bot' }, { SLUICE_ISSUED_BY: 'ci' })).toBe('ops-bot');
    expect(issuedByOf({}, { SLUICE_ISSUED_BY: 'ci' })).toBe('ci');
    expect(issuedByOf({}, { SLUICE_ISSUED_BY: '' })).toBeUndefined();
    expect(issuedByOf({}, {})).toBeUndefined();
  });

  it('refuses an empty or very long name as a usage error naming its source', () => {
    for (const [g, env, source] of [
      [{ issuedBy: ' ' }, {}, '--issued-by'],
      [{}, { SLUICE_ISSUED_BY: 'x'.repeat(201) }, 'SLUICE_ISSUED_BY'],
    ] as const) {
      let caught: unknown;
      try {
        issuedByOf(g, env);
      } catch (err) {
        caught = err;
      }
      expect(isSluiceError(caught, 'SLUICE_USAGE')).toBe(true);
      expect((caught as Error).message).toMatch(new RegExp(`^${source} must name who issues`));
    }
  });
});
