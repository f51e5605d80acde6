import { describe, expect, it } from 'vitest';
import { bool, guarantee, integer, keyValues } from '../../src/cli/parse.js';
import { isSluiceError } from '../../src/domain/errors.js';

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isSluiceError(err, 'SLUICE_USAGE')) return err.message;
    throw err;
  }
  throw new Error('expected SLUICE_USAGE');
}

describe('flag values', () => {
  it('parse what the help promises', () => {
    expect(guarantee('exactly-once')).toBe('EXACTLY_ONCE');
    expect(guarantee('AT_LEAST_ONCE')).toBe('AT_LEAST_ONCE');
    expect(keyValues(['a=1', 'url=http://x?y=z'])).toEqual({ a: '1', url: 'http://x?y=z' });
    expect(integer('--snapshot-interval', '2000')).toBe(2000);
    expect(bool('--suspend-on-failure', 'false')).toBe(false);
  });

  it('refuse anything else as a usage error naming the flag and the value', () => {
    expect(usage(() => guarantee('twice'))).toContain('--guarantee "twice"');
    expect(usage(() => keyValues(['=x']))).toContain('--arg "=x"');
    expect(usage(() => integer('--snapshot-interval', '2s'))).toContain('--snapshot-interval "2s"');
    expect(usage(() => bool('--suspend-on-failure', 'yes'))).toContain(
      '"yes" is not true or false',
    );
  });
});
